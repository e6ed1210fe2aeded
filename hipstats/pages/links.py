"""Page section: how hip-abductor strength went with each outcome."""

from __future__ import annotations

import pandas as pd

import hipstats as hs
from hipstats import plots, summary
from hipstats.labels import add_labels
from hipstats.pages.context import PageContext, say

__all__ = ["links"]

_INTRO = (
    "## Strength and the outcomes\n\nHow hip-abductor strength went with each outcome: the "
    "between-participant correlation at each visit where both were measured; with two or "
    "more such visits, the correlation of the changes, a mixed model that separates within- "
    "from between-person strength adjusted for visit (Curran & Bauer 2011; the headline "
    "within-person estimate, as both measures may simply trend over time) and, beside it, the "
    "repeated-measures correlation, which includes that shared trend; with three or more, "
    "cross-lagged paths (is weakness a cause or a consequence? temporal precedence, not "
    "cause).")


def links(page: PageContext) -> None:
    """Per-visit correlations (Holm-adjusted), change-score correlation per arm,
    repeated-measures correlation, the within/between model and cross-lagged paths, for the
    primary strength measure against each outcome, at the visits that carry both."""
    s = page.strength
    if s is None:
        say("## Strength and the outcomes\n\nThe design names no strength measure (`primary = "
            "{ strength = ... }`), or it has no data: no strength-outcome links.")
        return
    say(_INTRO)
    for y in page.outcomes:
        both = page.visits_of(s, y)
        sub = page.data[page.data[page.time].isin(both)]
        say(f"### {page.label(s, False)} and {page.prose(y)}")
        text = [_per_visit(page, sub, s, y, both)]
        if len(both) >= 2:
            _change_corr(page, s, y, both)
            wb_text, fit = _within_between(page, sub, s, y, both)
            text += [wb_text, _rm_corr(page, sub, s, y, summary.within_clear(fit, s))]
        if len(both) >= 3:
            cl = hs.cross_lagged(sub, s, y, page.time, "subject", order=both, alpha=page.alpha)
            page.save(cl, f"cross-lagged-{y}")
            page.table(cl[["outcome", "predictor", "role", "estimate", "se", "df", "ci_low",
                           "ci_high", "pval", "std_estimate"]],
                       "Cross-lagged, autoregressive and between-person paths", f"cl-{y}",
                       design=page.design, note=f"{cl['method'].iloc[0]}; "
                       f"{int(cl['n_pairs'].iloc[0])} pairs of consecutive visits from "
                       f"{int(cl['n_subjects'].iloc[0])} participants. Temporal precedence, "
                       "not cause.")
            text.append(summary.describe_cross_lagged(cl, alpha=page.alpha, data=page.data))
        else:
            text.append(f"Cross-lagged paths need three or more visits with both measures; "
                        f"this design has {len(both)}.")
        say(" ".join(t for t in text if t))


def _per_visit(page: PageContext, sub, s: str, y: str, both: list) -> str:
    T = page.time
    tc = hs.timepoint_corr(sub, s, y, time=T, padjust="holm", order=both, alpha=page.alpha)
    page.save(tc, f"corr-{y}")
    page.table(tc, f"{page.label(s, False)} and {page.prose(y)}: correlation at each {T} where "
               "both were measured", f"corr-{y}", labels=None,
               note="Pearson r with Fisher-z 95% CI; p adjusted by Holm's method across visits.")
    page.figure(plots.scatter_by_time(sub, s, y, T, order=both, corr=tc), f"scatter-{y}",
                f"{page.label(y)} against {page.prose(s)} at each {T} where both were measured")
    return summary.describe_timepoint_corr(tc, s, y, alpha=page.alpha, data=page.data)


def _change_corr(page: PageContext, s: str, y: str, both: list) -> None:
    """Correlation of the change in strength with the change in the outcome (first to last
    visit with both), per arm."""
    T, first, last, group = page.time, both[0], both[-1], page.group
    wide = page.data.pivot(index="subject", columns=T, values=[s, y])
    delta = (wide.xs(last, axis=1, level=1) - wide.xs(first, axis=1, level=1))
    delta = delta.rename(columns={s: f"{s}_change", y: f"{y}_change"})
    arm = (page.data.groupby("subject")[group].first() if group
           else pd.Series("all", index=delta.index))
    delta = delta.assign(arm=arm.reindex(delta.index).astype(str)).dropna().reset_index()
    delta.attrs = page.data.attrs
    dc = hs.timepoint_corr(delta, f"{s}_change", f"{y}_change", time="arm", alpha=page.alpha)
    page.save(dc, f"change-corr-{y}")
    page.table(dc, f"Change in {page.prose(s)} against change in {page.prose(y)}, {T} {first} "
               f"to {last}" + (" (per arm)" if group else ""), f"dc-{y}", labels=None,
               rename={"arm": "Arm"},
               note="Pearson r of the changes with Fisher-z 95% CI; participants with both "
                    "measures at both visits.")
    page.figure(plots.scatter_by_time(delta, f"{s}_change", f"{y}_change", "arm", corr=dc,
                                      height=2.6), f"change-corr-{y}",
                f"Change in {page.prose(y)} against change in {page.prose(s)}")


def _rm_corr(page: PageContext, sub, s: str, y: str, clear_within: bool) -> str:
    """The repeated-measures correlation beside the visit-adjusted headline: it includes
    the shared time trend, and names no direction of its own."""
    rc = hs.rm_corr(sub, s, y, "subject", alpha=page.alpha)
    page.save(rc, f"rm-corr-{y}")
    page.table(rc, f"{page.label(s, False)} and {page.prose(y)}: repeated-measures "
               "correlation", f"rmc-{y}", labels=None,
               note=f"Not adjusted for {page.time}: includes the trend both measures share.")
    page.figure(plots.rm_corr_plot(sub, s, y, "subject", r=rc["r"].iloc[0]), f"rm-corr-{y}",
                f"{page.label(y)} against {page.prose(s)} within participants (one line each)")
    return summary.describe_rm_corr_beside(rc, s, y, clear_within, data=page.data,
                                           time=page.time)


def _within_between(page: PageContext, sub, s: str, y: str, both: list):
    """``y ~ s_within + s_between + visit``; with three or more numeric visits, a linear
    visit trend and the random part chosen by the documented rule (random slope first),
    else visits as a factor and a random intercept."""
    T = page.time
    wb = hs.within_between(sub, s, "subject")
    trend = len(both) >= 3 and page.numeric_time
    formula = f"{y} ~ {s}_within + {s}_between + " + (T if trend else page.visit_term())
    if trend:
        fit = hs.select_random(wb, formula, subject="subject", random=T,
                               df_method="kenward-roger")
        page.save(fit.selection, f"within-between-{y}-selection")
        note = fit.selection_note + " "
    else:
        fit = hs.mixed_model(wb, formula, subject="subject", df_method="kenward-roger")
        note = "Random intercept per participant; visits as a factor. "
    page.save(add_labels(fit.fixed.reset_index(), "term", page.data, page.design),
              f"within-between-{y}")
    page.save(fit.random, f"within-between-{y}-random")
    page.table(fit.fixed, f"{page.label(y)}: within- and between-person effects of "
               f"{page.prose(s)}", f"wb-{y}", design=page.design,
               note=f"{note}{fit.nobs} visits of {fit.ngroups} participants; "
                    f"{fit.random_formula}; REML, Kenward-Roger df.")
    return summary.describe_within_between(fit, s, y, alpha=page.alpha, data=page.data,
                                           time=page.time), fit
