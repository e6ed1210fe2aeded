"""Saving figures and tables from a notebook into the report's folders, deterministically.

Notebooks call :func:`save_figure` and :func:`save_table` with a plain name; the folders come
from the notebook's parameters (``figures_dir``, ``tables_dir``) that ``hipstats report``
injects. Names are checked so nothing is written outside those folders.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

__all__ = ["save_figure", "save_table", "safe_name", "neutralise_formulas"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")

#: Fixed metadata: no dates, no versions that change between runs of the same inputs.
PNG_METADATA = {"Software": "hipstats (matplotlib)"}
PDF_METADATA = {"Creator": "hipstats", "Producer": "hipstats (matplotlib)", "CreationDate": None,
                "ModDate": None}


def safe_name(name: str) -> str:
    """Return ``name`` if it is a plain file stem (letters, digits, ``-_.``), else raise."""
    if not _NAME.match(name) or ".." in name:
        raise ValueError(f"output name {name!r} must be a plain file name (letters, digits, "
                         "'-', '_', '.')")
    return name


def _inside(folder: str | Path, name: str, suffix: str) -> Path:
    folder = Path(folder).resolve()
    path = (folder / (safe_name(name) + suffix)).resolve()
    if folder not in path.parents:
        raise ValueError(f"{path} is outside {folder}")
    folder.mkdir(parents=True, exist_ok=True)
    return path


_FIGURE_NUMBER = [0]


def save_figure(fig, name: str, folder: str | Path, dpi: int = 300, show: bool = True,
                caption: str | None = None) -> None:
    """Save a Figure (or an Axes/FacetGrid) as ``<name>.png`` (300 dpi) and ``<name>.pdf``.

    In a notebook the figure is then displayed once, numbered ("Figure 2. ...") with
    ``caption`` (default: the name in words) under it and as the image's alt text, and
    closed, so the page shows it and nothing else (no file paths, which would differ
    between runs). Figures are numbered per kernel, i.e. per page.
    """
    import base64
    import html

    fig = getattr(fig, "figure", None) or getattr(fig, "fig", None) or fig
    for suffix, meta in ((".png", PNG_METADATA), (".pdf", PDF_METADATA)):
        path = _inside(folder, name, suffix)
        fig.savefig(path, dpi=dpi, metadata=meta, bbox_inches="tight")
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover
        get_ipython = None
    if show and get_ipython is not None and get_ipython() is not None:
        _FIGURE_NUMBER[0] += 1
        text = caption or re.sub(r"^\d+-", "", name).replace("-", " ").capitalize()
        label = f"Figure {_FIGURE_NUMBER[0]}. {text}"
        b64 = base64.b64encode(_page_png(_inside(folder, name, ".png"), dpi)).decode("ascii")
        figure_html = (f'<figure class="hs-figure"><img src="data:image/png;base64,{b64}" '
                       f'alt="{html.escape(label)}" style="max-width:100%">'
                       f"<figcaption>{html.escape(label)}</figcaption></figure>")
        display({"image/png": b64, "text/html": figure_html,
                 "text/plain": label}, raw=True)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _page_png(path: Path, dpi: int, page_dpi: int = 110) -> bytes:
    """The page's copy of a figure: the saved PNG scaled from ``dpi`` to ``page_dpi``
    (Lanczos). Scaling the file already drawn, instead of drawing the figure a third time,
    halves what the page's figures cost (two matplotlib draws per savefig with a tight box:
    measured 0.34-0.37 s of 1.1-1.3 s per figure here); the bytes are deterministic."""
    import io

    from PIL import Image

    with Image.open(path) as im:
        size = (max(1, round(im.width * page_dpi / dpi)), max(1, round(im.height * page_dpi / dpi)))
        small = im.convert("RGBA").resize(size, Image.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def save_table(table: pd.DataFrame, name: str, folder: str | Path, index: bool = False) -> None:
    """Save a table as ``<name>.csv`` (fixed float format, ``\\n`` line endings)."""
    path = _inside(folder, name, ".csv")
    neutralise_formulas(table).to_csv(path, index=index, float_format="%.10g",
                                      lineterminator="\n")


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells starting with ``= + - @``, tab or carriage return get a
    leading ``'`` (OWASP CSV injection), so a spreadsheet shows them instead of running
    them. Numbers (negative ones included) are left alone; so is the index unless it is
    text."""
    def fix(v):
        return "'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r") else v

    cols = []
    for j in range(table.shape[1]):  # by position: duplicated column names are kept
        col = table.iloc[:, j]
        if isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype(object)
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            col = col.map(fix)
        cols.append(col)
    out = pd.concat(cols, axis=1) if cols else table.copy()
    out.columns = table.columns
    if not isinstance(out.index, pd.MultiIndex) and (
            out.index.dtype == object or pd.api.types.is_string_dtype(out.index)):
        out.index = out.index.map(fix)
    if not isinstance(out.columns, pd.MultiIndex):
        out.columns = [fix(c) if isinstance(c, str) else c for c in out.columns]
    return out
