"""Validate a trial file against a design, and load it into the person-period frame.

:func:`validate` reports *every* problem at once, each naming file, 1-based data row,
column and value; :func:`load` returns the frame or raises
:class:`~hipstats.errors.HipstatsDataError` carrying all of them.

Checks: readable, non-empty, UTF-8 text (or a valid Excel/Parquet/SPSS file), no ragged rows,
required columns present, numbers parse, categories and group labels known, timepoints on the
design's grid, values inside each measure's valid range (a pandera schema built from the
design), no duplicate subject-timepoint rows, a subject's group and subject-level covariates
constant over visits, declared units convertible. Missing cells are data, not errors: they
are counted in :attr:`ValidationReport.missing` and kept as NaN.

Nothing is lost: :attr:`ValidationReport.ledger` has one row per input data row with its
status (``kept``, or ``excluded`` with the reason, or ``invalid`` with the first problem);
visits the file did not have are added as rows of NaN and listed in
:attr:`ValidationReport.missing_visits`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.design import Design, get_design
from hipstats.errors import DataProblem, HipstatsDataError
from hipstats.io.assemble import assemble
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
            for _, r in (excluded.iterrows() if len(excluded) else []):
                lines.append(f"  excluded row {r['source_row']}: {r['reason']}")
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
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    __str__ = summary

    def to_dict(self) -> dict:
        """JSON-ready summary (for ``hipstats validate --json``)."""
        return {
            "source": self.source, "design": self.design.name, "valid": self.ok,
            "layout": self.layout,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": list(self.warnings), "notes": list(self.notes),
            "n_input_rows": int(len(self.ledger)),
            "n_excluded_rows": int((self.ledger["status"] == "excluded").sum())
            if len(self.ledger) else 0,
            "missing_cells": {k: int(v) for k, v in self.missing["total"].items()}
            if len(self.missing) else {},
            "n_missing_visits": int(len(self.missing_visits)),
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


def _range_problems(frame: pd.DataFrame, design: Design, src: str) -> list[DataProblem]:
    import pandera.errors as pe

    schema = schema_for(design, frame.columns)
    numeric = frame[[c for c in schema.columns]].astype(float)
    try:
        schema.validate(numeric, lazy=True)
    except pe.SchemaErrors as err:
        out = []
        fc = err.failure_cases
        for _, r in fc.iterrows():
            idx = r["index"]
            col = r["column"]
            if idx is None or (isinstance(idx, float) and np.isnan(idx)):
                continue
            meas = design.measure(col)
            row = int(frame.at[idx, "_row"])
            src_col = frame.at[idx, "_cols"].get(col, col) if "_cols" in frame else col
            unit = f" {meas.unit}" if meas.unit else ""
            out.append(DataProblem(src, row, src_col, repr(float(r["failure_case"])),
                                   f"out of range: valid {meas.name} is {meas.low} to "
                                   f"{meas.high}{unit}"))
        return out
    return []


def _consistency_problems(frame: pd.DataFrame, design: Design, src: str) -> list[DataProblem]:
    out = []
    t = design.time
    ok = frame.dropna(subset=["subject"])
    ok = ok[ok[t].notna()] if t in ok else ok
    dup = ok[ok.duplicated(["subject", t], keep=False)]
    for (subj, tp), g in dup.groupby(["subject", t], sort=True):
        rows = sorted(g["_row"].tolist())
        for r in rows[1:]:
            out.append(DataProblem(src, int(r), t, repr(tp),
                                   f"duplicate row for subject {subj!r} at {t} {tp!r} "
                                   f"(also row {rows[0]})"))
    subject_level = ["group"] + list(design.covariate_names) if design.has_groups \
        else list(design.covariate_names)
    for col in [c for c in subject_level if c in frame]:
        for subj, g in frame.dropna(subset=["subject"]).groupby("subject", sort=True):
            vals = g[col].dropna()
            if vals.nunique() > 1:
                first = vals.iloc[0]
                for idx in vals.index[vals != first]:
                    src_col = frame.at[idx, "_cols"].get(col, col) if "_cols" in frame else col
                    what = "group" if col == "group" else f"subject-level {col}"
                    out.append(DataProblem(src, int(frame.at[idx, "_row"]), src_col,
                                           repr(vals[idx]),
                                           f"{what} of subject {subj!r} changes between visits "
                                           f"(first seen as {first!r})"))
    if design.has_groups and "group" in frame:
        for subj, g in frame.dropna(subset=["subject"]).groupby("subject", sort=True):
            if g["group"].isna().all():
                out.append(DataProblem(src, int(g["_row"].min()), "group", None,
                                       f"group of subject {subj!r} is missing"))
    return out


def _finish(frame: pd.DataFrame, design: Design) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete the visit grid, derive columns, fix dtypes and order; return missing visits."""
    t = design.time
    subj_cols = [c for c in (["group"] if design.has_groups else []) + list(design.covariate_names)
                 if c in frame]
    subjects = sorted(frame["subject"].unique())
    grid = pd.MultiIndex.from_product([subjects, list(design.timepoints)], names=["subject", t])
    present = pd.MultiIndex.from_frame(frame[["subject", t]])
    missing_idx = grid.difference(present, sort=False)
    missing = pd.DataFrame(list(missing_idx), columns=["subject", t])
    if len(missing):
        frame = pd.concat([frame, missing], ignore_index=True)
    if subj_cols:
        filled = frame.groupby("subject")[subj_cols].transform(lambda s: s.ffill().bfill())
        frame[subj_cols] = filled
    measures = [m for m in design.measure_names if m in frame]
    for m in measures:
        frame[m] = frame[m].astype("float64")
    if "strength" in frame and "strength_uninvolved" in frame and "lsi" in design.derived:
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["lsi"] = frame["strength"] / frame["strength_uninvolved"] * 100.0
    order = design.time_order()
    frame["_pos"] = frame[t].map(order)
    frame = frame.sort_values(["subject", "_pos"], kind="mergesort")
    cols = [c for c in design.columns() if c in frame]
    frame = frame[cols].reset_index(drop=True)
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
    missing = missing.assign(_pos=missing[t].map(order)).sort_values(
        ["subject", "_pos"], kind="mergesort").drop(columns="_pos").reset_index(drop=True)
    return frame, missing


def _missing_table(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    t = design.time
    measures = [m for m in design.measure_names if m in frame]
    tab = frame.groupby(t, sort=False)[measures].agg(lambda s: int(s.isna().sum())).T
    tab = tab[[tp for tp in design.timepoints if tp in tab.columns]]
    tab.columns = [str(c) for c in tab.columns]
    tab["total"] = tab.sum(axis=1)
    tab.index.name = "measure"
    return tab.astype("int64")


def _as_raw(source, sheet) -> RawTable:
    if isinstance(source, pd.DataFrame):
        f = source.copy()
        f.columns = [str(c) for c in f.columns]
        f = f.astype(object).where(f.notna(), "")
        f.index = pd.Index(range(1, len(f) + 1), name="row")
        return RawTable(f, "<DataFrame>", "frame")
    return read_raw(source, sheet=sheet)


def _read_dictionary(dictionary) -> pd.DataFrame | None:
    if dictionary is None or isinstance(dictionary, pd.DataFrame):
        return dictionary
    raw = read_raw(dictionary)
    return raw.frame


def validate(source, design="program6wk", *, units: dict | None = None,
             sheet: str | int | None = None, dictionary=None,
             lever_arm: float | None = None) -> ValidationReport:
    """Check a trial file (or frame) against a design and report every problem.

    Parameters
    ----------
    source : str, Path or DataFrame
        CSV/TSV, Excel (.xlsx), Parquet, SPSS (.sav) or a REDCap export (CSV with
        ``record_id`` and ``redcap_event_name``), in long or wide layout; or a DataFrame.
    design : str or Design
        ``"program6wk"``, ``"pfps3wk"`` or your own :class:`~hipstats.design.Design`.
    units : dict, optional
        Declared units of columns, e.g. ``{"strength": "kgf", "pain_vas": "mm"}``. Units can
        also be declared in headers (``strength [kgf]``), SPSS labels or the REDCap
        dictionary. Undeclared columns are in the design's canonical unit.
    sheet : str or int, optional
        Excel sheet (default: the first).
    dictionary : str, Path or DataFrame, optional
        REDCap data dictionary (units in field notes/labels, codes in choices).
    lever_arm : float, optional
        Lever arm in metres for torque units when the file has no ``lever_arm`` column.

    Returns
    -------
    ValidationReport
        ``.ok``, ``.problems``, ``.warnings``, ``.notes``, ``.data``, ``.ledger``,
        ``.missing``, ``.missing_visits``; ``str(report)`` is a readable summary.

    Examples
    --------
    >>> import hipstats
    >>> rep = hipstats.validate(hipstats.example("pfps3wk"), "pfps3wk")
    >>> rep.ok
    True
    """
    design = get_design(design)
    src = "<DataFrame>" if isinstance(source, pd.DataFrame) else str(source)
    report = ValidationReport(source=src, design=design)
    try:
        raw = _as_raw(source, sheet)
        dic = _read_dictionary(dictionary)
    except HipstatsDataError as err:
        report.problems = list(err.problems)
        report.ledger = pd.DataFrame(columns=["source_row", "subject", "status", "reason",
                                              "n_visits"])
        return report
    asm = assemble(raw, design, units=units, dictionary=dic, lever_arm=lever_arm)
    report.layout = asm.layout
    report.notes = sorted(set(asm.notes))
    if asm.unknown_columns:
        report.warnings.append("columns not in the design were ignored: "
                               + ", ".join(repr(c) for c in asm.unknown_columns))
    problems = list(asm.problems)
    frame = asm.frame
    if len(frame) and "subject" in frame and design.time in frame:
        problems += _range_problems(frame, design, src)
        flagged = {p.row for p in problems if p.column is not None}
        problems += [p for p in _consistency_problems(frame, design, src)
                     if not (p.message.startswith("group of subject") and p.row in flagged)]
    problems = sorted(set(problems), key=lambda p: (p.row if p.row is not None else -1,
                                                    str(p.column), p.message, str(p.value)))
    report.problems = problems
    # the ledger: every input data row
    bad_rows = {}
    for p in problems:
        if p.row is not None:
            bad_rows.setdefault(p.row, p.message)
    led = []
    n_visits = frame.groupby("_row").size().to_dict() if len(frame) else {}
    subj_of = (frame.groupby("_row")["subject"].first().to_dict()
               if len(frame) and "subject" in frame else {})
    for r in asm.source_rows:
        status, reason = ("invalid", bad_rows[r]) if r in bad_rows else ("kept", "")
        led.append((r, subj_of.get(r), status, reason, int(n_visits.get(r, 0))))
    for r in asm.blank_rows:
        led.append((r, None, "excluded", "blank row (every cell empty)", 0))
    for p in asm.problems:
        if p.row is not None and p.row not in asm.source_rows and "ragged" in p.message:
            led.append((p.row, None, "invalid", p.message, 0))
    report.ledger = pd.DataFrame(led, columns=["source_row", "subject", "status", "reason",
                                               "n_visits"]).sort_values(
        "source_row", kind="mergesort").reset_index(drop=True)
    if problems:
        return report
    if frame.empty:
        report.problems = [DataProblem(src, None, None, None, "file has no data rows")]
        return report
    data, missing_visits = _finish(frame.drop(columns=["_row", "_cols"], errors="ignore"), design)
    report.data = data
    report.missing_visits = missing_visits
    report.missing = _missing_table(data, design)
    return report


def load(source, design="program6wk", *, units: dict | None = None,
         sheet: str | int | None = None, dictionary=None,
         lever_arm: float | None = None) -> pd.DataFrame:
    """Load a trial file into the canonical person-period frame.

    Parameters
    ----------
    source : str, Path or DataFrame
        See :func:`validate` for the formats and layouts read.
    design : str or Design
        ``"program6wk"``, ``"pfps3wk"`` or a custom :class:`~hipstats.design.Design`.
    units, sheet, dictionary, lever_arm
        As in :func:`validate`.

    Returns
    -------
    DataFrame
        One row per subject and scheduled visit (documented in :mod:`hipstats.design`);
        visits absent from the file are rows of NaN measures. The validation report is
        attached as ``frame.attrs["hipstats_report"]`` (a dict, see
        :meth:`ValidationReport.to_dict`).

    Raises
    ------
    HipstatsDataError
        Listing every problem (file, row, column, value) when the data are invalid.

    Examples
    --------
    >>> import hipstats, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "trial.csv")
    >>> hipstats.example("pfps3wk").to_csv(path, index=False)
    >>> df = hipstats.load(path, design="pfps3wk")
    >>> sorted(df["group"].unique())
    ['PFPS', 'control']
    """
    report = validate(source, design, units=units, sheet=sheet, dictionary=dictionary,
                      lever_arm=lever_arm)
    report.raise_if_invalid()
    data = report.data
    data.attrs["hipstats_report"] = report.to_dict()
    return data

