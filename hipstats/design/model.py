"""The :class:`Measure` and :class:`Design` classes (see :mod:`hipstats.design` for the
person-period frame they describe). Imports nothing from hipstats."""


from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

__all__ = ["Measure", "Design", "CANONICAL_COLUMNS", "DIRECTIONS"]

#: Allowed values of :attr:`Measure.direction`.
DIRECTIONS = ("higher_better", "lower_better", "")

#: Columns every person-period frame may carry besides its measures.
CANONICAL_COLUMNS = ("subject", "group")


@dataclass(frozen=True)
class Measure:
    """One variable of a design.

    Parameters
    ----------
    name : str
        Column name in the person-period frame (``snake_case``).
    unit : str
        Canonical unit the loader converts to (``"N/kg"``, ``"cm"``, ``"deg"``, ``"points"``,
        ``"kg"``, ``"cm"``, ``"years"``, ``""`` for categorical).
    low, high : float or None
        Inclusive valid range in the canonical unit; ``None`` means unbounded.
    required : bool
        A required measure's *column* must be present in the file (its cells may still be
        missing; missing cells are counted, not rejected).
    kind : {"float", "category"}
        Numeric measure, or a categorical one whose allowed values are ``levels``.
    levels : tuple of str
        Allowed values for ``kind="category"``.
    description : str
        Plain-language meaning, shown in reports and the data dictionary.
    label : str
        Short name for tables, prose and axes (``"Pain (VAS)"``); default: the name.
    instrument : str
        Key of the instrument preset the measure was built from (``"vas"``, ``"akps"``;
        :mod:`hipstats.design.instruments`), or ``""``.
    direction : {"higher_better", "lower_better", ""}
        Which way is improvement (``""``: no direction, e.g. a kinematic angle).
    mcid : float or None
        Minimal clinically important difference in ``unit`` (a positive number).
    mcid_source : str
        Where the MCID comes from (a citation).
    visits : tuple or None
        Timepoints at which the measure is taken; ``None`` means every timepoint. A value at
        any other visit is a data problem; cells there are not counted as missing.
    ordinal : bool
        Ordered categories coded as whole numbers from ``low`` to ``high`` (a global rating
        of change); any other value is off the scale.
    success : tuple of float
        For an ordinal measure, the categories that count as success (e.g. ``(6, 7)``).
    """

    name: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    required: bool = True
    kind: str = "float"
    levels: tuple[str, ...] = ()
    description: str = ""
    label: str = ""
    instrument: str = ""
    direction: str = ""
    mcid: float | None = None
    mcid_source: str = ""
    visits: tuple | None = None
    ordinal: bool = False
    success: tuple = ()

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"measure name {self.name!r} is not a valid identifier")
        if self.kind not in ("float", "category"):
            raise ValueError(f"measure {self.name!r}: kind must be 'float' or 'category'")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"measure {self.name!r}: low {self.low} > high {self.high}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"measure {self.name!r}: direction must be one of "
                             f"{', '.join(repr(d) for d in DIRECTIONS)}")
        if self.mcid is not None and not self.mcid > 0:
            raise ValueError(f"measure {self.name!r}: mcid must be a positive number")
        object.__setattr__(self, "levels", tuple(self.levels))
        object.__setattr__(self, "success", tuple(float(v) for v in self.success))
        if self.ordinal and (self.low is None or self.high is None):
            raise ValueError(f"measure {self.name!r}: an ordinal scale needs low and high")
        if any(not self.on_scale(v) for v in self.success):
            raise ValueError(f"measure {self.name!r}: success {list(self.success)} must be "
                             "categories of the scale")
        if self.visits is not None:
            object.__setattr__(self, "visits", tuple(self.visits))

    @property
    def shown_label(self) -> str:
        """The label, or the name in words when none is declared (``strength_other`` ->
        ``"Strength other"``): pages and tables never show a machine name."""
        words = self.name.replace("_", " ")
        return self.label or words[:1].upper() + words[1:]

    @property
    def display(self) -> str:
        """Label with unit for axes and table headers: ``"Pain (VAS, cm)"``."""
        label = self.shown_label
        if not self.unit or self.unit == "points":
            return label
        if label.endswith(")"):
            return f"{label[:-1]}, {self.unit})"
        return f"{label} ({self.unit})"

    def taken_at(self, timepoint) -> bool:
        """True when the measure is scheduled at ``timepoint``."""
        return self.visits is None or timepoint in self.visits

    def on_scale(self, value: float) -> bool:
        """True when ``value`` is a category of an ordinal scale (a whole number from low to
        high), or for a non-ordinal measure, in range (NaN counts as on the scale)."""
        if value != value:
            return True
        if self.ordinal and not float(value).is_integer():
            return False
        return self.in_range(value)

    def in_range(self, value: float) -> bool:
        """True when ``value`` lies inside ``[low, high]`` (NaN counts as in range)."""
        if value != value:  # NaN
            return True
        if self.low is not None and value < self.low:
            return False
        if self.high is not None and value > self.high:
            return False
        return True


@dataclass(frozen=True)
class Design:
    """A study design: the shape a trial's data must have.

    Parameters
    ----------
    name : str
        Short identifier (``"program6wk"``), used on the command line.
    time : str
        Name of the time column (``"week"`` or ``"time"``).
    timepoints : tuple
        The time grid in order (ints for weeks, strings for named visits).
    groups : tuple of str
        Allowed group labels; empty for a one-group design (no ``group`` column).
    measures : tuple of Measure
        Repeated measures (one value per subject and timepoint).
    covariates : tuple of Measure
        Subject-level variables (one value per subject, constant over visits).
    primary : dict
        Names the design's key roles: ``{"strength": ..., "outcome": ...}``.
    description : str
        Plain-language summary, with the study it is shaped like.
    derived : tuple of str
        Columns the loader computes (e.g. ``lsi``, the limb symmetry index).
    reference : str
        The comparator arm (default: the last group; ``""`` for one group).
    baseline : int or str or None
        The baseline visit (default: the first timepoint).
    sensitivity : tuple of str
        Reference-based strategies the page's missing-data section shows beside MAR
        (default JR, CR, CIR; :func:`hipstats.rbmi`).
    randomised : bool
        Whether the arms were randomised (``False`` for patients against controls: then a
        mediation analysis of the group "effect" is not estimable).
    mediation : dict
        The mediation analysis: ``mediator`` (a measure; default the primary strength
        measure), ``mediator_visit``, ``outcome_visit`` (defaults: the mediator's last visit
        at or before the outcome visit, the last visit); only the keys declared.
    """

    name: str
    time: str
    timepoints: tuple
    measures: tuple[Measure, ...]
    groups: tuple[str, ...] = ()
    covariates: tuple[Measure, ...] = ()
    primary: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    derived: tuple[str, ...] = ()
    reference: str = ""
    baseline: Any = None
    sensitivity: tuple[str, ...] = ("JR", "CR", "CIR")
    randomised: bool = True
    mediation: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "timepoints", tuple(self.timepoints))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "measures", tuple(self.measures))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "derived", tuple(self.derived))
        object.__setattr__(self, "sensitivity", tuple(self.sensitivity))
        names = [m.name for m in self.measures + self.covariates] + [self.time, "subject", "group"]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"design {self.name!r}: duplicated column names {dup}")
        if not self.timepoints:
            raise ValueError(f"design {self.name!r}: needs at least one timepoint")
        if len(set(self.timepoints)) != len(self.timepoints):
            raise ValueError(f"design {self.name!r}: timepoints must be unique")
        if self.groups and not self.reference:
            object.__setattr__(self, "reference", self.groups[-1])
        if self.reference and self.reference not in self.groups:
            raise ValueError(f"design {self.name!r}: reference {self.reference!r} is not one "
                             f"of the groups {list(self.groups)}")
        if self.baseline is None:
            object.__setattr__(self, "baseline", self.timepoints[0])
        if self.baseline not in self.timepoints:
            raise ValueError(f"design {self.name!r}: baseline {self.baseline!r} is not a "
                             f"timepoint {list(self.timepoints)}")
        for m in self.measures:
            bad = [v for v in (m.visits or ()) if v not in self.timepoints]
            if bad:
                raise ValueError(f"design {self.name!r}: measure {m.name!r} visits {bad} are "
                                 f"not timepoints {list(self.timepoints)}")

    # -- lookups ---------------------------------------------------------------
    @property
    def has_groups(self) -> bool:
        """True when the design has a ``group`` column."""
        return bool(self.groups)

    @property
    def measure_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.measures)

    @property
    def covariate_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.covariates)

    def measure(self, name: str) -> Measure:
        """The :class:`Measure` (repeated or covariate) called ``name``."""
        for m in self.measures + self.covariates:
            if m.name == name:
                return m
        raise KeyError(f"design {self.name!r} has no measure {name!r}")

    @property
    def arms(self) -> tuple[str, ...]:
        """Groups with the reference arm last (``()`` for one group)."""
        return tuple(g for g in self.groups if g != self.reference) + (
            (self.reference,) if self.reference else ())

    def columns(self) -> list[str]:
        """Canonical column order of this design's person-period frame."""
        cols = ["subject"] + (["group"] if self.has_groups else []) + [self.time]
        cols += list(self.measure_names) + list(self.derived) + list(self.covariate_names)
        return cols

    def measure_info(self) -> dict:
        """JSON-ready presentation and interpretation facts per measure and covariate
        (label, display, unit, instrument, direction, mcid, mcid_source, visits), as the
        loader stores them in ``frame.attrs["measures"]`` so that analyses and figures of
        the frame can read direction, MCID and labels."""
        out = {}
        for m in self.measures + self.covariates:
            out[m.name] = {"label": m.shown_label, "display": m.display, "unit": m.unit,
                           "instrument": m.instrument, "direction": m.direction,
                           "mcid": m.mcid, "mcid_source": m.mcid_source,
                           "visits": None if m.visits is None else list(m.visits),
                           "ordinal": m.ordinal, "success": list(m.success)}
        return out

    def time_order(self) -> dict:
        """Mapping timepoint -> position, for sorting."""
        return {t: i for i, t in enumerate(self.timepoints)}

    # -- (de)serialisation -----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (round-trips through :meth:`from_dict`)."""
        d = asdict(self)
        d["timepoints"] = list(self.timepoints)
        d["groups"] = list(self.groups)
        d["derived"] = list(self.derived)
        d["sensitivity"] = list(self.sensitivity)
        d["primary"] = dict(self.primary)
        d["mediation"] = dict(self.mediation)
        for key in ("measures", "covariates"):
            for m in d[key]:
                m["levels"] = list(m["levels"])
                m["success"] = list(m["success"])
                if m["visits"] is not None:
                    m["visits"] = list(m["visits"])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Design":
        """Build a design from a plain mapping (e.g. parsed JSON)."""
        known = {"name", "time", "timepoints", "measures", "groups", "covariates", "primary",
                 "description", "derived", "reference", "baseline", "sensitivity",
                 "randomised", "mediation"}
        extra = sorted(set(d) - known)
        if extra:
            raise ValueError(f"unknown design keys: {extra}")
        return cls(
            name=d["name"],
            time=d["time"],
            timepoints=tuple(d["timepoints"]),
            measures=tuple(Measure(**m) for m in d["measures"]),
            groups=tuple(d.get("groups", ())),
            covariates=tuple(Measure(**m) for m in d.get("covariates", ())),
            primary=dict(d.get("primary", {})),
            description=d.get("description", ""),
            derived=tuple(d.get("derived", ())),
            reference=d.get("reference", ""),
            baseline=d.get("baseline"),
            sensitivity=tuple(d.get("sensitivity", ("JR", "CR", "CIR"))),
            randomised=d.get("randomised", True),
            mediation=dict(d.get("mediation", {})),
        )
