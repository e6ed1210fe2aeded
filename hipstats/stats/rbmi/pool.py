"""Pooling one parameter's estimates across samples, as rbmi's ``pool()``.

* jackknife: the full-data estimate; SE = sqrt((N - 1)/N * sum((theta_i - mean)^2)) over
  the N leave-one-out estimates; normal CI and p-value.
* bootstrap: the original-data estimate; percentile CI (R's ``quantile(type = 6)``, numpy's
  ``method="weibull"``) and the percentile p-value (twice the smaller tail at zero).
* Rubin's rules (approximate Bayes): mean estimate, total variance W + (1 + 1/M) B, the
  Barnard-Rubin (1999) degrees of freedom with the analysis model's residual df; t CI.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

__all__ = ["pool_jackknife", "pool_bootstrap", "pool_rubin"]


def _normal(est, se, alpha, dist=sps.norm, **kw):
    q = dist.ppf(1 - alpha / 2, **kw)
    p = 2 * dist.sf(np.abs(est / se), **kw) if se > 0 else np.nan
    return {"est": est, "se": se, "lci": est - q * se, "uci": est + q * se, "pval": p}


def pool_jackknife(est: np.ndarray, alpha: float) -> dict:
    jack = est[1:]
    N = len(jack)
    se = float(np.sqrt((N - 1) / N * np.sum((jack - jack.mean()) ** 2)))
    return _normal(float(est[0]), se, alpha)


def _quantile6(x: np.ndarray, p: float) -> float:
    return float(np.percentile(x, 100 * p, method="weibull"))


def _quantile6_inverse(x: np.ndarray, value: float) -> float:
    """The probability q at which the type-6 quantile function of ``x`` reaches ``value``
    (R's ``uniroot`` on ``quantile(type = 6)`` locates it to about 1e-4)."""
    xs = np.sort(x)
    n = len(xs)
    q = np.arange(1, n + 1) / (n + 1)          # type 6 puts x_(j) at j / (n + 1)
    return float(np.interp(value, xs, q))


def pool_bootstrap(est: np.ndarray, alpha: float) -> dict:
    boot = est[1:]
    point = float(est[0])
    if len(boot) == 0:
        return {"est": point, "se": np.nan, "lci": np.nan, "uci": np.nan, "pval": np.nan}
    if np.all(boot == 0):
        p = 1.0
    elif boot.min() > 0 or boot.max() < 0:
        p = 0.0
    else:
        x = _quantile6_inverse(boot, 0.0)
        p = min(2 * min(x, 1 - x), 1.0)
    return {"est": point, "se": np.nan, "lci": _quantile6(boot, alpha / 2),
            "uci": _quantile6(boot, 1 - alpha / 2), "pval": p}


def barnard_rubin_df(v_com: float, var_b: float, var_t: float, M: int) -> float:
    """Barnard & Rubin (1999) df, as rbmi's ``rubin_df``: with an infinite complete-data df
    (a Wald statistic) Rubin's (1987) ``(M - 1) / lambda^2``."""
    lam = (1 + 1 / M) * var_b / var_t
    if np.isinf(v_com):
        return np.inf if lam == 0 else (M - 1) / lam ** 2
    v_obs = (v_com + 1) / (v_com + 3) * v_com * (1 - lam)
    if lam == 0:
        return v_obs
    v_old = (M - 1) / lam ** 2
    return v_old * v_obs / (v_old + v_obs)


def pool_rubin(est: np.ndarray, se: np.ndarray, df: np.ndarray, alpha: float) -> dict:
    M = len(est)
    var_w = float(np.mean(se ** 2))
    var_b = float(np.var(est, ddof=1))
    var_t = var_w + var_b * (1 + 1 / M)
    nu = barnard_rubin_df(float(df[0]), var_b, var_t, M)
    out = _normal(float(est.mean()), float(np.sqrt(var_t)), alpha, sps.t, df=nu)
    out["df"] = nu
    return out
