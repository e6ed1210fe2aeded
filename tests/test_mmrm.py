"""hs.mmrm against independent references that need no R: ordinary least squares
(statsmodels) where the MMRM reduces to the ANCOVA, the closed-form REML/ML covariance of
complete balanced data, lme4-checked random-intercept fits for compound symmetry; exact
derivatives against finite differences; invariances; every refusal. R's mmrm itself:
tests/test_mmrm_reference.py."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import hipstats as hs
from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.fit import prepare, _start
from hipstats.stats.mmrm.likelihood import build_moments, evaluate
from hipstats.stats.mmrm.structures import STRUCTURES, covariance, n_theta


def _trial(n=40, visits=4, groups="AB", seed=0, miss=0.15, scale=1.0, shift=0.0):
    rng = np.random.default_rng(seed)
    v = np.arange(visits)
    S = (0.5 + 0.5 * 0.7 ** np.abs(np.subtract.outer(v, v))) * np.outer(1 + 0.2 * v, 1 + 0.2 * v)
    e = rng.multivariate_normal(np.zeros(visits), S, size=n)
    rows = []
    for i in range(n):
        g = groups[i % len(groups)]
        bl = rng.normal(5, 1)
        for j in range(visits):
            if rng.random() < miss:
                continue
            y = 0.5 * bl + (g != groups[0]) * 0.4 * j + e[i, j]
            rows.append((f"s{i:03d}", g, j + 1, bl, shift + scale * y))
    return pd.DataFrame(rows, columns=["subject", "group", "visit", "y_bl", "y"])


# ------------------------------------------------------------- ANCOVA (one visit)
@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("method", ["kenward-roger-linear", "satterthwaite"])
def test_one_post_visit_is_the_ancova(seed, method):
    d = _trial(n=30, visits=1, groups="ABC", seed=seed, miss=0.1)
    fit = hs.mmrm(d, "y ~ y_bl + group", "subject", time="visit", df_method=method)
    ols = smf.ols("y ~ y_bl + group", d.dropna()).fit()
    for term in ols.params.index:
        assert fit.fixed.loc[term, "estimate"] == pytest.approx(ols.params[term], rel=1e-9)
        assert fit.fixed.loc[term, "se"] == pytest.approx(ols.bse[term], rel=1e-7)
        assert fit.fixed.loc[term, "df"] == pytest.approx(ols.df_resid, rel=1e-7)
    an = fit.anova()
    ref = ols.f_test("group[T.B] = 0, group[T.C] = 0")
    assert an.loc["group", "F"] == pytest.approx(float(ref.fvalue), rel=1e-7)
    assert an.loc["group", "den_df"] == pytest.approx(ols.df_resid, rel=1e-7)


def test_pfps3wk_mmrm_equals_the_packaged_ancova():
    df = hs.example("pfps3wk")
    a = hs.mmrm_frame(df, "pain_vas", time="time", subject="subject", baseline="pre")
    fit = hs.mmrm(a, "pain_vas ~ pain_vas_bl + C(group, levels=['PFPS', 'control'])",
                  "subject", time="time")
    anc = hs.ancova(df, "pain_vas", "time", "subject", "group", "pre", "post",
                    reference="PFPS")
    row = fit.fixed.loc["C(group, levels=['PFPS', 'control'])[T.control]"]
    assert row["estimate"] == pytest.approx(anc["estimate"].iloc[0], rel=1e-9)
    assert row["se"] == pytest.approx(anc["se"].iloc[0], rel=1e-7)
    assert row["df"] == pytest.approx(anc["dof"].iloc[0], rel=1e-7)


def test_residual_df_uses_the_cr0_sandwich():
    d = _trial(n=25, visits=1, seed=4, miss=0)
    fit = hs.mmrm(d, "y ~ y_bl + group", "subject", time="visit", df_method="residual")
    ols = smf.ols("y ~ y_bl + group", d).fit(cov_type="HC0")
    np.testing.assert_allclose(fit.fixed["se"], ols.bse[fit.fixed.index], rtol=1e-7)
    assert (fit.fixed["df"] == len(d) - 3).all()


# ------------------------------------------------------ closed forms, complete data
@pytest.mark.parametrize("reml", [True, False])
def test_unstructured_complete_balanced_is_the_pooled_covariance(reml):
    d = _trial(n=36, visits=4, groups="AB", seed=5, miss=0)
    fit = hs.mmrm(d, "y ~ group * C(visit)", "subject", time="visit", reml=reml,
                  df_method="satterthwaite" if not reml else "kenward-roger-linear")
    wide = d.pivot(index="subject", columns="visit", values="y")
    grp = d.drop_duplicates("subject").set_index("subject")["group"].loc[wide.index]
    resid = wide - wide.groupby(grp.to_numpy()).transform("mean")
    S = resid.T @ resid / (len(wide) - (2 if reml else 0))
    np.testing.assert_allclose(fit.covariance.to_numpy(), S.to_numpy(), rtol=1e-6)
    cell = d.groupby(["group", "visit"])["y"].mean()
    em = fit.emmeans("group", by="visit").set_index(["group", "visit"])["emmean"]
    np.testing.assert_allclose(em.loc[cell.index].to_numpy(), cell.to_numpy(), rtol=1e-9)


def test_compound_symmetry_equals_the_random_intercept_model():
    d = _trial(n=30, visits=4, seed=6, miss=0.2)
    cs = hs.mmrm(d, "y ~ y_bl + group * C(visit)", "subject", time="visit", cov="cs",
                 df_method="satterthwaite")
    lmm = hs.mixed_model(d, "y ~ y_bl + group * C(visit)", "subject")
    assert cs.loglik == pytest.approx(lmm.loglik, abs=1e-6)
    np.testing.assert_allclose(cs.fixed["estimate"], lmm.fixed.loc[cs.fixed.index,
                               "estimate"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(cs.fixed["se"], lmm.fixed.loc[cs.fixed.index, "se"],
                               rtol=1e-5)
    np.testing.assert_allclose(cs.fixed["df"], lmm.fixed.loc[cs.fixed.index, "df"],
                               rtol=1e-4)


# ------------------------------------------------------- exact derivatives
@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("m", [2, 3, 5])
def test_structure_derivatives_match_finite_differences(structure, m):
    rng = np.random.default_rng(m)
    k = n_theta(structure, m)
    th = rng.normal(scale=0.5, size=k)
    S, dS, d2S = covariance(structure, th, m)
    np.testing.assert_allclose(S, S.T)
    h = 1e-6
    for i in range(k):
        e = np.zeros(k)
        e[i] = h
        Sp, dSp, _ = covariance(structure, th + e, m)
        Sm, dSm, _ = covariance(structure, th - e, m)
        np.testing.assert_allclose((Sp - Sm) / (2 * h), dS[i], atol=1e-7)
        np.testing.assert_allclose((dSp - dSm) / (2 * h), d2S[:, i], atol=1e-7)


@pytest.mark.parametrize("structure", ["us", "toeph", "ar1", "adh", "csh"])
@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("group_cov", [None, "group"])
def test_likelihood_gradient_and_hessian_are_exact(structure, reml, group_cov):
    d = _trial(n=45, visits=4, groups="ABC", seed=7)
    p = prepare(d, "y ~ y_bl + group * C(visit)", "subject", "visit", group_cov, None)
    ng = 1 if group_cov is None else 3
    M = build_moments(p.X, p.y, p.subj, p.visit, p.group, structure, 4, ng)
    th = _start(M, p.X, p.y, p) + np.random.default_rng(1).normal(scale=0.05, size=M.k * ng)
    e = evaluate(M, th, reml, 2)
    h = 1e-5
    for k in range(len(th)):
        step = np.zeros(len(th))
        step[k] = h
        a, b = evaluate(M, th + step, reml, 1), evaluate(M, th - step, reml, 1)
        assert (a.f - b.f) / (2 * h) == pytest.approx(e.grad[k], rel=1e-5, abs=1e-6)
        # central differences carry an error of about 1e-9 of the largest entry (entries
        # here span 0.03 to 650): absolute tolerance on that scale, as BLAS kernels differ
        np.testing.assert_allclose((a.grad - b.grad) / (2 * h), e.hess[:, k], rtol=1e-5,
                                   atol=1e-7 * np.abs(e.hess).max())


@pytest.mark.parametrize("structure, group_cov", [("us", None), ("toeph", "group"),
                                                  ("ar1h", "group")])
@pytest.mark.parametrize("linear", [True, False])
def test_kenward_roger_covariance_is_the_tensor_formula(structure, group_cov, linear):
    """The KR-adjusted covariance, summed over the variance parameters first, equals
    V + 2 V [sum_kl W_kl (Q_kl - P_k V P_l - R_kl / 4)] V built term by term from the
    K x K x q x q tensors (Kenward and Roger 1997; mmrm's h_var_adj)."""
    from hipstats.stats.mmrm.ddf import MmrmTests
    from hipstats.stats.mmrm.fit import _fit

    d = _trial(n=45, visits=4, groups="ABC", seed=7)
    p = prepare(d, "y ~ y_bl + group * C(visit)", "subject", "visit", group_cov, None)
    M, e, _, _, basis = _fit(p, structure, True)
    t = MmrmTests(M, e, True, "kenward-roger-linear" if linear else "kenward-roger", basis)
    K, q = t.W.shape[0], M.q
    Q, R = np.zeros((K, K, q, q)), np.zeros((K, K, q, q))
    for P, W, dS, d2S, sl in e.parts:
        n, k = len(P.visits), dS.shape[0]
        QQ = np.einsum("kab,bc,lcd,de->klae", W @ dS, W, dS, W)
        Q[sl, sl] += (QQ.reshape(k * k, n * n) @ P.Sxx).reshape(k, k, q, q)
        RR = W @ d2S[:, :, P.visits][:, :, :, P.visits] @ W   # parts keep all visits
        R[sl, sl] += (RR.reshape(k * k, n * n) @ P.Sxx).reshape(k, k, q, q)
    PVP = np.einsum("kab,bc,lcd->klad", t.P, t.V0, t.P)
    inner = np.einsum("kl,klab->ab", t.W, Q - PVP - (0 if linear else 0.25) * R)
    want = t.V0 + 2.0 * t.V0 @ inner @ t.V0
    np.testing.assert_allclose(t.vcov_c, want, rtol=1e-10, atol=1e-14 * np.abs(want).max())


# ------------------------------------------------------------- invariances
@pytest.mark.parametrize("method", ["kenward-roger", "kenward-roger-linear", "satterthwaite"])
def test_rescaling_the_outcome_rescales_estimates_and_keeps_df(method):
    a = _trial(seed=8)
    b = _trial(seed=8, scale=-250.0, shift=1e4)
    fa = hs.mmrm(a, "y ~ y_bl + group * C(visit)", "subject", time="visit", df_method=method)
    fb = hs.mmrm(b, "y ~ y_bl + group * C(visit)", "subject", time="visit", df_method=method)
    rest = fa.fixed.index != "Intercept"
    np.testing.assert_allclose(fb.fixed["estimate"][rest], -250 * fa.fixed["estimate"][rest],
                               rtol=1e-6)
    np.testing.assert_allclose(fb.fixed["se"], 250 * fa.fixed["se"], rtol=1e-6)
    np.testing.assert_allclose(fb.fixed["df"], fa.fixed["df"], rtol=1e-6)
    np.testing.assert_allclose(fb.anova()["F"], fa.anova()["F"], rtol=1e-6)


def test_row_order_does_not_matter():
    d = _trial(seed=9)
    f1 = hs.mmrm(d, "y ~ y_bl + group * C(visit)", "subject", time="visit")
    f2 = hs.mmrm(d.sample(frac=1, random_state=3), "y ~ y_bl + group * C(visit)", "subject",
                 time="visit")
    np.testing.assert_allclose(f1.fixed.to_numpy(), f2.fixed.to_numpy(), rtol=1e-9)


# --------------------------------------------------------------- refusals
def test_visit_off_the_grid_is_an_error():
    d = _trial(seed=10)
    with pytest.raises(AnalysisError, match="not on the design's grid"):
        hs.mmrm(d, "y ~ group * C(visit)", "subject", time="visit", visits=[1, 2, 3])


def test_two_rows_for_one_visit_is_an_error():
    d = _trial(seed=11)
    d = pd.concat([d, d.iloc[[0]]])
    with pytest.raises(AnalysisError, match="one row per visit"):
        hs.mmrm(d, "y ~ group * C(visit)", "subject", time="visit")


def test_text_and_constant_outcomes_are_errors():
    d = _trial(seed=12)
    t = d.assign(y=d["y"].astype(str))
    with pytest.raises(AnalysisError, match="must be numeric"):
        hs.mmrm(t, "y ~ group * C(visit)", "subject", time="visit")
    with pytest.raises(AnalysisError, match="constant"):
        hs.mmrm(d.assign(y=3.0), "y ~ group * C(visit)", "subject", time="visit")


def test_too_many_parameters_names_a_simpler_structure_and_the_fallback_takes_it():
    d = _trial(n=4, visits=6, seed=13, miss=0)
    with pytest.raises(AnalysisError, match="simpler structure"):
        hs.mmrm(d, "y ~ C(visit)", "subject", time="visit", cov="us")
    fit = hs.mmrm(d, "y ~ C(visit)", "subject", time="visit",
                  cov=hs.stats.mmrm.FALLBACK_ORDER)
    assert fit.cov_structure != "us"
    assert fit.cov_tried[0][0] == "us"


def test_missing_outcomes_are_excluded_and_listed():
    d = _trial(seed=14, miss=0)
    d.loc[[3, 7], "y"] = np.nan
    fit = hs.mmrm(d, "y ~ y_bl + group * C(visit)", "subject", time="visit")
    assert fit.nobs == len(d) - 2
    assert sorted(fit.exclusions["row"]) == [3, 7]
    assert fit.exclusions["reason"].str.contains("y").all()


def test_kenward_roger_needs_reml():
    with pytest.raises(AnalysisError, match="REML"):
        hs.mmrm(_trial(seed=15), "y ~ group", "subject", time="visit", reml=False,
                df_method="kenward-roger")


# ------------------------------------------------------------- primary analysis
def test_primary_analysis_k_arms_many_visits_matches_r():
    """hipknee6wk (bundled): HIP - KNEE at week 6 as R's mmrm gives it (R 4.2.2, mmrm
    0.3.18: mmrm(pain_vas ~ pain_vas_bl + group * week + us(week | subject),
    method = "Kenward-Roger", vcov = "Kenward-Roger-Linear"); emmeans trt.vs.ctrl). R's
    default fit stops short of the optimum (6e-6 SE here; tests/test_mmrm_reference.py
    compares polished fits), hence 3e-5 SE on the estimate and the bounds."""
    pa = hs.primary_analysis(hs.example("hipknee6wk"), "pain_vas", "week", group="group",
                             reference="KNEE")
    last = pa.contrasts[pa.contrasts["week"] == 6].iloc[0]
    assert last["contrast"] == "HIP - KNEE"
    assert last["estimate"] == pytest.approx(0.08924563, abs=5e-6)
    assert last["se"] == pytest.approx(0.176845, rel=1e-5)
    assert last["df"] == pytest.approx(188.6971, rel=1e-4)
    assert last["ci_low"] == pytest.approx(-0.2596015, abs=5e-6)
    assert last["ci_high"] == pytest.approx(0.4380927, abs=5e-6)
    assert "unstructured" in pa.method and "In R: `mmrm(" in pa.method


def test_primary_analysis_one_visit_is_the_ancova_and_one_group_has_no_contrast():
    df = hs.example("pfps3wk")
    pa = hs.primary_analysis(df, "pain_vas", "time", group="group", reference="PFPS")
    anc = hs.ancova(df, "pain_vas", "time", "subject", "group", "pre", "post",
                    reference="PFPS")
    assert pa.contrasts["estimate"].iloc[0] == pytest.approx(anc["estimate"].iloc[0])
    assert pa.contrasts["se"].iloc[0] == pytest.approx(anc["se"].iloc[0], rel=1e-7)
    assert "ANCOVA" in pa.method
    one = hs.primary_analysis(df[df["group"] == "PFPS"], "pain_vas", "time")
    assert one.contrasts is None and one.emmeans["time"].tolist() == ["post"]


def test_primary_analysis_says_why_it_fell_back():
    d = _trial(n=4, visits=6, seed=13, miss=0)
    d = pd.concat([d.assign(visit=0, y=d["y_bl"]).drop_duplicates("subject"), d])
    pa = hs.primary_analysis(d, "y", "visit")
    assert pa.fit.cov_structure != "us"
    assert "structures not kept: unstructured" in pa.method
