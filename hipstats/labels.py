"""Readable labels for machine names: measures with units, model terms, lagged predictors.

Tables, prose, captions, figure axes and the Word export show what a paper would print
("Pain (VAS, cm)", "Limb (uninvolved vs involved) × week 2", "Strength at the previous visit");
results keep machine names (``pain_vas``, ``C(limb)[T.uninvolved]:C(week)[T.2]``) and CSV
tables keep them too, with a ``label`` column added by :func:`add_labels` where it helps.

Labels come, in order, from the frame's ``attrs["measures"]`` (set by :func:`hipstats.load`
and :func:`hipstats.example` from the design: the measure's label, instrument and unit), a
``design``, then the names of the built-in measures below. Presentation lives here, never in
:mod:`hipstats.stats`.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["NAMES", "measure_label", "term_label", "add_labels", "measure_facts",
           "names_in_words"]

#: Names and default units of the built-in measures; a frame's ``attrs["units"]`` (e.g.
#: strength in N*m/kg) overrides the unit.
NAMES = {
    "strength": ("Abductor strength, involved", "N/kg"),
    "strength_uninvolved": ("Abductor strength, uninvolved", "N/kg"),
    "strength_within": ("Strength, deviation from own mean", "N/kg"),
    "strength_between": ("Strength, own mean", "N/kg"),
    "lsi": ("Limb symmetry index", "%"),
    "function_score": ("Function, LEFS", "0-80"),
    "pain_vas": ("Pain, VAS", "cm"),
    "valgus_peak": ("Peak knee valgum", "deg"),
    "knee_variability": ("Knee variability", "deg"),
    "week": ("Week", None), "time": ("Visit", None),
}
_SUFFIX = {"_within": ", deviation from own mean", "_between": ", own mean",
           "_bl": " at baseline", "_change": None}
_REFERENCE = {"limb": "involved"}
_TIMES = {"week", "time", "visit", "day", "month"}


def measure_facts(col: str, data=None, design=None) -> dict:
    """Facts about a measure (label, display, unit, direction, mcid, mcid_source): from
    ``data.attrs["measures"]``, else ``design``, else ``{}``."""
    info = (getattr(data, "attrs", {}) or {}).get("measures") if data is not None else None
    if isinstance(info, dict) and col in info:
        return dict(info[col])
    if design is not None:
        try:
            m = design.measure(col)
        except KeyError:
            return {}
        return design.measure_info()[m.name]
    return {}


def _unit(unit) -> str:
    return str(unit).replace("*", "\u00b7") if unit else ""


def measure_label(col: str, data=None, design=None, unit: bool = True) -> str:
    """Label of a column, with its unit: ``"Pain (VAS, cm)"``, ``"Change in pain (VAS, cm)"``.

    Parameters
    ----------
    col : str
        A measure (``"akps"``) or a derived column (``"strength_change"``,
        ``"strength_within"``, ``"pain_vas_bl"``).
    data : DataFrame, optional
        A loaded frame: its ``attrs["measures"]`` and ``attrs["units"]`` are used.
    design : Design, optional
        Used when ``data`` carries no measure facts.
    unit : bool
        Append the unit.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("hipknee6wk")
    >>> measure_label("pain_vas", df), measure_label("akps_change", df)
    ('Pain (VAS, cm)', 'Change in function (AKPS)')
    """
    units = (getattr(data, "attrs", {}) or {}).get("units", {}) if data is not None else {}
    for suffix, text in _SUFFIX.items():
        if col.endswith(suffix) and len(col) > len(suffix):
            base = col[: -len(suffix)]
            if col in NAMES and not measure_facts(base, data, design):
                break
            inner = measure_label(base, data, design, unit)
            if text is None:
                return f"Change in {inner[0].lower() + inner[1:]}"
            name, _, rest = inner.partition(" (")
            return f"{name}{text}" + (f" ({rest}" if rest else "")
    facts = measure_facts(col, data, design)
    if facts:
        u = _unit(units.get(col, facts.get("unit")))
        label = facts.get("label") or col
        if not unit or not u or u == "points":
            return label
        return f"{label[:-1]}, {u})" if label.endswith(")") else f"{label} ({u})"
    if col in NAMES:
        name, u = NAMES[col]
        u = _unit(units.get(col, u))
        return f"{name} ({u})" if (u and unit) else name
    return col.replace("_", " ")


_C = re.compile(r"^C\((?P<var>[A-Za-z_][A-Za-z0-9_]*)(?P<args>[^)]*(?:\([^)]*\))?[^)]*)\)"
                r"\[T\.(?P<level>[^\]]*)\]$")
_T = re.compile(r"^(?P<var>[A-Za-z_][A-Za-z0-9_]*)\[T\.(?P<level>[^\]]*)\]$")
_LAG = re.compile(r"^(?P<var>[A-Za-z_][A-Za-z0-9_]*)\[k-1\]$")


def _levels_in(args: str) -> list[str]:
    m = re.search(r"levels\s*=\s*\[([^\]]*)\]", args)
    return [x.strip().strip("'\"") for x in m.group(1).split(",")] if m else []


def _part(part: str, data, design, references: dict) -> str:
    m = _C.match(part) or _T.match(part)
    if m:
        var, level = m.group("var"), m.group("level")
        levels = _levels_in(m.groupdict().get("args") or "")
        if var in _TIMES or (design is not None and var == design.time):
            return f"{var} {level}" + (f" (vs {levels[0]})" if levels else "")
        ref = references.get(var) or (levels[0] if levels else None)
        name = measure_label(var, data, design, unit=False)
        name = name[0].upper() + name[1:]
        return f"{name} ({level} vs {ref})" if ref else f"{name} ({level})"
    m = _LAG.match(part)
    if m:
        name = measure_label(m.group("var"), data, design, unit=False)
        return f"{name} at the previous visit"
    if part == "Intercept":
        return "Intercept"
    name = measure_label(part, data, design, unit=False)
    return name[0].upper() + name[1:]


def term_label(term: str, data=None, design=None, references: dict | None = None) -> str:
    """A model term as a paper prints it.

    ``C(limb)[T.uninvolved]:C(week)[T.2]`` -> ``"Limb (uninvolved vs involved) × week 2"``;
    ``strength[k-1]`` -> ``"Abductor strength, involved at the previous visit"`` (the
    measure's label); ``strength_within`` -> ``"Strength, deviation from own mean"``.

    Parameters
    ----------
    term : str
        A patsy column name or a cross-lagged predictor.
    data, design
        As in :func:`measure_label`.
    references : dict, optional
        Reference level per factor (``{"group": "KNEE"}``); defaults: ``limb`` ->
        ``involved``, ``group`` -> the design's reference arm, ``levels=[...]`` -> its first
        level.

    Examples
    --------
    >>> import hipstats
    >>> term_label("C(limb)[T.uninvolved]:C(week)[T.2]")
    'Limb (uninvolved vs involved) × week 2'
    >>> term_label("strength[k-1]", design=hipstats.hipknee6wk)
    'Hip-abductor strength at the previous visit'
    """
    refs = dict(_REFERENCE)
    if design is not None and getattr(design, "reference", ""):
        refs["group"] = design.reference
    refs.update(references or {})
    parts = term.split(":")
    out = [_part(p, data, design, refs) for p in parts]
    text = " \u00d7 ".join(out)
    return text[0].upper() + text[1:] if text else text


def add_labels(df: pd.DataFrame, column: str = "term", data=None, design=None,
               references: dict | None = None, kind: str = "term") -> pd.DataFrame:
    """A copy of ``df`` with a ``label`` column beside ``column`` (machine names kept).

    ``column`` may be the index name (e.g. an anova table indexed by term); ``kind`` is
    ``"term"`` (:func:`term_label`) or ``"measure"`` (:func:`measure_label`).
    """
    out = df.copy()
    if column not in out.columns and out.index.name == column:
        out = out.reset_index()
    fn = ((lambda t: term_label(str(t), data, design, references)) if kind == "term"
          else (lambda t: measure_label(str(t), data, design)))
    labels = [fn(v) for v in out[column]]
    out.insert(list(out.columns).index(column) + 1, "label", labels)
    return out


def names_in_words(text: str, names, data=None, design=None) -> str:
    """``text`` with each of ``names`` (column names, whole words) replaced by its label as
    the middle of a sentence says it: ``"missing koos_pf_bl"`` -> ``"missing function at
    baseline (KOOS-PF)"``, ``"N*m / body_mass (kg)"`` -> ``"N*m / body mass (kg)"``."""
    names = sorted({str(n) for n in names if n}, key=len, reverse=True)
    if not names:
        return str(text)

    def words(m):
        s = measure_label(m.group(1), data, design, unit=False)
        return s[0].lower() + s[1:] if len(s) > 1 and not s[1].isupper() else s
    return re.sub(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", words, str(text))
