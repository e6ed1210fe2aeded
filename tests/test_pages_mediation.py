"""Issue 25 items 2, 4 and 5 on the page: the section "Does strength carry the effect?" on the
bundled HIP/KNEE example, a new user's declared two-arm study, a three-arm study and the
pfps3wk patients-against-controls design; and the links prose, which claims a within-person
link only when the visit-adjusted estimate's CI excludes zero, on a cohort where strength and
pain both trend over the weeks with no within-person link beyond that."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import hipstats as hs
from hipstats import pages
from hipstats.design import design_from_table

TWO_ARMS = {  # a new user's study: weeks 0/6/12, strength at every visit, mediation declared
    "time": "week", "timepoints": [0, 6, 12], "groups": ["HIP", "ORTH"], "reference": "ORTH",
    "primary": {"outcome": "nprs", "strength": "strength"},
    "mediation": {"mediator": "strength", "mediator_visit": 6, "outcome_visit": 12},
    "measures": {"nprs": {"instrument": "nprs"},
                 "strength": {"unit": "N/kg", "range": [0, 10], "direction": "higher_better"}}}


def _ctx(tmp_path, df, design, prefix):
    for sub in ("f", "t"):
        (tmp_path / sub).mkdir(exist_ok=True)
    return pages.PageContext(df, design, prefix, str(tmp_path / "f"), str(tmp_path / "t"))


def _csv(page, name):
    return pd.read_csv(Path(page.tables_dir) / f"{page.prefix}-{name}.csv")


def _two_arm_cohort(design, n=80, seed=4, a=0.35, b=-1.2):
    """HIP raises strength by ``a`` N/kg at week 6; pain at 12 falls ``b`` per N/kg of that
    change; 10% miss week 12."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(2 * n):
        arm = ("HIP", "ORTH")[i % 2]
        s0, p0 = rng.normal(1.8, 0.35), float(np.clip(rng.normal(5.5, 1.4), 0, 10))
        ds = a * (arm == "HIP") + rng.normal(0, 0.25)
        p12 = float(np.clip(p0 - 1.5 + b * ds + rng.normal(0, 1.2), 0, 10))
        gone = rng.random() < 0.1
        for wk, s, p in ((0, s0, p0), (6, s0 + ds, float(np.clip(p0 - 1, 0, 10))),
                         (12, s0 + ds + rng.normal(0, 0.1), p12)):
            rows.append({"subject": f"S{i:03d}", "group": arm, "week": wk,
                         "strength": np.nan if gone and wk == 12 else s,
                         "nprs": np.nan if gone and wk == 12 else round(p, 1)})
    return rows


def test_declared_two_arm_study_shows_the_section(tmp_path, capsys):
    design = design_from_table("mystudy", TWO_ARMS)
    path = tmp_path / "mystudy.csv"
    pd.DataFrame(_two_arm_cohort(design)).to_csv(path, index=False)
    df = hs.load(str(path), design, units={"strength": "N/kg"})
    page = _ctx(tmp_path, df, design, "design-mystudy")
    pages.mediation(page)
    out = capsys.readouterr().out
    assert "## Does strength carry the effect?" in out
    assert "temporal order is not established" not in out        # 6 before 12
    tab = _csv(page, "mediation-nprs").set_index("effect")
    paths = _csv(page, "mediation-nprs-paths").set_index("path")
    # independently: statsmodels OLS on a frame built by hand from the long data
    w = df.pivot(index="subject", columns="week", values=["strength", "nprs"])
    f = pd.DataFrame({"x": (df.groupby("subject")["group"].first() == "HIP") * 1.0,
                      "m": w["strength"][6] - w["strength"][0], "m_bl": w["strength"][0],
                      "y": w["nprs"][12], "y_bl": w["nprs"][0]}).dropna()
    fm = smf.ols("m ~ x + y_bl + m_bl", f).fit()
    fy = smf.ols("y ~ x * m + y_bl + m_bl", f).fit()
    tnie = fm.params["x"] * (fy.params["m"] + fy.params["x:m"])
    assert tab.loc["tnie", "est"] == pytest.approx(tnie, rel=1e-9)
    assert paths.loc["a", "est"] == pytest.approx(fm.params["x"], rel=1e-9)
    assert len(_csv(page, "mediation-nprs-excluded")) == len(w) - len(f)   # nothing lost
    # the interval the page chose, and why; the words follow the CIs
    assert "percentile bootstrap (2,000 resamples, seeded)" in out
    assert tab.loc["tnie", "lci"] < tab.loc["tnie", "uci"]
    text = next(p for p in out.split("\n") if (p.startswith("Hip-abductor strength")
                or p.startswith("Strength")) and "indirect effect -" in p or
                re.match(r"(Hip-abductor strength|Strength) .* indirect effect \d", p))
    a = paths.loc["a"]
    assert ("improved with HIP" in text) == (a["lci"] > 0)
    carried = tab.loc["tnie", "lci"] > 0 or tab.loc["tnie", "uci"] < 0
    assert ("carried part of its effect" in text) == carried
    assert ("proportion mediated" in text) == (tab.loc["te", "lci"] > 0 or tab.loc["te", "uci"] < 0)
    assert re.search(r"indirect effect -?\d+\.\d\d, 95% CI -?\d+\.\d\d to -?\d+\.\d\d", text)
    assert "E-value of the total effect" in text and "rho = " in text
    assert sorted(p.name for p in Path(page.figures_dir).glob("*.png")) == [
        "design-mystudy-mediation-nprs-HIP-paths.png",
        "design-mystudy-mediation-nprs-HIP-sensitivity.png"]


def test_bundled_hipknee_example_says_temporal_order_is_not_established(tmp_path, capsys):
    df = hs.example("hipknee6wk")
    page = _ctx(tmp_path, df, hs.get_design("hipknee6wk"), "02b")
    pages.mediation(page)
    out = capsys.readouterr().out
    assert "## Does strength carry the effect?" in out
    assert out.count("temporal order is not established") == 2     # pain and AKPS at week 6
    for y in ("pain_vas", "akps"):
        tab = _csv(page, f"mediation-{y}").set_index("effect")
        assert list(tab.index) == ["cde", "pnde", "tnie", "tnde", "pnie", "te", "pm"]
        ex = _csv(page, f"mediation-{y}-excluded")
        assert set(ex.columns) >= {"subject", "reason"}
        assert len(ex) + 177 == df["subject"].nunique()


def test_three_arms_each_against_the_reference(tmp_path, capsys):
    table = dict(TWO_ARMS, groups=["HIP", "KNEE", "ORTH"])
    design = design_from_table("three", table)
    rows = _two_arm_cohort(design, n=45, seed=9)
    for r in rows:
        if int(r["subject"][1:]) % 3 == 2:
            r["group"] = "KNEE"
    path = tmp_path / "three.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    df = hs.load(str(path), design, units={"strength": "N/kg"})
    page = _ctx(tmp_path, df, design, "three")
    pages.mediation(page)
    tab = _csv(page, "mediation-nprs")
    assert set(tab["contrast"]) == {"HIP vs ORTH", "KNEE vs ORTH"}
    out = capsys.readouterr().out
    assert "with KNEE" in out and "with HIP" in out


def test_patients_against_controls_is_not_estimable(tmp_path, capsys):
    page = _ctx(tmp_path, hs.example("pfps3wk"), hs.get_design("pfps3wk"), "02")
    pages.mediation(page)
    out = capsys.readouterr().out
    assert 'mediation of a group "effect" is not estimable' in out
    assert not list(Path(page.tables_dir).glob("*.csv"))


def test_one_group_has_no_arm_to_mediate(tmp_path, capsys):
    page = _ctx(tmp_path, hs.example("program6wk"), hs.get_design("program6wk"), "01")
    pages.mediation(page)
    assert "One group" in capsys.readouterr().out


# --------------------------------------------------------------------------------------
# item 5: the links prose on a cohort with a shared trend and no within-person link
# --------------------------------------------------------------------------------------

TREND = {"time": "week", "timepoints": [0, 2, 4, 6],
         "primary": {"outcome": "pain_vas", "strength": "strength"},
         "measures": {"pain_vas": {"instrument": "vas", "unit": "cm"},
                      "strength": {"unit": "N/kg", "range": [0, 10],
                                   "direction": "higher_better"}}}
CLAIMS = re.compile(r"rose with it|fell with it|moved with it|at that visit was (higher|lower)"
                    r"|followed by (higher|lower)", re.I)


def test_links_prose_claims_no_within_person_link_from_a_shared_trend(tmp_path, capsys):
    """Strength rises 0.15 N/kg and pain falls 0.6 cm a week; each person's deviations from
    their own line are independent. The repeated-measures correlation is strongly negative
    (the trend), the visit-adjusted within-person estimate is not: no sentence may claim a
    within-person link, and the rm-corr sentence says it includes the shared trend."""
    rng = np.random.default_rng(20261206)
    n, weeks = 30, np.array([0, 2, 4, 6])
    s = rng.normal(1.8, 0.35, (n, 1)) + 0.15 * weeks + rng.normal(0, 0.12, (n, 4))
    p = np.clip(rng.normal(6, 1.3, (n, 1)) - 0.6 * weeks + rng.normal(0, 0.7, (n, 4)), 0, 10)
    df = pd.DataFrame({"subject": np.repeat([f"P{i:02d}" for i in range(n)], 4),
                       "week": np.tile(weeks, n), "strength": s.ravel().round(3),
                       "pain_vas": p.ravel().round(2)})
    design = design_from_table("trend", TREND)
    path = tmp_path / "trend.csv"
    df.to_csv(path, index=False)
    data = hs.load(str(path), design, units={"strength": "N/kg"})
    page = _ctx(tmp_path, data, design, "trend")
    pages.links(page)
    out = capsys.readouterr().out
    rc = _csv(page, "rm-corr-pain_vas").iloc[0]
    assert rc["r"] < -0.5 and rc["pval"] < 0.001            # the shared trend
    wb = _csv(page, "within-between-pain_vas").set_index("term").loc["strength_within"]
    assert wb["ci_low"] < 0 < wb["ci_high"]                # no link beyond it
    assert not CLAIMS.search(out), CLAIMS.search(out)
    assert "includes the week trend both measures share" in out
    assert "did not clearly move with their own hip-abductor strength beyond the shared " \
           "week trend" in out.lower() or "did not clearly move with their own strength" in out
    # the headline (visit-adjusted) comes before the repeated-measures correlation
    assert out.index("Within-person link, adjusted for week") < out.index("Beside it, the "
                                                                         "repeated-measures")
