"""The page's "Missing data and sensitivity" section (issue 24 item 5) on a new user's declared
two-arm study with an intercurrent-events file, a one-group study, and bad events files."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats as hs
from hipstats import pages
from hipstats.design import DesignError, design_from_table
from hipstats.errors import HipstatsDataError

TOML = '''
[design.trial]
time = "week"
timepoints = [0, 4, 8, 12]
groups = ["HIP", "USUAL"]
reference = "USUAL"
primary = { outcome = "pain" }
sensitivity = ["JR", "CIR"]

[design.trial.measures]
pain = { instrument = "nprs" }

[data.trial]
path = "trial.csv"
ice = "ice.csv"
columns = { pid = "subject", arm = "group" }
'''


def _study(tmp_path, n=60, seed=3):
    """HIP lowers pain by 2 points by week 12; 20% leave after week 4 or 8."""
    rng = np.random.default_rng(seed)
    rows, events = [], []
    for i in range(n):
        arm = "HIP" if i % 2 else "USUAL"
        u = rng.normal(0, 1)
        leave = rng.choice([4, 8]) if rng.random() < 0.2 else None
        for w in (0, 4, 8, 12):
            mean = 6 - (2.0 if arm == "HIP" else 0.5) * w / 12 + u
            gone = leave is not None and w > leave
            rows.append({"pid": f"p{i:03d}", "arm": arm, "week": w,
                         "pain": np.nan if gone else float(np.clip(mean + rng.normal(0, 0.8),
                                                                    0, 10))})
        if leave is not None:
            nxt = {4: 8, 8: 12}[leave]
            events.append({"pid": f"p{i:03d}", "week": nxt, "strategy": "JR",
                           "reason": "stopped exercising"})
    pd.DataFrame(rows).to_csv(tmp_path / "trial.csv", index=False)
    pd.DataFrame(events).to_csv(tmp_path / "ice.csv", index=False)
    (tmp_path / "hipstats.toml").write_text(TOML)
    for d in ("f", "t"):
        (tmp_path / d).mkdir()
    return pages.open_page("trial", str(tmp_path / "trial.csv"), str(tmp_path / "hipstats.toml"),
                           prefix="trial", figures_dir=str(tmp_path / "f"),
                           tables_dir=str(tmp_path / "t")), pd.DataFrame(events)


def _csv(page, name):
    return pd.read_csv(Path(page.tables_dir) / f"{page.prefix}-{name}.csv")


def test_declared_study_with_an_events_file(tmp_path, capsys):
    page, events = _study(tmp_path)
    pages.primary(page)
    pages.sensitivity(page)
    out = capsys.readouterr().out
    assert "## Missing data and sensitivity" in out and "Table" in out
    sens = _csv(page, "sensitivity-pain")
    assert list(sens["strategy"]) == ["MAR (primary MMRM)", "Declared events (file)",
                                      "JR: jump to reference", "CIR: copy increments in reference"]
    # MAR is the primary MMRM's difference at week 12
    con = page.results["primary"]["pain"].contrasts
    assert sens["est"].iloc[0] == pytest.approx(con[con["week"] == 12]["estimate"].iloc[0])
    # the declared events are all JR here, so the file's row is the JR row
    assert sens["est"].iloc[1] == pytest.approx(sens["est"].iloc[2], rel=1e-12)
    # JR pulls HIP's dropouts to USUAL's mean: the benefit shrinks, never grows
    assert abs(sens["est"].iloc[2]) < abs(sens["est"].iloc[0]) + 1e-9
    # patterns counted by hand from the file
    raw = pd.read_csv(tmp_path / "trial.csv").pivot(index="pid", columns="week", values="pain")
    pat = _csv(page, "missing-patterns-pain")
    complete = raw[[4, 8, 12]].notna().all(axis=1).sum()
    assert pat.loc[pat["pattern"] == "XXX", "n"].sum() == complete
    assert pat["n"].sum() == len(raw)
    # the tipping point: p = alpha there, and a sentence a reader can quote
    tp = _csv(page, "tipping-pain-HIP")
    row = tp[tp["row"] == "tipping"].iloc[0]
    assert np.isfinite(row["delta"]) and row["delta"] > 0      # HIP's pain must rise
    assert row["pval"] == pytest.approx(0.05, abs=1e-8)
    assert "The conclusion holds unless participants who left HIP had pain (NPRS)" in out
    assert "worse than MAR predicts" in out and "MCID" in out
    assert "more than the whole scale (0 to 10)" in out       # 6 of 60 left: delta > 10


def test_responders_under_multiple_imputation_count_everyone(tmp_path):
    """The responder section adds the imputed analysis: every participant with a baseline
    value counted (the observed-data table counts only those with both values)."""
    page, _ = _study(tmp_path)
    pages.primary(page)
    pages.responders(page)
    mi = _csv(page, "responders-imputed-pain")
    observed = _csv(page, "responders-adjusted-pain")
    assert mi["n"].iloc[0] == 60 and observed["n"].iloc[0] < 60
    assert mi["imputations"].iloc[0] == 20
    # HIP's benefit (2 points vs 0.5 by week 12) makes it respond more, imputed or not
    assert mi["estimate"].iloc[0] > 0 and observed["rd"].iloc[0] > 0
    assert mi["ci_low"].iloc[0] < mi["estimate"].iloc[0] < mi["ci_high"].iloc[0]


def test_bad_events_file_names_file_row_and_column(tmp_path):
    page, events = _study(tmp_path)
    bad = events.copy()
    bad.loc[1, "pid"] = "p999"
    bad.to_csv(tmp_path / "ice.csv", index=False)
    pages.primary(page)
    with pytest.raises(HipstatsDataError, match=r"ice\.csv.*row 2.*subject.*p999"):
        pages.sensitivity(page)
    bad = events.copy()
    bad.loc[0, "strategy"] = "J2R"
    bad.to_csv(tmp_path / "ice.csv", index=False)
    with pytest.raises(HipstatsDataError, match="unknown strategy"):
        pages.sensitivity(page)
    bad = events.copy()
    bad.loc[0, "week"] = 0          # baseline is not a post-baseline visit
    bad.to_csv(tmp_path / "ice.csv", index=False)
    with pytest.raises(HipstatsDataError, match="not on the post-baseline grid"):
        pages.sensitivity(page)


def test_sensitivity_key_is_checked():
    table = {"time": "week", "timepoints": [0, 6], "groups": ["A", "B"],
             "measures": {"pain": {"instrument": "vas"}}, "sensitivity": ["J2R"]}
    with pytest.raises(DesignError, match="key 'sensitivity'"):
        design_from_table("x", table)
    table["sensitivity"] = ["CR"]
    assert design_from_table("x", table).sensitivity == ("CR",)


def test_one_group_page_gives_a_delta_adjusted_tipping_point(tmp_path, capsys):
    df = hs.example("program6wk")
    design = hs.get_design("program6wk")
    for d in ("f", "t"):
        (tmp_path / d).mkdir()
    page = pages.PageContext(df, design, "one", str(tmp_path / "f"), str(tmp_path / "t"))
    pages.primary(page)
    pages.sensitivity(page)
    out = capsys.readouterr().out
    tp = _csv(page, "tipping-function_score")
    row = tp[tp["row"] == "tipping"].iloc[0]
    assert "mean change" in out
    # 2 of 16 left before week 6: the improvement holds unless their changes were far worse
    assert np.isfinite(row["delta"]) and row["delta"] < 0          # LEFS: higher is better
    assert row["pval"] == pytest.approx(0.05, abs=1e-8)
    assert "The conclusion holds unless participants who left had function (LEFS)" in out
