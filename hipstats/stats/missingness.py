"""Which visits are present: missingness patterns and dropout, per arm.

A reader of a trial report wants the pattern (which visits each participant has, how many
participants share it), not a list of every missed participant-visit; the list belongs in a
CSV. Monotone dropout (present up to a visit, absent after it) is what reference-based
imputation's default events (:func:`hipstats.rbmi`, ``ice="JR"``) act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipstats.errors import AnalysisError

__all__ = ["missing_patterns", "dropout_by_visit", "missed_visits"]


def _presence(data, measures, subject, time, group, visits):
    measures = [measures] if isinstance(measures, str) else list(measures)
    for c in measures + [subject, time] + ([group] if group else []):
        if c not in data.columns:
            raise AnalysisError(f"column {c!r} is not in the data")
    visits = list(visits) if visits is not None else sorted(data[time].dropna().unique())
    d = data[data[time].isin(visits)]
    present = d[measures].notna().any(axis=1)
    wide = (pd.DataFrame({subject: d[subject], time: d[time], "p": present})
            .pivot_table(index=subject, columns=time, values="p", aggfunc="any", observed=True)
            .reindex(columns=visits).fillna(False).astype(bool))
    everyone = pd.Index(sorted(data[subject].dropna().unique()), name=subject)
    wide = wide.reindex(everyone, fill_value=False)
    arm = (data.groupby(subject)[group].first().reindex(everyone) if group
           else pd.Series("all", index=everyone))
    return wide, arm, visits


def missing_patterns(data: pd.DataFrame, measures, subject: str, time: str,
                     group: str | None = None, visits=None) -> pd.DataFrame:
    """Visit patterns per arm: which visits are present, how many participants share them.

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    measures : str or list of str
        A visit is present when any of these is recorded.
    subject, time : str
        Participant and visit columns.
    group : str, optional
        Arm column.
    visits : list, optional
        The visits to show, in order (default: those in the data, sorted).

    Returns
    -------
    DataFrame
        One row per arm and pattern, most frequent first: ``arm``, one boolean column per
        visit (True = present), ``pattern`` (``"+ + -"``), ``n`` and ``percent`` (of the
        arm's participants), ``monotone`` (present up to a visit, absent after it).

    Examples
    --------
    >>> import hipstats as hs
    >>> pat = hs.missing_patterns(hs.example("pfps3wk"), "pain_vas", "subject", "time", "group",
    ...                           visits=["pre", "post"])
    >>> list(pat.columns[:3])
    ['arm', 'pre', 'post']
    """
    wide, arm, visits = _presence(data, measures, subject, time, group, visits)
    key = wide.apply(lambda r: "".join("X" if x else "." for x in r), axis=1)
    rows = []
    for a in pd.unique(arm):
        sel = (arm == a).to_numpy()
        counts = key[sel].value_counts()
        for pattern, n in counts.items():
            flags = [c == "X" for c in pattern]
            first_gap = flags.index(False) if False in flags else len(flags)
            rows.append({"arm": a, **dict(zip(visits, flags)), "pattern": pattern,
                         "n": int(n), "percent": 100.0 * n / sel.sum(),
                         "monotone": not any(flags[first_gap:])})
    out = pd.DataFrame(rows)
    order = {a: i for i, a in enumerate(pd.unique(arm))}
    out["_a"] = out["arm"].map(order)
    return (out.sort_values(["_a", "n", "pattern"], ascending=[True, False, False])
            .drop(columns="_a").reset_index(drop=True))


def dropout_by_visit(data: pd.DataFrame, measures, subject: str, time: str,
                     group: str | None = None, visits=None) -> pd.DataFrame:
    """Per arm and visit: participants present, missing, and gone for good (no later visit
    present either: dropout), with the arm's size.

    Parameters
    ----------
    data, measures, subject, time, group, visits
        As :func:`missing_patterns`.

    Returns
    -------
    DataFrame
        ``arm``, the visit, ``n`` (the arm's participants), ``present``, ``missing`` and
        ``dropped_out`` (missing at this visit and every later one).

    Examples
    --------
    >>> import hipstats as hs
    >>> d = hs.dropout_by_visit(hs.example("program6wk"), "function_score", "subject", "week")
    >>> list(d.columns)
    ['arm', 'week', 'n', 'present', 'missing', 'dropped_out']
    """
    wide, arm, visits = _presence(data, measures, subject, time, group, visits)
    P = wide.to_numpy()
    later = np.flip(np.logical_or.accumulate(np.flip(P, axis=1), axis=1), axis=1)
    rows = []
    for a in pd.unique(arm):
        sel = (arm == a).to_numpy()
        for j, v in enumerate(visits):
            rows.append({"arm": a, time: v, "n": int(sel.sum()), "present": int(P[sel, j].sum()),
                         "missing": int((~P[sel, j]).sum()),
                         "dropped_out": int((~later[sel, j]).sum())})
    return pd.DataFrame(rows)


def missed_visits(data: pd.DataFrame, measures, subject: str, time: str,
                  group: str | None = None, visits=None) -> pd.DataFrame:
    """Every missed participant-visit (none of ``measures`` recorded), one row each."""
    wide, arm, visits = _presence(data, measures, subject, time, group, visits)
    long = wide.stack().rename("present").reset_index()
    long = long[~long["present"]].drop(columns="present")
    if group:
        long.insert(1, group, long[subject].map(arm))
    return long.reset_index(drop=True)
