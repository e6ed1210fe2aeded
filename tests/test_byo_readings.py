"""Every reading reaches every path (issue 27 item 1): what `hipstats validate` says about how
a file was read (sheet chosen, rows excluded with the reason, visits read from numbers,
labels, dates or suffixes, columns matched by name or ignored, units read, missing-value
codes, values carried), hs.load says too: one ReadingWarning per kind naming the file and the
reading, the full list in df.attrs["readings"], and strict=True refuses it."""

import datetime as dt
import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

import hipstats
from hipstats.errors import HipstatsDataError, ReadingWarning
from test_byo_exports import _xlsx as write_xlsx

N_KG = {"strength": "N/kg"}


def _csv(text, name="f.csv"):
    return lambda d: _bytes(d / name, text.encode("utf-8"))


def _bytes(path, data):
    path.write_bytes(data)
    return path


def _xlsx(sheets, name="f.xlsx"):
    """sheets: (title, rows, state, cells formatted as percent)."""
    return lambda d: write_xlsx(d / name, [(t, rows, state, {rc: "0%" for rc in pct})
                                           for t, rows, state, pct in sheets])


def _stata(d):
    import pyreadstat

    df = pd.DataFrame({"subject": [1.0, 1.0], "week": [0.0, 2.0], "strength": [2.0, "a"],
                       "lefs": [50.0, 55.0]}).astype(object)
    pyreadstat.write_dta(df, str(d / "t.dta"), missing_user_values={"strength": ["a"]})
    return d / "t.dta"


def _spss(d):
    import pyreadstat

    df = pd.DataFrame({"subject": [1.0, 1.0], "week": [0.0, 2.0], "strength": [1.1, 1.3],
                       "function_score": [50.0, 55.0]})
    pyreadstat.write_sav(df, str(d / "t.sav"), column_labels={"strength": "Torque (Nm/kg)"})
    return d / "t.sav"


LONG = "subject,week,strength,function_score\n"
DATA = [["subject", "week", "strength", "function_score"], ["A", 0, 2.0, 50], ["A", 2, 2.2, 55]]
VISITS4 = "".join(f"{s},Visit {i},{1 + i / 10},{50 + i}\n" for s in "AB" for i in range(1, 5))

#: id -> (file, design, options, kind, what the reading must say)
CASES = {
    "first data sheet": (_xlsx([("README", [["notes"]], "visible", ()),
                                ("Data", DATA, "visible", ())]), "program6wk", N_KG, "sheet",
                         "data read from sheet 'Data' (the first visible sheet with a "
                         "subject column)"),
    "hidden sheet": (_xlsx([("old", DATA, "hidden", ()), ("Data", DATA, "visible", ())]),
                     "program6wk", N_KG, "sheet", "hidden sheet 'old' not read"),
    "title line": (_csv("Trial export,,,\n" + LONG + "A,0,2,50\n"), "program6wk", N_KG,
                   "layout", "header read from line 2 (title 'Trial export' above it skipped)"),
    "decimal commas": (_csv("subject;week;strength;lefs\nA;0;2,5;50\nA;2;2,75;55\n"),
                       "program6wk", N_KG, "layout", "decimal commas read as decimal points"),
    "utf-16": (lambda d: _bytes(d / "u.txt", b"\xff\xfe" + (
        "subject\tweek\tstrength\tlefs\r\nA\t0\t2.5\t50\r\n").encode("utf-16-le")),
               "program6wk", N_KG, "layout", "UTF-16 text (Excel 'Unicode text') read"),
    "summary rows": (_csv("subject,visit,strength,function_score\n" + VISITS4
                          + "Mean,,1.2,52\nSD,,0.1,1\n"), "program6wk",
                     dict(units=N_KG, columns={"visit": "week"}), "rows",
                     "row 9: summary row 'Mean' under the data (not a subject); row 10: "
                     "summary row 'SD' under the data (not a subject)"),
    "blank row": (_csv(LONG + "A,0,2,50\n,,,\nA,2,2.1,52\n"), "program6wk", N_KG, "rows",
                  "row 2: blank row (every cell empty)"),
    "visit numbers": (_csv("subject,visit,strength,function_score\n" + VISITS4), "program6wk",
                      dict(units=N_KG, columns={"visit": "week"}), "visits",
                      "column 'visit': 'Visit 1', 'Visit 2', 'Visit 3', 'Visit 4' read as "
                      "week 0, 2, 4, 6 (visit numbers: the first to fourth scheduled visit)"),
    "t-suffixes": (_csv("subject,strength_t0,strength_t1,strength_t2,strength_t3,lefs_t0,"
                        "lefs_t1,lefs_t2,lefs_t3\nA,2.0,2.2,2.4,2.6,50,55,60,65\n"),
                   "program6wk", N_KG, "visits", "column 'strength_t3' read as 'strength' "
                   "('t3' read as week 6)"),
    "V1/V2 as pre/post": (_csv("id,group,pain_vas_V1,pain_vas_V2,strength_V1,strength_V2\n"
                               "A,PFPS,5,3,2,2.1\n"), "pfps3wk", N_KG, "visits",
                          "column 'pain_vas_V2' read as 'pain_vas' ('v2' read as time 'post')"),
    "baseline label": (_csv(LONG + "A,Baseline,2,50\nA,Week 2,2.1,52\n"), "program6wk", N_KG,
                       "visits", "column 'week': 'Baseline' read as week 0 (a named alias)"),
    "dates": (_csv("subject,visit_date,strength,lefs\nA,2024-03-01,2,50\nA,2024-03-15,2.1,52\n"
                   "A,2024-04-30,2.2,54\n"), "program6wk",
              dict(units=N_KG, visit_dates={"column": "visit_date", "window_days": 2}), "visits",
              "week read from the dates in 'visit_date'"),
    "date off the window": (_csv("subject,visit_date,strength,lefs\nA,2024-03-01,2,50\n"
                                 "A,2024-04-30,2.2,54\n"), "program6wk",
                            dict(units=N_KG, visit_dates={"column": "visit_date"}), "rows",
                            "row 2: visit on 2024-04-30 is day 60"),
    "alias column": (_csv("id,week,strength,lefs\nA,0,2,50\n"), "program6wk", N_KG, "columns",
                     "column 'id' read as 'subject'; column 'lefs' read as 'function_score'"),
    "unit in the name": (_csv(LONG.replace("\n", ",body_mass_kg\n") + "A,0,2,50,70\n"),
                         "program6wk", N_KG, "columns",
                         "column 'body_mass_kg' read as 'body_mass' in kg (unit from its name)"),
    "lsi ignored": (_csv("subject,week,strength,strength_uninvolved,lsi,function_score\n"
                         "A,0,2,2.2,91,50\n"), "program6wk",
                    {"units": {"strength": "N/kg", "strength_uninvolved": "N/kg"}}, "ignored",
                    "column 'lsi' ignored: the limb symmetry index is recomputed"),
    "units row": (_xlsx([("Data", [["subject", "week", "strength", "function_score"],
                                   [None, None, "N/kg", None], ["A", 0, 2.0, 50]],
                          "visible", ())]), "program6wk", {}, "units",
                  "row 1 holds units, read as the columns' units: strength N/kg"),
    "percent cells": (_xlsx([("Data", [DATA[0], ["A", 0, 0.35, 50]], "visible", [(2, 3)])]),
                      "program6wk", {"analysis_units": {"strength": "%BW"}}, "units",
                      "column 'strength': 1 cell formatted as percent read as displayed"),
    "spss label": (_spss, "program6wk", {"analysis_units": {"strength": "N*m/kg"}}, "units",
                   "units declared in the SPSS variable label: strength N*m/kg"),
    "stata missing": (_stata, "program6wk", N_KG, "missing",
                      "column 'strength': Stata extended missing values read as missing "
                      "(.a on row 2)"),
    "body mass carried": (_csv("subject,week,strength,lefs,body_mass\nA,0,200,50,80\n"
                               "A,2,240,55,\n"), "program6wk", {"units": {"strength": "N"}},
                          "carried", "body_mass given on some of a subject's rows only"),
}


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path):
    make, design, opts, kind, text = CASES[request.param]
    opts = opts if set(opts) - {"strength"} else {"units": opts}
    return make(tmp_path), design, opts, kind, text


def _load(path, design, opts, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = hipstats.load(path, design, **opts, **kw)
    return df, [w for w in caught if issubclass(w.category, ReadingWarning)]


def test_validate_says_the_reading(case):
    path, design, opts, kind, text = case
    rep = hipstats.validate(path, design, **opts)
    assert rep.ok, rep.summary()
    (entry,) = [r for r in rep.readings if r["kind"] == kind]
    assert text in "; ".join(entry["items"]), entry
    summary = rep.summary()  # what `hipstats validate` prints
    if kind == "rows":
        for part in text.split("; "):
            row, reason = part.split(": ", 1)
            assert f"excluded {row}: {reason}" in summary
    else:
        assert all(f"note: {part}" in summary for part in text.split("; "))


def test_load_warns_once_per_kind_naming_file_and_reading(case):
    path, design, opts, kind, text = case
    df, said = _load(path, design, opts)
    mine = [str(w.message) for w in said if str(w.message).startswith(
        f"{path}: {hipstats.io.readings.KINDS[kind]}: ")]
    assert len(mine) == 1, [str(w.message) for w in said]
    assert text in mine[0]
    headings = [str(w.message)[len(str(path)) + 2:].split(": ")[0] for w in said]
    readings = [r["heading"] for r in df.attrs["readings"]]
    assert sorted(set(headings) & set(readings)) == sorted(readings)  # one warning per kind
    assert len(readings) == len(set(readings))
    json.dumps(df.attrs["readings"])
    assert df.attrs["readings"] == hipstats.validate(path, design, **opts).readings


def test_strict_refuses_the_reading_and_filters_silence_it(case):
    path, design, opts, kind, text = case
    with pytest.raises(HipstatsDataError) as err:
        hipstats.load(path, design, **opts, strict=True)
    assert text.split("; ")[0] in str(err.value) and "strict=True" in str(err.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", category=ReadingWarning)
        hipstats.load(path, design, **opts)


def test_every_note_validate_makes_has_a_kind(case):
    """Nothing said by validate is lost on the way to load: each note is a reading of a
    known kind or repeats an explicit option."""
    from hipstats.io.readings import DECLARED, KINDS

    path, design, opts, _, _ = case
    rep = hipstats.validate(path, design, **opts)
    assert all(getattr(n, "kind", None) in set(KINDS) - {"other"} | {DECLARED}
               for n in rep.notes), rep.notes
    items = {i for r in rep.readings for i in r["items"]}
    assert {str(n) for n in rep.notes if n.kind != DECLARED} <= items


def test_a_file_read_as_written_says_nothing(tmp_path):
    path = _csv(LONG + "A,0,2,50\nA,2,2.1,52\n")(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = hipstats.load(path, "program6wk", units=N_KG, strict=True)
    assert df.attrs["readings"] == []
    # what the options declare is not a reading: columns=, missing=, sheet= on a hidden sheet
    text = "pid,week,torque,function_score\nA,0,2,50\nA,2,-99,52\n"
    df = hipstats.load(_csv(text, "m.csv")(tmp_path), "program6wk", units=N_KG, strict=True,
                       columns={"pid": "subject", "torque": "strength"}, missing=[-99])
    assert df.attrs["readings"] == []
    rep = hipstats.validate(_xlsx([("old", DATA, "hidden", ()), ("Data", DATA, "visible", ())],
                                  "h.xlsx")(tmp_path),
                            "program6wk", units=N_KG, sheet="old")
    assert rep.ok and rep.readings == [] and any("'old' is hidden" in n for n in rep.notes)


def test_strict_lists_warnings_and_readings_with_the_problems(tmp_path):
    text = "id,week,strength,lefs,shoe\nA,0,2,50,44\nA,2,2.1,52,44\n"
    with pytest.raises(HipstatsDataError) as err:
        hipstats.load(_csv(text)(tmp_path), "program6wk", strict=True)
    msgs = [p.message for p in err.value.problems]
    assert any(m.startswith("strength: no unit declared; assumed N/kg") for m in msgs)
    assert any(m.startswith("columns not in the design were ignored: 'shoe'") for m in msgs)
    assert any(m.startswith("columns matched by name: column 'id' read as 'subject'")
               for m in msgs)
    assert all(p.file == str(tmp_path / "f.csv") for p in err.value.problems)


def test_many_rows_excluded_are_one_warning_and_the_full_list_is_kept(tmp_path):
    rows = "".join(f"S{i},0,2,50\n,,,\n" for i in range(12))
    df, said = _load(_csv(LONG + rows)(tmp_path), "program6wk", {"units": N_KG})
    (w,) = said
    assert "rows excluded: rows 2, 4, 6" in str(w.message)
    (entry,) = df.attrs["readings"]
    assert entry["items"] == ["rows " + ", ".join(str(2 * i) for i in range(1, 13))
                              + ": blank row (every cell empty)"]


def test_the_reading_points_at_the_callers_line(tmp_path):
    path = _csv("id,week,strength,function_score\nA,0,2,50\n")(tmp_path)
    with pytest.warns(ReadingWarning) as rec:
        hipstats.load(path, "program6wk", units=N_KG)
    assert rec[0].filename == __file__


def test_dates_as_excel_cells(tmp_path):
    rows = [["subject", "visit_date", "strength", "lefs"],
            ["A", dt.datetime(2024, 3, 1), 2.0, 50], ["A", dt.datetime(2024, 3, 15), 2.1, 52]]
    path = _xlsx([("Data", rows, "visible", ())])(tmp_path)
    df, said = _load(path, "program6wk", {"units": N_KG, "visit_dates": {"column": "visit_date"}})
    assert [r["kind"] for r in df.attrs["readings"]] == ["visits", "columns"]
    assert len(said) == 2


def test_the_pages_data_line_says_the_readings_in_labels(tmp_path):
    """A page silences warnings (its cells show results), so its data line says how the
    file was read; measures by their labels, the file's own column names as code."""
    from hipstats.summary import describe_source
    from test_report_pages import machine_names

    text = ("pid,group,week,pain_vas,akps,body_mass_kg,age\n"
            + "".join(f"P{i},{'HIP' if i % 2 else 'KNEE'},{w},{3 + w / 7},{70 + w},70,30\n"
                      for i in range(4) for w in range(7)) + "Mean,,,3.4,73,70,30\n")
    design = hipstats.study_design(Path(__file__).parents[1] / "hipstats.toml", "hipknee6wk")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReadingWarning)
        df = hipstats.load(_csv(text)(tmp_path), design)
    line = describe_source(str(tmp_path / "f.csv"), df)
    assert "Units: Pain (VAS): cm; Function (AKPS): points; Age: years; Body mass: kg." in line
    assert ("How the file was read: rows excluded (row 29: summary row `Mean` under the data "
            "(not a subject)); columns matched by name (column `body_mass_kg` read as "
            "`body_mass` in kg (unit from its name); column `pid` read as `subject`)") in line
    assert machine_names(line) == []
