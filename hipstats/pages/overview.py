"""Page sections: participant flow (with the missed visits) and the baseline table."""

from __future__ import annotations

import pandas as pd

from hipstats import plots, tables
from hipstats.pages.context import PageContext, say
from hipstats.stats.missingness import missed_visits, missing_patterns

__all__ = ["flow", "baseline", "show_patterns"]

_DIRECTION = {"higher_better": "higher is better", "lower_better": "lower is better", "": ""}


def flow(page: PageContext) -> None:
    """Participants assessed and missed at each visit (per arm), and the visit patterns per
    arm (the missed participant-visits in the CSV; kept as missing rows: the models use every
    other visit)."""
    df, T, group = page.data, page.time, page.group
    say("## Participant flow" + (" per arm" if group else ""))
    measures = page.repeated
    fl = tables.cohort_flow(df, T, "subject", measures, order=page.grid, group=group)
    page.save(fl, "cohort-flow")
    page.figure(plots.flow_diagram(fl), "cohort-flow", "Participants assessed and missed at "
                "each visit" + (", by arm" if group else ""))
    missed = missed_visits(df, measures, "subject", T, group, visits=page.grid)
    page.save(missed, "missed-visits")
    if missed.empty:
        say("Every participant attended every visit.")
        return
    pat = missing_patterns(df, measures, "subject", T, group, visits=page.grid)
    page.save(pat, "visit-patterns")
    show_patterns(page, pat, page.grid, "Visit patterns (\u25cf attended, \u25cb missed), most "
                  "frequent first" + (" per arm" if group else ""), "patterns",
                  "Missed visits are kept in the frame as missing (the models use every other "
                  "visit); each missed participant-visit is listed in the CSV table.")


def show_patterns(page: PageContext, pat, visits, caption: str, name: str, note: str) -> None:
    """A :func:`~hipstats.stats.missingness.missing_patterns` table on the page: one column
    per visit (filled circle present, open circle missing), n and % of the arm."""
    T = page.time
    shown = pat.drop(columns=["pattern", "monotone"]).rename(
        columns={v: f"{T} {v}" for v in visits})
    for v in visits:
        shown[f"{T} {v}"] = ["\u25cf" if x else "\u25cb" for x in pat[v]]
    if not page.group:
        shown = shown.drop(columns="arm")
    page.table(shown, caption, name, labels=None, rename={"arm": "Arm", "percent": "%"},
               decimals={"percent": 1}, note=note)


def baseline(page: PageContext) -> None:
    """Baseline characteristics (by arm) and the measures with their instruments and MCIDs."""
    df, d = page.data, page.design
    say("## Baseline characteristics and measures")
    variables = list(d.covariate_names) + [m.name for m in d.measures if m.taken_at(page.base)]
    variables += [c for c in d.derived if c in df and df[c].notna().any()]
    table1 = tables.baseline_table(df, page.time, page.base, variables, group=page.group)
    page.save(table1, "baseline", index=True)
    page.table(table1, "Baseline characteristics" + (" by arm" if page.group else ""), "t1")
    rows = [{"measure": m.name, "label": page.label(m.name), "instrument": m.instrument,
             "range": "" if m.low is None or m.high is None
             else f"{m.low:g} to {m.high:g} {m.unit}".strip(),
             "direction": _DIRECTION[m.direction], "mcid": m.mcid,
             "visits": "all" if m.visits is None else ", ".join(str(v) for v in m.visits),
             "mcid_source": m.mcid_source} for m in d.measures]
    measures = pd.DataFrame(rows)
    page.save(measures, "measures")
    sources = " | ".join(f"{page.label(m.name, False)}: {m.mcid_source}" for m in d.measures
                         if m.mcid_source)
    page.table(measures.drop(columns=["measure", "mcid_source"]),
               "Measures, their instruments and minimal clinically important differences "
               "(MCID)", "measures", labels=None,
               rename={"label": "Measure", "instrument": "Instrument", "range": "Range",
                       "direction": "Direction", "mcid": "MCID", "visits": "Visits"},
               note=("MCID sources: " + sources) if sources else None)
