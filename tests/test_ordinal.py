"""hs.ordinal: proportional odds on statsmodels' OrderedModel (issue 26).

Agreement with R's ordinal::clm (parameters, SEs, log-likelihood, Brant's test) is in
``test_marginal_reference.py``. Here: an independent likelihood written in the test and
maximised by scipy, the odds-ratio table, Brant's test finding a non-proportional effect,
and the refusals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

import hipstats as hs
from hipstats.errors import AnalysisError


def grc_trial(n=200, seed=5, slopes=None):
    """7-point GRC from a cumulative logit; ``slopes``: a per-cut treatment effect (not
    proportional odds) instead of one common effect."""
    rng = np.random.default_rng(seed)
    arm = np.repeat(["ctl", "hip"], n // 2)
    y_bl = rng.normal(5, 1.5, n)
    cuts = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    eff = np.full(6, 0.8) if slopes is None else np.asarray(slopes)
    lin = 0.3 * (y_bl - 5)
    p_gt = special.expit(-(cuts[None, :] - lin[:, None] - (arm == "hip")[:, None] * eff))
    u = rng.random(n)
    grc = 1 + (u[:, None] < p_gt).sum(axis=1)
    return pd.DataFrame({"arm": arm, "y_bl": y_bl, "grc": grc})


def clm_by_hand(d):
    """logit P(y <= j) = theta_j - (b1 hip + b2 y_bl), maximised by scipy (BFGS, then
    Nelder-Mead polish): an implementation independent of statsmodels."""
    x = np.column_stack([(d["arm"] == "hip").astype(float), d["y_bl"]])
    lev = np.sort(d["grc"].unique())
    yi = np.searchsorted(lev, d["grc"])
    m = len(lev) - 1

    def nll(p):
        theta = np.cumsum(np.concatenate([[p[0]], np.exp(p[1:m])]))
        eta = x @ p[m:]
        cum = np.column_stack([np.zeros(len(x)), special.expit(theta[None, :] - eta[:, None]),
                               np.ones(len(x))])
        return -np.sum(np.log(cum[np.arange(len(x)), yi + 1] - cum[np.arange(len(x)), yi]))

    start = np.concatenate([[-2], np.zeros(m - 1), [0, 0]])
    res = optimize.minimize(nll, start, method="BFGS", options={"gtol": 1e-9})
    p = res.x
    return np.cumsum(np.concatenate([[p[0]], np.exp(p[1:m])])), p[m:], -res.fun


def test_equals_an_independent_likelihood():
    d = grc_trial()
    fit = hs.ordinal(d, "grc ~ arm + y_bl")
    theta, beta, ll = clm_by_hand(d)
    assert np.allclose(fit.params.iloc[:len(theta)], theta, atol=1e-4)
    assert np.allclose(fit.params[["arm[T.hip]", "y_bl"]], beta, atol=1e-4)
    assert fit.loglik == pytest.approx(ll, abs=1e-6)
    row = fit.table.loc["arm[T.hip]"]
    assert row["or"] == pytest.approx(np.exp(row["est"]))
    assert row["or_lci"] == pytest.approx(np.exp(row["est"] - 1.959963984540054 * row["se"]))
    assert fit.po_test["pval"] > 0.01 and fit.po_test["df"] == 5 * 2


def test_brant_detects_non_proportional_odds():
    d = grc_trial(n=1200, slopes=[2.0, 1.5, 0.8, 0.0, -0.6, -1.2])
    fit = hs.ordinal(d, "grc ~ arm + y_bl")
    assert fit.po_test["pval"] < 1e-6
    terms = fit.po_terms.set_index("term")
    assert terms.loc["arm", "pval"] < 1e-6 and terms.loc["y_bl", "pval"] > 1e-3


def test_missing_rows_listed_and_unobserved_category_has_no_threshold():
    d = grc_trial()
    d.loc[[0, 5], "grc"] = np.nan
    d.loc[9, "y_bl"] = np.nan
    d.loc[d["grc"] == 1, "grc"] = 2
    fit = hs.ordinal(d, "grc ~ arm + y_bl")
    assert fit.n == len(d) - 3
    assert list(fit.dropped["row"]) == [0, 5, 9]
    assert list(fit.params.index[:5]) == ["2|3", "3|4", "4|5", "5|6", "6|7"]


def test_separation_refused_naming_it():
    d = grc_trial()
    d.loc[d["arm"] == "hip", "grc"] = 7
    with pytest.raises(AnalysisError, match="separation: every participant with arm\\[T.hip\\] "
                                            "rates at or above"):
        hs.ordinal(d, "grc ~ arm + y_bl")


@pytest.mark.parametrize("change, message", [
    (lambda d: d.assign(grc=d["grc"].map(lambda v: "better" if v > 4 else "same")),
     "ordered numeric codes"),
    (lambda d: d.assign(grc=(d["grc"] > 4).astype(int)), "at least 3"),
    (lambda d: d.assign(y2=2 * d["y_bl"]), "rank deficient"),
])
def test_refused(change, message):
    formula = "grc ~ arm + y_bl" + (" + y2" if message == "rank deficient" else "")
    with pytest.raises(AnalysisError, match=message):
        hs.ordinal(change(grc_trial()), formula)


def test_written_order_kept_and_brant_terms_follow_names():
    d = grc_trial(n=1200, slopes=[2.0, 1.5, 0.8, 0.0, -0.6, -1.2])
    a, b = hs.ordinal(d, "grc ~ y_bl + arm"), hs.ordinal(d, "grc ~ arm + y_bl")
    assert list(a.params.index[-2:]) == ["y_bl", "arm[T.hip]"]     # as clm, written order
    assert np.allclose(a.params[b.params.index], b.params, rtol=1e-5)
    ta, tb = a.po_terms.set_index("term"), b.po_terms.set_index("term")
    assert np.allclose(ta.loc[["arm", "y_bl"], "stat"], tb.loc[["arm", "y_bl"], "stat"])
    assert ta.loc["arm", "pval"] < 1e-3 < ta.loc["y_bl", "pval"]
