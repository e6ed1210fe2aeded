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


def test_changed_trial_summaries_rerender_03_and_are_drift(project):
    trials = project / "data" / "external" / "published_trials.csv"
    pooled = (project / "reports" / "tables" / "03-pooled.csv").read_text()
    lines = trials.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    j = header.index("m1")
    cells[j] = str(float(cells[j]) - 0.7)
    lines[1] = ",".join(cells)
    trials.write_text("\n".join(lines) + "\n")
    r = _report("--out", "reports", "--check", cwd=project)
    assert r.returncode == 1 and "data/external/published_trials.csv changed" in r.stderr
    r = _report("--out", "reports", cwd=project)
    assert r.returncode == 0 and "executed ['03-evidence']" in r.stdout, r.stdout
    assert (project / "reports" / "tables" / "03-pooled.csv").read_text() != pooled


def test_changed_notebook_is_drift(project):
    nb = project / "notebooks" / "03-evidence.ipynb"
    nb.write_text(nb.read_text().replace("md_cm = 1.5", "md_cm = 1.6"))
    r = _report("--out", "reports", "--check", cwd=project)
    assert r.returncode == 1 and "notebooks/03-evidence.ipynb changed" in r.stderr
