"""The imputation model's parameter samples: the MMRM fitted once, once per left-out
participant (jackknife) or once per bootstrap sample.

rbmi refits each jackknife sample from scratch (n + 1 fits of a few seconds each). Here the
full fit's per-pattern moments lose one participant's contribution, and all leave-one-out
problems are solved together from the full optimum, which is O(1/n) away
(:mod:`hipstats.stats.mmrm.batched`); a bootstrap sample is refitted from the full optimum
by :func:`~hipstats.stats.mmrm.fit.refit_arrays`. A full optimisation is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.batched import loo_optimise
from hipstats.stats.mmrm.fit import NotConverged, fit_arrays, refit_arrays
from hipstats.stats.mmrm.likelihood import Moments, Pattern
from hipstats.stats.mmrm.structures import covariance

__all__ = ["Samples", "draw_samples"]


@dataclass
class Samples:
    beta: np.ndarray           # (S, q)
    sigma: list                # per covariance group: (S, m, m)
    weights: np.ndarray        # (S, n) how often each participant is in the analysed sample
    kind: str                  # "jackknife", "bootstrap" or "approxbayes"
    n_fits: int                # MMRM fits made (the full fit included)


def _fit_rows(grid, same_cov: bool):
    """Rows the imputation model is fitted to, sorted by participant then visit."""
    i, v = np.nonzero(grid.fitted)
    X = grid.X_own[i, v]
    y = grid.Y[i, v]
    g = grid.arm[i] if not same_cov else np.zeros(len(i), int)
    return X, y, i, v, g


def _full_fit(grid, structure, reml, same_cov):
    X, y, i, v, g = _fit_rows(grid, same_cov)
    m = len(grid.visits)
    n_groups = 1 if same_cov else len(grid.arms)
    _check_rank(grid, X)
    try:
        return fit_arrays(X, y, i, v, g, grid.names, structure, m, n_groups, reml)
    except NotConverged as exc:
        raise AnalysisError(f"the imputation model cannot be fitted: {exc}") from None


def _check_rank(grid, X):
    if np.linalg.matrix_rank(X) == X.shape[1]:
        return
    seen = grid.fitted
    empty = [(grid.arms[a], grid.visits[v]) for a in range(len(grid.arms))
             for v in range(len(grid.visits)) if not seen[grid.arm == a, v].any()]
    where = ("; no value to fit for arm/visit " + ", ".join(f"{a!r} at {grid.time} {v!r}"
                                                             for a, v in empty[:4])) if empty else ""
    raise AnalysisError("the imputation model's fixed effects are not estimable from the "
                        f"values it is fitted to{where}: simplify the formula or the events")


def _without(M: Moments, code: int) -> Moments:
    """The moments without participant ``code``."""
    patterns = []
    nobs = M.nobs
    for P in M.patterns:
        hit = P.subjects == code
        if not hit.any():
            patterns.append(P)
            continue
        nobs -= int(hit.sum()) * len(P.visits)
        if (~hit).any():
            patterns.append(Pattern(P.group, P.visits, P.X[~hit], P.y[~hit], P.subjects[~hit]))
    return Moments(patterns, M.structure, M.m, M.n_groups, nobs, M.q)


def _resampled(M: Moments, counts: np.ndarray) -> Moments:
    """The moments of a bootstrap sample: participant ``i`` ``counts[i]`` times."""
    patterns = []
    for P in M.patterns:
        rep = np.repeat(np.arange(P.count), counts[P.subjects])
        if len(rep):
            patterns.append(Pattern(P.group, P.visits, P.X[rep], P.y[rep], P.subjects[rep]))
    nobs = sum(P.count * len(P.visits) for P in patterns)
    return Moments(patterns, M.structure, M.m, M.n_groups, nobs, M.q)


def _params(fit):
    return fit.beta, [np.asarray(s) for s in fit.sigma]


def _stack(params, weights, kind, n_fits) -> Samples:
    beta = np.stack([b for b, _ in params])
    sigma = [np.stack([s[g] for _, s in params]) for g in range(len(params[0][1]))]
    return Samples(beta, sigma, np.asarray(weights, float), kind, n_fits)


def jackknife(grid, structure, reml, same_cov, progress=None) -> Samples:
    """The full fit and every leave-one-out fit (all at once: :mod:`~hipstats.stats.mmrm.
    batched`; a fit that does not converge there is optimised on its own)."""
    full = _full_fit(grid, structure, reml, same_cov)
    n = len(grid.subjects)
    codes = np.flatnonzero(grid.fitted.any(axis=1))    # others add nothing to the fit
    thetas, betas, ok = loo_optimise(full.M, full.theta, full.evaluation.hess, codes, reml)
    T, shift = full.basis
    params = {}
    for l, i in enumerate(codes):
        if ok[l]:
            params[i] = (T @ betas[l] + shift, _sigmas(full.M, thetas[l]))
            continue
        try:
            params[i] = _params(refit_arrays(full, _without(full.M, i), reml))
        except NotConverged as exc:
            raise AnalysisError(f"the imputation model cannot be fitted without participant "
                                f"{grid.subjects[i]!r}: {exc}") from None
    if progress:
        progress(n, n)
    out = [_params(full)] + [params.get(i, _params(full)) for i in range(n)]
    weights = np.vstack([np.ones(n), 1.0 - np.eye(n)])
    return _stack(out, weights, "jackknife", 1 + len(codes))


def _sigmas(M, theta):
    k = M.k
    return [covariance(M.structure, theta[g * k:(g + 1) * k], M.m, 0)[0]
            for g in range(M.n_groups)]


def bootstrap(grid, structure, reml, same_cov, n_samples, seed, kind, progress=None) -> Samples:
    """Bootstrap samples of participants within arms (rbmi's stratified resampling); the
    original data first for conditional-mean imputation (rbmi's sample 1). A sample whose
    fit fails is replaced by a new one, up to rbmi's default threshold (1% of n_samples)."""
    full = _full_fit(grid, structure, reml, same_cov)
    n = len(grid.subjects)
    rng = np.random.default_rng(seed)
    params, weights = [], []
    if kind == "bootstrap":
        params.append(_params(full))
        weights.append(np.ones(n))
    limit = int(np.ceil(0.01 * n_samples))      # rbmi's default threshold: 1% of samples
    failures = 0
    while len(params) < n_samples + (kind == "bootstrap"):
        counts = np.zeros(n, int)
        for a in range(len(grid.arms)):
            members = np.flatnonzero(grid.arm == a)
            np.add.at(counts, rng.choice(members, size=len(members), replace=True), 1)
        try:
            fit = refit_arrays(full, _resampled(full.M, counts), reml)
        except (NotConverged, np.linalg.LinAlgError) as exc:
            failures += 1
            if failures > limit:
                raise AnalysisError(f"the imputation model could not be fitted to {failures} "
                                    f"bootstrap samples (rbmi allows 1% of n_samples): {exc}; "
                                    "choose a simpler covariance") from None
            continue
        params.append(_params(fit))
        weights.append(counts if kind == "bootstrap" else np.ones(n))
        if progress:
            progress(len(params), n_samples)
    return _stack(params, weights, kind, n_samples + 1)


def draw_samples(grid, method, structure, reml, same_cov, n_samples, seed,
                 progress=None) -> Samples:
    if method == "jackknife":
        return jackknife(grid, structure, reml, same_cov, progress)
    return bootstrap(grid, structure, reml, same_cov, n_samples, seed, method, progress)
