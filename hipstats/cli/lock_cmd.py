"""``hipstats lock``: rewrite the study's ``requirements.lock`` from the running environment.

The lock pins hipstats and every package it needs to the versions installed here, sorted; the
study's CI installs exactly it (``python -m pip install --no-deps -r requirements.lock``) before
``hipstats report --check``. Run it after you upgrade a package, then ``hipstats report`` and
commit the lock and ``reports/`` together. ``--vendor`` copies a wheel of the running hipstats
into ``vendor/`` (the wheel it was installed from, ``--wheel WHL``, or one built from the
source folder of an editable install) and names it in the lock, for a hipstats no package
index has. Only ``requirements.lock`` (and with
``--vendor`` the wheel in ``vendor/``) is written; a ``requirements.lock`` hipstats did not
write is refused (exit 2).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

WORKFLOW = Path(".github") / "workflows" / "report.yml"


def register(sub) -> None:
    p = sub.add_parser("lock", help="rewrite the study's requirements.lock from this environment",
                       description=__doc__.splitlines()[0])
    p.add_argument("dir", nargs="?", default=".", help="the study folder (default: .)")
    add_vendor_option(p)
    p.set_defaults(func=run)


def add_vendor_option(p) -> None:
    p.add_argument("--vendor", action="store_true",
                   help="copy a wheel of the running hipstats into vendor/ and name it in the "
                        "lock (the wheel it was installed from, or one built from its source)")
    p.add_argument("--wheel", metavar="WHL",
                   help="with --vendor: the wheel of the running hipstats to copy")


def workflow_python(root: Path) -> str | None:
    """The ``python-version`` the study's workflow pins (None without one)."""
    wf = root / WORKFLOW
    if not wf.is_file():
        return None
    m = re.search(r'python-version:\s*"?([0-9][0-9.]*)"?', wf.read_text(encoding="utf-8"))
    return m.group(1) if m else None


def python_minor() -> str:
    return ".".join(map(str, sys.version_info[:2]))


def write(root: Path, vendor: bool, wheel: str | None = None) -> int | None:
    """Write the lock; print what was written and every warning. Returns an exit status on
    failure, None on success."""
    from hipstats.studylock import LockRefused, write_lock

    try:
        res = write_lock(root, vendor=vendor, wheel=wheel)
    except LockRefused as exc:
        print(f"hipstats: error: {exc}", file=sys.stderr)
        return exc.code
    for w in res.warnings:
        print(f"hipstats: warning: {w}", file=sys.stderr)
    named = res.provenance.requirement
    print(f"hipstats: wrote {res.path} ({res.packages} packages; hipstats "
          f"{res.provenance.version} " + (f"as {named}" if named else "NOT named") + ")")
    wf_py = workflow_python(root)
    if wf_py is not None and wf_py.split(".")[:2] != python_minor().split("."):
        print(f"hipstats: warning: {root / WORKFLOW} sets up Python {wf_py} but this lock was "
              f"made with Python {python_minor()}: edit its python-version", file=sys.stderr)
    return None


def run(args) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        print(f"hipstats: error: {root} is not a folder", file=sys.stderr)
        return 2
    if not ((root / "notebooks").is_dir() or (root / "hipstats.toml").is_file()):
        print(f"hipstats: error: {root.resolve()} is not a study (no notebooks/ or "
              "hipstats.toml); run `hipstats lock` in the folder `hipstats init` made, or give "
              "it: hipstats lock STUDY_DIR", file=sys.stderr)
        return 2
    status = write(root, args.vendor, args.wheel)
    if status is not None:
        return status
    print("Next: hipstats report (re-render in this environment), then commit requirements.lock "
          "and reports/ together")
    return 0
