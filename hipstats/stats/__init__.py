"""Statistical core: pure functions on the person-period frame, tidy frames out.

Nothing here reads or writes files. Every function is checked against R in
``tests/reference`` (lme4, lmerTest, pbkrtest, afex, emmeans, pwr, metafor, rmcorr's
ANCOVA).

==========================  =======================================================
module                      holds
==========================  =======================================================
``correlation``             ``timepoint_corr``, ``rm_corr``
``lmm``                     ``mixed_model``, ``select_random``: lme4-style engine, lmerTest/pbkrtest df
``mmrm``                    ``mmrm.mmrm``, ``mmrm_frame``: mixed models for repeated measures (R's mmrm)
``anova``                   ``mixed_anova`` (afex defaults: type III, GG correction)
``change``                  ``paired_change``, ``ancova``, ``responders``
``crosslag``                ``cross_lagged``
``power_analytic``          ``power_corr``, ``power_ttest`` (pwr's formulas)
``meta``                    ``meta_analysis``, ``effect_from_summary`` (metafor's)
``limb``                    ``limb_long``: involved/uninvolved limb rows for limb x time models
``decompose``               ``within_between``: person-mean centring of time-varying covariates
``marginal``                ``marginal_effect``: covariate-adjusted marginal effects (R's beeca)
``logistic``                the logistic working model: exact maximum, Firth's fit on separation
``ordinal``                 ``ordinal``: proportional odds (statsmodels' OrderedModel; R's clm)
``mediation``               ``mediation``: Valeri-VanderWeele effects (regmedint), medsens' rho, E-values
``checks``                  argument checks shared by the functions above
==========================  =======================================================
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "timepoint_corr": "correlation", "rm_corr": "correlation",
    "mixed_model": "lmm", "MixedModelResult": "lmm", "select_random": "lmm",
    "compare_models": "lmm", "mmrm_frame": "mmrm", "MmrmResult": "mmrm",
    "mixed_anova": "anova",
    "paired_change": "change", "ancova": "change", "responders": "change",
    "cross_lagged": "crosslag", "limb_long": "limb", "within_between": "decompose",
    "power_corr": "power_analytic", "power_ttest": "power_analytic",
    "meta_analysis": "meta", "effect_from_summary": "meta",
    "marginal_effect": "marginal", "MarginalEffect": "marginal",
    "mediation": "mediation", "MediationResult": "mediation",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"hipstats.stats.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hipstats.stats' has no attribute {name!r}")


def __dir__():
    return __all__
