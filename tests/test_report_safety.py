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


def _cli(capsys, *args):
    """Run ``hipstats report`` in this process (refusals return before any render)."""
    from hipstats.cli import main

    capsys.readouterr()
    rc = main(["report", "--quiet", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_refuses_user_folder_file_and_project_folders(tmp_path, capsys, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "chapter1.md").write_text("my thesis")
    before = _snapshot(docs)
    r = _report("--out", str(docs), "--notebook", "03")
    assert r.returncode == 2 and "did not write" in r.stderr and "Traceback" not in r.stderr
    assert _snapshot(docs) == before and not list(tmp_path.glob(".docs-*"))
    monkeypatch.chdir(ROOT)
    f = tmp_path / "mydata.csv"
    f.write_text("a,b\n1,2\n")
    rc, _, err = _cli(capsys, "--out", str(f), "--notebook", "03")
    assert rc == 2 and "existing file" in err and f.read_text() == "a,b\n1,2\n"
    rc, _, err = _cli(capsys, "--out", str(f / "sub"), "--notebook", "03")  # below a file
    assert rc == 2 and "is a file" in err and f.read_text() == "a,b\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "mydata.csv"]
    for folder in ("data", "data/external", "notebooks", ".", "..", str(ROOT)):
        rc, _, err = _cli(capsys, "--out", folder, "--notebook", "03")
        assert rc == 2 and "would replace" in err, (folder, err)
    assert not list(ROOT.glob(".data-*")) and not list(ROOT.glob(".notebooks-*"))


def test_malformed_manifest_is_not_an_internal_error(tmp_path, capsys, monkeypatch):
    good = {"generator": "hipstats report", "inputs": {}, "parameters": {}, "versions": {},
            "outputs": {}, "notebooks": {}}
    bad = ["[1, 2]", "{not json", "", "\xff\xfe", "null", '"hipstats report"',
           json.dumps({**good, "outputs": [1]}),
           json.dumps({k: v for k, v in good.items() if k != "notebooks"}),
           json.dumps({**good, "generator": "someone else"}),
           json.dumps({**good, "parameters": []}),
           json.dumps({**good, "versions": {"numpy": 2}}),
           json.dumps({**good, "notebooks": {"03-evidence": []}}),
           json.dumps({**good, "notebooks": {"03-evidence": {"cache_key": 1, "outputs": []}}}),
           json.dumps({**good, "outputs": {"../../etc/passwd": "x"}}),
           json.dumps({**good, "outputs": {"a.html": "x"},
                       "notebooks": {"03-evidence": {"cache_key": "k",
                                                     "outputs": ["a.html", "b.html"]}}})]
    out = tmp_path / "rep"
    out.mkdir()
    (out / "manifest.json").write_text(bad[0])
    r = _report("--out", str(out), "--notebook", "03")  # the real CLI once
    assert r.returncode == 2 and "did not write" in r.stderr and "Traceback" not in r.stderr
    monkeypatch.chdir(ROOT)
    for text in bad:
        (out / "manifest.json").write_text(text)
        rc, _, err = _cli(capsys, "--out", str(out), "--notebook", "03")
        assert rc == 2 and "did not write" in err and "internal error" not in err, text
        assert (out / "manifest.json").read_text() == text
        rc, _, err = _cli(capsys, "--out", str(out), "--notebook", "03", "--check")
        assert rc == 1 and "internal error" not in err, text
        assert "not a hipstats manifest" in err, text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    from hipstats.report.outdir import read_manifest

    for text in bad:
        (out / "manifest.json").write_text(text)
        assert read_manifest(out) is None, text
    (out / "manifest.json").write_text(json.dumps(good))
    assert read_manifest(out) == good


def test_concurrent_renders_permissions_and_stale_folders(tmp_path):
    """Two renders to one --out at once (the second waits for the first's lock) after a
    killed run left a stale temporary folder: both succeed, the stale folder is removed,
    nothing else is left beside the report, folders are 0755 and files 0644 under umask
    022."""
    out = tmp_path / "rep"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / ".rep-render-zzzz"
    stale.mkdir()
    (stale / ".hipstats-pid").write_text(dead)
    (stale / "half.html").write_text("partial")
    env = {**os.environ, "CI": "true"}
    cmd = [sys.executable, "-c", "import os, sys; os.umask(0o022); from hipstats.cli import "
           "main; sys.exit(main(sys.argv[1:]))", "report", "--quiet", "--notebook", "03",
           "--no-cache", "--out", str(out)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=900), p.stderr.read()) for p in procs]
    for rc, err in results:
        assert rc == 0, err
        assert "internal error" not in err and "Traceback" not in err
    assert (out / "manifest.json").is_file() and not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != ".rep.lock") == ["rep"]
    assert oct(out.stat().st_mode & 0o777) == "0o755"
    assert oct((out / "figures").stat().st_mode & 0o777) == "0o755"
    assert oct((out / "03-evidence.html").stat().st_mode & 0o777) == "0o644"


def test_csv_formula_cells_are_neutralised(tmp_path):
    t = pd.DataFrame({"study": ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "@SUM(A1)",
                                "-2+3", "plain"], "estimate": [-1.5, 2.0, -0.25, 3.0, 4.0]})
    save_table(t, "evil", tmp_path)
    text = (tmp_path / "evil.csv").read_text()
    assert "'=HYPERLINK" in text and "'+cmd" in text and "'@SUM" in text and "'-2+3" in text
    assert ",-1.5\n" in text and ",-0.25\n" in text  # numbers untouched
    assert neutralise_formulas(t)["study"].iloc[4] == "plain"


def test_swap_in_is_atomic_and_has_a_fallback(tmp_path, monkeypatch):
    """renameat2(RENAME_EXCHANGE): a reader polling --out always finds a complete report."""
    import threading

    from hipstats.report import outdir

    out = tmp_path / "rep"
    out.mkdir()
    (out / "manifest.json").write_text("0")
    missing, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            if not (out / "manifest.json").is_file():
                missing.append(1)

    t = threading.Thread(target=poll)
    t.start()
    try:
        for i in range(1, 101):
            tmp = outdir.new_tmp(out)
            (tmp / "manifest.json").write_text(str(i))
            outdir.swap_in(tmp, out)
    finally:
        stop.set()
        t.join()
    assert (out / "manifest.json").read_text() == "100" and not missing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    monkeypatch.setattr(outdir, "_exchange", lambda a, b: False)  # no renameat2: two renames
    tmp = outdir.new_tmp(out)
    (tmp / "manifest.json").write_text("fallback")
    outdir.swap_in(tmp, out)
    assert (out / "manifest.json").read_text() == "fallback"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_lock_times_out_with_a_message(tmp_path):
    import pytest

    from hipstats.errors import HipstatsError
    from hipstats.report import outdir

    out = tmp_path / "rep"
    with outdir.locked(out):
        with pytest.raises(HipstatsError, match="another hipstats report is rendering"):
            with outdir.locked(out, timeout=0.5):
                pass
    with outdir.locked(out, timeout=0.5):  # released
        pass


def test_stale_folder_of_a_live_process_is_kept(tmp_path):
    from hipstats.report import outdir

    out = tmp_path / "rep"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        busy = tmp_path / ".rep-render-live"
        busy.mkdir()
        (busy / ".hipstats-pid").write_text(str(live.pid))
        other = tmp_path / ".rep-backup-mine"  # not hipstats' pattern
        other.mkdir()
        outdir.clean_stale(out)
        assert busy.exists() and other.exists()
    finally:
        live.kill()
        live.wait()
    outdir.clean_stale(out)
    assert not busy.exists() and other.exists()


def test_unreadable_notebook_is_a_clean_failure(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    (nbs / "01-x.ipynb").write_text("{not json")
    rc, _, err = _cli(capsys, "--out", str(tmp_path / "rep"), "--notebooks-dir", str(nbs))
    assert rc == 1 and "01-x.ipynb is not a readable notebook" in err
    assert "internal error" not in err and not (tmp_path / "rep").exists()
