"""Issue 19 item 1, end to end: a study made by `hipstats init` reproduces in its own CI.

One slow test does what the project's CI needs of its packaging (so it is not done twice):

1. builds the sdist and, from it, the wheel (``python -m build``) and checks both
   (``twine check --strict``: metadata and the README as rendered on an index);
2. ``hipstats init --vendor --wheel`` (that wheel copied into the study and named in its
   lock), a declared design with its data file, ``hipstats report`` (in the suite's
   environment, which has the same versions);
3. the CI runner: a fresh virtual environment, in which the workflow's own ``run:`` steps
   (read from the generated YAML) run in order in the study: install exactly the lock (so
   hipstats from the built wheel), ``pip check``, ``hipstats report --check``. They must all
   pass, with no warning that the environment differs from the lock;
4. in that environment, ``hipstats init --vendor`` writes the same lock byte for byte (the
   wheel it was installed from is vendored), and ``hipstats lock`` leaves it unchanged.

No network beyond what ``make install`` needs: the dependencies come from a wheelhouse
(``build/wheelhouse``, or ``$HIPSTATS_WHEELHOUSE``) filled once from the index through pip's
cache with the versions installed here, then installed with ``--no-index``.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from hipstats.studylock import LOCK_NAME, locked_packages, read_lock

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WHEELHOUSE = Path(os.environ.get("HIPSTATS_WHEELHOUSE", ROOT / "build" / "wheelhouse"))


def _run(cmd, cwd=None, env=None, timeout=600, shell=False):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                       timeout=timeout, shell=shell)
    assert r.returncode == 0, (f"{cmd} exited {r.returncode}\n--- stdout\n{r.stdout[-3000:]}"
                               f"\n--- stderr\n{r.stderr[-3000:]}")
    return r


def _fill_wheelhouse(pins: dict) -> None:
    """Wheels of every pinned package in WHEELHOUSE (only the missing ones are fetched)."""
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    have = set()
    for f in WHEELHOUSE.glob("*.whl"):
        try:
            name, ver, _, _ = parse_wheel_filename(f.name)
        except Exception:
            continue
        have.add((name, ver))
    need = [f"{n}=={v}" for n, v in sorted(pins.items())
            if (canonicalize_name(n), Version(v)) not in have]
    if need:   # from the index through pip's cache (sdists are built into wheels once)
        _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(WHEELHOUSE),
              *need], timeout=900)


def _venv(path: Path, base_env: dict) -> dict:
    _run([sys.executable, "-m", "venv", str(path)])
    env = dict(base_env)
    env["VIRTUAL_ENV"] = str(path)
    env["PATH"] = f"{path / 'bin'}{os.pathsep}{base_env['PATH']}"
    return env


def test_the_study_workflow_passes_in_a_fresh_environment_from_the_built_wheel(tmp_path):
    t0 = time.monotonic()
    times = {}
    base = {k: v for k, v in os.environ.items()
            if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PIP_REQUIRE_VIRTUALENV")}
    venv_bin = str(Path(sys.executable).parent)   # the suite's own venv off PATH
    base["PATH"] = os.pathsep.join(p for p in base.get("PATH", "").split(os.pathsep)
                                   if p and p != venv_bin)
    # the runner's pip settings: the local wheelhouse, no index
    base.update(CI="true", PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELHOUSE),
                PIP_DISABLE_PIP_VERSION_CHECK="1")

    # 1. the distributions, checked
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)],
         env={**os.environ, "PIP_NO_INDEX": ""}, timeout=600)
    wheels, sdists = sorted(dist.glob("hipstats-*.whl")), sorted(dist.glob("hipstats-*.tar.gz"))
    assert len(wheels) == 1 and len(sdists) == 1, sorted(dist.iterdir())
    _run([sys.executable, "-m", "twine", "check", "--strict", str(wheels[0]), str(sdists[0])])
    times["build+twine"] = time.monotonic() - t0

    # 2. a study by init, the built wheel vendored and named in its lock, a declared design
    #    with its data file, the report rendered (in the suite's environment: same versions)
    pins, missing = locked_packages()
    assert not missing
    study = tmp_path / "study"
    hs = [sys.executable, "-m", "hipstats.cli"]
    r = _run([*hs, "init", "--vendor", "--wheel", str(wheels[0]), str(study)])
    assert "NOT named" not in r.stdout and "warning" not in r.stderr, r.stderr
    lock = read_lock(study / LOCK_NAME)
    assert lock.hipstats_line == f"./vendor/{wheels[0].name}"
    assert (study / "vendor" / wheels[0].name).read_bytes() == wheels[0].read_bytes()
    assert lock.pins == pins     # the versions of the suite's environment
    _run([*hs, "simulate", "program6wk", "--n", "24", "--seed", "19", "--out",
          "data/raw/trial.csv"], cwd=study)
    with open(study / "hipstats.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[data.program6wk]\npath = "data/raw/trial.csv"\n')
    r = _run([*hs, "report", "--quiet", "--jobs", "2"], cwd=study, env={**os.environ, "CI": "true"},
             timeout=900)
    assert "differs" not in r.stderr, r.stderr
    assert "data/raw/trial.csv" in (study / "reports" / "manifest.json").read_text()
    times["init+report"] = time.monotonic() - t0
    _fill_wheelhouse(pins)
    times["wheelhouse"] = time.monotonic() - t0

    # 3. the CI runner: a fresh environment and the workflow's own run steps, in order
    wf = yaml.safe_load((study / ".github" / "workflows" / "report.yml").read_text())
    steps = wf["jobs"]["check"]["steps"]
    setup = next(s for s in steps if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert setup["with"]["python-version"] == ".".join(map(str, sys.version_info[:2]))
    runs = [s["run"] for s in steps if "run" in s]
    assert runs and runs[-1] == "hipstats report --check"
    env_b = _venv(tmp_path / "runner", base)
    out = []
    for step in runs:    # GitHub runs each `run:` as `bash -e {0}` in the checkout
        out.append(_run(["bash", "-e", "-c", step], cwd=study, env=env_b, timeout=900))
        times[step] = time.monotonic() - t0
    last = out[-1]
    assert "reproduced" in last.stdout, last.stdout
    assert "differs from" not in last.stderr, last.stderr
    frozen = _run(["python", "-m", "pip", "list", "--format=freeze"], env=env_b).stdout
    assert f"hipstats=={lock.hipstats_version}" in frozen

    # 4. in that fresh environment (hipstats from the wheel), `init` writes the same lock, and
    #    `hipstats lock` in the study rewrites it unchanged
    _run(["hipstats", "init", "--vendor", str(tmp_path / "study2")], env=env_b)
    assert (tmp_path / "study2" / LOCK_NAME).read_bytes() == (study / LOCK_NAME).read_bytes()
    before = (study / LOCK_NAME).read_bytes()
    _run(["hipstats", "lock"], cwd=study, env=env_b)
    assert (study / LOCK_NAME).read_bytes() == before
    times["init+lock in the runner"] = time.monotonic() - t0
    print("timings (cumulative s):", {k: round(v, 1) for k, v in times.items()})
    assert time.monotonic() - t0 < 900, times   # a runaway guard; ~2-4 min measured
