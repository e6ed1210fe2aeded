"""Instruments: the scales of this field, with range, direction and MCID and their sources.

A measure declared with ``instrument = "akps"`` takes its label, unit, valid range, direction
(higher is better or worse) and minimal clinically important difference (MCID) from the preset
below; any of them can be overridden on the measure (``mcid = 8``). Responders, prose
("improved") and figure axes read direction and MCID from the measure, so they follow the
instrument.

The MCIDs are those published for the instrument, in the population closest to this field
(patellofemoral pain where it exists); each carries its citation in :attr:`Instrument.mcid_source`.
Where no single MCID is agreed (WOMAC), ``mcid`` is ``None`` and the note says what to declare.

This module imports nothing from hipstats.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Instrument", "INSTRUMENTS", "ALIASES", "get_instrument"]


@dataclass(frozen=True)
class Instrument:
    """A published scale.

    Parameters
    ----------
    key : str
        Name used in ``hipstats.toml`` (``instrument = "vas"``).
    label : str
        Short label for tables and axes (``"Pain (VAS)"``).
    unit : str
        Unit of the scores (``"cm"``, ``"points"``).
    low, high : float
        Range of possible scores.
    direction : {"higher_better", "lower_better"}
    mcid : float or None
        Minimal clinically important difference, in ``unit``.
    mcid_source : str
        Citation of the MCID.
    description : str
        What the scale is, and where its range comes from.
    ordinal : bool
        An ordered-category scale (the global rating of change): whole numbers from ``low``
        to ``high``; analysed as categories (success, proportional odds), not as a mean.
    """

    key: str
    label: str
    unit: str
    low: float
    high: float
    direction: str
    mcid: float | None
    mcid_source: str
    description: str
    ordinal: bool = False


_CROSSLEY_2004 = ("Crossley KM, Bennell KL, Cowan SM, Green S. Analysis of outcome measures for "
                  "persons with patellofemoral pain: which are reliable and valid? Arch Phys Med "
                  "Rehabil 2004;85(5):815-822")

INSTRUMENTS: dict[str, Instrument] = {i.key: i for i in (
    Instrument(
        "vas", "Pain (VAS)", "cm", 0.0, 10.0, "lower_better", 2.0,
        _CROSSLEY_2004 + " (MCID 2 cm for usual and worst pain in patellofemoral pain, "
        "1.5-2 cm; used by Khayambashi et al. 2014, Arch Phys Med Rehabil 95(5):900-907)",
        "Visual analogue scale for pain, 10 cm line (0 no pain, 10 worst imaginable); "
        "scores recorded in mm are converted (units = { pain_vas = \"mm\" })"),
    Instrument(
        "nprs", "Pain (NPRS)", "points", 0.0, 10.0, "lower_better", 2.0,
        "Farrar JT, Young JP, LaMoreaux L, Werth JL, Poole RM. Clinical importance of changes "
        "in chronic pain intensity measured on an 11-point numerical pain rating scale. Pain "
        "2001;94(2):149-158 (2 points, or about 30%)",
        "Numeric pain rating scale, 0 (no pain) to 10 (worst imaginable), 11 points"),
    Instrument(
        "akps", "Function (AKPS)", "points", 0.0, 100.0, "higher_better", 10.0,
        _CROSSLEY_2004 + " (MCID 8-10 points; 10 used)",
        "Anterior Knee Pain Scale (Kujala score), 13 items, 0-100, 100 = no disability; "
        "Kujala UM et al. Arthroscopy 1993;9(2):159-163"),
    Instrument(
        "lefs", "Function (LEFS)", "points", 0.0, 80.0, "higher_better", 9.0,
        "Binkley JM, Stratford PW, Lott SA, Riddle DL. The Lower Extremity Functional Scale "
        "(LEFS): scale development, measurement properties, and clinical application. Phys "
        "Ther 1999;79(4):371-383 (MCID 9 points)",
        "Lower Extremity Functional Scale, 20 items scored 0-4, 0-80, 80 = full function"),
    Instrument(
        "koos_pf", "Function (KOOS-PF)", "points", 0.0, 100.0, "higher_better", 16.4,
        "Crossley KM, Macri EM, Cowan SM, Collins NJ, Roos EM. The patellofemoral pain and "
        "osteoarthritis subscale of the KOOS (KOOS-PF): development and validation using the "
        "COSMIN checklist. Br J Sports Med 2018;52(17):1130-1136 (minimal important change "
        "for improvement 16.4 points)",
        "KOOS patellofemoral pain and osteoarthritis subscale, 11 items, 0-100 after "
        "transformation, 100 = no problems"),
    Instrument(
        "womac", "WOMAC (Likert)", "points", 0.0, 96.0, "lower_better", None,
        "no single MCID for the WOMAC total: published values are relative to baseline "
        "(Angst F, Aeschlimann A, Stucki G. Arthritis Rheum 2001;45(4):384-391; Tubach F et "
        "al. Ann Rheum Dis 2005;64(1):29-33); declare mcid = ... on the measure",
        "Western Ontario and McMaster Universities Osteoarthritis Index, Likert version 3.1: "
        "24 items scored 0-4, total 0-96, 0 = no symptoms (Bellamy N et al. J Rheumatol "
        "1988;15(12):1833-1840)"),
    Instrument(
        "womac_vas", "WOMAC (VAS)", "mm", 0.0, 2400.0, "lower_better", None,
        "no single MCID for the WOMAC total (see the Likert version); declare mcid = ... on "
        "the measure",
        "WOMAC VAS version 3.1: 24 items on 100 mm lines, total 0-2400 mm, 0 = no symptoms"),
    Instrument(
        "grc", "Global rating of change", "points", 1.0, 7.0, "higher_better", None,
        "no MCID: a global rating of change is itself the anchor; success is the declared "
        "categories (default the top two, 'much better' and 'better'), as Kamper SJ, Maher "
        "CG, Mackay G. Global rating of change scales: a review of strengths and weaknesses "
        "and considerations for design. J Man Manip Ther 2009;17(3):163-170 describe",
        "Global rating of change, one question ('compared with before the treatment, how is "
        "your knee now?'); 7 points by default, 1 = much worse, 4 = unchanged, 7 = much "
        "better; other lengths (points = 5, 11, 15) and codings (range = [-7, 7]; direction "
        "= \"lower_better\" when 1 is the best) are declared on the measure (Kamper et al. "
        "2009)", ordinal=True),
)}

#: Other names accepted for an instrument.
ALIASES = {"kujala": "akps", "koos-pf": "koos_pf", "nrs": "nprs", "womac_likert": "womac"}


def get_instrument(key: str) -> Instrument:
    """The preset called ``key`` (case-insensitive; aliases such as ``"kujala"`` accepted).

    Raises
    ------
    KeyError
        Naming the known instruments.

    Examples
    --------
    >>> get_instrument("Kujala").mcid
    10.0
    """
    k = str(key).strip().lower()
    k = ALIASES.get(k, k)
    if k not in INSTRUMENTS:
        raise KeyError(f"unknown instrument {key!r}; known: {', '.join(sorted(INSTRUMENTS))} "
                       f"(aliases: {', '.join(sorted(ALIASES))})")
    return INSTRUMENTS[k]
