"""Write a person-period frame as CSV/TSV, Excel, Parquet, SPSS or a REDCap export.

Used by ``hipstats simulate`` and by the round-trip tests: a cohort written in any format
and layout loads back to an identical frame. Output is deterministic (fixed float format,
sorted rows, no timestamps in CSV/Parquet).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hipstats.design import Design, get_design

__all__ = ["write", "to_wide", "to_redcap", "redcap_dictionary", "FORMATS_OUT"]

FORMATS_OUT = ("csv", "tsv", "xlsx", "parquet", "feather", "sav", "dta", "redcap")


def _tp_token(tp) -> str:
    return f"w{tp}" if isinstance(tp, int) else str(tp)


def to_wide(frame: pd.DataFrame, design: "Design | str") -> pd.DataFrame:
    """One row per subject; repeated measures as ``<measure>_<w0|pre>`` columns.

    Examples
    --------
    >>> import hipstats
    >>> wide = to_wide(hipstats.example("pfps3wk"), "pfps3wk")
    >>> "pain_vas_post" in wide.columns
    True
    """
    design = get_design(design)
    t = design.time
    subj_cols = ["subject"] + (["group"] if design.has_groups else []) + \
        [c for c in design.covariate_names if c in frame]
    base = frame.groupby("subject", sort=True)[subj_cols[1:]].first() if len(subj_cols) > 1 \
        else pd.DataFrame(index=sorted(frame["subject"].unique()))
    base.index.name = "subject"
    parts = [base]
    for m in [m for m in design.measure_names if m in frame]:
        piv = frame.pivot(index="subject", columns=t, values=m)
        piv = piv[[tp for tp in design.timepoints if tp in piv.columns]]
        piv.columns = [f"{m}_{_tp_token(tp)}" for tp in piv.columns]
        parts.append(piv)
    return pd.concat(parts, axis=1).reset_index()


def _event(tp, design: Design) -> str:
    if tp == design.timepoints[0]:
        return "baseline_arm_1"
    return f"week_{tp}_arm_1" if isinstance(tp, int) else f"{tp}_arm_1"


def to_redcap(frame: pd.DataFrame, design: "Design | str") -> pd.DataFrame:
    """A REDCap-style export: ``record_id``, ``redcap_event_name``, fields, and
    ``*_complete`` status columns; subject-level fields only on the baseline event."""
    design = get_design(design)
    t = design.time
    out = frame.rename(columns={"subject": "record_id"}).copy()
    out.insert(1, "redcap_event_name", [_event(tp, design) for tp in out[t]])
    out = out.drop(columns=[t] + (["lsi"] if "lsi" in out else []))
    subj_cols = (["group"] if design.has_groups else []) + \
        [c for c in design.covariate_names if c in out]
    later = out["redcap_event_name"] != "baseline_arm_1"
    for c in subj_cols:
        out[c] = out[c].astype(object)
        out.loc[later, c] = None
    out["visit_complete"] = 2
    return out


def redcap_dictionary(frame: pd.DataFrame, design: "Design | str") -> pd.DataFrame:
    """A REDCap data dictionary for :func:`to_redcap` output (units in the field note)."""
    design = get_design(design)
    rows = [("record_id", "visit", "text", "Record ID", "", "")]
    if design.has_groups:
        choices = " | ".join(f"{g}, {g}" for g in design.groups)
        rows.append(("group", "visit", "radio", "Group", choices, ""))
    for m in design.measures + design.covariates:
        if m.name not in frame:
            continue
        ftype = "radio" if m.kind == "category" else "text"
        choices = " | ".join(f"{lv}, {lv}" for lv in m.levels) if m.kind == "category" else ""
        note = f"[{m.unit}]" if m.unit else ""
        rows.append((m.name, "visit", ftype, m.description or m.name, choices, note))
    return pd.DataFrame(rows, columns=["Variable / Field Name", "Form Name", "Field Type",
                                       "Field Label", "Choices, Calculations, OR Slider Labels",
                                       "Field Note"])


def _sav_labels(columns, design: Design) -> dict:
    """SPSS variable labels declaring each measure's unit (``strength [N/kg]``), so the file
    reads back without an assumed unit."""
    measures = sorted(design.measures + design.covariates, key=lambda m: -len(m.name))
    tokens = {_tp_token(tp) for tp in design.timepoints}
    labels = {}
    for c in columns:
        for m in measures:
            if m.unit and (c == m.name or (c.startswith(m.name + "_")
                                           and c[len(m.name) + 1:] in tokens)):
                labels[c] = f"{m.name} [{m.unit}]"
                break
    return labels


def write(frame: pd.DataFrame, path: str | Path, design: "Design | str",
          layout: str = "long", fmt: str | None = None) -> list[Path]:
    """Write ``frame`` to ``path``; returns the files written.

    Parameters
    ----------
    frame : DataFrame
        Canonical person-period frame.
    path : str or Path
        Output file. For ``fmt="redcap"`` a ``<stem>_dictionary.csv`` is written beside it.
    design : str or Design
    layout : {"long", "wide"}
    fmt : str, optional
        One of ``csv, tsv, xlsx, parquet, feather, sav, dta, redcap``; default from the
        extension.
    """
    design = get_design(design)
    path = Path(path)
    fmt = fmt or {".csv": "csv", ".tsv": "tsv", ".xlsx": "xlsx", ".parquet": "parquet",
                  ".feather": "feather", ".sav": "sav", ".dta": "dta"}.get(path.suffix.lower())
    if fmt not in FORMATS_OUT:
        raise ValueError(f"unknown output format {fmt!r}; choose one of {FORMATS_OUT}")
    if layout not in ("long", "wide"):
        raise ValueError("layout must be 'long' or 'wide'")
    written = [path]
    if fmt == "redcap":
        out = to_redcap(frame, design)
        out.to_csv(path, index=False, float_format="%.10g", lineterminator="\n")
        dic = path.with_name(path.stem + "_dictionary.csv")
        redcap_dictionary(frame, design).to_csv(dic, index=False, lineterminator="\n")
        return written + [dic]
    out = to_wide(frame, design) if layout == "wide" else frame.drop(
        columns=["lsi"], errors="ignore")
    if fmt in ("csv", "tsv"):
        out.to_csv(path, index=False, sep="\t" if fmt == "tsv" else ",",
                   float_format="%.10g", lineterminator="\n")
    elif fmt == "xlsx":
        out.to_excel(path, index=False, engine="openpyxl")
    elif fmt == "parquet":
        out.to_parquet(path, index=False)
    elif fmt == "feather":
        out.reset_index(drop=True).to_feather(path)
    elif fmt in ("sav", "dta"):
        import pyreadstat

        obj = out.copy()
        for c in obj.columns:
            if not pd.api.types.is_numeric_dtype(obj[c]):
                obj[c] = obj[c].astype(object).where(obj[c].notna(), "")
        writer = pyreadstat.write_sav if fmt == "sav" else pyreadstat.write_dta
        writer(obj, str(path), column_labels=_sav_labels(obj.columns, design))
    return written
