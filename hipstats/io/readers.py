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
from hipstats.io.readings import DECLARED, Reading

__all__ = ["RawTable", "read_raw", "FORMATS", "detect_format", "datapackage_units"]

#: Extensions and the format read for them.
FORMATS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv",
    ".xlsx": "excel", ".xlsm": "excel", ".parquet": "parquet", ".pq": "parquet",
    ".sav": "spss", ".zsav": "spss", ".dta": "stata", ".xpt": "sas_xport",
    ".xport": "sas_xport", ".sas7bdat": "sas7bdat", ".feather": "feather",
    ".arrow": "feather", ".ipc": "feather",
}

_MAGIC = {
    b"PK\x03\x04": "excel",  # xlsx is a zip file
    b"PAR1": "parquet",
    b"$FL2": "spss", b"$FL3": "spss",
    b"<stata_dta>": "stata",  # Stata 13+ (format 117-119)
    b"HEADER RECORD*******LIB": "sas_xport",
    b"ARROW1": "feather", b"FEA1": "feather",
    b"\xff\xff\xff\xff": "feather",  # an Arrow IPC stream (continuation marker)
    b"\x00" * 12 + b"\xc2\xea\x81\x60\xb3\x14\x11\xcf": "sas7bdat",
}


def _old_stata(head: bytes) -> bool:
    """Stata 8-12 files (format 113-115) have no text magic: release byte, then byte order."""
    return len(head) > 2 and head[0] in (0x71, 0x72, 0x73) and head[1] in (1, 2)


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
        ``csv``, ``tsv``, ``excel``, ``parquet``, ``spss``, ``stata``, ``sas_xport``,
        ``sas7bdat`` or ``feather``.
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
    warnings : list of str
        What the reader chose that the user should check (another data sheet not read).
    percent_cells : dict
        Column -> number of Excel cells formatted as percent, read as displayed (0.35 shown
        as ``35%`` is read as 35).
    missing_codes : dict
        Column -> {code: [rows]} of cells holding a Stata/SAS extended missing value
        (``.a``-``.z``), read as missing.
    excluded : list of (row, reason)
        Data rows the reader set aside (a units row under the header); they go to the ledger.
    """

    frame: pd.DataFrame
    source: str
    fmt: str
    labels: dict = field(default_factory=dict)
    value_labels: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    units: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    percent_cells: dict = field(default_factory=dict)
    missing_codes: dict = field(default_factory=dict)
    excluded: list = field(default_factory=list)


def detect_format(path: Path) -> str:
    """The format to read ``path`` as, from its extension, checked against its first bytes."""
    fmt = FORMATS.get(path.suffix.lower())
    with open(path, "rb") as fh:
        head = fh.read(40)
    magic = next((f for m, f in _MAGIC.items() if head.startswith(m)), None)
    if magic is None and fmt == "stata" and _old_stata(head):
        magic = "stata"
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


def read_raw(path: str | Path, sheet: str | int | None = None,
             subject_names=()) -> RawTable:
    """Read any supported file into a :class:`RawTable`.

    ``subject_names``: further names of the subject column (from ``columns=``), used to find
    the data sheet of a workbook when ``sheet`` is not given.

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
                raw = _read_excel(p, src, sheet, subject_names)
            elif fmt == "parquet":
                raw = _read_parquet(p, src)
            elif fmt == "feather":
                raw = _read_feather(p, src)
            else:
                raw = _read_stat(p, src, fmt)
        except HipstatsDataError:
            raise
        except Exception as exc:  # a corrupt binary file: say so, no traceback
            raise HipstatsDataError([DataProblem(
                src, None, None, None,
                f"cannot read as {fmt}: {type(exc).__name__}: {exc}")]) from None
    if fmt in ("csv", "tsv", "excel"):
        _units_row(raw)
    raw.units = datapackage_units(p)
    return raw


_RANGE_CELL = re.compile(r"[0-9.]+\s*[-\u2013]\s*[0-9.]+(\s*\S+)?")
_UNIT_ROW_WORDS = frozenset({"weeks", "week", "wk", "wks", "days", "id", "text", "code", "-",
                             "\u2013", "date", "yyyy-mm-dd", "dd/mm/yyyy", "mm/dd/yyyy",
                             "points", "score", "label", "category"})


def _units_row(raw: RawTable) -> None:
    """A row of units right under the header (``N``, ``kg``, ``(0-80)``): read as the columns'
    unit annotations (as if the header said ``strength [N]``) and not as data."""
    from hipstats.io import units as U

    f = raw.frame
    if len(f) < 2:
        return
    first = f.iloc[0]
    cells = {c: str(v).strip().strip("()[]").strip() for c, v in first.items()
             if v is not None and str(v).strip() != ""}
    if not cells:
        return
    units, ranges = {}, {}
    for c, v in cells.items():
        if not isinstance(first[c], str) or _NUMBER_CELL.fullmatch(v):
            return
        if U.normalise_unit(v):
            units[c] = v
        elif _RANGE_CELL.fullmatch(v):
            ranges[c] = v
        elif v.lower() not in _UNIT_ROW_WORDS:
            return
    if not units:
        return
    rename = {}
    for c in f.columns:
        if c in units and U.parse_annotation(str(c))[1] is None:
            rename[c] = f"{c} [{units[c]}]"
        elif c in ranges and U.parse_annotation(str(c))[2] is None:
            rename[c] = f"{c} ({ranges[c]})"
    row = int(f.index[0])
    raw.frame = f.iloc[1:].rename(columns=rename)
    raw.excluded.append((row, "units row under the header (read as the columns' units)"))
    raw.notes.append(Reading("units", f"row {row} holds units, read as the columns' units: "
                     + ", ".join(f"{c!s} {v}" for c, v in {**units, **ranges}.items())))


_NUMBER_CELL = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][+-]?[0-9]+)?")


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


def _bomless_utf16(data: bytes) -> str | None:
    """``utf-16-le``/``-be`` when every other byte of the start is NUL and the rest is ASCII
    text (no other binary file looks like that), else None."""
    head = data[:400]
    if len(head) < 8 or len(head) % 2:
        head = head[: len(head) // 2 * 2]
    if len(head) < 8:
        return None
    even, odd = head[0::2], head[1::2]
    for zeros, text, enc in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if not zeros.strip(b"\x00") and all(9 <= b < 127 or b >= 160 for b in text):
            return enc
    return None


def _utf16(data: bytes, src: str, encoding: str = "utf-16") -> bytes:
    """UTF-16 text (Excel's "Unicode text", with a byte-order mark) as UTF-8 bytes."""
    try:
        return data.decode(encoding).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise HipstatsDataError([DataProblem(
            src, None, None, None,
            f"UTF-16 text (byte-order mark) with an invalid byte at offset {exc.start}; "
            "re-save the file as UTF-8 CSV")]) from None


def _skip_title_lines(text: str, delimiter: str | None) -> int:
    """Lines above the header: the header is the first of the top 20 lines naming a subject
    column, else the first with two fields or more (title lines hold one, or nothing)."""
    lines = text.split("\n", 21)[:20]
    cells = [[f.strip().strip('"').strip() for f in line.split(delimiter or _sniff(line))]
             for line in lines]
    return _header_index(cells)


_COMMA_DEC = re.compile(r"[+-]?[0-9]*,[0-9]+")
_POINT_DEC = re.compile(r"[+-]?[0-9]*\.[0-9]+")


def _decimal_commas(frame: pd.DataFrame, src: str, notes: list, problems: list) -> pd.DataFrame:
    """``;``- or tab-separated text with decimal commas (European exports): read ``2,5`` as
    2.5 when every number in the file uses the comma; a file mixing ``2,5`` and ``2.5`` is
    refused, naming every cell with the minority mark (``1.234`` may be a thousands
    separator, so it is never guessed)."""
    comma, point = {}, {}
    for col in frame.columns:
        u = pd.unique(frame[col].to_numpy(object))
        txt = [x for x in u if isinstance(x, str) and ("," in x or "." in x)]
        c = {x for x in txt if _COMMA_DEC.fullmatch(x.strip())}
        d = {x for x in txt if _POINT_DEC.fullmatch(x.strip())}
        if c:
            comma[col] = c
        if d:
            point[col] = d
    if not comma:
        return frame
    n_c = sum(int(frame[c].isin(v).sum()) for c, v in comma.items())
    n_p = sum(int(frame[c].isin(v).sum()) for c, v in point.items())
    if point and n_p >= n_c:
        return frame  # a point-decimal file: each comma cell is reported where it is parsed
    frame = frame.copy()
    for col, vals in comma.items():
        s = frame[col]
        hit = s.isin(vals)
        frame[col] = s.where(~hit, s[hit].str.strip().str.replace(",", ".", regex=False))
    notes.append(Reading("layout", f"decimal commas read as decimal points ({n_c} "
                         f"cell{'s' if n_c != 1 else ''} in "
                         f"{', '.join(repr(str(c)) for c in comma)})"))
    for col, vals in point.items():
        for r in frame.index[frame[col].isin(vals).to_numpy()]:
            problems.append(DataProblem(
                src, int(r), str(col), frame.at[r, col].strip(),
                "decimal point in a file whose numbers use decimal commas: "
                "is it a decimal or a thousands separator? every number must use one "
                "decimal mark"))
    return frame


def _text_and_bytes(p: Path, src: str, delimiter, notes: list):
    """Bytes as UTF-8 (UTF-16 with a byte-order mark converted), title lines above the
    header removed -> (text, data)."""
    data = p.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        data = _utf16(data, src)
        notes.append(Reading("layout", "UTF-16 text (Excel 'Unicode text') read"))
    elif _bomless_utf16(data):
        data = _utf16(data, src, _bomless_utf16(data))
        notes.append(Reading("layout", "UTF-16 text without a byte-order mark read"))
    text = _decode(data, src, delimiter)
    if not text.strip():
        raise HipstatsDataError([DataProblem(src, None, None, None, "file has no content")])
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    skip = _skip_title_lines(text, delimiter)
    if skip:
        titles = [ln.strip().strip(delimiter or ",;\t").strip().strip('"')
                  for ln in text.split("\n", skip)[:skip]]
        titles = [t for t in titles if t]
        notes.append(Reading("layout", f"header read from line {skip + 1}"
                             + (f" (title {', '.join(repr(t) for t in titles)} above it "
                                "skipped)" if titles else "")
                             + "; data rows are counted from the row after it"))
        text = text.split("\n", skip)[skip]
        for _ in range(skip):
            data = data[data.index(b"\n") + 1:]
    return text, data


def _trailing_note(k: int) -> Reading:
    return Reading("layout", f"{k} empty column{'s' if k > 1 else ''} after the last named "
                   "column ignored (trailing delimiter)")


def _careful_rows(text, src, delimiter, fmt, problems, notes):
    """Quotes, ragged rows, trailing delimiters: the csv module -> (header, body, index)."""
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise HipstatsDataError([DataProblem(src, None, None, None,
                                             f"malformed {fmt.upper()}: {exc}")]) from None
    header = [h.strip() for h in rows[0]]
    width = len(header)
    k = _trailing_empty(header)  # a trailing delimiter on the header (and perhaps every) line
    if k and not any(any(x.strip() for x in r[width - k:]) for r in rows[1:]):
        header = header[: width - k]
        notes.append(_trailing_note(k))
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
                    f"row has {len(r)} fields but the header has {len(header)} (ragged row)"))
                continue
        body.append(r)
        index.append(i)
    return header, body, index


def _trailing_empty(header) -> int:
    k, width = 0, len(header)
    while k < width - 1 and header[width - 1 - k] == "":
        k += 1
    return k


def _check_header(header, src, problems) -> None:
    blank = [i + 1 for i, h in enumerate(header) if not h]
    for i in blank:
        problems.append(DataProblem(src, None, f"(column {i})", None, "header cell is empty"))
    dups = sorted({h for h in header if h and header.count(h) > 1})
    for h in dups:
        problems.append(DataProblem(src, None, h, None, "column name appears more than once"))
    if problems and (blank or dups):
        raise HipstatsDataError(problems)


def _read_text(p: Path, src: str, delimiter: str | None, fmt: str) -> RawTable:
    pre_notes: list[str] = []
    text, data = _text_and_bytes(p, src, delimiter, pre_notes)
    if delimiter is None:
        delimiter = _sniff(text)
    try:
        fast = _fast_rows(data, delimiter)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        fast = None  # the careful reader below says what is wrong
    problems: list[DataProblem] = []
    notes: list[str] = []
    if fast is None:
        header, body, index = _careful_rows(text, src, delimiter, fmt, problems, notes)
    else:
        header, frame, index = fast
        header = [h.strip() for h in header]
    if not any(header):
        raise HipstatsDataError([DataProblem(src, None, None, None, "header row is empty")])
    if fast is not None:
        k = _trailing_empty(header)
        if k and not frame.iloc[:, len(header) - k:].apply(
                lambda s: s.str.strip().ne("").any()).any():
            header, frame = header[: len(header) - k], frame.iloc[:, : len(header) - k]
            notes.append(_trailing_note(k))
    _check_header(header, src, problems)
    if fast is not None:
        frame.columns = header
        frame.index = pd.Index(np.asarray(index, dtype=np.int64), name="row")
    else:
        frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row", dtype="int64"),
                             dtype=object)
    if delimiter != ",":
        frame = _decimal_commas(frame, src, notes, problems)
    return RawTable(frame, src, fmt, problems=problems, notes=pre_notes + notes)


def _is_formula(v) -> bool:
    return (isinstance(v, str) and v.startswith("=")) or \
        type(v).__name__ in ("ArrayFormula", "DataTableFormula")


def _is_percent_format(fmt) -> bool:
    return isinstance(fmt, str) and "%" in re.sub(r'"[^"]*"|\\.', "", fmt)


def _as_displayed_percent(v) -> float:
    """0.35 shown as ``35%`` -> 35.0 exactly (decimal scaling, not 0.35 * 100)."""
    from decimal import Decimal

    return float(Decimal(repr(float(v))) * 100)


def _sheet_rows(ws):
    """Values of a worksheet, percent-formatted numbers as displayed; -> (rows, percent)."""
    rows, percent = [], {}
    for i, r in enumerate(ws.iter_rows()):
        vals = []
        for j, c in enumerate(r):
            v = getattr(c, "value", None)
            if isinstance(v, (int, float)) and not isinstance(v, bool) and \
                    _is_percent_format(getattr(c, "number_format", None)):
                percent[(i, j)] = v
                v = _as_displayed_percent(v)
            vals.append(v)
        rows.append(vals)
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    return rows, percent


def _nonempty(row) -> int:
    return sum(1 for v in row if v is not None and str(v).strip() != "")


def _header_index(rows, subject_names=()) -> int:
    """Index of the header row: the first of the top 20 rows naming a subject column, else
    the first holding two cells or more; rows above it (a title such as ``"Hip strength
    trial - export 2024-03-01"``, ``Site: | Oslo``) are skipped."""
    from hipstats.io.names import is_subject_name, norm_name

    extra = {norm_name(n) for n in subject_names}
    for i, r in enumerate(rows[:20]):
        width = _nonempty(r)
        if width >= 2 and any(
                v is not None and (is_subject_name(v) or norm_name(v) in extra) for v in r):
            if all(_nonempty(above) <= min(2, width - 1) for above in rows[:i]):
                return i  # the rows above are titles ("Site:", "Oslo"), not a header
            break
    for i, r in enumerate(rows[:20]):
        if _nonempty(r) >= 2:
            return i
    return 0


def _choose_sheet(wb, sheet, src, subject_names=()):
    """The worksheet to read: the one named; else the first *visible* sheet whose header
    names a subject column (hidden sheets are never read unless named)."""
    from hipstats.io.names import is_subject_name, norm_name

    extra = {norm_name(n) for n in subject_names}
    notes, warns = [], []
    if sheet is not None:
        if isinstance(sheet, int) or (str(sheet).isdigit() and sheet not in wb.sheetnames):
            k = int(sheet)
            if not 0 <= k < len(wb.worksheets):
                raise HipstatsDataError([DataProblem(
                    src, None, None, repr(sheet), f"no sheet number {k}; sheets: {wb.sheetnames}")])
            ws = wb.worksheets[k]
        elif sheet in wb.sheetnames:
            ws = wb[sheet]
        else:
            raise HipstatsDataError([DataProblem(
                src, None, None, repr(sheet), f"no sheet of that name; sheets: {wb.sheetnames}")])
        if getattr(ws, "sheet_state", "visible") != "visible":
            notes.append(Reading(DECLARED, f"sheet {ws.title!r} is hidden; read because sheet= "
                                             "names it"))
        return ws, _sheet_rows(ws), notes, warns
    visible = [ws for ws in wb.worksheets if getattr(ws, "sheet_state", "visible") == "visible"]
    hidden = [ws.title for ws in wb.worksheets if ws not in visible]
    data = []
    for ws in visible:
        rows, percent = _sheet_rows(ws)
        if rows and any(is_subject_name(v) or (v is not None and norm_name(v) in extra)
                        for v in rows[_header_index(rows, subject_names)]):
            data.append((ws, (rows, percent)))
    if hidden:
        notes.append(Reading("sheet", f"hidden sheet{'s' if len(hidden) > 1 else ''} "
                             f"{', '.join(repr(h) for h in hidden)} not read (name one "
                             "with sheet= to read it)"))
    if not data:
        nonempty = [ws for ws in visible if ws.max_row and ws.max_row > 0]
        if len(visible) == 1 or len(nonempty) == 1:
            ws = (nonempty or visible)[0]
            return ws, _sheet_rows(ws), notes, warns
        raise HipstatsDataError([DataProblem(
            src, None, None, None,
            "no visible sheet has a subject column in its header; visible sheets: "
            + ", ".join(repr(ws.title) for ws in visible)
            + (f" (hidden: {', '.join(repr(h) for h in hidden)})" if hidden else "")
            + "; choose one with sheet=")])
    ws, got = data[0]
    if ws is not wb.worksheets[0]:
        notes.append(Reading("sheet", f"data read from sheet {ws.title!r} (the first visible "
                             "sheet with a subject column)"))
    if len(data) > 1:
        warns.append(f"sheet {ws.title!r} read; other sheets also look like data: "
                     + ", ".join(repr(w.title) for w, _ in data[1:]) + " (choose with sheet=)")
    return ws, got, notes, warns


def _read_excel(p: Path, src: str, sheet, subject_names=()) -> RawTable:
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    try:
        ws, (rows, percent), notes, warns = _choose_sheet(wb, sheet, src, subject_names)
        title = ws.title
    finally:
        wb.close()
    if not rows:
        raise HipstatsDataError([DataProblem(src, None, None, None, "sheet is empty")])
    h = _header_index(rows, subject_names)
    if h:
        titles = [str(v).strip() for r in rows[:h] for v in r if v is not None and str(v).strip()]
        notes.append(Reading("layout", f"header read from spreadsheet row {h + 1}"
                             + (f" (title {', '.join(repr(t) for t in titles)} above it "
                                "skipped)" if titles else "")
                             + "; data rows are counted from the row after it"))
    header = ["" if v is None else str(v).strip() for v in rows[h]]
    while header and header[-1] == "":
        header.pop()
    width = len(header)
    problems = []
    body, index = [], []
    for i, r in enumerate(rows[h + 1:], start=1):
        extra = [v for v in r[width:] if v not in (None, "")]
        if extra:
            problems.append(DataProblem(src, i, None, repr(extra[0]),
                                        "cell to the right of the last named column"))
            continue
        r = list(r[:width]) + [None] * (width - len(r[:width]))
        body.append(["" if v is None else v for v in r])
        index.append(i)
    pct: dict = {}
    for (i, j), _ in percent.items():
        if i > h and j < width:
            pct[header[j]] = pct.get(header[j], 0) + 1
    for col, n in pct.items():
        notes.append(Reading("units", f"column {col!r}: {n} cell{'s' if n != 1 else ''} "
                             "formatted as percent read as displayed (0.35 shown as 35% is "
                             "read as 35)"))
    # formula cells whose result was never saved read as empty: say so, never NaN silently
    if any(v == "" for r in body for v in r):
        problems += _unsaved_formulas(p, src, title, rows, h, header, index)
    frame = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row", dtype="int64"),
                         dtype=object)
    return RawTable(frame, src, "excel", problems=problems, notes=notes, warnings=warns,
                    percent_cells=pct)


def _unsaved_formulas(p, src, title, rows, h, header, index) -> list[DataProblem]:
    import openpyxl

    wb = openpyxl.load_workbook(p, read_only=True, data_only=False)
    try:
        formulas = [list(r) for r in wb[title].iter_rows(values_only=True)]
    finally:
        wb.close()
    out = []
    width = len(header)
    for i in index:
        k = i + h
        if k >= len(formulas):
            continue
        for j, v in enumerate(formulas[k][:width]):
            if _is_formula(v) and (j >= len(rows[k]) or rows[k][j] is None):
                text = v if isinstance(v, str) else getattr(v, "text", type(v).__name__)
                out.append(DataProblem(
                    src, i, header[j], repr(str(text)),
                    "formula with no saved result (the file was written by a program "
                    "that does not calculate formulas); open and save it in Excel or "
                    "LibreOffice, or paste values"))
    return out


def _read_parquet(p: Path, src: str) -> RawTable:
    frame = pd.read_parquet(p)
    frame = frame.astype(object).where(frame.notna(), "")
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    return RawTable(frame, src, "parquet")


def _read_feather(p: Path, src: str) -> RawTable:
    import pyarrow as pa
    import pyarrow.feather as feather

    try:
        table = feather.read_table(p)
    except (pa.ArrowInvalid, OSError):  # an Arrow IPC *stream* rather than a file
        with pa.memory_map(str(p)) as fh:
            table = pa.ipc.open_stream(fh).read_all()
    frame = table.to_pandas()
    frame = frame.astype(object).where(frame.notna(), "")
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    return RawTable(frame, src, "feather")


_STAT_READERS = {"spss": "read_sav", "stata": "read_dta", "sas_xport": "read_xport",
                 "sas7bdat": "read_sas7bdat"}
_STAT_NAMES = {"spss": "SPSS", "stata": "Stata", "sas_xport": "SAS", "sas7bdat": "SAS"}


def _read_stat(p: Path, src: str, fmt: str) -> RawTable:
    """SPSS, Stata and SAS files (pyreadstat): codes, value labels and variable labels.

    Stata's and SAS's extended missing values (``.a``-``.z``, ``.A``-``.Z``, ``._``) are
    read as missing cells; which code each cell held is kept in ``missing_codes`` and said
    in a note (row by row), never turned into a number or silently merged with ``.``.
    """
    import pyreadstat

    reader = getattr(pyreadstat, _STAT_READERS[fmt])
    kw = {"apply_value_formats": False} if fmt != "sas_xport" else {}
    if fmt in ("stata", "sas7bdat"):
        kw["user_missing"] = True
    frame, meta = reader(str(p), **kw)
    frame.index = pd.Index(range(1, len(frame) + 1), name="row")
    types = getattr(meta, "readstat_variable_types", None) or {}
    missing_codes: dict = {}
    notes = []
    if fmt in ("stata", "sas7bdat"):
        for col in frame.columns:
            if types.get(col) in (None, "string") or frame[col].dtype != object:
                continue
            s = frame[col]
            codes = s.map(lambda v: isinstance(v, str))
            if not codes.any():
                continue
            found: dict = {}
            for r, v in s[codes].items():
                found.setdefault(f".{v}", []).append(int(r))
            missing_codes[str(col)] = found
            frame.loc[codes, col] = np.nan
            parts = []
            for code, rows in found.items():
                listed = ", ".join(str(r) for r in rows[:6]) + (" ..." if len(rows) > 6 else "")
                parts.append(f"{code} on row{'s' if len(rows) > 1 else ''} {listed}")
            notes.append(Reading("missing", f"column {str(col)!r}: {_STAT_NAMES[fmt]} extended "
                                 f"missing values read as missing ({'; '.join(parts)})"))
    frame = frame.astype(object).where(frame.notna(), "")
    labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
    return RawTable(frame, src, fmt, labels=labels, notes=notes,
                    value_labels=dict(getattr(meta, "variable_value_labels", None) or {}),
                    missing_codes=missing_codes)


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
