"""The pre-specified primary analysis of a trial outcome: the baseline-adjusted MMRM.

One function serves every trial shape the pages show: one group or k arms, one or many
post-baseline visits. With one post-baseline visit the model is the ANCOVA of the follow-up
value on baseline (and arm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from hipstats.errors import AnalysisError
from hipstats.stats.mmrm.frame import mmrm_frame
from hipstats.stats.mmrm.result import MmrmResult
from hipstats.stats.mmrm.structures import FALLBACK_ORDER

__all__ = ["primary_analysis", "PrimaryAnalysis", "STRUCTURE_NAMES"]

STRUCTURE_NAMES = {
    "us": "unstructured", "toep": "Toeplitz", "toeph": "heterogeneous Toeplitz",
    "ar1": "AR(1)", "ar1h": "heterogeneous AR(1)", "cs": "compound symmetry",
    "csh": "heterogeneous compound symmetry", "ad": "ante-dependence",
    "adh": "heterogeneous ante-dependence"}
_DF = {"kenward-roger-linear": "Kenward-Roger df (the linear variant of SAS PROC MIXED)",
       "kenward-roger": "Kenward-Roger df (mmrm's)", "satterthwaite": "Satterthwaite df",
       "residual": "residual df with the empirical (sandwich) covariance"}


@dataclass
class PrimaryAnalysis:
    """What :func:`primary_analysis` returns.

    Attributes
    ----------
    fit : MmrmResult
    frame : DataFrame
        The analysis frame (post-baseline rows, ``<outcome>_bl``).
    emmeans : DataFrame
        Estimated means by arm and visit (by visit for one group).
    contrasts : DataFrame or None
        Each arm minus the reference arm at each visit (95% CI, unadjusted); None for one
        group.
    method : str
        The model in words: structure fitted, and why, when the first choice failed.
    formula : str
    outcome, time, subject, group : str
    arms : list or None
        Arm levels, reference first.
    """

    fit: MmrmResult
    frame: pd.DataFrame
    emmeans: pd.DataFrame
    contrasts: pd.DataFrame | None
    method: str
    formula: str
    outcome: str = ""
    time: str = ""
    subject: str = "subject"
    group: str | None = None
    arms: list | None = None


def _formula(outcome, time, group, arms, covariates, n_post):
    rhs = [f"{outcome}_bl", *covariates]
    arm = f"C({group}, levels={arms!r})" if group else None
    if arm and n_post > 1:
        rhs.append(f"{arm} * C({time})")
    elif arm:
        rhs.append(arm)
    else:
        rhs.append(f"C({time})")
    return f"{outcome} ~ " + " + ".join(rhs)


def _method_text(fit: MmrmResult, structures, n_post: int, time: str) -> str:
    name = STRUCTURE_NAMES.get(fit.cov_structure, fit.cov_structure)
    visits = (f"the {n_post} post-baseline visits" if n_post > 1
              else "the one post-baseline visit (the model is then the baseline-adjusted "
                   "ANCOVA)")
    text = (f"mixed model for repeated measures (MMRM): outcome at {visits} on its baseline "
            f"value{' and arm x ' + time if 'levels=' in fit.formula and n_post > 1 else ''}, "
            f"{name} covariance across visits, REML, {_DF.get(fit.df_method, fit.df_method)}")
    if fit.cov_tried:
        why = "; ".join(f"{STRUCTURE_NAMES.get(s, s)}: {r.split(': ', 1)[-1]}"
                        for s, r in fit.cov_tried)
        order = " -> ".join(structures)
        text += (f". The pre-specified order was {order}; structures not kept: {why}")
    elif fit.cov_structure == structures[0] and len(structures) > 1:
        text += (f"; the unstructured covariance converged, so the pre-specified fallbacks "
                 f"({', '.join(structures[1:])}) were not needed")
    return text + ". " + _r_call(fit, time)


def _r_call(fit: MmrmResult, time: str) -> str:
    """The same model in R's mmrm, so that a reader can reproduce it."""
    rhs = fit.formula.split("~", 1)[1]
    rhs = re.sub(r"C\((\w+), levels=\[[^\]]*\]\)", r"\1", rhs)
    rhs = re.sub(r"C\((\w+)\)", r"\1", rhs).strip()
    method = {"kenward-roger-linear": 'method = "Kenward-Roger", vcov = "Kenward-Roger-Linear"',
              "kenward-roger": 'method = "Kenward-Roger"', "satterthwaite":
              'method = "Satterthwaite"', "residual": 'method = "Residual"'}[fit.df_method]
    arm = " and the arm as factors (reference arm first)" if "levels=" in fit.formula else (
        " as a factor")
    return (f"In R: `mmrm({fit.formula.split('~')[0].strip()} ~ {rhs} + "
            f"{fit.cov_structure}({time} | subject), {method})`, with {time}{arm}")


def primary_analysis(data: pd.DataFrame, outcome: str, time: str, subject: str = "subject",
                     group: str | None = None, reference=None, baseline=None,
                     covariates=(), cov=FALLBACK_ORDER,
                     df_method: str = "kenward-roger-linear",
                     alpha: float = 0.05) -> PrimaryAnalysis:
    """Baseline-adjusted MMRM of one outcome, with estimated means and arm differences.

    Parameters
    ----------
    data : DataFrame
        Person-period frame (baseline rows included).
    outcome, time, subject : str
        Outcome, visit and subject columns.
    group : str, optional
        Arm column; None for a one-group study.
    reference : optional
        The comparator arm (default: the first arm in sorted order).
    baseline : optional
        Baseline visit (default: the first).
    covariates : sequence of str
        Further subject-level covariates.
    cov : str or sequence of str
        Covariance structure, or the pre-specified order to try (default us, toeph, ar1h,
        cs: the first that converges is kept, and the page says why).
    df_method : str
        As :func:`hipstats.mmrm` (default Kenward-Roger, linear variant).
    alpha : float
        1 - confidence level.

    Returns
    -------
    PrimaryAnalysis
        ``fit``, ``frame``, ``emmeans``, ``contrasts`` (arm minus reference at each visit),
        ``method`` (the model in words), ``formula``.

    Notes
    -----
    ``outcome ~ outcome_bl + arm * visit`` with an unstructured covariance, REML and
    Kenward-Roger df: the analysis ICH E9(R1)-minded trialists pre-specify (Mallinckrodt et
    al. 2008). Subjects without a baseline value are excluded (listed in
    ``fit.exclusions``).

    Examples
    --------
    >>> import hipstats as hs
    >>> pa = hs.primary_analysis(hs.example("pfps3wk"), "pain_vas", "time", group="group",
    ...                          reference="control")
    >>> pa.contrasts["contrast"].tolist()
    ['PFPS - control']
    """
    if group is not None and group not in data.columns:
        raise AnalysisError(f"arm column {group!r} is not in the data")
    a = mmrm_frame(data, outcome, time, subject, baseline=baseline)
    post = [v for v in pd.unique(a[time].dropna())]
    arms = None
    if group:
        levels = sorted(data[group].dropna().unique(), key=str)
        reference = levels[0] if reference is None else reference
        if reference not in levels:
            raise AnalysisError(f"reference arm {reference!r} is not a level of {group!r} "
                                f"({levels})")
        arms = [reference] + [g for g in levels if g != reference]
    formula = _formula(outcome, time, group, arms, list(covariates), len(post))
    structures = [cov] if isinstance(cov, str) else list(cov)
    fit = _fit(a, formula, subject, time, structures, df_method, alpha)
    if group and len(post) > 1:
        emm = fit.emmeans(group, by=time)
        con = fit.contrast(group, by=time, method="trt.vs.ctrl", adjust="none")
    elif group:
        emm = fit.emmeans(group).assign(**{time: post[0]})
        con = fit.contrast(group, method="trt.vs.ctrl", adjust="none").assign(
            **{time: post[0]})
    else:
        emm, con = fit.emmeans(time), None
    return PrimaryAnalysis(fit, a, emm, con, _method_text(fit, structures, len(post), time),
                           formula, outcome, time, subject, group, arms)


def _fit(a, formula, subject, time, structures, df_method, alpha):
    from hipstats.stats.mmrm import mmrm

    return mmrm(a, formula, subject, time=time, cov=structures, df_method=df_method,
                alpha=alpha)
