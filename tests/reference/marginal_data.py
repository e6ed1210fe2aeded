"""Generate the trials of the covariate-adjusted marginal-effect reference tests (issue 26).

R's answers come from ``beeca::get_marginal_effect`` (``tests/reference/marginal.R``) and
``ordinal::clm``; ``tests/test_marginal_reference.py`` replays them without R. Writes, under
``tests/reference/data/marginal/``:

``datasets.csv``
    One row per participant of every trial: ``set, id, arm, resp, y_bl, m_bl, site, sex``.
    ``resp`` is 0/1 (an empty cell is a missing outcome), ``y_bl`` a baseline score (a few
    trials have empty cells: those rows are dropped by R's ``glm`` and by hipstats alike),
    ``m_bl`` a 0/1 baseline covariate, ``site`` (2-3 levels) and ``sex`` the stratification
    factors, randomised within (stratified permuted blocks) when the trial is stratified.
``trials.csv``
    One row per trial: ``set, n, arms, levels`` (the treatment levels in factor order,
    ``|``-separated: the reference arm is not always first), ``reference``, ``formula``,
    ``strata`` (``|``-separated, empty when not stratified), ``kind`` (``plain``,
    ``strata``, ``rare``, ``missing``), ``base`` (the control arm's response rate used to
    generate; not compared).
``specs.csv``
    The analyses of each trial: ``set, key, method, type, strata, contrast``: every contrast
    (diff, rr, or, logrr, logor) under Ye (with the trial's strata when it has them, and
    without), Ge with HC0 and Ge model-based.
``ordinal.csv`` / ``ordinal_sets.csv``
    A few ordinal (global rating of change) trials for ``ordinal::clm``: ``set, id, arm,
    grc, y_bl``; the sets with their number of categories and formula.

Every arm has at least 3 responders and 3 non-responders, and every arm meets every stratum
(the outcome is redrawn until so): beeca has no answer for a separated logistic fit (glm runs
off to infinity) or an empty stratum-by-arm cell (its variance is NaN), so such trials belong
to hipstats' own edge-case tests (``tests/test_marginal.py``), not to the R comparison.

Run from the repo root: ``.venv/bin/python tests/reference/marginal_data.py``. Deterministic
(numpy SeedSequence): re-running rewrites identical files. A fresh held-out batch:
``ME_SEED=<n> ME_DIR=<folder>`` here (``ME_SETS=<n>`` trials), then ``ME_DIR=<folder>
ME_OUT=<folder>/marginal.json Rscript tests/reference/marginal.R``, and the same two variables
for ``pytest tests/test_marginal_reference.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

SEED = int(os.environ.get("ME_SEED", 20261206))
N_SETS = int(os.environ.get("ME_SETS", 40))
OUT = Path(os.environ.get("ME_DIR") or Path(__file__).resolve().parent / "data" / "marginal")
CONTRASTS = ["diff", "rr", "or", "logrr", "logor"]
KINDS = ["plain", "plain", "strata", "strata", "rare", "missing"]


def _levels(rng: np.random.Generator, k: int) -> tuple[list[str], str]:
    """Treatment levels in factor order, and the reference (not always the first level)."""
    names = ["ctl", "hip", "knee"][:k]
    order = list(rng.permutation(names)) if rng.random() < 0.6 else sorted(names)
    ref = "ctl" if rng.random() < 0.8 else str(rng.choice([x for x in names if x != "ctl"]))
    return [str(x) for x in order], ref


def _allocate(rng: np.random.Generator, n: int, levels: list[str], strata: np.ndarray,
              ratio: np.ndarray) -> np.ndarray:
    """Permuted blocks (ratio per arm) within each stratum."""
    block = np.repeat(levels, ratio)
    arm = np.empty(n, dtype=object)
    for s in np.unique(strata):
        idx = np.flatnonzero(strata == s)
        seq = np.concatenate([rng.permutation(block) for _ in range(len(idx) // len(block) + 1)])
        arm[idx] = seq[:len(idx)]
    return arm


def _trial(rng: np.random.Generator, sid: str, kind: str) -> tuple[pd.DataFrame, dict]:
    k = 3 if rng.random() < 0.4 else 2
    levels, ref = _levels(rng, k)
    n = int(rng.integers(300, 501)) if kind == "rare" else int(rng.integers(40, 301))
    base = float(rng.uniform(0.05, 0.09) if kind == "rare" else rng.uniform(0.1, 0.5))
    for _ in range(100):    # redrawn until every arm meets every stratum
        site = rng.choice(["s1", "s2", "s3"][:int(rng.integers(2, 4))], n)
        sex = rng.choice(["F", "M"], n, p=[0.6, 0.4])
        nstrata = int(rng.integers(1, 3)) if kind == "strata" else 0
        strata = ["site", "sex"][:nstrata]
        cell = np.array([f"{a}-{b}" for a, b in zip(site, sex)]) if nstrata == 2 else \
            (site if nstrata == 1 else np.zeros(n, dtype=int))
        ratio = np.array([2 if (rng.random() < 0.25 and lv != ref) else 1 for lv in levels])
        arm = _allocate(rng, n, levels, cell, ratio)
        if not nstrata or pd.crosstab(cell, arm).to_numpy().min() > 0:
            break
    else:
        raise RuntimeError(f"{sid}: could not allocate every arm to every stratum")
    y_bl = np.round(rng.normal(5.5, 1.6, n).clip(0, 10), 1)
    m_bl = (rng.random(n) < rng.uniform(0.2, 0.6)).astype(int)
    eff = {lv: (0.0 if lv == ref else float(rng.choice([0.0, rng.normal(0.6, 0.5)])))
           for lv in levels}
    b = rng.normal([0.35, 0.5, 0.3, 0.3], 0.2)
    lin = (np.log(base / (1 - base)) + np.array([eff[a] for a in arm]) - b[0] * (y_bl - 5.5)
           + b[1] * m_bl + b[2] * (site == "s2") - b[3] * (sex == "M"))
    p = 1 / (1 + np.exp(-lin))
    ok = lambda r: all(3 <= r[arm == lv].sum() <= (arm == lv).sum() - 3 for lv in levels)  # noqa
    for _ in range(200):
        resp = (rng.random(n) < p).astype(float)
        if ok(resp):
            break
    else:
        raise RuntimeError(f"{sid}: could not draw a non-separated outcome")
    if kind == "missing":
        resp[rng.random(n) < 0.08] = np.nan
        y_bl[rng.random(n) < 0.04] = np.nan
    formula = ("resp ~ arm + y_bl + m_bl" + "".join(f" + {s}" for s in strata))
    df = pd.DataFrame({"set": sid, "id": [f"{sid}-{i:03d}" for i in range(n)], "arm": arm,
                       "resp": pd.array(resp, dtype="Float64").astype("Int64"), "y_bl": y_bl, "m_bl": m_bl, "site": site, "sex": sex})
    meta = {"set": sid, "n": n, "arms": k, "levels": "|".join(levels), "reference": ref,
            "formula": formula, "strata": "|".join(strata), "kind": kind, "base": round(base, 4)}
    return df, meta


def _specs(meta: dict) -> list[dict]:
    rows = []
    fits = [("Ye", "", ""), ("Ge", "HC0", ""), ("Ge", "model-based", "")]
    if meta["strata"]:
        fits.append(("Ye", "", meta["strata"]))
    for method, type_, strata in fits:
        for c in CONTRASTS:
            key = f"{method}-{type_ or 'ye'}-{'strata' if strata else 'none'}-{c}"
            rows.append({"set": meta["set"], "key": key, "method": method, "type": type_,
                         "strata": strata, "contrast": c})
    return rows


def _ordinal(rng: np.random.Generator, sid: str) -> tuple[pd.DataFrame, dict]:
    """A GRC-like ordinal outcome from a proportional-odds model (5 or 7 categories)."""
    ncat = int(rng.choice([5, 7, 7]))
    n = int(rng.integers(120, 301))
    arm = rng.choice(["ctl", "hip"], n)
    y_bl = np.round(rng.normal(5.5, 1.6, n).clip(0, 10), 1)
    for _ in range(50):    # every category at least 3 times in each arm (no separated cut)
        cuts = np.sort(np.linspace(-2.2, 2.2, ncat - 1) + rng.normal(0, 0.25, ncat - 1))
        beta = rng.normal(0.8, 0.4)
        for _ in range(200):
            lat = beta * (arm == "hip") + 0.25 * (y_bl - 5.5) + rng.logistic(size=n)
            grc = 1 + (lat[:, None] > cuts[None, :]).sum(axis=1)
            tab = pd.crosstab(arm, grc).reindex(columns=range(1, ncat + 1)).fillna(0)
            if tab.min().min() >= 3:
                break
        else:
            continue
        break
    else:
        raise RuntimeError(f"{sid}: could not draw every category")
    df = pd.DataFrame({"set": sid, "id": [f"{sid}-{i:03d}" for i in range(n)], "arm": arm,
                       "grc": grc, "y_bl": y_bl})
    return df, {"set": sid, "n": n, "ncat": ncat, "formula": "grc ~ arm + y_bl"}


def main() -> None:
    ss = np.random.SeedSequence(SEED)
    OUT.mkdir(parents=True, exist_ok=True)
    frames, metas, specs = [], [], []
    for i, child in enumerate(ss.spawn(N_SETS)):
        rng = np.random.default_rng(child)
        df, meta = _trial(rng, f"t{i:02d}", KINDS[i % len(KINDS)])
        frames.append(df)
        metas.append(meta)
        specs += _specs(meta)
    pd.concat(frames).to_csv(OUT / "datasets.csv", index=False)
    pd.DataFrame(metas).to_csv(OUT / "trials.csv", index=False)
    pd.DataFrame(specs).to_csv(OUT / "specs.csv", index=False)
    rng = np.random.default_rng(ss.spawn(1)[0])
    ords = [_ordinal(rng, f"o{i}") for i in range(4)]
    pd.concat([d for d, _ in ords]).to_csv(OUT / "ordinal.csv", index=False)
    pd.DataFrame([m for _, m in ords]).to_csv(OUT / "ordinal_sets.csv", index=False)
    print(f"{len(metas)} trials, {len(specs)} analyses, {len(ords)} ordinal sets -> {OUT}")


if __name__ == "__main__":
    main()
