"""Page section: responders at the last visit by the instrument's MCID."""

from __future__ import annotations

import hipstats as hs
from hipstats.pages.context import PageContext, say

__all__ = ["responders", "PAIN_INSTRUMENTS"]

#: Pain scales for which a 30% reduction also counts as a response (IMMPACT: Dworkin RH et
#: al. J Pain 2008;9(2):105-121; Farrar JT et al. Pain 2001;94(2):149-158), as trials of
#: patellofemoral pain report it beside the absolute MCID.
PAIN_INSTRUMENTS = ("vas", "nprs")


def responders(page: PageContext) -> None:
    """Responders from baseline to the last visit at which each outcome is taken: an
    improvement of at least the instrument's MCID in its direction (for pain scales, or at
    least 30% of baseline), by arm, with Wilson CIs and, for two arms, the Newcombe CI of
    the difference and the NNT."""
    say("## Responders at the last visit\n\nA responder improved by at least the "
        "instrument's minimal clinically important difference (MCID) from baseline to the "
        "last visit, in the instrument's direction; on a pain scale a drop of at least 30% of "
        "baseline also counts (IMMPACT).")
    T, base = page.time, page.base
    for y in page.outcomes:
        facts = page.design.measure(y)
        visits = page.visits_of(y)
        if facts.mcid is None:
            say(f"{page.label(y)}: no MCID for this instrument; declare `mcid = ...` on the "
                "measure to count responders.")
            continue
        if base not in visits or len(visits) < 2:
            continue
        pain = facts.instrument in PAIN_INSTRUMENTS
        resp = hs.responders(page.data, y, T, "subject", base, visits[-1], group=page.group,
                             mcid="auto", relative=0.30 if pain else None,
                             rule="either" if pain else "absolute", direction="auto",
                             alpha=page.alpha)
        page.save(resp, f"responders-{y}")
        rule = f"at least {facts.mcid:g}" + (" or 30%" if pain else "")
        page.table(_shown(resp),
                   f"{page.label(y)}: responders at {T} {visits[-1]} (improvement of {rule})",
                   f"resp-{y}", labels=None,
                   note=f"MCID {facts.mcid:g}: {facts.mcid_source}. Wilson CIs; Newcombe CI for "
                        "the difference; NNT with Altman's interval.")


def _shown(resp):
    """The responder table without columns that are empty (NNT with one arm) or constant
    bookkeeping (``kind`` when every row is an arm)."""
    empty = [c for c in resp if resp[c].isna().all() or (resp[c].astype(str) == "").all()]
    if "kind" in resp and resp["kind"].nunique() == 1:
        empty.append("kind")
    return resp.drop(columns=empty)
