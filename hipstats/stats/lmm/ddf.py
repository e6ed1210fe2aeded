"""Denominator degrees of freedom for contrasts L beta of a fitted LMM: Satterthwaite as
lmerTest, Kenward-Roger as pbkrtest. One code path serves coefficients (L = a unit row),
F-tests (several rows) and estimated marginal means.

Satterthwaite (Kuznetsova et al. 2017): with varpar = (theta, sigma), A = 2 H^-1 where H is
the Hessian of the deviance in varpar (lmerTest's ``devfun_vp``), and the gradient of
Var(l'beta) = l' vcov(varpar) l, the df of one contrast is 2 Var^2 / (grad' A grad). Here
the Jacobian of vcov(beta) = sigma^2 (RX'RX)^-1 is exact (closed form from the engine's
per-subject blocks, :func:`vcov_jacobian`), and so is H (the engine's
:func:`~hipstats.stats.lmm.engine.hessians`; lmerTest differentiates the deviance twice
numerically, which agrees to its own accuracy, tested).

Kenward-Roger (Kenward & Roger 1997; Halekoh & Hojsgaard 2014): pbkrtest's ``vcovAdj``
(adjusted covariance of beta) and ``Lb_ddf``, REML fits only, as lmerTest requires.
"""

from __future__ import annotations

import numpy as np

from hipstats.stats.lmm.engine import Blocks, ThetaMap, devfun_vp_hessian, evaluate

__all__ = ["Satterthwaite", "vcov_jacobian", "kenward_roger", "kr_ddf", "kr_adjust",
           "fstat_ddf", "kr_generators"]


def vcov_jacobian(theta: np.ndarray, sigma: float, B: Blocks, tmap: ThetaMap,
                  ev=None) -> list:
    """Exact d vcov(beta) / d varpar: one (p, p) matrix per theta entry, then sigma.

    d(RX'RX)/d theta_k = -sum_i W_i'(E_k Lambda' + Lambda E_k')W_i with W_i = Z_i'V_i^-1 X_i,
    so d vcov / d theta_k = sigma^2 C S_k C and d vcov / d sigma = 2 sigma C. ``ev``: the
    engine's evaluation at theta (with its parts), when the caller already has it."""
    e = ev if ev is not None and ev.parts else evaluate(theta, B, tmap, True, grad=False,
                                                         keep=True)
    W, C, lam = e.parts["W"], e.parts["C"], e.parts["lam"]
    LtW = np.einsum("ai,apm->ipm", lam, W, optimize=False)       # Lambda'W (r, p, m)
    Hm = np.einsum("apm,brm->abpr", W, LtW, optimize=False)       # sum_i W[a] (x) (L'W)[b]
    out = []
    for ps in tmap.positions:
        S = sum(Hm[a, b] + Hm[a, b].T for a, b in ps)
        out.append(sigma ** 2 * C @ S @ C)
    out.append(2 * sigma * C)
    return out


class Satterthwaite:
    """Satterthwaite df for any contrast matrix of one fit (A and the Jacobian computed once)."""

    def __init__(self, theta, sigma, B: Blocks, tmap: ThetaMap, reml: bool, vcov: np.ndarray,
                 hessian_vp: np.ndarray | None = None, ev=None):
        varpar = np.append(np.asarray(theta, float), sigma)
        H = devfun_vp_hessian(varpar, B, tmap, reml) if hessian_vp is None else hessian_vp
        if not np.all(np.isfinite(H)):
            # the deviance is not finite next to the optimum (a degenerate design): no
            # Satterthwaite df can be computed; they are reported as NaN
            self.A = np.full_like(H, np.nan)
            self.J = vcov_jacobian(np.asarray(theta, float), sigma, B, tmap, ev)
            self.vcov = vcov
            return
        # parameters at a boundary (a variance of 0) are not estimated: lmerTest's Hessian
        # there is taken as is; a singular H gets the pseudo-inverse
        try:
            self.A = 2 * np.linalg.inv(H)
            if not np.all(np.isfinite(self.A)):
                raise np.linalg.LinAlgError
        except np.linalg.LinAlgError:
            self.A = 2 * np.linalg.pinv(H)
        self.J = vcov_jacobian(np.asarray(theta, float), sigma, B, tmap, ev)
        self.vcov = vcov

    def t_df(self, l: np.ndarray) -> float:
        l = np.asarray(l, float)
        var = float(l @ self.vcov @ l)
        g = np.array([l @ J @ l for J in self.J])
        den = float(g @ self.A @ g)
        return 2 * var * var / den if den > 0 else float("inf")

    def f_test(self, L: np.ndarray, beta: np.ndarray, tol: float = 1e-8):
        """lmerTest's ``contestMD``: (F, num_df, den_df) for L beta = 0."""
        L = np.atleast_2d(np.asarray(L, float))
        VL = L @ self.vcov @ L.T
        d, P = np.linalg.eigh(VL)
        order = np.argsort(d)[::-1]
        d, P = d[order], P[:, order]
        pos = d > max(np.finfo(float).eps ** 0.5 * d[0], 0)
        q = int(pos.sum())
        PtL = (P.T @ L)[:q]
        t2 = (PtL @ beta) ** 2 / d[:q]
        F = float(t2.sum() / q)
        nu = np.array([2 * d[m] ** 2 / float(g @ self.A @ g)
                       for m, g in enumerate(np.array([[r @ J @ r for J in self.J]
                                                      for r in PtL]))])
        return F, q, fstat_ddf(nu, tol)


def fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's ``get_Fstat_ddf``: combine the per-eigen-direction df of an F-test."""
    nu = np.asarray(nu, float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = np.sum(nu / (nu - 2))
    return float(2 * E / (E - len(nu)))


def kr_generators(tmap: ThetaMap) -> list:
    """dD/d(covariance parameter) for pbkrtest's parametrisation: one symmetric (r, r)
    matrix per free covariance entry (same positions as theta)."""
    gens = []
    for ps in tmap.positions:
        E = np.zeros((tmap.r, tmap.r))
        for i, j in ps:
            E[i, j] = E[j, i] = 1.0
        gens.append(E)
    return gens


def kenward_roger(X, Z, groups, lam, sigma, generators, Phi):
    """pbkrtest's ``vcovAdj``: adjusted vcov, P list and W, block by block over subjects.

    ``Z`` (n, r) holds each row's random-effects columns within its subject's block,
    ``lam`` the (r, r) relative covariance factor, ``generators`` one symmetric (r, r)
    matrix per covariance parameter (dD/dparameter; pbkrtest's ``G`` terms); the residual
    variance is added last. V is block diagonal by subject, so every sum runs over blocks
    of equal size at once."""
    q = lam.shape[0]
    D = sigma ** 2 * lam @ lam.T
    p = X.shape[1]
    nG = len(generators) + 1
    P = [np.zeros((p, p)) for _ in range(nG)]
    Q = [[np.zeros((p, p)) for _ in range(nG)] for _ in range(nG)]
    K = np.zeros((nG, nG))
    order = np.argsort(groups, kind="mergesort")
    g_sorted = groups[order]
    bounds = np.flatnonzero(np.diff(np.concatenate([[-1], g_sorted, [g_sorted.max() + 1]])))
    sizes = np.diff(bounds)
    starts = bounds[:-1]
    for s in np.unique(sizes):
        sel = starts[sizes == s]
        rows = order[sel[:, None] + np.arange(s)[None, :]]  # (m_s, s)
        Xs, Zs = X[rows], Z[rows]  # (m_s, s, p), (m_s, s, q)
        Sig = Zs @ D @ np.swapaxes(Zs, 1, 2) + sigma ** 2 * np.eye(s)
        Sinv = np.linalg.inv(Sig)
        Gs = []
        for E in generators:
            Gs.append(Zs @ E @ np.swapaxes(Zs, 1, 2))
        Gs.append(np.broadcast_to(np.eye(s), Sig.shape))
        SX = Sinv @ Xs  # (m, s, p)
        H = [Sinv @ G for G in Gs]  # Sigma^{-1} G_r  (m, s, s)
        for r in range(nG):
            # P_r = - X' S G_r S X
            P[r] -= np.einsum("msa,mst,mtb->ab", SX, Gs[r], SX)
            for t in range(r, nG):
                Qrt = np.einsum("msa,mst,mtu,mub->ab", SX, Gs[r], H[t], SX)
                Q[r][t] += Qrt
                K[r, t] += np.einsum("mst,mts->", H[r], H[t])
    for r in range(nG):
        for t in range(r):
            Q[r][t] = Q[t][r].T
            K[r, t] = K[t, r]
    IE2 = np.zeros((nG, nG))
    for r in range(nG):
        for t in range(nG):
            IE2[r, t] = K[r, t] - 2 * np.sum(Phi * Q[r][t]) + np.sum((Phi @ P[r]) * (P[t] @ Phi))
    # relative test: IE2 scales as 1/sigma^4, so an absolute threshold would change the
    # result when y is rescaled
    ev = np.abs(np.linalg.eigvalsh(IE2))
    W = 2 * (np.linalg.inv(IE2) if ev.min() > 1e-12 * ev.max() else np.linalg.pinv(IE2))
    U = np.zeros((p, p))
    for r in range(nG):
        for t in range(nG):
            U += W[r, t] * (Q[r][t] - P[r] @ Phi @ P[t])
    PhiA = Phi + 2 * Phi @ U @ Phi
    return PhiA, P, W


def kr_ddf(L: np.ndarray, V0: np.ndarray, P: list, W: np.ndarray) -> float:
    """pbkrtest's ``Lb_ddf``: Kenward-Roger denominator df for the hypothesis L beta = 0."""
    return kr_adjust(L, V0, P, W)[0]


def kr_adjust(L: np.ndarray, V0: np.ndarray, P: list, W: np.ndarray) -> tuple[float, float]:
    """pbkrtest's ``.KR_adjust``: (ddf, F.scaling) for the hypothesis L beta = 0."""
    L = np.atleast_2d(L)
    Theta = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
    TV = Theta @ V0
    A1 = A2 = 0.0
    n = len(P)
    for i in range(n):
        ui = TV @ P[i] @ V0
        for j in range(i, n):
            e = 1 if i == j else 2
            uj = TV @ P[j] @ V0
            A1 += e * W[i, j] * np.trace(ui) * np.trace(uj)
            A2 += e * W[i, j] * np.sum(ui * uj.T)
    qq = L.shape[0]
    B = (A1 + 6 * A2) / (2 * qq)
    g = ((qq + 1) * A1 - (qq + 4) * A2) / ((qq + 2) * A2)
    den = 3 * qq + 2 * (1 - g)
    c1, c2, c3 = g / den, (qq - g) / den, (qq + 2 - g) / den
    V0_ = 1 + c1 * B
    V1 = 1 - c2 * B
    V2 = 1 - c3 * B
    V0_ = 0.0 if abs(V0_) < 1e-10 else V0_
    # pbkrtest's .divZero: 0/0 (both below 1e-14) counts as 1 (exactly identified cases)
    num = 1 - A2 / qq
    ratio = 1.0 if abs(num) < 1e-14 and abs(V1) < 1e-14 else num / V1
    rho = (1 / qq) * ratio ** 2 * V0_ / V2
    df2 = float(4 + (qq + 2) / (qq * rho - 1))
    scale = 1.0 if abs(df2 - 2) < 1e-2 else df2 * (1 - A2 / qq) / (df2 - 2)
    return df2, float(scale)


