"""Publication tables: baseline characteristics (Table 1), the cohort flow, and the
formatting of any result frame for a page (:func:`format_table`).

Presentation lives here, never in :mod:`hipstats.stats` (which returns full precision):
pages show APA-style rounded numbers, so noise far below reporting precision (another
machine's floating point) does not change a page; the CSV tables keep full precision.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

__all__ = ["baseline_table", "cohort_flow", "format_table", "fmt_number", "fmt_p",
           "PublicationTable"]

#: Readable column headers for the result frames of hipstats.stats.
HEADERS = {
    "term": "Term", "estimate": "Estimate", "se": "SE", "df": "df", "t": "t",
    "pval": "p", "pval_adj": "p (adjusted)", "r": "r", "n": "n", "n_obs": "Visits",
    "n_subjects": "Subjects", "dof": "df", "F": "F", "num_df": "df (num.)",
    "den_df": "df (den.)", "ges": "Generalised eta\u00b2", "eps": "GG epsilon",
    "mean_diff": "Mean change", "hedges_g": "Hedges' g", "d_z": "d_z", "group": "Group",
    "vcov": "Variance", "sdcor": "SD / Corr.", "var1": "Effect", "var2": "With",
    "std_estimate": "Standardised", "role": "Role", "predictor": "Predictor",
    "outcome": "Outcome", "contrast": "Contrast", "emmean": "Estimated mean",
    "sum_sq": "Sum Sq", "mean_sq": "Mean Sq", "week": "Week", "time": "Time",
    "visit": "Visit", "stage": "Stage", "text": "", "subject": "Subject",
    "reason": "Reason", "measure": "Measure", "study": "Study", "weight": "Weight (%)",
    "kind": "Row", "responders": "Responders", "proportion": "Proportion", "nnt": "NNT",
    "nnt_ci_low": "NNT, CI bound 1", "nnt_ci_high": "NNT, CI bound 2", "nnt_note": "NNT note",
    "scenario": "Scenario",
}
_P = re.compile(r"^(pval|p_|p-|p$|pval_)", re.I)
_DF = {"df", "dof", "num_df", "den_df", "df1", "df2"}
_COUNT = re.compile(r"^(n|n_.*|count|nobs|.*_n)$")


def fmt_p(p) -> str:
    """APA p-value: ``< .001``, ``.032``, ``1.000``; empty for missing."""
    if p is None or not np.isfinite(p):
        return ""
    if p < 0.001:
        return "< .001"
    return f"{p:.3f}".replace("0.", ".", 1) if p < 1 else "1.000"


def fmt_number(x, decimals: int | None = None) -> str:
    """Round for a page: 3 decimals below 1, 2 below 100, 1 above (or ``decimals``).

    Values are first rounded to 8 significant digits, so differences in the last bits of a
    computation never reach the printed digits except exactly at a rounding boundary."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "" if x is None or np.isnan(x) else ("\u221e" if x > 0 else "\u2212\u221e")
    x = float(f"{float(x):.8g}")
    if decimals is None:
        ax = abs(x)
        decimals = 3 if ax < 1 else 2 if ax < 100 else 1
    out = f"{x:.{decimals}f}"
    if float(out) == 0:
        out = f"{0:.{decimals}f}"
    return out.replace("-", "\u2212")


class PublicationTable:
    """A formatted table: ``.data`` (strings, no index) and HTML for pages and notebooks."""

    def __init__(self, data: pd.DataFrame, caption: str | None = None,
                 note: str | None = None, name: str = "table"):
        self.data, self.caption, self.note = data, caption, note
        self.name = re.sub(r"[^A-Za-z0-9_-]", "-", name)

    def to_html(self) -> str:
        styler = self.data.style.hide(axis="index").format(escape="html")
        styler = styler.set_uuid(self.name)
        body = styler.to_html(exclude_styles=True).replace("<table>", '<table class="hs-table">',
                                                            1)
        # the caption is a paragraph above the table (an HTML <caption> wraps to the
        # table's width, which squeezed it into a narrow column on narrow tables)
        cap = (f'<p class="hs-caption"><b>{html.escape(self.caption)}</b></p>'
               if self.caption else "")
        note = f'<p class="hs-note">{html.escape(self.note)}</p>' if self.note else ""
        return f'<div class="hs-table-wrap">{cap}{body}{note}</div>'

    _repr_html_ = to_html

    #: MIME type carrying the table's cells for the Word export of the report.
    MIME = "application/vnd.hipstats.table+json"

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.to_html(), "text/plain": repr(self),
                self.MIME: {"caption": self.caption or "", "note": self.note or "",
                            "columns": [str(c) for c in self.data.columns],
                            "rows": self.data.astype(str).values.tolist()}}

    def __repr__(self) -> str:
        head = (self.caption + "\n") if self.caption else ""
        return head + self.data.to_string(index=False) + (f"\n{self.note}" if self.note else "")


#: Columns whose cells are model terms or measure names, labelled by ``format_table(labels=)``.
TERM_COLUMNS = ("term", "predictor", "Effect", "effect")
MEASURE_COLUMNS = ("outcome", "measure", "variable", "x", "y")


def _label_cells(d: pd.DataFrame, data, design) -> pd.DataFrame:
    """Machine names in term/measure columns -> labels (:mod:`hipstats.labels`)."""
    from hipstats.labels import measure_label, term_label

    d = d.copy()
    for c in d.columns:
        if c in TERM_COLUMNS:
            d[c] = [term_label(str(v), data, design) if isinstance(v, str) else v
                    for v in d[c]]
        elif c in MEASURE_COLUMNS:
            d[c] = [_label_variable(v, data, design, measure_label) if isinstance(v, str)
                    else v for v in d[c]]
    return d


def _label_variable(v: str, data, design, measure_label) -> str:
    """``"pain_vas, mean (SD)"`` -> ``"Pain (VAS, cm), mean (SD)"``; ``"sex = F, n (%)"``."""
    m = re.match(r"^([A-Za-z_][A-Za-z0-9_]*)((?:,| =| ->).*)?$", v)
    if not m or (m.group(2) is None and v in ("n",)):
        return v
    if " -> " in v:
        return " → ".join(measure_label(x.strip(), data, design, unit=False)
                               for x in v.split(" -> "))
    return measure_label(m.group(1), data, design) + (m.group(2) or "")


def format_table(df: pd.DataFrame, caption: str | None = None, note: str | None = None,
                 index: bool | str = "auto", rename: dict | None = None,
                 decimals: dict | None = None, ci: str = "95% CI",
                 name: str | None = None, labels=None, design=None) -> PublicationTable:
    """Format a result frame for a page: readable headers, no index, APA numbers.

    Parameters
    ----------
    df : DataFrame
        A tidy result (full precision).
    caption, note : str, optional
        Numbered caption ("Table 2. ...") and a note under the table (model, df method,
        adjustment).
    index : bool or "auto"
        Keep the index as the first column ("auto": when it is named or not a RangeIndex).
    rename : dict, optional
        Extra header names (``{"strength": "Strength (N/kg)"}``).
    decimals : dict, optional
        Fixed decimals per column.
    ci : str
        Header of the combined ``[ci_low, ci_high]`` column.
    labels : DataFrame or bool, optional
        Show readable labels instead of machine names in term columns (``term``,
        ``predictor``: ``"Limb (uninvolved vs involved) × week 2"``) and measure columns
        (``outcome``, ``measure``, ``variable``: ``"Pain (VAS, cm)"``). Pass the analysed
        frame (its ``attrs["measures"]`` give the instruments' labels) or ``True``.
    design : Design, optional
        Labels and reference arm from this design (with ``labels``).

    Returns
    -------
    PublicationTable
        ``.data`` (strings) and ``to_html()`` / ``_repr_html_``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = format_table(pd.DataFrame({"estimate": [0.123456], "ci_low": [0.01],
    ...                                "ci_high": [0.2], "pval": [0.00002]}))
    >>> t.data.iloc[0].tolist()
    ['0.123', '[0.010, 0.200]', '< .001']
    """
    d = df.copy()
    keep_index = (index is True or (index == "auto" and (d.index.name is not None or not
                  isinstance(d.index, pd.RangeIndex))))
    if keep_index:
        d = d.reset_index()
    if labels is not None and labels is not False:
        d = _label_cells(d, None if labels is True else labels, design)
    decimals = dict(decimals or {})
    names = {**HEADERS, **(rename or {})}
    out = {}
    cols = list(d.columns)
    # an estimate and its interval share the estimate's decimals, row by row
    main = next((c for c in ("estimate", "mean_diff", "emmean", "r", "hedges_g") if c in cols),
                None)

    def auto_dec(v):
        if v is None or not np.isfinite(v):
            return None
        a = abs(float(f"{float(v):.8g}"))
        return 3 if a < 1 else 2 if a < 100 else 1

    row_dec = ([decimals.get("ci", auto_dec(v)) for v in d[main]] if main
               else [decimals.get("ci")] * len(d))
    for c in cols:
        if c == "ci_high" and "ci_low" in cols:
            continue
        s = d[c]
        if c == "ci_low" and "ci_high" in cols:
            lo, hi = d["ci_low"], d["ci_high"]
            out[ci] = [f"[{fmt_number(a, k)}, {fmt_number(b, k)}]"
                       if pd.notna(a) and pd.notna(b) else "" for a, b, k in zip(lo, hi, row_dec)]
            continue
        header = names.get(c, str(c).replace("_", " "))
        if pd.api.types.is_bool_dtype(s):
            out[header] = ["yes" if v else "no" for v in s]
        elif pd.api.types.is_numeric_dtype(s):
            if isinstance(c, str) and _P.match(c):
                out[header] = [fmt_p(v) for v in s]
            elif c in _DF:
                out[header] = [fmt_number(v, 1) for v in s]
            elif (isinstance(c, str) and _COUNT.match(c)) or (
                    s.dropna().size and np.all(np.mod(s.dropna(), 1) == 0)
                    and pd.api.types.is_integer_dtype(s)):
                out[header] = ["" if pd.isna(v) else f"{int(v)}" for v in s]
            elif s.dropna().size and np.all(np.mod(s.dropna(), 1) == 0) and c in (
                    "week", "time", "visit"):
                out[header] = ["" if pd.isna(v) else f"{int(v)}" for v in s]
            elif c == main:
                out[header] = [fmt_number(v, decimals.get(c, k)) for v, k in zip(s, row_dec)]
            else:
                out[header] = [fmt_number(v, decimals.get(c)) for v in s]
        else:
            out[header] = ["" if (v is None or (isinstance(v, float) and np.isnan(v)))
                           else str(v) for v in s]
    return PublicationTable(pd.DataFrame(out), caption, note,
                            name or (caption or "table").split(".")[0])


def baseline_table(data: pd.DataFrame, time: str, baseline, variables: list[str],
                   group: str | None = None, subject: str = "subject",
                   decimals: int = 1) -> pd.DataFrame:
    """Table 1: mean (SD) of numeric and n (%) of categorical variables at baseline.

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    time : str
        Visit column; ``baseline`` is the value whose rows are summarised.
    variables : list of str
        Columns to describe, in order.
    group : str, optional
        One column of the table per group (sorted), plus ``All``.

    Returns
    -------
    DataFrame
        Index ``variable``; one text column per group and ``All``; the first row is ``n``.

    Examples
    --------
    >>> import hipstats
    >>> from hipstats.tables import baseline_table
    >>> t = baseline_table(hipstats.example("pfps3wk"), "time", "pre", ["age", "strength"],
    ...                    group="group")
    >>> list(t.columns)
    ['PFPS', 'control', 'All']
    """
    base = data[data[time] == baseline]
    groups = ([(str(g), base[base[group] == g]) for g in sorted(base[group].dropna().unique())]
              if group else [])
    groups.append(("All", base))
    rows = {"n": [str(d[subject].nunique()) for _, d in groups]}
    for v in variables:
        if v not in base:
            continue
        if pd.api.types.is_numeric_dtype(base[v]):
            cells = []
            for _, d in groups:
                x = d[v].dropna()
                miss = d[v].isna().sum()
                cell = f"{x.mean():.{decimals}f} ({x.std(ddof=1):.{decimals}f})" if len(x) else "-"
                cells.append(cell + (f" [{miss} missing]" if miss else ""))
            rows[f"{v}, mean (SD)"] = cells
        else:
            for lev in sorted(base[v].dropna().astype(str).unique()):
                rows[f"{v} = {lev}, n (%)"] = [
                    f"{int((d[v].astype(str) == lev).sum())} "
                    f"({100 * (d[v].astype(str) == lev).mean():.0f}%)" for _, d in groups]
    out = pd.DataFrame(rows, index=[g for g, _ in groups]).T
    out.index.name = "variable"
    return out


def cohort_flow(data: pd.DataFrame, time: str, subject: str, measures: list[str],
                order=None, exclusions: int = 0, group: str | None = None) -> pd.DataFrame:
    """Stages of a CONSORT-style flow: subjects enrolled, then each visit's attendance.

    A visit counts as attended when any of ``measures`` was recorded.

    Returns
    -------
    DataFrame
        ``stage``, ``text``, ``n`` (subjects with data at that stage); with ``group``, an
        ``arm`` column first and one block of stages per arm.
    """
    if group is not None:
        parts = []
        for g in sorted(data[group].dropna().astype(str).unique()):
            sub = data[data[group].astype(str) == g]
            parts.append(cohort_flow(sub, time, subject, measures, order).assign(arm=g))
        out = pd.concat(parts, ignore_index=True)
        return out[["arm", "stage", "text", "n"]]
    levels = list(order) if order is not None else (
        sorted(data[time].dropna().unique()) if pd.api.types.is_numeric_dtype(data[time])
        else list(pd.unique(data[time].dropna())))
    n_all = data[subject].nunique()
    rows = [{"stage": "Enrolled", "text": f"{n_all} subjects"
             + (f"; {exclusions} input rows excluded" if exclusions else ""), "n": n_all}]
    attended = data[measures].notna().any(axis=1)
    for t in levels:
        at = data[(data[time] == t) & attended][subject].nunique()
        lab = str(int(t)) if isinstance(t, (int, float, np.integer, np.floating)) and \
            float(t) == int(t) else str(t)
        rows.append({"stage": f"{time} {lab}", "text": f"{at} assessed, {n_all - at} missed",
                     "n": at})
    return pd.DataFrame(rows)
