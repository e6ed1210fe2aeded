"""Data checks, starting values and the optimiser of the MMRM."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.ddf import METHODS, MmrmTests
from hipstats.stats.mmrm.likelihood import build_moments, evaluate
from hipstats.stats.mmrm.result import MmrmResult, covariance_frames, fixed_table
from hipstats.stats.mmrm.structures import FALLBACK_ORDER, covariance, n_theta, start_theta

__all__ = ["fit_mmrm", "fit_tests", "prepare", "Prepared", "fit_arrays", "refit_arrays",
           "ArrayFit", "NotConverged"]


class NotConverged(AnalysisError):
    """The optimiser found no interior optimum for this structure."""


@dataclass
class Prepared:
    d: pd.DataFrame            # analysed rows, sorted by subject then visit
    X: np.ndarray
    y: np.ndarray
    design_info: object
    subj: np.ndarray           # subject codes 0..N-1
    visit: np.ndarray          # visit codes 0..m-1
    group: np.ndarray          # covariance-group codes per row
    visits: list
    groups: list | None
    exclusions: pd.DataFrame


def _check_columns(data, subject, time, group_cov):
    for c in [subject, time] + ([group_cov] if group_cov else []):
        if c not in data.columns:
            raise AnalysisError(f"column {c!r} is not in the data (columns: "
                                + ", ".join(map(str, data.columns)) + ")")


def _visit_levels(data, time, visits):
    present = data[time].dropna()
    if visits is not None:
        grid = list(visits)
        bad = sorted(set(present.unique()) - set(grid), key=str)
        if bad:
            rows = data.index[data[time].isin(bad)][:5].tolist()
            raise AnalysisError(f"visit(s) {bad} in column {time!r} (rows {rows}) are not on "
                                f"the design's grid {grid}")
        return [v for v in grid if v in set(present.unique())]
    if isinstance(data[time].dtype, pd.CategoricalDtype):
        return [v for v in data[time].cat.categories if v in set(present.unique())]
    return sorted(present.unique())


def _check_duplicates(data, subject, time):
    dup = data.duplicated([subject, time], keep=False) & data[time].notna()
    if dup.any():
        first = data.loc[dup, [subject, time]].head(3)
        pairs = ", ".join(f"{s!r} at {time} {v!r}" for s, v in first.itertuples(index=False))
        raise AnalysisError(f"two or more rows for one subject and visit ({pairs}; rows "
                            f"{data.index[dup][:6].tolist()}): keep one row per visit")


def prepare(data, formula, subject, time, group_cov, visits) -> Prepared:
    from hipstats.stats.lmm.engine import model_frame

    _check_columns(data, subject, time, group_cov)
    _check_duplicates(data, subject, time)
    levels = _visit_levels(data, time, visits)
    extra = [time] + ([group_cov] if group_cov else [])
    miss = data[extra].isna().any(axis=1)
    pre = data.loc[~miss]
    if pre.empty:
        raise AnalysisError(f"no rows with a visit in {time!r}")
    y, X, _, d, excl = model_frame(pre, formula, subject, [])
    if miss.any():
        extra_excl = pd.DataFrame({"row": data.index[miss], subject: data.loc[miss, subject],
                                   "reason": "missing " + time if not group_cov else
                                   "missing visit or covariance group"})
        excl = pd.concat([extra_excl, excl], ignore_index=True).sort_values("row")
    code = {v: i for i, v in enumerate(levels)}
    vcode = d[time].map(code).to_numpy(int)
    scode, _ = pd.factorize(d[subject], sort=True)
    order = np.lexsort((vcode, scode))
    groups = None
    gcode = np.zeros(len(d), int)
    if group_cov:
        gcode, groups = _group_codes(d, subject, group_cov)
    yv = np.asarray(y, float)[order, 0]
    if np.nanstd(yv) == 0:
        raise AnalysisError(f"the outcome {formula.split('~')[0].strip()!r} is constant over "
                            "the analysed rows: there is nothing to model")
    return Prepared(d.iloc[order], np.asarray(X, float)[order], yv, X.design_info,
                    scode[order], vcode[order], gcode[order], levels, groups,
                    excl.reset_index(drop=True))


def _group_codes(d, subject, group_cov):
    per = d.groupby(subject, sort=False)[group_cov].nunique()
    if (per > 1).any():
        raise AnalysisError(f"{group_cov!r} changes within subject(s) "
                            f"{per.index[per > 1][:3].tolist()}: a covariance group must be "
                            "subject-level")
    col = d[group_cov]
    levels = (list(col.cat.categories) if isinstance(col.dtype, pd.CategoricalDtype)
              else sorted(col.unique(), key=str))
    levels = [g for g in levels if g in set(col.unique())]
    return col.map({g: i for i, g in enumerate(levels)}).to_numpy(int), levels


# ------------------------------------------------------------------ start and optimise
def _moment_covariance(r: np.ndarray, visit: np.ndarray, subj: np.ndarray, m: int):
    """Pairwise-complete covariance of OLS residuals across visits, made positive definite."""
    n_s = int(subj.max()) + 1
    R = np.full((n_s, m), np.nan)
    R[subj, visit] = r
    S = pd.DataFrame(R).cov(min_periods=2).to_numpy()
    var = np.nanmean(r * r)
    S = np.where(np.isnan(S), 0.0, S)
    diag = np.diag(S).copy()
    diag[~(diag > 0)] = var
    np.fill_diagonal(S, diag)
    w, U = np.linalg.eigh(S)
    w = np.maximum(w, 1e-3 * max(w.max(), 1e-12))
    return (U * w) @ U.T


def centre_arrays(X: np.ndarray, y: np.ndarray, names: list):
    """Columns and outcome centred when the model has an intercept: ``((T, shift), Xc,
    yc)`` with beta = T beta_c + shift. Sums of squares of an outcome near 1e4 with an SD
    of 0.01 keep their digits (the likelihood and its derivatives are the same functions of
    theta; det T = 1 leaves the REML term unchanged)."""
    q = X.shape[1]
    T, shift = np.eye(q), np.zeros(q)
    if "Intercept" not in names or not np.all(X[:, names.index("Intercept")] == 1):
        return (T, shift), X, y
    i = names.index("Intercept")
    mx = X.mean(axis=0)
    mx[i] = 0.0
    my = float(y.mean())
    T[i] -= mx
    shift[i] = my
    return (T, shift), X - mx, y - my


def _start(M, X: np.ndarray, y: np.ndarray, p: Prepared) -> np.ndarray:
    beta = np.linalg.solve(X.T @ X, X.T @ y)
    r = y - X @ beta
    out = []
    for g in range(M.n_groups):
        sel = p.group == g
        S0 = _moment_covariance(r[sel], p.visit[sel], p.subj[sel], M.m)
        out.append(start_theta(M.structure, S0))
    return np.concatenate(out)


def _optimise(M, theta0: np.ndarray, reml: bool):
    cache = {}

    def ev(x):
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            cache[key] = evaluate(M, x, reml, order=2)
        return cache[key]

    def f(x):
        e = ev(x)
        return np.inf if e is None else e.f

    def g(x):
        e = ev(x)
        return np.zeros_like(x) if e is None else e.grad

    def h(x):
        e = ev(x)
        return np.eye(len(x)) if e is None else e.hess

    res = optimize.minimize(f, theta0, jac=g, hess=h, method="trust-exact",
                            options={"gtol": 1e-9, "maxiter": 500})
    theta, e = _polish(M, res.x, reml)
    return theta, e, int(res.nit)


def _polish(M, theta: np.ndarray, reml: bool, steps: int = 20):
    """Newton steps with the exact Hessian until the step no longer lowers the objective:
    (theta, its evaluation with derivatives; None where the covariance is not positive
    definite)."""
    e = evaluate(M, theta, reml, order=2)
    for _ in range(steps):
        if e is None or not np.all(np.isfinite(e.hess)):
            break
        try:
            step = np.linalg.solve(e.hess, e.grad)
        except np.linalg.LinAlgError:
            break
        if np.max(np.abs(step)) < 1e-12:
            break
        t_new = theta - step
        e_new = evaluate(M, t_new, reml, order=2)
        if e_new is None or e_new.f > e.f + 1e-12 * max(1.0, abs(e.f)):
            break
        theta, e = t_new, e_new
    return theta, e


def _converged(e) -> tuple[bool, str]:
    if e is None:
        return False, "the covariance is not positive definite at the optimum"
    w = np.linalg.eigvalsh(e.hess)
    if not np.all(np.isfinite(w)) or w.min() <= 1e-10 * max(1.0, abs(w).max()):
        return False, "the Hessian is singular (a variance or correlation at its boundary)"
    dec = float(e.grad @ np.linalg.solve(e.hess, e.grad))
    if not dec < 1e-8:
        return False, f"the gradient did not vanish (Newton decrement {dec:.2g})"
    return True, ""


def _df_method(df_method) -> str:
    method = str(df_method).lower().replace("_", "-")
    if method in ("kr", "kenwardroger"):
        method = "kenward-roger"
    if method not in METHODS:
        raise AnalysisError(f"df_method must be one of {', '.join(METHODS)}")
    return method


def _fit(p: Prepared, structure: str, reml: bool, names: list | None = None):
    """Moments, start, optimum and its convergence check: (M, evaluation, theta,
    iterations, centring basis); NotConverged when there is no interior optimum."""
    m = len(p.visits)
    n_groups = 1 if p.groups is None else len(p.groups)
    basis, Xc, yc = centre_arrays(p.X, p.y, names or list(p.design_info.column_names))
    M = build_moments(Xc, yc, p.subj, p.visit, p.group, structure, m, n_groups)
    _check_size(M, p, structure, m, n_groups)
    theta, e, nit = _optimise(M, _start(M, Xc, yc, p), reml)
    _check_converged(e, structure)
    return M, e, theta, nit, basis


def _check_converged(e, structure: str) -> None:
    ok, why = _converged(e)
    if not ok:
        nxt = _next_structure(structure)
        raise NotConverged(f"the {structure} covariance did not converge: {why}"
                           + (f"; try the simpler {nxt!r}" if nxt else ""))


def fit_mmrm(data, formula, subject, time, structure, reml, df_method, group_cov, visits,
             alpha, last: bool = True) -> MmrmResult:
    method = _df_method(df_method)
    p = prepare(data, formula, subject, time, group_cov, visits)
    M, e, theta, nit, basis = _fit(p, structure, reml)
    return _result(M, p, e, theta, reml, method, formula, structure, alpha, nit, basis)


@dataclass
class ArrayFit:
    """An MMRM fitted from arrays (:func:`fit_arrays`): its moments, optimum and basis."""

    M: object                  # likelihood.Moments of the centred data
    theta: np.ndarray
    evaluation: object         # likelihood.Evaluation at theta (order 2)
    basis: tuple               # (T, shift): beta = T beta_c + shift

    @property
    def beta(self) -> np.ndarray:
        T, shift = self.basis
        return T @ self.evaluation.beta + shift

    @property
    def sigma(self) -> list:
        """The covariance across all visits, one matrix per covariance group."""
        return self.evaluation.Sigma


def fit_arrays(X, y, subj, visit, group, names, structure, m, n_groups, reml) -> ArrayFit:
    """Fit the MMRM to rows sorted by subject then visit (codes from 0), as
    :func:`fit_mmrm` does after its data checks. Raises :class:`NotConverged`."""
    p = Prepared(None, X, y, None, subj, visit, group, list(range(m)),
                 None if n_groups == 1 else list(range(n_groups)), None)
    M, e, theta, _, basis = _fit(p, structure, reml, names)
    return ArrayFit(M, theta, e, basis)


def refit_arrays(fit: ArrayFit, M, reml: bool) -> ArrayFit:
    """The optimum of moments ``M`` (the same model on a subset or resample of its
    subjects), from ``fit``'s optimum; a full optimisation when that does not converge.

    Leaving one subject out (or resampling) moves the optimum by O(1/n) and changes the
    Hessian by O(1/n), so steps with ``fit``'s own exact Hessian and the new gradient
    converge linearly at a rate of O(1/n) (steps of 1e-2, 2e-4, 4e-6, ... on a 200-subject
    unstructured fit): each iteration costs one gradient, about half an evaluation with the
    exact Hessian. The iteration stops when the error left, estimated from the ratio of
    successive steps, is below 1e-9; beta and the covariance are evaluated there."""
    H = fit.evaluation.hess
    try:
        Hc = linalg.cho_factor(H)
    except linalg.LinAlgError:
        Hc = None
    theta, prev = fit.theta, None
    for _ in range(12 if Hc is not None else 0):
        e = evaluate(M, theta, reml, order=1)
        if e is None or not np.all(np.isfinite(e.grad)):
            break
        step = linalg.cho_solve(Hc, e.grad)
        size = float(np.max(np.abs(step)))
        theta = theta - step
        rate = size / prev if prev else 1.0
        if rate >= 0.5:
            if prev is not None:
                break                       # not contracting: optimise properly
        elif size * rate / (1 - rate) < 1e-9 or size < 1e-12:
            e_end = evaluate(M, theta, reml, order=0)
            if e_end is None:
                break
            e_end.Sigma = [covariance(M.structure, theta[g * M.k:(g + 1) * M.k], M.m,
                                      0)[0] for g in range(M.n_groups)]
            e_end.grad, e_end.hess = e.grad, H
            return ArrayFit(M, theta, e_end, fit.basis)
        prev = size
    theta, e = _polish(M, fit.theta, reml)
    if not _converged(e)[0]:
        try:
            theta, e, _ = _optimise(M, fit.theta, reml)
        except (ValueError, np.linalg.LinAlgError) as exc:   # a non-finite Hessian on the way
            raise NotConverged(f"the {M.structure} covariance did not converge ({exc})") from None
    return _kept(ArrayFit(M, theta, e, fit.basis), M.structure)


def _kept(fit: ArrayFit, structure: str) -> ArrayFit:
    _check_converged(fit.evaluation, structure)
    return fit


def fit_tests(p: Prepared, structure: str, df_method: str, reml: bool = True) -> MmrmTests:
    """The estimates and tests of the MMRM fitted to prepared rows (:func:`prepare`'s
    :class:`Prepared`, or one built from arrays): the same numbers as :func:`fit_mmrm` on
    the frame those rows came from, without the frame, the formula and the result tables:
    for the many small fits of a simulation (:mod:`hipstats.power.trial_sim`)."""
    M, e, _, _, basis = _fit(p, structure, reml)
    return MmrmTests(M, e, reml, _df_method(df_method), basis)


def _next_structure(structure):
    order = list(FALLBACK_ORDER)
    if structure in order and order.index(structure) < len(order) - 1:
        return order[order.index(structure) + 1]
    return "cs" if structure != "cs" else None


def _check_size(M, p, structure, m, n_groups):
    k = n_theta(structure, m) * n_groups
    xtx = p.X.T @ p.X
    scale = np.sqrt(np.clip(np.diag(xtx), 1e-300, None))
    rank = np.linalg.matrix_rank(xtx / np.outer(scale, scale), hermitian=True)
    if rank < p.X.shape[1]:
        raise AnalysisError("the fixed effects are not estimable (the design matrix has rank "
                            f"{rank} < {p.X.shape[1]} columns): drop a redundant term")
    if k >= M.nobs - M.q:
        raise NotConverged(f"the {structure} covariance has {k} parameters but the data carry "
                            f"only {M.nobs - M.q} residual degrees of freedom: choose a "
                            f"simpler structure (e.g. {_next_structure(structure)!r})")


def _result(M, p, e, theta, reml, method, formula, structure, alpha, nit,
            basis) -> MmrmResult:
    tests = MmrmTests(M, e, reml, method, basis)
    names = list(p.design_info.column_names)
    k = len(theta)
    loglik = -e.f
    n_subj = int(p.subj.max()) + 1
    fit = MmrmResult(
        _fixed_table=lambda: fixed_table(names, *tests.estimates(np.eye(M.q)), alpha),
        covariance=covariance_frames(e.Sigma, p.visits, p.groups),
        loglik=loglik, aic=-2 * loglik + 2 * k, bic=-2 * loglik + math.log(n_subj) * k,
        converged=True, nobs=M.nobs, n_subjects=n_subj, theta=theta, reml=reml,
        df_method=method, formula=formula, cov_structure=structure, cov_tried=[],
        vcov=pd.DataFrame(tests.vcov, index=names, columns=names),
        exclusions=p.exclusions, visits=p.visits, groups=p.groups, _alpha=alpha,
        _design_info=p.design_info, _tests=tests,
        _state={"X": p.X, "frame": p.d, "beta": tests.beta},
        optimizer_info={"iterations": nit, "gradient": float(np.max(np.abs(e.grad)))})
    return fit
