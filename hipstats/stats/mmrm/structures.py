"""Covariance structures of the MMRM, parameterised exactly as R's ``mmrm`` (``covariance.h``).

Each structure maps its parameter vector ``theta`` (length :func:`n_theta`) to the
covariance across ``m`` visits and returns the matrix with its first and second
derivatives in ``theta``: ``(S, dS, d2S)`` of shapes ``(m, m)``, ``(k, m, m)`` and
``(k, k, m, m)``. The parameterisation matters beyond the optimum: Kenward-Roger's
adjusted covariance uses the second derivatives, so it is not invariant to it, and
hipstats must use mmrm's to give mmrm's numbers.

=========  =====================================================================  ========
structure  covariance (``D = diag(exp(theta_sd))``, ``s = exp(theta_0)``)           k
=========  =====================================================================  ========
``us``     ``L L'``, ``L[i,i] = exp(t_i)``, ``L[i,j] = exp(t_i) * l_ij`` (j < i)    m(m+1)/2
``toep``   ``s^2 R``, ``R[i,j] = rho_{|i-j|}``                                     m
``toeph``  ``D R D``, as toep                                                      2m - 1
``ar1``    ``s^2 R``, ``R[i,j] = rho^|i-j|``                                       2
``ar1h``   ``D R D``, as ar1                                                       m + 1
``ad``     ``s^2 R``, ``R[i,j] = prod(rho_j .. rho_{i-1})`` (ante-dependence)      m
``adh``    ``D R D``, as ad                                                        2m - 1
``cs``     ``s^2 R``, ``R[i,j] = rho`` (i != j)                                    2
``csh``    ``D R D``, as cs                                                        m + 1
=========  =====================================================================  ========

Correlations are ``rho = t / sqrt(1 + t^2)`` (in (-1, 1)); compound symmetry's is
``rho = invlogit(t) (1 + a) - a`` with ``a = 1 / (m - 1)`` (in (-1/(m-1), 1)).
"""

from __future__ import annotations

import numpy as np

__all__ = ["STRUCTURES", "FALLBACK_ORDER", "n_theta", "covariance", "start_theta"]

STRUCTURES = ("us", "toep", "toeph", "ar1", "ar1h", "cs", "csh", "ad", "adh")
#: The fallback order mmrm users take when the unstructured fit fails.
FALLBACK_ORDER = ("us", "toeph", "ar1h", "cs")
_HETERO = {"toeph", "ar1h", "csh", "adh"}


def n_theta(structure: str, m: int) -> int:
    """Number of covariance parameters of ``structure`` over ``m`` visits."""
    sizes = {"us": m * (m + 1) // 2, "toep": m, "toeph": 2 * m - 1, "ar1": 2, "ar1h": m + 1,
             "ad": m, "adh": 2 * m - 1, "cs": 2, "csh": m + 1}
    return sizes[structure]


# ------------------------------------------------------------------ correlation links
def _rho(t: np.ndarray):
    """rho = t / sqrt(1 + t^2) and its first two derivatives."""
    u = 1.0 + t * t
    return t / np.sqrt(u), u ** -1.5, -3.0 * t * u ** -2.5


def _rho_cs(t: np.ndarray, m: int):
    a = 1.0 / (m - 1.0)
    s = 1.0 / (1.0 + np.exp(-t))
    d1 = (1.0 + a) * s * (1.0 - s)
    return s * (1.0 + a) - a, d1, d1 * (1.0 - 2.0 * s)


# --------------------------------------------- correlation matrices in their rho's
def _corr_toep(rho, m):
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    R = np.where(lag == 0, 1.0, rho[np.maximum(lag - 1, 0)])
    dR = np.stack([(lag == k + 1).astype(float) for k in range(m - 1)])
    return R, dR, np.zeros((m - 1, m - 1, m, m))


def _corr_ar1(rho, m):
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m))).astype(float)
    r = rho[0]
    R = r ** lag
    d1 = np.where(lag >= 1, lag * r ** np.maximum(lag - 1, 0), 0.0)
    d2 = np.where(lag >= 2, lag * (lag - 1) * r ** np.maximum(lag - 2, 0), 0.0)
    return R, d1[None], d2[None, None]


def _corr_cs(rho, m):
    off = 1.0 - np.eye(m)
    return np.eye(m) + rho[0] * off, off[None], np.zeros((1, 1, m, m))


def _corr_ad(rho, m):
    """R[i,j] = prod of rho_j .. rho_{i-1} (i > j); derivatives by leaving factors out."""
    k = m - 1
    R = np.eye(m)
    dR = np.zeros((k, m, m))
    d2R = np.zeros((k, k, m, m))
    for i in range(m):
        for j in range(i):
            idx = list(range(j, i))
            R[i, j] = R[j, i] = np.prod(rho[idx])
            for a in idx:
                v = np.prod([rho[c] for c in idx if c != a])
                dR[a, i, j] = dR[a, j, i] = v
                for b in idx:
                    if b != a:
                        w = np.prod([rho[c] for c in idx if c not in (a, b)])
                        d2R[a, b, i, j] = d2R[a, b, j, i] = w
    return R, dR, d2R


_CORR = {"toep": _corr_toep, "ar1": _corr_ar1, "cs": _corr_cs, "ad": _corr_ad}


def _corr_in_theta(base: str, t: np.ndarray, m: int):
    """Correlation matrix and its derivatives in the (unbounded) correlation parameters."""
    rho, r1, r2 = _rho_cs(t, m) if base == "cs" else _rho(t)
    R, dR, d2R = _CORR[base](rho, m)
    dRt = dR * r1[:, None, None]
    d2Rt = d2R * np.multiply.outer(r1, r1)[:, :, None, None]
    d2Rt[np.arange(len(t)), np.arange(len(t))] += dR * r2[:, None, None]
    return R, dRt, d2Rt


# ------------------------------------------------------------------ structures
def _scaled(theta: np.ndarray, base: str, m: int, hetero: bool):
    """``D R D`` (heterogeneous) or ``s^2 R`` (homogeneous) with derivatives."""
    ns = m if hetero else 1
    sd = np.exp(theta[:ns]) if hetero else np.full(m, np.exp(theta[0]))
    R, dR, d2R = _corr_in_theta(base, theta[ns:], m)
    outer = np.outer(sd, sd)
    S = outer * R
    kc = len(theta) - ns
    k = ns + kc
    # E[s] : d log(sd_a sd_b) / d theta_s  (a 0/1/2 pattern)
    if hetero:
        E = np.zeros((ns, m, m))
        for s in range(ns):
            E[s, s, :] += 1.0
            E[s, :, s] += 1.0
    else:
        E = np.full((1, m, m), 2.0)
    dS = np.empty((k, m, m))
    dS[:ns] = E * S
    dS[ns:] = dR * outer
    d2S = np.empty((k, k, m, m))
    d2S[:ns, :ns] = E[:, None] * E[None, :] * S
    mixed = E[:, None] * (dR * outer)[None, :]
    d2S[:ns, ns:] = mixed
    d2S[ns:, :ns] = mixed.transpose(1, 0, 2, 3)
    d2S[ns:, ns:] = d2R * outer
    return S, dS, d2S


def _unstructured(theta: np.ndarray, m: int):
    k = len(theta)
    sd = np.exp(theta[:m])
    L = np.diag(sd)
    dL = np.zeros((k, m, m))
    d2L = np.zeros((k, k, m, m))
    pos = m
    for i in range(m):
        dL[i, i, i] = sd[i]
        d2L[i, i, i, i] = sd[i]
        for j in range(i):
            L[i, j] = sd[i] * theta[pos]
            dL[i, i, j] = L[i, j]               # d/d log-sd_i
            d2L[i, i, i, j] = L[i, j]
            dL[pos, i, j] = sd[i]               # d/d l_ij
            d2L[i, pos, i, j] = d2L[pos, i, i, j] = sd[i]
            pos += 1
    S = L @ L.T
    dLLt = dL @ L.T
    dS = dLLt + dLLt.transpose(0, 2, 1)
    t1 = d2L @ L.T
    t2 = np.matmul(dL[:, None], dL.transpose(0, 2, 1)[None])   # dL_k dL_l transposed
    d2S = t1 + t1.transpose(0, 1, 3, 2) + t2 + t2.transpose(0, 1, 3, 2)
    return S, dS, d2S


def covariance(structure: str, theta: np.ndarray, m: int):
    """``(S, dS, d2S)``: the m x m covariance of ``structure`` at ``theta`` and its first
    and second derivatives (shapes ``(k, m, m)`` and ``(k, k, m, m)``)."""
    theta = np.asarray(theta, float)
    if structure == "us":
        return _unstructured(theta, m)
    hetero = structure in _HETERO
    base = structure[:-1] if hetero else structure
    return _scaled(theta, base, m, hetero)


# ------------------------------------------------------------------ starting values
def _inv_rho(r):
    r = np.clip(r, -0.95, 0.95)
    return r / np.sqrt(1.0 - r * r)


def start_theta(structure: str, S0: np.ndarray) -> np.ndarray:
    """Parameters of ``structure`` closest to a positive-definite covariance ``S0``
    (method of moments: standard deviations and averaged correlations)."""
    m = S0.shape[0]
    sd = np.sqrt(np.clip(np.diag(S0), 1e-12, None))
    C = S0 / np.outer(sd, sd)
    lsd = np.log(sd)
    if structure == "us":
        L = np.linalg.cholesky(S0)
        d = np.diag(L)
        off = [L[i, j] / d[i] for i in range(m) for j in range(i)]
        return np.concatenate([np.log(d), off])
    hetero = structure in _HETERO
    base = structure[:-1] if hetero else structure
    head = lsd if hetero else np.array([np.log(np.sqrt(np.mean(sd ** 2)))])
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    if base == "toep":
        rho = np.array([C[lag == k].mean() for k in range(1, m)])
        tail = _inv_rho(rho * 0.9)
    elif base == "ar1":
        tail = _inv_rho(np.array([C[lag == 1].mean()]))
    elif base == "ad":
        tail = _inv_rho(np.array([C[i + 1, i] for i in range(m - 1)]))
    else:  # cs
        a = 1.0 / (m - 1.0)
        r = np.clip(C[lag > 0].mean(), -a + 0.05 * (1 + a), 0.95)
        s = (r + a) / (1.0 + a)
        tail = np.array([np.log(s / (1.0 - s))])
    return np.concatenate([head, tail])
