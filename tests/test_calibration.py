"""Calibration: every test a report page shows holds its error rate at the sizes people run.

Agreement with R (the other test files) says hipstats computes what R computes; this file
asks whether that test is honest for a 12-40 patient study. For each test we simulate data
under the null hypothesis, in the shapes of the two designs (``program6wk``: one group,
weeks 0/2/4/6; ``pfps3wk``: two groups, pre/post), with missed visits, and count

* rejections at alpha = .05: the count must lie inside the exact two-sided 99% binomial band
  around 5% for the number of replicates (``scipy.stats.binom``);
* 95% confidence intervals that cover the true value (0 under every null here): the count
  of misses must lie inside the same kind of band around 5%.

Tests that control a family-wise rate by a conservative bound (Holm, Bonferroni across
visits or contrasts; Greenhouse-Geisser under sphericity) only need to stay at or below the
band's upper end: being conservative is what they promise.

The generating models are written here, not taken from ``hipstats.synthetic`` or
``hipstats.power``: they are the assumptions under test, and must not share a bug with the
code. Seeds are fixed (each cell: ``SeedSequence([BASE, check, n])``).

Two sizes of run:

* the CI part (default ``pytest`` and ``make test``): every check at n = 12, 16, 25, 40 with
  few replicates per n, tested per n (a coarse band: catches gross failures) and pooled over
  the four n (a tighter band). Under 60 s on 2 cores.
* ``pytest -m calibration tests/test_calibration.py`` (not selected by ``make test``): the
  replicate counts of ``FULL`` per n (2,000 for closed-form tests, 500 for mixed models,
  1,000 for the cross-lagged paths at 16 x 4 on held-out generating models), and writes the
  measured table to ``benchmarks/calibration_results.json``. 99% band half-widths:
  2,000 reps -> 3.9-6.2%, 1,000 -> 3.3-6.8%, 500 -> 2.8-7.6%.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import hipstats as hs

ALPHA = 0.05
LEVEL = 0.99  # the band: an honest test lands outside it in 1% of runs
NS = (12, 16, 25, 40)
BASE = 20261202
WEEKS = (0, 2, 4, 6)


def band(reps: int, p: float = ALPHA, level: float = LEVEL) -> tuple[int, int]:
    """Exact central binomial band [lo, hi] of counts for ``reps`` replicates: each tail
    outside it has probability at most (1 - level) / 2."""
    tail = (1 - level) / 2
    lo = int(sps.binom.ppf(tail, reps, p))
    if sps.binom.cdf(lo, reps, p) <= tail:  # ppf gives the smallest k with cdf >= tail
        lo += 1
    hi = int(sps.binom.isf(tail, reps, p))
    if sps.binom.sf(hi, reps, p) > tail:
        hi += 1
    return lo, hi


# --------------------------------------------------------------------------------------
# generating models (the assumptions; written here on purpose)
# --------------------------------------------------------------------------------------

def gen_program6wk(rng, n: int, time_effect: float = 13 / 6, miss: float = 0.10,
                   slope_sd: float = 0.5):
    """One group, weeks 0/2/4/6. Strength and function are independent (the null for every
    strength-function test): strength = 3.1 + u + 0.13 week + e (u ~ N(0, 0.6^2),
    e ~ N(0, 0.2^2)); function = 55 + a + (b + time_effect) week + r with a ~ N(0, 4^2),
    b ~ N(0, slope_sd^2 = 0.5^2), r ~ N(0, 4.5^2) (a random slope: sphericity does not hold). A binary
    covariate ``sex`` unrelated to everything. Each later visit (week 2, 4, 6) is missed
    with probability ``miss``, independently (missing completely at random)."""
    w = np.asarray(WEEKS, float)
    u = rng.normal(0, 0.6, n)
    a = rng.normal(0, 4.0, n)
    b = rng.normal(0, slope_sd, n)
    strength = 3.1 + u[:, None] + 0.133 * w + rng.normal(0, 0.2, (n, 4))
    function = 55 + a[:, None] + (b[:, None] + time_effect) * w + rng.normal(0, 4.5, (n, 4))
    missed = np.zeros((n, 4), bool)
    missed[:, 1:] = rng.random((n, 3)) < miss
    strength[missed] = np.nan
    function[missed] = np.nan
    sex = np.where(rng.random(n) < 0.5, "F", "M")
    if (sex == sex[0]).all():
        sex[0] = "M" if sex[0] == "F" else "F"
    return pd.DataFrame({"subject": np.repeat([f"P{i:02d}" for i in range(n)], 4),
                         "week": np.tile(WEEKS, n), "strength": strength.ravel(),
                         "function_score": function.ravel(), "sex": np.repeat(sex, 4)})


def gen_pfps3wk(rng, n: int, miss: float = 0.10):
    """Two arms of ``n`` (PFPS, control), pre/post, no group and no time effect (the null):
    pain pre ~ N(5, 1.5^2), post = 5 + 0.5 (pre - 5) + N(0, 1.7^2); strength pre ~ N(3.2,
    0.6^2), post = 3.2 + 0.8 (pre - 3.2) + N(0, 0.35^2). The post visit is missed with
    probability ``miss``."""
    m = 2 * n
    pre = rng.normal(5, 1.5, m)
    post = 5 + 0.5 * (pre - 5) + rng.normal(0, 1.7, m)
    s_pre = rng.normal(3.2, 0.6, m)
    s_post = 3.2 + 0.8 * (s_pre - 3.2) + rng.normal(0, 0.35, m)
    gone = rng.random(m) < miss
    post[gone] = np.nan
    s_post[gone] = np.nan
    subj = [f"R{i:02d}" for i in range(m)]
    group = np.repeat(["PFPS", "control"], n)
    return pd.DataFrame({"subject": np.repeat(subj, 2), "group": np.repeat(group, 2),
                         "time": np.tile(["pre", "post"], m),
                         "pain_vas": np.column_stack([pre, post]).ravel(),
                         "strength": np.column_stack([s_pre, s_post]).ravel()})


def gen_crosslag(rng, n: int, a_x: float, a_y: float, rho: float, between_sd: float,
                 path: float = 0.0, miss: float = 0.08):
    """Stable between-person differences plus within-person AR(1) deviations with
    correlated innovations (the setting of issue 20): (x, y)_ik = mu_i + tau_k + w_ik,
    w_ik = A w_i,k-1 + e_ik, e ~ N(0, [[1, rho], [rho, 1]]), w_i0 from the stationary law,
    mu_i ~ N(0, between_sd^2 [[1, .5], [.5, 1]]), tau = visit means. ``path`` is the
    x -> y cross-lagged coefficient A[1, 0] (0 under the null; the y -> x one is always
    0). Each later visit is missed with probability ``miss``."""
    from scipy.linalg import solve_discrete_lyapunov

    A = np.array([[a_x, 0.0], [path, a_y]])
    Se = np.array([[1.0, rho], [rho, 1.0]])
    L0 = np.linalg.cholesky(solve_discrete_lyapunov(A, Se))
    Le = np.linalg.cholesky(Se)
    w = rng.standard_normal((n, 2)) @ L0.T
    W = [w]
    for _ in range(3):
        w = w @ A.T + rng.standard_normal((n, 2)) @ Le.T
        W.append(w)
    W = np.stack(W, 1)
    mu = rng.standard_normal((n, 2)) @ np.linalg.cholesky(
        between_sd ** 2 * np.array([[1, 0.5], [0.5, 1]])).T
    V = W + mu[:, None, :] + np.array([0.0, 0.4, 0.7, 0.9])[None, :, None]
    missed = np.zeros((n, 4), bool)
    missed[:, 1:] = rng.random((n, 3)) < miss
    V[missed] = np.nan
    return pd.DataFrame({"subject": np.repeat(np.arange(n), 4), "week": np.tile(WEEKS, n),
                         "x": V[:, :, 0].ravel(), "y": V[:, :, 1].ravel()})


def crosslag_std_path(a_x, a_y, rho, std: float) -> float:
    """The x -> y coefficient whose standardised value (within-person SD of x over that of
    y, at stationarity) equals ``std``."""
    from scipy.linalg import solve_discrete_lyapunov

    def sd_ratio(c):
        S = solve_discrete_lyapunov(np.array([[a_x, 0.0], [c, a_y]]),
                                    np.array([[1.0, rho], [rho, 1.0]]))
        return np.sqrt(S[0, 0] / S[1, 1])

    c = std
    for _ in range(50):
        c = std / sd_ratio(c)
    return c


# --------------------------------------------------------------------------------------
# checks: one replicate -> {statistic: (rejected, covered)}; covered None if no interval
# --------------------------------------------------------------------------------------

def _covers(lo, hi, truth=0.0) -> bool:
    return bool(lo <= truth <= hi)


def check_timepoint_corr(rng, n):
    d = gen_program6wk(rng, n)
    tc = hs.timepoint_corr(d, "strength", "function_score", "week", padjust="holm",
                           alpha=ALPHA)
    last = tc.iloc[-1]  # week 6: the visit with the most missed values
    return {"r at week 6": (last["pval"] < ALPHA, _covers(last["ci_low"], last["ci_high"])),
            "Holm, any of 4 visits (FWER)": (bool((tc["pval_adj"] < ALPHA).any()), None)}


def check_rm_corr(rng, n):
    """rm_corr has no time term: with both measures trending over the weeks their common
    trend is a real within-person association, so the null has a flat function score. Its
    model (Bakdash & Marusich 2017) is a common slope with independent within-person
    errors; the second statistic breaks that with a random slope of function over weeks
    while strength trends (the documented exception)."""
    out = {}
    for sd, tag in ((0.0, "r_rm"), (0.5, "r_rm, random slopes in function (exception)")):
        d = gen_program6wk(rng, n, time_effect=0.0, slope_sd=sd)
        r = hs.rm_corr(d, "strength", "function_score", "subject", alpha=ALPHA).iloc[0]
        out[tag] = (r["pval"] < ALPHA, _covers(r["ci_low"], r["ci_high"]))
    return out


def check_mixed_t(rng, n):
    d = hs.within_between(gen_program6wk(rng, n), "strength", "subject")
    out = {}
    for dfm, tag in (("satterthwaite", "Satterthwaite"), ("kenward-roger", "KR")):
        f = hs.mixed_model(d, "function_score ~ strength_within + strength_between + week",
                           "subject", random="week", df_method=dfm).fixed.loc["strength_within"]
        out[f"t strength_within, {tag}"] = (f["pval"] < ALPHA,
                                             _covers(f["ci_low"], f["ci_high"]))
    return out


ADJUSTS = ("none", "holm", "bonferroni", "tukey")


def check_mixed_f_contrasts(rng, n):
    d = gen_program6wk(rng, n, time_effect=0.0)
    fit = hs.mixed_model(d, "function_score ~ C(week) * sex", "subject", random="week",
                         df_method="kenward-roger")
    out = {}
    for ddf, tag in (("satterthwaite", "Satterthwaite"), ("kenward-roger", "KR")):
        a = fit.anova(ddf=ddf)
        out[f"F C(week) (3 df), {tag}"] = (a.loc["C(week)", "pval"] < ALPHA, None)
        out[f"F C(week):sex (3 df), {tag}"] = (a.loc["C(week):sex", "pval"] < ALPHA, None)
    for adj in ADJUSTS:
        c = fit.contrast("week", method="pairwise", adjust=adj)
        cover_all = bool(((c["ci_low"] <= 0) & (c["ci_high"] >= 0)).all())
        out[f"6 pairwise week contrasts, {adj} (FWER)"] = (bool((c["pval"] < ALPHA).any()),
                                                           cover_all)
        if adj == "none":
            r = c.iloc[2]  # 0 - 6: one contrast, per-comparison rate
            out["contrast week 0 - 6, unadjusted"] = (r["pval"] < ALPHA,
                                                      _covers(r["ci_low"], r["ci_high"]))
    return out


def check_lrt(rng, n):
    """Both models with the random slope the data have. The ML likelihood-ratio test of a
    fixed effect is anticonservative with few subjects (Pinheiro & Bates 2000, 2.4.2):
    9.7%, 8.3%, 6.0%, 7.0% at n = 12, 16, 25, 40 (300 replicates each), a documented
    exception (compare_models' Notes); the Kenward-Roger F-test of the same term is the
    calibrated one (check_mixed_t, check_mixed_f_contrasts). A random-intercept-only pair
    (random part misspecified) rejected 5.7-7.3%."""
    d = gen_program6wk(rng, n)
    m0 = hs.mixed_model(d, "function_score ~ week", "subject", random="week")
    m1 = hs.mixed_model(d, "function_score ~ week + strength", "subject", random="week")
    return {"LRT strength (1 df, ML refit), random slope": (
        hs.compare_models(m0, m1)["pval"].iloc[1] < ALPHA, None)}


def check_mixed_anova_gg(rng, n):
    d = gen_program6wk(rng, n, time_effect=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = hs.mixed_anova(d, "function_score", within="week", subject="subject").iloc[0]
    return {"F week (4 levels), uncorrected": (a["pval"] < ALPHA, None),
            "F week (4 levels), GG": (a["pval_gg"] < ALPHA, None)}


def check_mixed_anova_2x2(rng, n):
    d = gen_pfps3wk(rng, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = hs.mixed_anova(d, "strength", within="time", subject="subject", between="group",
                           order=["pre", "post"]).set_index("effect")
    return {f"F {e}": (a.loc[e, "pval"] < ALPHA, None) for e in ("group", "time", "group:time")}


def check_paired_change(rng, n):
    d = gen_pfps3wk(rng, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r = hs.paired_change(d[d["group"] == "PFPS"], "pain_vas", "time", "subject", "pre",
                             "post", alpha=ALPHA).iloc[0]
    return {"paired t (mean change)": (r["pval"] < ALPHA, _covers(r["ci_low"], r["ci_high"])),
            "d_z CI": (None, _covers(r["dz_ci_low"], r["dz_ci_high"])),
            "Hedges' g_av CI": (None, _covers(r["g_ci_low"], r["g_ci_high"]))}


def check_ancova(rng, n):
    d = gen_pfps3wk(rng, n)
    r = hs.ancova(d, "strength", "time", "subject", "group", "pre", "post",
                  reference="control", alpha=ALPHA).iloc[0]
    return {"group at post | pre": (r["pval"] < ALPHA, _covers(r["ci_low"], r["ci_high"]))}


def check_pain_lmm(rng, n):
    d = gen_pfps3wk(rng, n)
    fit = hs.mixed_model(d, "pain_vas ~ C(time, levels=['pre', 'post']) * group", "subject",
                         df_method="kenward-roger")
    a = fit.anova()
    c = fit.contrast("time", by="group", method="trt.vs.ctrl", adjust="holm").iloc[0]
    return {"F time x group, KR": (a["pval"].iloc[-1] < ALPHA, None),
            "contrast post - pre (PFPS), KR": (c["pval"] < ALPHA,
                                               _covers(c["ci_low"], c["ci_high"]))}


def check_responders(rng, n):
    d = gen_pfps3wk(rng, n)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r = hs.responders(d, "pain_vas", "time", "subject", "pre", "post", group="group",
                          mcid=2.0, relative=0.30, alpha=ALPHA)
    diff = r[r["kind"] == "difference"].iloc[0]
    covered = _covers(diff["ci_low"], diff["ci_high"])
    return {"risk difference (Newcombe CI excludes 0)": (not covered, covered)}


def check_meta_knha(rng, n, k: int = 5, tau: float = 0.2):
    """k trials with two arms of n; true standardised effects ~ N(0, tau^2)."""
    theta = rng.normal(0, tau, k)
    m1 = theta + rng.standard_normal(k) / np.sqrt(n)
    m2 = rng.standard_normal(k) / np.sqrt(n)
    sd1 = np.sqrt(rng.chisquare(n - 1, k) / (n - 1))
    sd2 = np.sqrt(rng.chisquare(n - 1, k) / (n - 1))
    es = hs.effect_from_summary(m1, sd1, np.full(k, n), m2, sd2, np.full(k, n), measure="SMD")
    p = hs.meta_analysis(es, method="REML", test="knha", alpha=ALPHA).iloc[0]
    return {f"pooled SMD, REML + Knapp-Hartung (k = {k})": (p["pval"] < ALPHA,
                                                            _covers(p["ci_low"], p["ci_high"]))}


# cross-lagged: the calibration models of the CI part; the held-out set is in HELD_OUT
CL_MODEL = {"a_x": 0.5, "a_y": 0.4, "rho": 0.5, "between_sd": 1.0}


def check_cross_lagged(rng, n, model=None, method="bootstrap", n_boot=199, path=0.0):
    m = dict(CL_MODEL if model is None else model)
    d = gen_crosslag(rng, n, path=path, **m)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r = hs.cross_lagged(d, "x", "y", "week", "subject", method=method,
                            **({"n_boot": n_boot} if method == "bootstrap" else {}))
    r = r[r["role"] == "cross-lagged"].set_index("model")
    xy, yx = r.loc["x -> y"], r.loc["y -> x"]
    return {"x -> y": (xy["pval"] < ALPHA, _covers(xy["ci_low"], xy["ci_high"], path)),
            "y -> x": (yx["pval"] < ALPHA, _covers(yx["ci_low"], yx["ci_high"]))}


# name -> (function, CI replicates per n, full replicates per n, conservative statistics)
def gen_trial_mmrm(rng, n: int, visits: int = 3, drop: float = 0.08, trend: float = -0.3):
    """Two arms (n in all), baseline plus ``visits`` post-baseline visits, no arm effect.
    Errors unstructured: SD rising 1.0 -> 1.6 over the visits, correlation 0.4 + 0.5 *
    0.6^|lag|; outcome = 2 + 0.6 baseline + ``trend`` visit + error. Monotone dropout: after
    each visit a subject leaves with probability ``drop`` (completely at random)."""
    v = np.arange(1, visits + 1)
    sd = np.linspace(1.0, 1.6, visits)
    S = np.outer(sd, sd) * (0.4 + 0.5 * 0.6 ** np.abs(np.subtract.outer(v, v)))
    np.fill_diagonal(S, sd ** 2)
    e = rng.multivariate_normal(np.zeros(visits), S, size=n)
    bl = rng.normal(5.0, 1.5, n)
    stay = (rng.random((n, visits)) > drop).cumprod(axis=1).astype(bool)
    stay[:, 0] = True
    rows = [(f"s{i}", "AB"[i % 2], int(v[j]), bl[i], 2 + 0.6 * bl[i] + trend * v[j] + e[i, j])
            for i in range(n) for j in range(visits) if stay[i, j]]
    return pd.DataFrame(rows, columns=["subject", "group", "visit", "y_bl", "y"])


def check_mmrm(rng, n):
    """The primary analysis of the declared-design pages: MMRM, unstructured covariance,
    arm difference at the last visit and the arm x visit F."""
    d = gen_trial_mmrm(rng, n)
    out = {}
    for dfm, tag in (("kenward-roger-linear", "KR-linear"), ("satterthwaite", "Satterthwaite")):
        try:
            fit = hs.mmrm(d, "y ~ y_bl + group * C(visit)", "subject", time="visit",
                          cov=hs.stats.mmrm.FALLBACK_ORDER, df_method=dfm)
        except hs.AnalysisError:
            continue
        c = fit.contrast("group", by="visit", method="trt.vs.ctrl", adjust="none")
        r = c[c["visit"] == 3].iloc[0]
        out[f"MMRM B - A at the last visit, {tag}"] = (r["pval"] < ALPHA,
                                                       _covers(r["ci_low"], r["ci_high"]))
        out[f"MMRM F group x visit (2 df), {tag}"] = (
            fit.anova().loc["group:C(visit)", "pval"] < ALPHA, None)
    return out


def check_mmrm_one_group(rng, n):
    """The primary analysis of a one-group page (01, program6wk): MMRM on the baseline and
    the visits, unstructured covariance; null: no change between the post-baseline visits
    (the visit-3 vs visit-1 coefficient and the 2-df visit F)."""
    d = gen_trial_mmrm(rng, n, trend=0.0)
    out = {}
    try:
        fit = hs.mmrm(d, "y ~ y_bl + C(visit)", "subject", time="visit",
                      cov=hs.stats.mmrm.FALLBACK_ORDER, df_method="kenward-roger-linear")
    except hs.AnalysisError:
        return out
    r = fit.fixed.loc["C(visit)[T.3]"]
    out["one-group MMRM visit 3 - visit 1, KR-linear"] = (r["pval"] < ALPHA,
                                                          _covers(r["ci_low"], r["ci_high"]))
    out["one-group MMRM F visit (2 df), KR-linear"] = (
        fit.anova().loc["C(visit)", "pval"] < ALPHA, None)
    return out


CHECKS = {
    "timepoint_corr": (check_timepoint_corr, 60, 2000, {"Holm, any of 4 visits (FWER)"}),
    "rm_corr": (check_rm_corr, 100, 2000, set()),
    "mixed_model_t": (check_mixed_t, 8, 500, set()),
    "mixed_model_F_contrasts": (check_mixed_f_contrasts, 8, 500,
                                {"6 pairwise week contrasts, holm (FWER)",
                                 "6 pairwise week contrasts, bonferroni (FWER)"}),
    "compare_models": (check_lrt, 10, 500, set()),
    "mixed_anova_GG": (check_mixed_anova_gg, 60, 2000, {"F week (4 levels), GG"}),
    "mixed_anova_2x2": (check_mixed_anova_2x2, 60, 2000, set()),
    "paired_change": (check_paired_change, 40, 2000, set()),
    "ancova": (check_ancova, 60, 2000, set()),
    "pain_mixed_model": (check_pain_lmm, 8, 500, set()),
    # Newcombe's hybrid score interval is slightly conservative with small arms (Newcombe
    # 1998, Stat Med 17:873-890): measured 3.65% at n = 12 (2,000 reps), 4.4-4.7% above
    "responders": (check_responders, 40, 2000, {"risk difference (Newcombe CI excludes 0)"}),
    "meta_analysis_knha": (check_meta_knha, 60, 2000, set()),
    "cross_lagged": (check_cross_lagged, 6, 1000, set()),
    "mmrm": (check_mmrm, 15, 500, set()),
    "mmrm_one_group": (check_mmrm_one_group, 15, 500, set()),
}
# documented exceptions: statistic -> why it may fall outside the band (measured rates are
# in benchmarks/calibration_results.json and the README)
EXCEPTIONS = {
    "LRT strength (1 df, ML refit), random slope": "the ML likelihood-ratio test of a fixed "
    "effect is anticonservative with few subjects: 9.7% at n = 12, 8.3% at 16 (300 "
    "replicates); documented in compare_models, which points to the KR F-test",
    "r_rm, random slopes in function (exception)": "rm_corr assumes one within-person "
    "slope and independent errors; when people differ in their own trend over the weeks "
    "and strength also trends, its errors are correlated within the person: measured "
    "5.3-6.3% at n = 12-40 (2,000 replicates each; the band's upper edge is 6.3%), so "
    "reported, not judged. The within-person mixed model with a random slope (page 01, "
    "Table 7) is the test built for that case",
    "MMRM F group x visit (2 df), Satterthwaite": "Satterthwaite's multi-df F of an "
    "unstructured MMRM is anticonservative with few subjects: 9.4% at n = 12, 8.6% at 16, "
    "5.8% at 25, 7.0% at 40 (500 replicates); Kenward-Roger (the pages' and mmrm()'s "
    "default) holds 5.0-6.2% in the same runs; documented in mmrm()",
    "6 pairwise week contrasts, none (FWER)": "unadjusted: the family-wise rate of six "
    "comparisons is meant to exceed 5% (each single one holds 5%)",
}


def run_cell(name: str, n: int, reps: int, seed_extra: int = 0, **kw) -> dict:
    func = CHECKS[name][0]
    key = sum(ord(c) * (i + 1) for i, c in enumerate(name))
    rng = np.random.default_rng(np.random.SeedSequence([BASE, key, n, seed_extra]))
    counts: dict[str, list[int]] = {}
    for _ in range(reps):
        for stat, (rej, cov) in func(rng, n, **kw).items():
            c = counts.setdefault(stat, [0, 0, 0, 0])  # rejections, tests, misses, intervals
            if rej is not None:
                c[0] += bool(rej)
                c[1] += 1
            if cov is not None:
                c[2] += not cov
                c[3] += 1
    return counts


def _judge(stat: str, rej: int, tests: int, miss: int, ints: int, conservative: set) -> list:
    bad = []
    if stat in EXCEPTIONS:  # measured and reported, not judged
        return bad
    if tests:
        lo, hi = band(tests)
        if stat in conservative:
            if rej > hi:
                bad.append(f"{stat}: {rej}/{tests} rejections > {hi} (conservative bound)")
        elif not lo <= rej <= hi:
            bad.append(f"{stat}: {rej}/{tests} rejections outside [{lo}, {hi}]")
    if ints:
        lo, hi = band(ints)
        if stat in conservative:
            if miss > hi:
                bad.append(f"{stat}: {miss}/{ints} intervals miss the truth > {hi}")
        elif not lo <= miss <= hi:
            bad.append(f"{stat}: {miss}/{ints} intervals miss the truth, outside [{lo}, {hi}]")
    return bad


# --------------------------------------------------------------------------------------
# CI part
# --------------------------------------------------------------------------------------

def test_band_is_exact():
    lo, hi = band(2000)
    tail = (1 - LEVEL) / 2
    assert sps.binom.cdf(lo - 1, 2000, ALPHA) <= tail < sps.binom.cdf(lo, 2000, ALPHA)
    assert sps.binom.sf(hi, 2000, ALPHA) <= tail < sps.binom.sf(hi - 1, 2000, ALPHA)
    assert band(1000) == (33, 69)  # 3.3% to 6.9%


@pytest.mark.parametrize("name", list(CHECKS))
def test_null_rejection_and_coverage(name):
    """Per n (coarse band) and pooled over the four n (tighter band)."""
    _, ci_reps, _, conservative = CHECKS[name]
    ns = (16,) if name == "cross_lagged" else NS
    pooled: dict[str, np.ndarray] = {}
    bad = []
    for n in ns:
        for stat, c in run_cell(name, n, ci_reps).items():
            bad += [f"n={n} " + b for b in _judge(stat, *c, conservative)]
            pooled[stat] = pooled.get(stat, np.zeros(4, int)) + np.array(c)
    for stat, c in pooled.items():
        bad += ["pooled " + b for b in _judge(stat, *c, conservative)]
    assert not bad, "\n".join(bad)


def test_cross_lagged_old_method_is_liberal_and_kept():
    """The LMM method is still available and is what the R references compare."""
    rng = np.random.default_rng(1)
    d = gen_crosslag(rng, 16, **CL_MODEL)
    r = hs.cross_lagged(d, "x", "y", "week", "subject", method="lmm")
    assert (r["method"] == "within-between LMM").all()


def test_crosslag_std_path():
    c = crosslag_std_path(0.5, 0.4, 0.5, 0.3)
    from scipy.linalg import solve_discrete_lyapunov
    S = solve_discrete_lyapunov(np.array([[0.5, 0], [c, 0.4]]), np.array([[1, .5], [.5, 1]]))
    assert c * np.sqrt(S[0, 0] / S[1, 1]) == pytest.approx(0.3, rel=1e-8)


# --------------------------------------------------------------------------------------
# full run (pytest -m calibration): per n, large replicate counts; writes the table
# --------------------------------------------------------------------------------------

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_results.json"
# held-out cross-lagged generating models: the method was developed on other models
# (AR 0.4/0.32 and 0.8/0.64, innovation correlation 0.5 and 0.2) and on a first held-out
# set whose results led to its final form (p-values by inverting the interval); these four
# models and their seeds were run once, for the README
HELD_OUT = [
    {"a_x": 0.35, "a_y": 0.55, "rho": 0.65, "between_sd": 0.7},
    {"a_x": 0.65, "a_y": 0.45, "rho": 0.35, "between_sd": 1.8},
    {"a_x": 0.15, "a_y": 0.3, "rho": 0.75, "between_sd": 1.2},
    {"a_x": 0.55, "a_y": 0.75, "rho": 0.45, "between_sd": 1.4},
]


def _record(section: str, key: str, value) -> None:
    import fcntl

    with open(RESULTS.with_suffix(".lock"), "w") as lock:  # pytest -n 2 writes in parallel
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        data.setdefault(section, {})[key] = value
        RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.mark.calibration
@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("name", [c for c in CHECKS if c != "cross_lagged"])
def test_full_calibration(name, n):
    _, _, reps, conservative = CHECKS[name]
    reps = int(os.environ.get("CALIBRATION_REPS", reps))
    t0 = time.perf_counter()
    counts = run_cell(name, n, reps, seed_extra=1)
    secs = time.perf_counter() - t0
    bad = []
    for stat, c in counts.items():
        _record("null", f"{name} | {stat} | n={n}",
                {"reps": reps, "rejections": c[0], "tests": c[1], "misses": c[2],
                 "intervals": c[3], "band": band(c[1] or c[3]), "seconds": round(secs, 1)})
        bad += _judge(stat, *c, conservative)
    assert not bad, "\n".join(bad)


@pytest.mark.calibration
@pytest.mark.parametrize("method", ["bootstrap", "lmm"])
@pytest.mark.parametrize("model", range(len(HELD_OUT)))
def test_cross_lagged_held_out(model, method):
    """16 subjects x 4 visits: type I error (target <= 6.4% each direction over 1,000
    replicates), CI coverage, and power at a true standardised x -> y path of 0.3."""
    reps = int(os.environ.get("CALIBRATION_REPS", 1000)) // len(HELD_OUT)
    m = HELD_OUT[model]
    null = run_cell("cross_lagged", 16, reps, seed_extra=300 + model, model=m, method=method,
                    n_boot=499)
    path = crosslag_std_path(m["a_x"], m["a_y"], m["rho"], 0.3)
    alt = run_cell("cross_lagged", 16, reps, seed_extra=400 + model, model=m, method=method,
                   n_boot=499, path=path)
    _record("cross_lagged", f"{method} | model {model} {m}",
            {"reps": reps, "null": null, "power_std0.3": alt["x -> y"][0] / reps,
             "coverage_at_0.3": 1 - alt["x -> y"][2] / reps})
    if method == "bootstrap":
        for stat, c in null.items():
            assert c[0] <= band(reps)[1], (stat, c)
