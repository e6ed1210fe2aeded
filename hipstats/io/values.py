"""Single cells: how they are shown in messages, which are missing, numbers and labels.

Every distinct cell is parsed once by these functions and the result broadcast
(:mod:`hipstats.io.cells`).
"""

from __future__ import annotations

import datetime as _dt
import math
import re

import numpy as np
import pandas as pd

__all__ = ["MISSING_TOKENS", "show_value", "text_of", "is_missing", "tkey", "parse_number"]

#: Cell texts read as missing (case-insensitive). Codes such as -99 are never guessed
#: (declare them with ``missing=[-99]``).
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "none", "."})

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def tkey(s) -> str:
    """Letters and digits only, lower case (``"Follow-up"`` -> ``"followup"``)."""
    return re.sub(r"[^0-9a-z]+", "", str(s).strip().lower())


def show_value(v) -> str | None:
    """A cell as the file wrote it, for messages: ``91.9``, ``0``, ``'abc'``; ``None`` if empty.

    Examples
    --------
    >>> show_value(np.float64(91.9)), show_value(0.0), show_value("abc"), show_value(" 6_5")
    ('91.9', '0', "'abc'", "'6_5'")
    """
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).upper()
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return None
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return repr(f)
    if isinstance(v, str):
        s = v.strip()
        if _NUMBER.fullmatch(s):
            return s
        return repr(s)
    return repr(str(v))


def text_of(v) -> str:
    """A cell as text: whole floats without ``.0`` (SPSS/Stata codes), strings stripped."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)):
        return str(int(v))
    return str(v).strip()


def is_missing(v) -> bool:
    """Empty, NaN or one of :data:`MISSING_TOKENS`."""
    if type(v) is str:
        return v.strip().lower() in MISSING_TOKENS
    if v is None:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    if isinstance(v, np.floating) and np.isnan(v):
        return True
    return isinstance(v, str) and v.strip().lower() in MISSING_TOKENS


def parse_number(v, codes_text, codes_num):
    """-> (value, problem message or None, coded-missing flag)."""
    if v is None:
        return math.nan, None, False
    if isinstance(v, (bool, np.bool_)):
        return math.nan, "expected a number, found a boolean", False
    if isinstance(v, (int, float, np.integer, np.floating)):
        x = float(v)
        if math.isnan(x):
            return math.nan, None, False
    elif isinstance(v, (_dt.date, _dt.time, _dt.timedelta, pd.Timestamp)):
        return math.nan, "expected a number, found a date or time", False
    else:
        s = str(v).strip()
        low = s.lower()
        if low in MISSING_TOKENS:
            return math.nan, None, False
        if low in codes_text:
            return math.nan, None, True
        if not _NUMBER.fullmatch(s):
            if re.fullmatch(r"-?\d+,\d+", s):
                hint = " (decimal comma? use a point)"
            elif "_" in s and _NUMBER.fullmatch(s.replace("_", "")):
                hint = " (digit separators such as '_' are not allowed in data)"
            else:
                hint = ""
            return math.nan, f"expected a number{hint}", False
        x = float(s)
    if not math.isfinite(x):
        return math.nan, "expected a finite number", False
    if x in codes_num:
        return math.nan, None, True
    return x, None, False
