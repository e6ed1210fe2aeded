"""Reference-based multiple imputation (R's ``rbmi``): what if the missing are not MAR?

==============  ================================================================
module          holds
==============  ================================================================
``grid``        the participant x visit grid, arms, references, intercurrent events
``draws``       the imputation MMRM: full fit, leave-one-out and bootstrap refits
``impute``      the strategies' means and covariances; conditional means or draws
``analyse``     the per-visit ANCOVA of every imputed set at once, lsmeans weights
``pool``        jackknife, bootstrap percentile and Rubin's rules
``result``      :class:`RbmiImputation`: ``analyse``, ``tipping_point``, ``datasets``
==============  ================================================================
"""

from __future__ import annotations

import pandas as pd

from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.structures import STRUCTURES
from hipstats.stats.rbmi.draws import draw_samples
from hipstats.stats.rbmi.grid import STRATEGIES, build_grid
from hipstats.stats.rbmi.result import RbmiImputation

__all__ = ["rbmi", "RbmiImputation", "STRATEGIES", "METHODS"]

METHODS = ("jackknife", "bootstrap", "approxbayes")


def rbmi(data: pd.DataFrame, formula: str, subject: str, time: str, group: str | None,
         references: dict | None = None, ice=None, method: str = "jackknife",
         n_samples: int | None = None, seed: int | None = None, cov: str = "us",
         reml: bool = True, same_cov: bool = True, reference=None,
         alpha: float = 0.05, progress=None) -> RbmiImputation:
    """Reference-based multiple imputation of a trial's missing outcomes, as R's ``rbmi``.

    Fits the imputation model (an MMRM, :func:`hipstats.mmrm`) to the values it may use,
    imputes each participant's missing visits under their strategy, and returns the imputed
    samples; :meth:`RbmiImputation.analyse` runs the per-visit ANCOVA on them and pools,
    :meth:`RbmiImputation.tipping_point` finds how much worse than assumed the missing
    values of an arm must be for the effect to lose significance.

    Parameters
    ----------
    data : DataFrame
        Post-baseline rows, one per participant and visit (a missing visit may be a row with
        a missing outcome or no row); baseline as a covariate column.
    formula : str
        The imputation model, patsy style: ``"y ~ y_bl * C(week) + group * C(week)"``.
    subject, time, group : str
        Participant, visit and arm columns; ``group=None`` for a one-group trial (the
        analysis is then the mean at each visit, ``parameter = "mean"``, e.g. of a change
        from baseline; MAR and LMCF only, with delta adjustment).
    references : dict, optional
        The reference arm of every arm, as rbmi's ``references``: ``{"trt": "ctl",
        "ctl": "ctl"}``. Needed for JR, CR and CIR.
    ice : None, str or DataFrame
        ``None``: every missing value MAR. A strategy name (``"JR"``, ``"CR"``, ``"CIR"``,
        ``"LMCF"``, ``"MAR"``): each participant's trailing run of missing visits (monotone
        dropout) gets it from the first missing visit; gaps before it stay MAR. A DataFrame
        (subject, time, ``strategy``): one row per participant with an intercurrent event,
        the first visit it affects (rbmi's ``data_ice``). Values observed after a non-MAR
        event are left out of the model's fit, kept in the analysis and conditioned on.
    method : {"jackknife", "bootstrap", "approxbayes"}
        Conditional-mean imputation with the leave-one-participant-out jackknife (exact and
        deterministic; normal CIs) or the bootstrap (``n_samples``, percentile CIs), or
        approximate Bayesian multiple imputation (``n_samples`` bootstrap fits, one random
        imputation each, Rubin's rules with Barnard-Rubin df).
    n_samples, seed : int, optional
        Resamples for bootstrap and approxbayes, and their seed (default 0).
    cov : str
        The imputation model's covariance structure (any of :func:`hipstats.mmrm`'s).
    reml : bool
        REML (default) or ML fits.
    same_cov : bool
        One covariance shared by the arms (rbmi's default) or one per arm (then JR and CIR
        use Carpenter et al.'s conditional covariance construction).
    reference : optional
        The analysis reference arm (default: the first level of a Categorical, else the
        first in sorted order).
    alpha : float
        1 - confidence level of the analyses.
    progress : callable, optional
        ``progress(done, total)`` after each refit.

    Returns
    -------
    RbmiImputation

    Notes
    -----
    Beyond rbmi: one post-baseline visit works (the MMRM is then the ANCOVA), and the
    analysis takes any number of arms, each against the reference (one ANCOVA per visit).
    The jackknife's leave-one-out fits start from the full fit's per-pattern moments and
    optimum (:mod:`~hipstats.stats.rbmi.draws`); each one is converged to a gradient near
    1e-9, as the reference R fits are polished to.

    R equivalent: ``draws(data, data_ice, vars, method_condmean(type = "jackknife",
    covariance = "us"))``, ``impute(references = c(trt = "ctl", ctl = "ctl"))``,
    ``analyse(fun = ancova, vars = ...)``, ``pool()``.

    References
    ----------
    Carpenter JR, Roger JH, Kenward MG (2013). Analysis of longitudinal trials with protocol
    deviation: a framework for relevant, accessible assumptions, and inference via multiple
    imputation. J Biopharm Stat 23(6):1352-1371. Wolbers M, Noci A, Delmar P, Gower-Page C,
    Yiu S, Bartlett JW (2022). Standard and reference-based conditional mean imputation.
    Pharm Stat 21(6):1246-1257. Gower-Page C, Noci A, Wolbers M (2022). rbmi: a R package
    for standard and reference-based multiple imputation methods. JOSS 7(74):4251.

    Examples
    --------
    >>> import hipstats as hs
    >>> a = hs.mmrm_frame(hs.example("pfps3wk"), "pain_vas", time="time", baseline="pre")
    >>> imp = hs.rbmi(a, "pain_vas ~ pain_vas_bl + group", "subject", "time", "group",
    ...               references={"PFPS": "control", "control": "control"}, ice="JR",
    ...               reference="control")
    >>> imp.analyse(covariates=["pain_vas_bl"])["parameter"].tolist()
    ['trt', 'lsm_ref', 'lsm_alt']
    >>> tp = imp.tipping_point("PFPS", covariates=["pain_vas_bl"])   # NaN: not significant
    """
    if method not in METHODS:
        raise AnalysisError(f"method must be one of {', '.join(METHODS)}")
    if cov not in STRUCTURES:
        raise AnalysisError(f"unknown covariance structure {cov!r}; choose from "
                            + ", ".join(STRUCTURES))
    if method != "jackknife" and not (isinstance(n_samples, int) and n_samples >= 2):
        raise AnalysisError(f"method={method!r} needs n_samples (an integer >= 2)")
    seed = 0 if seed is None else int(seed)
    grid = build_grid(data, formula, subject, time, group, references, ice, reference)
    from hipstats.stats.lmm.engine import one_blas_thread

    with one_blas_thread():     # many small fits: BLAS threads cost more than they save
        samples = draw_samples(grid, method, cov, reml, same_cov, n_samples, seed, progress)
    return RbmiImputation(grid, samples, method, same_cov, seed, alpha, list(grid.notes),
                          {"cov": cov, "reml": reml, "n_samples": n_samples})
