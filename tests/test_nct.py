"""noncentral_t_ci against R (tests/reference/nct.R) and paired_change robustness (issue 11)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import hipstats
from hipstats.errors import AnalysisError, HipstatsError
from hipstats.stats.change import noncentral_t_ci

R = json.loads((Path(__file__).parent / "reference" / "nct.json").read_text())


def _close(got, ref):
    if abs(ref) < 1e-6:
        return abs(got - ref) <= 1e-6
    return abs(got - ref) <= 1e-6 * abs(ref)


def _case_id(c):
    return f"t{c['t']}-df{c['df']}-conf{c['conf']}"


@pytest.mark.parametrize("case", R["grid"], ids=_case_id)
def test_nct_ci_matches_r_pt(case):
    lo, hi = noncentral_t_ci(case["t"], case["df"], 1 - case["conf"])
    assert _close(lo, case["ncp_low"]), (lo, case["ncp_low"])
    assert _close(hi, case["ncp_high"]), (hi, case["ncp_high"])


@pytest.mark.parametrize("case", R["quadrature"], ids=_case_id)
def test_nct_ci_matches_r_quadrature_where_pt_is_approximate(case):
    # R's pt() switches to a normal approximation for |ncp| > 37.62 (see nct.R); these
    # limits come from uniroot on the exact integral in R instead.
    lo, hi = noncentral_t_ci(case["t"], case["df"], 1 - case["conf"])
    assert _close(lo, case["ncp_low"]), (lo, case["ncp_low"])
    assert _close(hi, case["ncp_high"]), (hi, case["ncp_high"])


def test_reference_covers_the_whole_grid():
    pts = {(c["t"], c["df"], c["conf"]) for c in R["grid"] + R["quadrature"]}
    assert len(pts) == 15 * 8 + 15
    assert {(c["t"], c["df"], c["conf"]) for c in R["excluded"]} == \
        {(c["t"], c["df"], c["conf"]) for c in R["quadrature"]}


@pytest.mark.parametrize("t", [-60.0, -4.7, -0.3, 0.0, 2.5, 60.0, 500.0])
@pytest.mark.parametrize("df", [1, 2, 14, 500, 5000])
def test_nct_ci_symmetry_and_defining_equations(t, df):
    lo, hi = noncentral_t_ci(t, df)
    assert lo < hi
    nlo, nhi = noncentral_t_ci(-t, df)
    assert (nlo, nhi) == (-hi, -lo)
    assert sps.nct.sf(t, df, lo) == pytest.approx(0.025, rel=1e-8)
    assert sps.nct.cdf(t, df, hi) == pytest.approx(0.025, rel=1e-8)


def test_nct_ci_edge_inputs():
    assert all(np.isnan(noncentral_t_ci(np.nan, 10)))
    assert all(np.isnan(noncentral_t_ci(np.inf, 10)))
    assert all(np.isnan(noncentral_t_ci(2.0, 0)))
    with pytest.raises(AnalysisError):
        noncentral_t_ci(2.0, 10, alpha=1.5)
    # huge t (nearly constant differences): finite, ordered limits, no scipy error
    lo, hi = noncentral_t_ci(-1e6, 3)
    assert np.isfinite(lo) and np.isfinite(hi) and lo < hi < 0


def _long(pre, post, subjects=None):
    n = len(pre)
    subjects = subjects if subjects is not None else [f"S{i:02d}" for i in range(n)]
    return pd.DataFrame({"subject": subjects * 2, "time": ["pre"] * n + ["post"] * n,
                         "pain_vas": np.concatenate([pre, post])})


def test_paired_change_strong_decrease_does_not_crash():
    # issue 11 item 2: PFPS pain falling 1.5 cm (SD of change 1.2) in 15 patients; this seed
    # gives t = -4.73, where the old solver hit NaN from scipy's nct.cdf
    rng = np.random.default_rng(3)
    pre = rng.normal(6.0, 1.5, 15)
    post = pre + rng.normal(-1.5, 1.2, 15)
    res = hipstats.paired_change(_long(pre, post), "pain_vas", "time", "subject", "pre", "post")
    row = res.iloc[0]
    assert row["t"] == pytest.approx(-4.7313, abs=1e-4)
    assert row["dz_ci_low"] < row["dz"] < row["dz_ci_high"] < 0
    sn = np.sqrt(15)
    assert sps.nct.sf(row["t"], 14, row["dz_ci_low"] * sn) == pytest.approx(0.025, rel=1e-8)
    assert sps.nct.cdf(row["t"], 14, row["dz_ci_high"] * sn) == pytest.approx(0.025, rel=1e-8)
    assert row["g_ci_low"] < row["hedges_g"] < row["g_ci_high"] < 0


def test_paired_change_random_trials_raise_only_hipstats_errors():
    rng = np.random.default_rng(20240611)
    n_err = 0
    for _ in range(300):
        n = int(rng.integers(3, 41))
        sd = float(np.exp(rng.uniform(np.log(0.01), np.log(10))))
        effect = float(rng.uniform(-20, 20)) * sd
        pre = rng.normal(50, sd, n)
        post = pre + rng.normal(effect, sd * rng.uniform(0.05, 2), n)
        if rng.random() < 0.1:  # a few missed visits
            post[rng.integers(0, n)] = np.nan
        data = _long(pre, post)
        alpha = 0.05 if rng.random() < 0.8 else 0.10
        try:
            res = hipstats.paired_change(data, "pain_vas", "time", "subject", "pre", "post",
                                         alpha=alpha)
        except HipstatsError:
            n_err += 1
            continue
        row = res.iloc[0]
        if np.isfinite(row["t"]):
            assert np.isfinite(row["dz_ci_low"]) and np.isfinite(row["dz_ci_high"])
            assert row["dz_ci_low"] < row["dz_ci_high"]
            assert row["dz_ci_low"] <= row["dz"] <= row["dz_ci_high"]
    assert n_err < 30
