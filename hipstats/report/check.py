"""``hipstats report --check``: what "reproduced" means, on one machine and across machines.

The contract (README, "Reproducibility contract"), in the spirit of testthat snapshot tests
(compare results, numbers with a tolerance) rather than of byte hashes:

* **Drift** (exit 1, each named): an input file changed (notebook, data file, any file a
  notebook parameter ``*_path`` names), a notebook parameter changed, hipstats' version or a
  dependency's version changed, a committed table no longer matches its manifest hash.
* **Results**: every table under ``tables/`` is re-computed and compared cell by cell:
  numbers within ``rtol`` (default 1e-6) / ``atol`` (default 1e-12), text exactly; a
  difference names the table, the 1-based data row, the column, the old and the new value.
* **Pages and figures** are byte-identical on one machine (tested); across machines their
  bytes may differ below reporting precision (PNG anti-aliasing, the last digit of a value
  exactly at a rounding boundary), so byte differences are reported as notes, not failures.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

__all__ = ["compare_tables", "compare_manifests", "CheckResult"]


class CheckResult:
    def __init__(self):
        self.drift: list[str] = []
        self.differences: list[str] = []
        self.notes: list[str] = []
        self.tables_ok = 0
        self.files_identical = 0
        self.files_bytes_differ = 0

    @property
    def ok(self) -> bool:
        return not self.drift and not self.differences


def _read(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _num(s: str):
    try:
        v = float(s)
    except ValueError:
        return None
    return v


def compare_tables(name: str, old: Path, new: Path, rtol: float, atol: float,
                   limit: int = 20) -> list[str]:
    """Cell-by-cell differences between two CSV tables (numbers within tolerance)."""
    a, b = _read(old), _read(new)
    if not a or not b:
        return [] if a == b else [f"table {name}: one version is empty"]
    if a[0] != b[0]:
        return [f"table {name}: columns changed from {a[0]} to {b[0]}"]
    if len(a) != len(b):
        return [f"table {name}: {len(a) - 1} rows before, {len(b) - 1} now"]
    out = []
    header = a[0]
    for i, (ra, rb) in enumerate(zip(a[1:], b[1:]), start=1):
        for j, (x, y) in enumerate(zip(ra, rb)):
            if x == y:
                continue
            vx, vy = _num(x), _num(y)
            if vx is not None and vy is not None:
                if (math.isnan(vx) and math.isnan(vy)) or (
                        math.isfinite(vx) and math.isfinite(vy)
                        and abs(vx - vy) <= atol + rtol * abs(vx)):
                    continue
            col = header[j] if j < len(header) else str(j + 1)
            out.append(f"table {name}, row {i}, column {col!r}: was {x!r}, now {y!r}")
            if len(out) >= limit:
                out.append(f"table {name}: further differences not listed")
                return out
    return out


def compare_manifests(old: dict, new: dict, old_dir: Path, new_dir: Path, rtol: float,
                      atol: float) -> CheckResult:
    """Compare a committed report (``old_dir`` with manifest ``old``) with a fresh render."""
    from hipstats.report.build import sha256_file

    res = CheckResult()
    oi, ni = old.get("inputs", {}), new.get("inputs", {})
    for f in sorted(set(oi) | set(ni)):
        if f not in ni:
            res.drift.append(f"input {f}: in the manifest but not used now")
        elif f not in oi:
            res.drift.append(f"input {f}: used now but not in the manifest")
        elif oi[f] != ni[f]:
            res.drift.append(f"input {f} changed (sha256 {str(oi[f])[:12]} in the manifest, "
                             f"{str(ni[f])[:12]} now)")
    op, np_ = old.get("parameters", {}), new.get("parameters", {})
    for nb in sorted(set(op) | set(np_)):
        a, b = op.get(nb, {}), np_.get(nb, {})
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                res.drift.append(f"parameter {k} of {nb}: {a.get(k)!r} in the manifest, "
                                 f"{b.get(k)!r} now")
    ov, nv = old.get("versions", {}), new.get("versions", {})
    for k in sorted(set(ov) | set(nv)):
        if ov.get(k) != nv.get(k):
            msg = f"version of {k}: {ov.get(k)} in the manifest, {nv.get(k)} now"
            (res.notes if k == "python" else res.drift).append(msg)
    oo, no = old.get("outputs", {}), new.get("outputs", {})
    for f in sorted(set(oo) | set(no)):
        if f not in no:
            res.differences.append(f"{f}: in the manifest but not produced now")
            continue
        if f not in oo:
            res.differences.append(f"{f}: produced now but not in the manifest")
            continue
        if f.startswith("tables/") and f.endswith(".csv"):
            committed = old_dir / f
            if not committed.is_file():
                res.differences.append(f"{f}: missing from {old_dir}")
                continue
            if sha256_file(committed) != oo[f]:
                res.drift.append(f"{f} was edited after rendering (its sha256 differs from "
                                 "the manifest)")
                continue
            diffs = compare_tables(f, committed, new_dir / f, rtol, atol)
            res.differences += diffs
            if not diffs:
                res.tables_ok += 1
        elif oo[f] == no[f]:
            res.files_identical += 1
        else:
            res.files_bytes_differ += 1
            res.notes.append(f"{f} differs in bytes (not compared across machines; its "
                             "tables are compared as numbers)")
    return res
