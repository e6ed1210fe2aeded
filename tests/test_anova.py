"""mixed_anova against afex::aov_ez (tests/reference/anova.R)."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.errors import AnalysisError

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "anova.json").read_text())
ORTHO = pd.read_csv(REF / "data" / "orthodont.csv")
COHORT = pd.read_csv(REF / "data" / "anova_cohort.csv")


def _check(res, ref):
    assert list(res["effect"]) == [r["effect"] for r in ref]
    for (_, got), r in zip(res.iterrows(), ref):
        assert got["df1"] == r["df1"] and got["df2"] == r["df2"]
        for k in ("F", "pval", "ges", "MSE", "pval_gg"):
            assert got[k] == pytest.approx(r[k], rel=1e-6), (r["effect"], k)
        if r["eps"] is None:
            assert np.isnan(got["eps"])
        else:
            assert got["eps"] == pytest.approx(r["eps"], rel=1e-6)


def test_orthodont_unbalanced_between_matches_afex():
    res = hipstats.mixed_anova(ORTHO, "distance", "age", "Subject", between="Sex")
    _check(res, R["ortho"])
    assert res.loc[res.effect == "age", "F"].iloc[0] == pytest.approx(35.35, abs=0.01)


def test_one_way_repeated_measures_matches_afex():
    _check(hipstats.mixed_anova(ORTHO, "distance", "age", "Subject"), R["ortho_within"])


def test_incomplete_subject_excluded_and_reported():
    with pytest.warns(UserWarning, match="S05"):
        res = hipstats.mixed_anova(COHORT, "y", "week", "subject", between="group")
    _check(res, R["cohort"])
    assert res.attrs["exclusions"] == [{"subject": "S05",
                                        "reason": "missing y at one or more levels of week"}]
    assert res.attrs["n_subjects"] == COHORT["subject"].nunique() - 1


def test_two_level_within_has_no_correction():
    d = COHORT[COHORT.week.isin([0, 6])]
    res = hipstats.mixed_anova(d, "y", "week", "subject", between="group")
    assert res["eps"].isna().all()
    assert (res["pval_gg"] == res["pval"]).all()


def test_errors():
    with pytest.raises(AnalysisError, match="not a column"):
        hipstats.mixed_anova(COHORT, "y", "wk", "subject")
    with pytest.raises(AnalysisError, match="no complete"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hipstats.mixed_anova(COHORT.assign(y=np.where(COHORT.group == "c", np.nan, COHORT.y)),
                                 "y", "week", "subject", between="group")
