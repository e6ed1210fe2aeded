"""The analysis of every imputed data set at once: rbmi's per-visit ANCOVA.

At each visit, ``y ~ arm + covariates`` by least squares (the reference arm first, each
other arm a dummy), on every sample's participants (a jackknife sample leaves one out, a
bootstrap sample repeats some: frequency weights give the same estimates as the repeated
rows). The treatment effect is each arm's coefficient; the least-squares means of each arm
follow rbmi's ``lsmeans`` weights:

* ``counterfactual`` (and its alias ``proportional``): everyone set to the arm, covariate
  design averaged over the sample's participants;
* ``equal``: every combination of the factor covariates' levels, numeric covariates at
  their mean, averaged with equal weight;
* ``proportional_em``: those combinations weighted by how often they occur (emmeans'
  ``weights = "proportional"``).

All samples are solved together (batched normal equations), which is where the jackknife's
n + 1 analyses cost about as much as one.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hipstats.errors import AnalysisError

__all__ = ["VisitDesign", "visit_design", "fit_visit", "WEIGHTS"]

WEIGHTS = ("counterfactual", "equal", "proportional_em", "proportional")


@dataclass
class VisitDesign:
    Z: np.ndarray              # (n, p): intercept, K - 1 arm dummies, covariate columns
    K: int                     # arms
    C: np.ndarray              # (n, pc) covariate columns
    grid_design: object        # callable(weights (S, n)) -> (S, pc) covariate part of lsmeans


def _covariate_matrix(frame: pd.DataFrame, covariates: list):
    import patsy

    if not covariates:
        return np.zeros((len(frame), 0)), None
    try:
        C = patsy.dmatrix("1 + " + " + ".join(covariates), frame, return_type="matrix",
                          NA_action="raise")
    except patsy.PatsyError as exc:
        raise AnalysisError(f"analysis covariates {covariates}: {exc}".split("\n")[0]) from None
    names = C.design_info.column_names
    keep = [i for i, nm in enumerate(names) if nm != "Intercept"]
    return np.asarray(C, float)[:, keep], (C.design_info, keep)


def _factor_columns(frame, covariates, numeric_cols):
    cols = [c for c in frame.columns if any(_uses(cv, c) for cv in covariates)]
    factors = [c for c in cols if c not in numeric_cols]
    return cols, factors


def _uses(term: str, column: str) -> bool:
    import re

    return re.search(rf"(?<![\w.]){re.escape(str(column))}(?![\w.])", term) is not None


def visit_design(frame: pd.DataFrame, arm: np.ndarray, K: int, covariates: list,
                 weights: str) -> VisitDesign:
    """The ANCOVA design of one visit's rows (one per participant, in grid order)."""
    C, info = _covariate_matrix(frame, covariates)
    n = len(frame)
    D = np.zeros((n, K - 1))
    if K > 1:
        D[np.arange(n)[arm > 0], arm[arm > 0] - 1] = 1.0
    Z = np.column_stack([np.ones(n), D, C])
    if weights in ("counterfactual", "proportional") or info is None:
        def grid_design(W):
            return (W @ C) / W.sum(axis=1, keepdims=True)
    else:
        grid_design = _grid_lsm(frame, covariates, info, weights)
    return VisitDesign(Z, K, C, grid_design)


def _grid_lsm(frame, covariates, info, weights):
    """Covariate part of ``equal`` / ``proportional_em`` least-squares means."""
    import patsy

    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not isinstance(frame[c].dtype, pd.CategoricalDtype)]
    cols, factors = _factor_columns(frame, covariates, numeric)
    nums = [c for c in cols if c in numeric]
    levels = {f: (list(frame[f].cat.categories) if isinstance(frame[f].dtype, pd.CategoricalDtype)
                  else sorted(frame[f].unique())) for f in factors}
    combos = list(itertools.product(*[levels[f] for f in factors])) or [()]
    G = pd.DataFrame(combos, columns=factors) if factors else pd.DataFrame(index=[0])
    key = frame[factors].apply(tuple, axis=1) if factors else pd.Series([()] * len(frame))
    member = np.array([[k == c for k in key] for c in combos], float)   # (G, n)
    design_info, keep = info

    def grid_design(W):
        S = W.shape[0]
        rows = pd.concat([G] * S, ignore_index=True)
        for c in nums:
            means = (W @ frame[c].to_numpy(float)) / W.sum(axis=1)
            rows[c] = np.repeat(means, len(G))
        for f in factors:
            rows[f] = pd.Categorical(rows[f], categories=levels[f])
        (M,) = patsy.build_design_matrices([design_info], rows, return_type="matrix")
        M = np.asarray(M, float)[:, keep].reshape(S, len(G), -1)
        if weights == "equal":
            return M.mean(axis=1)
        wg = W @ member.T                                                # (S, G)
        return np.einsum("sg,sgc->sc", wg / wg.sum(axis=1, keepdims=True), M)
    return grid_design


@dataclass
class VisitFit:
    beta: np.ndarray           # (S, p)
    inv: np.ndarray            # (S, p, p) (Z'WZ)^-1
    lsm_design: np.ndarray     # (S, K, p)
    rss: np.ndarray            # (S,)
    dfres: np.ndarray          # (S,)


def fit_visit(vd: VisitDesign, Y: np.ndarray, W: np.ndarray) -> VisitFit:
    """Least squares of (S, n) outcomes with (S, n) frequency weights."""
    Z = vd.Z
    ZtWZ = np.einsum("sn,na,nb->sab", W, Z, Z)
    try:
        inv = np.linalg.inv(ZtWZ)
    except np.linalg.LinAlgError:
        raise AnalysisError("the analysis model is not estimable in a sample (an arm or a "
                            "covariate level without participants)") from None
    beta = np.einsum("sab,sb->sa", inv, (W * Y) @ Z)
    resid = Y - beta @ Z.T
    rss = np.sum(W * resid ** 2, axis=1)
    dfres = W.sum(axis=1) - Z.shape[1]
    cbar = vd.grid_design(W)                                             # (S, pc)
    S, K = len(W), vd.K
    L = np.zeros((S, K, Z.shape[1]))
    L[:, :, 0] = 1.0
    for k in range(1, K):
        L[:, k, k] = 1.0
    L[:, :, K:] = cbar[:, None, :]
    return VisitFit(beta, inv, L, rss, dfres)


def visit_estimates(f: VisitFit, K: int, need_se: bool) -> dict:
    """Per (parameter, arm k >= 1): arrays over samples of est (and se, df); with one arm,
    ``("mean", 0)``."""
    out = {}
    s2 = f.rss / f.dfres
    if K == 1:      # one group: the mean (at the covariates' means)
        l = f.lsm_design[:, 0]
        est = np.einsum("sa,sa->s", l, f.beta)
        se = np.sqrt(s2 * np.einsum("sa,sab,sb->s", l, f.inv, l)) if need_se else None
        return {("mean", 0): (est, se, f.dfres)}
    for k in range(1, K):
        for name, l in (("trt", None), ("lsm_ref", f.lsm_design[:, 0]),
                        ("lsm_alt", f.lsm_design[:, k])):
            if l is None:
                l = np.zeros_like(f.beta)
                l[:, k] = 1.0
            est = np.einsum("sa,sa->s", l, f.beta)
            se = (np.sqrt(s2 * np.einsum("sa,sab,sb->s", l, f.inv, l)) if need_se else None)
            out[(name, k)] = (est, se, f.dfres)
    return out
