"""``hipstats simulate DESIGN``: write a synthetic cohort (same seed, same bytes)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hipstats.design import DESIGNS

FORMATS = ("csv", "tsv", "xlsx", "parquet", "feather", "sav", "dta", "redcap")


def register(sub) -> None:
    p = sub.add_parser("simulate", help="write a synthetic cohort for a design",
                       description=__doc__.splitlines()[0])
    p.add_argument("design", nargs="?", choices=sorted(DESIGNS))
    p.add_argument("--n", type=int, help="subjects (program6wk) or PFPS runners (pfps3wk)")
    p.add_argument("--n-control", type=int, help="controls (pfps3wk)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: the bundled example's seed)")
    p.add_argument("--out", help="output file (default: CSV on standard output)")
    p.add_argument("--layout", choices=("long", "wide"), default="long")
    p.add_argument("--format", choices=FORMATS, help="default: from the --out extension")
    p.add_argument("--bundle", metavar="FOLDER",
                   help="write both example cohorts and datapackage.json into FOLDER")
    p.set_defaults(func=run)


def _file_rows(frame, design):
    from hipstats.synthetic import example_file_rows

    return example_file_rows(frame, design)


def run(args) -> int:
    from hipstats.io.writers import write
    from hipstats.synthetic import EXAMPLE_SEEDS, datapackage, simulate_cohort

    if args.bundle:
        folder = Path(args.bundle)
        (folder / "raw").mkdir(parents=True, exist_ok=True)
        resources = {}
        for name, seed in sorted(EXAMPLE_SEEDS.items()):
            rel = f"raw/{name}.csv"
            write(_file_rows(simulate_cohort(name, seed=seed), name), folder / rel, name)
            resources[name] = rel
        (folder / "datapackage.json").write_text(
            json.dumps(datapackage(resources), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {len(resources)} cohorts and datapackage.json to {folder}", file=sys.stderr)
        return 0
    if args.design is None:
        print("hipstats: error: give a DESIGN (or --bundle FOLDER)", file=sys.stderr)
        return 2
    seed = EXAMPLE_SEEDS[args.design] if args.seed is None else args.seed
    if args.n is not None and args.n < 2:
        print("hipstats: error: --n must be at least 2", file=sys.stderr)
        return 2
    frame = _file_rows(simulate_cohort(args.design, n=args.n, seed=seed,
                                       n_control=args.n_control), args.design)
    if not args.out:
        from hipstats.io.writers import to_wide

        out = to_wide(frame, args.design) if args.layout == "wide" else frame.drop(
            columns=["lsi"], errors="ignore")
        out.to_csv(sys.stdout, index=False, float_format="%.10g", lineterminator="\n")
        return 0
    if args.format is None and Path(args.out).suffix.lower() not in (
            ".csv", ".tsv", ".xlsx", ".parquet", ".feather", ".sav", ".dta"):
        print("hipstats: error: cannot tell the format from --out; give --format",
              file=sys.stderr)
        return 2
    files = write(frame, args.out, args.design, layout=args.layout, fmt=args.format)
    print("wrote " + ", ".join(str(f) for f in files), file=sys.stderr)
    return 0
