"""The built-in designs, written as the ``[design.NAME]`` tables a study puts in hipstats.toml.

Each preset below is the parsed form of a TOML table (``PRESETS["hipknee6wk"]`` is what
``tomllib`` returns for ``[design.hipknee6wk]`` in :data:`PRESET_TOML`-style text) and is
built by the same :func:`~hipstats.design.declare.design_from_table` as a declared design, so
the built-ins follow the rules every study's design follows. Kept as Python literals (not a
TOML file) so that Python 3.10 without ``tomli`` can import hipstats.
"""

from __future__ import annotations

from hipstats.design.declare import design_from_table
from hipstats.design.model import Design

__all__ = ["PRESETS", "DESIGNS", "get_design", "program6wk", "pfps3wk", "hipknee6wk"]

_STRENGTH = {"unit": "N/kg", "range": [0.0, 10.0], "label": "Hip-abductor strength",
             "direction": "higher_better"}

# Subject-level covariates shared by the built-in designs.
_COVARIATES = {
    "age": {"unit": "years", "range": [10, 100], "description": "Age at baseline",
            "label": "Age"},
    "sex": {"levels": ["F", "M"], "description": "Sex (F/M)", "label": "Sex"},
    "body_mass": {"unit": "kg", "range": [30, 200], "label": "Body mass",
                  "description": "Body mass at baseline; needed to normalise strength given "
                                 "in N or kgf"},
    "height": {"unit": "cm", "range": [120, 230], "description": "Standing height",
               "label": "Height"},
}

PRESETS: dict[str, dict] = {
    "program6wk": {
        "time": "week",
        "timepoints": [0, 2, 4, 6],
        "primary": {"strength": "strength", "outcome": "function_score",
                    "uninvolved": "strength_uninvolved"},
        "derived": ["lsi"],
        "description": (
            "6-week hip-abductor strengthening program (side-lying leg lifts, hip drops, banded "
            "side steps, clamshells) assessed at weeks 0, 2, 4 and 6; one group; abductor "
            "strength of the involved limb (and optionally the uninvolved limb, giving the limb "
            "symmetry index lsi = involved / uninvolved x 100) and physical function. Shaped "
            "like Beers et al. 2008, Physiother Can 60(2):180-188 (16 patients with iliotibial "
            "band syndrome)."),
        "measures": {
            "strength": dict(_STRENGTH, label="Hip-abductor strength, involved", description=(
                "Isometric hip-abductor strength of the involved (or only) limb, hand-held "
                "dynamometer, normalised to body mass")),
            "strength_uninvolved": dict(_STRENGTH, required=False,
                                        label="Hip-abductor strength, uninvolved limb",
                                        description="Isometric hip-abductor strength of the "
                                                    "uninvolved limb (optional)"),
            "function_score": {"instrument": "lefs", "description": (
                "Physical function, Lower Extremity Functional Scale (0-80, higher is "
                "better)")},
        },
        "covariates": dict(_COVARIATES, side={
            "levels": ["left", "right"], "description": "Involved side", "label": "Side"}),
    },
    "pfps3wk": {
        "time": "time",
        "timepoints": ["pre", "post"],
        "groups": ["PFPS", "control"],
        "randomised": False,                     # runners with PFPS against healthy controls
        "primary": {"strength": "strength", "outcome": "pain_vas"},
        "description": (
            "Runners with patellofemoral pain (PFPS) and healthy controls tested before and "
            "after a 3-week hip-abductor strengthening protocol; strength, knee pain (VAS 0-10 "
            "cm) and, optionally, peak knee valgum and stride-to-stride knee variability. "
            "Shaped like Ferber, Kendall & Farr 2011, J Athl Train 46(2):142-149 (15 PFPS, 10 "
            "controls)."),
        "measures": {
            "strength": dict(_STRENGTH, description=(
                "Maximal isometric hip-abductor strength, normalised to body mass")),
            "pain_vas": {"instrument": "vas", "unit": "cm",
                         "description": "Knee pain on a 0-10 cm visual analogue scale"},
            "valgus_peak": {"unit": "deg", "range": [-30.0, 45.0], "required": False,
                            "label": "Peak knee valgum",
                            "description": "Peak knee genu valgum angle during running (2-D)"},
            "knee_variability": {"unit": "deg", "range": [0.0, 20.0], "required": False,
                                 "label": "Knee variability", "direction": "lower_better",
                                 "description": "Stride-to-stride knee-joint variability "
                                                "during running"},
        },
        "covariates": dict(_COVARIATES),
    },
    "hipknee6wk": {
        "time": "week",
        "timepoints": [0, 1, 2, 3, 4, 5, 6],
        "groups": ["HIP", "KNEE"],
        "reference": "KNEE",
        "baseline": 0,
        "primary": {"outcome": "pain_vas", "strength": "strength"},
        # strength is measured at weeks 0 and 6 only: its change and the outcome share week 6
        "mediation": {"mediator": "strength", "mediator_visit": 6, "outcome_visit": 6},
        "description": (
            "Randomised trial of a 6-week hip-and-core (HIP) versus knee-focused (KNEE) "
            "rehabilitation protocol for patellofemoral pain; pain (VAS 0-10 cm) and the "
            "Anterior Knee Pain Scale every week from 0 to 6, hip-abductor strength at weeks 0 "
            "and 6. Shaped like Ferber et al. 2015, J Athl Train 50(4):366-377 (199 patients)."),
        "measures": {
            "pain_vas": {"instrument": "vas", "unit": "cm"},
            "akps": {"instrument": "akps"},
            "strength": {"unit": "N/kg", "visits": [0, 6], "required": False,
                         "label": "Hip-abductor strength", "range": [0.0, 10.0],
                         "direction": "higher_better",
                         "description": "Isometric hip-abductor strength, hand-held "
                                        "dynamometer, normalised to body mass"},
        },
        "covariates": {k: _COVARIATES[k] for k in ("age", "sex", "body_mass", "height")},
    },
}

program6wk: Design = design_from_table("program6wk", PRESETS["program6wk"])
pfps3wk: Design = design_from_table("pfps3wk", PRESETS["pfps3wk"])
hipknee6wk: Design = design_from_table("hipknee6wk", PRESETS["hipknee6wk"])

#: Built-in designs by name.
DESIGNS: dict[str, Design] = {d.name: d for d in (program6wk, pfps3wk, hipknee6wk)}


def get_design(design: "str | Design") -> Design:
    """Return a :class:`Design` given itself or its built-in name.

    Designs a study declares in ``hipstats.toml`` are read with
    :func:`hipstats.config.study_design` (``hipstats.load(config=..., design=...)`` does it).

    Examples
    --------
    >>> get_design("pfps3wk").timepoints
    ('pre', 'post')
    """
    if isinstance(design, Design):
        return design
    if isinstance(design, str) and design in DESIGNS:
        return DESIGNS[design]
    raise ValueError(f"unknown design {design!r}; built-in designs: {sorted(DESIGNS)} (a design "
                     "declared in hipstats.toml is read with config=)")
