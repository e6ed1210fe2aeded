"""hipstats validate: every kind of bad input is reported with file, row, column and value."""

import subprocess
import sys

import numpy as np
import pytest

import hipstats
from hipstats.cli import main
from hipstats.errors import HipstatsDataError

GOOD_PFPS = (
    "subject,group,time,strength,pain_vas,body_mass\n"
    "R1,PFPS,pre,2.1,5.0,60\n"
    "R1,PFPS,post,2.6,3.0,60\n"
    "R2,control,pre,3.0,0.0,70\n"
    "R2,control,post,3.1,0.5,70\n"
)
GOOD_PROG = (
    "subject,week,strength,function_score\n"
    "P1,0,3.0,50\nP1,2,3.1,52\nP1,4,3.3,60\nP1,6,3.6,66\n"
    "P2,0,2.5,45\nP2,2,,\nP2,4,2.9,55\n"
)


def _write(tmp_path, text, name="trial.csv", binary=False):
    p = tmp_path / name
    p.write_bytes(text if binary else text.encode("utf-8"))
    return p


def _problems(path, design, **kw):
    rep = hipstats.validate(path, design, **kw)
    assert not rep.ok
    return rep.problems


def test_valid_files_exit_0(tmp_path, capsys):
    assert main(["validate", str(_write(tmp_path, GOOD_PFPS)), "--design", "pfps3wk"]) == 0
    assert main(["validate", str(_write(tmp_path, GOOD_PROG, "p.csv")),
                 "--design", "program6wk"]) == 0


def test_missing_cells_and_visits_are_data_not_errors(tmp_path):
    rep = hipstats.validate(_write(tmp_path, GOOD_PROG), "program6wk")
    assert rep.ok
    assert rep.missing.loc["strength", "2"] == 1
    assert rep.missing.loc["function_score", "total"] == 2  # P2 week 2 cell + P2 week 6 visit
    assert rep.missing_visits.values.tolist() == [["P2", 6]]
    assert len(rep.data) == 8 and np.isnan(rep.data.iloc[-1]["strength"])


BAD = {
    "type": ("R1,PFPS,pre,abc,5.0,60", "strength", "expected a number"),
    "range": ("R1,PFPS,pre,2.0,55,60", "pain_vas", "out of range"),
    "timepoint": ("R1,PFPS,mid,2.0,5.0,60", "time", "unknown timepoint"),
    "group": ("R1,PFPS-ish,pre,2.0,5.0,60", "group", "unknown group"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_cell_problems_name_file_row_column_value(tmp_path, kind):
    line, column, message = BAD[kind]
    text = "subject,group,time,strength,pain_vas,body_mass\n" + line + "\nR1,PFPS,post,2.6,3.0,60\n"
    path = _write(tmp_path, text)
    probs = _problems(path, "pfps3wk")
    hit = [p for p in probs if p.column == column and message in p.message]
    assert hit, probs
    assert hit[0].row == 1 and hit[0].file == str(path) and hit[0].value is not None


def test_every_problem_reported_at_once(tmp_path):
    text = ("subject,group,time,strength,pain_vas\n"
            "R1,PFPS,pre,abc,5.0\n"          # row 1: type
            "R1,PFPS,post,2.0,55\n"          # row 2: range
            "R2,control,pre,3.0,0\n"
            "R2,PFPS,post,3.0,0\n"           # row 4: group changes
            "R3,control,pre,3.0,0\n"
            "R3,control,pre,3.1,0\n"         # row 6: duplicate
            "R4,alien,week9,1,1\n")          # row 7: group + timepoint
    probs = _problems(_write(tmp_path, text), "pfps3wk")
    rows = sorted({p.row for p in probs})
    assert rows == [1, 2, 4, 6, 7], [str(p) for p in probs]
    assert any("changes between visits" in p.message for p in probs)
    assert any("duplicate" in p.message and "also row 5" in p.message for p in probs)
    assert len([p for p in probs if p.row == 7]) == 2


def test_missing_required_column(tmp_path):
    probs = _problems(_write(tmp_path, "subject,group,time,strength\nR1,PFPS,pre,2\n"), "pfps3wk")
    assert [(p.column, p.row) for p in probs] == [("pain_vas", None)]
    assert "required column" in probs[0].message


def test_units_declared_converted_and_needing_body_mass(tmp_path):
    text = "subject,group,time,strength [N],pain_vas\nR1,PFPS,pre,140,50\nR1,PFPS,post,150,30\n"
    path = _write(tmp_path, text)
    probs = _problems(path, "pfps3wk", units={"pain_vas": "mm"})
    assert any(p.column == "strength" and "body_mass" in p.message for p in probs)
    text2 = ("subject,group,time,strength [kgf],pain_vas (mm),body_mass\n"
             "R1,PFPS,pre,20,50,70\nR1,PFPS,post,21,30,70\n")
    df = hipstats.load(_write(tmp_path, text2, "b.csv"), "pfps3wk")
    assert df["strength"].tolist() == pytest.approx([20 * 9.80665 / 70, 21 * 9.80665 / 70])
    assert df["pain_vas"].tolist() == pytest.approx([5.0, 3.0])
    # mm never guessed: the same numbers without a declaration are range errors
    text3 = text2.replace(" (mm)", "")
    probs = _problems(_write(tmp_path, text3, "c.csv"), "pfps3wk")
    assert {p.column for p in probs} == {"pain_vas"} and len(probs) == 2
    assert _problems(_write(tmp_path, GOOD_PFPS, "d.csv"), "pfps3wk",
                     units={"strength": "furlongs"})[0].message.startswith("unit cannot")


def test_torque_needs_lever_arm(tmp_path):
    text = "subject,group,time,strength,pain_vas,body_mass\nR1,PFPS,pre,100,5,70\n"
    path = _write(tmp_path, text)
    probs = _problems(path, "pfps3wk", units={"strength": "N*m"})
    assert "lever arm" in probs[0].message
    df = hipstats.load(path, "pfps3wk", units={"strength": "N*m"}, lever_arm=0.5)
    assert df["strength"].iloc[0] == pytest.approx(100 / 0.5 / 70)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"subject,group,time,strength,pain_vas\nR1,PFPS,pre,2.0\n", "ragged"),
    (b"subject,group,time,strength,pain_vas\nR1,PFPS,pre,2.0,5\nR\xe9,PFPS,post,2,3\n", "UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
])
def test_file_level_problems(tmp_path, content, message):
    path = _write(tmp_path, content, binary=True)
    probs = _problems(path, "pfps3wk")
    assert any(message in p.message for p in probs), [str(p) for p in probs]


def test_non_utf8_names_the_row(tmp_path):
    path = _write(tmp_path, b"subject,group,time,strength,pain_vas\nR1,PFPS,pre,2.0,5\n"
                            b"R\xe9,PFPS,post,2,3\n", binary=True)
    probs = _problems(path, "pfps3wk")
    assert probs[0].row == 2


def test_wrong_extension_for_content(tmp_path):
    src = tmp_path / "x.xlsx"
    hipstats.example("pfps3wk").to_excel(src, index=False)
    fake = tmp_path / "x.csv"
    fake.write_bytes(src.read_bytes())
    assert "content is a excel" in _problems(fake, "pfps3wk")[0].message
    assert "not a valid" in _problems(_write(tmp_path, "a,b\n1,2\n", "y.parquet"), "pfps3wk")[0].message


def test_ledger_accounts_for_every_input_row(tmp_path):
    text = GOOD_PROG + ",,,\n" + "P3,0,2.0,40\n"
    rep = hipstats.validate(_write(tmp_path, text), "program6wk")
    assert rep.ok
    led = rep.ledger
    n_input = text.count("\n") - 1
    assert len(led) == n_input and sorted(led["source_row"]) == list(range(1, n_input + 1))
    assert led.loc[led["status"] == "excluded", "reason"].tolist() == ["blank row (every cell empty)"]
    kept = led[led["status"] == "kept"]
    # every kept row is in the frame; every other frame row is a listed missing visit
    assert kept["n_visits"].sum() + len(rep.missing_visits) == len(rep.data)


def test_wide_ledger_one_input_row_many_visits(tmp_path):
    wide = "subject,group,strength_pre,strength_post,pain_vas_pre,pain_vas_post\nR1,PFPS,2,2.5,5,3\n"
    rep = hipstats.validate(_write(tmp_path, wide), "pfps3wk")
    assert rep.ok and rep.layout == "wide"
    assert rep.ledger["n_visits"].tolist() == [2]


def test_aliases_are_reported_not_silent(tmp_path):
    text = GOOD_PFPS.replace("subject,group", "Participant ID,Arm")
    rep = hipstats.validate(_write(tmp_path, text), "pfps3wk")
    assert rep.ok
    assert any("'Participant ID' read as 'subject'" in n for n in rep.notes)
    rep = hipstats.validate(_write(tmp_path, GOOD_PFPS.replace("body_mass", "shoe_size"), "s.csv"),
                            "pfps3wk")
    assert any("shoe_size" in w for w in rep.warnings)


def test_cli_exit_codes_and_no_traceback(tmp_path):
    bad = _write(tmp_path, "subject,group,time,strength,pain_vas\nR1,PFPS,pre,abc,5\n")
    cmd = [sys.executable, "-m", "hipstats.cli", "validate", str(bad), "--design", "pfps3wk"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "row 1" in r.stderr and "'strength'" in r.stderr
    r = subprocess.run(cmd[:-1] + ["nonsense"], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    r = subprocess.run(cmd[:4], capture_output=True, text=True)
    assert r.returncode == 2
    assert main(["validate", str(tmp_path / "nope.csv"), "--design", "pfps3wk"]) == 1


def test_cli_json(tmp_path, capsys):
    import json

    assert main(["validate", str(_write(tmp_path, GOOD_PFPS)), "--design", "pfps3wk", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["valid"] is True and out["n_input_rows"] == 4


def test_load_raises_with_all_problems(tmp_path):
    path = _write(tmp_path, "subject,group,time,strength,pain_vas\nR1,PFPS,pre,abc,55\n")
    with pytest.raises(HipstatsDataError) as exc:
        hipstats.load(path, "pfps3wk")
    assert len(exc.value.problems) == 2
    assert "row 1" in str(exc.value)


def test_redcap_event_and_dictionary(tmp_path):
    text = ("record_id,redcap_event_name,strength,function_score,visit_complete\n"
            "1,baseline_arm_1,30,50,2\n1,week_2_arm_1,31,52,2\n1,week_6_arm_1,33,60,2\n"
            "2,baseline_arm_1,25,45,2\n")
    dic = ("Variable / Field Name,Form Name,Field Type,Field Label,Field Note\n"
           "record_id,v,text,ID,\nstrength,v,text,Strength,[%BW]\nfunction_score,v,text,LEFS,\n")
    d = _write(tmp_path, dic, "dict.csv")
    df = hipstats.load(_write(tmp_path, text), "program6wk", dictionary=d)
    assert df["week"].tolist() == [0, 2, 4, 6, 0, 2, 4, 6]
    assert df["strength"].iloc[0] == pytest.approx(30 / 100 * 9.80665)
    assert df["subject"].tolist()[0] == "1"
