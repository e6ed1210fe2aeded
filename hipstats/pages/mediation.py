"""Page section: does strength carry the arm's effect on each outcome? (causal mediation)"""

from __future__ import annotations

import numpy as np
import pandas as pd

import hipstats as hs
from hipstats import plots_mediation, summary
from hipstats.pages.context import PageContext, say

__all__ = ["mediation", "mediation_plan", "mediation_frame", "CALIBRATION"]

_TITLE = "## Does strength carry the effect?"
_INTRO = (
    f"{_TITLE}\n\nWhether the arms' difference in each outcome goes through a change in "
    "{mediator}: a causal mediation analysis (Valeri & VanderWeele 2013, as R's `regmedint`; "
    "`hs.mediation`) with the arm as exposure (the reference arm {ref} as 0), the change in "
    "{mediator} from {T} {base} to {T} {mv} as mediator, the outcome at {T} {ov}, baseline "
    "outcome and baseline {mediator} as covariates (effects at their means), the arm x "
    "mediator interaction, and participants with every value (complete cases; multiple "
    "imputation is not used here, and each participant left out is listed). The natural "
    "indirect effect is the part of the arm's effect that runs through the mediator; it is "
    "causal only if nothing unmeasured drives both the mediator's change and the outcome, "
    "which randomisation does not guarantee: the sensitivity analysis says how strong such a "
    "common cause would have to be.")

#: The calibration suite's measured rates for the page's analysis (arm, mediator change,
#: baseline outcome and mediator, interaction; tests/test_calibration_mediation.py, 1,000
#: trials per cell, benchmarks/calibration_mediation.json, which a test keeps this equal
#: to): per n, per method, the worst type I error of the indirect effect under a single
#: null (a = 0 or b = 0) and the 95% interval's coverage with both paths non-zero.
CALIBRATION = {  # n: method: worst single-null type I error, coverage with both paths non-zero
    20: {
        "delta": {"type1": 0.002, "coverage": 0.953},
        "percentile": {"type1": 0.003, "coverage": 0.992},
        "bca": {"type1": 0.013, "coverage": 0.971},
    },
    50: {
        "delta": {"type1": 0.005, "coverage": 0.901},
        "percentile": {"type1": 0.012, "coverage": 0.957},
        "bca": {"type1": 0.031, "coverage": 0.931},
    },
    100: {
        "delta": {"type1": 0.01, "coverage": 0.916},
        "percentile": {"type1": 0.034, "coverage": 0.937},
        "bca": {"type1": 0.06, "coverage": 0.939},
    },
    200: {
        "delta": {"type1": 0.024, "coverage": 0.939},
        "percentile": {"type1": 0.053, "coverage": 0.943},
        "bca": {"type1": 0.08, "coverage": 0.949},
    },
}
#: The band's upper edge for 1,000 trials at 5% (99% binomial band): above it, liberal.
LIBERAL_ABOVE = 0.069
ALPHA = 0.05
N_BOOT = 2000
METHOD_NAMES = {"delta": "delta method", "percentile": "percentile bootstrap",
                "bca": "BCa bootstrap"}


def mediation_plan(page: PageContext, y: str) -> dict | None:
    """Mediator, its visit and the outcome's visit for outcome ``y``: the design's
    ``mediation`` key, else the primary strength measure, its last visit at or before the
    outcome visit, and the outcome's last visit. ``None`` when not possible."""
    d, spec = page.design, page.design.mediation
    mediator = spec.get("mediator") or page.strength
    if mediator is None or mediator not in page.data or mediator == y:
        return None
    ov = spec.get("outcome_visit", page.visits_of(y)[-1] if page.visits_of(y) else None)
    if ov is None or not d.measure(y).taken_at(ov) or not d.measure(y).taken_at(page.base):
        return None
    before = [t for t in page.visits_of(mediator) if t != page.base
              and page.grid.index(t) <= page.grid.index(ov)]
    mv = spec.get("mediator_visit", before[-1] if before else None)
    if mv is None or not d.measure(mediator).taken_at(page.base):
        return None
    return {"mediator": mediator, "mediator_visit": mv, "outcome_visit": ov}


def mediation_frame(page: PageContext, y: str, plan: dict) -> pd.DataFrame:
    """One row per participant: arm, the mediator's change and baseline, the outcome at its
    visit and at baseline (``<mediator>_change``, ``<mediator>_bl``, ``<y>``, ``<y>_bl``)."""
    m, T = plan["mediator"], page.time
    wide = page.data.pivot(index="subject", columns=T, values=[m, y])
    arm = page.data.groupby("subject")["group"].first()
    out = pd.DataFrame({"subject": wide.index, "group": arm.reindex(wide.index).to_numpy(),
                        f"{m}_change": (wide[m][plan["mediator_visit"]]
                                        - wide[m][page.base]).to_numpy(),
                        f"{m}_bl": wide[m][page.base].to_numpy(),
                        y: wide[y][plan["outcome_visit"]].to_numpy(),
                        f"{y}_bl": wide[y][page.base].to_numpy()})
    return out.reset_index(drop=True)


def mediation(page: PageContext) -> None:
    """For a design with two or more randomised arms and a mediator measured after
    baseline: per outcome, the path figure, the effects table, the sensitivity figure, the
    E-value and the result in words; otherwise a sentence saying why not."""
    d = page.design
    if not page.group:
        say(f"{_TITLE}\n\nOne group: there is no arm whose effect a mediator could carry.")
        return
    if not d.randomised:
        say(f"{_TITLE}\n\nThe groups were not randomised ({', '.join(d.groups)}: people "
            "compared as they came, not allocated): a group is not an exposure anyone could "
            "be moved between, so mediation of a group \"effect\" is not estimable and is "
            "not run.")
        return
    plans = {y: mediation_plan(page, y) for y in page.outcomes}
    first = next((p for p in plans.values() if p), None)
    if first is None:
        say(f"{_TITLE}\n\nNo mediator measured at baseline and after it (declare "
            "`mediation = { mediator = ..., mediator_visit = ..., outcome_visit = ... }`).")
        return
    say(_INTRO.format(mediator=page.prose(first["mediator"]), ref=d.reference, T=page.time,
                      base=page.base, mv=first["mediator_visit"], ov=first["outcome_visit"]))
    for y, plan in plans.items():
        if plan is not None:
            _one_outcome(page, y, plan)


def _method(n: int) -> tuple[dict, str]:
    """The interval the page uses at this size, and why: at the calibrated size nearest
    ``n``, the first of percentile bootstrap, BCa bootstrap, delta method that holds its
    level there (single-null type I error and non-coverage with both paths non-zero at most
    the band's upper edge). The percentile bootstrap comes first because it held at every
    calibrated size, BCa turns liberal as n grows and the delta interval under-covers."""
    near = min(CALIBRATION, key=lambda k: (abs(np.log(k / max(n, 1))), k))
    rates = CALIBRATION[near]
    holds = {m: r["type1"] <= LIBERAL_ABOVE and 1 - r["coverage"] <= LIBERAL_ABOVE
             for m, r in rates.items()}
    best = next(m for m in ("percentile", "bca", "delta") if holds[m])

    def said(m):
        r = rates[m]
        verdict = ("liberal" if r["type1"] > LIBERAL_ABOVE else "under-covers"
                   if not holds[m] else "conservative" if r["type1"] < ALPHA / 2 else "holds")
        return (f"{METHOD_NAMES[m]} {100 * r['type1']:.1f}% and {100 * r['coverage']:.1f}% "
                f"({verdict})")

    why = (f"at n = {near}, the calibrated size nearest this study's {n} (1,000 simulated "
           "trials per cell; type I error of the indirect effect under a single null, then "
           "coverage of its 95% interval with both paths non-zero): "
           + "; ".join(said(m) for m in (best, *[m for m in rates if m != best]))
           + ". The page prefers the percentile bootstrap wherever it holds: it held at every "
           "calibrated size (20-200 participants), while the delta interval is conservative "
           "and under-covers at 50-100 and BCa turns liberal as n grows")
    if best == "delta":
        return {"method": "delta"}, f"delta method (normal theory, as regmedint). Why: {why}"
    return ({"method": "bootstrap", "ci": best, "n_boot": N_BOOT},
            f"{METHOD_NAMES[best]} ({N_BOOT:,} resamples, seeded). Why: {why}")


def _one_outcome(page: PageContext, y: str, plan: dict) -> None:
    m = plan["mediator"]
    frame = mediation_frame(page, y, plan)
    frame.attrs = page.data.attrs
    cols = ["group", f"{m}_change", f"{m}_bl", y, f"{y}_bl"]
    kw, why = _method(int(frame[cols].notna().all(axis=1).sum()))
    med = hs.mediation(frame, outcome=y, mediator=f"{m}_change", exposure="group",
                       covariates=[f"{y}_bl", f"{m}_bl"], interaction=True,
                       a0=page.design.reference, a1=None, seed=page.seed,
                       level=1 - page.alpha, **kw)
    sens = med.sensitivity()
    page.save(med.table.reset_index(), f"mediation-{y}")
    page.save(med.paths, f"mediation-{y}-paths")
    page.save(sens["curve"], f"mediation-{y}-sensitivity")
    page.save(sens["evalues"], f"mediation-{y}-evalues")
    page.save(med.excluded, f"mediation-{y}-excluded")
    say(f"### {page.label(m, False)} and {page.prose(y)}\n\n" + _setting_text(page, y, plan, med)
        + f" Interval: {why}.")
    for contrast in med.contrasts:
        _contrast(page, y, plan, med, sens, contrast)


def _setting_text(page, y, plan, med) -> str:
    T, m = page.time, plan["mediator"]
    n = sum(med.n.values()) if len(med.contrasts) == 1 else max(med.n.values())
    text = (f"{page.label(m, False)} change from {T} {page.base} to {T} "
            f"{plan['mediator_visit']}; {page.prose(y)} at {T} {plan['outcome_visit']}; "
            f"{n} participants analysed")
    text += (f", {len(med.excluded)} left out for a missing value (listed in the CSV table "
             f"`mediation-{y}-excluded`)." if len(med.excluded) else ", none left out.")
    if plan["mediator_visit"] == plan["outcome_visit"]:
        text += (f" {page.label(m, False)} and {page.prose(y)} were measured at the same visit "
                 f"({T} {plan['outcome_visit']}): temporal order is not established, so the "
                 "change in the mediator may as well follow the outcome as lead to it.")
    return text


def _contrast(page, y, plan, med, sens, contrast) -> None:
    m = plan["mediator"]
    tab = med.table if len(med.contrasts) == 1 else med.table.xs(contrast, level="contrast")
    paths = med.paths[med.paths["contrast"] == contrast]
    arm = contrast.split(" vs ")[0]
    page.figure(plots_mediation.path_diagram(paths, f"{arm} (vs {page.design.reference})",
                                             f"Change in {page.prose(m)}", page.label(y)),
                f"mediation-{y}-{arm}-paths", f"{page.label(y)}: {arm} against "
                f"{page.design.reference}, through the change in {page.prose(m)} (a, b and "
                "direct coefficients with 95% CIs)")
    clear_total = tab.loc["te", "lci"] > 0 or tab.loc["te", "uci"] < 0
    shown = tab.loc[["te", "pnde", "tnie"] + (["pm"] if clear_total else [])]
    shown = shown.rename(index={"te": "Total effect", "pnde": "Natural direct effect",
                                "tnie": "Natural indirect effect",
                                "pm": "Proportion mediated"})
    page.table(shown.reset_index().rename(columns={"effect": "Effect", "est": "estimate",
                                                   "lci": "ci_low", "uci": "ci_high"}),
               f"{page.label(y)}: {contrast}, effects through the change in {page.prose(m)}",
               f"med-{y}-{arm}", labels=None,
               note="Natural effects at the covariate means (Valeri & VanderWeele 2013); "
                    "proportion mediated shown only when the total effect's CI excludes 0."
                    + ("" if clear_total else " Here it does not."))
    curve = sens["curve"][sens["curve"]["contrast"] == contrast]
    rz = sens["rho_zero"] if len(med.contrasts) == 1 else sens["rho_zero"][contrast]
    page.figure(plots_mediation.sensitivity_curve(curve, rho_zero=rz,
                                                  ylabel=f"Indirect effect on {page.prose(y)}"),
                f"mediation-{y}-{arm}-sensitivity", f"{page.label(y)}: the natural indirect "
                f"effect of {arm} if the errors of the mediator and outcome models correlated "
                "rho (an unmeasured common cause)")
    ev = sens["evalues"]
    ev = ev[ev["contrast"] == contrast].set_index("effect")
    say(summary.describe_mediation(tab, paths, m, y, arm, rz, ev, data=page.data))
