"""Publication tables: baseline characteristics (Table 1) and the cohort flow."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["baseline_table", "cohort_flow"]


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
                order=None, exclusions: int = 0) -> pd.DataFrame:
    """Stages of a CONSORT-style flow: subjects enrolled, then each visit's attendance.

    A visit counts as attended when any of ``measures`` was recorded.

    Returns
    -------
    DataFrame
        ``stage``, ``text``, ``n`` (subjects with data at that stage).
    """
    levels = list(order) if order is not None else (
        sorted(data[time].dropna().unique()) if pd.api.types.is_numeric_dtype(data[time])
        else list(pd.unique(data[time].dropna())))
    n_all = data[subject].nunique()
    rows = [{"stage": "Enrolled", "text": f"{n_all} subjects"
             + (f"; {exclusions} input rows excluded" if exclusions else ""), "n": n_all}]
    attended = data[measures].notna().any(axis=1)
    for t in levels:
        at = data[(data[time] == t) & attended][subject].nunique()
        rows.append({"stage": f"{time} {t}", "text": f"{at} assessed, {n_all - at} missed",
                     "n": at})
    return pd.DataFrame(rows)
