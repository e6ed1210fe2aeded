"""``hipstats init DIR``: scaffold an analysis project for someone who installed hipstats.

Writes the report notebooks (shipped as package data: the design page, rendered for the
built-in pages 01 and 02 and for every declared design, and 03), a ``hipstats.toml`` saying how
to read the study's files, ``data/raw/`` (raw data is immutable: put exports there),
``data/external/`` with the trial summaries notebook 03 pools, a README, a ``.gitignore``,
``requirements.lock`` (the exact environment that renders the report: hipstats named the way
it was installed and every package it needs; see :mod:`hipstats.studylock`) and a CI workflow
that installs exactly that lock on the same Python minor version and runs
``hipstats report --check``. ``--vendor`` copies a wheel of the running hipstats into
``vendor/`` and names it in the lock (for a hipstats no package index has). Never overwrites:
an existing non-empty DIR is refused (exit 2).
"""

from __future__ import annotations

import json
import re
import sys
from importlib import resources
from pathlib import Path

from hipstats.cli.lock_cmd import add_vendor_option, python_minor, write
from hipstats.studylock import INSTALL_CMD

TOML = '''# How hipstats reads this study's data (see `hipstats validate --help`).
# Paths are relative to this file. Uncomment and edit one table per design you use;
# without a table, the report uses the bundled synthetic example for that design.

# [data.program6wk]
# path = "data/raw/my_study.sav"
# columns = { hip_abd_torque_nm = "strength", lefs_total = "function_score" }
# units = { strength = "N*m", body_mass = "kg" }      # what the file holds
# analysis_units = { strength = "N*m/kg" }            # what results are expressed in
# lever_arm = 0.35                                    # metres, or a column name
# missing = ["-99", "."]

# [data.pfps3wk]
# path = "data/raw/pfps.csv"

# Your own trial's design, when it is not one of the built-ins (program6wk, pfps3wk,
# hipknee6wk): declare it, and `hipstats validate --config hipstats.toml --design mytrial`
# checks the file against it and `hipstats report` renders notebooks/design-page.ipynb for
# it. Instruments: vas, nprs, akps (kujala), lefs, koos_pf, womac, womac_vas, grc (global
# rating of change) (label, range, direction and MCID with its source; any of them can be
# overridden on the measure).
#
# [design.mytrial]
# time = "week"
# timepoints = [0, 1, 2, 3, 4, 5, 6]      # numbers or labels, e.g. ["pre", "post"]
# groups = ["HIP", "KNEE"]                # omit for a one-group study
# reference = "KNEE"                      # comparator arm (default: the last group)
# baseline = 0                            # default: the first timepoint
# primary = { outcome = "pain_vas", strength = "strength" }
# randomised = true                       # false for patients against controls
# mediation = { mediator = "strength", mediator_visit = 6, outcome_visit = 6 }   # optional
# sensitivity = ["JR", "CR", "CIR"]       # missing-data strategies beside MAR (the default)
#
# [design.mytrial.measures]
# pain_vas = { instrument = "vas", unit = "cm" }
# akps = { instrument = "akps" }
# strength = { unit = "N/kg", visits = [0, 6], required = false, label = "Hip-abductor strength" }
#
# [design.mytrial.covariates]
# age = { unit = "years" }
# sex = { levels = ["F", "M"] }
# body_mass = { unit = "kg" }
#
# [data.mytrial]
# path = "data/raw/trial.csv"
# columns = { record_id = "subject", arm = "group", vas_usual_cm = "pain_vas" }
# ice = "data/raw/ice.csv"                # optional: intercurrent events, one row per
#                                         # participant (subject, week, strategy, reason)
'''

README = '''# {name}: hip-abductor strength, pain and function analysis

Made with `hipstats init`. Put the study's exports in `data/raw/` (never edit them there),
say how to read them in `hipstats.toml`, then:

```bash
hipstats validate --config hipstats.toml --design program6wk   # every problem, by row and column
hipstats report                                                # notebooks/ -> reports/
hipstats report --check                                        # reproduced? (CI runs this)
```

`requirements.lock` pins hipstats and every package it needs to the versions that render the
report; `.github/workflows/report.yml` installs exactly it
(`python -m pip install --no-deps -r requirements.lock`, then `python -m pip check`) and runs
`hipstats report --check`. `hipstats report` warns when your environment differs from the
lock. After upgrading a package on purpose: `hipstats lock`, `hipstats report`, and commit
`requirements.lock` with `reports/`. If hipstats is not on a package index you can reach,
`hipstats lock --vendor` keeps a wheel of it in `vendor/` (commit it).

`reports/` holds the HTML pages, figures (PNG 300 dpi and PDF), tables (CSV, full
precision) and `manifest.json`. Commit it with the notebooks (without outputs) so a
colleague or CI can check the report reproduces.
'''

#: The study's CI, as a structure (written as YAML by :func:`workflow_yaml`; the test suite
#: runs its ``run:`` steps in order).
def workflow(python: str) -> dict:
    return {
        "name": "report",
        "on": ["push", "pull_request"],
        "jobs": {"check": {
            "runs-on": "ubuntu-latest",
            "steps": [
                {"uses": "actions/checkout@v4"},
                {"uses": "actions/setup-python@v5",
                 "with": {"python-version": python, "cache": "pip",
                          "cache-dependency-path": "requirements.lock"}},
                {"run": INSTALL_CMD},
                {"run": "python -m pip check"},
                {"run": "hipstats report --check"},
            ]}},
    }


def _scalar(v) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(_scalar(x) for x in v) + "]"
    s = str(v)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_@./ -]*", s) and not s.endswith(" ") \
            and s not in ("on", "off", "yes", "no", "true", "false", "null"):
        return s
    return json.dumps(s)


def _emit(obj, indent: int, out: list) -> None:
    pad = " " * indent
    for k, v in obj.items():
        key = _scalar(k) if k != "on" else '"on"'
        if isinstance(v, dict):
            out.append(f"{pad}{key}:")
            _emit(v, indent + 2, out)
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            out.append(f"{pad}{key}:")
            for item in v:
                sub: list = []
                _emit(item, indent + 4, sub)
                out.append(f"{pad}  - " + sub[0].lstrip())
                out.extend(sub[1:])
        else:
            out.append(f"{pad}{key}: {_scalar(v)}")


def workflow_yaml(python: str) -> str:
    """The workflow file: a header comment and :func:`workflow` as YAML."""
    out = ["# Written by `hipstats init`: installs exactly requirements.lock on the Python it was",
           "# made with, then checks that the committed report reproduces.",
           "# After `hipstats lock` on another Python version, edit python-version below."]
    _emit(workflow(python), 0, out)
    return "\n".join(out) + "\n"


GITIGNORE = ".scratch/\n.ipynb_checkpoints/\n.reports.lock\n.*-render-*/\n"


# The package data also holds the generic page (notebooks/design-page.ipynb), rendered by
# `hipstats report` for each design the config declares; the TOML template shows how to
# declare one.


def register(sub) -> None:
    p = sub.add_parser("init", help="scaffold an analysis project (notebooks, config, CI)",
                       description=__doc__.splitlines()[0])
    p.add_argument("dir", help="new project folder")
    add_vendor_option(p)
    p.set_defaults(func=run)


def notebook_templates() -> list:
    """The report notebooks shipped with hipstats (package data)."""
    base = resources.files("hipstats") / "templates" / "notebooks"
    return sorted((p for p in base.iterdir() if p.name.endswith(".ipynb")),
                  key=lambda p: p.name)


def run(args) -> int:
    root = Path(args.dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        print(f"hipstats: error: {root} exists and is not an empty folder; nothing was "
              "written", file=sys.stderr)
        return 2
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    status = write(root, args.vendor, args.wheel)  # first: a failed --vendor leaves nothing behind
    if status is not None:
        if created and not any(root.iterdir()):
            root.rmdir()
        return status
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    for nb in notebook_templates():
        (root / "notebooks" / nb.name).write_bytes(nb.read_bytes())
    (root / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (root / "data" / "raw" / ".gitkeep").write_text("")
    ext = root / "data" / "external"
    ext.mkdir(parents=True, exist_ok=True)
    trials = resources.files("hipstats") / "templates" / "published_trials.csv"
    (ext / "published_trials.csv").write_bytes(trials.read_bytes())
    (root / "hipstats.toml").write_text(TOML, encoding="utf-8")
    (root / "README.md").write_text(README.format(name=root.resolve().name), encoding="utf-8")
    (root / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    wf = root / ".github" / "workflows"
    wf.mkdir(parents=True, exist_ok=True)
    (wf / "report.yml").write_text(workflow_yaml(python_minor()), encoding="utf-8")
    print(f"hipstats init: wrote {root}/ (notebooks, hipstats.toml, data/, README.md, "
          f"requirements.lock, .github/workflows/report.yml). Next: cd {root} && hipstats "
          "report, then commit everything (reports/ too) so CI can check it")
    return 0
