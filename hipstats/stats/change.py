"""Change from pre to post: paired changes with effect sizes, baseline-adjusted group
differences (ANCOVA) and responder analysis against a minimal clinically important difference.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, special
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_columns, check_numeric

__all__ = ["paired_change", "ancova", "responders", "pre_post", "noncentral_t_ci"]


def pre_post(data: pd.DataFrame, dv: str, time: str, subject: str, pre, post,
             keep: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per subject with ``pre`` and ``post`` values of ``dv``.

    Returns the complete pairs and a frame of excluded subjects (``subject``, ``reason``):
    a subject without both values cannot enter a paired analysis and is reported, never
    dropped silently.
    """
    check_columns(data, dv=dv, time=time, subject=subject, keep=keep)
    check_numeric(data, dv)
    levels = set(data[time].dropna().unique())
    for name, lv in (("pre", pre), ("post", post)):
        if lv not in levels:
            raise AnalysisError(f"{name}={lv!r} is not a value of {time!r} "
                                f"(values: {sorted(map(str, levels))})")
    sub = data[data[time].isin([pre, post])]
    dup = sub.duplicated([subject, time])
    if dup.any():
        s = sub.loc[dup, subject].iloc[0]
        raise AnalysisError(f"subject {s!r} has more than one row at one of the timepoints")
    wide = sub.pivot(index=subject, columns=time, values=dv)
    wide = wide.reindex(columns=[pre, post])
    wide.columns = ["pre", "post"]
    if keep:
        first = data.groupby(subject, sort=True)[keep].first()
        wide = wide.join(first)
    wide = wide.sort_index()
    miss_pre, miss_post = wide["pre"].isna(), wide["post"].isna()
    reasons = np.where(miss_pre & miss_post, f"{dv} missing at {pre} and {post}",
                       np.where(miss_pre, f"{dv} missing at {pre}", f"{dv} missing at {post}"))
    bad = miss_pre | miss_post
    if keep:
        for k in keep:
            kb = wide[k].isna() & ~bad
            reasons = np.where(kb, f"{k} missing", reasons)
            bad = bad | kb
    excl = pd.DataFrame({"subject": wide.index[bad].astype(str), "reason": reasons[bad.to_numpy()]})
    return wide[~bad].reset_index(names="subject"), excl


_GL_X, _GL_W = np.polynomial.legendre.leggauss(40)
_W_PROBS = np.array([1e-300, 1e-100, 1e-30, 1e-12, 1e-6, 1e-3, 0.02, 0.1, 0.3, 0.5, 0.7, 0.9,
                     0.98, 0.999])


@lru_cache(maxsize=64)
def _w_quantiles(df: float) -> np.ndarray:
    """Quantiles of W = sqrt(V / df), V ~ chi-square(df), from 1e-300 to 1 - 1e-300."""
    lo = sps.chi2.ppf(_W_PROBS, df)
    hi = sps.chi2.isf(_W_PROBS[_W_PROBS < 0.5], df)
    return np.sqrt(np.concatenate([lo, hi]) / df)


def _nct_tail_quad(t: float, df: float, ncp: float, upper: bool) -> float:
    """P(T >= t) (``upper``) or P(T <= t) of the noncentral t by quadrature.

    With T = (Z + ncp) / W, W = sqrt(V / df), for t > 0:
    P(T >= t) = int_{z > -ncp} phi(z) P(V <= df ((z + ncp) / t)^2) dz and
    P(T <= t) = Phi(-ncp) + int_{z > -ncp} phi(z) P(V >= df ((z + ncp) / t)^2) dz,
    by 40-point Gauss-Legendre on pieces split at unit steps of z and where the chi-square
    factor turns over. Agrees with scipy to ~3e-12 where scipy converges and with R's
    integrate() to ~1e-13 on the confidence limits; used where scipy's series returns NaN,
    does not converge or is slow (large |t|), and for tiny tail probabilities.
    """
    if t < 0:
        return _nct_tail_quad(-t, df, -ncp, not upper)
    if t == 0:
        return float(special.ndtr(ncp) if upper else special.ndtr(-ncp))
    za, zb = max(-ncp, -38.5), 38.5  # phi(38.5) < 1e-320
    base = 0.0 if upper else float(special.ndtr(-ncp))
    if za >= zb:
        return base
    pts = np.concatenate([t * _w_quantiles(float(df)) - ncp, np.arange(-12.0, 12.5),
                          [-28.0, -20.0, -16.0, 16.0, 20.0, 28.0]])
    edges = np.unique(np.concatenate([[za, zb], pts[(pts > za) & (pts < zb)]]))
    a, b = edges[:-1, None], edges[1:, None]
    z = (a + b) / 2 + (b - a) / 2 * _GL_X
    q = df * ((z + ncp) / t) ** 2
    chi = special.chdtr(df, q) if upper else special.chdtrc(df, q)
    s = float(np.sum((b - a) / 2 * _GL_W * np.exp(-0.5 * z * z) * chi)) / np.sqrt(2 * np.pi)
    return min(max(base + s, 0.0), 1.0)


def _nct_tail(t: float, df: float, ncp: float, upper: bool, quad: bool = False) -> float:
    """P(T >= t) (``upper``) or P(T <= t) of the noncentral t, never NaN.

    Always evaluates the requested tail directly (the small probability of a confidence
    limit), so no accuracy is lost to 1 - p. scipy (Boost) first, unless ``quad``; where it
    returns NaN, a value outside [0, 1] or warns of non-convergence, the quadrature above.
    """
    if not quad:
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            p = float(sps.nct.sf(t, df, ncp) if upper else sps.nct.cdf(t, df, ncp))
        if np.isfinite(p) and 0 <= p <= 1 and not caught:
            return p
    with np.errstate(all="ignore"):
        p = _nct_tail_quad(t, df, ncp, upper)
    if not np.isfinite(p):
        raise AnalysisError(f"noncentral t probability failed (t={t}, df={df}, ncp={ncp})")
    return p


def _increasing_root(f, x0: float, step: float, what: str) -> float:
    """Root of an increasing function: bracket from ``x0`` by doubling steps, then brentq."""
    lo = hi = x0
    f_lo = f_hi = f(x0)
    if f_lo == 0:
        return x0
    s = step
    for _ in range(200):
        if f_lo < 0 < f_hi:
            break
        if f_hi <= 0:
            lo, f_lo = hi, f_hi
            hi = hi + s
            f_hi = f(hi)
        else:
            hi, f_hi = lo, f_lo
            lo = lo - s
            f_lo = f(lo)
        if f_lo == 0:
            return lo
        if f_hi == 0:
            return hi
        s *= 2
        if not np.isfinite(s):
            break
    if not f_lo < 0 < f_hi:
        raise AnalysisError(f"cannot bracket the {what}")
    try:
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=4 * np.finfo(float).eps,
                                     maxiter=500))
    except (ValueError, RuntimeError) as e:
        raise AnalysisError(f"cannot find the {what}: {e}") from None


def noncentral_t_ci(t: float, df: float, alpha: float = 0.05) -> tuple[float, float]:
    """CI of a noncentrality parameter by inverting the noncentral t (Steiger & Fouladi 1997).

    The limits solve P(T >= t | ncp_low) = alpha / 2 and P(T <= t | ncp_high) = alpha / 2
    (as MBESS::conf.limits.nct). Negative t uses the symmetry T(-ncp) = -T(ncp). Each
    limit is bracketed by geometrically growing steps from the normal approximation of
    Abramowitz & Stegun 26.7.10 and solved by Brent's method to 1e-12. Returns NaN limits
    for a non-finite t or df <= 0; raises AnalysisError if a limit cannot be found.
    """
    if not np.isfinite(t) or not np.isfinite(df) or df <= 0:
        return float("nan"), float("nan")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    if t < 0:
        lo, hi = noncentral_t_ci(-t, df, alpha)
        return -hi, -lo
    p = alpha / 2
    z = float(sps.norm.isf(p))
    centre = t * (1 - 1 / (4 * df))
    spread = float(np.hypot(1.0, t / np.sqrt(2 * df)))
    step = max(0.5, 0.25 * spread)
    # scipy's series is slow (and loses ~1e-8) beyond |t| ~ 1e3 and has absolute errors up
    # to ~1e-11, too much for tiny alpha: use the quadrature there
    quad = t > 1e3 or p < 1e-6
    ncp_high = _increasing_root(lambda d: p - _nct_tail(t, df, d, False, quad),
                                centre + z * spread, step, "upper noncentral-t confidence limit")
    if t == 0:
        return -ncp_high, ncp_high
    ncp_low = _increasing_root(lambda d: _nct_tail(t, df, d, True, quad) - p,
                               centre - z * spread, step, "lower noncentral-t confidence limit")
    return ncp_low, ncp_high


def _paired_row(pre: np.ndarray, post: np.ndarray, alpha: float) -> dict:
    n = len(pre)
    diff = post - pre
    md = diff.mean()
    sd_d = diff.std(ddof=1) if n > 1 else np.nan
    se = sd_d / np.sqrt(n)
    dof = n - 1
    t = md / se if se > 0 else np.nan
    q = sps.t.ppf(1 - alpha / 2, dof) if dof > 0 else np.nan
    pval = 2 * sps.t.sf(abs(t), dof) if np.isfinite(t) else np.nan
    dz = md / sd_d if sd_d > 0 else np.nan
    lo_ncp, hi_ncp = noncentral_t_ci(t, dof, alpha)
    sd_av = (pre.std(ddof=1) + post.std(ddof=1)) / 2
    d_av = md / sd_av if sd_av > 0 else np.nan
    j = 1 - 3 / (8 * n - 9)  # Hedges' correction for d_av (Lakens 2013; Cumming 2012)
    scale = sd_d / (sd_av * np.sqrt(n)) if sd_av > 0 else np.nan
    return {
        "n": n, "mean_pre": pre.mean(), "mean_post": post.mean(), "mean_diff": md,
        "sd_diff": sd_d, "ci_low": md - q * se, "ci_high": md + q * se, "t": t, "dof": dof,
        "pval": pval, "dz": dz, "dz_ci_low": lo_ncp / np.sqrt(n), "dz_ci_high": hi_ncp / np.sqrt(n),
        "hedges_g": j * d_av, "g_ci_low": j * lo_ncp * scale, "g_ci_high": j * hi_ncp * scale,
    }


def paired_change(data: pd.DataFrame, dv: str, time: str, subject: str, pre, post,
                  group: str | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """Paired change from ``pre`` to ``post`` (post minus pre) with effect sizes.

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    dv : str
        Outcome column.
    time : str
        Visit column.
    subject : str
        Subject identifier column.
    pre, post : scalar
        The two values of ``time`` compared (``"pre"``/``"post"``, or weeks 0 and 6).
    group : str, optional
        Analyse each group separately (one row per group, sorted).
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        One row (per group): ``group`` (when given), ``n`` (complete pairs), ``mean_pre``,
        ``mean_post``, ``mean_diff`` (post - pre), ``sd_diff``, ``ci_low``, ``ci_high`` (CI of
        the mean difference), ``t``, ``dof``, ``pval`` (paired t-test), ``dz`` with
        ``dz_ci_low``/``dz_ci_high``, ``hedges_g`` with ``g_ci_low``/``g_ci_high``,
        ``n_excluded``. Excluded subjects and reasons are in ``result.attrs["exclusions"]``.

    Notes
    -----
    ``dz`` = mean difference / SD of the differences (Cohen's d_z); its CI inverts the
    noncentral t distribution of the paired t statistic (Steiger & Fouladi 1997), exact
    under normality. ``hedges_g`` is Hedges' g_av: the mean difference over the average of
    the pre and post SDs (comparable with between-group d), times 1 - 3 / (8n - 9)
    (Lakens 2013, eq. 10); its CI scales the noncentral-t limits by
    SD_diff / (SD_av sqrt(n)) (Algina & Keselman 2003, approximate).

    References
    ----------
    Lakens D (2013). Calculating and reporting effect sizes to facilitate cumulative science.
    Front Psychol 4:863. Algina J, Keselman HJ (2003). Approximate confidence intervals for
    effect sizes. Educ Psychol Meas 63(4):537-553.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("pfps3wk")
    >>> res = hipstats.paired_change(df, "pain_vas", "time", "subject", "pre", "post",
    ...                              group="group")
    >>> list(res["group"])
    ['PFPS', 'control']
    """
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    wide, excl = pre_post(data, dv, time, subject, pre, post, keep=[group] if group else None)
    groups = sorted(wide[group].unique()) if group else [None]
    rows = []
    for g in groups:
        w = wide[wide[group] == g] if group else wide
        if len(w) < 2:
            raise AnalysisError(f"fewer than 2 complete {pre}/{post} pairs of {dv!r}"
                                + (f" in group {g!r}" if group else ""))
        row = _paired_row(w["pre"].to_numpy(float), w["post"].to_numpy(float), alpha)
        if group:
            row = {"group": g, **row}
            ex_g = data.loc[data[subject].isin(excl["subject"]) & (data[group] == g), subject]
            row["n_excluded"] = int(ex_g.nunique())
        else:
            row["n_excluded"] = len(excl)
        rows.append(row)
    res = pd.DataFrame(rows)
    res.attrs["exclusions"] = excl.to_dict("records")
    return res


def ancova(data: pd.DataFrame, dv: str, time: str, subject: str, between: str, pre, post,
           reference=None, covariates: list[str] | None = None,
           alpha: float = 0.05) -> pd.DataFrame:
    """Baseline-adjusted group difference at follow-up (ANCOVA).

    Fits ``post ~ C(between) + pre (+ covariates)`` by least squares, one row per subject,
    and reports each group's difference from ``reference`` at equal baseline: the analysis
    trial statisticians recommend over change-score t-tests (more power, no regression to
    the mean bias when groups differ at baseline).

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    dv : str
        Outcome column (e.g. ``"pain_vas"``).
    time, subject : str
        Visit and subject columns.
    between : str
        Group column.
    pre, post : scalar
        Baseline and follow-up values of ``time``.
    reference : scalar, optional
        Reference group (default: the last level in sorted order, so that with ``PFPS`` and
        ``control`` the contrast is ``PFPS - control``).
    covariates : list of str, optional
        Further subject-level covariates (taken from each subject's first row).
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        One row per non-reference group: ``contrast`` (``"A - B"``), ``estimate``, ``se``,
        ``t``, ``dof``, ``pval``, ``ci_low``, ``ci_high``, ``n``. Adjusted means per group
        (at the mean baseline and covariates, as emmeans reports them) are in
        ``result.attrs["adjusted_means"]``; excluded subjects in ``result.attrs["exclusions"]``.

    References
    ----------
    Vickers AJ, Altman DG (2001). Analysing controlled trials with baseline and follow up
    measurements. BMJ 323:1123-1124.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("pfps3wk")
    >>> res = hipstats.ancova(df, "pain_vas", "time", "subject", "group", "pre", "post")
    >>> res["contrast"].iloc[0]
    'PFPS - control'
    """
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    covariates = list(covariates or [])
    check_columns(data, between=between, covariates=covariates)
    wide, excl = pre_post(data, dv, time, subject, pre, post, keep=[between] + covariates)
    levels = sorted(wide[between].astype(str).unique())
    all_levels = sorted(data[between].dropna().astype(str).unique())
    empty = sorted(set(all_levels) - set(levels))
    if empty:
        raise AnalysisError(f"group(s) {empty} of {between!r} have no complete {pre}/{post} pair")
    if len(levels) < 2:
        raise AnalysisError(f"{between!r} needs at least two groups with data")
    reference = levels[-1] if reference is None else str(reference)
    if reference not in levels:
        raise AnalysisError(f"reference={reference!r} is not a group of {between!r} ({levels})")
    others = [g for g in levels if g != reference]
    gvals = wide[between].astype(str).to_numpy()
    cols = [np.ones(len(wide))] + [(gvals == g).astype(float) for g in others] + \
        [wide["pre"].to_numpy(float)] + [wide[c].to_numpy(float) for c in covariates]
    X = np.column_stack(cols)
    y = wide["post"].to_numpy(float)
    n, p = X.shape
    if n <= p:
        raise AnalysisError(f"too few subjects ({n}) for {p} ANCOVA coefficients")
    # covariates centred at their means and a QR solve (as R's lm), not the normal
    # equations: a baseline far from zero with a small spread (y + 1000) made X'X
    # ill-conditioned and moved the group difference (found by the invariance tests)
    k0 = 1 + len(others)
    xbar_cov = X[:, k0:].mean(axis=0)
    X = X.copy()
    X[:, k0:] -= xbar_cov
    if np.linalg.matrix_rank(X) < p:
        raise AnalysisError("ANCOVA design is rank-deficient (a covariate is constant or "
                            "collinear)")
    Qm, Rm = np.linalg.qr(X)
    beta = np.linalg.solve(Rm, Qm.T @ y)
    Rinv = np.linalg.inv(Rm)
    XtX_inv = Rinv @ Rinv.T
    resid = y - X @ beta
    dof = n - p
    sigma2 = resid @ resid / dof
    cov = XtX_inv * sigma2
    q = sps.t.ppf(1 - alpha / 2, dof)
    rows = []
    for i, g in enumerate(others, start=1):
        est, se = beta[i], np.sqrt(cov[i, i])
        t = est / se
        rows.append({"contrast": f"{g} - {reference}", "estimate": est, "se": se, "t": t,
                     "dof": dof, "pval": 2 * sps.t.sf(abs(t), dof),
                     "ci_low": est - q * se, "ci_high": est + q * se, "n": n})
    res = pd.DataFrame(rows)
    xbar = X[:, 1 + len(others):].mean(axis=0)   # zero: the covariates are centred
    means = []
    for g in levels:
        L = np.zeros(p)
        L[0] = 1
        if g != reference:
            L[1 + others.index(g)] = 1
        L[1 + len(others):] = xbar
        est, se = L @ beta, np.sqrt(L @ cov @ L)
        means.append({"group": g, "adjusted_mean": est, "se": se,
                      "ci_low": est - q * se, "ci_high": est + q * se})
    res.attrs["adjusted_means"] = means
    res.attrs["exclusions"] = excl.to_dict("records")
    return res


def _wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    z = sps.norm.ppf(1 - alpha / 2)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def responder_flags(data: pd.DataFrame, dv: str, time: str, subject: str, pre, post,
                    group: str | None = None, mcid="auto", relative: float | None = 0.30,
                    direction: str = "auto", rule: str = "either"):
    """One row per subject with both values: ``subject``, ``pre``, ``post`` (and ``group``),
    ``improvement`` and ``responder`` (bool) by the criteria of :func:`responders`; the
    excluded subjects with their reason; and the criterion used (``mcid``,
    ``mcid_source``, ``relative``, ``direction``, ``rule``)."""
    facts = (data.attrs.get("measures") or {}).get(dv, {}) if hasattr(data, "attrs") else {}
    source = "given"
    if isinstance(mcid, str):
        if mcid != "auto":
            raise AnalysisError("mcid must be a number, None or 'auto'")
        if facts.get("mcid") is not None:
            mcid, source = float(facts["mcid"]), facts.get("mcid_source") or "instrument"
        else:
            mcid, source = 2.0, ("default: 2 (cm on a 10 cm VAS; Khayambashi et al. 2014); "
                                 f"{dv} has no instrument MCID")
    if direction == "auto":
        direction = {"higher_better": "increase"}.get(facts.get("direction"), "decrease")
    if direction not in ("decrease", "increase"):
        raise AnalysisError("direction must be 'auto', 'decrease' or 'increase'")
    if rule not in ("either", "both", "absolute", "relative"):
        raise AnalysisError("rule must be 'either', 'both', 'absolute' or 'relative'")
    if rule in ("both", "absolute") and mcid is None:
        raise AnalysisError(f"rule={rule!r} needs mcid")
    if rule in ("both", "relative") and relative is None:
        raise AnalysisError(f"rule={rule!r} needs relative")
    if mcid is None and relative is None:
        raise AnalysisError("give mcid, relative or both")
    wide, excl = pre_post(data, dv, time, subject, pre, post, keep=[group] if group else None)
    improvement = (wide["pre"] - wide["post"]) if direction == "decrease" \
        else (wide["post"] - wide["pre"])
    eps = 1e-12
    absolute_ok = improvement >= mcid - eps if mcid is not None else pd.Series(False, wide.index)
    base = wide["pre"].abs()
    rel_ok = ((improvement / base.where(base > 0)) >= relative - eps) if relative is not None \
        else pd.Series(False, wide.index)
    rel_ok = rel_ok.fillna(False).astype(bool)
    resp = {"either": absolute_ok | rel_ok, "both": absolute_ok & rel_ok,
            "absolute": absolute_ok, "relative": rel_ok}[rule]
    wide = wide.assign(improvement=improvement, responder=resp.astype(bool))
    return wide, excl, {"mcid": mcid, "relative": relative, "direction": direction,
                        "rule": rule, "mcid_source": source}


def newcombe(k1: int, n1: int, k2: int, n2: int, alpha: float = 0.05):
    """Risk difference k1/n1 - k2/n2 with Newcombe's hybrid score interval (1998, method
    10) from the two Wilson intervals: (rd, low, high)."""
    (l1, u1), (l2, u2) = _wilson(k1, n1, alpha), _wilson(k2, n2, alpha)
    p1, p2 = k1 / n1, k2 / n2
    rd = p1 - p2
    return (rd, rd - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            rd + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def nnt_interval(rd: float, lo: float, hi: float) -> tuple[float, float, float, str]:
    """NNT = 1 / RD and its interval from the RD's (Altman 1998): the reciprocals of the
    limits when the RD interval excludes 0; else NNTB (1 / upper) to infinity to NNTH
    (1 / |lower|), said in the note."""
    nnt = 1 / rd if rd != 0 else np.inf
    if lo > 0 or hi < 0:
        nl, nh = sorted([1 / hi, 1 / lo])
        note = "NNT to benefit" if rd > 0 else "NNT to harm (negative)"
    else:
        nl = 1 / hi if hi > 0 else np.inf
        nh = 1 / abs(lo) if lo < 0 else np.inf
        note = (f"CI includes no effect: NNTB {nl:.1f} to infinity to NNTH {nh:.1f} "
                "(Altman 1998)")
    return nnt, nl, nh, note


def responders(data: pd.DataFrame, dv: str, time: str, subject: str, pre, post,
               group: str | None = None, mcid: "float | None | str" = "auto",
               relative: float | None = 0.30, direction: str = "auto", rule: str = "either",
               alpha: float = 0.05) -> pd.DataFrame:
    """Responders against a minimal clinically important difference (MCID).

    Parameters
    ----------
    data : DataFrame
        Person-period frame.
    dv : str
        Outcome (e.g. ``"pain_vas"``).
    time, subject : str
        Visit and subject columns.
    pre, post : scalar
        Baseline and follow-up values of ``time``.
    group : str, optional
        Group column; with exactly two groups the risk difference and number needed to
        treat are added.
    mcid : float, None or "auto"
        Absolute improvement that counts. ``"auto"`` (default): the MCID of the measure's
        instrument, from ``data.attrs["measures"]`` (set by :func:`hipstats.load` from the
        design; e.g. 2 cm for the VAS, 10 points for the AKPS); a frame without it falls
        back to 2 (cm on a 10 cm VAS; Khayambashi et al. 2014). The value used and its
        source are in ``result.attrs["mcid"]`` and ``result.attrs["mcid_source"]``.
    relative : float or None
        Relative improvement that counts (default 0.30, i.e. 30% of baseline).
    direction : {"auto", "decrease", "increase"}
        Which way is better (pain: decrease; strength or function: increase). ``"auto"``:
        from the instrument (``lower_better`` -> decrease), else decrease.
    rule : {"either", "both", "absolute", "relative"}
        How the absolute and relative criteria combine.
    alpha : float
        1 - confidence level.

    Returns
    -------
    DataFrame
        ``kind`` (``"group"`` rows, then one ``"difference"`` row with two groups),
        ``group``, ``n``, ``responders``, ``proportion`` (for the difference row: the risk
        difference, first group minus second in sorted order), ``ci_low``, ``ci_high``,
        ``nnt``, ``nnt_ci_low``, ``nnt_ci_high``, ``nnt_note``.

    Notes
    -----
    Proportions have Wilson score intervals. The risk difference has Newcombe's hybrid score
    interval (Newcombe 1998, method 10), built from the two Wilson intervals. NNT = 1 / RD;
    when the RD interval excludes 0 the NNT interval is the reciprocal of its limits; when it
    includes 0 the interval runs from NNT(benefit) through infinity to NNT(harm) (Altman
    1998): ``nnt_ci_low`` is then NNTB (1 / upper RD limit) and ``nnt_ci_high`` NNTH
    (1 / |lower RD limit|), and ``nnt_note`` says so. A relative criterion needs a non-zero
    baseline; subjects with baseline 0 meet it only through the absolute criterion.

    References
    ----------
    Newcombe RG (1998). Interval estimation for the difference between independent
    proportions. Stat Med 17:873-890. Altman DG (1998). Confidence intervals for the number
    needed to treat. BMJ 317:1309-1312. Khayambashi K et al. (2014). Arch Phys Med Rehabil
    95(5):900-907.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("pfps3wk")
    >>> res = hipstats.responders(df, "pain_vas", "time", "subject", "pre", "post",
    ...                           group="group")
    >>> list(res["kind"])
    ['group', 'group', 'difference']
    """
    wide, excl, crit = responder_flags(data, dv, time, subject, pre, post, group=group,
                                       mcid=mcid, relative=relative, direction=direction,
                                       rule=rule)
    mcid, source, direction = crit["mcid"], crit["mcid_source"], crit["direction"]
    groups = sorted(wide[group].astype(str).unique()) if group else [None]
    rows = []
    stats = {}
    for g in groups:
        w = wide[wide[group].astype(str) == g] if group else wide
        n, k = len(w), int(w["responder"].sum())
        lo, hi = _wilson(k, n, alpha)
        stats[g] = (k, n, lo, hi)
        rows.append({"kind": "group", "group": g if group else "all", "n": n, "responders": k,
                     "proportion": k / n if n else np.nan, "ci_low": lo, "ci_high": hi})
    if group and len(groups) == 2:
        (k1, n1, _, _), (k2, n2, _, _) = stats[groups[0]], stats[groups[1]]
        rd, lo, hi = newcombe(k1, n1, k2, n2, alpha)
        nnt, nl, nh, note = nnt_interval(rd, lo, hi)
        rows.append({"kind": "difference", "group": f"{groups[0]} - {groups[1]}",
                     "n": n1 + n2, "responders": k1 + k2, "proportion": rd,
                     "ci_low": lo, "ci_high": hi, "nnt": nnt, "nnt_ci_low": nl,
                     "nnt_ci_high": nh, "nnt_note": note})
    res = pd.DataFrame(rows)
    for c in ("nnt", "nnt_ci_low", "nnt_ci_high"):
        if c not in res:
            res[c] = np.nan
    if "nnt_note" not in res:
        res["nnt_note"] = ""
    res["nnt_note"] = res["nnt_note"].fillna("")
    res.attrs["exclusions"] = excl.to_dict("records")
    res.attrs["criterion"] = {"mcid": mcid, "relative": relative, "direction": direction,
                              "rule": rule, "mcid_source": source}
    res.attrs["mcid"], res.attrs["mcid_source"] = mcid, source
    return res
