"""Files as researchers export them (issue 19): loaded exactly, or refused naming file, row,
column and value; never silently changed or dropped.

The five that used to load silently wrong (wide ``strength_2wk`` columns ignored, "Mean"/"SD"
rows read as subjects, a hidden stale first sheet read, %BW cells formatted as percent 100x
too small, subject ids that Excel turned into dates) and a third ``follow-up`` visit; then
Stata, SAS, Feather, UTF-16 and European CSV; visit labels and visits as dates; title and
units rows; body mass given on a subject's first row only.
"""

import datetime as dt

import numpy as np
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


def _xlsx(path, sheets):
    """sheets: list of (title, rows, state, formats {(row, col): number_format})."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows, state, fmts in sheets:
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        ws.sheet_state = state
        for (r, c), f in (fmts or {}).items():
            ws.cell(row=r, column=c).number_format = f
    wb.save(path)
    return path


# -- the five silent-wrong loads ----------------------------------------------------------------
@pytest.mark.parametrize("header", [
    "subject,strength_0wk,strength_2wk,strength_4wk,strength_6wk,lefs_0wk,lefs_2wk,lefs_4wk,lefs_6wk",
    "subject,strength_wk0,strength_wk2,strength_wk4,strength_wk6,lefs_wk0,lefs_wk2,lefs_wk4,lefs_wk6",
    "subject,strength_baseline,strength_2w,strength_week4,strength_6_weeks,lefs_bl,lefs_w2,lefs_w4,lefs_w6",
    "subject,strength_t0,strength_t1,strength_t2,strength_t3,lefs_t0,lefs_t1,lefs_t2,lefs_t3",
    "subject,strength_v1,strength_v2,strength_v3,strength_v4,lefs_v1,lefs_v2,lefs_v3,lefs_v4",
    "subject,wk0_strength,wk2_strength,wk4_strength,wk6_strength,wk0_lefs,wk2_lefs,wk4_lefs,wk6_lefs",
])
def test_wide_visit_conventions_are_placed_on_the_grid(tmp_path, header):
    text = header + "\nA,2.0,2.2,2.4,2.6,50,55,60,65\n"
    rep = _ok(_write(tmp_path, text), units=N_KG)
    d = rep.data
    assert d["week"].tolist() == [0, 2, 4, 6]
    assert d["strength"].tolist() == [2.0, 2.2, 2.4, 2.6]
    assert d["function_score"].tolist() == [50, 55, 60, 65]
    assert len(rep.missing_visits) == 0 and not rep.warnings


@pytest.mark.parametrize("col", ["strength_3mo", "strength_wk3", "lefs_12m", "strength_v7"])
def test_a_measure_column_that_cannot_be_placed_is_an_error(tmp_path, col):
    text = f"subject,strength_wk0,lefs_wk0,{col}\nA,2.0,50,2.5\n"
    rep = hipstats.validate(_write(tmp_path, text), "program6wk", units=N_KG)
    assert not rep.ok
    p = [p for p in rep.problems if p.column == col]
    assert p, rep.summary()
    assert "cannot be placed" in p[0].message or "timepoint" in p[0].message
    assert not any(col in w for w in rep.warnings)  # never only an ignored-column warning


def test_unrelated_extra_columns_stay_warnings(tmp_path):
    text = "subject,week,strength,lefs,strength_notes,pain_location\nA,0,2,50,ok,knee\n"
    rep = _ok(_write(tmp_path, text), units=N_KG)
    assert "strength_notes" in rep.warnings[0] and "pain_location" in rep.warnings[0]


def test_summary_rows_under_an_excel_table_are_excluded_each_named(tmp_path):
    rows = [["subject", "week", "strength", "function_score"],
            ["A", 0, 2.0, 50], ["A", 2, 2.2, 55], ["B", 0, 1.8, 40], ["B", 2, 2.0, 48],
            [None, None, None, None],
            ["Mean", None, 2.0, 48.25], ["SD", None, 0.16, 6.2], ["n", None, 4, 4]]
    p = _xlsx(tmp_path / "s.xlsx", [("Data", rows, "visible", None)])
    rep = _ok(p, units=N_KG)
    assert sorted(rep.data["subject"].unique()) == ["A", "B"]
    led = rep.ledger.set_index("source_row")
    for r, lab in ((6, "Mean"), (7, "SD"), (8, "n")):
        assert led.loc[r, "status"] == "excluded"
        assert f"summary row {lab!r} under the data" in led.loc[r, "reason"]
    assert led.loc[5, "status"] == "excluded"  # the blank row between
    # a summary label in the middle of the data is an error naming the row
    mid = rows[:3] + [["Total", None, 4.2, 105]] + rows[3:5]
    p2 = _xlsx(tmp_path / "m.xlsx", [("Data", mid, "visible", None)])
    probs = hipstats.validate(p2, "program6wk", units=N_KG).problems
    assert [(q.row, q.column, q.value) for q in probs] == [(3, "subject", "'Total'")]
    # the label in another column, subject cell empty (CSV)
    text = "subject,group,time,strength,pain_vas\nA,PFPS,pre,2,5\nA,PFPS,post,2.5,3\n,Mean,,2.25,4\n"
    rep = _ok(_write(tmp_path, text), "pfps3wk", units=N_KG)
    assert rep.ledger.set_index("source_row").loc[3, "status"] == "excluded"


def test_hidden_sheets_are_never_read_unless_named(tmp_path):
    stale = [["subject", "week", "strength", "function_score"], ["OLD", 0, 9.9, 1]]
    notes = [["Study notes"], ["exported 2024-03-01"]]
    data = [["subject", "week", "strength", "function_score"], ["A", 0, 2.0, 50], ["A", 2, 2.1, 52]]
    p = _xlsx(tmp_path / "h.xlsx", [("stale", stale, "hidden", None),
                                    ("README", notes, "visible", None),
                                    ("Data", data, "visible", None)])
    rep = _ok(p, units=N_KG)
    assert rep.data["subject"].unique().tolist() == ["A"]
    assert any("hidden sheet 'stale' not read" in n for n in rep.notes)
    assert any("sheet 'Data'" in n for n in rep.notes)
    # named: read, and said
    rep2 = _ok(p, units=N_KG, sheet="stale")
    assert rep2.data["subject"].unique().tolist() == ["OLD"]
    assert any("'stale' is hidden" in n for n in rep2.notes)
    # no visible data sheet: the visible sheets are listed
    p3 = _xlsx(tmp_path / "n.xlsx", [("stale", stale, "hidden", None),
                                     ("README", notes, "visible", None),
                                     ("Chart data", [["x", "y"], [1, 2]], "visible", None)])
    probs = hipstats.validate(p3, "program6wk").problems
    assert len(probs) == 1 and "visible sheets: 'README', 'Chart data'" in probs[0].message
    assert "hidden: 'stale'" in probs[0].message


def test_percent_formatted_cells_are_read_as_displayed(tmp_path):
    rows = [["subject", "week", "strength", "function_score"],
            ["A", 0, 0.35, 50], ["A", 2, 0.405, 55]]
    p = _xlsx(tmp_path / "p.xlsx", [("Data", rows, "visible",
                                     {(2, 3): "0%", (3, 3): "0.0%"})])
    rep = _ok(p, analysis_units={"strength": "%BW"})
    assert rep.data["strength"].tolist()[:2] == [35.0, 40.5]  # exact, not 0.35 * 100
    assert rep.declared_units["strength"] == "%BW"
    assert any("formatted as percent read as displayed" in n for n in rep.notes)
    assert not any("assumed" in w for w in rep.warnings)


def test_subject_ids_that_became_dates_are_reported(tmp_path):
    rows = [["subject", "week", "strength", "function_score"],
            [dt.datetime(2024, 3, 12), 0, 2.0, 50], ["3-13", 0, 2.0, 50]]
    p = _xlsx(tmp_path / "d.xlsx", [("Data", rows, "visible", None)])
    probs = hipstats.validate(p, "program6wk", units=N_KG).problems
    assert [(q.row, q.column) for q in probs] == [(1, "subject")]
    assert "subject id is a date" in probs[0].message
    text = "subject,week,strength,lefs\n12-Mar,0,2,50\nMar-13,0,2,50\nS14,0,2,50\n"
    probs = hipstats.validate(_write(tmp_path, text), "program6wk", units=N_KG).problems
    assert [(q.row, q.value) for q in probs] == [(1, "'12-Mar'"), (2, "'Mar-13'")]


def test_a_third_follow_up_visit_is_an_error_never_post(tmp_path):
    text = ("subject,group,time,strength,pain_vas\n"
            "A,PFPS,pre,2,5\nA,PFPS,post,2.5,3\nA,PFPS,follow-up,2.6,2\n"
            "B,PFPS,pre,2,5\nB,PFPS,follow-up,2.6,2\n")
    probs = hipstats.validate(_write(tmp_path, text), "pfps3wk", units=N_KG).problems
    assert [(q.row, q.value) for q in probs] == [(3, "'follow-up'"), (5, "'follow-up'")]
    assert "third visit" in probs[0].message and "'post'" in probs[0].message


# -- formats ------------------------------------------------------------------------------------
def _long_frame():
    return pd.DataFrame({"subject": [1.0, 1.0, 2.0, 2.0], "week": [1.0, 2.0, 1.0, 2.0],
                         "strength": [2.0, 2.5, 3.0, 3.1], "lefs": [50.0, 55.0, 60.0, 61.0]})


def test_stata_dta_value_labels_and_extended_missing(tmp_path):
    import pyreadstat

    df = _long_frame().astype(object)
    df.loc[1, "strength"] = "a"      # .a: not measured
    df.loc[3, "lefs"] = "b"          # .b: refused
    p = tmp_path / "t.dta"
    pyreadstat.write_dta(df, str(p), missing_user_values={"strength": ["a"], "lefs": ["b"]},
                         variable_value_labels={"week": {1: "Baseline", 2: "Week 2"}},
                         column_labels={"strength": "Hip abduction strength (N/kg)"})
    rep = _ok(p)
    d = rep.data.set_index(["subject", "week"])
    assert d.loc[("1", 0), "strength"] == 2.0 and np.isnan(d.loc[("1", 2), "strength"])
    assert np.isnan(d.loc[("2", 2), "function_score"])
    assert any("Stata extended missing values read as missing (.a on row 2)" in n
               for n in rep.notes)
    assert any(".b on row 4" in n for n in rep.notes)
    assert rep.missing.loc["strength", "total"] >= 1


def test_sas_xport_and_feather(tmp_path):
    import pyreadstat

    df = _long_frame()
    df["week"] = [0.0, 2.0, 0.0, 2.0]
    p = tmp_path / "t.xpt"
    pyreadstat.write_xport(df.rename(columns=str.upper), str(p),
                           column_labels={"STRENGTH": "Strength (N/kg)"})
    rep = _ok(p)
    assert rep.data["strength"].dropna().tolist() == [2.0, 2.5, 3.0, 3.1]
    f = tmp_path / "t.feather"
    df.to_feather(f)
    assert _ok(f, units=N_KG).data["function_score"].dropna().tolist() == [50, 55, 60, 61]
    import pyarrow as pa
    import pyarrow.ipc

    s = tmp_path / "t.arrow"
    with pa.OSFile(str(s), "wb") as fh, pa.ipc.new_stream(fh, pa.Table.from_pandas(df).schema) as w:
        w.write_table(pa.Table.from_pandas(df))
    assert len(_ok(s, units=N_KG).data) == 8


def test_sas7bdat_goes_to_the_sas_reader(tmp_path, monkeypatch):
    import pyreadstat

    seen = {}

    def fake(path, **kw):
        seen.update(kw)
        meta = type("M", (), {"column_names_to_labels": {}, "variable_value_labels": {},
                              "readstat_variable_types": {"subject": "double"}})()
        return _long_frame().assign(week=[0.0, 2.0, 0.0, 2.0]), meta

    monkeypatch.setattr(pyreadstat, "read_sas7bdat", fake)
    p = tmp_path / "t.sas7bdat"
    p.write_bytes(b"\x00" * 12 + b"\xc2\xea\x81\x60\xb3\x14\x11\xcf" + b"\x00" * 100)
    assert len(_ok(p, units=N_KG).data) == 8 and seen["user_missing"] is True


def test_utf16_unicode_text_from_excel(tmp_path):
    text = "subject\tweek\tstrength\tlefs\r\nÅsa\t0\t2.5\t50\r\nÅsa\t2\t2.6\t55\r\n"
    p = _write(tmp_path, b"\xff\xfe" + text.encode("utf-16-le"), "u.txt")
    rep = _ok(p, units=N_KG)
    assert rep.data["subject"].iloc[0] == "Åsa" and rep.data["strength"].tolist()[:2] == [2.5, 2.6]


def test_european_csv_exact_or_refused_naming_cells(tmp_path):
    text = "subject;week;strength;lefs\nA;0;2,5;50\nA;2;2,75;55,5\n"
    rep = _ok(_write(tmp_path, text), units=N_KG)
    assert rep.data["strength"].tolist()[:2] == [2.5, 2.75]
    assert rep.data["function_score"].tolist()[:2] == [50, 55.5]
    assert any("decimal commas read as decimal points" in n for n in rep.notes)
    mixed = "subject;week;strength;lefs\nA;0;2,5;50\nA;2;2,75;55.5\nB;0;1,9;1.234\n"
    probs = hipstats.validate(_write(tmp_path, mixed, "m.csv"), "program6wk", units=N_KG).problems
    assert [(q.row, q.column, q.value) for q in probs] == [(2, "lefs", "55.5"), (3, "lefs", "1.234")]
    assert "decimal point in a file whose numbers use decimal commas" in probs[0].message


# -- visit labels and dates ---------------------------------------------------------------------
@pytest.mark.parametrize("labels", [
    ["Baseline", "Week 2", "Wk. 4", "6 weeks"], ["baseline", "Wk.2", "wk 4", "week_6"],
    ["V1", "V2", "V3", "V4"], ["V0", "V1", "V2", "V3"], ["T0", "T1", "T2", "T3"],
    ["0", "2 wk", "4w", "Week 6"]])
def test_visit_labels_on_the_week_grid(tmp_path, labels):
    body = "".join(f"A,{lab},{2 + i / 10},{50 + i}\n" for i, lab in enumerate(labels))
    rep = _ok(_write(tmp_path, "subject,visit_week,strength,lefs\n".replace("visit_week", "week")
                     + body), units=N_KG)
    assert rep.data["week"].tolist() == [0, 2, 4, 6]
    assert rep.data["strength"].tolist() == [2.0, 2.1, 2.2, 2.3]


def test_off_grid_labels_are_errors_naming_them(tmp_path):
    text = "subject,week,strength,lefs\nA,Week 3,2,50\nA,V5,2,50\n"
    probs = hipstats.validate(_write(tmp_path, text), "program6wk", units=N_KG).problems
    assert [(q.row, q.value) for q in probs] == [(1, "'Week 3'"), (2, "'V5'")]


def test_value_labelled_codes_spss(tmp_path):
    import pyreadstat

    df = _long_frame()
    df["week"] = [1.0, 3.0, 1.0, 3.0]
    p = tmp_path / "v.sav"
    pyreadstat.write_sav(df, str(p), variable_value_labels={"week": {1.0: "V1", 3.0: "V3"}})
    assert _ok(p, units=N_KG).data["week"].tolist() == [0, 2, 4, 6, 0, 2, 4, 6]
    assert _ok(p, units=N_KG).data.dropna()["week"].tolist() == [0, 4, 0, 4]


def test_visits_as_dates(tmp_path):
    text = ("subject,visit_date,strength,lefs\n"
            "A,2024-03-01,2.0,50\nA,2024-03-16,2.1,52\nA,2024-03-28,2.2,54\nA,2024-04-20,2.3,56\n"
            "B,2024-05-02,1.8,40\nB,2024-05-15,1.9,41\n")
    rep = _ok(_write(tmp_path, text), units=N_KG,
              visit_dates={"column": "visit_date", "window_days": 3})
    d = rep.data.dropna(subset=["strength"])
    assert d["week"].tolist() == [0, 2, 4, 0, 2]
    assert d["days_since_baseline"].tolist() == [0, 15, 27, 0, 13]
    led = rep.ledger.set_index("source_row")
    assert led.loc[4, "status"] == "excluded" and "day 50" in led.loc[4, "reason"]
    assert any("outside the visit windows" in w for w in rep.warnings)
    # from a study config, with Excel date cells
    rows = [["subject", "visit_date", "strength", "lefs"],
            ["A", dt.datetime(2024, 3, 1), 2.0, 50], ["A", dt.datetime(2024, 3, 15), 2.1, 52]]
    _xlsx(tmp_path / "d.xlsx", [("Data", rows, "visible", None)])
    (tmp_path / "hipstats.toml").write_text(
        '[data.program6wk]\npath = "d.xlsx"\nunits = { strength = "N/kg" }\n'
        'visit_dates = { column = "visit_date", window_days = 3 }\n')
    df = hipstats.load(config=tmp_path / "hipstats.toml", design="program6wk")
    assert df["week"].tolist()[:2] == [0, 2] and df["days_since_baseline"].tolist()[:2] == [0, 14]
    # named visits need a schedule; an unreadable date names its cell
    pf = "subject,group,visit_date,strength,pain_vas\nA,PFPS,2024-03-01,2,5\nA,PFPS,03/22/2024,2,4\n"
    rep = hipstats.validate(_write(tmp_path, pf, "p.csv"), "pfps3wk", units=N_KG,
                            visit_dates={"column": "visit_date"})
    assert "needs schedule=" in rep.problems[0].message
    rep = hipstats.validate(_write(tmp_path, pf, "p.csv"), "pfps3wk", units=N_KG,
                            visit_dates={"column": "visit_date",
                                         "schedule": {"pre": 0, "post": 21}})
    assert [(q.row, q.column, q.value) for q in rep.problems] == [(2, "visit_date", "'03/22/2024'")]


# -- spreadsheets as people make them -----------------------------------------------------------
def test_title_row_and_units_row(tmp_path):
    rows = [["Hip strength trial - export 2024-03-01"], [],
            ["subject", "week", "strength", "function_score", "body_mass"],
            [None, None, "N", "(0-80)", "kg"],
            ["A", 0, 200.0, 50, 80.0], ["A", 2, 240.0, 55, 80.0]]
    p = _xlsx(tmp_path / "t.xlsx", [("Data", rows, "visible", None)])
    rep = _ok(p)
    assert rep.data["strength"].tolist()[:2] == [2.5, 3.0]  # N / 80 kg
    assert rep.declared_units["strength"] == "N"
    led = rep.ledger.set_index("source_row")
    assert led["status"].tolist() == ["excluded", "kept", "kept"]  # row 1: units, not data
    assert "units row under the header" in led.loc[1, "reason"]
    assert any("title 'Hip strength trial - export 2024-03-01'" in n for n in rep.notes)
    assert any("row 1 holds units" in n for n in rep.notes)
    text = ("Trial export,,,\nsubject,week,strength,lefs\n,,kgf,\nA,0,20.0,50\n")
    rep = _ok(_write(tmp_path, text), analysis_units={"strength": "N"})
    assert rep.data["strength"].iloc[0] == pytest.approx(20 * 9.80665)


def test_body_mass_on_the_first_row_only_is_carried_to_the_subject(tmp_path):
    text = ("subject,week,strength,lefs,body_mass\n"
            "A,0,200,50,80\nA,2,240,55,\nA,4,260,60,\nB,0,150,40,75\nB,2,160,41,\n")
    rep = _ok(_write(tmp_path, text), units={"strength": "N"})
    d = rep.data.dropna(subset=["strength"])
    assert d["strength"].tolist() == [2.5, 3.0, 3.25, 2.0, 160 / 75]
    assert any("body_mass given on some of a subject's rows only" in n for n in rep.notes)
    # rows that disagree are not carried (and are reported)
    bad = text.replace("A,4,260,60,", "A,4,260,60,85")
    assert not hipstats.validate(_write(tmp_path, bad, "b.csv"), "program6wk",
                                 units={"strength": "N"}).ok


def test_stata_dates_place_visits_and_labels_keep_precedence(tmp_path):
    import pyreadstat

    df = pd.DataFrame({"id": ["A", "A", "A"], "visit_date": pd.to_datetime(
        ["2024-01-08", "2024-01-22", "2024-02-06"]), "strength": [2.0, 2.1, 2.2],
        "lefs": [50.0, 52.0, 54.0]})
    p = tmp_path / "d.dta"
    pyreadstat.write_dta(df, str(p))
    rep = _ok(p, units=N_KG, visit_dates={"column": "visit_date", "window_days": 3})
    d = rep.data.dropna(subset=["strength"])
    assert d["week"].tolist() == [0, 2, 4] and d["days_since_baseline"].tolist() == [0, 14, 29]
    # with a visit column the labels stand; a date off its label's window is a warning
    text = ("subject,week,visit_date,strength,lefs\nA,0,2024-01-08,2,50\nA,2,2024-01-30,2.1,52\n")
    rep = _ok(_write(tmp_path, text), units=N_KG,
              visit_dates={"column": "visit_date", "window_days": 3})
    assert rep.data["week"].tolist()[:2] == [0, 2]
    assert rep.data["days_since_baseline"].tolist()[:2] == [0, 22]
    assert any("outside the +/-3-day window of its labelled week (row 2)" in w
               for w in rep.warnings)


def test_the_data_sheet_is_found_by_a_mapped_subject_column(tmp_path):
    notes = [["About", "this workbook"], ["exported", "2024-03-01"]]
    data = [["Pt", "week", "strength", "lefs"], ["A", 0, 2.0, 50]]
    p = _xlsx(tmp_path / "c.xlsx", [("About", notes, "visible", None),
                                    ("Sheet2", data, "visible", None)])
    rep = _ok(p, units=N_KG, columns={"Pt": "subject"})
    assert rep.data["subject"].iloc[0] == "A"


def test_t_numbers_are_weeks_visit_counts_or_refused_as_ambiguous(tmp_path):
    weeks = "subject,strength_t0,strength_t2,strength_t4,strength_t6,lefs_t0,lefs_t2,lefs_t4,lefs_t6\n"
    rep = _ok(_write(tmp_path, weeks + "A,2.0,2.2,2.4,2.6,50,55,60,65\n"), units=N_KG)
    assert rep.data["strength"].tolist() == [2.0, 2.2, 2.4, 2.6]  # T6 exists: weeks
    amb = "subject,strength_t0,strength_t2,lefs_t0,lefs_t2\nA,2.0,2.2,50,55\n"
    probs = hipstats.validate(_write(tmp_path, amb, "a.csv"), "program6wk", units=N_KG).problems
    assert sorted(p.column for p in probs) == ["lefs_t2", "strength_t2"]
    assert "may be week 2 or, counting visits from T0, the third visit (4)" in probs[0].message
    long = "subject,week,strength,lefs\nA,T0,2,50\nA,T2,2.1,52\n"
    probs = hipstats.validate(_write(tmp_path, long, "l.csv"), "program6wk", units=N_KG).problems
    assert [(p.row, p.value) for p in probs] == [(2, "'T2'")]
    pp = "subject,group,time,strength,pain_vas\nA,PFPS,T0,2,5\nA,PFPS,T1,2.5,3\n"
    assert _ok(_write(tmp_path, pp, "p.csv"), "pfps3wk", units=N_KG).data["time"].tolist() == \
        ["pre", "post"]


def test_utf16_without_bom_and_titles_with_two_cells(tmp_path):
    text = "subject\tweek\tstrength\tlefs\r\nA\t0\t2.5\t50\r\n"
    p = _write(tmp_path, text.encode("utf-16-le"), "n.txt")
    assert _ok(p, units=N_KG).data["strength"].iloc[0] == 2.5
    csv = "Site:,Oslo,,\nExported:,2024-03-01,,\nsubject,week,strength,lefs\nA,0,2.5,50\n"
    rep = _ok(_write(tmp_path, csv, "t.csv"), units=N_KG)
    assert rep.data["strength"].iloc[0] == 2.5
    assert any("header read from line 3" in n for n in rep.notes)
    rows = [["Site:", "Oslo"], ["subject", "week", "strength", "lefs"], ["A", 0, 2.5, 50]]
    rep = _ok(_xlsx(tmp_path / "t.xlsx", [("Data", rows, "visible", None)]), units=N_KG)
    assert rep.data["strength"].iloc[0] == 2.5


def test_cli_visit_dates(tmp_path, capsys):
    from hipstats.cli import main

    p = _write(tmp_path, "subject,visit_date,strength,lefs\nA,2024-03-01,2,50\nA,2024-03-15,2.1,52\n"
                         "A,2024-04-30,2.2,54\n")
    assert main(["validate", str(p), "--design", "program6wk", "--units", "strength=N/kg",
                 "--visit-dates", "visit_date:2"]) == 0
    out = capsys.readouterr().out
    assert "week 2 = day 14" in out and "excluded row 3" in out
    assert main(["validate", str(p), "--design", "program6wk", "--visit-dates", "d:x"]) == 2
