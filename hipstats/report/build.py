"""Build the report folder: validate data, execute notebooks (or reuse cached results),
write HTML pages, figures, tables and ``manifest.json``, then swap the folder in atomically.

Reproducibility: notebooks run with fixed seeds (a parameter), ``SOURCE_DATE_EPOCH=0`` and
``PYTHONHASHSEED=0``; figures are saved with fixed metadata; execution timestamps are not
recorded; HTML pages are rendered without input prompts or dates. Two runs on the same inputs
give byte-identical files (tested). Across machines the last bits of floating-point results
differ (BLAS kernels, CPUs), so ``--check`` compares tables as numbers within a tolerance and
treats changed inputs, parameters, notebooks and versions as drift (:mod:`hipstats.report.check`).

The cache key of a notebook hashes its parameters (paths relative to the project), the
content of every file it reads (its notebook, its data file, every ``*_path`` parameter's
file), hipstats' source and the package versions: no absolute paths, so a clone in another
folder reuses the cache and writes the same manifest.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from hipstats.errors import HipstatsDataError, HipstatsError
from hipstats.report.digest import sha256_file

__all__ = ["ReportConfig", "build", "check", "NOTEBOOK_DESIGNS", "ReportFailed", "Page",
           "DESIGN_PAGE"]

#: The built-in pages: the generic page (below) rendered for the two built-in designs, under
#: these names, prefixes of their tables and figures, and titles. A project's own numbered
#: notebook of the same name (an older ``hipstats init``) is rendered instead.
BUILTIN_PAGES = {
    "01-strength-and-function": ("program6wk", "01",
                                 "Strength and function over a 6-week hip-abductor program"),
    "02-pfps-pain": ("pfps3wk", "02", "Pain and strength in runners with patellofemoral pain"),
}
#: Which design's data each page of this repository reads (parameter ``data_path``).
NOTEBOOK_DESIGNS = {**{stem: b[0] for stem, b in BUILTIN_PAGES.items()}, "03-evidence": None}
#: The generic page (``notebooks/design-page.ipynb``, the package's copy when the project has
#: none): rendered for the built-in pages and once per design the study config declares
#: ([design.NAME]) as ``design-NAME``.
DESIGN_PAGE = "design-page.ipynb"


@dataclass(frozen=True)
class Page:
    """One page of the report: a notebook, the name of its outputs and the design it reads
    (``None`` for pages without data). Generic pages (the design page) also carry the prefix
    of their tables and figures and their title."""

    path: Path
    stem: str
    design: str | None = None
    generic: bool = False
    prefix: str = ""
    title: str = ""


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
    config: Path | None = None   # hipstats.toml; default: ./hipstats.toml when it exists
    load_kwargs: dict = field(default_factory=dict)  # design -> one-off load options


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


def _design_page_path(cfg: ReportConfig) -> Path:
    local = cfg.notebooks_dir / DESIGN_PAGE
    if local.is_file():
        return local
    from importlib import resources

    return Path(str(resources.files("hipstats") / "templates" / "notebooks" / DESIGN_PAGE))


def declared_page_designs(cfg: ReportConfig) -> list[str]:
    """Designs the study config declares ([design.NAME]), in file order: each gets a page."""
    from hipstats.config import declared_designs

    conf = config_file(cfg)
    return list(declared_designs(conf)) if conf is not None else []


def _notebooks(cfg: ReportConfig) -> list[Page]:
    all_nbs = sorted(cfg.notebooks_dir.glob("[0-9][0-9]-*.ipynb"))
    pages = [Page(p, p.stem, NOTEBOOK_DESIGNS.get(p.stem)) for p in all_nbs]
    own = {p.stem for p in pages}
    declared = declared_page_designs(cfg)
    # a built-in design without a page of its own (hipknee6wk) given with --data gets one too
    declared += sorted(d for d in cfg.data if d not in declared
                       and d not in NOTEBOOK_DESIGNS.values())
    generic = _design_page_path(cfg)
    pages += [Page(generic, stem, d, True, prefix, title)
              for stem, (d, prefix, title) in BUILTIN_PAGES.items()
              if stem not in own and _wants_builtin(cfg, d)]
    pages += [Page(generic, f"design-{d}", d, True, f"design-{d}", f"Trial report: {d}")
              for d in declared]
    pages.sort(key=lambda p: p.stem)
    if not pages:
        raise ReportFailed(f"no numbered notebooks (NN-name.ipynb) in {cfg.notebooks_dir}")
    if not cfg.notebooks:
        return _readable(pages)
    chosen = []
    for name in cfg.notebooks:
        hit = [p for p in pages if p.stem == name or p.stem.startswith(name + "-")
               or p.path.name == name or p.design == name and p.generic]
        if not hit:
            raise ReportFailed(f"no notebook {name!r}; available: {[p.stem for p in pages]}")
        chosen += [h for h in hit if h not in chosen]
    return _readable(sorted(chosen, key=lambda p: p.stem))


def _wants_builtin(cfg: ReportConfig, design: str) -> bool:
    """A built-in page is rendered when the project has the design page
    (``notebooks/design-page.ipynb``: this repository and every ``hipstats init`` study) or
    names data for its design (``--data``, a ``[data.NAME]`` table)."""
    return ((cfg.notebooks_dir / DESIGN_PAGE).is_file() or design in cfg.data
            or design in _config_designs(cfg))


def _readable(nbs: list[Page]) -> list[Page]:
    """``nbs`` if each is a notebook file nbformat can read, else ReportFailed naming it."""
    import nbformat

    for page in nbs:
        nb = page.path
        try:
            nbformat.read(nb, as_version=4)
        except Exception as exc:  # NotJSONError, ValidationError, OSError, ...
            raise ReportFailed(f"{nb} is not a readable notebook ({type(exc).__name__}: "
                               f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
    return nbs


def config_file(cfg: ReportConfig) -> Path | None:
    """The study config the report reads: ``cfg.config`` or ./hipstats.toml if present."""
    if cfg.config is not None:
        return Path(cfg.config)
    default = Path("hipstats.toml")
    return default if default.is_file() else None


def _config_designs(cfg: ReportConfig) -> list[str]:
    from hipstats.config import designs_in

    conf = config_file(cfg)
    return designs_in(conf) if conf is not None else []


def load_kwargs_for(cfg: ReportConfig, design: str) -> dict:
    """Loading options for a design: the config's ``[data.<design>]`` table (without its
    path), then one-off CLI options on top (JSON-safe: passed to the notebook)."""
    from hipstats.config import load_options

    out: dict = {}
    conf = config_file(cfg)
    if conf is not None and design in _config_designs(cfg):
        opts = load_options(conf, design)
        opts.pop("source", None)
        out.update({k: (str(v) if isinstance(v, Path) else v) for k, v in opts.items()})
    out.update(cfg.load_kwargs.get(design, {}))
    return out


def _validate_inputs(cfg: ReportConfig, nbs: list[Page]) -> dict:
    """Validate every data file before any notebook runs; return design -> path."""
    from hipstats.config import load_options, study_design
    from hipstats.design import get_design
    from hipstats.synthetic import EXAMPLE_SEEDS
    from hipstats.validation import validate

    needed = {p.design for p in nbs} - {None}
    paths = {}
    problems = []
    conf = config_file(cfg)
    in_conf = _config_designs(cfg)
    for design in sorted(needed):
        path = cfg.data.get(design)
        if path is None and design in in_conf:
            path = load_options(conf, design).get("source")
        if path is None:
            default = Path("data") / "raw" / f"{design}.csv"
            path = default if default.exists() else None
        resolved = study_design(conf, design) if conf is not None else get_design(design)
        if path is not None:
            rep = validate(path, resolved, **load_kwargs_for(cfg, design))
            if not rep.ok:
                problems += rep.problems
            paths[design] = str(Path(path).resolve())
        elif design not in EXAMPLE_SEEDS:
            raise ReportFailed(f"{conf}: design {design!r} has no data: add a [data.{design}] "
                               "table with its path (or --data DESIGN=PATH)")
        else:
            paths[design] = None
    known = set(NOTEBOOK_DESIGNS.values()) | {p.design for p in nbs}
    unknown = sorted(set(cfg.data) - known)
    if unknown:
        raise ReportFailed(f"--data names unknown design(s) {unknown}")
    if problems:
        raise HipstatsDataError(problems)
    return paths


def rel_path(path) -> str:
    """A path as the manifest records it: relative to the project (cwd) when inside it."""
    p = Path(path).resolve()
    try:
        return p.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return p.as_posix()


@functools.lru_cache(maxsize=None)
def _bundled_example_bytes(design: str) -> bytes:
    """The bundled example of ``design`` as ``hipstats simulate --bundle`` writes it
    (generated once per process, not once per notebook and render)."""
    from hipstats.io.writers import write
    from hipstats.synthetic import EXAMPLE_SEEDS, example_file_rows, simulate_cohort

    with tempfile.TemporaryDirectory() as d:
        ref = Path(d) / f"{design}.csv"
        write(example_file_rows(simulate_cohort(design, seed=EXAMPLE_SEEDS[design]), design),
              ref, design)
        return ref.read_bytes()


def _is_bundled_example(path: str, design: str) -> bool:
    """True when ``path`` is byte for byte the bundled synthetic example of ``design``: only
    then do pages call the data synthetic."""
    from hipstats.synthetic import EXAMPLE_SEEDS

    if design not in EXAMPLE_SEEDS or Path(path).suffix.lower() != ".csv":
        return False
    return Path(path).read_bytes() == _bundled_example_bytes(design)


def _declared_paths(nb: Path) -> dict:
    """Files a notebook reads by default: literal ``*_path = "..."`` assignments in its
    ``parameters`` cell, resolved against the notebook's folder (parsed, never executed)."""
    import ast

    import nbformat

    out = {}
    book = nbformat.read(nb, as_version=4)
    for c in book.cells:
        if c.cell_type != "code" or "parameters" not in c.get("metadata", {}).get("tags", []):
            continue
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id.endswith("_path")
                    and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
                out[node.targets[0].id] = (nb.parent / node.value.value).resolve()
    return out


def _params(cfg: ReportConfig, page: Page, data_paths: dict, tmp: Path) -> dict:
    design = page.design
    p = {"figures_dir": str(tmp / "figures"), "tables_dir": str(tmp / "tables"),
         "seed": cfg.seed, "alpha": cfg.alpha}
    if page.generic:
        p["design_name"] = design
        p["page"] = page.prefix
        p["title"] = page.title
    if design:
        path = data_paths.get(design)
        p["data_path"] = None if path is None or _is_bundled_example(path, design) else path
        conf = config_file(cfg)
        p["config_path"] = (str(conf.resolve()) if conf is not None and (
            (p["data_path"] and design in _config_designs(cfg)) or page.generic) else None)
        if cfg.load_kwargs.get(design):
            p["load_kwargs"] = dict(cfg.load_kwargs[design])
    return p


def _inputs(page: Page, data_paths: dict) -> dict:
    """The files one notebook reads: its data file and every ``*_path`` parameter's file
    (relative path -> sha256, or a note for the bundled example)."""
    nb = page.path
    out = {rel_path(nb): sha256_file(nb)}
    design = page.design
    if design:
        path = data_paths.get(design)
        if path:
            out[rel_path(path)] = sha256_file(Path(path))
        else:
            out[f"bundled example {design}"] = "hipstats.example"
    for name, path in sorted(_declared_paths(nb).items()):
        if name == "data_path":
            continue
        out[rel_path(path)] = sha256_file(path) if path.is_file() else "missing"
    return out


def _injected_inputs(params: dict) -> dict:
    """Files named by injected ``*_path`` parameters other than the data file (the study
    config): relative path -> sha256."""
    out = {}
    for k, v in params.items():
        if k.endswith("_path") and k != "data_path" and isinstance(v, str) and Path(v).is_file():
            out[rel_path(v)] = sha256_file(Path(v))
    return out


def _stable_params(params: dict) -> dict:
    """Parameters as the cache key and manifest record them: no folders, and data paths
    relative to the project, so a clone elsewhere gives the same key."""
    out = {}
    for k, v in sorted(params.items()):
        if k.endswith("_dir"):
            continue
        out[k] = rel_path(v) if k.endswith("_path") and isinstance(v, str) else v
    return out


def _cache_key(nb: Path, params: dict, inputs: dict, src_hash: str) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(_stable_params(params), sort_keys=True).encode())
    h.update(json.dumps(inputs, sort_keys=True).encode())
    h.update(src_hash.encode())
    h.update(json.dumps(versions(), sort_keys=True).encode())
    return h.hexdigest()


def _html(nb, show_code: bool) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab", exclude_input=not show_code,
                            exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _render_one(pg: Page, params: dict, tmp: Path, show_code: bool) -> list[str]:
    """Execute a notebook and write its page; return the relative paths it produced."""
    import nbformat

    from hipstats.report.execute import execute_notebook, inject_parameters

    nb_path = pg.path
    before = {p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()}
    nb = nbformat.read(nb_path, as_version=4)
    nb = inject_parameters(nb, params)
    nb = execute_notebook(nb, pg.stem, workdir=str(Path.cwd().resolve() if pg.generic
                                                     else nb_path.parent.resolve()))
    page = tmp / f"{pg.stem}.html"
    nb.metadata["title"] = _title(pg)  # the page's <title>, not "Notebook"
    page.write_text(_html(nb, show_code), encoding="utf-8")
    from hipstats.report.docx_export import notebook_to_docx

    notebook_to_docx(nb, tmp / f"{pg.stem}.docx", _title(pg))
    after = {p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()}
    return sorted(after - before)


def _index(entries: list[tuple[str, str]], manifest_versions: dict, inputs: dict | None = None,
           parameters: dict | None = None, files: list[str] | None = None) -> str:
    """The report's front page: pages, the provenance of every input (path and SHA-256),
    the parameters of each notebook, the figures and tables, and the versions."""
    esc = html.escape
    items = "\n".join(f'<li><a href="{esc(page)}">{esc(title)}</a></li>'
                       for title, page in entries)
    rows = "\n".join(f"<tr><td><code>{esc(k)}</code></td><td><code>{esc(str(v)[:16])}</code>"
                      "</td></tr>" for k, v in sorted((inputs or {}).items()))
    params = "\n".join(
        f"<tr><td>{esc(nb)}</td><td>{esc(', '.join(f'{k} = {v}' for k, v in sorted(p.items())))}"
        "</td></tr>" for nb, p in sorted((parameters or {}).items()))
    figs = [f for f in (files or []) if f.startswith("figures/") and f.endswith(".png")]
    tabs = [f for f in (files or []) if f.startswith("tables/")]
    links = lambda fs: ", ".join(  # noqa: E731
        f'<a href="{esc(f)}">{esc(f.split("/", 1)[1])}</a>' for f in fs)
    ver = esc(", ".join(f"{k} {v}" for k, v in sorted(manifest_versions.items())))
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<title>hipstats report</title>\n<style>body{font-family:sans-serif;max-width:60em;"
            "margin:2em auto;line-height:1.5;padding:0 1em}table{border-collapse:collapse}"
            "td,th{border-bottom:1px solid #ddd;padding:.2em .6em;text-align:left;"
            "vertical-align:top}code{font-size:90%}</style>\n</head>\n<body>\n"
            "<h1>hipstats report</h1>\n<p>Rendered by <code>hipstats report</code> from the "
            "numbered notebooks. Each page starts with its data source. Figures are PNG (300 dpi) "
            "and PDF; tables are CSV at full precision; <code>manifest.json</code> holds every "
            "checksum, and <code>hipstats report --check</code> verifies the report.</p>\n"
            f"<h2>Pages</h2>\n<ul>\n{items}\n</ul>\n"
            "<h2>Inputs</h2>\n<table><tr><th>file</th><th>SHA-256 (first 16)</th></tr>\n"
            f"{rows}\n</table>\n<h2>Parameters</h2>\n<table>{params}</table>\n"
            f"<h2>Figures</h2>\n<p>{links(figs)}</p>\n<h2>Tables</h2>\n<p>{links(tabs)}</p>\n"
            f"<p><small>{ver}</small></p>\n</body>\n</html>\n")


def _title(page: Page) -> str:
    import nbformat

    if page.title:
        return page.title
    nb = nbformat.read(page.path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            for line in c.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return page.stem


def _longest_first(todo: list, data_paths: dict) -> list:
    """Pages to render (``(page, params, key)``), those reading the most data first: they
    take longest, and started first they run while the other workers render the rest (the
    report is done when its longest page is). Stable: equal sizes keep their order."""
    def size(item) -> int:
        path = data_paths.get(item[0].design) if item[0].design else None
        return Path(path).stat().st_size if path and Path(path).is_file() else 0
    return sorted(todo, key=lambda item: -size(item))


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
    nb_inputs, nb_params = {}, {}
    for nb in nbs:
        params = _params(cfg, nb, data_paths, tmp)
        nb_inputs[nb.stem] = {**_inputs(nb, data_paths), **_injected_inputs(params)}
        nb_params[nb.stem] = _stable_params(params)
        key = _cache_key(nb.path, params, nb_inputs[nb.stem], src_hash)
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
        t0 = time.perf_counter()
        _render_one(nb, params, nb_tmp, cfg.show_code)
        seconds = time.perf_counter() - t0
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
        return nb.stem, {"cache_key": key, "outputs": sorted(produced), "cached": False,
                         "seconds": seconds}

    jobs = max(1, int(cfg.jobs))
    todo = _longest_first(todo, data_paths)
    if todo:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            for stem, rec in track(pool.map(run, todo), total=len(todo),
                                   desc="rendering notebooks", enabled=cfg.progress):
                records[stem] = rec
    shutil.rmtree(tmp / ".work", ignore_errors=True)
    vers = versions()
    entries = [(_title(nb), f"{nb.stem}.html") for nb in nbs]
    all_inputs = {}
    for stem in sorted(nb_inputs):
        all_inputs.update(nb_inputs[stem])
    produced = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    (tmp / "index.html").write_text(_index(entries, vers, all_inputs, nb_params, produced),
                                    encoding="utf-8")
    from hipstats.report.outdir import PID_FILE

    outputs = {}
    for p in sorted(tmp.rglob("*")):
        if p.is_file() and p.name not in ("manifest.json", PID_FILE):
            outputs[p.relative_to(tmp).as_posix()] = sha256_file(p)
    inputs = {}
    for stem in sorted(nb_inputs):
        inputs.update(nb_inputs[stem])
    manifest = {"generator": "hipstats report", "versions": vers, "inputs": inputs,
                "hipstats_source": src_hash, "parameters": nb_params, "outputs": outputs,
                "notebooks": {k: {"cache_key": v["cache_key"], "outputs": v["outputs"],
                                  "inputs": sorted(nb_inputs[k])}
                              for k, v in sorted(records.items())}}
    (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    return manifest, records  # records carry each page's render time; the manifest does not


def _load_manifest(out: Path) -> dict | None:
    from hipstats.report.outdir import read_manifest

    return read_manifest(out)


def _protected(cfg: ReportConfig) -> list[Path]:
    """Folders ``--out`` must never be or contain: the project, its notebooks, code, tests
    and data, and the folder of every file a notebook reads."""
    cwd = Path.cwd()
    out = [cfg.notebooks_dir, cwd, cwd / "data", cwd / "notebooks", cwd / "hipstats",
           cwd / "tests", *[Path(p).parent for p in cfg.data.values()]]
    for nb in sorted(Path(cfg.notebooks_dir).glob("[0-9][0-9]-*.ipynb")):
        out.append(nb)
        try:
            out += [p.parent for p in _declared_paths(nb).values()]
        except Exception:  # an unreadable notebook fails later, with a clear message
            pass
    return out


def build(cfg: ReportConfig) -> dict:
    """Render into a temporary sibling folder, then swap it in for ``cfg.out``.

    ``cfg.out`` must be new or hold a previous hipstats report (see
    :mod:`hipstats.report.outdir`); the previous report stays untouched if anything fails.
    Returns the manifest (with ``cached`` notebook flags under ``_records``).
    """
    from hipstats.report import outdir

    out = Path(cfg.out)
    outdir.check_target(out, _protected(cfg))
    with outdir.locked(out):
        outdir.check_target(out, _protected(cfg))  # again, now that nobody else renders
        outdir.clean_stale(out)
        previous = _load_manifest(out) if out.is_dir() else None
        tmp = outdir.new_tmp(out)
        try:
            manifest, records = _render_all(cfg, tmp, previous,
                                            out.resolve() if previous else None)
            outdir.swap_in(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    manifest["_records"] = records
    return manifest


def check(cfg: ReportConfig, rtol: float = 1e-6, atol: float = 1e-12):
    """Render afresh (no cache) into a temporary folder and compare with ``cfg.out``: inputs,
    parameters and versions must match (drift otherwise; the Python patch version and
    hipstats' source hash are notes), tables must agree as numbers within ``rtol``/``atol``;
    pages and figures are compared by bytes as notes only (see
    :mod:`hipstats.report.check`). With ``cfg.notebooks`` only those notebooks' inputs,
    parameters and outputs are compared. Returns a
    :class:`~hipstats.report.check.CheckResult`; ``cfg.out`` is only read.
    """
    from hipstats.report.check import CheckResult, compare_manifests

    out = Path(cfg.out)
    old = _load_manifest(out)
    if old is None:
        res = CheckResult()
        res.drift.append(f"{out}/manifest.json is missing or not a hipstats manifest: render "
                         "the report first")
        return res
    with tempfile.TemporaryDirectory(prefix="hipstats-check-") as d:
        cfg2 = ReportConfig(**{**cfg.__dict__, "out": Path(d) / "report", "use_cache": False})
        (Path(d) / "render").mkdir()
        new, _ = _render_all(cfg2, Path(d) / "render", None, None)
        only = set(new["notebooks"]) if cfg.notebooks else None
        return compare_manifests(old, new, out, Path(d) / "render", rtol, atol, only=only)
