"""Generative models for simulation-based power, one per built-in design.

Defaults follow the bundled synthetic cohorts (see :data:`hipstats.synthetic.CALIBRATION`
for which numbers are published and which are assumptions).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

__all__ = ["Program6wkModel", "Pfps3wkModel", "model_for", "SOURCES", "NULL_EFFECT",
           "ANALYSES"]

#: Analyses simulated per design (the first is the default).
ANALYSES = {"program6wk": ("mixed", "rm_corr"), "pfps3wk": ("ancova", "ttest")}

#: Where each default comes from ("published: ..." or "assumption"); printed by
#: ``hipstats power`` beside the values it simulates.
SOURCES = {
    "program6wk": {
        "beta_strength": "published bound: per-visit r = 0.50, the smallest r significant "
                         "at n = 16 (Beers et al. 2008 report significance, not r)",
        "strength0": "published: Fredericson et al. 2000 (calibration table)",
        "function0": "assumption (LEFS baseline 55)",
        "function_slope": "assumption (LEFS +13 over 6 weeks, above the MCID of 9)",
        "dropout": "assumption (0/4/6/10% per visit)",
    },
    "pfps3wk": {
        "delta": "published: Nascimento et al. 2018, pooled MD -1.5 cm (hip + knee vs knee)",
        "sd_post": "published: Dolak et al. 2011, SD of VAS after treatment 2.0 cm",
        "pain_pre": "assumption", "sd_pre": "assumption", "rho": "assumption",
        "dropout": "assumption",
    },
}
#: The fields set to 0 for the type I error run, per analysis. rm_corr has no time term,
#: so a strength trend shared with the function trend is a real within-person association:
#: its null also has a flat strength.
NULL_EFFECT = {"mixed": {"beta_strength": 0.0},
               "rm_corr": {"beta_strength": 0.0, "strength_slope": 0.0},
               "ancova": {"delta": 0.0}, "ttest": {"delta": 0.0}}


@dataclass(frozen=True)
class Program6wkModel:
    """Strength and function over weeks 0/2/4/6 in one group.

    ``strength_ij = strength0 + u_i + strength_slope * week_j + e_ij`` and
    ``function_ij = function0 + function_slope * week_j + beta_strength * (strength_ij -
    E[strength_j]) + a_i + b_i * week_j + r_ij`` with subject effects ``u ~ N(0, sd_strength)``,
    ``(a, b) ~ N(0, diag(sd_intercept^2, sd_slope^2))`` and monotone dropout: a subject
    present at visit j-1 misses visit j and every later one with probability ``dropout[j]``.

    Attributes (defaults; N/kg, LEFS points, weeks)
    ----------
    beta_strength : 5.7 points per N/kg: a per-visit strength-function correlation of 0.50
        (at week 3), the smallest r that reaches p < .05 with the 16 patients of Beers et
        al. 2008, who report significant correlations at weeks 2, 4 and 6 but not their
        size (data/datapackage.json). It was 11.0 (r about 0.65, an assumption), which
        gave power 1.000 at every n from 12 up.
    """

    weeks: tuple = (0, 2, 4, 6)
    strength0: float = 3.11  # involved limb, Fredericson 2000 via the calibration table
    strength_slope: float = 0.133
    sd_strength: float = 0.6
    sd_strength_noise: float = 0.2
    function0: float = 55.0
    function_slope: float = 13 / 6
    beta_strength: float = 5.7
    sd_intercept: float = 4.0
    sd_slope: float = 0.5
    sd_residual: float = 4.5
    dropout: tuple = (0.0, 0.04, 0.06, 0.10)

    @property
    def true_value(self) -> float:
        return self.beta_strength


@dataclass(frozen=True)
class Pfps3wkModel:
    """A two-arm pre/post trial of VAS pain (hip training vs comparison).

    ``pre ~ N(pain_pre, sd_pre)``; ``post = pain_post - delta * [hip] + rho * sd_post /
    sd_pre * (pre - pain_pre) + e`` with ``e`` scaled so that SD(post) = ``sd_post``;
    the post visit is missed with probability ``dropout``.

    Defaults: ``delta`` 1.5 cm larger drop with hip training (Nascimento et al. 2018 pooled
    MD -1.5 cm), ``sd_post`` 2.0 cm (Dolak et al. 2011), ``pain_pre`` 5.0 and ``sd_pre``
    1.5 cm, ``rho`` 0.5 (assumptions).
    """

    delta: float = 1.5
    pain_pre: float = 5.0
    sd_pre: float = 1.5
    pain_post: float = 4.0
    sd_post: float = 2.0
    rho: float = 0.5
    dropout: float = 0.05

    @property
    def true_value(self) -> float:
        return -self.delta  # hip minus comparison, at follow-up


def model_for(design: str, effects: dict | None = None):
    """The default model of a design, with ``effects`` overriding its fields."""
    base = {"program6wk": Program6wkModel(), "pfps3wk": Pfps3wkModel()}.get(design)
    if base is None:
        raise ValueError(f"no generative model for design {design!r}; "
                         "choose 'program6wk' or 'pfps3wk'")
    effects = dict(effects or {})
    names = {f.name for f in fields(base)}
    unknown = sorted(set(effects) - names)
    if unknown:
        raise ValueError(f"unknown effect(s) {unknown} for {design}; known: {sorted(names)}")
    for k, v in list(effects.items()):
        if k in ("dropout", "weeks") and not isinstance(v, (int, float)):
            effects[k] = tuple(float(x) for x in v)
    m = replace(base, **effects)
    drop = np.atleast_1d(np.asarray(m.dropout, dtype=float))
    if np.any(drop < 0) or np.any(drop >= 1):
        raise ValueError("dropout probabilities must be in [0, 1)")
    if isinstance(m, Program6wkModel) and len(drop) != len(m.weeks):
        raise ValueError(f"dropout needs one probability per visit ({len(m.weeks)})")
    return m


