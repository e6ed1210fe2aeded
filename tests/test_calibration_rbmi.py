"""Calibration of hs.rbmi: does the treatment effect's test hold its level, and its CI its
coverage, at 20-200 participants? (Same bands and structure as tests/test_calibration.py.)

Generating models (written here, not taken from hipstats): two arms, baseline ~ N(5, 1),
three post-baseline visits, y_v = 1 + 0.6 baseline + 0.4 v + effect_v + e with AR(0.6)
errors of SD 1, and monotone dropout.

* **MAR, null**: no effect; after each visit a participant leaves with probability
  logistic(-2.2 + 0.8 (y_v - its mean)): dropout depends on the observed value (MAR). The
  analysis imputes under MAR; the truth is 0.
* **J2R**: an effect growing to 1.0 at the last visit; each visit is the start of dropout
  with probability 0.12 (MCAR). Under jump to reference a participant of the treatment arm
  who left has the reference arm's mean from then on (their deviation from their own arm's
  mean carries over through the covariance, and averages zero), so the J2R estimand is
  P(still in the trial at the last visit) x 1.0 = 0.88^3. The analysis imputes with
  ice="JR".

Jackknife (conditional mean) intervals are frequentist and should hold 95%. Rubin's rules
after approximate Bayesian imputation are conservative under J2R by design: the imputation
borrows the reference arm's information, which Rubin's variance does not credit
(information anchoring: Cro, Carpenter & Kenward 2019, JRSS A 182:623-645); that row is
judged as a bound (at or below the band's upper end), and its measured rate is reported.

CI part (``make test``): n = 20 and 50, few replicates, judged pooled (a coarse check).
Full run (``pytest -m calibration tests/test_calibration_rbmi.py``): n = 20, 50, 100, 200
and writes ``benchmarks/calibration_results.json`` (section ``rbmi``).
"""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pandas as pd
import pytest

import hipstats as hs
from test_calibration import _record, band

BASE = 20261206
VISITS = (1, 2, 3)
FORMULA = "y ~ y_bl * C(week) + group * C(week)"
J2R_TRUE = 0.88 ** 3
FALLBACK = ("us", "toeph", "ar1h", "cs")
NS_CI, NS_FULL = (20, 50), (20, 50, 100, 200)
# method -> (CI replicates per n, full replicates per n, n_samples)
METHODS = {"jackknife": (10, 500, None), "approxbayes": (3, 300, 20)}
CONSERVATIVE = {("approxbayes", "J2R")}


def gen(rng, n: int, scenario: str) -> pd.DataFrame:
    m = len(VISITS)
    corr = 0.6 ** np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    arm = np.where(np.arange(n) % 2 == 0, "ctl", "trt")
    bl = rng.normal(5, 1, n)
    effect = (np.arange(1, m + 1) / m) * (1.0 if scenario == "J2R" else 0.0)
    mu = 1 + 0.6 * bl[:, None] + 0.4 * np.arange(1, m + 1)[None] + effect[None] * (
        arm == "trt")[:, None]
    y = mu + rng.multivariate_normal(np.zeros(m), corr, size=n)
    gone = np.zeros(n, bool)
    for j in range(m):
        if scenario == "J2R":
            gone |= rng.random(n) < 0.12
        y[gone, j] = np.nan
        if scenario == "MAR":
            p = 1 / (1 + np.exp(-(-2.2 + 0.8 * (y[:, j] - mu[:, j]))))
            gone |= ~np.isnan(y[:, j]) & (rng.random(n) < p)
    if min((~np.isnan(y[arm == a])).sum(axis=0).min() for a in ("ctl", "trt")) < 3:
        return gen(rng, n, scenario)      # every arm needs values at every visit to fit
    return pd.DataFrame({"subject": np.repeat(np.arange(n), m), "week": np.tile(VISITS, n),
                         "group": pd.Categorical(np.repeat(arm, m), ["ctl", "trt"]),
                         "y_bl": np.repeat(bl, m), "y": y.ravel()})


def one(rng, n, method, scenario) -> tuple[bool, bool] | None:
    d = gen(rng, n, scenario)
    n_samples = METHODS[method][2]
    seed = int(rng.integers(2**31))
    for cov in FALLBACK:        # the pages' pre-specified order: the first that fits
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imp = hs.rbmi(d, FORMULA, "subject", "week", "group", method=method,
                              n_samples=n_samples, seed=seed, cov=cov,
                              references={"ctl": "ctl", "trt": "ctl"},
                              ice=None if scenario == "MAR" else "JR")
            break
        except hs.AnalysisError:
            if cov == FALLBACK[-1]:
                return None     # no structure fits (small trials, approximate Bayes): counted
    r = imp.analyse(covariates=["y_bl"], visits=[VISITS[-1]])
    r = r[r["parameter"] == "trt"].iloc[0]
    truth = 0.0 if scenario == "MAR" else J2R_TRUE
    covered = r["lci"] <= truth <= r["uci"]
    return not covered, covered


def run(n, method, scenario, reps, extra=0) -> tuple[int, int]:
    """(CIs missing the truth, trials analysed) of ``reps`` trials; a trial no covariance
    structure can be fitted to (approximate Bayes needs every bootstrap sample to fit) is
    counted apart, as rbmi would stop on it too."""
    key = sum(map(ord, method + scenario))
    rng = np.random.default_rng(np.random.SeedSequence([BASE, key, n, extra]))
    out = [one(rng, n, method, scenario) for _ in range(reps)]
    done = [o for o in out if o is not None]
    return sum(o[0] for o in done), len(done)


def judge(misses, reps, conservative) -> str | None:
    lo, hi = band(reps)
    if misses > hi or (not conservative and misses < lo):
        return f"{misses}/{reps} CIs miss the truth, outside [{lo}, {hi}]" + (
            " (bound)" if conservative else "")
    return None


@pytest.mark.parametrize("scenario", ["MAR", "J2R"])
@pytest.mark.parametrize("method", list(METHODS))
def test_rbmi_error_rate_ci_part(method, scenario):
    counts = [run(n, method, scenario, METHODS[method][0]) for n in NS_CI]
    bad = judge(sum(c[0] for c in counts), sum(c[1] for c in counts),
                (method, scenario) in CONSERVATIVE)
    assert bad is None, bad


def test_generators_have_the_stated_truth():
    """J2R: the share still in the trial at the last visit is 0.88^3 (MCAR); MAR: dropout
    depends on the observed value (those who left had higher values at their last visit)."""
    rng = np.random.default_rng(1)
    d = gen(rng, 20000, "J2R")
    last = d[d["week"] == VISITS[-1]]
    assert last["y"].notna().mean() == pytest.approx(J2R_TRUE, abs=0.01)
    d = gen(rng, 20000, "MAR")
    w = d.pivot(index="subject", columns="week", values="y")
    left = w[1].notna() & w[2].isna()
    stayed = w[2].notna()
    assert w.loc[left, 1].mean() > w.loc[stayed, 1].mean() + 0.2


@pytest.mark.calibration
@pytest.mark.parametrize("n", NS_FULL)
@pytest.mark.parametrize("scenario", ["MAR", "J2R"])
@pytest.mark.parametrize("method", list(METHODS))
def test_rbmi_full_calibration(method, scenario, n):
    reps = int(os.environ.get("CALIBRATION_REPS", METHODS[method][1]))
    t0 = time.perf_counter()
    misses, done = run(n, method, scenario, reps, extra=1)
    conservative = (method, scenario) in CONSERVATIVE
    _record("rbmi", f"{method} | {scenario} | n={n}",
            {"reps": reps, "analysed": done, "misses": misses, "rate": misses / done,
             "band": band(done), "conservative_bound": conservative,
             "seconds": round(time.perf_counter() - t0, 1)})
    assert done >= 0.9 * reps, f"only {done} of {reps} trials could be imputed"
    bad = judge(misses, done, conservative)
    assert bad is None, bad
