"""Stage 4 of loading: reshape parsed columns to one row per subject and visit.

Wide files become one block per visit; long files keep their rows; visits recorded as dates
are placed on the grid (:func:`visits_from_dates`); REDCap exports spread subject-level fields
over a record's events and merge a record's rows of one event (:func:`redcap_rows`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipstats.design import Design
from hipstats.io import visits as V
from hipstats.io.cells import Cells
from hipstats.io.columns import ColumnMap
from hipstats.io.ledger import Assembled
from hipstats.io.readings import Reading
from hipstats.io.values import is_missing, text_of

__all__ = ["to_long", "visits_from_dates", "redcap_rows"]


def to_long(cells: Cells, cm: ColumnMap, design: Design, numeric, out: Assembled) -> pd.DataFrame:
    """Usable rows -> a long frame with ``_row``, targets and per-row ``<target>__unit``."""
    keep = np.flatnonzero(cells.usable)
    rows = cells.rows[keep]
    base_cols = [(c, t) for c, (t, tp) in cm.colmap.items() if tp is None]
    units = {t + "__unit": arr[keep] for t, arr in cells.unit_row.items()}
    if out.layout == "wide":
        blocks = []
        for tp in [tp for tp in design.timepoints if any(v == tp for _, v in cm.colmap.values())]:
            blk = {"_row": rows}
            blk.update({t: cells.parsed[c][keep] for c, t in base_cols})
            blk.update({t: cells.parsed[c][keep] for c, (t, v) in cm.colmap.items() if v == tp})
            tcol = np.empty(len(keep), dtype=object)
            tcol[:] = [tp] * len(keep)
            blk[design.time] = tcol
            blk["_pos"] = np.full(len(keep), design.timepoints.index(tp))
            blocks.append(_frame({**blk, **units}))
        frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
        if len(frame):
            frame = frame.sort_values(["_row", "_pos"], kind="mergesort").drop(columns="_pos")
            frame = frame.reset_index(drop=True)
    else:
        blk = {"_row": rows}
        blk.update({t: cells.parsed[c][keep] for c, t in base_cols})
        if cells.event is not None:
            blk[design.time] = cells.event[keep]
        frame = _frame({**blk, **units})
    if frame.empty:
        frame = pd.DataFrame(columns=["_row", "subject", design.time])
    for t in numeric:
        if t in frame:
            frame[t] = frame[t].astype("float64")
    return frame


def _frame(cols: dict) -> pd.DataFrame:
    """A DataFrame keeping object columns as object (pandas would convert text to its
    Arrow-backed string dtype, whose factorize/groupby is several times slower here)."""
    return pd.DataFrame({k: (pd.Series(v, dtype=object) if getattr(v, "dtype", None) == object
                             else v) for k, v in cols.items()})


def visits_from_dates(frame: pd.DataFrame, out: Assembled, design: Design, vd) -> pd.DataFrame:
    """Nominal visit from each row's date (window around the schedule from the subject's
    first date); ``days_since_baseline`` kept; rows in no window excluded, each named. When
    the file also labels its visits, the labels stand and dates off their window are a
    warning naming the rows."""
    t = design.time
    dates = np.array([np.datetime64("NaT", "D") if d is None else d
                      for d in frame["_visit_date"].to_numpy(object)], dtype="datetime64[D]")
    tp, days, inwin = V.assign_visits(frame["subject"].to_numpy(object), dates, vd)
    frame["days_since_baseline"] = days
    col = out.sources.get(("_visit_date", None), vd.column)
    if t in frame:
        _dates_against_labels(frame, out, design, vd, days, col)
        return frame.drop(columns="_visit_date")
    frame[t] = tp
    out.sources[(t, None)] = col
    sched = ", ".join(f"{t} {_tp_text(k)} = day {v:g}" for k, v in vd.schedule.items())
    out.notes.append(Reading("visits", f"{t} read from the dates in {col!r}: the visit within "
                             f"{vd.window_days:g} days of the schedule ({sched}) counted "
                             "from each subject's first date; days_since_baseline kept"))
    out_rows = np.flatnonzero(~inwin)
    for i in out_rows:
        r = int(frame["_row"].iat[i])
        out.excluded.append((r, f"visit on {dates[i]} is day {days[i]:g} after subject "
                                f"{frame['subject'].iat[i]!r}'s first visit: outside every "
                                f"window of +/-{vd.window_days:g} days around the schedule"))
    if len(out_rows):
        out.warnings.append(f"{len(out_rows)} visit{'s' if len(out_rows) != 1 else ''} outside "
                            f"the visit windows excluded ({_rows_text(frame, out_rows)}); see "
                            "the ledger, or widen window_days")
        frame = frame[inwin].reset_index(drop=True)
    return frame.drop(columns="_visit_date")


def _rows_text(frame, idx) -> str:
    rows = [int(frame["_row"].iat[i]) for i in idx]
    return (f"row{'s' if len(rows) != 1 else ''} " + ", ".join(str(r) for r in rows[:10])
            + (" ..." if len(rows) > 10 else ""))


def _dates_against_labels(frame, out: Assembled, design: Design, vd, days, col) -> None:
    sched = np.array([vd.schedule.get(x, np.nan) for x in frame[design.time]], dtype=float)
    off = np.flatnonzero(np.abs(days - sched) > vd.window_days)
    out.notes.append(Reading("visits", f"days_since_baseline computed from {col!r} (each "
                             "subject's first date)"))
    if len(off):
        out.warnings.append(
            f"{len(off)} visit{'s' if len(off) != 1 else ''} dated outside the +/-"
            f"{vd.window_days:g}-day window of {'their' if len(off) != 1 else 'its'} labelled "
            f"{design.time} ({_rows_text(frame, off)}); the labels are kept")


def _tp_text(tp) -> str:
    return repr(tp) if isinstance(tp, str) else str(tp)


def redcap_rows(frame: pd.DataFrame, out: Assembled, design: Design, repeat, instance):
    """Spread subject-level fields over a subject's events; drop repeating-instrument rows
    that carry no design field; combine rows of one record and event that do not clash."""
    t = design.time
    value_cols = [c for c in frame.columns
                  if c not in ("_row", "subject", t) and not c.endswith("__unit")]
    if repeat is not None:
        rep = np.array([None if is_missing(x) else text_of(x) for x in repeat], dtype=object)
        inst = np.array([None if instance is None or is_missing(x) else text_of(x)
                         for x in (instance if instance is not None else [None] * len(rep))],
                        dtype=object)
        is_rep = np.array([x is not None for x in rep], dtype=bool)
        if is_rep.any():
            measures = [c for c in value_cols if c in design.measure_names]
            empty = frame[measures].isna().all(axis=1).to_numpy() if measures else \
                np.ones(len(frame), bool)
            cov = [c for c in value_cols if c not in measures]
            cov_empty = frame[cov].isna().all(axis=1).to_numpy() if cov else \
                np.ones(len(frame), bool)
            drop = is_rep & empty & cov_empty
            for i in np.flatnonzero(drop):
                label = f"REDCap repeating instrument {rep[i]!r}" + (
                    f" instance {inst[i]}" if inst[i] is not None else "")
                out.excluded.append((int(frame["_row"].iat[i]),
                                     f"{label}: no field of the design"))
            for i in np.flatnonzero(is_rep & ~drop):
                out.row_context[int(frame["_row"].iat[i])] = (
                    f"REDCap repeating instrument {rep[i]!r}"
                    + (f" instance {inst[i]}" if inst[i] is not None else ""))
            frame = frame[~drop].reset_index(drop=True)
    subj_cols = [c for c in (["group"] if design.has_groups else []) + list(design.covariate_names)
                 + ["lever_arm"] if c in frame]
    if subj_cols and len(frame):
        g = frame.groupby("subject", dropna=False, sort=False)[subj_cols]
        filled = g.ffill()
        filled["subject"] = frame["subject"]
        filled = filled.groupby("subject", dropna=False, sort=False)[subj_cols].bfill()
        frame[subj_cols] = filled[subj_cols]
    # rows of one record and event (non-repeating and repeating instruments) -> one visit
    ok = frame["subject"].notna() & frame[t].notna()
    key = frame.loc[ok, ["subject", t]]
    dup = key.duplicated(keep=False)
    if dup.any():
        idx = key.index[dup.to_numpy()]
        sub = frame.loc[idx]
        measures = [c for c in value_cols if c in design.measure_names]
        counts = sub.groupby(["subject", t], sort=False)[measures].count()
        clean = counts.index[(counts <= 1).all(axis=1)] if measures else counts.index
        if len(clean):
            mi = pd.MultiIndex.from_frame(sub[["subject", t]])
            in_clean = mi.isin(clean)
            part = sub[in_clean]
            drop_idx = []
            for _, g in part.groupby(["subject", t], sort=False):
                first = g.index[0]
                for c in measures:
                    nz = g.index[g[c].notna().to_numpy()]
                    if len(nz) and nz[0] != first:
                        frame.at[first, c] = frame.at[nz[0], c]
                        out.cell_rows[(int(frame.at[first, "_row"]), c)] = \
                            int(frame.at[nz[0], "_row"])
                for other in g.index[1:]:
                    r = int(frame.at[other, "_row"])
                    out.combined.append((r, f"combined with row {int(frame.at[first, '_row'])}"
                                            " into one visit (same REDCap record and event)"))
                    out.row_context.pop(r, None)
                    drop_idx.append(other)
            frame = frame.drop(index=drop_idx).reset_index(drop=True)
    return frame
