"""The intercurrent-events file of a study (``ice = "data/raw/ice.csv"`` in ``[data.NAME]``).

One row per participant with an event: the participant, the visit of the event (the first
visit the strategy applies to), the strategy (rbmi's: MAR, JR, CR, CIR, LMCF) and the reason.
Column names go through the study's ``columns`` map, as the data do. Every problem is an
error naming the file, its line and the column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hipstats.errors import DataProblem, HipstatsDataError

__all__ = ["read_events", "EVENT_STRATEGIES"]

EVENT_STRATEGIES = ("MAR", "JR", "CR", "CIR", "LMCF")


def _fail(path, line, column, value, message):
    raise HipstatsDataError([DataProblem(str(path), line, column, value, message)])


def _visit_value(v, grid):
    for g in grid:
        if str(g) == str(v).strip():
            return g
    return None


def read_events(path, time: str, subjects, grid, columns: dict | None = None) -> pd.DataFrame:
    """Read and check an events file: a DataFrame (subject, ``time``, strategy, reason).

    ``subjects``: the participants in the data; ``grid``: the post-baseline visits an event
    may fall at. Rows are numbered as :class:`~hipstats.errors.DataProblem` does (the first
    row after the header is row 1)."""
    path = Path(path)
    if not path.is_file():
        _fail(path, None, None, None, "the intercurrent-events file does not exist")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    raw = raw.rename(columns={k: v for k, v in (columns or {}).items() if k in raw.columns})
    need = ["subject", time, "strategy"]
    for c in need:
        if c not in raw.columns:
            _fail(path, None, c, None, f"column {c!r} is missing (the file has "
                  f"{', '.join(raw.columns)}; needs subject, {time}, strategy and reason)")
    known = {str(s): s for s in subjects}
    rows, seen = [], {}
    for i, r in raw.iterrows():
        line = i + 1
        s = r["subject"].strip()
        if s not in known:
            _fail(path, line, "subject", s, "participant not in the data")
        if s in seen:
            _fail(path, line, "subject", s, f"second row for this participant (first at row "
                  f"{seen[s]}): one row per participant")
        seen[s] = line
        v = _visit_value(r[time], grid)
        if v is None:
            _fail(path, line, time, r[time], f"visit not on the post-baseline grid {list(grid)}")
        strategy = r["strategy"].strip().upper()
        if strategy not in EVENT_STRATEGIES:
            _fail(path, line, "strategy", r["strategy"], "unknown strategy; use one of "
                  + ", ".join(EVENT_STRATEGIES))
        rows.append({"subject": known[s], time: v, "strategy": strategy,
                     "reason": r.get("reason", "").strip(), "line": line})
    return pd.DataFrame(rows, columns=["subject", time, "strategy", "reason", "line"])
