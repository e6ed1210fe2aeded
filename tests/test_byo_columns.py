"""Column mapping: columns= for long names and wide stems, --map on the command line, and
errors that list the accepted names and the closest file columns."""

import warnings

import pytest

import hipstats
from hipstats.cli import main

LONG = ("pid,visit_no,hip_abd_torque_nm,lefs_total,shoe_size\n"
        "A,0,1.1,50,42\nA,2,1.2,55,42\nB,0,1.3,60,40\nB,2,1.4,62,40\n")
WIDE = ("subject,strength_N_w0,strength_N_w2,lefs_w0,lefs_w2\n"
        "A,1.1,1.2,50,55\nB,1.3,1.4,60,62\n")


def _write(tmp_path, text, name="f.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_columns_maps_long_names(tmp_path):
    path = _write(tmp_path, LONG)
    cols = {"visit_no": "week", "hip_abd_torque_nm": "strength", "lefs_total": "function_score"}
    with pytest.warns(UserWarning) as rec:
        df = hipstats.load(path, "program6wk", columns=cols, units={"strength": "N/kg"})
    assert df["strength"].tolist()[:2] == [1.1, 1.2]
    assert df["function_score"].tolist()[:2] == [50, 55]
    # the ignored column is a UserWarning from load, and in attrs (never silent)
    assert any("shoe_size" in str(w.message) and "ignored" in str(w.message) for w in rec)
    assert any("shoe_size" in w for w in df.attrs["warnings"])
    rep = hipstats.validate(path, "program6wk", columns=cols, units={"strength": "N/kg"})
    assert any("'hip_abd_torque_nm' read as 'strength' (columns=)" in n for n in rep.notes)


def test_columns_maps_wide_stems(tmp_path):
    path = _write(tmp_path, WIDE)
    df = hipstats.load(path, "program6wk", columns={"strength_N": "strength", "lefs": "function_score"},
                       units={"strength": "N/kg"})
    assert df["strength"].dropna().tolist() == [1.1, 1.2, 1.3, 1.4]
    assert df["strength"].isna().sum() == 4  # weeks 4 and 6: missing visits, kept as NaN
    assert df["function_score"].dropna().tolist() == [50, 55, 60, 62]
    assert df["week"].tolist() == [0, 2, 4, 6] * 2


def test_unknown_target_and_missing_required_list_accepted_names(tmp_path):
    path = _write(tmp_path, LONG)
    rep = hipstats.validate(path, "program6wk", columns={"lefs_total": "function"})
    msgs = [p.message for p in rep.problems]
    assert any("not a column of design 'program6wk'" in m and "did you mean 'function_score'" in m
               for m in msgs), msgs
    miss = {p.column: p.message for p in rep.problems if "required column" in p.message}
    assert "accepted names: strength, strength_involved" in miss["strength"]
    assert "closest file columns: 'hip_abd_torque_nm'" in miss["strength"] or \
        "'hip_abd_torque_nm'" in miss["strength"]
    assert "accepted names: function_score, function, lefs" in miss["function_score"]
    assert "'lefs_total'" in miss["function_score"]


def test_mapping_names_a_column_the_file_lacks(tmp_path):
    path = _write(tmp_path, LONG)
    rep = hipstats.validate(path, "program6wk", columns={
        "visit_no": "week", "hip_abd_torque_nm": "strength", "lefs_total": "function_score",
        "lefs_totl": "strength_uninvolved"}, units={"strength": "N/kg"})
    assert rep.ok
    assert any("'lefs_totl', which the file does not have" in w and "'lefs_total'" in w
               for w in rep.warnings)


def test_two_columns_for_one_measure_are_rejected_naming_both(tmp_path):
    text = "subject,week,strength,Abductor Strength,function_score\nA,0,1,2,50\n"
    probs = hipstats.validate(_write(tmp_path, text), "program6wk").problems
    assert len(probs) == 1
    assert "'strength', 'Abductor Strength'" in probs[0].message


def test_cli_map_and_units(tmp_path, capsys):
    path = str(_write(tmp_path, LONG))
    assert main(["validate", path, "--design", "program6wk"]) == 1
    err = capsys.readouterr().err
    assert "accepted names" in err and "closest file columns" in err
    assert main(["validate", path, "--design", "program6wk", "--map", "visit_no=week",
                 "--map", "hip_abd_torque_nm=strength", "--map", "lefs_total=function_score",
                 "--units", "strength=N/kg"]) == 0
    out = capsys.readouterr().out
    assert "valid program6wk" in out and "shoe_size" in out
    assert main(["validate", path, "--design", "program6wk", "--map", "visit_no"]) == 2


def test_load_without_warnings_when_everything_is_declared(tmp_path):
    text = "subject,week,strength [N/kg],function_score\nA,0,1,50\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = hipstats.load(_write(tmp_path, text), "program6wk")
    assert df.attrs["units"] == {"strength": "N/kg", "function_score": "points"}
