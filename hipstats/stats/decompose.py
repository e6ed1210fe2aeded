"""Within/between-person decomposition of time-varying covariates (person-mean centring)."""

from __future__ import annotations

import pandas as pd

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_columns, check_numeric

__all__ = ["within_between"]


def within_between(data: pd.DataFrame, cols, subject: str) -> pd.DataFrame:
    """Split time-varying covariates into between-person and within-person parts.

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    cols : str or list of str
        Numeric time-varying columns (e.g. ``"strength"``).
    subject : str
        Subject column.

    Returns
    -------
    DataFrame
        A copy of ``data`` with, for each column ``c``, ``c_between`` (the subject's mean of
        ``c`` over its non-missing rows) and ``c_within`` (``c`` minus that mean; missing
        where ``c`` is missing).

    Notes
    -----
    In a mixed model, ``y ~ c`` mixes two questions: do people who are stronger have better
    function (between-person), and is a person's function better at visits when that person
    is stronger than usual (within-person)? ``y ~ c_within + c_between`` answers them
    separately (Curran & Bauer 2011; Hoffman & Stawski 2009). A subject with a single
    observed value gets a within part of 0. R equivalent:
    ``d$c_between <- ave(d$c, d$subject, FUN = function(v) mean(v, na.rm = TRUE))``,
    ``d$c_within <- d$c - d$c_between``.

    References
    ----------
    Curran PJ, Bauer DJ (2011). The disaggregation of within-person and between-person
    effects in longitudinal models of change. Annu Rev Psychol 62:583-619.
    Hoffman L, Stawski RS (2009). Persons as contexts: evaluating between-person and
    within-person effects in longitudinal analysis. Res Hum Dev 6(2-3):97-120.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.within_between(hipstats.example("program6wk"), "strength", "subject")
    >>> round(float(df.groupby("subject")["strength_within"].mean().abs().max()), 12)
    0.0
    """
    cols = [cols] if isinstance(cols, str) else list(cols)
    if not cols:
        raise AnalysisError("cols must name at least one column")
    check_columns(data, subject=subject, cols=cols)
    check_numeric(data, cols)
    out = data.copy()
    for c in cols:
        if f"{c}_between" in data.columns or f"{c}_within" in data.columns:
            raise AnalysisError(f"data already has {c}_between or {c}_within; drop them first")
        mean = data.groupby(subject, sort=False, dropna=False)[c].transform("mean")
        out[f"{c}_between"] = mean
        out[f"{c}_within"] = data[c] - mean
    return out
