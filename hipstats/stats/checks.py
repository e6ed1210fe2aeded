"""Argument checks shared by the statistical functions.

Each check raises :class:`hipstats.errors.AnalysisError` with a message that names the
argument and column at fault, so a user sees ``y='pain' is not a column of data`` rather
than a ``KeyError`` from deep inside pandas.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from hipstats.errors import AnalysisError

__all__ = [
    "check_frame",
    "check_columns",
    "check_numeric",
    "check_min_subjects",
    "check_not_constant",
    "check_groups_nonempty",
    "text_values",
]


def check_frame(data) -> pd.DataFrame:
    """Require a non-empty :class:`pandas.DataFrame`."""
    if not isinstance(data, pd.DataFrame):
        raise AnalysisError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if data.empty:
        raise AnalysisError("data is empty (no rows)")
    return data


def check_columns(data: pd.DataFrame, **roles: str | Iterable[str] | None) -> None:
    """Require every named column to exist.

    Parameters
    ----------
    data : DataFrame
    **roles
        ``argument_name=column`` (or a list of columns); ``None`` values are skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> check_columns(pd.DataFrame({"a": [1]}), x="a")
    """
    check_frame(data)
    for role, cols in roles.items():
        if cols is None:
            continue
        for col in ([cols] if isinstance(cols, str) else list(cols)):
            if col not in data.columns:
                avail = ", ".join(map(str, data.columns[:20]))
                raise AnalysisError(f"{role}={col!r} is not a column of data (columns: {avail})")


def text_values(s: pd.Series, most: int = 3) -> list:
    """The first distinct values of ``s`` that are not numbers (for error messages)."""
    vals = s.dropna()
    bad = vals[pd.to_numeric(vals, errors="coerce").isna()]
    return list(pd.unique(bad.astype(str)))[:most]


def check_numeric(data: pd.DataFrame, cols: str | Iterable[str]) -> None:
    """Require numeric (or boolean) columns."""
    for col in ([cols] if isinstance(cols, str) else list(cols)):
        if not (pd.api.types.is_numeric_dtype(data[col]) or pd.api.types.is_bool_dtype(data[col])):
            bad = text_values(data[col])
            what = (f"it holds text such as {bad}" if bad else
                    f"it holds numbers stored as text (dtype {data[col].dtype})")
            raise AnalysisError(f"column {col!r} must be numeric; {what}: convert it (declare "
                                "missing-value codes when loading)")


def check_min_subjects(data: pd.DataFrame, subject: str, minimum: int, what: str = "",
                       n: int | None = None) -> int:
    """Require at least ``minimum`` distinct subjects; return their number (``n``: already
    counted by the caller)."""
    n = int(data[subject].nunique(dropna=True)) if n is None else int(n)
    if n < minimum:
        extra = f" for {what}" if what else ""
        raise AnalysisError(f"at least {minimum} subjects are needed{extra}; data has {n}")
    return n


def check_not_constant(data: pd.DataFrame, cols: str | Iterable[str]) -> None:
    """Require each column to take at least two distinct non-missing values."""
    for col in ([cols] if isinstance(cols, str) else list(cols)):
        values = data[col].dropna()
        if values.empty:
            raise AnalysisError(f"column {col!r} is entirely missing")
        if values.nunique() < 2:
            first = values.iloc[0]
            first = first.item() if hasattr(first, "item") else first
            raise AnalysisError(f"column {col!r} is constant ({first!r}); "
                                "it carries no information for this analysis")


def check_groups_nonempty(data: pd.DataFrame, group: str, dv: str) -> None:
    """Require every level of ``group`` to have at least one non-missing ``dv``."""
    counts = data.groupby(group, observed=True, sort=True)[dv].apply(lambda s: int(s.notna().sum()))
    empty = [str(g) for g, c in counts.items() if c == 0]
    if empty:
        raise AnalysisError(f"{dv!r} is missing for every row of group(s) {empty} in {group!r}")


def finite_or_nan(x: float) -> float:
    """Return ``float(x)`` or NaN when it is not finite."""
    x = float(x)
    return x if np.isfinite(x) else float("nan")


def time_levels(values: pd.Series, order=None, allow_appearance: bool = False) -> list:
    """The order of a time column's levels.

    ``order`` when given (every value must be in it); else the categories of an ordered
    categorical; else sorted numbers; else, when ``allow_appearance``, the order of first
    appearance (loaded frames are sorted by the design's time grid). Text without an order
    raises :class:`AnalysisError`.
    """
    present = list(pd.unique(values.dropna()))
    if order is not None:
        order = list(order)
        unknown = sorted({str(v) for v in present} - {str(o) for o in order})
        if unknown:
            raise AnalysisError(f"time values {unknown} are not in order={order}")
        return order
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
        return list(values.cat.categories)
    if pd.api.types.is_numeric_dtype(values):
        return sorted(present)
    if allow_appearance:
        return present
    raise AnalysisError("cannot tell the order of a text time column; pass order=[...] "
                        "(e.g. order=['pre', 'post']) or use an ordered categorical")
