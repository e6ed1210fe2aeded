"""Study designs and the canonical person-period frame.

The person-period frame
-----------------------
Every loader in :mod:`hipstats.io` returns, and every analysis in :mod:`hipstats.stats`
takes, one in-memory shape: a tidy long :class:`pandas.DataFrame` with **one row per
subject and timepoint**:

``subject``
    Subject identifier, ``str`` (never coerced to a number, so ``"007"`` stays ``"007"``).
``group``
    Group label, ``str``, present only when the design has groups (``pfps3wk``:
    ``"PFPS"`` / ``"control"``). A subject's group never changes between visits.
time column
    Named by :attr:`Design.time` (``"week"`` for ``program6wk``, integer weeks 0, 2, 4, 6;
    ``"time"`` for ``pfps3wk``, the strings ``"pre"`` / ``"post"``). Only values listed in
    :attr:`Design.timepoints` occur.
one column per repeated measure
    ``float64`` in the measure's canonical unit (:attr:`Measure.unit`), e.g. ``strength``
    (N/kg), ``pain_vas`` (cm), ``function_score`` (LEFS points). Missing visits and cells are
    ``NaN``: they are data, counted by validation, never dropped.
subject-level covariates
    ``age``, ``sex``, ``body_mass``, ``height``, ``side`` ... repeated on every row of the
    subject, where the file had them.

Rows are sorted by ``subject`` then time (in design order); the index is a plain
``RangeIndex``. Every design lists all its timepoints for every subject: a visit the file
did not have becomes a row of ``NaN`` measures (a *missing visit*), so that models see the
full grid and the loader's ledger can account for it.

Designs are declarative: a :class:`Design` lists its time grid, groups, measures (unit,
valid range, required or optional) and subject-level covariates. Users describe their own
trials the same way, in Python or from a JSON/dict (:meth:`Design.from_dict`).

This module imports nothing else from hipstats: it sits at the top of the data flow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Mapping, Sequence

__all__ = [
    "Measure",
    "Design",
    "program6wk",
    "pfps3wk",
    "DESIGNS",
    "get_design",
    "CANONICAL_COLUMNS",
]

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
    """

    name: str
    unit: str = ""
    low: float | None = None
    high: float | None = None
    required: bool = True
    kind: str = "float"
    levels: tuple[str, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"measure name {self.name!r} is not a valid identifier")
        if self.kind not in ("float", "category"):
            raise ValueError(f"measure {self.name!r}: kind must be 'float' or 'category'")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"measure {self.name!r}: low {self.low} > high {self.high}")
        object.__setattr__(self, "levels", tuple(self.levels))

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

    def __post_init__(self) -> None:
        object.__setattr__(self, "timepoints", tuple(self.timepoints))
        object.__setattr__(self, "groups", tuple(self.groups))
        object.__setattr__(self, "measures", tuple(self.measures))
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "derived", tuple(self.derived))
        names = [m.name for m in self.measures + self.covariates] + [self.time, "subject", "group"]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"design {self.name!r}: duplicated column names {dup}")
        if not self.timepoints:
            raise ValueError(f"design {self.name!r}: needs at least one timepoint")
        if len(set(self.timepoints)) != len(self.timepoints):
            raise ValueError(f"design {self.name!r}: timepoints must be unique")

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

    def columns(self) -> list[str]:
        """Canonical column order of this design's person-period frame."""
        cols = ["subject"] + (["group"] if self.has_groups else []) + [self.time]
        cols += list(self.measure_names) + list(self.derived) + list(self.covariate_names)
        return cols

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
        d["primary"] = dict(self.primary)
        for key in ("measures", "covariates"):
            for m in d[key]:
                m["levels"] = list(m["levels"])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Design":
        """Build a design from a plain mapping (e.g. parsed JSON)."""
        known = {"name", "time", "timepoints", "measures", "groups", "covariates", "primary",
                 "description", "derived"}
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
        )


# Subject-level covariates shared by both built-in designs.
_COVARIATES = (
    Measure("age", "years", 10, 100, required=False, description="Age at baseline"),
    Measure("sex", "", required=False, kind="category", levels=("F", "M"),
            description="Sex (F/M)"),
    Measure("body_mass", "kg", 30, 200, required=False,
            description="Body mass at baseline; needed to normalise strength given in N or kgf"),
    Measure("height", "cm", 120, 230, required=False, description="Standing height"),
)

program6wk = Design(
    name="program6wk",
    time="week",
    timepoints=(0, 2, 4, 6),
    measures=(
        Measure("strength", "N/kg", 0.0, 10.0, required=True,
                description="Isometric hip-abductor strength of the involved (or only) limb, "
                            "hand-held dynamometer, normalised to body mass"),
        Measure("strength_uninvolved", "N/kg", 0.0, 10.0, required=False,
                description="Isometric hip-abductor strength of the uninvolved limb (optional)"),
        Measure("function_score", "points", 0.0, 80.0, required=True,
                description="Physical function, Lower Extremity Functional Scale (0-80, higher is "
                            "better)"),
    ),
    covariates=_COVARIATES + (
        Measure("side", "", required=False, kind="category", levels=("left", "right"),
                description="Involved side"),
    ),
    derived=("lsi",),
    primary={"strength": "strength", "outcome": "function_score"},
    description=(
        "6-week hip-abductor strengthening program (side-lying leg lifts, hip drops, banded "
        "side steps, clamshells) assessed at weeks 0, 2, 4 and 6; one group; abductor strength "
        "of the involved limb (and optionally the uninvolved limb, giving the limb symmetry "
        "index lsi = involved / uninvolved x 100) and physical function. Shaped like Beers et "
        "al. 2008, Physiother Can 60(2):180-188 (16 patients with iliotibial band syndrome)."
    ),
)

pfps3wk = Design(
    name="pfps3wk",
    time="time",
    timepoints=("pre", "post"),
    groups=("PFPS", "control"),
    measures=(
        Measure("strength", "N/kg", 0.0, 10.0, required=True,
                description="Maximal isometric hip-abductor strength, normalised to body mass"),
        Measure("pain_vas", "cm", 0.0, 10.0, required=True,
                description="Knee pain on a 0-10 cm visual analogue scale"),
        Measure("valgus_peak", "deg", -30.0, 45.0, required=False,
                description="Peak knee genu valgum angle during running (2-D)"),
        Measure("knee_variability", "deg", 0.0, 20.0, required=False,
                description="Stride-to-stride knee-joint variability during running"),
    ),
    covariates=_COVARIATES,
    primary={"strength": "strength", "outcome": "pain_vas"},
    description=(
        "Runners with patellofemoral pain (PFPS) and healthy controls tested before and after a "
        "3-week hip-abductor strengthening protocol; strength, knee pain (VAS 0-10 cm) and, "
        "optionally, peak knee valgum and stride-to-stride knee variability. Shaped like "
        "Ferber, Kendall & Farr 2011, J Athl Train 46(2):142-149 (15 PFPS, 10 controls)."
    ),
)

#: Built-in designs by name.
DESIGNS: dict[str, Design] = {d.name: d for d in (program6wk, pfps3wk)}


def get_design(design: "str | Design") -> Design:
    """Return a :class:`Design` given itself or its built-in name.

    Examples
    --------
    >>> get_design("pfps3wk").timepoints
    ('pre', 'post')
    """
    if isinstance(design, Design):
        return design
    if isinstance(design, str) and design in DESIGNS:
        return DESIGNS[design]
    raise ValueError(f"unknown design {design!r}; built-in designs: {sorted(DESIGNS)}")

