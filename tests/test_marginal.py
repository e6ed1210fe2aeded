"""hs.marginal_effect: bad input, edge cases and separation (issue 26).

Agreement with R's beeca is in ``test_marginal_reference.py``; here: the errors hipstats
raises where beeca refuses (each naming the problem), rows dropped and listed, reference
order, and the stated behaviour under separation (Firth's penalised working model), checked
against independent computations (statsmodels' GLM at a separated-free point, the observed
proportions, a by-hand Firth fit), never against hipstats' own output.
"""

from __future__ import annotations

import doctest
import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import hipstats as hs
from hipstats.errors import AnalysisError
from hipstats.stats.logistic import fit_logit

F = "resp ~ arm + y_bl + m_bl"


def trial(n=120, arms=("ctl", "hip"), seed=3, p=(0.3, 0.55)):
    rng = np.random.default_rng(seed)
    arm = np.resize(np.array(arms), n)
    y_bl = rng.normal(5, 1.5, n)
    m_bl = (rng.random(n) < 0.4).astype(int)
    base = np.array([p[list(arms).index(a) % len(p)] for a in arm])
    lin = np.log(base / (1 - base)) - 0.4 * (y_bl - 5) + 0.3 * m_bl
    resp = (rng.random(n) < 1 / (1 + np.exp(-lin))).astype(int)
    return pd.DataFrame({"arm": arm, "resp": resp, "y_bl": y_bl, "m_bl": m_bl,
                         "site": rng.choice(["a", "b"], n)})


@pytest.mark.parametrize("name", ["marginal_effect", "ordinal"])
def test_docstring_example_runs(name):
    func = getattr(hs, name)
    doc = inspect.getdoc(func)
    for section in ("Parameters", "Returns", "References", "Examples"):
        assert f"\n{section}\n---" in doc, f"{name} lacks {section}"
    tests = doctest.DocTestFinder(recurse=False).find(func, name, globs={"hipstats": hs})
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for t in tests:
        runner.run(t)
    assert tests[0].examples and runner.summarize(verbose=False).failed == 0


def test_working_model_equals_statsmodels_glm_and_means_are_g_computation():
    d = trial()
    me = hs.marginal_effect(d, F, treatment="arm", reference="ctl", method="Ge",
                            type="model-based")
    glm = sm.GLM.from_formula(F, d, family=sm.families.Binomial()).fit(tol=1e-14)
    assert np.allclose(me.coef.to_numpy(), glm.params.to_numpy(), rtol=1e-8)
    for lv in ("ctl", "hip"):
        risk = glm.predict(d.assign(arm=lv)).mean()
        assert me.means.loc[lv, "est"] == pytest.approx(risk, rel=1e-9)
    assert me.table.loc["hip", "est"] == pytest.approx(
        me.means.loc["hip", "est"] - me.means.loc["ctl", "est"], rel=1e-12)


def test_reference_any_level_rows_follow_level_order():
    d = trial(arms=("ctl", "hip", "knee"), p=(0.3, 0.5, 0.4))
    d["arm"] = pd.Categorical(d["arm"], categories=["hip", "knee", "ctl"])
    me = hs.marginal_effect(d, F, treatment="arm", reference="knee", contrast="rr")
    assert list(me.table.index) == ["hip", "ctl"]
    assert list(me.means.index) == ["hip", "knee", "ctl"]
    assert (me.table["reference"] == "knee").all()
    plain = hs.marginal_effect(d.assign(arm=d["arm"].astype(str)), F, treatment="arm",
                               reference="ctl")
    assert list(plain.table.index) == ["hip", "knee"]    # sorted when not a Categorical


def test_ci_and_p_on_the_contrast_scale():
    d = trial()
    for c, h0 in [("rr", 1.0), ("or", 1.0), ("logor", 0.0), ("diff", 0.0)]:
        row = hs.marginal_effect(d, F, treatment="arm", reference="ctl",
                                 contrast=c).table.iloc[0]
        assert row["lci"] == pytest.approx(row["est"] - 1.959963984540054 * row["se"])
        z = abs(row["est"] - h0) / row["se"]
        assert row["pval"] == pytest.approx(2 * stats.norm.sf(z))


def test_missing_rows_dropped_and_listed():
    d = trial()
    d.loc[[3, 7], "y_bl"] = np.nan
    d.loc[7, "resp"] = np.nan
    d.loc[11, "resp"] = np.nan
    me = hs.marginal_effect(d, F, treatment="arm", reference="ctl")
    assert me.n == len(d) - 3
    assert me.dropped.set_index("row")["reason"].to_dict() == {
        3: "missing y_bl", 7: "missing resp, y_bl", 11: "missing resp"}


@pytest.mark.parametrize("change, kw, message", [
    (lambda d: d.assign(resp=d["resp"] * 2), {}, "coded 0 (no event) / 1"),
    (lambda d: d.assign(resp=np.where(d["resp"] == 1, "yes", "no")), {}, "two labels"),
    (lambda d: d.assign(resp=0), {}, "is 0 for every row"),
    (lambda d: d, {"formula": "resp ~ arm * y_bl"}, "treatment x covariate interaction"),
    (lambda d: d, {"formula": "resp ~ y_bl + arm:m_bl"}, "interaction"),
    (lambda d: d.assign(y2=d["y_bl"] * 2), {"formula": "resp ~ arm + y_bl + y2"},
     "rank deficient"),
    (lambda d: d.drop(columns="arm"), {}, "treatment='arm' is not a column"),
    (lambda d: d, {"formula": "resp ~ y_bl"}, "is not a term of formula"),
    (lambda d: d.assign(arm="ctl"), {}, "has 1 level(s)"),
    (lambda d: d, {"reference": "placebo"}, "reference='placebo' is not a level"),
    (lambda d: d, {"strata": ["site"]}, "stratum 'site' is not a variable of formula"),
    (lambda d: d, {"contrast": "nnt"}, "contrast='nnt'"),
    (lambda d: d, {"method": "RobinCar"}, "method='RobinCar'"),
    (lambda d: d, {"type": "HC3"}, "type='HC3'"),
])
def test_refused_naming_the_problem(change, kw, message):
    args = {"formula": F, "treatment": "arm", "reference": "ctl", **kw}
    with pytest.raises(AnalysisError, match=re.escape(message)):
        hs.marginal_effect(change(trial()), **args)


def test_strata_ignored_under_ge_with_a_warning_and_empty_cell_refused():
    d = trial()
    f = F + " + site"
    with pytest.warns(UserWarning, match="ignored"):
        ge = hs.marginal_effect(d, f, treatment="arm", reference="ctl", method="Ge",
                                strata=["site"])
    plain = hs.marginal_effect(d, f, treatment="arm", reference="ctl", method="Ge")
    assert ge.table["se"].iloc[0] == plain.table["se"].iloc[0] and ge.strata == []
    bad = d[~((d["site"] == "b") & (d["arm"] == "hip"))]
    with pytest.raises(AnalysisError, match="has no participant in arm 'hip'"):
        hs.marginal_effect(bad, f, treatment="arm", reference="ctl", strata=["site"])


def test_stratified_ye_variance_is_not_larger():
    d = trial(n=300)
    f = F + " + site"
    ye = hs.marginal_effect(d, f, treatment="arm", reference="ctl")
    st = hs.marginal_effect(d, f, treatment="arm", reference="ctl", strata=["site"])
    assert st.table["se"].iloc[0] <= ye.table["se"].iloc[0]
    assert st.table["est"].iloc[0] == ye.table["est"].iloc[0]


def firth_by_hand(X, y, iters=200):
    """Firth's penalised logistic fit by maximising the penalised log-likelihood with
    scipy (an independent route to the same estimates)."""
    from scipy.optimize import minimize

    def nll(b):
        eta = X @ b
        p = 1 / (1 + np.exp(-eta))
        info = (X * (p * (1 - p))[:, None]).T @ X
        return -(np.sum(y * eta - np.logaddexp(0, eta)) + 0.5 * np.linalg.slogdet(info)[1])
    return minimize(nll, np.zeros(X.shape[1]), method="BFGS", options={"gtol": 1e-10}).x


@pytest.mark.parametrize("all_or_none", [0, 1])
def test_separation_gives_firth_fit_finite_interval_and_a_note(all_or_none):
    d = trial(n=80)
    d.loc[d["arm"] == "hip", "resp"] = all_or_none
    me = hs.marginal_effect(d, F, treatment="arm", reference="ctl")
    assert me.penalty == "firth"
    what = ("all" if all_or_none else "none") + " with outcome 1"
    assert any(f"separation: hip ({what})" in n for n in me.notes)
    row = me.table.iloc[0]
    assert np.isfinite([row["est"], row["se"], row["lci"], row["uci"]]).all()
    assert row["lci"] < row["est"] < row["uci"]
    X = np.column_stack([np.ones(len(d)), (d["arm"] == "hip"), d["y_bl"], d["m_bl"]])
    assert np.allclose(me.coef.to_numpy(), firth_by_hand(X, d["resp"].to_numpy(float)),
                       atol=1e-5)


def test_separation_on_a_covariate_falls_back_to_firth():
    d = trial(n=80)
    d["resp"] = (d["y_bl"] > 5).astype(int)          # complete separation by y_bl
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        me = hs.marginal_effect(d, F, treatment="arm", reference="ctl")
    assert me.penalty == "firth" and "a covariate pattern" in me.notes[0]
    assert np.isfinite(me.table[["est", "se", "lci", "uci"]].to_numpy()).all()


def test_logit_fit_reaches_the_maximum():
    d = trial(n=200)
    X = np.column_stack([np.ones(len(d)), d["arm"] == "hip", d["y_bl"], d["m_bl"]]).astype(float)
    fit = fit_logit(X, d["resp"].to_numpy(float))
    assert fit.penalty == "none" and fit.converged
    score = X.T @ (d["resp"].to_numpy() - fit.fitted)
    assert np.max(np.abs(score)) < 1e-9


def test_numeric_treatment_is_a_factor_and_missing_treatment_rows_are_listed():
    d = trial()
    d["trt"] = (d["arm"] == "hip").astype(float)
    d.loc[4, "trt"] = np.nan
    me = hs.marginal_effect(d, "resp ~ trt + y_bl + m_bl", treatment="trt", reference=0)
    ref = hs.marginal_effect(d.dropna(subset=["trt"]), F, treatment="arm", reference="ctl")
    assert me.table["est"].iloc[0] == pytest.approx(ref.table["est"].iloc[0], rel=1e-10)
    assert me.dropped.to_dict("records") == [{"row": 4, "reason": "missing trt"}]
