"""hipstats report never destroys what it did not write (issue 9 item 5): refusals, stale
temporary folders, concurrent renders, permissions, malformed manifests, CSV formula cells.
Renders use notebook 03 (the fastest)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from hipstats.report.outputs import neutralise_formulas, save_table

ROOT = Path(__file__).resolve().parents[1]


def _report(*args, cwd=ROOT):
    env = {**os.environ, "CI": "true"}
    return subprocess.run([sys.executable, "-m", "hipstats.cli", "report", "--quiet", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_refuses_user_folder_file_and_project_folders(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "chapter1.md").write_text("my thesis")
    before = _snapshot(docs)
    r = _report("--out", str(docs), "--notebook", "03")
    assert r.returncode == 2 and "did not write" in r.stderr and "Traceback" not in r.stderr
    assert _snapshot(docs) == before and not list(tmp_path.glob(".docs-*"))
    f = tmp_path / "mydata.csv"
    f.write_text("a,b\n1,2\n")
    r = _report("--out", str(f), "--notebook", "03")
    assert r.returncode == 2 and f.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "mydata.csv"]
    for folder in ("data", "notebooks", "."):
        r = _report("--out", folder, "--notebook", "03")
        assert r.returncode == 2 and "nothing" in r.stderr or "would replace" in r.stderr


def test_malformed_manifest_is_not_an_internal_error(tmp_path):
    for text in ("[1, 2]", "{not json", json.dumps({"generator": "hipstats report",
                                                    "outputs": [1]})):
        out = tmp_path / "rep"
        out.mkdir(exist_ok=True)
        (out / "manifest.json").write_text(text)
        r = _report("--out", str(out), "--notebook", "03")
        assert r.returncode == 2 and "internal error" not in r.stderr
        assert (out / "manifest.json").read_text() == text
        r = _report("--out", str(out), "--notebook", "03", "--check")
        assert r.returncode == 1 and "internal error" not in r.stderr


def test_rerender_replaces_previous_report_with_normal_permissions(tmp_path):
    out = tmp_path / "rep"
    old_umask = os.umask(0o022)
    try:
        assert _report("--out", str(out), "--notebook", "03").returncode == 0
        man = json.loads((out / "manifest.json").read_text())
        assert oct(out.stat().st_mode & 0o777) == "0o755"
        assert oct((out / "figures").stat().st_mode & 0o777) == "0o755"
        assert oct((out / "03-evidence.html").stat().st_mode & 0o777) == "0o644"
        # a stale render folder of a killed run (its process is gone) is cleaned up
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True).stdout.strip()
        stale = tmp_path / ".rep-render-zzzz"
        stale.mkdir()
        (stale / ".hipstats-pid").write_text(dead)
        (stale / "half.html").write_text("partial")
        r = _report("--out", str(out), "--notebook", "03", "--no-cache")
        assert r.returncode == 0, r.stderr
        assert not stale.exists()
        assert json.loads((out / "manifest.json").read_text())["outputs"] == man["outputs"]
        assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".rep.lock") == ["rep"]
    finally:
        os.umask(old_umask)


def test_concurrent_renders_wait_for_each_other(tmp_path):
    out = tmp_path / "rep"
    env = {**os.environ, "CI": "true"}
    cmd = [sys.executable, "-m", "hipstats.cli", "report", "--quiet", "--notebook", "03",
           "--no-cache", "--out", str(out)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc == 0, err
        assert "internal error" not in err and "Traceback" not in err
    assert (out / "manifest.json").is_file()
    assert not list(tmp_path.glob(".rep-render-*")) and not list(tmp_path.glob(".rep-old-*"))


def test_csv_formula_cells_are_neutralised(tmp_path):
    t = pd.DataFrame({"study": ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(A1)",
                                "-2+3", "plain"], "estimate": [-1.5, 2.0, -0.25, 3.0, 4.0]})
    save_table(t, "evil", tmp_path)
    text = (tmp_path / "evil.csv").read_text()
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM" in text and "'-2+3" in text
    assert ",-1.5\n" in text and ",-0.25\n" in text  # numbers untouched
    assert neutralise_formulas(t)["study"].iloc[4] == "plain"
