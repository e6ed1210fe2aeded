"""Build the report folder: validate data, execute notebooks (or reuse cached results),
write HTML pages, figures, tables and ``manifest.json``, then swap the folder in atomically.

Reproducibility: notebooks run with fixed seeds (a parameter), ``SOURCE_DATE_EPOCH=0`` and
``PYTHONHASHSEED=0``; figures are saved with fixed metadata; execution timestamps are not
recorded; HTML pages are rendered without input prompts or dates. Two runs on the same inputs
give byte-identical files, and ``--check`` verifies that against the manifest.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hipstats.errors import HipstatsDataError, HipstatsError

__all__ = ["ReportConfig", "build", "check", "NOTEBOOK_DESIGNS", "ReportFailed"]

#: Which design's data each numbered notebook reads (parameter ``data_path``).
NOTEBOOK_DESIGNS = {"01-strength-and-function": "program6wk", "02-pfps-pain": "pfps3wk",
                    "03-evidence": None}
KEY_PACKAGES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn", "nbclient",
                "nbconvert", "nbformat", "patsy", "pandera")


class ReportFailed(HipstatsError):
    """Rendering failed; the previous report was left untouched."""


@dataclass
class ReportConfig:
    notebooks_dir: Path = Path("notebooks")
    out: Path = Path("reports")
    data: dict = field(default_factory=dict)  # design -> path
    notebooks: list = field(default_factory=list)  # names; empty = all
    jobs: int = 1
    show_code: bool = False
    seed: int = 20261125
    alpha: float = 0.05
    use_cache: bool = True
    progress: bool = True


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _source_hash() -> str:
    """Hash of the hipstats package source: a code change invalidates the cache."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(str(p.relative_to(root)).encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import hipstats

    out = {"hipstats": hipstats.__version__, "python": sys.version.split()[0]}
    for name in KEY_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _notebooks(cfg: ReportConfig) -> list[Path]:
    all_nbs = sorted(cfg.notebooks_dir.glob("[0-9][0-9]-*.ipynb"))
    if not all_nbs:
        raise ReportFailed(f"no numbered notebooks (NN-name.ipynb) in {cfg.notebooks_dir}")
    if not cfg.notebooks:
        return all_nbs
    chosen = []
    for name in cfg.notebooks:
        hit = [p for p in all_nbs if p.stem == name or p.stem.startswith(name + "-")
               or p.name == name]
        if not hit:
            raise ReportFailed(f"no notebook {name!r}; available: {[p.stem for p in all_nbs]}")
        chosen += hit
    return sorted(set(chosen))


def _validate_inputs(cfg: ReportConfig, nbs: list[Path]) -> dict:
    """Validate every data file before any notebook runs; return design -> path."""
    from hipstats.validation import validate

    needed = {NOTEBOOK_DESIGNS.get(p.stem) for p in nbs} - {None}
    paths = {}
    problems = []
    for design in sorted(needed):
        path = cfg.data.get(design)
        if path is None:
            default = Path("data") / "raw" / f"{design}.csv"
            path = default if default.exists() else None
        if path is not None:
            rep = validate(path, design)
            if not rep.ok:
                problems += rep.problems
            paths[design] = str(Path(path).resolve())
        else:
            paths[design] = None
    unknown = sorted(set(cfg.data) - set(NOTEBOOK_DESIGNS.values()))
    if unknown:
        raise ReportFailed(f"--data names unknown design(s) {unknown}")
    if problems:
        raise HipstatsDataError(problems)
    return paths


def _params(cfg: ReportConfig, nb: Path, data_paths: dict, tmp: Path) -> dict:
    design = NOTEBOOK_DESIGNS.get(nb.stem)
    p = {"figures_dir": str(tmp / "figures"), "tables_dir": str(tmp / "tables"),
         "seed": cfg.seed, "alpha": cfg.alpha}
    if design:
        p["data_path"] = data_paths.get(design)
    return p


def _cache_key(nb: Path, params: dict, data_paths: dict, src_hash: str) -> str:
    h = hashlib.sha256()
    h.update(nb.read_bytes())
    stable = {k: v for k, v in params.items() if not k.endswith("_dir")}
    h.update(json.dumps(stable, sort_keys=True).encode())
    for design, path in sorted(data_paths.items()):
        if path and design == NOTEBOOK_DESIGNS.get(nb.stem):
            h.update(sha256_file(Path(path)).encode())
    h.update(src_hash.encode())
    h.update(json.dumps(versions(), sort_keys=True).encode())
    return h.hexdigest()


def _html(nb, show_code: bool) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _render_one(nb_path: Path, params: dict, tmp: Path, show_code: bool) -> list[str]:
    """Execute a notebook and write its page; return the relative paths it produced."""
    import nbformat

    from hipstats.report.execute import execute_notebook, inject_parameters

    before = {p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()}
    nb = nbformat.read(nb_path, as_version=4)
    nb = inject_parameters(nb, params)
    nb = execute_notebook(nb, nb_path.stem, workdir=str(nb_path.parent.resolve()))
    page = tmp / f"{nb_path.stem}.html"
    page.write_text(_html(nb, show_code), encoding="utf-8")
    after = {p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()}
    return sorted(after - before)


def _index(entries: list[tuple[str, str]], manifest_versions: dict) -> str:
    items = "\n".join(f'<li><a href="{html.escape(page)}">{html.escape(title)}</a></li>'
                      for title, page in entries)
    ver = html.escape(", ".join(f"{k} {v}" for k, v in sorted(manifest_versions.items())))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>hipstats report</title>\n<style>body{font-family:sans-serif;max-width:46em;"
            "margin:2em auto;line-height:1.5}</style>\n</head>\n<body>\n<h1>hipstats report</h1>\n"
            "<p>Rendered by <code>hipstats report</code> from the notebooks in "
            "<code>notebooks/</code>. Figures (PNG 300 dpi and PDF) are in <code>figures/</code>, "
            "tables in <code>tables/</code>, checksums in <code>manifest.json</code>.</p>\n"
            f"<ul>\n{items}\n</ul>\n<p><small>{ver}</small></p>\n</body>\n</html>\n")


def _title(nb_path: Path) -> str:
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return nb_path.stem


def _render_all(cfg: ReportConfig, tmp: Path, previous: dict | None, old_out: Path | None):
    from hipstats.progress import track

    nbs = _notebooks(cfg)
    data_paths = _validate_inputs(cfg, nbs)
    src_hash = _source_hash()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "0")
    os.environ["PYTHONHASHSEED"] = "0"
    (tmp / "figures").mkdir(parents=True, exist_ok=True)
    (tmp / "tables").mkdir(parents=True, exist_ok=True)
    prev_nbs = (previous or {}).get("notebooks", {})
    records = {}
    todo = []
    for nb in nbs:
        params = _params(cfg, nb, data_paths, tmp)
        key = _cache_key(nb, params, data_paths, src_hash)
        prev = prev_nbs.get(nb.stem)
        reusable = (cfg.use_cache and prev and prev.get("cache_key") == key and old_out
                    and all((old_out / f).is_file() and sha256_file(old_out / f)
                            == (previous["outputs"].get(f)) for f in prev["outputs"]))
        if reusable:
            for f in prev["outputs"]:
                dst = tmp / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(old_out / f, dst)
            records[nb.stem] = {"cache_key": key, "outputs": list(prev["outputs"]),
                                "cached": True}
        else:
            todo.append((nb, params, key))

    def run(item):
        nb, params, key = item
        nb_tmp = tmp / ".work" / nb.stem
        nb_tmp.mkdir(parents=True, exist_ok=True)
        params = dict(params, figures_dir=str(nb_tmp / "figures"),
                      tables_dir=str(nb_tmp / "tables"))
        _render_one(nb, params, nb_tmp, cfg.show_code)
        produced = []
        for p in sorted(nb_tmp.rglob("*")):
            if p.is_file():
                rel = p.relative_to(nb_tmp).as_posix()
                dst = tmp / rel
                if dst.exists():
                    raise ReportFailed(f"notebook {nb.stem} overwrote {rel}, written by another "
                                       "notebook; give figures unique names")
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(p), dst)
                produced.append(rel)
        return nb.stem, {"cache_key": key, "outputs": sorted(produced), "cached": False}

    jobs = max(1, int(cfg.jobs))
    if todo:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for stem, rec in track(pool.map(run, todo), total=len(todo),
                                   desc="rendering notebooks", enabled=cfg.progress):
                records[stem] = rec
    shutil.rmtree(tmp / ".work", ignore_errors=True)
    vers = versions()
    entries = [(_title(nb), f"{nb.stem}.html") for nb in nbs]
    (tmp / "index.html").write_text(_index(entries, vers), encoding="utf-8")
    outputs = {}
    for p in sorted(tmp.rglob("*")):
        if p.is_file() and p.name != "manifest.json":
            outputs[p.relative_to(tmp).as_posix()] = sha256_file(p)
    inputs = {}
    for nb in nbs:
        inputs[f"notebooks/{nb.name}"] = sha256_file(nb)
    for design, path in sorted(data_paths.items()):
        inputs[f"data:{design}"] = sha256_file(Path(path)) if path else "bundled example"
    ext = Path("data") / "external"
    for p in sorted(ext.glob("*.csv")) if ext.exists() else []:
        inputs[p.as_posix()] = sha256_file(p)
    manifest = {"generator": "hipstats report", "versions": vers, "inputs": inputs,
                "outputs": outputs,
                "notebooks": {k: {"cache_key": v["cache_key"], "outputs": v["outputs"]}
                              for k, v in sorted(records.items())}}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return manifest, records


def _load_manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def build(cfg: ReportConfig) -> dict:
    """Render into a temporary sibling folder, then swap it in for ``cfg.out``.

    The previous contents of ``cfg.out`` stay untouched if anything fails.
    Returns the manifest (with ``cached`` notebook flags under ``_records``).
    """
    out = Path(cfg.out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    previous = _load_manifest(out) if out.exists() else None
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}-render-", dir=out.parent))
    try:
        manifest, records = _render_all(cfg, tmp, previous, out if out.exists() else None)
        backup = None
        if out.exists():
            backup = out.with_name(f".{out.name}-old-{os.getpid()}")
            out.rename(backup)
        tmp.rename(out)
        if backup is not None:
            shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    manifest["_records"] = records
    return manifest


def check(cfg: ReportConfig) -> list[str]:
    """Render afresh (no cache) into a temporary folder and compare with ``cfg.out``'s
    manifest; return readable differences (empty when identical)."""
    out = Path(cfg.out)
    old = _load_manifest(out)
    if old is None:
        return [f"{out}/manifest.json is missing or unreadable: render the report first"]
    with tempfile.TemporaryDirectory(prefix="hipstats-check-") as d:
        sub = Path(d) / "report"
        cfg2 = ReportConfig(**{**cfg.__dict__, "out": sub, "use_cache": False})
        (Path(d) / "render").mkdir()
        new, _ = _render_all(cfg2, Path(d) / "render", None, None)
    diffs = []
    for kind in ("inputs", "outputs"):
        a, b = old.get(kind, {}), new.get(kind, {})
        for f in sorted(set(a) | set(b)):
            if f not in b:
                diffs.append(f"{kind[:-1]} {f}: in the manifest but not produced now")
            elif f not in a:
                diffs.append(f"{kind[:-1]} {f}: produced now but not in the manifest")
            elif a[f] != b[f]:
                diffs.append(f"{kind[:-1]} {f}: differs (manifest {a[f][:12]}, now {b[f][:12]})")
    return diffs
