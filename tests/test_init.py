"""hipstats init: a project for someone who pip-installed hipstats, whose report works."""

import filecmp
from pathlib import Path

from hipstats.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_notebooks_are_the_repository_notebooks():
    """One copy: the package data `hipstats init` ships is a symbolic link to notebooks/ and
    to data/external/published_trials.csv (the build copies their content into the wheel),
    so the two cannot drift; editing notebooks/ is all there is to do."""
    tpl = ROOT / "hipstats" / "templates"
    assert (tpl / "notebooks").is_symlink()
    assert (tpl / "notebooks").resolve() == (ROOT / "notebooks").resolve()
    assert (tpl / "published_trials.csv").is_symlink()
    assert ((tpl / "published_trials.csv").resolve()
            == (ROOT / "data" / "external" / "published_trials.csv").resolve())
    import tomllib

    pkg_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["hipstats"]
    assert {"templates/*", "templates/notebooks/*"} <= set(pkg_data)
    shipped = sorted((ROOT / "hipstats" / "templates" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in shipped] == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for p in shipped:
        assert filecmp.cmp(p, ROOT / "notebooks" / p.name, shallow=False), p.name
    assert filecmp.cmp(ROOT / "hipstats" / "templates" / "published_trials.csv",
                       ROOT / "data" / "external" / "published_trials.csv", shallow=False)


def test_init_scaffolds_and_refuses_a_non_empty_folder(tmp_path, capsys):
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    for rel in ("notebooks/design-page.ipynb", "notebooks/03-evidence.ipynb",
                "hipstats.toml", "data/raw/.gitkeep", "data/external/published_trials.csv",
                "README.md", ".github/workflows/report.yml", "requirements.lock"):
        assert (study / rel).is_file(), rel
    assert "hipstats report --check" in (study / ".github/workflows/report.yml").read_text()
    before = (study / "hipstats.toml").read_text()
    assert main(["init", str(study)]) == 2
    assert (study / "hipstats.toml").read_text() == before


def test_report_in_an_initialised_study_reads_its_config(tmp_path):
    """Issue 10 acceptance: `hipstats init study`, a hipstats.toml pointing at an SPSS file
    in N*m/kg, then `hipstats report` in study/: page 01 names the file, shows N·m/kg, does
    not call the data synthetic, and the manifest records the file and the config."""
    import json
    import os
    import subprocess
    import sys

    import pyreadstat

    import hipstats

    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    df = hipstats.example("program6wk")
    d = df[df[["strength", "function_score"]].notna().any(axis=1)].drop(columns=["lsi"])
    for c in ("strength", "strength_uninvolved"):
        d[c] = (d[c] * 0.42).round(3)
    pyreadstat.write_sav(d, str(study / "data" / "raw" / "study.sav"))
    with open(study / "hipstats.toml", "a") as fh:
        fh.write('\n[data.program6wk]\npath = "data/raw/study.sav"\n'
                 'units = { strength = "N*m/kg", strength_uninvolved = "N*m/kg" }\n'
                 'analysis_units = { strength = "N*m/kg" }\n')
    r = subprocess.run([sys.executable, "-m", "hipstats.cli", "report", "--quiet", "--notebook",
                        "01"], cwd=study, capture_output=True, text=True, timeout=900,
                       env={**os.environ, "CI": "true"})
    assert r.returncode == 0, r.stderr
    page = (study / "reports" / "01-strength-and-function.html").read_text()
    assert "study.sav" in page and "Units: Hip-abductor strength, involved: N·m/kg" in page
    assert "synthetic" not in page.lower()
    man = json.loads((study / "reports" / "manifest.json").read_text())
    assert {"data/raw/study.sav", "hipstats.toml"} <= set(man["inputs"])
