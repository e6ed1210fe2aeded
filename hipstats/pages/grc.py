"""Page section part: a global rating of change (GRC) declared on the design
(``grc = { instrument = "grc", visits = [12] }``): success (the declared categories) by arm,
unadjusted and adjusted for the primary outcome's baseline, and the proportional-odds
analysis of the whole scale with its common odds ratio and Brant's check."""

from __future__ import annotations

import numpy as np
import pandas as pd

import hipstats as hs
from hipstats.errors import AnalysisError
from hipstats.pages.context import PageContext, say
from hipstats.pages.responders import ADJUSTED_NOTE, _shown, adjusted_rd, small_sample_note
from hipstats.stats.change import _wilson, newcombe, nnt_interval

__all__ = ["grc", "grc_frame"]


def grc_frame(page: PageContext, g: str):
    """One row per participant with a rating at the GRC's last visit: ``subject, group,
    rating, success`` (0/1) and ``baseline`` (the primary outcome at baseline, NaN when
    missing); the visit; and the participants without a rating, per arm."""
    T, m = page.time, page.design.measure(g)
    visit = (m.visits or page.grid)[-1]
    y = page.design.primary.get("outcome")
    at = page.data[page.data[T] == visit].set_index("subject")
    b = page.data[page.data[T] == page.base].set_index("subject")
    arm = at["group"].astype(str) if "group" in at else pd.Series("all", index=at.index)
    d = pd.DataFrame({"group": arm, "rating": at[g]})
    missing = (d[d["rating"].isna()].groupby("group").size()
               .reindex(_arms(page), fill_value=0))
    d = d.dropna(subset=["rating"])
    d["success"] = d["rating"].isin(m.success).astype(int)
    d["baseline"] = b[y].reindex(d.index) if y in b else np.nan
    return d.rename_axis("subject").reset_index(), visit, missing


def _arms(page: PageContext) -> list:
    return list(page.design.groups) or ["all"]


def _success_table(d: pd.DataFrame, page: PageContext) -> pd.DataFrame:
    """Success per arm (Wilson CIs), then each arm minus the reference (Newcombe) with NNT."""
    rows, ref = [], page.design.reference
    for a in _arms(page):
        k, n = int(d.loc[d["group"] == a, "success"].sum()), int((d["group"] == a).sum())
        lo, hi = _wilson(k, n, page.alpha)
        rows.append({"kind": "group", "group": a, "n": n, "successes": k,
                     "proportion": k / n if n else np.nan, "ci_low": lo, "ci_high": hi})
    by = {r["group"]: r for r in rows}
    for a in page.design.arms[:-1] if page.group else []:
        r0, r1 = by[ref], by[a]
        rd, lo, hi = newcombe(r1["successes"], r1["n"], r0["successes"], r0["n"], page.alpha)
        nnt, nl, nh, note = nnt_interval(rd, lo, hi)
        rows.append({"kind": "difference", "group": f"{a} - {ref}", "n": r0["n"] + r1["n"],
                     "successes": r0["successes"] + r1["successes"], "proportion": rd,
                     "ci_low": lo, "ci_high": hi, "nnt": nnt, "nnt_ci_low": nl,
                     "nnt_ci_high": nh, "nnt_note": note})
    return pd.DataFrame(rows)


def grc(page: PageContext, g: str) -> None:
    """The GRC's section: distribution, success (unadjusted and adjusted), proportional
    odds; which participants each counts."""
    m, T = page.design.measure(g), page.time
    d, visit, missing = grc_frame(page, g)
    cats = ", ".join(f"{v:g}" for v in m.success)
    say(f"### {page.label(g, False)} at {T} {visit}\n\nSuccess: a rating of {cats} on the "
        f"{m.low:g}-{m.high:g} scale ({'higher' if m.direction != 'lower_better' else 'lower'}"
        " is better). " + _who(d, missing, page))
    if d.empty:
        return
    counts = pd.crosstab(d["rating"], d["group"]).reindex(
        index=np.arange(m.low, m.high + 1), columns=_arms(page), fill_value=0)
    page.save(counts.rename_axis("rating").reset_index(), f"grc-{g}-counts")
    table = _success_table(d, page)
    page.save(table, f"grc-{g}-success")
    page.table(_shown(table), f"{page.label(g, False)}: success at {T} "
               f"{visit}" + (" by arm" if page.group else ""), f"grc-{g}", labels=None,
               note=f"Success = {cats}; {m.mcid_source}. Wilson CIs; Newcombe CI for the "
                    "difference; NNT with Altman's interval.")
    if not page.group:
        return
    y = page.design.primary.get("outcome")
    if d["baseline"].notna().any() and d["success"].nunique() == 2:
        adj, me = adjusted_rd(d, "success", "baseline", page)
        page.save(adj, f"grc-{g}-adjusted")
        page.table(adj, f"{page.label(g, False)}: success, risk difference adjusted for "
                   f"baseline {page.prose(y)}", f"grc-adj-{g}", labels=None,
                   rename={"rd": "Adjusted RD"},
                   note=ADJUSTED_NOTE.format(what="success", model=f"success ~ arm + "
                                             f"baseline {page.prose(y)}"))
        say(_dropped(me, page, y) + "".join(f" {n}." for n in me.notes)
            + small_sample_note(me))
    _proportional_odds(page, g, d, y)


def _who(d: pd.DataFrame, missing: pd.Series, page: PageContext) -> str:
    per = d["group"].value_counts().reindex(_arms(page), fill_value=0)
    text = (f"Counted: the {len(d)} participants with a rating"
            + (" (" + ", ".join(f"{a} {n}" for a, n in per.items()) + ")" if page.group
               else "") + ".")
    if missing.sum():
        text += (f" {int(missing.sum())} without a rating"
                 + (" (" + ", ".join(f"{a} {int(n)}" for a, n in missing.items()) + ")"
                    if page.group else "") + " are not counted, as successes or failures.")
    return text


def _dropped(me, page: PageContext, y: str) -> str:
    if me.dropped.empty:
        return f"The adjusted analysis counts the same {me.n} participants."
    return (f"The adjusted analysis counts {me.n}: {len(me.dropped)} without {page.prose(y)} "
            "at baseline are left out of it.")


def _proportional_odds(page: PageContext, g: str, d: pd.DataFrame, y: str) -> None:
    """Proportional-odds model of the whole scale, adjusted for the primary outcome's
    baseline (when measured): the common odds ratio per arm with its CI, and Brant's test."""
    m = page.design.measure(g)
    cats = d["rating"].nunique()
    if cats < 3:
        say(f"Proportional odds: only {cats} categories were used; see the success analysis.")
        return
    order = [page.design.reference] + list(page.design.arms[:-1])
    dd = d.assign(arm=pd.Categorical(d["group"], categories=order))
    adj = d["baseline"].notna().any()
    try:
        fit = hs.ordinal(dd, "rating ~ arm" + (" + baseline" if adj else ""), alpha=page.alpha)
    except AnalysisError as exc:
        say(f"Proportional odds: not estimable here ({exc}). The success analysis above "
            "stands (with its stated interval).")
        return
    rows = fit.table.loc[[f"arm[T.{a}]" for a in order[1:]]]
    table = pd.DataFrame({"arm": order[1:], "reference": order[0], "n": fit.n,
                          "odds_ratio": rows["or"].to_numpy(), "ci_low": rows["or_lci"].to_numpy(),
                          "ci_high": rows["or_uci"].to_numpy(), "pval": rows["pval"].to_numpy()})
    page.save(table, f"grc-{g}-proportional-odds")
    better = "better" if m.direction != "lower_better" else "worse"
    page.table(table, f"{page.label(g, False)}: common odds ratio of a higher rating"
               + (f", adjusted for baseline {page.prose(y)}" if adj else ""), f"grc-po-{g}",
               labels=None,
               note="Proportional-odds (cumulative logit) model, statsmodels' OrderedModel, "
                    "checked against R's ordinal::clm; an odds ratio above 1: higher (here "
                    f"{better}) ratings in the arm than in the reference, at every cut.")
    po = fit.po_test
    if not np.isfinite(po["stat"]):
        verdict = "not available (a split of the scale is separated)"
    else:
        verdict = (f"χ²({po['df']}) = {po['stat']:.2f}, p = {po['pval']:.3f}: "
                   + ("the odds ratios differ across cuts of the scale, so one common odds "
                      "ratio misdescribes the effect; read the success analysis above"
                      if po["pval"] < page.alpha else
                      "no evidence that the odds ratio differs across cuts of the scale"))
    say(f"Proportional odds checked by Brant's (1990) test of equal slopes across the "
        f"{cats - 1} binary splits of the scale: {verdict}. The model counts {fit.n} "
        "participants" + (f" ({len(fit.dropped)} without baseline "
                          f"{page.prose(y)} left out)" if len(fit.dropped) else "") + ".")
