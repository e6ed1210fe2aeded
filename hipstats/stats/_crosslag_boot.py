"""Small-sample inference for within-person cross-lagged paths (used by ``cross_lagged``).

The within-person (fixed-effects) regression of a measure on both lagged measures, with a
dummy per subject and per visit, is biased when each person contributes only a few lags: the
subject mean that removes stable differences contains the later visits, so it is correlated
with the errors (Nickell 1981). Under correlated innovations the bias reaches the
cross-lagged coefficient, and a t-test against a t or normal reference rejects too often.

This module removes the bias by indirect inference (Gourieroux, Phillips & Yu 2010): it finds
the bivariate VAR(1) within-person process whose simulated panels (same subjects, same
visits, same missed visits) give, on average, the fixed-effects estimates observed in the
data. Intervals and tests then come from a parametric bootstrap at the bias-corrected fit:
the simulated distribution of the corrected estimator around the value it was simulated at
(linearised through the Jacobian of the binding function) gives basic-bootstrap intervals
(Davison & Hinkley 1997, section 5.2), and each p-value is the inversion of those
intervals, so a path's p < alpha exactly when its 1 - alpha interval excludes zero.
Subject intercepts and visit effects drop out of the fixed-effects statistics exactly, so
neither needs to be simulated.
"""

from __future__ import annotations

import hashlib

import numpy as np
from scipy import linalg as sla

__all__ = ["fe_bootstrap_paths", "data_seed"]

_MAX_RADIUS = 0.95  # simulated processes are kept stationary
_EPS = 0.02  # finite-difference step of the binding-function Jacobian


def data_seed(*arrays) -> int:
    """A seed derived from the data, so the same data always give the same bootstrap."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(np.asarray(a, dtype=float)).tobytes())
    return int.from_bytes(h.digest()[:8], "little")


def _annihilator(subj: np.ndarray, visit: np.ndarray | None) -> tuple[np.ndarray, int]:
    """Residual-maker of the subject (and visit) dummies, and the rank it removes."""
    n = len(subj)
    cols = [(subj[:, None] == np.unique(subj)[None, :]).astype(float)]
    if visit is not None:
        cols.append((visit[:, None] == np.unique(visit)[None, :]).astype(float))
    D = np.hstack(cols)
    U, s, _ = np.linalg.svd(D, full_matrices=False)
    rank = int(np.sum(s > s.max() * n * np.finfo(float).eps))
    U = U[:, :rank]
    return np.eye(n) - U @ U.T, rank


def _fe_fit(M: np.ndarray, dof: int, X: np.ndarray, Y: np.ndarray):
    """Fixed-effects regressions for a batch: X (B, n, 2) lagged (x, y), Y (B, n, 2) current
    (x, y). Returns coef (B, 2, 2) [outcome, predictor], se (B, 2, 2), the covariance
    (B, 4, 4) of the raveled coef (Sigma_e (x) (X'X)^-1) and resid (B, n, 2)."""
    Xt = np.einsum("ij,bjk->bik", M, X)
    Yt = np.einsum("ij,bjk->bik", M, Y)
    XtX = np.einsum("bik,bil->bkl", Xt, Xt)
    XtY = np.einsum("bik,bil->bkl", Xt, Yt)
    inv = np.linalg.inv(XtX)
    coef = np.einsum("bkl,blm->bkm", inv, XtY)  # (B, predictor, outcome)
    resid = Yt - np.einsum("bik,bkm->bim", Xt, coef)
    s2 = np.einsum("bim,bim->bm", resid, resid) / dof  # (B, outcome)
    diag = np.diagonal(inv, axis1=1, axis2=2)  # (B, predictor)
    se = np.sqrt(s2[:, :, None] * diag[:, None, :])  # (B, outcome, predictor)
    S = np.einsum("bim,bin->bmn", resid, resid) / dof
    cov = np.einsum("bmn,bpq->bmpnq", S, inv).reshape(len(S), 4, 4)
    return np.swapaxes(coef, 1, 2), se, cov, resid


def _stationary(A: np.ndarray) -> np.ndarray:
    r = np.max(np.abs(np.linalg.eigvals(A)))
    return A * (_MAX_RADIUS / r) if r > _MAX_RADIUS else A


def _simulate(A, chol_e, z0, z, subj_idx, pos):
    """Panels of the within-person VAR(1) w_k = A w_{k-1} + e_k from its stationary law,
    evaluated at the observed lag pairs. z0 (B, S, 2) and z (B, S, T-1, 2) are standard
    normal draws (common random numbers across calls)."""
    r = np.max(np.abs(np.linalg.eigvals(A)))
    if r > 0.99:
        A = A * (0.99 / r)
    S0 = sla.solve_discrete_lyapunov(A, chol_e @ chol_e.T)
    vals, vecs = np.linalg.eigh((S0 + S0.T) / 2)
    L0 = vecs * np.sqrt(np.clip(vals, 0.0, None))
    B, S, T1, _ = z.shape
    W = np.empty((B, S, T1 + 1, 2))
    W[:, :, 0] = z0 @ L0.T
    E = z @ chol_e.T
    for k in range(1, T1 + 1):
        W[:, :, k] = W[:, :, k - 1] @ A.T + E[:, :, k - 1]
    return W[:, subj_idx, pos - 1], W[:, subj_idx, pos]


def fe_bootstrap_paths(x_prev, y_prev, x_now, y_now, subj, visit, pos, alpha=0.05,
                       n_boot=999, seed=0, n_ii=200, ii_iter=8):
    """Bias-corrected within-person lagged paths with parametric-bootstrap tests.

    Parameters
    ----------
    x_prev, y_prev, x_now, y_now : arrays (n_pairs,)
        The lag pairs.
    subj : array of int (n_pairs,)
        Subject index 0..S-1 of each pair.
    visit : array or None
        Visit code of the later visit (visit dummies), or None for no period effects.
    pos : array of int (n_pairs,)
        Grid position (>= 1) of the later visit.

    Returns
    -------
    dict
        ``estimate`` (2, 2) bias-corrected paths [outcome, predictor] with outcome/predictor
        0 = x, 1 = y; ``fe`` the uncorrected fixed-effects estimates; ``se`` bootstrap SD of
        the corrected estimator, ``t`` = estimate / se; ``se_fe`` its delta-method SE from
        the fixed-effects covariance; ``pval``, ``ci_low``, ``ci_high``; ``n_boot``;
        ``dof``.
    """
    subj = np.asarray(subj, dtype=int)
    pos = np.asarray(pos, dtype=int)
    M, rank = _annihilator(subj, None if visit is None else np.asarray(visit))
    n = len(subj)
    dof = n - rank - 2
    if dof < 1:
        raise ValueError("too few lag pairs for the within-person regression")
    X = np.column_stack([x_prev, y_prev])[None].astype(float)
    Y = np.column_stack([x_now, y_now])[None].astype(float)
    obs = _fe_fit(M, dof, X, Y)
    b_obs, resid = obs[0][0], obs[3]
    Sigma = resid[0].T @ resid[0] / dof
    chol_e = np.linalg.cholesky(Sigma + 1e-12 * np.trace(Sigma) * np.eye(2))
    S, T1 = int(subj.max()) + 1, int(pos.max())
    rng = np.random.default_rng(seed)

    def draws(b):
        return rng.standard_normal((b, S, 2)), rng.standard_normal((b, S, T1, 2))

    def fe_at(A, zz):
        Xs, Ys = _simulate(A, chol_e, zz[0], zz[1], subj, pos)
        return _fe_fit(M, dof, Xs, Ys)

    # indirect inference: A such that E[FE estimate | A] = observed FE estimate
    zz = draws(n_ii)
    A = _stationary(b_obs.copy())
    for _ in range(ii_iter):
        step = b_obs - fe_at(A, zz)[0].mean(axis=0)
        A = _stationary(A + step)
        if np.max(np.abs(step)) < 1e-4:
            break
    # Jacobian of the binding function A -> E[FE estimate] (central differences, common
    # random numbers): the corrected estimator is linearised as A + J^-1 (b - E b)
    J = np.empty((4, 4))
    for k in range(4):
        e = np.zeros(4)
        e[k] = _EPS
        hp = fe_at(A + e.reshape(2, 2), zz)[0].mean(axis=0)
        hm = fe_at(A - e.reshape(2, 2), zz)[0].mean(axis=0)
        J[:, k] = ((hp - hm) / (2 * _EPS)).ravel()
    Jinv = np.linalg.pinv(J)

    def corrected(fit):
        """Linearised corrected estimates A + J^-1 (b - h(A)), (B, 2, 2), and their
        standard errors: the fixed-effects covariance carried through J^-1."""
        cb, _, cov_b, _ = fit
        dev = (Jinv @ (cb - h_A).reshape(len(cb), 4).T).T.reshape(-1, 2, 2)
        cov = np.einsum("ij,bjk,lk->bil", Jinv, cov_b, Jinv)
        se_c = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 1e-300, None))
        return A + dev, se_c.reshape(-1, 2, 2)

    h_A = fe_at(A, zz)[0].mean(axis=0)
    est = A  # the indirect-inference estimate
    se_est = corrected(obs)[1][0]
    # parametric bootstrap at the corrected fit: the distribution of the corrected
    # estimator around the value it was simulated at gives basic-bootstrap intervals, and
    # the p-value is their inversion (the smallest alpha whose interval excludes zero)
    zb = draws(n_boot)
    cb = corrected(fe_at(A, zb))[0]
    dev = cb - cb.mean(axis=0)
    boot_sd = dev.std(axis=0, ddof=1)
    ci_low = est - np.quantile(dev, 1 - alpha / 2, axis=0)
    ci_high = est - np.quantile(dev, alpha / 2, axis=0)
    up = (1 + np.sum(dev >= est[None], axis=0)) / (n_boot + 1)
    down = (1 + np.sum(dev <= est[None], axis=0)) / (n_boot + 1)
    pval = np.minimum(1.0, 2 * np.minimum(up, down))
    t_obs = est / boot_sd
    return {"estimate": est, "fe": b_obs, "t": t_obs, "se": boot_sd, "se_fe": se_est, "pval": pval,
            "ci_low": ci_low, "ci_high": ci_high, "n_boot": n_boot, "dof": dof}
