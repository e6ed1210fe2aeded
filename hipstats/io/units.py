"""Unit declarations and conversions between a file's units and the analysis units.

Units are never guessed from the size of the numbers. A column's unit is *declared* by, in
order of precedence: the ``units=`` argument, a header annotation (``strength [kgf]``,
``pain_vas (mm)``, ``body_mass_kg``), a REDCap data-dictionary field note or label, an SPSS
variable label, or the ``unit`` of the field in a ``datapackage.json`` describing the file. A
per-row unit column (``strength_unit``) converts each row by its own unit. A column with no
declaration is taken to be in the design's unit (and a strength column says so in a
warning).

Results are in the *analysis unit* of each measure: the design's unit unless
``analysis_units=`` asks for another. Strength may be analysed as

=========  =================================  ==================================
unit       meaning                            from force F (N) needs
=========  =================================  ==================================
N/kg       F / body mass                      body_mass (kg)
N*m/kg     F x lever arm / body mass          lever_arm (m), body_mass
%BW        F / (body mass x g) x 100          body_mass
N          F                                  -
N*m        F x lever arm                      lever_arm
kgf        F / g                              -
=========  =================================  ==================================

and files may hold any of these (plus ``lbf`` and ``ft*lbf``). Converting between force
and torque needs the lever arm (metres); between absolute and body-mass-normalised values
the body mass (kg). Standard gravity g = 9.80665 m/s^2. Other measures convert by a factor
within their dimension (length: ``mm``, ``cm``, ``m``, ``in``; mass: ``kg``, ``lb``;
angle: ``deg``, ``rad``; ``points``; ``years``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["G", "parse_header", "parse_annotation", "normalise_unit", "unit_for", "convert",
           "plan", "Plan", "UNIT_ALIASES", "NEEDS", "STRENGTH_UNITS", "plausible",
           "range_in", "supported", "is_strength"]

G = 9.80665  # standard gravity, m/s^2
LBF = 4.4482216152605  # newtons per pound-force
FTLBF = 1.3558179483314004  # newton-metres per foot-pound-force

# spelling (lower case) -> canonical spelling
UNIT_ALIASES = {
    "n/kg": "N/kg", "n kg-1": "N/kg", "n.kg-1": "N/kg", "n kg^-1": "N/kg", "n·kg-1": "N/kg",
    "n": "N", "newton": "N", "newtons": "N",
    "kgf": "kgf", "kg": "kgf", "kilogram-force": "kgf", "kp": "kgf", "kgf.": "kgf",
    "lbf": "lbf", "lb": "lbf", "lbs": "lbf", "pound-force": "lbf",
    "%bw": "%BW", "% bw": "%BW", "%body weight": "%BW", "%bodyweight": "%BW", "%bm": "%BW",
    "n*m": "N*m", "nm": "N*m", "n.m": "N*m", "n m": "N*m", "n·m": "N*m", "n-m": "N*m",
    "n*m/kg": "N*m/kg", "nm/kg": "N*m/kg", "n.m/kg": "N*m/kg", "n·m/kg": "N*m/kg",
    "n m/kg": "N*m/kg", "n-m/kg": "N*m/kg", "nm kg-1": "N*m/kg", "n.m.kg-1": "N*m/kg",
    "n·m·kg-1": "N*m/kg", "n m kg-1": "N*m/kg",
    "ft*lbf": "ft*lbf", "ft-lb": "ft*lbf", "ft-lbf": "ft*lbf", "ftlb": "ft*lbf",
    "ft·lbf": "ft*lbf", "ft lb": "ft*lbf", "ft.lb": "ft*lbf",
    "cm": "cm", "mm": "mm", "m": "m", "in": "in", "inch": "in", "inches": "in",
    "deg": "deg", "degrees": "deg", "degree": "deg", "°": "deg", "rad": "rad",
    "points": "points", "pts": "points", "point": "points", "score": "points",
    "years": "years", "y": "years", "yr": "years", "yrs": "years",
}

#: Strength units: unit -> (force or torque, absolute or per kg body mass, factor to SI).
STRENGTH_UNITS = {
    "N": ("force", "abs", 1.0), "kgf": ("force", "abs", G), "lbf": ("force", "abs", LBF),
    "N/kg": ("force", "perkg", 1.0), "%BW": ("force", "perkg", G / 100.0),
    "N*m": ("torque", "abs", 1.0), "ft*lbf": ("torque", "abs", FTLBF),
    "N*m/kg": ("torque", "perkg", 1.0),
}

# Other units: unit -> (dimension, factor to the dimension's base unit).
_LINEAR = {
    "m": ("length", 1.0), "cm": ("length", 0.01), "mm": ("length", 0.001),
    "in": ("length", 0.0254),
    "kg": ("mass", 1.0), "lb": ("mass", 0.45359237),
    "deg": ("angle", 1.0), "rad": ("angle", 180.0 / math.pi),
    "points": ("points", 1.0), "years": ("age", 1.0),
}

#: Typical hip-abductor strength values in each unit (for the "no unit declared" warning).
_PLAUSIBLE = {
    "N/kg": (0.5, 8.0), "N*m/kg": (0.2, 3.5), "%BW": (5.0, 80.0), "N": (30.0, 700.0),
    "N*m": (10.0, 350.0), "kgf": (3.0, 70.0), "lbf": (7.0, 160.0),
}

#: Valid ranges of strength in units other than the design's, when no factor relates them.
_STRENGTH_RANGES = {
    "N/kg": (0.0, 10.0), "N*m/kg": (0.0, 6.0), "%BW": (0.0, 102.0), "N": (0.0, 3000.0),
    "N*m": (0.0, 1000.0), "kgf": (0.0, 300.0), "lbf": (0.0, 700.0), "ft*lbf": (0.0, 750.0),
}

_BRACKET = re.compile(r"^(?P<name>.*?)\s*(?P<open>[\[\(\{])\s*(?P<inner>[^\[\]\(\)\{\}]*?)\s*"
                      r"[\]\)\}]\s*$")
_RANGE = re.compile(r"^(?P<lo>[+-]?\d+(?:\.\d+)?)\s*(?:-|–|—|to|\.\.)\s*(?P<hi>[+-]?\d+(?:\.\d+)?)"
                    r"\s*(?P<unit>.*)$", re.IGNORECASE)
_IN_UNIT = re.compile(r"^(?P<name>.*?)\s*,?\s+in\s+(?P<unit>\S+(?:\s*/\s*\S+)?)\s*$",
                      re.IGNORECASE)


def normalise_unit(unit: str) -> str | None:
    """Canonical spelling of a unit, or ``None`` when unknown.

    Examples
    --------
    >>> normalise_unit("Nm/kg"), normalise_unit("N·m"), normalise_unit("parsec")
    ('N*m/kg', 'N*m', None)
    """
    if unit is None:
        return None
    u = str(unit).strip().lower().replace("²", "2").replace("⋅", "·").replace("×", "*")
    return UNIT_ALIASES.get(u) or UNIT_ALIASES.get(u.replace(" ", "")) or \
        UNIT_ALIASES.get(u.replace("·", "*")) or UNIT_ALIASES.get(u.replace(" ", "*"))


def is_strength(unit: str | None) -> bool:
    """True when ``unit`` (canonical spelling) is a strength unit."""
    return unit in STRENGTH_UNITS


def unit_for(unit: str, reference: str) -> str | None:
    """Canonical spelling of ``unit`` for a measure whose design unit is ``reference``.

    ``kg`` and ``lb`` mean kilogram- and pound-force for strength, mass for body mass.
    """
    canon = normalise_unit(unit)
    if canon is None:
        return None
    if reference in _LINEAR and _LINEAR[reference][0] == "mass":
        canon = {"kgf": "kg", "lbf": "lb"}.get(canon, canon)
    return canon


def parse_annotation(text: str) -> tuple[str, str | None, tuple[float, float] | None]:
    """Split a header or label into name, unit text and scale range.

    ``"strength [kgf]"`` -> ``("strength", "kgf", None)``; ``"LEFS (0-80)"`` ->
    ``("LEFS", None, (0.0, 80.0))``; ``"Pain VAS (mm, 0-100)"`` -> ``("Pain VAS", "mm",
    (0.0, 100.0))``; ``"Hip strength in N*m/kg"`` -> ``("Hip strength", "N*m/kg", None)``.
    Square brackets always hold an annotation; parentheses only when they hold a unit or a
    range, so ``"strength (involved)"`` keeps its name.

    Examples
    --------
    >>> parse_annotation("LEFS total (0-80 points)")
    ('LEFS total', 'points', (0.0, 80.0))
    """
    name = str(text).strip()
    unit = scale = None
    while True:
        m = _BRACKET.match(name)
        if not m or not m.group("name").strip():
            break
        parts = [p.strip() for p in re.split(r"[,;]", m.group("inner")) if p.strip()]
        got_u, got_s, ok = None, None, bool(parts)
        for part in parts:
            r = _RANGE.match(part)
            if r:
                got_s = (float(r.group("lo")), float(r.group("hi")))
                rest = r.group("unit").strip()
                if rest:
                    if normalise_unit(rest):
                        got_u = rest
                    else:
                        ok = False
            elif normalise_unit(part):
                got_u = part
            else:
                ok = False
        if not ok and m.group("open") == "[" and len(parts) == 1 and got_s is None:
            got_u, ok = parts[0], True  # "[furlongs]": an (unknown) unit, reported later
        if not ok:
            break
        unit = unit or got_u
        scale = scale or got_s
        name = m.group("name").strip()
    if unit is None:
        m = _IN_UNIT.match(name)
        if m and normalise_unit(m.group("unit")) and m.group("name").strip():
            name, unit = m.group("name").strip(), m.group("unit")
    return name, unit, scale


def parse_header(header: str) -> tuple[str, str | None]:
    """Split ``"strength [kgf]"`` into ``("strength", "kgf")``; no unit gives ``None``."""
    name, unit, _ = parse_annotation(header)
    return name, unit


@dataclass(frozen=True)
class Plan:
    """How to convert one unit to another: ``y = x * factor * lever_arm**lever *
    body_mass**mass``."""

    src: str
    dst: str
    factor: float = 1.0
    lever: int = 0
    mass: int = 0

    @property
    def needs(self) -> tuple[str, ...]:
        return (("lever_arm",) if self.lever else ()) + (("body_mass",) if self.mass else ())

    @property
    def identity(self) -> bool:
        return self.src == self.dst

    def describe(self, name: str) -> str:
        """Human-readable, e.g. ``"strength: N*m / body_mass (kg) -> N*m/kg"``."""
        s = self.src
        if self.factor != 1.0:
            s += f" * {self.factor:.10g}"
        if self.lever:
            s += " * lever_arm (m)" if self.lever > 0 else " / lever_arm (m)"
        if self.mass:
            s += " * body_mass (kg)" if self.mass > 0 else " / body_mass (kg)"
        return f"{name}: {s} -> {self.dst}"


def plan(src: str, dst: str) -> Plan:
    """The :class:`Plan` converting canonical unit ``src`` to canonical unit ``dst``.

    Raises ``ValueError`` when the two units measure different things.

    Examples
    --------
    >>> plan("N", "N*m/kg").describe("strength")
    'strength: N * lever_arm (m) / body_mass (kg) -> N*m/kg'
    """
    if src == dst:
        return Plan(src, dst)
    if src in STRENGTH_UNITS and dst in STRENGTH_UNITS:
        k1, n1, f1 = STRENGTH_UNITS[src]
        k2, n2, f2 = STRENGTH_UNITS[dst]
        lever = 0 if k1 == k2 else (1 if k1 == "force" else -1)
        mass = 0 if n1 == n2 else (1 if n1 == "perkg" else -1)
        return Plan(src, dst, f1 / f2, lever, mass)
    if src in _LINEAR and dst in _LINEAR and _LINEAR[src][0] == _LINEAR[dst][0]:
        return Plan(src, dst, _LINEAR[src][1] / _LINEAR[dst][1])
    raise ValueError(f"cannot convert {src} to {dst}")


def supported(canonical: str, unit: str) -> bool:
    """True when ``unit`` converts to ``canonical``."""
    try:
        plan(unit, canonical)
    except ValueError:
        return False
    return True


# (canonical unit of the measure, declared unit) -> what the conversion needs (legacy view)
NEEDS = {("N/kg", u): plan(u, "N/kg").needs for u in STRENGTH_UNITS if plan(u, "N/kg").needs}


def convert(values: np.ndarray, canonical: str, unit: str,
            body_mass: np.ndarray | None = None,
            lever_arm: np.ndarray | float | None = None) -> np.ndarray:
    """Convert ``values`` from ``unit`` to ``canonical``.

    Rows where a needed body mass or lever arm is missing come out as NaN; the caller
    reports them (it knows file, row and column).

    Examples
    --------
    >>> round(float(convert(np.array([20.0]), "N/kg", "kgf", body_mass=np.array([70.0]))[0]), 6)
    2.8019
    """
    v = np.asarray(values, dtype=float)
    if canonical == "kg" and unit == "kgf":
        unit = "kg"
    if canonical == "kg" and unit == "lbf":
        unit = "lb"
    p = plan(unit, canonical)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = v * p.factor
        if p.lever:
            la = np.nan if lever_arm is None else np.asarray(lever_arm, dtype=float)
            out = out * la if p.lever > 0 else out / la
        if p.mass:
            bm = np.nan if body_mass is None else np.asarray(body_mass, dtype=float)
            out = out * bm if p.mass > 0 else out / bm
    return out


def range_in(unit: str, design_unit: str, low, high):
    """Valid range of a measure (``low``-``high`` in ``design_unit``) expressed in ``unit``."""
    if unit == design_unit:
        return low, high
    p = plan(design_unit, unit)
    if not p.lever and not p.mass:
        f = p.factor
        return (None if low is None else low * f), (None if high is None else high * f)
    return _STRENGTH_RANGES.get(unit, (None, None))


def plausible(lo: float, hi: float) -> list[str]:
    """Strength units in which values ``lo``-``hi`` are typical hip-abductor values."""
    return [u for u, (a, b) in _PLAUSIBLE.items() if a <= lo and hi <= b]
