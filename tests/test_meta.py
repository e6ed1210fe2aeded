"""effect_from_summary and meta_analysis against metafor (tests/reference/meta.R)."""

import json
from pathlib import Path

import pandas as pd
import pytest

import hipstats
from hipstats.errors import AnalysisError

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "meta.json").read_text())
BCG = pd.read_csv(REF / "data" / "bcg.csv")
S = pd.read_csv(REF / "data" / "summaries.csv")


@pytest.mark.parametrize("key, method, test", [("REML", "REML", "z"), ("DL", "DL", "z"),
                                                ("FE", "FE", "z"), ("REML_knha", "REML", "knha")])
def test_rma_bcg(key, method, test):
    res = hipstats.meta_analysis(BCG, method=method, test=test, study="author").iloc[0]
    ref = R[key]
    for k in ("estimate", "stat", "pval", "ci_low", "ci_high", "q", "q_pval"):
        assert res[k] == pytest.approx(ref[k], rel=1e-6), k
    for k in ("se", "tau2", "i2", "h2", "pi_low", "pi_high"):
        assert res[k] == pytest.approx(ref[k], rel=1e-4, abs=1e-10), k
    w = [s["weight"] for s in hipstats.meta_analysis(BCG, method=method).attrs["studies"]]
    assert w == pytest.approx(ref["weights"], rel=1e-4)


@pytest.mark.parametrize("measure", ["SMD", "MD", "ROM"])
def test_escalc(measure):
    es = hipstats.effect_from_summary(S.m1, S.sd1, S.n1, S.m2, S.sd2, S.n2, measure=measure)
    assert es["yi"].tolist() == pytest.approx(R["escalc"][measure]["yi"], rel=1e-9)
    assert es["vi"].tolist() == pytest.approx(R["escalc"][measure]["vi"], rel=1e-9)


def test_meta_errors():
    with pytest.raises(AnalysisError, match="at least 2"):
        hipstats.meta_analysis(BCG.head(1))
    with pytest.raises(AnalysisError, match="method"):
        hipstats.meta_analysis(BCG, method="PM")
    with pytest.raises(AnalysisError, match="positive"):
        hipstats.meta_analysis(BCG.assign(vi=-1.0))
    with pytest.raises(AnalysisError, match="n >= 2"):
        hipstats.effect_from_summary(1, 1, 1, 2, 1, 5)
