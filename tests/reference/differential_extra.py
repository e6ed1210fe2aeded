"""Keep the data sets of a held-out differential batch that once found a defect.

A fresh batch (``DIFF_SEED=777``; see ``differential_data.py``) found four kinds of misses
that the committed batch did not: two local optima (d123), and optima on the boundary at
the end of a flat valley (d053, d164, d202), plus sets where R's optimisers disagree (d019,
d118, d149, d165, d194). Those data sets and R's answers for them are kept here, renamed
``h777-dNNN``, and replayed with the committed batch by ``tests/test_differential.py``.

Run from the repo root after the R script on the held-out batch::

    DIFF_SEED=777 DIFF_DIR=/tmp/heldout .venv/bin/python tests/reference/differential_data.py
    DIFF_DIR=/tmp/heldout DIFF_OUT=/tmp/heldout/differential.json \\
        Rscript tests/reference/differential.R
    DIFF_DIR=/tmp/heldout .venv/bin/python tests/reference/differential_extra.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

KEEP = ["d019", "d053", "d118", "d123", "d149", "d164", "d165", "d194", "d202"]
PREFIX = "h777-"
HERE = Path(__file__).resolve().parent


def main() -> None:
    src = Path(os.environ["DIFF_DIR"])
    ref = json.loads((src / "differential.json").read_text())
    data = pd.read_csv(src / "datasets.csv", dtype=str, keep_default_na=False)
    data = data[data["dataset"].isin(KEEP)].copy()
    data["dataset"] = PREFIX + data["dataset"]
    out = HERE / "data" / "differential_extra"
    out.mkdir(parents=True, exist_ok=True)
    data.to_csv(out / "datasets.csv", index=False, lineterminator="\n")
    kept = {"source": "differential.R on the DIFF_SEED=777 batch, data sets " + ", ".join(KEEP),
            "r_version": ref.get("r_version"), "packages": ref.get("packages"),
            "datasets": {PREFIX + k: ref["datasets"][k] for k in KEEP}}
    (HERE / "differential_extra.json").write_text(json.dumps(kept, indent=1, sort_keys=True)
                                                  + "\n")
    print(f"{len(KEEP)} data sets, {len(data)} rows -> {out}")


if __name__ == "__main__":
    main()
