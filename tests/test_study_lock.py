"""Issue 19 item 1 (fast part): the study's lock, `hipstats lock`, the report's warning, the
study's workflow, and one source for the version. The slow end-to-end run of the workflow
from a built wheel is tests/test_study_ci.py."""

import json
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from hipstats.cli import main
from hipstats.cli.init_cmd import workflow, workflow_yaml
from hipstats.cli.report_cmd import warn_if_not_locked
from hipstats.report.check import compare_manifests
from hipstats.studylock import (INSTALL_CMD, LOCK_NAME, locked_packages, provenance_from,
                                read_lock, render_lock)

ROOT = Path(__file__).resolve().parents[1]
V = metadata.version("hipstats")
WHEEL = f"hipstats-{V}-py3-none-any.whl"


# --- the version has one source ------------------------------------------------------------

def test_version_has_one_source_and_the_cli_prints_it():
    from hipstats._version import __version__

    import hipstats

    py = (ROOT / "pyproject.toml").read_text()
    project = py.split("[project]", 1)[1].split("\n[", 1)[0]
    assert not re.search(r"(?m)^version\s*=", project), "version must not be written twice"
    assert 'dynamic = ["version"]' in project
    assert 'attr = "hipstats._version.__version__"' in py
    holders = [p.relative_to(ROOT).as_posix() for p in (ROOT / "hipstats").rglob("*.py")
               if re.search(r"__version__\s*=\s*['\"]", p.read_text(encoding="utf-8"))]
    assert holders == ["hipstats/_version.py"]
    assert hipstats.__version__ == __version__ == V
    r = subprocess.run([sys.executable, "-m", "hipstats.cli", "--version"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"hipstats {V}"


# --- how hipstats is named in the lock (PEP 610) -------------------------------------------

def test_hipstats_is_named_the_way_it_was_installed(tmp_path):
    assert provenance_from(None, "0.1.0").requirement == "hipstats==0.1.0"
    vcs = json.dumps({"url": "https://example.org/lab/hipstats.git",
                      "vcs_info": {"vcs": "git", "commit_id": "a" * 40,
                                   "requested_revision": "main"}})
    assert provenance_from(vcs, "0.1.0").requirement == \
        f"hipstats @ git+https://example.org/lab/hipstats.git@{'a' * 40}"
    url = json.dumps({"url": "https://example.org/hipstats-0.1.0-py3-none-any.whl",
                      "archive_info": {"hashes": {"sha256": "b" * 64}}})
    assert provenance_from(url, "0.1.0").requirement == \
        f"hipstats @ https://example.org/hipstats-0.1.0-py3-none-any.whl#sha256={'b' * 64}"
    (tmp_path / "vendor").mkdir()
    whl = tmp_path / "vendor" / "hipstats-0.1.0-py3-none-any.whl"
    whl.write_bytes(b"wheel")
    local = json.dumps({"url": whl.as_uri(), "archive_info": {}})
    p = provenance_from(local, "0.1.0", tmp_path)
    assert (p.kind, p.requirement) == ("vendored", "./vendor/hipstats-0.1.0-py3-none-any.whl")
    p = provenance_from(local, "0.1.0", tmp_path / "elsewhere")   # a file on this machine only
    assert p.requirement is None and p.source == str(whl)
    ed = json.dumps({"url": tmp_path.as_uri(), "dir_info": {"editable": True}})
    p = provenance_from(ed, "0.1.0")
    assert p.requirement is None and "editable" in p.where and p.source == str(tmp_path)


# --- the lock ------------------------------------------------------------------------------

def test_lock_pins_every_dependency_sorted_and_reads_back(tmp_path):
    pins, missing = locked_packages()
    assert not missing
    for name in ("numpy", "pandas", "scipy", "statsmodels", "nbclient", "ipykernel", "pyzmq",
                 "patsy", "pandera", "distributed"):   # direct, transitive, via an extra
        assert pins[name] == metadata.version(name), name
    assert "pytest" not in pins and "hipstats" not in pins   # not needed to render
    text = render_lock(pins, provenance_from(None, V))
    assert text == render_lock(dict(reversed(list(pins.items()))), provenance_from(None, V))
    reqs = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert reqs == sorted(reqs, key=lambda ln: ln.split("==")[0])
    (tmp_path / LOCK_NAME).write_text(text)
    lock = read_lock(tmp_path / LOCK_NAME)
    assert lock.ours and lock.pins == pins and lock.hipstats_line == f"hipstats=={V}"
    assert lock.python == ".".join(map(str, sys.version_info[:3]))


def test_init_in_a_dev_install_says_hipstats_is_not_named(tmp_path, capsys):
    """This suite runs on an editable install: the lock cannot name hipstats; init says so
    and points at --vendor, and the lock says so too."""
    assert main(["init", str(tmp_path / "study")]) == 0
    err = capsys.readouterr().err
    assert "editable install" in err and "hipstats lock --vendor" in err
    lock = read_lock(tmp_path / "study" / LOCK_NAME)
    assert lock.ours and lock.hipstats_line is None and lock.pins == locked_packages()[0]
    assert "hipstats lock --vendor" in (tmp_path / "study" / LOCK_NAME).read_text()


def test_lock_vendor_copies_a_wheel_and_refuses_what_it_did_not_write(tmp_path, capsys):
    study = tmp_path / "study"
    study.mkdir()
    assert main(["lock", str(study)]) == 2                # not a study: nothing written
    assert "not a study" in capsys.readouterr().err and not any(study.iterdir())
    (study / "hipstats.toml").write_text("")
    (study / LOCK_NAME).write_text("numpy==1.0\n")       # the researcher's own file
    assert main(["lock", str(study)]) == 2
    assert (study / LOCK_NAME).read_text() == "numpy==1.0\n"
    assert "not written by hipstats" in capsys.readouterr().err
    (study / LOCK_NAME).unlink()

    other = tmp_path / "hipstats-0.0.1-py3-none-any.whl"
    other.write_bytes(b"old")
    assert main(["lock", str(study), "--vendor", "--wheel", str(other)]) == 1
    assert "is not hipstats" in capsys.readouterr().err
    assert not (study / LOCK_NAME).exists() and not (study / "vendor").exists()

    wheel = tmp_path / WHEEL
    wheel.write_bytes(b"wheel one")
    assert main(["lock", str(study), "--vendor", "--wheel", str(wheel)]) == 0
    assert (study / "vendor" / WHEEL).read_bytes() == b"wheel one"
    lock = read_lock(study / LOCK_NAME)
    assert lock.hipstats_line == f"./vendor/{WHEEL}" and lock.hipstats_version == V
    wheel.write_bytes(b"wheel two")           # a rebuilt wheel replaces the one the lock names
    assert main(["lock", str(study), "--vendor", "--wheel", str(wheel)]) == 0
    assert (study / "vendor" / WHEEL).read_bytes() == b"wheel two"
    assert main(["lock", str(study)]) == 0    # editable here: the lock no longer names it
    wheel.write_bytes(b"wheel three")         # ... so vendor/ now holds a file it does not name
    assert main(["lock", str(study), "--vendor", "--wheel", str(wheel)]) == 2
    assert (study / "vendor" / WHEEL).read_bytes() == b"wheel two"


# --- hipstats report warns when the environment is not the lock ----------------------------

def test_report_warns_in_one_line_when_the_environment_differs_from_the_lock(tmp_path, capsys):
    pins, _ = locked_packages()
    text = render_lock(pins, provenance_from(None, V))
    (tmp_path / LOCK_NAME).write_text(text)
    warn_if_not_locked(tmp_path)
    assert capsys.readouterr().err == ""
    numpy = metadata.version("numpy")
    edited = text.replace(f"numpy=={numpy}\n", "numpy==1.0.0\n").replace(
        f"tqdm=={pins['tqdm']}\n", "")
    (tmp_path / LOCK_NAME).write_text(edited)
    warn_if_not_locked(tmp_path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"numpy {numpy} (locked 1.0.0)" in err
    assert f"tqdm {pins['tqdm']} (not in the lock)" in err
    assert INSTALL_CMD in err and "hipstats lock" in err
    (tmp_path / LOCK_NAME).write_text("numpy==1.0.0\n")  # not a hipstats lock: not judged
    warn_if_not_locked(tmp_path)
    assert capsys.readouterr().err == ""


def test_check_version_drift_points_at_the_lock(tmp_path):
    man = {"versions": {"hipstats": V, "numpy": "2.0.0", "python": "3.11.7"}}
    res = compare_manifests(man, {"versions": {**man["versions"], "numpy": "2.1.0"}},
                            tmp_path, tmp_path, 1e-6, 1e-12)
    assert not res.ok and res.drift == ["version of numpy: 2.0.0 in the manifest, 2.1.0 now"]
    assert len(res.advice) == 1 and INSTALL_CMD in res.advice[0]
    assert "hipstats lock" in res.advice[0]
    res = compare_manifests(man, {"versions": {**man["versions"], "python": "3.11.9"}},
                            tmp_path, tmp_path, 1e-6, 1e-12)
    assert res.ok and not res.advice


# --- the study's workflow ------------------------------------------------------------------

def test_workflow_installs_exactly_the_lock_on_the_locks_python(tmp_path):
    assert main(["init", str(tmp_path / "s")]) == 0
    text = (tmp_path / "s" / ".github" / "workflows" / "report.yml").read_text()
    wf = yaml.safe_load(text)
    minor = ".".join(map(str, sys.version_info[:2]))
    assert wf == workflow(minor) and text == workflow_yaml(minor)
    steps = wf["jobs"]["check"]["steps"]
    setup = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    lock = read_lock(tmp_path / "s" / LOCK_NAME)
    assert setup["with"]["python-version"] == ".".join(lock.python.split(".")[:2])
    runs = [s["run"] for s in steps if "run" in s]
    assert runs == [INSTALL_CMD, "python -m pip check", "hipstats report --check"]
    assert "hipstats==" not in text   # no index has hipstats: the lock names it


def test_lock_says_when_the_workflow_sets_up_another_python(tmp_path, capsys):
    assert main(["init", str(tmp_path / "s")]) == 0
    wf = tmp_path / "s" / ".github" / "workflows" / "report.yml"
    wf.write_text(wf.read_text().replace('python-version: "', 'python-version: "2.'))
    before = wf.read_text()
    capsys.readouterr()
    assert main(["lock", str(tmp_path / "s")]) == 0
    err = capsys.readouterr().err
    assert "sets up Python 2." in err and "edit its python-version" in err
    assert wf.read_text() == before     # the lock command writes only the lock
