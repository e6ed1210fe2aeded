"""cross_lagged against lme4/lmerTest and lm() (tests/reference/crosslag.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hipstats.errors import AnalysisError
from hipstats.stats.crosslag import cross_lagged, lag_pairs

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "crosslag.json").read_text())


@pytest.fixture(scope="module")
def cohort():
    return pd.read_csv(REF / "data" / "crosslag_cohort.csv", dtype={"subject": str})


def _row(res, model, predictor):
    hit = res[(res["model"] == model) & (res["predictor"] == predictor)]
    assert len(hit) == 1, (model, predictor, res[["model", "predictor"]])
    return hit.iloc[0]


@pytest.mark.parametrize("df_method, key", [("satterthwaite", "x_to_y"),
                                             ("kenward-roger", "x_to_y_kr")])
def test_within_between_model_matches_lmerTest(cohort, df_method, key):
    res = cross_lagged(cohort, x="strength", y="function_score", time="week",
                       subject="subject", df_method=df_method, method="lmm")
    assert (res["n_pairs"] == R["n_pairs"]).all()
    assert (res["n_subjects"] == R["n_subjects"]).all()
    model = "strength -> function_score"
    names = {"x_w": "strength[k-1]", "y_w": "function_score[k-1]",
             "x_b": "mean strength", "y_b": "mean function_score"}
    for term, pred in names.items():
        ref, got = R[key][term], _row(res, model, pred)
        assert got["estimate"] == pytest.approx(ref["estimate"], rel=1e-6, abs=1e-9)
        assert got["t"] == pytest.approx(ref["t"], rel=1e-5)
        assert got["se"] == pytest.approx(ref["se"], rel=1e-4)
        assert got["df"] == pytest.approx(ref["df"], rel=1e-3)
        assert got["pval"] == pytest.approx(ref["pval"], rel=1e-3)
        assert got["ci_low"] == pytest.approx(ref["ci_low"], rel=1e-4, abs=1e-6)
        assert got["ci_high"] == pytest.approx(ref["ci_high"], rel=1e-4, abs=1e-6)


def test_reverse_direction_and_standardised(cohort):
    res = cross_lagged(cohort, x="strength", y="function_score", time="week",
                       subject="subject", method="lmm")
    model = "function_score -> strength"
    ref = R["y_to_x"]["y_w"]
    got = _row(res, model, "function_score[k-1]")
    assert got["role"] == "cross-lagged"
    assert got["estimate"] == pytest.approx(ref["estimate"], rel=1e-6)
    assert got["df"] == pytest.approx(ref["df"], rel=1e-3)
    # standardised by within-person SDs (hand formula from R's SDs)
    assert got["std_estimate"] == pytest.approx(
        ref["estimate"] * R["sd_y_w"] / R["sd_x_out"], rel=1e-6)
    assert list(res["role"])[:2] == ["cross-lagged", "cross-lagged"]
    assert (res["method"] == "within-between LMM").all()


def test_two_wave_falls_back_to_ols(cohort):
    two = cohort[cohort["week"].isin([0, 2])]
    res = cross_lagged(two, x="strength", y="function_score", time="week", subject="subject")
    assert (res["method"] == "two-wave OLS").all()
    assert (res["n_pairs"] == R["two_wave"]["n_pairs"]).all()
    for model, key in (("strength -> function_score", "x_to_y"),
                       ("function_score -> strength", "y_to_x")):
        for pred, term in (("strength[k-1]", "x_prev"), ("function_score[k-1]", "y_prev")):
            ref, got = R["two_wave"][key][term], _row(res, model, pred)
            for col in ("estimate", "se", "t", "pval", "df", "ci_low", "ci_high"):
                assert got[col] == pytest.approx(ref[col], rel=1e-6), (model, pred, col)


def test_lags_never_bridge_a_missed_visit():
    df = pd.DataFrame({"subject": ["a"] * 3, "week": [0, 4, 6],
                       "x": [1.0, 2.0, 3.0], "y": [4.0, 5.0, 7.0]})
    pairs = lag_pairs(df, "x", "y", "week", "subject", order=[0, 2, 4, 6])
    assert pairs[["time_prev", "time"]].values.tolist() == [[4, 6]]


def test_text_time_needs_order_and_errors_are_clear(cohort):
    df = cohort.assign(visit=cohort["week"].map({0: "a", 2: "b", 4: "c", 6: "d"}))
    with pytest.raises(AnalysisError, match="order"):
        cross_lagged(df, "strength", "function_score", "visit", "subject")
    res = cross_lagged(df, "strength", "function_score", "visit", "subject",
                       order=["a", "b", "c", "d"])
    assert np.isfinite(res["estimate"]).all()
    with pytest.raises(AnalysisError, match="not a column"):
        cross_lagged(cohort, "strenght", "function_score", "week", "subject")
    with pytest.raises(AnalysisError, match="constant"):
        cross_lagged(cohort.assign(c=1.0), "c", "function_score", "week", "subject")


def test_two_wave_collinear_lags_are_refused():
    """Found by fuzzing: x identical to y made X'X singular (numpy LinAlgError)."""
    rng = np.random.default_rng(3)
    n = 12
    d = pd.DataFrame({"subject": np.repeat([f"s{i}" for i in range(n)], 2),
                      "week": np.tile([0, 3], n), "y": rng.normal(size=2 * n)})
    d["x"] = d["y"]
    with pytest.raises(AnalysisError, match="rank-deficient"):
        cross_lagged(d, "x", "y", "week", "subject")


def test_bootstrap_default_is_reproducible_and_keeps_between_rows(cohort):
    """The default (bias-corrected, bootstrap) replaces only the within-person rows; the
    seed is derived from the data, so two calls agree exactly."""
    old = cross_lagged(cohort, "strength", "function_score", "week", "subject", method="lmm")
    new = cross_lagged(cohort, "strength", "function_score", "week", "subject", n_boot=199)
    again = cross_lagged(cohort, "strength", "function_score", "week", "subject", n_boot=199)
    pd.testing.assert_frame_equal(new, again)
    within = new["role"] != "between-person"
    assert new.loc[within, "method"].str.contains("bootstrap").all()
    assert new.loc[within, "df"].isna().all()
    assert ((new.loc[within, "ci_low"] <= new.loc[within, "estimate"])
            & (new.loc[within, "estimate"] <= new.loc[within, "ci_high"])).all()
    assert ((new["pval"] > 0) & (new["pval"] <= 1)).all()
    pd.testing.assert_frame_equal(new.loc[~within, ["estimate", "se", "pval"]],
                                  old.loc[~within, ["estimate", "se", "pval"]])
    with pytest.raises(AnalysisError, match="method"):
        cross_lagged(cohort, "strength", "function_score", "week", "subject", method="x")
