"""Many leave-one-subject-out MMRM fits at once (the jackknife of :func:`hipstats.rbmi`).

Problem ``l`` is the model's moments without subject ``drop[l]`` at its own covariance
parameters ``theta[l]``. Every per-pattern quantity of :func:`likelihood.evaluate` is computed
for all problems together as stacked (batched) matrix products, and the left-out subject's
own contribution (``X_j' W X_j``, ``X_j' W y_j``, ``r_j r_j'``, ...) is subtracted in its
pattern. Only the gradient and the profiled beta are needed: the problems are solved by
steps with the full fit's exact Hessian (:func:`loo_optimise`), which converge linearly at a
rate of O(1/n) because one subject changes the Hessian by O(1/n).

Measured on a 200-subject, 6-visit unstructured model: 200 leave-one-out optima in about
0.1 s, against 2.3 s for the same fits one at a time (each with its own Newton steps), and
about 70 s for R's rbmi, which refits each from scratch.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from hipstats.stats.mmrm.structures import covariance

__all__ = ["loo_gradients", "loo_optimise"]


def _covariances(M, thetas, order):
    """(L, G, m, m) covariances and (L, G, k, m, m) first derivatives."""
    L, k, G, m = len(thetas), M.k, M.n_groups, M.m
    S = np.empty((L, G, m, m))
    dS = np.empty((L, G, k, m, m)) if order else None
    for l in range(L):
        for g in range(G):
            s, d, _ = covariance(M.structure, thetas[l, g * k:(g + 1) * k], m, order)
            S[l, g] = s
            if order:
                dS[l, g] = d
    return S, dS


def _own(P, drop):
    """Which problems leave out a subject of pattern P, and that subject's row in it."""
    pos = {s: i for i, s in enumerate(P.subjects)}
    ls = np.array([l for l, d in enumerate(drop) if d in pos], int)
    return ls, np.array([pos[drop[l]] for l in ls], int)


def loo_gradients(M, thetas: np.ndarray, drop: np.ndarray, reml: bool, grad: bool = True):
    """(beta (L, q), gradient (L, K) or None) of the profiled REML/ML objective of each
    leave-one-out problem; None where a covariance is not positive definite."""
    L, q = len(thetas), M.q
    S, dS = _covariances(M, thetas, int(grad))
    C = np.zeros((L, q, q))
    c = np.zeros((L, q))
    per = []
    for P in M.patterns:
        v = P.visits
        Sp = S[:, P.group][:, v][:, :, v]
        try:
            Lc = np.linalg.cholesky(Sp)
        except np.linalg.LinAlgError:
            return None
        Li = np.linalg.inv(Lc)
        W = Li.transpose(0, 2, 1) @ Li                                  # (L, n, n)
        n = len(v)
        Wf = W.reshape(L, n * n)
        C += (Wf @ P.Sxx).reshape(L, q, q)
        c += Wf @ P.Sxy
        ls, js = _own(P, drop)
        Xj, yj = P.X[js], P.y[js]                                       # (Lp, n, q), (Lp, n)
        WX = W[ls] @ Xj
        C[ls] -= Xj.transpose(0, 2, 1) @ WX
        c[ls] -= np.einsum("lnq,ln->lq", WX, yj)
        per.append((P, W, ls, Xj, yj))
    beta = np.linalg.solve(C, c[..., None])[..., 0]
    if not grad:
        return beta, None
    V = np.linalg.inv(C)
    Tsum = np.zeros((L, M.n_groups, M.m, M.m))
    for P, W, ls, Xj, yj in per:
        v, n = P.visits, len(P.visits)
        G = (V.reshape(L, q * q) @ P.Sxx.T).reshape(L, n, n)           # sum_i X_i V X_i'
        fy = (beta @ P.Sxy.T).reshape(L, n, n)                          # sum_i (X_i b)_a y_i[b]
        bb = np.einsum("la,lb->lab", beta, beta).reshape(L, q * q)
        Rr = P.Syy[None] - fy - fy.transpose(0, 2, 1) + (bb @ P.Sxx.T).reshape(L, n, n)
        count = np.full(L, float(P.count))
        if len(ls):
            G[ls] -= Xj @ V[ls] @ Xj.transpose(0, 2, 1)
            rj = yj - np.einsum("lnq,lq->ln", Xj, beta[ls])
            Rr[ls] -= np.einsum("la,lb->lab", rj, rj)
            count[ls] -= 1.0
        T = count[:, None, None] * W - W @ Rr @ W - (W @ G @ W if reml else 0.0)
        Tsum[:, P.group, v[:, None], v[None, :]] += T
    k = M.k
    g = 0.5 * np.einsum("lgkab,lgab->lgk", dS, Tsum).reshape(L, M.n_groups * k)
    return beta, g


def loo_optimise(M, theta: np.ndarray, hess: np.ndarray, drop: np.ndarray, reml: bool,
                 tol: float = 1e-9, max_iter: int = 20):
    """Optima of the leave-one-out problems from the full optimum ``theta`` by steps with
    the full fit's Hessian. Returns (thetas (L, K), betas (L, q), converged (L,) bool):
    a problem that does not contract (rate >= 0.5) or meets a non-positive-definite
    covariance is marked not converged, for the caller to fit on its own."""
    L = len(drop)
    Hc = linalg.cho_factor(hess)
    thetas = np.repeat(theta[None], L, axis=0)
    done = np.zeros(L, bool)
    failed = np.zeros(L, bool)
    prev = np.full(L, np.nan)
    for _ in range(max_iter):
        act = np.flatnonzero(~done & ~failed)
        if not len(act):
            break
        out = loo_gradients(M, thetas[act], drop[act], reml)
        if out is None:
            failed[act] = True
            break
        steps = linalg.cho_solve(Hc, out[1].T).T
        size = np.max(np.abs(steps), axis=1)
        thetas[act] -= steps
        rate = size / prev[act]
        ok = np.isfinite(rate) & (rate < 0.5)
        finished = (ok & (size * rate / (1 - rate) < tol)) | (size < 1e-12)
        done[act[finished]] = True
        failed[act[np.isfinite(rate) & ~ok & ~finished]] = True
        prev[act] = size
    failed |= ~done
    betas = np.full((L, M.q), np.nan)
    good = np.flatnonzero(~failed)
    if len(good):
        out = loo_gradients(M, thetas[good], drop[good], reml, grad=False)
        if out is None:
            failed[good] = True
        else:
            betas[good] = out[0]
    return thetas, betas, ~failed
