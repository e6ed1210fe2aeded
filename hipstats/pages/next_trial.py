"""Page section: the next trial's size, analytic and simulated from this study's model."""

from __future__ import annotations

import math

import pandas as pd

import hipstats as hs
from hipstats.pages.context import PageContext, say

__all__ = ["next_trial"]

_INTRO = (
    "## The next trial's size\n\nParticipants{per} needed to detect a {what} of one MCID at "
    "the last visit, analytically with the standard deviation observed here{sim}.")
_SIM = (", then by simulating trials of that size from this study's fitted primary model (its "
        "visit means, covariance across visits and dropout) and analysing each with the same "
        "MMRM, which reports the test's type I error and CI coverage beside its power")


def next_trial(page: PageContext) -> None:
    """Sample size per arm (or, with one group, participants) for ``page.power_target``
    power at one MCID, from the observed SD; with arms, checked by simulating trials from
    the fitted primary MMRM (:func:`hipstats.power.trial_sim.simulate_next_trial`)."""
    group = page.group
    say(_INTRO.format(per=" per arm" if group else "", sim=_SIM if group else "",
                      what="between-arm difference" if group else "change from baseline"))
    rows = [r for r in (_analytic(page, y) for y in page.outcomes) if r]
    if not rows:
        say("No outcome has an MCID and data at baseline and a later visit: nothing to size.")
        return
    size = pd.DataFrame(rows)
    page.save(size, "next-trial")
    page.table(size, f"Participants {'per arm ' if group else ''}for {page.power_target:.0%} "
               f"power to detect one MCID at the last visit", "size",
               rename={"mcid": "MCID", "sd": "SD", "d": "Standardised difference",
                       "n_per_arm": "n per arm"},
               note=f"Assumptions: two-sided alpha {page.alpha:g}" + (
                   "; two independent arms; the pooled SD of the last visit observed here (no "
                   "baseline adjustment, so conservative)" if group else
                   "; paired change from baseline, SD of the changes observed here")
               + "; no dropout (inflate n by the dropout seen in the flow above). Analytic "
                 "power of the t-test (noncentral t)"
               + ("; the simulation below checks it with this study's own fitted model."
                  if group else "."))
    if group:
        _simulated(page, rows)


def _analytic(page: PageContext, y: str) -> dict | None:
    facts, T = page.design.measure(y), page.time
    visits = page.visits_of(y)
    if facts.mcid is None or page.base not in visits or len(visits) < 2:
        return None
    last, df = visits[-1], page.data
    if page.group:
        at_last = df.loc[df[T] == last].dropna(subset=[y]).groupby("group")[y]
        dof = at_last.count() - 1
        sd = float(math.sqrt((at_last.var(ddof=1) * dof).sum() / dof.sum()))
    else:
        wide = df.pivot(index="subject", columns=T, values=y)
        sd = float((wide[last] - wide[page.base]).std(ddof=1))
    d = facts.mcid / sd
    n = hs.power_ttest(d, power=page.power_target, alpha=page.alpha, paired=not page.group)
    return {"outcome": y, "mcid": facts.mcid, "sd": sd, "d": d,
            "n_per_arm" if page.group else "n": int(math.ceil(n))}


def _simulated(page: PageContext, rows: list) -> None:
    from hipstats.power.trial_sim import simulate_next_trial

    sims = []
    for r in rows:
        y = r["outcome"]
        pa = page.results.get("primary", {}).get(y)
        if pa is None:
            continue
        sign = 1 if page.design.measure(y).direction != "lower_better" else -1
        sim = simulate_next_trial(pa, int(r["n_per_arm"]), sign * r["mcid"], n_sims=100,
                                  seed=page.seed, alpha=page.alpha)
        sims.append(sim.assign(outcome=y))
        say(f"**{page.label(y)}.** " + sim.attrs["assumptions"])
    if not sims:
        return
    sim = pd.concat(sims, ignore_index=True)[
        ["outcome", "scenario", "n_per_arm", "effect", "n_sims", "rejected", "band_low",
         "band_high", "coverage", "failed"]]
    page.save(sim, "next-trial-simulated")
    page.table(sim, "The next trial simulated from this study's fitted primary model: power at "
               "one MCID beside the type I error and CI coverage at no difference", "size-sim",
               rename={"n_per_arm": "n per arm", "effect": "Difference", "n_sims": "Trials",
                       "rejected": "Rejected", "band_low": "99% band (low)",
                       "band_high": "99% band (high)", "coverage": "95% CI coverage",
                       "failed": "Failed fits"},
               note="Rejected is the power under the planned difference and the type I error "
                    "under no difference; an honest test's type I error lies inside the exact "
                    "99% binomial band around alpha for that many trials.")
