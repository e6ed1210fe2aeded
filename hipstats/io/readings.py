"""How a file was read, by kind: the loading stages' notes grouped for people.

A stage that interprets the file (a sheet chosen, a header found under a title, visits read
from numbers, labels, dates or suffixes, a unit taken from a header or a dictionary, a column
matched by an accepted name or ignored, a missing-value code, a value carried over a subject's
rows) writes a :class:`Reading`: the note's text, as ``hipstats validate`` prints it, tagged
with its kind. :func:`group_readings` adds the rows the ledger set aside and groups all of
them into one entry per kind, in a fixed order: what :func:`hipstats.load` warns (one
:class:`~hipstats.errors.ReadingWarning` per kind), keeps in ``df.attrs["readings"]`` and,
with ``strict=True``, refuses. A note that only repeats an explicit option (``columns=``,
``sheet=`` naming a hidden sheet) is of kind :data:`DECLARED`: said by validate, not warned.
"""

from __future__ import annotations

__all__ = ["Reading", "KINDS", "DECLARED", "group_readings", "reading_message"]

#: Kind -> heading, in the order readings are reported.
KINDS = {
    "sheet": "sheet chosen",
    "layout": "table read",
    "rows": "rows excluded",
    "visits": "visits read",
    "columns": "columns matched by name",
    "ignored": "columns ignored",
    "units": "units read",
    "missing": "missing-value codes",
    "carried": "values carried",
    "other": "other readings",
}
DECLARED = "declared"
_SHOWN = 8  # items a warning lists before "... and N more"


class Reading(str):
    """A note on how the file was read (plain text) with its ``kind`` (a key of
    :data:`KINDS`, or :data:`DECLARED`)."""

    def __new__(cls, kind: str, text: str):
        if kind not in KINDS and kind != DECLARED:
            raise ValueError(f"unknown kind of reading {kind!r}")
        obj = super().__new__(cls, text)
        obj.kind = kind
        return obj

    def __reduce__(self):
        return Reading, (self.kind, str(self))


def _excluded(ledger) -> list[str]:
    """Rows the ledger set aside, one item per reason: ``rows 11, 32: <reason>``."""
    if ledger is None or not len(ledger) or "status" not in ledger:
        return []
    ex = ledger[ledger["status"] == "excluded"]
    by_reason: dict[str, list[int]] = {}
    for row, reason in zip(ex["source_row"].tolist(), ex["reason"].tolist()):
        by_reason.setdefault(str(reason), []).append(int(row))
    return [f"row{'s' if len(rows) > 1 else ''} {', '.join(str(r) for r in rows)}: {why}"
            for why, rows in sorted(by_reason.items(), key=lambda kv: kv[1][0])]


def group_readings(notes, ledger=None) -> list[dict]:
    """One entry per kind of reading: ``{"kind", "heading", "items"}`` (items in the order
    given; notes of kind :data:`DECLARED` left out; a plain-text note is ``"other"``).
    Plain str, lists and dicts only: JSON-ready and deterministic for the same file."""
    by_kind: dict[str, list[str]] = {k: [] for k in KINDS}
    by_kind["rows"] += _excluded(ledger)
    for n in notes:
        kind = getattr(n, "kind", "other")
        if kind != DECLARED and str(n) not in by_kind[kind]:
            by_kind[kind].append(str(n))
    return [{"kind": k, "heading": KINDS[k], "items": items}
            for k, items in by_kind.items() if items]


def reading_message(source: str, reading: dict) -> str:
    """``<file>: <heading>: item; item; ...`` (the first few items; the rest counted)."""
    items = reading["items"]
    shown = "; ".join(items[:_SHOWN])
    if len(items) > _SHOWN:
        shown += f"; ... and {len(items) - _SHOWN} more (df.attrs['readings'])"
    return f"{source}: {reading['heading']}: {shown}"
