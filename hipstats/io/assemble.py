"""From a :class:`~hipstats.io.readers.RawTable` to typed person-period rows.

Steps: map columns to the design's names (exact names, documented aliases and header unit
annotations; every non-exact mapping is recorded), recognise the layout (long, wide or a
REDCap export), reshape to one row per subject and visit, parse each cell (numbers,
categories, timepoints) and convert units. Every cell that cannot be used becomes a
:class:`~hipstats.errors.DataProblem` naming file, data row, column and value; nothing is
dropped or coerced silently. Range, duplicate and consistency checks are the job of
:mod:`hipstats.validation`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.design import Design
from hipstats.errors import DataProblem
from hipstats.io import units as U
from hipstats.io.readers import RawTable

__all__ = ["Assembled", "assemble", "ALIASES", "MISSING_TOKENS"]

#: Cell texts read as missing (case-insensitive). Codes such as -99 are never guessed.
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "."})

#: Accepted alternative column names (after lower-casing and replacing non-alphanumerics by _).
ALIASES = {
    "subject": ("subject", "subject_id", "id", "participant", "participant_id", "pid",
                "record_id", "patient", "patient_id"),
    "group": ("group", "arm", "cohort", "grp"),
    "week": ("week", "wk", "weeks", "visit_week"),
    "time": ("time", "visit", "timepoint", "time_point", "session"),
    "strength": ("strength", "strength_involved", "strength_injured", "abductor_strength",
                 "hip_abd_strength"),
    "strength_uninvolved": ("strength_uninvolved", "strength_uninjured",
                            "strength_contralateral"),
    "function_score": ("function_score", "function", "lefs"),
    "pain_vas": ("pain_vas", "vas", "pain", "vas_pain"),
    "valgus_peak": ("valgus_peak", "peak_valgus", "genu_valgum", "knee_valgus"),
    "knee_variability": ("knee_variability", "stride_variability"),
    "body_mass": ("body_mass", "mass", "weight", "body_weight"),
    "height": ("height", "stature"),
    "age": ("age",), "sex": ("sex", "gender"), "side": ("side", "involved_side", "injured_side"),
    "lever_arm": ("lever_arm", "moment_arm"),
}

#: Columns of REDCap exports that carry no measurement (recognised, not reported as unknown).
REDCAP_ADMIN = re.compile(r"^(redcap_repeat_instrument|redcap_repeat_instance|"
                          r"redcap_data_access_group|redcap_survey_identifier|.+_complete|"
                          r".+_timestamp)$")

_TIME_ALIASES = {"baseline": 0, "base": 0}
_NAMED_ALIASES = {"baseline": "pre", "follow-up": "post", "followup": "post"}
_SEX = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
_SIDE = {"l": "left", "left": "left", "r": "right", "right": "right"}


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z%]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class Assembled:
    """Typed long rows plus everything learned on the way.

    ``frame`` has the design's columns present in the file, plus ``_row`` (source data row).
    """

    frame: pd.DataFrame
    problems: list[DataProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    layout: str = "long"
    source_rows: list[int] = field(default_factory=list)
    blank_rows: list[int] = field(default_factory=list)
    units: dict = field(default_factory=dict)


def _targets(design: Design) -> list[str]:
    return (["subject", design.time] + (["group"] if design.has_groups else [])
            + list(design.measure_names) + list(design.covariate_names) + ["lever_arm"])


def _alias_lookup(design: Design) -> dict[str, str]:
    look = {}
    for target in _targets(design):
        for a in (target,) + ALIASES.get(target, ()):
            look.setdefault(_norm(a), target)
    return look


def _wide_pattern(design: Design) -> re.Pattern:
    if all(isinstance(t, (int, np.integer)) for t in design.timepoints):
        tp = r"(?:w|wk|week|t|v)?_?(?P<tp>\d+)"
    else:
        names = sorted({_norm(str(t)) for t in design.timepoints} | set(_NAMED_ALIASES), key=len,
                       reverse=True)
        tp = "(?P<tp>" + "|".join(re.escape(n) for n in names) + ")"
    return re.compile(r"^(?P<base>.+?)_" + tp + "$")


def _dictionary_units(dictionary: pd.DataFrame | None) -> tuple[dict, dict]:
    """Units and choices declared in a REDCap data dictionary."""
    units, choices = {}, {}
    if dictionary is None:
        return units, choices
    cols = {_norm(c): c for c in dictionary.columns}
    name_c = cols.get("variable_field_name") or cols.get("field_name") or dictionary.columns[0]
    for _, r in dictionary.iterrows():
        name = _norm(r[name_c])
        for key in ("field_note", "field_label", "field_units"):
            c = cols.get(key)
            if c is None or not isinstance(r[c], str):
                continue
            m = re.search(r"[\[\(]\s*([^\]\)]+?)\s*[\]\)]", r[c])
            if m and U.normalise_unit(m.group(1)):
                units[name] = m.group(1)
                break
        c = cols.get("choices_calculations_or_slider_labels") or cols.get("choices")
        if c is not None and isinstance(r[c], str) and "," in r[c]:
            pairs = [p.split(",", 1) for p in r[c].split("|") if "," in p]
            choices[name] = {k.strip(): v.strip() for k, v in pairs}
    return units, choices


def _parse_number(v, src, row, col, problems) -> float:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return math.nan
    if isinstance(v, (bool, np.bool_)):
        problems.append(DataProblem(src, row, col, repr(v), "expected a number, found a boolean"))
        return math.nan
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
    else:
        s = str(v).strip()
        if s.lower() in MISSING_TOKENS:
            return math.nan
        try:
            x = float(s)
        except ValueError:
            hint = " (decimal comma? use a point)" if re.fullmatch(r"-?\d+,\d+", s) else ""
            problems.append(DataProblem(src, row, col, repr(s), f"expected a number{hint}"))
            return math.nan
    if not math.isfinite(x):
        problems.append(DataProblem(src, row, col, repr(v), "expected a finite number"))
        return math.nan
    return x


def _is_missing(v) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in MISSING_TOKENS


def _text(v) -> str:
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v).strip()


def _parse_time(v, design: Design, src, row, col, problems, notes):
    if _is_missing(v):
        problems.append(DataProblem(src, row, col, None, "timepoint is missing"))
        return None
    grid = design.timepoints
    if all(isinstance(t, (int, np.integer)) for t in grid):
        s = _text(v).lower()
        s = re.sub(r"^(week|wk|w)\s*_?", "", s)
        if s in _TIME_ALIASES:
            notes.append(f"{col}: {v!r} read as week {grid[0]}")
            return grid[0]
        try:
            x = float(s)
        except ValueError:
            problems.append(DataProblem(src, row, col, repr(v), "expected a week number"))
            return None
        if not x.is_integer() or int(x) not in grid:
            problems.append(DataProblem(src, row, col, repr(v),
                                        f"unknown timepoint; the design's weeks are {list(grid)}"))
            return None
        return int(x)
    s = _text(v)
    low = {str(t).lower(): t for t in grid}
    key = s.lower()
    if key in low:
        return low[key]
    if key in _NAMED_ALIASES and _NAMED_ALIASES[key] in low:
        notes.append(f"{col}: {s!r} read as {_NAMED_ALIASES[key]!r}")
        return low[_NAMED_ALIASES[key]]
    problems.append(DataProblem(src, row, col, repr(s),
                                f"unknown timepoint; the design's timepoints are {list(grid)}"))
    return None


def _parse_category(v, measure, src, row, col, problems, value_labels) -> object:
    if _is_missing(v):
        return None
    s = _text(v)
    if value_labels and s in value_labels:
        s = value_labels[s]
    if measure.name == "sex" and s.lower() in _SEX:
        return _SEX[s.lower()]
    if measure.name == "side" and s.lower() in _SIDE:
        return _SIDE[s.lower()]
    for lev in measure.levels:
        if s.lower() == lev.lower():
            return lev
    problems.append(DataProblem(src, row, col, repr(s), f"expected one of {list(measure.levels)}"))
    return None


def _redcap_event(v, design: Design, src, row, col, problems):
    if _is_missing(v):
        problems.append(DataProblem(src, row, col, None, "REDCap event name is missing"))
        return None
    s = re.sub(r"_arm_\d+$", "", str(v).strip().lower())
    grid = design.timepoints
    if s in ("baseline", "screening_baseline", "enrolment", "enrollment"):
        return grid[0]
    m = re.fullmatch(r"(?:week|wk|w)_?(\d+)", s)
    if m and all(isinstance(t, (int, np.integer)) for t in grid) and int(m.group(1)) in grid:
        return int(m.group(1))
    low = {str(t).lower(): t for t in grid}
    if s in low:
        return low[s]
    if s in _NAMED_ALIASES and _NAMED_ALIASES[s] in low:
        return low[_NAMED_ALIASES[s]]
    problems.append(DataProblem(src, row, col, repr(str(v)),
                                f"REDCap event does not match a timepoint {list(grid)}"))
    return None


def assemble(raw: RawTable, design: Design, units: dict | None = None,
             dictionary: pd.DataFrame | None = None, lever_arm: float | None = None) -> Assembled:
    """Map, reshape, parse and convert a raw table (see module docstring)."""
    src = raw.source
    out = Assembled(frame=pd.DataFrame(), problems=list(raw.problems))
    problems, notes = out.problems, out.notes
    lookup = _alias_lookup(design)
    dict_units, dict_choices = _dictionary_units(dictionary)
    declared: dict[str, str] = {}
    user_units = dict(units or {})
    for k in user_units:
        if k not in _targets(design):
            problems.append(DataProblem(src, None, k, repr(user_units[k]),
                                        "units= names a column the design does not have"))

    # 1. map columns -------------------------------------------------------------
    colmap: dict[str, tuple[str, object]] = {}  # file column -> (target, timepoint or None)
    redcap = {"record_id", "redcap_event_name"} <= {_norm(c) for c in raw.frame.columns}
    wide_re = _wide_pattern(design)
    header_units: dict[str, str] = {}
    pending_wide = []
    for col in raw.frame.columns:
        name, unit = U.parse_header(str(col))
        key = _norm(name)
        if unit is None and _norm(col) in dict_units:
            unit = dict_units[_norm(col)]
        if unit is None and col in raw.labels:
            _, unit = U.parse_header(raw.labels[col])
        if redcap and key == "redcap_event_name":
            colmap[col] = ("__event__", None)
            continue
        if redcap and REDCAP_ADMIN.match(key):
            continue
        if key == "lsi":
            notes.append(f"column {col!r} ignored: the limb symmetry index is recomputed "
                         "from strength and strength_uninvolved")
            continue
        if key in lookup:
            target = lookup[key]
            if target in [t for t, _ in colmap.values() if _ is None]:
                problems.append(DataProblem(src, None, str(col), None,
                                            f"a second column maps to {target!r}"))
                continue
            if key != target:
                notes.append(f"column {col!r} read as {target!r}")
            colmap[col] = (target, None)
            if unit:
                header_units[target] = unit
            continue
        pending_wide.append((col, key, unit))
    has_time = any(t == design.time for t, _ in colmap.values()) or redcap
    for col, key, unit in pending_wide:
        m = wide_re.match(key)
        if not has_time and m and _norm(m.group("base")) in lookup:
            target = lookup[_norm(m.group("base"))]
            if target in design.measure_names:
                tp = m.group("tp")
                colmap[col] = (target, tp)
                if unit:
                    header_units[target] = unit
                continue
        out.unknown_columns.append(str(col))

    targets = {t for t, _ in colmap.values()}
    out.layout = "redcap" if redcap else ("long" if design.time in targets else "wide")
    if out.layout == "wide" and not any(tp is not None for _, tp in colmap.values()):
        problems.append(DataProblem(src, None, design.time, None,
                                    f"no {design.time!r} column and no wide columns such as "
                                    f"'strength_{design.timepoints[0]}'"))
    if "subject" not in targets:
        problems.append(DataProblem(src, None, "subject", None,
                                    "required column is missing (aliases: "
                                    + ", ".join(ALIASES["subject"]) + ")"))
    if design.has_groups and "group" not in targets:
        problems.append(DataProblem(src, None, "group", None, "required column is missing"))
    for m in design.measures:
        if m.required and m.name not in targets:
            problems.append(DataProblem(src, None, m.name, None, "required column is missing"))
    if any(p.row is None and "required column" in p.message for p in problems) or \
            any(p.column == design.time and p.row is None for p in problems):
        return out

    # 2. units ------------------------------------------------------------------
    for target in sorted(targets - {"subject", "group", design.time, "__event__"}):
        if target == "lever_arm":
            unit = user_units.get(target) or header_units.get(target) or "m"
            declared[target] = unit
            continue
        meas = design.measure(target)
        unit = user_units.get(target) or header_units.get(target)
        if unit is None or meas.kind == "category":
            continue
        canon = U.normalise_unit(unit)
        if meas.unit == "kg" and canon == "kgf":
            canon = "kg"  # body mass: "kg" is mass, not kilogram-force
        if canon is None or not U.supported(meas.unit, canon):
            problems.append(DataProblem(src, None, target, repr(unit),
                                        f"unit cannot be converted to {meas.unit}"))
            continue
        if canon != meas.unit:
            declared[target] = canon
    out.units = declared

    # 3. reshape to long --------------------------------------------------------
    df = raw.frame
    time_values = {}  # wide timepoint token -> timepoint
    if out.layout == "wide":
        for col, (target, tp) in colmap.items():
            if tp is not None and tp not in time_values:
                time_values[tp] = _parse_time(tp, design, src, None, str(col), problems, notes)
    records = []
    for row, r in df.iterrows():
        cells = {c: r[c] for c in df.columns}
        if all(_is_missing(v) for v in cells.values()):
            out.blank_rows.append(int(row))
            continue
        out.source_rows.append(int(row))
        base = {"_row": int(row)}
        per_tp: dict[object, dict] = {}
        for col, (target, tp) in colmap.items():
            if tp is None:
                base[target] = (cells[col], str(col))
            else:
                per_tp.setdefault(tp, {})[target] = (cells[col], str(col))
        if out.layout == "wide":
            for tp, vals in per_tp.items():
                rec = dict(base)
                rec.update(vals)
                rec[design.time] = (time_values.get(tp), None)
                rec["_wide"] = True
                records.append(rec)
        else:
            records.append(base)

    # 4. parse cells ------------------------------------------------------------
    rows = []
    for rec in records:
        row = rec["_row"]
        item = {"_row": row}
        for target, payload in rec.items():
            if target in ("_row", "_wide"):
                continue
            v, col = payload
            if target == "subject":
                if _is_missing(v):
                    problems.append(DataProblem(src, row, col, None, "subject id is missing"))
                    item["subject"] = None
                else:
                    item["subject"] = _text(v)
            elif target == design.time:
                if col is None:  # wide: already parsed
                    item[target] = v
                else:
                    item[target] = _parse_time(v, design, src, row, col, problems, notes)
            elif target == "__event__":
                item[design.time] = _redcap_event(v, design, src, row, col, problems)
            elif target == "group":
                if _is_missing(v):
                    item["group"] = None
                    continue
                s = _text(v)
                s = raw.value_labels.get(col, {}).get(v, s) if raw.value_labels.get(col) else s
                s = dict_choices.get(_norm(col), {}).get(s, s)
                match = [g for g in design.groups if g.lower() == str(s).lower()]
                if match:
                    item["group"] = match[0]
                else:
                    problems.append(DataProblem(src, row, col, repr(str(s)),
                                                f"unknown group; expected one of {list(design.groups)}"))
                    item["group"] = None
            elif target == "lever_arm":
                item[target] = _parse_number(v, src, row, col, problems)
            else:
                meas = design.measure(target)
                if meas.kind == "category":
                    vl = raw.value_labels.get(col) or dict_choices.get(_norm(col))
                    vl = {_text(k): v2 for k, v2 in vl.items()} if vl else None
                    item[target] = _parse_category(v, meas, src, row, col, problems, vl)
                else:
                    item[target] = _parse_number(v, src, row, col, problems)
            item.setdefault("_cols", {})[target] = col
        rows.append(item)
    frame = pd.DataFrame(rows)
    if frame.empty:
        frame = pd.DataFrame(columns=["_row", "subject", design.time])

    # REDCap: subject-level fields are filled on one event only; spread within subject
    if out.layout == "redcap" and not frame.empty:
        for c in [c for c in design.covariate_names + ("group", "lever_arm") if c in frame]:
            frame[c] = frame.groupby("subject", dropna=False)[c].transform(
                lambda s: s.ffill().bfill())
        # rows of a repeating/admin event with no measurement at all are not visits
    out.frame = frame

    # 5. convert units ----------------------------------------------------------
    for target, unit in declared.items():
        if target == "lever_arm" or target not in frame:
            continue
        meas = design.measure(target)
        needs = U.NEEDS.get((meas.unit, unit), ())
        bm = frame["body_mass"].to_numpy(float) if "body_mass" in frame else None
        if "body_mass" in needs and bm is None:
            problems.append(DataProblem(src, None, target, unit,
                                        f"converting {unit} to {meas.unit} needs a body_mass "
                                        "column (kg), which the file does not have"))
            continue
        la = None
        if "lever_arm" in needs:
            if "lever_arm" in frame:
                la = frame["lever_arm"].to_numpy(float)
                if declared.get("lever_arm", "m") != "m":
                    f = {"cm": 0.01, "mm": 0.001}.get(U.normalise_unit(declared["lever_arm"]) or "")
                    la = la * f if f else la
            elif lever_arm is not None:
                la = np.full(len(frame), float(lever_arm))
            else:
                problems.append(DataProblem(src, None, target, unit,
                                            f"converting {unit} to {meas.unit} needs the lever "
                                            "arm (a lever_arm column in m, or lever_arm=)"))
                continue
        vals = frame[target].to_numpy(float)
        for i in np.flatnonzero(~np.isnan(vals)):
            for need, arr in (("body_mass", bm), ("lever_arm", la)):
                if need in needs and (arr is None or np.isnan(arr[i]) or arr[i] <= 0):
                    problems.append(DataProblem(
                        src, int(frame["_row"].iat[i]), frame["_cols"].iat[i].get(target, target),
                        repr(vals[i]),
                        f"cannot convert {unit} to {meas.unit}: {need} is missing for this row"))
        with np.errstate(divide="ignore", invalid="ignore"):
            frame[target] = U.convert(vals, meas.unit, unit, body_mass=bm, lever_arm=la)
        notes.append(f"{target} converted from {unit} to {meas.unit}")
    return out
