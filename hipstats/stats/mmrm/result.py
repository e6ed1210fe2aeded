"""The fitted MMRM: tables, F-tests, estimated marginal means and contrasts.

``anova``, ``emmeans`` and ``contrast`` are the same functions that serve
:class:`~hipstats.stats.lmm.result.MixedModelResult` (:mod:`hipstats.stats.lmm.inference`):
one L-matrix path, the df of each contrast from the fit's own method (``_tests``).
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

__all__ = ["MmrmResult"]


class MmrmResult:
    """Result of :func:`hipstats.mmrm`.

    Attributes
    ----------
    fixed : DataFrame
        Index ``term`` (patsy names, patsy order); ``estimate, se, df, t, pval, ci_low,
        ci_high``.
    covariance : DataFrame or dict
        The visits x visits covariance (a dict group -> DataFrame with ``group_cov``).
    cov_structure : str
        The structure fitted (``"us"``, ``"toeph"``, ...); ``cov_tried`` lists structures
        tried before it, with the reason each was not kept.
    loglik, aic, bic : float
        Log-likelihood (REML criterion for REML fits), AIC and BIC counting the covariance
        parameters only, BIC with log(number of subjects), as mmrm.
    converged : bool
    nobs, n_subjects : int
    theta : ndarray
        Covariance parameters in mmrm's parameterisation (``structures``).
    vcov : DataFrame
        Covariance of the coefficients used by the tests (KR-adjusted, empirical, or
        model-based, by ``df_method``).
    exclusions : DataFrame
        Rows not analysed (``row``, subject, ``reason``).
    """

    def tests(self):
        """The inference back end of this model kind: mmrm's df and covariance, fixed by the
        fit (:class:`~hipstats.stats.lmm.inference.MmrmBackend`)."""
        from hipstats.stats.lmm.inference import MmrmBackend

        return MmrmBackend(self._tests, self.type3_contrasts)

    def __init__(self, **kw):
        self.__dict__.update(kw)

    @property
    def fixed(self) -> pd.DataFrame:
        """The fixed-effects table, computed on first use (a df per coefficient costs a
        Kenward-Roger computation each; simulations that read one contrast skip it)."""
        if "_fixed" not in self.__dict__:
            self._fixed = self._fixed_table()
        return self._fixed

    # -------------------------------------------------------------- inference
    def type3_contrasts(self) -> dict:
        """mmrm's type III contrast matrices (term -> rows over the coefficients)."""
        from hipstats.stats.mmrm.type3 import type3_contrasts

        return type3_contrasts(self._design_info, self._state["frame"], self._state["X"])

    def anova(self, type: int | str = 3) -> pd.DataFrame:
        """Type III F-tests per term (``num_df, den_df, F, pval``), as
        ``mmrm:::Anova.mmrm(fit, type = "III")``. See
        :func:`hipstats.stats.lmm.inference.anova`."""
        from hipstats.stats.lmm.inference import anova

        return anova(self, type=type)

    def emmeans(self, specs, by=None, at: dict | None = None, alpha: float | None = None):
        """Estimated marginal means over the analysed rows (numeric covariates at their
        mean over those rows). See :func:`hipstats.stats.lmm.inference.emmeans`."""
        from hipstats.stats.lmm.inference import emmeans

        return emmeans(self, specs, by=by, at=at, alpha=alpha)

    def contrast(self, specs, by=None, method: str = "pairwise", adjust: str | None = None,
                 at: dict | None = None, alpha: float | None = None):
        """Comparisons of estimated marginal means (pairwise, trt.vs.ctrl, consec). See
        :func:`hipstats.stats.lmm.inference.contrast`."""
        from hipstats.stats.lmm.inference import contrast

        return contrast(self, specs, by=by, method=method, adjust=adjust, at=at, alpha=alpha)

    # -------------------------------------------------------------- display
    def summary(self) -> str:
        head = (f"MMRM fit by {'REML' if self.reml else 'ML'}, {self.cov_structure} "
                f"covariance, {self.df_method} df\nFormula: {self.formula}\n"
                f"{self.nobs} observations, {self.n_subjects} subjects; "
                f"logLik {self.loglik:.4f}, AIC {self.aic:.4f}, BIC {self.bic:.4f}; "
                f"converged: {self.converged}\n")
        return head + "\nFixed effects:\n" + self.fixed.to_string() + "\n"

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        return ("<p>" + html.escape(self.summary().split("\n\n")[0]).replace("\n", "<br>")
                + "</p>" + self.fixed.to_html(float_format=lambda v: f"{v:.4g}"))


def covariance_frames(Sigma: list, visits: list, groups: list | None):
    """Covariance matrices as labelled DataFrames (a dict per group when grouped)."""
    frames = [pd.DataFrame(S, index=pd.Index(visits, name="visit"),
                           columns=pd.Index(visits, name="visit")) for S in Sigma]
    if groups is None:
        return frames[0]
    return dict(zip(groups, frames))


def fixed_table(names, beta, se, df, alpha: float) -> pd.DataFrame:
    from scipy import stats as sps

    t = beta / se
    q = sps.t.ppf(1 - alpha / 2, df)
    out = pd.DataFrame({"estimate": beta, "se": se, "df": df, "t": t,
                        "pval": 2 * sps.t.sf(np.abs(t), df),
                        "ci_low": beta - q * se, "ci_high": beta + q * se},
                       index=pd.Index(list(names), name="term"))
    return out
