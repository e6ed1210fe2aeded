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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hipstats.errors import DataProblem, HipstatsDataError

__all__ = ["RawTable", "read_raw", "FORMATS", "detect_format"]

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
        File-level problems found while reading (ragged rows, bad bytes).
    """

    frame: pd.DataFrame
    source: str
    fmt: str
    labels: dict = field(default_factory=dict)
    value_labels: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)


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
        return _read_text(p, src, "\t" if fmt == "tsv" else None, fmt)
    try:
        if fmt == "excel":
            return _read_excel(p, src, sheet)
        if fmt == "parquet":
            return _read_parquet(p, src)
        return _read_spss(p, src)
    except HipstatsDataError:
        raise
    except Exception as exc:  # a corrupt binary file: say so, no traceback
        raise HipstatsDataError([DataProblem(
            src, None, None, None, f"cannot read as {fmt}: {type(exc).__name__}: {exc}")]) from None


def _decode(data: bytes, src: str) -> str:
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n")
        raise HipstatsDataError([DataProblem(
            src, None, None, None,
            f"binary content (NUL byte on line {line + 1}); expected a UTF-8 text table")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n")
        row = line  # line 1 is the header, so data row = line index
        raise HipstatsDataError([DataProblem(
            src, row if row >= 1 else None, None, repr(data[exc.start:exc.start + 4]),
            f"not UTF-8 text: invalid byte at offset {exc.start} (file line {line + 1}); "
            "re-save the file as UTF-8")]) from None
    return text.removeprefix("\ufeff")


def _read_text(p: Path, src: str, delimiter: str | None, fmt: str) -> RawTable:
    text = _decode(p.read_bytes(), src)
    if not text.strip():
        raise HipstatsDataError([DataProblem(src, None, None, None, "file has no content")])
    if delimiter is None:
        first = text.split("\n", 1)[0]
        counts = {d: first.count(d) for d in (",", ";", "\t")}
        delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise HipstatsDataError([DataProblem(src, None, None, None,
                                             f"malformed {fmt.upper()}: {exc}")]) from None
    rows = [r for r in rows]
    header = [h.strip() for h in rows[0]]
    problems: list[DataProblem] = []
    if not any(header):
        raise HipstatsDataError([DataProblem(src, None, None, None, "header row is empty")])
    blank = [i + 1 for i, h in enumerate(header) if not h]
    for i in blank:
        problems.append(DataProblem(src, None, f"(column {i})", None, "header cell is empty"))
    dups = sorted({h for h in header if h and header.count(h) > 1})
    for h in dups:
        problems.append(DataProblem(src, None, h, None, "column name appears more than once"))
    body = []
    index = []
    for i, r in enumerate(rows[1:], start=1):
        if len(r) == 0:
            continue  # a bare newline: no fields, nothing to lose
        if len(r) != len(header):
            if len(r) > len(header) and not any(x.strip() for x in r[len(header):]):
                r = r[: len(header)]  # trailing empty fields (Excel-saved CSVs)
            else:
                problems.append(DataProblem(
                    src, i, None, f"{len(r)} fields",
                    f"row has {len(r)} fields but the header has {len(header)} (ragged row)"))
                continue
        body.append(r)
        index.append(i)
    if problems and (blank or dups):
        raise HipstatsDataError(problems)
    frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row"), dtype=object)
    return RawTable(frame, src, fmt, problems=problems)


def _read_excel(p: Path, src: str, sheet) -> RawTable:
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            ws = wb.worksheets[sheet]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise HipstatsDataError([DataProblem(src, None, None, repr(sheet),
                                                 f"no sheet of that name; sheets: {wb.sheetnames}")])
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
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
    frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row"), dtype=object)
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
