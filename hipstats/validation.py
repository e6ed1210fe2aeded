"""Validate a trial file against a design, and load it into the person-period frame.

:func:`validate` reports *every* problem at once, each naming file, 1-based data row,
column and value; :func:`load` returns the frame or raises
:class:`~hipstats.errors.HipstatsDataError` carrying all of them.

Checks: readable, non-empty, UTF-8 text (or a valid Excel/Parquet/SPSS file), no ragged rows,
required columns present, numbers parse, categories and group labels known, timepoints on the
design's grid, values inside each measure's valid range (expressed in the measure's analysis
unit; for the design's own units these are the checks of the pandera schema
:func:`schema_for` builds), no duplicate subject-timepoint rows, a subject's group and
subject-level covariates constant over visits, declared units convertible. Missing cells are
data, not errors: they are counted in :attr:`ValidationReport.missing` and kept as NaN. The
checks are vectorised (one pass per column; every distinct cell text is parsed once).

Messages show values as the file wrote them (``91.9``, week ``0``), and a problem with one
cause is reported once, with what to do (a missing lever arm is one line saying
``declare lever_arm=``, not one line per value it would have converted).

Nothing is lost: :attr:`ValidationReport.ledger` has one row per input data row with its
status (``kept``, or ``excluded`` with the reason, or ``invalid`` with the first problem);
visits the file did not have are added as rows of NaN and listed in
:attr:`ValidationReport.missing_visits`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.design import Design, get_design
from hipstats.errors import DataProblem, HipstatsDataError, ReadingWarning
from hipstats.io import units as U
from hipstats.io.assemble import assemble
from hipstats.io.ledger import row_ledger
from hipstats.io.readings import group_readings, reading_message
from hipstats.io.values import show_value
from hipstats.io.readers import RawTable, read_raw

__all__ = ["validate", "load", "ValidationReport", "schema_for"]


@dataclass
class ValidationReport:
    """Outcome of :func:`validate`.

    Attributes
    ----------
    source : str
        File name (or ``"<DataFrame>"``).
    design : Design
    problems : list of DataProblem
        Every problem found, sorted by row then column.
    warnings : list of str
        Things worth knowing that do not make the file invalid (unknown columns).
    notes : list of str
        Interpretations made (alias columns, unit conversions).
    data : DataFrame or None
        The canonical person-period frame when valid.
    ledger : DataFrame
        One row per input data row: ``source_row``, ``subject``, ``status``
        (``kept``/``excluded``/``invalid``), ``reason``, ``n_visits`` (person-period rows it
        produced).
    missing : DataFrame
        Missing cells per measure (rows) and timepoint (columns), with a ``total`` column.
    missing_visits : DataFrame
        ``subject`` and time of each scheduled visit absent from the file.
    layout : str
        ``long``, ``wide`` or ``redcap``.
    units : dict
        Column -> unit of its values in :attr:`data` (the analysis units).
    conversions : list of str
        Unit conversions made, in words (``"strength: N*m / body_mass (kg) -> N*m/kg"``).
    unit_assumed : dict
        Strength columns with no declared unit -> the unit assumed.
    declared_units : dict
        Column -> the unit the file holds (declared, assumed or ``"per row: ..."``).
    readings : list of dict
        How the file was read, one entry per kind (``{"kind", "heading", "items"}``: sheet
        chosen, rows excluded with the reason, visits read from numbers, labels, dates or
        suffixes, columns matched by name or ignored, units read, missing-value codes, values
        carried); :mod:`hipstats.io.readings`. What :func:`load` warns.
    """

    source: str
    design: Design
    problems: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    data: pd.DataFrame | None = None
    ledger: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing_visits: pd.DataFrame = field(default_factory=pd.DataFrame)
    layout: str = ""
    units: dict = field(default_factory=dict)
    conversions: list = field(default_factory=list)
    unit_assumed: dict = field(default_factory=dict)
    declared_units: dict = field(default_factory=dict)
    readings: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems

    def raise_if_invalid(self) -> None:
        if self.problems:
            raise HipstatsDataError(self.problems)

    def summary(self) -> str:
        lines = []
        if self.ok:
            d = self.data
            n_sub = d["subject"].nunique() if d is not None else 0
            lines.append(f"{self.source}: valid {self.design.name} data ({self.layout} layout): "
                         f"{n_sub} subjects, {len(self.ledger)} input rows, "
                         f"{len(self.missing_visits)} missing visits")
            excluded = self.ledger[self.ledger["status"] == "excluded"] if len(self.ledger) else []
            for _, r in (excluded.head(20).iterrows() if len(excluded) else []):
                lines.append(f"  excluded row {r['source_row']}: {r['reason']}")
            if len(excluded) > 20:
                lines.append(f"  ... and {len(excluded) - 20} more excluded rows (see the ledger)")
            if len(self.missing):
                tot = self.missing["total"]
                parts = [f"{k} {int(v)}" for k, v in tot.items() if v]
                lines.append("  missing cells: " + (", ".join(parts) if parts else "none"))
        else:
            n = len(self.problems)
            lines.append(f"{self.source}: INVALID {self.design.name} data, "
                         f"{n} problem{'s' if n != 1 else ''}:")
            lines += [f"  - {p}" for p in self.problems]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  conversion: {c}" for c in self.conversions]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __str__ = summary

    def to_dict(self) -> dict:
        """JSON-ready summary (for ``hipstats validate --json``)."""
        return {
            "source": self.source, "design": self.design.name, "valid": self.ok,
            "layout": self.layout,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": list(self.warnings), "notes": [str(n) for n in self.notes],
            "n_input_rows": int(len(self.ledger)),
            "n_excluded_rows": int((self.ledger["status"] == "excluded").sum())
            if len(self.ledger) else 0,
            "missing_cells": {k: int(v) for k, v in self.missing["total"].items()}
            if len(self.missing) else {},
            "n_missing_visits": int(len(self.missing_visits)),
            "units": dict(self.units), "conversions": list(self.conversions),
            "unit_assumed": dict(self.unit_assumed),
            "readings": [dict(r, items=list(r["items"])) for r in self.readings],
        }


def schema_for(design: Design, columns) -> "pandera.DataFrameSchema":  # noqa: F821
    """A pandera schema checking the value ranges of the design's numeric measures."""
    import pandera.pandas as pa

    cols = {}
    for m in design.measures + design.covariates:
        if m.name not in columns or m.kind != "float":
            continue
        checks = []
        if m.low is not None and m.high is not None:
            checks.append(pa.Check.in_range(m.low, m.high, error=f"outside {m.low}-{m.high}"))
        elif m.low is not None:
            checks.append(pa.Check.ge(m.low))
        elif m.high is not None:
            checks.append(pa.Check.le(m.high))
        cols[m.name] = pa.Column(float, checks=checks, nullable=True)
    return pa.DataFrameSchema(cols, strict=False)


_LEVER_RANGE = (0.0, 2.0)  # metres; a lever arm of 35 "m" is a unit mistake


def _tp_text(tp) -> str:
    if isinstance(tp, str):
        return repr(tp)
    return show_value(tp) or "?"


def _suggest(name: str, unit: str, bounds, lo: float, hi: float) -> str:
    """Units in which values lo-hi would be in range (the likely mistake)."""
    cands = []
    if U.is_strength(unit):
        cands = [u for u in U.plausible(lo, hi) if u != unit]
    elif bounds[0] is not None and bounds[1] is not None:
        for u in ("mm", "cm", "m", "in", "lb", "kg", "rad", "deg"):
            if u == unit:
                continue
            try:
                f = U.plan(u, unit)
            except ValueError:
                continue
            if bounds[0] <= lo * f.factor and hi * f.factor <= bounds[1]:
                cands.append(u)
    if not cands:
        return "declare units= if they are in another unit"
    return (f"they look like {' or '.join(cands)}: declare units= "
            f"(e.g. units={{{name!r}: {cands[0]!r}}})")


def _range_problems(frame: pd.DataFrame, design: Design, src: str, asm=None) -> list[DataProblem]:
    """Values outside each measure's valid range, in the analysis unit of the measure."""
    out = []
    t = design.time
    checks = [m for m in design.measures + design.covariates
              if m.kind == "float" and m.name in frame]
    items = [(m.name, m.unit, m.low, m.high) for m in checks]
    ordinal = {m.name for m in checks if m.ordinal}
    if "lever_arm" in frame:
        items.append(("lever_arm", "m", *_LEVER_RANGE))
    rows = frame["_row"].to_numpy()
    tps = frame[t].to_numpy(object) if t in frame else np.full(len(frame), None, dtype=object)
    for name, design_unit, low, high in items:
        unit = asm.units.get(name, design_unit) if asm is not None else design_unit
        try:
            lo, hi = U.range_in(unit, design_unit, low, high)
        except ValueError:
            lo, hi = low, high
        v = frame[name].to_numpy(float)
        with np.errstate(invalid="ignore"):
            bad = np.zeros(len(v), dtype=bool)
            if lo is not None:
                bad |= v < lo
            if hi is not None:
                bad |= v > hi
            if name in ordinal:     # categories: whole numbers only
                bad |= ~np.isnan(v) & (v != np.round(v))
        if not bad.any():
            continue
        unit_txt = f" {unit}" if unit else ""
        valid = f"valid {name} is {_g(lo)} to {_g(hi)}{unit_txt}"
        if name in ordinal:
            valid = (f"off the scale: {name} is a category of its scale, a whole number from "
                     f"{_g(lo)} to {_g(hi)}")
        converted = asm.converted.get(name) if asm is not None else None
        present = ~np.isnan(v)
        if bad.sum() >= 5 and bad.sum() == present.sum() and not converted and \
                name not in ordinal:
            vb = v[bad]
            col = asm.column_of(name) if asm is not None else name
            out.append(DataProblem(
                src, None, col, f"{_g(vb.min())} to {_g(vb.max())}",
                f"out of range: all {int(bad.sum())} values are outside {_g(lo)} to {_g(hi)}"
                f"{unit_txt}, the valid range of {name}; "
                + _suggest(name, unit, (lo, hi), float(vb.min()), float(vb.max()))))
            continue
        for i in np.flatnonzero(bad):
            row = int(rows[i])
            if asm is not None:
                cell_row = asm.cell_rows.get((row, name), row)
                col = asm.column_of(name, tps[i])
                shown = asm.file_value(cell_row, name, tps[i])
            else:
                cell_row, col, shown = row, name, show_value(v[i])
            msg = valid if name in ordinal else f"out of range: {valid}"
            if converted:
                msg += f" ({_g(v[i])} {unit} after conversion from {converted})"
            out.append(DataProblem(src, cell_row, col, shown if shown is not None
                                   else show_value(v[i]), msg))
    return out


def _schedule_problems(frame: pd.DataFrame, design: Design, src: str,
                       asm=None) -> list[DataProblem]:
    """Values at visits where the design does not take the measure (``visits = [0, 6]``)."""
    out = []
    t = design.time
    tps = frame[t].to_numpy(object)
    rows = frame["_row"].to_numpy()
    for m in design.measures:
        if m.visits is None or m.name not in frame:
            continue
        off = ~frame[t].isin(list(m.visits)).to_numpy() & frame[m.name].notna().to_numpy()
        when = ", ".join(_tp_text(v) for v in m.visits)
        for i in np.flatnonzero(off):
            row = int(rows[i])
            if asm is not None:
                cell_row = asm.cell_rows.get((row, m.name), row)
                col = asm.column_of(m.name, tps[i])
                shown = asm.file_value(cell_row, m.name, tps[i])
            else:
                cell_row, col, shown = row, m.name, None
            out.append(DataProblem(
                src, cell_row, col, shown if shown is not None
                else show_value(frame[m.name].iloc[i]),
                f"{m.name} is taken only at {t} {when} in design {design.name!r}; this cell is "
                f"at {t} {_tp_text(tps[i])} and must be empty (or add the visit to the "
                f"measure's visits)"))
    return out


def _g(x) -> str:
    if x is None:
        return "-"
    x = float(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.4g}"


def _consistency_problems(frame: pd.DataFrame, design: Design, src: str,
                          asm=None) -> list[DataProblem]:
    """Duplicate subject-timepoint rows; subject-level values that change between visits;
    subjects without a group. Vectorised (groupby), one problem per offending row."""
    out = []
    t = design.time
    if not len(frame):
        return out
    ctx = asm.row_context if asm is not None else {}
    ok = frame[frame["subject"].notna() & frame[t].notna()] if t in frame else frame.iloc[:0]
    dupmask = ok.duplicated(["subject", t], keep=False).to_numpy()
    if dupmask.any():
        d = ok[dupmask]
        first = d.groupby(["subject", t], sort=False)["_row"].transform("min").to_numpy()
        for subj, tp, r, r0 in zip(d["subject"].to_numpy(object), d[t].to_numpy(object),
                                   d["_row"].to_numpy(), first):
            if r == r0:
                continue
            extra = f"; {ctx[int(r)]}: hipstats needs one value per visit" if int(r) in ctx else ""
            out.append(DataProblem(src, int(r), asm.column_of(t) if asm is not None else t,
                                   _tp_text(tp),
                                   f"duplicate row for subject {subj!r} at {t} {_tp_text(tp)} "
                                   f"(also row {int(r0)}){extra}"))
    subject_level = (["group"] if design.has_groups else []) + list(design.covariate_names)
    f = frame[frame["subject"].notna()]
    scodes = pd.factorize(f["subject"].to_numpy(object))[0]  # group by integers: fast
    for col in [c for c in subject_level if c in f]:
        s = f[col]
        g = s.groupby(scodes, sort=False)
        nun = g.transform("nunique").to_numpy()
        if not (nun > 1).any():
            continue
        firstval = g.transform("first")
        notna = s.notna().to_numpy()
        bad = (nun > 1) & notna & (s != firstval).to_numpy()
        nn = f[notna]
        firsts = pd.DataFrame({"_row": nn["_row"].to_numpy(),
                               "tp": nn[t].to_numpy(object) if t in nn else None}).groupby(
            scodes[notna], sort=False).first()
        what = "group" if col == "group" else f"subject-level {col}"
        subj_a = f["subject"].to_numpy(object)
        row_a = f["_row"].to_numpy()
        tp_a = f[t].to_numpy(object) if t in f else np.full(len(f), None, dtype=object)
        val_a = s.to_numpy(object)
        first_a = firstval.to_numpy(object)
        first_row_a = firsts["_row"].to_numpy()
        first_tp_a = firsts["tp"].to_numpy(object)
        first_pos = {c: k for k, c in enumerate(firsts.index)}
        for i in np.flatnonzero(bad):
            subj, row, tp = subj_a[i], int(row_a[i]), tp_a[i]
            k = first_pos[scodes[i]]
            r0 = int(first_row_a[k])
            if asm is not None:
                scol = asm.column_of(col, tp)
                shown = asm.file_value(row, col, tp)
                first_shown = asm.file_value(r0, col, first_tp_a[k])
            else:
                scol, shown, first_shown = col, None, None
            if shown is None:
                v = val_a[i]
                shown = repr(v) if isinstance(v, str) else show_value(v)
            if first_shown is None:
                fv = first_a[i]
                first_shown = repr(fv) if isinstance(fv, str) else show_value(fv)
            out.append(DataProblem(src, row, scol, shown,
                                   f"{what} of subject {subj!r} changes between visits "
                                   f"(first seen as {first_shown} on row {r0})"))
    if design.has_groups and "group" in f:
        cnt = f["group"].groupby(f["subject"], sort=False).count()
        first_rows = f["_row"].groupby(f["subject"], sort=False).min()
        for subj in cnt.index[cnt.to_numpy() == 0]:
            r = int(first_rows[subj])
            out.append(DataProblem(src, r, asm.column_of("group") if asm is not None else "group",
                                   None, f"group of subject {subj!r} is missing"))
    return out


def _finish(frame: pd.DataFrame, design: Design) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete the visit grid, derive columns, fix dtypes and order; return missing visits.

    Works on integer codes (subject in sorted order x timepoint position), so a million
    rows take about a second."""
    t = design.time
    subj_cols = [c for c in (["group"] if design.has_groups else []) + list(design.covariate_names)
                 + ["lever_arm"] if c in frame]
    grid = list(design.timepoints)
    order = design.time_order()
    n_tp = len(grid)
    codes, subjects = pd.factorize(frame["subject"].to_numpy(object), sort=True)
    pos = frame[t].map(order).to_numpy(np.int64)
    present = np.zeros(len(subjects) * n_tp, dtype=bool)
    present[codes * n_tp + pos] = True
    absent = np.flatnonzero(~present)
    m_codes, m_pos = absent // n_tp, absent % n_tp
    m_tp = np.empty(len(absent), dtype=object)
    m_tp[:] = [grid[i] for i in m_pos]
    missing = pd.DataFrame({"subject": np.asarray(subjects, dtype=object)[m_codes], t: m_tp})
    if len(missing):
        frame = pd.concat([frame, missing], ignore_index=True)
        codes = np.concatenate([codes, m_codes])
        pos = np.concatenate([pos, m_pos])
    if subj_cols:
        fill = frame[subj_cols].groupby(codes, sort=False).ffill()
        fill = fill.groupby(codes, sort=False).bfill()
        frame[subj_cols] = fill[subj_cols]
    measures = [m for m in design.measure_names if m in frame]
    for m in measures:
        frame[m] = frame[m].astype("float64")
    if "strength" in frame and "strength_uninvolved" in frame and "lsi" in design.derived:
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["lsi"] = frame["strength"] / frame["strength_uninvolved"] * 100.0
    cols = [c for c in design.columns() if c in frame] + [
        c for c in ("lever_arm", "days_since_baseline") if c in frame]
    frame = frame[cols].iloc[np.lexsort((pos, codes))].reset_index(drop=True)
    frame["subject"] = frame["subject"].astype(str)
    if design.has_groups:
        frame["group"] = frame["group"].astype(str)
    if all(isinstance(x, (int, np.integer)) for x in design.timepoints):
        frame[t] = frame[t].astype("int64")
    else:
        frame[t] = frame[t].astype(str)
    for m in design.covariates:
        if m.name in frame:
            frame[m.name] = frame[m.name].astype("float64" if m.kind == "float" else "str")
            if m.kind != "float":
                frame[m.name] = frame[m.name].where(frame[m.name] != "None")
                frame[m.name] = frame[m.name].where(frame[m.name] != "nan")
    if "lever_arm" in frame:
        frame["lever_arm"] = frame["lever_arm"].astype("float64")
    if all(isinstance(x, (int, np.integer)) for x in design.timepoints):
        missing[t] = missing[t].astype("int64")
    return frame, missing


def _missing_table(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Missing cells per measure and visit; a visit where a measure is not scheduled
    (``Measure.visits``) counts 0: its empty cells are by design, not missing data."""
    t = design.time
    measures = [m for m in design.measure_names if m in frame]
    tab = frame.groupby(t, sort=False)[measures].agg(lambda s: int(s.isna().sum())).T
    tab = tab[[tp for tp in design.timepoints if tp in tab.columns]]
    for m in measures:
        visits = design.measure(m).visits
        if visits is not None:
            tab.loc[m, [tp for tp in tab.columns if tp not in visits]] = 0
    tab.columns = [str(c) for c in tab.columns]
    tab["total"] = tab.sum(axis=1)
    tab.index.name = "measure"
    return tab.astype("int64")


def _as_raw(source, sheet, columns=None) -> RawTable:
    if isinstance(source, pd.DataFrame):
        f = source.copy()
        f.columns = [str(c) for c in f.columns]
        f = f.astype(object).where(f.notna(), "")
        f.index = pd.Index(range(1, len(f) + 1), name="row")
        units = source.attrs.get("units") if isinstance(source.attrs.get("units"), dict) else {}
        return RawTable(f, "<DataFrame>", "frame",
                        units={str(k): v for k, v in units.items() if isinstance(v, str)})
    ids = [k for k, v in (columns or {}).items() if v == "subject"]
    return read_raw(source, sheet=sheet, subject_names=ids)


def _read_dictionary(dictionary) -> pd.DataFrame | None:
    if dictionary is None or isinstance(dictionary, pd.DataFrame):
        return dictionary
    raw = read_raw(dictionary)
    return raw.frame


_OPTION_NAMES = ("columns", "units", "analysis_units", "sheet", "dictionary", "lever_arm",
                 "missing", "visit_dates")


def _resolve_options(source, design, config, given: dict):
    """Merge ``config=`` (a hipstats.toml) with explicit arguments (which win)."""
    if config is None:
        if source is None:
            raise TypeError("give the data file (source=) or a study config (config=)")
        return source, get_design(design if design is not None else "program6wk"), given
    from hipstats.config import designs_in, load_options, study_design

    if design is None:
        names = designs_in(config)
        if len(names) != 1:
            raise TypeError(f"{config}: holds data for {names}; say which with design=")
        design = names[0]
    name = design if isinstance(design, str) else design.name
    resolved = design if isinstance(design, Design) else study_design(config, name)
    if source is not None and name not in designs_in(config):
        opts = {}  # the file is given; the config only declares the design
    else:
        opts = load_options(config, name)
    src = source if source is not None else opts.pop("source", None)
    opts.pop("source", None)
    merged = {k: opts.get(k) for k in _OPTION_NAMES}
    merged.update({k: v for k, v in given.items() if v is not None})
    if src is None:
        raise TypeError(f"{config}: [data.{name}] has no path, and no source= was given")
    return src, resolved, merged


def validate(source=None, design=None, *, columns: dict | None = None,
             units: dict | None = None, analysis_units: dict | None = None,
             sheet: str | int | None = None, dictionary=None, lever_arm=None,
             missing=None, visit_dates=None, config=None) -> ValidationReport:
    """Check a trial file (or frame) against a design and report every problem.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV/TSV (UTF-8, or UTF-16 "Unicode text" from Excel; ``;``-separated with decimal
        commas when every number uses them), Excel (.xlsx), Parquet, Feather/Arrow, SPSS
        (.sav), Stata (.dta; extended missing ``.a``-``.z`` read as missing, each code named
        in a note), SAS (.xpt, .sas7bdat) or a REDCap export (CSV with ``record_id`` and
        ``redcap_event_name``), in long or wide layout; or a DataFrame.
        May be left out when ``config=`` gives the path.
    design : str or Design
        ``"program6wk"`` (the default), ``"pfps3wk"`` or your own
        :class:`~hipstats.design.Design`.
    columns : dict, optional
        File column -> design name, e.g. ``{"hip_abd_torque_nm": "strength",
        "lefs_total": "function_score"}``. Applies to long names and to the stems of wide
        columns (``{"strength_N": "strength"}`` reads ``strength_N_w0`` ...). Without it,
        columns are matched by name and the aliases in :data:`hipstats.io.assemble.ALIASES`.
    units : dict, optional
        What the file holds, per measure, e.g. ``{"strength": "N*m", "body_mass": "kg",
        "pain_vas": "mm"}``. Units can also be declared in headers (``strength [kgf]``,
        ``body_mass_kg``), SPSS variable labels, the REDCap dictionary, a
        ``datapackage.json`` or a per-row unit column (``strength_unit``). An undeclared
        strength column is assumed to be in the design's unit, with a warning.
    analysis_units : dict, optional
        What results are in, e.g. ``{"strength": "N*m/kg"}``; strength may be ``"N/kg"``
        (default), ``"N*m/kg"``, ``"%BW"``, ``"N"``, ``"N*m"`` or ``"kgf"``
        (``strength_uninvolved`` follows ``strength``). Ranges are checked in this unit.
    sheet : str or int, optional
        Excel sheet (default: the first *visible* sheet whose header names the subject
        column; hidden sheets are read only when named, and a workbook with no such sheet
        is refused listing its visible sheets). A title row above the header and a units
        row under it (``N``, ``kg``, ``(0-80)``) are recognised; cells formatted as percent
        are read as displayed (``35%`` is 35, and strength so formatted is %BW).
    dictionary : str, Path or DataFrame, optional
        REDCap data dictionary (units in field notes/labels, codes in choices).
    lever_arm : float or str, optional
        For conversions between force and torque: one number in metres, or the name of a
        file column holding each subject's lever arm (kept in the frame as ``lever_arm``).
    missing : list, optional
        Codes read as missing cells, e.g. ``[-99, 999]``.
    visit_dates : dict, optional
        Visits recorded as dates: ``{"column": "visit_date", "window_days": 3}`` (named
        designs add ``"schedule": {"pre": 0, "post": 21}``, days from baseline). Each row is
        placed on the visit whose scheduled day, counted from the subject's first date, lies
        within the window; rows in no window are excluded (ledger, warning); the frame keeps
        ``days_since_baseline``. Rules in :mod:`hipstats.io.visits`.
    config : str or Path, optional
        A ``hipstats.toml`` study config (see :mod:`hipstats.config`); its ``[data.<design>]``
        table gives the path and any of the options above. Explicit arguments win.

    Returns
    -------
    ValidationReport
        ``.ok``, ``.problems``, ``.warnings``, ``.notes``, ``.data``, ``.ledger``,
        ``.missing``, ``.missing_visits``, ``.units``, ``.conversions``; ``str(report)`` is
        a readable summary.

    Examples
    --------
    >>> import hipstats
    >>> rep = hipstats.validate(hipstats.example("pfps3wk"), "pfps3wk")
    >>> rep.ok
    True
    """
    given = dict(columns=columns, units=units, analysis_units=analysis_units, sheet=sheet,
                 dictionary=dictionary, lever_arm=lever_arm, missing=missing,
                 visit_dates=visit_dates)
    source, design, opts = _resolve_options(source, design, config, given)
    src = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
    report = ValidationReport(source=src, design=design)
    empty_ledger = pd.DataFrame(columns=["source_row", "subject", "status", "reason", "n_visits"])
    try:
        raw = _as_raw(source, opts["sheet"], opts["columns"])
        dic = _read_dictionary(opts["dictionary"])
    except HipstatsDataError as err:
        report.problems = list(err.problems)
        report.ledger = empty_ledger
        return report
    asm = assemble(raw, design, units=opts["units"], dictionary=dic,
                   lever_arm=opts["lever_arm"], columns=opts["columns"],
                   analysis_units=opts["analysis_units"], missing=opts["missing"],
                   visit_dates=opts.get("visit_dates"))
    report.layout = asm.layout
    report.notes = sorted(set(asm.notes))
    report.warnings = list(asm.warnings)
    if asm.unknown_columns:
        report.warnings.append("columns not in the design were ignored: "
                               + ", ".join(repr(c) for c in asm.unknown_columns)
                               + " (map any that hold design data with columns=)")
    report.units = dict(asm.units)
    report.conversions = list(dict.fromkeys(asm.conversions))
    report.unit_assumed = dict(asm.unit_assumed)
    report.declared_units = dict(asm.declared)
    problems = list(asm.problems)
    frame = asm.frame
    if len(frame) and "subject" in frame and design.time in frame:
        problems += _range_problems(frame, design, src, asm)
        problems += _schedule_problems(frame, design, src, asm)
        flagged = {p.row for p in problems if p.column is not None}
        problems += [p for p in _consistency_problems(frame, design, src, asm)
                     if not (p.message.startswith("group of subject") and p.row in flagged)]
    problems = sorted(set(problems), key=lambda p: (p.row if p.row is not None else -1,
                                                    str(p.column), p.message, str(p.value)))
    report.problems = problems
    report.ledger = row_ledger(asm, frame, problems)
    report.readings = group_readings(report.notes, report.ledger)
    if problems:
        return report
    if frame.empty:
        report.problems = [DataProblem(src, None, None, None, "file has no data rows")]
        return report
    data, missing_visits = _finish(frame.drop(columns=["_row"], errors="ignore"), design)
    report.data = data
    report.missing_visits = missing_visits
    report.missing = _missing_table(data, design)
    return report


def load(source=None, design=None, *, columns: dict | None = None,
         units: dict | None = None, analysis_units: dict | None = None,
         sheet: str | int | None = None, dictionary=None, lever_arm=None,
         missing=None, visit_dates=None, config=None, strict: bool = False) -> pd.DataFrame:
    """Load a trial file into the canonical person-period frame.

    Parameters
    ----------
    source : str, Path or DataFrame
        See :func:`validate` for the formats and layouts read; may be left out when
        ``config=`` gives the path.
    design : str or Design
        ``"program6wk"`` (the default), ``"pfps3wk"`` or a custom
        :class:`~hipstats.design.Design`.
    columns, units, analysis_units, sheet, dictionary, lever_arm, missing, visit_dates, config
        As in :func:`validate`: column mapping, what the file holds, what results are in,
        Excel sheet, REDCap dictionary, lever arm (number in m or column name), missing
        codes, visits as dates, and a ``hipstats.toml`` study config holding any of these.
    strict : bool
        Refuse every reading and warning (a :class:`~hipstats.errors.HipstatsDataError`
        listing them) instead of warning: for a pipeline that must load only files it reads
        exactly as written, with every choice declared.

    Returns
    -------
    DataFrame
        One row per subject and scheduled visit (documented in :mod:`hipstats.design`);
        visits absent from the file are rows of NaN measures. ``frame.attrs`` holds
        ``"units"`` (column -> unit of its values), ``"conversions"`` (what was converted,
        in words), ``"unit_assumed"`` (strength columns with no declared unit),
        ``"readings"`` (how the file was read, one ``{"kind", "heading", "items"}`` per
        kind: :attr:`ValidationReport.readings`), ``"notes"``, ``"warnings"`` and
        ``"hipstats_report"`` (a dict, see :meth:`ValidationReport.to_dict`).

    Warns
    -----
    ReadingWarning
        One per warning of the report (ignored columns, an assumed strength unit) and one per
        kind of reading (sheet chosen, rows excluded with the reason, visits read from
        numbers, labels, dates or suffixes, columns matched by name or ignored, units read
        from a header, missing-value codes, values carried), naming the file and the rows or
        columns. A :class:`UserWarning`: silence it with ``warnings.filterwarnings("ignore",
        category=hipstats.ReadingWarning)``.

    Raises
    ------
    HipstatsDataError
        Listing every problem (file, row, column, value) when the data are invalid; with
        ``strict=True`` also every reading and warning.

    Examples
    --------
    >>> import hipstats, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "trial.csv")
    >>> hipstats.example("pfps3wk").to_csv(path, index=False)
    >>> df = hipstats.load(path, design="pfps3wk", units={"strength": "N/kg"})
    >>> sorted(df["group"].unique())
    ['PFPS', 'control']
    >>> df.attrs["units"]["strength"]
    'N/kg'
    """
    report = validate(source, design, columns=columns, units=units,
                      analysis_units=analysis_units, sheet=sheet, dictionary=dictionary,
                      lever_arm=lever_arm, missing=missing, visit_dates=visit_dates,
                      config=config)
    if strict:
        _refuse_readings(report)
    for w in report.warnings:
        warnings.warn(f"{report.source}: {w}", ReadingWarning, stacklevel=2)
    report.raise_if_invalid()
    for r in report.readings:
        warnings.warn(reading_message(report.source, r), ReadingWarning, stacklevel=2)
    data = report.data
    data.attrs["units"] = {c: report.units[c] for c in data.columns if c in report.units}
    if "lsi" in data.columns:
        data.attrs["units"]["lsi"] = "%"
    data.attrs["conversions"] = list(report.conversions)
    data.attrs["unit_assumed"] = dict(report.unit_assumed)
    data.attrs["readings"] = [dict(r, items=list(r["items"])) for r in report.readings]
    data.attrs["notes"] = [str(n) for n in report.notes]
    data.attrs["warnings"] = list(report.warnings)
    data.attrs["hipstats_report"] = report.to_dict()
    data.attrs["design"] = report.design.name
    data.attrs["measures"] = report.design.measure_info()
    return data


def _refuse_readings(report: ValidationReport) -> None:
    """``strict=True``: every problem, warning and reading as one error."""
    src = report.source
    refused = [DataProblem(src, None, None, None, f"{w} (strict=True)") for w in report.warnings]
    refused += [DataProblem(src, None, None, None, f"{r['heading']}: {item} (strict=True: "
                            "declare it, or fix the file)")
                for r in (report.readings if report.ok else []) for item in r["items"]]
    if report.problems or refused:
        raise HipstatsDataError(list(report.problems) + refused)
