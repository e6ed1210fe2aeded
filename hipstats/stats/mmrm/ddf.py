"""Degrees of freedom and coefficient covariance of an MMRM, as R's ``mmrm`` computes them.

=========================  ===========================  ====================================
``df_method``              coefficient covariance       denominator df
=========================  ===========================  ====================================
``satterthwaite``          model-based ``V``            Satterthwaite (``h_df_1d_sat``,
                                                        ``h_df_md_sat``)
``kenward-roger``          KR-adjusted (with the        Kenward-Roger (``h_kr_df``)
                           second-derivative term R)
``kenward-roger-linear``   KR-adjusted with R = 0       Kenward-Roger
``residual``               empirical CR0 sandwich       nobs - p
=========================  ===========================  ====================================

``W`` (the covariance of the variance parameters) is the inverse of the exact Hessian of
the negative log-likelihood in mmrm's parameterisation (TMB's ``he``); Kenward-Roger's
adjusted covariance is ``V + 2 V [sum_kl W_kl (Q_kl - P_k V P_l - R_kl / 4)] V`` (Kenward
and Roger 1997; mmrm's ``h_var_adj``).
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.likelihood import trace_products

__all__ = ["MmrmTests", "METHODS"]

METHODS = ("satterthwaite", "kenward-roger", "kenward-roger-linear", "residual")


def _kr_qr(ev, Wt: np.ndarray, q: int, linear: bool) -> np.ndarray:
    """sum_kl Wt_kl (Q_kl - R_kl / 4), where Q_kl and R_kl are the sums over subjects of
    X'W dS_k W dS_l W X and X'W d2S_kl W X: per pattern the n x n matrix
    W [sum_k dS_k W D_k - (sum_kl Wt_kl d2S_kl) / 4] W with D_k = sum_l Wt_kl dS_l, then
    one product with the pattern's cross-products (never the K x K x q x q tensors)."""
    out = np.zeros(q * q)
    for P, W, dS, d2S, sl in ev.parts:
        Wg = Wt[sl, sl]
        D = np.tensordot(Wg, dS, axes=(1, 0))               # D_k = sum_l Wt_kl dS_l
        G = np.matmul(dS @ W, D).sum(axis=0)                 # sum_k dS_k W D_k
        if not linear:
            d2 = d2S[:, :, P.visits][:, :, :, P.visits]     # parts keep d2S of all visits
            G -= 0.25 * np.tensordot(Wg, d2, axes=([0, 1], [0, 1]))
        out += (W @ G @ W).ravel() @ P.Sxx
    return out.reshape(q, q)


def _kr_df(V0: np.ndarray, L: np.ndarray, W: np.ndarray, P: np.ndarray):
    """(m, lambda) of Kenward-Roger for the rows of L (mmrm's ``h_kr_df``)."""
    nl = L.shape[0]
    Mx = L.T @ np.linalg.solve(L @ V0 @ L.T, L)
    MV0 = Mx @ V0
    X = MV0 @ P @ V0                                         # M V0 P_k V0
    tr = np.trace(X, axis1=1, axis2=2)
    a1 = float(tr @ W @ tr)
    a2 = float(np.sum(W * trace_products(X, X)))
    b = (a1 + 6.0 * a2) / (2.0 * nl)
    e_star = 1.0 / (1.0 - a2 / nl)
    g = ((nl + 1) * a1 - (nl + 4) * a2) / ((nl + 2) * a2)
    denom = 3 * nl + 2 - 2 * g
    c1, c2, c3 = g / denom, (nl - g) / denom, (nl + 2 - g) / denom
    v_star = 2.0 / nl * (1 + c1 * b) / (1 - c2 * b) ** 2 / (1 - c3 * b)
    rho = v_star / (2 * e_star ** 2)
    m = 4 + (nl + 2) / (nl * rho - 1)
    return m, m / (e_star * (m - 2))


def _md_denom_df(nu: np.ndarray) -> float:
    """mmrm's ``h_md_denom_df``: combine the df of the rotated one-df tests."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < np.sqrt(np.finfo(float).eps)):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    e = float(np.sum(nu / (nu - 2)))
    return 2 * e / (e - len(nu))


class MmrmTests:
    """Covariance of the coefficients and df for any contrast, for one ``df_method``."""

    def __init__(self, M, ev, reml: bool, method: str, basis=None):
        if method not in METHODS:
            raise AnalysisError(f"df_method must be one of {', '.join(METHODS)}")
        if method.startswith("kenward") and not reml:
            raise AnalysisError("Kenward-Roger df need a REML fit: use reml=True, or "
                                "df_method='satterthwaite' with ML")
        self.method = method
        # The fit runs on centred columns (``basis``: beta = T beta_c + shift): quadratic
        # forms of a contrast L use L T, which keeps digits an uncentred covariate near 50
        # would cancel away (emmeans rows at its mean: KR df 150.8 for an exact 151).
        q = len(ev.beta)
        self.T, shift = basis if basis is not None else (np.eye(q), np.zeros(q))
        self.beta_c = ev.beta
        self.beta = self.T @ ev.beta + shift
        self.V0 = ev.V
        self.nobs, self.p = M.nobs, M.q
        self.P = -ev.A                                      # mmrm's P_k
        try:
            self.W = np.linalg.inv(ev.hess)
        except np.linalg.LinAlgError:
            self.W = np.full_like(ev.hess, np.nan)
        if method.startswith("kenward"):
            self.vcov_c = self._kr_vcov(M, ev, linear=method.endswith("linear"))
        elif method == "residual":
            self.vcov_c = self._empirical(M, ev)
        else:
            self.vcov_c = self.V0
        self.vcov = self.T @ self.vcov_c @ self.T.T

    def _kr_vcov(self, M, ev, linear: bool):
        """V + 2 V [sum_kl W_kl (Q_kl - P_k V P_l - R_kl / 4)] V, summed over k first."""
        V = self.V0
        E = np.tensordot(self.W, self.P, axes=(1, 0))       # E_k = sum_l W_kl P_l
        pvp = np.matmul(self.P @ V, E).sum(axis=0)           # sum_kl W_kl P_k V P_l
        inner = _kr_qr(ev, self.W, M.q, linear) - pvp
        return V + 2.0 * V @ inner @ V

    def _empirical(self, M, ev):
        """CR0 sandwich V (sum_i X_i'W_i r_i r_i'W_i X_i) V (mmrm's ``Empirical``)."""
        meat = np.zeros((M.q, M.q))
        for P, W, *_ in ev.parts:
            r = P.y - P.X @ self.beta_c
            z = np.einsum("iac,ab,ib->ic", P.X, W, r)
            meat += z.T @ z
        return self.V0 @ meat @ self.V0

    # ------------------------------------------------------------ one-df tests
    def _sat_parts(self, l: np.ndarray) -> tuple[float, float]:
        """(l'Vl, g'Wg) with g_k = l' dV/dtheta_k l = l' V A_k V l (mmrm's jac_list)."""
        Vl = self.V0 @ l
        g = np.einsum("a,kab,b->k", Vl, -self.P, Vl)
        return float(l @ Vl), float(g @ self.W @ g)

    def _sat_df(self, l: np.ndarray) -> float:
        var, denom = self._sat_parts(l)
        return 2.0 * var ** 2 / denom

    def t_df(self, l: np.ndarray) -> float:
        if self.method == "residual":
            return float(self.nobs - self.p)
        if self.method == "satterthwaite":
            return self._sat_df(l)
        return float(_kr_df(self.V0, l[None, :], self.W, self.P)[0])

    def estimates(self, Lm: np.ndarray):
        """(estimate, se, df) for each row of Lm (over the fit's coefficients)."""
        est = Lm @ self.beta
        Lc = Lm @ self.T
        se = np.sqrt(np.einsum("ij,jk,ik->i", Lc, self.vcov_c, Lc))
        df = np.array([self.t_df(l) for l in Lc])
        return est, se, df

    # ------------------------------------------------------------ F-tests
    def ftest(self, L: np.ndarray):
        """(num_df, den_df, F, pval) for L beta = 0, as mmrm's ``df_md``."""
        if L.shape[0] == 1:
            est, se, df = self.estimates(L)
            F = float((est[0] / se[0]) ** 2)
            return 1, float(df[0]), F, float(sps.f.sf(F, 1, df[0]))
        if self.method == "satterthwaite":
            return self._sat_ftest(L)
        Lb = L @ self.beta
        Lc = L @ self.T
        chisq = float(Lb @ np.linalg.solve(Lc @ self.vcov_c @ Lc.T, Lb))
        nl = L.shape[0]
        if self.method == "residual":
            ddf, lam = float(self.nobs - self.p), 1.0
        else:
            ddf, lam = _kr_df(self.V0, Lc, self.W, self.P)
        F = lam / nl * chisq
        return nl, float(ddf), F, float(sps.f.sf(F, nl, ddf))

    def _sat_ftest(self, L: np.ndarray):
        Lb = L @ self.beta
        L = L @ self.T
        vals, vecs = np.linalg.eigh(L @ self.V0 @ L.T)
        order = np.argsort(vals)[::-1]
        vals, vecs = vals[order], vecs[:, order]
        tol = max(np.sqrt(np.finfo(float).eps) * vals[0], 0.0)
        rank = int(np.sum(vals > tol))
        if rank == 0:
            return 0, np.nan, np.nan, np.nan
        rot = vecs[:, :rank].T @ L
        if rank == 1:
            t2 = float((vecs[:, 0] @ Lb) ** 2 / vals[0])
            ddf = self._sat_df(rot[0])
            return 1, ddf, t2, float(sps.f.sf(t2, 1, ddf))
        t2 = (vecs[:, :rank].T @ Lb) ** 2 / vals[:rank]
        F = float(t2.sum() / rank)
        nu = np.array([2.0 * vals[i] ** 2 / self._sat_parts(rot[i])[1] for i in range(rank)])
        ddf = _md_denom_df(nu)
        return rank, ddf, F, float(sps.f.sf(F, rank, ddf))
