"""Page sections: participant flow (with the missed visits) and the baseline table."""

from __future__ import annotations

import pandas as pd

from hipstats import plots, tables
from hipstats.pages.context import PageContext, say

__all__ = ["flow", "baseline"]

_DIRECTION = {"higher_better": "higher is better", "lower_better": "lower is better", "": ""}


def flow(page: PageContext) -> None:
    """Participants assessed and missed at each visit (per arm), and the missed visits
    (kept as missing rows: the models use every other visit)."""
    df, T, group = page.data, page.time, page.group
    say("## Participant flow" + (" per arm" if group else ""))
    measures = page.repeated
    fl = tables.cohort_flow(df, T, "subject", measures, order=page.grid, group=group)
    page.save(fl, "cohort-flow")
    page.figure(plots.flow_diagram(fl), "cohort-flow", "Participants assessed and missed at "
                "each visit" + (", by arm" if group else ""))
    keep = ["subject"] + ([group] if group else []) + [T]
    missed = df.loc[df[measures].isna().all(axis=1), keep].reset_index(drop=True)
    page.save(missed, "missed-visits")
    if missed.empty:
        say("Every participant attended every visit.")
    else:
        page.table(missed, "Missed visits (kept in the frame as missing; the models use every "
                   "other visit)", "missed")


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
