"""Keep the data sets of held-out differential batches that once found a defect.

A fresh batch (``DIFF_SEED=777``; see ``differential_data.py``) found four kinds of misses
that the committed batch did not: two local optima (d123), and optima on the boundary at
the end of a flat valley (d053, d164, d202), plus sets where R's optimisers disagree (d019,
d118, d149, d165, d194). ``DIFF_SEED=9001`` found a fit stopped short along a flat,
quartic-like valley, by hipstats (a polish on a fixed Hessian) and by all four of R's
optimisers (d130: Satterthwaite df 1.8e-3 apart). Those data sets and R's answers for them
are kept here, renamed ``h<seed>-dNNN``, and replayed with the committed batch by
``tests/test_differential.py``.

Run from the repo root after the R script on each held-out batch::

    DIFF_SEED=777 DIFF_DIR=/tmp/h777 .venv/bin/python tests/reference/differential_data.py
    DIFF_DIR=/tmp/h777 DIFF_OUT=/tmp/h777/differential.json \\
        Rscript tests/reference/differential.R
    (the same for 9001 in /tmp/h9001)
    .venv/bin/python tests/reference/differential_extra.py 777=/tmp/h777 9001=/tmp/h9001
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

KEEP = {"777": ["d019", "d053", "d118", "d123", "d149", "d164", "d165", "d194", "d202"],
        "9001": ["d130"]}
HERE = Path(__file__).resolve().parent


def main(args: list[str]) -> None:
    dirs = dict(a.split("=", 1) for a in args)
    if sorted(dirs) != sorted(KEEP):
        raise SystemExit(f"usage: differential_extra.py {' '.join(k + '=DIR' for k in KEEP)}")
    frames, sets, ref = [], {}, {}
    for seed, keep in KEEP.items():
        src = Path(dirs[seed])
        ref = json.loads((src / "differential.json").read_text())
        data = pd.read_csv(src / "datasets.csv", dtype=str, keep_default_na=False)
        data = data[data["dataset"].isin(keep)].copy()
        data["dataset"] = f"h{seed}-" + data["dataset"]
        frames.append(data)
        sets.update({f"h{seed}-{k}": ref["datasets"][k] for k in keep})
    data = pd.concat(frames, ignore_index=True)
    out = HERE / "data" / "differential_extra"
    out.mkdir(parents=True, exist_ok=True)
    data.to_csv(out / "datasets.csv", index=False, lineterminator="\n")
    kept = {"source": "differential.R on held-out batches: " + "; ".join(
                f"DIFF_SEED={seed}: {', '.join(keep)}" for seed, keep in KEEP.items()),
            "r_version": ref.get("r_version"), "packages": ref.get("packages"),
            "datasets": sets}
    (HERE / "differential_extra.json").write_text(json.dumps(kept, indent=1, sort_keys=True)
                                                  + "\n")
    print(f"{len(sets)} data sets, {len(data)} rows -> {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
