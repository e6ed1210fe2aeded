"""hs.mediation against R's regmedint 1.0.1 and mediation::medsens 4.5.1 (issue 25).

The trials are made by ``tests/reference/mediation_data.py`` and analysed in R by
``tests/reference/mediation.R`` (glm tightened to the maximum; see there). Tolerances:
estimates 1e-6 relative, SEs 1e-5 relative, CI limits (estimate -/+ z SE) what those two
allow, 1e-6 of the limit or 1.96e-5 SE (a limit near zero has no relative precision of its
own), p-values 1e-5 relative with an absolute floor of 1e-12 (regmedint computes 2 * (1 - pnorm(|z|)), which loses digits below
~1e-10); medsens' ACME(rho) 1e-6 relative, its grid rho where |ACME| is smallest exactly,
and the correlation of the residuals 1e-9.

A held-out batch: ``MED_DIR=<folder>`` (the generator's output) and
``MED_OUT=<folder>/mediation.json`` (the R script's).
"""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats as hs

REF = Path(__file__).parent / "reference"
DIR = Path(os.environ.get("MED_DIR") or REF / "data" / "mediation")
JSON = Path(os.environ.get("MED_OUT") or REF / "mediation.json")
DATA = pd.read_csv(DIR / "datasets.csv")
SPECS = pd.read_csv(DIR / "specs.csv")
R = json.loads(JSON.read_text())
RESULTS = {(r["set"], r["key"]): r for r in R["results"]}
COVS = ["y_bl", "m_bl"]


def _run(spec, **kw):
    d = DATA[DATA["set"] == spec["set"]].drop(columns="set").reset_index(drop=True)
    c_cond = None if np.isnan(spec["c_y_bl"]) else {"y_bl": spec["c_y_bl"],
                                                    "m_bl": spec["c_m_bl"]}
    args = dict(outcome="y", mediator="m", exposure="a", covariates=COVS,
                interaction=bool(spec["interaction"]), a0=spec["a0"], a1=spec["a1"],
                m_cde=spec["m_cde"], c_cond=c_cond, outcome_model=spec["outcome_model"],
                method="delta", n_boot=None, seed=None, level=0.95)
    args.update(kw)
    return d, hs.mediation(d, **args)


def _close(got, want, rel, abs_=0.0):
    got, want = np.asarray(got, float), np.asarray(want, float)
    return np.abs(got - want) <= np.maximum(rel * np.abs(want), abs_)


def test_header_records_versions():
    h = R["header"]
    assert h["regmedint"] == "1.0.1" and h["mediation"] == "4.5.1" and h["Deriv"] == "4.2.1"
    assert h["n_analyses"] == len(SPECS) >= 80
    kinds = SPECS.groupby(["outcome_model", "interaction"]).size()
    assert len(kinds) == 4 and kinds.min() >= 10


@pytest.mark.parametrize("i", range(len(SPECS)))
def test_regmedint_value_by_value(i):
    spec = SPECS.iloc[i]
    ref = RESULTS[(spec["set"], spec["key"])]
    d, med = _run(spec)
    tab = med.table
    assert list(tab.index) == ref["effects"] and list(tab.columns) == ["est", "se", "lci",
                                                                        "uci", "pval"]
    assert med.n == {med.contrasts[0]: ref["n"]}
    assert list(med.c_cond[med.contrasts[0]].values()) == pytest.approx(ref["c_cond"],
                                                                        rel=1e-12)
    bad = []
    limit = 1.96e-5 * np.asarray(ref["se"], float)
    for col, rel, abs_ in (("est", 1e-6, 1e-12), ("lci", 1e-6, limit), ("uci", 1e-6, limit),
                           ("se", 1e-5, 0.0), ("pval", 1e-5, 1e-12)):
        ok = _close(tab[col], ref[col], rel, abs_)
        bad += [f"{e} {col}: {g!r} vs R {w!r}" for e, g, w, o in
                zip(tab.index, tab[col], ref[col], ok) if not o]
    assert not bad, "\n".join(bad)
    # nothing lost: exactly the rows missing y, a, m or a covariate are listed ('age' is not)
    need = d[["y", "a", "m", *COVS]].isna().any(axis=1)
    assert sorted(med.excluded["row"]) == list(d.index[need])
    assert len(d) - len(med.excluded) == ref["n"]


@pytest.mark.parametrize("i", [i for i in range(len(SPECS)) if SPECS.iloc[i]["medsens"]])
def test_medsens_rho_and_acme(i):
    spec = SPECS.iloc[i]
    ref = RESULTS[(spec["set"], spec["key"])]["medsens"]
    _, med = _run(spec)
    inter = bool(spec["interaction"])
    sens = med.sensitivity(rho=ref["rho"])
    curve = sens["curve"]
    assert _close(curve["pnie"], ref["d0"], 1e-6, 1e-12).all(), (list(curve["pnie"]), ref["d0"])
    assert _close(curve["tnie"], ref["d1"], 1e-6, 1e-12).all(), (list(curve["tnie"]), ref["d1"])
    # medsens' grid: -0.95 + 0.05 k (R's seq); the grid rho where |ACME| is smallest
    grid = -0.95 + np.arange(39) * 0.05
    full = med.sensitivity(rho=grid)["curve"]
    want = np.atleast_1d(ref["err_cr_d"])
    got = [grid[np.argmin(np.abs(full["pnie"]))]] + (
        [grid[np.argmin(np.abs(full["tnie"]))]] if inter else [])
    assert got == pytest.approx(list(want), abs=1e-12)
    # the exact rho at which the indirect effect vanishes lies within a grid step of R's
    assert abs(sens["rho_zero_pnie"] - want[0]) < 0.05 and abs(sens["rho_zero"] - want[-1]) < 0.05
    if not inter:  # and it is the correlation of the residuals of m ~ a + C and y ~ a + C
        assert sens["rho_zero"] == pytest.approx(ref["rho_resid"], rel=1e-9, abs=1e-12)


def test_logistic_reference_fits_are_at_the_maximum():
    """The R side really is tight: its glm score at the estimates is ~0 (else a 1e-6
    comparison would test R's stopping rule, not the estimator)."""
    scores = [r["score_max"] for r in R["results"] if "score_max" in r]
    assert scores and max(scores) < 1e-8
