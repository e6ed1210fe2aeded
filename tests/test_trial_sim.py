"""The next-trial simulation of the design pages (hipstats.power.trial_sim): its fast
last-visit difference is the arm contrast the fit reports, and a seed fixes its table."""

import numpy as np
import pandas as pd
import pytest

import hipstats as hs
from hipstats.power.trial_sim import _analyse, _draw, _frame, _last_visit_row, _model_parts, \
    _Template, last_visit_difference, simulate_next_trial


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
        d = _frame(_draw(rng, parts, 15, eff), parts[0], arms, time, y)
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


@pytest.mark.parametrize("design, y", [("hipknee6wk", "pain_vas"), ("pfps3wk", "pain_vas")])
def test_a_trial_from_the_template_is_the_trial_from_its_frame(design, y):
    """The simulation fits each drawn trial from the complete trial's design matrix (built
    once) with the baseline filled in and the unobserved rows left out: the same estimate,
    SE and df as hs.mmrm on the trial's frame, also when participants drop out at every
    visit or miss all of them; a trial missing a whole visit is fitted from its frame."""
    pa = _pa(design, y)
    parts, time, arms = _model_parts(pa), pa.time, [str(a) for a in pa.arms]
    visits = parts[0]
    rhs = f"{y}_bl + C(group, levels={arms!r})" + (f" * C({time})" if len(visits) > 1 else "")
    template = _Template(parts, 30, arms, time, y, f"{y} ~ {rhs}")
    L = _last_visit_row(list(template.p.design_info.column_names), arms[1], time, visits)
    rng = np.random.default_rng(3)
    low = (*parts[:6], np.linspace(0.95, 0.6, len(visits)))  # dropout at every visit
    for k in range(4):
        draw = _draw(rng, low if k % 2 else parts, 30, 2.0 * k)
        if k == 3:
            draw[2][:, :, -1] = False                      # nobody seen at the last visit
        assert (template.prepared(draw) is None) == (k == 3)
        if k == 3 and len(visits) == 1:                    # no rows at all: a failed trial
            with pytest.raises(hs.AnalysisError):
                _analyse(draw, template, L, pa, arms, rhs, 0.05)
            continue
        got = _analyse(draw, template, L, pa, arms, rhs, 0.05)
        fit = hs.mmrm(_frame(draw, visits, arms, time, y), f"{y} ~ {rhs}", "subject",
                      time=time, cov=pa.fit.cov_structure, df_method=pa.fit.df_method,
                      visits=visits)
        assert got == pytest.approx(last_visit_difference(fit, arms[1], time, visits),
                                    rel=1e-10)


def test_the_simulation_builds_one_design_matrix_not_one_per_trial(monkeypatch):
    import hipstats.stats.mmrm.fit as fit_module

    pa = _pa("hipknee6wk", "akps")
    calls = []
    prepare = fit_module.prepare
    monkeypatch.setattr(fit_module, "prepare", lambda *a, **k: calls.append(1) or prepare(*a, **k))
    simulate_next_trial(pa, 20, 5.0, n_sims=6, seed=2)
    assert len(calls) == 1  # the template; 12 trials fitted from arrays
