"""Calibration of the indirect-effect test and interval of ``hs.mediation`` (issue 25).

As ``tests/test_calibration.py``: data are simulated here from generating models written in
this file (not hipstats' simulators), at the sizes trials of hip strength and knee pain run
(20-200 participants), and we count

* rejections of "no natural indirect effect" (TNIE) at alpha = .05 under the two nulls:
  a = 0 (the arm does not move the mediator; the mediator does move the outcome) and b = 0
  (the arm moves the mediator, which does not move the outcome), and under both zero. The
  product-of-coefficients delta (Sobel) test is known to be conservative when both are
  zero (MacKinnon et al. 2002, Psychol Methods 7:83-104), and with few participants under a
  single null too: judged only against the band's upper end ("conservative");
* 95% intervals that miss the true TNIE, under the nulls and with both paths non-zero
  (a = b = 0.39, MacKinnon's "medium"; true TNIE 0.152): the delta method against the
  percentile and the BCa bootstrap. Misses must not exceed the band's upper end (covering
  more than 95% is conservative).

Measured and documented rather than judged (``EXCEPTIONS``): BCa is liberal under a = 0 at
n = 200 (8.0%), the delta interval under-covers with both paths non-zero at n = 50-100.

The analysis is the page's: arm (0/1, randomised 1:1) as exposure, the mediator's change,
baseline outcome and baseline mediator as covariates, the arm x mediator interaction.

Two sizes of run:

* the CI part (``pytest``, ``make test``): the delta method at n = 20, 50, 100, 200 with few
  replicates and the percentile bootstrap at n = 50 with fewer (199 resamples): catches gross
  failures; a few seconds.
* ``pytest -m calibration tests/test_calibration_mediation.py``: ``FULL_REPS`` (1,000)
  replicates per n and scenario, every method from one bootstrap (999 resamples) per
  replicate; writes ``benchmarks/calibration_mediation.json`` (about 25 minutes on one
  loaded core). The page's choice of interval reads these rates
  (``hipstats.pages.mediation.CALIBRATION``; a CI test keeps the two equal).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import hipstats as hs

ALPHA = 0.05
LEVEL = 0.99
BASE = 20261206
NS = (20, 50, 100, 200)
MEDIUM = 0.39
#: scenario -> (a: arm -> mediator change in SD units, b: mediator -> outcome per SD)
SCENARIOS = {"a=0": (0.0, MEDIUM), "b=0": (MEDIUM, 0.0), "a=b=0": (0.0, 0.0),
             "a=b=0.39": (MEDIUM, MEDIUM)}
METHODS = ("delta", "percentile", "bca")
FULL_REPS = int(os.environ.get("CALIBRATION_REPS", 1000))
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_mediation.json"


def band(reps: int, p: float = ALPHA, level: float = LEVEL) -> tuple[int, int]:
    """Exact central binomial band [lo, hi] of counts for ``reps`` replicates: each tail
    outside it has probability at most (1 - level) / 2 (as tests/test_calibration.py)."""
    tail = (1 - level) / 2
    lo = int(sps.binom.ppf(tail, reps, p))
    if sps.binom.cdf(lo, reps, p) <= tail:
        lo += 1
    hi = int(sps.binom.isf(tail, reps, p))
    if sps.binom.sf(hi, reps, p) > tail:
        hi += 1
    return lo, hi


def gen_trial(rng, n: int, a: float, b: float) -> pd.DataFrame:
    """A randomised two-arm trial: arm 0/1 (1:1); baseline strength m_bl ~ N(0, 1) and pain
    y_bl ~ N(0, 1) correlated -0.3; strength change m = a * arm - 0.2 m_bl + N(0, 1); pain at
    follow-up y = b * m - 0.25 arm + 0.5 y_bl + 0.1 m_bl + N(0, 1). No interaction in
    truth (the analysis includes it), so the true TNIE is a * b."""
    arm = rng.permutation(np.arange(n) % 2).astype(float)
    z = rng.normal(size=(n, 2))
    m_bl, y_bl = z[:, 0], -0.3 * z[:, 0] + np.sqrt(1 - 0.09) * z[:, 1]
    m = a * arm - 0.2 * m_bl + rng.normal(size=n)
    y = b * m - 0.25 * arm + 0.5 * y_bl + 0.1 * m_bl + rng.normal(size=n)
    return pd.DataFrame({"arm": arm, "m": m, "y": y, "y_bl": y_bl, "m_bl": m_bl})


def one_replicate(rng, n: int, scenario: str, boot: int | None) -> dict:
    """Per method: (rejected, missed the truth) for the TNIE."""
    a, b = SCENARIOS[scenario]
    d = gen_trial(rng, n, a, b)
    kw = dict(outcome="y", mediator="m", exposure="arm", covariates=["y_bl", "m_bl"],
              interaction=True)
    truth = a * b
    out = {}
    delta = hs.mediation(d, **kw).table.loc["tnie"]
    out["delta"] = (delta["pval"] < ALPHA, not delta["lci"] <= truth <= delta["uci"])
    if boot:
        med = hs.mediation(d, method="bootstrap", n_boot=boot, seed=int(rng.integers(2**31)),
                           **kw)
        ct = med._contrasts[0]
        for name in ("percentile", "bca"):
            lo, hi = ct.boot[name][:, 2]
            out[name] = (not lo <= 0 <= hi, not lo <= truth <= hi)
    return out


def run_cell(n: int, scenario: str, reps: int, boot: int | None, extra: int = 0) -> dict:
    key = list(SCENARIOS).index(scenario)
    rng = np.random.default_rng(np.random.SeedSequence([BASE, key, n, extra]))
    counts: dict[str, list[int]] = {}
    for _ in range(reps):
        for method, (rej, miss) in one_replicate(rng, n, scenario, boot).items():
            c = counts.setdefault(method, [0, 0])
            c[0] += bool(rej)
            c[1] += bool(miss)
    return counts


#: measured and reported, not judged (the rates are in benchmarks/calibration_mediation.json
#: and the README)
EXCEPTIONS = {
    ("a=0", "bca"): "BCa's interval of the indirect effect is liberal when the exposure does "
    "not move the mediator and the mediator moves the outcome (Fritz, Taylor & MacKinnon "
    "2012, Multivariate Behav Res 47:61-87): measured 8.0% at n = 200; hs.mediation's "
    "default bootstrap interval is therefore the percentile one",
    ("a=b=0.39", "delta"): "the delta method's symmetric interval of a product of "
    "coefficients under-covers when both paths are non-zero with few participants (the "
    "product's distribution is skewed; MacKinnon et al. 2004, Multivariate Behav Res "
    "39:99-128): measured 90.1% at n = 50 and 91.6% at n = 100",
}


def judge(scenario: str, method: str, rej: int, miss: int, reps: int) -> list[str]:
    """Every method may be conservative: under a null its rejections, with both paths
    non-zero its interval's misses of the true TNIE, must not exceed the band's upper end
    (an interval that covers more than 95% is conservative, as the tests under the nulls
    are)."""
    if (scenario, method) in EXCEPTIONS:
        return []
    hi = band(reps)[1]
    if scenario != "a=b=0.39":
        return [] if rej <= hi else [f"{scenario} {method}: {rej}/{reps} rejections > {hi}"]
    return [] if miss <= hi else [f"{scenario} {method}: {miss}/{reps} misses > {hi}"]


# --------------------------------------------------------------------------------------
# CI part
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_delta_method_null_rate_and_coverage(scenario):
    bad, pooled = [], np.zeros(2, int)
    reps = 40
    for n in NS:
        c = run_cell(n, scenario, reps, boot=None)["delta"]
        pooled += c
        bad += [f"n={n} " + b for b in judge(scenario, "delta", *c, reps)]
    bad += ["pooled " + b for b in judge(scenario, "delta", *pooled, reps * len(NS))]
    assert not bad, "\n".join(bad)


def test_delta_method_is_conservative_when_both_paths_are_zero():
    """The known property: at n = 100 the Sobel test of a = b = 0 rejects far below 5%."""
    rej = run_cell(100, "a=b=0", 100, boot=None)["delta"][0]
    assert rej <= 1, rej


def test_percentile_bootstrap_holds_under_a_single_null():
    c = run_cell(50, "b=0", 40, boot=199)
    assert c["percentile"][0] <= band(40)[1] and c["bca"][0] <= band(40)[1]


def test_the_page_reports_the_measured_rates():
    """The page chooses its interval from CALIBRATION (hipstats.pages.mediation): the rates
    the full run measured, worst of the two single nulls, and the coverage with both paths
    non-zero."""
    from hipstats.pages.mediation import CALIBRATION

    data = json.loads(RESULTS.read_text())
    assert sorted(CALIBRATION) == list(NS)
    for n, rates in CALIBRATION.items():
        assert set(rates) == set(METHODS)
        for m, r in rates.items():
            worst = max(data[f"{s} | {m} | n={n}"]["rejection_rate"] for s in ("a=0", "b=0"))
            assert r["type1"] == pytest.approx(worst, abs=1e-12)
            assert r["coverage"] == pytest.approx(data[f"a=b=0.39 | {m} | n={n}"]["coverage"],
                                                  abs=1e-12)


# --------------------------------------------------------------------------------------
# full run (pytest -m calibration)
# --------------------------------------------------------------------------------------

def _record(key: str, value) -> None:
    import fcntl

    with open(RESULTS.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        data[key] = value
        RESULTS.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


@pytest.mark.calibration
@pytest.mark.parametrize("n", NS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_full_calibration(scenario, n):
    t0 = time.perf_counter()
    counts = run_cell(n, scenario, FULL_REPS, boot=999, extra=1)
    secs = round(time.perf_counter() - t0, 1)
    bad = []
    for method in METHODS:
        rej, miss = counts[method]
        _record(f"{scenario} | {method} | n={n}",
                {"reps": FULL_REPS, "rejections": rej, "misses": miss,
                 "rejection_rate": rej / FULL_REPS, "coverage": 1 - miss / FULL_REPS,
                 "band": band(FULL_REPS), "seconds": secs})
        bad += judge(scenario, method, rej, miss, FULL_REPS)
    assert not bad, "\n".join(bad)
