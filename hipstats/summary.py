"""Plain-language summaries generated from analysis results (never hand-written).

Each function turns tidy result frames into a few sentences for a clinician reader,
stating estimates with their intervals and saying what the design can and cannot show.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hipstats.labels import measure_facts, measure_label, names_in_words

__all__ = ["describe_timepoint_corr", "describe_rm_corr", "describe_cross_lagged",
           "describe_paired_change", "describe_ancova", "describe_within_between",
           "describe_source", "p_text", "describe_mediation", "describe_rm_corr_beside",
           "within_clear"]


def p_text(p: float) -> str:
    """APA-style p-value text."""
    return "p < .001" if p < 0.001 else f"p = {p:.3f}".replace("0.", ".")


def _label(v) -> str:
    """A visit label as people write it: 2, not 2.0."""
    try:
        f = float(v)
        return str(int(f)) if f == int(f) else f"{f:g}"
    except (TypeError, ValueError):
        return str(v)


def _name(col: str, data=None) -> str:
    """A measure as prose names it: ``"pain (VAS)"``, ``"hip-abductor strength"``; a plain
    word without a frame to label it (``"function"``) is kept as written."""
    if data is None and "_" not in str(col):
        return str(col)
    text = measure_label(str(col), data, unit=False)
    if len(text) > 1 and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def _verdict(col: str, lo: float, hi: float, data=None) -> str:
    """``"improved"``/``"worsened"`` from the instrument's direction when the 95% CI of the
    change excludes zero, else ``""`` (no clear change, or no direction known)."""
    direction = measure_facts(str(col), data).get("direction", "")
    if not direction or not (lo > 0 or hi < 0):
        return ""
    better = (lo > 0) == (direction == "higher_better")
    return "improved" if better else "worsened"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def describe_timepoint_corr(res: pd.DataFrame, x: str, y: str, alpha: float = 0.05,
                            data=None) -> str:
    """Say at which visits y was associated with x, in which direction, with CIs; claim
    "at each visit" only when every visit's (adjusted) test is below ``alpha``. ``x`` and
    ``y`` are named by their labels (from ``data.attrs["measures"]`` when given)."""
    x, y = _name(x, data), _name(y, data)
    time = res.columns[0]
    pcol = "pval_adj" if "pval_adj" in res else "pval"
    parts, sig, nonsig = [], [], []
    for _, r in res.iterrows():
        lab = f"{time} {_label(r[time])}"
        (sig if r[pcol] < alpha else nonsig).append(lab)
        parts.append(f"{lab}: r = {r['r']:.2f} (95% CI {r['ci_low']:.2f} to "
                     f"{r['ci_high']:.2f}, n = {int(r['n'])}, {p_text(r[pcol])})")
    adj = " after Holm adjustment" if pcol == "pval_adj" else ""
    signs = {("positive" if r > 0 else "negative") for r in res.loc[
        res[pcol] < alpha, "r"]}
    direction = f"{signs.pop()}ly " if len(signs) == 1 else ""
    if sig and not nonsig:
        head = f"Between subjects, {y} was {direction}associated with {x} at every visit{adj}"
    elif sig:
        head = (f"Between subjects, {y} was {direction}associated with {x}{adj} at "
                f"{_join(sig)}, but not clearly at {_join(nonsig)}")
    else:
        head = f"Between subjects, no visit showed a clear association of {y} with {x}{adj}"
    return head + ": " + "; ".join(parts) + ". With small samples these intervals are wide."


def describe_rm_corr(res: pd.DataFrame, x: str, y: str, data=None,
                     alpha: float = 0.05) -> str:
    """The common within-subject association; a direction only when p < alpha (a CI
    spanning zero says no clear association, not "fell with it"). Not adjusted for visit:
    pages report :func:`describe_within_between` (visit-adjusted) as the headline and
    :func:`describe_rm_corr_beside` beside it."""
    x, y = _name(x, data), _name(y, data)
    r = res.iloc[0]
    if r["pval"] < alpha:
        verdict = f"their {y} {'rose' if r['r'] > 0 else 'fell'} with it"
    else:
        verdict = f"their {y} did not clearly move with it"
    return (f"Within subjects, when a person's {x} was higher than their own average, "
            f"{verdict}: repeated-measures r = {r['r']:.2f} (95% CI "
            f"{r['ci_low']:.2f} to {r['ci_high']:.2f}, {p_text(r['pval'])}, "
            f"{int(r['n_subjects'])} subjects, {int(r['n_obs'])} visits).")


def describe_cross_lagged(res: pd.DataFrame, alpha: float = 0.05, data=None) -> str:
    """Cross-lagged paths with their direction; always "temporal precedence, not cause"."""
    cl = res[res["role"] == "cross-lagged"]
    parts = []
    for _, r in cl.iterrows():
        sign = "higher" if r["estimate"] > 0 else "lower"
        pred = _name(str(r["predictor"]).removesuffix("[k-1]"), data)
        outc = _name(r["outcome"], data)
        if r["pval"] < alpha:
            verdict = (f"a higher {pred} than usual was followed by {sign} "
                       f"{outc} at the next visit")
        else:
            verdict = f"{pred} did not clearly predict {outc} at the next visit"
        parts.append(f"{verdict} (standardised {r['std_estimate']:.2f}; estimate "
                     f"{r['estimate']:.2f}, 95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, "
                     f"{p_text(r['pval'])})")
    return ("Cross-lagged (within-person) analysis: " + "; ".join(parts) + ". This tests "
            "temporal precedence, not cause: unmeasured changes over time can drive both.")


def within_clear(fit, x: str) -> bool:
    """True when the visit-adjusted within-person estimate of ``x`` (term ``x_within`` of
    the within/between model) has a 95% CI that excludes zero."""
    term = f"{x}_within"
    if term not in fit.fixed.index:
        return False
    r = fit.fixed.loc[term]
    return bool(r["ci_low"] > 0 or r["ci_high"] < 0)


def describe_within_between(fit, x: str, y: str, alpha: float = 0.05, data=None,
                            time: str = "visit") -> str:
    """The headline of how x and y go together within participants: ``y ~ x_within +
    x_between + visit``, i.e. adjusted for visit (the trend both share). A direction
    ("higher", "lower") is stated only when the estimate's 95% CI excludes zero; otherwise
    the sentence says no clear link, with the estimate and CI."""
    out = []
    col = x
    x, y = _name(x, data), _name(y, data)
    for part, who, none in (
            ("within", f"when a person's {x} was higher than their own average, their {y} at "
                       "that visit was", f"a person's {y} did not clearly move with their own "
                       f"{x} beyond the shared {time} trend"),
            ("between", f"people whose average {x} was higher had an average {y}",
             f"people's average {y} did not clearly differ with their average {x}")):
        term = f"{col}_{part}"
        if term not in fit.fixed.index:
            continue
        r = fit.fixed.loc[term]
        ci = (f"{r['estimate']:.2f} per unit, 95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, "
              f"{p_text(r['pval'])}")
        if r["ci_low"] > 0 or r["ci_high"] < 0:
            direction = "higher" if r["estimate"] > 0 else "lower"
            out.append(f"{who} {direction} by {abs(r['estimate']):.2f} points per unit (95% CI "
                       f"{r['ci_low']:.2f} to {r['ci_high']:.2f}, {p_text(r['pval'])})")
        else:
            out.append(f"{none} ({ci})")
    if not out:
        return ""
    return (f"Within-person link, adjusted for {time}: " + out[0] + "." +
            (" Between-person: " + out[1] + "." if len(out) > 1 else "") +
            " The within-person estimate is the one a change in a patient's own strength "
            "speaks to; the between-person one compares patients.")


def describe_rm_corr_beside(res: pd.DataFrame, x: str, y: str, clear_within: bool,
                            data=None, time: str = "visit") -> str:
    """The repeated-measures correlation, reported beside the visit-adjusted estimate: it
    does not adjust for visit, so it includes the time trend both measures share; it names
    no direction of its own (the visit-adjusted estimate does, when its CI excludes 0)."""
    x, y = _name(x, data), _name(y, data)
    r = res.iloc[0]
    text = (f"Beside it, the repeated-measures correlation of {y} with {x} (r = {r['r']:.2f}, "
            f"95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, {p_text(r['pval'])}, "
            f"{int(r['n_subjects'])} participants, {int(r['n_obs'])} visits) includes the "
            f"{time} trend both measures share, so it is not by itself a within-person link")
    if not clear_within and (r["ci_low"] > 0 or r["ci_high"] < 0):
        text += (f"; here the visit-adjusted estimate shows no clear link beyond that shared "
                 "trend")
    return text + "."


def describe_paired_change(res: pd.DataFrame, dv: str, data=None) -> str:
    """Change per group in words; "improved"/"worsened" from the instrument's direction."""
    parts = []
    name = _name(dv, data)
    for _, r in res.iterrows():
        who = f"In the {r['group']} group" if "group" in res else "Overall"
        verdict = _verdict(dv, r["ci_low"], r["ci_high"], data)
        parts.append(f"{who}, {name} {verdict + ', changing' if verdict else 'changed'} by "
                     f"{r['mean_diff']:.2f} (95% CI {r['ci_low']:.2f} "
                     f"to {r['ci_high']:.2f}; n = {int(r['n'])}, {p_text(r['pval'])}; "
                     f"Hedges' g (average SD) = {r['hedges_g']:.2f})")
    return ". ".join(parts) + "."


def describe_ancova(res: pd.DataFrame, dv: str, data=None) -> str:
    dv = _name(dv, data)
    r = res.iloc[0]
    return (f"At follow-up, adjusted for baseline {dv}, the difference {r['contrast']} was "
            f"{r['estimate']:.2f} (95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, "
            f"{p_text(r['pval'])}, n = {int(r['n'])}).")


def describe_source(data_path, data: pd.DataFrame) -> str:
    """Provenance paragraph for a page: the bundled synthetic example (only then is the word
    "synthetic" used) or the user's file with its layout, rows read, kept and excluded,
    missed visits, units, conversions, any assumed unit and how the file was read
    (``attrs["readings"]``), measures named by their labels; and the hipstats version."""
    import hipstats

    n_sub = data["subject"].nunique() if "subject" in data else len(data)
    version = f" Analysed with hipstats {hipstats.__version__}."
    if not data_path:
        return ("Data: the bundled example cohort. These data are **synthetic**, calibrated to "
                f"published summaries (see `data/datapackage.json`); {len(data)} rows, "
                f"{n_sub} subjects." + version)
    from pathlib import PurePath

    rep = data.attrs.get("hipstats_report") or {}
    parts = [f"Data: `{PurePath(str(data_path)).name}`"]
    if rep:
        parts.append(f"{rep.get('layout', '')} layout, {rep.get('n_input_rows', '?')} rows read, "
                     f"{rep.get('n_excluded_rows', 0)} excluded, "
                     f"{rep.get('n_missing_visits', 0)} missed visits kept as missing")
    parts.append(f"{len(data)} person-visits of {n_sub} subjects")
    text = "; ".join(parts) + "."
    units = data.attrs.get("units") or {}
    if units:
        text += " Units: " + "; ".join(f"{measure_label(c, data, unit=False)}: {_unit_text(u)}"
                                       for c, u in _in_column_order(units, data)) + "."
    conv = data.attrs.get("conversions") or []
    if conv:
        text += " Conversions: " + "; ".join(
            f"{measure_label(c.partition(': ')[0], data, unit=False)}: "
            f"{_in_words(c.partition(': ')[2], data)}" for c in map(str, conv)) + "."
    assumed = data.attrs.get("unit_assumed") or {}
    text += "".join(f" **{measure_label(k, data, unit=False)}: no unit was declared; "
                    f"{_unit_text(v)} was assumed.**" for k, v in sorted(assumed.items()))
    readings = data.attrs.get("readings") or []
    if readings:
        text += " How the file was read: " + "; ".join(
            f"{r['heading']} ({'; '.join(_in_words(i, data) for i in r['items'])})"
            for r in readings) + "."
    return text + version


def _unit_text(unit) -> str:
    return str(unit).replace("*", "\u00b7")


def _in_column_order(mapping: dict, data: pd.DataFrame) -> list:
    cols = list(getattr(data, "columns", []))
    return sorted(mapping.items(), key=lambda kv: (cols.index(kv[0]) if kv[0] in cols
                                                   else len(cols), kv[0]))


def _in_words(text: str, data: pd.DataFrame) -> str:
    """A loader's sentence for the page: the frame's column names as labels (``body_mass (kg)``
    -> ``body mass (kg)``), file column names quoted in it as code (``'hip_abd_torque_nm'``),
    units with a middle dot."""
    cols = list(getattr(data, "columns", []))
    parts = re.split(r"'([^'\s]+)'", str(text))
    return "".join(f"`{part}`" if k % 2 else _unit_text(names_in_words(part, cols, data))
                   for k, part in enumerate(parts))


def _units(col: str, data=None) -> str:
    u = measure_facts(str(col), data).get("unit", "")
    return "" if not u or u == "points" else " " + str(u).replace("*", "\u00b7")


def describe_mediation(table: pd.DataFrame, paths: pd.DataFrame, mediator: str, outcome: str,
                       arm: str, rho_zero: float, evalues: pd.DataFrame, data=None) -> str:
    """One contrast of a mediation analysis in the words of the published ones ("strength
    improved with HIP (0.40 N/kg) but did not clearly carry its effect on pain: indirect
    effect -0.05 cm, 95% CI -0.21 to 0.11"): a change in the mediator or a carried effect
    is claimed only when its 95% CI excludes zero, improvement only from the measure's
    direction; the proportion mediated only when the total effect is clearly non-zero; the
    rho at which the indirect effect vanishes and the E-value of the total effect."""
    m, y = _name(mediator, data), _name(outcome, data)
    a = paths.set_index("path").loc["a"]
    a_clear = a["lci"] > 0 or a["uci"] < 0
    verdict = _verdict(mediator, a["lci"], a["uci"], data) or ("changed" if a_clear else "")
    a_text = (f"{m} {verdict} with {arm} ({a['est']:.2f}{_units(mediator, data)}, 95% CI "
              f"{a['lci']:.2f} to {a['uci']:.2f})" if verdict else
              f"{m} did not clearly change with {arm} ({a['est']:.2f}{_units(mediator, data)}, "
              f"95% CI {a['lci']:.2f} to {a['uci']:.2f})")
    ie, te, de = table.loc["tnie"], table.loc["te"], table.loc["pnde"]
    u = _units(outcome, data)
    carried = ie["lci"] > 0 or ie["uci"] < 0
    link = ("and carried part of its effect on" if carried and verdict else
            "yet carried an effect on" if carried else
            "but did not clearly carry its effect on" if verdict else
            "and did not clearly carry an effect on")
    text = (f"{a_text[0].upper()}{a_text[1:]} {link} {y}: indirect effect {ie['est']:.2f}{u}, "
            f"95% CI {ie['lci']:.2f} to {ie['uci']:.2f}. The total effect of {arm} on {y} was "
            f"{te['est']:.2f}{u} (95% CI {te['lci']:.2f} to {te['uci']:.2f}), the direct "
            f"effect {de['est']:.2f}{u} ({de['lci']:.2f} to {de['uci']:.2f})")
    if te["lci"] > 0 or te["uci"] < 0:
        pm = table.loc["pm"]
        text += (f"; proportion mediated {pm['est']:.2f} (95% CI {pm['lci']:.2f} to "
                 f"{pm['uci']:.2f})")
    text += "."
    if np.isfinite(rho_zero):
        text += (f" The indirect effect would vanish if an unmeasured common cause made the "
                 f"errors of the {m} and {y} models correlate at rho = {rho_zero:.2f}.")
    ev = evalues.loc["te"]
    text += (f" E-value of the total effect: {ev['evalue']:.2f} (its CI: "
             f"{ev['evalue_ci']:.2f}): the risk ratio an unmeasured confounder would need with "
             "both arm and outcome to explain it away (VanderWeele & Ding 2017).")
    return text
