"""Issue 26 items 2-4 on the page: the responders section's covariate-adjusted risk
difference (with CI and NNT) under the unadjusted table, the global rating of change where a
design declares one, which participants each row counts, separation, and GRC input errors.

What the section writes is checked against independent computations: responders counted by
hand, the g-computation estimate from statsmodels' GLM, the success table by hand, the
proportional-odds odds ratio from statsmodels' OrderedModel fitted here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.miscmodels.ordinal_model import OrderedModel

import hipstats as hs
from hipstats import pages
from hipstats.design import DesignError, design_from_table
from hipstats.errors import HipstatsDataError

GRC_STUDY = {  # a new user's declared study: NPRS weekly-ish, GRC at the last visit only
    "time": "week", "timepoints": [0, 6, 12], "groups": ["HIP", "EDU"], "reference": "EDU",
    "primary": {"outcome": "nprs"},
    "measures": {"nprs": {"instrument": "nprs"},
                 "grc": {"instrument": "grc", "visits": [12]}},
    "covariates": {"age": {"unit": "years", "range": [10, 100]}}}


def _draw(design, n_per_arm=40, seed=4, all_respond=None):
    """NPRS 0-10 falling more in HIP; GRC 1-7 at week 12 rising with the NPRS drop; some
    participants miss week 12. ``all_respond``: an arm whose every participant improves by
    5 points (separation)."""
    rng = np.random.default_rng(seed)
    rows = []
    for a, arm in enumerate(design.groups):
        for i in range(n_per_arm):
            b = float(np.clip(np.round(rng.normal(6, 1.5)), 2, 10))
            drop = rng.normal(2.5 if arm == "HIP" else 1.2, 1.5)
            if arm == all_respond:
                drop = 5.0
            gone = rng.random() < 0.12
            for k, t in enumerate(design.timepoints):
                row = {"subject": f"{arm}{i:03d}", "group": arm, "week": t, "age": 40.0}
                if not (gone and t == 12):
                    row["nprs"] = float(np.clip(np.round(b - drop * k / 2), 0, 10))
                    if t == 12:
                        row["grc"] = int(np.clip(np.round(4 + drop + rng.normal(0, 1)), 1, 7))
                rows.append(row)
    return pd.DataFrame(rows)


def _page(tmp_path, table, name, **kw):
    design = design_from_table(name, table)
    path = tmp_path / f"{name}.csv"
    _draw(design, **kw).to_csv(path, index=False)
    df = hs.load(str(path), design)
    for d in ("f", "t"):
        (tmp_path / d).mkdir()
    return pages.PageContext(df, design, name, str(tmp_path / "f"), str(tmp_path / "t"))


def _csv(page, name):
    return pd.read_csv(Path(page.tables_dir) / f"{page.prefix}-{name}.csv")


def _gcomp(frame, outcome, covariate, arm, ref):
    """g-computation risk difference from statsmodels' GLM (independent of hipstats)."""
    glm = sm.GLM.from_formula(f"{outcome} ~ C(group) + {covariate}", frame,
                              family=sm.families.Binomial()).fit(tol=1e-13)
    return (glm.predict(frame.assign(group=arm)).mean()
            - glm.predict(frame.assign(group=ref)).mean())


def test_bundled_hipknee_page_shows_adjusted_responders(tmp_path, capsys):
    df = hs.example("hipknee6wk")
    page = pages.PageContext(df, hs.get_design("hipknee6wk"), "hk", str(tmp_path),
                             str(tmp_path))
    pages.responders(page)
    out = capsys.readouterr().out
    for y, mcid in (("pain_vas", 2.0), ("akps", 10.0)):
        adj = _csv(page, f"responders-adjusted-{y}").iloc[0]
        w = df.pivot(index="subject", columns="week", values=y)[[0, 6]].dropna()
        imp = (w[0] - w[6]) if y == "pain_vas" else (w[6] - w[0])
        hit = (imp >= mcid - 1e-12) | ((w[6] <= 0.7 * w[0] + 1e-12) if y == "pain_vas"
                                       else False)
        frame = pd.DataFrame({"r": hit.astype(int), "pre": w[0],
                              "group": df.groupby("subject")["group"].first().reindex(w.index)})
        assert adj["n"] == len(frame) and (adj["arm"], adj["reference"]) == ("HIP", "KNEE")
        assert adj["rd"] == pytest.approx(_gcomp(frame, "r", "pre", "HIP", "KNEE"), rel=1e-6)
        assert adj["ci_low"] < adj["rd"] < adj["ci_high"]
        assert adj["nnt"] == pytest.approx(1 / adj["rd"])
    assert "risk difference adjusted for baseline pain (VAS)" in out
    assert "count the 177 participants" in out and "not counted as non-responders" in out
    assert "too narrow" not in out


def test_declared_study_with_grc(tmp_path, capsys):
    page = _page(tmp_path, GRC_STUDY, "grcstudy")
    pages.responders(page)
    out = capsys.readouterr().out
    df = page.data
    last = df[df["week"] == 12].dropna(subset=["grc"]).set_index("subject")
    succ = last["grc"].isin([6, 7]).astype(int)
    table = _csv(page, "grc-grc-success").set_index("group")
    for arm in ("HIP", "EDU"):
        assert table.loc[arm, "n"] == (last["group"] == arm).sum()
        assert table.loc[arm, "successes"] == succ[last["group"] == arm].sum()
    base = df[df["week"] == 0].set_index("subject")["nprs"]
    frame = pd.DataFrame({"s": succ, "b": base.reindex(succ.index), "group": last["group"]})
    adj = _csv(page, "grc-grc-adjusted").iloc[0]
    assert adj["rd"] == pytest.approx(_gcomp(frame, "s", "b", "HIP", "EDU"), rel=1e-6)
    om = OrderedModel(pd.Categorical(last["grc"], ordered=True),
                      pd.DataFrame({"hip": (last["group"] == "HIP").astype(float),
                                    "b": frame["b"]}), distr="logit").fit(method="bfgs",
                                                                           disp=False)
    po = _csv(page, "grc-grc-proportional-odds").iloc[0]
    assert po["odds_ratio"] == pytest.approx(np.exp(om.params["hip"]), rel=1e-4)
    missing = df[(df["week"] == 12) & df["grc"].isna()]
    assert f"{len(missing)} without a rating" in out and "Brant's (1990) test" in out
    assert "Global rating of change at week 12" in out
    # the GRC is not treated as a continuous outcome elsewhere on the page
    assert "grc" not in page.outcomes and "grc" not in page.repeated


def test_separation_is_stated_with_an_interval(tmp_path, capsys):
    page = _page(tmp_path, GRC_STUDY, "sep", all_respond="HIP")
    pages.responders(page)
    out = capsys.readouterr().out
    adj = _csv(page, "responders-adjusted-nprs").iloc[0]
    assert np.isfinite([adj["rd"], adj["ci_low"], adj["ci_high"]]).all()
    assert "separation: HIP (all with outcome 1)" in out and "Firth" in out
    assert "With 75 participants this interval is somewhat too narrow" in out
    assert ("Proportional odds: not estimable here (separation: every participant with "
            "arm[T.HIP] rates at or above") in out


def test_grc_codings_and_errors(tmp_path):
    five = {**GRC_STUDY, "measures": {**GRC_STUDY["measures"],
                                      "grc": {"instrument": "grc", "points": 5, "visits": [12]}}}
    m = design_from_table("five", five).measure("grc")
    assert (m.low, m.high, m.success, m.ordinal) == (1, 5, (4.0, 5.0), True)
    rev = {**GRC_STUDY, "measures": {**GRC_STUDY["measures"], "grc": {
        "instrument": "grc", "range": [-3, 3], "direction": "lower_better", "success": [-3]}}}
    assert design_from_table("rev", rev).measure("grc").success == (-3.0,)
    with pytest.raises(DesignError, match="'success': \\[8\\] are not categories"):
        design_from_table("bad", {**GRC_STUDY, "measures": {
            **GRC_STUDY["measures"], "grc": {"instrument": "grc", "success": [8]}}})
    design = design_from_table("grcstudy", GRC_STUDY)
    raw = _draw(design)
    i = raw.index[raw["grc"].notna()][[2, 5]]
    raw.loc[i[0], "grc"], raw.loc[i[1], "grc"] = 9, 4.5
    path = tmp_path / "off.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(HipstatsDataError) as err:
        hs.load(str(path), design)
    probs = {(p.row, p.column) for p in err.value.problems}
    assert probs == {(int(i[0]) + 1, "grc"), (int(i[1]) + 1, "grc")}
    assert all("off the scale" in p.message for p in err.value.problems)


@pytest.mark.parametrize("arms", [("HIP", "KNEE", "EDU"), ()])
def test_grc_with_three_arms_and_with_one_group(tmp_path, capsys, arms):
    table = {k: v for k, v in GRC_STUDY.items() if k not in ("groups", "reference")}
    if arms:
        table.update(groups=list(arms), reference="EDU")
    design = design_from_table("g", table)
    raw = _draw(design_from_table("g2", {**GRC_STUDY, "groups": list(arms) or ["HIP", "EDU"]}))
    (raw if arms else raw.drop(columns="group")).to_csv(tmp_path / "g.csv", index=False)
    page = pages.PageContext(hs.load(str(tmp_path / "g.csv"), design), design, "g",
                             str(tmp_path), str(tmp_path))
    pages.responders(page)
    out = capsys.readouterr().out
    succ = _csv(page, "grc-grc-success")
    last = page.data[page.data["week"] == 12].dropna(subset=["grc"])
    assert succ.loc[succ["kind"] == "group", "successes"].sum() == last["grc"].isin([6, 7]).sum()
    if arms:
        assert list(_csv(page, "grc-grc-proportional-odds")["arm"]) == ["HIP", "KNEE"]
        assert list(_csv(page, "grc-grc-adjusted")["arm"]) == ["HIP", "KNEE"]
        assert list(succ.loc[succ["kind"] == "difference", "group"]) == ["HIP - EDU",
                                                                         "KNEE - EDU"]
    else:
        assert not (tmp_path / "g-grc-grc-adjusted.csv").exists()
        assert "without a rating are not counted" in out
