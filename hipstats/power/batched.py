"""Analyses of many simulated data sets at once (no Python loop over data sets).

* :func:`lmm_slope_test` fits ``y ~ x + week + (1 + week | subject)`` by REML for a whole
  batch with the engine of :mod:`hipstats.stats.lmm.kernel` itself (its per-subject
  cross-products and closed-form 2 x 2 deviance broadcast over a leading batch axis),
  minimised by a lockstep Nelder-Mead over
  the batch (every iteration evaluates all data sets' candidates in one call), followed by
  a restart from each optimum. Because the deviance depends on theta only through
  Lambda Lambda', the search is unconstrained; the absolute values are reported.
* :func:`ancova_test`, :func:`ttest_post`, :func:`rm_corr_test`: closed forms over the batch.

Every function returns ``estimate``, ``se``, ``df``, ``pval``, ``ci_low``, ``ci_high`` and
``failed`` arrays, one entry per data set.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from hipstats.stats.lmm.kernel import CrossProducts, profiled_deviance

__all__ = ["lmm_slope_test", "ancova_test", "ttest_post", "rm_corr_test", "nelder_mead_batch"]


def nelder_mead_batch(f, x0: np.ndarray, step: float = 0.5, iters: int = 400,
                      tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``f`` (batch (B,k) -> (B,)) from ``x0`` (B,k), all data sets in lockstep."""
    B, k = x0.shape
    simplex = np.repeat(x0[:, None, :], k + 1, axis=1)
    for i in range(k):
        simplex[:, i + 1, i] += step
    fs = np.stack([f(simplex[:, j]) for j in range(k + 1)], axis=1)
    for _ in range(iters):
        order = np.argsort(fs, axis=1)
        simplex = np.take_along_axis(simplex, order[..., None], axis=1)
        fs = np.take_along_axis(fs, order, axis=1)
        if np.all(fs[:, -1] - fs[:, 0] < tol * (1 + np.abs(fs[:, 0]))):
            break
        centroid = simplex[:, :-1].mean(axis=1)
        worst = simplex[:, -1]
        xr = centroid + (centroid - worst)
        fr = f(xr)
        xe = centroid + 2 * (centroid - worst)
        fe = f(xe)
        xc = centroid + 0.5 * (worst - centroid)
        fc = f(xc)
        new_x = worst.copy()
        new_f = fs[:, -1].copy()
        expand = (fr < fs[:, 0]) & (fe < fr)
        reflect = (fr < fs[:, -2]) & ~expand
        reflect |= (fr < fs[:, 0]) & ~expand
        contract = ~expand & ~reflect & (fc < fs[:, -1])
        shrink = ~expand & ~reflect & ~contract
        new_x[expand], new_f[expand] = xe[expand], fe[expand]
        new_x[reflect], new_f[reflect] = xr[reflect], fr[reflect]
        new_x[contract], new_f[contract] = xc[contract], fc[contract]
        simplex[:, -1] = new_x
        fs[:, -1] = new_f
        if shrink.any():
            best = simplex[shrink, :1]
            simplex[shrink] = best + 0.5 * (simplex[shrink] - best)
            for j in range(1, k + 1):
                fs[shrink, j] = f_sub(f, simplex[:, j], shrink)
    best = np.argmin(fs, axis=1)
    return simplex[np.arange(B), best], fs[np.arange(B), best]


def f_sub(f, x, mask):
    """Evaluate ``f`` on the full batch and keep the masked entries (shapes stay fixed)."""
    return f(x)[mask]


def lmm_slope_test(x: np.ndarray, y: np.ndarray, week: np.ndarray, mask: np.ndarray,
                   alpha: float = 0.05) -> dict:
    """Test the ``x`` coefficient of ``y ~ x + week + (1 + week | subject)`` for a batch.

    Parameters are arrays (B, m, J): B data sets, m subjects, J visits; ``mask`` marks
    observed visits. The t-test uses n_obs - p residual df (documented approximation of
    the Satterthwaite df, whose decisions agree on at least 99.5% of data sets; see
    ``tests/test_power_sim.py``).
    """
    B, m, J = x.shape
    w = mask.astype(float)
    xs, ys = np.where(mask, x, 0.0), np.where(mask, y, 0.0)
    wk = np.broadcast_to(week, x.shape)
    X = np.stack([w, xs, wk * w], axis=-1)  # (B,m,J,3); zero rows where missing
    Z = np.stack([w, wk * w], axis=-1)  # (B,m,J,2)
    n = w.sum(axis=(1, 2))
    p = 3
    # the engine's sufficient statistics, with a leading batch axis
    cp = CrossProducts(ZtZ=np.einsum("bmjq,bmjr->bmqr", Z, Z),
                       ZtX=np.einsum("bmjq,bmjp->bmqp", Z, X),
                       Zty=np.einsum("bmjq,bmj->bmq", Z, ys),
                       XtX=np.einsum("bmja,bmjc->bac", X, X),
                       Xty=np.einsum("bmja,bmj->ba", X, ys),
                       yty=(ys * ys).sum(axis=(1, 2)), n=n, p=p, q=2)
    f = lambda th: profiled_deviance(th, cp, reml=True)  # noqa: E731
    x0 = np.tile([1.0, 0.0, 1.0], (B, 1))
    th, dev = nelder_mead_batch(f, x0)
    th2, dev2 = nelder_mead_batch(f, th, step=0.05, iters=120)  # restart from each optimum
    th = np.where((dev2 < dev)[:, None], th2, th)
    dev, parts = profiled_deviance(th, cp, reml=True, full=True)
    beta, RXtRX, pwrss = parts["beta"], parts["RXtRX"], parts["pwrss"]
    sigma2 = pwrss / (n - p)
    V = np.linalg.inv(RXtRX) * sigma2[:, None, None]
    est, se = beta[:, 1], np.sqrt(V[:, 1, 1])
    df = n - p
    return _finish(est, se, df, alpha, failed=~np.isfinite(dev))


def _finish(est, se, df, alpha, failed):
    with np.errstate(invalid="ignore", divide="ignore"):
        t = est / se
        pval = 2 * sps.t.sf(np.abs(t), df)
        q = sps.t.ppf(1 - alpha / 2, df)
    return {"estimate": est, "se": se, "df": df, "pval": pval, "ci_low": est - q * se,
            "ci_high": est + q * se, "failed": failed | ~np.isfinite(pval)}


def ancova_test(pre, post, group, observed, alpha=0.05) -> dict:
    """``post ~ group + pre`` by least squares for each data set (B, n) arrays."""
    w = observed.astype(float)
    X = np.stack([np.ones_like(pre), group.astype(float), pre], axis=-1) * w[..., None]
    yv = np.where(observed, post, 0.0)
    XtX = np.einsum("bna,bnc->bac", X, X)
    Xty = np.einsum("bna,bn->ba", X, yv)
    beta = np.linalg.solve(XtX, Xty[..., None])[..., 0]
    resid = (yv - np.einsum("bna,ba->bn", X, beta)) * w
    df = w.sum(axis=1) - 3
    s2 = (resid ** 2).sum(axis=1) / df
    se = np.sqrt(np.linalg.inv(XtX)[:, 1, 1] * s2)
    return _finish(beta[:, 1], se, df, alpha, failed=df < 1)


def ttest_post(post, group, observed, alpha=0.05) -> dict:
    """Pooled-variance two-sample t-test of ``post`` (group 1 minus group 0)."""
    g1 = observed & (group == 1)
    g0 = observed & (group == 0)
    n1, n0 = g1.sum(axis=1), g0.sum(axis=1)
    m1 = np.where(g1, post, 0).sum(axis=1) / n1
    m0 = np.where(g0, post, 0).sum(axis=1) / n0
    ss = (np.where(g1, post - m1[:, None], 0) ** 2).sum(1) + \
        (np.where(g0, post - m0[:, None], 0) ** 2).sum(1)
    df = n1 + n0 - 2
    se = np.sqrt(ss / df * (1 / n1 + 1 / n0))
    return _finish(m1 - m0, se, df, alpha, failed=(n1 < 2) | (n0 < 2))


def rm_corr_test(x, y, mask, alpha=0.05) -> dict:
    """Repeated-measures correlation for each data set (arrays (B, m, J))."""
    w = mask.astype(float)
    cnt = w.sum(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = np.where(cnt > 0, (np.where(mask, x, 0)).sum(2) / cnt, 0)
        my = np.where(cnt > 0, (np.where(mask, y, 0)).sum(2) / cnt, 0)
    xc = np.where(mask, x - mx[..., None], 0)
    yc = np.where(mask, y - my[..., None], 0)
    r = (xc * yc).sum((1, 2)) / np.sqrt((xc ** 2).sum((1, 2)) * (yc ** 2).sum((1, 2)))
    k = (cnt > 0).sum(axis=1)
    df = w.sum(axis=(1, 2)) - k - 1
    t = r * np.sqrt(df / (1 - r * r))
    pval = 2 * sps.t.sf(np.abs(t), df)
    z = np.arctanh(r)
    se = 1 / np.sqrt(df - 1)
    qz = sps.norm.ppf(1 - alpha / 2)
    return {"estimate": r, "se": se, "df": df, "pval": pval, "ci_low": np.tanh(z - qz * se),
            "ci_high": np.tanh(z + qz * se), "failed": ~np.isfinite(pval)}
