""":class:`RbmiImputation`: the imputed samples, their analysis and the tipping point."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize

from hipstats.errors import AnalysisError
from hipstats.stats.rbmi.analyse import WEIGHTS, fit_visit, visit_design, visit_estimates
from hipstats.stats.rbmi.impute import conditional_impute, strategy_means
from hipstats.stats.rbmi.pool import pool_bootstrap, pool_jackknife, pool_rubin

__all__ = ["RbmiImputation"]

_CHUNK = 2_000_000     # outcome values held at once (samples x participants x visits)


@dataclass
class RbmiImputation:
    """Imputed data sets of a trial, ready to analyse (made by :func:`hipstats.rbmi`).

    Attributes
    ----------
    method : str
        ``"jackknife"``, ``"bootstrap"`` or ``"approxbayes"``.
    arms, visits : list
        Arm levels (the analysis reference first) and post-baseline visits.
    strategies : DataFrame
        One row per participant: arm, strategy, the first visit it applies to, values
        observed and missing.
    n_fits : int
        Imputation-model fits made.
    notes : list of str
        How the data were read (rows added to complete the grid, ...).
    """

    grid: object
    samples: object
    method: str
    same_cov: bool
    seed: int | None
    alpha: float = 0.05
    notes: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)   # cov, reml, n_samples: for refits
    _curves: dict = field(default_factory=dict, repr=False)   # tipping curves made so far

    def update(self, ice) -> "RbmiImputation":
        """The same imputation with other intercurrent events or strategies (rbmi's
        ``impute(update_strategy = )``): the fitted samples are reused when the values the
        model is fitted to do not change (e.g. MAR -> JR for monotone dropout), else the
        model is refitted."""
        from hipstats.stats.rbmi.draws import draw_samples
        from hipstats.stats.rbmi.grid import resolve_ice

        g = self.grid
        strategy, first = resolve_ice(ice, g.subjects, g.visits, g.Y, g.subject, g.time)
        new = replace(g, strategy=strategy, ice=first)
        samples = self.samples
        if not np.array_equal(new.fitted, g.fitted):
            st = self.settings
            samples = draw_samples(new, self.method, st["cov"], st["reml"], self.same_cov,
                                   st["n_samples"], self.seed)
        return replace(self, grid=new, samples=samples, _curves={})

    @property
    def arms(self) -> list:
        return list(self.grid.arms)

    @property
    def visits(self) -> list:
        return list(self.grid.visits)

    @property
    def n_fits(self) -> int:
        return self.samples.n_fits

    @property
    def strategies(self) -> pd.DataFrame:
        g = self.grid
        m = len(g.visits)
        return pd.DataFrame({
            g.subject: g.subjects, g.group: np.asarray(g.arms, object)[g.arm],
            "strategy": g.strategy,
            "from_visit": [g.visits[e] if e < m else None for e in g.ice],
            "n_observed": (~g.missing).sum(axis=1), "n_missing": g.missing.sum(axis=1)})

    # ------------------------------------------------------------------ imputations
    def _chunks(self):
        S = self.samples.beta.shape[0]
        n, m = self.grid.Y.shape
        size = max(1, _CHUNK // max(1, n * m))
        for a in range(0, S, size):
            yield a, min(S, a + size)

    def _impute(self, a: int, b: int) -> np.ndarray:
        g, s = self.grid, self.samples
        mu_own = np.einsum("nmq,sq->snm", g.X_own, s.beta[a:b])
        mu_ref = np.einsum("nmq,sq->snm", g.X_ref, s.beta[a:b])
        mu = strategy_means(mu_own, mu_ref, g.strategy, g.ice)
        rng_for = None
        if self.method == "approxbayes":
            def rng_for(i):
                return np.random.default_rng(np.random.SeedSequence([self.seed, 7, a + i]))
        return conditional_impute(g, mu, [x[a:b] for x in s.sigma], self.same_cov, rng_for)

    def datasets(self) -> list:
        """The imputed data sets as long frames (subject, time, arm, outcome, ``imputed``):
        one for conditional-mean imputation (the full-data fit), one per sample for
        approximate Bayes."""
        g = self.grid
        b = 1 if self.method != "approxbayes" else self.samples.beta.shape[0]
        Yc = self._impute(0, b)
        out = []
        for Y in Yc:
            d = g.frame.copy()
            d[g.outcome] = Y.ravel()
            d["imputed"] = g.missing.ravel()
            out.append(d)
        return out

    # ------------------------------------------------------------------ analysis
    def _delta_matrix(self, delta) -> np.ndarray:
        g = self.grid
        D = np.zeros(g.Y.shape)
        if delta is None:
            return D
        cols = [g.subject, g.time, "delta"]
        for c in cols:
            if c not in delta.columns:
                raise AnalysisError(f"delta: column {c!r} is missing (needs {cols})")
        si = {s: i for i, s in enumerate(g.subjects)}
        vi = {v: j for j, v in enumerate(g.visits)}
        for row, s, v, d in delta[cols].itertuples():
            if s not in si or v not in vi:
                what = f"participant {s!r}" if s not in si else f"visit {v!r}"
                raise AnalysisError(f"delta row {row}: {what} is not in the imputed data")
            D[si[s], vi[v]] += float(d)
        return D

    def _designs(self, covariates, weights, visits):
        g = self.grid
        if weights not in WEIGHTS:
            raise AnalysisError(f"weights must be one of {', '.join(WEIGHTS)}")
        for c in covariates:
            if c in (g.group, g.time, g.subject):
                raise AnalysisError(f"covariate {c!r} is the arm, visit or subject column")
        m = len(g.visits)
        out = {}
        for j, v in enumerate(g.visits):
            if visits is not None and v not in visits:
                continue
            rows = g.frame.iloc[j::m]
            out[j] = visit_design(rows, g.arm, len(g.arms), list(covariates), weights)
        return out

    def _per_sample(self, designs, D, need_se):
        """{(visit index, parameter, arm): (est, se, df) arrays over all samples}."""
        parts: dict = {}
        W = self.samples.weights
        for a, b in self._chunks():
            Yc = self._impute(a, b) + D[None]
            for j, vd in designs.items():
                f = fit_visit(vd, Yc[:, :, j], W[a:b])
                for key, val in visit_estimates(f, vd.K, need_se).items():
                    parts.setdefault((j,) + key, []).append(val)
        return {k: tuple(None if v[0][i] is None else np.concatenate([x[i] for x in v])
                         for i in range(3)) for k, v in parts.items()}

    def _pool(self, est, se, df, alpha) -> dict:
        if self.method == "jackknife":
            return pool_jackknife(est, alpha)
        if self.method == "bootstrap":
            return pool_bootstrap(est, alpha)
        return pool_rubin(est, se, df, alpha)

    def analyse(self, covariates=None, delta=None, weights: str = "counterfactual",
                visits=None, alpha: float | None = None) -> pd.DataFrame:
        """Per-visit ANCOVA on every imputed data set, pooled (rbmi's ``analyse`` with
        ``ancova``, then ``pool``).

        Parameters
        ----------
        covariates : list of str, optional
            ANCOVA covariates (patsy terms), e.g. ``["y_bl"]``.
        delta : DataFrame, optional
            Columns subject, time and ``delta``: added to those outcome values of every
            imputed data set before the analysis (rbmi's ``analyse(delta = )``).
        weights : {"counterfactual", "equal", "proportional_em", "proportional"}
            Least-squares-mean weights, as rbmi's ``ancova``.
        visits : list, optional
            Visits to analyse (default: all).
        alpha : float, optional
            1 - confidence level (default: the imputation's).

        Returns
        -------
        DataFrame
            One row per visit, arm (each non-reference arm) and parameter (``trt``: arm
            minus reference; ``lsm_ref``, ``lsm_alt``: least-squares means of the reference
            and the arm): ``est, se, lci, uci, pval`` (and ``df`` for Rubin's rules).
        """
        alpha = self.alpha if alpha is None else alpha
        g = self.grid
        designs = self._designs(covariates or [], weights, visits)
        per = self._per_sample(designs, self._delta_matrix(delta),
                               self.method == "approxbayes")
        rows = []
        for (j, name, k), (est, se, df) in per.items():
            rows.append({"parameter": name, "arm": g.arms[k], g.time: g.visits[j],
                         **self._pool(est, se, df, alpha)})
        out = pd.DataFrame(rows)
        order = {"trt": 0, "lsm_ref": 1, "lsm_alt": 2}
        out["_v"] = out[g.time].map({v: i for i, v in enumerate(g.visits)})
        out["_a"] = out["arm"].map({a: i for i, a in enumerate(g.arms)})
        out["_p"] = out["parameter"].map(order)
        return (out.sort_values(["_v", "_a", "_p"]).drop(columns=["_v", "_a", "_p"])
                .reset_index(drop=True))

    # ------------------------------------------------------------------ tipping point
    def _target(self, arm, visit):
        g = self.grid
        if len(g.arms) == 1:
            if arm not in (None, g.arms[0]):
                raise AnalysisError(f"arm {arm!r}: this trial has one arm, {g.arms[0]!r}")
            k = 0
        elif arm not in g.arms[1:]:
            raise AnalysisError(f"arm {arm!r} is not a non-reference arm ({g.arms[1:]})")
        else:
            k = g.arms.index(arm)
        visit = g.visits[-1] if visit is None else visit
        if visit not in g.visits:
            raise AnalysisError(f"visit {visit!r} is not one of {g.visits}")
        return k, g.visits.index(visit), visit

    def delta_curve(self, arm=None, deltas=(0.0,), covariates=None, visit=None,
                    weights: str = "counterfactual", alpha: float | None = None) -> pd.DataFrame:
        """The pooled treatment effect (one arm: the mean) at ``visit`` when ``delta`` is added
        to every imputed value of ``arm``: one row per delta with ``est, se, lci, uci,
        pval``."""
        k, j, visit = self._target(arm, visit)
        curve = self._tipping_curve(covariates or [], weights, j, k,
                                    self.alpha if alpha is None else alpha)
        return pd.DataFrame([{"delta": float(d), **curve(float(d))} for d in deltas])

    def tipping_point(self, arm=None, covariates=None, visit=None, alpha: float = 0.05,
                      weights: str = "counterfactual") -> dict:
        """The delta added to every imputed value of ``arm`` at which the treatment
        effect's p-value at ``visit`` (default: the last) equals ``alpha`` (one arm: the
        p-value of its mean, e.g. of a change from baseline).

        The estimate (and for Rubin's rules each data set's residual variance) is an exact
        linear (quadratic) function of delta, so the tipping point is solved from one
        analysis, not a grid of re-imputations: the root nearest zero between zero and the
        delta at which the estimate itself reaches zero.

        Returns
        -------
        dict
            ``delta`` (NaN when the effect is not significant at delta = 0), ``est``,
            ``se``, ``pval`` there, ``visit``, ``arm`` and ``delta_null`` (where the
            estimate is 0).
        """
        k, j, visit = self._target(arm, visit)
        curve = self._tipping_curve(covariates or [], weights, j, k, alpha)
        c0 = curve(0.0)
        slope = curve(1.0)["est"] - c0["est"]
        d_null = -c0["est"] / slope if slope != 0 else np.nan
        res = {"arm": self.grid.arms[k], "visit": visit, "delta_null": d_null, "alpha": alpha}
        if not (c0["pval"] < alpha) or not np.isfinite(d_null):
            return {**res, "delta": np.nan, "est": c0["est"], "se": c0["se"],
                    "pval": c0["pval"]}
        grid = np.linspace(0.0, d_null, 401)
        i = int(np.argmax([curve(d)["pval"] >= alpha for d in grid]))
        root = optimize.brentq(lambda d: curve(d)["pval"] - alpha, grid[i - 1], grid[i],
                               xtol=1e-14, rtol=1e-13)
        c = curve(root)
        return {**res, "delta": root, "est": c["est"], "se": c["se"], "pval": c["pval"]}

    def _tipping_curve(self, covariates, weights, j, k, alpha):
        """delta -> pooled result, from per-sample quantities linear in delta (made once per
        arm, visit and analysis: the page asks for the tipping point and then its curve)."""
        key = (tuple(covariates), weights, j, k, alpha)
        if key not in self._curves:
            self._curves[key] = self._make_curve(covariates, weights, j, k, alpha)
        return self._curves[key]

    def _make_curve(self, covariates, weights, j, k, alpha):
        g = self.grid
        vd = self._designs(covariates, weights, [g.visits[j]])[j]
        mask = (g.missing[:, j] & (g.arm == k)).astype(float)
        W = self.samples.weights
        parts = []
        col = k if len(g.arms) > 1 else None
        for a, b in self._chunks():
            Yc = self._impute(a, b)[:, :, j]
            f = fit_visit(vd, Yc, W[a:b])
            L = f.lsm_design[:, 0] if col is None else np.eye(vd.Z.shape[1])[col][None]
            L = np.broadcast_to(L, f.beta.shape)
            gslope = np.einsum("sab,sb->sa", f.inv, (W[a:b] * mask) @ vd.Z)
            r0 = Yc - f.beta @ vd.Z.T
            u = mask[None] - gslope @ vd.Z.T
            parts.append((np.einsum("sa,sa->s", L, f.beta), np.einsum("sa,sa->s", L, gslope),
                          f.rss, 2 * np.sum(W[a:b] * r0 * u, 1), np.sum(W[a:b] * u * u, 1),
                          np.einsum("sa,sab,sb->s", L, f.inv, L), f.dfres))
        return _Curve(lambda *x: self._pool(*x, alpha), *(np.concatenate(x) for x in zip(*parts)))


class _Curve:
    """The pooled treatment effect at a delta: each sample's estimate is e0 + d g1 and its
    residual sum of squares r0 + d r1 + d^2 r2 (exact: the imputed values of the arm move
    by d, the least-squares fit is linear in the outcome)."""

    def __init__(self, pool, e0, g1, r0, r1, r2, ikk, dfres):
        self.pool, self.e0, self.g1 = pool, e0, g1
        self.rss = (r0, r1, r2)
        self.ikk, self.dfres = ikk, dfres
        self.cache: dict = {}

    def __call__(self, d: float) -> dict:
        if d not in self.cache:
            r0, r1, r2 = self.rss
            est = self.e0 + d * self.g1
            se = np.sqrt(np.maximum(r0 + d * r1 + d * d * r2, 0.0) / self.dfres * self.ikk)
            self.cache[d] = self.pool(est, se, self.dfres)
        return self.cache[d]
