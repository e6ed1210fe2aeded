"""Study designs and the canonical person-period frame.

The person-period frame
-----------------------
Every loader in :mod:`hipstats.io` returns, and every analysis in :mod:`hipstats.stats`
takes, one in-memory shape: a tidy long :class:`pandas.DataFrame` with **one row per
subject and timepoint**:

``subject``
    Subject identifier, ``str`` (never coerced to a number, so ``"007"`` stays ``"007"``).
``group``
    Group label, ``str``, present only when the design has groups (``pfps3wk``:
    ``"PFPS"`` / ``"control"``). A subject's group never changes between visits.
time column
    Named by :attr:`Design.time` (``"week"`` for ``program6wk``, integer weeks 0, 2, 4, 6;
    ``"time"`` for ``pfps3wk``, the strings ``"pre"`` / ``"post"``). Only values listed in
    :attr:`Design.timepoints` occur.
one column per repeated measure
    ``float64`` in the measure's canonical unit (:attr:`Measure.unit`), e.g. ``strength``
    (N/kg), ``pain_vas`` (cm), ``function_score`` (LEFS points). Missing visits and cells are
    ``NaN``: they are data, counted by validation, never dropped.
subject-level covariates
    ``age``, ``sex``, ``body_mass``, ``height``, ``side`` ... repeated on every row of the
    subject, where the file had them.

Rows are sorted by ``subject`` then time (in design order); the index is a plain
``RangeIndex``. Every design lists all its timepoints for every subject: a visit the file
did not have becomes a row of ``NaN`` measures (a *missing visit*), so that models see the
full grid and the loader's ledger can account for it.

Designs are declarative: a :class:`Design` lists its time grid, groups (with the reference
arm), baseline visit, measures (unit, valid range, required or optional, label, instrument,
direction, MCID, visits at which it is taken) and subject-level covariates. A study declares
its own in ``hipstats.toml`` (``[design.NAME]``, read by :func:`design_from_table`); the
built-in designs are presets written the same way (:mod:`hipstats.design.presets`).

Modules: ``model`` (the classes), ``instruments`` (published scales with range, direction and
MCID, with sources), ``declare`` (a ``[design.NAME]`` table -> Design, with errors naming the
file, table and key), ``presets`` (``program6wk``, ``pfps3wk``, ``hipknee6wk``). The package
imports nothing else from hipstats but :mod:`hipstats.errors`: it sits at the top of the data
flow.
"""

from hipstats.design.declare import DesignError, design_from_table
from hipstats.design.instruments import INSTRUMENTS, Instrument, get_instrument
from hipstats.design.model import CANONICAL_COLUMNS, DIRECTIONS, Design, Measure
from hipstats.design.presets import DESIGNS, PRESETS, get_design, hipknee6wk, pfps3wk, program6wk

__all__ = ["Measure", "Design", "program6wk", "pfps3wk", "hipknee6wk", "DESIGNS", "PRESETS",
           "get_design", "CANONICAL_COLUMNS", "DIRECTIONS", "Instrument", "INSTRUMENTS",
           "get_instrument", "DesignError", "design_from_table"]
