"""Visits as files name them, placed on the design's time grid by documented rules.

Labels (a time column's cells, or the visit part of a wide column name) are read after
lower-casing; ``.``, ``-``, ``_`` and spaces separate words.

Designs counted in weeks (``program6wk``: 0, 2, 4, 6)
    * a number of weeks in any common spelling: ``2``, ``2.0``, ``week 2``, ``Week_2``,
      ``wk2``, ``Wk.2``, ``Wk. 4``, ``w4``, ``2wk``, ``2w``, ``6 weeks``;
    * the first visit by name: ``baseline``, ``base``, ``bl``, ``screening``, ``enrolment``;
    * a visit *number*: ``V1``, ``visit 3`` count scheduled visits from 1 (``V1`` is the first
      visit, week 0; ``V3`` the third, week 4), or from 0 when the same file also has ``V0``;
      ``T0``, ``time 1``, ``TP2`` count visits from 0 (``T0`` is baseline), as trials write
      them - unless the file's T-numbers are all weeks of the grid and cannot be visit
      counts (``T0, T2, T4, T6``: weeks). Where both readings fit and differ (a file with
      only ``T0`` and ``T2``: week 2 or the third visit?) each such label is an error asking
      for ``Week 2`` or ``V3``: never a guess.
Designs with named visits (``pfps3wk``: ``pre``, ``post``)
    * the name itself (case and punctuation ignored: ``Pre``, ``POST``);
    * ``baseline``/``pretest``/``pre-intervention``/``before`` for the first visit,
      ``follow-up``/``FU``/``posttest``/``post-intervention``/``after`` for the second;
      such a spelling is an *alias* and is used only while it does not clash: a file that
      also has the name itself (``post`` *and* ``follow-up``) has a third visit, which is an
      error naming it, never merged into ``post``;
    * visit numbers as above (``V1``/``T0`` = ``pre``; ``V2``/``T1`` = ``post``).

Value-labelled numeric codes (SPSS, Stata, a REDCap dictionary) are read by their label
first, then by the code. Anything else is an error naming the label and the grid.

Visits as dates (``visit_dates={"column": "visit_date", "window_days": 3}``)
    Each subject's earliest dated visit is its baseline (the grid's first visit). A visit on
    day *d* after it is the scheduled visit whose day lies within ``window_days`` of *d*
    (weeks x 7 for week designs; named designs give ``schedule={"pre": 0, "post": 21}``).
    A visit in no window is excluded, with its row, date, day and the windows named; two
    visits in one window are the duplicate they are. The actual time since baseline is kept
    as the column ``days_since_baseline``, for models that use time as measured.
"""

from __future__ import annotations

import datetime as _dt
import re

import numpy as np
import pandas as pd

__all__ = ["read_visit", "wide_token", "counting", "ambiguous_message", "third_visit_clashes",
           "redcap_event",
           "VisitDates", "visit_dates_option", "parse_date", "assign_visits"]

START = ("baseline", "base", "bl", "screening", "screeningbaseline", "enrolment", "enrollment")
NAMED_ALIASES = {
    "baseline": "pre", "base": "pre", "bl": "pre", "pretest": "pre", "preintervention": "pre",
    "pretreatment": "pre", "before": "pre",
    "followup": "post", "fu": "post", "posttest": "post", "postintervention": "post",
    "posttreatment": "post", "after": "post",
}
_WEEKS = re.compile(r"(?:(?:weeks?|wks?|w)\s*(\d+)(?:\.0+)?|(\d+)(?:\.0+)?\s*(?:weeks?|wks?|w)?)")
_ORDINAL = re.compile(r"(v|visit|t|time|tp|timepoint)\s*(\d+)")


def _words(s) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[._\-]+", " ", str(s).strip().lower())).strip()


def _key(s) -> str:
    return re.sub(r"[^0-9a-z]+", "", str(s).strip().lower())


def _weekly(grid) -> bool:
    return all(isinstance(t, (int, np.integer)) for t in grid)


_T = ("t", "time", "tp", "timepoint")


def counting(labels, grid) -> tuple:
    """How a file counts its visit numbers -> ``(vbase, tmode)``: ``V`` numbers from 1, or
    from 0 when any ``V0`` is among ``labels``; ``T`` numbers as visit counts
    (``"ordinal"``), as weeks (``"week"``) or ``"ambiguous"`` (rules in the module doc)."""
    vs, ts = [], []
    for x in labels:
        m = _ORDINAL.fullmatch(_words(x).replace(" ", "")) if isinstance(x, str) else None
        if m:
            (ts if m.group(1) in _T else vs).append(int(m.group(2)))
    vbase = 0 if 0 in vs else 1
    if not ts or not _weekly(grid):
        return vbase, "ordinal"
    as_week = all(n in grid for n in ts)
    as_count = all(0 <= n < len(grid) for n in ts)
    if as_week and as_count:
        return vbase, "ordinal" if all(grid[n] == n for n in ts) else "ambiguous"
    return vbase, "week" if as_week else "ordinal"


def read_visit(label, grid, count: tuple = (1, "ordinal")):
    """-> ``(timepoint or None, how)``; ``how`` is ``None`` (the grid's own spelling),
    ``"alias"`` (a named alias), ``"number"`` (a visit number) or ``"ambiguous"`` (a T-number
    that may be a week or a visit count). ``count`` is :func:`counting`'s answer."""
    w = _words(label)
    k = w.replace(" ", "")
    m = _ORDINAL.fullmatch(k)
    if m:
        vbase, tmode = count
        n = int(m.group(2))
        if m.group(1) in _T and tmode == "week":
            return (n if n in grid else None), None
        if m.group(1) in _T and tmode == "ambiguous":
            return (n, None) if n < len(grid) and grid[n] == n else (None, "ambiguous")
        n -= vbase if m.group(1) in ("v", "visit") else 0
        return (grid[n] if 0 <= n < len(grid) else None), "number"
    if _weekly(grid):
        if k in START:
            return grid[0], "alias"
        if re.fullmatch(r"[+-]?\d+(?:\.0*)?", str(label).strip()):
            n = int(float(str(label).strip()))
            return (n if n in grid else None), None
        m = _WEEKS.fullmatch(w)
        if m:
            n = int(m.group(1) or m.group(2))
            return (n if n in grid else None), None
        return None, None
    names = {_key(t): t for t in grid}
    if k in names:
        return names[k], None
    if k in NAMED_ALIASES and NAMED_ALIASES[k] in names:
        return names[NAMED_ALIASES[k]], "alias"
    return None, None


def ambiguous_message(label, grid) -> str:
    n = int(re.sub(r"\D", "", str(label)) or 0)
    nth = {1: "second", 2: "third", 3: "fourth", 4: "fifth"}.get(n, f"visit no. {n + 1}")
    other = f"the {nth} visit ({grid[n]!r})" if n < len(grid) else f"the {nth} visit"
    return (f"{str(label)!r} may be week {n} or, counting visits from T0, {other}; the "
            f"file's T-numbers fit both readings: write weeks ('Week {n}') or visit numbers "
            f"('V{n + 1}')")


def wide_token(tok: str, grid, count: tuple = (1, "ordinal")):
    """The visit a wide column's suffix or prefix names: ``(timepoint or None, how,
    is_visit)``; ``is_visit`` says the token looks like a visit even when off the grid."""
    w = _words(tok)
    k = w.replace(" ", "")
    if _ORDINAL.fullmatch(k) or k in START or k in NAMED_ALIASES:
        tp, how = read_visit(tok, grid, count)
        return tp, how, True
    if _weekly(grid):
        m = re.fullmatch(r"(?:weeks?|wks?|w)(\d+)|(\d+)(?:weeks?|wks?|w)?", k)
        if m:
            n = int(m.group(1) or m.group(2))
            return (n if n in grid else None), None, True
        return None, None, False
    tp, how = read_visit(tok, grid)
    return tp, how, tp is not None


def third_visit_clashes(labels_to_tp: dict, grid) -> dict:
    """Aliases that land on a timepoint the file also names directly (``follow-up`` beside
    ``post``): ``{label: (timepoint, direct labels)}`` - a third visit, never merged."""
    by_tp: dict = {}
    for lab, (tp, how) in labels_to_tp.items():
        if tp is not None:
            by_tp.setdefault(tp, []).append((_key(lab), lab, how))
    out = {}
    for tp, items in by_tp.items():
        direct = sorted({str(lab) for _, lab, how in items if how is None})
        if not direct or _weekly(grid):
            continue
        for k, lab, how in items:
            if how == "alias":
                out[lab] = (tp, direct)
    return out


def redcap_event(v, grid):
    """A REDCap unique event name (``week_2_arm_1``) -> (timepoint or None, problem or None)."""
    if v is None or (isinstance(v, float) and v != v) or str(v).strip().lower() in (
            "", "na", "n/a", "nan", "null", "none", "."):
        return None, "REDCap event name is missing"
    s = re.sub(r"_arm_\d+$", "", str(v).strip().lower())
    if _key(s) in START:
        return grid[0], None
    if _weekly(grid):
        m = re.fullmatch(r"(?:week|wk|w)_?(\d+)(?:_.*)?", s)
        if m and int(m.group(1)) in grid:
            return int(m.group(1)), None
    tp, _ = read_visit(s, grid)
    if tp is not None:
        return tp, None
    return None, f"REDCap event does not match a timepoint {list(grid)}"


# -- visits as dates -------------------------------------------------------------------------
class VisitDates:
    """A validated ``visit_dates`` option: column, window (days) and schedule (day of each
    timepoint from baseline)."""

    def __init__(self, column: str, window_days: float, schedule: dict):
        self.column, self.window_days, self.schedule = column, window_days, schedule


def visit_dates_option(opt, grid) -> "VisitDates":
    """Check ``visit_dates=``; raises ``ValueError`` with what to write."""
    if isinstance(opt, str):
        opt = {"column": opt}
    if not isinstance(opt, dict) or not isinstance(opt.get("column"), str):
        raise ValueError('visit_dates= must be {"column": "<date column>", "window_days": 3}')
    unknown = set(opt) - {"column", "window_days", "schedule"}
    if unknown:
        raise ValueError(f"visit_dates= has unknown key(s) {sorted(unknown)}; "
                         "allowed: column, window_days, schedule")
    win = opt.get("window_days", 3)
    if isinstance(win, bool) or not isinstance(win, (int, float)) or not win >= 0:
        raise ValueError("visit_dates window_days must be a number of days >= 0")
    sched = opt.get("schedule")
    if sched is None:
        if not _weekly(grid):
            raise ValueError("visit_dates= on a design with named visits needs schedule= "
                             "(day of each visit from baseline), e.g. "
                             + "{" + ", ".join(f'"{t}": {7 * i}' for i, t in enumerate(grid))
                             + "}")
        sched = {t: 7 * int(t) for t in grid}
    else:
        if not isinstance(sched, dict):
            raise ValueError("visit_dates schedule must map each timepoint to a day")
        by_key = {_key(t): t for t in grid}
        fixed = {}
        for k, v in sched.items():
            t = by_key.get(_key(k))
            if t is None or isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"visit_dates schedule: {k!r}: {v!r} is not a timepoint of the "
                                 f"design {list(grid)} with a day number")
            fixed[t] = float(v)
        if set(fixed) != set(grid):
            raise ValueError(f"visit_dates schedule must give a day for every timepoint "
                             f"{list(grid)}")
        sched = fixed
    days = sorted(sched.values())
    if any(b - a <= 2 * win for a, b in zip(days, days[1:])):
        raise ValueError(f"visit_dates window_days={win:g} makes the windows around days "
                         f"{days} overlap; use a smaller window")
    return VisitDates(opt["column"], float(win), sched)


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T]00:00(?::00)?)?")


def parse_date(v):
    """A visit date -> (numpy datetime64[D] or None, problem message or None)."""
    if isinstance(v, (pd.Timestamp, _dt.datetime)):
        if (v.hour, v.minute, v.second) != (0, 0, 0):
            return np.datetime64(pd.Timestamp(v).date(), "D"), None
        return np.datetime64(pd.Timestamp(v).date(), "D"), None
    if isinstance(v, _dt.date):
        return np.datetime64(v, "D"), None
    if isinstance(v, np.datetime64):
        return v.astype("datetime64[D]"), None
    s = str(v).strip()
    m = _ISO.fullmatch(s)
    if m:
        try:
            return np.datetime64(_dt.date(*map(int, m.groups())), "D"), None
        except ValueError:
            return None, "not a calendar date"
    return None, ("expected a date as YYYY-MM-DD (or a date cell); day-month order such as "
                  "03/04/2024 is ambiguous")


def assign_visits(subject: np.ndarray, dates: np.ndarray, opt: VisitDates):
    """Nominal visit per row from dates: -> (timepoint array, days since baseline, in_window).

    ``dates`` is datetime64[D] with NaT for unusable cells (their rows get None)."""
    n = len(dates)
    tp = np.empty(n, dtype=object)
    tp[:] = None
    days = np.full(n, np.nan)
    ok = ~np.isnat(dates) & pd.notna(subject)
    if not ok.any():
        return tp, days, np.ones(n, bool)
    codes = pd.factorize(subject[ok])[0]
    d = dates[ok].astype("int64")
    first = pd.Series(d).groupby(codes).transform("min").to_numpy()
    rel = (d - first).astype(float)
    days[ok] = rel
    sched = sorted(opt.schedule.items(), key=lambda kv: kv[1])
    sday = np.array([s for _, s in sched])
    j = np.abs(rel[:, None] - sday[None, :]).argmin(axis=1)
    inwin = np.abs(rel - sday[j]) <= opt.window_days
    labs = np.empty(len(sched), dtype=object)
    labs[:] = [t for t, _ in sched]
    got = np.where(inwin, labs[j], None)
    tp[ok] = got
    in_window = np.ones(n, bool)
    in_window[ok] = inwin
    return tp, days, in_window
