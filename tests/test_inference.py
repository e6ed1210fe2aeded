"""fit.anova(), fit.emmeans(), fit.contrast() and compare_models() against lmerTest, emmeans
and lme4 (tests/reference/inference.R -> inference.json). Tolerances (issue 12):
estimates and F 1e-6, SEs 1e-4, df 1e-3, p 1e-4 relative."""

import functools
import json
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.errors import AnalysisError

REF = Path(__file__).parent / "reference"
R = json.loads((REF / "inference.json").read_text())


def _read(name, **kw):
    return pd.read_csv(REF / "data" / f"{name}.csv", **kw)


TRIAL = _read("inference_trial").assign(fweek=lambda d: d["week"].astype(str))
PREPOST = _read("inference_prepost")
SLEEP = _read("sleepstudy").assign(fDays=lambda d: d["Days"].astype(str))
ORTHO = _read("orthodont")
CHICK = _read("chickweight", dtype={"Diet": str, "Chick": str})

# case -> (data, formula, subject, kwargs, specs, by)
CASES = {
    "trial": (TRIAL, "pain ~ C(fweek) * group", "subject", {}, "fweek", "group"),
    "trial_ml": (TRIAL, "pain ~ C(fweek) * group", "subject", {"reml": False}, "group", None),
    "trial_slope": (TRIAL, "pain ~ C(fweek) * group + strength", "subject",
                    {"random": "week"}, "group", None),
    "prepost": (PREPOST, "strength ~ time * group", "subject", {}, "time", "group"),
    "sleep": (SLEEP, "Reaction ~ C(fDays)", "Subject", {}, "fDays", None),
    "ortho": (ORTHO, "distance ~ age * Sex", "Subject", {"random": "age"}, "Sex", None),
    "chick": (CHICK, "weight ~ Time * C(Diet)", "Chick", {"random": "Time"}, "Diet", None),
}


@functools.lru_cache(maxsize=None)
def _fit(case, df_method="satterthwaite"):
    data, formula, subject, kw, *_ = CASES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hipstats.mixed_model(data, formula, subject, df_method=df_method, **kw)


def _r_term(term):
    return re.sub(r"C\((\w+)\)", r"\1", term)


def _close(got, ref, rel, what, abs_=1e-12):
    ref = np.array([np.nan if v == "NA" else v for v in np.atleast_1d(ref)], float)
    got = np.atleast_1d(np.asarray(got, float))
    assert got == pytest.approx(ref, rel=rel, abs=abs_, nan_ok=True), what


def _listed(d: dict) -> dict:
    """jsonlite unboxes one-element vectors: make every column a list again."""
    return {k: v if isinstance(v, list) else [v] for k, v in d.items()}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("key, type_, ddf", [("anova3_sat", 3, "satterthwaite"),
                                             ("anova1_sat", 1, "satterthwaite"),
                                             ("anova3_kr", 3, "kenward-roger")])
def test_anova_matches_lmertest(case, key, type_, ddf):
    ref = R[case].get(key)
    if ref is None:
        pytest.skip("Kenward-Roger needs a REML fit")
    ref = _listed(ref)
    a = _fit(case).anova(type=type_, ddf=ddf)
    assert [_r_term(t) for t in a.index] == ref["term"]
    _close(a["F"], ref["F"], 1e-6, "F")
    _close(a["sum_sq"], ref["sum_sq"], 1e-6, "sum_sq")
    _close(a["num_df"], ref["num_df"], 1e-12, "num_df")
    _close(a["den_df"], ref["den_df"], 1e-3, "den_df")
    _close(a["pval"], ref["pval"], 1e-4, "pval")


def _key_frame(tab, cols):
    return tab[cols].astype(str).agg("|".join, axis=1).tolist()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("key, ddf", [("emm_sat", "satterthwaite"), ("emm_kr", "kenward-roger")])
def test_emmeans_match_r(case, key, ddf):
    ref = R[case].get(key)
    if ref is None:
        pytest.skip("Kenward-Roger needs a REML fit")
    _, _, _, _, specs, by = CASES[case]
    fresh = _fit(case).emmeans(specs, by=by, ddf=ddf)
    cols = [specs] + ([by] if by else [])
    r = pd.DataFrame(_listed(ref))
    order = {k: i for i, k in enumerate(_key_frame(r, cols))}
    r = r.iloc[[order[k] for k in _key_frame(fresh, cols)]].reset_index(drop=True)
    _close(fresh["emmean"], r["emmean"], 1e-6, "emmean")
    _close(fresh["se"], r["SE"], 1e-4, "se")
    _close(fresh["df"], r["df"], 1e-3, "df")
    _close(fresh["ci_low"], r["ci_low"], 1e-4, "ci_low")
    _close(fresh["ci_high"], r["ci_high"], 1e-4, "ci_high")


CONTRASTS = [("pairs_tukey_sat", "pairwise", "tukey", "satterthwaite"),
             ("pairs_holm_sat", "pairwise", "holm", "satterthwaite"),
             ("pairs_none_sat", "pairwise", "none", "satterthwaite"),
             ("trt_holm_sat", "trt.vs.ctrl", "holm", "satterthwaite"),
             ("consec_bonf_sat", "consec", "bonferroni", "satterthwaite"),
             ("pairs_holm_kr", "pairwise", "holm", "kenward-roger")]


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("key, method, adjust, ddf", CONTRASTS)
def test_contrasts_match_emmeans(case, key, method, adjust, ddf):
    ref = R[case].get(key)
    if ref is None:
        pytest.skip("Kenward-Roger needs a REML fit")
    _, _, _, _, specs, by = CASES[case]
    fit = _fit(case)
    levels = fit.emmeans(specs)[specs].astype(str).tolist()
    r = pd.DataFrame(_listed(ref))
    r["contrast"] = r["contrast"].str.replace(specs, "", regex=False)
    if method != "pairwise" and levels != sorted(levels, key=str.lower):
        pytest.skip("first level differs between R's locale sort and patsy's")
    got = fit.contrast(specs, by=by, method=method, adjust=adjust, ddf=ddf)
    gkey = got["contrast"] + ("|" + got[by].astype(str) if by else "")
    rkey = r["contrast"] + ("|" + r[by].astype(str) if by else "")
    if set(gkey) != set(rkey):   # R orders pairs by its level order: flip sign where needed
        flip = gkey.map(lambda k: " - ".join(reversed(k.split("|")[0].split(" - ")))
                        + (("|" + k.split("|")[1]) if "|" in k else ""))
        assert set(flip) == set(rkey)
        got = got.assign(estimate=-got["estimate"], t=-got["t"],
                         ci_low=-got["ci_high"], ci_high=-got["ci_low"])
        gkey = flip
    r = r.set_index(rkey).loc[list(gkey)]
    _close(got["estimate"], r["estimate"], 1e-6, "estimate")
    _close(got["se"], r["SE"], 1e-4, "se")
    _close(got["df"], r["df"], 1e-3, "df")
    _close(got["t"], r["t"], 1e-5, "t")
    # R's ptukey/qtukey are accurate to about 1e-4 (qtukey's own tolerance): Tukey p-values
    # and interval half-widths are compared at that level
    tuk = adjust == "tukey"
    _close(got["pval"], r["pval"], 1e-3 if tuk else 1e-4, "pval", abs_=1e-8)
    for side in ("ci_low", "ci_high"):
        _close(got[side] - got["estimate"], r[side] - r["estimate"], 1e-3 if tuk else 1e-4,
               side)


@pytest.mark.parametrize("case, f0, f1, data, subject, kw", [
    ("trial_lrt", "pain ~ C(fweek) + group", "pain ~ C(fweek) * group", TRIAL, "subject", {}),
    ("sleep_lrt", "Reaction ~ 1", "Reaction ~ Days", SLEEP, "Subject", {"random": "Days"})])
def test_compare_models_matches_lme4(case, f0, f1, data, subject, kw):
    m0 = hipstats.mixed_model(data, f0, subject, **kw)
    m1 = hipstats.mixed_model(data, f1, subject, **kw)
    res = hipstats.compare_models(m1, m0)       # order of arguments does not matter
    ref = R[case]
    assert res["npar"].tolist() == ref["npar"]
    for col in ("aic", "bic", "loglik", "deviance"):
        _close(res[col], ref[col], 1e-6, col)
    _close([res["chisq"].iloc[1]], [ref["chisq"][1]], 1e-5, "chisq")
    assert res["df"].iloc[1] == ref["df"][1]
    _close([res["pval"].iloc[1]], [ref["pval"][1]], 1e-4, "pval")
    assert "refitted with ML" in res.attrs["note"]


def test_errors():
    fit = _fit("trial")
    with pytest.raises(AnalysisError, match="not a factor"):
        fit.emmeans("strength")
    with pytest.raises(AnalysisError, match="Tukey"):
        fit.contrast("fweek", method="consec", adjust="tukey")
    with pytest.raises(AnalysisError, match="REML"):
        _fit("trial_ml").anova(ddf="kenward-roger")
    with pytest.raises(AnalysisError, match="type"):
        fit.anova(type=2)
