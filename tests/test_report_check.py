"""The cross-machine contract of hipstats report --check (issue 9 item 2): tables are
compared as numbers within --rtol/--atol, inputs/parameters/versions are drift, and every
file a notebook reads is in the cache key (published_trials.csv re-renders 03)."""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _report(*args, cwd):
    env = {**os.environ, "CI": "true"}
    return subprocess.run([sys.executable, "-m", "hipstats.cli", "report", "--quiet", *args],
                          capture_output=True, text=True, cwd=cwd, env=env, timeout=900)


@pytest.fixture(scope="module")
def rendered_project(tmp_path_factory):
    """A small analysis project (notebook 03 and the trial summaries it reads), rendered once."""
    root = tmp_path_factory.mktemp("proj")
    (root / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "03-evidence.ipynb", root / "notebooks")
    (root / "data" / "external").mkdir(parents=True)
    shutil.copy(ROOT / "data" / "external" / "published_trials.csv", root / "data" / "external")
    r = _report("--out", "reports", cwd=root)
    assert r.returncode == 0, r.stderr
    return root


@pytest.fixture()
def project(rendered_project, tmp_path):
    """A private copy of the rendered project for one test."""
    dst = tmp_path / "p"
    shutil.copytree(rendered_project, dst)
    return dst


def _edit_table(project, name, factor):
    """Scale the first numeric cell of a committed table and fix its manifest hash, as a
    render on another machine would write it."""
    path = project / "reports" / "tables" / name
    rows = list(csv.reader(path.open()))
    for j, cell in enumerate(rows[1]):
        try:
            v = float(cell)
        except ValueError:
            continue
        if v != 0:
            rows[1][j] = repr(v * factor)
            col = rows[0][j]
            break
    with path.open("w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)
    man_path = project / "reports" / "manifest.json"
    man = json.loads(man_path.read_text())
    man["outputs"][f"tables/{name}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    man_path.write_text(json.dumps(man, indent=2, sort_keys=True) + "\n")
    return col


def test_check_tolerates_noise_below_rtol_and_names_a_real_difference(project):
    """One --check: noise of 1e-9 in one table passes, 1e-3 in another is named by table,
    row and column, a hand-edited table is drift; then --rtol 1e-2 accepts the 1e-3."""
    _edit_table(project, "03-pooled.csv", 1 + 1e-9)     # another machine's last bits
    col = _edit_table(project, "03-effect-sizes.csv", 1 + 1e-3)
    curve = project / "reports" / "tables" / "03-power-curve.csv"
    original = curve.read_bytes()
    curve.write_bytes(original + b"\n")
    r = _report("--out", "reports", "--check", cwd=project)
    assert r.returncode == 1
    assert f"table tables/03-effect-sizes.csv, row 1, column '{col}'" in r.stderr
    assert "03-pooled.csv" not in r.stderr
    assert "03-power-curve.csv was edited after rendering" in r.stderr
    curve.write_bytes(original)
    r = _report("--out", "reports", "--check", "--rtol", "1e-2", cwd=project)
    assert r.returncode == 0, r.stderr
    assert "tables agree within rtol=0.01" in r.stdout


def test_changed_inputs_are_drift_named_by_path_and_rerender_03(project):
    trials = project / "data" / "external" / "published_trials.csv"
    pooled = (project / "reports" / "tables" / "03-pooled.csv").read_text()
    page = (project / "reports" / "03-evidence.html").read_text()
    lines = trials.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    j = header.index("m1")
    cells[j] = str(float(cells[j]) - 0.7)
    lines[1] = ",".join(cells)
    trials.write_text("\n".join(lines) + "\n")
    nb = project / "notebooks" / "03-evidence.ipynb"
    nb.write_text(nb.read_text().replace("md_cm = 1.5", "md_cm = 1.6"))
    r = _report("--out", "reports", "--check", cwd=project)
    assert r.returncode == 1 and "data/external/published_trials.csv changed" in r.stderr
    assert "notebooks/03-evidence.ipynb changed" in r.stderr
    r = _report("--out", "reports", cwd=project)
    assert r.returncode == 0 and "executed ['03-evidence']" in r.stdout, r.stdout
    assert (project / "reports" / "tables" / "03-pooled.csv").read_text() != pooled
    assert (project / "reports" / "03-evidence.html").read_text() != page


def test_clone_in_another_folder_reuses_cache_and_writes_the_same_manifest(project, tmp_path):
    """No absolute path in the cache key or the manifest: a copy elsewhere reuses the cache.
    (hipstats' source is in the cache key; if someone edits it meanwhile, copy again.)"""
    src = project
    for attempt in range(3):
        dst = tmp_path / f"clone{attempt}"
        shutil.copytree(src, dst)
        r = _report("--out", "reports", cwd=dst)
        assert r.returncode == 0, r.stderr
        old = json.loads((src / "reports" / "manifest.json").read_text())
        new = json.loads((dst / "reports" / "manifest.json").read_text())
        if new["hipstats_source"] == old["hipstats_source"]:
            break
        src = dst
    assert "executed none, reused cached ['03-evidence']" in r.stdout
    assert ((dst / "reports" / "manifest.json").read_bytes()
            == (src / "reports" / "manifest.json").read_bytes())
    assert "data/external/published_trials.csv" in new["inputs"]
    assert str(tmp_path) not in json.dumps(new) and "/tmp" not in json.dumps(new)


def _manifest(**kw):
    man = {"generator": "hipstats report", "inputs": {"notebooks/01-a.ipynb": "a"},
           "parameters": {"01-a": {"seed": 1}}, "hipstats_source": "s" * 64,
           "versions": {"python": "3.11.7", "numpy": "2.0.0", "hipstats": "1.0"},
           "outputs": {"01-a.html": "p", "index.html": "i"},
           "notebooks": {"01-a": {"cache_key": "k", "outputs": ["01-a.html"],
                                  "inputs": ["notebooks/01-a.ipynb"]}}}
    for k, v in kw.items():
        man[k] = {**man[k], **v} if isinstance(v, dict) else v
    return man


def test_python_patch_version_and_source_hash_are_notes_not_drift(tmp_path):
    from hipstats.report.check import compare_manifests

    old = _manifest()
    new = _manifest(versions={"python": "3.11.9"}, hipstats_source="t" * 64,
                    outputs={"01-a.html": "q"})
    res = compare_manifests(old, new, tmp_path, tmp_path, 1e-6, 1e-12)
    assert res.ok and res.files_bytes_differ == 1 and res.files_identical == 1
    notes = "\n".join(res.notes)
    assert "version of python: 3.11.7 in the manifest, 3.11.9 now" in notes
    assert "hipstats source differs" in notes and "page 01-a.html differs in bytes" in notes
    res = compare_manifests(old, _manifest(versions={"python": "3.12.1", "numpy": "2.0.1"}),
                            tmp_path, tmp_path, 1e-6, 1e-12)
    assert not res.ok
    assert res.drift == ["version of numpy: 2.0.0 in the manifest, 2.0.1 now",
                         "version of python: 3.11.7 in the manifest, 3.12.1 now"]


def test_check_of_one_notebook_ignores_the_others(tmp_path):
    """--check --notebook 01 against a full report compares only 01's files and inputs."""
    from hipstats.report.check import compare_manifests

    old = _manifest(inputs={"data/raw/b.csv": "b", "notebooks/02-b.ipynb": "c"},
                    parameters={"02-b": {"seed": 1}},
                    outputs={"02-b.html": "x", "tables/02-b.csv": "y"},
                    notebooks={"02-b": {"cache_key": "k2", "outputs": ["02-b.html",
                                                                        "tables/02-b.csv"],
                                        "inputs": ["data/raw/b.csv", "notebooks/02-b.ipynb"]}})
    new = _manifest(outputs={"index.html": "other page list"})
    assert compare_manifests(old, new, tmp_path, tmp_path, 1e-6, 1e-12).ok is False
    res = compare_manifests(old, new, tmp_path, tmp_path, 1e-6, 1e-12, only={"01-a"})
    assert res.ok and res.files_identical == 1, (res.drift, res.differences)
    res = compare_manifests(old, _manifest(inputs={"notebooks/01-a.ipynb": "changed"}),
                            tmp_path, tmp_path, 1e-6, 1e-12, only={"01-a"})
    assert res.drift == ["input notebooks/01-a.ipynb changed (sha256 a in the manifest, "
                         "changed now)"]


def test_compare_tables_numbers_text_and_shape(tmp_path):
    from hipstats.report.check import compare_tables

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("term,estimate,pval\nx,1.5,0.01\ny,-2e-13,\nz,nan,inf\n")
    b.write_text("term,estimate,pval\nx,1.5000000014,0.01\ny,3e-13,\nz,nan,inf\n")
    assert compare_tables("t.csv", a, b, 1e-6, 1e-12) == []
    b.write_text("term,estimate,pval\nx,1.5015,0.01\nY,-2e-13,\nz,nan,-inf\n")
    assert compare_tables("t.csv", a, b, 1e-6, 1e-12) == [
        "table t.csv, row 1, column 'estimate': was '1.5', now '1.5015'",
        "table t.csv, row 2, column 'term': was 'y', now 'Y'",
        "table t.csv, row 3, column 'pval': was 'inf', now '-inf'"]
    b.write_text("term,estimate\nx,1.5\n")
    assert "columns changed" in compare_tables("t.csv", a, b, 1e-6, 1e-12)[0]
    b.write_text("term,estimate,pval\nx,1.5,0.01\n")
    assert compare_tables("t.csv", a, b, 1e-6, 1e-12) == ["table t.csv: 3 rows before, 1 now"]
