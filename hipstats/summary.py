"""Plain-language summaries generated from analysis results (never hand-written).

Each function turns tidy result frames into a few sentences for a clinician reader,
stating estimates with their intervals and saying what the design can and cannot show.
"""

from __future__ import annotations

import re

import pandas as pd

from hipstats.labels import measure_facts, measure_label, names_in_words

__all__ = ["describe_timepoint_corr", "describe_rm_corr", "describe_cross_lagged",
           "describe_paired_change", "describe_ancova", "describe_within_between",
           "describe_source", "p_text"]


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
    spanning zero says no clear association, not "fell with it")."""
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


def describe_within_between(fit, x: str, y: str, alpha: float = 0.05, data=None) -> str:
    """Plain words for ``y ~ x_within + x_between + ...``: the within-person and the
    between-person effect of x, each with its direction, CI and p."""
    out = []
    col = x
    x, y = _name(x, data), _name(y, data)
    for part, who in (("within", f"when a person's {x} was higher than their own average, "
                                 f"their {y} at that visit was"),
                      ("between", f"people whose average {x} was higher had an average {y}")):
        term = f"{col}_{part}"
        if term not in fit.fixed.index:
            continue
        r = fit.fixed.loc[term]
        direction = "higher" if r["estimate"] > 0 else "lower"
        clear = "" if r["pval"] < alpha else " (not clearly different from zero)"
        out.append(f"{who} {direction} by {abs(r['estimate']):.2f} points per unit{clear} "
                   f"(95% CI {r['ci_low']:.2f} to {r['ci_high']:.2f}, {p_text(r['pval'])})")
    if not out:
        return ""
    return ("Within-person effect: " + out[0] + "." + (" Between-person effect: " + out[1] + "."
            if len(out) > 1 else "") + " The within-person effect is the one a change in a "
            "patient's own strength speaks to; the between-person effect compares patients.")


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
