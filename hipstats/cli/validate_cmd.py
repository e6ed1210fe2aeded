"""``hipstats validate PATH --design NAME``: check a trial file, report every problem.

Options say how to read the file: ``--map SRC=DST`` (repeatable) maps a file column (or
the stem of wide columns) to a design name; ``--units strength=N*m`` says what the file
holds, ``--analysis-units strength=N*m/kg`` what results are in; ``--lever-arm`` is a
column name or metres; ``--config hipstats.toml`` reads all of these (and the path) from
the study config's ``[data.<design>]`` table, flags overriding it.

Exit status 0 when valid, 1 when invalid, 2 for usage errors.
"""

from __future__ import annotations

import json
import sys

from hipstats.design import DESIGNS


def _pairs(pairs: list[str] | None, flag: str, what: str) -> dict:
    out = {}
    for p in pairs or []:
        if "=" not in p or not p.split("=", 1)[0].strip() or not p.split("=", 1)[1].strip():
            print(f"hipstats: error: {flag} expects {what}, got {p!r}", file=sys.stderr)
            raise SystemExit(2)
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_units(pairs: list[str] | None) -> dict:
    """``["strength=kgf", "pain_vas=mm"]`` -> dict; raises SystemExit(2) on bad syntax."""
    return _pairs(pairs, "--units", "COLUMN=UNIT")


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a trial file against a design",
                       description=__doc__.splitlines()[0])
    p.add_argument("path", nargs="?",
                   help="CSV/TSV, Excel, Parquet, Feather, SPSS, Stata, SAS or REDCap export "
                        "(default: the path in --config)")
    p.add_argument("--design", required=True, metavar="NAME",
                   help=f"study design the file should follow: {', '.join(sorted(DESIGNS))} "
                        "or one declared in --config ([design.NAME])")
    p.add_argument("--config", metavar="TOML",
                   help="study config (hipstats.toml) with a [data.DESIGN] table")
    p.add_argument("--map", action="append", default=None, metavar="SRC=DST",
                   help="read file column SRC (or wide stem) as design column DST "
                        "(repeatable), e.g. --map hip_abd_torque_nm=strength")
    p.add_argument("--units", nargs="+", action="extend", metavar="COLUMN=UNIT",
                   help="units the file holds, e.g. strength=kgf pain_vas=mm (repeatable)")
    p.add_argument("--analysis-units", nargs="+", action="extend", metavar="COLUMN=UNIT",
                   help="units of the results, e.g. strength=N*m/kg (repeatable)")
    p.add_argument("--dictionary", help="REDCap data dictionary (CSV)")
    p.add_argument("--sheet", help="Excel sheet name (default: the first visible sheet with a "
                   "subject column; hidden sheets only when named)")
    p.add_argument("--lever-arm", metavar="M_OR_COLUMN",
                   help="lever arm for force<->torque: metres, or the name of a column")
    p.add_argument("--missing", action="append", default=None, metavar="CODE",
                   help="a code read as a missing cell, e.g. -99 (repeatable)")
    p.add_argument("--visit-dates", metavar="COLUMN[:DAYS]",
                   help="visits recorded as dates in COLUMN, placed on the design's schedule "
                        "within +/-DAYS (default 3) of each subject's first date")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def _lever(value):
    if value is None:
        return None
    try:
        x = float(value)
    except ValueError:
        return value
    if not x > 0:
        print(f"hipstats: error: --lever-arm must be a positive number of metres or a column "
              f"name, got {value!r}", file=sys.stderr)
        raise SystemExit(2)
    return x


def _visit_dates(value):
    if value is None:
        return None
    col, _, days = value.rpartition(":") if ":" in value else (value, "", "")
    try:
        return {"column": col, "window_days": float(days) if days else 3}
    except ValueError:
        print(f"hipstats: error: --visit-dates takes COLUMN or COLUMN:DAYS, got {value!r}",
              file=sys.stderr)
        raise SystemExit(2) from None


def run(args) -> int:
    from hipstats.validation import validate

    if args.path is None and args.config is None:
        print("hipstats: error: give PATH or --config TOML", file=sys.stderr)
        return 2
    if args.config is None and args.design not in DESIGNS:
        print(f"hipstats: error: unknown design {args.design!r}: built-in designs are "
              f"{', '.join(sorted(DESIGNS))}; declare your own in hipstats.toml "
              f"([design.{args.design}]) and pass --config", file=sys.stderr)
        return 2
    try:
        columns = _pairs(args.map, "--map", "SRC=DST") or None
        units = parse_units(args.units) or None
        analysis = _pairs(args.analysis_units, "--analysis-units", "COLUMN=UNIT") or None
        lever = _lever(args.lever_arm)
        vdates = _visit_dates(args.visit_dates)
    except SystemExit as exc:  # a usage error, already printed
        return int(exc.code)
    report = validate(args.path, args.design, columns=columns, units=units,
                      analysis_units=analysis, sheet=args.sheet, dictionary=args.dictionary,
                      lever_arm=lever, missing=args.missing, visit_dates=vdates,
                      config=args.config)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
