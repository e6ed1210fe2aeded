"""Study units: what the file holds (units=, headers, labels, per-row unit columns) and what
results are in (analysis_units=), recorded in frame.attrs; undeclared strength warns."""

import warnings

import pytest

import hipstats
from hipstats.design import Design, Measure
from hipstats.errors import HipstatsDataError

G = 9.80665
TORQUE = ("subject,week,strength,function_score,body_mass,lever_arm\n"
          "A,0,70,50,70,0.35\nA,2,84,55,70,0.35\nB,0,60,60,60,0.40\nB,2,66,62,60,0.40\n")


def _write(tmp_path, text, name="f.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _load(path, design="program6wk", **kw):
    """Load; any warning fails except how the file was read (kept in attrs["readings"])."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", hipstats.ReadingWarning)
        return hipstats.load(path, design, **kw)


def _read(df, kind) -> list:
    return [i for r in df.attrs["readings"] if r["kind"] == kind for i in r["items"]]


@pytest.mark.parametrize("analysis, expected", [
    ("N*m/kg", [1.0, 1.2, 1.0, 1.1]),
    ("N/kg", [1 / 0.35, 1.2 / 0.35, 1 / 0.40, 1.1 / 0.40]),
    ("%BW", [100 / 0.35 / G, 120 / 0.35 / G, 100 / 0.40 / G, 110 / 0.40 / G]),
    ("N*m", [70, 84, 60, 66]),
    ("N", [200, 240, 150, 165]),
    ("kg", [200 / G, 240 / G, 150 / G, 165 / G]),
])
def test_torque_file_in_every_analysis_unit(tmp_path, analysis, expected):
    path = _write(tmp_path, TORQUE)
    df = _load(path, units={"strength": "N*m"}, lever_arm="lever_arm",
               analysis_units={"strength": analysis})
    got = df.dropna(subset=["strength"])["strength"].tolist()
    assert got == pytest.approx(expected)
    assert df.attrs["units"]["strength"] == ("kgf" if analysis == "kg" else analysis)
    assert df.attrs["units"]["body_mass"] == "kg" and df.attrs["units"]["lever_arm"] == "m"
    assert "lever_arm" in df.columns  # the lever arm column is kept


def test_units_recorded_for_every_column(tmp_path):
    text = ("subject,group,time,strength [N*m],strength_uninvolved,pain_vas (mm),body_mass\n"
            "R1,PFPS,pre,70,80,50,70\nR1,PFPS,post,84,85,30,70\n")
    design = Design.from_dict({**hipstats.pfps3wk.to_dict(), "measures": [
        *hipstats.pfps3wk.to_dict()["measures"],
        {"name": "strength_uninvolved", "unit": "N/kg", "low": 0, "high": 10, "required": False}]})
    df = _load(_write(tmp_path, text), design, lever_arm=0.35,
               analysis_units={"strength": "N*m/kg"})
    assert df.attrs["units"] == {"strength": "N*m/kg", "strength_uninvolved": "N*m/kg",
                                 "pain_vas": "cm", "body_mass": "kg"}
    assert df["strength_uninvolved"].tolist() == pytest.approx([80 / 70, 85 / 70])
    assert df.attrs["conversions"] == [
        "pain_vas: mm * 0.1 -> cm", "strength: N*m / body_mass (kg) -> N*m/kg",
        "strength_uninvolved: N*m / body_mass (kg) -> N*m/kg"]
    assert _read(df, "units") == ["strength_uninvolved: no unit declared; taken as strength's "
                                  "(N*m)"]


def test_custom_design_in_torque_units(tmp_path):
    design = Design(name="torque6wk", time="week", timepoints=(0, 2), measures=(
        Measure("strength", "N*m/kg", 0.0, 5.0), Measure("function_score", "points", 0, 80)),
        covariates=(Measure("body_mass", "kg", 30, 200, required=False),))
    df = _load(_write(tmp_path, TORQUE), design, units={"strength": "N*m"})
    assert df["strength"].tolist() == pytest.approx([1.0, 1.2, 1.0, 1.1])
    assert df.attrs["units"]["strength"] == "N*m/kg"


def test_undeclared_strength_warns_with_the_value_range(tmp_path):
    text = "subject,week,strength,function_score\nA,0,0.8,50\nA,2,1.9,55\n"
    path = _write(tmp_path, text)
    with pytest.warns(UserWarning, match=r"strength: no unit declared; assumed N/kg; values "
                                         r"0\.8-1\.9 are also plausible as N\*m/kg — declare units="):
        df = hipstats.load(path, "program6wk")
    assert df.attrs["unit_assumed"] == {"strength": "N/kg"}
    rep = hipstats.validate(path, "program6wk")
    assert rep.ok and any("no unit declared" in w for w in rep.warnings)
    # a declaration in any form silences it
    for kw in ({"units": {"strength": "N/kg"}},):
        assert _load(path, **kw).attrs["unit_assumed"] == {}


def test_spss_label_declares_the_unit_and_no_warning(tmp_path):
    import pandas as pd
    import pyreadstat

    df = pd.DataFrame({"subject": [1.0, 1.0], "week": [0.0, 2.0], "strength": [1.1, 1.3],
                       "function_score": [50.0, 55.0]})
    path = tmp_path / "t.sav"
    pyreadstat.write_sav(df, str(path), column_labels={
        "strength": "Hip abductor torque (Nm/kg)", "function_score": "LEFS (0-80)"})
    got = _load(path, analysis_units={"strength": "N*m/kg"})
    assert got["strength"].tolist()[:2] == [1.1, 1.3]
    assert got.attrs["units"]["strength"] == "N*m/kg" and got.attrs["conversions"] == []
    assert _read(got, "units") == ["column 'function_score': scale 0-80 matches function_score",
                                   "units declared in the SPSS variable label: strength N*m/kg"]
    with pytest.raises(HipstatsDataError) as err:  # to N/kg it needs the lever arm
        _load(path)
    assert len(err.value.problems) == 1 and "declare lever_arm=" in str(err.value)


def test_per_row_unit_column_is_honoured(tmp_path):
    text = ("subject,week,strength,strength_unit,function_score,body_mass\n"
            "A,0,1.54,N/kg,50,70\nA,2,11,kgf,55,70\nB,0,1.6,N/kg,60,60\nB,2,,,62,60\n")
    df = _load(_write(tmp_path, text), units=None)
    assert df.dropna(subset=["strength"])["strength"].tolist() == pytest.approx(
        [1.54, 11 * G / 70, 1.6])
    assert 1.5 < df["strength"].iloc[1] < 1.6  # not 11 (nor 9.40) read as N/kg
    assert df.attrs["conversions"] == ["strength: kgf * 9.80665 / body_mass (kg) -> N/kg"]
    assert df.attrs["unit_assumed"] == {}
    assert _read(df, "units") == ["strength: unit read row by row from column 'strength_unit' "
                                  "(N/kg on 2 rows, kgf on 1 row)"]


def test_per_row_unit_column_rejects_unknown_units_naming_row_and_column(tmp_path):
    text = ("subject,week,strength,strength_unit,function_score,body_mass\n"
            "A,0,1.54,N/kg,50,70\nA,2,11,stone,55,70\nB,0,1.6,,60,60\n")
    probs = hipstats.validate(_write(tmp_path, text), "program6wk").problems
    assert [(p.row, p.column, p.value) for p in probs] == [
        (2, "strength_unit", "'stone'"), (3, "strength_unit", None)]
    assert "unit cannot be converted to N/kg" in probs[0].message
    assert "no unit on this row" in probs[1].message


def test_lever_arm_number_and_bad_analysis_unit(tmp_path):
    path = _write(tmp_path, TORQUE.replace(",lever_arm", "").replace(",0.35", "").replace(",0.40", ""))
    df = _load(path, units={"strength": "N*m"}, lever_arm=0.5)
    assert df.dropna(subset=["strength"])["strength"].iloc[0] == pytest.approx(70 / 0.5 / 70)
    assert "lever_arm 0.5 m (lever_arm=)" in df.attrs["conversions"][0]
    rep = hipstats.validate(path, "program6wk", units={"strength": "N*m"},
                            analysis_units={"strength": "cm"})
    assert any("cannot be expressed in 'cm'" in p.message for p in rep.problems)
