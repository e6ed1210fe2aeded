"""``hipstats init DIR``: scaffold an analysis project for someone who installed hipstats.

Writes the three report notebooks (shipped as package data), a ``hipstats.toml`` saying how
to read the study's files, ``data/raw/`` (raw data is immutable: put exports there),
``data/external/`` with the trial summaries notebook 03 pools, a README, a ``.gitignore``
and a CI workflow that runs ``hipstats report --check``. Never overwrites: an existing
non-empty DIR is refused (exit 2).
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

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
# it. Instruments: vas, nprs, akps (kujala), lefs, koos_pf, womac, womac_vas (label, range,
# direction and MCID with its source; any of them can be overridden on the measure).
#
# [design.mytrial]
# time = "week"
# timepoints = [0, 1, 2, 3, 4, 5, 6]      # numbers or labels, e.g. ["pre", "post"]
# groups = ["HIP", "KNEE"]                # omit for a one-group study
# reference = "KNEE"                      # comparator arm (default: the last group)
# baseline = 0                            # default: the first timepoint
# primary = { outcome = "pain_vas", strength = "strength" }
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
'''

README = '''# {name}: hip-abductor strength, pain and function analysis

Made with `hipstats init`. Put the study's exports in `data/raw/` (never edit them there),
say how to read them in `hipstats.toml`, then:

```bash
hipstats validate --config hipstats.toml --design program6wk   # every problem, by row and column
hipstats report                                                # notebooks/ -> reports/
hipstats report --check                                        # reproduced? (CI runs this)
```

`reports/` holds the HTML pages, figures (PNG 300 dpi and PDF), tables (CSV, full
precision) and `manifest.json`. Commit it with the notebooks (without outputs) so a
colleague or CI can check the report reproduces.
'''

WORKFLOW = '''name: report
on: [push, pull_request]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - run: pip install hipstats=={version}
      - run: hipstats report --check
'''

GITIGNORE = ".scratch/\n.ipynb_checkpoints/\n.reports.lock\n.*-render-*/\n"


# The package data also holds the generic page (notebooks/design-page.ipynb), rendered by
# `hipstats report` for each design the config declares; the TOML template shows how to
# declare one.


def register(sub) -> None:
    p = sub.add_parser("init", help="scaffold an analysis project (notebooks, config, CI)",
                       description=__doc__.splitlines()[0])
    p.add_argument("dir", help="new project folder")
    p.set_defaults(func=run)


def notebook_templates() -> list:
    """The report notebooks shipped with hipstats (package data)."""
    base = resources.files("hipstats") / "templates" / "notebooks"
    return sorted((p for p in base.iterdir() if p.name.endswith(".ipynb")),
                  key=lambda p: p.name)


def run(args) -> int:
    import hipstats

    root = Path(args.dir)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        print(f"hipstats: error: {root} exists and is not an empty folder; nothing was "
              "written", file=sys.stderr)
        return 2
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
    (wf / "report.yml").write_text(WORKFLOW.format(version=hipstats.__version__),
                                   encoding="utf-8")
    print(f"hipstats init: wrote {root}/ (notebooks, hipstats.toml, data/, README.md, "
          f".github/workflows/report.yml). Next: cd {root} && hipstats report")
    return 0
