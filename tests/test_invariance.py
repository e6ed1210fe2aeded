"""Property tests (hypothesis) of invariances that every analysis must respect (issue 11,
item 7), on random trial-shaped data: 3-40 subjects, 2-6 visits, missed visits, effects of
either sign up to 20 residual SDs, residual SDs 0.01-10, random slopes from none to large.

* scaling the outcome by c > 0 scales estimates, SEs and CI limits by c and leaves t, df,
  p-values and standardised effects unchanged;
* adding a constant to the outcome changes only the intercept (and means);
* permuting the rows and relabelling the subjects changes nothing;
* whatever the data, an analysis returns or raises a :class:`hipstats.errors.HipstatsError`,
  never anything else.

Covered: mixed_model, paired_change, ancova, mixed_anova, timepoint_corr, rm_corr (plus
effect_from_summary / meta_analysis under scaling, shifting and reordering studies, and
the sign symmetry of power_ttest / power_corr); the crash property also runs
select_random and responders.

The transformations are exact in real arithmetic, so the tolerances only absorb rounding
and, for mixed models, the optimiser's convergence tolerance. Closed-form analyses: 1e-6
relative (CI limits within 1e-6 of the CI width). Mixed models: estimates 1e-5 relative
(or 1e-5 SE), SEs, t, sigma and variance components 1e-4, df 1e-3, p-values 1e-4 (1e-8
absolute), log-likelihood 1e-4 absolute. A fit at a boundary (singular) has a flat optimum
along the degenerate direction, so there only the log-likelihood and the estimates (1e-3)
are compared.
"""

from __future__ import annotations

import gc
import math
import traceback
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import hipstats
from hipstats.errors import HipstatsError

# No shrinking or explaining: with derandomize=True a failure is reproducible as printed,
# and shrinking a slow mixed-model failure can take minutes (the file must stay < 60 s).
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module", autouse=True)
def _unfreeze_gc():
    yield
    gc.unfreeze()


def _freeze():
    """statsmodels' Holm adjustment (timepoint_corr padjust="holm") runs a full
    gc.collect() on every call; collect young garbage and freeze the survivors first so
    that collection stays cheap (see tests/test_differential.py)."""
    gc.collect(1)
    gc.freeze()


# ------------------------------------------------------------------ data
@st.composite
def trials(draw, min_subjects=3, max_subjects=40, group=None, complete=None):
    """A long person-period frame: subject, week, visit, group, y, x."""
    n = draw(st.integers(min_subjects, max_subjects))
    J = draw(st.integers(2, 6))
    spacing = draw(st.sampled_from([1.0, 2.0, 3.0]))
    has_group = draw(st.booleans()) if group is None else group
    sigma = 10 ** draw(st.floats(-2, 1))
    tau0 = sigma * draw(st.sampled_from([0.0, 1e-3, 0.5, 3.0, 10.0]))
    tau1 = sigma * draw(st.sampled_from([0.0, 1e-3, 0.2, 1.0]))
    b = [sigma * draw(st.floats(-20, 20)) for _ in range(4)]
    b0 = draw(st.sampled_from([0.0, 50.0, -1000.0])) * sigma + b[0]
    miss = 0.0 if complete else draw(st.sampled_from([0.0, 0.05, 0.2]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    rng = np.random.default_rng(seed)
    weeks = spacing * np.arange(J)
    si = np.repeat(np.arange(n), J)
    wk = np.tile(weeks, n)
    if has_group:
        nb = max(1, min(n - 1, int(round(n * draw(st.floats(0.25, 0.75))))))
        grp = np.array(["ctrl"] * (n - nb) + ["hip"] * nb)
        rng.shuffle(grp)
    else:
        grp = np.array(["all"] * n)
    g = (grp[si] == "hip").astype(float)
    u0, u1 = rng.normal(0, 1, n) * tau0, rng.normal(0, 1, n) * tau1
    xa = rng.normal(0, 1, n)
    x = 10 + xa[si] + 0.1 * wk + rng.normal(0, 0.5, n * J)
    span = max(weeks.max(), 1.0)
    y = (b0 + b[1] / span * wk + b[2] * g + b[3] / span * g * wk + u0[si] + u1[si] * wk
         + sigma * (x - 10 - xa[si]) + rng.normal(0, sigma, n * J))
    d = pd.DataFrame({"subject": [f"P{i:02d}" for i in si], "week": wk,
                      "visit": [f"w{int(w):02d}" for w in wk], "group": grp[si], "y": y, "x": x})
    if miss:
        d = d[rng.random(len(d)) >= miss].reset_index(drop=True)
    return d


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*a, **k)


def _try(fn, *a, **k):
    """Run an analysis; None when it refuses with a HipstatsError (anything else fails)."""
    try:
        return _quiet(fn, *a, **k)
    except HipstatsError:
        return None


def _close(got, want, rel, abs_=0.0, what=""):
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape, what
    nan = np.isnan(want)
    assert np.array_equal(np.isnan(got), nan), f"{what}: NaN pattern {got} vs {want}"
    tol = np.maximum(rel * np.abs(want), abs_)
    diff = np.abs(got - want)
    bad = ~nan & (diff > tol)
    assert not bad.any(), f"{what}: {got[bad]} vs {want[bad]} (diff {diff[bad]})"


def _pvals(got, want, what=""):
    _close(got, want, rel=1e-4, abs_=1e-8, what=what)


def _permute(d: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Rows shuffled and subjects relabelled with labels that sort differently."""
    rng = np.random.default_rng(seed)
    subs = d["subject"].unique()
    new = {s: f"S{v:04d}x" for s, v in zip(subs, rng.permutation(9000)[: len(subs)] + 100)}
    return d.assign(subject=d["subject"].map(new)).iloc[rng.permutation(len(d))] \
        .reset_index(drop=True)


SCALES = st.sampled_from([1e-3, 0.37, 4.0, 250.0])
SHIFTS = st.sampled_from([-1e3, -7.5, 0.3, 42.0])


# ------------------------------------------------------------------ mixed_model
MODELS = st.sampled_from([
    ("y ~ week", None, True, "satterthwaite"),
    ("y ~ week * group", "week", True, "satterthwaite"),
    ("y ~ week + x", "week", False, "satterthwaite"),
    ("y ~ visit", None, True, "kenward-roger"),
    ("y ~ visit + group", "week", True, "kenward-roger"),
    ("y ~ week * group", None, False, "satterthwaite"),
])


def _fit(d, spec):
    formula, random, reml, ddf = spec
    if "group" in formula and d["group"].nunique() < 2:
        formula = formula.replace(" * group", "").replace(" + group", "")
    return _try(hipstats.mixed_model, d, formula, "subject", random=random, reml=reml,
                df_method=ddf)


def _same_fit(a, b, scale=1.0, shift=0.0, what=""):
    """b is the fit of (scale * y + shift): compare with a."""
    assert (a is None) == (b is None), f"{what}: one fit refused, the other did not"
    if a is None:
        return
    n_eff = a.nobs - (len(a.fixed) if a.reml else 0)
    _close(b.loglik, a.loglik - n_eff * math.log(scale), rel=0, abs_=1e-4, what=f"{what} loglik")
    est_a, est_b = a.fixed["estimate"].to_numpy(), b.fixed["estimate"].to_numpy()
    se_a = a.fixed["se"].to_numpy()
    shifted = est_a * scale + np.where(a.fixed.index == "Intercept", shift, 0.0)
    assert list(a.fixed.index) == list(b.fixed.index)
    if a.singular or b.singular:
        _close(est_b, shifted, rel=1e-3, abs_=1e-3 * scale * se_a, what=f"{what} estimates")
        return
    assert a.converged == b.converged, what
    _close(est_b, shifted, rel=1e-5, abs_=1e-5 * scale * se_a, what=f"{what} estimates")
    _close(b.fixed["se"], se_a * scale, rel=1e-4, what=f"{what} se")
    t_a = a.fixed["t"].to_numpy()
    if shift:   # the intercept's t changes with its estimate
        keep = a.fixed.index != "Intercept"
        _close(b.fixed["t"].to_numpy()[keep], t_a[keep], rel=1e-4, abs_=1e-5, what=f"{what} t")
    else:
        _close(b.fixed["t"], t_a, rel=1e-4, abs_=1e-5, what=f"{what} t")
        _pvals(b.fixed["pval"], a.fixed["pval"], what=f"{what} pval")
    _close(b.fixed["df"], a.fixed["df"], rel=1e-3, what=f"{what} df")
    _close(b.sigma, a.sigma * scale, rel=1e-4, what=f"{what} sigma")
    var = a.random["var2"].isna().to_numpy()
    _close(b.random["vcov"].to_numpy()[var], a.random["vcov"].to_numpy()[var] * scale ** 2,
           rel=1e-4, what=f"{what} variances")
    _close(b.random["sdcor"].to_numpy()[~var], a.random["sdcor"].to_numpy()[~var],
           rel=1e-4, abs_=1e-4, what=f"{what} correlations")


@settings(max_examples=25, **SETTINGS)
@given(d=trials(), spec=MODELS, c=SCALES)
def test_mixed_model_scale(d, spec, c):
    _same_fit(_fit(d, spec), _fit(d.assign(y=d["y"] * c), spec), scale=c, what=f"x{c}")


@settings(max_examples=25, **SETTINGS)
@given(d=trials(), spec=MODELS, k=SHIFTS)
def test_mixed_model_shift(d, spec, k):
    _same_fit(_fit(d, spec), _fit(d.assign(y=d["y"] + k), spec), shift=k, what=f"+{k}")


@settings(max_examples=25, **SETTINGS)
@given(d=trials(), spec=MODELS, seed=st.integers(0, 1000))
def test_mixed_model_permute(d, spec, seed):
    a, b = _fit(d, spec), _fit(_permute(d, seed), spec)
    _same_fit(a, b, what="permuted")
    if a is not None and not a.singular:   # subject effects follow their subject
        _close(b.blups.sort_index().to_numpy().ravel(),
               a.blups.set_axis(_permute_labels(d, seed)).sort_index().to_numpy().ravel(),
               rel=1e-4, abs_=1e-5 * a.sigma, what="blups")


def _permute_labels(d, seed):
    rng = np.random.default_rng(seed)
    subs = d["subject"].unique()
    new = dict(zip(subs, (f"S{v:04d}x" for v in rng.permutation(9000)[: len(subs)] + 100)))
    return [new[s] for s in sorted(subs)]


# ------------------------------------------------------------------ pre/post analyses
PAIRED_SCALED = ["mean_pre", "mean_post", "mean_diff", "sd_diff", "ci_low", "ci_high"]
PAIRED_FREE = ["t", "dof", "dz", "dz_ci_low", "dz_ci_high", "hedges_g", "g_ci_low",
               "g_ci_high", "n"]


def _paired(d, group):
    last = d["week"].max()
    return _try(hipstats.paired_change, d, "y", "week", "subject", 0.0, last,
                group="group" if group else None)


def _cmp_frames(a, b, scaled, free, c=1.0, shifted=(), k=0.0, pcols=("pval",), what=""):
    assert (a is None) == (b is None), what
    if a is None:
        return
    assert len(a) == len(b), what
    for col in scaled:
        add = k if col in shifted else 0.0
        width = (a["ci_high"] - a["ci_low"]).abs().to_numpy() if "ci_high" in a else 0.0
        _close(b[col], a[col].to_numpy() * c + add, rel=1e-6,
               abs_=np.maximum(1e-9 * abs(c), 1e-6 * abs(c) * width + 1e-9 * abs(k)),
               what=f"{what} {col}")
    for col in free:
        _close(b[col], a[col], rel=1e-6, abs_=1e-9, what=f"{what} {col}")
    for col in pcols:
        _pvals(b[col], a[col], what=f"{what} {col}")


@settings(max_examples=40, **SETTINGS)
@given(d=trials(), group=st.booleans(), c=SCALES, k=SHIFTS, seed=st.integers(0, 1000))
def test_paired_change_invariances(d, group, c, k, seed):
    a = _paired(d, group)
    _cmp_frames(a, _paired(d.assign(y=d["y"] * c), group), PAIRED_SCALED, PAIRED_FREE, c=c,
                what=f"x{c}")
    _cmp_frames(a, _paired(d.assign(y=d["y"] + k), group), PAIRED_SCALED, PAIRED_FREE,
                shifted=("mean_pre", "mean_post"), k=k, what=f"+{k}")
    _cmp_frames(a, _paired(_permute(d, seed), group), PAIRED_SCALED, PAIRED_FREE,
                what="permuted")


def _ancova(d):
    return _try(hipstats.ancova, d, "y", "week", "subject", "group", 0.0, d["week"].max(),
                reference="ctrl")


def _means(res):
    return pd.DataFrame(res.attrs["adjusted_means"]) if res is not None else None


@settings(max_examples=40, **SETTINGS)
@given(d=trials(group=True), c=SCALES, k=SHIFTS, seed=st.integers(0, 1000))
def test_ancova_invariances(d, c, k, seed):
    a = _ancova(d)
    for b, cc, kk, what in ((_ancova(d.assign(y=d["y"] * c)), c, 0.0, f"x{c}"),
                            (_ancova(d.assign(y=d["y"] + k)), 1.0, k, f"+{k}"),
                            (_ancova(_permute(d, seed)), 1.0, 0.0, "permuted")):
        _cmp_frames(a, b, ["estimate", "se", "ci_low", "ci_high"], ["t", "dof", "n"], c=cc,
                    what=what)
        _cmp_frames(_means(a), _means(b), ["adjusted_mean", "se", "ci_low", "ci_high"], [],
                    c=cc, shifted=("adjusted_mean", "ci_low", "ci_high"), k=kk, pcols=(),
                    what=f"{what} adjusted means")


# ------------------------------------------------------------------ mixed ANOVA
def _anova(d, between):
    return _try(hipstats.mixed_anova, d, "y", "week", "subject",
                between="group" if between and d["group"].nunique() > 1 else None)


@settings(max_examples=40, **SETTINGS)
@given(d=trials(), between=st.booleans(), c=SCALES, k=SHIFTS, seed=st.integers(0, 1000))
def test_mixed_anova_invariances(d, between, c, k, seed):
    a = _anova(d, between)
    free = ["df1", "df2", "F", "ges", "eps"]
    for b, cc, what in ((_anova(d.assign(y=d["y"] * c), between), c, f"x{c}"),
                        (_anova(d.assign(y=d["y"] + k), between), 1.0, f"+{k}"),
                        (_anova(_permute(d, seed), between), 1.0, "permuted")):
        assert (a is None) == (b is None), what
        if a is None:
            continue
        assert list(a["effect"]) == list(b["effect"])
        for col in free:
            _close(b[col], a[col], rel=1e-6, abs_=1e-10, what=f"{what} {col}")
        for col in ("SS", "MSE"):
            _close(b[col], a[col] * cc ** 2, rel=1e-6, abs_=1e-12 * cc ** 2 * a["MSE"].max(),
                   what=f"{what} {col}")
        _pvals(b["pval"], a["pval"], what=f"{what} pval")
        _pvals(b["pval_gg"], a["pval_gg"], what=f"{what} pval_gg")


# ------------------------------------------------------------------ correlations
def _tcorr(d, method):
    _freeze()
    return _try(hipstats.timepoint_corr, d, "x", "y", "week", method=method, padjust="holm")


@settings(max_examples=40, **SETTINGS)
@given(d=trials(), method=st.sampled_from(["pearson", "spearman"]), c=SCALES, k=SHIFTS,
       seed=st.integers(0, 1000))
def test_timepoint_corr_invariances(d, method, c, k, seed):
    a = _tcorr(d, method)
    for b, what in ((_tcorr(d.assign(y=d["y"] * c), method), f"x{c}"),
                    (_tcorr(d.assign(y=d["y"] + k, x=d["x"] - k), method), f"+{k}"),
                    (_tcorr(_permute(d, seed), method), "permuted")):
        _cmp_frames(a, b, [], ["week", "n", "r", "ci_low", "ci_high"],
                    pcols=("pval", "pval_adj"), what=what)
    flipped = _tcorr(d.assign(y=-d["y"]), method)   # c < 0 flips the sign of r only
    if a is not None:
        _close(flipped["r"], -a["r"], rel=1e-6, abs_=1e-9, what="negated r")
        _close(flipped["ci_low"], -a["ci_high"], rel=1e-6, abs_=1e-9, what="negated CI")
        _pvals(flipped["pval"], a["pval"], what="negated pval")


def _rmcorr(d):
    return _try(hipstats.rm_corr, d, "x", "y", "subject")


@settings(max_examples=40, **SETTINGS)
@given(d=trials(), c=SCALES, k=SHIFTS, seed=st.integers(0, 1000))
def test_rm_corr_invariances(d, c, k, seed):
    a = _rmcorr(d)
    free = ["r", "dof", "ci_low", "ci_high", "n_obs", "n_subjects"]
    for b, what in ((_rmcorr(d.assign(y=d["y"] * c, x=d["x"] / c)), f"x{c}"),
                    (_rmcorr(d.assign(y=d["y"] + k)), f"+{k}"),
                    (_rmcorr(_permute(d, seed)), "permuted")):
        _cmp_frames(a, b, [], free, what=what)


# ------------------------------------------------------------------ meta-analysis, power
@st.composite
def summaries(draw):
    k = draw(st.integers(2, 10))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))
    scale = 10 ** draw(st.floats(-1, 2))
    delta = draw(st.floats(-3, 3))
    n1, n2 = rng.integers(3, 150, k), rng.integers(3, 150, k)
    sd1, sd2 = scale * rng.uniform(0.3, 2, k), scale * rng.uniform(0.3, 2, k)
    m2 = scale * rng.uniform(1, 8, k)
    m1 = m2 + delta * sd1 + rng.normal(0, draw(st.sampled_from([0.0, 0.3, 1.0])) * scale, k)
    return pd.DataFrame({"m1": m1, "sd1": sd1, "n1": n1, "m2": m2, "sd2": sd2, "n2": n2})


@settings(max_examples=40, **SETTINGS)
@given(s=summaries(), c=SCALES, k=SHIFTS, seed=st.integers(0, 1000),
       method=st.sampled_from(["REML", "DL", "FE"]), test=st.sampled_from(["z", "knha"]))
def test_meta_analysis_invariances(s, c, k, seed, method, test):
    es = _try(hipstats.effect_from_summary, s.m1, s.sd1, s.n1, s.m2, s.sd2, s.n2, measure="MD")
    smd = _try(hipstats.effect_from_summary, s.m1, s.sd1, s.n1, s.m2, s.sd2, s.n2)
    smd_c = _try(hipstats.effect_from_summary, s.m1 * c + k, s.sd1 * c, s.n1, s.m2 * c + k,
                 s.sd2 * c, s.n2)
    # (m1 c + k) - (m2 c + k) carries rounding of about 1e-16 |k| / (c sd): yi near zero
    # can only agree to ~1e-9 absolute
    _close(smd_c["yi"], smd["yi"], rel=1e-9, abs_=1e-9, what="SMD under scale + shift")
    _close(smd_c["vi"], smd["vi"], rel=1e-9, what="SMD vi")
    a = _try(hipstats.meta_analysis, es, method=method, test=test)
    scaled = _try(hipstats.meta_analysis, es.assign(yi=es.yi * c, vi=es.vi * c ** 2),
                  method=method, test=test)
    shifted = _try(hipstats.meta_analysis, es.assign(yi=es.yi + k), method=method, test=test)
    perm = es.iloc[np.random.default_rng(seed).permutation(len(es))]
    permuted = _try(hipstats.meta_analysis, perm, method=method, test=test)
    if a is None:
        assert scaled is None and shifted is None and permuted is None
        return
    free = ["k", "i2", "h2", "q", "q_pval", "q_df"]
    width = float(a["ci_high"].iloc[0] - a["ci_low"].iloc[0])
    _close(scaled["estimate"], a["estimate"] * c, rel=1e-6, abs_=1e-6 * c * width, what="x c")
    _close(scaled["se"], a["se"] * c, rel=1e-4, what="se x c")
    _close(scaled["tau2"], a["tau2"] * c ** 2, rel=1e-4, abs_=1e-10 * c ** 2 * es.vi.mean(),
           what="tau2 x c^2")
    _close(scaled["stat"], a["stat"], rel=1e-4, abs_=1e-6, what="stat x c")
    _close(scaled[["i2", "h2"]].to_numpy(), a[["i2", "h2"]].to_numpy(), rel=1e-4, abs_=1e-6,
           what="i2/h2 x c")
    _close(shifted["estimate"], a["estimate"] + k, rel=1e-6, abs_=1e-6 * width + 1e-12 * abs(k),
           what="+ k")
    _close(shifted[["se", "tau2"]].to_numpy(), a[["se", "tau2"]].to_numpy(), rel=1e-6,
           abs_=1e-12, what="se, tau2 + k")
    _close(shifted[free].to_numpy(float), a[free].to_numpy(float), rel=1e-6, abs_=1e-9,
           what="+ k")
    cols = ["estimate", "se", "stat", "tau2", "ci_low", "ci_high"] + free
    _close(permuted[cols].to_numpy(float), a[cols].to_numpy(float), rel=1e-6, abs_=1e-9,
           what="permuted studies")


@settings(max_examples=60, **SETTINGS)
@given(es=st.floats(0.02, 3), n=st.integers(2, 2000), paired=st.booleans(),
       r=st.floats(0.01, 0.98), alpha=st.sampled_from([0.01, 0.05, 0.1]))
def test_power_symmetry(es, n, paired, r, alpha):
    """The sign of the effect only swaps the one-sided alternatives."""
    t = lambda d, alt: _quiet(hipstats.power_ttest, d, n=n, paired=paired,  # noqa: E731
                              alpha=alpha, alternative=alt)
    _close(t(es, "two-sided"), t(-es, "two-sided"), rel=1e-9, what="t two-sided")
    _close(t(es, "greater"), t(-es, "less"), rel=1e-9, what="t one-sided")
    if n > 4:
        p = lambda rr, alt: hipstats.power_corr(rr, n=n, alpha=alpha, alternative=alt)  # noqa
        _close(p(r, "two-sided"), p(-r, "two-sided"), rel=1e-9, what="r two-sided")
        _close(p(r, "greater"), p(-r, "less"), rel=1e-9, what="r one-sided")


# ------------------------------------------------------------------ never crash
@st.composite
def awkward_trials(draw):
    """Trial-shaped data, sometimes made awkward: a constant outcome in a group, a
    duplicated column, a single visit left for most subjects, a huge offset."""
    d = draw(trials(min_subjects=3, max_subjects=40))
    twist = draw(st.sampled_from(["none", "none", "const_group", "x_is_y", "sparse",
                                  "offset", "one_group_left", "ties"]))
    if twist == "const_group":
        d.loc[d["group"] == d["group"].iloc[0], "y"] = 5.0
    elif twist == "x_is_y":
        d["x"] = d["y"]
    elif twist == "sparse":
        keep = ~d.duplicated("subject") | (np.arange(len(d)) % 5 == 0)
        d = d[keep].reset_index(drop=True)
    elif twist == "offset":
        d["y"] = d["y"] + 1e9
    elif twist == "one_group_left":
        d = d[d["group"] == d["group"].iloc[0]].reset_index(drop=True)
    elif twist == "ties":
        d["y"] = d["y"].round(0)
        d["x"] = d["x"].round(0)
    return d


def _all_analyses(d):
    last = d["week"].max()
    yield lambda: hipstats.mixed_model(d, "y ~ week", "subject", random="week")
    yield lambda: hipstats.mixed_model(d, "y ~ visit * group", "subject",
                                       df_method="kenward-roger")
    yield lambda: hipstats.mixed_model(d, "y ~ week + x", "subject", reml=False)
    yield lambda: hipstats.select_random(d, "y ~ week", "subject", random="week")
    yield lambda: hipstats.mixed_anova(d, "y", "week", "subject", between="group")
    yield lambda: hipstats.mixed_anova(d, "y", "visit", "subject")
    yield lambda: hipstats.paired_change(d, "y", "week", "subject", 0.0, last, group="group")
    yield lambda: hipstats.paired_change(d, "y", "week", "subject", 0.0, last)
    yield lambda: hipstats.ancova(d, "y", "week", "subject", "group", 0.0, last)
    yield lambda: hipstats.responders(d, "y", "week", "subject", 0.0, last, group="group")
    yield lambda: _freeze() or hipstats.timepoint_corr(d, "x", "y", "week", padjust="holm")
    yield lambda: hipstats.timepoint_corr(d, "x", "y", "week", method="spearman")
    yield lambda: hipstats.rm_corr(d, "x", "y", "subject")


@settings(max_examples=30, **SETTINGS)
@given(d=awkward_trials())
def test_no_analysis_crashes(d):
    for i, call in enumerate(_all_analyses(d)):
        try:
            _quiet(call)
        except HipstatsError:
            pass
        except Exception as e:  # noqa: BLE001 - the property under test
            tb = "".join(traceback.format_exception(e, limit=-4))
            pytest.fail(f"analysis #{i} raised {type(e).__name__}: {e}\n{tb}")
