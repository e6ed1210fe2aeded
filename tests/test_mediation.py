"""hs.mediation: hand calculations, arms, the bootstrap, edge cases and bad input (issue 25).
Agreement with R's regmedint and medsens is in test_mediation_reference.py."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats as sps

import hipstats as hs
from hipstats.errors import AnalysisError


def _trial(n=120, seed=3, arms=("T", "C"), logistic=False, interaction=0.0):
    rng = np.random.default_rng(seed)
    arm = np.resize(np.array(arms), n)
    a = (arm == arms[0]).astype(float) + 2.0 * (arm == arms[1]) * (len(arms) == 3)
    m_bl = rng.normal(1.8, 0.4, n)
    m = 0.4 * a - 0.2 * (m_bl - 1.8) + rng.normal(0, 0.3, n)
    lin = -0.3 * a - 0.8 * m + interaction * a * m + 0.2 * (m_bl - 1.8)
    y = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(float) if logistic else \
        5 + lin + rng.normal(0, 1, n)
    return pd.DataFrame({"subject": [f"P{i:03d}" for i in range(n)], "arm": arm,
                         "a": (arm == arms[0]).astype(float), "m": m, "y": y, "m_bl": m_bl})


def test_product_of_coefficients_by_hand():
    """No interaction, one covariate: TNIE = b1 * theta2 with Sobel's SE, PNDE = theta1, from
    statsmodels' OLS (an independent fit), CIs and p-values by the normal distribution."""
    d = _trial()
    med = hs.mediation(d, outcome="y", mediator="m", exposure="a", covariates=["m_bl"],
                       interaction=False)
    fm = sm.OLS(d["m"], sm.add_constant(d[["a", "m_bl"]])).fit()
    fy = sm.OLS(d["y"], sm.add_constant(d[["a", "m", "m_bl"]])).fit()
    b1, t1, t2 = fm.params["a"], fy.params["a"], fy.params["m"]
    se_ie = np.sqrt(t2 ** 2 * fm.bse["a"] ** 2 + b1 ** 2 * fy.bse["m"] ** 2)
    t = med.table
    assert t.loc["tnie", "est"] == pytest.approx(b1 * t2, rel=1e-10)
    assert t.loc["pnie", "est"] == pytest.approx(b1 * t2, rel=1e-10)
    assert t.loc["tnie", "se"] == pytest.approx(se_ie, rel=1e-8)
    assert t.loc["pnde", "est"] == pytest.approx(t1, rel=1e-10)
    assert t.loc["pnde", "se"] == pytest.approx(fy.bse["a"], rel=1e-8)
    assert t.loc["te", "est"] == pytest.approx(t1 + b1 * t2, rel=1e-10)
    assert t.loc["pm", "est"] == pytest.approx(b1 * t2 / (t1 + b1 * t2), rel=1e-10)
    z = sps.norm.isf(0.025)
    assert t.loc["tnie", "lci"] == pytest.approx(b1 * t2 - z * se_ie, rel=1e-8)
    assert t.loc["tnie", "pval"] == pytest.approx(2 * sps.norm.sf(abs(b1 * t2 / se_ie)),
                                                  rel=1e-6)
    paths = med.paths.set_index("path")
    assert paths.loc["a", "est"] == pytest.approx(b1, rel=1e-10)
    assert paths.loc["b", "est"] == pytest.approx(t2, rel=1e-10)
    assert "a x m" not in paths.index


def test_logistic_closed_form_by_hand():
    """With the interaction, a logistic outcome's PNDE carries 1/2 sigma^2 theta3 (2 theta2
    + theta3 (a1 + a0)) (VanderWeele 2015 p. 468); fits from statsmodels (tight IRLS)."""
    d = _trial(n=300, logistic=True, interaction=0.5)
    med = hs.mediation(d, outcome="y", mediator="m", exposure="a", covariates=["m_bl"],
                       outcome_model="logistic", c_cond={"m_bl": 2.0}, m_cde=0.1)
    fm = sm.OLS(d["m"], sm.add_constant(d[["a", "m_bl"]])).fit()
    X = sm.add_constant(d[["a", "m"]].assign(am=d["a"] * d["m"], m_bl=d["m_bl"]))
    fy = sm.GLM(d["y"], X, family=sm.families.Binomial()).fit(tol=1e-14, maxiter=200)
    b0, b1, b2 = fm.params
    _, t1, t2, t3, _ = fy.params
    s2 = fm.scale
    pnde = t1 + t3 * (b0 + b2 * 2.0) + 0.5 * s2 * t3 * (2 * t2 + t3)
    tnie = (t2 + t3) * b1
    t = med.table["est"]
    assert t["cde"] == pytest.approx(t1 + 0.1 * t3, rel=1e-8)
    assert t["pnde"] == pytest.approx(pnde, rel=1e-8)
    assert t["tnie"] == pytest.approx(tnie, rel=1e-8)
    assert t["pm"] == pytest.approx(np.exp(pnde) * (np.exp(tnie) - 1) / (np.exp(pnde + tnie) - 1),
                                    rel=1e-8)
    assert med.sensitivity()["rho_zero"] != med.sensitivity()["rho_zero"]   # NaN: no medsens


def test_rows_missing_analysis_columns_only_are_listed():
    d = _trial()
    d.loc[[3, 10], "m"] = np.nan
    d.loc[5, "y"] = np.nan
    d.loc[7, ["y", "m_bl"]] = np.nan
    d["note"] = "x"
    d.loc[[1, 2], "note"] = np.nan                    # a column no analysis names
    med = hs.mediation(d, outcome="y", mediator="m", exposure="a", covariates=["m_bl"])
    ex = med.excluded.set_index("row")
    assert list(ex.index) == [3, 5, 7, 10]
    assert ex.loc[7, "reason"] == "y, m_bl missing" and ex.loc[3, "reason"] == "m missing"
    assert ex.loc[5, "subject"] == "P005"
    assert med.n == {"a: 1 vs 0": len(d) - 4}
    assert med.c_cond["a: 1 vs 0"]["m_bl"] == pytest.approx(d.drop([3, 5, 7, 10])["m_bl"].mean())


def test_k_arms_each_against_the_reference_on_its_two_arms():
    d = _trial(n=150, arms=("HIP", "KNEE", "EDU"))
    med = hs.mediation(d, outcome="y", mediator="m", exposure="arm", covariates=["m_bl"],
                       a0="EDU", a1=None)
    assert med.contrasts == ["HIP vs EDU", "KNEE vs EDU"]
    assert med.table.index.names == ["contrast", "effect"]
    for arm in ("HIP", "KNEE"):
        sub = d[d["arm"].isin([arm, "EDU"])].assign(x=lambda f: (f["arm"] == arm) * 1.0)
        one = hs.mediation(sub, outcome="y", mediator="m", exposure="x", covariates=["m_bl"])
        got = med.table.xs(f"{arm} vs EDU", level="contrast")
        pd.testing.assert_frame_equal(got, one.table, rtol=1e-12)
    one_arm = hs.mediation(d, outcome="y", mediator="m", exposure="arm", a0="EDU", a1="KNEE")
    assert one_arm.contrasts == ["KNEE vs EDU"] and list(one_arm.table.index)[0] == "cde"
    assert set(med.sensitivity()["rho_zero"]) == {"HIP vs EDU", "KNEE vs EDU"}


def test_bootstrap_is_seeded_and_agrees_with_the_delta_method_at_large_n():
    d = _trial(n=400, seed=5)
    kw = dict(outcome="y", mediator="m", exposure="a", covariates=["m_bl"],
              method="bootstrap", n_boot=999)
    b1 = hs.mediation(d, seed=11, **kw)
    b2 = hs.mediation(d, seed=11, **kw)
    b3 = hs.mediation(d, seed=12, **kw)
    pd.testing.assert_frame_equal(b1.table, b2.table)
    assert not b1.table["lci"].equals(b3.table["lci"])
    delta = hs.mediation(d, outcome="y", mediator="m", exposure="a", covariates=["m_bl"])
    assert (b1.table["est"] == delta.table["est"]).all()      # the estimate is the data's
    for eff in ("pnde", "tnie", "te"):
        assert b1.table.loc[eff, "se"] == pytest.approx(delta.table.loc[eff, "se"], rel=0.15)
        assert b1.table.loc[eff, "lci"] == pytest.approx(delta.table.loc[eff, "lci"], abs=0.06)
    bca = hs.mediation(d, seed=11, ci="bca", **kw)
    assert bca.table["se"].equals(b1.table["se"])
    assert not bca.table["lci"].equals(b1.table["lci"])
    assert b1.settings["n_boot"] == 999 and b1.settings["ci"] == "percentile"


def test_bootstrap_percentile_limits_are_quantiles_of_the_refits():
    """One resample refitted by hand (statsmodels) equals the batch's draw."""
    d = _trial(n=60, seed=8)
    med = hs.mediation(d, outcome="y", mediator="m", exposure="a", covariates=["m_bl"],
                       method="bootstrap", n_boot=200, seed=4, ci="percentile")
    rng = np.random.default_rng(4)
    counts = rng.multinomial(60, np.full(60, 1 / 60), size=200)
    rows = np.repeat(np.arange(60), counts[17])
    r = d.iloc[rows].reset_index(drop=True)
    one = hs.mediation(r, outcome="y", mediator="m", exposure="a", covariates=["m_bl"],
                       c_cond=med.c_cond["a: 1 vs 0"])
    draws = med._contrasts[0].boot["draws"]
    assert draws[17] == pytest.approx(one.table["est"].to_numpy(), rel=1e-9)
    lo = np.quantile(draws[:, 2], 0.025)
    assert med.table.loc["tnie", "lci"] == pytest.approx(lo, rel=1e-12)


def test_sensitivity_curve_evalues():
    d = _trial(n=200)
    med = hs.mediation(d, outcome="y", mediator="m", exposure="a", interaction=False)
    s = med.sensitivity(rho=[0.0, 0.2])
    assert s["curve"]["tnie"].iloc[0] == pytest.approx(med.table.loc["tnie", "est"], rel=1e-12)
    at_zero = med.sensitivity(rho=[s["rho_zero"]])["curve"]["tnie"].iloc[0]
    assert abs(at_zero) < 1e-12
    ev = s["evalues"].set_index("effect")
    te = med.table.loc["te"]
    rr = np.exp(0.91 * te["est"] / d["y"].std())
    rr = max(rr, 1 / rr)
    assert ev.loc["te", "evalue"] == pytest.approx(rr + np.sqrt(rr * (rr - 1)), rel=1e-12)
    assert (ev["evalue_ci"] >= 1).all() and (ev["evalue"] >= ev["evalue_ci"]).all()
    with pytest.raises(AnalysisError, match="strictly between"):
        med.sensitivity(rho=[1.0])


@pytest.mark.parametrize("kw, msg", [
    (dict(outcome="nope"), "not a column"),
    (dict(outcome_model="probit"), "outcome_model"),
    (dict(method="jackknife"), "method"),
    (dict(c_cond={"age": 1.0}), "not among the covariates"),
    (dict(c_cond=[1.0]), "must be a dict"),
    (dict(outcome_model="logistic"), "coded 0/1"),
    (dict(exposure="arm"), "reference arm"),
    (dict(exposure="arm", a0="C", a1="Z"), "not an arm"),
    (dict(mediator="y"), "different columns"),
    (dict(n_boot=10, method="bootstrap"), "n_boot"),
    (dict(level=95), "level"),
    (dict(covariates=["subject"]), "must be numeric"),
    (dict(a1=None), "must be numbers"),
])
def test_bad_input(kw, msg):
    args = dict(data=_trial(n=40), outcome="y", mediator="m", exposure="a",
                covariates=["m_bl"])
    args.update(kw)
    with pytest.raises(AnalysisError, match=msg):
        hs.mediation(**args)


def test_degenerate_data_is_refused():
    d = _trial(n=40).assign(const=1.0)
    with pytest.raises(AnalysisError, match="rank deficient"):
        hs.mediation(d, outcome="y", mediator="m", exposure="a", covariates=["const"])
    sep = _trial(n=40).assign(yb=lambda f: (f["m"] > f["m"].median()) * 1.0)
    with pytest.raises(AnalysisError, match="separation"):
        hs.mediation(sep, outcome="yb", mediator="m", exposure="a", interaction=False,
                     outcome_model="logistic")
    with pytest.raises(AnalysisError, match="complete rows"):
        hs.mediation(_trial(n=6), outcome="y", mediator="m", exposure="a",
                     covariates=["m_bl"])
