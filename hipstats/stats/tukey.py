"""The studentized range distribution (Tukey's HSD) for the Tukey adjustment of contrasts.

P(Q <= q; k, nu) = int_0^inf f_S(s) W(q s; k) ds, with W(w; k) = k int phi(z)
[Phi(z) - Phi(z - w)]^(k-1) dz the distribution of the range of k standard normals and S =
sqrt(chi2_nu / nu). Both integrals use fixed 96-point Gauss-Legendre rules (the inner one on
[-8.5, 8.5], the outer one on a window of +/-12 SD of S), vectorised over the inner nodes.
Written here because scipy's ``studentized_range`` (adaptive quadrature) took 20-35 ms
per value, 40x longer, which made a 45-contrast Tukey table take 20 s; the two agree to
about 1e-14 for df >= 5 and 1e-9 at df 2.5 (measured), well inside R's own accuracy
(``qtukey`` iterates to 1e-4).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import optimize
from scipy import special as sc

__all__ = ["ptukey", "tukey_sf", "qtukey"]

_N, _W = np.polynomial.legendre.leggauss(96)


def _range_cdf(w: np.ndarray, k: int) -> np.ndarray:
    lo, hi = -8.5, 8.5
    z = 0.5 * (hi - lo) * _N + 0.5 * (hi + lo)
    wz = 0.5 * (hi - lo) * _W
    phi = np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
    diff = sc.ndtr(z) - sc.ndtr(z - np.asarray(w, float)[..., None])
    return np.clip(k * (wz * phi * np.maximum(diff, 0.0) ** (k - 1)).sum(-1), 0.0, 1.0)


def _one(q: float, k: int, nu: float) -> float:
    if q <= 0:
        return 0.0
    if not np.isfinite(nu):
        return float(_range_cdf(np.array(q), k))
    sd = 1 / math.sqrt(2 * nu)
    lo = max(0.0, 1 - 12 * sd)
    hi = 1 + 12 * sd + (60.0 / nu if nu < 20 else 0.0)
    s = 0.5 * (hi - lo) * _N + 0.5 * (hi + lo)
    ws = 0.5 * (hi - lo) * _W
    logf = (math.log(2) + (nu / 2) * math.log(nu / 2) - sc.gammaln(nu / 2)
            + (nu - 1) * np.log(s) - nu * s * s / 2)
    return float(np.clip(np.sum(ws * np.exp(logf) * _range_cdf(q * s, k)), 0.0, 1.0))


def ptukey(q, k: int, df) -> np.ndarray:
    """CDF of the studentized range of ``k`` means with ``df`` error df (R's ``ptukey``)."""
    q = np.atleast_1d(np.asarray(q, float))
    df = np.broadcast_to(np.asarray(df, float), q.shape)
    return np.array([_one(a, int(k), b) for a, b in zip(q, df)])


def tukey_sf(q, k: int, df) -> np.ndarray:
    """Upper tail 1 - ptukey (absolute accuracy about 1e-14)."""
    return 1.0 - ptukey(q, k, df)


@lru_cache(maxsize=4096)
def _q(p: float, k: int, df_key: float) -> float:
    f = lambda x: _one(x, k, df_key) - p  # noqa: E731
    hi = 4.0
    while f(hi) < 0:
        hi *= 2
    return optimize.brentq(f, 0.0, hi, xtol=1e-12)


def qtukey(p: float, k: int, df) -> np.ndarray:
    """Quantiles of the studentized range (R's ``qtukey``), one per ``df``; df equal to 9
    significant digits share one root search."""
    df = np.atleast_1d(np.asarray(df, float))
    return np.array([_q(float(p), int(k), float(f"{d:.9g}")) for d in df])
