"""Exceptions and the problem record shared by loading, validation and analysis.

A :class:`DataProblem` names one bad cell (or file, or row): file, 1-based data row,
column, the offending value and what is wrong. :class:`HipstatsDataError` carries *all*
problems found, never only the first, and prints them one per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

__all__ = ["DataProblem", "HipstatsError", "HipstatsDataError", "AnalysisError",
           "ReadingWarning"]


@dataclass(frozen=True, order=True)
class DataProblem:
    """One problem in an input file.

    Attributes
    ----------
    file : str
        Path of the file as given by the user.
    row : int or None
        1-based data row (the first row after the header is row 1); ``None`` for
        file-level problems (unreadable file, missing column).
    column : str or None
        Column name as spelled in the file; ``None`` for row- or file-level problems.
    value : str or None
        The offending value, as text (``repr`` of what was read).
    message : str
        What is wrong, in plain words.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column!r}"
        val = f" (value {self.value})" if self.value is not None else ""
        return f"{where}: {self.message}{val}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "row": self.row, "column": self.column,
                "value": self.value, "message": self.message}


class HipstatsError(Exception):
    """Base class of every error hipstats raises on purpose."""


class HipstatsDataError(HipstatsError, ValueError):
    """Invalid input data; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[DataProblem] | str):
        if isinstance(problems, str):
            problems = [DataProblem("<data>", None, None, None, problems)]
        self.problems: list[DataProblem] = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in input data"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class AnalysisError(HipstatsError, ValueError):
    """An analysis cannot run on the data given (wrong column, too few subjects, ...)."""


class ReadingWarning(UserWarning):
    """How :func:`hipstats.load` read a file (sheet chosen, rows excluded, visits read from
    numbers or labels, units taken from a header, columns mapped or ignored): one warning per
    kind of reading, naming the file and the rows or columns. Silence them with
    ``warnings.filterwarnings("ignore", category=hipstats.ReadingWarning)``; the frame keeps
    them in ``df.attrs["readings"]``, and ``hipstats.load(..., strict=True)`` refuses them."""
