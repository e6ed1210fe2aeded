"""Stage 3 of loading: parse each file column once.

Every distinct cell of a column is parsed once (numbers, subject ids, visits, groups,
categories, dates, per-row units) and the result broadcast; a cell that cannot be used
becomes a problem naming file, data row, column and the value as the file wrote it. Blank
rows and summary rows under the data (``Mean``, ``SD``, ``Total``, ``n``) are set aside here,
each named in the ledger.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.design import Design
from hipstats.errors import DataProblem
from hipstats.io import units as U
from hipstats.io import visits as V
from hipstats.io.columns import ColumnMap, Options, unit_of
from hipstats.io.ledger import Assembled
from hipstats.io.names import norm_name as _norm
from hipstats.io.readers import RawTable
from hipstats.io.readings import DECLARED, Reading
from hipstats.io.values import (MISSING_TOKENS, is_missing, parse_number, show_value, text_of,
                                tkey)

__all__ = ["Cells", "parse_cells", "SUMMARY_LABELS"]

_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE_LIKE_ID = re.compile(rf"(?i)\d{{1,2}}[-/ ](?:{_MONTHS})(?:[-/ ]\d{{2,4}})?|"
                           rf"(?:{_MONTHS})[-/ ]\d{{1,4}}|\d{{4}}-\d{{2}}-\d{{2}}(?: 00:00:00)?")
_ID_DATE_MSG = ("subject id is a date: a spreadsheet turned an id such as '3-12' or 'MAR1' "
                "into a date; format the id column as Text and re-enter the ids (or export "
                "them as text from the source), then load again")
_SEX = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
_SIDE = {"l": "left", "left": "left", "r": "right", "right": "right"}

#: First cells of the summary rows spreadsheets put under a table (compared letters only).
SUMMARY_LABELS = frozenset({
    "mean", "means", "average", "avg", "sd", "std", "stdev", "stddev", "standarddeviation",
    "se", "sem", "standarderror", "total", "totals", "sum", "n", "count", "median", "min",
    "max", "minimum", "maximum", "range", "iqr", "variance", "var", "cv", "meansd",
    "meanstd", "mediansd", "95ci", "ci", "grandmean", "grandtotal"})


@dataclass
class Cells:
    """Parsed columns (file column -> array, one entry per data row) and the usable rows."""

    rows: np.ndarray
    usable: np.ndarray
    parsed: dict = field(default_factory=dict)
    event: np.ndarray | None = None
    repeat: np.ndarray | None = None
    instance: np.ndarray | None = None
    unit_row: dict = field(default_factory=dict)


class _Parser:
    """Parses one column's distinct values; problems go to the ledger."""

    def __init__(self, raw: RawTable, out: Assembled, usable):
        self.raw, self.out, self.usable = raw, out, usable
        self.rows = raw.frame.index.to_numpy()
        self.codes = {c: _codes(raw.frame[c]) for c in raw.frame.columns}
        self.check_bool = raw.fmt not in ("csv", "tsv")
        self.coded: dict = {}
        self.visits: dict = {}  # (column, how) -> {label as written: timepoint}

    def problems(self, col, mask, value_of, message):
        for i in np.flatnonzero(mask):
            self.out.problems.append(DataProblem(self.raw.source, int(self.rows[i]), str(col),
                                                 value_of(i), message))

    def numbers(self, col, opts: Options):
        arr, codes, uniq = self.codes[col]
        vals = np.empty(len(uniq) + 1)
        msgs = [None] * (len(uniq) + 1)
        is_coded = np.zeros(len(uniq) + 1, dtype=bool)
        for j, u in enumerate(uniq):
            vals[j], msgs[j], is_coded[j] = parse_number(u, opts.codes_text, opts.codes_num)
        vals[-1] = np.nan
        v = vals[codes]
        if self.check_bool and len(arr):
            is_b = np.fromiter((type(x) is bool or type(x) is np.bool_ for x in arr), bool,
                               count=len(arr))
            if is_b.any():
                v[is_b] = np.nan
                self.problems(col, is_b & self.usable, lambda i: show_value(arr[i]),
                              "expected a number, found a boolean")
        for j in [j for j, m in enumerate(msgs[:-1]) if m is not None]:
            self.problems(col, (codes == j) & self.usable, lambda i, j=j: show_value(uniq[j]),
                          msgs[j])
        n_coded = int(is_coded[codes][self.usable].sum()) if is_coded.any() else 0
        if n_coded:
            self.coded[str(col)] = n_coded
        return v

    def mapped(self, col, fn):
        """Parse via a function of one distinct value -> (result, problem message)."""
        arr, codes, uniq = self.codes[col]
        res = [None] * (len(uniq) + 1)
        msgs = [None] * (len(uniq) + 1)
        for j, u in enumerate(uniq):
            res[j], msgs[j] = fn(u)
        res[-1], msgs[-1] = fn(None)
        out_arr = np.empty(len(res), dtype=object)
        out_arr[:] = res
        for j, m in enumerate(msgs):
            if m is None:
                continue
            mask = ((codes == j) if j < len(uniq) else (codes == -1)) & self.usable
            shown = show_value(uniq[j]) if j < len(uniq) else None
            self.problems(col, mask, lambda i, s=shown: s, m)
        return out_arr[codes]


def _codes(series: pd.Series):
    arr = series.to_numpy(dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return arr, codes, list(uniques)


def _labels_for(col, raw: RawTable, choices: dict):
    vl = raw.value_labels.get(col) or choices.get(_norm(col))
    if not vl:
        return None
    return {text_of(k): v for k, v in vl.items()}


def parse_cells(raw: RawTable, cm: ColumnMap, opts: Options, out: Assembled) -> Cells:
    """Blank and summary rows set aside; every mapped column parsed once."""
    design = opts.design
    p = _Parser(raw, out, None)
    blank = _blank_rows(raw.frame, p.codes)
    rows = p.rows
    out.blank_rows = [int(r) for r in rows[blank]]
    out.source_rows = rows[~blank].astype(np.int64)
    subject_col = next((c for c, (t, _) in cm.colmap.items() if t == "subject"), None)
    summary = _summary_rows(raw, p.codes, subject_col, blank, out)
    p.usable = ~blank & ~summary
    cells = Cells(rows=rows, usable=p.usable)
    for col, (target, _) in cm.colmap.items():
        cells.parsed[col] = _parse_column(p, col, target, raw, opts)
    for col, n in p.coded.items():
        out.notes.append(Reading(DECLARED, f"column {col!r}: {n} cell{'s' if n != 1 else ''} "
                                 "with a missing-value code (missing=) read as missing"))
    _visit_notes(p.visits, design, out)
    if cm.event_col is not None:
        out.sources[(design.time, None)] = str(cm.event_col)
        cells.event = p.mapped(cm.event_col, lambda u: V.redcap_event(u, design.timepoints))
    if cm.repeat_col is not None:
        cells.repeat = raw.frame[cm.repeat_col].to_numpy(object)
    if cm.instance_col is not None:
        cells.instance = raw.frame[cm.instance_col].to_numpy(object)
    for target, col in cm.unit_cols.items():
        cells.unit_row[target] = p.mapped(col, _unit_cell(unit_of(target, design)))
        out.sources[(target + "__unit", None)] = str(col)
    return cells


def _parse_column(p: _Parser, col, target, raw: RawTable, opts: Options):
    design = opts.design
    if target == "subject":
        return p.mapped(col, _subject)
    if target == design.time:
        return p.mapped(col, _time_cell(p, col, raw, opts))
    if target == "_visit_date":
        return p.mapped(col, lambda u: (None, "visit date is missing") if is_missing(u)
                        else V.parse_date(u))
    labels = _labels_for(col, raw, opts.dict_choices)
    if target == "group":
        return p.mapped(col, lambda u: _group(u, labels, design, opts.codes_text))
    if target == "lever_arm" or design.measure(target).kind == "float":
        return p.numbers(col, opts)
    meas = design.measure(target)
    return p.mapped(col, lambda u: _category(u, labels, meas, opts.codes_text))


def _blank_rows(df, col_codes) -> np.ndarray:
    blank = np.ones(len(df), dtype=bool)
    for col in sorted(df.columns, key=lambda c: len(col_codes[c][2])):
        if not blank.any():
            break
        arr, codes, uniq = col_codes[col]
        miss_u = np.array([is_missing(u) for u in uniq] + [True], dtype=bool)
        blank &= miss_u[codes]  # code -1 -> last entry (True)
    return blank


def _summary_rows(raw: RawTable, col_codes, subject_col, blank, out: Assembled) -> np.ndarray:
    """Rows such as ``Mean``/``SD``/``Total``/``n`` under the data: the label is the subject
    cell (or, the subject cell empty, another text cell). Those after the last subject row
    are excluded, each named in the ledger; one in the middle of the data is an error."""
    df = raw.frame
    n = len(df)
    mark = np.zeros(n, dtype=bool)
    if subject_col is None or not n:
        return mark
    label = np.full(n, None, dtype=object)
    _, scodes, suniq = col_codes[subject_col]
    subj_missing = np.array([is_missing(u) for u in suniq] + [True])[scodes]
    for col in df.columns:
        arr, codes, uniq = col_codes[col]
        hit = np.array([isinstance(u, str) and tkey(u) in SUMMARY_LABELS for u in uniq] + [False])
        if not hit.any():
            continue
        rows = hit[codes] if col == subject_col else hit[codes] & subj_missing
        new = rows & pd.isna(label)
        label[new] = arr[new]
        mark |= rows
    if not mark.any():
        return mark
    data_rows = np.flatnonzero(~blank & ~mark)
    last = data_rows.max() if len(data_rows) else -1
    rows_idx = df.index.to_numpy()
    for i in np.flatnonzero(mark):
        lab = str(label[i]).strip()
        if i > last:
            out.excluded.append((int(rows_idx[i]),
                                 f"summary row {lab!r} under the data (not a subject)"))
        else:
            out.problems.append(DataProblem(
                raw.source, int(rows_idx[i]), str(subject_col), repr(lab),
                f"summary row {lab!r} between subjects' rows; remove it (summary rows are "
                "excluded only below the data)"))
    return mark


def _subject(u):
    if type(u) is str:
        s = u.strip()
        if _DATE_LIKE_ID.fullmatch(s):
            return None, _ID_DATE_MSG
        return (None, "subject id is missing") if s.lower() in MISSING_TOKENS else (s, None)
    if isinstance(u, (_dt.date, _dt.datetime, pd.Timestamp, np.datetime64)):
        return None, _ID_DATE_MSG
    if is_missing(u):
        return None, "subject id is missing"
    return text_of(u), None


def _time_cell(p: _Parser, col, raw: RawTable, opts: Options):
    """The parser of one time column: value labels first, visit numbers counted as the file
    counts them, a named alias beside the real name (a third visit) refused."""
    design, out = opts.design, p.out
    grid = design.timepoints
    labels = _labels_for(col, raw, opts.dict_choices)
    uniq = [labels.get(text_of(u), u) if labels else u for u in p.codes[col][2]]
    count = V.counting([text_of(u) for u in uniq], grid)
    seen = {text_of(u): V.read_visit(text_of(u), grid, count) for u in uniq if not is_missing(u)}
    clashes = V.third_visit_clashes(seen, grid)

    def _tp(u):
        if is_missing(u):
            return None, "timepoint is missing"
        lab = labels.get(text_of(u)) if labels else None
        for cand in ([lab] if lab is not None else []) + [u]:
            if text_of(cand) in clashes:
                tp_, direct = clashes[text_of(cand)]
                return None, (f"a third visit? {text_of(cand)!r} would be read as {design.time} "
                              f"{tp_!r}, but the file also has "
                              f"{', '.join(repr(o) for o in direct)}; the design's timepoints "
                              f"are {list(grid)} (drop these rows or use a design with this "
                              "visit)")
            v, how = V.read_visit(text_of(cand), grid, count)
            if how == "ambiguous":
                return None, V.ambiguous_message(text_of(cand), grid)
            if v is not None:
                if how is not None:
                    p.visits.setdefault((str(col), how), {})[show_value(cand)] = v
                return v, None
        kind = "weeks" if all(isinstance(t, (int, np.integer)) for t in grid) else "timepoints"
        extra = f" (labelled {lab!r})" if lab is not None else ""
        return None, f"unknown timepoint{extra}; the design's {kind} are {list(grid)}"
    return _tp


def _visit_notes(found: dict, design: Design, out: Assembled) -> None:
    """One note per time column and kind of reading: ``column 'visit': 'Visit 1', 'Visit 2'
    read as week 0, 2 (visit numbers: the first and second scheduled visit)``."""
    grid = list(design.timepoints)
    for (col, how), seen in found.items():
        pairs = sorted(seen.items(), key=lambda kv: (grid.index(kv[1]), kv[0]))
        shown = [show_value(v) if not isinstance(v, str) else repr(v) for _, v in pairs]
        why = "a named alias" if how == "alias" else "visit numbers: the " + _nth(
            [grid.index(v) for _, v in pairs]) + " scheduled visit"
        out.notes.append(Reading("visits", f"column {col!r}: "
                                 + ", ".join(lab for lab, _ in pairs)
                                 + f" read as {design.time} {', '.join(shown)} ({why})"))


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
             "ninth", "tenth")


def _nth(positions: list[int]) -> str:
    words = [_ORDINALS[i] if i < len(_ORDINALS) else f"no. {i + 1}" for i in sorted(set(positions))]
    if len(words) > 2 and positions and sorted(set(positions)) == list(
            range(min(positions), max(positions) + 1)):
        return f"{words[0]} to {words[-1]}"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _group(u, labels, design: Design, codes_text):
    if is_missing(u):
        return None, None
    s = text_of(u)
    if s.lower() in codes_text:
        return None, None
    s = labels.get(s, s) if labels else s
    match = [g for g in design.groups if g.lower() == str(s).strip().lower()]
    if match:
        return match[0], None
    return None, f"unknown group; expected one of {list(design.groups)}"


def _category(u, labels, meas, codes_text):
    if is_missing(u):
        return None, None
    s = text_of(u)
    if s.lower() in codes_text:
        return None, None
    if labels and s in labels:
        s = str(labels[s]).strip()
    if meas.name == "sex" and s.lower() in _SEX:
        return _SEX[s.lower()], None
    if meas.name == "side" and s.lower() in _SIDE:
        return _SIDE[s.lower()], None
    for lev in meas.levels:
        if s.lower() == lev.lower():
            return lev, None
    return None, f"expected one of {list(meas.levels)}"


def _unit_cell(ref):
    def _u(v):
        if is_missing(v):
            return None, None
        cu = U.unit_for(text_of(v), ref)
        if cu is None or not U.supported(ref, cu):
            return "?", f"unit cannot be converted to {ref}"
        return cu, None
    return _u
