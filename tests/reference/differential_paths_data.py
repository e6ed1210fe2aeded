"""Generate the data sets of the differential tests of the other mixed-model paths.

``differential_data.py`` covers ``(1 | subject)`` and ``(week | subject)`` fits. This
batch covers, on the same kind of random trial-shaped data (the data sets are made by that
script's ``_dataset``, from another seed), every other path a user can take through
:func:`hipstats.mixed_model` and its inference:

``unc``    uncorrelated random slope, lme4's ``(week || subject)`` (``correlated=False``)
``q3``     three correlated random effects, ``(week + week2 | subject)`` (``week2`` is
           week squared; ``random=["week", "week2"]``), REML or ML, Satterthwaite or KR
``nest``   a limb level nested in subject, ``(1 | subject) + (1 | subject:limb)``, with or
           without a random slope at the subject level (``nested="limb"``)
``inf``    ``y ~ visit * group`` (``y ~ visit``) with a random intercept: type III and I
           F-tests (Satterthwaite, KR), emmeans, pairwise / trt.vs.ctrl / consec contrasts
           with Holm, Tukey, Bonferroni or no adjustment
``infs``   the F-tests of a random-slope model ``y ~ week * group + x + (week | subject)``
``lrt``    a likelihood-ratio test between two random-slope models (refitted by ML)

Writes under ``tests/reference/data/differential_paths/`` (or ``PATHS_DIR``):
``datasets.csv`` (``dataset, subject, week, week2, visit, group, y, x``), ``limbs.csv``
(``dataset, subject, week, limb, s``: strength of the involved and uninvolved limb) and
``specs.csv`` (one row per model). Then ``Rscript tests/reference/differential_paths.R``
writes ``tests/reference/differential_paths.json`` (or ``PATHS_OUT``), which
``tests/test_differential_paths.py`` replays without R.

A fresh held-out batch::

    PATHS_SEED=5 PATHS_DIR=/tmp/p5 .venv/bin/python tests/reference/differential_paths_data.py
    PATHS_DIR=/tmp/p5 PATHS_OUT=/tmp/p5/out.json Rscript tests/reference/differential_paths.R
    PATHS_DIR=/tmp/p5 PATHS_OUT=/tmp/p5/out.json .venv/bin/pytest tests/test_differential_paths.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from differential_data import _dataset, _feasible  # noqa: E402  (the same data generator)

SEED = int(os.environ.get("PATHS_SEED", 20261201))
N_SETS = 80
KR_MAX_SUBJECTS = 120
OUT = Path(os.environ.get("PATHS_DIR") or
           Path(__file__).resolve().parent / "data" / "differential_paths")


def _limbs(rng: np.random.Generator, d: pd.DataFrame, info: dict) -> pd.DataFrame:
    """Both limbs at every visit: a subject level, a limb-within-subject level, a limb x time
    effect of either sign (the involved limb catching up or falling behind)."""
    sigma = info["sigma"]
    subs = d["subject"].unique()
    u = dict(zip(subs, rng.normal(0, sigma * 10 ** rng.uniform(-0.5, 1), len(subs))))
    slope_sd = sigma * float(rng.choice([0.0, 0.1, 0.5]))
    us = dict(zip(subs, rng.normal(0, 1, len(subs)) * slope_sd))
    limb_sd = sigma * float(rng.choice([0.0, 1e-3, 0.5, 2.0]))
    deficit = sigma * rng.uniform(-10, 10)
    catch_up = sigma * rng.uniform(-3, 3) / max(d["week"].max(), 1.0)
    rows = []
    for limb, inv in (("involved", 1.0), ("uninvolved", 0.0)):
        ul = dict(zip(subs, rng.normal(0, limb_sd, len(subs))))
        s = (10 * sigma + d["subject"].map(u) + d["subject"].map(ul)
             + d["subject"].map(us) * d["week"] + inv * (deficit + catch_up * d["week"])
             + rng.normal(0, sigma, len(d)))
        rows.append(pd.DataFrame({"dataset": d["dataset"], "subject": d["subject"],
                                  "week": d["week"], "limb": limb, "s": s}))
    out = pd.concat(rows, ignore_index=True)
    keep = rng.random(len(out)) >= (0.0 if rng.random() < 0.5 else 0.1)   # a limb not tested
    return out[keep].sort_values(["subject", "week", "limb"], kind="mergesort") \
        .reset_index(drop=True)


def _q3_feasible(d: pd.DataFrame, formula: str) -> bool:
    cc = d[["subject", "week", "week2", "y"]].dropna()
    m = cc["subject"].nunique()
    if cc["week"].nunique() < 3 or len(cc) <= 3 * m or len(cc) <= 3 + 6 + 1:
        return False
    X = np.column_stack([np.ones(len(cc)), cc["week"], cc["week2"]])
    if "group" in formula:
        g = d.loc[cc.index, "group"]
        if g.nunique() < 2:
            return False
        X = np.column_stack([X, (g == "B").astype(float)])
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return False
    return bool((cc.groupby("subject")["week"].nunique() >= 3).sum() >= 4)


def _nest_feasible(lb: pd.DataFrame, slope: bool) -> bool:
    cc = lb.dropna()
    m = cc["subject"].nunique()
    units = cc.groupby(["subject", "limb"]).ngroups
    n_re = units + m * (2 if slope else 1)
    return m >= 3 and len(cc) > n_re and cc["limb"].nunique() == 2


def _specs(d, lb, info, i):
    grp = info["has_group"]
    kr = info["n"] <= KR_MAX_SUBJECTS
    ds = info["dataset"]
    row = dict(dataset=ds, formula0="", re="", random="", correlated=True, nested="",
               reml=True, ddf="satterthwaite", specs="", by="")
    out = []
    f = "y ~ week * group" if grp else "y ~ week"
    if _feasible(d, f, "week"):
        out.append({**row, "key": "unc", "kind": "lmm", "formula": f, "re": "(week || subject)",
                    "random": "week", "correlated": False,
                    "ddf": "kenward-roger" if kr and i % 2 else "satterthwaite"})
    fq = "y ~ week + week2" + (" + group" if grp and i % 2 else "")
    if _q3_feasible(d, fq):
        reml = bool(i % 3)
        out.append({**row, "key": "q3", "kind": "lmm", "formula": fq,
                    "re": "(week + week2 | subject)", "random": "week week2", "reml": reml,
                    "ddf": "kenward-roger" if reml and kr and i % 2 == 0 else "satterthwaite"})
    slope = bool(i % 2)
    if _nest_feasible(lb, slope):
        out.append({**row, "key": "nest", "kind": "lmm", "formula": "s ~ limb * week",
                    "re": ("(week | subject)" if slope else "(1 | subject)")
                    + " + (1 | subject:limb)", "random": "week" if slope else "",
                    "nested": "limb", "reml": bool(i % 5),
                    "ddf": "kenward-roger" if kr and i % 5 and i % 3 else "satterthwaite"})
    fi = "y ~ visit * group" if grp else "y ~ visit"
    if _feasible(d, fi, "1") and d["visit"].nunique() >= 2:
        out.append({**row, "key": "inf", "kind": "infer", "formula": fi, "re": "(1 | subject)",
                    "specs": "visit", "by": "group" if grp else "",
                    "ddf": "kenward-roger" if kr else "satterthwaite"})
    fs = ("y ~ week * group + x" if grp else "y ~ week + x")
    if _feasible(d, fs, "week"):
        out.append({**row, "key": "infs", "kind": "infer", "formula": fs,
                    "re": "(week | subject)", "random": "week",
                    "ddf": "kenward-roger" if kr else "satterthwaite"})
    f0, f1 = ("y ~ week", "y ~ week * group") if grp else ("y ~ 1", "y ~ week")
    if _feasible(d, f1, "week"):
        out.append({**row, "key": "lrt", "kind": "lrt", "formula": f1, "formula0": f0,
                    "re": "(week | subject)", "random": "week"})
    return out


def main() -> None:
    rng = np.random.default_rng(SEED)
    frames, limbs, specs = [], [], []
    for i in range(N_SETS):
        n = int(rng.integers(100, 301)) if i % 16 == 5 else int(rng.integers(6, 61))
        d, info = _dataset(rng, i, n)
        d.insert(3, "week2", d["week"] ** 2)
        lb = _limbs(rng, d, info)
        frames.append(d)
        limbs.append(lb)
        specs += _specs(d, lb.drop(columns="dataset"), info, i)
    OUT.mkdir(parents=True, exist_ok=True)
    data = pd.concat(frames, ignore_index=True)
    opts = dict(index=False, float_format="%.9g", na_rep="", lineterminator="\n")
    data.to_csv(OUT / "datasets.csv", **opts)
    pd.concat(limbs, ignore_index=True).to_csv(OUT / "limbs.csv", **opts)
    pd.DataFrame(specs).to_csv(OUT / "specs.csv", index=False, lineterminator="\n")
    print(f"{N_SETS} data sets, {len(data)} rows, {len(specs)} models -> {OUT}")


if __name__ == "__main__":
    main()
