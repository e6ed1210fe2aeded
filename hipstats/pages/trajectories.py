"""Page sections: observed trajectories of every measure, and the two limbs compared."""

from __future__ import annotations

import hipstats as hs
from hipstats import plots
from hipstats.labels import add_labels
from hipstats.pages.context import PageContext, say

__all__ = ["trajectories", "limbs"]


def trajectories(page: PageContext) -> None:
    """Each numeric measure over the visits at which it is taken, per arm: thin lines are
    participants, points the observed means with 95% CIs."""
    df, T, group = page.data, page.time, page.group
    say("## Observed trajectories" + (" per arm" if group else "") + "\n\nThin lines are "
        "participants; points are the observed means with 95% CIs at the visits where the "
        "measure is taken.")
    for y in page.repeated:
        order = page.visits_of(y)
        keys = ([group] if group else []) + [T]
        observed = (df[df[T].isin(order)].groupby(keys, sort=False)[y]
                    .agg(["count", "mean", "std"]).reset_index())
        page.save(observed, f"observed-{y}")
        page.figure(plots.trajectories(df, y, T, "subject", group=group, order=order),
                    f"trajectories-{y}", f"{page.label(y)} {page.over(order)}"
                    + (", by arm" if group else ""))


def limbs(page: PageContext) -> None:
    """Involved against uninvolved limb, when the design names the uninvolved limb's strength
    (``primary = { uninvolved = ... }``): the limb symmetry index over the visits and a limb x
    visit mixed model with random intercepts for the participant and for each limb within
    the participant (REML, Kenward-Roger df)."""
    s, u = page.strength, page.uninvolved
    if page.design.primary.get("uninvolved") is None:
        return
    say("## Involved and uninvolved limb")
    if s is None or u is None:
        say("The uninvolved limb was not measured in these data, so the limb comparison is "
            "not shown.")
        return
    df, T = page.data, page.time
    order = page.visits_of(s, u)
    lsi = df.assign(lsi=df[s] / df[u] * 100.0)
    ax = plots.trajectories(lsi, "lsi", T, "subject", group=page.group, order=order)
    ax.axhline(90, color="grey", ls="--", lw=0.8)
    page.figure(ax, "limb-symmetry", f"Limb symmetry index (involved / uninvolved x 100) over "
                f"{page.over(order)}; dashed: 90%, a common return-to-sport threshold")
    long = hs.limb_long(df[df[T].isin(order)], involved=s, uninvolved=u, value=s)
    terms = f"C(limb) * {page.visit_term()}" + (" * group" if page.group else "")
    fit = hs.mixed_model(long, f"{s} ~ {terms}", subject="subject", nested="limb",
                         df_method="kenward-roger")
    page.save(add_labels(fit.fixed.reset_index(), "term", df, page.design), "limb-by-visit")
    page.save(fit.random, "limb-by-visit-random")
    emm = fit.emmeans(T, by="limb")
    page.save(emm, "limb-by-visit-emmeans")
    page.figure(plots.model_trajectories(emm, T, "limb", data=long, y=s, order=order,
                                         ylabel=page.label(s).replace(", involved", "")),
                "limb-model", f"{page.label(s, False).replace(', involved', '')} of both "
                "limbs: model-estimated means (95% CI) over observed means")
    say("One row per limb and visit; random intercepts for the participant and for each limb "
        f"within the participant, `{fit.random_formula}` (Kenward-Roger df). The limb x {T} "
        "terms show whether the side difference changed over the visits.")
    page.table(fit.fixed, f"Limb x {T} mixed model: fixed effects", "limb-fixed",
               design=page.design, note="REML; Kenward-Roger df")
    page.table(fit.random, f"Limb x {T} mixed model: variance components", "limb-random",
               labels=None)
