"""Analytic power and sample size for a correlation and a t-test (R's pwr formulas)."""

from __future__ import annotations

import numpy as np
from scipy import optimize
from scipy import stats as sps

from hipstats.errors import AnalysisError

__all__ = ["power_corr", "power_ttest"]

_ALTS = ("two-sided", "greater", "less")


def _alt(alternative: str) -> str:
    a = alternative.replace(".", "-").replace("_", "-").lower()
    if a in ("two-sided", "two-sided", "twosided"):
        return "two-sided"
    if a not in _ALTS:
        raise AnalysisError(f"alternative must be one of {_ALTS}, got {alternative!r}")
    return a


def _check_one_none(n, power):
    if (n is None) == (power is None):
        raise AnalysisError("give exactly one of n and power; the other (None) is solved for")
    if power is not None and not 0 < power < 1:
        raise AnalysisError(f"power must be in (0, 1), got {power}")


def _corr_power(r: float, n: float, alpha: float, alt: str) -> float:
    """pwr::pwr.r.test's power expression."""
    if alt == "two-sided":
        ttt = sps.t.isf(alpha / 2, n - 2)
        rc = np.sqrt(ttt ** 2 / (ttt ** 2 + n - 2))
        zr = np.arctanh(r) + r / (2 * (n - 1))
        zrc = np.arctanh(rc)
        return float(sps.norm.cdf((zr - zrc) * np.sqrt(n - 3))
                     + sps.norm.cdf((-zr - zrc) * np.sqrt(n - 3)))
    ttt = sps.t.isf(alpha, n - 2)
    rc = np.sqrt(ttt ** 2 / (ttt ** 2 + n - 2))
    zr = np.arctanh(r) + r / (2 * (n - 1))
    zrc = np.arctanh(rc)
    if alt == "greater":
        return float(sps.norm.cdf((zr - zrc) * np.sqrt(n - 3)))
    return float(sps.norm.cdf((-zr - zrc) * np.sqrt(n - 3)))


def power_corr(r: float, n: float | None = None, power: float | None = None,
               alpha: float = 0.05, alternative: str = "two-sided") -> float:
    """Power of the test of a correlation, or the n that reaches a given power.

    Parameters
    ----------
    r : float
        True correlation (e.g. 0.5 between strength and function).
    n : float, optional
        Sample size (pairs). Give ``n`` to get the power, or leave it None to solve for it.
    power : float, optional
        Target power (e.g. 0.8); give it to get ``n``.
    alpha : float
        Significance level.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    float
        The power (when ``n`` is given) or the sample size, not rounded (use ``math.ceil``
        to plan).

    Notes
    -----
    The same approximation as R's ``pwr::pwr.r.test`` (Cohen 1988): the critical r from the
    t distribution on n - 2 df and Fisher's z of r with the bias term r / (2(n - 1)). The
    sample size is found by root finding on the same power function (R uses ``uniroot``
    with its default tolerance; hipstats solves to 1e-10).

    References
    ----------
    Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.
    Champely S (2020). pwr: Basic Functions for Power Analysis. R package.

    Examples
    --------
    >>> import hipstats
    >>> round(hipstats.power_corr(0.5, n=16), 3)
    0.529
    >>> import math
    >>> math.ceil(hipstats.power_corr(0.5, power=0.8))
    29
    """
    alt = _alt(alternative)
    _check_one_none(n, power)
    if not -1 < r < 1 or r == 0:
        raise AnalysisError(f"r must be in (-1, 1) and non-zero, got {r}")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    if n is not None:
        if n <= 4:
            raise AnalysisError("n must be greater than 4")
        return _corr_power(r, float(n), alpha, alt)
    f = lambda m: _corr_power(r, m, alpha, alt) - power  # noqa: E731
    lo, hi = 4 + 1e-10, 1e9
    if f(lo) > 0:
        return lo
    if f(hi) < 0:
        raise AnalysisError("power cannot be reached (check the direction of r and alternative)")
    return _brentq(f, lo, hi)


def _brentq(f, lo: float, hi: float) -> float:
    """brentq on a sign-changing bracket; solver failures become AnalysisError."""
    try:
        return float(optimize.brentq(f, lo, hi, xtol=1e-10, rtol=1e-14, maxiter=500))
    except (ValueError, RuntimeError) as e:
        raise AnalysisError(f"sample size could not be solved for: {e}") from None


def _nct_tail(q: float, nu: float, ncp: float, upper: bool) -> float:
    """P(T > q) (upper) or P(T <= q) of the noncentral t. scipy returns NaN deep in a tail;
    there the normal approximation of Abramowitz & Stegun 26.7.10 is used (its value is
    then ~0 or ~1, far below any power that matters)."""
    v = float(sps.nct.sf(q, nu, ncp) if upper else sps.nct.cdf(q, nu, ncp))
    if np.isfinite(v):
        return min(max(v, 0.0), 1.0)
    z = (q * (1 - 1 / (4 * nu)) - ncp) / np.sqrt(1 + q * q / (2 * nu))
    return float(sps.norm.sf(z) if upper else sps.norm.cdf(z))


def _t_power(d: float, n: float, alpha: float, alt: str, tsample: int) -> float:
    """pwr::pwr.t.test's power expression (n per group for two samples)."""
    nu = (n - 1) * tsample
    ncp = np.sqrt(n / tsample) * d
    if alt == "two-sided":
        qu = sps.t.isf(alpha / 2, nu)
        return min(1.0, _nct_tail(qu, nu, ncp, True) + _nct_tail(-qu, nu, ncp, False))
    if alt == "greater":
        return _nct_tail(sps.t.isf(alpha, nu), nu, ncp, True)
    return _nct_tail(sps.t.ppf(alpha, nu), nu, ncp, False)


def power_ttest(d: float, n: float | None = None, power: float | None = None,
                alpha: float = 0.05, paired: bool = False,
                alternative: str = "two-sided") -> float:
    """Power of a t-test for effect size d, or the n that reaches a given power.

    Parameters
    ----------
    d : float
        Standardised effect: for two groups, mean difference / pooled SD; paired, mean
        change / SD of the changes (d_z).
    n : float, optional
        Subjects per group (two groups) or pairs (paired). None to solve for it.
    power : float, optional
        Target power; give it to get ``n``.
    alpha : float
        Significance level.
    paired : bool
        Paired (one-sample on differences) instead of two independent groups.
    alternative : {"two-sided", "greater", "less"}

    Returns
    -------
    float
        The power, or the sample size (per group), not rounded.

    Notes
    -----
    R's ``pwr::pwr.t.test``: the noncentral t with ncp = d sqrt(n / k) on (n - 1) k df
    (k = 2 for two samples, 1 for paired), counting both rejection tails for a two-sided
    test. For example a 1.5 cm larger VAS drop with an SD of 2.0 cm (Dolak et al. 2011) is
    d = 0.75.

    References
    ----------
    Cohen J (1988). Statistical Power Analysis for the Behavioral Sciences, 2nd ed.

    Examples
    --------
    >>> import hipstats, math
    >>> math.ceil(hipstats.power_ttest(0.75, power=0.8))
    29
    >>> round(hipstats.power_ttest(0.75, n=15, paired=True), 3)
    0.771
    """
    alt = _alt(alternative)
    _check_one_none(n, power)
    if d == 0 or not np.isfinite(d):
        raise AnalysisError(f"d must be a non-zero finite number, got {d}")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    k = 1 if paired else 2
    if n is not None:
        if n < 2:
            raise AnalysisError("n must be at least 2")
        return _t_power(d, float(n), alpha, alt, k)
    def f(m):
        p = _t_power(d, m, alpha, alt, k)
        if not np.isfinite(p):  # scipy's nct gives NaN deep in a tail: power ~0 or ~1
            p = _t_power_normal(d, m, alpha, alt, k)
        return p - power

    lo, hi = 2 + 1e-10, 16.0
    if f(lo) > 0:
        return lo
    while f(hi) < 0 and hi < 1e9:
        hi *= 2
    if f(hi) < 0:
        raise AnalysisError(f"power cannot be reached with n up to {hi:.3g} (check the sign of d "
                            "and alternative)")
    return _brentq(f, lo, hi)


def _t_power_normal(d: float, n: float, alpha: float, alt: str, tsample: int) -> float:
    """_t_power with the noncentral t replaced by the normal approximation of Abramowitz &
    Stegun 26.7.10; only where scipy returns NaN (tails where the power is ~0 or ~1), so that
    the root finder sees the right sign."""
    nu = (n - 1) * tsample
    ncp = np.sqrt(n / tsample) * d

    def sf(q):  # P(T > q)
        return sps.norm.sf((q * (1 - 1 / (4 * nu)) - ncp) / np.sqrt(1 + q * q / (2 * nu)))

    if alt == "two-sided":
        qu = sps.t.isf(alpha / 2, nu)
        return float(sf(qu) + 1 - sf(-qu))
    if alt == "greater":
        return float(sf(sps.t.isf(alpha, nu)))
    return float(1 - sf(sps.t.ppf(alpha, nu)))
