"""Issue 17: designs declared in hipstats.toml, instruments, the third bundled example,
labels, and the generic page for declared designs."""

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hipstats as hs
from hipstats.cli import main
from hipstats.config import ConfigError, declared_designs, study_design
from hipstats.design import DESIGNS, PRESETS, design_from_table, get_instrument
from hipstats.labels import add_labels, measure_label, term_label
from hipstats.tables import format_table

ROOT = Path(__file__).resolve().parents[1]

# The exact TOML of issue 17.
ISSUE_TOML = '''
[design.hipknee6wk]
time = "week"
timepoints = [0, 1, 2, 3, 4, 5, 6]
groups = ["HIP", "KNEE"]        # omit for a one-group study
reference = "KNEE"               # comparator arm (default: the last group)
baseline = 0                     # default: the first timepoint
primary = { outcome = "pain_vas", strength = "strength" }

[design.hipknee6wk.measures]
pain_vas = { instrument = "vas", unit = "cm" }
akps = { instrument = "akps" }
strength = { unit = "N/kg", visits = [0, 6], required = false, label = "Hip-abductor strength" }

[design.hipknee6wk.covariates]
age = { unit = "years" }
sex = { levels = ["F", "M"] }
body_mass = { unit = "kg" }

[data.hipknee6wk]
path = "data/raw/trial.csv"
columns = { record_id = "subject", arm = "group", vas_usual_cm = "pain_vas" }
'''


def _export(folder: Path) -> pd.DataFrame:
    """The bundled hipknee6wk example written as a study's own export (its column names)."""
    ex = hs.example("hipknee6wk")
    rows = ex[ex[["pain_vas", "akps", "strength"]].notna().any(axis=1)]
    out = rows.rename(columns={"subject": "record_id", "group": "arm",
                               "pain_vas": "vas_usual_cm"})[
        ["record_id", "arm", "week", "vas_usual_cm", "akps", "strength", "age", "sex",
         "body_mass"]]
    (folder / "data" / "raw").mkdir(parents=True, exist_ok=True)
    out.to_csv(folder / "data" / "raw" / "trial.csv", index=False)
    return ex


@pytest.fixture
def study(tmp_path):
    (tmp_path / "hipstats.toml").write_text(ISSUE_TOML)
    _export(tmp_path)
    return tmp_path


def test_issue_toml_builds_the_design(study):
    d = study_design(study / "hipstats.toml", "hipknee6wk")
    assert d.groups == ("HIP", "KNEE") and d.reference == "KNEE" and d.baseline == 0
    assert d.arms == ("HIP", "KNEE")
    assert d.timepoints == (0, 1, 2, 3, 4, 5, 6)
    vas, akps, s = (d.measure(n) for n in ("pain_vas", "akps", "strength"))
    assert (vas.low, vas.high, vas.direction, vas.mcid) == (0.0, 10.0, "lower_better", 2.0)
    assert (akps.high, akps.direction, akps.mcid) == (100.0, "higher_better", 10.0)
    assert "Crossley" in akps.mcid_source
    assert s.visits == (0, 6) and not s.required and s.label == "Hip-abductor strength"
    assert d.measure("sex").levels == ("F", "M")


def test_load_with_the_declared_design_and_its_column_map(study):
    ex = hs.example("hipknee6wk")
    df = hs.load(config=study / "hipstats.toml", design="hipknee6wk",
                 units={"strength": "N/kg"})
    assert df["subject"].nunique() == 199 and set(df["group"]) == {"HIP", "KNEE"}
    np.testing.assert_array_equal(df["pain_vas"].to_numpy(), ex["pain_vas"].to_numpy())
    assert df.attrs["measures"]["akps"]["mcid"] == 10.0
    # missing-visit accounting respects visits = [0, 6]: strength cells at weeks 1-5 are
    # not missing data
    rep = hs.validate(config=study / "hipstats.toml", design="hipknee6wk")
    assert rep.ok
    assert rep.missing.loc["strength", ["1", "2", "3", "4", "5"]].sum() == 0
    assert rep.missing.loc["strength", "total"] == int(
        ex.loc[ex.week.isin([0, 6]), "strength"].isna().sum())


def test_a_value_at_a_visit_where_the_measure_is_not_taken_is_an_error(study):
    raw = pd.read_csv(study / "data" / "raw" / "trial.csv")
    i = raw.index[(raw.week == 3)][0]
    raw.loc[i, "strength"] = 3.1
    raw.to_csv(study / "data" / "raw" / "trial.csv", index=False)
    rep = hs.validate(config=study / "hipstats.toml", design="hipknee6wk")
    assert not rep.ok
    (p,) = rep.problems
    assert p.row == i + 1 and p.column == "strength" and "week 3" in p.message
    assert "taken only at week 0, 6" in p.message


@pytest.mark.parametrize("edit, table, key", [
    (("akps = { instrument = \"akps\" }", "akps = { instrument = \"akps\", mcdi = 8 }"),
     "[design.hipknee6wk.measures] akps", "mcdi"),
    (("visits = [0, 6]", "visits = [0, 8]"), "[design.hipknee6wk.measures] strength", "visits"),
    (("reference = \"KNEE\"", "reference = \"CONTROL\""), "[design.hipknee6wk]", "reference"),
    (("instrument = \"akps\"", "instrument = \"akpss\""), "[design.hipknee6wk.measures] akps",
     "instrument"),
    (("label = \"Hip-abductor strength\"", "low = 5, high = 1"),
     "[design.hipknee6wk.measures] strength", "range"),
    (("baseline = 0 ", "baseline = 9 "), "[design.hipknee6wk]", "baseline"),
    (("time = \"week\"", "time = \"week\"\nvisit_grid = [1]"), "[design.hipknee6wk]",
     "visit_grid"),
])
def test_bad_design_tables_name_file_table_and_key(study, edit, table, key):
    p = study / "hipstats.toml"
    text = p.read_text()
    assert edit[0] in text
    p.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(ConfigError) as err:
        hs.load(config=p, design="hipknee6wk")
    msg = str(err.value)
    print(msg)
    assert msg.startswith(f"{p} {table}"), msg
    assert f"'{key}'" in msg, msg


def test_cli_validate_and_report_refuse_a_bad_design_and_render_nothing(study, capsys,
                                                                         monkeypatch):
    p = study / "hipstats.toml"
    assert main(["validate", "--config", str(p), "--design", "hipknee6wk", "--units",
                 "strength=N/kg"]) == 0
    p.write_text(p.read_text().replace("visits = [0, 6]", "visits = [0, 7]"))
    capsys.readouterr()
    assert main(["validate", "--config", str(p), "--design", "hipknee6wk"]) == 1
    err = capsys.readouterr().err
    assert "hipstats.toml [design.hipknee6wk.measures] strength: key 'visits'" in err
    monkeypatch.chdir(study)
    (study / "notebooks").mkdir()
    assert main(["report", "--quiet"]) == 1
    assert "key 'visits'" in capsys.readouterr().err
    assert not (study / "reports").exists()
    assert main(["validate", "x.csv", "--design", "nosuch"]) == 2


def test_timepoints_may_be_labels_and_one_group(tmp_path):
    d = design_from_table("prepost", {"time": "visit", "timepoints": ["pre", "post"],
                                      "measures": {"kujala": {"instrument": "kujala"},
                                                   "lefs": {"instrument": "lefs",
                                                            "mcid": 12}}})
    assert not d.has_groups and d.baseline == "pre" and d.reference == ""
    assert d.measure("lefs").mcid == 12 and "study config" in d.measure("lefs").mcid_source
    assert d.measure("kujala").instrument == "akps"
    frame = pd.DataFrame({"subject": ["a", "a", "b"], "visit": ["pre", "post", "pre"],
                          "kujala": [60, 75, 70], "lefs": [40, 55, 50]})
    df = hs.load(frame, d)
    assert list(df["visit"]) == ["pre", "post", "pre", "post"]
    assert df.attrs["measures"]["lefs"]["direction"] == "higher_better"


def test_instruments_carry_published_ranges_and_mcids():
    assert (get_instrument("lefs").high, get_instrument("lefs").mcid) == (80.0, 9.0)
    assert "Binkley" in get_instrument("lefs").mcid_source
    assert get_instrument("womac").high == 96.0 and get_instrument("womac_vas").high == 2400.0
    assert get_instrument("womac").mcid is None
    assert get_instrument("nprs").direction == "lower_better"
    assert get_instrument("koos-pf").high == 100.0
    with pytest.raises(KeyError, match="known: akps"):
        get_instrument("sf36")


def test_vas_recorded_in_mm_is_converted_to_cm(tmp_path):
    d = design_from_table("v", {"time": "week", "timepoints": [0, 6],
                                "measures": {"pain_vas": {"instrument": "vas"}}})
    frame = pd.DataFrame({"subject": ["a", "a"], "week": [0, 6], "pain_vas": [55.0, 20.0]})
    df = hs.load(frame, d, units={"pain_vas": "mm"})
    assert df["pain_vas"].tolist() == [5.5, 2.0]


def test_presets_are_written_as_tables_and_the_repository_config_matches():
    assert set(DESIGNS) == {"program6wk", "pfps3wk", "hipknee6wk"}
    for name, table in PRESETS.items():
        assert design_from_table(name, table) == DESIGNS[name]
    assert DESIGNS["program6wk"].measure("function_score").instrument == "lefs"
    assert DESIGNS["pfps3wk"].measure("pain_vas").mcid == 2.0
    assert declared_designs(ROOT / "hipstats.toml")["hipknee6wk"] == DESIGNS["hipknee6wk"]


def test_third_example_matches_its_file_and_calibration():
    ex = hs.example("hipknee6wk")
    df = hs.load(ROOT / "data" / "raw" / "hipknee6wk.csv", "hipknee6wk")
    pd.testing.assert_frame_equal(df, ex)
    assert ex["subject"].nunique() == 199
    assert ex.loc[~ex.week.isin([0, 6]), "strength"].isna().all()
    base = ex[ex.week == 0]
    assert abs(base["age"].mean() - 29.0) < 1.5 and (base["sex"] == "M").sum() == 66
    # dropouts: fewer patients at week 6 than at baseline, in both arms
    last = ex[(ex.week == 6) & ex.pain_vas.notna()].groupby("group").size()
    assert (last < 99).all()
    import json

    pkg = json.loads((ROOT / "data" / "datapackage.json").read_text())
    res = {r["name"]: r for r in pkg["resources"]}["hipknee6wk"]
    quantities = {c["quantity"]: c for c in res["hipstats:calibration"]}
    assert quantities["n randomised"]["value"] == 199
    assert "Ferber et al. 2015" in quantities["n randomised"]["source"]


def test_responders_take_direction_and_mcid_from_the_instrument():
    ex = hs.example("hipknee6wk")
    auto = hs.responders(ex, "akps", "week", "subject", 0, 6, group="group", relative=None,
                         rule="absolute")
    assert auto.attrs["mcid"] == 10.0 and "Crossley" in auto.attrs["mcid_source"]
    assert auto.attrs["criterion"]["direction"] == "increase"
    wide = ex.pivot(index="subject", columns="week", values="akps").dropna(subset=[0, 6])
    expect = int(((wide[6] - wide[0]) >= 10).sum())
    assert int(auto.loc[auto.kind == "group", "responders"].sum()) == expect
    pain = hs.responders(ex, "pain_vas", "week", "subject", 0, 6, relative=None,
                         rule="absolute")
    assert pain.attrs["criterion"]["direction"] == "decrease" and pain.attrs["mcid"] == 2.0


def test_labels_for_measures_terms_and_lags():
    ex = hs.example("hipknee6wk")
    assert measure_label("pain_vas", ex) == "Pain (VAS, cm)"
    assert measure_label("akps", ex) == "Function (AKPS)"
    assert measure_label("strength_change", ex) == "Change in hip-abductor strength (N/kg)"
    assert term_label("C(limb)[T.uninvolved]:C(week)[T.2]") == \
        "Limb (uninvolved vs involved) \u00d7 week 2"
    assert term_label("strength[k-1]", ex) == "Hip-abductor strength at the previous visit"
    assert term_label("C(group, levels=['KNEE', 'HIP'])[T.HIP]:C(week)[T.6]",
                      design=hs.hipknee6wk) == "Group (HIP vs KNEE) \u00d7 week 6"
    fixed = pd.DataFrame({"term": ["C(limb)[T.uninvolved]"], "estimate": [0.8]})
    assert list(add_labels(fixed).columns) == ["term", "label", "estimate"]
    shown = format_table(fixed, labels=True).data
    assert shown.iloc[0, 0] == "Limb (uninvolved vs involved)"
    assert format_table(fixed).data.iloc[0, 0] == "C(limb)[T.uninvolved]"


def test_init_template_shows_a_declared_design_that_parses(tmp_path):
    study = tmp_path / "s"
    assert main(["init", str(study)]) == 0
    text = (study / "hipstats.toml").read_text()
    assert "# [design.mytrial]" in text
    assert (study / "notebooks" / "design-page.ipynb").is_file()
    block = text[text.index("# [design.mytrial]"):]
    uncommented = "\n".join(re.sub(r"^# ?", "", line) for line in block.splitlines())
    parsed = tomllib.loads(uncommented)
    d = design_from_table("mytrial", parsed["design"]["mytrial"])
    assert d.measure("strength").visits == (0, 6)


def test_report_renders_a_declared_design_page(study, monkeypatch):
    """A new user's flow: a config declaring the design, an export with its own column
    names; the page names the file, shows both arms and all visits, labels the
    instruments and prints the arm difference at the last visit."""
    import subprocess
    import sys

    (study / "notebooks").mkdir()
    cfg = (study / "hipstats.toml").read_text()
    (study / "hipstats.toml").write_text(cfg.replace(
        'columns = { record_id', 'units = { strength = "N/kg" }\ncolumns = { record_id'))
    r = subprocess.run([sys.executable, "-m", "hipstats.cli", "report", "--quiet"],
                       cwd=study, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    page = (study / "reports" / "design-hipknee6wk.html").read_text()
    assert "trial.csv" in page and "synthetic" not in page.lower()
    for text in ("HIP - KNEE", "Pain (VAS, cm)", "Function (AKPS)", "Hip-abductor strength",
                 "At week 6, the difference HIP - KNEE in pain (VAS) was"):
        assert text in page, text
    emm = pd.read_csv(study / "reports" / "tables" /
                      "design-hipknee6wk-primary-pain_vas-emmeans.csv")
    assert sorted(emm["week"].unique()) == [1, 2, 3, 4, 5, 6]
    assert set(emm["group"]) == {"HIP", "KNEE"}
    fixed = pd.read_csv(study / "reports" / "tables" /
                        "design-hipknee6wk-primary-pain_vas-fixed.csv")
    assert "label" in fixed and fixed["term"].str.contains(r"\[T\.").any()


def test_prose_names_measures_by_label_and_says_improved_only_when_clear():
    from hipstats import summary

    df = hs.example("pfps3wk")
    res = hs.paired_change(df, "pain_vas", "time", "subject", "pre", "post", group="group")
    text = summary.describe_paired_change(res, "pain_vas", data=df)
    assert "In the PFPS group, pain (VAS) improved, changing by" in text
    assert "In the control group, pain (VAS) changed by" in text  # CI includes 0
    assert "pain_vas" not in text
