"""A Word file of each report page (python-docx), byte-stable so ``--check`` can cover it.

Markdown cells and Markdown outputs become paragraphs (``#`` lines headings), formatted
tables (:class:`hipstats.tables.PublicationTable`, which carries its cells in a JSON MIME
type) become real Word tables with their caption and note, and PNG figures become pictures
at 6.5 in width. Fixed core properties and fixed zip timestamps make two exports of the same
notebook byte-identical.
"""

from __future__ import annotations

import base64
import datetime as _dt
import io
import re
import zipfile
from pathlib import Path

__all__ = ["notebook_to_docx"]

_MIME = "application/vnd.hipstats.table+json"
_EPOCH = _dt.datetime(2000, 1, 1)


def _plain(md: str) -> str:
    """Markdown inline marks removed (``**x**``, ``*x*``, `` `x` ``, links)."""
    md = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", md)
    md = re.sub(r"\*\*([^*]+)\*\*", r"\1", md)
    md = re.sub(r"(?<![\w*])\*([^*]+)\*(?!\w)", r"\1", md)
    return md.replace("`", "")


def _markdown(doc, text: str) -> None:
    for block in re.split(r"\n\s*\n", text.strip()):
        block = block.strip()
        if not block:
            continue
        m = re.match(r"^(#{1,4})\s+(.*)", block)
        if m and "\n" not in block:
            doc.add_heading(_plain(m.group(2)), level=min(len(m.group(1)), 4))
        else:
            doc.add_paragraph(_plain(" ".join(block.splitlines())))


def _table(doc, spec: dict) -> None:
    if spec.get("caption"):
        doc.add_paragraph(spec["caption"], style="Caption")
    cols, rows = spec["columns"], spec["rows"]
    t = doc.add_table(rows=1 + len(rows), cols=len(cols))
    t.style = "Table Grid"
    # row by row: Table.cell(i, j) walks every cell of the table on each call
    for row, values in zip(t.rows, [cols, *rows]):
        for cell, v in zip(row.cells, values):
            cell.text = v
    if spec.get("note"):
        doc.add_paragraph(spec["note"])


def _stable_zip(data: bytes) -> bytes:
    """Rewrite a .docx (zip) with fixed timestamps and attributes."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            zi = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, src.read(info.filename))
    return out.getvalue()


def notebook_to_docx(nb, path: Path, title: str) -> None:
    """Write the executed notebook ``nb`` as a Word document at ``path``."""
    from docx import Document
    from docx.shared import Inches

    doc = Document()
    cp = doc.core_properties
    cp.author = cp.last_modified_by = "hipstats"
    cp.title = title
    cp.created = cp.modified = cp.last_printed = _EPOCH
    cp.revision = 1
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            _markdown(doc, cell.source)
            continue
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if _MIME in data:
                _table(doc, data[_MIME])
            elif "image/png" in data:
                png = base64.b64decode(data["image/png"])
                doc.add_picture(io.BytesIO(png), width=Inches(6.5))
                caption = str(data.get("text/plain", ""))
                if caption.startswith("Figure "):  # the numbered, labelled caption of the page
                    doc.add_paragraph(caption, style="Caption")
            elif "text/markdown" in data:
                _markdown(doc, data["text/markdown"])
    buf = io.BytesIO()
    doc.save(buf)
    Path(path).write_bytes(_stable_zip(buf.getvalue()))
