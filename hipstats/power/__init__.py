"""Simulation-based power for the built-in designs (batched; optionally on Dask).

* :mod:`hipstats.power.models` - generative models with published/assumed defaults;
* :mod:`hipstats.power.batched` - analyses of many data sets per call;
* :mod:`hipstats.power.simulate` - :func:`simulate`, chunking, seeding and Dask;
* :mod:`hipstats.power.trial_sim` - the next trial simulated from a fitted primary MMRM
  (power beside type I error and CI coverage).
"""

from hipstats.power.models import Pfps3wkModel, Program6wkModel, model_for
from hipstats.power.simulate import ANALYSES, simulate

__all__ = ["simulate", "ANALYSES", "Program6wkModel", "Pfps3wkModel", "model_for"]
