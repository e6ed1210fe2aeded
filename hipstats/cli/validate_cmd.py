"""``hipstats validate PATH --design NAME``: check a trial file, report every problem.

Exit status 0 when valid, 1 when invalid, 2 for usage errors.
"""

from __future__ import annotations

import json
import sys

from hipstats.design import DESIGNS


def parse_units(pairs: list[str] | None) -> dict:
    """``["strength=kgf", "pain_vas=mm"]`` -> dict; raises SystemExit(2) on bad syntax."""
    out = {}
    for p in pairs or []:
        if "=" not in p:
            print(f"hipstats: error: --units expects COLUMN=UNIT, got {p!r}", file=sys.stderr)
            raise SystemExit(2)
        k, v = p.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def register(sub) -> None:
    p = sub.add_parser("validate", help="check a trial file against a design",
                       description=__doc__.splitlines()[0])
    p.add_argument("path", help="CSV/TSV, Excel, Parquet, SPSS or REDCap export")
    p.add_argument("--design", required=True, choices=sorted(DESIGNS),
                   help="study design the file should follow")
    p.add_argument("--units", nargs="*", metavar="COLUMN=UNIT",
                   help="declared units, e.g. strength=kgf pain_vas=mm")
    p.add_argument("--dictionary", help="REDCap data dictionary (CSV)")
    p.add_argument("--sheet", help="Excel sheet name (default: first sheet)")
    p.add_argument("--lever-arm", type=float, help="lever arm in m for torque units")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from hipstats.validation import validate

    report = validate(args.path, args.design, units=parse_units(args.units),
                      sheet=args.sheet, dictionary=args.dictionary, lever_arm=args.lever_arm)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    else:
        print(report.summary(), file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1
