"""hs.rbmi without R: identities with the MMRM, a brute-force jackknife written here, hand
calculations, and every bad input. (tests/test_rbmi_reference.py compares with R's rbmi.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import hipstats as hs
from hipstats.errors import AnalysisError
from hipstats.stats.rbmi.impute import compute_sigma

FORMULA = "y ~ y_bl * C(week) + group * C(week)"


def trial(n=40, visits=(1, 2, 3), seed=1, arms=("ctl", "trt"), effect=1.0, drop=0.25,
          gaps=0.0, scale=1.0):
    """Two or more arms, an AR-correlated outcome, monotone dropout (and optional gaps)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        arm = arms[i % len(arms)]
        bl = rng.normal(5, 1)
        e = rng.multivariate_normal(np.zeros(len(visits)), 0.5 ** np.abs(
            np.subtract.outer(np.arange(len(visits)), np.arange(len(visits)))))
        last = len(visits) if rng.random() > drop else int(rng.integers(0, len(visits)))
        for j, v in enumerate(visits):
            y = 0.6 * bl + 0.3 * j + effect * (arm != arms[0]) * (j + 1) / len(visits) + e[j]
            miss = j >= last or rng.random() < gaps
            rows.append({"subject": f"s{i:03d}", "group": arm, "week": v, "y_bl": bl * scale,
                         "y": np.nan if miss else y * scale})
    d = pd.DataFrame(rows)
    d["group"] = pd.Categorical(d["group"], categories=list(arms))
    return d


def test_mar_point_estimate_is_the_mmrm_contrast():
    """Conditional-mean imputation under MAR with an imputation model that contains the
    analysis model (x visit) reproduces the MMRM's estimate at every visit (Wolbers et al.
    2022); the MMRM is checked against R's mmrm in tests/test_mmrm_reference.py."""
    d = trial(n=50, visits=(1, 2, 3, 4), gaps=0.1)
    imp = hs.rbmi(d, FORMULA, "subject", "week", "group")
    res = imp.analyse(covariates=["y_bl"])
    fit = hs.mmrm(d, FORMULA, "subject", time="week")
    con = fit.contrast("group", by="week", method="trt.vs.ctrl", adjust="none")
    trt = res[res["parameter"] == "trt"].set_index("week")["est"]
    np.testing.assert_allclose(trt.to_numpy(), con.set_index("week")["estimate"].to_numpy(),
                               rtol=1e-8, atol=1e-10)


def _brute_force(d, strategy, refs, ice_first):
    """Jackknife written from scratch: hs.mmrm refitted on each leave-one-out set through its
    own starting values and optimiser, conditional means by the textbook formula, ANCOVA by
    statsmodels OLS; returns (estimate, jackknife SE) of trt at the last visit."""
    subjects = sorted(d["subject"].unique())
    visits = sorted(d["week"].unique())

    def one(keep):
        dd = d[d["subject"].isin(keep)]
        fit_rows = dd.copy()
        for s, first in ice_first.items():     # values after a non-MAR event are not fitted
            fit_rows.loc[(fit_rows["subject"] == s) & (fit_rows["week"] >= first), "y"] = np.nan
        fit = hs.mmrm(fit_rows, FORMULA, "subject", time="week")
        beta = fit.fixed["estimate"]
        S = fit.covariance.to_numpy() if not isinstance(fit.covariance, dict) else \
            next(iter(fit.covariance.values())).to_numpy()
        import patsy
        X = patsy.dmatrix(FORMULA.split("~")[1], dd.assign(y=0), return_type="dataframe")
        Xr = patsy.build_design_matrices([X.design_info], dd.assign(
            group=pd.Categorical(dd["group"].map(refs), categories=d["group"].cat.categories)),
            return_type="dataframe")[0]
        mu_own = (X[beta.index] @ beta).to_numpy().reshape(len(keep), len(visits))
        mu_ref = (Xr[beta.index] @ beta).to_numpy().reshape(len(keep), len(visits))
        Y = dd["y"].to_numpy().reshape(len(keep), len(visits))
        out = Y.copy()
        for i, s in enumerate(keep):
            mu = mu_own[i].copy()
            if s in ice_first and strategy == "JR":
                post = np.array(visits) >= ice_first[s]
                mu[post] = mu_ref[i][post]
            q = np.isnan(Y[i])
            if q.any():
                o = ~q
                mu_q = mu[q] + (S[np.ix_(q, o)] @ np.linalg.solve(S[np.ix_(o, o)], Y[i][o] - mu[o])
                                if o.any() else 0.0)
                out[i, q] = mu_q
        last = dd[dd["week"] == visits[-1]].assign(y=out[:, -1])
        X2 = sm.add_constant(pd.DataFrame({"trt": (last["group"] != d["group"].cat.categories[0])
                                           .astype(float).to_numpy(), "y_bl": last["y_bl"]}))
        return sm.OLS(last["y"].to_numpy(), X2).fit().params["trt"]

    full = one(subjects)
    jack = np.array([one([s for s in subjects if s != t]) for t in subjects])
    n = len(jack)
    return full, np.sqrt((n - 1) / n * np.sum((jack - jack.mean()) ** 2))


@pytest.mark.parametrize("strategy", ["MAR", "JR"])
def test_jackknife_equals_brute_force(strategy):
    d = trial(n=24, visits=(1, 2, 3), seed=3, drop=0.35)
    Y = d.pivot(index="subject", columns="week", values="y")
    observed = Y.notna().to_numpy()
    last = np.where(observed.any(1), observed.shape[1] - 1 - np.argmax(observed[:, ::-1], 1), -1)
    first = {s: Y.columns[l + 1] for s, l in zip(Y.index, last) if l < Y.shape[1] - 1}
    refs = {"ctl": "ctl", "trt": "ctl"}
    imp = hs.rbmi(d, FORMULA, "subject", "week", "group", references=refs,
                  ice=None if strategy == "MAR" else strategy)
    res = imp.analyse(covariates=["y_bl"])
    got = res[(res["parameter"] == "trt") & (res["week"] == 3)].iloc[0]
    est, se = _brute_force(d, strategy, refs, {} if strategy == "MAR" else first)
    assert got["est"] == pytest.approx(est, rel=1e-6)
    assert got["se"] == pytest.approx(se, rel=1e-5)


def test_one_visit_jump_to_reference_by_hand():
    """One post-baseline visit (rbmi refuses it): the MMRM is OLS; under JR a dropout gets
    the reference arm's prediction; the ANCOVA of the completed data, by hand."""
    d = trial(n=30, visits=(6,), seed=5, drop=0.3)
    imp = hs.rbmi(d, "y ~ y_bl + group", "subject", "week", "group",
                  references={"ctl": "ctl", "trt": "ctl"}, ice="JR")
    got = imp.analyse(covariates=["y_bl"]).set_index("parameter")
    cc = d.dropna(subset=["y"])
    Xc = np.column_stack([np.ones(len(cc)), cc["group"] == "trt", cc["y_bl"]]).astype(float)
    b = np.linalg.lstsq(Xc, cc["y"].to_numpy(), rcond=None)[0]
    y = d["y"].to_numpy().copy()
    miss = np.isnan(y)
    y[miss] = b[0] + b[2] * d["y_bl"].to_numpy()[miss]          # reference arm's mean
    Xa = np.column_stack([np.ones(len(d)), d["group"] == "trt", d["y_bl"]]).astype(float)
    ba = np.linalg.lstsq(Xa, y, rcond=None)[0]
    assert got.loc["trt", "est"] == pytest.approx(ba[1], rel=1e-9)
    assert got.loc["lsm_ref", "est"] == pytest.approx(ba[0] + ba[2] * d["y_bl"].mean(), rel=1e-9)


def test_tipping_point_and_delta_analysis_agree():
    """At the tipping point, adding that delta through analyse(delta=) to the arm's imputed
    values gives p = alpha; at delta_null the estimate is zero."""
    d = trial(n=60, visits=(1, 2, 3), seed=7, effect=1.6, drop=0.3)
    imp = hs.rbmi(d, FORMULA, "subject", "week", "group", references={"ctl": "ctl", "trt": "ctl"},
                  ice="JR")
    tp = imp.tipping_point("trt", covariates=["y_bl"])
    assert np.isfinite(tp["delta"]) and tp["pval"] == pytest.approx(0.05, abs=1e-9)
    missing = d[d["y"].isna() & (d["group"] == "trt")][["subject", "week"]]
    res = imp.analyse(covariates=["y_bl"], delta=missing.assign(delta=tp["delta"]))
    row = res[(res["parameter"] == "trt") & (res["week"] == 3)].iloc[0]
    assert row["pval"] == pytest.approx(0.05, abs=1e-7)
    assert row["est"] == pytest.approx(tp["est"], rel=1e-9)
    res0 = imp.analyse(covariates=["y_bl"], delta=missing.assign(delta=tp["delta_null"]))
    assert abs(res0[(res0["parameter"] == "trt") & (res0["week"] == 3)]["est"].iloc[0]) < 1e-9
    assert 0 < abs(tp["delta"]) < abs(tp["delta_null"])


def test_update_reuses_the_fits_and_equals_a_fresh_imputation():
    d = trial(n=30, seed=11)
    refs = {"ctl": "ctl", "trt": "ctl"}
    mar = hs.rbmi(d, FORMULA, "subject", "week", "group", references=refs)
    jr = mar.update("JR")
    assert jr.samples is mar.samples
    fresh = hs.rbmi(d, FORMULA, "subject", "week", "group", references=refs, ice="JR")
    pd.testing.assert_frame_equal(jr.analyse(covariates=["y_bl"]),
                                  fresh.analyse(covariates=["y_bl"]), rtol=1e-9)


def test_bootstrap_point_estimate_is_the_full_data_estimate_and_seeded():
    d = trial(n=30, seed=13)
    kw = dict(references={"ctl": "ctl", "trt": "ctl"}, ice="CR")
    jk = hs.rbmi(d, FORMULA, "subject", "week", "group", **kw).analyse(covariates=["y_bl"])
    b1 = hs.rbmi(d, FORMULA, "subject", "week", "group", method="bootstrap", n_samples=20,
                 seed=4, **kw).analyse(covariates=["y_bl"])
    b2 = hs.rbmi(d, FORMULA, "subject", "week", "group", method="bootstrap", n_samples=20,
                 seed=4, **kw).analyse(covariates=["y_bl"])
    np.testing.assert_allclose(b1["est"], jk["est"], rtol=1e-9)
    pd.testing.assert_frame_equal(b1, b2)
    assert (b1["lci"] <= b1["uci"]).all()


def test_approxbayes_rubin_rules_and_seed():
    d = trial(n=40, seed=17)
    kw = dict(method="approxbayes", n_samples=10, seed=2, references={"ctl": "ctl", "trt": "ctl"},
              ice="JR")
    a = hs.rbmi(d, FORMULA, "subject", "week", "group", **kw).analyse(covariates=["y_bl"])
    b = hs.rbmi(d, FORMULA, "subject", "week", "group", **kw).analyse(covariates=["y_bl"])
    pd.testing.assert_frame_equal(a, b)
    assert (a["df"] > 3).all() and (a["se"] > 0).all()


def test_three_arms_each_against_the_reference_equal_the_mmrm():
    d = trial(n=45, seed=19, arms=("ctl", "a", "b"))
    res = hs.rbmi(d, FORMULA, "subject", "week", "group").analyse(covariates=["y_bl"])
    fit = hs.mmrm(d, FORMULA, "subject", time="week")
    con = fit.contrast("group", by="week", method="trt.vs.ctrl", adjust="none")
    trt = res[res["parameter"] == "trt"]
    for r in con.itertuples():
        arm = r.contrast.split(" - ")[0]
        got = trt[(trt["arm"] == arm) & (trt["week"] == r.week)]["est"].iloc[0]
        assert got == pytest.approx(r.estimate, rel=1e-8)


def test_lsmeans_weights_by_hand():
    """equal / proportional_em / counterfactual least-squares means with a factor covariate,
    from the OLS fit of the completed (here complete) data."""
    d = trial(n=40, seed=23, drop=0.0)
    sex = np.where(np.arange(40) % 3 == 0, "M", "F")
    d["sex"] = d["subject"].map(dict(zip(sorted(d["subject"].unique()), sex)))
    imp = hs.rbmi(d, FORMULA, "subject", "week", "group")
    last = d[d["week"] == 3]
    X = np.column_stack([np.ones(40), last["group"] == "trt", last["y_bl"],
                         last["sex"] == "M"]).astype(float)
    b = np.linalg.lstsq(X, last["y"].to_numpy(), rcond=None)[0]
    mbl, pm = last["y_bl"].mean(), (last["sex"] == "M").mean()
    want = {"counterfactual": b[0] + b[2] * mbl + b[3] * pm,
            "proportional_em": b[0] + b[2] * mbl + b[3] * pm,
            "equal": b[0] + b[2] * mbl + b[3] * 0.5}
    for w, value in want.items():
        res = imp.analyse(covariates=["y_bl", "sex"], weights=w, visits=[3]).set_index("parameter")
        assert res.loc["lsm_ref", "est"] == pytest.approx(value, rel=1e-9), w
        assert res.loc["trt", "est"] == pytest.approx(b[1], rel=1e-9)


def test_compute_sigma_keeps_the_own_block_and_is_a_covariance():
    rng = np.random.default_rng(0)
    A, B = rng.normal(size=(4, 4)), rng.normal(size=(4, 4))
    own, ref = A @ A.T + 4 * np.eye(4), B @ B.T + 4 * np.eye(4)
    mar = np.array([True, True, False, False])
    S = compute_sigma(own, ref, mar)
    np.testing.assert_allclose(S[:2, :2], own[:2, :2])
    np.testing.assert_allclose(S, S.T)
    assert np.linalg.eigvalsh(S).min() > 0
    assert compute_sigma(own, ref, np.ones(4, bool)) is own
    assert compute_sigma(own, ref, np.zeros(4, bool)) is ref


def test_one_group_mean_change_and_its_tipping_point():
    """One group under MAR: the mean change at each visit equals the MMRM's estimated mean
    at the participants' mean baseline (the identity of the first test, one arm); the
    tipping point is where adding delta to the imputed changes gives p = alpha."""
    d = trial(n=30, seed=29, arms=("all",), drop=0.3)
    d["chg"] = d["y"] - d["y_bl"]
    imp = hs.rbmi(d, "chg ~ y_bl * C(week)", "subject", "week", None)
    res = imp.analyse(covariates=["y_bl"])
    assert set(res["parameter"]) == {"mean"}
    fit = hs.mmrm(d, "chg ~ y_bl * C(week)", "subject", time="week")
    emm = fit.emmeans("week", at={"y_bl": d.drop_duplicates("subject")["y_bl"].mean()})
    np.testing.assert_allclose(res["est"], emm["emmean"], rtol=1e-8)
    tp = imp.tipping_point(covariates=["y_bl"])
    assert tp["delta"] > 0 and tp["pval"] == pytest.approx(0.05, abs=1e-9)   # the mean fell
    missing = d[d["chg"].isna()][["subject", "week"]].assign(delta=tp["delta"])
    at = imp.analyse(covariates=["y_bl"], delta=missing, visits=[3]).iloc[0]
    assert at["pval"] == pytest.approx(0.05, abs=1e-8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(ice=pd.DataFrame({"subject": ["nobody"], "week": [2], "strategy": ["JR"]})),
     "ice row 0, column 'subject': participant 'nobody'"),
    (dict(ice=pd.DataFrame({"subject": ["s001"], "week": [9], "strategy": ["JR"]})),
     "ice row 0, column 'week': visit 9"),
    (dict(ice=pd.DataFrame({"subject": ["s001"], "week": [2], "strategy": ["J2R"]})),
     "unknown strategy 'J2R'"),
    (dict(ice=pd.DataFrame({"subject": ["s001", "s001"], "week": [2, 3],
                            "strategy": ["JR", "CR"]})), "two or more rows for participant"),
    (dict(ice=pd.DataFrame({"subject": ["s001"], "week": [1], "strategy": ["LMCF"]})),
     "LMCF needs a visit before the event"),
    (dict(references={"trt": "placebo", "ctl": "ctl"}), "arm 'placebo' is not in the data"),
    (dict(references={"trt": "ctl"}, ice="JR"), "no reference for arm"),
    (dict(method="bayes"), "method must be one of"),
    (dict(cov="unstructured"), "unknown covariance structure"),
    (dict(method="bootstrap"), "needs n_samples"),
    (dict(reference="placebo"), "reference arm 'placebo'"),
])
def test_bad_input_is_named(kwargs, match):
    d = trial(n=20, seed=31)
    kw = {"references": {"trt": "ctl", "ctl": "ctl"}} | kwargs
    with pytest.raises(AnalysisError, match=match):
        hs.rbmi(d, FORMULA, "subject", "week", "group", **kw)


def test_an_arm_without_values_at_a_visit_and_a_missing_covariate_are_named():
    d = trial(n=20, seed=37)
    d.loc[(d["group"] == "trt") & (d["week"] == 3), "y"] = np.nan
    with pytest.raises(AnalysisError, match="no value to fit for arm/visit 'trt' at week 3"):
        hs.rbmi(d, FORMULA, "subject", "week", "group")
    d = trial(n=20, seed=37)
    d.loc[4, "y_bl"] = np.nan
    with pytest.raises(AnalysisError, match="covariate 'y_bl' is missing at rows \\[4\\]"):
        hs.rbmi(d, FORMULA, "subject", "week", "group")


def test_an_imputation_model_that_cannot_be_fitted_names_a_simpler_structure():
    d = trial(n=8, visits=(1, 2, 3, 4, 5, 6), seed=43, drop=0.0)
    with pytest.raises(AnalysisError, match="cannot be fitted: the us covariance.*simpler 'toeph'"):
        hs.rbmi(d, FORMULA, "subject", "week", "group")


def test_absent_rows_are_added_as_missing_and_said():
    d = trial(n=20, seed=41, drop=0.0)
    full = hs.rbmi(d.assign(y=d["y"].mask(d.index == 5)), FORMULA, "subject", "week", "group")
    short = hs.rbmi(d.drop(index=5), FORMULA, "subject", "week", "group")
    assert any("absent" in n for n in short.notes)
    pd.testing.assert_frame_equal(full.analyse(covariates=["y_bl"]),
                                  short.analyse(covariates=["y_bl"]))


def test_rubin_rules_by_hand():
    """Rubin (1987): T = W + (1 + 1/M) B; with a Wald statistic (infinite complete-data df)
    df = (M - 1) / lambda^2, lambda = (1 + 1/M) B / T; with finite df Barnard-Rubin."""
    from scipy import stats as sps

    from hipstats.stats.rbmi.pool import pool_rubin

    est = np.array([0.10, 0.14, 0.07, 0.12, 0.09])
    se = np.array([0.050, 0.052, 0.049, 0.051, 0.050])
    M, W, B = 5, np.mean(se ** 2), np.var(est, ddof=1)
    T = W + (1 + 1 / M) * B
    lam = (1 + 1 / M) * B / T
    r = pool_rubin(est, se, np.full(M, np.inf), 0.05)
    assert r["se"] == pytest.approx(np.sqrt(T), rel=1e-12)
    assert r["df"] == pytest.approx((M - 1) / lam ** 2, rel=1e-12)
    assert r["pval"] == pytest.approx(2 * sps.t.sf(est.mean() / np.sqrt(T), r["df"]), rel=1e-10)
    v_com = 40.0
    v_obs = (v_com + 1) / (v_com + 3) * v_com * (1 - lam)
    v_old = (M - 1) / lam ** 2
    assert pool_rubin(est, se, np.full(M, v_com), 0.05)["df"] == pytest.approx(
        v_old * v_obs / (v_old + v_obs), rel=1e-12)


def test_unused_categories_are_not_design_columns():
    """A visit Categorical that still lists the baseline visit, and an arm Categorical with
    an arm absent from the data, give the same analysis as the tidy frame."""
    d = trial(n=24, seed=47)
    tidy = hs.rbmi(d, FORMULA, "subject", "week", "group").analyse(covariates=["y_bl"])
    messy = d.assign(week=pd.Categorical(d["week"], categories=[0, 1, 2, 3]),
                     group=pd.Categorical(d["group"].astype(str), ["ctl", "trt", "extra"]))
    res = hs.rbmi(messy, FORMULA, "subject", "week", "group").analyse(covariates=["y_bl"])
    np.testing.assert_allclose(res["est"], tidy["est"], rtol=1e-9)
