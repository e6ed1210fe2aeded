"""One reader per file format, each returning a :class:`RawTable`.

A reader does no validation of content: it returns every cell as text (or the value the
format stores), plus what the file says about units and labels, and reports file-level
problems (unreadable, binary, non-UTF-8, ragged rows) as :class:`~hipstats.errors.DataProblem`.

Row numbers are 1-based *data* rows: the first row after the header is row 1 (in Excel,
spreadsheet row 2).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hipstats.errors import DataProblem, HipstatsDataError

__all__ = ["RawTable", "read_raw", "FORMATS", "detect_format", "datapackage_units"]

#: Extensions and the format read for them.
FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet",
    ".sav": "spss", ".zsav": "spss",
}

_MAGIC = {
    b"PK\x03\x04": "excel",  # xlsx is a zip file
    b"PAR1": "parquet",
    b"$FL2": "spss", b"$FL3": "spss",
}


@dataclass
class RawTable:
    """A table as read, before any interpretation.

    Attributes
    ----------
    frame : DataFrame
        Cells as read (text for CSV/TSV; stored values for binary formats); index is the
        1-based data row number.
    source : str
        The file name as given.
    fmt : str
        ``csv``, ``tsv``, ``excel``, ``parquet`` or ``spss``.
    labels : dict
        Column -> label text (SPSS variable labels), used to find declared units.
    value_labels : dict
        Column -> {code: label} (SPSS value labels).
    problems : list of DataProblem
        File-level problems found while reading (ragged rows, formulas without results).
    notes : list of str
        What the reader did that is worth knowing (trailing delimiters dropped).
    units : dict
        Column -> unit declared outside the table (a ``datapackage.json`` beside it).
    """

    frame: pd.DataFrame
    source: str
    fmt: str
    labels: dict = field(default_factory=dict)
    value_labels: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    units: dict = field(default_factory=dict)


def detect_format(path: Path) -> str:
    """The format to read ``path`` as, from its extension, checked against its first bytes."""
    fmt = FORMATS.get(path.suffix.lower())
    with open(path, "rb") as fh:
        head = fh.read(8)
    magic = next((f for m, f in _MAGIC.items() if head.startswith(m)), None)
    if fmt is None:
        if magic:
            return magic
        raise HipstatsDataError([DataProblem(
            str(path), None, None, path.suffix or "(none)",
            f"unknown file type; supported extensions: {', '.join(sorted(FORMATS))}")])
    if fmt in ("csv", "tsv") and magic:
        raise HipstatsDataError([DataProblem(
            str(path), None, None, None,
            f"file has a {path.suffix} extension but its content is a {magic} file")])
    if fmt not in ("csv", "tsv") and magic != fmt:
        raise HipstatsDataError([DataProblem(
            str(path), None, None, None,
            f"file has a {path.suffix} extension but its content is not a valid {fmt} file")])
    return fmt


def read_raw(path: str | Path, sheet: str | int | None = None) -> RawTable:
    """Read any supported file into a :class:`RawTable`.

    Raises
    ------
    HipstatsDataError
        When the file is missing, empty, binary where text was expected, or unreadable.
    """
    p = Path(path)
    src = str(path)
    if not p.exists():
        raise HipstatsDataError([DataProblem(src, None, None, None, "file not found")])
    if p.is_dir():
        raise HipstatsDataError([DataProblem(src, None, None, None, "is a folder, not a file")])
    if p.stat().st_size == 0:
        raise HipstatsDataError([DataProblem(src, None, None, None, "file is empty")])
    fmt = detect_format(p)
    if fmt in ("csv", "tsv"):
        raw = _read_text(p, src, "\t" if fmt == "tsv" else None, fmt)
    else:
        try:
            if fmt == "excel":
                raw = _read_excel(p, src, sheet)
            elif fmt == "parquet":
                raw = _read_parquet(p, src)
            else:
                raw = _read_spss(p, src)
        except HipstatsDataError:
            raise
        except Exception as exc:  # a corrupt binary file: say so, no traceback
            raise HipstatsDataError([DataProblem(
                src, None, None, None,
                f"cannot read as {fmt}: {type(exc).__name__}: {exc}")]) from None
    raw.units = datapackage_units(p)
    return raw


_SURROGATE = re.compile("[\udc80-\udcff]+")


def _bad_bytes_problems(text: str, delimiter: str | None, src: str) -> list[DataProblem]:
    """Every cell holding bytes that are not UTF-8 (decoded with ``surrogateescape``)."""
    if delimiter is None:
        first = text.split("\n", 1)[0]
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        rows = [line.split(delimiter) for line in text.split("\n")]
    header = rows[0] if rows else []
    out = []
    for i, r in enumerate(rows):
        for j, cell in enumerate(r):
            if not _SURROGATE.search(cell):
                continue
            raw = cell.encode("utf-8", "surrogateescape")
            hexes = " ".join(f"0x{ord(c) - 0xDC00:02x}" for c in cell if 0xDC80 <= ord(c) <= 0xDCFF)
            guess = raw.decode("cp1252", errors="replace").strip()
            if i == 0:
                col = f"(column {j + 1})"
                where = "in the header"
            else:
                col = (header[j].encode("utf-8", "surrogateescape").decode("cp1252", "replace")
                       .strip() if j < len(header) else f"(column {j + 1})")
                where = ""
            out.append(DataProblem(
                src, i if i >= 1 else None, col, repr(raw),
                f"not UTF-8 text: invalid byte {hexes}{' ' + where if where else ''} (as "
                f"Windows-1252/Latin-1 it would read {guess!r}); re-save the file as UTF-8"))
    if not out:  # should not happen; keep a file-level problem rather than none
        out.append(DataProblem(src, None, None, None, "not UTF-8 text; re-save the file as UTF-8"))
    return out


def _decode(data: bytes, src: str, delimiter: str | None = None) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n")
        raise HipstatsDataError([DataProblem(
            src, None, None, None,
            f"binary content (NUL byte on line {line + 1}); expected a UTF-8 text table")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
        raise HipstatsDataError(_bad_bytes_problems(text, delimiter, src)) from None
    return text.removeprefix("\ufeff")


def _sniff(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _fast_rows(data: bytes, delimiter: str):
    """Quote-free, rectangular text: parse with pandas' C reader.

    Returns ``(header, frame, line_numbers)`` or ``None`` when the file needs the careful
    reader (quotes, lone carriage returns, rows of different widths).
    """
    d = ord(delimiter)
    if b'"' in data or data.count(b"\r") != data.count(b"\r\n"):
        return None
    a = np.frombuffer(data, np.uint8)
    ends = np.flatnonzero(a == 10)
    if len(a) and a[-1] != 10:
        ends = np.r_[ends, len(a)]
    starts = np.r_[0, ends[:-1] + 1]
    dpos = np.flatnonzero(a == d)
    counts = np.searchsorted(dpos, ends) - np.searchsorted(dpos, starts)
    length = ends - starts
    cr = np.zeros(len(ends), bool)
    nz = length > 0
    cr[nz] = a[ends[nz] - 1] == 13
    empty = (length - cr) == 0
    if len(counts) < 2 or empty[0]:
        return None
    width = counts[0]
    body_counts = counts[1:][~empty[1:]]
    if not (body_counts == width).all():
        return None
    frame = pd.read_csv(io.BytesIO(data), sep=delimiter, header=None, dtype=object,
                        na_filter=False, quoting=csv.QUOTE_NONE, skip_blank_lines=False,
                        engine="c", encoding="utf-8")
    if len(frame) != len(ends) or frame.shape[1] != width + 1:
        return None
    frame = frame.rename(columns=lambda c: int(c))
    header = [str(h) for h in frame.iloc[0].tolist()]
    keep = np.flatnonzero(~empty[1:]) + 1
    body = frame.iloc[keep].reset_index(drop=True)
    return header, body, keep


def _read_text(p: Path, src: str, delimiter: str | None, fmt: str) -> RawTable:
    data = p.read_bytes()
    text = _decode(data, src, delimiter)
    if not text.strip():
        raise HipstatsDataError([DataProblem(src, None, None, None, "file has no content")])
    if delimiter is None:
        delimiter = _sniff(text)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        fast = _fast_rows(data, delimiter)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        fast = None  # the careful reader below says what is wrong
    problems: list[DataProblem] = []
    notes: list[str] = []
    if fast is not None:
        header, body_frame, index = fast
        header = [h.strip() for h in header]
    else:
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter,
                                   strict=True))
        except csv.Error as exc:
            raise HipstatsDataError([DataProblem(src, None, None, None,
                                                 f"malformed {fmt.upper()}: {exc}")]) from None
        header = [h.strip() for h in rows[0]]
        width = len(header)
        # a trailing delimiter on the header line (and perhaps on every line)
        k = 0
        while k < width - 1 and header[width - 1 - k] == "":
            k += 1
        if k:
            tail_used = any(any(x.strip() for x in r[width - k:]) for r in rows[1:])
            if not tail_used:
                header = header[: width - k]
                notes.append(f"{k} empty column{'s' if k > 1 else ''} after the last named "
                             "column ignored (trailing delimiter)")
        body, index = [], []
        for i, r in enumerate(rows[1:], start=1):
            if len(r) == 0:
                continue  # a bare newline: no fields, nothing to lose
            if len(r) != len(header):
                if len(r) > len(header) and not any(x.strip() for x in r[len(header):]):
                    r = r[: len(header)]  # trailing empty fields (Excel-saved CSVs)
                else:
                    problems.append(DataProblem(
                        src, i, None, f"{len(r)} fields",
                        f"row has {len(r)} fields but the header has {len(header)} "
                        "(ragged row)"))
                    continue
            body.append(r)
            index.append(i)
        body_frame = None
    if not any(header):
        raise HipstatsDataError([DataProblem(src, None, None, None, "header row is empty")])
    if fast is not None:
        width = len(header)
        k = 0
        while k < width - 1 and header[width - 1 - k] == "":
            k += 1
        if k:
            tail = body_frame.iloc[:, width - k:]
            if not tail.apply(lambda s: s.str.strip().ne("").any()).any():
                header = header[: width - k]
                body_frame = body_frame.iloc[:, : width - k]
                notes.append(f"{k} empty column{'s' if k > 1 else ''} after the last named "
                             "column ignored (trailing delimiter)")
    blank = [i + 1 for i, h in enumerate(header) if not h]
    for i in blank:
        problems.append(DataProblem(src, None, f"(column {i})", None, "header cell is empty"))
    dups = sorted({h for h in header if h and header.count(h) > 1})
    for h in dups:
        problems.append(DataProblem(src, None, h, None, "column name appears more than once"))
    if problems and (blank or dups):
        raise HipstatsDataError(problems)
    if body_frame is not None:
        body_frame.columns = header
        body_frame.index = pd.Index(np.asarray(index, dtype=np.int64), name="row")
        frame = body_frame
    else:
        frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row", dtype="int64"),
                             dtype=object)
    return RawTable(frame, src, fmt, problems=problems, notes=notes)


def _is_formula(v) -> bool:
    return (isinstance(v, str) and v.startswith("=")) or \
        type(v).__name__ in ("ArrayFormula", "DataTableFormula")


def _read_excel(p: Path, src: str, sheet) -> RawTable:
    import openpyxl

    def _open(data_only):
        wb = openpyxl.load_workbook(p, read_only=True, data_only=data_only)
        try:
            if sheet is None:
                ws = wb.worksheets[0]
            elif isinstance(sheet, int):
                ws = wb.worksheets[sheet]
            elif sheet in wb.sheetnames:
                ws = wb[sheet]
            elif str(sheet).isdigit() and int(sheet) < len(wb.worksheets):
                ws = wb.worksheets[int(sheet)]
            else:
                raise HipstatsDataError([DataProblem(
                    src, None, None, repr(sheet),
                    f"no sheet of that name; sheets: {wb.sheetnames}")])
            return [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()

    rows = _open(True)
    while rows and all(v is None for v in rows[-1]):
        rows.pop()
    if not rows:
        raise HipstatsDataError([DataProblem(src, None, None, None, "sheet is empty")])
    header = ["" if h is None else str(h).strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    problems = []
    body, index = [], []
    for i, r in enumerate(rows[1:], start=1):
        extra = [v for v in r[width:] if v not in (None, "")]
        if extra:
            problems.append(DataProblem(src, i, None, repr(extra[0]),
                                        "cell to the right of the last named column"))
            continue
        r = list(r[:width]) + [None] * (width - len(r[:width]))
        body.append(["" if v is None else v for v in r])
        index.append(i)
    # formula cells whose result was never saved read as empty: say so, never NaN silently
    if any(v == "" for r in body for v in r):
        formulas = _open(False)
        for i in index:
            if i >= len(formulas):
                continue
            for j, v in enumerate(formulas[i][:width]):
                if _is_formula(v) and (j >= len(rows[i]) or rows[i][j] is None):
                    text = v if isinstance(v, str) else getattr(v, "text", type(v).__name__)
                    problems.append(DataProblem(
                        src, i, header[j], repr(str(text)),
                        "formula with no saved result (the file was written by a program "
                        "that does not calculate formulas); open and save it in Excel or "
                        "LibreOffice, or paste values"))
    frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row", dtype="int64"),
                         dtype=object)
    return RawTable(frame, src, "excel", problems=problems)


def _read_parquet(p: Path, src: str) -> RawTable:
    frame = pd.read_parquet(p)
    frame = frame.astype(object).where(frame.notna(), "")
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    return RawTable(frame, src, "parquet")


def _read_spss(p: Path, src: str) -> RawTable:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(p), apply_value_formats=False)
    frame = frame.astype(object).where(frame.notna(), "")
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    return RawTable(frame, src, "spss", labels=labels,
                    value_labels=dict(meta.variable_value_labels or {}))


def datapackage_units(path: str | Path) -> dict:
    """Units a Frictionless ``datapackage.json`` (in the file's folder or up to two folders
    above) declares for the fields of the resource that is ``path``; ``{}`` when none."""
    p = Path(path).resolve()
    for folder in list(p.parents)[:3]:
        dp = folder / "datapackage.json"
        if not dp.is_file():
            continue
        try:
            pkg = json.loads(dp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for res in pkg.get("resources", []) if isinstance(pkg, dict) else []:
            rp = res.get("path") if isinstance(res, dict) else None
            if not isinstance(rp, str) or (folder / rp).resolve() != p:
                continue
            fields = (res.get("schema") or {}).get("fields") or []
            return {f["name"]: f["unit"] for f in fields
                    if isinstance(f, dict) and isinstance(f.get("name"), str)
                    and isinstance(f.get("unit"), str) and f["unit"]}
    return {}
