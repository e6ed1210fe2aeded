"""Page section: change from baseline to the last visit, per arm, with effect sizes; with
arms and two visits, the arm x visit ANOVA (and strength's baseline-adjusted difference)."""

from __future__ import annotations

import pandas as pd

import hipstats as hs
from hipstats import summary
from hipstats.pages.context import PageContext, say

__all__ = ["change"]


def change(page: PageContext) -> None:
    """Paired change (last visit minus baseline) of every measure taken at both, per arm,
    with Hedges' g_av and d_z; the participants each analysis leaves out, with the reason."""
    T, base = page.time, page.base
    measures = [y for y in page.repeated if page.design.measure(y).taken_at(base)]
    if not measures:
        return
    say(f"## Change from baseline ({T} {base})" + (" per arm" if page.group else "") + "\n\nEach "
        "measure's change from baseline to the last visit at which it is taken (later minus "
        "earlier), with a paired t-test and effect sizes; participants without both visits "
        "are listed below with the reason.")
    res, texts = {}, []
    for y in measures:
        last = page.visits_of(y)[-1]
        r = hs.paired_change(page.data, y, T, "subject", base, last, group=page.group,
                             alpha=page.alpha)
        page.save(r, f"change-{y}")
        cols = [c for c in ["group", "n", "mean_diff", "ci_low", "ci_high", "pval", "d_z",
                            "hedges_g"] if c in r]
        page.table(r[cols], f"Change in {page.prose(y)} from {T} {base} to {last}",
                   f"change-{y}", rename={"mean_diff": "Change"},
                   note="Paired t-test; Hedges' g (standardised by the average SD of the two "
                        "visits) with its noncentral-t CI in the CSV table.")
        res[y] = r
        texts.append(summary.describe_paired_change(r, y, data=page.data))
    say(" ".join(texts))
    _exclusions(page, res)
    _arm_by_visit(page)


def _exclusions(page: PageContext, res: dict, shown: int = 25) -> None:
    """Who each change analysis left out and why: every row in the CSV table; on the page,
    one row per participant and reason with the measures it concerns."""
    parts = [pd.DataFrame(r.attrs["exclusions"], columns=["subject", "reason"]).assign(measure=y)
             for y, r in res.items()]
    excluded = pd.concat(parts, ignore_index=True)
    page.save(excluded, "excluded-from-change")
    if excluded.empty:
        say("Every participant had both visits of every measure.")
        return
    why = [r.replace(m, "", 1).strip() for r, m in zip(excluded["reason"], excluded["measure"])]
    per = (excluded.assign(reason=why, measure=[page.label(m, False) for m in excluded["measure"]])
           .groupby(["subject", "reason"], sort=True)["measure"].agg(", ".join).reset_index())
    more = len(per) - shown
    page.table(per.head(shown), "Participants left out of the change analyses, with the reason",
               "excluded", labels=None, rename={"measure": "Measures"},
               note=f"{len(per)} participant(s); " + (f"the first {shown} are shown, all are "
                                                      "in the CSV table." if more > 0 else
                                                      "all are in the CSV table."))


def _arm_by_visit(page: PageContext) -> None:
    """With arms, for strength and each outcome taken at exactly two visits (baseline and
    one later): the arm x visit mixed ANOVA (afex defaults; its interaction asks whether the
    change differed between arms) and, for strength, the baseline-adjusted arm difference
    (ANCOVA; for the outcomes it is the primary analysis below)."""
    if not page.group:
        return
    T, d = page.time, page.design
    for y in ([page.strength] if page.strength else []) + page.outcomes:
        visits = page.visits_of(y)
        if len(visits) != 2 or page.base not in visits:
            continue
        say(f"### {page.label(y, False)}: arm x {T}")
        aov = hs.mixed_anova(page.data[page.data[T].isin(visits)], y, within=T,
                             subject="subject", between="group", order=visits)
        page.save(aov, f"anova-{y}")
        effects = {"group": "Arm", T: T.capitalize(), f"group:{T}": f"Arm x {T}"}
        page.table(aov.drop(columns=[c for c in ["eps", "pval_gg"] if c in aov])
                   .assign(effect=aov["effect"].map(lambda e: effects.get(e, e))),
                   f"{page.label(y, False)}: arm x {T} mixed ANOVA (type III)", f"anova-{y}",
                   labels=None, note="Two visits: no sphericity correction is needed; complete "
                   f"cases ({len(aov.attrs['exclusions'])} participant(s) without both visits "
                   "left out, listed above). The arm x visit row asks whether the change "
                   "differed between arms.")
        if y != page.strength:
            continue
        anc = hs.ancova(page.data, y, T, "subject", "group", visits[0], visits[1],
                        reference=d.reference, alpha=page.alpha)
        page.save(anc, f"ancova-{y}")
        page.table(anc, f"{page.label(y, False)} at {T} {visits[1]} adjusted for baseline "
                   "(ANCOVA)", f"ancova-{y}", labels=None)
        say(summary.describe_ancova(anc, y, data=page.data))
