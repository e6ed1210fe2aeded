"""Effect sizes from published summaries and random-effects meta-analysis (metafor's methods).

So a researcher can pool the published hip-abductor trials: turn each trial's means, SDs and
n into an effect size and its sampling variance (:func:`effect_from_summary`, as metafor's
``escalc``), then pool them (:func:`meta_analysis`, as metafor's ``rma``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_columns, check_numeric

__all__ = ["effect_from_summary", "meta_analysis"]


def effect_from_summary(m1, sd1, n1, m2, sd2, n2, measure: str = "SMD") -> pd.DataFrame:
    """Effect size and sampling variance from group means, SDs and sizes.

    Parameters
    ----------
    m1, sd1, n1 : float or array-like
        Mean, SD and size of the first (e.g. hip-training) group.
    m2, sd2, n2 : float or array-like
        The same for the comparison group.
    measure : {"SMD", "MD", "ROM"}
        ``SMD``: Hedges' g, bias-corrected standardised mean difference; ``MD``: raw mean
        difference; ``ROM``: log ratio of means.

    Returns
    -------
    DataFrame
        ``yi`` (effect, group 1 minus or over group 2) and ``vi`` (sampling variance), one
        row per input; ready for :func:`meta_analysis`.

    Notes
    -----
    As metafor's ``escalc`` with its default variance types: SMD uses the pooled SD and the
    exact correction c(m) = Gamma(m/2) / (sqrt(m/2) Gamma((m-1)/2)), m = n1 + n2 - 2, with
    vi = 1/n1 + 1/n2 + yi^2 / (2 (n1 + n2)); MD: vi = sd1^2/n1 + sd2^2/n2; ROM:
    yi = log(m1/m2), vi = sd1^2/(n1 m1^2) + sd2^2/(n2 m2^2).

    References
    ----------
    Hedges LV (1981). J Educ Stat 6(2):107-128. Viechtbauer W (2010). Conducting
    meta-analyses in R with the metafor package. J Stat Softw 36(3):1-48.

    Examples
    --------
    >>> import hipstats
    >>> es = hipstats.effect_from_summary(2.4, 2.0, 16, 4.1, 2.5, 17)  # Dolak 2011, 4-week VAS
    >>> round(float(es["yi"].iloc[0]), 3)
    -0.73
    """
    arrs = [np.atleast_1d(np.asarray(a, dtype=float)) for a in (m1, sd1, n1, m2, sd2, n2)]
    m1, sd1, n1, m2, sd2, n2 = np.broadcast_arrays(*arrs)
    if np.any(n1 < 2) or np.any(n2 < 2):
        raise AnalysisError("each group needs n >= 2")
    if np.any(sd1 <= 0) or np.any(sd2 <= 0):
        raise AnalysisError("SDs must be positive")
    measure = measure.upper()
    if measure == "SMD":
        m = n1 + n2 - 2
        sp = np.sqrt(((n1 - 1) * sd1 ** 2 + (n2 - 1) * sd2 ** 2) / m)
        cm = np.exp(special.gammaln(m / 2) - np.log(np.sqrt(m / 2)) - special.gammaln((m - 1) / 2))
        yi = cm * (m1 - m2) / sp
        vi = 1 / n1 + 1 / n2 + yi ** 2 / (2 * (n1 + n2))
    elif measure == "MD":
        yi = m1 - m2
        vi = sd1 ** 2 / n1 + sd2 ** 2 / n2
    elif measure == "ROM":
        if np.any(m1 <= 0) or np.any(m2 <= 0):
            raise AnalysisError("ROM needs positive means")
        yi = np.log(m1 / m2)
        vi = sd1 ** 2 / (n1 * m1 ** 2) + sd2 ** 2 / (n2 * m2 ** 2)
    else:
        raise AnalysisError(f"measure must be 'SMD', 'MD' or 'ROM', got {measure!r}")
    return pd.DataFrame({"yi": yi, "vi": vi})


def _tau2_reml(y: np.ndarray, v: np.ndarray, tol: float = 1e-12, maxiter: int = 1000) -> tuple:
    """REML tau^2 by Fisher scoring with step halving (metafor's algorithm, intercept model)."""
    k = len(y)
    # metafor's starting value: Hedges' (HE) estimator, truncated at 0
    w0 = np.ones(k)
    mu0 = y.mean()
    tau2 = max(0.0, (np.sum((y - mu0) ** 2) / (k - 1)) - v.mean())
    for it in range(maxiter):
        w = 1 / (v + tau2)
        sw = w.sum()
        mu = (w * y).sum() / sw
        # P = W - w w' / sw for the intercept-only model
        Py = w * (y - mu)
        trP = sw - (w ** 2).sum() / sw
        trPP = (w ** 2).sum() - 2 * (w ** 3).sum() / sw + ((w ** 2).sum() / sw) ** 2
        adj = (Py @ Py - trP) / trPP
        step = adj
        while tau2 + step < 0:
            step /= 2
        tau2_new = tau2 + step
        # relative once tau^2 exceeds 1: an absolute 1e-12 is below the rounding of a
        # tau^2 of 36,000 (found by the invariance tests: scaled effects did not converge)
        if abs(tau2_new - tau2) < tol * max(1.0, abs(tau2)):
            return tau2_new, it + 1, trPP
        tau2 = tau2_new
    del w0
    raise AnalysisError("REML estimate of tau^2 did not converge")


def meta_analysis(effects: pd.DataFrame, method: str = "REML", yi: str = "yi", vi: str = "vi",
                  study: str | None = None, alpha: float = 0.05, test: str = "z") -> pd.DataFrame:
    """Pool effect sizes: random-effects (REML or DerSimonian-Laird) or fixed-effect.

    Parameters
    ----------
    effects : DataFrame
        One row per study, with effect ``yi`` and sampling variance ``vi`` (metafor's names;
        see :func:`effect_from_summary`).
    method : {"REML", "DL", "FE"}
        Estimator of the between-study variance tau^2 (FE: tau^2 = 0).
    yi, vi : str
        Column names of effect and variance.
    study : str, optional
        Study label column; the per-study weights are in ``result.attrs["studies"]``.
    alpha : float
        1 - confidence level.
    test : {"z", "knha"}
        Normal-theory test, or the Knapp-Hartung t test (recommended with few studies).

    Returns
    -------
    DataFrame
        One row: ``k``, ``estimate``, ``se``, ``stat`` (z or t), ``pval``, ``ci_low``,
        ``ci_high``, ``pi_low``, ``pi_high`` (prediction interval for a new study's true
        effect), ``tau2``, ``i2`` (%), ``h2``, ``q``, ``q_df``, ``q_pval``, ``method``,
        ``test``. Per-study weights (%) in ``result.attrs["studies"]``.

    Notes
    -----
    Follows metafor's ``rma``: REML by Fisher scoring from the Hedges estimate; I^2 =
    100 tau^2 / (tau^2 + s^2) with the typical within-study variance
    s^2 = (k - 1) / (sum w - sum w^2 / sum w), w = 1/vi (for FE, I^2 = (Q - df) / Q and
    H^2 = Q / df); Cochran's Q against the fixed-effect
    mean; the prediction interval mu +/- crit sqrt(se^2 + tau^2). Knapp-Hartung scales the
    variance by the weighted residual mean square on k - 1 df (not truncated, as metafor).

    References
    ----------
    Viechtbauer W (2005). Bias and efficiency of meta-analytic variance estimators in the
    random-effects model. J Educ Behav Stat 30(3):261-293. DerSimonian R, Laird N (1986).
    Control Clin Trials 7:177-188. Knapp G, Hartung J (2003). Stat Med 22:2693-2710.

    Examples
    --------
    >>> import hipstats, pandas as pd
    >>> es = hipstats.effect_from_summary([2.4, 3.1, 2.0], [2.0, 2.2, 1.8], [16, 20, 25],
    ...                                   [4.1, 4.0, 3.2], [2.5, 2.4, 2.0], [17, 20, 24])
    >>> res = hipstats.meta_analysis(es, method="REML")
    >>> int(res["k"].iloc[0])
    3
    """
    check_columns(effects, yi=yi, vi=vi, study=study)
    check_numeric(effects, [yi, vi])
    method = method.upper()
    if method not in ("REML", "DL", "FE"):
        raise AnalysisError(f"method must be 'REML', 'DL' or 'FE', got {method!r}")
    test = test.lower()
    if test not in ("z", "knha"):
        raise AnalysisError("test must be 'z' or 'knha'")
    d = effects[[c for c in (study, yi, vi) if c]].dropna(subset=[yi, vi])
    y, v = d[yi].to_numpy(float), d[vi].to_numpy(float)
    k = len(y)
    if k < 2:
        raise AnalysisError(f"need at least 2 studies with {yi!r} and {vi!r}; have {k}")
    if np.any(v <= 0):
        raise AnalysisError(f"sampling variances {vi!r} must be positive")
    w_fe = 1 / v
    mu_fe = (w_fe * y).sum() / w_fe.sum()
    q = float((w_fe * (y - mu_fe) ** 2).sum())
    c = w_fe.sum() - (w_fe ** 2).sum() / w_fe.sum()
    if method == "FE":
        tau2 = 0.0
    elif method == "DL":
        tau2 = max(0.0, (q - (k - 1)) / c)
    else:
        tau2, _, _ = _tau2_reml(y, v)
    w = 1 / (v + tau2)
    mu = float((w * y).sum() / w.sum())
    se = float(np.sqrt(1 / w.sum()))
    if test == "knha":
        s2 = float((w * (y - mu) ** 2).sum() / (k - 1))
        se = se * np.sqrt(s2)
        crit = sps.t.ppf(1 - alpha / 2, k - 1)
        stat = mu / se
        pval = 2 * sps.t.sf(abs(stat), k - 1)
    else:
        crit = sps.norm.ppf(1 - alpha / 2)
        stat = mu / se
        pval = 2 * sps.norm.sf(abs(stat))
    s2_typ = (k - 1) / c
    if method == "FE":  # metafor: I^2 and H^2 from Q when no tau^2 is estimated
        i2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0
        h2 = q / (k - 1)
    else:
        i2 = 100 * tau2 / (tau2 + s2_typ)
        h2 = (tau2 + s2_typ) / s2_typ
    pi_half = crit * np.sqrt(se ** 2 + tau2)
    res = pd.DataFrame([{
        "k": k, "estimate": mu, "se": se, "stat": stat, "pval": float(pval),
        "ci_low": mu - crit * se, "ci_high": mu + crit * se,
        "pi_low": mu - pi_half, "pi_high": mu + pi_half, "tau2": tau2, "i2": i2, "h2": h2,
        "q": q, "q_df": k - 1, "q_pval": float(sps.chi2.sf(q, k - 1)), "method": method,
        "test": test,
    }])
    studies = pd.DataFrame({"study": d[study].astype(str).to_numpy() if study
                            else np.arange(1, k + 1).astype(str),
                            "yi": y, "vi": v, "weight": 100 * w / w.sum()})
    res.attrs["studies"] = studies.to_dict("records")
    return res
