"""Generate the trials of the reference-based multiple imputation tests against R's ``rbmi``.

Issue 24, item 2. Writes, under ``tests/reference/data/rbmi/``:

``<case>.csv``
    One trial in long format, one row per subject x post-baseline visit:
    ``subject, group, week, y, y_bl, sex, age``. ``y`` is empty where missing (the row is
    kept: rbmi needs every subject at every visit). ``week`` is an integer; ``group`` is
    ``ctl``/``trt`` (``ctl``/``trtA``/``trtB`` with three arms), ``ctl`` the reference arm;
    ``sex`` is ``F``/``M``. Missing outcomes come from monotone dropout and intermittent
    gaps.
``<case>_ice.csv``
    The intercurrent events of a case whose ``ice`` is a file (rbmi's ``data_ice``): one row
    per participant with an event, ``subject, week, strategy``: the first visit affected.
    Some participants have observed outcomes after a non-MAR event (left out of the
    imputation model's fit, kept in the analysis), some have their event at the first visit,
    a few have a MAR event (nothing changes for them).
``<case>_delta<k>.csv``
    A delta of an analysis (rbmi's ``analyse(delta = )``): ``subject, week, delta``, added
    to those outcome values before each imputed data set is analysed; mostly imputed
    (originally missing) values of one arm, growing with the visit, plus a few observed
    values (rbmi adds a delta to any row it names).
``specs.json``
    One entry per case (``cases``, sorted by id):
    ``csv``; ``formula`` (the imputation model in hipstats' patsy style) and
    ``covariates_r`` (rbmi's ``vars$covariates``: the same column space in R, with the visit
    factor ``week``); ``arms`` (reference first), ``reference``, ``references`` (rbmi's map,
    every arm named); ``ice``: null (every missing value MAR), a strategy name (each
    participant's trailing run of missing visits gets it from the first missing visit; gaps
    stay MAR) or an ice file name; ``method`` (``jackknife``, ``bootstrap``,
    ``approxbayes``), ``n_samples``, ``seed``, ``cov`` (mmrm's structure name), ``reml``;
    ``analyses`` (``key``, ``covariates``: terms of the per-visit ANCOVA besides ``group``,
    ``delta``: null or a delta file, ``weights``); ``tipping`` (``key``, ``arm``,
    ``covariates``, ``visit``: null for the last, ``alpha``). Also the generating values
    (``sd``, ``n``, ``weeks``; not used in the comparisons).

Then ``Rscript tests/reference/rbmi.R`` (from the repo root) writes
``tests/reference/rbmi.json``; ``tests/test_rbmi_reference.py`` replays it without R.

Run from the repo root: ``.venv/bin/python tests/reference/rbmi_data.py``. Deterministic
(numpy SeedSequence below): re-running rewrites identical files. A fresh held-out batch:
``RBMI_SEED=<n> RBMI_DIR=<folder>`` here, ``RBMI_DIR=<folder> RBMI_OUT=<folder>/rbmi.json``
for the R script and the same two variables for ``pytest tests/test_rbmi_reference.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

# RBMI_SEED / RBMI_DIR give a fresh held-out batch (see tests/test_rbmi_reference.py)
SEED = int(os.environ.get("RBMI_SEED", 20261206))
OUT = Path(os.environ.get("RBMI_DIR") or Path(__file__).resolve().parent / "data" / "rbmi")

F_FULL = ("y ~ y_bl * C(week) + group * C(week)", ["y_bl*week", "group*week"])
F_SEX = ("y ~ y_bl * C(week) + sex + group * C(week)", ["y_bl*week", "sex", "group*week"])
F_ADD = ("y ~ y_bl + C(week) + group * C(week)", ["y_bl", "group*week"])
F_AGE = ("y ~ y_bl * C(week) + age + group * C(week)", ["y_bl*week", "age", "group*week"])
F_ONE = ("y ~ y_bl + group", ["y_bl", "group"])
F_ONE_SEX = ("y ~ y_bl + sex + group", ["y_bl", "sex", "group"])

CF = "counterfactual"


def A(covs=("y_bl",), delta=False, weights=CF):
    """One analysis: ANCOVA covariates, a delta file (made per case) or none, lsmeans weights."""
    return {"covariates": list(covs), "delta": delta, "weights": weights}


def T(arm="trt", covs=("y_bl",), visit=None, alpha=0.05):
    return {"arm": arm, "covariates": list(covs), "visit": visit, "alpha": alpha}


# The cases. n: subjects; weeks: post-baseline visits; K arms; sd: residual SD (scale);
# ice: None / strategy / ("file", strategies allowed, options); effect: treatment effect at
# the last visit in SDs (tipping-point cases need a clear one).
CASES = [
    dict(n=60, weeks=[2, 4, 8, 12], K=2, sd=1.0, formula=F_FULL, ice=None, cov="us",
         analyses=[A()], tipping=[T()], effect=1.0),
    dict(n=40, weeks=[4, 8, 12], K=2, sd=1.0, formula=F_FULL, ice="JR", cov="us",
         analyses=[A(), A(delta=True)], tipping=[T()], effect=1.2),
    dict(n=80, weeks=[1, 2, 3, 4, 6], K=2, sd=8.0, formula=F_FULL, ice="CR", cov="toeph",
         analyses=[A()], tipping=[T()], effect=0.9),
    dict(n=50, weeks=[2, 4, 6, 8], K=2, sd=1.0, formula=F_FULL, ice="CIR", cov="ar1",
         analyses=[A(), A(delta=True)], tipping=[T(visit=6)], effect=1.0),
    dict(n=45, weeks=[6, 12, 26], K=2, sd=3.0, formula=F_ADD, ice="LMCF", cov="ar1h",
         analyses=[A()], tipping=[T()], effect=1.1, first_observed=True),
    dict(n=70, weeks=[1, 2, 4, 6, 8, 12], K=2, sd=1.0, formula=F_FULL,
         ice=("file", ["JR", "CR", "CIR", "LMCF", "MAR"]), cov="cs",
         analyses=[A(), A(delta=True)], tipping=[T()], effect=1.0),
    dict(n=55, weeks=[2, 4, 8, 12], K=2, sd=1.0, formula=F_FULL,
         ice=("file", ["JR", "CIR", "MAR"], "first"), cov="csh", analyses=[A()],
         tipping=[T()], effect=1.0),
    dict(n=60, weeks=[1, 2, 4, 8, 12], K=2, sd=0.05, formula=F_FULL, ice="JR", cov="ad",
         analyses=[A(), A(delta=True)], tipping=[T()], effect=1.0),
    dict(n=50, weeks=[4, 8, 12, 16], K=2, sd=50.0, formula=F_FULL, ice="CIR", cov="toep",
         analyses=[A(), A(delta=True)], tipping=[T()], effect=1.0),
    dict(n=40, weeks=[6], K=2, sd=1.0, formula=F_ONE, ice=None, cov="us",
         analyses=[A()], tipping=[T()], effect=1.2),
    dict(n=60, weeks=[12], K=2, sd=0.05, formula=F_ONE, ice="JR", cov="us",
         analyses=[A(), A(delta=True)], tipping=[T()], effect=1.0),
    dict(n=30, weeks=[8], K=2, sd=50.0, formula=F_ONE_SEX, ice=("file", ["CR", "MAR"]),
         cov="us", analyses=[A(), A(("y_bl", "sex"), weights="equal")], tipping=[T()],
         effect=1.5),
    dict(n=75, weeks=[2, 4, 8, 12], K=3, sd=1.0, formula=F_FULL, ice="JR", cov="us",
         analyses=[A(), A(delta=True)], tipping=[T(arm="trtA"), T(arm="trtB")], effect=1.2),
    dict(n=90, weeks=[4, 8, 12], K=3, sd=10.0, formula=F_FULL,
         ice=("file", ["JR", "CR", "CIR", "MAR"]), cov="cs",
         analyses=[A(), A(("y_bl", "sex"), weights="equal")], tipping=[T(arm="trtB")],
         effect=1.2),
    dict(n=60, weeks=[6, 12], K=3, sd=1.0, formula=F_FULL, ice=None, cov="ar1",
         analyses=[A()], tipping=[], effect=0.8),
    dict(n=48, weeks=[12], K=3, sd=2.0, formula=F_ONE, ice="CR", cov="us",
         analyses=[A()], tipping=[T(arm="trtA")], effect=1.3),
    dict(n=64, weeks=[2, 4, 8], K=2, sd=1.0, formula=F_SEX, ice="JR", cov="us",
         analyses=[A(("y_bl", "sex"), weights=w) for w in
                   ["counterfactual", "equal", "proportional_em", "proportional"]],
         tipping=[T(covs=("y_bl", "sex"))], effect=1.0, sex_effect=2.0, sex_p=0.3),
    dict(n=58, weeks=[4, 8, 12], K=2, sd=5.0, formula=F_SEX,
         ice=("file", ["JR", "CIR", "LMCF"]), cov="toeph",
         analyses=[A(("y_bl", "sex", "y_bl:sex"), weights=w) for w in
                   ["counterfactual", "equal", "proportional_em"]] + [A(("y_bl", "age"))],
         tipping=[], effect=1.0, sex_effect=1.5, sex_p=0.3),
    dict(n=40, weeks=[2, 4, 8], K=2, sd=1.0, formula=F_FULL, ice="JR", cov="us",
         method="bootstrap", n_samples=100, analyses=[A(), A(delta=True)], tipping=[],
         effect=1.0),
    dict(n=50, weeks=[4, 8, 12, 16], K=2, sd=20.0, formula=F_ADD,
         ice=("file", ["CR", "CIR", "MAR"]), cov="cs", method="bootstrap", n_samples=100,
         analyses=[A()], tipping=[], effect=1.0),
    dict(n=45, weeks=[2, 4, 8], K=2, sd=1.0, formula=F_FULL, ice="JR", cov="us",
         method="approxbayes", n_samples=100, analyses=[A(), A(delta=True)], tipping=[],
         effect=1.0),
    dict(n=60, weeks=[4, 8, 12, 24], K=2, sd=0.05, formula=F_ADD,
         ice=("file", ["JR", "CR", "LMCF", "MAR"]), cov="ar1", method="approxbayes",
         n_samples=100, analyses=[A()], tipping=[], effect=1.0),
    dict(n=180, weeks=[2, 4, 8, 12], K=2, sd=1.0, formula=F_FULL, ice="JR", cov="us",
         analyses=[A()], tipping=[T()], effect=0.6),
    dict(n=150, weeks=[1, 2, 4, 8, 12], K=2, sd=4.0, formula=F_AGE,
         ice=("file", ["JR", "CR", "CIR", "LMCF", "MAR"]), cov="toeph",
         analyses=[A(), A(("y_bl", "age"))], tipping=[T()], effect=0.7),
    dict(n=26, weeks=[4, 12], K=2, sd=1.0, formula=F_FULL, ice="CR", cov="us",
         reml=False, analyses=[A()], tipping=[T()], effect=1.6),
    dict(n=80, weeks=[1, 2, 3, 4, 5, 6], K=2, sd=1.0, formula=F_ADD,
         ice=("file", ["MAR"]), cov="ad", analyses=[A()], tipping=[T()], effect=1.0),
    dict(n=50, weeks=[2, 4, 8, 12], K=2, sd=0.05, formula=F_FULL, ice="CR", cov="csh",
         analyses=[A()], tipping=[T()], effect=1.1, p_gap=0.15),
    dict(n=44, weeks=[4, 8, 12], K=2, sd=2.0, formula=F_FULL, ice="LMCF", cov="toep",
         reml=False, analyses=[A(), A(delta=True)], tipping=[T()], effect=1.1,
         first_observed=True),
    dict(n=36, weeks=[2, 6], K=2, sd=50.0, formula=F_FULL, ice="CIR", cov="ar1h",
         analyses=[A()], tipping=[T()], effect=1.4),
    dict(n=54, weeks=[4, 8, 12], K=2, sd=1.0, formula=F_FULL,
         ice=("file", ["JR", "CR"], "first"), cov="us",
         analyses=[A()], tipping=[T()], effect=1.1, ctl_ref="trt"),
]


def _corr(rng: np.random.Generator, nv: int) -> np.ndarray:
    idx = np.arange(nv)
    kind = rng.integers(3)
    if kind == 0:
        return rng.uniform(0.3, 0.85) ** np.abs(idx[:, None] - idx[None, :])
    if kind == 1:
        R = np.full((nv, nv), rng.uniform(0.2, 0.7))
        np.fill_diagonal(R, 1.0)
        return R
    B = rng.standard_normal((nv, nv + 3)) + rng.uniform(0.5, 1.5)
    S = B @ B.T
    d = np.sqrt(np.diag(S))
    return S / d[:, None] / d[None, :]


def _trial(rng: np.random.Generator, cid: str, c: dict):
    n, weeks, K, sd = c["n"], c["weeks"], c["K"], c["sd"]
    nv = len(weeks)
    arms = ["ctl", "trt"] if K == 2 else ["ctl", "trtA", "trtB"]
    grp = np.array([arms[i % K] for i in range(n)])
    rng.shuffle(grp)
    g = np.array([arms.index(a) for a in grp])
    sex = np.where(rng.random(n) < c.get("sex_p", 0.5), "M", "F")
    age = rng.normal(55, 12, n).round(1)
    offset = sd * rng.uniform(-10, 10) + float(rng.choice([0.0, 40.0 * sd]))
    y_bl = offset + sd * rng.standard_normal(n)
    hetero = sd * np.exp(rng.uniform(-0.3, 0.3, nv))
    R = _corr(rng, nv)
    L = np.linalg.cholesky(R * np.outer(hetero, hetero))
    e = rng.standard_normal((n, nv)) @ L.T
    frac = (np.arange(1, nv + 1) / nv)
    eff = np.zeros((K, nv))
    for k in range(1, K):
        eff[k] = 1.8 * sd * c["effect"] * (1 + 0.4 * (k - 1)) * frac
    visit_eff = sd * np.cumsum(rng.uniform(-0.5, 1.0, nv))
    beta = rng.uniform(0.3, 0.9)
    sexeff = sd * c.get("sex_effect", rng.uniform(-0.3, 0.3))
    ageeff = sd * rng.uniform(-0.03, 0.03)
    y = (offset + visit_eff[None, :] + eff[g] + beta * (y_bl - offset)[:, None]
         + sexeff * (sex == "M")[:, None] + ageeff * (age - 55)[:, None] + e)
    # missingness: monotone dropout (more in the treated arms) and intermittent gaps
    miss = np.zeros((n, nv), bool)
    hz = c.get("hazard", 0.12 if nv > 1 else 0.25)
    for i in range(n):
        h = hz * (1.3 if g[i] > 0 else 0.8)
        for j in range(nv):
            if c.get("first_observed") and j == 0:
                continue
            if rng.random() < h:
                miss[i, j:] = True
                break
    if nv > 2:
        gaps = rng.random((n, nv)) < c.get("p_gap", 0.05)
        gaps[:, -1] = False
        if c.get("first_observed"):
            gaps[:, 0] = False
        miss |= gaps
    yv = np.where(miss, np.nan, y)
    width = 3
    subj = np.array([f"{cid}-{i:0{width}d}" for i in range(n)])
    d = pd.DataFrame({"subject": np.repeat(subj, nv), "group": np.repeat(grp, nv),
                      "week": np.tile(weeks, n).astype(int), "y": yv.ravel(),
                      "y_bl": np.repeat(y_bl, nv), "sex": np.repeat(sex, nv),
                      "age": np.repeat(age, nv)})
    return d, miss, subj, grp, arms


def _ice_file(rng, c, d, miss, subj, weeks):
    """One ICE row per participant with an event: dropouts get theirs at the first missing
    visit of their trailing run (or earlier, leaving observed values after it), some
    completers an event mid-way, some an event at the first visit."""
    strategies = c["ice"][1]
    first = len(c["ice"]) > 2 and c["ice"][2] == "first"
    nv = len(weeks)
    rows = []
    for i, s in enumerate(subj):
        m = miss[i]
        trail = nv
        while trail > 0 and m[trail - 1]:
            trail -= 1
        strat = str(rng.choice(strategies))
        u = rng.random()
        if trail < nv:                              # a dropout
            j = trail
            if u < 0.3 and trail > 0:               # event earlier: observed values after it
                j = int(rng.integers(0, trail))
        elif u < 0.15:                              # a completer with an event
            j = int(rng.integers(0, nv))
        else:
            continue
        if first and rng.random() < 0.4:
            j = 0
        if strat == "LMCF" and j == 0:
            if nv == 1:
                continue
            j = 1                                   # LMCF needs a visit before the event
        rows.append((s, weeks[j], strat))
    return pd.DataFrame(rows, columns=["subject", "week", "strategy"])


def _effective_ice(c, d, miss, subj, weeks, ice_df):
    """(is_mar matrix): False from a non-MAR event on."""
    nv = len(weeks)
    ismar = np.ones_like(miss)
    if c["ice"] is None:
        return ismar
    if isinstance(c["ice"], str):
        if c["ice"] == "MAR":
            return ismar
        for i in range(len(subj)):
            trail = nv
            while trail > 0 and miss[i, trail - 1]:
                trail -= 1
            ismar[i, trail:] = False
        return ismar
    pos = {s: i for i, s in enumerate(subj)}
    for r in ice_df.itertuples():
        if r.strategy != "MAR":
            ismar[pos[r.subject], weeks.index(r.week):] = False
    return ismar


def _feasible(c, d, miss, ismar, grp, arms) -> bool:
    obs = ~miss & ismar                             # used by the imputation model
    nv = miss.shape[1]
    for a in arms:
        sel = grp == a
        if obs[sel].sum(axis=0).min() < 5:
            return False
        if miss.shape[1] == 1 and (~miss[sel]).sum() < 5:
            return False
    if c["cov"] in ("us", "ad", "toeph", "csh", "ar1h") and nv > 1:
        o = obs.astype(int)
        if (o.T @ o).min() < 6:
            return False
    if c["ice"] is not None and isinstance(c["ice"], str) and c["ice"] == "LMCF":
        if miss[:, 0].any():
            return False
    if c["ice"] is not None and not isinstance(c["ice"], str):
        pass
    # each participant keeps the analysis defined: no arm without observed values at a visit
    return True


def _delta(rng, c, d, miss, subj, grp, arms, weeks):
    """A delta on the originally missing values of one arm (growing with the visit) plus a
    few observed cells of any arm."""
    arm = arms[-1] if rng.random() < 0.7 else arms[0]
    rows = []
    for i, s in enumerate(subj):
        for j, w in enumerate(weeks):
            if miss[i, j] and grp[i] == arm:
                rows.append((s, w, float(np.round(-c["sd"] * 0.5 * (j + 1) / len(weeks), 6))))
    obs_idx = np.argwhere(~miss)
    for i, j in obs_idx[rng.choice(len(obs_idx), size=3, replace=False)]:
        rows.append((subj[i], weeks[j], float(np.round(c["sd"] * rng.uniform(-1, 1), 6))))
    return pd.DataFrame(rows, columns=["subject", "week", "delta"]).sort_values(
        ["subject", "week"]).reset_index(drop=True)


def main() -> None:
    ss = np.random.SeedSequence(SEED)
    streams = ss.spawn(len(CASES))
    OUT.mkdir(parents=True, exist_ok=True)
    specs = {}
    for k, (c, s) in enumerate(zip(CASES, streams)):
        cid = f"r{k:02d}"
        rng = np.random.default_rng(s)
        weeks = list(c["weeks"])
        for attempt in range(200):
            d, miss, subj, grp, arms = _trial(rng, cid, c)
            ice_df = None
            if c["ice"] is not None and not isinstance(c["ice"], str):
                ice_df = _ice_file(rng, c, d, miss, subj, weeks)
            ismar = _effective_ice(c, d, miss, subj, weeks, ice_df)
            if _feasible(c, d, miss, ismar, grp, arms):
                break
        else:
            raise RuntimeError(f"{cid}: no feasible trial")
        d.to_csv(OUT / f"{cid}.csv", index=False, float_format="%.10g", na_rep="",
                 lineterminator="\n")
        if ice_df is not None:
            ice = f"{cid}_ice.csv"
            ice_df.to_csv(OUT / ice, index=False, lineterminator="\n")
        else:
            ice = c["ice"]
        refs = {a: "ctl" for a in arms}
        if c.get("ctl_ref"):
            refs["ctl"] = c["ctl_ref"]
        analyses = []
        for j, a in enumerate(c["analyses"]):
            delta = None
            if a["delta"]:
                delta = f"{cid}_delta{j}.csv"
                _delta(rng, c, d, miss, subj, grp, arms, weeks).to_csv(
                    OUT / delta, index=False, float_format="%.10g", lineterminator="\n")
            analyses.append({"key": f"a{j}", "covariates": a["covariates"], "delta": delta,
                             "weights": a["weights"]})
        method = c.get("method", "jackknife")
        specs[cid] = {
            "csv": f"{cid}.csv", "formula": c["formula"][0], "covariates_r": c["formula"][1],
            "arms": arms, "reference": "ctl", "references": refs, "ice": ice,
            "method": method, "n_samples": c.get("n_samples"),
            "seed": int(rng.integers(1, 2**31 - 1)) if method != "jackknife" else None,
            "cov": c["cov"], "reml": bool(c.get("reml", True)), "analyses": analyses,
            "tipping": [dict(key=f"t{j}", **t) for j, t in enumerate(c["tipping"])],
            "n": c["n"], "weeks": weeks, "sd": c["sd"],
            "n_missing": int(miss.sum()), "n_non_mar": int((~ismar).sum()),
        }
    (OUT / "specs.json").write_text(json.dumps({"seed": SEED, "cases": specs}, indent=1) + "\n")
    print(f"{len(specs)} cases -> {OUT}")


if __name__ == "__main__":
    main()
