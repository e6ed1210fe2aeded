"""Bring your own data: one 12-subject, 6-week study delivered in three shapes loads to the
same person-period frame, with strength analysed as N*m/kg (issue 10 acceptance scenario)."""

import warnings

import numpy as np
import pandas as pd
import pytest

import hipstats

WEEKS = (0, 2, 4, 6)
N = 12


@pytest.fixture(scope="module")
def study():
    """The truth: torque (N*m), body mass (kg), lever arm (m), LEFS per subject and week."""
    rng = np.random.default_rng(10)
    ids = np.arange(101, 101 + N)
    mass = np.round(rng.uniform(55, 95, N), 1)
    lever = np.round(rng.uniform(0.30, 0.45, N), 3)
    rows = []
    for i, s in enumerate(ids):
        base = rng.uniform(0.9, 1.4)
        for k, w in enumerate(WEEKS):
            nmkg = base + 0.08 * k + rng.normal(0, 0.03)
            rows.append({"subject": int(s), "week": w, "torque": round(nmkg * mass[i], 2),
                         "body_mass": mass[i], "lever_arm": lever[i],
                         "lefs": int(40 + 4 * k + rng.integers(0, 8))})
    return pd.DataFrame(rows)


def _redcap(study, folder):
    event = {0: "baseline_arm_1", 2: "week_2_arm_1", 4: "week_4_arm_1", 6: "week_6_arm_1"}
    lines = []
    for r in study.itertuples():
        lines.append({"record_id": r.subject, "redcap_event_name": event[r.week],
                      "hip_abd_torque_nm": r.torque, "lefs_total": r.lefs,
                      "body_mass_kg": r.body_mass if r.week == 0 else None,
                      "redcap_repeat_instrument": "", "assessment_complete": 2})
        if r.subject in (103, 108) and r.week == 2:  # a repeating adverse-event form
            lines.append({"record_id": r.subject, "redcap_event_name": event[r.week],
                          "hip_abd_torque_nm": None, "lefs_total": None, "body_mass_kg": None,
                          "redcap_repeat_instrument": "adverse_events",
                          "assessment_complete": None})
    path = folder / "trial_redcap.csv"
    pd.DataFrame(lines).to_csv(path, index=False)
    dic = folder / "trial_dictionary.csv"
    pd.DataFrame([
        ("record_id", "assessment", "text", "Record ID", "", ""),
        ("hip_abd_torque_nm", "assessment", "text", "Hip abduction torque, involved side", "",
         "N*m"),
        ("lefs_total", "assessment", "calc", "LEFS total (0-80)", "", ""),
        ("body_mass_kg", "assessment", "text", "Body mass", "", "kg"),
    ], columns=["Variable / Field Name", "Form Name", "Field Type", "Field Label",
                "Choices, Calculations, OR Slider Labels", "Field Note"]).to_csv(dic, index=False)
    return path, dic


def _excel(study, folder):
    wide = study.drop_duplicates("subject")[["subject", "body_mass", "lever_arm"]].set_index(
        "subject")
    for w in WEEKS:
        at = study[study["week"] == w].set_index("subject")
        wide[f"strength_N_w{w}"] = at["torque"] / at["lever_arm"]  # force in newtons
    for w in WEEKS:
        wide[f"lefs_w{w}"] = study[study["week"] == w].set_index("subject")["lefs"]
    path = folder / "trial_wide.xlsx"
    wide.reset_index().to_excel(path, index=False, sheet_name="Data")
    return path


def _spss(study, folder):
    import pyreadstat

    df = pd.DataFrame({"subject": study["subject"].astype(float),
                       "week": study["week"].astype(float),
                       "strength": study["torque"] / study["body_mass"],  # N*m/kg
                       "function_score": study["lefs"].astype(float)})
    path = folder / "trial_long.sav"
    pyreadstat.write_sav(df, str(path))
    return path


OPTIONS = {
    "redcap": lambda p: dict(
        columns={"hip_abd_torque_nm": "strength", "lefs_total": "function_score"},
        dictionary=p[1], analysis_units={"strength": "N*m/kg"}),
    "excel": lambda p: dict(
        columns={"strength_N": "strength", "lefs": "function_score"}, units={"strength": "N"},
        lever_arm="lever_arm", analysis_units={"strength": "N*m/kg"}, sheet="Data"),
    "spss": lambda p: dict(units={"strength": "N*m/kg"}, analysis_units={"strength": "N*m/kg"}),
}


@pytest.fixture(scope="module")
def files(study, tmp_path_factory):
    folder = tmp_path_factory.mktemp("byo")
    return {"redcap": _redcap(study, folder), "excel": _excel(study, folder),
            "spss": _spss(study, folder)}


def _load(files, shape, said=None):
    """Load with the documented options: no warning but how the file was read (a
    ReadingWarning per kind of reading, collected in ``said``)."""
    f = files[shape]
    path = f[0] if isinstance(f, tuple) else f
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("error")
        warnings.simplefilter("always", hipstats.ReadingWarning)
        df = hipstats.load(path, "program6wk", **OPTIONS[shape](f))
    if said is not None:
        said += [str(w.message) for w in caught]
    return df


def test_what_hipstats_read_into_each_shape_is_said(files):
    """The REDCap export: two repeating-instrument rows excluded, the REDCap id and a unit
    suffix matched by name, units from the dictionary; the Excel and SPSS files are read
    exactly as the options say: nothing to say."""
    said = []
    df = _load(files, "redcap", said)
    path = str(files["redcap"][0])
    assert said == [
        f"{path}: rows excluded: rows 11, 32: REDCap repeating instrument 'adverse_events': "
        "no field of the design",
        f"{path}: columns matched by name: column 'body_mass_kg' read as 'body_mass' in kg "
        "(unit from its name); column 'record_id' read as 'subject'",
        f"{path}: units read: units declared in the data dictionary: body_mass kg, "
        "strength N*m"]
    assert [r["kind"] for r in df.attrs["readings"]] == ["rows", "columns", "units"]
    for shape in ("excel", "spss"):
        said = []
        assert _load(files, shape, said).attrs["readings"] == [] and said == []


@pytest.mark.parametrize("shape", sorted(OPTIONS))
def test_each_shape_loads_to_the_study(study, files, shape):
    df = _load(files, shape)
    assert len(df) == 48
    assert df["subject"].tolist() == [str(s) for s in study["subject"]]
    assert df["week"].tolist() == study["week"].tolist()
    assert df["function_score"].tolist() == pytest.approx(study["lefs"].astype(float).tolist())
    expected = (study["torque"] / study["body_mass"]).to_numpy()
    assert np.abs(df["strength"].to_numpy() - expected).max() < 1e-3
    assert df.attrs["units"]["strength"] == "N*m/kg"
    assert df.attrs["unit_assumed"] == {}


def test_three_shapes_agree(files):
    frames = [_load(files, s)[["subject", "week", "strength", "function_score"]]
              for s in sorted(OPTIONS)]
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other, atol=1e-3, rtol=0)


def test_conversions_are_recorded_in_words(files):
    assert _load(files, "redcap").attrs["conversions"] == [
        "strength: N*m / body_mass (kg) -> N*m/kg"]
    assert _load(files, "excel").attrs["conversions"] == [
        "strength: N * lever_arm (m) / body_mass (kg) -> N*m/kg"]
    assert _load(files, "spss").attrs["conversions"] == []
    excel = _load(files, "excel")
    assert "lever_arm" in excel.columns and excel.attrs["units"]["lever_arm"] == "m"
    assert excel.attrs["units"]["body_mass"] == "kg"


def test_redcap_repeating_rows_are_excluded_not_duplicates(files):
    path, dic = files["redcap"]
    rep = hipstats.validate(path, "program6wk", dictionary=dic, **{
        k: v for k, v in OPTIONS["redcap"](files["redcap"]).items() if k != "dictionary"})
    assert rep.ok, rep.summary()
    excluded = rep.ledger[rep.ledger["status"] == "excluded"]
    assert len(excluded) == 2
    assert all("repeating instrument 'adverse_events'" in r for r in excluded["reason"])


def test_spss_without_declared_units_warns_and_records_the_assumption(files):
    with pytest.warns(UserWarning, match=r"strength: no unit declared; assumed N/kg; values "
                                         r"[0-9.]+-[0-9.]+ are also plausible as N\*m/kg"):
        df = hipstats.load(files["spss"], "program6wk")
    assert df.attrs["unit_assumed"] == {"strength": "N/kg"}
    assert df.attrs["units"]["strength"] == "N/kg"
    rep = hipstats.validate(files["spss"], "program6wk")
    assert any("no unit declared" in w for w in rep.warnings)


def test_without_mapping_the_error_lists_accepted_names_and_closest_columns(files):
    path, dic = files["redcap"]
    rep = hipstats.validate(path, "program6wk", dictionary=dic)
    msg = {p.column: p.message for p in rep.problems}
    assert "strength" in msg and "function_score" in msg
    assert "accepted names: strength, strength_involved" in msg["strength"]
    assert "closest file columns" in msg["function_score"]
    assert "'lefs_total'" in msg["function_score"]
