"""Synthetic example cohorts for the built-in designs, calibrated to published summaries.

No open individual-level data set of PFPS or ITBS patients with hip-abductor strength and pain
or function over time is known, so the bundled cohorts are SYNTHETIC. Each generating number
is listed in :data:`CALIBRATION` with its source, or labelled an assumption; the same table
goes into ``data/datapackage.json``.

:func:`simulate_cohort` draws a cohort with a seeded :class:`numpy.random.Generator`
(same seed, same frame, same bytes); :func:`example` returns the bundled cohort without
needing any file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipstats.design import Design, get_design

__all__ = ["simulate_cohort", "example", "CALIBRATION", "EXAMPLE_SEEDS", "datapackage",
           "example_file_rows"]

#: Seeds of the bundled cohorts (``data/raw/<design>.csv``).
EXAMPLE_SEEDS = {"program6wk": 2008, "pfps3wk": 2011, "hipknee6wk": 2015}

_G = 9.80665
_LEVER = 0.42  # m, assumed hand-held dynamometer lever arm (greater trochanter to lateral knee)
_H = 1.704  # m, mean height, Ferber et al. 2015
# Fredericson et al. 2000, women: abductor torque in %BW x height, injured 7.82, uninjured 9.82
_UNINV0 = 9.82 / 100 * _G * _H / _LEVER  # N/kg
_INV0 = 7.82 / 100 * _G * _H / _LEVER

CALIBRATION = {
    "program6wk": [
        {"quantity": "n", "value": 16, "status": "published",
         "source": "Beers et al. 2008, Physiother Can 60(2):180-188"},
        {"quantity": "men / women", "value": "5 / 11", "status": "published",
         "source": "Beers et al. 2008"},
        {"quantity": "age range (years)", "value": "20-53", "status": "published",
         "source": "Beers et al. 2008"},
        {"quantity": "height mean (SD), cm", "value": "170.4 (9.4)", "status": "published",
         "source": "Ferber et al. 2015, J Athl Train 50(4):366-377 (PFP cohort)"},
        {"quantity": "body mass mean (SD), kg", "value": "67.6 (13.5)", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "baseline strength, uninvolved limb (N/kg)", "value": round(_UNINV0, 2),
         "status": "derived",
         "source": "Fredericson et al. 2000, Clin J Sport Med 10:169-175: 9.82 %BW x height "
                   "(women, uninjured); converted with height 1.704 m and an ASSUMED lever arm "
                   "of 0.42 m"},
        {"quantity": "baseline strength, involved limb (N/kg)", "value": round(_INV0, 2),
         "status": "derived",
         "source": "Fredericson et al. 2000: 7.82 %BW x height (women, injured); same conversion "
                   "(limb symmetry about 80%)"},
        {"quantity": "involved limb reaches the uninvolved limb by week 6", "value": "yes",
         "status": "published (qualitative)",
         "source": "Beers et al. 2008: side difference gone at 6 weeks"},
        {"quantity": "between-subject SD of strength (N/kg)", "value": 0.6, "status": "assumption",
         "source": "assumed (coefficient of variation about 15-20%)"},
        {"quantity": "visit-to-visit measurement SD of strength (N/kg)", "value": 0.2,
         "status": "assumption", "source": "assumed (hand-held dynamometer ICC about 0.9)"},
        {"quantity": "SD of each limb's own strength level within a subject (N/kg)",
         "value": 0.25, "status": "assumption",
         "source": "assumed (the two limbs of one patient differ beyond measurement error; "
                   "gives a non-zero subject:limb variance)"},
        {"quantity": "between-subject SD of the LEFS gain (points/week)", "value": 1.0,
         "status": "assumption",
         "source": "assumed (patients recover at different rates; gives a non-zero random "
                   "week slope)"},
        {"quantity": "within-subject residual SD of LEFS (points)", "value": 3.0,
         "status": "assumption", "source": "assumed (LEFS test-retest SEM about 3-4 points, "
                                           "Binkley et al. 1999)"},
        {"quantity": "LEFS baseline mean, gain over 6 weeks (points)", "value": "55, +13",
         "status": "assumption",
         "source": "assumed; the gain exceeds the LEFS MCID of 9 points (Binkley et al. 1999, "
                   "Phys Ther 79:371-383)"},
        {"quantity": "strength-function correlation at each visit", "value": "about 0.8",
         "status": "assumption",
         "source": "Beers et al. 2008 report a significant relation at weeks 2, 4 and 6 "
                   "(n = 16, so r above about 0.50); the exact r is not published"},
        {"quantity": "missed visits at weeks 0/2/4/6", "value": "0% / 4% / 6% / 10%",
         "status": "assumption", "source": "assumed"},
    ],
    "pfps3wk": [
        {"quantity": "n PFPS / controls", "value": "15 / 10", "status": "published",
         "source": "Ferber, Kendall & Farr 2011, J Athl Train 46(2):142-149"},
        {"quantity": "men / women (PFPS; controls)", "value": "5 / 10; 4 / 6",
         "status": "published", "source": "Ferber et al. 2011"},
        {"quantity": "age mean (SD), years", "value": "29.0 (7.1)", "status": "published",
         "source": "Ferber et al. 2015, J Athl Train 50(4):366-377"},
        {"quantity": "height mean (SD), cm", "value": "170.4 (9.4)", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "body mass mean (SD), kg", "value": "67.6 (13.5)", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "baseline strength PFPS / controls (N/kg)", "value": "2.5 / 3.0",
         "status": "assumption",
         "source": "assumed magnitudes; Ferber et al. 2011 report PFPS weaker at baseline"},
        {"quantity": "strength gain over 3 weeks, PFPS (N/kg)", "value": "+0.6 (about +24%)",
         "status": "assumption",
         "source": "assumed; Ferber et al. 2011 report a gain; Dolak et al. 2011 (JOSPT "
                   "41(8):560-570) +21% over 8 weeks"},
        {"quantity": "VAS pain PFPS at baseline, mean (SD), cm", "value": "5.0 (1.5)",
         "status": "assumption", "source": "assumed"},
        {"quantity": "VAS pain reduction over 3 weeks, PFPS", "value": "40%",
         "status": "published", "source": "Ferber et al. 2011: about 40% in 14 of 15 patients"},
        {"quantity": "VAS after treatment, SD (cm)", "value": 2.0, "status": "published",
         "source": "Dolak et al. 2011: 4-week pain 2.4 +/- 2.0 cm (hip group)"},
        {"quantity": "peak knee valgum (deg), both groups, unchanged", "value": "8 (4)",
         "status": "assumption",
         "source": "magnitude assumed; no group difference and no change: Ferber et al. 2011"},
        {"quantity": "stride-to-stride knee variability (deg) PFPS / controls, PFPS change",
         "value": "3.0 / 2.2, -0.6", "status": "assumption",
         "source": "magnitudes assumed; PFPS higher at baseline and reduced after: Ferber 2011"},
        {"quantity": "missed post visit", "value": "5%", "status": "assumption",
         "source": "assumed"},
    ],
    "hipknee6wk": [
        {"quantity": "n randomised", "value": 199, "status": "published",
         "source": "Ferber et al. 2015, J Athl Train 50(4):366-377, PMC4560005 (199 of 721 "
                   "screened)"},
        {"quantity": "n HIP / KNEE", "value": "100 / 99", "status": "assumption",
         "source": "assumed 1:1 allocation (arm sizes not taken from the paper)"},
        {"quantity": "men / women", "value": "66 / 133", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "age mean (SD), years", "value": "29.0 (7.1)", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "height mean (SD), cm", "value": "170.4 (9.4)", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "body mass mean (SD), kg", "value": "67.6 (13.5)", "status": "published",
         "source": "Ferber et al. 2015"},
        {"quantity": "VAS and AKPS every week 0-6; strength at weeks 0 and 6", "value": "yes",
         "status": "published", "source": "Ferber et al. 2015 (Main Outcome Measures)"},
        {"quantity": "VAS at baseline, mean (SD), cm", "value": "5.0 (1.8)",
         "status": "assumption", "source": "assumed"},
        {"quantity": "VAS reduction by week 6, both arms (cm)", "value": "-2.8 (HIP), -2.6 "
         "(KNEE)", "status": "assumption",
         "source": "magnitudes assumed; both arms improved (P < .001) and by more than the 2 cm "
                   "MCID: Ferber et al. 2015"},
        {"quantity": "HIP arm's pain falls one week earlier", "value": "yes",
         "status": "published (qualitative)",
         "source": "Ferber et al. 2015: VAS reduced 1 week earlier in HIP than in KNEE"},
        {"quantity": "AKPS at baseline, mean (SD), points", "value": "70 (11)",
         "status": "assumption", "source": "assumed"},
        {"quantity": "AKPS gain by week 6, both arms (points)", "value": "+11",
         "status": "assumption",
         "source": "magnitude assumed; both arms improved (P < .001): Ferber et al. 2015"},
        {"quantity": "baseline hip-abductor strength (N/kg)", "value": round(_INV0, 2),
         "status": "derived",
         "source": "Fredericson et al. 2000 (7.82 %BW x height, injured limb of women), "
                   "converted as for program6wk"},
        {"quantity": "strength gain over 6 weeks HIP / KNEE (N/kg)", "value": "+0.35 / +0.15",
         "status": "assumption",
         "source": "magnitudes assumed; HIP gained more hip-abductor strength (P = .01): "
                   "Ferber et al. 2015"},
        {"quantity": "between-subject SD of strength (N/kg); measurement SD", "value":
         "0.6; 0.2", "status": "assumption", "source": "assumed, as for program6wk"},
        {"quantity": "analysed at 6 weeks", "value": "about 185 of 199 (7% dropout)",
         "status": "derived",
         "source": "Bolgla et al. 2016, Int J Sports Phys Ther 11(6):926-935, same trial: "
                   "F(1,181) in the intention-to-treat analysis; dropout week assumed uniform "
                   "over weeks 1-6"},
        {"quantity": "missed single weekly visits (not dropout)", "value": "3%",
         "status": "assumption", "source": "assumed"},
    ],
}


def _demographics(rng: np.random.Generator, n: int, n_men: int, age: tuple) -> dict:
    sex = np.array(["M"] * n_men + ["F"] * (n - n_men))
    sex = sex[rng.permutation(n)]
    if age[0] == "uniform":
        ages = rng.integers(age[1], age[2] + 1, size=n).astype(float)
    else:
        ages = np.clip(np.round(rng.normal(age[1], age[2], size=n)), 18, 60)
    height = np.round(np.clip(rng.normal(170.4, 9.4, size=n), 150, 200), 1)
    mass = np.round(np.clip(rng.normal(67.6, 13.5, size=n), 45, 110), 1)
    return {"age": ages, "sex": sex, "height": height, "body_mass": mass}


def _program6wk(rng: np.random.Generator, n: int) -> pd.DataFrame:
    weeks = np.array([0, 2, 4, 6])
    demo = _demographics(rng, n, int(round(n * 5 / 16)), ("uniform", 20, 53))
    side = np.where(rng.random(n) < 0.5, "left", "right")
    u = rng.normal(0, 0.6, n)  # subject strength level
    slope = (_UNINV0 - _INV0) / 6 + rng.normal(0, 0.04, n)
    limb_level = rng.normal(0, 0.25, (n, 2))  # each limb's own level (subject:limb)
    inv = (_INV0 + u[:, None] + limb_level[:, :1] + slope[:, None] * weeks
           + rng.normal(0, 0.2, (n, 4)))
    uninv = (_UNINV0 + u[:, None] + limb_level[:, 1:] + 0.02 * weeks
             + rng.normal(0, 0.2, (n, 4)))
    mean_s = _INV0 + (_UNINV0 - _INV0) / 6 * weeks
    f_subject = rng.normal(0, 4.0, n)
    f_slope = rng.normal(0, 1.0, n)  # patients recover at different rates (points/week)
    func = (55 + 13 / 6 * weeks + 11.0 * (inv - mean_s) + f_subject[:, None]
            + f_slope[:, None] * weeks + rng.normal(0, 3.0, (n, 4)))
    func = np.clip(np.round(func), 0, 80)
    miss = rng.random((n, 4)) < np.array([0.0, 0.04, 0.06, 0.10])
    rows = []
    for i in range(n):
        for k, w in enumerate(weeks):
            m = miss[i, k]
            rows.append({
                "subject": f"P{i + 1:02d}", "week": int(w),
                "strength": np.nan if m else round(float(inv[i, k]), 2),
                "strength_uninvolved": np.nan if m else round(float(uninv[i, k]), 2),
                "function_score": np.nan if m else float(func[i, k]),
                "age": demo["age"][i], "sex": demo["sex"][i], "body_mass": demo["body_mass"][i],
                "height": demo["height"][i], "side": side[i],
            })
    return pd.DataFrame(rows)


def _pfps3wk(rng: np.random.Generator, n: int, n_control: int) -> pd.DataFrame:
    groups = ["PFPS"] * n + ["control"] * n_control
    demo_p = _demographics(rng, n, int(round(n * 5 / 15)), ("normal", 29.0, 7.1))
    demo_c = _demographics(rng, n_control, int(round(n_control * 4 / 10)), ("normal", 29.0, 7.1))
    demo = {k: np.concatenate([demo_p[k], demo_c[k]]) for k in demo_p}
    total = n + n_control
    pf = np.array([g == "PFPS" for g in groups])
    s0 = np.where(pf, 2.5, 3.0) + rng.normal(0, 0.55, total)
    s1 = s0 + np.where(pf, 0.6, 0.0) + rng.normal(0, 0.2, total)
    p0 = np.where(pf, np.clip(rng.normal(5.0, 1.5, total), 1.0, 9.5),
                  np.clip(rng.normal(0.2, 0.3, total), 0, 2))
    p1 = np.where(pf, p0 * 0.6 + rng.normal(0, 1.2, total), p0 + rng.normal(0, 0.2, total))
    p0, p1 = np.clip(p0, 0, 10), np.clip(p1, 0, 10)
    v0 = rng.normal(8.0, 4.0, total)
    v1 = v0 + rng.normal(0, 1.0, total)
    k0 = np.where(pf, rng.normal(3.0, 0.8, total), rng.normal(2.2, 0.6, total))
    k1 = k0 + np.where(pf, -0.6, 0.0) + rng.normal(0, 0.3, total)
    k0, k1 = np.clip(k0, 0.3, 19), np.clip(k1, 0.3, 19)
    miss_post = rng.random(total) < 0.05
    rows = []
    ids = [f"R{i + 1:02d}" for i in range(total)]
    for i in range(total):
        for tp, s, p, v, k in (("pre", s0, p0, v0, k0), ("post", s1, p1, v1, k1)):
            m = tp == "post" and miss_post[i]
            rows.append({
                "subject": ids[i], "group": groups[i], "time": tp,
                "strength": np.nan if m else round(float(s[i]), 2),
                "pain_vas": np.nan if m else round(float(p[i]), 1),
                "valgus_peak": np.nan if m else round(float(v[i]), 1),
                "knee_variability": np.nan if m else round(float(k[i]), 2),
                "age": demo["age"][i], "sex": demo["sex"][i],
                "body_mass": demo["body_mass"][i], "height": demo["height"][i],
            })
    return pd.DataFrame(rows)


def _hipknee6wk(rng: np.random.Generator, n_hip: int, n_knee: int) -> pd.DataFrame:
    weeks = np.arange(7)
    n = n_hip + n_knee
    arm = np.array(["HIP"] * n_hip + ["KNEE"] * n_knee)[rng.permutation(n)]
    demo = _demographics(rng, n, int(round(n * 66 / 199)), ("normal", 29.0, 7.1))
    hip = arm == "HIP"
    # pain: exponential approach to the week-6 level; HIP about one week ahead
    drop = np.where(hip, 2.8, 2.6)
    rate = np.where(hip, 0.55, 0.38)
    curve = (1 - np.exp(-rate[:, None] * weeks)) / (1 - np.exp(-rate[:, None] * 6))
    p_sub = rng.normal(0, 1.6, n)
    p_resp = rng.normal(1.0, 0.35, n)  # each patient's share of the mean drop
    vas = (5.0 + p_sub[:, None] - drop[:, None] * p_resp[:, None] * curve
           + rng.normal(0, 0.7, (n, 7)))
    vas = np.round(np.clip(vas, 0, 10), 1)
    a_sub = rng.normal(0, 10.0, n)
    akps = (70 + a_sub[:, None] + 11 * p_resp[:, None] * curve - 1.5 * (p_sub[:, None])
            + rng.normal(0, 3.5, (n, 7)))
    akps = np.round(np.clip(akps, 0, 100))
    s_sub = rng.normal(0, 0.6, n)
    gain = np.where(hip, 0.35, 0.15) + 0.15 * (p_resp - 1) + rng.normal(0, 0.15, n)
    s0 = _INV0 + s_sub + rng.normal(0, 0.2, n)
    s6 = _INV0 + s_sub + gain + rng.normal(0, 0.2, n)
    dropout = np.where(rng.random(n) < 0.07, rng.integers(1, 7, n), 99)  # last week missed
    missed = rng.random((n, 7)) < 0.03
    missed[:, 0] = False
    rows = []
    ids = [f"K{i + 1:03d}" for i in range(n)]
    for i in range(n):
        for w in weeks:
            gone = w >= dropout[i] or missed[i, w]
            s = s0[i] if w == 0 else s6[i] if w == 6 else np.nan
            rows.append({
                "subject": ids[i], "group": arm[i], "week": int(w),
                "pain_vas": np.nan if gone else float(vas[i, w]),
                "akps": np.nan if gone else float(akps[i, w]),
                "strength": np.nan if gone or np.isnan(s) else round(float(s), 2),
                "age": demo["age"][i], "sex": demo["sex"][i],
                "body_mass": demo["body_mass"][i], "height": demo["height"][i],
            })
    return pd.DataFrame(rows)


def _canonical(frame: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Same columns, order and dtypes as :func:`hipstats.load` returns."""
    if "strength_uninvolved" in frame and "lsi" in design.derived:
        frame["lsi"] = frame["strength"] / frame["strength_uninvolved"] * 100.0
    order = design.time_order()
    frame = frame.assign(_pos=frame[design.time].map(order)).sort_values(
        ["subject", "_pos"], kind="mergesort").drop(columns="_pos")
    frame = frame[[c for c in design.columns() if c in frame]].reset_index(drop=True)
    frame["subject"] = frame["subject"].astype(str)
    if design.has_groups:
        frame["group"] = frame["group"].astype(str)
    if design.time == "week":
        frame["week"] = frame["week"].astype("int64")
    else:
        frame[design.time] = frame[design.time].astype(str)
    for m in design.measures:
        if m.name in frame:
            frame[m.name] = frame[m.name].astype("float64")
    if "lsi" in frame:
        frame["lsi"] = frame["lsi"].astype("float64")
    for m in design.covariates:
        if m.name in frame:
            frame[m.name] = frame[m.name].astype("float64" if m.kind == "float" else "str")
    return frame


def simulate_cohort(design="program6wk", n: int | None = None, seed: int = 0,
                    n_control: int | None = None) -> pd.DataFrame:
    """Draw a synthetic cohort for a built-in design.

    Parameters
    ----------
    design : {"program6wk", "pfps3wk", "hipknee6wk"} or Design
        Built-in design to simulate.
    n : int, optional
        Subjects (``program6wk``, default 16), PFPS runners (``pfps3wk``, default 15) or
        patients in the HIP arm (``hipknee6wk``, default 100).
    seed : int
        Seed of the :class:`numpy.random.Generator`; same seed, same frame.
    n_control : int, optional
        Healthy controls for ``pfps3wk`` (default 10); KNEE arm for ``hipknee6wk`` (99).

    Returns
    -------
    DataFrame
        The canonical person-period frame (see :mod:`hipstats.design`), missed visits as rows
        of NaN measures. Generating numbers and their sources: :data:`CALIBRATION`.

    Notes
    -----
    The data are synthetic. Numbers from published studies are used where they exist; the
    rest are assumptions, labelled as such in :data:`CALIBRATION`.

    References
    ----------
    Beers A et al. (2008) Physiother Can 60(2):180-188. Ferber R, Kendall KD, Farr L (2011)
    J Athl Train 46(2):142-149. Ferber R et al. (2015) J Athl Train 50(4):366-377.
    Fredericson M et al. (2000) Clin J Sport Med 10:169-175. Dolak KL et al. (2011) JOSPT
    41(8):560-570.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.simulate_cohort("pfps3wk", seed=1)
    >>> df.groupby("group")["subject"].nunique().to_dict()
    {'PFPS': 15, 'control': 10}
    """
    d = get_design(design)
    if d.name not in EXAMPLE_SEEDS:
        raise ValueError(f"no generator for design {d.name!r}; built-in: {sorted(EXAMPLE_SEEDS)}")
    rng = np.random.default_rng(seed)
    if d.name == "program6wk":
        n = 16 if n is None else int(n)
        if n < 2:
            raise ValueError("n must be at least 2")
        frame = _program6wk(rng, n)
    elif d.name == "hipknee6wk":
        n = 100 if n is None else int(n)
        n_control = 99 if n_control is None else int(n_control)
        if n < 1 or n_control < 1:
            raise ValueError("n (HIP) and n_control (KNEE) must be at least 1")
        frame = _hipknee6wk(rng, n, n_control)
    else:
        n = 15 if n is None else int(n)
        n_control = 10 if n_control is None else int(n_control)
        if n < 1 or n_control < 0:
            raise ValueError("n must be >= 1 and n_control >= 0")
        frame = _pfps3wk(rng, n, n_control)
    frame = _canonical(frame, d)
    frame.attrs["design"] = d.name
    frame.attrs["measures"] = d.measure_info()
    return frame


def example_file_rows(frame: pd.DataFrame, design) -> pd.DataFrame:
    """Rows a real export would have: visits with no measurement at all are absent (as the
    bundled ``data/raw`` files are written)."""
    d = get_design(design)
    measures = [m for m in d.measure_names if m in frame]
    return frame[frame[measures].notna().any(axis=1)].reset_index(drop=True)


def example(name: str = "program6wk") -> pd.DataFrame:
    """The bundled synthetic example cohort of a design (no file needed).

    Identical to loading ``data/raw/<name>.csv`` with :func:`hipstats.load`.

    Parameters
    ----------
    name : {"program6wk", "pfps3wk", "hipknee6wk"}

    Returns
    -------
    DataFrame
        Canonical person-period frame: 16 subjects x 4 visits (``program6wk``), 15 PFPS +
        10 control runners x 2 visits (``pfps3wk``) or 100 HIP + 99 KNEE patients x 7 weekly
        visits with strength at weeks 0 and 6 (``hipknee6wk``).

    Examples
    --------
    >>> import hipstats
    >>> hipstats.example("program6wk").shape[0]
    64
    """
    if name not in EXAMPLE_SEEDS:
        raise ValueError(f"unknown example {name!r}; choose one of {sorted(EXAMPLE_SEEDS)}")
    return simulate_cohort(name, seed=EXAMPLE_SEEDS[name])


def datapackage(resources: dict[str, str]) -> dict:
    """A Frictionless data package describing bundled cohorts.

    Parameters
    ----------
    resources : dict
        Design name -> relative path of its CSV.
    """
    res = []
    for name, path in sorted(resources.items()):
        d = get_design(name)
        fields = [{"name": "subject", "type": "string", "description": "Subject identifier",
                   "constraints": {"required": True}}]
        if d.has_groups:
            fields.append({"name": "group", "type": "string", "description": "Group",
                           "constraints": {"required": True, "enum": list(d.groups)}})
        fields.append({"name": d.time, "type": "integer" if d.time == "week" else "string",
                       "description": "Visit", "constraints": {
                           "required": True, "enum": list(d.timepoints)}})
        for m in d.measures + d.covariates:
            f = {"name": m.name, "type": "number" if m.kind == "float" else "string",
                 "description": m.description, "hipstats:required": m.required}
            if m.unit:
                f["unit"] = m.unit
            cons = {}
            if m.kind == "float":
                if m.low is not None:
                    cons["minimum"] = m.low
                if m.high is not None:
                    cons["maximum"] = m.high
            else:
                cons["enum"] = list(m.levels)
            f["constraints"] = cons
            fields.append(f)
        res.append({
            "name": name, "path": path, "format": "csv", "mediatype": "text/csv",
            "encoding": "utf-8", "profile": "tabular-data-resource",
            "title": f"SYNTHETIC example cohort, design {name}",
            "description": "SYNTHETIC DATA, not from any real participant. " + d.description
            + f" Generated by hipstats.simulate_cohort({name!r}, seed={EXAMPLE_SEEDS[name]}). "
            "Visits a subject missed are absent from the file (the loader adds them as "
            "missing).",
            "schema": {"fields": fields, "missingValues": [""],
                       "primaryKey": ["subject", d.time]},
            "hipstats:calibration": CALIBRATION[name],
        })
    return {
        "profile": "tabular-data-package", "name": "hipstats-examples",
        "title": "hipstats SYNTHETIC example cohorts",
        "description": "Synthetic cohorts shaped like three published hip-abductor studies, "
                       "calibrated to published summaries where they exist; every generating "
                       "number is listed with its source or marked an assumption.",
        "licenses": [{"name": "CC0-1.0"}],
        "sources": [
            {"title": "Beers A et al. 2008. Physiother Can 60(2):180-188. "
                      "doi:10.3138/physio.60.2.180"},
            {"title": "Ferber R, Kendall KD, Farr L 2011. J Athl Train 46(2):142-149. "
                      "doi:10.4085/1062-6050-46.2.142"},
            {"title": "Ferber R et al. 2015. J Athl Train 50(4):366-377. PMC4560005"},
            {"title": "Fredericson M et al. 2000. Clin J Sport Med 10:169-175"},
            {"title": "Dolak KL et al. 2011. J Orthop Sports Phys Ther 41(8):560-570"},
            {"title": "Binkley JM et al. 1999. Phys Ther 79:371-383 (LEFS)"},
            {"title": "Bolgla LA et al. 2016. Int J Sports Phys Ther 11(6):926-935. "
                      "PMC5095944"},
            {"title": "Crossley KM et al. 2004. Arch Phys Med Rehabil 85(5):815-822 (VAS and "
                      "AKPS MCIDs)"},
        ],
        "resources": res,
    }
