"""The fitted-model object returned by :func:`hipstats.mixed_model`: tables, ``summary()``,
notebook display and ``predict``."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hipstats.errors import AnalysisError

__all__ = ["MixedModelResult"]


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "NA"
    return "<.001" if p < 0.001 else f"{p:.3f}"


@dataclass(repr=False)
class MixedModelResult:
    """A fitted linear mixed model (see :func:`hipstats.mixed_model`).

    Tables (full precision): ``fixed`` (index term; estimate, se, df, t, pval, ci_low,
    ci_high), ``random`` (group, var1, var2, vcov, sdcor as R's ``as.data.frame(VarCorr())``),
    ``vcov``, ``blups``, ``exclusions``. Scalars: ``loglik``, ``aic``, ``bic``,
    ``deviance``, ``sigma``, ``nobs``, ``ngroups``, ``converged``, ``singular``.
    """

    formula: str
    subject: str
    random_terms: list
    reml: bool
    df_method: str
    fixed: pd.DataFrame
    random: pd.DataFrame
    loglik: float
    aic: float
    bic: float
    deviance: float
    converged: bool
    singular: bool
    theta: np.ndarray
    sigma: float
    vcov: pd.DataFrame
    nobs: int
    ngroups: int
    optimizer_info: dict
    exclusions: pd.DataFrame
    blups: pd.DataFrame
    correlated: bool = True
    nested: str | None = None
    npar: int = 0
    _design_info: object = field(default=None)
    _alpha: float = 0.05
    _state: dict = field(default_factory=dict)

    def tests(self):
        """The inference back end of this model kind (:class:`~hipstats.stats.lmm.
        inference.LmmTests`): what ``anova``, ``emmeans`` and ``contrast`` call."""
        from hipstats.stats.lmm.inference import LmmTests

        return LmmTests(self)

    @property
    def random_formula(self) -> str:
        """The random part in lme4's notation."""
        inner = "1" + "".join(" + " + r for r in self.random_terms)
        bar = "|" if self.correlated or not self.random_terms else "||"
        out = f"({inner} {bar} {self.subject})"
        if self.nested:
            out += f" + (1 | {self.subject}:{self.nested})"
        return out

    def predict(self, newdata: pd.DataFrame | None = None,
                include_random: bool = True) -> np.ndarray:
        """Fitted values for ``newdata`` (population level when ``include_random=False``;
        subjects not in the fit get their population-level prediction; nested-unit effects
        are not added)."""
        import patsy

        if newdata is None:
            raise AnalysisError("pass newdata (the data used for fitting is not stored)")
        X = np.asarray(patsy.build_design_matrices([self._design_info], newdata,
                                                   NA_action="raise")[0])
        pred = X @ self.fixed["estimate"].to_numpy()
        if include_random:
            Z = np.column_stack([np.ones(len(newdata))]
                                + [newdata[c].to_numpy(float) for c in self.random_terms])
            b = self.blups.reindex(newdata[self.subject].astype(str).to_numpy()).to_numpy()
            pred = pred + (Z * np.nan_to_num(b)).sum(axis=1)
        return pred

    def anova(self, type: int | str = 3, ddf: str | None = None) -> pd.DataFrame:
        """F-test per term as lmerTest's ``anova(m, type = 3)``; see
        :func:`hipstats.stats.lmm.inference.anova`."""
        from hipstats.stats.lmm.inference import anova

        return anova(self, type=type, ddf=ddf)

    def emmeans(self, specs, by=None, at: dict | None = None, ddf: str | None = None,
                alpha: float | None = None) -> pd.DataFrame:
        """Estimated marginal means as R's ``emmeans(m, specs, by = by)``; see
        :func:`hipstats.stats.lmm.inference.emmeans`."""
        from hipstats.stats.lmm.inference import emmeans

        return emmeans(self, specs, by=by, at=at, ddf=ddf, alpha=alpha)

    def contrast(self, specs, by=None, method: str = "pairwise", adjust: str | None = None,
                 at: dict | None = None, ddf: str | None = None,
                 alpha: float | None = None) -> pd.DataFrame:
        """Comparisons of estimated marginal means as emmeans' ``pairs()``/``contrast()``;
        see :func:`hipstats.stats.lmm.inference.contrast`."""
        from hipstats.stats.lmm.inference import contrast

        return contrast(self, specs, by=by, method=method, adjust=adjust, at=at, ddf=ddf,
                        alpha=alpha)

    def summary(self) -> str:
        """Plain-text summary shaped like lmerTest's ``summary()``."""
        crit = "REML criterion at convergence" if self.reml else "deviance"
        lines = [f"Linear mixed model fit by {'REML' if self.reml else 'maximum likelihood'}. "
                 f"t-tests use {self.df_method} df (hipstats)",
                 f"Formula: {self.formula} + {self.random_formula}", "",
                 f"     AIC      BIC   logLik  {crit}",
                 f"{self.aic:8.1f} {self.bic:8.1f} {self.loglik:8.1f}  {self.deviance:.1f}", "",
                 "Random effects:",
                 f" {'Groups':<16}{'Name':<20}{'Variance':>10} {'Std.Dev.':>9}  Corr"]
        for r in self.random.itertuples():
            if r.var2 is None or (isinstance(r.var2, float) and np.isnan(r.var2)):
                name = "" if r.var1 is None else str(r.var1)
                lines.append(f" {str(r.group):<16}{name:<20}{r.vcov:10.4g} {r.sdcor:9.4g}")
        for r in self.random.itertuples():
            if r.var2 is not None and not (isinstance(r.var2, float) and np.isnan(r.var2)):
                lines.append(f"   corr({r.var1}, {r.var2}) = {r.sdcor:.3f}")
        lines += [f"Number of obs: {self.nobs}, groups: {self.subject}, {self.ngroups}"
                  + (f"; {len(self.exclusions)} rows excluded for missing values"
                     if len(self.exclusions) else ""), "", "Fixed effects:",
                  f" {'':<24}{'Estimate':>10} {'Std.Error':>10} {'df':>8} {'t value':>8} "
                  f"{'Pr(>|t|)':>9}"]
        for term, r in self.fixed.iterrows():
            lines.append(f" {str(term):<24}{r.estimate:10.4g} {r.se:10.4g} {r.df:8.1f} "
                         f"{r.t:8.3f} {_fmt_p(r.pval):>9}")
        if self.singular:
            lines.append("boundary (singular) fit: a random-effect variance is 0 or a "
                         "correlation is +/-1")
        if not self.converged:
            lines.append("WARNING: convergence not confirmed (scaled gradient "
                         f"{self.optimizer_info.get('scaled_gradient_max', float('nan')):.2g})")
        return "\n".join(lines)

    __str__ = summary

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        """Fixed and random effects as HTML tables (notebook display)."""
        def table(df):
            return df.to_html(float_format=lambda v: f"{v:.4g}", border=0, na_rep="",
                              escape=True)
        fx = self.fixed.copy()
        fx["pval"] = [_fmt_p(p) for p in fx["pval"]]
        head = html.escape(f"{self.formula} + {self.random_formula}")
        fit = (f"{'REML' if self.reml else 'ML'}; {self.nobs} observations, {self.ngroups} "
               f"subjects; logLik {self.loglik:.2f}, AIC {self.aic:.1f}; "
               f"{html.escape(self.df_method)} df")
        notes = []
        if self.singular:
            notes.append("singular fit")
        if not self.converged:
            notes.append("convergence not confirmed")
        return (f"<div><p><b>Linear mixed model</b>: <code>{head}</code><br>{fit}"
                + (f"<br><b>{'; '.join(notes)}</b>" if notes else "") + "</p>"
                + "<p>Fixed effects</p>" + table(fx) + "<p>Random effects</p>"
                + table(self.random) + "</div>")
