"""hipstats: hip-abductor strength, knee pain and physical function.

Load trial data shaped like the two published designs (``program6wk``: a 6-week
hip-abductor program assessed at weeks 0/2/4/6; ``pfps3wk``: PFPS runners and controls
before and after a 3-week protocol), validate every cell, model strength, pain and
function over time with numbers checked against R, and render reproducible reports.

Layers (data flows one way; nothing imports back up)::

    design -> io -> validation -> person-period frame -> stats -> plots -> report -> cli
                                                  stats -> power (simulation)

The public names below are imported lazily so that ``import hipstats`` stays fast.
"""

from __future__ import annotations

import importlib

from hipstats._version import __version__

# public name -> module that defines it
_EXPORTS = {
    # designs and errors
    "Design": "hipstats.design", "Measure": "hipstats.design", "program6wk": "hipstats.design",
    "pfps3wk": "hipstats.design", "get_design": "hipstats.design", "DESIGNS": "hipstats.design",
    "hipknee6wk": "hipstats.design", "Instrument": "hipstats.design",
    "INSTRUMENTS": "hipstats.design", "get_instrument": "hipstats.design",
    "design_from_table": "hipstats.design", "DesignError": "hipstats.design",
    "DataProblem": "hipstats.errors", "HipstatsDataError": "hipstats.errors",
    "HipstatsError": "hipstats.errors", "AnalysisError": "hipstats.errors",
    "ReadingWarning": "hipstats.errors",
    # loading, validation, example data
    "load": "hipstats.validation", "validate": "hipstats.validation",
    "example": "hipstats.synthetic", "simulate_cohort": "hipstats.synthetic",
    "load_options": "hipstats.config", "study_design": "hipstats.config",
    "declared_designs": "hipstats.config",
    # statistics
    "timepoint_corr": "hipstats.stats", "rm_corr": "hipstats.stats",
    "mixed_model": "hipstats.stats", "mixed_anova": "hipstats.stats",
    "select_random": "hipstats.stats", "compare_models": "hipstats.stats",
    "mmrm": "hipstats.stats.mmrm", "mmrm_frame": "hipstats.stats.mmrm",
    "primary_analysis": "hipstats.stats.mmrm", "rbmi": "hipstats.stats.rbmi",
    "missing_patterns": "hipstats.stats.missingness",
    "dropout_by_visit": "hipstats.stats.missingness",
    "paired_change": "hipstats.stats", "ancova": "hipstats.stats",
    "responders": "hipstats.stats", "cross_lagged": "hipstats.stats",
    "power_corr": "hipstats.stats", "power_ttest": "hipstats.stats",
    "meta_analysis": "hipstats.stats", "effect_from_summary": "hipstats.stats",
    "limb_long": "hipstats.stats", "within_between": "hipstats.stats",
    "marginal_effect": "hipstats.stats.marginal", "ordinal": "hipstats.stats.ordinal",
    "mediation": "hipstats.stats",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    if name in ("stats", "plots", "power", "io", "report", "design", "validation", "synthetic",
                "config"):
        return importlib.import_module(f"hipstats.{name}")
    raise AttributeError(f"module 'hipstats' has no attribute {name!r}")


def __dir__():
    return __all__
