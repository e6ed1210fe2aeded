"""Issue 17 item 3: one page for every design. The sections of hipstats.pages run on designs
of every shape a study declares (one group or three arms, numbered or labelled visits,
measures at some visits only, with or without a second limb), and what they write is
checked against independent computations (scipy, statsmodels, counting by hand)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats as sps
import statsmodels.formula.api as smf
from statsmodels.stats.power import TTestIndPower

import hipstats as hs
from hipstats import pages
from hipstats.design import design_from_table
from hipstats.report.build import BUILTIN_PAGES, DESIGN_PAGE, ReportConfig, _notebooks
from test_report_pages import machine_names

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ["flow", "baseline", "trajectories", "limbs", "change", "primary", "sensitivity",
            "responders", "links", "mediation", "next_trial"]

THREE_ARMS = {  # 0/6/12 weeks, NPRS and KOOS-PF, strength at 0 and 12 only, labels for arms
    "time": "week", "timepoints": [0, 6, 12], "groups": ["HIP", "KNEE", "EDU"],
    "reference": "EDU", "primary": {"outcome": "nprs", "strength": "strength"},
    "measures": {"nprs": {"instrument": "nprs"}, "koos_pf": {"instrument": "koos_pf"},
                 "strength": {"unit": "N/kg", "range": [0, 10], "visits": [0, 12],
                              "required": False, "direction": "higher_better"}},
    "covariates": {"age": {"unit": "years", "range": [10, 100]}}}
ONE_GROUP_LABELS = {  # one group, labelled visits, LEFS, both limbs
    "time": "visit", "timepoints": ["pre", "mid", "post"],
    "primary": {"outcome": "lefs", "strength": "strength", "uninvolved": "strength_other"},
    "measures": {"lefs": {"instrument": "lefs"},
                 "strength": {"unit": "N/kg", "range": [0, 10], "direction": "higher_better"},
                 "strength_other": {"unit": "N/kg", "range": [0, 10], "required": False}},
    "covariates": {"age": {"unit": "years", "range": [10, 100]}}}


def _draw(design, n_per_arm, seed):
    """A long export for ``design``: participant effects, a trend, a benefit in the first
    arm, values inside each instrument's range, the last visit missed by some."""
    rng = np.random.default_rng(seed)
    arms = design.groups or ("all",)
    rows = []
    for a, arm in enumerate(arms):
        for i in range(n_per_arm):
            u, skip_last = rng.normal(), rng.random() < 0.15
            age = round(float(np.clip(30 + 8 * rng.normal(), 18, 70)), 1)
            for k, t in enumerate(design.timepoints):
                if skip_last and k == len(design.timepoints) - 1:
                    continue
                row = {"subject": f"{arm[:1]}{a}{i:03d}", design.time: t, "age": age}
                if design.groups:
                    row["group"] = arm
                frac = k / (len(design.timepoints) - 1)
                for m in design.measures:
                    if not m.taken_at(t):
                        continue
                    lo, hi = m.low or 0.0, m.high or 10.0
                    mid, sd = lo + 0.5 * (hi - lo), 0.1 * (hi - lo)
                    sign = -1 if m.direction == "lower_better" else 1
                    gain = sign * frac * (0.15 + 0.1 * (a == 0)) * (hi - lo)
                    row[m.name] = float(np.clip(mid + sd * u + gain + 0.5 * sd * rng.normal(),
                                                lo, hi))
                rows.append(row)
    return pd.DataFrame(rows)


def _page(tmp_path, table, name, n_per_arm=14, seed=1):
    design = design_from_table(name, table)
    path = tmp_path / f"{name}.csv"
    _draw(design, n_per_arm, seed).to_csv(path, index=False)
    units = {m.name: "N/kg" for m in design.measures if m.unit == "N/kg"}
    df = hs.load(str(path), design, units=units)
    (tmp_path / "f").mkdir()
    (tmp_path / "t").mkdir()
    return pages.PageContext(df, design, name, str(tmp_path / "f"), str(tmp_path / "t"))


def _run(page, prose=None):
    """Run every section; with ``prose`` (a list) the page's sentences, table captions and
    notes and figure captions are collected in it."""
    import sys

    with pytest.MonkeyPatch.context() as mp:
        if prose is not None:
            for name, mod in list(sys.modules.items()):
                if name.startswith("hipstats.pages.") and hasattr(mod, "say"):
                    mp.setattr(mod, "say", prose.append)
            mp.setattr("hipstats.pages.context.show", lambda t: prose.extend(
                [getattr(t, "caption", "") or "", getattr(t, "note", "") or ""]))
            figure = pages.PageContext.figure
            mp.setattr(pages.PageContext, "figure", lambda pg, fig, name, caption: (
                prose.append(caption), figure(pg, fig, name, caption)))
        for s in SECTIONS:
            getattr(pages, s)(page)
    return {p.name.removeprefix(page.prefix + "-").removesuffix(".csv")
            for p in Path(page.tables_dir).glob("*.csv")}


def _csv(page, name):
    return pd.read_csv(Path(page.tables_dir) / f"{page.prefix}-{name}.csv")


def test_the_builtin_pages_are_the_design_page_and_it_holds_no_logic():
    assert not list((ROOT / "notebooks").glob("0[12]-*.ipynb"))
    built = {p.stem: p for p in _notebooks(ReportConfig(notebooks_dir=ROOT / "notebooks"))}
    for stem, (design, prefix, _) in BUILTIN_PAGES.items():
        assert built[stem].path.name == DESIGN_PAGE and built[stem].design == design
        assert built[stem].prefix == prefix
    nb = json.loads((ROOT / "notebooks" / DESIGN_PAGE).read_text())
    calls = ["".join(c["source"]).strip() for c in nb["cells"] if c["cell_type"] == "code"][2:]
    assert calls == [f"pages.{s}(pg)" for s in SECTIONS]


def test_three_arms_some_visits_numbers_checked_independently(tmp_path):
    page = _page(tmp_path, THREE_ARMS, "arms3")
    prose = []
    made = _run(page, prose)
    assert len(prose) > 20 and not sorted(set(machine_names("\n".join(prose))))
    df, d = page.data, page.design
    # strength has two visits: its arm x visit ANOVA and ANCOVA; the 3-visit outcomes do not
    assert {"anova-strength", "ancova-strength"} <= made
    assert not {"anova-nprs", "anova-koos_pf", "limb-by-visit"} & made
    # the two-visit strength ANCOVA against statsmodels OLS on the completers
    wide = df.pivot(index="subject", columns="week", values="strength")[[0, 12]].dropna()
    wide["group"] = df.groupby("subject")["group"].first()
    ols = smf.ols("Q('12') ~ Q('0') + C(group, Treatment('EDU'))",
                  wide.rename(columns={0: "0", 12: "12"})).fit()
    anc = _csv(page, "ancova-strength").set_index("contrast")
    for arm in ("HIP", "KNEE"):
        term = f"C(group, Treatment('EDU'))[T.{arm}]"
        assert anc.loc[f"{arm} - EDU", "estimate"] == pytest.approx(ols.params[term], rel=1e-9)
        assert anc.loc[f"{arm} - EDU", "se"] == pytest.approx(ols.bse[term], rel=1e-7)
    # change-score correlation per arm = scipy on hand-made changes
    dc = _csv(page, "change-corr-nprs").set_index("arm")
    st = df.pivot(index="subject", columns="week", values=["strength", "nprs"])
    ch = pd.DataFrame({"s": st["strength"][12] - st["strength"][0],
                       "y": st["nprs"][12] - st["nprs"][0],
                       "arm": df.groupby("subject")["group"].first()}).dropna()
    for arm, g in ch.groupby("arm"):
        assert dc.loc[arm, "r"] == pytest.approx(sps.pearsonr(g["s"], g["y"])[0], rel=1e-8)
        assert dc.loc[arm, "n"] == len(g)
    # responders on a pain scale: a drop of at least the MCID (2 on the NPRS) or 30%
    resp = _csv(page, "responders-nprs")
    p = df.pivot(index="subject", columns="week", values="nprs").dropna(subset=[0, 12])
    hit = ((p[0] - p[12]) >= d.measure("nprs").mcid) | (p[12] <= 0.7 * p[0])
    arm = df.groupby("subject")["group"].first().reindex(p.index)
    for g, r in resp[resp["kind"] == "group"].set_index("group").iterrows():
        assert r["responders"] == int(hit[arm == g].sum()) and r["n"] == int((arm == g).sum())
    # the next trial: n per arm for 80% power at one MCID from the pooled SD at week 12
    size = _csv(page, "next-trial").set_index("outcome")
    last = df[df["week"] == 12].dropna(subset=["koos_pf"]).groupby("group")["koos_pf"]
    sd = np.sqrt(((last.count() - 1) * last.var()).sum() / (last.count() - 1).sum())
    n = TTestIndPower().solve_power(16.4 / sd, power=0.8, alpha=0.05)
    assert size.loc["koos_pf", "n_per_arm"] == int(np.ceil(n))
    # nothing lost: every participant who missed week 12 is listed with the reason
    missed = set(df.loc[(df["week"] == 12) & df["nprs"].isna(), "subject"])
    ex = _csv(page, "excluded-from-change")
    assert missed == set(ex.loc[ex["measure"] == "nprs", "subject"]) and missed


def test_one_group_labelled_visits_and_a_second_limb(tmp_path):
    page = _page(tmp_path, ONE_GROUP_LABELS, "onegroup", n_per_arm=18, seed=2)
    prose = []
    made = _run(page, prose)
    assert len(prose) > 20 and not sorted(set(machine_names("\n".join(prose))))
    assert {"limb-by-visit", "limb-by-visit-emmeans", "primary-lefs-emmeans",
            "responders-lefs", "rm-corr-lefs", "within-between-lefs",
            "cross-lagged-lefs", "next-trial"} <= made
    assert not {"anova-strength", "next-trial-simulated"} & made   # one group
    emm = _csv(page, "limb-by-visit-emmeans")
    assert list(emm["visit"].unique()) == ["pre", "mid", "post"]   # grid order, not alphabet
    # the limb model's observed limb difference at pre (balanced) = mean of the differences
    df = page.data
    pre = df[df["visit"] == "pre"]
    e = emm[emm["visit"] == "pre"].set_index("limb")["emmean"]
    assert e["uninvolved"] - e["involved"] == pytest.approx(
        (pre["strength_other"] - pre["strength"]).mean(), rel=1e-6)
    # the one-group next trial: paired t-test n from the SD of the changes
    size = _csv(page, "next-trial").set_index("outcome")
    w = df.pivot(index="subject", columns="visit", values="lefs")
    sd = float((w["post"] - w["pre"]).std(ddof=1))
    from statsmodels.stats.power import TTestPower
    n = TTestPower().solve_power(9.0 / sd, power=0.8, alpha=0.05)
    assert size.loc["lefs", "n"] == int(np.ceil(n))


def test_a_design_without_strength_or_mcid_says_so(tmp_path, capsys):
    table = {"time": "week", "timepoints": [0, 4], "groups": ["A", "B"],
             "measures": {"score": {"unit": "points", "range": [0, 50],
                                    "direction": "higher_better"}}}
    page = _page(tmp_path, table, "bare", n_per_arm=12, seed=3)
    made = _run(page)
    out = capsys.readouterr().out
    assert "no strength-outcome links" in out
    assert "no MCID for this instrument" in out
    assert "primary-score-contrasts" in made and "next-trial" not in made
