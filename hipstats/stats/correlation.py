"""Correlations: per timepoint (between subjects) and repeated-measures (within subjects)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats.checks import (
    check_columns,
    check_not_constant,
    check_numeric,
    time_levels,
)

__all__ = ["timepoint_corr", "rm_corr", "fisher_ci"]

_PADJUST = {"holm": "holm", "bonferroni": "bonferroni", "fdr_bh": "fdr_bh", "bh": "fdr_bh",
            "fdr": "fdr_bh"}


def p_adjust(p: np.ndarray, method: str) -> np.ndarray:
    """R's ``p.adjust`` for "holm", "bonferroni" and "fdr_bh" (Benjamini-Hochberg).

    Written out rather than taken from statsmodels' ``multipletests``, which runs a full
    garbage collection on every call (0.13 s; the calibration suite calls this thousands
    of times). Checked against statsmodels in tests/test_correlation.py.
    """
    p = np.asarray(p, dtype=float)
    m = len(p)
    if method == "bonferroni":
        return np.minimum(1.0, p * m)
    o = np.argsort(p, kind="mergesort")
    ps = p[o]
    if method == "holm":
        adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * ps))
    elif method == "fdr_bh":
        adj = np.minimum(1.0, np.minimum.accumulate((m / np.arange(m, 0, -1) * ps[::-1]))[::-1])
    else:
        raise AnalysisError(f"unknown p-value adjustment {method!r}")
    out = np.empty(m)
    out[o] = adj
    return out


def fisher_ci(r: float, se: float, alpha: float = 0.05) -> tuple[float, float]:
    """Confidence interval of a correlation by Fisher's z with standard error ``se``."""
    if not np.isfinite(se) or not np.isfinite(r):
        return float("nan"), float("nan")
    z = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
    q = sps.norm.ppf(1 - alpha / 2)
    return float(np.tanh(z - q * se)), float(np.tanh(z + q * se))


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    xc, yc = x - x.mean(), y - y.mean()
    den = np.sqrt((xc @ xc) * (yc @ yc))
    return float(xc @ yc / den) if den > 0 else float("nan")


def timepoint_corr(data: pd.DataFrame, x: str, y: str, time: str, method: str = "pearson",
                   padjust: str | None = None, alpha: float = 0.05, order=None) -> pd.DataFrame:
    """Correlation between two measures at each timepoint, with confidence intervals.

    Answers "was function linked to strength at 2, 4 and 6 weeks?": one between-subject
    correlation per visit, on the subjects with both values at that visit.

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    x, y : str
        Numeric columns to correlate.
    time : str
        Visit column; one row of output per level.
    method : {"pearson", "spearman"}
        Pearson's r or Spearman's rank correlation.
    padjust : {None, "holm", "bonferroni", "fdr_bh"}
        Multiplicity adjustment of the p-values across timepoints (``pval_adj``).
    alpha : float
        1 - confidence level.
    order : sequence, optional
        Order of the timepoints (default: numeric order, ordered categories, or order of
        appearance).

    Returns
    -------
    DataFrame
        One row per timepoint, first column named as ``time``, then ``n`` (pairs with both
        values), ``r``, ``ci_low``, ``ci_high``, ``pval`` and, with ``padjust``, ``pval_adj``.
        ``r`` is NaN below 3 pairs; the CI is NaN below 4.

    Notes
    -----
    Pearson: t-test on n - 2 df and a Fisher-z interval with SE 1/sqrt(n - 3), as R's
    ``cor.test``. Spearman: Pearson's r on mid-ranks, p-value from the t approximation on
    n - 2 df (R's ``cor.test(method = "spearman", exact = FALSE)``) and a Fisher-z interval
    with the Bonett & Wright (2000) SE sqrt((1 + r^2 / 2) / (n - 3)).

    Testing three or four timepoints multiplies the chance of a false positive: Beers et al.
    (2008) tested weeks 2, 4 and 6 at n = 16. Use ``padjust="holm"`` to control the
    family-wise error rate, and read the per-timepoint r's together with their intervals,
    which at n = 16 are wide (an r of 0.5 has a 95% CI of about 0.01 to 0.80).

    References
    ----------
    Bonett DG, Wright TA (2000). Sample size requirements for estimating Pearson, Kendall and
    Spearman correlations. Psychometrika 65(1):23-28.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("program6wk")
    >>> res = hipstats.timepoint_corr(df, "strength", "function_score", time="week",
    ...                               padjust="holm")
    >>> list(res["week"])
    [0, 2, 4, 6]
    """
    check_columns(data, x=x, y=y, time=time)
    check_numeric(data, [x, y])
    method = method.lower()
    if method not in ("pearson", "spearman"):
        raise AnalysisError(f"method must be 'pearson' or 'spearman', got {method!r}")
    if padjust is not None and padjust.lower() not in _PADJUST:
        raise AnalysisError(f"padjust must be one of {sorted(set(_PADJUST))} or None")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    if data[[x, y]].dropna().empty:
        raise AnalysisError(f"no row has both {x!r} and {y!r}")
    levels = time_levels(data[time], order, allow_appearance=True)
    rows = []
    for level in levels:
        sub = data.loc[data[time] == level, [x, y]].dropna()
        xv, yv = sub[x].to_numpy(float), sub[y].to_numpy(float)
        n = len(sub)
        r = pval = lo = hi = float("nan")
        if n >= 3:
            if method == "spearman":
                xv, yv = sps.rankdata(xv), sps.rankdata(yv)
            r = _pearson(xv, yv)
            if np.isfinite(r):
                if abs(r) < 1:
                    t = r * np.sqrt((n - 2) / (1 - r * r))
                    pval = float(2 * sps.t.sf(abs(t), n - 2))
                else:
                    pval = 0.0
                if n >= 4:
                    se = (np.sqrt((1 + r * r / 2) / (n - 3)) if method == "spearman"
                          else 1 / np.sqrt(n - 3))
                    lo, hi = fisher_ci(r, se, alpha)
        rows.append({time: level, "n": n, "r": r, "ci_low": lo, "ci_high": hi, "pval": pval})
    res = pd.DataFrame(rows)
    if padjust is not None:
        p = res["pval"].to_numpy()
        ok = np.isfinite(p)
        adj = np.full(len(p), np.nan)
        if ok.any():
            adj[ok] = p_adjust(p[ok], _PADJUST[padjust.lower()])
        res["pval_adj"] = adj
    return res


def rm_corr(data: pd.DataFrame, x: str, y: str, subject: str,
            alpha: float = 0.05) -> pd.DataFrame:
    """Repeated-measures correlation: the common within-subject association.

    Parameters
    ----------
    data : DataFrame
        Person-period frame, several rows per subject.
    x, y : str
        Numeric columns.
    subject : str
        Subject identifier column.
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        One row: ``r``, ``dof`` (N - k - 1 for N complete rows from k subjects), ``pval``,
        ``ci_low``, ``ci_high``, ``n_obs``, ``n_subjects``.

    Notes
    -----
    Computed in O(rows) by centring x and y on each subject's own mean: r is then Pearson's
    r of the centred values, identical to rmcorr's ANCOVA ``lm(y ~ subject + x)``
    (sign of the slope times sqrt(SS_x / (SS_x + SS_residual))) but without building a
    dummy-variable design (pingouin's ``rm_corr`` fits the ANCOVA and takes seconds at a
    few thousand subjects; see ``benchmarks/bench_rm_corr.py``). The p-value is the t (or F)
    test of the slope on N - k - 1 df. The CI is Fisher's z with SE 1 / sqrt(dof - 1), i.e.
    ``psych::r.con(r, dof + 2)`` as rmcorr >= 0.5 computes it ("effective sample size";
    rmcorr 0.4 used dof, and pingouin still does, giving slightly narrower intervals).
    Rows with x or y missing are left out; a subject with one complete row contributes
    nothing (and costs no degree of freedom).

    References
    ----------
    Bakdash JZ, Marusich LR (2017). Repeated measures correlation. Front Psychol 8:456.
    Bland JM, Altman DG (1995). Calculating correlation coefficients with repeated
    observations: Part 1. BMJ 310:446.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("program6wk")
    >>> res = hipstats.rm_corr(df, "strength", "function_score", subject="subject")
    >>> list(res.columns[:5])
    ['r', 'dof', 'pval', 'ci_low', 'ci_high']
    """
    check_columns(data, x=x, y=y, subject=subject)
    check_numeric(data, [x, y])
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    d = data[[subject, x, y]].dropna()
    if d.empty:
        raise AnalysisError(f"no row has both {x!r} and {y!r}")
    check_not_constant(d, [x, y])
    codes, _ = pd.factorize(d[subject], sort=False)
    k = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=k)
    if (counts >= 2).sum() < 2:
        raise AnalysisError("rm_corr needs at least 2 subjects with 2 or more complete rows")
    xv, yv = d[x].to_numpy(float), d[y].to_numpy(float)
    xc = xv - (np.bincount(codes, xv, k) / counts)[codes]
    yc = yv - (np.bincount(codes, yv, k) / counts)[codes]
    n = len(d)
    dof = n - k - 1
    if dof < 1:
        raise AnalysisError(f"too few rows for rm_corr: {n} rows from {k} subjects")
    sxx, syy, sxy = xc @ xc, yc @ yc, xc @ yc
    if sxx <= 0 or syy <= 0:
        raise AnalysisError("x or y does not vary within any subject")
    r = float(sxy / np.sqrt(sxx * syy))
    if abs(r) < 1:
        t = r * np.sqrt(dof / (1 - r * r))
        pval = float(2 * sps.t.sf(abs(t), dof))
    else:
        pval = 0.0
    # dof = 1: the Fisher-z SE is infinite and the interval is the whole range, as rmcorr
    # (psych::r.con) reports it
    lo, hi = (fisher_ci(r, 1 / np.sqrt(dof - 1), alpha) if dof > 1
              else (-1.0, 1.0) if dof == 1 else (np.nan, np.nan))
    return pd.DataFrame([{"r": r, "dof": dof, "pval": pval, "ci_low": lo, "ci_high": hi,
                          "n_obs": n, "n_subjects": k}])
