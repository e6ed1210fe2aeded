"""Differential tests against R on ~200 random trial-shaped data sets (issue 11, item 7).

Data: ``tests/reference/differential_data.py`` -> ``tests/reference/data/differential/``.
R's answers: ``tests/reference/differential.R`` -> ``tests/reference/differential.json``
(lme4/lmerTest/pbkrtest, afex, t.test + noncentral-t CIs, emmeans, cor.test, rmcorr's
ANCOVA, metafor, pwr). Replayed here without R.

Tolerances (relative unless stated):
    estimates (fixed effects, means, r, effect sizes, CI limits, power)   1e-5
    standard errors, t, sigma, variance components, tau^2                  1e-4
    denominator df (Satterthwaite, Kenward-Roger)                          1e-3
    p-values                                           1e-4, or 1e-8 absolute for tiny ones
    log-likelihood                                                         1e-4 absolute
A relative tolerance means nothing for a value near zero, so every quantity also has an
absolute floor on its own natural scale: an estimate agrees within 1e-5 of its standard
error, a CI limit within 1e-5 of the CI's width, a correlation within 1e-8.

Fits that lme4 flags singular (``isSingular``) are compared only on the log-likelihood
(1e-4 absolute) and the fixed-effect estimates (1e-3): at a boundary optimum the deviance is
flat along the degenerate direction, so the variance components, SEs and df differ between
two correct optimisers by far more than the tolerances above.

Each lme4 reference is lme4's best fit (``lme4_best.R``): the lowest deviance of four
optimisers (bobyqa, Nelder-Mead, nloptwrap, nlminb) and of a search on each boundary, then
Newton steps on lme4's deviance with lme4's finite-difference derivatives, as a
derivative-free optimiser alone stops short on flat ridges and boundaries (every
optimiser's log-likelihood is recorded). hipstats' ``singular`` flag must equal lme4's ``isSingular`` and, for
non-singular fits, ``converged`` must equal "lme4's convergence check raised nothing".

Analyses R cannot run on a data set (a group without complete pairs, no residual df) are
recorded as errors; hipstats must then raise a HipstatsError.

Every comparison of one analysis is made before the test fails, so a failure lists all
mismatching quantities with both values.
"""

from __future__ import annotations

import gc
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.errors import HipstatsError
from rcompare import COUNTS, Compare, check_lmm  # noqa: E402  (tests/ is on sys.path)

REF = Path(__file__).parent / "reference"
# DIFF_DIR / DIFF_OUT replay a fresh held-out batch (tests/reference/differential_data.py)
DIR = Path(os.environ.get("DIFF_DIR") or REF / "data" / "differential")
R = json.loads(Path(os.environ.get("DIFF_OUT") or REF / "differential.json").read_text())
_ALL = pd.read_csv(DIR / "datasets.csv", dtype={"dataset": str, "subject": str, "visit": str,
                                                 "group": str})
DATA = {k: g.drop(columns="dataset").reset_index(drop=True)
        for k, g in _ALL.groupby("dataset", sort=True)}
SETS = R["datasets"]
if not os.environ.get("DIFF_DIR"):
    # data sets of a held-out batch that once found a defect (differential_extra.py)
    _X = json.loads((REF / "differential_extra.json").read_text())["datasets"]
    _XD = pd.read_csv(REF / "data" / "differential_extra" / "datasets.csv",
                      dtype={"dataset": str, "subject": str, "visit": str, "group": str})
    DATA.update({k: g.drop(columns="dataset").reset_index(drop=True)
                 for k, g in _XD.groupby("dataset", sort=True)})
    SETS = {**SETS, **_X}


@pytest.fixture(scope="module", autouse=True)
def _module_setup():
    yield
    gc.unfreeze()
    if os.environ.get("DIFF_COUNTS"):
        Path(os.environ["DIFF_COUNTS"]).write_text(json.dumps(COUNTS, indent=1))


@pytest.fixture(autouse=True)
def _freeze_gc():
    """timepoint_corr(padjust="holm") reaches statsmodels' multipletests, which runs a
    full gc.collect() on every call: with pytest's ~2,000 items and their reports in memory
    that was most of this file's runtime. Before each test, young garbage is collected and
    every surviving object frozen (kept out of later collections; unfrozen at the end of
    the module). Nothing the tests compare depends on it."""
    gc.collect(1)
    gc.freeze()


def _expect_error(fn):
    """R could not run the analysis: hipstats must refuse with its own error."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(HipstatsError):
            fn()


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


# ------------------------------------------------------------------ mixed models
LMM_CASES = [(ds, key) for ds in sorted(SETS) for key in sorted(SETS[ds]["lmm"])]


#: Known disagreements, kept visible (strict: a fix makes the test fail until removed).
#: None at present: the flat near-boundary optima (d179-m1, d207-m1) were settled by asking
#: R's four optimisers (the reference keeps the best fit and the range of VarCorr over the
#: fits within 1e-6 of it; see differential.R).
KNOWN: dict = {}
LMM_PARAMS = [pytest.param(d, k, id=f"{d}-{k}",
                           marks=[pytest.mark.xfail(strict=True, reason=KNOWN[(d, k)])]
                           if (d, k) in KNOWN else []) for d, k in LMM_CASES]


@pytest.mark.parametrize("ds, key", LMM_PARAMS)
def test_mixed_model(ds, key):
    ref = SETS[ds]["lmm"][key]
    d = DATA[ds]
    if "error" in ref:
        pytest.fail(f"R failed on a generated model (regenerate the specs): {ref['error']}")
    random = None if ref["random"] == "1" else ref["random"]
    fit = _quiet(lambda: hipstats.mixed_model(d, ref["formula"], "subject", random=random,
                                              reml=ref["reml"], df_method=ref["ddf"]))
    c = Compare("mixed_model", f"{ds}-{key} {ref['formula']} + ({ref['random']} | subject) "
                f"{'REML' if ref['reml'] else 'ML'} {ref['ddf']}"
                f"{' [R: singular]' if ref['singular'] else ''}")
    check_lmm(c, fit, ref)


# ------------------------------------------------------------------ pre/post analyses
def _prepost(ds):
    d = DATA[ds]
    return d, float(d["week"].min()), float(d["week"].max())


def _check_paired(c: Compare, got: pd.Series, ref: dict, prefix: str = ""):
    c.same(f"{prefix}n", int(got["n"]), ref["n"])
    c.same(f"{prefix}dof", int(got["dof"]), ref["dof"])
    se = ref["sd_diff"] / math.sqrt(ref["n"])
    for k in ("mean_pre", "mean_post", "mean_diff"):
        c.num(prefix + k, got[k], ref[k], rel=1e-5, abs_=1e-5 * se)
    c.num(prefix + "sd_diff", got["sd_diff"], ref["sd_diff"], rel=1e-5)
    c.num(prefix + "t", got["t"], ref["t"], rel=1e-5, abs_=1e-5)
    c.pval(prefix + "pval", got["pval"], ref["pval"])
    w = ref["ci_high"] - ref["ci_low"]
    for k in ("ci_low", "ci_high"):
        c.num(prefix + k, got[k], ref[k], rel=1e-5, abs_=1e-5 * w)
    c.num(prefix + "dz", got["dz"], ref["dz"], rel=1e-5, abs_=1e-8)
    c.num(prefix + "hedges_g", got["hedges_g"], ref["hedges_g"], rel=1e-5, abs_=1e-8)
    if ref["nct_exact"]:   # R's pt() is an approximation beyond |ncp| = 37.62
        for lo, hi in (("dz_ci_low", "dz_ci_high"), ("g_ci_low", "g_ci_high")):
            w = ref[hi] - ref[lo]
            c.num(prefix + lo, got[lo], ref[lo], rel=1e-5, abs_=1e-5 * w)
            c.num(prefix + hi, got[hi], ref[hi], rel=1e-5, abs_=1e-5 * w)


PAIRED = sorted(SETS)
GROUPED = sorted(ds for ds in SETS if SETS[ds]["has_group"])


@pytest.mark.parametrize("ds", PAIRED)
def test_paired_change(ds):
    d, pre, post = _prepost(ds)
    ref = SETS[ds]["paired"]
    call = lambda: hipstats.paired_change(d, "y", "week", "subject", pre, post)  # noqa: E731
    if "error" in ref:
        return _expect_error(call)
    c = Compare("paired_change", f"{ds} paired_change week {pre:g} -> {post:g}")
    _check_paired(c, _quiet(call).iloc[0], ref)
    c.done()


@pytest.mark.parametrize("ds", GROUPED)
def test_paired_change_by_group(ds):
    d, pre, post = _prepost(ds)
    refs = SETS[ds]["paired_group"]
    call = lambda: hipstats.paired_change(d, "y", "week", "subject", pre, post,  # noqa: E731
                                          group="group")
    if any("error" in r for r in refs.values()):
        return _expect_error(call)
    res = _quiet(call)
    c = Compare("paired_change", f"{ds} paired_change by group")
    c.same("groups", list(res["group"]), sorted(refs))
    for _, row in res.iterrows():
        _check_paired(c, row, refs[row["group"]], prefix=f"{row['group']}: ")
    c.done()


@pytest.mark.parametrize("ds", GROUPED)
def test_ancova(ds):
    d, pre, post = _prepost(ds)
    ref = SETS[ds]["ancova"]
    call = lambda: hipstats.ancova(d, "y", "week", "subject", "group", pre, post,  # noqa: E731
                                   reference="A")
    if "error" in ref:
        return _expect_error(call)
    res = _quiet(call)
    c = Compare("ancova", f"{ds} ancova week {pre:g} -> {post:g}")
    got = res.iloc[0]
    c.same("contrast", got["contrast"], "B - A")
    c.same("n", int(got["n"]), ref["n"])
    c.same("dof", int(got["dof"]), ref["dof"])
    c.num("estimate", got["estimate"], ref["estimate"], rel=1e-5, abs_=1e-5 * ref["se"])
    c.num("se", got["se"], ref["se"], rel=1e-4)
    c.num("t", got["t"], ref["t"], rel=1e-4, abs_=1e-5)
    c.pval("pval", got["pval"], ref["pval"])
    w = ref["ci_high"] - ref["ci_low"]
    c.num("ci_low", got["ci_low"], ref["ci_low"], rel=1e-5, abs_=1e-5 * w)
    c.num("ci_high", got["ci_high"], ref["ci_high"], rel=1e-5, abs_=1e-5 * w)
    means = {m["group"]: m for m in res.attrs["adjusted_means"]}
    c.same("emmeans groups", sorted(means), sorted(ref["emm_group"]))
    for i, g in enumerate(ref["emm_group"]):
        m = means.get(g)
        if m is None:
            continue
        se = ref["emm_se"][i]
        w = ref["emm_high"][i] - ref["emm_low"][i]
        c.num(f"emmean {g}", m["adjusted_mean"], ref["emmean"][i], rel=1e-5, abs_=1e-5 * se)
        c.num(f"emmean {g} se", m["se"], se, rel=1e-4)
        c.num(f"emmean {g} ci_low", m["ci_low"], ref["emm_low"][i], rel=1e-5, abs_=1e-5 * w)
        c.num(f"emmean {g} ci_high", m["ci_high"], ref["emm_high"][i], rel=1e-5, abs_=1e-5 * w)
    c.done()


# ------------------------------------------------------------------ mixed ANOVA (afex)
@pytest.mark.parametrize("ds", PAIRED)
def test_mixed_anova(ds):
    d = DATA[ds]
    ref = SETS[ds]["anova"]
    between = "group" if SETS[ds]["has_group"] else None
    call = lambda: hipstats.mixed_anova(d, "y", "week", "subject", between=between)  # noqa: E731
    if "error" in ref:
        return _expect_error(call)
    res = _quiet(call)
    c = Compare("mixed_anova", f"{ds} mixed_anova within week"
                + (" between group" if between else ""))
    c.same("effects", list(res["effect"]), list(ref["effect"]))
    c.same("n_subjects", res.attrs["n_subjects"], ref["n_subjects"])
    got = res.set_index("effect")
    for i, eff in enumerate(ref["effect"]):
        if eff not in got.index:
            continue
        g = got.loc[eff]
        c.num(f"{eff} df1", g["df1"], ref["df1"][i], rel=1e-12)
        c.num(f"{eff} df2", g["df2"], ref["df2"][i], rel=1e-12)
        for k in ("F", "MSE", "ges"):
            c.num(f"{eff} {k}", g[k], ref[k][i], rel=1e-5, abs_=1e-12)
        c.num(f"{eff} eps", g["eps"], ref["eps"][i], rel=1e-5)
        c.pval(f"{eff} pval", g["pval"], ref["pval"][i])
        c.pval(f"{eff} pval_gg", g["pval_gg"], ref["pval_gg"][i])
    c.done()


# ------------------------------------------------------------------ correlations
TCORR = [(ds, m) for ds in sorted(SETS) for m in ("pearson", "spearman")]


@pytest.mark.parametrize("ds, method", TCORR, ids=[f"{d}-{m}" for d, m in TCORR])
def test_timepoint_corr(ds, method):
    d = DATA[ds]
    ref = SETS[ds]["tcorr"][method]
    call = lambda: hipstats.timepoint_corr(d, "x", "y", "week", method=method,  # noqa: E731
                                           padjust="holm")
    if "error" in ref:
        return _expect_error(call)
    res = _quiet(call)
    c = Compare("timepoint_corr", f"{ds} timepoint_corr {method}")
    c.same("weeks", [float(w) for w in res["week"]], [float(w) for w in ref["week"]])
    for i, (_, g) in enumerate(res.iterrows()):
        if i >= len(ref["week"]):
            break
        wk = f"week {g['week']:g}"
        c.same(f"{wk} n", int(g["n"]), int(ref["n"][i]))
        c.num(f"{wk} r", g["r"], ref["r"][i], rel=1e-5, abs_=1e-8)
        c.pval(f"{wk} pval", g["pval"], ref["pval"][i])
        c.pval(f"{wk} pval_holm", g["pval_adj"], ref["pval_holm"][i])
        c.num(f"{wk} ci_low", g["ci_low"], ref["ci_low"][i], rel=1e-5, abs_=1e-8)
        c.num(f"{wk} ci_high", g["ci_high"], ref["ci_high"][i], rel=1e-5, abs_=1e-8)
    c.done()


@pytest.mark.parametrize("ds", PAIRED)
def test_rm_corr(ds):
    d = DATA[ds]
    ref = SETS[ds]["rmcorr"]
    call = lambda: hipstats.rm_corr(d, "x", "y", "subject")  # noqa: E731
    if "error" in ref:
        return _expect_error(call)
    got = _quiet(call).iloc[0]
    c = Compare("rm_corr", f"{ds} rm_corr")
    for k in ("dof", "n_obs", "n_subjects"):
        c.same(k, int(got[k]), ref[k])
    c.num("r", got["r"], ref["r"], rel=1e-5, abs_=1e-8)
    c.pval("pval", got["pval"], ref["pval"])
    c.num("ci_low", got["ci_low"], ref["ci_low"], rel=1e-5, abs_=1e-8)
    c.num("ci_high", got["ci_high"], ref["ci_high"], rel=1e-5, abs_=1e-8)
    c.done()


# ------------------------------------------------------------------ meta-analysis
META = pd.read_csv(DIR / "meta.csv")
META_CASES = sorted(R["meta"])
RMA = {"REML_z": ("REML", "z"), "REML_knha": ("REML", "knha"), "DL_z": ("DL", "z"),
       "FE_z": ("FE", "z")}


@pytest.mark.parametrize("mid", META_CASES)
def test_meta_analysis(mid):
    s = META[META["meta"] == mid]
    ref = R["meta"][mid]
    c = Compare("meta_analysis", f"{mid} (k = {ref['k']})")
    for measure, eref in ref["escalc"].items():
        es = hipstats.effect_from_summary(s.m1, s.sd1, s.n1, s.m2, s.sd2, s.n2,
                                          measure=measure)
        yi, vi = np.atleast_1d(eref["yi"]), np.atleast_1d(eref["vi"])
        for j in range(len(yi)):
            c.num(f"{measure} yi[{j}]", es["yi"].iloc[j], yi[j], rel=1e-5,
                  abs_=1e-5 * math.sqrt(vi[j]))
            c.num(f"{measure} vi[{j}]", es["vi"].iloc[j], vi[j], rel=1e-5)
        for name, r in ref["rma"][measure].items():
            method, test = RMA[name]
            tag = f"{measure} {name}"
            if "error" in r:
                c.bad.append(f"{tag}: R failed ({r['error']}); not compared")
                continue
            got = hipstats.meta_analysis(es, method=method, test=test).iloc[0]
            c.same(f"{tag} k", int(got["k"]), r["k"])
            c.num(f"{tag} estimate", got["estimate"], r["estimate"], rel=1e-5,
                  abs_=1e-5 * r["se"])
            c.num(f"{tag} se", got["se"], r["se"], rel=1e-4)
            c.num(f"{tag} stat", got["stat"], r["stat"], rel=1e-4, abs_=1e-5)
            c.pval(f"{tag} pval", got["pval"], r["pval"])
            for k in ("ci_low", "ci_high"):
                c.num(f"{tag} {k}", got[k], r[k], rel=1e-5,
                      abs_=1e-5 * (r["ci_high"] - r["ci_low"]))
            for k in ("pi_low", "pi_high"):
                c.num(f"{tag} {k}", got[k], r[k], rel=1e-4,
                      abs_=1e-5 * (r["pi_high"] - r["pi_low"]))
            c.num(f"{tag} tau2", got["tau2"], r["tau2"], rel=1e-4, abs_=1e-10 * np.mean(vi))
            c.num(f"{tag} i2", got["i2"], r["i2"], rel=1e-4, abs_=1e-8)
            c.num(f"{tag} h2", got["h2"], r["h2"], rel=1e-4)
            c.num(f"{tag} q", got["q"], r["q"], rel=1e-5)
            c.pval(f"{tag} q_pval", got["q_pval"], r["q_pval"])
            w = hipstats.meta_analysis(es, method=method, test=test).attrs["studies"]
            for j, (gw, rw) in enumerate(zip([x["weight"] for x in w],
                                             np.atleast_1d(r["weights"]))):
                c.num(f"{tag} weight[{j}]", gw, rw, rel=1e-4)
    c.done()


# ------------------------------------------------------------------ power (pwr)
ALT = {"two.sided": "two-sided", "greater": "greater", "less": "less"}
POWER = R["power"]


@pytest.mark.parametrize("case", POWER, ids=[f"{p['kind']}-{i}" for i, p in enumerate(POWER)])
def test_power(case):
    c = Compare("power", f"{case['kind']} {case}")
    alt = ALT[case["alternative"]]
    if case["kind"] == "t":
        got = hipstats.power_ttest(case["es"], n=case["n"], paired=case["type"] == "paired",
                                   alternative=alt)
        c.num("power", got, case["value"], rel=1e-5, abs_=1e-9)
    elif case["kind"] == "r":
        got = hipstats.power_corr(case["es"], n=case["n"], alternative=alt)
        c.num("power", got, case["value"], rel=1e-5, abs_=1e-9)
    elif case["kind"] == "t_n":
        got = hipstats.power_ttest(case["es"], power=case["power"],
                                   paired=case["type"] == "paired", alternative=alt)
        # R's uniroot stops at ~1e-4 relative (tests/test_power_analytic.py)
        c.num("n", got, case["value"], rel=1e-4)
    else:
        got = hipstats.power_corr(case["es"], power=case["power"], alternative=alt)
        c.num("n", got, case["value"], rel=1e-4)
    c.done()
