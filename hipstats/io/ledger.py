"""The ledger passed along the loading stages (:mod:`hipstats.io.assemble`).

Each stage adds what it found (problems, notes, warnings, excluded rows, which file column
fed which target) to one :class:`Assembled`; :func:`row_ledger` turns it into one row per
input data row: ``kept``, ``excluded`` with the reason, or ``invalid`` with the first problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.errors import DataProblem
from hipstats.io.readers import RawTable
from hipstats.io.values import show_value

__all__ = ["Assembled", "row_ledger"]


@dataclass
class Assembled:
    """Typed long rows plus everything learned on the way: the ledger each stage adds to.

    ``frame`` has ``_row`` (source data row), the design's columns present in the file and
    ``lever_arm`` when the file has one; values are in the analysis units (``units``).
    ``problems`` (file, row, column, value), ``notes`` (interpretations made), ``warnings``,
    ``excluded``/``combined`` (row, reason) and ``blank_rows`` make the row ledger
    (:func:`row_ledger`); ``sources`` maps (target, timepoint) to the file column, so every
    later message can name the cell as the file wrote it (:meth:`file_value`).
    """

    frame: pd.DataFrame
    problems: list[DataProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    layout: str = "long"
    source_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    blank_rows: list[int] = field(default_factory=list)
    excluded: list[tuple[int, str]] = field(default_factory=list)
    combined: list[tuple[int, str]] = field(default_factory=list)
    units: dict = field(default_factory=dict)
    declared: dict = field(default_factory=dict)
    conversions: list[str] = field(default_factory=list)
    unit_assumed: dict = field(default_factory=dict)
    converted: dict = field(default_factory=dict)
    sources: dict = field(default_factory=dict)
    cell_rows: dict = field(default_factory=dict)
    row_context: dict = field(default_factory=dict)
    raw: RawTable | None = None

    def column_of(self, target: str, tp=None) -> str:
        """The file column a frame value of ``target`` (at timepoint ``tp``) came from."""
        return self.sources.get((target, tp)) or self.sources.get((target, None)) or target

    def file_value(self, row: int, target: str, tp=None) -> str | None:
        """The cell behind a frame value, as the file wrote it."""
        col = self.column_of(target, tp)
        if self.raw is None or col not in self.raw.frame.columns:
            return None
        cache = self.__dict__.setdefault("_cells", {})
        if "_index" not in cache:
            cache["_index"] = self.raw.frame.index.to_numpy()
        if col not in cache:
            cache[col] = self.raw.frame[col].to_numpy(dtype=object)
        index = cache["_index"]
        i = int(np.searchsorted(index, row))
        if i >= len(index) or index[i] != row:
            return None
        return show_value(cache[col][i])


def row_ledger(asm: Assembled, frame: pd.DataFrame, problems) -> pd.DataFrame:
    """One row per input data row: kept, excluded (with the reason) or invalid; rows the
    reader set aside (a units row under the header) are listed as excluded too."""
    cols = ["source_row", "subject", "status", "reason", "n_visits"]
    bad_rows: dict[int, str] = {}
    for p in problems:
        if p.row is not None:
            bad_rows.setdefault(p.row, p.message)
    rows = np.asarray(asm.source_rows, dtype=np.int64)  # ascending
    subj = np.full(len(rows), None, dtype=object)
    if len(frame) and "_row" in frame and len(rows):
        fr = frame["_row"].to_numpy(np.int64)
        pos = np.searchsorted(rows, fr)
        n = np.bincount(pos, minlength=len(rows))[: len(rows)]
        if "subject" in frame:
            # the first visit of each row names its subject (wide rows: all the same)
            subj[pos[::-1]] = frame["subject"].to_numpy(object)[::-1]
    else:
        n = np.zeros(len(rows), dtype=np.int64)
    status = np.full(len(rows), "kept", dtype=object)
    reason = np.full(len(rows), "", dtype=object)
    pos = {int(r): i for i, r in enumerate(rows)} if (bad_rows or asm.excluded
                                                      or asm.combined) else {}
    for r, why in asm.combined:
        i = pos.get(r)
        if i is not None:
            reason[i] = why
    for r, why in asm.excluded:
        i = pos.get(r)
        if i is not None:
            status[i], reason[i] = "excluded", why
    for r, msg in bad_rows.items():
        i = pos.get(r)
        if i is not None:
            status[i], reason[i] = "invalid", msg
    led = pd.DataFrame({"source_row": rows, "subject": subj, "status": status,
                        "reason": reason, "n_visits": n.astype(np.int64)}, columns=cols)
    extra = [(r, None, "excluded", "blank row (every cell empty)", 0) for r in asm.blank_rows]
    if asm.raw is not None:
        extra += [(r, None, "excluded", why, 0) for r, why in asm.raw.excluded]
    source_set = None
    for p in asm.problems:
        if p.row is not None and "ragged" in p.message:
            if source_set is None:
                source_set = set(np.asarray(asm.source_rows).tolist())
            if p.row not in source_set:
                extra.append((p.row, None, "invalid", p.message, 0))
    if extra:
        led = pd.concat([led, pd.DataFrame(extra, columns=cols)], ignore_index=True)
    return led.sort_values("source_row", kind="mergesort").reset_index(drop=True)
