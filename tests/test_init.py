"""hipstats init: a project for someone who pip-installed hipstats, whose report works."""

import filecmp
from pathlib import Path

from hipstats.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_packaged_notebooks_are_the_repository_notebooks():
    """The notebooks shipped as package data (for `hipstats init`) are byte-identical to
    notebooks/ (edit notebooks/, then copy them to hipstats/templates/notebooks/)."""
    shipped = sorted((ROOT / "hipstats" / "templates" / "notebooks").glob("*.ipynb"))
    assert [p.name for p in shipped] == sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
    for p in shipped:
        assert filecmp.cmp(p, ROOT / "notebooks" / p.name, shallow=False), p.name
    assert filecmp.cmp(ROOT / "hipstats" / "templates" / "published_trials.csv",
                       ROOT / "data" / "external" / "published_trials.csv", shallow=False)


def test_init_scaffolds_and_refuses_a_non_empty_folder(tmp_path, capsys):
    study = tmp_path / "study"
    assert main(["init", str(study)]) == 0
    for rel in ("notebooks/01-strength-and-function.ipynb", "notebooks/03-evidence.ipynb",
                "hipstats.toml", "data/raw/.gitkeep", "data/external/published_trials.csv",
                "README.md", ".github/workflows/report.yml"):
        assert (study / rel).is_file(), rel
    assert "hipstats report --check" in (study / ".github/workflows/report.yml").read_text()
    before = (study / "hipstats.toml").read_text()
    assert main(["init", str(study)]) == 2
    assert (study / "hipstats.toml").read_text() == before
