"""Simulation throughput: batched hipstats.power.simulate vs a plain loop of mixed_model
fits on the same simulated data sets (60 subjects, 4 visits), checking decisions agree."""

import importlib
import time
import warnings

import numpy as np
import pandas as pd

import hipstats

SIM = importlib.import_module("hipstats.power.simulate")


def main(quick: bool = False) -> None:
    n_sims, n_loop = (200, 10) if quick else (1000, 25)
    t = time.perf_counter()
    res = SIM.simulate("program6wk", n=[60], n_sims=n_sims, seed=1,
                       effects={"beta_strength": 2.0}, return_draws=True)
    t_batch = time.perf_counter() - t
    draws = res.attrs["draws"][60]
    # the loop: the same data sets (first chunk, same seed stream), one mixed_model fit each
    model = SIM.model_for("program6wk", {"beta_strength": 2.0})
    seq = np.random.SeedSequence(1).spawn(1)[0].spawn(-(-n_sims // 250))[0]
    arrays = SIM.simulate_arrays(model, 60, min(250, n_sims), np.random.default_rng(seq))
    agree = 0
    t = time.perf_counter()
    for b in range(n_loop):
        rows = [(f"s{i}", w, arrays["strength"][b, i, j], arrays["function"][b, i, j])
                for i in range(60) for j, w in enumerate(arrays["week"]) if arrays["mask"][b, i, j]]
        d = pd.DataFrame(rows, columns=["subject", "week", "strength", "function"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = hipstats.mixed_model(d, "function ~ strength + week", "subject", random="week",
                                       df_method="satterthwaite")
        agree += (fit.fixed.loc["strength", "pval"] < 0.05) == (draws["pval"][b] < 0.05)
    t_loop = (time.perf_counter() - t) / n_loop
    assert agree == n_loop, f"decisions differ on {n_loop - agree} of {n_loop} data sets"
    per = t_batch / n_sims
    print(f"batched: {n_sims} data sets in {t_batch:.2f} s ({per * 1000:.1f} ms each); "
          f"power {res['power'].iloc[0]:.3f} +/- {res['mc_se'].iloc[0]:.3f}")
    print(f"loop of mixed_model (Satterthwaite): {t_loop * 1000:.0f} ms per data set; "
          f"ratio {t_loop / per:.0f}x; decisions agree on {agree}/{n_loop}")
