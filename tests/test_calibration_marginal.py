"""Calibration of the covariate-adjusted risk difference (issue 26 item 5).

``hs.marginal_effect(..., contrast="diff")`` with Ye's and Ge's (HC0) variance, on two-arm
trials of 30-200 participants whose control-arm response is 10%, 30% or 50%: the rate at
which the Wald test rejects a true null (RD = 0) at alpha = .05, and the rate at which the
95% CI misses the true marginal RD, under the null and under a benefit (log odds ratio 0.8,
RD 0.10-0.19 depending on the response rate). The count must lie inside the exact two-sided
99% binomial band around 5% (``band``, as in ``test_calibration.py``).

The generating model is written here (the assumptions under test, not shared with the code):
simple randomisation 1:1 (Bernoulli 1/2, as Ye et al.'s variance assumes; both arms
non-empty), a baseline score ``x ~ N(0, 1)`` and a binary ``z ~ Bernoulli(0.4)``;
``logit P(resp) = a + 0.8 x + 0.6 (z - 0.4) + beta arm``, with ``a`` set so the control
arm's marginal response is ``p0``. The working model is ``resp ~ arm + x``: it omits ``z``,
so it is misspecified, as a page's (which adjusts for the baseline only) usually is. The
true marginal RD is computed by quadrature (Gauss-Hermite in x, exact in z). An arm with no
responders or only responders (frequent at n = 30 with 10% response) makes the working
model separated: hipstats then fits Firth's penalised model (counted in the full run). A
trial in which nobody responded (n = 30, 10%: about 1 in 25) has no contrast: marginal_effect
refuses it; it counts as not rejecting, is left out of the coverage counts (no interval), and
is counted as ``no_contrast``.

Two sizes of run:

* the CI part (default ``pytest``): every n in (30, 60, 100, 200) and p0 in (.1, .3, .5),
  24 null replicates each, judged per method pooled over the 12 cells (288 tests) and per
  n pooled over p0 (72). About 10 s.
* ``pytest -m calibration tests/test_calibration_marginal.py``: 1,000 null and 1,000
  benefit replicates per cell, writes ``benchmarks/calibration_marginal.json``. At n = 100
  and 200 every count must lie in the band (a count outside it is re-measured with two more
  seeds and judged on the pooled 3,000: 72 counts are judged, so one outside its 99% band
  by chance is expected in about half the runs); at n = 30 and 60 the rates are reported
  and must stay under 12% (``EXCEPTIONS``).
"""

from __future__ import annotations

import functools
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

import hipstats as hs
from test_calibration import band  # the exact binomial band, one copy

ALPHA = 0.05
BASE = 20261206
NS = (30, 60, 100, 200)
P0S = (0.1, 0.3, 0.5)
BENEFIT = 0.8                     # log odds ratio of the benefit scenario
METHODS = {"Ye": {"method": "Ye"}, "Ge (HC0)": {"method": "Ge", "type": "HC0"}}
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_marginal.json"
_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(60)     # E over N(0, 1)
_GH_W = _GH_W / _GH_W.sum()


# --------------------------------------------------------------------------------------
# generating model (the assumptions; written here on purpose)
# --------------------------------------------------------------------------------------

def _risk(a: float, beta: float) -> float:
    """Marginal P(resp) in one arm: E over x ~ N(0,1), z ~ Bernoulli(.4)."""
    return sum(pz * float(_GH_W @ special.expit(a + 0.8 * _GH_X + 0.6 * (z - 0.4) + beta))
               for z, pz in ((0, 0.6), (1, 0.4)))


@functools.lru_cache(maxsize=None)
def intercept(p0: float) -> float:
    return optimize.brentq(lambda a: _risk(a, 0.0) - p0, -10, 10, xtol=1e-13)


def true_rd(p0: float, beta: float) -> float:
    a = intercept(p0)
    return _risk(a, beta) - _risk(a, 0.0)


def gen_trial(rng, n: int, p0: float, beta: float) -> pd.DataFrame:
    while True:
        arm = rng.random(n) < 0.5
        if 0 < arm.sum() < n:
            break
    x = rng.standard_normal(n)
    z = rng.random(n) < 0.4
    p = special.expit(intercept(p0) + 0.8 * x + 0.6 * (z - 0.4) + beta * arm)
    return pd.DataFrame({"arm": np.where(arm, "trt", "ctl"), "x": x,
                         "resp": (rng.random(n) < p).astype(int)})


def check(rng, n: int, p0: float, beta: float, truth: float) -> dict:
    """One trial: per method (rejects RD = 0, CI covers the truth), and separation."""
    d = gen_trial(rng, n, p0, beta)
    if d["resp"].nunique() == 1:    # nobody (or everybody) responded: marginal_effect refuses
        return {**{m: (False, None) for m in METHODS}, "separated": False, "no_contrast": True}
    out = {}
    for name, kw in METHODS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            me = hs.marginal_effect(d, "resp ~ arm + x", treatment="arm", reference="ctl", **kw)
        r = me.table.iloc[0]
        out[name] = (r["pval"] < ALPHA, r["lci"] <= truth <= r["uci"])
    return {**out, "separated": me.penalty == "firth", "no_contrast": False}


def run_cell(n: int, p0: float, reps: int, beta: float = 0.0, seed_extra: int = 0) -> dict:
    rng = np.random.default_rng(np.random.SeedSequence([BASE, n, int(p0 * 100),
                                                        int(beta * 100), seed_extra]))
    truth = true_rd(p0, beta) if beta else 0.0
    counts = {m: [0, 0] for m in METHODS}          # rejections, misses
    sep = none = 0
    for _ in range(reps):
        res = check(rng, n, p0, beta, truth)
        sep += res.pop("separated")
        none += res.pop("no_contrast")
        for m, (rej, cov) in res.items():
            counts[m][0] += bool(rej)
            counts[m][1] += cov is not None and not cov
    return {"reps": reps, "truth": truth, "separated": sep, "no_contrast": none, **counts}


def _outside(count: int, reps: int) -> bool:
    lo, hi = band(reps)
    return not lo <= count <= hi


# --------------------------------------------------------------------------------------
# CI part
# --------------------------------------------------------------------------------------

def test_truth_by_quadrature_matches_simulation():
    """The true marginal risks the coverage is judged against (quadrature) agree with a
    large simulation of the same model."""
    rng = np.random.default_rng(5)
    x, z = rng.standard_normal(400_000), rng.random(400_000) < 0.4
    a = intercept(0.3)
    sim = special.expit(a + 0.8 * x + 0.6 * (z - 0.4) + BENEFIT).mean() - \
        special.expit(a + 0.8 * x + 0.6 * (z - 0.4)).mean()
    assert true_rd(0.3, BENEFIT) == pytest.approx(sim, abs=3e-3)
    assert _risk(a, 0.0) == pytest.approx(0.3, abs=1e-10)


def test_null_rejection_pooled():
    reps = 24
    pooled = {m: np.zeros(2, int) for m in METHODS}
    bad = []
    for n in NS:
        per_n = {m: np.zeros(2, int) for m in METHODS}
        for p0 in P0S:
            c = run_cell(n, p0, reps)
            for m in METHODS:
                per_n[m] += c[m]
                pooled[m] += c[m]
        bad += [f"n={n} {m}: {per_n[m][0]}/{3 * reps} rejections" for m in METHODS
                if _outside(per_n[m][0], 3 * reps)]
    total = reps * len(NS) * len(P0S)
    bad += [f"pooled {m}: {pooled[m][0]}/{total} rejections" for m in METHODS
            if _outside(pooled[m][0], total)]
    assert not bad, "\n".join(bad)


# --------------------------------------------------------------------------------------
# full run (pytest -m calibration): 1,000 null and 1,000 benefit replicates per cell
# --------------------------------------------------------------------------------------

# Measured (1,000 replicates per cell, benchmarks/calibration_marginal.json): at n = 100 and
# 200 every rate is inside the band (null rejections Ye 4.5-5.3%, Ge 4.7-5.5%). Below that
# the Wald interval of both large-sample variances is too narrow: null rejections at n = 30
# Ye 7.4-7.5% (4.8% at 10% response, where 35% of trials are separated and 4% have no
# responder) and Ge 7.1-9.0%; at n = 60 Ye 4.8-7.1%, Ge 5.5-7.9%; the benefit interval
# misses 9.5% (Ye) and 10.9% (Ge) at n = 30 with 10% response. Ge's delta method treats the
# covariates as fixed, so it is the more liberal of the two (Magirr et al. 2024). These
# cells are reported, not judged against the band; they must stay under SMALL_N_CEILING,
# and the page says so when it shows an adjusted RD from fewer than 100 participants.
SMALL_N = (30, 60)
SMALL_N_CEILING = 0.12
EXCEPTIONS = {(m, n, p0) for m in METHODS for n in SMALL_N for p0 in P0S}


def _record(key: str, value) -> None:
    data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    data[key] = value
    RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _judge_large(m: str, n: int, p0: float, null: dict, alt: dict, reps: int) -> list:
    """Every count inside the 99% band; a count outside it is re-measured with two more
    seeds and judged on the pooled 3,000 replicates (72 counts are judged, so about one in
    two full runs has a count outside its band by chance)."""
    bad = []
    for what, cell, i in (("null rejections", null, 0), ("null misses", null, 1),
                          ("benefit misses", alt, 1)):
        count, k = cell[m][i], reps - (cell["no_contrast"] if i else 0)
        if not _outside(count, k):
            continue
        beta = BENEFIT if cell is alt else 0.0
        more = [run_cell(n, p0, reps, beta=beta, seed_extra=100 + j) for j in (1, 2)]
        count += sum(c[m][i] for c in more)
        k += sum(reps - (c["no_contrast"] if i else 0) for c in more)
        _record(f"{m} | n={n} | p0={p0} | {what} re-measured", {"count": count, "of": k,
                                                                 "band": band(k)})
        if _outside(count, k):
            bad.append(f"{m} n={n} p0={p0}: {what} {count}/{k} outside {band(k)}")
    return bad


@pytest.mark.calibration
@pytest.mark.parametrize("p0", P0S)
@pytest.mark.parametrize("n", NS)
def test_full_calibration(n, p0):
    reps = int(os.environ.get("CALIBRATION_REPS", 1000))
    t0 = time.perf_counter()
    null = run_cell(n, p0, reps, seed_extra=1)
    alt = run_cell(n, p0, reps, beta=BENEFIT, seed_extra=2)
    secs = round(time.perf_counter() - t0, 1)
    bad = []
    for m in METHODS:
        _record(f"{m} | n={n} | p0={p0}", {
            "reps": reps, "band": band(reps), "null_rejections": null[m][0],
            "null_misses": null[m][1], "benefit_rd": round(alt["truth"], 5),
            "benefit_misses": alt[m][1], "benefit_power": alt[m][0] / reps,
            "separated_null": null["separated"], "separated_benefit": alt["separated"],
            "no_contrast_null": null["no_contrast"], "no_contrast_benefit": alt["no_contrast"],
            "seconds": secs})
        if (m, n, p0) in EXCEPTIONS:
            worst = max(null[m][0], null[m][1], alt[m][1]) / reps
            if worst > SMALL_N_CEILING:
                bad.append(f"{m} n={n} p0={p0}: {worst:.1%} > {SMALL_N_CEILING:.0%}")
            continue
        bad += _judge_large(m, n, p0, null, alt, reps)
    assert not bad, "\n".join(bad)
