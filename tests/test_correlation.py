"""timepoint_corr and rm_corr against R (tests/reference/correlation.R) and pingouin."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.errors import AnalysisError

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "correlation.json").read_text())
COHORT = pd.read_csv(REF / "data" / "corr_cohort.csv", dtype={"subject": str})
SLEEP = pd.read_csv(REF / "data" / "sleepstudy.csv")


def _close(got, ref, keys, rel=1e-6):
    for k in keys:
        assert got[k] == pytest.approx(ref[k], rel=rel, abs=1e-12), k


@pytest.mark.parametrize("data, x, y, s, key", [
    (SLEEP, "Days", "Reaction", "Subject", "rm_sleep"),
    (COHORT, "strength", "function_score", "subject", "rm_cohort"),
])
def test_rm_corr_matches_rmcorr_ancova(data, x, y, s, key):
    got = hipstats.rm_corr(data, x, y, s).iloc[0]
    ref = R[key]
    _close(got, ref, ["r", "pval", "ci_low", "ci_high"])
    assert got["dof"] == ref["dof"] and got["n_obs"] == ref["n_obs"]


def test_rm_corr_matches_pingouin_r():
    pg = pytest.importorskip("pingouin")
    d = COHORT.dropna()
    ours = hipstats.rm_corr(d, "strength", "function_score", "subject").iloc[0]
    theirs = pg.rm_corr(d, "strength", "function_score", "subject")
    assert ours["r"] == pytest.approx(theirs["r"].iloc[0], rel=1e-10)
    assert ours["dof"] == theirs["dof"].iloc[0]


@pytest.mark.parametrize("method", ["pearson", "spearman"])
def test_timepoint_corr_matches_cor_test(method):
    res = hipstats.timepoint_corr(COHORT, "strength", "function_score", "week", method=method,
                                  padjust="holm")
    res_bh = hipstats.timepoint_corr(COHORT, "strength", "function_score", "week",
                                     method=method, padjust="fdr_bh")
    assert list(res.columns[:6]) == ["week", "n", "r", "ci_low", "ci_high", "pval"]
    for i, ref in enumerate(R["timepoint"][method]):
        got = res.iloc[i]
        assert got["week"] == ref["week"] and got["n"] == ref["n"]
        _close(got, ref, ["r", "pval", "ci_low", "ci_high"])
        assert got["pval_adj"] == pytest.approx(ref["pval_holm"], rel=1e-6)
        assert res_bh.iloc[i]["pval_adj"] == pytest.approx(ref["pval_bh"], rel=1e-6)


def test_rm_corr_is_row_order_invariant_and_ignores_singletons():
    d = COHORT.dropna()
    a = hipstats.rm_corr(d, "strength", "function_score", "subject").iloc[0]
    b = hipstats.rm_corr(d.sample(frac=1, random_state=1), "strength", "function_score",
                         "subject").iloc[0]
    assert a["r"] == pytest.approx(b["r"], rel=1e-12)
    extra = pd.concat([d, pd.DataFrame({"subject": ["new"], "week": [0], "strength": [9.0],
                                        "function_score": [1.0]})])
    c = hipstats.rm_corr(extra, "strength", "function_score", "subject").iloc[0]
    assert c["r"] == pytest.approx(a["r"], rel=1e-12) and c["dof"] == a["dof"]


def test_errors_are_clear():
    with pytest.raises(AnalysisError, match="not a column"):
        hipstats.rm_corr(COHORT, "strenght", "function_score", "subject")
    with pytest.raises(AnalysisError, match="constant"):
        hipstats.rm_corr(COHORT.assign(c=1.0), "c", "function_score", "subject")
    with pytest.raises(AnalysisError, match="at least 2 subjects"):
        hipstats.rm_corr(COHORT[COHORT.subject == "S02"], "strength", "function_score", "subject")
    with pytest.raises(AnalysisError, match="method"):
        hipstats.timepoint_corr(COHORT, "strength", "function_score", "week", method="kendal")
    with pytest.raises(AnalysisError, match="both"):
        hipstats.timepoint_corr(COHORT.assign(strength=np.nan), "strength", "function_score", "week")


def test_small_timepoints_give_nan_not_errors():
    d = COHORT[(COHORT.week != 6) | COHORT.subject.isin(["S02", "S03", "S04"])]
    res = hipstats.timepoint_corr(d, "strength", "function_score", "week")
    last = res.iloc[-1]
    assert last["n"] <= 3 and np.isnan(last["ci_low"])


@pytest.mark.parametrize("method", ["holm", "bonferroni", "fdr_bh"])
def test_p_adjust_matches_statsmodels(method):
    from statsmodels.stats.multitest import multipletests

    from hipstats.stats.correlation import p_adjust

    rng = np.random.default_rng(7)
    for m in (1, 2, 4, 9):
        for _ in range(20):
            p = rng.uniform(size=m) ** 2
            p[rng.random(m) < 0.2] = p[0]  # ties
            assert np.allclose(p_adjust(p, method), multipletests(p, method=method)[1],
                               rtol=1e-14, atol=0)
