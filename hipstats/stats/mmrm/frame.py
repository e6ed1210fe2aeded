"""From the person-period frame to the MMRM analysis frame."""

from __future__ import annotations

import pandas as pd

from hipstats.errors import AnalysisError

__all__ = ["mmrm_frame"]


def mmrm_frame(data: pd.DataFrame, outcome: str, time: str, subject: str = "subject",
               baseline=None, suffix: str = "_bl") -> pd.DataFrame:
    """The analysis frame of an MMRM: baseline value as a column, post-baseline visits only.

    Parameters
    ----------
    data : DataFrame
        Person-period frame (one row per subject and visit).
    outcome : str
        Measure whose baseline value becomes the covariate ``outcome + suffix``.
    time : str
        Visit column.
    subject : str
        Subject column.
    baseline : optional
        The baseline visit (default: the first visit: the smallest number, the first
        category, or for text labels the first in the frame's row order, which for a
        person-period frame is the design's order).
    suffix : str
        Suffix of the baseline column.

    Returns
    -------
    DataFrame
        The post-baseline rows of ``data`` (every column kept, missing outcomes included:
        the model excludes and counts them), with ``outcome + suffix`` (NaN for a subject
        without a baseline value); ``time`` keeps numeric visits numeric (write ``C(week)``
        in the formula) and turns labelled visits into an ordered categorical of the
        post-baseline visits; sorted by subject and visit. ``.attrs["baseline"]`` names the baseline visit.

    Examples
    --------
    >>> import hipstats as hs
    >>> a = hs.mmrm_frame(hs.example("program6wk"), "function_score", time="week")
    >>> sorted(a["week"].unique().tolist()), "function_score_bl" in a
    ([2, 4, 6], True)
    """
    for c in (outcome, time, subject):
        if c not in data.columns:
            raise AnalysisError(f"column {c!r} is not in the data")
    col = data[time]
    if isinstance(col.dtype, pd.CategoricalDtype):
        order = list(col.cat.categories)
    elif pd.api.types.is_numeric_dtype(col):
        order = sorted(col.dropna().unique())
    else:   # labels ("pre", "post"): the order of the person-period frame (design order)
        order = list(pd.unique(col.dropna()))
    if baseline is None:
        baseline = order[0]
    if baseline not in set(col.dropna().unique()):
        raise AnalysisError(f"baseline visit {baseline!r} is not a value of {time!r} "
                            f"(values: {order})")
    base = data.loc[col == baseline].drop_duplicates(subject).set_index(subject)[outcome]
    post = data.loc[col.notna() & (col != baseline)].copy()
    post[outcome + suffix] = post[subject].map(base)
    levels = [v for v in order if v != baseline]
    if not isinstance(col.dtype, pd.CategoricalDtype) and all(
            isinstance(v, (int, float)) for v in levels):
        out = post
    else:
        post[time] = pd.Categorical(post[time], categories=levels, ordered=True)
        out = post
    out = out.sort_values([subject, time], kind="stable").reset_index(drop=True)
    out.attrs["baseline"] = baseline
    return out
