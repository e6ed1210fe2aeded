"""Generate the random trial-shaped data sets of the differential tests against R.

Issue 11, item 7. Writes, under ``tests/reference/data/differential/``:

``datasets.csv``
    One long frame for all data sets: ``dataset, subject, week, visit, group, y, x``
    (``week`` numeric, ``visit`` its text label ``wk00, wk02, ...`` used as a factor,
    ``group`` ``A``/``B`` or empty for one-group sets; a missed visit is an absent row,
    a missing value an empty cell).
``sets.csv``
    One row per data set: size, number of visits, generating parameters (for reading the
    failures; not used in the comparisons).
``specs.csv``
    The mixed models fitted to each set (``dataset, key, formula, random, reml, ddf``). The
    formula string is valid both for patsy and for R (plain column names only), ``random``
    is ``1`` or ``week`` (lme4's ``(1 | subject)`` / ``(week | subject)``).
``meta.csv``
    Generated two-group summaries (``meta, m1, sd1, n1, m2, sd2, n2``) pooled by metafor.
``power.csv``
    Inputs of pwr calls (``kind, es, n, power, alternative, type``).

Then ``Rscript tests/reference/differential.R`` (from the repo root) writes
``tests/reference/differential.json``; ``tests/test_differential.py`` replays it without R.

Run from the repo root: ``.venv/bin/python tests/reference/differential_data.py``.
Deterministic (numpy seed below); re-running rewrites identical files. A fresh held-out
batch: ``DIFF_SEED=<n> DIFF_DIR=<folder>`` here, ``DIFF_DIR=<folder>
DIFF_OUT=<folder>/differential.json`` for the R script, and the same two variables for
``pytest tests/test_differential.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import patsy

# DIFF_SEED / DIFF_DIR give a fresh held-out batch (see tests/test_differential.py)
SEED = int(os.environ.get("DIFF_SEED", 20251125))
N_SETS = 210
N_LARGE = 15            # sets of 100-500 subjects; the rest have 6-60
KR_MAX_SUBJECTS = 150   # Kenward-Roger only up to this size (R's pbkrtest is slow beyond)
OUT = Path(os.environ.get("DIFF_DIR") or
           Path(__file__).resolve().parent / "data" / "differential")


def _weeks(rng: np.random.Generator, J: int) -> np.ndarray:
    kind = rng.integers(3)
    if kind == 0:
        return np.arange(J, dtype=float)
    if kind == 1:
        return 2.0 * np.arange(J)
    later = np.sort(rng.choice(np.arange(1, 13), J - 1, replace=False))
    return np.concatenate([[0.0], later]).astype(float)


def _dataset(rng: np.random.Generator, i: int, n: int) -> tuple[pd.DataFrame, dict]:
    J = int(rng.integers(2, 7))
    weeks = np.asarray(_weeks(rng, J), float)
    has_group = bool(rng.random() < 0.6)
    sigma = float(10 ** rng.uniform(-2, 1))              # residual SD 0.01 - 10
    cond = str(rng.choice(["well", "well", "well", "zero_slope", "tiny_slope",
                           "tiny_intercept", "perfect_corr"]))
    tau0 = sigma * 10 ** rng.uniform(-0.5, 1)
    tau1 = sigma * 10 ** rng.uniform(-1, 0.3) / max(1.0, weeks.max() / 3)
    rho = rng.uniform(-0.7, 0.7)
    if cond == "zero_slope":
        tau1 = 0.0
    elif cond == "tiny_slope":
        tau1 = sigma * 1e-3
    elif cond == "tiny_intercept":
        tau0 = sigma * 1e-3
    elif cond == "perfect_corr":
        rho = float(rng.choice([-1.0, 1.0]))
    span = max(weeks.max(), 1.0)

    def pick(scale):      # an effect of either sign up to `scale` SDs, or (15%) none
        return 0.0 if rng.random() < 0.15 else sigma * rng.uniform(-scale, scale)

    b0 = sigma * rng.uniform(-20, 20) + float(rng.choice([0.0, 50.0, 1000.0 * sigma]))
    b_week = pick(20) / span              # total change over the trial: up to 20 SD
    b_group = pick(20) if has_group else 0.0
    b_int = pick(10) / span if has_group else 0.0
    gamma = pick(5)                        # y per SD of x within subjects
    # random effects (intercept, slope) with correlation rho
    L = np.array([[tau0, 0.0], [rho * tau1, np.sqrt(max(0.0, 1 - rho ** 2)) * tau1]])
    u = rng.standard_normal((n, 2)) @ L.T
    if has_group:
        nb = int(rng.integers(max(3, n // 4), n - max(3, n // 4) + 1))
        grp = np.array(["A"] * (n - nb) + ["B"] * nb)
        rng.shuffle(grp)
    else:
        grp = np.array([""] * n)
    sid = np.array([f"s{j:03d}" for j in range(n)])
    si = np.repeat(np.arange(n), J)
    wk = np.tile(weeks, n)
    xs = float(10 ** rng.uniform(-1, 1.5))
    xm = xs * rng.uniform(-3, 10)
    xa = rng.normal(0, xs, n)
    x = xm + xa[si] + xs * rng.uniform(-0.3, 0.3) * wk + rng.normal(0, xs * 0.5, n * J)
    g = (grp[si] == "B").astype(float)
    y = (b0 + b_week * wk + b_group * g + b_int * g * wk + u[si, 0] + u[si, 1] * wk
         + gamma * (x - xa[si] - xm) / xs + rng.normal(0, sigma, n * J))
    d = pd.DataFrame({"subject": sid[si], "week": wk, "group": grp[si], "y": y, "x": x})
    # missed visits: 0-20% of rows removed, every subject keeps at least one visit
    miss = 0.0 if rng.random() < 0.35 else float(rng.uniform(0.02, 0.2))
    if miss > 0:
        drop = pd.Series(rng.random(len(d)) < miss, index=d.index)
        all_gone = drop.groupby(d["subject"]).transform("all")
        drop &= ~(all_gone & ~d.duplicated("subject"))    # keep such a subject's first visit
        d = d[~drop]
    if rng.random() < 0.15:               # a few missing outcome values (rows kept)
        d.loc[d.sample(frac=0.04, random_state=int(rng.integers(1 << 30))).index, "y"] = np.nan
    if rng.random() < 0.15:               # a few missing covariate values
        d.loc[d.sample(frac=0.04, random_state=int(rng.integers(1 << 30))).index, "x"] = np.nan
    d = d.reset_index(drop=True)
    d.insert(0, "dataset", f"d{i:03d}")
    d.insert(3, "visit", [f"wk{int(w):02d}" for w in d["week"]])
    info = {"dataset": f"d{i:03d}", "n": n, "visits": J, "weeks": " ".join(f"{w:g}" for w in weeks),
            "has_group": has_group, "condition": cond, "sigma": sigma, "tau0": tau0,
            "tau1": tau1, "rho": rho, "b_week": b_week, "b_group": b_group,
            "b_interaction": b_int, "gamma": gamma, "missing_frac": miss,
            "rows": len(d)}
    return d, info


def _feasible(d: pd.DataFrame, formula: str, random: str) -> bool:
    """Whether lme4 and hipstats can both fit the model (checked on the data, not with
    either package): complete rows, a full-rank fixed design without constant columns,
    more observations than random effects (lme4's check) and than parameters, and for a
    random slope at least three subjects with two or more distinct weeks."""
    cols = sorted({"y", "subject", "week"} | {c for c in ("visit", "group", "x")
                                             if c in formula})
    cc = d[cols].dropna()
    if cc.empty:
        return False
    try:
        X = np.asarray(patsy.dmatrix(formula.split("~", 1)[1], cc, NA_action="raise"))
    except patsy.PatsyError:
        return False
    n, p = X.shape
    m = cc["subject"].nunique()
    q = 1 if random == "1" else 2
    if np.linalg.matrix_rank(X) < p or n <= q * m or n <= p + q * (q + 1) // 2 + 1:
        return False
    if m < max(3, q + 1):
        return False
    for j in range(1, p):   # no constant column (hipstats refuses one, R would drop it)
        if np.ptp(X[:, j]) == 0:
            return False
    if q == 2 and (cc.groupby("subject")["week"].nunique() >= 2).sum() < 3:
        return False
    return True


def _specs(rng: np.random.Generator, d: pd.DataFrame, info: dict, i: int) -> list[dict]:
    grp = info["has_group"]
    with_x = i % 3 == 0
    f_num = "y ~ week * group" if grp else "y ~ week"
    if with_x:
        f_num += " + x"
    f_fac = ("y ~ visit * group" if i % 2 else "y ~ visit + group") if grp else "y ~ visit"
    kr_ok = info["n"] <= KR_MAX_SUBJECTS
    slope = "week" if _feasible(d, f_num, "week") else "1"
    cand = [("m1", f_num, slope, True, "satterthwaite"),
            ("m2", f_fac, "1", True, "kenward-roger" if kr_ok else "satterthwaite")]
    extra = i % 4
    if extra == 0:
        cand.append(("m3", f_num, slope, False, "satterthwaite"))
    elif extra == 1:
        cand.append(("m3", f_num, slope, True, "kenward-roger" if kr_ok else "satterthwaite"))
    elif extra == 2:
        cand.append(("m3", f_fac, "week", True, "satterthwaite"))
    else:
        cand.append(("m3", "y ~ week + x" if not with_x else "y ~ week", "1", False,
                     "satterthwaite"))
    out = []
    for key, f, r, reml, ddf in cand:
        if not _feasible(d, f, r):
            continue
        out.append({"dataset": info["dataset"], "key": key, "formula": f, "random": r,
                    "reml": reml, "ddf": ddf})
    return out


def _meta(rng: np.random.Generator, n_meta: int = 30) -> pd.DataFrame:
    rows = []
    for j in range(n_meta):
        k = int(rng.integers(2, 13))
        scale = float(10 ** rng.uniform(-1, 2))
        delta = rng.uniform(-2, 2)                     # true SMD, either sign
        tau = float(rng.choice([0.0, 0.1, 0.3, 0.8]))
        for _ in range(k):
            n1, n2 = (int(v) for v in rng.integers(5, 120, 2))
            sd1, sd2 = scale * rng.uniform(0.5, 1.5, 2)
            d_i = delta + tau * rng.standard_normal()
            m2 = scale * rng.uniform(2, 6)
            m1 = m2 + d_i * (sd1 + sd2) / 2 + rng.normal(0, sd1 / np.sqrt(n1))
            rows.append({"meta": f"meta{j:02d}", "m1": m1, "sd1": sd1, "n1": n1,
                         "m2": m2, "sd2": sd2, "n2": n2})
    return pd.DataFrame(rows)


def _power(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    alts = ["two.sided", "greater", "less"]
    for j in range(40):
        alt = alts[j % 3]
        typ = "paired" if j % 2 else "two.sample"
        d = rng.uniform(0.1, 2.0) * (-1 if alt == "less" or (alt == "two.sided" and j % 4 == 0)
                                     else 1)
        n = 3 + (1 if typ == "paired" else 2) * 7.85 / d ** 2 * rng.uniform(0.1, 1.5)
        rows.append({"kind": "t", "es": d, "n": int(min(n, 400)), "power": np.nan,
                     "alternative": alt, "type": typ})
    for j in range(30):
        alt = alts[j % 3]
        r = rng.uniform(0.05, 0.9) * (-1 if alt == "less" or (alt == "two.sided" and j % 4 == 0)
                                      else 1)
        n = 5 + 7.85 / np.arctanh(r) ** 2 * rng.uniform(0.1, 1.5)     # power ~ 0.1-0.95
        rows.append({"kind": "r", "es": r, "n": int(min(n, 1000)), "power": np.nan,
                     "alternative": alt, "type": ""})
    for j in range(10):
        rows.append({"kind": "t_n", "es": rng.uniform(0.2, 1.5), "n": np.nan,
                     "power": rng.uniform(0.5, 0.95), "alternative": "two.sided",
                     "type": "paired" if j % 2 else "two.sample"})
        rows.append({"kind": "r_n", "es": rng.uniform(0.1, 0.8), "n": np.nan,
                     "power": rng.uniform(0.5, 0.95), "alternative": "two.sided", "type": ""})
    return pd.DataFrame(rows)


def main() -> None:
    rng = np.random.default_rng(SEED)
    large = set(rng.choice(N_SETS, N_LARGE, replace=False).tolist())
    frames, infos, specs = [], [], []
    for i in range(N_SETS):
        n = int(rng.integers(100, 501)) if i in large else int(rng.integers(6, 61))
        d, info = _dataset(rng, i, n)
        frames.append(d)
        infos.append(info)
        specs += _specs(rng, d, info, i)
    OUT.mkdir(parents=True, exist_ok=True)
    data = pd.concat(frames, ignore_index=True)
    data.to_csv(OUT / "datasets.csv", index=False, float_format="%.9g", na_rep="",
                lineterminator="\n")
    pd.DataFrame(infos).to_csv(OUT / "sets.csv", index=False, float_format="%.6g",
                               lineterminator="\n")
    pd.DataFrame(specs).to_csv(OUT / "specs.csv", index=False, lineterminator="\n")
    _meta(rng).to_csv(OUT / "meta.csv", index=False, float_format="%.9g", lineterminator="\n")
    _power(rng).to_csv(OUT / "power.csv", index=False, float_format="%.9g", na_rep="",
                       lineterminator="\n")
    print(f"{N_SETS} data sets, {len(data)} rows, {len(specs)} mixed models -> {OUT}")


if __name__ == "__main__":
    main()
