"""Page section: responders at the last visit by the instrument's MCID, unadjusted and
covariate-adjusted for baseline (beeca's g-computation with Ye's variance), and the global
rating of change when the design declares one (:mod:`hipstats.pages.grc`)."""

from __future__ import annotations

import pandas as pd

import hipstats as hs
from hipstats.pages.context import PageContext, say
from hipstats.stats.change import nnt_interval, responder_flags

__all__ = ["responders", "adjusted_rd", "small_sample_note", "PAIN_INSTRUMENTS"]

#: Pain scales for which a 30% reduction also counts as a response (IMMPACT: Dworkin RH et
#: al. J Pain 2008;9(2):105-121; Farrar JT et al. Pain 2001;94(2):149-158), as trials of
#: patellofemoral pain report it beside the absolute MCID.
PAIN_INSTRUMENTS = ("vas", "nprs")

ADJUSTED_NOTE = ("Covariate-adjusted risk difference: the average predicted probability of "
                 "{what} with everyone in the arm minus with everyone in the reference arm, "
                 "from the logistic working model {model} (g-computation), with Ye et al.'s "
                 "(2023) variance, robust to a wrong working model (R's beeca, its default; "
                 "FDA 2023 guidance on covariate adjustment); Wald 95% CI; NNT = 1 / RD with "
                 "Altman's interval.")


def small_sample_note(me) -> str:
    """What the calibration measured for an adjusted RD from fewer than 100 participants
    (tests/test_calibration_marginal.py; benchmarks/calibration_marginal.json)."""
    if me.n >= 100:
        return ""
    return (f" With {me.n} participants this interval is somewhat too narrow: Ye's variance "
            "is a large-sample one, and in simulated trials of 30-60 participants its 95% "
            "interval missed a true null 5-7.5% of the time (at 100-200, 4.5-5.3%); the "
            "unadjusted Newcombe interval holds its level.")


def responders(page: PageContext) -> None:
    """Responders from baseline to the last visit at which each outcome is taken: an
    improvement of at least the instrument's MCID in its direction (for pain scales, or at
    least 30% of baseline), by arm, with Wilson CIs and, for two arms, the Newcombe CI of
    the difference and the NNT; then, with arms, the risk difference adjusted for the
    outcome's baseline value, with its CI and NNT. Then each declared global rating of
    change (:func:`hipstats.pages.grc.grc`)."""
    say("## Responders at the last visit\n\nA responder improved by at least the "
        "instrument's minimal clinically important difference (MCID) from baseline to the "
        "last visit, in the instrument's direction; on a pain scale a drop of at least 30% of "
        "baseline also counts (IMMPACT).")
    for y in page.outcomes:
        facts = page.design.measure(y)
        visits = page.visits_of(y)
        if facts.mcid is None:
            say(f"{page.label(y)}: no MCID for this instrument; declare `mcid = ...` on the "
                "measure to count responders.")
            continue
        if page.base not in visits or len(visits) < 2:
            continue
        _unadjusted(page, y, visits[-1])
        if page.group:
            _adjusted(page, y, visits[-1])
        _imputed_responders(page, y)
    from hipstats.pages.grc import grc

    for g in page.ratings:
        grc(page, g)


def _criteria(page: PageContext, y: str) -> dict:
    pain = page.design.measure(y).instrument in PAIN_INSTRUMENTS
    return {"mcid": "auto", "relative": 0.30 if pain else None,
            "rule": "either" if pain else "absolute", "direction": "auto"}


def _unadjusted(page: PageContext, y: str, last) -> None:
    facts, T = page.design.measure(y), page.time
    crit = _criteria(page, y)
    resp = hs.responders(page.data, y, T, "subject", page.base, last, group=page.group,
                         alpha=page.alpha, **crit)
    page.save(resp, f"responders-{y}")
    rule = f"at least {facts.mcid:g}" + (" or 30%" if crit["relative"] else "")
    page.table(_shown(resp),
               f"{page.label(y)}: responders at {T} {last} (improvement of {rule})",
               f"resp-{y}", labels=None,
               note=f"MCID {facts.mcid:g}: {facts.mcid_source}. Wilson CIs; Newcombe CI for "
                    "the difference; NNT with Altman's interval.")


def adjusted_rd(frame: pd.DataFrame, outcome: str, covariate: str, page: PageContext):
    """The covariate-adjusted risk difference of each arm against the design's reference
    (``outcome ~ arm + covariate``, Ye's variance) as a page table (``arm, reference, n,
    rd, ci_low, ci_high, pval, nnt, nnt_ci_low, nnt_ci_high, nnt_note``), and the
    :class:`~hipstats.stats.marginal.MarginalEffect`. ``frame``: one row per participant
    with ``group``, the 0/1 ``outcome`` and the ``covariate``."""
    d = frame.assign(arm=pd.Categorical(frame["group"].astype(str),
                                        categories=list(page.design.groups)))
    me = hs.marginal_effect(d, f"{outcome} ~ arm + {covariate}", treatment="arm",
                            reference=page.design.reference, contrast="diff", method="Ye",
                            alpha=page.alpha)
    rows = []
    for arm, r in me.table.iterrows():
        nnt, nl, nh, note = nnt_interval(r["est"], r["lci"], r["uci"])
        rows.append({"arm": arm, "reference": r["reference"],
                     "n": int(me.means.loc[[arm, r["reference"]], "n"].sum()), "rd": r["est"],
                     "ci_low": r["lci"], "ci_high": r["uci"], "pval": r["pval"], "nnt": nnt,
                     "nnt_ci_low": nl, "nnt_ci_high": nh, "nnt_note": note})
    return pd.DataFrame(rows), me


def _adjusted(page: PageContext, y: str, last) -> None:
    """The responder risk difference adjusted for the outcome's baseline value, and which
    participants it counts."""
    T, base = page.time, page.base
    wide, excl, _ = responder_flags(page.data, y, T, "subject", base, last, group="group",
                                    **_criteria(page, y))
    frame = wide.assign(responder=wide["responder"].astype(int))
    table, me = adjusted_rd(frame, "responder", "pre", page)
    page.save(table, f"responders-adjusted-{y}")
    page.table(table, f"{page.label(y)}: responders at {T} {last}, risk difference adjusted "
               f"for baseline {page.prose(y)}", f"resp-adj-{y}", labels=None,
               rename={"rd": "Adjusted RD"},
               note=ADJUSTED_NOTE.format(what="responding",
                                         model=f"responder ~ arm + baseline {page.prose(y)}"))
    say(_counted(page, y, last, me, excl) + "".join(f" {n}." for n in me.notes)
        + small_sample_note(me))


def _counted(page: PageContext, y: str, last, me, excl: pd.DataFrame) -> str:
    """Which participants the responder tables count, and who is not counted."""
    T, base = page.time, page.base
    text = (f"Both {page.prose(y)} responder tables count the {me.n} participants with "
            f"{page.prose(y)} at {T} {base} and {T} {last} "
            f"({', '.join(f'{a} {n}' for a, n in me.means['n'].items())}).")
    if len(excl):
        arms = page.data.groupby("subject")["group"].first()
        per = arms.reindex(excl["subject"]).value_counts().reindex(page.design.groups,
                                                                   fill_value=0)
        text += (f" {len(excl)} participant(s) without both values "
                 f"({', '.join(f'{a} {n}' for a, n in per.items())}) are in neither: not "
                 "counted as non-responders, and listed with the reason under the change "
                 "analyses (excluded-from-change).")
    return text


#: Imputations for responders under multiple imputation (approximate Bayes, MAR).
N_IMPUTATIONS = 20


def _imputed_responders(page: PageContext, y: str) -> None:
    """Responders under multiple imputation beside the observed-data result: the missing
    last-visit values imputed under MAR (``hs.rbmi``, approximate Bayes, the sensitivity
    section's imputation model), each imputed data set dichotomised by the same rule,
    the (adjusted) risk difference or the proportion of each set pooled by Rubin's rules.
    Participants who left are then neither non-responders nor absent."""
    from hipstats.pages.sensitivity import fit_imputation, imputation_frame, imputation_model

    T, visits = page.time, page.visits_of(y)
    last = visits[-1]
    frame = imputation_frame(page, y, visits)
    if not frame.loc[frame[T] == last, y].isna().any():
        return
    formula, cov = imputation_model(page, y, frame)
    imp, _ = fit_imputation(frame, formula, T, page.group, cov, method="approxbayes",
                            n_samples=N_IMPUTATIONS, seed=page.seed,
                            reference=page.design.reference or None)
    per = [_responder_estimates(page, y, d, last) for d in imp.datasets()]
    rows = _pooled_rows(page, per, len(frame["subject"].unique()), page.alpha)
    table = pd.DataFrame(rows)
    page.save(table, f"responders-imputed-{y}")
    what = "risk difference adjusted for baseline" if page.group else "proportion responding"
    page.table(table, f"{page.label(y)}: responders at {T} {last} under multiple "
               f"imputation ({what})", f"resp-mi-{y}", labels=None,
               rename={"arm": "Arm", "reference": "Reference", "imputations": "Imputations"},
               note=f"Missing values at {T} {last} imputed under MAR ({N_IMPUTATIONS} "
                    "imputations: approximate Bayesian MMRM, the sensitivity section's "
                    "model), each imputed set dichotomised by the same rule; pooled by "
                    "Rubin's rules. Counts every participant with a baseline value.")


def _responder_estimates(page, y, d, last) -> dict:
    """One imputed data set: {arm: (estimate, SE)}: adjusted RD per arm, or the proportion."""
    T, group = page.time, page.group
    base = d.drop_duplicates("subject").assign(**{T: page.base, y: lambda x: x[f"{y}_bl"]})
    long = pd.concat([base, d[d[T] == last]], ignore_index=True)[
        ["subject", T, y] + ([group] if group else [])]
    long[T] = long[T].astype(object)
    long.attrs = page.data.attrs
    wide, _, _ = responder_flags(long, y, T, "subject", page.base, last, group=group,
                                 **_criteria(page, y))
    if not group:
        p = float(wide["responder"].mean())
        return {None: (p, (p * (1 - p) / len(wide)) ** 0.5)}
    _, me = adjusted_rd(wide.assign(responder=wide["responder"].astype(int)), "responder",
                        "pre", page)
    return {arm: (r["est"], r["se"]) for arm, r in me.table.iterrows()}


def _pooled_rows(page, per: list, n: int, alpha: float) -> list:
    import numpy as np

    from hipstats.stats.rbmi.pool import pool_rubin

    rows = []
    for arm in per[0]:
        est = np.array([p[arm][0] for p in per])
        se = np.array([p[arm][1] for p in per])
        r = pool_rubin(est, se, np.full(len(est), np.inf), alpha)
        rows.append({**({"arm": arm, "reference": page.design.reference} if arm else {}),
                     "n": n, "estimate": r["est"], "se": r["se"], "ci_low": r["lci"],
                     "ci_high": r["uci"], "pval": r["pval"], "imputations": len(per)})
    return rows


def _shown(resp):
    """The responder table without columns that are empty (NNT with one arm) or constant
    bookkeeping (``kind`` when every row is an arm)."""
    empty = [c for c in resp if resp[c].isna().all() or (resp[c].astype(str) == "").all()]
    if "kind" in resp and resp["kind"].nunique() == 1:
        empty.append("kind")
    return resp.drop(columns=empty)
