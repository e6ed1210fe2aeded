"""Differential tests of the other mixed-model paths against R on random trial-shaped data:
uncorrelated slopes, three random effects, a limb level nested in subject, type III / I
F-tests, estimated marginal means, contrasts and likelihood-ratio tests.

Data: ``tests/reference/differential_paths_data.py`` -> ``tests/reference/data/
differential_paths/``. R's answers: ``tests/reference/differential_paths.R`` ->
``tests/reference/differential_paths.json`` (lme4's best of four optimisers and the
boundary, lmerTest, pbkrtest, emmeans). Replayed here without R; ``PATHS_DIR`` and
``PATHS_OUT`` replay a fresh held-out batch (see the generator's docstring).

Tolerances are those of ``test_differential.py`` (estimates 1e-5, SEs, t and F 1e-4, df
1e-3, p-values 1e-4 or 1e-8 absolute, log-likelihoods 1e-4 absolute). Tukey-adjusted
p-values: 1e-3 relative and R's ``ptukey`` accuracy absolute (1e-5 at df <= 5, 5e-8
above), and 1e-4 relative against scipy's ``studentized_range``; Tukey interval
half-widths 1e-3, the accuracy of R's ``qtukey`` (``test_tukey.py``). Variance components
also within 1e-7 of the residual variance. A fit that lme4 flags singular sits on a flat optimum: there only the
log-likelihood (and, for single fits, the fixed estimates) are compared.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats as sps

import hipstats
from rcompare import COUNTS, Compare, check_lmm, span  # noqa: E402  (tests/ is on sys.path)

REF = Path(__file__).parent / "reference"
DIR = Path(os.environ.get("PATHS_DIR") or REF / "data" / "differential_paths")
R = json.loads(Path(os.environ.get("PATHS_OUT") or REF / "differential_paths.json")
               .read_text())["datasets"]
_D = pd.read_csv(DIR / "datasets.csv", dtype={"dataset": str, "subject": str, "visit": str,
                                              "group": str})
_L = pd.read_csv(DIR / "limbs.csv", dtype={"dataset": str, "subject": str, "limb": str})
DATA = {k: g.drop(columns="dataset").reset_index(drop=True) for k, g in _D.groupby("dataset")}
LIMBS = {k: g.drop(columns="dataset").reset_index(drop=True) for k, g in _L.groupby("dataset")}
SPECS = pd.read_csv(DIR / "specs.csv", dtype=str, keep_default_na=False)
SPECS["reml"] = SPECS["reml"].map({"True": True, "False": False})
SPECS["correlated"] = SPECS["correlated"].map({"True": True, "False": False})
CASES = {(r.dataset, r.key): r for r in SPECS.itertuples(index=False)}


@pytest.fixture(scope="module", autouse=True)
def _counts():
    yield
    if os.environ.get("DIFF_COUNTS"):     # compared values per analysis
        Path(os.environ["DIFF_COUNTS"]).write_text(json.dumps(COUNTS, indent=1))


def _ids(kind):
    return [pytest.param(ds, key, id=f"{ds}-{key}") for (ds, key), s in sorted(CASES.items())
            if s.kind == kind]


def _fit(s, formula=None, reml=None, df_method=None):
    data = LIMBS[s.dataset] if s.key == "nest" else DATA[s.dataset]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return hipstats.mixed_model(
            data, formula or s.formula, "subject", random=s.random.split() or None,
            reml=s.reml if reml is None else reml, df_method=df_method or s.ddf,
            correlated=s.correlated, nested=s.nested or None)


def _ref(ds, key):
    ref = R[ds][key]
    if "error" in ref:
        pytest.fail(f"R failed on a generated model (regenerate the specs): {ref['error']}")
    return ref


def _listed(d: dict) -> dict:
    """jsonlite unboxes one-element vectors: make every column a list again."""
    return {k: v if isinstance(v, list) else [v] for k, v in d.items()}


@pytest.mark.parametrize("ds, key", _ids("lmm"))
def test_mixed_model_paths(ds, key):
    s, ref = CASES[(ds, key)], _ref(ds, key)
    c = Compare("mixed_model", f"{ds}-{key} {s.formula} + {s.re} "
                f"{'REML' if s.reml else 'ML'} {s.ddf}"
                f"{' [R: singular]' if ref['singular'] else ''}")
    check_lmm(c, _fit(s), ref)


def _anova(c: Compare, got: pd.DataFrame, ref: dict, label: str):
    ref = _listed(ref)
    c.same(f"{label} terms", list(got.index), ref["term"])
    for j, term in enumerate(ref["term"]):
        if term not in got.index:
            continue
        g = got.loc[term]
        c.num(f"{label} {term} F", g["F"], ref["F"][j], rel=1e-4, span=span(ref, "F", j))
        c.num(f"{label} {term} sum_sq", g["sum_sq"], ref["sum_sq"][j], rel=1e-4)
        c.same(f"{label} {term} num_df", int(g["num_df"]), int(ref["num_df"][j]))
        c.num(f"{label} {term} den_df", g["den_df"], ref["den_df"][j], rel=1e-3,
              span=span(ref, "den_df", j))
        c.pval(f"{label} {term} pval", g["pval"], ref["pval"][j], span=span(ref, "pval", j))


def _rows(got: pd.DataFrame, ref: dict, keys: list[str]) -> pd.DataFrame:
    """R's rows in the order of hipstats' (matched on the key columns)."""
    r = pd.DataFrame(_listed(ref))
    rk = r[keys].astype(str).agg("|".join, axis=1)
    gk = got[keys].astype(str).agg("|".join, axis=1)
    assert sorted(rk) == sorted(gk), f"rows differ: {sorted(gk)} vs R {sorted(rk)}"
    return r.set_index(rk).loc[list(gk)].reset_index(drop=True)


def _table(c: Compare, got: pd.DataFrame, ref: dict, keys: list[str], label: str,
           value: str, tukey: bool = False):
    r = _rows(got, ref, keys)
    got = got.reset_index(drop=True)
    loose = 1e-3 if tukey else 1e-4
    if tukey:   # family size: the levels compared within each `by` group
        by = keys[1:]
        fam = got.groupby(by)["contrast"] if by else got.groupby(lambda _: 0)["contrast"]
        k_of = fam.transform(lambda s: len({x for v in s for x in v.split(" - ")}))
    for j in range(len(got)):
        name = f"{label} {'|'.join(str(got.at[j, k]) for k in keys)}"
        se = float(r.at[j, "SE"])
        c.num(f"{name} {value}", got.at[j, value], r.at[j, value], rel=1e-5, abs_=1e-5 * se)
        c.num(f"{name} se", got.at[j, "se"], se, rel=1e-4)
        c.num(f"{name} df", got.at[j, "df"], r.at[j, "df"], rel=1e-3)
        if "t" in r:
            c.num(f"{name} t", got.at[j, "t"], r.at[j, "t"], rel=1e-4, abs_=1e-5)
            if tukey:
                # R's ptukey is accurate to about 1e-5 absolute at df <= 5 and 5e-8 above
                # (1.08e-7 where the studentized range gives 1.26e-7 at k = 3, df = 8):
                # compared with R at that accuracy and with scipy's adaptive quadrature
                # (an independent implementation) at 1e-4 relative
                df_j = float(got.at[j, "df"])
                c.num(f"{name} pval", got.at[j, "pval"], r.at[j, "pval"], rel=loose,
                      abs_=1e-5 if df_j <= 5 else 5e-8)
                sp = sps.studentized_range.sf(abs(float(got.at[j, "t"])) * math.sqrt(2),
                                              int(k_of.iloc[j]), df_j)
                c.num(f"{name} pval (scipy)", got.at[j, "pval"], sp, rel=1e-4, abs_=1e-10)
            else:
                c.num(f"{name} pval", got.at[j, "pval"], r.at[j, "pval"], rel=loose,
                      abs_=1e-8)
        for side in ("ci_low", "ci_high"):
            c.num(f"{name} {side}", got.at[j, side] - got.at[j, value],
                  r.at[j, side] - r.at[j, value], rel=loose, abs_=1e-6 * se)


CONTRASTS = [("pairs_holm_sat", "pairwise", "holm", "satterthwaite"),
             ("pairs_tukey_sat", "pairwise", "tukey", "satterthwaite"),
             ("trt_holm_sat", "trt.vs.ctrl", "holm", "satterthwaite"),
             ("consec_bonf_sat", "consec", "bonferroni", "satterthwaite"),
             ("pairs_none_kr", "pairwise", "none", "kenward-roger")]


@pytest.mark.parametrize("ds, key", _ids("infer"))
def test_inference_paths(ds, key):
    s, ref = CASES[(ds, key)], _ref(ds, key)
    fit = _fit(s, df_method="satterthwaite")
    c = Compare("inference", f"{ds}-{key} {s.formula} + {s.re}"
                f"{' [R: singular]' if ref['singular'] else ''}")
    c.num("loglik", fit.loglik, ref["loglik"], rel=0, abs_=1e-4)
    c.same("singular", fit.singular, ref["singular"])
    if ref["singular"]:     # a flat optimum: vcov(beta), F and df are not determined
        return c.done()
    _anova(c, fit.anova(type=3, ddf="satterthwaite"), ref["anova3_sat"], "type III Satt.")
    _anova(c, fit.anova(type=1, ddf="satterthwaite"), ref["anova1_sat"], "type I Satt.")
    if "anova3_kr" in ref:
        _anova(c, fit.anova(type=3, ddf="kenward-roger"), ref["anova3_kr"], "type III KR")
    if s.specs:
        by = s.by or None
        keys = [s.specs] + ([by] if by else [])
        for emm, ddf in (("emm_sat", "satterthwaite"), ("emm_kr", "kenward-roger")):
            if emm in ref:
                _table(c, fit.emmeans(s.specs, by=by, ddf=ddf), ref[emm], keys, emm,
                       "emmean")
        for name, method, adjust, ddf in CONTRASTS:
            if name in ref:
                got = fit.contrast(s.specs, by=by, method=method, adjust=adjust, ddf=ddf)
                _table(c, got, ref[name], ["contrast"] + ([by] if by else []), name,
                       "estimate", tukey=adjust == "tukey")
    c.done()


@pytest.mark.parametrize("ds, key", _ids("lrt"))
def test_compare_models_paths(ds, key):
    s, ref = CASES[(ds, key)], _ref(ds, key)
    # fitted by REML as a user would; compare_models refits both by ML (as lme4's anova)
    res = hipstats.compare_models(_fit(s, formula=s.formula0), _fit(s))
    c = Compare("compare_models", f"{ds}-{key} {s.formula0} vs {s.formula} + {s.re}")
    c.same("npar", res["npar"].tolist(), [int(v) for v in ref["npar"]])
    for col in ("aic", "bic", "loglik", "deviance"):
        for j in range(2):
            c.num(f"{col}[{j}]", res[col].iloc[j], ref[col][j], rel=0, abs_=2e-4)
    c.same("df", int(res["df"].iloc[1]), int(ref["df"]))
    c.num("chisq", res["chisq"].iloc[1], ref["chisq"], rel=1e-4, abs_=2e-4)
    c.pval("pval", res["pval"].iloc[1], ref["pval"])
    c.done()


def test_batch_covers_every_path():
    """The generated batch reaches every path it is meant to test (a generator change that
    stopped producing one would otherwise pass silently)."""
    kinds = SPECS.groupby("key").size()
    assert {"unc", "q3", "nest", "inf", "infs", "lrt"} <= set(kinds.index)
    assert (kinds >= 20).all(), kinds.to_dict()
    assert (SPECS["ddf"] == "kenward-roger").sum() >= 40
    assert (~SPECS["reml"]).sum() >= 10
    singular = sum(bool(R[d][k].get("singular")) is True for d, k in CASES
                   if CASES[(d, k)].kind != "lrt")
    assert 0 < singular < len(CASES) / 2
