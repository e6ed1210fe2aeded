"""Messages for people: values as the file wrote them, one root cause reported once with a
hint, and a quiet exit when the reader of a pipe goes away."""

import subprocess
import sys

import hipstats

N_KG = {"strength": "N/kg"}


def _write(tmp_path, text, name="f.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_values_as_the_file_wrote_them(tmp_path):
    text = ("subject,week,strength,function_score,body_mass\n"
            "A,0,1.5,50,91.9\nA,2,1.6,55,91.90\nA,2,1.6,55,95\nA,0.0,1,999,91.9\n")
    rep = hipstats.validate(_write(tmp_path, text), "program6wk", units=N_KG)
    text_out = rep.summary()
    assert "np.float64" not in text_out and "0.0" not in text_out and "999.0" not in text_out
    by_row = {(p.row, p.column): p for p in rep.problems}
    assert by_row[(3, "body_mass")].value == "95"
    assert "(first seen as 91.9 on row 1)" in by_row[(3, "body_mass")].message
    assert by_row[(4, "function_score")].value == "999"
    assert "at week 0 (also row 1)" in by_row[(4, "week")].message
    assert "at week 2 (also row 2)" in by_row[(3, "week")].message


def test_dataframe_values_are_shown_plainly():
    df = hipstats.example("program6wk").copy()
    df.loc[3, "body_mass"] = 91.9
    rep = hipstats.validate(df, "program6wk")
    (p,) = rep.problems
    assert p.value == "91.9" and "np." not in str(p)


def _torque_file(tmp_path, missing_subject=None, with_lever=True):
    rows = ["subject,week,strength,function_score,body_mass" + (",lever_arm" if with_lever else "")]
    for i in range(12):
        for w in (0, 2, 4, 6):
            la = "" if i == missing_subject else "0.35"
            rows.append(f"S{i},{w},{80 + i + w},50,70" + (f",{la}" if with_lever else ""))
    return _write(tmp_path, "\n".join(rows) + "\n")


def test_missing_lever_arm_is_one_problem_with_the_hint(tmp_path):
    rep = hipstats.validate(_torque_file(tmp_path, with_lever=False), "program6wk",
                            units={"strength": "N*m"})
    assert len(rep.problems) == 1  # not 48 "out of range" lines
    assert "declare lever_arm=" in rep.problems[0].message
    rep = hipstats.validate(_torque_file(tmp_path, missing_subject=3), "program6wk",
                            units={"strength": "N*m"})
    (p,) = rep.problems
    assert (p.row, p.column) == (13, "lever_arm")
    assert "lever arm is missing for subject 'S3'" in p.message and "4 rows" in p.message
    assert "declare lever_arm=" in p.message


def test_a_unit_mistake_is_one_problem_with_the_likely_unit(tmp_path):
    rep = hipstats.validate(_torque_file(tmp_path, with_lever=False), "program6wk")
    (p,) = rep.problems
    assert p.row is None and "all 48 values" in p.message and "declare units=" in p.message
    assert any("not typical of N/kg" in w for w in rep.warnings)


def test_closed_pipe_is_a_quiet_exit(tmp_path):
    cmd = (f"{sys.executable} -m hipstats.cli simulate program6wk --n 3000 | head -1; "
           "exit ${PIPESTATUS[0]}")
    r = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True)
    assert r.returncode in (0, 141), r.stderr
    assert r.stderr == "", r.stderr
    assert r.stdout.startswith("subject,week")
