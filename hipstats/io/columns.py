"""Stage 2 of loading: check the options, then map each file column to a design name.

Accepted column names
---------------------
A file column is matched, after lower-casing and replacing runs of other characters by
``_``, against the design's own names and :data:`~hipstats.io.names.ALIASES`; a unit may
follow in brackets (``strength [N]``, ``LEFS (0-80)``) or as a last ``_unit`` token
(``body_mass_kg``). Wide files name repeated measures ``<measure>_<visit>`` or
``<visit>_<measure>`` (``strength_w0``, ``lefs_week_2``, ``strength_2wk``, ``wk2_strength``,
``pain_vas_pre``, ``strength_baseline``, ``strength_v3``; visit rules in
:mod:`hipstats.io.visits`). Anything else is mapped with ``columns={"file name": "design
name"}``, which applies to long names and to the stems of wide columns
(``{"strength_N": "strength"}`` maps ``strength_N_w0`` ...). A column whose name has a
measure's name and a visit-like part but cannot be placed on the grid (``strength_3mo``) is
an error, never an ignored column.
"""

from __future__ import annotations

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
from hipstats.io.ledger import Assembled
from hipstats.io.names import ALIASES, norm_name as _norm
from hipstats.io.readers import RawTable
from hipstats.io.readings import DECLARED, Reading
from hipstats.io.values import parse_number, show_value

__all__ = ["Options", "ColumnMap", "read_options", "map_columns", "required_present",
           "accepted_names", "unit_of", "tp_token", "REDCAP_ADMIN"]

#: Columns of REDCap exports that carry no measurement (recognised, not reported as unknown).
REDCAP_ADMIN = re.compile(r"^(redcap_repeat_instrument|redcap_repeat_instance|"
                          r"redcap_data_access_group|redcap_survey_identifier|redcap_.+|"
                          r".+_complete|.+_timestamp)$")


def accepted_names(target: str) -> list[str]:
    """The names a file column may have to be read as ``target``."""
    return [target] + [a for a in ALIASES.get(target, ()) if a != target]


def targets_of(design: Design) -> list[str]:
    return (["subject", design.time] + (["group"] if design.has_groups else [])
            + list(design.measure_names) + list(design.covariate_names) + ["lever_arm"])


def unit_of(target: str, design: Design) -> str:
    """The design's unit of ``target`` in canonical spelling (``"Nm/kg"`` -> ``"N*m/kg"``)."""
    if target == "lever_arm":
        return "m"
    unit = design.measure(target).unit
    return (U.unit_for(unit, unit) or unit) if unit else unit


def tp_token(tp) -> str:
    return f"w{tp}" if isinstance(tp, (int, np.integer)) else str(tp)


@dataclass
class Options:
    """The user's options, checked: what the mapping and parsing stages need."""

    design: Design
    targets_all: list
    value_targets: set
    lookup: dict                     # normalised alias -> target
    user_map: dict                   # columns= (file name -> target), valid entries only
    user_norm: dict                  # normalised file name -> (file name, target)
    user_units: dict
    analysis: dict
    dict_units: dict
    dict_choices: dict
    codes_text: set
    codes_num: set
    lever_const: float | None = None
    lever_col: str | None = None
    vdates: object = None
    used_user: set = field(default_factory=set)


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
            unit = txt if U.normalise_unit(txt) else U.parse_annotation(txt)[1]
            if not (unit and U.normalise_unit(unit)):
                m = re.search(r"[\[\(]\s*([^\]\)]+?)\s*[\]\)]", txt)
                unit = m.group(1) if m and U.normalise_unit(m.group(1)) else None
            if unit:
                units[name] = unit
                break
        c = cols.get("choices_calculations_or_slider_labels") or cols.get("choices")
        if c is not None and isinstance(r[c], str) and "," in r[c]:
            pairs = [p.split(",", 1) for p in r[c].split("|") if "," in p]
            choices[name] = {k.strip(): v.strip() for k, v in pairs}
    return units, choices


def read_options(design: Design, out: Assembled, units=None, dictionary=None,
                 lever_arm=None, columns=None, analysis_units=None, missing=None,
                 visit_dates=None) -> Options | None:
    """Check every option (a wrong one is a problem naming it); None when loading must stop."""
    src = out.raw.source
    targets_all = targets_of(design)
    value_targets = set(targets_all) - {"subject", "group", design.time}
    lookup: dict = {}
    for target in targets_all:
        for a in (target,) + ALIASES.get(target, ()):
            lookup.setdefault(_norm(a), target)
    user_units, analysis = dict(units or {}), dict(analysis_units or {})
    for opt, given in (("units", user_units), ("analysis_units", analysis)):
        for k in [k for k in given if k not in value_targets]:
            out.problems.append(DataProblem(
                src, None, k, repr(given.pop(k)),
                f"{opt}= names a column the design does not have; measures with units: "
                + ", ".join(t for t in targets_all if t in value_targets)))
    vdates = None
    if visit_dates is not None:
        try:
            vdates = V.visit_dates_option(visit_dates, design.timepoints)
        except ValueError as exc:
            out.problems.append(DataProblem(src, None, "visit_dates", None, str(exc)))
            return None
    codes_text = {str(c).strip().lower() for c in (missing or ())}
    codes_num = set()
    for c in missing or ():
        val, msg, _ = parse_number(c, (), ())
        if msg is None and not math.isnan(val):
            codes_num.add(val)
    dict_units, dict_choices = _dictionary_units(dictionary)
    opts = Options(design, targets_all, value_targets, lookup, {}, {}, user_units, analysis,
                   dict_units, dict_choices, codes_text, codes_num, vdates=vdates)
    _user_columns(opts, columns, lever_arm, out)
    return opts


def _user_columns(opts: Options, columns, lever_arm, out: Assembled) -> None:
    """``columns=`` and ``lever_arm=`` (a number of metres, or a column name)."""
    src, design = out.raw.source, opts.design
    user_map = {str(k): str(v) for k, v in (columns or {}).items()}
    if lever_arm is not None:
        if isinstance(lever_arm, (int, float, np.integer, np.floating)) and \
                not isinstance(lever_arm, bool):
            opts.lever_const = float(lever_arm)
        else:
            try:
                opts.lever_const = float(str(lever_arm).strip())
            except ValueError:
                user_map[str(lever_arm)] = "lever_arm"
                opts.lever_col = str(lever_arm)
        c = opts.lever_const
        if c is not None and not (c > 0 and math.isfinite(c)):
            out.problems.append(DataProblem(src, None, "lever_arm", show_value(c),
                                            "lever_arm= must be a positive number of metres"))
            opts.lever_const = None
    for k, v in list(user_map.items()):
        if v not in opts.targets_all:
            close = difflib.get_close_matches(v, opts.targets_all, n=1)
            out.problems.append(DataProblem(
                src, None, k, repr(v),
                f"columns= maps {k!r} to {v!r}, which is not a column of design "
                f"{design.name!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
                + "; accepted: " + ", ".join(opts.targets_all)))
            user_map.pop(k)
    for k, v in user_map.items():
        opts.user_norm.setdefault(_norm(k), (k, v))
        opts.user_norm.setdefault(_norm(U.parse_annotation(k)[0]), (k, v))
    opts.user_map = user_map


def resolve(opts: Options, key: str, full: str | None = None):
    """A normalised column name -> (target, unit from a name suffix, via columns=) or None."""
    un, lookup, design = opts.user_norm, opts.lookup, opts.design
    for k in (full, key):
        if k is not None and k in un:
            opts.used_user.add(un[k][0])
            return un[k][1], None, True
    if key in lookup:
        return lookup[key], None, False
    m = re.fullmatch(r"(.+)_([a-z%]+)", key)
    if not (m and (m.group(1) in lookup or m.group(1) in un)):
        return None
    stem, suffix = m.group(1), m.group(2)
    target = un[stem][1] if stem in un else lookup[stem]
    if target not in opts.value_targets:
        return None
    ref = unit_of(target, design)
    if target != "lever_arm" and design.measure(target).kind != "float":
        return None
    cu = U.unit_for(suffix, ref)
    if cu is None or not U.supported(ref, cu):
        return None
    if stem in un:
        opts.used_user.add(un[stem][0])
        return target, cu, True
    return target, cu, False


@dataclass
class ColumnMap:
    """Which file column feeds which target (and timepoint, for wide columns)."""

    colmap: dict = field(default_factory=dict)      # file column -> (target, timepoint|None)
    col_units: dict = field(default_factory=dict)   # file column -> (unit text, where)
    col_scale: dict = field(default_factory=dict)   # file column -> (low, high)
    unit_cols: dict = field(default_factory=dict)   # target -> per-row unit column
    redcap: bool = False
    unplaced: set = field(default_factory=set)      # targets with a column off the grid
    event_col: object = None
    repeat_col: object = None
    instance_col: object = None

    @property
    def targets(self) -> set:
        return {t for t, _ in self.colmap.values()}


def _declared_unit(col, raw: RawTable, opts: Options):
    """-> (normalised name, normalised full header, unit, where declared, scale)."""
    scol = str(col)
    name, unit, scale = U.parse_annotation(scol)
    key, full = _norm(name), _norm(scol)
    where = "header"
    if unit is None:
        du = opts.dict_units
        if full in du or key in du:
            unit, where = du.get(full) or du[key], "data dictionary"
        elif col in raw.labels:
            _, unit, s2 = U.parse_annotation(raw.labels[col])
            scale = scale or s2
            where = "SPSS variable label"
        if unit is None and col in raw.units:
            unit = raw.units[col]
            where = "frame's attrs['units']" if raw.fmt == "frame" else "datapackage.json"
    return key, full, unit, where, scale


def _special(col, key, cm: ColumnMap, opts: Options, out: Assembled) -> bool:
    """REDCap bookkeeping, ``lsi``, per-row unit columns: True when ``col`` is taken."""
    if cm.redcap:
        for name, attr in (("redcap_event_name", "event_col"),
                           ("redcap_repeat_instrument", "repeat_col"),
                           ("redcap_repeat_instance", "instance_col")):
            if key == name:
                setattr(cm, attr, col)
                return True
        if REDCAP_ADMIN.match(key):
            return True
    if key == "lsi":
        out.notes.append(Reading("ignored", f"column {str(col)!r} ignored: the limb symmetry "
                                 "index is recomputed from strength and strength_uninvolved"))
        return True
    m = re.fullmatch(r"(.+?)_units?", key)
    if m and (m.group(1) in opts.lookup or m.group(1) in opts.user_norm):
        stem = m.group(1)
        t = opts.user_norm[stem][1] if stem in opts.user_norm else opts.lookup[stem]
        if t in opts.value_targets:
            cm.unit_cols[t] = col
            return True
    return False


def _long_note(scol, key, target, suffix_unit, by_user) -> Reading | None:
    if by_user:
        return (Reading(DECLARED, f"column {scol!r} read as {target!r} (columns=)")
                if key != target else None)
    if suffix_unit is not None:
        return Reading("columns", f"column {scol!r} read as {target!r} in {suffix_unit} (unit "
                       "from its name)")
    return Reading("columns", f"column {scol!r} read as {target!r}") if key != target else None


def map_columns(raw: RawTable, opts: Options, out: Assembled) -> ColumnMap | None:
    """Every file column -> a target, a per-row unit, REDCap bookkeeping, or unknown (a
    warning); wide columns are placed on the grid. None when loading must stop."""
    cm = ColumnMap()
    file_cols = [str(c) for c in raw.frame.columns]
    cm.redcap = {"record_id", "redcap_event_name"} <= {_norm(c) for c in file_cols}
    vd = opts.vdates
    pending = []
    for col in raw.frame.columns:
        scol = str(col)
        key, full, unit, where, scale = _declared_unit(col, raw, opts)
        if scale:
            cm.col_scale[scol] = scale
        if vd is not None and (scol == vd.column or full == _norm(vd.column)):
            cm.colmap[col] = ("_visit_date", None)
            continue
        hit = resolve(opts, key, full) if (full in opts.user_norm or key in opts.user_norm) \
            else None
        if hit is None:
            if _special(col, key, cm, opts, out):
                continue
            hit = resolve(opts, key, full)
        if hit is None:
            pending.append((col, key, unit, where))
            continue
        target, suffix_unit, by_user = hit
        cm.colmap[col] = (target, None)
        if unit is None and suffix_unit is not None:
            unit, where = suffix_unit, "header"
        if unit is not None:
            cm.col_units[scol] = (unit, where)
        note = _long_note(scol, key, target, suffix_unit, by_user)
        if note:
            out.notes.append(note)
    if vd is not None and "_visit_date" not in cm.targets:
        close = difflib.get_close_matches(vd.column, file_cols, n=3, cutoff=0.5)
        out.problems.append(DataProblem(
            raw.source, None, vd.column, None, "visit_dates= names a column the file does not "
            "have" + (f"; closest: {', '.join(repr(c) for c in close)}" if close else "")))
        return None
    _place_wide(pending, cm, opts, out)
    _unused_user_names(opts, file_cols, out)
    _percent_cells(raw, cm, opts)
    _one_column_per_cell(cm, opts.design, out)
    t = cm.targets
    out.layout = "redcap" if cm.redcap else (
        "long" if opts.design.time in t or "_visit_date" in t else "wide")
    return cm


def _place_wide(pending, cm: ColumnMap, opts: Options, out: Assembled) -> None:
    """Columns not matched by name: wide ``<measure>_<visit>`` columns, columns that look
    like a measure at a visit but cannot be placed (errors), or unknown columns."""
    design, src = opts.design, out.raw.source
    has_time = cm.redcap or any(t in (design.time, "_visit_date") for t, _ in cm.colmap.values())
    wide_notes: dict[tuple, list[str]] = {}
    count = V.counting([m.group(2) + m.group(3) for _, key, _, _ in pending
                        for m in _NUMBERED.finditer(key)], design.timepoints)
    for col, key, unit, where in pending:
        scol = str(col)
        found = None if has_time else _wide_column(key, opts, count)
        if found is None:
            looks = _looks_like_measure(key, opts)
            if looks is None:
                out.unknown_columns.append(scol)
                continue
            cm.unplaced.add(looks)
            out.problems.append(DataProblem(
                src, None, scol, None,
                f"column looks like {looks} at a visit but cannot be placed on the "
                f"design's grid {list(design.timepoints)}"
                + (" (the file is long: it has a time column, so each measure is one "
                   "column)" if has_time else "")
                + f"; rename it (e.g. '{looks}_{tp_token(design.timepoints[-1])}'), map it "
                "with columns=, or leave it out of the file if it is not design data"))
            continue
        (target, suffix_unit, by_user), tpv, alias, tok = found
        if alias == "ambiguous" or tpv is None:
            cm.unplaced.add(target)
        if alias == "ambiguous":
            out.problems.append(DataProblem(src, None, scol, None,
                                            V.ambiguous_message(tok, design.timepoints)))
            continue
        if tpv is None:
            out.problems.append(DataProblem(
                src, None, scol, None,
                f"unknown timepoint: column holds {target} at {tok!r}, not one of the "
                f"design's timepoints {list(design.timepoints)}"))
            continue
        cm.colmap[col] = (target, tpv)
        if unit is None and suffix_unit is not None:
            unit, where = suffix_unit, "header"
        if unit is not None:
            cm.col_units[scol] = (unit, where)
        how, kind = [], DECLARED
        if alias:
            kind = "visits"
            shown = repr(tpv) if isinstance(tpv, str) else show_value(tpv)
            how.append(f"{tok!r} read as {design.time} {shown}")
        if by_user:
            how.append("columns=")
        if suffix_unit is not None and not by_user:
            how.append(f"unit {suffix_unit} from the name")
            kind = "columns" if kind == DECLARED else kind
        if how:
            wide_notes.setdefault((target, "; ".join(how), kind), []).append(scol)
    for (target, how, kind), cols in wide_notes.items():
        names = ", ".join(repr(c) for c in cols)
        out.notes.append(Reading(kind, f"column{'s' if len(cols) > 1 else ''} {names} read as "
                                 f"{target!r} ({how})"))


_NUMBERED = re.compile(r"(?:^|_)(?=((t|time|tp|timepoint|v|visit)_?(\d+))(?:_|$))")


def _wide_column(key: str, opts: Options, count=(1, "ordinal")):
    """A wide column ``<measure>_<visit>`` or ``<visit>_<measure>`` -> ((target, unit,
    by_user), timepoint, alias, token) or None."""
    parts = key.split("_")
    for n in (1, 2, 3):
        if len(parts) <= n:
            break
        for base, tok in (("_".join(parts[:-n]), "_".join(parts[-n:])),
                          ("_".join(parts[n:]), "_".join(parts[:n]))):
            tp, how, is_tp = V.wide_token(tok, opts.design.timepoints, count)
            if not is_tp:
                continue
            hit = resolve(opts, base)
            if hit is not None and hit[0] in opts.design.measure_names:
                return hit, tp, ("ambiguous" if how == "ambiguous" else how is not None), tok
    return None


_VISITISH = re.compile(r"(^|_)(\d+|[a-z]*\d+[a-z]*|baseline|base|bl|pre|post|fu|follow|"
                       r"followup|week|wk|visit|month|mo|day)(_|$)")


def _looks_like_measure(key: str, opts: Options):
    """The design measure an unmapped column seems to hold at some visit (its name has a
    measure's name or alias and a visit-like part: ``strength_3mo``, ``lefs2``), or None."""
    if not _VISITISH.search(key) and not re.search(r"[a-z]\d+$", key):
        return None
    measures = opts.design.measure_names
    names = {k: v for k, v in opts.lookup.items() if v in measures}
    names.update({k: v[1] for k, v in opts.user_norm.items() if v[1] in measures})
    for name, target in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"(^|_){re.escape(name)}(_|\d|$)", key):
            return target
    return None


def _unused_user_names(opts: Options, file_cols, out: Assembled) -> None:
    for k in opts.user_map:
        if k in opts.used_user:
            continue
        close = difflib.get_close_matches(k, file_cols, n=3, cutoff=0.5)
        if k == opts.lever_col:
            out.problems.append(DataProblem(
                out.raw.source, None, k, None,
                "lever_arm= names a column the file does not have"
                + (f"; closest: {', '.join(repr(c) for c in close)}" if close else "")
                + " (or give one number in metres)"))
            continue
        out.warnings.append(
            f"columns= names {k!r}, which the file does not have"
            + (f" (closest: {', '.join(repr(c) for c in close)})" if close else ""))


def _percent_cells(raw: RawTable, cm: ColumnMap, opts: Options) -> None:
    """Excel cells formatted as percent hold strength as %BW (0.35 shown as 35% is 35 %BW)."""
    for col, (target, _) in cm.colmap.items():
        if str(col) in raw.percent_cells and str(col) not in cm.col_units and \
                target in opts.value_targets and U.is_strength(unit_of(target, opts.design)):
            cm.col_units[str(col)] = ("%BW", "Excel percent format")


def _one_column_per_cell(cm: ColumnMap, design: Design, out: Assembled) -> None:
    """Two columns for one cell: name both, keep the first."""
    by_cell: dict[tuple, list[str]] = {}
    for col, (target, tp) in cm.colmap.items():
        by_cell.setdefault((target, tp), []).append(str(col))
    for (target, tp), cols in by_cell.items():
        if len(cols) > 1:
            at = f" at {design.time} {show_value(tp) if not isinstance(tp, str) else repr(tp)}" \
                if tp is not None else ""
            out.problems.append(DataProblem(
                out.raw.source, None, cols[1], None,
                f"columns {', '.join(repr(c) for c in cols)} {'both' if len(cols) == 2 else 'all'}"
                f" hold {target}{at}; keep one (or map the others elsewhere with columns=)"))
            for c in cols[1:]:
                cm.colmap.pop(c, None)
        out.sources[(target, tp)] = cols[0]


def _missing_column(target: str, design: Design, unmapped, src,
                    what: str = "required column is missing") -> DataProblem:
    names = accepted_names(target)
    msg = f"{what}; accepted names: {', '.join(names)}"
    if target in design.measure_names:
        msg += f" (or wide columns such as '{target}_{tp_token(design.timepoints[0])}')"
    scores = []
    for c in unmapped:
        r = max(difflib.SequenceMatcher(None, _norm(c), _norm(n)).ratio() for n in names)
        scores.append((-r, c))
    closest = [c for _, c in sorted(scores)[:3]]
    if closest:
        msg += (f"; closest file columns: {', '.join(repr(c) for c in closest)}"
                f" (map one with columns={{{closest[0]!r}: {target!r}}})")
    return DataProblem(src, None, target, None, msg)


def required_present(cm: ColumnMap, design: Design, out: Assembled) -> bool:
    """Subject, time (or wide columns), group and required measures are all there."""
    src, targets = out.raw.source, cm.targets
    unmapped = [c for c in map(str, out.raw.frame.columns) if c in out.unknown_columns]
    if out.layout == "wide" and not any(tp is not None for _, tp in cm.colmap.values()) \
            and not cm.unplaced:
        out.problems.append(_missing_column(
            design.time, design, unmapped, src,
            f"no {design.time!r} column and no wide columns such as "
            f"'strength_{tp_token(design.timepoints[0])}'"))
    needed = ["subject"] + (["group"] if design.has_groups else []) + \
        [m.name for m in design.measures if m.required]
    for t in needed:
        if t not in targets and t not in cm.unplaced:
            out.problems.append(_missing_column(t, design, unmapped, src))
    return not (any(p.row is None and "required column" in p.message for p in out.problems)
                or any(p.column == design.time and p.row is None for p in out.problems))
