"""hipstats report: pages, figures, no errors, byte-identical renders, --check, escaping,
clean failures (invalid data stops before any notebook runs; a failing notebook names its
cell; the previous output is untouched)."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hipstats
from hipstats.cli import main
from hipstats.report.build import BUILTIN_PAGES
from hipstats.report.outputs import save_figure

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted([*(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")),
                    *BUILTIN_PAGES])


def _report(*args, cwd=ROOT):
    env = {**os.environ, "CI": "true"}
    return subprocess.run([sys.executable, "-m", "hipstats.cli", "report", "--quiet", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "reports"
    t0 = time.perf_counter()
    # the numbered and built-in pages (the declared design's page is rendered and checked in
    # tests/test_designs.py and by `make test`'s report --check)
    pages = [a for s in NOTEBOOKS for a in ("--notebook", s)] + ["--jobs", "2"]
    r = _report("--out", str(out), "--no-cache", *pages)
    first = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr
    def key():
        man = json.loads((out / "manifest.json").read_text())
        return man["hipstats_source"], man["inputs"]

    source = key()
    for _ in range(3):  # hipstats' source and the notebooks are in the cache key: others may
        t0 = time.perf_counter()  # be editing them; then render once more
        r2 = _report("--out", str(out), *pages)
        second = time.perf_counter() - t0
        assert r2.returncode == 0, r2.stderr
        now = key()
        if now == source:
            break
        source = now
    return out, first, second, r2.stdout


def test_pages_figures_tables_no_errors(rendered):
    out = rendered[0]
    index = (out / "index.html").read_text()
    man = json.loads((out / "manifest.json").read_text())
    assert len(NOTEBOOKS) == 3
    for stem in NOTEBOOKS:
        page = out / f"{stem}.html"
        assert page.exists() and f'href="{stem}.html"' in index
        text = page.read_text()
        assert "Traceback" not in text and "output_error" not in text
        assert text.count("data:image/png;base64") >= 2
        prefix = stem[:2]
        pngs = sorted((out / "figures").glob(f"{prefix}-*.png"))
        assert pngs and all(p.with_suffix(".pdf").exists() for p in pngs)
        assert list((out / "tables").glob(f"{prefix}-*.csv"))
    for rel, digest in man["outputs"].items():
        from hipstats.report.build import sha256_file
        assert sha256_file(out / rel) == digest
    own = {f"notebooks/{s}.ipynb" for s in NOTEBOOKS if s not in BUILTIN_PAGES}
    assert set(man["inputs"]) >= own | {"notebooks/design-page.ipynb"}
    assert man["versions"]["hipstats"] == hipstats.__version__


def test_second_run_uses_cache(rendered):
    out, first, second, stdout = rendered
    assert "executed none" in stdout


def test_two_renders_on_one_machine_are_byte_identical(rendered, tmp_path):
    """On one machine a fresh render reproduces pages, figures and tables byte for byte
    (across machines the contract is numeric: see test_report_check.py)."""
    out = tmp_path / "again"
    r = _report("--out", str(out), "--no-cache", "--notebook", "01")
    assert r.returncode == 0, r.stderr
    first = json.loads((rendered[0] / "manifest.json").read_text())
    again = json.loads((out / "manifest.json").read_text())
    produced = [f for f in again["outputs"] if f.startswith(("01-", "figures/01-", "tables/01-"))]
    assert len(produced) > 10
    for f in produced:
        assert again["outputs"][f] == first["outputs"][f], f


def test_committed_report_inputs_match(rendered):
    committed = json.loads((ROOT / "reports" / "manifest.json").read_text())
    fresh = json.loads((rendered[0] / "manifest.json").read_text())
    stale = "the committed reports/ is stale (rendered from other inputs): run `make report`"
    # the fixture renders the numbered and built-in pages: the committed report holds them
    # with the same inputs and parameters (and, besides, the declared designs' pages)
    assert fresh["inputs"].items() <= committed["inputs"].items(), stale
    assert all(committed["parameters"].get(k) == v for k, v in fresh["parameters"].items()), stale
    extra = set(committed["outputs"]) - set(fresh["outputs"])
    assert set(fresh["outputs"]) <= set(committed["outputs"])
    assert extra and all(f.split("/")[-1].startswith("design-") for f in extra), sorted(extra)[:5]


def test_check_fails_when_data_change(tmp_path):
    """The committed report checked against a changed data file: drift, naming the file and
    the first changed cell (that it passes unchanged is `make test`'s first step and
    test_report_check.py's)."""
    import shutil

    out = tmp_path / "rep"
    shutil.copytree(ROOT / "reports", out)
    data = tmp_path / "pfps.csv"
    text = (ROOT / "data" / "raw" / "pfps3wk.csv").read_text()
    data.write_text(re.sub(r"^(R02,PFPS,pre,)([0-9.]+)", r"\g<1>2.95", text, count=1, flags=re.M))
    r = _report("--out", str(out), "--notebook", "02", "--check", "--data", f"pfps3wk={data}")
    assert r.returncode == 1
    assert str(data) in r.stderr  # the changed file is named by its path
    assert re.search(r"table tables/02-\S+\.csv, row \d+, column '\w+': was '[^']*', now", r.stderr)


def test_subject_ids_are_escaped(tmp_path):
    df = hipstats.example("pfps3wk")
    evil = "<script>alert('x')</script>"
    df.loc[df.subject == "R01", "subject"] = evil  # R01 missed the post visit
    path = tmp_path / "evil.csv"
    df[df.strength.notna()].to_csv(path, index=False)
    out = tmp_path / "rep"
    r = _report("--out", str(out), "--notebook", "02", "--data", f"pfps3wk={path}")
    assert r.returncode == 0, r.stderr
    page = (out / "02-pfps-pain.html").read_text()
    assert "alert(&#x27;x&#x27;)" in page or "alert(&#39;x&#39;)" in page or "&lt;script&gt;alert" in page
    assert evil not in page


def test_invalid_data_stops_before_any_notebook_runs(tmp_path):
    out = tmp_path / "rep"
    bad = tmp_path / "bad.csv"
    bad.write_text("subject,group,time,strength,pain_vas\nR1,PFPS,pre,abc,5\nR1,PFPS,post,2,99\n")
    t0 = time.perf_counter()
    r = _report("--out", str(out), "--data", f"pfps3wk={bad}")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "row 1" in r.stderr and "'strength'" in r.stderr and "row 2" in r.stderr
    assert time.perf_counter() - t0 < 15  # no kernel was started
    assert not out.exists() and not list(tmp_path.glob(".rep-render-*"))


def test_failing_notebook_names_cell_and_keeps_previous_output(tmp_path):
    import nbformat

    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Broken"),
                                         nbformat.v4.new_code_cell("x = 1"),
                                         nbformat.v4.new_code_cell("1 / 0")])
    nbformat.write(nb, nbdir / "09-broken.ipynb")
    out = tmp_path / "rep"
    r = _report("--out", str(out), "--notebooks-dir", str(nbdir), cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "09-broken" in r.stderr and "cell 3" in r.stderr and "ZeroDivisionError" in r.stderr
    assert not out.exists()
    assert not list(tmp_path.glob(".rep-render-*"))


def test_outputs_stay_inside_folder(tmp_path):
    import matplotlib.pyplot as plt

    fig = plt.figure()
    for bad in ("../evil", "/abs", "a/b", ""):
        with pytest.raises(ValueError):
            save_figure(fig, bad, tmp_path)
    plt.close(fig)


def test_usage_errors_exit_2():
    assert main(["report", "--data", "nodesign=x.csv"]) == 2
    assert main(["report", "--jobs", "0"]) == 2


def test_word_file_of_each_page_with_real_tables(rendered):
    """Issue 13: one .docx per page, opening in python-docx, the page's formatted tables as
    Word tables (with captions) and its figures as pictures; listed in the manifest."""
    import docx

    out = rendered[0]
    man = json.loads((out / "manifest.json").read_text())
    for stem in NOTEBOOKS:
        path = out / f"{stem}.docx"
        assert f"{stem}.docx" in man["outputs"]
        d = docx.Document(str(path))
        page = (out / f"{stem}.html").read_text()
        assert len(d.tables) == page.count('class="hs-table"') > 0
        assert len(d.inline_shapes) >= 1
        captions = [p.text for p in d.paragraphs if p.style.name == "Caption"]
        assert captions and all(c.startswith(("Table ", "Figure ")) for c in captions)
        assert sum(c.startswith("Figure ") for c in captions) == len(d.inline_shapes)
        assert d.core_properties.created.year == 2000  # fixed metadata: byte-stable


def test_each_pages_time_is_printed_unless_quiet(rendered, tmp_path):
    """A render says how long each page took (a cached page says so); --quiet says
    nothing of it. The times stay out of the manifest, which must not change between runs."""
    import shutil

    out = tmp_path / "reports"
    shutil.copytree(rendered[0], out)
    env = {**os.environ, "CI": "true"}
    r = subprocess.run([sys.executable, "-m", "hipstats.cli", "report", "--out", str(out),
                        *[a for s in NOTEBOOKS for a in ("--notebook", s)]],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=900)
    assert r.returncode == 0, r.stderr
    listed = [ln.split() for ln in r.stdout.splitlines() if ln.startswith("  ")]
    assert listed == [[s, "cached"] for s in NOTEBOOKS]
    assert "  " + NOTEBOOKS[0] not in rendered[3]  # the --quiet run of the fixture
    assert "seconds" not in (out / "manifest.json").read_text()


def test_page_times_are_one_line_each(capsys):
    from hipstats.cli.report_cmd import print_page_times

    print_page_times({"02-b": {"cached": False, "seconds": 12.345}, "01-a": {"cached": True}})
    assert capsys.readouterr().out.splitlines() == [
        "  01-a                             cached", "  02-b                              12.3 s"]


def test_pages_on_more_data_start_first(tmp_path):
    """With --jobs 2 the report is done when its longest page is: pages reading more data
    are started first (the bundled hipknee6wk page, 199 patients, before 01 and 02)."""
    from hipstats.report.build import Page, _longest_first

    big, small = tmp_path / "big.csv", tmp_path / "small.csv"
    big.write_text("x\n" * 100)
    small.write_text("x\n")
    pages = [Page(tmp_path / "a.ipynb", "01-a", "small"), Page(tmp_path / "c.ipynb", "03-c"),
             Page(tmp_path / "b.ipynb", "design-big", "big", True)]
    paths = {"small": str(small), "big": str(big)}
    todo = [(p, {}, "key") for p in pages]
    assert [p.stem for p, _, _ in _longest_first(todo, paths)] == ["design-big", "01-a", "03-c"]
