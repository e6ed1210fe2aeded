"""Issue 9 item 7: no analysis fits text as numbers, and a constant outcome is an
AnalysisError (not F = 4.5e+33). The text is what a loader yields when a missing-value code
such as "-" is not declared."""

import warnings

import numpy as np
import pytest

import hipstats
from hipstats.errors import AnalysisError

P6 = hipstats.example("program6wk")
PF = hipstats.example("pfps3wk")


def _text(d, col):
    return d.assign(**{col: d[col].map(lambda v: "-" if np.isnan(v) else f"{v:g}")})


CALLS = {
    "mixed_model": lambda d: hipstats.mixed_model(d, "function_score ~ strength + week",
                                                  "subject"),
    "timepoint_corr": lambda d: hipstats.timepoint_corr(d, "strength", "function_score",
                                                        time="week"),
    "rm_corr": lambda d: hipstats.rm_corr(d, "strength", "function_score", "subject"),
    "cross_lagged": lambda d: hipstats.cross_lagged(d, x="strength", y="function_score",
                                                    time="week", subject="subject"),
}
CALLS_PF = {
    "mixed_anova": lambda d: hipstats.mixed_anova(d, "pain_vas", within="time",
                                                  subject="subject", between="group",
                                                  order=["pre", "post"]),
    "paired_change": lambda d: hipstats.paired_change(d, "pain_vas", "time", "subject", "pre",
                                                      "post"),
    "ancova": lambda d: hipstats.ancova(d, "pain_vas", "time", "subject", "group", "pre",
                                        "post"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_text_column_is_refused_naming_the_values(name):
    with pytest.raises(AnalysisError, match=r"function_score.*(numeric|text).*'-'"):
        CALLS[name](_text(P6, "function_score"))


@pytest.mark.parametrize("name", sorted(CALLS_PF))
def test_text_outcome_is_refused_pfps(name):
    with pytest.raises(AnalysisError, match=r"pain_vas.*(numeric|text)"):
        CALLS_PF[name](_text(PF, "pain_vas"))


@pytest.mark.parametrize("name", ["mixed_anova", "ancova"])
def test_constant_outcome_is_an_analysis_error(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AnalysisError, match="constant|rank"):
            CALLS_PF[name](PF.assign(pain_vas=3.0))


def test_constant_outcome_mixed_model():
    with pytest.raises(AnalysisError, match="constant"):
        CALLS["mixed_model"](P6.assign(function_score=50.0))
