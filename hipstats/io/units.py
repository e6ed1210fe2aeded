"""Unit declarations and conversion to a design's canonical units.

Units are never guessed from the size of the numbers: they come from the ``units=``
argument, a header annotation (``strength [kgf]``, ``pain_vas (mm)``), an SPSS variable
label or a REDCap data-dictionary field note. A column with no declaration is taken to be in
the canonical unit, and values outside the valid range are then reported as range errors.

Strength (canonical N/kg, force normalised to body mass):

=========  ==========================================  ====================
unit       conversion to N/kg                          needs
=========  ==========================================  ====================
N/kg       x                                           -
N          x / body_mass                               body_mass (kg)
kgf, kg    x * g / body_mass                           body_mass
lbf        x * 4.4482216152605 / body_mass             body_mass
%BW        x / 100 * g                                 -
N*m        x / lever_arm / body_mass                   lever_arm (m), body_mass
N*m/kg     x / lever_arm                               lever_arm
=========  ==========================================  ====================

with standard gravity g = 9.80665 m/s^2. Pain: ``mm`` (0-100) -> cm divides by 10.
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["G", "parse_header", "normalise_unit", "convert", "UNIT_ALIASES", "NEEDS"]

G = 9.80665  # standard gravity, m/s^2
LBF = 4.4482216152605  # newtons per pound-force

# spelling -> canonical spelling
UNIT_ALIASES = {
    "n/kg": "N/kg", "n kg-1": "N/kg", "n.kg-1": "N/kg",
    "n": "N", "newton": "N", "newtons": "N",
    "kgf": "kgf", "kg": "kgf", "kilogram-force": "kgf", "kp": "kgf",
    "lbf": "lbf", "lb": "lbf", "lbs": "lbf",
    "%bw": "%BW", "% bw": "%BW", "%body weight": "%BW", "%bodyweight": "%BW",
    "n*m": "N*m", "nm": "N*m", "n.m": "N*m", "n m": "N*m", "n·m": "N*m",
    "n*m/kg": "N*m/kg", "nm/kg": "N*m/kg", "n.m/kg": "N*m/kg", "n·m/kg": "N*m/kg",
    "cm": "cm", "mm": "mm", "m": "m", "deg": "deg", "degrees": "deg", "°": "deg",
    "points": "points", "pts": "points", "years": "years", "y": "years", "yr": "years",
    "in": "in", "inch": "in", "inches": "in",
}

# (canonical unit of the measure, declared unit) -> what the conversion needs
NEEDS = {
    ("N/kg", "N"): ("body_mass",), ("N/kg", "kgf"): ("body_mass",),
    ("N/kg", "lbf"): ("body_mass",), ("N/kg", "N*m"): ("lever_arm", "body_mass"),
    ("N/kg", "N*m/kg"): ("lever_arm",),
}

_HEADER = re.compile(r"^\s*(?P<name>[^\[\(]+?)\s*[\[\(]\s*(?P<unit>[^\]\)]+?)\s*[\]\)]\s*$")


def parse_header(header: str) -> tuple[str, str | None]:
    """Split ``"strength [kgf]"`` into ``("strength", "kgf")``; no unit gives ``None``."""
    m = _HEADER.match(header)
    if m:
        return m.group("name"), m.group("unit")
    return header, None


def normalise_unit(unit: str) -> str | None:
    """Canonical spelling of a unit, or ``None`` when unknown."""
    u = unit.strip().lower().replace("²", "2")
    return UNIT_ALIASES.get(u) or UNIT_ALIASES.get(u.replace(" ", ""))


def supported(canonical: str, unit: str) -> bool:
    """True when ``unit`` converts to ``canonical``."""
    return unit == canonical or (canonical, unit) in _FACTORS or (canonical, unit) in NEEDS


_FACTORS = {
    ("N/kg", "%BW"): G / 100.0,
    ("cm", "mm"): 0.1, ("cm", "m"): 100.0, ("cm", "in"): 2.54,
    ("kg", "lbf"): 0.45359237,
}


def convert(values: np.ndarray, canonical: str, unit: str,
            body_mass: np.ndarray | None = None,
            lever_arm: np.ndarray | float | None = None) -> np.ndarray:
    """Convert ``values`` from ``unit`` to ``canonical``.

    Rows where a needed body mass or lever arm is missing come out as NaN; the caller
    reports them (it knows file, row and column).

    Examples
    --------
    >>> round(float(convert(np.array([20.0]), "N/kg", "kgf", body_mass=np.array([70.0]))[0]), 6)
    2.801900
    """
    v = np.asarray(values, dtype=float)
    if unit == canonical:
        return v
    if (canonical, unit) in _FACTORS:
        return v * _FACTORS[(canonical, unit)]
    if canonical == "kg" and unit == "kgf":
        return v
    if canonical == "N/kg":
        bm = None if body_mass is None else np.asarray(body_mass, dtype=float)
        la = None if lever_arm is None else np.asarray(lever_arm, dtype=float)
        if unit == "N":
            return v / bm
        if unit == "kgf":
            return v * G / bm
        if unit == "lbf":
            return v * LBF / bm
        if unit == "N*m":
            return v / la / bm
        if unit == "N*m/kg":
            return v / la
    raise ValueError(f"cannot convert {unit} to {canonical}")
