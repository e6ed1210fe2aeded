"""Loading 1,000,000 long rows (250,000 subjects x 4 visits) from CSV, Stata .dta, Parquet
and Feather: wall time and peak memory (each in its own process), values checked against
the frame written. Bar (issue 19): under 20 s and 1 GB each."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

_CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
import hipstats
path, expect = sys.argv[1], sys.argv[2]
t = time.perf_counter()
df = hipstats.load(path, "program6wk", units={"strength": "N/kg"})
dt = time.perf_counter() - t
ref = pd.read_parquet(expect)
ok = (len(df) == len(ref)
      and np.allclose(df["strength"].to_numpy(), ref["strength"].to_numpy(), rtol=0, atol=1e-12)
      and np.array_equal(df["function_score"].to_numpy(), ref["function_score"].to_numpy()))
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": dt, "peak_mb": rss, "rows": len(df), "agree": bool(ok)}))
"""


def _cohort(n_subjects: int) -> pd.DataFrame:
    rng = np.random.default_rng(19)
    weeks = np.tile([0, 2, 4, 6], n_subjects)
    subj = np.repeat([f"S{i:07d}" for i in range(n_subjects)], 4)
    strength = np.round(rng.normal(2.0, 0.3, len(weeks)) + 0.05 * weeks, 3).clip(0.1, 9.9)
    lefs = rng.integers(20, 80, len(weeks)).astype(float)
    return pd.DataFrame({"subject": subj, "week": weeks, "strength": strength,
                         "function_score": lefs})


def main(quick: bool = False) -> None:
    import pyreadstat

    n_sub = 25_000 if quick else 250_000
    d = _cohort(n_sub)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        expect = tmp / "expect.parquet"
        d.sort_values(["subject", "week"]).to_parquet(expect)
        files = {"csv": tmp / "long.csv", "dta": tmp / "long.dta",
                 "parquet": tmp / "long.parquet", "feather": tmp / "long.feather"}
        d.to_csv(files["csv"], index=False)
        pyreadstat.write_dta(d, str(files["dta"]))
        d.to_parquet(files["parquet"])
        d.to_feather(files["feather"])
        print(f"{'format':>8} {'rows':>9} {'seconds':>8} {'peak MB':>8}  agree")
        for fmt, path in files.items():
            t = time.perf_counter()
            res = subprocess.run([sys.executable, "-c", _CHILD, str(path), str(expect)],
                                 capture_output=True, text=True, check=False)
            if res.returncode:
                raise AssertionError(f"{fmt}: {res.stderr.strip().splitlines()[-1]}")
            r = json.loads(res.stdout.strip().splitlines()[-1])
            print(f"{fmt:>8} {r['rows']:>9,} {r['seconds']:>8.2f} {r['peak_mb']:>8.0f}  "
                  f"{r['agree']}  (process {time.perf_counter() - t:.1f} s)", flush=True)
            assert r["agree"], f"{fmt}: loaded values differ from the frame written"
            if not quick:
                assert r["seconds"] < 20 and r["peak_mb"] < 1024, f"{fmt}: over the bar {r}"


if __name__ == "__main__":
    main("--quick" in sys.argv)
