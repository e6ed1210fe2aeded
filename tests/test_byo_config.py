"""Study config: hipstats.toml [data.<design>] tables for hs.load, hs.validate and
`hipstats validate --config`; load_options for other commands."""

import warnings

import pytest

import hipstats
from hipstats.cli import main
from hipstats.config import ConfigError, designs_in, load_options

DATA = ("pid,wk,hip_torque,lefs_total,mass_kg,arm_cm\n"
        "A,0,70,50,70,35\nA,2,-99,55,70,35\nB,0,60,60,60,40\nB,2,66,62,60,40\n")
TOML = """
[data.program6wk]
path = "exports/trial.csv"
columns = { hip_torque = "strength", lefs_total = "function_score", mass_kg = "body_mass", arm_cm = "lever_arm" }
units = { strength = "N*m", lever_arm = "cm" }
analysis_units = { strength = "N*m/kg" }
lever_arm = "arm_cm"
missing = [-99]

[data.pfps3wk]
path = "pfps.csv"
"""


@pytest.fixture()
def study(tmp_path):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "trial.csv").write_text(DATA, encoding="utf-8")
    cfg = tmp_path / "hipstats.toml"
    cfg.write_text(TOML, encoding="utf-8")
    return cfg


def test_load_with_config_takes_the_path_and_options(study, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path.parent)  # the path is relative to the toml, not the cwd
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("error")
        warnings.simplefilter("always", hipstats.ReadingWarning)  # how it was read: said
        df = hipstats.load(config=study, design="program6wk")
    assert [str(w.message).split(": ", 1)[1] for w in said] == [
        "columns matched by name: column 'pid' read as 'subject'; column 'wk' read as 'week'"]
    nan = float("nan")  # week 2 of A is coded -99; weeks 4 and 6 are missing visits
    assert df["strength"].tolist() == pytest.approx([1.0, nan, nan, nan, 1.0, 1.1, nan, nan],
                                                    nan_ok=True)
    assert df.attrs["units"]["strength"] == "N*m/kg"
    assert df["lever_arm"].tolist() == pytest.approx([0.35] * 4 + [0.40] * 4)
    assert any("missing-value code" in n for n in df.attrs["notes"])


def test_explicit_arguments_override_the_config(study):
    df = hipstats.load(config=study, design="program6wk", analysis_units={"strength": "N*m"})
    assert df.attrs["units"]["strength"] == "N*m"
    assert df["strength"].iloc[0] == pytest.approx(70)


def test_load_options_for_other_commands(study):
    opts = load_options(study, "program6wk")
    assert opts["source"] == study.parent / "exports" / "trial.csv"
    assert opts["lever_arm"] == "arm_cm" and opts["missing"] == [-99]
    assert opts["columns"]["hip_torque"] == "strength"
    df = hipstats.load(design="program6wk", **opts)
    assert len(df) == 8
    assert designs_in(study) == ["program6wk", "pfps3wk"]


@pytest.mark.parametrize("text, message", [
    ("[data.program6wk]\npath = 3\n", "path must be a file path"),
    ("[data.program6wk]\npath = 'x.csv'\nunit = { strength = 'N' }\n", "unknown key unit"),
    ("[data.program6wk]\npath = 'x.csv'\nlever_arm = -1\n", "positive number"),
    ("[data.program6wk]\npath = 'x.csv'\nmissing = -99\n", "list of codes"),
    ("[data.pfps3wk]\npath = 'x.csv'\n", "no [data.program6wk] table; it has [data.pfps3wk]"),
    ("[data.program6wk\n", "not valid TOML"),
])
def test_config_errors_name_the_file_and_the_key(tmp_path, text, message):
    cfg = tmp_path / "hipstats.toml"
    cfg.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="hipstats.toml") as err:
        load_options(cfg, "program6wk")
    assert message in str(err.value)


def test_cli_validate_with_config_and_flags(study, capsys):
    assert main(["validate", "--config", str(study), "--design", "program6wk"]) == 0
    out = capsys.readouterr().out
    assert "valid program6wk" in out and "N*m / body_mass (kg) -> N*m/kg" in out
    # one-off flags override the config
    assert main(["validate", "--config", str(study), "--design", "program6wk",
                 "--analysis-units", "strength=N", "--json"]) == 0
    assert '"strength": "N"' in capsys.readouterr().out
    assert main(["validate", "--design", "program6wk"]) == 2
    bad = study.parent / "bad.toml"
    bad.write_text("[data.program6wk]\npath = 1\n", encoding="utf-8")
    assert main(["validate", "--config", str(bad), "--design", "program6wk"]) == 1
    assert "path must be a file path" in capsys.readouterr().err


def test_cli_one_off_flags_without_config(study, capsys):
    path = str(study.parent / "exports" / "trial.csv")
    args = ["validate", path, "--design", "program6wk", "--map", "hip_torque=strength",
            "--map", "lefs_total=function_score", "--map", "mass_kg=body_mass",
            "--units", "strength=N*m", "--analysis-units", "strength=N/kg",
            "--lever-arm", "0.35", "--missing", "-99"]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "strength: N*m / lever_arm 0.35 m (lever_arm=) / body_mass (kg) -> N/kg" in out
    assert "'arm_cm'" in out  # not mapped here: listed as ignored, never silently
