"""From a :class:`~hipstats.io.readers.RawTable` to typed person-period rows.

Steps: map columns to the design's names (``columns=`` first, then exact names, documented
aliases and header unit annotations; every non-exact mapping is recorded), recognise the
layout (long, wide or a REDCap export), parse each file column once (numbers, categories,
timepoints; every distinct text is parsed once, then broadcast), reshape to one row per
subject and visit and convert units to the analysis units. Every cell that cannot be used
becomes a :class:`~hipstats.errors.DataProblem` naming file, data row, column and the value
as the file wrote it; nothing is dropped or coerced silently. Range, duplicate and
consistency checks are the job of :mod:`hipstats.validation`.

Accepted column names
---------------------
A file column is matched, after lower-casing and replacing runs of other characters by
``_``, against the design's own names and :data:`ALIASES`; a unit may follow in brackets
(``strength [N]``, ``LEFS (0-80)``) or as a last ``_unit`` token (``body_mass_kg``). Wide
files name repeated measures ``<measure>_<timepoint>`` (``strength_w0``, ``lefs_week_2``,
``pain_vas_pre``, ``strength_baseline``, ``strength_follow-up``). Anything else is mapped
with ``columns={"file name": "design name"}``, which applies to long names and to the stems
of wide columns (``{"strength_N": "strength"}`` maps ``strength_N_w0`` ...).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.design import Design
from hipstats.errors import DataProblem
from hipstats.io import units as U
from hipstats.io import visits as V
from hipstats.io.names import ALIASES, norm_name as _norm
from hipstats.io.readers import RawTable

__all__ = ["Assembled", "assemble", "ALIASES", "MISSING_TOKENS", "accepted_names", "show_value"]

#: Cell texts read as missing (case-insensitive). Codes such as -99 are never guessed
#: (declare them with ``missing=[-99]``).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "."})

#: Columns of REDCap exports that carry no measurement (recognised, not reported as unknown).
REDCAP_ADMIN = re.compile(r"^(redcap_repeat_instrument|redcap_repeat_instance|"
                          r"redcap_data_access_group|redcap_survey_identifier|redcap_.+|"
                          r".+_complete|.+_timestamp)$")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec"
_DATE_LIKE_ID = re.compile(rf"(?i)\d{{1,2}}[-/ ](?:{_MONTHS})(?:[-/ ]\d{{2,4}})?|"
                           rf"(?:{_MONTHS})[-/ ]\d{{1,4}}|\d{{4}}-\d{{2}}-\d{{2}}(?: 00:00:00)?")
_ID_DATE_MSG = ("subject id is a date: a spreadsheet turned an id such as '3-12' or 'MAR1' "
                "into a date; format the id column as Text and re-enter the ids (or export "
                "them as text from the source), then load again")
_SEX = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
_SIDE = {"l": "left", "left": "left", "r": "right", "right": "right"}


def _tkey(s) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(s).strip().lower())


def show_value(v) -> str | None:
    """A cell as the file wrote it, for messages: ``91.9``, ``0``, ``'abc'``; ``None`` if empty.

    Examples
    --------
    >>> show_value(np.float64(91.9)), show_value(0.0), show_value("abc"), show_value(" 6_5")
    ('91.9', '0', "'abc'", "'6_5'")
    """
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).upper()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    if isinstance(v, str):
        s = v.strip()
        if _NUMBER.fullmatch(s):
            return s
        return repr(s)
    return repr(str(v))


def _text(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return str(int(v))
    return str(v).strip()


def _is_missing_value(v) -> bool:
    if type(v) is str:
        return v.strip().lower() in MISSING_TOKENS
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, np.floating) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in MISSING_TOKENS


_is_missing = _is_missing_value


def accepted_names(target: str) -> list[str]:
    """The names a file column may have to be read as ``target``."""
    return [target] + [a for a in ALIASES.get(target, ()) if a != target]


@dataclass
class Assembled:
    """Typed long rows plus everything learned on the way.

    ``frame`` has ``_row`` (source data row), the design's columns present in the file and
    ``lever_arm`` when the file has one; values are in the analysis units (``units``).
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


def _targets(design: Design) -> list[str]:
    return (["subject", design.time] + (["group"] if design.has_groups else [])
            + list(design.measure_names) + list(design.covariate_names) + ["lever_arm"])


def _alias_lookup(design: Design) -> dict[str, str]:
    look = {}
    for target in _targets(design):
        for a in (target,) + ALIASES.get(target, ()):
            look.setdefault(_norm(a), target)
    return look


def _unit_of(target: str, design: Design) -> str:
    """The design's unit of ``target`` in canonical spelling (``"Nm/kg"`` -> ``"N*m/kg"``)."""
    if target == "lever_arm":
        return "m"
    unit = design.measure(target).unit
    return (U.unit_for(unit, unit) or unit) if unit else unit


def _dictionary_units(dictionary: pd.DataFrame | None) -> tuple[dict, dict]:
    """Units and choices declared in a REDCap data dictionary."""
    units, choices = {}, {}
    if dictionary is None or not len(dictionary.columns):
        return units, choices
    cols = {_norm(c): c for c in dictionary.columns}
    name_c = cols.get("variable_field_name") or cols.get("field_name") or dictionary.columns[0]
    for _, r in dictionary.iterrows():
        name = _norm(r[name_c])
        for key in ("field_units", "field_note", "field_label"):
            c = cols.get(key)
            if c is None or not isinstance(r[c], str) or not r[c].strip():
                continue
            txt = r[c].strip()
            if U.normalise_unit(txt):
                units[name] = txt
                break
            _, unit, _ = U.parse_annotation(txt)
            if unit and U.normalise_unit(unit):
                units[name] = unit
                break
            m = re.search(r"[\[\(]\s*([^\]\)]+?)\s*[\]\)]", txt)
            if m and U.normalise_unit(m.group(1)):
                units[name] = m.group(1)
                break
        c = cols.get("choices_calculations_or_slider_labels") or cols.get("choices")
        if c is not None and isinstance(r[c], str) and "," in r[c]:
            pairs = [p.split(",", 1) for p in r[c].split("|") if "," in p]
            choices[name] = {k.strip(): v.strip() for k, v in pairs}
    return units, choices


# -- parsing one distinct value ---------------------------------------------------------------
def _number(v, codes_text, codes_num):
    """-> (value, problem message or None, coded-missing flag)."""
    if v is None:
        return math.nan, None, False
    if isinstance(v, (bool, np.bool_)):
        return math.nan, "expected a number, found a boolean", False
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        if math.isnan(x):
            return math.nan, None, False
    elif isinstance(v, (_dt.date, _dt.time, _dt.timedelta, pd.Timestamp)):
        return math.nan, "expected a number, found a date or time", False
    else:
        s = str(v).strip()
        low = s.lower()
        if low in MISSING_TOKENS:
            return math.nan, None, False
        if low in codes_text:
            return math.nan, None, True
        if not _NUMBER.fullmatch(s):
            if re.fullmatch(r"-?\d+,\d+", s):
                hint = " (decimal comma? use a point)"
            elif "_" in s and _NUMBER.fullmatch(s.replace("_", "")):
                hint = " (digit separators such as '_' are not allowed in data)"
            else:
                hint = ""
            return math.nan, f"expected a number{hint}", False
        x = float(s)
    if not math.isfinite(x):
        return math.nan, "expected a finite number", False
    if x in codes_num:
        return math.nan, None, True
    return x, None, False


def _timepoint(v, design: Design, vbase: int = 1):
    """-> (timepoint or None, alias_used, how) (rules in :mod:`hipstats.io.visits`)."""
    tp, how = V.read_visit(_text(v), design.timepoints, vbase)
    return tp, how is not None, how


def _wide_token(tok: str, design: Design):
    tp, how, is_tp = V.wide_token(tok, design.timepoints)
    return tp, how is not None, is_tp


def _wide_column(key: str, design: Design, resolve):
    """A wide column ``<measure>_<visit>`` or ``<visit>_<measure>`` -> ((target, unit,
    by_user), timepoint, alias, token) or None."""
    parts = key.split("_")
    for n in (1, 2, 3):
        if len(parts) <= n:
            break
        for base, tok in (("_".join(parts[:-n]), "_".join(parts[-n:])),
                          ("_".join(parts[n:]), "_".join(parts[:n]))):
            tpv, alias, is_tp = _wide_token(tok, design)
            if not is_tp:
                continue
            hit = resolve(base)
            if hit is not None and hit[0] in design.measure_names:
                return hit, tpv, alias, tok
    return None


_VISITISH = re.compile(r"(^|_)(\d+|[a-z]*\d+[a-z]*|baseline|base|bl|pre|post|fu|follow|"
                       r"followup|week|wk|visit|month|mo|day)(_|$)")


def _looks_like_measure(key: str, design: Design, lookup: dict, user_norm: dict):
    """The design measure an unmapped column seems to hold at some visit (its name has a
    measure's name or alias and a visit-like part: ``strength_3mo``, ``lefs2``), or None."""
    if not _VISITISH.search(key) and not re.search(r"[a-z]\d+$", key):
        return None
    names = {k: v for k, v in lookup.items() if v in design.measure_names}
    names.update({k: v[1] for k, v in user_norm.items() if v[1] in design.measure_names})
    for name, target in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(^|_){re.escape(name)}(_|\d|$)", key):
            return target
    return None


#: First cells of the summary rows spreadsheets put under a table (compared letters only).
SUMMARY_LABELS = frozenset({
    "mean", "means", "average", "avg", "sd", "std", "stdev", "stddev", "standarddeviation",
    "se", "sem", "standarderror", "total", "totals", "sum", "n", "count", "median", "min",
    "max", "minimum", "maximum", "range", "iqr", "variance", "var", "cv", "meansd",
    "meanstd", "mediansd", "95ci", "ci", "grandmean", "grandtotal"})


def _summary_rows(df, col_codes, subject_col, blank, out: "Assembled", src) -> np.ndarray:
    """Rows such as ``Mean``/``SD``/``Total``/``n`` under the data: the label is the subject
    cell (or, the subject cell empty, another text cell). Those after the last subject row
    are excluded, each named in the ledger; one in the middle of the data is an error."""
    n = len(df)
    mark = np.zeros(n, dtype=bool)
    label = np.full(n, None, dtype=object)
    if subject_col is None or not n:
        return mark
    _, scodes, suniq = col_codes[subject_col]
    subj_missing = np.array([_is_missing_value(u) for u in suniq] + [True])[scodes]
    for col in df.columns:
        arr, codes, uniq = col_codes[col]
        hit = np.array([isinstance(u, str) and _tkey(u) in SUMMARY_LABELS for u in uniq] + [False])
        if not hit.any():
            continue
        rows = hit[codes] if col == subject_col else hit[codes] & subj_missing
        new = rows & (label == None)  # noqa: E711 - element-wise
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
            out.excluded.append((int(rows_idx[i]), f"summary row {lab!r} under the data "
                                                   "(not a subject)"))
        else:
            out.problems.append(DataProblem(
                src, int(rows_idx[i]), str(subject_col), repr(lab),
                f"summary row {lab!r} between subjects' rows; remove it (summary rows "
                "are excluded only below the data)"))
    return mark


def _codes(series: pd.Series):
    arr = series.to_numpy(dtype=object)
    codes, uniques = pd.factorize(arr, use_na_sentinel=True)
    return arr, codes, list(uniques)


def _labels_for(col, raw: RawTable, choices: dict):
    vl = raw.value_labels.get(col) or choices.get(_norm(col))
    if not vl:
        return None
    return {_text(k): v for k, v in vl.items()}


def assemble(raw: RawTable, design: Design, units: dict | None = None,
             dictionary: pd.DataFrame | None = None, lever_arm=None,
             columns: dict | None = None, analysis_units: dict | None = None,
             missing=None, visit_dates=None) -> Assembled:
    """Map, parse, reshape and convert a raw table (see module docstring).

    ``visit_dates`` (``{"column": "visit_date", "window_days": 3}``) places rows on the grid
    by their date (rules in :mod:`hipstats.io.visits`).

    ``lever_arm`` is a number (metres) or the name of a file column; ``missing`` a list of
    codes (``-99``, ``"n.d."``) read as missing cells in measure and covariate columns.
    """
    src = raw.source
    out = Assembled(frame=pd.DataFrame(), problems=list(raw.problems), notes=list(raw.notes),
                    warnings=list(getattr(raw, "warnings", [])), raw=raw)
    problems, notes = out.problems, out.notes
    targets_all = _targets(design)
    lookup = _alias_lookup(design)
    dict_units, dict_choices = _dictionary_units(dictionary)
    user_units = dict(units or {})
    analysis = dict(analysis_units or {})
    value_targets = set(targets_all) - {"subject", "group", design.time}
    for opt, given in (("units", user_units), ("analysis_units", analysis)):
        for k in list(given):
            if k not in value_targets:
                problems.append(DataProblem(
                    src, None, k, repr(given[k]),
                    f"{opt}= names a column the design does not have; measures with units: "
                    + ", ".join(t for t in targets_all if t in value_targets)))
                given.pop(k)
    vdates = None
    if visit_dates is not None:
        try:
            vdates = V.visit_dates_option(visit_dates, design.timepoints)
        except ValueError as exc:
            problems.append(DataProblem(src, None, "visit_dates", None, str(exc)))
            return out
    codes_text = {str(c).strip().lower() for c in (missing or ())}
    codes_num = set()
    for c in missing or ():
        val, msg, _ = _number(c, (), ())
        if msg is None and not math.isnan(val):
            codes_num.add(val)

    # lever arm: a number, or the name of a column
    lever_const = lever_col = None
    user_map = {}
    for k, v in (columns or {}).items():
        user_map[str(k)] = str(v)
    if lever_arm is not None:
        if isinstance(lever_arm, (int, float, np.integer, np.floating)) and \
                not isinstance(lever_arm, bool):
            lever_const = float(lever_arm)
        else:
            try:
                lever_const = float(str(lever_arm).strip())
            except ValueError:
                user_map[str(lever_arm)] = "lever_arm"
                lever_col = str(lever_arm)
        if lever_const is not None and not (lever_const > 0 and math.isfinite(lever_const)):
            problems.append(DataProblem(src, None, "lever_arm", show_value(lever_const),
                                        "lever_arm= must be a positive number of metres"))
            lever_const = None
    for k, v in list(user_map.items()):
        if v not in targets_all:
            close = difflib.get_close_matches(v, targets_all, n=1)
            problems.append(DataProblem(
                src, None, k, repr(v),
                f"columns= maps {k!r} to {v!r}, which is not a column of design "
                f"{design.name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                + "; accepted: " + ", ".join(targets_all)))
            user_map.pop(k)
    user_norm = {}
    for k, v in user_map.items():
        user_norm.setdefault(_norm(k), (k, v))
        user_norm.setdefault(_norm(U.parse_annotation(k)[0]), (k, v))
    used_user: set[str] = set()

    def _resolve(key: str, full: str | None = None):
        """-> (target, unit from a name suffix, via user map) or None."""
        for k in (full, key):
            if k is not None and k in user_norm:
                used_user.add(user_norm[k][0])
                return user_norm[k][1], None, True
        if key in lookup:
            return lookup[key], None, False
        m = re.fullmatch(r"(.+)_([a-z%]+)", key)
        if m and (m.group(1) in lookup or m.group(1) in user_norm):
            stem, suffix = m.group(1), m.group(2)
            target = user_norm[stem][1] if stem in user_norm else lookup[stem]
            if target not in value_targets:
                return None
            ref = _unit_of(target, design)
            if target != "lever_arm" and design.measure(target).kind != "float":
                return None
            cu = U.unit_for(suffix, ref)
            if cu is None or not U.supported(ref, cu):
                return None
            if stem in user_norm:
                used_user.add(user_norm[stem][0])
                return target, cu, True
            return target, cu, False
        return None

    # 1. map columns -------------------------------------------------------------
    df = raw.frame
    file_cols = [str(c) for c in df.columns]
    colmap: dict[str, tuple[str, object]] = {}  # file column -> (target, timepoint or None)
    col_units: dict[str, tuple[str, str]] = {}  # file column -> (unit text, where declared)
    col_scale: dict[str, tuple] = {}
    unit_cols: dict[str, str] = {}  # target -> per-row unit column
    redcap = {"record_id", "redcap_event_name"} <= {_norm(c) for c in file_cols}
    event_col = repeat_col = instance_col = None
    pending = []
    for col in df.columns:
        scol = str(col)
        name, unit, scale = U.parse_annotation(scol)
        key, full = _norm(name), _norm(scol)
        where = "header"
        if unit is None:
            if full in dict_units or key in dict_units:
                unit, where = dict_units.get(full) or dict_units[key], "data dictionary"
            elif col in raw.labels:
                _, unit, s2 = U.parse_annotation(raw.labels[col])
                scale = scale or s2
                where = "SPSS variable label"
            if unit is None and col in raw.units:
                unit = raw.units[col]
                where = "frame's attrs['units']" if raw.fmt == "frame" else "datapackage.json"
        if scale:
            col_scale[scol] = scale
        if vdates is not None and (scol == vdates.column or full == _norm(vdates.column)):
            colmap[col] = ("_visit_date", None)
            continue
        hit = _resolve(key, full) if (full in user_norm or key in user_norm) else None
        if hit is None and redcap:
            if key == "redcap_event_name":
                event_col = col
                continue
            if key == "redcap_repeat_instrument":
                repeat_col = col
                continue
            if key == "redcap_repeat_instance":
                instance_col = col
                continue
            if REDCAP_ADMIN.match(key):
                continue
        if hit is None and key == "lsi":
            notes.append(f"column {scol!r} ignored: the limb symmetry index is recomputed "
                         "from strength and strength_uninvolved")
            continue
        if hit is None:
            m = re.fullmatch(r"(.+?)_units?", key)
            if m and (m.group(1) in lookup or m.group(1) in user_norm):
                t = user_norm[m.group(1)][1] if m.group(1) in user_norm else lookup[m.group(1)]
                if t in value_targets:
                    unit_cols[t] = col
                    continue
            hit = _resolve(key, full)
        if hit is not None:
            target, suffix_unit, by_user = hit
            colmap[col] = (target, None)
            if unit is None and suffix_unit is not None:
                unit, where = suffix_unit, "header"
            if unit is not None:
                col_units[scol] = (unit, where)
            if by_user:
                if key != target:
                    notes.append(f"column {scol!r} read as {target!r} (columns=)")
            elif suffix_unit is not None:
                notes.append(f"column {scol!r} read as {target!r} in {suffix_unit} "
                             "(unit from its name)")
            elif key != target:
                notes.append(f"column {scol!r} read as {target!r}")
            continue
        pending.append((col, key, unit, where))
    has_time = any(t in (design.time, "_visit_date") for t, _ in colmap.values()) or redcap
    if vdates is not None and not any(t == "_visit_date" for t, _ in colmap.values()):
        close = difflib.get_close_matches(vdates.column, file_cols, n=3, cutoff=0.5)
        problems.append(DataProblem(
            src, None, vdates.column, None, "visit_dates= names a column the file does not have"
            + (f"; closest: {', '.join(repr(c) for c in close)}" if close else "")))
        return out
    wide_notes: dict[tuple, list[str]] = {}
    for col, key, unit, where in pending:
        scol = str(col)
        found = None
        if not has_time:
            found = _wide_column(key, design, _resolve)
        if found is None:
            looks = _looks_like_measure(key, design, lookup, user_norm)
            if looks is not None:
                problems.append(DataProblem(
                    src, None, scol, None,
                    f"column looks like {looks} at a visit but cannot be placed on the "
                    f"design's grid {list(design.timepoints)}"
                    + (" (the file is long: it has a time column, so each measure is one "
                       "column)" if has_time else "")
                    + "; rename it (e.g. '" + f"{looks}_{_tp_token(design.timepoints[-1])}"
                    + "') or map it with columns="))
                continue
            out.unknown_columns.append(scol)
            continue
        (target, suffix_unit, by_user), tpv, alias, tok = found
        if tpv is None:
            problems.append(DataProblem(
                src, None, scol, None,
                f"unknown timepoint: column holds {target} at {tok!r}, not one of the "
                f"design's timepoints {list(design.timepoints)}"))
            continue
        colmap[col] = (target, tpv)
        if unit is None and suffix_unit is not None:
            unit, where = suffix_unit, "header"
        if unit is not None:
            col_units[scol] = (unit, where)
        how = []
        if alias:
            shown = repr(tpv) if isinstance(tpv, str) else show_value(tpv)
            how.append(f"{tok!r} read as {design.time} {shown}")
        if by_user:
            how.append("columns=")
        if suffix_unit is not None and not by_user:
            how.append(f"unit {suffix_unit} from the name")
        if how:
            wide_notes.setdefault((target, "; ".join(how)), []).append(scol)
    for (target, how), cols in wide_notes.items():
        names = ", ".join(repr(c) for c in cols)
        notes.append(f"column{'s' if len(cols) > 1 else ''} {names} read as {target!r} ({how})")

    for k in user_map:
        if k not in used_user:
            close = difflib.get_close_matches(k, file_cols, n=3, cutoff=0.5)
            if k == lever_col:
                problems.append(DataProblem(
                    src, None, k, None,
                    "lever_arm= names a column the file does not have"
                    + (f"; closest: {', '.join(repr(c) for c in close)}" if close else "")
                    + " (or give one number in metres)"))
                continue
            out.warnings.append(
                f"columns= names {k!r}, which the file does not have"
                + (f" (closest: {', '.join(repr(c) for c in close)})" if close else ""))

    # Excel cells formatted as percent hold strength as %BW (0.35 shown as 35% is 35 %BW)
    for col, (target, _) in colmap.items():
        if str(col) in raw.percent_cells and str(col) not in col_units and \
                target in value_targets and U.is_strength(_unit_of(target, design)):
            col_units[str(col)] = ("%BW", "Excel percent format")

    # two columns for one cell: name both
    by_cell: dict[tuple, list[str]] = {}
    for col, (target, tp) in colmap.items():
        by_cell.setdefault((target, tp), []).append(str(col))
    for (target, tp), cols in by_cell.items():
        if len(cols) > 1:
            at = f" at {design.time} {show_value(tp) if not isinstance(tp, str) else repr(tp)}" \
                if tp is not None else ""
            problems.append(DataProblem(
                src, None, cols[1], None,
                f"columns {', '.join(repr(c) for c in cols)} {'both' if len(cols) == 2 else 'all'}"
                f" hold {target}{at}; keep one "
                "(or map the others elsewhere with columns=)"))
            for c in cols[1:]:
                colmap.pop(c, None)
    for (target, tp), cols in by_cell.items():
        out.sources[(target, tp)] = cols[0]

    targets = {t for t, _ in colmap.values()}
    out.layout = "redcap" if redcap else (
        "long" if design.time in targets or "_visit_date" in targets else "wide")
    unmapped = [c for c in file_cols if c in out.unknown_columns]

    def _missing_column(target: str, what: str = "required column is missing") -> DataProblem:
        names = accepted_names(target)
        msg = f"{what}; accepted names: {', '.join(names)}"
        if target in design.measure_names:
            msg += f" (or wide columns such as '{target}_{_tp_token(design.timepoints[0])}')"
        scores = []
        for c in unmapped:
            r = max(difflib.SequenceMatcher(None, _norm(c), _norm(n)).ratio() for n in names)
            scores.append((-r, c))
        closest = [c for _, c in sorted(scores)[:3]]
        if closest:
            msg += (f"; closest file columns: {', '.join(repr(c) for c in closest)}"
                    f" (map one with columns={{{closest[0]!r}: {target!r}}})")
        return DataProblem(src, None, target, None, msg)

    if out.layout == "wide" and not any(tp is not None for _, tp in colmap.values()):
        problems.append(_missing_column(
            design.time, f"no {design.time!r} column and no wide columns such as "
                         f"'strength_{_tp_token(design.timepoints[0])}'"))
    if "subject" not in targets:
        problems.append(_missing_column("subject"))
    if design.has_groups and "group" not in targets:
        problems.append(_missing_column("group"))
    for m in design.measures:
        if m.required and m.name not in targets:
            problems.append(_missing_column(m.name))
    if any(p.row is None and "required column" in p.message for p in problems) or \
            any(p.column == design.time and p.row is None for p in problems):
        return out

    # 2. units: what the file holds, what results are in -------------------------
    file_unit: dict[str, str] = {}
    where_of: dict[str, str] = {}
    analysis_unit: dict[str, str] = {}
    bad_unit_targets: set[str] = set()
    numeric_targets = sorted(t for t in targets | set(unit_cols)
                             if t in value_targets and
                             (t == "lever_arm" or design.measure(t).kind == "float"))
    primary_strength = design.primary.get("strength", "strength")
    for target in numeric_targets:
        ref = _unit_of(target, design)
        declared = {}
        for col, (t, _) in colmap.items():
            if t == target and str(col) in col_units:
                declared.setdefault(col_units[str(col)][0], col_units[str(col)][1])
        canon_decl = {}
        for u, w in declared.items():
            cu = U.unit_for(u, ref)
            canon_decl.setdefault(cu or u, (u, w))
        if target in user_units:
            u = user_units[target]
            others = [x for x in canon_decl if x != U.unit_for(u, ref)]
            if others:
                out.warnings.append(f"{target}: units= says {u!r}, the file says "
                                    f"{canon_decl[others[0]][0]!r} ({canon_decl[others[0]][1]}); "
                                    "using units=")
            chosen, where = u, "units="
        elif len(canon_decl) > 1:
            problems.append(DataProblem(
                src, None, target, None,
                f"{target} columns declare different units: "
                + ", ".join(f"{v[0]!r}" for v in canon_decl.values())))
            bad_unit_targets.add(target)
            continue
        elif canon_decl:
            chosen, where = next(iter(canon_decl.values()))
        else:
            chosen, where = None, None
        if chosen is not None:
            canon = U.unit_for(chosen, ref)
            if canon is None or not U.supported(ref, canon):
                problems.append(DataProblem(
                    src, None, out.column_of(target) if target in targets else target,
                    repr(str(chosen)),
                    f"unit cannot be converted to {ref}" + (
                        "; strength units: " + ", ".join(U.STRENGTH_UNITS)
                        if U.is_strength(ref) else "")))
                bad_unit_targets.add(target)
                continue
            file_unit[target] = canon
            where_of[target] = where
        an = analysis.get(target)
        if an is None and target != primary_strength and U.is_strength(ref) and \
                primary_strength in analysis and U.is_strength(_unit_of(primary_strength, design)):
            an = analysis[primary_strength]
        if an is not None:
            can = U.unit_for(an, ref)
            if can is None or not U.supported(ref, can):
                problems.append(DataProblem(
                    src, None, target, repr(str(an)),
                    f"analysis_units: {target} cannot be expressed in {an!r}" + (
                        "; choose one of " + ", ".join(U.STRENGTH_UNITS)
                        if U.is_strength(ref) else f" (its unit is {ref})")))
                bad_unit_targets.add(target)
                continue
            analysis_unit[target] = can
        else:
            analysis_unit[target] = ref
    # strength_uninvolved without a declaration takes strength's (never silently)
    for target in numeric_targets:
        ref = _unit_of(target, design)
        if target in file_unit or target in unit_cols or not U.is_strength(ref) or \
                target == primary_strength:
            continue
        if primary_strength in file_unit and primary_strength not in unit_cols:
            file_unit[target] = file_unit[primary_strength]
            where_of[target] = f"as {primary_strength}"
            notes.append(f"{target}: no unit declared; taken as {primary_strength}'s "
                         f"({file_unit[target]})")
    by_where: dict[str, list[str]] = {}
    for target, w in where_of.items():
        if w not in ("units=", "header") and not w.startswith("as "):
            by_where.setdefault(w, []).append(f"{target} {file_unit[target]}")
    for w, items in by_where.items():
        notes.append(f"units declared in the {w}: {', '.join(items)}")
    # scale annotations (LEFS (0-80)): compared with the design, never taken as a unit
    for scol, (lo, hi) in col_scale.items():
        hit = next(((t, tp) for c, (t, tp) in colmap.items() if str(c) == scol), None)
        if hit is None or hit[0] not in value_targets or hit[0] == "lever_arm":
            continue
        meas = design.measure(hit[0])
        if meas.kind != "float":
            continue
        unit = file_unit.get(hit[0], meas.unit)
        try:
            dlo, dhi = U.range_in(unit, meas.unit, meas.low, meas.high)
        except ValueError:
            continue
        if dlo is not None and dhi is not None and (abs(lo - dlo) > 1e-9 or abs(hi - dhi) > 1e-9):
            out.warnings.append(
                f"column {scol!r}: scale {lo:g}-{hi:g}, but {meas.name} is {dlo:g}-{dhi:g} "
                f"{unit}; if the values are in another unit, declare units=")
        else:
            notes.append(f"column {scol!r}: scale {lo:g}-{hi:g} matches {meas.name}")

    # 3. parse each file column once ----------------------------------------------
    blank = np.ones(len(df), dtype=bool)
    parsed: dict[str, np.ndarray] = {}
    coded: dict[str, int] = {}
    rows_idx = df.index.to_numpy()
    check_bool = raw.fmt not in ("csv", "tsv")

    def _cell_problems(col, mask, value_of, message):
        for i in np.flatnonzero(mask):
            problems.append(DataProblem(src, int(rows_idx[i]), str(col), value_of(i), message))

    col_codes = {}
    for col in df.columns:
        col_codes[col] = _codes(df[col])
    for col in sorted(df.columns, key=lambda c: len(col_codes[c][2])):
        if not blank.any():
            break
        arr, codes, uniq = col_codes[col]
        miss_u = np.array([_is_missing_value(u) for u in uniq] + [True], dtype=bool)
        blank &= miss_u[codes]  # code -1 -> last entry (True)
    out.blank_rows = [int(r) for r in rows_idx[blank]]
    out.source_rows = rows_idx[~blank].astype(np.int64)
    subject_col = next((c for c, (t, _) in colmap.items() if t == "subject"), None)
    summary = _summary_rows(df, col_codes, subject_col, blank, out, src)
    nonblank = ~blank & ~summary

    def _parse_numbers(col, target):
        arr, codes, uniq = col_codes[col]
        vals = np.empty(len(uniq) + 1)
        msgs = [None] * (len(uniq) + 1)
        is_coded = np.zeros(len(uniq) + 1, dtype=bool)
        for j, u in enumerate(uniq):
            vals[j], msgs[j], is_coded[j] = _number(u, codes_text, codes_num)
        vals[-1] = np.nan
        v = vals[codes]
        if check_bool and len(arr):
            is_b = np.fromiter((type(x) is bool or type(x) is np.bool_ for x in arr), bool,
                               count=len(arr))
            if is_b.any():
                v[is_b] = np.nan
                _cell_problems(col, is_b & nonblank, lambda i: show_value(arr[i]),
                               "expected a number, found a boolean")
        bad_codes = [j for j, m in enumerate(msgs[:-1]) if m is not None]
        for j in bad_codes:
            mask = (codes == j) & nonblank
            _cell_problems(col, mask, lambda i, j=j: show_value(uniq[j]), msgs[j])
        n_coded = int(is_coded[codes][nonblank].sum()) if is_coded.any() else 0
        if n_coded:
            coded[str(col)] = n_coded
        return v

    def _parse_mapped(col, fn, what):
        """Parse via a function of one distinct value -> (result, problem message)."""
        arr, codes, uniq = col_codes[col]
        res = [None] * (len(uniq) + 1)
        msgs = [None] * (len(uniq) + 1)
        for j, u in enumerate(uniq):
            res[j], msgs[j] = fn(u)
        res[-1], msgs[-1] = fn(None)
        out_arr = np.empty(len(res), dtype=object)
        out_arr[:] = res
        vals = out_arr[codes]
        for j, m in enumerate(msgs):
            if m is None:
                continue
            mask = ((codes == j) if j < len(uniq) else (codes == -1)) & nonblank
            shown = show_value(uniq[j]) if j < len(uniq) else None
            _cell_problems(col, mask, lambda i, s=shown: s, m)
        return vals

    for col, (target, tp) in colmap.items():
        if target == "subject":
            def _subject(u):
                if type(u) is str:
                    s = u.strip()
                    if _DATE_LIKE_ID.fullmatch(s):
                        return None, _ID_DATE_MSG
                    return (None, "subject id is missing") if s.lower() in MISSING_TOKENS \
                        else (s, None)
                if isinstance(u, (_dt.date, _dt.datetime, pd.Timestamp, np.datetime64)):
                    return None, _ID_DATE_MSG
                if _is_missing_value(u):
                    return None, "subject id is missing"
                return _text(u), None
            parsed[col] = _parse_mapped(col, _subject, "subject")
        elif target == design.time:
            labels = _labels_for(col, raw, dict_choices)
            uniq_labels = [labels.get(_text(u), u) if labels else u for u in col_codes[col][2]]
            vbase = V.ordinal_base([_text(u) for u in uniq_labels])
            seen: dict = {}
            for u in uniq_labels:
                if not _is_missing_value(u):
                    t_, _, how_ = _timepoint(u, design, vbase)
                    seen[_text(u)] = (t_, how_)
            clashes = V.third_visit_clashes(seen, design.timepoints)

            def _tp(u, labels=labels, col=col, vbase=vbase, clashes=clashes):
                if _is_missing_value(u):
                    return None, "timepoint is missing"
                lab = labels.get(_text(u)) if labels else None
                for cand in ([lab] if lab is not None else []) + [u]:
                    if _text(cand) in clashes:
                        tp_, others = clashes[_text(cand)]
                        return None, (
                            f"a third visit? {_text(cand)!r} would be read as "
                            f"{design.time} {tp_!r}, but the file also has "
                            f"{', '.join(repr(o) for o in others)}; the design's timepoints "
                            f"are {list(design.timepoints)} (drop these rows or use a design "
                            "with this visit)")
                    v, alias, how = _timepoint(cand, design, vbase)
                    if v is not None:
                        if alias:
                            notes.append(f"{col}: {show_value(cand)} read as {design.time} "
                                         f"{show_value(v) if not isinstance(v, str) else repr(v)}"
                                         + (" (visit number)" if how == "number" else ""))
                        return v, None
                kind = "weeks" if all(isinstance(t, (int, np.integer))
                                      for t in design.timepoints) else "timepoints"
                extra = f" (labelled {lab!r})" if lab is not None else ""
                return None, (f"unknown timepoint{extra}; the design's {kind} are "
                              f"{list(design.timepoints)}")
            parsed[col] = _parse_mapped(col, _tp, "time")
        elif target == "group":
            labels = _labels_for(col, raw, dict_choices)

            def _grp(u, labels=labels):
                if _is_missing_value(u):
                    return None, None
                s = _text(u)
                if s.lower() in codes_text:
                    return None, None
                s = labels.get(s, s) if labels else s
                match = [g for g in design.groups if g.lower() == str(s).strip().lower()]
                if match:
                    return match[0], None
                return None, f"unknown group; expected one of {list(design.groups)}"
            parsed[col] = _parse_mapped(col, _grp, "group")
        elif target == "_visit_date":
            def _date(u):
                if _is_missing_value(u):
                    return None, "visit date is missing"
                return V.parse_date(u)
            parsed[col] = _parse_mapped(col, _date, "date")
        elif target == "lever_arm" or design.measure(target).kind == "float":
            parsed[col] = _parse_numbers(col, target)
        else:
            meas = design.measure(target)
            labels = _labels_for(col, raw, dict_choices)

            def _cat(u, meas=meas, labels=labels):
                if _is_missing_value(u):
                    return None, None
                s = _text(u)
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
            parsed[col] = _parse_mapped(col, _cat, "category")
    for col, n in coded.items():
        notes.append(f"column {col!r}: {n} cell{'s' if n != 1 else ''} with a missing-value "
                     "code read as missing")

    event = repeat = None
    if event_col is not None:
        out.sources[(design.time, None)] = str(event_col)
        def _ev(u):
            return _redcap_event(u, design)
        event = _parse_mapped(event_col, _ev, "event")
    if repeat_col is not None:
        repeat = df[repeat_col].to_numpy(object)
    unit_row = {}
    for target, col in unit_cols.items():
        ref = _unit_of(target, design)

        def _u(v, ref=ref, target=target):
            if _is_missing_value(v):
                return None, None
            cu = U.unit_for(_text(v), ref)
            if cu is None or not U.supported(ref, cu):
                return "?", f"unit cannot be converted to {ref}"
            return cu, None
        unit_row[target] = _parse_mapped(col, _u, "unit")
        out.sources[(target + "__unit", None)] = str(col)

    # 4. reshape to long ------------------------------------------------------------
    keep = np.flatnonzero(nonblank)
    base_cols = [(c, t) for c, (t, tp) in colmap.items() if tp is None]
    blocks = []
    if out.layout == "wide":
        tps = [tp for tp in design.timepoints if any(v == tp for _, v in colmap.values())]
        for tp in tps:
            blk = {"_row": rows_idx[keep]}
            for c, t in base_cols:
                blk[t] = parsed[c][keep]
            for c, (t, v) in colmap.items():
                if v == tp:
                    blk[t] = parsed[c][keep]
            tcol = np.empty(len(keep), dtype=object)
            tcol[:] = [tp] * len(keep)
            blk[design.time] = tcol
            blk["_pos"] = np.full(len(keep), design.timepoints.index(tp))
            for t, arr in unit_row.items():
                blk[t + "__unit"] = arr[keep]
            blocks.append(_frame(blk))
        frame = pd.concat(blocks, ignore_index=True) if blocks else pd.DataFrame()
        if len(frame):
            frame = frame.sort_values(["_row", "_pos"], kind="mergesort").drop(columns="_pos")
            frame = frame.reset_index(drop=True)
    else:
        blk = {"_row": rows_idx[keep]}
        for c, t in base_cols:
            blk[t] = parsed[c][keep]
        if event is not None:
            blk[design.time] = event[keep]
        for t, arr in unit_row.items():
            blk[t + "__unit"] = arr[keep]
        frame = _frame(blk)
    if frame.empty:
        frame = pd.DataFrame(columns=["_row", "subject", design.time])
    for t in numeric_targets:
        if t in frame:
            frame[t] = frame[t].astype("float64")

    if "_visit_date" in frame:
        frame = _visits_from_dates(frame, out, design, vdates)

    # REDCap: repeating-instrument rows and subject-level fields on one event ----------
    if out.layout == "redcap" and len(frame):
        frame = _redcap_rows(frame, out, design, repeat[keep] if repeat is not None else None,
                             df[instance_col].to_numpy(object)[keep]
                             if instance_col is not None else None)

    # 5. convert units --------------------------------------------------------------
    _convert(frame, out, design, numeric_targets, file_unit, analysis_unit, unit_row,
             unit_cols, lever_const, bad_unit_targets)
    for t in [c for c in frame.columns if c.endswith("__unit")]:
        frame = frame.drop(columns=t)
    out.frame = frame
    return out


def _frame(cols: dict) -> pd.DataFrame:
    """A DataFrame keeping object columns as object (pandas would convert text to its
    Arrow-backed string dtype, whose factorize/groupby is several times slower here)."""
    return pd.DataFrame({k: (pd.Series(v, dtype=object) if getattr(v, "dtype", None) == object
                             else v) for k, v in cols.items()})


def _tp_token(tp) -> str:
    return f"w{tp}" if isinstance(tp, (int, np.integer)) else str(tp)


def _visits_from_dates(frame: pd.DataFrame, out: Assembled, design: Design, vd) -> pd.DataFrame:
    """Nominal visit from each row's date (window around the schedule from the subject's
    first date); ``days_since_baseline`` kept; rows in no window excluded, each named."""
    t = design.time
    dates = np.array([np.datetime64("NaT", "D") if d is None else d
                      for d in frame["_visit_date"].to_numpy(object)], dtype="datetime64[D]")
    tp, days, inwin = V.assign_visits(frame["subject"].to_numpy(object), dates, vd)
    frame["days_since_baseline"] = days
    col = out.sources.get(("_visit_date", None), vd.column)
    if t not in frame:
        frame[t] = tp
        out.sources[(t, None)] = col
        sched = ", ".join(f"{_tp_text(k)} day {v:g}" for k, v in vd.schedule.items())
        out.notes.append(f"{t} read from the dates in {col!r}: the visit within "
                         f"{vd.window_days:g} days of the schedule ({sched}) counted from "
                         "each subject's first date; days_since_baseline kept")
    out_rows = np.flatnonzero(~inwin)
    for i in out_rows:
        r = int(frame["_row"].iat[i])
        out.excluded.append((r, f"visit on {dates[i]} is day {days[i]:g} after subject "
                                f"{frame['subject'].iat[i]!r}'s first visit: outside every "
                                f"window of +/-{vd.window_days:g} days around the schedule"))
    if len(out_rows):
        rows = [int(frame["_row"].iat[i]) for i in out_rows]
        out.warnings.append(
            f"{len(rows)} visit{'s' if len(rows) != 1 else ''} outside the visit windows "
            f"excluded (row{'s' if len(rows) != 1 else ''} "
            + ", ".join(str(r) for r in rows[:10]) + (" ..." if len(rows) > 10 else "")
            + "); see the ledger, or widen window_days")
        frame = frame[inwin].reset_index(drop=True)
    return frame.drop(columns="_visit_date")


def _tp_text(tp) -> str:
    return repr(tp) if isinstance(tp, str) else str(tp)


def _redcap_event(v, design: Design):
    if _is_missing_value(v):
        return None, "REDCap event name is missing"
    s = re.sub(r"_arm_\d+$", "", str(v).strip().lower())
    grid = design.timepoints
    if _tkey(s) in ("baseline", "screeningbaseline", "enrolment", "enrollment", "screening",
                    "base", "bl"):
        return grid[0], None
    if all(isinstance(t, (int, np.integer)) for t in grid):
        m = re.fullmatch(r"(?:week|wk|w)_?(\d+)(?:_.*)?", s)
        if m and int(m.group(1)) in grid:
            return int(m.group(1)), None
    v2, _, _ = _timepoint(s, design)
    if v2 is not None:
        return v2, None
    return None, f"REDCap event does not match a timepoint {list(grid)}"


def _redcap_rows(frame: pd.DataFrame, out: Assembled, design: Design, repeat, instance):
    """Spread subject-level fields over a subject's events; drop repeating-instrument rows
    that carry no design field; combine rows of one record and event that do not clash."""
    t = design.time
    value_cols = [c for c in frame.columns
                  if c not in ("_row", "subject", t) and not c.endswith("__unit")]
    if repeat is not None:
        rep = np.array([None if _is_missing_value(x) else _text(x) for x in repeat], dtype=object)
        inst = np.array([None if instance is None or _is_missing_value(x) else _text(x)
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


def _convert(frame, out: Assembled, design: Design, numeric_targets, file_unit, analysis_unit,
             unit_row, unit_cols, lever_const, bad_unit_targets):
    src = out.raw.source if out.raw is not None else "<data>"
    problems = out.problems
    n = len(frame)
    _carry_subject_values(frame, out, [t for t in ("body_mass", "lever_arm")
                                       if t in numeric_targets and t not in bad_unit_targets])
    # order: body mass and lever arm first (strength conversions use them)
    order = sorted(numeric_targets, key=lambda t: (t not in ("body_mass", "lever_arm"), t))
    base_units: dict[str, np.ndarray] = {}
    for target in order:
        if target in bad_unit_targets:
            if target in frame:
                frame[target] = np.nan
            continue
        ref = _unit_of(target, design)
        an = analysis_unit.get(target, ref)
        out.units[target] = an
        if target not in frame:
            continue
        vals = frame[target].to_numpy(float)
        if target in unit_cols:
            per = frame[target + "__unit"].to_numpy(object)
            unusable = per == "?"  # already reported where it was read
            per = np.where(unusable, None, per)
            vals = np.where(unusable, np.nan, vals)
            fallback = file_unit.get(target)
            if fallback is not None:
                per = np.where(pd.isna(per), fallback, per)
            no_unit = pd.isna(per) & ~np.isnan(vals)
            if no_unit.any():
                ucol = out.sources.get((target + "__unit", None))
                for i in np.flatnonzero(no_unit):
                    problems.append(DataProblem(
                        src, int(frame["_row"].iat[i]), ucol, None,
                        f"no unit on this row for {target} (and none declared for the "
                        "column); fill it in or declare units="))
                vals = np.where(no_unit, np.nan, vals)
            units_present = sorted({u for u in per if isinstance(u, str)})
            counts = {u: int(np.sum(per == u)) for u in units_present}
            out.notes.append(f"{target}: unit read row by row from column "
                             f"{out.sources.get((target + '__unit', None))!r} ("
                             + ", ".join(f"{u} on {k} row{'s' if k != 1 else ''}"
                                         for u, k in counts.items()) + ")")
            out.declared[target] = "per row: " + ", ".join(units_present)
            groups = [(u, per == u) for u in units_present]
        else:
            u = file_unit.get(target)
            if u is None:
                u = ref
                if U.is_strength(ref):
                    out.unit_assumed[target] = ref
                    _warn_assumed(out, target, ref, vals)
            out.declared[target] = u
            groups = [(u, np.ones(n, dtype=bool))]
        new = vals.copy()
        failed = np.zeros(n, dtype=bool)
        for unit, mask in groups:
            try:
                p = U.plan(unit, an)
            except ValueError:
                problems.append(DataProblem(src, None, out.column_of(target), unit,
                                            f"unit cannot be converted to {an}"))
                failed |= mask
                continue
            if p.identity:
                continue
            x = vals[mask]
            factor = np.full(mask.sum(), p.factor)
            const_used = False
            for need, power in (("lever_arm", p.lever), ("body_mass", p.mass)):
                if not power:
                    continue
                if need == "lever_arm" and "lever_arm" not in frame and lever_const is not None:
                    arr = np.full(n, lever_const)
                    const_used = True
                elif need in frame:
                    # in kg / m whatever unit the results of body_mass / lever_arm are in
                    arr = base_units[need] if need in base_units else frame[need].to_numpy(float)
                else:
                    hint = ("declare lever_arm= (the name of a lever-arm column, or one number "
                            "in metres)" if need == "lever_arm" else
                            "the file has no body_mass column (map one with columns=)")
                    said = need == "lever_arm" and any(
                        p.message.startswith("lever_arm= ") for p in problems)
                    if not said:  # one root cause, one line
                        problems.append(DataProblem(
                            src, None, target, None,
                            f"converting {target} from {unit} to {an} needs the "
                            f"{'lever arm (m)' if need == 'lever_arm' else 'body mass (kg)'}: "
                            f"{hint}"))
                    failed |= mask
                    factor[:] = np.nan
                    continue
                a = arr[mask]
                lacking = (np.isnan(a) | (a <= 0)) & ~np.isnan(x)
                if lacking.any():
                    _report_missing_need(out, frame, target, unit, an, need,
                                         np.flatnonzero(mask)[lacking])
                    failed[np.flatnonzero(mask)[lacking]] = True
                with np.errstate(divide="ignore", invalid="ignore"):
                    factor = factor * (a if power > 0 else 1.0 / a)
            new[mask] = x * factor
            if not np.isnan(factor).all() or not len(factor):
                text = p.describe(target)
                if const_used:
                    text = text.replace("lever_arm (m)",
                                        f"lever_arm {lever_const:g} m (lever_arm=)")
                out.conversions.append(text)
                out.converted[target] = unit
        new[failed] = np.nan
        frame[target] = new
        if target in ("body_mass", "lever_arm"):
            base_units[target] = new * U.plan(an, ref).factor if an != ref else new
    # categories and text keep their form; record units of everything with one
    for m in design.measures + design.covariates:
        if m.name in frame and m.unit and m.name not in out.units:
            out.units[m.name] = m.unit
    if "lever_arm" in frame:
        out.units["lever_arm"] = "m"


def _carry_subject_values(frame, out: Assembled, cols) -> None:
    """A subject-level value (body mass) written on one of a subject's rows only (usually
    the first) holds for all its rows: carried there before strength is converted by it.
    A subject whose rows disagree keeps its cells (the consistency check reports them)."""
    if "subject" not in frame or not len(frame):
        return
    codes = pd.factorize(frame["subject"].to_numpy(object))[0]
    for col in [c for c in cols if c in frame]:
        s = frame[col].astype(float)
        if not s.isna().any():
            continue
        g = s.groupby(codes)
        one = (g.transform("nunique") == 1).to_numpy()
        fill = s.isna().to_numpy() & one & (codes >= 0)
        if not fill.any():
            continue
        frame[col] = np.where(fill, g.transform("max").to_numpy(), s.to_numpy())
        nsub = len(np.unique(codes[fill]))
        out.notes.append(f"{col} given on some of a subject's rows only: carried to the "
                         f"subject's other rows ({nsub} subject{'s' if nsub != 1 else ''}, "
                         f"{int(fill.sum())} row{'s' if fill.sum() != 1 else ''})")


def _warn_assumed(out: Assembled, target: str, ref: str, vals: np.ndarray) -> None:
    v = vals[~np.isnan(vals)]
    if not len(v):
        out.warnings.append(f"{target}: no unit declared; assumed {ref} — declare units=")
        return
    lo, hi = float(v.min()), float(v.max())
    typical = U.plausible(lo, hi)
    others = [u for u in typical if u != ref]
    rng = f"{lo:.3g}-{hi:.3g}"
    if others and ref not in typical and ref in U.STRENGTH_UNITS:
        out.warnings.append(f"{target}: no unit declared; assumed {ref}, but values {rng} are "
                            f"not typical of {ref}; they look like {' or '.join(others)} — "
                            "declare units=")
    elif others:
        out.warnings.append(f"{target}: no unit declared; assumed {ref}; values {rng} are also "
                            f"plausible as {' or '.join(others)} — declare units=")
    else:
        out.warnings.append(f"{target}: no unit declared; assumed {ref} (values {rng}) — "
                            "declare units=")


def _report_missing_need(out: Assembled, frame, target, unit, an, need, idx) -> None:
    """One problem per subject whose body mass / lever arm is missing (the root cause)."""
    src = out.raw.source if out.raw is not None else "<data>"
    col = out.sources.get((need, None)) or need
    sub = frame["subject"].to_numpy(object)[idx]
    rows = frame["_row"].to_numpy()[idx]
    order: dict = {}
    for s, r in zip(sub, rows):
        order.setdefault(s, []).append(int(r))
    hint = ("fill it in, or declare lever_arm= (one number in metres)" if need == "lever_arm"
            else "fill it in")
    what = "lever arm" if need == "lever_arm" else "body mass"
    for s, rs in order.items():
        rs = sorted(set(rs))
        listed = ", ".join(str(r) for r in rs[:6]) + (" ..." if len(rs) > 6 else "")
        out.problems.append(DataProblem(
            src, rs[0], col, None,
            f"{what} is missing for subject {s!r}, so {target} ({unit}) cannot be converted to "
            f"{an} on {len(rs)} row{'s' if len(rs) != 1 else ''} ({listed}); {hint}"))
