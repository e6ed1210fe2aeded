"""Generate the trial-shaped data sets of the MMRM reference tests against R's ``mmrm``.

Issue 18. Writes, under ``tests/reference/data/mmrm/``:

``datasets.csv``
    One long frame for all data sets, the MMRM *analysis frame* of each (post-baseline rows
    only): ``set, subject, group, visit, y, y_bl, age``. ``visit`` is an integer (weeks);
    the first visit of the design is the baseline and is not a row: its value is the
    subject-level column ``y_bl``. ``group`` is ``A``/``B``(/``C``); ``A`` is the
    reference arm. A missing outcome is an empty ``y`` cell (row kept); some visits are
    simply absent as rows (dropouts and skipped visits, both forms occur). A few sets also
    have a missing ``y_bl`` or ``age`` for a few subjects, and a few have their rows in
    shuffled order.
``sets.csv``
    One row per data set: size, arms, design visits (baseline first), generating
    parameters (for reading failures; not used in the comparisons).
``specs.csv``
    The models fitted to each set: ``set, key, formula, formula_r, cov, group_cov, reml,
    df_method``. ``formula`` is the hipstats (patsy) formula, ``formula_r`` the fixed part
    of R's formula (``visit`` is an R factor there); ``cov`` is the mmrm structure name,
    ``group_cov`` 1 for a covariance per arm (``cov(visit | group / subject)``), ``df_method``
    hipstats' name (``satterthwaite``, ``kenward-roger``, ``kenward-roger-linear``,
    ``residual``).

Then ``Rscript tests/reference/mmrm.R`` (from the repo root) writes
``tests/reference/mmrm.json``; ``tests/test_mmrm_reference.py`` replays it without R.

Run from the repo root: ``.venv/bin/python tests/reference/mmrm_data.py``. Deterministic
(numpy SeedSequence below): re-running rewrites identical files. A fresh held-out batch:
``MMRM_SEED=<n> MMRM_DIR=<folder>`` here (``MMRM_SETS=<n>`` sets, ``MMRM_LARGE=0`` leaves
out the two large sets), ``MMRM_DIR=<folder> MMRM_OUT=<folder>/mmrm.json`` for the R script,
and the same two variables for ``pytest tests/test_mmrm_reference.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import patsy

# MMRM_SEED / MMRM_DIR give a fresh held-out batch (see tests/test_mmrm_reference.py)
SEED = int(os.environ.get("MMRM_SEED", 20261202))
N_SETS = int(os.environ.get("MMRM_SETS", 56))      # regular sets, 12-300 subjects
N_ANCOVA = 6                                       # one post-baseline visit (pre/post)
LARGE = [] if os.environ.get("MMRM_LARGE") == "0" else [(1000, 7, 3), (5000, 7, 2)]
OUT = Path(os.environ.get("MMRM_DIR") or Path(__file__).resolve().parent / "data" / "mmrm")

STRUCTURES = ["us", "toep", "toeph", "ar1", "ar1h", "cs", "csh", "ad", "adh"]
# (reml, df_method): Kenward-Roger needs REML
FITS = [(True, "satterthwaite"), (True, "kenward-roger"), (True, "kenward-roger-linear"),
        (True, "residual"), (False, "satterthwaite"), (False, "residual")]
HETERO = {"us", "toeph", "ar1h", "csh", "adh"}     # a variance per visit


def n_theta(cov: str, nv: int) -> int:
    """Number of covariance parameters of one mmrm structure on ``nv`` visits."""
    return {"us": nv * (nv + 1) // 2, "toep": nv, "toeph": 2 * nv - 1, "ar1": 2,
            "ar1h": nv + 1, "cs": 2, "csh": nv + 1, "ad": nv, "adh": 2 * nv - 1}[cov]


def _visits(rng: np.random.Generator, J: int) -> np.ndarray:
    """J design visits (integers, baseline first)."""
    kind = rng.integers(4)
    if kind == 0:
        return np.arange(J)
    if kind == 1:
        return 2 * np.arange(J)
    if kind == 2:                                   # irregular weeks
        return np.concatenate([[0], np.sort(rng.choice(np.arange(1, 53), J - 1,
                                                       replace=False))])
    start = int(rng.integers(-2, 3))                # baseline not at 0 (day -1 / week 2 ...)
    return start + 4 * np.arange(J)


def _corr(rng: np.random.Generator, nv: int) -> tuple[np.ndarray, str]:
    """A correlation matrix over the nv post-baseline visits (one of four shapes)."""
    kind = str(rng.choice(["ar1", "cs", "random", "random"]))
    idx = np.arange(nv)
    if kind == "ar1":
        R = rng.uniform(0.1, 0.9) ** np.abs(idx[:, None] - idx[None, :])
    elif kind == "cs":
        r = rng.uniform(-0.1, 0.85) if nv > 1 else 0.0
        R = np.full((nv, nv), r)
        np.fill_diagonal(R, 1.0)
    else:
        A = rng.standard_normal((nv, nv + 2)) + rng.uniform(0, 2)   # shared factor -> positive
        S = A @ A.T
        d = np.sqrt(np.diag(S))
        R = S / d[:, None] / d[None, :]
    return R, kind


def _dataset(rng: np.random.Generator, sid: str, n: int, J: int, K: int,
             ancova: bool = False) -> tuple[pd.DataFrame, dict]:
    visits = _visits(rng, J)
    post = visits[1:]
    nv = len(post)
    arms = ["A", "B", "C"][:K]
    sigma = float(10 ** rng.uniform(-2, 2))         # residual SD 0.01 - 100
    hetero = bool(rng.random() < 0.6)
    sds = sigma * (np.exp(rng.uniform(-0.5, 0.5, nv)) if hetero else np.ones(nv))
    R, ckind = _corr(rng, nv)
    arm_scale = (np.exp(rng.uniform(-0.6, 0.6, K)) if rng.random() < 0.4 else np.ones(K))

    def pick(scale):      # an effect of either sign up to `scale` SDs, or (15%) none
        return 0.0 if rng.random() < 0.15 else sigma * rng.uniform(-scale, scale)

    offset = sigma * rng.uniform(-20, 20) + float(rng.choice([0.0, 50.0, 1000.0 * sigma,
                                                              -300.0 * sigma]))
    visit_eff = np.cumsum([pick(3) for _ in range(nv)])
    arm_eff = np.array([[0.0] * nv] + [[pick(2) * (j + 1) / nv + pick(0.5) for j in range(nv)]
                                       for _ in range(K - 1)])
    beta_bl = float(rng.choice([0.0, rng.uniform(-0.6, 1.3)]))
    bl_mean = offset + sigma * rng.uniform(-5, 5)
    bl_sd = sigma * float(10 ** rng.uniform(-0.5, 0.5))
    age_mean = float(rng.choice([45.0, 1e4 * rng.uniform(0.5, 2), rng.uniform(-50, 50)]))
    age_sd = float(10 ** rng.uniform(-1, 2))
    gamma = pick(1) / age_sd

    # allocation: every arm at least a quarter of its fair share (and >= 4 subjects)
    w = rng.dirichlet(np.full(K, 4.0))
    w = np.maximum(w, 0.25 / K)
    w /= w.sum()
    alloc = np.maximum(4, np.floor(w * n).astype(int))
    alloc[0] += n - alloc.sum()
    grp = np.repeat(arms, alloc)
    rng.shuffle(grp)
    g = np.array([arms.index(a) for a in grp])
    width = max(3, len(str(n - 1)))
    subj = np.array([f"{sid}-{j:0{width}d}" for j in range(n)])
    y_bl = bl_mean + bl_sd * rng.standard_normal(n)
    age = age_mean + age_sd * rng.standard_normal(n)
    L = np.linalg.cholesky(R * np.outer(sds, sds))
    e = (rng.standard_normal((n, nv)) @ L.T) * arm_scale[g][:, None]
    y = (offset + visit_eff[None, :] + arm_eff[g] + beta_bl * (y_bl - bl_mean)[:, None]
         + gamma * (age - age_mean)[:, None] + e)

    # missingness: monotone dropout (hazard per visit) and intermittent cells; a missing
    # value is either an absent row or a row with an empty outcome
    hazard = 0.0 if rng.random() < 0.2 else float(rng.uniform(0.03, 0.25))
    p_int = 0.0 if rng.random() < 0.3 else float(rng.uniform(0.02, 0.15))
    if ancova:
        hazard = 0.0
    miss = np.zeros((n, nv), bool)
    absent = np.zeros((n, nv), bool)
    for i in range(n):
        drop_at = nv
        for j in range(nv):
            if rng.random() < hazard:
                drop_at = j
                break
        if drop_at < nv:
            miss[i, drop_at:] = True
            if rng.random() < 0.5:              # dropout rows absent from the file
                absent[i, drop_at:] = True
    cell = rng.random((n, nv)) < p_int
    miss |= cell
    absent |= cell & (rng.random((n, nv)) < 0.5)
    yv = np.where(miss, np.nan, y)
    rows = pd.DataFrame({
        "subject": np.repeat(subj, nv), "group": np.repeat(grp, nv),
        "visit": np.tile(post, n).astype(int), "y": yv.ravel(),
        "y_bl": np.repeat(y_bl, nv), "age": np.repeat(age, nv)})
    rows = rows[~absent.ravel()]
    # a few subjects without a baseline value / age (their rows are not analysed)
    nb_bl = int(rng.integers(1, 4)) if rng.random() < 0.2 else 0
    nb_age = int(rng.integers(1, 4)) if rng.random() < 0.2 else 0
    for col, k in (("y_bl", nb_bl), ("age", nb_age)):
        if k:
            who = rng.choice(subj, k, replace=False)
            rows.loc[rows["subject"].isin(who), col] = np.nan
    if rng.random() < 0.2:
        rows = rows.sample(frac=1.0, random_state=int(rng.integers(1 << 30)))
    rows = rows.reset_index(drop=True)
    rows.insert(0, "set", sid)
    info = {"set": sid, "n": n, "arms": K, "visits": " ".join(str(int(v)) for v in visits),
            "n_post": nv, "sigma": sigma, "hetero_sd": hetero, "corr": ckind,
            "arm_scale": " ".join(f"{s:.3g}" for s in arm_scale), "offset": offset,
            "beta_bl": beta_bl, "gamma_age": gamma, "hazard": hazard, "p_intermittent": p_int,
            "missing_bl": nb_bl, "missing_age": nb_age, "rows": len(rows),
            "rows_observed": int(rows["y"].notna().sum())}
    return rows, info


def _feasible(d: pd.DataFrame, formula: str, cov: str, group_cov: bool) -> bool:
    """Whether the model is identifiable on the analysed rows (checked on the data, with
    neither package): a full-rank fixed design, every arm x visit cell with 2+ outcomes,
    for each covariance group 3+ subjects seen at each pair of visits (unstructured and
    ante-dependence: the entries are estimated from those pairs) and more subjects than
    variance parameters per visit, and more observations than parameters."""
    cols = ["y", "y_bl", "group", "visit", "subject"] + (["age"] if "age" in formula else [])
    cc = d[cols].dropna()
    if cc.empty:
        return False
    X = np.asarray(patsy.dmatrix(formula.split("~", 1)[1], cc, NA_action="raise"))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        return False
    levels = sorted(d["visit"].unique())
    nv = len(levels)
    cells = cc.groupby(["group", "visit"]).size()
    if len(cells) < d["group"].nunique() * nv or cells.min() < 2:
        return False
    parts = [cc[cc["group"] == a] for a in sorted(cc["group"].unique())] if group_cov else [cc]
    k = n_theta(cov, nv) * len(parts)
    if len(cc) <= X.shape[1] + k + 2:
        return False
    for part in parts:
        wide = part.pivot(index="subject", columns="visit", values="y").notna()
        wide = wide.reindex(columns=levels, fill_value=False).to_numpy(int)
        if wide.shape[0] < 4 or (cov in HETERO and wide.shape[0] < nv + 3):
            return False
        if cov in ("us", "ad", "adh") and nv > 1:
            pairs = wide.T @ wide
            need = 3 if cov == "us" else 2
            if cov == "us" and pairs.min() < need:
                return False
            if cov != "us" and np.diag(pairs, 1).min() < need:
                return False
    return True


def _formula(with_age: bool, interaction: bool, nv: int) -> tuple[str, str]:
    """(patsy formula, R fixed-effects formula)."""
    cov = "y_bl + age" if with_age else "y_bl"
    if nv == 1:
        return f"y ~ {cov} + group", f"y ~ {cov} + group"
    if interaction:
        return f"y ~ {cov} + group * C(visit)", f"y ~ {cov} + group * visit"
    return f"y ~ {cov} + group + C(visit)", f"y ~ {cov} + group + visit"


def main() -> None:
    ss = np.random.SeedSequence(SEED)
    rng = np.random.default_rng(ss.spawn(1)[0])
    combos = [(c, r, m) for c in STRUCTURES for r, m in FITS]
    order = list(rng.permutation(len(combos)))
    frames, infos, specs = [], [], []
    k = 0                                            # next (structure, fit) combination
    plan = ([("regular", i) for i in range(N_SETS)] + [("ancova", i) for i in range(N_ANCOVA)]
            + [("large", i) for i in range(len(LARGE))])
    for kind, i in plan:
        srng = np.random.default_rng(ss.spawn(1)[0])   # one stream per set
        if kind == "regular":
            sid = f"m{i:03d}"
            n = int(round(10 ** srng.uniform(np.log10(12), np.log10(300))))
            J, K = int(srng.integers(3, 8)), int(srng.integers(2, 4))
        elif kind == "ancova":
            sid = f"a{i:03d}"
            n, J, K = int(srng.integers(12, 200)), 2, int(srng.integers(2, 4))
        else:
            sid = f"L{i:03d}"
            n, J, K = LARGE[i]
        d, info = _dataset(srng, sid, n, J, K, ancova=(kind == "ancova"))
        nv = J - 1
        with_age = srng.random() < 0.35
        interaction = srng.random() < 0.85
        f_py, f_r = _formula(with_age, interaction, nv)
        info["kind"] = kind
        frames.append(d)
        infos.append(info)
        if kind == "ancova":     # one visit: MMRM = ANCOVA (unstructured 1 x 1 = sigma^2)
            cand = [("us", r, m, False) for r, m in FITS[:4]] + [("us", False, "satterthwaite",
                                                                  False)]
        elif kind == "large":
            cand = [("us", True, "kenward-roger", False), ("toeph", False, "satterthwaite",
                                                           i == 0)]
        else:
            cand = []
            for j in range(4):
                # the next (structure, REML/ML, df) combination; a covariance per arm for
                # every fourth model; a structure the set cannot carry falls back to cs
                c, r, m = combos[order[k % len(combos)]]
                k += 1
                grouped = k % 4 == 0 and _feasible(d, f_py, c, True)
                if not _feasible(d, f_py, c, False):
                    c, grouped = "cs", False
                cand.append((c, r, m, grouped))
        for j, (c, r, m, grouped) in enumerate(cand):
            if not _feasible(d, f_py, c, grouped):
                continue
            specs.append({"set": sid, "key": f"k{j}", "formula": f_py, "formula_r": f_r,
                          "cov": c, "group_cov": int(grouped), "reml": int(r),
                          "df_method": m})
    OUT.mkdir(parents=True, exist_ok=True)
    data = pd.concat(frames, ignore_index=True)
    data.to_csv(OUT / "datasets.csv", index=False, float_format="%.9g", na_rep="",
                lineterminator="\n")
    pd.DataFrame(infos).to_csv(OUT / "sets.csv", index=False, float_format="%.6g",
                               lineterminator="\n")
    pd.DataFrame(specs).to_csv(OUT / "specs.csv", index=False, lineterminator="\n")
    print(f"{len(infos)} data sets, {len(data)} rows, {len(specs)} models -> {OUT}")


if __name__ == "__main__":
    main()
