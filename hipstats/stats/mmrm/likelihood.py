"""The MMRM likelihood from per-pattern moments: cost independent of the number of subjects.

Subjects who share a covariance group and a set of observed visits (a *pattern*) share
their covariance block ``S_p`` and its inverse ``W_p``. Every sum over subjects that the
likelihood, its exact gradient and Hessian, Satterthwaite and Kenward-Roger need is then
a contraction of ``W_p``-products with three data moments computed once per fit:

``Sxx[a,b,c,d] = sum_i X_i[a,c] X_i[b,d]``, ``Sxy[a,b,c] = sum_i X_i[a,c] y_i[b]``,
``Syy[a,b] = sum_i y_i[a] y_i[b]``

so an evaluation costs O(patterns x visits^2 x p^2), not O(subjects). R's ``mmrm`` (TMB)
loops over subjects at every evaluation; this is where hipstats is faster at 1,000 and
5,000 subjects (``make bench``).

Notation: ``f`` is the negative log-likelihood (REML or ML) exactly as mmrm's TMB
objective; ``V = (X' W X)^{-1}``, ``r = y - X beta``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hipstats.stats.mmrm.structures import covariance, n_theta

__all__ = ["Pattern", "Moments", "build_moments", "Evaluation", "evaluate", "trace_products"]


@dataclass
class Pattern:
    """Subjects of one covariance group observed at the same visits."""

    group: int                 # covariance group (0 when shared)
    visits: np.ndarray         # indices of the observed visits (sorted)
    X: np.ndarray              # (N_p, n_p, q) stacked design rows
    y: np.ndarray              # (N_p, n_p)
    subjects: np.ndarray       # subject codes, in the order of X
    Sxx: np.ndarray = field(init=False)   # (n_p^2, q^2)
    Sxy: np.ndarray = field(init=False)   # (n_p^2, q)
    Syy: np.ndarray = field(init=False)   # (n_p, n_p)

    def __post_init__(self):
        N, n, q = self.X.shape
        Xf = self.X.reshape(N, n * q)
        self.Sxx = (Xf.T @ Xf).reshape(n, q, n, q).transpose(0, 2, 1, 3).reshape(n * n, q * q)
        self.Sxy = (Xf.T @ self.y).reshape(n, q, n).transpose(0, 2, 1).reshape(n * n, q)
        self.Syy = self.y.T @ self.y

    @property
    def count(self) -> int:
        return self.X.shape[0]


@dataclass
class Moments:
    patterns: list
    structure: str
    m: int                     # number of visits
    n_groups: int
    nobs: int
    q: int

    @property
    def k(self) -> int:
        """Covariance parameters per group."""
        return n_theta(self.structure, self.m)


def build_moments(X: np.ndarray, y: np.ndarray, subject: np.ndarray, visit: np.ndarray,
                  group: np.ndarray, structure: str, m: int, n_groups: int) -> Moments:
    """Patterns from rows sorted by subject then visit (codes 0..m-1)."""
    n, q = X.shape
    starts = np.flatnonzero(np.r_[True, subject[1:] != subject[:-1]])
    sizes = np.diff(np.r_[starts, n])
    masks = np.zeros(len(starts), dtype=np.int64)
    np.add.at(masks, np.repeat(np.arange(len(starts)), sizes), np.int64(1) << visit)
    keys = masks * n_groups + group[starts]
    patterns = []
    for key in np.unique(keys):
        subj = np.flatnonzero(keys == key)
        mask, g = divmod(int(key), n_groups)
        vis = np.array([v for v in range(m) if mask >> v & 1])
        rows = (starts[subj][:, None] + np.arange(len(vis))[None, :]).ravel()
        patterns.append(Pattern(g, vis, X[rows].reshape(len(subj), len(vis), q),
                                y[rows].reshape(len(subj), len(vis)), subject[starts[subj]]))
    return Moments(patterns, structure, m, n_groups, n, q)


@dataclass
class Evaluation:
    f: float
    beta: np.ndarray
    V: np.ndarray              # (X'WX)^{-1}
    logdet_C: float
    grad: np.ndarray | None = None
    hess: np.ndarray | None = None
    parts: list | None = None  # per pattern: (pattern, W, dS, d2S of all visits, theta slice)
    A: np.ndarray | None = None  # (K, q, q): sum_i X_i' W dS_k W X_i
    Sigma: list | None = None  # per group covariance


def _group_covariances(M: Moments, theta: np.ndarray, order: int):
    k = M.k
    out = []
    for g in range(M.n_groups):
        S, dS, d2S = covariance(M.structure, theta[g * k:(g + 1) * k], M.m, order)
        out.append((S, dS if order >= 1 else None, d2S if order >= 2 else None))
    return out


def evaluate(M: Moments, theta: np.ndarray, reml: bool, order: int = 0) -> Evaluation | None:
    """Objective (negative log-likelihood), beta and V; gradient (order >= 1) and exact
    Hessian (order 2; with it the per-pattern parts and ``A`` that Satterthwaite and
    Kenward-Roger use). None when a covariance block is not positive definite."""
    covs = _group_covariances(M, theta, order)
    C = np.zeros((M.q, M.q))
    c = np.zeros(M.q)
    ywy = logdet = 0.0
    Ws = []
    for P in M.patterns:
        S = covs[P.group][0][np.ix_(P.visits, P.visits)]
        try:
            L = np.linalg.cholesky(S)
        except np.linalg.LinAlgError:
            return None
        Li = np.linalg.inv(L)
        W = Li.T @ Li
        Ws.append(W)
        logdet += P.count * 2.0 * np.log(np.diag(L)).sum()
        w = W.ravel()
        C += (w @ P.Sxx).reshape(M.q, M.q)
        c += w @ P.Sxy
        ywy += float(w @ P.Syy.ravel())
    try:
        Lc = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        return None
    beta = np.linalg.solve(Lc.T, np.linalg.solve(Lc, c))
    Lci = np.linalg.inv(Lc)
    V = Lci.T @ Lci
    logdet_C = 2.0 * np.log(np.diag(Lc)).sum()
    rwr = ywy - float(c @ beta)
    p = M.q if reml else 0
    f = 0.5 * ((M.nobs - p) * math.log(2 * math.pi) + logdet + rwr
               + (logdet_C if reml else 0.0))
    ev = Evaluation(f, beta, V, logdet_C)
    if order >= 1:
        _derivatives(M, covs, Ws, ev, reml, order)
    return ev


def _residual_moments(P: Pattern, beta: np.ndarray):
    n = len(P.visits)
    q = len(beta)
    fit_y = (P.Sxy @ beta).reshape(n, n)                       # sum_i (X_i b)_a y_i[b]
    xbxb = (P.Sxx @ np.outer(beta, beta).ravel()).reshape(n, n)
    Rr = P.Syy - fit_y - fit_y.T + xbxb                         # sum_i r_i r_i'
    Sxr = P.Sxy - (P.Sxx.reshape(n * n, q, q) @ beta)           # sum_i X_i[a,:] r_i[b]
    return Rr, Sxr


def trace_products(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """tr(A_k B_l) for stacks of square matrices, as one matrix product."""
    k, n = A.shape[0], A.shape[1]
    return A.reshape(k, n * n) @ B.transpose(0, 2, 1).reshape(B.shape[0], n * n).T


def _derivatives(M: Moments, covs, Ws, ev: Evaluation, reml: bool, order: int):
    k = M.k
    K = k * M.n_groups
    q = M.q
    V = ev.V
    grad = np.zeros(K)
    hess = np.zeros((K, K))
    A = np.zeros((K, q, q))     # sum_i X_i' W dS_k W X_i  (= -mmrm's P_k)
    b = np.zeros((K, q))        # sum_i X_i' W dS_k W r_i
    parts = []
    Tsum = np.zeros((M.n_groups, M.m, M.m))
    for P, W in zip(M.patterns, Ws):
        v = P.visits
        n = len(v)
        sl = slice(P.group * k, (P.group + 1) * k)
        dS = covs[P.group][1][:, v][:, :, v]
        G = (P.Sxx @ V.ravel()).reshape(n, n)                   # sum_i X_i V X_i'
        Rr, Sxr = _residual_moments(P, ev.beta)
        WGW = W @ G @ W
        WRW = W @ Rr @ W
        T = P.count * W - WRW - (WGW if reml else 0.0)
        # traces as matrix products over the flattened visit pairs (einsum's loops were
        # the cost of an evaluation: 3.0 -> 1.1 ms at 6 visits and 21 parameters)
        Tsum[P.group][np.ix_(v, v)] += T      # dS and d2S terms: once per group below
        if order < 2:
            continue                          # the gradient needs nothing else
        Mk = (W @ dS @ W).reshape(k, n * n)                      # W dS_k W
        A[sl] += (Mk @ P.Sxx).reshape(k, q, q)
        b[sl] += Mk @ Sxr
        if order >= 2:
            Bk = W @ dS                                          # W dS_k
            BkT = Bk.transpose(0, 2, 1).reshape(k, n * n)
            h = -0.5 * P.count * (Bk.reshape(k, n * n) @ BkT.T)
            if reml:
                h += (WGW @ dS).reshape(k, n * n) @ BkT.T
            h += (WRW @ dS).reshape(k, n * n) @ BkT.T
            hess[sl, sl] += h
        parts.append((P, W, dS, covs[P.group][2], sl))   # d2S over all visits (KR slices)
    m = M.m
    for g, (_, dSg, d2Sg) in enumerate(covs):
        sl = slice(g * k, (g + 1) * k)
        grad[sl] += 0.5 * (dSg.reshape(k, m * m) @ Tsum[g].ravel())
        if order >= 2:
            hess[sl, sl] += 0.5 * (d2Sg.reshape(k * k, m * m) @ Tsum[g].ravel()).reshape(k, k)
    ev.grad = grad
    if order < 2:
        return
    if order >= 2:
        VA = V @ A                                               # (K, q, q)
        if reml:
            hess -= 0.5 * (VA.reshape(K, q * q) @ VA.transpose(0, 2, 1).reshape(K, q * q).T)
        hess -= b @ V @ b.T
        ev.hess = 0.5 * (hess + hess.T)
    ev.parts = parts
    ev.A = A
    ev.Sigma = [cv[0] for cv in covs]
