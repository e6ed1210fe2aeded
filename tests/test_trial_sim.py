"""The next-trial simulation of the design pages (hipstats.power.trial_sim): its fast
last-visit difference is the arm contrast the fit reports, and a seed fixes its table."""

import numpy as np
import pandas as pd
import pytest

import hipstats as hs
from hipstats.power.trial_sim import _draw, _model_parts, last_visit_difference, \
    simulate_next_trial


def _pa(design, y, df_method="kenward-roger-linear"):
    df = hs.example(design)
    d = hs.get_design(design)
    return hs.primary_analysis(df, y, d.time, "subject", group="group", reference=d.reference,
                               baseline=d.baseline, df_method=df_method)


@pytest.mark.parametrize("design, y", [("hipknee6wk", "akps"), ("hipknee6wk", "pain_vas"),
                                       ("pfps3wk", "pain_vas")])
@pytest.mark.parametrize("df_method", ["kenward-roger-linear", "satterthwaite", "residual"])
def test_last_visit_difference_is_the_fits_own_contrast(design, y, df_method):
    pa = _pa(design, y, df_method)
    fit, time, arms = pa.fit, pa.time, [str(a) for a in pa.arms]
    rng = np.random.default_rng(11)
    parts = _model_parts(pa)
    rhs = f"{y}_bl + C(group, levels={arms!r})" + (f" * C({time})" if len(parts[0]) > 1 else "")
    fits = [fit]  # the study itself, and simulated trials of every sign
    for eff in (0.0, 1.5, -3.0):
        d = _draw(rng, parts, 15, eff, arms, time, y)
        fits.append(hs.mmrm(d, f"{y} ~ {rhs}", "subject", time=time, cov=fit.cov_structure,
                            df_method=df_method, visits=parts[0]))
    for f in fits:
        c = f.contrast("group", by=time if len(parts[0]) > 1 else None,
                       method="trt.vs.ctrl", adjust="none")
        r = c[c[time] == parts[0][-1]].iloc[0] if time in c else c.iloc[0]
        est, se, df = last_visit_difference(f, arms[1], time, parts[0])
        assert (est, se, df) == pytest.approx((r["estimate"], r["se"], r["df"]), rel=1e-10)


def test_same_seed_same_table_and_the_planned_difference_is_found():
    pa = _pa("pfps3wk", "pain_vas")
    a = simulate_next_trial(pa, 10, -3.0, n_sims=30, seed=5)
    b = simulate_next_trial(pa, 10, -3.0, n_sims=30, seed=5)
    pd.testing.assert_frame_equal(a, b)
    planned, null = a.set_index("scenario").loc[["planned difference", "no difference"],
                                                 "rejected"]
    assert planned > 0.8 and null <= a["band_high"].iloc[1]
