"""Mixed models for repeated measures (MMRM), fitted as R's ``mmrm`` (openpharma).

==================  ==============================================================
module              holds
==================  ==============================================================
``structures``      the covariance structures in mmrm's parameterisation, with exact
                    first and second derivatives
``likelihood``      per-pattern data moments; REML/ML objective, exact gradient and Hessian
``ddf``             Satterthwaite, Kenward-Roger (and -Linear), residual df; KR-adjusted
                    and empirical coefficient covariances
``type3``           mmrm's type III contrasts
``primary``         ``primary_analysis``: the baseline-adjusted MMRM of a trial outcome
``fit``             data checks, starting values and the optimiser
``result``          :class:`MmrmResult`
==================  ==============================================================
"""

from __future__ import annotations

import pandas as pd

from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.fit import fit_mmrm
from hipstats.stats.mmrm.result import MmrmResult
from hipstats.stats.mmrm.structures import FALLBACK_ORDER, STRUCTURES

__all__ = ["mmrm", "mmrm_frame", "primary_analysis", "PrimaryAnalysis", "MmrmResult",
           "STRUCTURES", "FALLBACK_ORDER"]


def mmrm(data: pd.DataFrame, formula: str, subject: str, time: str, cov="us",
         reml: bool = True, df_method: str = "kenward-roger-linear", group_cov: str | None = None,
         visits=None, alpha: float = 0.05) -> MmrmResult:
    """Mixed model for repeated measures: a marginal model with a structured residual
    covariance across visits, as R's ``mmrm`` and SAS PROC MIXED's ``REPEATED`` fit it.

    Parameters
    ----------
    data : DataFrame
        Analysis frame, one row per subject and visit (see :func:`mmrm_frame`). A row
        missing the outcome or a covariate is excluded on its own (the subject's other
        visits stay) and listed in ``.exclusions``.
    formula : str
        Fixed effects, patsy style: ``"pain_vas ~ pain_vas_bl + group * C(week)"``.
    subject : str
        Subject column.
    time : str
        Visit column; its distinct values (or ``visits``) index the covariance.
    cov : str or sequence of str
        Covariance structure, mmrm's names: ``"us"`` (unstructured), ``"toep"``,
        ``"toeph"``, ``"ar1"``, ``"ar1h"``, ``"cs"``, ``"csh"``, ``"ad"``, ``"adh"``. A
        sequence is tried in order until a fit converges (``FALLBACK_ORDER``: us, toeph,
        ar1h, cs); ``.cov_structure`` names the one kept and ``.cov_tried`` why the
        others were not.
    reml : bool
        REML (default) or maximum likelihood.
    df_method : {"kenward-roger-linear", "kenward-roger", "satterthwaite", "residual"}
        Kenward-Roger df with the adjusted covariance of the coefficients: the default
        ``"kenward-roger-linear"`` (mmrm's ``vcov = "Kenward-Roger-Linear"``, SAS PROC
        MIXED's ``DDFM=KR``) or ``"kenward-roger"`` (mmrm's default KR, which keeps the
        second-derivative term of its log-scale parameterisation); Satterthwaite with the
        model-based covariance; or n - p with the empirical (CR0 sandwich) covariance, as
        mmrm pairs them. The linear variant is the default because it reproduces SAS and,
        with one post-baseline visit, the ANCOVA exactly; mmrm's KR shrinks that SE by
        sqrt((n - p - 1)/(n - p)), an artefact of differentiating on the log scale.
        Calibration (tests/test_calibration.py, two arms, three visits, dropout, 500 null
        trials per n): the Kenward-Roger t and F held 5.0-6.8% at n = 12-40; the
        Satterthwaite F of the arm x visit interaction rejected 9.4% at n = 12 and 8.6%
        at 16, so prefer Kenward-Roger for multi-df tests in small trials.
    group_cov : str, optional
        A subject-level column (usually the arm) with a separate covariance per level.
    visits : sequence, optional
        The design's visit grid: a visit outside it is an error. Default: the visits
        present, in sorted (or categorical) order.
    alpha : float
        1 - confidence level.

    Returns
    -------
    MmrmResult
        ``.fixed`` (index term; ``estimate, se, df, t, pval, ci_low, ci_high``),
        ``.covariance``, ``.loglik``, ``.aic``, ``.bic``, ``.converged``, ``.nobs``,
        ``.n_subjects``, ``.theta``, ``.vcov``, ``.exclusions``, ``.cov_structure``;
        ``.anova()``, ``.emmeans()``, ``.contrast()``.

    Notes
    -----
    The likelihood, its exact gradient and Hessian are computed from per-pattern data
    moments (:mod:`~hipstats.stats.mmrm.likelihood`) and optimised by a trust-region Newton
    method to a gradient near 1e-9; mmrm's default L-BFGS-B stops earlier (estimates differ
    from the optimum by up to ~1e-3 SE). Estimated marginal means average numeric
    covariates over the analysed rows (emmeans on an mmrm fit re-reads the data and would
    include rows whose outcome is missing). With one post-baseline visit the MMRM is the
    baseline-adjusted ANCOVA.

    R equivalent: ``mmrm(y ~ y_bl + group * visit + us(visit | subject), reml = TRUE,
    method = "Kenward-Roger")``; ``us(visit | group / subject)`` for ``group_cov``.

    References
    ----------
    Mallinckrodt CH, Lane PW, Schnell D, Peng Y, Mancuso JP (2008). Recommendations for the
    primary analysis of continuous endpoints in longitudinal clinical trials. Drug Inf J
    42:303-319. Kenward MG, Roger JH (1997). Small sample inference for fixed effects from
    restricted maximum likelihood. Biometrics 53:983-997. Sabanes Bove D et al. (2024).
    mmrm: Mixed Models for Repeated Measures. R package, openpharma.

    Examples
    --------
    >>> import hipstats as hs
    >>> df = hs.example("pfps3wk")
    >>> a = hs.mmrm_frame(df, "pain_vas", time="time", subject="subject", baseline="pre")
    >>> fit = hs.mmrm(a, "pain_vas ~ pain_vas_bl + group", "subject", time="time")
    >>> fit.cov_structure
    'us'
    """
    structures = [cov] if isinstance(cov, str) else list(cov)
    for s in structures:
        if s not in STRUCTURES:
            raise AnalysisError(f"unknown covariance structure {s!r}; choose from "
                                + ", ".join(STRUCTURES))
    tried = []
    for i, s in enumerate(structures):
        try:
            fit = fit_mmrm(data, formula, subject, time, s, reml, df_method, group_cov,
                           visits, alpha, last=(i == len(structures) - 1))
        except _NotKept as exc:
            tried.append((s, str(exc)))
            continue
        fit.cov_tried = tried
        return fit
    raise AnalysisError("no covariance structure converged: " + "; ".join(
        f"{s}: {why}" for s, why in tried))


from hipstats.stats.mmrm.fit import NotConverged as _NotKept  # noqa: E402
from hipstats.stats.mmrm.frame import mmrm_frame  # noqa: E402
from hipstats.stats.mmrm.primary import PrimaryAnalysis, primary_analysis  # noqa: E402
