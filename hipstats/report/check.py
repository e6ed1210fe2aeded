"""``hipstats report --check``: what "reproduced" means, on one machine and across machines.

The contract (README, "Reproducibility contract"), in the spirit of testthat snapshot tests
(compare results, numbers with a tolerance) rather than of byte hashes:

* **Drift** (exit 1, each named): an input file changed (notebook, data file, any file a
  notebook parameter ``*_path`` names), a notebook parameter changed, hipstats' version or a
  dependency's version changed, a committed table no longer matches its manifest hash.
  Versions are kept from drifting by the study's ``requirements.lock``
  (:mod:`hipstats.studylock`): a version drift says to install the lock, or to move the study
  to the new versions with ``hipstats lock`` and a re-render.
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

from hipstats.report.digest import sha256_file

__all__ = ["compare_tables", "compare_manifests", "CheckResult"]


class CheckResult:
    def __init__(self):
        self.drift: list[str] = []
        self.differences: list[str] = []
        self.notes: list[str] = []
        self.advice: list[str] = []   # what to do about the drift, printed after it
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
    """Cell-by-cell differences between two CSV tables: numbers agree when
    ``|new - old| <= atol + rtol * |old|`` (``numpy.isclose`` with ``old`` as reference; NaN
    equals NaN, infinities must match exactly), text cells must be equal. Rows are 1-based
    data rows (the header is row 0)."""
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
        if len(ra) != len(rb):
            out.append(f"table {name}, row {i}: {len(ra)} cells before, {len(rb)} now")
            continue
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


def _python_minor(v) -> list[str]:
    return str(v).split(".")[:2]


def _restrict(man: dict, stems: set, fallback_inputs: set) -> tuple[dict, dict, dict]:
    """Inputs, parameters and outputs of the notebooks ``stems`` only (``--check
    --notebook``): another notebook's files are neither expected nor compared."""
    nbs = man.get("notebooks", {})
    files, inputs, known = set(), set(), True
    for st in stems:
        rec = nbs.get(st)
        if rec is None:
            continue
        files |= set(rec.get("outputs", []))
        if "inputs" in rec:
            inputs |= set(rec["inputs"])
        else:
            known = False
    if not known:
        inputs |= fallback_inputs
    return ({k: v for k, v in man.get("inputs", {}).items() if k in inputs},
            {k: v for k, v in man.get("parameters", {}).items() if k in stems},
            {k: v for k, v in man.get("outputs", {}).items() if k in files})


def compare_manifests(old: dict, new: dict, old_dir: Path, new_dir: Path, rtol: float,
                      atol: float, only: set | None = None) -> CheckResult:
    """Compare a committed report (``old_dir`` with manifest ``old``) with a fresh render
    (``new_dir``, manifest ``new``); ``only``: compare just these notebooks."""
    res = CheckResult()
    if only:
        oi, op, oo = _restrict(old, only, set(new.get("inputs", {})))
        ni, np_, no = _restrict(new, only, set(new.get("inputs", {})))
        res.notes.append(f"only {sorted(only)} checked; index.html and other notebooks' "
                         "files not compared")
    else:
        oi, op, oo = old.get("inputs", {}), old.get("parameters", {}), old.get("outputs", {})
        ni, np_, no = new.get("inputs", {}), new.get("parameters", {}), new.get("outputs", {})
    for f in sorted(set(oi) | set(ni)):
        if f not in ni:
            res.drift.append(f"input {f}: in the manifest but not used now")
        elif f not in oi:
            res.drift.append(f"input {f}: used now but not in the manifest")
        elif oi[f] != ni[f]:
            res.drift.append(f"input {f} changed (sha256 {str(oi[f])[:12]} in the manifest, "
                             f"{str(ni[f])[:12]} now)")
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
            patch_only = (k == "python" and ov.get(k) and nv.get(k)
                          and _python_minor(ov[k]) == _python_minor(nv[k]))
            (res.notes if patch_only else res.drift).append(msg)
    if any(d.startswith("version of ") for d in res.drift):
        res.advice.append(
            "the environment differs from the one that rendered the report: install the "
            "study's lock (python -m pip install --no-deps -r requirements.lock); or, to move "
            "the study to this environment, run `hipstats lock` and `hipstats report` and "
            "commit requirements.lock with reports/")
    os_, ns_ = old.get("hipstats_source"), new.get("hipstats_source")
    if os_ and ns_ and os_ != ns_:
        res.notes.append(f"hipstats source differs from the one that rendered (sha256 "
                         f"{os_[:12]} in the manifest, {ns_[:12]} now); not drift: the "
                         "version is compared, and results as numbers")
    owner = {f: st for st, rec in new.get("notebooks", {}).items() for f in rec["outputs"]}
    bad_tables: set = set()
    files = []
    for f in sorted(set(oo) | set(no)):
        if f not in no:
            res.differences.append(f"{f}: in the manifest but not produced now")
        elif f not in oo:
            res.differences.append(f"{f}: produced now but not in the manifest")
        elif f.startswith("tables/") and f.endswith(".csv"):
            committed = old_dir / f
            ok = False
            if not committed.is_file():
                res.differences.append(f"{f}: missing from {old_dir}")
            elif sha256_file(committed) != oo[f]:
                res.drift.append(f"{f} was edited after rendering (its sha256 differs from "
                                 "the manifest)")
            else:
                diffs = compare_tables(f, committed, new_dir / f, rtol, atol)
                res.differences += diffs
                ok = not diffs
            if ok:
                res.tables_ok += 1
            else:
                bad_tables.add(owner.get(f))
        else:
            files.append(f)
    for f in files:
        if oo[f] == no[f]:
            res.files_identical += 1
            continue
        res.files_bytes_differ += 1
        kind = "page" if f.endswith(".html") else "figure" if f.startswith("figures/") else "file"
        st = owner.get(f)
        if st is None:
            tail = "not compared across machines"
        elif st in bad_tables:
            tail = f"the tables of {st} differ (listed above)"
        else:
            tail = f"the tables of {st} agree within tolerance"
        res.notes.append(f"{kind} {f} differs in bytes; {tail}")
    return res
