"""Batched kernel of the one-factor LMM: per-subject cross-products and lme4's profiled
deviance, broadcasting over leading batch axes (many simulated data sets at once, used by
:mod:`hipstats.power`).

Layout: subjects on the second-to-last axes, ``ZtZ[..., i, :, :] = Z_i'Z_i`` (m, q, q).
The single-fit engine (:mod:`hipstats.stats.lmm.engine`) uses the transposed,
subject-last layout, which also gives analytic derivatives; this module keeps the
batch-friendly layout the lockstep power optimiser needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CrossProducts", "cross_products", "profiled_deviance", "lambda_from_theta",
           "segment_sum", "segment_sums", "segment_sums_T", "group_indicator"]


# --------------------------------------------------------------------------- kernel
@dataclass
class CrossProducts:
    """Sufficient statistics of a one-factor LMM (leading axes may be a batch)."""

    ZtZ: np.ndarray  # (..., m, q, q)
    ZtX: np.ndarray  # (..., m, q, p)
    Zty: np.ndarray  # (..., m, q)
    XtX: np.ndarray  # (..., p, p)
    Xty: np.ndarray  # (..., p)
    yty: np.ndarray  # (...)
    n: int
    p: int
    q: int


def group_indicator(groups: np.ndarray, n_groups: int):
    """Sparse (n_groups x n) CSR indicator of integer group codes 0..n_groups-1 (one stable
    sort, skipped when the codes are already grouped, as in the usual long layout)."""
    import scipy.sparse as sp

    groups = np.asarray(groups)
    n = len(groups)
    if n and np.all(groups[1:] >= groups[:-1]):
        order = np.arange(n)
    else:
        order = np.argsort(groups, kind="stable")
    indptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=indptr[1:])
    return sp.csr_matrix((np.ones(n), order, indptr), shape=(n_groups, n))


def segment_sums_T(F: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Group sums of the columns of F (K, n) -> (K, n_groups): the sparse group indicator
    times F'. Measured at 20,000 subjects x 4 visits, K = 14: 6 ms with the products,
    against 16 ms for ``np.add.reduceat`` over sorted segments (and ~60x faster than
    ``np.add.at``). Groups without rows get 0."""
    if F.shape[1] == 0:
        return np.zeros((F.shape[0], n_groups))
    return np.ascontiguousarray((group_indicator(groups, n_groups) @ F.T).T)


def segment_sums(arrays: list, groups: np.ndarray, n_groups: int) -> list:
    """Sum the rows of each array (n, ...) by integer group code (0..n_groups-1), all in one
    :func:`segment_sums_T`; each result is (n_groups, ...)."""
    n = len(groups)
    flat = [np.asarray(v, dtype=float).reshape(n, -1) for v in arrays]
    sums = segment_sums_T(np.hstack(flat).T, groups, n_groups).T
    out, at = [], 0
    for v, f in zip(arrays, flat):
        w = f.shape[1]
        out.append(np.ascontiguousarray(sums[:, at:at + w]).reshape(
            (n_groups,) + np.shape(v)[1:]))
        at += w
    return out


def segment_sum(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """:func:`segment_sums` of one array."""
    return segment_sums([values], groups, n_groups)[0]


def cross_products(X: np.ndarray, Z: np.ndarray, y: np.ndarray, groups: np.ndarray,
                   n_groups: int | None = None) -> CrossProducts:
    """Per-subject cross-products from row-level X (n, p), Z (n, q), y (n,) and group codes."""
    m = int(groups.max()) + 1 if n_groups is None else n_groups
    n, p = X.shape
    q = Z.shape[1]
    ZtZ, ZtX, Zty = segment_sums([Z[:, :, None] * Z[:, None, :], Z[:, :, None] * X[:, None, :],
                                  Z * y[:, None]], groups, m)
    return CrossProducts(ZtZ, ZtX, Zty, X.T @ X, X.T @ y, np.asarray(y @ y), n, p, q)


def lambda_from_theta(theta: np.ndarray, q: int) -> np.ndarray:
    """Lower-triangular Lambda (..., q, q) from theta (..., q(q+1)/2), lme4's column order."""
    theta = np.asarray(theta, dtype=float)
    lam = np.zeros(theta.shape[:-1] + (q, q))
    rows, cols = [], []
    for j in range(q):
        for i in range(j, q):
            rows.append(i)
            cols.append(j)
    lam[..., rows, cols] = theta
    return lam


def _solve_parts_small(theta, cp: CrossProducts, blocks: bool = True):
    """Closed-form q = 1 or 2 version of :func:`_solve_parts` (element-wise arrays).

    numpy's batched Cholesky and solve loop over the (m, q, q) blocks one by one; writing the
    2 x 2 algebra out element-wise over all subjects was measured about 10x faster."""
    theta = np.asarray(theta, dtype=float)
    q, p = cp.q, cp.p
    A, ZX, Zy = cp.ZtZ, cp.ZtX, cp.Zty
    if q == 1:
        t0 = theta[..., 0, None]
        l11 = np.sqrt(t0 * t0 * A[..., 0, 0] + 1)
        s1x = (t0[..., None] * ZX[..., 0, :]) / l11[..., None]
        s1y = t0 * Zy[..., 0] / l11
        logdet = 2 * np.log(l11).sum(axis=-1)
        RXtRX = cp.XtX - np.einsum("...ma,...mb->...ab", s1x, s1x)
        Xty_adj = cp.Xty - np.einsum("...ma,...m->...a", s1x, s1y)
        if not blocks:
            return None, None, None, (s1y * s1y).sum(axis=-1), logdet, RXtRX, Xty_adj
        RZX, cu = s1x[..., None, :], s1y[..., None]
        L = l11[..., None, None]
    else:
        t0, t1, t2 = theta[..., 0, None], theta[..., 1, None], theta[..., 2, None]
        a11, a12, a22 = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]
        m11 = t0 * t0 * a11 + 2 * t0 * t1 * a12 + t1 * t1 * a22 + 1
        m12 = t0 * t2 * a12 + t1 * t2 * a22
        m22 = t2 * t2 * a22 + 1
        l11 = np.sqrt(m11)
        l21 = m12 / l11
        l22 = np.sqrt(np.maximum(m22 - l21 * l21, 1e-300))
        logdet = 2 * (np.log(l11) + np.log(l22)).sum(axis=-1)
        w1x = t0[..., None] * ZX[..., 0, :] + t1[..., None] * ZX[..., 1, :]
        w2x = t2[..., None] * ZX[..., 1, :]
        s1x = w1x / l11[..., None]
        s2x = (w2x - l21[..., None] * s1x) / l22[..., None]
        w1y = t0 * Zy[..., 0] + t1 * Zy[..., 1]
        w2y = t2 * Zy[..., 1]
        s1y = w1y / l11
        s2y = (w2y - l21 * s1y) / l22
        RXtRX = (cp.XtX - np.einsum("...ma,...mb->...ab", s1x, s1x)
                 - np.einsum("...ma,...mb->...ab", s2x, s2x))
        Xty_adj = (cp.Xty - np.einsum("...ma,...m->...a", s1x, s1y)
                   - np.einsum("...ma,...m->...a", s2x, s2y))
        if not blocks:
            cucu = (s1y * s1y + s2y * s2y).sum(axis=-1)
            return None, None, None, cucu, logdet, RXtRX, Xty_adj
        RZX = np.stack([s1x, s2x], axis=-2)
        cu = np.stack([s1y, s2y], axis=-1)
        zero = np.zeros_like(l11)
        L = np.stack([np.stack([l11, zero], -1), np.stack([l21, l22], -1)], -2)
    return lambda_from_theta(theta, q), L, RZX, cu, logdet, RXtRX, Xty_adj


def _solve_parts(theta, cp: CrossProducts):
    if cp.q <= 2:
        return _solve_parts_small(theta, cp)
    lam = lambda_from_theta(theta, cp.q)  # (..., q, q)
    lam_b = lam[..., None, :, :]  # broadcast over subjects
    lt = np.swapaxes(lam_b, -1, -2)
    A = lt @ cp.ZtZ @ lam_b + np.eye(cp.q)
    L = np.linalg.cholesky(A)
    rhs = np.concatenate([lt @ cp.ZtX, (lt @ cp.Zty[..., None])], axis=-1)
    sol = np.linalg.solve(L, rhs)  # L^{-1} Lambda' [Z'X, Z'y]
    RZX, cu = sol[..., :cp.p], sol[..., cp.p]
    logdet_L = 2 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=(-1, -2))
    RXtRX = cp.XtX - np.einsum("...mqa,...mqb->...ab", RZX, RZX)
    Xty_adj = cp.Xty - np.einsum("...mqa,...mq->...a", RZX, cu)
    return lam, L, RZX, cu, logdet_L, RXtRX, Xty_adj


def profiled_deviance(theta, cp: CrossProducts, reml: bool = True, full: bool = False):
    """lme4's profiled deviance (-2 log-likelihood, or REML criterion) at ``theta``."""
    if cp.q <= 2 and not full:
        lam = L = RZX = cu = None
        _, _, _, cucu, logdet_L, RXtRX, Xty_adj = _solve_parts_small(theta, cp, blocks=False)
    else:
        lam, L, RZX, cu, logdet_L, RXtRX, Xty_adj = _solve_parts(theta, cp)
        cucu = np.einsum("...mq,...mq->...", cu, cu)
    beta = np.linalg.solve(RXtRX, Xty_adj[..., None])[..., 0]
    pwrss = cp.yty - cucu - np.einsum("...a,...a->...", beta, Xty_adj)
    n, p = cp.n, cp.p
    if reml:
        logdet_X = np.linalg.slogdet(RXtRX)[1]
        dev = logdet_L + logdet_X + (n - p) * (1 + np.log(2 * np.pi * pwrss / (n - p)))
    else:
        dev = logdet_L + n * (1 + np.log(2 * np.pi * pwrss / n))
    if full:
        return dev, {"lam": lam, "L": L, "RZX": RZX, "cu": cu, "beta": beta, "pwrss": pwrss,
                     "RXtRX": RXtRX, "logdet_L": logdet_L}
    return dev


