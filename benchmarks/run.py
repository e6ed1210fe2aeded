"""`make bench`: run every benchmarks/bench_*.py (its main()) and print their tables.

Each benchmark measures hipstats and the reference tool in the same run, prints the ratio,
and checks that the compared results agree. ``--quick`` uses smaller sizes.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes")
    ap.add_argument("names", nargs="*", help="run only these (e.g. rm_corr)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    failed = 0
    for path in sorted(HERE.glob("bench_*.py")):
        name = path.stem.removeprefix("bench_")
        if args.names and name not in args.names:
            continue
        print(f"\n=== {name} ===", flush=True)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        t0 = time.perf_counter()
        try:
            mod.main(quick=args.quick)
        except AssertionError as exc:
            failed += 1
            print(f"RESULTS DISAGREE: {exc}", flush=True)
        print(f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
