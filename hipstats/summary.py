"""Plain-language summaries generated from analysis results (never hand-written).

Each function turns tidy result frames into a few sentences for a clinician reader,
stating estimates with their intervals and saying what the design can and cannot show.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["describe_timepoint_corr", "describe_rm_corr", "describe_cross_lagged",
           "describe_paired_change", "describe_ancova", "p_text"]


def p_text(p: float) -> str:
    """APA-style p-value text."""
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".")


def describe_timepoint_corr(res: pd.DataFrame, x: str, y: str, alpha: float = 0.05) -> str:
    time = res.columns[0]
    pcol = "pval_adj" if "pval_adj" in res else "pval"
    parts = []
    for _, r in res.iterrows():
        sig = "significant" if r[pcol] < alpha else "not significant"
        parts.append(f"{time} {r[time]}: r = {r['r']:.2f} (95% CI {r['ci_low']:.2f} to "
                     f"{r['ci_high']:.2f}, n = {int(r['n'])}, {sig})")
    adj = " after Holm adjustment" if pcol == "pval_adj" else ""
    return (f"Between subjects, {y} was associated with {x} at each visit{adj}: "
            + "; ".join(parts) + ". With small samples these intervals are wide.")


def describe_rm_corr(res: pd.DataFrame, x: str, y: str) -> str:
    r = res.iloc[0]
    direction = "rose" if r["r"] > 0 else "fell"
    return (f"Within subjects, when a person's {x} was higher than their own average, their "
            f"{y} {direction} with it: repeated-measures r = {r['r']:.2f} (95% CI "
            f"{r['ci_low']:.2f} to {r['ci_high']:.2f}, {p_text(r['pval'])}, "
            f"{int(r['n_subjects'])} subjects, {int(r['n_obs'])} visits).")


def describe_cross_lagged(res: pd.DataFrame, alpha: float = 0.05) -> str:
    cl = res[res["role"] == "cross-lagged"]
    parts = []
    for _, r in cl.iterrows():
        verdict = "predicted" if r["pval"] < alpha else "did not clearly predict"
        parts.append(f"{r['predictor']} {verdict} {r['outcome']} at the next visit "
                     f"(standardised {r['std_estimate']:.2f}; estimate {r['estimate']:.2f}, "
                     f"95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, {p_text(r['pval'])})")
    return ("Cross-lagged (within-person) analysis: " + "; ".join(parts) + ". This tests "
            "temporal precedence, not cause: unmeasured changes over time can drive both.")


def describe_paired_change(res: pd.DataFrame, dv: str) -> str:
    parts = []
    for _, r in res.iterrows():
        who = f"In the {r['group']} group" if "group" in res else "Overall"
        parts.append(f"{who}, {dv} changed by {r['mean_diff']:.2f} (95% CI {r['ci_low']:.2f} "
                     f"to {r['ci_high']:.2f}; n = {int(r['n'])}, {p_text(r['pval'])}; "
                     f"Hedges' g_av = {r['hedges_g']:.2f})")
    return ". ".join(parts) + "."


def describe_ancova(res: pd.DataFrame, dv: str) -> str:
    r = res.iloc[0]
    return (f"At follow-up, adjusted for baseline {dv}, the difference {r['contrast']} was "
            f"{r['estimate']:.2f} (95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, "
            f"{p_text(r['pval'])}, n = {int(r['n'])}).")
