"""``hipstats report``: execute the notebooks headless and write a reproducible HTML report.

The numbered notebooks (``NN-name.ipynb``) are rendered, and the generic page
(``notebooks/design-page.ipynb``) once for every design the study config declares
(``[design.NAME]`` in hipstats.toml) as ``design-NAME.html``; a bad design table stops the
render before anything runs, naming the file, table and key.

Invalid data stops the render before any notebook runs; a failing notebook exits 1 naming
the notebook, cell and error; the previous ``--out`` stays untouched on any failure.
``--check`` re-renders into a temporary folder and compares with ``--out``: drift of inputs,
parameters or versions and table values beyond ``--rtol``/``--atol`` fail (exit 1); see
:mod:`hipstats.report.check` for the contract. ``--out`` must be new or hold a previous
hipstats report (exit 2 otherwise; nothing is changed).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from hipstats.design import DESIGNS


def register(sub) -> None:
    p = sub.add_parser("report", help="render notebooks/ into an HTML report",
                       description=__doc__.splitlines()[0])
    p.add_argument("--out", default="reports", help="output folder (default: reports/)")
    p.add_argument("--notebooks-dir", default="notebooks", help="folder of numbered notebooks")
    p.add_argument("--data", action="append", default=[], metavar="DESIGN=PATH",
                   help="data file for a design, built-in or declared in hipstats.toml "
                        "(repeatable; default data/raw/DESIGN.csv, else the bundled example)")
    p.add_argument("--notebook", action="append", default=[], metavar="NAME",
                   help="render only this notebook (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel")
    p.add_argument("--show-code", action="store_true", help="keep code cells in the pages")
    p.add_argument("--no-cache", action="store_true", help="re-execute every notebook")
    p.add_argument("--check", action="store_true",
                   help="re-render into a temporary folder and compare with --out/manifest.json")
    p.add_argument("--config", metavar="TOML",
                   help="study config (default: ./hipstats.toml when present): data paths and "
                        "how to read them, per design")
    p.add_argument("--map", action="append", default=None, metavar="SRC=DST",
                   help="for --data files: read column SRC (or wide stem) as DST (repeatable)")
    p.add_argument("--units", nargs="+", action="extend", metavar="COLUMN=UNIT",
                   help="for --data files: units the file holds, e.g. strength=N*m")
    p.add_argument("--analysis-units", nargs="+", action="extend", metavar="COLUMN=UNIT",
                   help="for --data files: units of the results, e.g. strength=N*m/kg")
    p.add_argument("--lever-arm", metavar="M_OR_COLUMN",
                   help="for --data files: lever arm (metres or a column) for force<->torque")
    p.add_argument("--sheet", help="for --data files: Excel sheet")
    p.add_argument("--dictionary", help="for --data files: REDCap data dictionary")
    p.add_argument("--missing", action="append", default=None, metavar="CODE",
                   help="for --data files: a missing-value code (repeatable)")
    p.add_argument("--rtol", type=float, default=1e-6,
                   help="--check: relative tolerance for table values (default 1e-6)")
    p.add_argument("--atol", type=float, default=1e-12,
                   help="--check: absolute tolerance for table values (default 1e-12)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run)


def _declared(config) -> list[str]:
    """Designs declared in --config (or ./hipstats.toml); [] when there is none or it is
    unreadable (the build reports that with the file named)."""
    from hipstats.config import ConfigError, declared_designs

    path = Path(config) if config else Path("hipstats.toml")
    if not path.is_file():
        return []
    try:
        return list(declared_designs(path))
    except ConfigError:
        return []


class _Usage(Exception):
    """A command-line mistake: printed as ``hipstats: error: ...``, exit code 2."""


def _data_files(args) -> dict:
    data = {}
    for item in args.data:
        if "=" not in item:
            raise _Usage(f"--data expects DESIGN=PATH, got {item!r}")
        design, path = item.split("=", 1)
        declared = _declared(args.config)
        if design not in DESIGNS and design not in declared:
            raise _Usage(f"unknown design {design!r} in --data (choose from "
                         f"{sorted(DESIGNS) + declared}, or declare it in hipstats.toml as "
                         f"[design.{design}])")
        data[design] = Path(path)
    return data


def _one_off(args) -> dict:
    """Loading options given on the command line for the --data files."""
    from hipstats.cli.validate_cmd import _lever, _pairs

    one_off = {}
    if args.map:
        one_off["columns"] = _pairs(args.map, "--map", "SRC=DST")
    if args.units:
        one_off["units"] = _pairs(args.units, "--units", "COLUMN=UNIT")
    if args.analysis_units:
        one_off["analysis_units"] = _pairs(args.analysis_units, "--analysis-units",
                                           "COLUMN=UNIT")
    if args.lever_arm is not None:
        one_off["lever_arm"] = _lever(args.lever_arm)
    if args.sheet is not None:
        one_off["sheet"] = args.sheet
    if args.dictionary is not None:
        one_off["dictionary"] = str(Path(args.dictionary).resolve())
    if args.missing:
        one_off["missing"] = list(args.missing)
    return one_off


def _config(args):
    """The report's :class:`~hipstats.report.build.ReportConfig` from the arguments; raises
    :class:`_Usage` on a mistake."""
    from hipstats.report.build import ReportConfig

    data = _data_files(args)
    if args.jobs < 1:
        raise _Usage("--jobs must be at least 1")
    one_off = _one_off(args)
    if one_off and not data:
        raise _Usage("--map/--units/--analysis-units/--lever-arm/--sheet/--dictionary/"
                     "--missing apply to --data files; give --data DESIGN=PATH (or put them "
                     "in hipstats.toml)")
    if args.config is not None and not Path(args.config).is_file():
        raise _Usage(f"--config {args.config}: no such file")
    if not (args.rtol >= 0 and args.atol >= 0):
        raise _Usage("--rtol and --atol must be >= 0")
    return ReportConfig(notebooks_dir=Path(args.notebooks_dir), out=Path(args.out), data=data,
                        config=Path(args.config) if args.config else None,
                        load_kwargs={d: dict(one_off) for d in data} if one_off else {},
                        notebooks=args.notebook, jobs=args.jobs, show_code=args.show_code,
                        use_cache=not args.no_cache, progress=not args.quiet)


def _checked(cfg, args, t0: float) -> int:
    """``--check``: render afresh, compare, say what differs and what to do."""
    from hipstats.report.build import check

    res = check(cfg, rtol=args.rtol, atol=args.atol)
    for n in res.notes:
        print(f"  note: {n}", file=sys.stderr)
    if not res.ok:
        print(f"hipstats report --check: {args.out} is not reproduced "
              f"({len(res.drift)} drift, {len(res.differences)} difference(s)):",
              file=sys.stderr)
        for d in res.drift + res.differences:
            print(f"  - {d}", file=sys.stderr)
        for a in res.advice:
            print(f"  what to do: {a}", file=sys.stderr)
        return 1
    print(f"hipstats report --check: {args.out} reproduced: {res.tables_ok} tables "
          f"agree within rtol={args.rtol:g}, atol={args.atol:g}; "
          f"{res.files_identical} pages/figures identical, {res.files_bytes_differ} "
          f"differ in bytes only ({time.perf_counter() - t0:.1f} s)")
    return 0


def _built(manifest: dict, args, t0: float) -> None:
    recs = manifest.get("_records", {})
    cached = sorted(k for k, v in recs.items() if v.get("cached"))
    ran = sorted(k for k, v in recs.items() if not v.get("cached"))
    if not args.quiet:
        print_page_times(recs)
    print(f"hipstats report: wrote {args.out}/ ({len(manifest['outputs'])} files) in "
          f"{time.perf_counter() - t0:.1f} s; executed {ran or 'none'}"
          + (f", reused cached {cached}" if cached else ""))


def run(args) -> int:
    from hipstats.errors import HipstatsError
    from hipstats.report.build import build
    from hipstats.report.execute import NotebookFailed
    from hipstats.report.outdir import ReportRefused

    try:
        cfg = _config(args)
    except _Usage as exc:
        print(f"hipstats: error: {exc}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    warn_if_not_locked()
    try:
        if args.check:
            return _checked(cfg, args, t0)
        manifest = build(cfg)
    except ReportRefused as exc:
        print(f"hipstats report: error: {exc}", file=sys.stderr)
        return 2
    except NotebookFailed as exc:
        print(f"hipstats report: {exc}; {args.out} was left unchanged", file=sys.stderr)
        return 1
    except HipstatsError as exc:
        if type(exc).__name__ == "HipstatsDataError":
            raise
        print(f"hipstats report: {exc}; {args.out} was left unchanged", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. no permission to create the folder beside --out
        print(f"hipstats report: error: {exc}; {args.out} was left unchanged", file=sys.stderr)
        return 1
    _built(manifest, args, t0)
    return 0


def print_page_times(records: dict) -> None:
    """One line per page: its render time (execution, HTML and Word), or that it was reused
    from the cache."""
    for stem, rec in sorted(records.items()):
        took = "cached" if rec.get("cached") else f"{rec.get('seconds', float('nan')):5.1f} s"
        print(f"  {stem:<32} {took}")


def warn_if_not_locked(root: Path = Path(".")) -> None:
    """One line on stderr when the running environment differs from the study's
    ``requirements.lock`` (only a lock hipstats wrote; nothing when there is none)."""
    from hipstats.studylock import INSTALL_CMD, LOCK_NAME, differences, read_lock

    try:
        lock = read_lock(root / LOCK_NAME)
        if lock is None or not lock.ours:
            return
        diff = differences(lock)
    except Exception as exc:  # the warning must never stop a render
        print(f"hipstats report: warning: could not compare with {LOCK_NAME}: {exc}",
              file=sys.stderr)
        return
    if not diff:
        return
    shown = ", ".join(diff[:6]) + (f" and {len(diff) - 6} more" if len(diff) > 6 else "")
    print(f"hipstats report: warning: this environment differs from {LOCK_NAME}: {shown}; "
          f"install the lock ({INSTALL_CMD}) or, to adopt this environment, run `hipstats "
          "lock`, re-render and commit both", file=sys.stderr)
