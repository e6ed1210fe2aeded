"""Page section: the primary analysis of each outcome, a baseline-adjusted MMRM."""

from __future__ import annotations

import hipstats as hs
from hipstats import plots, summary
from hipstats.labels import add_labels, names_in_words
from hipstats.pages.context import PageContext, say

__all__ = ["primary"]

_INTRO = (
    "## Primary analysis: baseline-adjusted model for repeated measures\n\n"
    "Each outcome at the post-baseline visits is modelled as `outcome ~ baseline value + "
    "arm * visit` (`hs.primary_analysis`; with one group, `outcome ~ baseline value + visit`): "
    "a mixed model for repeated measures (MMRM, as R's `mmrm` and SAS PROC MIXED fit it) with "
    "an unstructured covariance across visits, REML and Kenward-Roger df, giving the estimated "
    "mean at each visit{arms}. The covariance order is pre-specified: unstructured first; if "
    "it does not converge, heterogeneous Toeplitz, then heterogeneous AR(1), then compound "
    "symmetry (the order `mmrm` users follow); the model line under each outcome says which "
    "was fitted and why. With one post-baseline visit the model is the baseline-adjusted "
    "ANCOVA.")

_NOT_RANDOMISED = (
    "The baseline-adjusted difference estimates a treatment effect when the arms were "
    "randomised. When they were not (patients against controls), arms that start far apart "
    "make the adjustment extrapolate beyond the data (Lord's paradox): read it beside the "
    "change within each arm and the arm x visit interaction above.")


def primary(page: PageContext) -> None:
    """For each outcome: the model in words (with the R call), estimated means by arm and
    visit, the difference from the reference arm at each visit with its 95% CI and, in
    words, at the last visit; the fixed effects; model means drawn over observed means.
    The fits are kept in ``page.results["primary"]`` for the next-trial section."""
    say(_INTRO.format(arms=" of each arm and the difference from the reference arm with its "
                      "95% CI" if page.group else ""))
    if page.group:
        say(_NOT_RANDOMISED)
    page.results["primary"] = {}
    for y in page.outcomes:
        visits = page.visits_of(y)
        if page.base not in visits or len(visits) < 2:
            say(f"### {page.label(y)}\n\n{page.label(y, False)} is not taken at baseline and "
                "a later visit: no baseline-adjusted analysis.")
            continue
        _one_outcome(page, y, visits)


def _one_outcome(page: PageContext, y: str, visits: list) -> None:
    T, group, d = page.time, page.group, page.design
    data = page.data[page.data[T].isin(visits)]
    pa = hs.primary_analysis(data, y, T, "subject", group=group,
                             reference=d.reference if group else None, baseline=page.base,
                             alpha=page.alpha)
    fit, emm, con = pa.fit, pa.emmeans, pa.contrasts
    page.save(add_labels(fit.fixed.reset_index(), "term", page.data, d), f"primary-{y}-fixed")
    page.save(emm, f"primary-{y}-emmeans")
    page.save(fit.exclusions, f"primary-{y}-rows-not-analysed")
    say(f"### {page.label(y)}\n\nModel: {pa.method}." + _excluded_text(page, fit))
    page.table(emm, f"{page.label(y)}: estimated means by {'arm and ' if group else ''}{T}, "
               "adjusted for baseline", f"emm-{y}", labels=None)
    if group:
        page.save(con, f"primary-{y}-contrasts")
        page.table(con, f"{page.label(y)}: difference from {d.reference} at each {T} (95% CI)",
                   f"con-{y}", labels=None, note="Contrasts of estimated means, not adjusted "
                   "for multiplicity; the last visit is the primary comparison.")
        say(_difference_text(page, y, con, visits[-1]))
    page.table(fit.fixed, f"{page.label(y)}: fixed effects", f"fixed-{y}", design=d)
    page.figure(plots.model_trajectories(emm, T, group, data=pa.frame, y=y, order=visits[1:]),
                f"primary-{y}", f"{page.label(y)}: model-estimated means (95% CI) over "
                "observed means")
    page.results["primary"][y] = pa


def _excluded_text(page: PageContext, fit) -> str:
    """Rows the model did not use, counted by reason (the rows are in the CSV table)."""
    ex = getattr(fit, "exclusions", None)
    if ex is None or len(ex) == 0:
        return " Every post-baseline row was analysed."
    counts = ex.groupby("reason", sort=True)["subject"].agg(["size", "nunique"])
    names = [*page.data.columns, *(f"{c}_bl" for c in page.data.columns)]
    parts = [f"{r['size']} row(s) of {r['nunique']} participant(s): "
             f"{names_in_words(reason, names, page.data)}" for reason, r in counts.iterrows()]
    return (" Rows not in the model (listed in the CSV table; the MMRM uses every other "
            "visit of these participants): " + "; ".join(parts) + ".")


def _difference_text(page: PageContext, y: str, con, last) -> str:
    """The arm differences at the last visit in words: a favoured arm is named only when
    the CI excludes no difference and the instrument gives a direction."""
    facts, T = page.design.measure(y), page.time
    unit = f" {facts.unit}" if facts.unit and facts.unit != "points" else (
        " points" if facts.unit == "points" else "")
    out = []
    for r in con[con[T].astype(str) == str(last)].itertuples():
        clear = r.ci_low > 0 or r.ci_high < 0
        better = r.contrast.split(" - ")[0] if (r.estimate > 0) == (
            facts.direction == "higher_better") else page.design.reference
        favours = "" if not facts.direction else (
            f" (favouring {better})" if clear else "; no clear difference")
        out.append(f"At {T} {last}, the difference {r.contrast} in {page.prose(y)} was "
                   f"{r.estimate:.2f}{unit}{favours} (95% CI {r.ci_low:.2f} to "
                   f"{r.ci_high:.2f}, {summary.p_text(r.pval)}).")
    if facts.mcid:
        out.append(f"The instrument's MCID is {facts.mcid:g}.")
    return " ".join(out)
