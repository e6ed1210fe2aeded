"""Repeated-measures (mixed) ANOVA with afex's defaults: type III sums of squares,
sum-to-zero contrasts, generalised eta squared and the Greenhouse-Geisser correction.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats.checks import (check_columns, check_min_subjects, check_not_constant,
                                   check_numeric, time_levels)

__all__ = ["mixed_anova"]


def _orthonormal_contrasts(k: int) -> np.ndarray:
    """k x (k-1) orthonormal contrasts (any orthonormal basis gives the same SS)."""
    M = np.eye(k) - 1.0 / k
    u, s, _ = np.linalg.svd(M)
    return u[:, : k - 1]


def _sum_contrasts(levels: list) -> np.ndarray:
    """contr.sum: level i -> unit row i, last level -> all -1."""
    k = len(levels)
    C = np.zeros((k, k - 1))
    C[: k - 1] = np.eye(k - 1)
    C[k - 1] = -1
    return C


def _hyp_ssp(B: np.ndarray, XtX_inv: np.ndarray, rows: list[int]) -> np.ndarray:
    """Hypothesis SSP for the coefficients ``rows`` of a (multivariate) linear model."""
    Bh = B[rows]
    V = XtX_inv[np.ix_(rows, rows)]
    return Bh.T @ np.linalg.solve(V, Bh)


def mixed_anova(data: pd.DataFrame, dv: str, within: str, subject: str,
                between: str | None = None, order=None) -> pd.DataFrame:
    """Mixed (split-plot) ANOVA: one within-subject and an optional between-subject factor.

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    dv : str
        Outcome column.
    within : str
        Within-subject factor (e.g. ``"week"`` or ``"time"``).
    subject : str
        Subject identifier column.
    between : str, optional
        Between-subject factor (e.g. ``"group"``); None gives a one-way repeated-measures
        ANOVA.
    order : sequence, optional
        Order of the within levels (only affects labels; results are invariant).

    Returns
    -------
    DataFrame
        One row per effect (``between``, ``within``, ``between:within``): ``effect``,
        ``df1``, ``df2``, ``SS``, ``MSE``, ``F``, ``pval``, ``ges`` (generalised eta
        squared), ``eps`` (Greenhouse-Geisser epsilon, within effects with more than two
        levels; NaN otherwise) and ``pval_gg`` (GG-corrected p; the plain p where no
        correction applies, as afex prints it). Excluded subjects (incomplete within
        cells) are in ``result.attrs["exclusions"]``.

    Notes
    -----
    Matches ``afex::aov_ez`` (and SPSS, JASP): the univariate tests of the multivariate
    linear model (car::Anova), type III sums of squares with sum-to-zero contrasts, so
    unequal group sizes are handled as afex does (pingouin's ``mixed_anova`` differs then:
    on nlme's Orthodont the within-effect F is 40.03 with pingouin, 35.35 with afex and
    hipstats). Repeated-measures ANOVA needs every subject at every level: subjects with a
    missing cell are excluded with a warning and listed; :func:`hipstats.mixed_model` uses
    all available data instead and is usually the better analysis of trials with missed
    visits. Generalised eta squared assumes all factors manipulated (afex's default
    ``observed = NULL``).

    References
    ----------
    Singmann H et al. afex: Analysis of Factorial Experiments (R package). Olejnik S, Algina
    J (2003). Generalized eta and omega squared statistics. Psychol Methods 8(4):434-447.
    Greenhouse SW, Geisser S (1959). Psychometrika 24:95-112.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("pfps3wk")
    >>> res = hipstats.mixed_anova(df, "strength", within="time", subject="subject",
    ...                            between="group")
    >>> list(res["effect"])
    ['group', 'time', 'group:time']
    """
    check_columns(data, dv=dv, within=within, subject=subject, between=between)
    check_numeric(data, dv)
    check_not_constant(data, dv)
    levels = time_levels(data[within], order, allow_appearance=True)
    if len(levels) < 2:
        raise AnalysisError(f"within factor {within!r} needs at least two levels")
    d = data[[subject, within, dv] + ([between] if between else [])]
    if d.duplicated([subject, within]).any():
        s = d.loc[d.duplicated([subject, within]), subject].iloc[0]
        raise AnalysisError(f"subject {s!r} has more than one row at a level of {within!r}; "
                            "aggregate first")
    wide = d.pivot(index=subject, columns=within, values=dv).reindex(columns=levels)
    if between:
        bg = d.groupby(subject, sort=True)[between].agg(lambda s: s.dropna().unique().tolist())
        changing = [s for s, v in bg.items() if len(v) > 1]
        if changing:
            raise AnalysisError(f"subject {changing[0]!r} changes {between!r} between visits")
        wide[between] = bg.map(lambda v: v[0] if v else np.nan)
    wide = wide.sort_index()
    incomplete = wide[levels].isna().any(axis=1)
    if between:
        incomplete |= wide[between].isna()
    excl = pd.DataFrame({"subject": wide.index[incomplete].astype(str),
                         "reason": "missing " + dv + " at one or more levels of " + within})
    if len(excl):
        warnings.warn(f"mixed_anova: {len(excl)} subject(s) with incomplete {within} cells "
                      f"excluded ({', '.join(excl['subject'][:5])}"
                      f"{'...' if len(excl) > 5 else ''}); mixed_model uses all data",
                      stacklevel=2)
    wide = wide[~incomplete]
    check_min_subjects(wide.reset_index(), subject, 2, "a repeated-measures ANOVA")
    Y = wide[levels].to_numpy(float)
    N, J = Y.shape
    if between:
        groups = sorted(wide[between].astype(str).unique())
        all_groups = sorted(data[between].dropna().astype(str).unique())
        empty = sorted(set(all_groups) - set(groups))
        if empty:
            raise AnalysisError(f"group(s) {empty} of {between!r} have no complete subject")
        if len(groups) < 2:
            raise AnalysisError(f"{between!r} needs at least two groups with complete data")
        C = _sum_contrasts(groups)
        gidx = wide[between].astype(str).map({g: i for i, g in enumerate(groups)}).to_numpy()
        X = np.column_stack([np.ones(N), C[gidx]])
    else:
        X = np.ones((N, 1))
    p = X.shape[1]
    if N <= p:
        raise AnalysisError("too few complete subjects for the between-subject model")
    XtX_inv = np.linalg.inv(X.T @ X)
    # between-subject part: subject totals scaled to the univariate SS scale
    t = Y.sum(axis=1) / np.sqrt(J)
    bt = XtX_inv @ X.T @ t
    rt = t - X @ bt
    sse_between = float(rt @ rt)
    df_between_err = N - p
    # within part: orthonormal contrasts
    Cw = _orthonormal_contrasts(J)
    Yc = Y @ Cw
    B = XtX_inv @ X.T @ Yc
    E = (Yc - X @ B).T @ (Yc - X @ B)
    sse_within = float(np.trace(E))
    df_within_err = (N - p) * (J - 1)
    # GG epsilon needs a non-singular error SSP matrix: with fewer error df than within
    # contrasts (N - p < J - 1) afex/car cannot estimate it and report the uncorrected test
    eps = (float(np.trace(E) ** 2 / ((J - 1) * np.trace(E @ E)))
           if J > 2 and N - p >= J - 1 else np.nan)
    rows = []
    errors_total = sse_between + sse_within
    if between:
        r = list(range(1, p))
        ss = float(bt[r] @ np.linalg.solve(XtX_inv[np.ix_(r, r)], bt[r]))
        rows.append((between, len(r), df_between_err, ss, sse_between, np.nan))
    ss_w = float(np.trace(_hyp_ssp(B, XtX_inv, [0])))
    rows.append((within, J - 1, df_within_err, ss_w, sse_within, eps))
    if between:
        r = list(range(1, p))
        ss_i = float(np.trace(_hyp_ssp(B, XtX_inv, r)))
        rows.append((f"{between}:{within}", (p - 1) * (J - 1), df_within_err, ss_i, sse_within, eps))
    out = []
    for effect, df1, df2, ss, sse, e in rows:
        if not sse > 1e-13 * max(1.0, errors_total + ss):
            raise AnalysisError(f"the error term of {effect!r} is 0 (the outcome is fitted "
                                "exactly by subjects and visits): its F-test is undefined")
        F = (ss / df1) / (sse / df2)
        pval = float(sps.f.sf(F, df1, df2))
        pgg = float(sps.f.sf(F, df1 * e, df2 * e)) if np.isfinite(e) else pval
        out.append({"effect": effect, "df1": float(df1), "df2": float(df2), "SS": ss,
                    "MSE": sse / df2, "F": F, "pval": pval, "ges": ss / (ss + errors_total),
                    "eps": e, "pval_gg": pgg})
    res = pd.DataFrame(out)
    res.attrs["exclusions"] = excl.to_dict("records")
    res.attrs["n_subjects"] = N
    return res
