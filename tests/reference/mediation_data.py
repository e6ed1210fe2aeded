"""Generate the trials of the mediation reference tests against R's regmedint and medsens.

Issue 25. Writes, under ``tests/reference/data/mediation/``:

``datasets.csv``
    One frame for all trials, one row per participant: ``set, row, a, m, y, y_bl, m_bl,
    age``. ``a`` is the exposure (0/1 arms, or a continuous dose in a few sets), ``m`` the
    mediator (change in strength), ``y`` the outcome (continuous, or 0/1 in the logistic
    sets), ``y_bl``/``m_bl`` the baseline covariates. Some sets have empty cells in any of
    ``a, m, y, y_bl, m_bl`` (those rows are dropped by both sides) and in ``age``, which no
    analysis names (those rows must be kept).
``specs.csv``
    The analyses of each set: ``set, key, outcome_model, interaction, a0, a1, m_cde,
    c_y_bl, c_m_bl`` (empty ``c_*``: the covariate means over the rows analysed, which the R
    script computes itself), ``medsens`` (1: also run mediation::medsens; linear outcome,
    a0 = 0 and a1 = 1, as medsens' d0 and d1 are per unit of the exposure).

Then ``Rscript tests/reference/mediation.R`` (repo root) writes
``tests/reference/mediation.json``; ``tests/test_mediation_reference.py`` replays it without
R. Deterministic; a held-out batch: ``MED_SEED=<n> MED_DIR=<folder>`` here,
``MED_DIR=<folder> MED_OUT=<folder>/mediation.json`` for the R script, and the same two for
the test.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

SEED = int(os.environ.get("MED_SEED", 20261206))
N_SETS = int(os.environ.get("MED_SETS", 40))
OUT = Path(os.environ.get("MED_DIR") or Path(__file__).resolve().parent / "data" / "mediation")


def _trial(rng: np.random.Generator, n: int, logistic: bool, dose: bool) -> pd.DataFrame:
    """One trial: arms (or a dose), baseline pain and strength, strength change, outcome."""
    a = rng.uniform(0, 3, n).round(2) if dose else (rng.random(n) < 0.5).astype(float)
    y_bl = rng.normal(5, 1.5, n).round(1)
    m_bl = rng.normal(1.8, 0.4, n).round(3)
    alpha = rng.normal(0.3, 0.2)
    m = alpha * a - 0.2 * (m_bl - 1.8) + rng.normal(0, rng.uniform(0.1, 0.4), n)
    t1, t2, t3 = rng.normal(-0.5, 0.5), rng.normal(-1.0, 1.0), rng.normal(0, 0.8)
    lin = 0.5 * (y_bl - 5) + t1 * a + t2 * m + t3 * a * m + 0.3 * (m_bl - 1.8)
    if logistic:
        y = (rng.random(n) < 1 / (1 + np.exp(-(lin + rng.normal(0, 0.5)) / 1.2))).astype(float)
    else:
        y = (5 + lin + rng.normal(0, rng.uniform(0.5, 2.0), n)).round(3)
    age = rng.normal(30, 8, n).round(0)
    d = pd.DataFrame({"a": a, "m": m.round(4), "y": y, "y_bl": y_bl, "m_bl": m_bl, "age": age})
    holes = rng.random() < 0.6                          # most sets have missing cells
    for col, p in (("a", 0.02), ("m", 0.08), ("y", 0.08), ("y_bl", 0.03), ("m_bl", 0.03),
                   ("age", 0.10)):
        if holes or col == "age":
            d.loc[rng.random(n) < p, col] = np.nan
    return d


def _specs(rng: np.random.Generator, s: int, d: pd.DataFrame, logistic: bool,
           dose: bool) -> list[dict]:
    """Two or three analyses of one set: with and without the interaction, covariates at
    their means or at given values, several a0/a1 and m_cde."""
    out = []
    for key, inter in enumerate([True, False] + ([True] if rng.random() < 0.5 else [])):
        a0, a1 = (0.0, 1.0) if not dose else tuple(sorted(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0],
                                                                     2, replace=False)))
        if not dose and key == 2 and rng.random() < 0.5:
            a0, a1 = 1.0, 0.0                            # the contrast reversed
        given = key > 0 and rng.random() < 0.6
        c = ((round(float(rng.normal(5, 1.5)), 2), round(float(rng.normal(1.8, 0.3)), 3))
             if given else (np.nan, np.nan))
        out.append({"set": s, "key": key, "outcome_model": "logistic" if logistic else "linear",
                    "interaction": int(inter), "a0": a0, "a1": a1,
                    "m_cde": [0.0, 0.2, -0.1][key], "c_y_bl": c[0], "c_m_bl": c[1],
                    "medsens": int(not logistic and key < 2 and (a0, a1) == (0.0, 1.0))})
    return out


def main() -> None:
    rng = np.random.default_rng(np.random.SeedSequence(SEED))
    sets, specs = [], []
    for s in range(N_SETS):
        logistic = s % 5 in (1, 3)                        # 40%: a 0/1 outcome
        dose = s % 10 == 7                                # 10%: a continuous exposure
        n = int(rng.integers(60, 301)) if logistic else int(rng.choice([20, 30, 50, 100, 218,
                                                                         300]))
        d = _trial(rng, n, logistic, dose)
        sets.append(d.assign(set=s, row=np.arange(n)))
        specs += _specs(rng, s, d, logistic, dose)
    OUT.mkdir(parents=True, exist_ok=True)
    cols = ["set", "row", "a", "m", "y", "y_bl", "m_bl", "age"]
    pd.concat(sets)[cols].to_csv(OUT / "datasets.csv", index=False)
    pd.DataFrame(specs).to_csv(OUT / "specs.csv", index=False)
    print(f"{N_SETS} sets, {len(specs)} analyses -> {OUT}")


if __name__ == "__main__":
    main()
