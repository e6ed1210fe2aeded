"""Real-world files read right: REDCap repeating instruments and access groups, SPSS value
labels, scale ranges and unit annotations, trailing delimiters, baseline/follow-up aliases;
and wrong files refused precisely (formulas without results, two columns for one cell,
Python-only literals, every non-UTF-8 byte)."""

import pandas as pd
import pytest

import hipstats

N_KG = {"strength": "N/kg"}


def _write(tmp_path, text, name="f.csv"):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def _ok(path, design="program6wk", **kw):
    rep = hipstats.validate(path, design, **kw)
    assert rep.ok, rep.summary()
    return rep


def test_redcap_repeating_instruments_and_access_groups(tmp_path):
    text = ("record_id,redcap_data_access_group,redcap_event_name,redcap_repeat_instrument,"
            "redcap_repeat_instance,strength,function_score,ae_term,visit_complete\n"
            "101,site_a,baseline_arm_1,,,2.1,50,,2\n"
            "101,site_a,week_2_arm_1,,,2.2,52,,2\n"
            "101,site_a,week_2_arm_1,adverse_events,1,,,knee pain,\n"
            "101,site_a,week_2_arm_1,adverse_events,2,,,fall,\n"
            "102,site_b,baseline_arm_1,,,2.5,60,,2\n"
            "102,site_b,week_2_arm_1,,,,61,,2\n"
            "102,site_b,week_2_arm_1,strength_retest,1,2.6,,,\n")
    rep = _ok(_write(tmp_path, text), units=N_KG)
    d = rep.data.set_index(["subject", "week"])
    assert d.loc[("101", 2), "strength"] == 2.2
    assert d.loc[("102", 2), "strength"] == 2.6 and d.loc[("102", 2), "function_score"] == 61
    led = rep.ledger.set_index("source_row")
    assert led.loc[3, "status"] == "excluded" and "'adverse_events' instance 1" in led.loc[3, "reason"]
    assert led.loc[7, "status"] == "kept" and "combined with row 6" in led.loc[7, "reason"]
    assert not any("data_access_group" in w for w in rep.warnings)  # recognised, not unknown
    # two instances that both carry strength: refused, naming the instance
    clash = text.replace("102,site_b,week_2_arm_1,,,,61,,2", "102,site_b,week_2_arm_1,,,2.4,61,,2")
    probs = hipstats.validate(_write(tmp_path, clash, "c.csv"), "program6wk", units=N_KG).problems
    assert len(probs) == 1 and probs[0].row == 7
    assert "duplicate row for subject '102' at week 2 (also row 6)" in probs[0].message
    assert "repeating instrument 'strength_retest' instance 1" in probs[0].message


def test_spss_value_labels_on_categorical_and_time_columns(tmp_path):
    import pyreadstat

    df = pd.DataFrame({"subject": [1.0, 1.0, 2.0, 2.0], "group": [1.0, 1.0, 2.0, 2.0],
                       "time": [1.0, 2.0, 1.0, 2.0], "strength": [2.0, 2.5, 3.0, 3.1],
                       "pain_vas": [5.0, 3.0, 0.0, 0.5], "sex": [1.0, 1.0, 2.0, 2.0]})
    path = tmp_path / "vl.sav"
    pyreadstat.write_sav(df, str(path), variable_value_labels={
        "group": {1.0: "PFPS", 2.0: "Control"}, "time": {1.0: "Baseline", 2.0: "Follow-up"},
        "sex": {1.0: "female", 2.0: "male"}}, column_labels={
        "strength": "Hip abduction strength (N/kg)", "pain_vas": "Pain VAS (0-10 cm)"})
    rep = _ok(path, "pfps3wk")
    assert rep.data[["group", "time", "sex"]].values.tolist() == [
        ["PFPS", "pre", "F"], ["PFPS", "post", "F"], ["control", "pre", "M"],
        ["control", "post", "M"]]
    assert rep.warnings == []  # the label declared the unit; the range is not a unit
    week = pd.DataFrame({"subject": [1.0, 1.0], "week": [1.0, 2.0], "strength": [2.0, 2.5],
                         "function_score": [50.0, 60.0]})
    p2 = tmp_path / "w.sav"
    pyreadstat.write_sav(week, str(p2), variable_value_labels={"week": {1.0: "Week 0",
                                                                        2.0: "Week 2"}},
                         column_labels={"function_score": "LEFS total (0-80)"})
    assert _ok(p2, units=N_KG).data["week"].tolist()[:2] == [0, 2]


@pytest.mark.parametrize("header, unit_note", [
    ("subject,week,strength [N],LEFS (0-80),body_mass (kg)", "N / body_mass (kg) -> N/kg"),
    ("subject,week,Strength (N),function_score (0-80 points),Body mass [kg]",
     "N / body_mass (kg) -> N/kg"),
])
def test_headers_with_scale_ranges_and_units(tmp_path, header, unit_note):
    text = header + "\nA,0,140,50,70\nA,2,150,55,70\n"
    rep = _ok(_write(tmp_path, text))
    assert rep.conversions == ["strength: " + unit_note]
    assert rep.data["function_score"].tolist()[:2] == [50, 55]
    assert any("scale 0-80 matches function_score" in n for n in rep.notes)


def test_a_scale_range_that_disagrees_is_a_warning_not_a_unit(tmp_path):
    text = "subject,group,time,strength [N/kg],VAS (0-100)\nR1,PFPS,pre,2,5\nR1,PFPS,post,2,3\n"
    rep = _ok(_write(tmp_path, text), "pfps3wk")
    assert any("scale 0-100, but pain_vas is 0-10 cm" in w for w in rep.warnings)


@pytest.mark.parametrize("text", [
    "subject,week,strength [N/kg],function_score,\nA,0,1.4,50,\nA,2,1.5,55,\n",
    "subject;week;strength [N/kg];function_score;\r\nA;0;1.4;50;\r\nA;2;1.5;55;\r\n",
    '"subject","week","strength [N/kg]","function_score",\n"A",0,1.4,50,\n"A",2,1.5,55,\n',
])
def test_trailing_delimiter_on_every_line(tmp_path, text):
    rep = _ok(_write(tmp_path, text))
    assert rep.data["strength"].tolist()[:2] == [1.4, 1.5]
    assert any("trailing delimiter" in n for n in rep.notes)


def test_baseline_and_follow_up_aliases_everywhere(tmp_path):
    wide = ("subject,group,strength_baseline,strength_follow-up,pain_vas_pre,pain_vas_post\n"
            "R1,PFPS,2,2.5,5,3\n")
    rep = _ok(_write(tmp_path, wide), "pfps3wk", units=N_KG)
    assert rep.data["strength"].tolist() == [2.0, 2.5]  # follow-up is not NaN
    assert rep.data["pain_vas"].tolist() == [5.0, 3.0]  # _pre with _baseline: one visit
    assert rep.ledger["n_visits"].tolist() == [2]
    long = ("subject,group,time,strength,pain_vas\nR1,PFPS,Baseline,2,5\nR1,PFPS,Follow-up,2.5,3\n"
            "R2,control,pre-intervention,2,5\nR2,control,FOLLOW UP,2.5,3\n")
    assert _ok(_write(tmp_path, long, "l.csv"), "pfps3wk", units=N_KG).data["time"].tolist() == \
        ["pre", "post"] * 2
    weeks = "subject,strength_baseline,strength_week_2,lefs_bl,lefs_w2\nA,2,2.5,50,55\n"
    d = _ok(_write(tmp_path, weeks, "w.csv"), units=N_KG).data
    assert d["strength"].tolist()[:2] == [2.0, 2.5] and d["function_score"].tolist()[:2] == [50, 55]
    redcap = ("record_id,redcap_event_name,strength,pain_vas,group\n"
              "1,baseline_arm_1,2,5,PFPS\n1,follow_up_arm_1,2.5,3,\n")
    assert _ok(_write(tmp_path, redcap, "r.csv"), "pfps3wk", units=N_KG).data["time"].tolist() \
        == ["pre", "post"]


def test_excel_formulas_without_saved_results_are_reported(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["subject", "week", "strength", "function_score"])
    ws.append(["A", 0, 1.5, 50])
    ws.append(["A", 2, "=C2*1.1", 55])
    ws.append(["B", 0, 1.7, "=SUM(D2:D3)"])
    path = tmp_path / "fx.xlsx"
    wb.save(path)
    probs = hipstats.validate(path, "program6wk", units=N_KG).problems
    assert [(p.row, p.column, p.value) for p in probs] == [
        (2, "strength", "'=C2*1.1'"), (3, "function_score", "'=SUM(D2:D3)'")]
    assert all("formula with no saved result" in p.message for p in probs)


@pytest.mark.parametrize("header", ["subject,strength_w0,strength_0,lefs_w0",
                                    "subject,strength_w0,STRENGTH_0,lefs_w0"])
def test_two_columns_for_one_cell_are_rejected_naming_both(tmp_path, header):
    probs = hipstats.validate(_write(tmp_path, header + "\nA,1,2,50\n"), "program6wk",
                              units=N_KG).problems
    assert len(probs) == 1
    a, b = header.split(",")[1:3]
    assert f"columns {a!r}, {b!r} both hold strength at week 0" in probs[0].message


def test_python_only_literals_are_not_numbers(tmp_path):
    text = "subject,week,strength,function_score\nA,0,6_5,50\nA,2,1.5,5_5\nB,0,１,50\nB,2,1e1,50\n"
    probs = hipstats.validate(_write(tmp_path, text), "program6wk", units=N_KG).problems
    assert [(p.row, p.column, p.value) for p in probs] == [
        (1, "strength", "'6_5'"), (2, "function_score", "'5_5'"), (3, "strength", "'１'")]
    assert all(p.message.startswith("expected a number") for p in probs)
    week = "subject,week,strength,function_score\nA,0_2,1.5,50\n"
    assert "unknown timepoint" in hipstats.validate(_write(tmp_path, week, "w.csv"),
                                                    "program6wk").problems[0].message


def test_every_non_utf8_byte_is_reported_with_row_and_column(tmp_path):
    text = ("subject,group,time,strength,pain_vas\nRé1,PFPS,pre,2,5\nR2,contrôle,pre,2,5\n"
            "R3,PFPS,pre,2,5\nR4,PFPS,pré,2,5\n").encode("latin-1")
    probs = hipstats.validate(_write(tmp_path, text), "pfps3wk").problems
    assert [(p.row, p.column, p.value) for p in probs] == [
        (1, "subject", r"b'R\xe91'"), (2, "group", r"b'contr\xf4le'"),
        (4, "time", r"b'pr\xe9'")]
    assert all("not UTF-8" in p.message and "re-save the file as UTF-8" in p.message
               for p in probs)
    assert "'contrôle'" in probs[1].message  # what it would read as in Windows-1252
