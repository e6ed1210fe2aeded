"""The two regressions of a regression-based mediation analysis, fitted for many weight
vectors at once (the data once, bootstrap resamples as counts, jackknife samples as
leave-one-out weights), and the bootstrap intervals (percentile, BCa) built on them.

Every fit is a weighted fit on one design matrix: the mediator model ``m ~ a + C`` by
least squares, the outcome model ``y ~ a + m (+ a:m) + C`` by least squares or by logistic
maximum likelihood (:func:`hipstats.stats.logistic.fit_logistic`, run to the maximum). Batches are numpy arrays with a leading axis of fits; no Python loop over fits.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from hipstats.errors import AnalysisError

__all__ = ["fit_linear", "bootstrap_intervals"]


def fit_linear(X: np.ndarray, y: np.ndarray, W: np.ndarray):
    """Weighted least squares for each row of ``W`` (fits x n): coefficients (fits, p),
    residual variance RSS / (sum(w) - p) (fits,) and (X'WX)^-1 (fits, p, p)."""
    XtW = np.einsum("bn,ni->bin", W, X)
    xtx = XtW @ X
    try:
        inv = np.linalg.inv(xtx)
    except np.linalg.LinAlgError:  # a resample without one arm: that fit is NaN
        rank = np.linalg.matrix_rank(xtx)
        inv = np.linalg.pinv(xtx)
        inv[rank < X.shape[1]] = np.nan
    coef = np.einsum("bij,bj->bi", inv, XtW @ y)
    resid = y[None, :] - coef @ X.T
    dof = W.sum(axis=1) - X.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = np.einsum("bn,bn->b", W, resid ** 2) / dof
    return coef, s2, inv


def bootstrap_intervals(boot: np.ndarray, est: np.ndarray, jack: np.ndarray | None,
                        level: float):
    """Percentile and BCa limits (Efron & Tibshirani 1993, ch. 14) per column of
    ``boot`` (resamples x quantities), the bootstrap SE and a two-sided p-value (twice the
    smaller share of resamples on either side of zero, at least 1 / (B + 1)).
    ``jack`` (n x quantities): leave-one-out estimates for the acceleration."""
    alpha = (1 - level) / 2
    good = np.isfinite(boot)
    n_ok = good.sum(axis=0)
    if (n_ok < 50).any():
        raise AnalysisError(f"only {int(n_ok.min())} bootstrap resamples could be fitted")
    pct = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    below = (np.where(good, boot < est, 0).sum(0) + 0.5 * np.where(good, boot == est, 0).sum(0))
    z0 = sps.norm.ppf(np.clip(below / n_ok, 1 / (n_ok + 1), n_ok / (n_ok + 1)))
    accel = np.zeros_like(est)
    if jack is not None:
        dev = np.nanmean(jack, axis=0) - jack
        num, den = np.nansum(dev ** 3, axis=0), np.nansum(dev ** 2, axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            accel = np.where(den > 0, num / (6 * den ** 1.5), 0.0)
    z = sps.norm.ppf([alpha, 1 - alpha])[:, None]
    adj = sps.norm.cdf(z0 + (z0 + z) / (1 - accel * (z0 + z)))
    bca = np.array([[np.nanquantile(boot[:, j], adj[k, j]) for j in range(boot.shape[1])]
                    for k in range(2)])
    se = np.nanstd(boot, axis=0, ddof=1)
    side = np.minimum(np.where(good, boot <= 0, 0).sum(0), np.where(good, boot >= 0, 0).sum(0))
    pval = np.minimum(1.0, np.maximum(2 * side / n_ok, 1 / (n_ok + 1)))
    return {"se": se, "percentile": pct, "bca": bca, "pval": pval, "n_ok": n_ok}
