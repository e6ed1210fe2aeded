"""paired_change, ancova and responders against R (tests/reference/change.R)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.errors import AnalysisError

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "change.json").read_text())
D = pd.read_csv(REF / "data" / "change_cohort.csv", dtype={"subject": str})


def test_paired_change_matches_t_test_and_nct_cis():
    res = hipstats.paired_change(D, "strength", "time", "subject", "pre", "post", group="group")
    assert list(res["group"]) == ["PFPS", "control"]
    for _, got in res.iterrows():
        ref = R["paired"][got["group"]]
        assert got["n"] == ref["n"] and got["dof"] == ref["dof"]
        for k in ("mean_diff", "t", "pval", "ci_low", "ci_high", "dz", "hedges_g"):
            assert got[k] == pytest.approx(ref[k], rel=1e-6), k
        for k in ("dz_ci_low", "dz_ci_high", "g_ci_low", "g_ci_high"):
            assert got[k] == pytest.approx(ref[k], rel=1e-6, abs=1e-9), k
    # R03 missed the post test, R25 has no baseline row: reported, not silently dropped
    ex = {e["subject"]: e["reason"] for e in res.attrs["exclusions"]}
    assert set(ex) == {"R03", "R25"}
    assert res.set_index("group").loc["PFPS", "n_excluded"] == 1


def test_ancova_matches_lm_and_emmeans():
    res = hipstats.ancova(D, "strength", "time", "subject", "group", "pre", "post",
                          reference="control")
    got, ref = res.iloc[0], R["ancova"]
    assert got["contrast"] == "PFPS - control"
    for k in ("estimate", "t", "pval", "ci_low", "ci_high"):
        assert got[k] == pytest.approx(ref[k], rel=1e-6), k
    assert got["se"] == pytest.approx(ref["se"], rel=1e-6)
    assert got["dof"] == ref["dof"] and got["n"] == ref["n"]
    for m in res.attrs["adjusted_means"]:
        assert m["adjusted_mean"] == pytest.approx(R["emmeans"][m["group"]]["emmean"], rel=1e-6)
        assert m["se"] == pytest.approx(R["emmeans"][m["group"]]["se"], rel=1e-6)
    cov = hipstats.ancova(D, "strength", "time", "subject", "group", "pre", "post",
                          covariates=["body_mass"]).iloc[0]
    assert cov["estimate"] == pytest.approx(R["ancova_cov"]["estimate"], rel=1e-6)
    assert cov["dof"] == R["ancova_cov"]["dof"]


def test_responders_wilson_newcombe():
    res = hipstats.responders(D, "pain_vas", "time", "subject", "pre", "post", group="group",
                              mcid=2.0, relative=0.30)
    ref = R["responders"]
    g = res[res.kind == "group"].set_index("group")
    assert g.loc["PFPS", "responders"] == ref["k1"] and g.loc["PFPS", "n"] == ref["n1"]
    assert g.loc["control", "responders"] == ref["k2"] and g.loc["control", "n"] == ref["n2"]
    assert [g.loc["PFPS", "ci_low"], g.loc["PFPS", "ci_high"]] == pytest.approx(ref["ci1"], rel=1e-9)
    assert [g.loc["control", "ci_low"], g.loc["control", "ci_high"]] == pytest.approx(ref["ci2"], rel=1e-9, abs=1e-12)
    diff = res[res.kind == "difference"].iloc[0]
    assert diff["proportion"] == pytest.approx(ref["rd"], rel=1e-12)
    assert diff["ci_low"] == pytest.approx(ref["rd_low"], rel=1e-9)
    assert diff["ci_high"] == pytest.approx(ref["rd_high"], rel=1e-9)
    assert diff["nnt"] == pytest.approx(1 / ref["rd"], rel=1e-12)
    if ref["rd_low"] > 0:
        assert diff["nnt_ci_low"] == pytest.approx(1 / ref["rd_high"], rel=1e-9)


def test_responder_rules_hand_counted():
    d = pd.DataFrame({"subject": list("abcd") * 2, "time": ["pre"] * 4 + ["post"] * 4,
                      "pain": [5.0, 5.0, 1.0, 0.0, 2.9, 4.0, 0.6, 0.0]})
    # drops: a 2.1 (42%), b 1.0 (20%), c 0.4 (40%), d 0 (baseline 0)
    count = lambda rule: int(hipstats.responders(d, "pain", "time", "subject", "pre", "post",
                                                 rule=rule)["responders"].iloc[0])
    assert (count("either"), count("both"), count("absolute"), count("relative")) == (2, 1, 1, 2)


def test_change_errors():
    with pytest.raises(AnalysisError, match="not a value"):
        hipstats.paired_change(D, "strength", "time", "subject", "pre", "week6")
    with pytest.raises(AnalysisError, match="reference"):
        hipstats.ancova(D, "strength", "time", "subject", "group", "pre", "post", reference="x")
    empty = D.assign(strength=np.where(D.group == "control", np.nan, D.strength))
    with pytest.raises(AnalysisError, match="no complete"):
        hipstats.ancova(empty, "strength", "time", "subject", "group", "pre", "post")
