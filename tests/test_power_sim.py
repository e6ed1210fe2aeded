"""Simulation-based power: analytic agreement, agreement with a loop of single fits on the
same seeds, determinism, and the Dask path on a LocalCluster."""

import importlib
import warnings

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.cli import main
from hipstats.power import simulate

SIM = importlib.import_module("hipstats.power.simulate")


def test_ttest_power_matches_pwr_within_mc_error():
    res = simulate("pfps3wk", n=[15, 29], n_sims=4000, seed=11, analysis="ttest", dropout=0.0)
    for _, r in res.iterrows():
        exact = hipstats.power_ttest(1.5 / 2.0, n=r["n"])
        assert abs(r["power"] - exact) < 3.5 * r["mc_se"], (r["n"], r["power"], exact)
    assert res["coverage"].between(0.93, 0.97).all()


def test_rm_corr_power_matches_power_corr_at_one_lag():
    """Two visits, no time trends and no subject effects on the change: rm_corr is then the
    correlation (through the origin) of the changes, on N - k - 1 = k - 1 df, i.e. a
    Pearson test at n = k + 1: compare with power_corr on the implied r."""
    eff = {"weeks": (0, 2), "dropout": (0.0, 0.0), "sd_slope": 0.0, "beta_strength": 8.0,
           "strength_slope": 0.0, "function_slope": 0.0}
    res = simulate("program6wk", effects=eff, n=[20], n_sims=3000, seed=5, analysis="rm_corr")
    m = SIM.model_for("program6wk", eff)
    # differences: dx ~ N(0, 2 s^2), dy = b dx + N(0, 2 r^2)
    r_true = m.beta_strength * m.sd_strength_noise / np.sqrt(
        m.beta_strength ** 2 * m.sd_strength_noise ** 2 + m.sd_residual ** 2)
    exact = hipstats.power_corr(r_true, n=21)
    got = res.iloc[0]
    assert abs(got["power"] - exact) < 3.5 * got["mc_se"] + 0.01, (got["power"], exact)


def _frame(arrays, b):
    rows = []
    m, J = arrays["strength"].shape[1:]
    for i in range(m):
        for j in range(J):
            if arrays["mask"][b, i, j]:
                rows.append((f"s{i:03d}", arrays["week"][j], arrays["strength"][b, i, j],
                             arrays["function"][b, i, j]))
    return pd.DataFrame(rows, columns=["subject", "week", "strength", "function"])


def test_batched_mixed_model_agrees_with_loop_of_fits():
    model = SIM.model_for("program6wk", {"beta_strength": 2.0})
    arrays = SIM.simulate_arrays(model, 40, 60, np.random.default_rng(3))
    batch = SIM._analyse(model, arrays, "mixed", 0.05)
    same = 0
    for b in range(60):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = hipstats.mixed_model(_frame(arrays, b), "function ~ strength + week",
                                       "subject", random="week",
                                       df_method="satterthwaite" if b < 20 else "residual")
        row = fit.fixed.loc["strength"]
        # the batched simplex stops at a relative deviance tolerance of 1e-9: estimates agree
        # to a small fraction of their standard error
        assert abs(row["estimate"] - batch["estimate"][b]) < 1e-3 * row["se"]
        assert row["se"] == pytest.approx(batch["se"][b], rel=1e-3)
        same += (row["pval"] < 0.05) == (batch["pval"][b] < 0.05)
    assert same / 60 >= 0.995


def test_ancova_batch_matches_hipstats_ancova():
    model = SIM.model_for("pfps3wk")
    arr = SIM.simulate_arrays(model, 12, 3, np.random.default_rng(9))
    batch = SIM._analyse(model, arr, "ancova", 0.05)
    for b in range(3):
        n = arr["pre"].shape[1]
        ids = [f"r{i}" for i in range(n)]
        grp = np.where(arr["group"][b] == 1, "hip", "comparison")
        post = np.where(arr["observed"][b], arr["post"][b], np.nan)
        d = pd.concat([pd.DataFrame({"subject": ids, "group": grp, "time": "pre", "vas": arr["pre"][b]}),
                       pd.DataFrame({"subject": ids, "group": grp, "time": "post", "vas": post})])
        res = hipstats.ancova(d, "vas", "time", "subject", "group", "pre", "post",
                              reference="comparison").iloc[0]
        assert res["estimate"] == pytest.approx(batch["estimate"][b], rel=1e-9)
        assert res["pval"] == pytest.approx(batch["pval"][b], rel=1e-7)


def test_deterministic_and_independent_of_threads():
    a = simulate("program6wk", n=[10], n_sims=40, seed=3, chunk_size=15, threads=1)
    b = simulate("program6wk", n=[10], n_sims=40, seed=3, chunk_size=15, threads=2)
    pd.testing.assert_frame_equal(a, b)
    c = simulate("program6wk", n=[10], n_sims=40, seed=4, chunk_size=15)
    assert not a.equals(c)


def test_dask_local_cluster_gives_same_numbers():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = simulate("pfps3wk", n=[10, 20], n_sims=300, seed=8, chunk_size=100,
                           client=client)
        mixed = simulate("program6wk", n=[8], n_sims=20, seed=8, chunk_size=10, client=client)
    pd.testing.assert_frame_equal(on_dask, simulate("pfps3wk", n=[10, 20], n_sims=300, seed=8,
                                                    chunk_size=100))
    pd.testing.assert_frame_equal(mixed, simulate("program6wk", n=[8], n_sims=20, seed=8,
                                                  chunk_size=10))


def test_input_errors():
    with pytest.raises(ValueError, match="unknown design"):
        simulate("nope")
    with pytest.raises(ValueError, match="at least"):
        simulate("pfps3wk", n=[2])
    with pytest.raises(ValueError, match="dropout"):
        simulate("pfps3wk", dropout=1.0)
    with pytest.raises(ValueError, match="unknown effect"):
        simulate("pfps3wk", effects={"bogus": 1})
    with pytest.raises(ValueError, match="analysis"):
        simulate("pfps3wk", analysis="mixed")


def test_cli(capsys, tmp_path):
    assert main(["power", "pfps3wk", "--n", "10", "20", "--sims", "200", "--seed", "1",
                 "--effect", "delta=1.5", "--plot", str(tmp_path / "curve.png")]) == 0
    out = capsys.readouterr().out
    assert "power" in out and (tmp_path / "curve.png").exists()
    assert main(["power", "pfps3wk", "--effect", "delta"]) == 2


def test_type1_error_and_assumptions_beside_power(capsys):
    """Issue 20: power is printed beside the simulated type I error and CI coverage of the
    same design with no effect, and every assumed value with its source."""
    res = simulate("pfps3wk", n=[12], n_sims=400, seed=3)
    r = res.iloc[0]
    assert r["type1_band_low"] <= r["type1_error"] <= r["type1_band_high"]
    assert 0.9 < r["null_coverage"] <= 1
    off = simulate("pfps3wk", n=[12], n_sims=400, seed=3, null=False)
    assert "type1_error" not in off and off["power"].iloc[0] == r["power"]
    assert main(["power", "pfps3wk", "--n", "12", "--sims", "300", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "delta = 1.5  (published: Nascimento" in out
    assert "type1_error" in out and "null_coverage" in out
    assert "the same design with delta = 0" in out


def test_the_cli_offers_the_designs_power_simulates_without_importing_it():
    import subprocess
    import sys

    from hipstats.cli.power_cmd import POWER_DESIGNS
    from hipstats.power.models import ANALYSES

    assert sorted(POWER_DESIGNS) == sorted(ANALYSES)
    code = ("import sys; from hipstats.cli import build_parser; build_parser(); "
            "print('scipy.stats' in sys.modules, 'hipstats.power' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.stdout.split() == ["False", "False"], r.stderr
