"""Causal mediation: does the exposure act through the mediator?

The regression-based estimators of Valeri & VanderWeele (2013) for a linear mediator and a
linear or logistic outcome, with or without the exposure x mediator interaction: the
controlled direct effect (CDE), pure and total natural direct effects (PNDE, TNDE), total
and pure natural indirect effects (TNIE, PNIE), the total effect (TE) and the proportion
mediated (PM), evaluated at covariate values ``c_cond``; delta-method standard errors as
R's ``regmedint`` computes them, or a seeded, vectorised bootstrap (percentile and BCa).
``MediationResult.sensitivity`` gives the indirect effect as a function of the correlation
rho between the two models' errors (Imai, Keele & Yamamoto 2010; R's ``mediation::medsens``)
and E-values (VanderWeele & Ding 2017).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats._mediation_fit import bootstrap_intervals, fit_linear
from hipstats.stats.logistic import fit_logistic
from hipstats.stats.checks import check_columns, check_frame

__all__ = ["mediation", "MediationResult", "EFFECTS"]

#: The effects, in regmedint's order.
EFFECTS = ("cde", "pnde", "tnie", "tnde", "pnie", "te", "pm")
_H = 1e-20  # complex step: the derivative is exact to rounding, no subtraction


@dataclass
class _Contrast:
    """One exposure contrast: its fits, parameter vector and covariance."""

    label: str
    a0: float
    a1: float
    n: int
    c_cond: dict
    params: np.ndarray          # beta (2 + k), theta (4 + k), sigma^2
    cov: np.ndarray
    rss_m: float
    rss_y: float                # NaN for a logistic outcome
    sd_y: float
    prevalence: float           # share of outcome = 1 (logistic), else NaN
    table: pd.DataFrame = None
    boot: dict = field(default_factory=dict)


def _effects(P, a0, a1, m_cde, c, logistic: bool):
    """The seven effects (last axis) for parameter vectors ``P`` (..., q); complex-safe."""
    k = len(c)
    b0, b1, b2c = P[..., 0], P[..., 1], P[..., 2:2 + k] @ c
    t1, t2, t3 = P[..., 3 + k], P[..., 4 + k], P[..., 5 + k]
    s2, d = P[..., -1], a1 - a0
    extra = 0.5 * s2 * t3 * (2 * t2 + t3 * (a1 + a0)) if logistic else 0.0
    cde = (t1 + t3 * m_cde) * d
    pnde = (t1 + t3 * (b0 + b1 * a0 + b2c) + extra) * d
    tnde = (t1 + t3 * (b0 + b1 * a1 + b2c) + extra) * d
    tnie = (t2 + t3 * a1) * b1 * d
    pnie = (t2 + t3 * a0) * b1 * d
    te = pnde + tnie
    with np.errstate(divide="ignore", invalid="ignore"):
        pm = np.exp(pnde) * (np.exp(tnie) - 1) / (np.exp(te) - 1) if logistic else tnie / te
    return np.stack([cde, pnde, tnie, tnde, pnie, te, pm], axis=-1)


def _delta_table(ct: _Contrast, m_cde, logistic: bool, level: float) -> pd.DataFrame:
    """Estimates and delta-method SEs; the gradient by complex step (exact: every effect
    is an analytic function of the parameters), as regmedint's closed-form gradients."""
    c = np.array(list(ct.c_cond.values()), float)
    est = _effects(ct.params, ct.a0, ct.a1, m_cde, c, logistic).real
    q = len(ct.params)
    jac = _effects(ct.params + 1j * _H * np.eye(q), ct.a0, ct.a1, m_cde, c, logistic).imag / _H
    se = np.sqrt(np.einsum("ie,ij,je->e", jac, ct.cov, jac))
    return _normal_table(est, se, level)


def _normal_table(est, se, level, index=EFFECTS):
    z = sps.norm.isf((1 - level) / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pval = 2 * sps.norm.sf(np.abs(est / se))
    return pd.DataFrame({"est": est, "se": se, "lci": est - z * se, "uci": est + z * se,
                         "pval": pval}, index=pd.Index(index, name="effect"))


# --------------------------------------------------------------------------------------
# data: complete cases, contrasts, design matrices
# --------------------------------------------------------------------------------------

def _complete_cases(data, outcome, mediator, exposure, covariates):
    """Rows with outcome, exposure, mediator and every named covariate; the others listed
    with every variable they miss (no other column is looked at)."""
    cols = [outcome, exposure, mediator, *covariates]
    miss = data[cols].isna().to_numpy()
    bad = miss.any(axis=1)
    reasons = [", ".join(c for c, gone in zip(cols, row) if gone) + " missing"
               for row in miss[bad]]
    excluded = pd.DataFrame({"row": data.index[bad]})
    if "subject" in data and "subject" not in cols:
        excluded["subject"] = data.loc[bad, "subject"].to_numpy()
    excluded["reason"] = reasons
    return data.loc[~bad], excluded


def _numeric(frame, cols):
    for c in cols:
        if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]):
            raise AnalysisError(f"column {c!r} must be numeric (got {frame[c].dtype})")


def _contrasts(frame, exposure, a0, a1):
    """(label, rows, a values, a0, a1) per contrast. A numeric exposure is used as it is
    (regmedint: a0 and a1 are values of it); arm labels give one 0/1 contrast per arm
    against the reference ``a0`` (``a1``: one arm, or ``None`` for every other arm)."""
    a = frame[exposure]
    if pd.api.types.is_numeric_dtype(a) and not pd.api.types.is_bool_dtype(a):
        if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in (a0, a1)):
            raise AnalysisError(f"{exposure!r} is numeric: a0 and a1 must be numbers (got "
                                f"{a0!r}, {a1!r})")
        return [(f"{exposure}: {a1:g} vs {a0:g}", frame.index, a.to_numpy(float),
                 float(a0), float(a1))]
    levels = list(pd.unique(a))
    if a0 not in levels:
        raise AnalysisError(f"a0={a0!r} is not an arm of {exposure!r} ({levels}); with arm "
                            "labels, a0 is the reference arm")
    if a1 is None or (a1 == 1 and 1 not in levels):   # a1's default with labelled arms
        arms = [x for x in levels if x != a0]
    else:
        arms = [a1]
    for arm in arms:
        if arm not in levels:
            raise AnalysisError(f"a1={arm!r} is not an arm of {exposure!r} ({levels})")
    out = []
    for arm in sorted(arms, key=str):
        rows = frame.index[a.isin([a0, arm])]
        out.append((f"{arm} vs {a0}", rows, (a[rows] == arm).to_numpy(float), 0.0, 1.0))
    return out


def _matrices(sub, avec, mediator, outcome, covariates, interaction):
    C = sub[covariates].to_numpy(float)
    one = np.ones(len(sub))
    m = sub[mediator].to_numpy(float)
    X1 = np.column_stack([one, avec, C])
    cols = [one, avec, m] + ([avec * m] if interaction else []) + [C]
    X2 = np.column_stack(cols)
    return X1, m, X2, sub[outcome].to_numpy(float)


def _theta_full(theta, interaction, k):
    """Outcome coefficients in regmedint's layout (1, a, m, a:m, C): a zero for a:m
    without the interaction (and a zero row and column in its covariance)."""
    if interaction:
        return theta
    return np.concatenate([theta[..., :3], np.zeros(theta.shape[:-1] + (1,)), theta[..., 3:]],
                          axis=-1)


# --------------------------------------------------------------------------------------
# fits
# --------------------------------------------------------------------------------------

def _fit_outcome(X2, y, W, logistic, start=None):
    """Outcome coefficients (fits, p), their covariance (fits, p, p), RSS (fits,) and a
    converged flag per fit."""
    if not logistic:
        coef, s2, inv = fit_linear(X2, y, W)
        rss = s2 * (W.sum(axis=1) - X2.shape[1])
        return coef, s2[:, None, None] * inv, rss, np.ones(len(W), bool)
    if start is None:  # statsmodels' IRLS gives the start; Newton then goes to the maximum
        import warnings

        import statsmodels.api as sm

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")   # separation is reported below, in words
            start = sm.GLM(y, X2, family=sm.families.Binomial()).fit().params
    coef, inv, ok = fit_logistic(X2, y, W, start)
    return coef, inv, np.full(len(W), np.nan), ok


def _fit_contrast(label, sub, avec, a0, a1, args) -> _Contrast:
    mediator, outcome, covariates, interaction, logistic, c_cond = args
    X1, m, X2, y = _matrices(sub, avec, mediator, outcome, covariates, interaction)
    n, k = len(y), len(covariates)
    for name, X in (("mediator", X1), ("outcome", X2)):
        if np.linalg.matrix_rank(X) < X.shape[1]:
            raise AnalysisError(f"{label}: the {name} model's design is rank deficient "
                                "(a constant covariate, or an exposure with one value?)")
    if n <= X2.shape[1] + 1:
        raise AnalysisError(f"{label}: {n} complete rows for {X2.shape[1]} outcome-model "
                            "coefficients")
    W = np.ones((1, n))
    beta, s2, inv1 = fit_linear(X1, m, W)
    theta, vtheta, rss_y, ok = _fit_outcome(X2, y, W, logistic)
    if not ok[0]:
        raise AnalysisError(f"{label}: the logistic outcome model has no finite maximum "
                            "(separation: the outcome is predicted perfectly)")
    p_m, q_y = X1.shape[1], 4 + k
    idx = [0, 1, 2] + ([3] if interaction else []) + list(range(4, q_y))
    cov = np.zeros((p_m + q_y + 1,) * 2)
    cov[:p_m, :p_m] = s2[0] * inv1[0]
    cov[np.ix_([p_m + i for i in idx], [p_m + i for i in idx])] = vtheta[0]
    cov[-1, -1] = 2 * s2[0] ** 2 / (n - p_m)   # Var(sigma^2) = 2 sigma^4 / (n - p)
    params = np.concatenate([beta[0], _theta_full(theta[0], interaction, k), s2])
    cc = {c: float(sub[c].mean()) if c_cond is None or c not in c_cond else float(c_cond[c])
          for c in covariates}
    return _Contrast(label, a0, a1, n, cc, params, cov, float(s2[0] * (n - p_m)),
                     float(rss_y[0]), float(np.std(y, ddof=1)),
                     float(y.mean()) if logistic else np.nan)


def _bootstrap(ct: _Contrast, sub, avec, args, m_cde, n_boot, rng, level, ci):
    """All resamples (multinomial counts) and the n jackknife samples (leave-one-out
    weights) fitted as one batch; the effects of each; percentile or BCa limits."""
    mediator, outcome, covariates, interaction, logistic, _ = args
    X1, m, X2, y = _matrices(sub, avec, mediator, outcome, covariates, interaction)
    n, k = len(y), len(covariates)
    counts = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)
    W = np.vstack([counts, 1.0 - np.eye(n)])
    beta, s2, _ = fit_linear(X1, m, W)
    theta_hat = ct.params[2 + k:-1]
    start = theta_hat if interaction else np.delete(theta_hat, 3)
    theta, _, _, ok = _fit_outcome(X2, y, W, logistic, start=start)
    P = np.column_stack([beta, _theta_full(theta, interaction, k), s2])
    c = np.array(list(ct.c_cond.values()), float)
    E = _effects(P, ct.a0, ct.a1, m_cde, c, logistic)
    E[~ok] = np.nan
    est = ct.table["est"].to_numpy()
    res = bootstrap_intervals(E[:n_boot], est, E[n_boot:], level)
    lim = res["bca" if ci == "bca" else "percentile"]
    ct.boot = {"draws": E[:n_boot], "n_failed": int(n_boot - np.isfinite(E[:n_boot, 2]).sum()),
               "percentile": res["percentile"], "bca": res["bca"]}
    return pd.DataFrame({"est": est, "se": res["se"], "lci": lim[0], "uci": lim[1],
                         "pval": res["pval"]}, index=ct.table.index)


# --------------------------------------------------------------------------------------
# sensitivity
# --------------------------------------------------------------------------------------

def _kappa(rho, ct: _Contrast):
    """How far the mediator's outcome coefficient moves when the two models' errors
    correlate rho: rho / sqrt(1 - rho^2) * sqrt(RSS_y / RSS_m). The constrained fit
    (medsens' iterated SUR at fixed rho, at its fixed point) keeps the mediator model's
    OLS coefficients and every outcome coefficient but the mediator's (Imai, Keele &
    Yamamoto 2010, Theorem 2)."""
    return rho / np.sqrt(1 - rho ** 2) * np.sqrt(ct.rss_y / ct.rss_m)


def _acme(rho, ct: _Contrast):
    k = len(ct.c_cond)
    b1, t2, t3 = ct.params[1], ct.params[4 + k], ct.params[5 + k]
    d = ct.a1 - ct.a0
    t2r = t2 - _kappa(np.asarray(rho, float), ct)
    return (t2r + t3 * ct.a0) * b1 * d, (t2r + t3 * ct.a1) * b1 * d


def _rho_zero(ct: _Contrast, at):
    """rho at which the indirect effect (mediator slope at exposure ``at``) is zero:
    rho / sqrt(1 - rho^2) = t solved exactly. Without the interaction this is the
    correlation of the residuals of m ~ a + C and y ~ a + C."""
    k = len(ct.c_cond)
    slope = ct.params[4 + k] + ct.params[5 + k] * at
    t = slope / np.sqrt(ct.rss_y / ct.rss_m)
    return float(t / np.sqrt(1 + t * t))


def _evalue_rr(rr: float) -> float:
    rr = 1 / rr if rr < 1 else rr
    return float(rr + np.sqrt(rr * (rr - 1)))


def _evalues(ct: _Contrast, logistic: bool) -> pd.DataFrame:
    """E-values (VanderWeele & Ding 2017) of the total, natural direct and indirect
    effects: a mean difference as a standardised difference d = est / SD(y), RR ~
    exp(0.91 d) (CI exp(0.91 d -/+ 1.78 SE(d))); an odds ratio as a risk ratio (its square
    root when the outcome is common, > 15%). The CI's E-value is 1 when the CI holds the
    null, else that of the limit nearer to it."""
    rows = []
    for eff in ("te", "pnde", "tnie"):
        r = ct.table.loc[eff]
        if logistic:
            root = 0.5 if ct.prevalence > 0.15 else 1.0
            rr, lo, hi = (np.exp(root * v) for v in (r["est"], r["lci"], r["uci"]))
        else:
            d, sd = r["est"] / ct.sd_y, r["se"] / ct.sd_y
            rr, lo, hi = (np.exp(0.91 * d + k * 1.78 * sd) for k in (0, -1, 1))
        near = 1.0 if lo <= 1 <= hi else (lo if lo > 1 else hi)
        rows.append({"effect": eff, "rr": rr, "rr_lci": lo, "rr_uci": hi,
                     "evalue": _evalue_rr(rr), "evalue_ci": _evalue_rr(near)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# result
# --------------------------------------------------------------------------------------

class MediationResult:
    """What :func:`mediation` returns.

    Attributes
    ----------
    table : DataFrame
        Index ``effect`` (cde, pnde, tnie, tnde, pnie, te, pm; with several arms
        ``(contrast, effect)``); columns est, se, lci, uci, pval. Logistic outcome: log odds
        ratios (pm on the risk-difference scale, VanderWeele 2015 p. 48).
    paths : DataFrame
        Per contrast: a (exposure -> mediator), b (mediator -> outcome at a0), a x m, and the
        natural direct, indirect and total effects, with normal-theory CIs (the path figure).
    excluded : DataFrame
        Rows not analysed (``row``, ``subject`` when the data have it, ``reason``).
    n : dict
        Rows analysed per contrast. ``c_cond``: covariate values per contrast.
    """

    def __init__(self, contrasts, excluded, settings):
        self._contrasts = contrasts
        self.excluded = excluded
        self.settings = settings
        one = len(contrasts) == 1
        tabs = [ct.table for ct in contrasts]
        self.table = tabs[0] if one else pd.concat(
            tabs, keys=[ct.label for ct in contrasts], names=["contrast", "effect"])
        self.n = {ct.label: ct.n for ct in contrasts}
        self.c_cond = {ct.label: ct.c_cond for ct in contrasts}
        self.contrasts = [ct.label for ct in contrasts]
        self._path_table = None

    @property
    def paths(self) -> pd.DataFrame:
        if self._path_table is None:   # made on first use: most callers want the effects
            self._path_table = pd.concat([self._paths(ct) for ct in self._contrasts],
                                         ignore_index=True)
        return self._path_table

    def _paths(self, ct: _Contrast) -> pd.DataFrame:
        k, lev = len(ct.c_cond), self.settings["level"]
        rows = {"a": 1, "b": 4 + k}
        if self.settings["interaction"]:
            rows["a x m"] = 5 + k
        est = np.array([ct.params[i] for i in rows.values()])
        se = np.sqrt([ct.cov[i, i] for i in rows.values()])
        tab = _normal_table(est, se, lev, list(rows)).reset_index(drop=True)
        tab.insert(0, "path", list(rows))
        eff = ct.table.loc[["pnde", "tnie", "te"]].reset_index(drop=True)
        eff.insert(0, "path", ["direct", "indirect", "total"])
        out = pd.concat([tab, eff], ignore_index=True)
        out.insert(0, "contrast", ct.label)
        return out

    def sensitivity(self, rho=None) -> dict:
        """Sensitivity to a mediator-outcome confounder and to any unmeasured confounder.

        Returns a dict: ``rho_zero`` (the correlation between the mediator and outcome
        models' errors at which the total natural indirect effect is zero; one number, or
        one per contrast; NaN for a logistic outcome), ``rho_zero_pnie`` (for the pure
        natural indirect effect, which differs from it with the interaction), ``curve``
        (DataFrame: contrast, rho, pnie, tnie; medsens' d0 and d1) and ``evalues``
        (DataFrame: contrast, effect, rr, rr_lci, rr_uci, evalue, evalue_ci).
        """
        logistic = self.settings["outcome_model"] == "logistic"
        grid = np.round(np.arange(-0.99, 0.9901, 0.01), 2) if rho is None else \
            np.atleast_1d(np.asarray(rho, float))
        if np.any(np.abs(grid) >= 1):
            raise AnalysisError("rho must lie strictly between -1 and 1")
        z, zp, curves, evs = {}, {}, [], []
        for ct in self._contrasts:
            ev = _evalues(ct, logistic)
            ev.insert(0, "contrast", ct.label)
            evs.append(ev)
            if logistic:
                z[ct.label] = zp[ct.label] = np.nan
                continue
            z[ct.label], zp[ct.label] = _rho_zero(ct, ct.a1), _rho_zero(ct, ct.a0)
            pnie, tnie = _acme(grid, ct)
            curves.append(pd.DataFrame({"contrast": ct.label, "rho": grid, "pnie": pnie,
                                        "tnie": tnie}))
        one = len(self._contrasts) == 1
        curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(
            columns=["contrast", "rho", "pnie", "tnie"])
        return {"rho_zero": next(iter(z.values())) if one else z,
                "rho_zero_pnie": next(iter(zp.values())) if one else zp,
                "curve": curve, "evalues": pd.concat(evs, ignore_index=True),
                "note": ("no rho-sensitivity for a logistic outcome (medsens covers a probit "
                         "outcome only); E-values only") if logistic else
                        "rho: correlation of the mediator and outcome models' errors"}

    def __repr__(self) -> str:
        return (f"MediationResult({self.settings['outcome_model']} outcome, "
                f"{self.settings['method']}, n={self.n})\n{self.table.to_string()}")


# --------------------------------------------------------------------------------------
# the function
# --------------------------------------------------------------------------------------

def _check(data, outcome, mediator, exposure, covariates, c_cond, outcome_model, method,
           n_boot, level):
    check_frame(data)
    check_columns(data, outcome=outcome, mediator=mediator, exposure=exposure,
                  covariates=covariates)
    if len({outcome, mediator, exposure, *covariates}) != 3 + len(covariates):
        raise AnalysisError("outcome, mediator, exposure and covariates must be different "
                            "columns")
    if outcome_model not in ("linear", "logistic"):
        raise AnalysisError(f"outcome_model must be 'linear' or 'logistic', got "
                            f"{outcome_model!r}")
    if method not in ("delta", "bootstrap"):
        raise AnalysisError(f"method must be 'delta' or 'bootstrap', got {method!r}")
    if not 0 < level < 1:
        raise AnalysisError(f"level must be in (0, 1), got {level}")
    if n_boot is not None and (int(n_boot) != n_boot or n_boot < 100):
        raise AnalysisError(f"n_boot must be a whole number >= 100, got {n_boot}")
    if c_cond is not None:
        if not isinstance(c_cond, dict):
            raise AnalysisError("c_cond must be a dict {covariate: value}")
        extra = sorted(set(c_cond) - set(covariates))
        if extra:
            raise AnalysisError(f"c_cond names {extra}, not among the covariates {covariates}")
    _numeric(data, [outcome, mediator, *covariates])
    if outcome_model == "logistic":
        vals = set(pd.unique(data[outcome].dropna()))
        if not vals <= {0, 1} or len(vals) < 2:
            raise AnalysisError(f"a logistic outcome must be coded 0/1 with both values; "
                                f"{outcome!r} has {sorted(vals)[:5]}")


def mediation(data: pd.DataFrame, outcome: str, mediator: str, exposure: str,
              covariates: list[str] | None = None, interaction: bool = True, a0=0, a1=1,
              m_cde: float = 0.0, c_cond: dict | None = None, outcome_model: str = "linear",
              method: str = "delta", n_boot: int | None = None, seed: int | None = None,
              level: float = 0.95, ci: str = "percentile") -> MediationResult:
    """Causal mediation analysis: how much of the exposure's effect goes through the
    mediator (Valeri & VanderWeele 2013; R's ``regmedint``).

    Fits ``mediator ~ exposure + covariates`` by least squares and ``outcome ~ exposure +
    mediator (+ exposure:mediator) + covariates`` by least squares or logistic regression,
    and combines them into the natural direct and indirect effects of moving the exposure
    from ``a0`` to ``a1``, at covariate values ``c_cond``.

    Parameters
    ----------
    data : DataFrame
        One row per participant.
    outcome, mediator, exposure : str
        Columns. A numeric exposure is used as it is (``a0``, ``a1`` are values of it); an
        exposure of arm labels gives one contrast per arm against the reference arm ``a0``
        (``a1``: one arm; ``None`` or the default: every other arm), each fitted on the rows
        of its two arms, coded 0/1.
    covariates : list of str, optional
        Numeric baseline covariates of both models.
    interaction : bool
        Include the exposure x mediator interaction in the outcome model.
    a0, a1 : float or str
        Reference and comparison exposure values (or arm labels).
    m_cde : float
        Mediator value at which the controlled direct effect is evaluated.
    c_cond : dict, optional
        ``{covariate: value}`` at which effects are evaluated; default (and for any
        covariate not named) the covariate's mean over the rows analysed.
    outcome_model : {"linear", "logistic"}
        Logistic: a 0/1 outcome; effects are log odds ratios.
    method : {"delta", "bootstrap"}
        Delta-method SEs with normal-theory CIs and p-values (regmedint's), or a
        nonparametric bootstrap (``n_boot`` resamples, default 2,000, seeded by ``seed``;
        all resamples fitted as one batch), with ``ci`` "percentile" (default) or "bca"
        limits (acceleration by the jackknife; both are kept in the result) and a p-value
        of twice the smaller share of resamples on either side of zero. The percentile
        interval is the default because BCa's is liberal for the indirect effect when the
        exposure does not move the mediator (8.0% type I error at n = 200 in the
        calibration suite; Fritz, Taylor & MacKinnon 2012).
    level : float
        Confidence level.

    Returns
    -------
    MediationResult
        ``.table`` (effects x est, se, lci, uci, pval), ``.paths``, ``.excluded`` (rows
        missing the outcome, exposure, mediator or a covariate, with the reason; no other
        column is looked at), ``.sensitivity()`` (rho at which the indirect effect is zero,
        the indirect effect against rho, E-values).

    Notes
    -----
    The mediator's residual variance is RSS / (n - p), its variance 2 sigma^4 / (n - p)
    enters the SEs of a logistic outcome's effects; the two models are independent in the
    delta method. The logistic fit is taken to the exact maximum (see
    ``hipstats.stats._mediation_fit``). Checked against R's regmedint 1.0.1 and
    mediation::medsens 4.5.1 (``tests/reference/mediation.R``).

    References
    ----------
    Valeri L, VanderWeele TJ. Psychol Methods 2013;18(2):137-150.
    VanderWeele TJ. Explanation in Causal Inference. Oxford University Press, 2015.
    Imai K, Keele L, Yamamoto T. Stat Sci 2010;25(1):51-71.
    Fritz MS, Taylor AB, MacKinnon DP. Multivariate Behav Res 2012;47(1):61-87.
    VanderWeele TJ, Ding P. Ann Intern Med 2017;167(4):268-274.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import hipstats as hs
    >>> rng = np.random.default_rng(1)
    >>> a = np.repeat([0, 1], 40)
    >>> m = 0.5 * a + rng.normal(size=80)
    >>> d = pd.DataFrame({"a": a, "m": m, "y": 0.3 * a + 0.4 * m + rng.normal(size=80)})
    >>> med = hs.mediation(d, outcome="y", mediator="m", exposure="a", interaction=False)
    >>> med.table.loc[["te", "pnde", "tnie"], ["est", "lci", "uci"]].round(2)
             est   lci   uci
    effect
    te      0.21 -0.23  0.65
    pnde    0.08 -0.34  0.50
    tnie    0.13 -0.03  0.30
    >>> round(med.sensitivity()["rho_zero"], 2)
    0.32
    """
    covariates = list(covariates or [])
    _check(data, outcome, mediator, exposure, covariates, c_cond, outcome_model, method,
           n_boot, level)
    if ci not in ("bca", "percentile"):
        raise AnalysisError(f"ci must be 'bca' or 'percentile', got {ci!r}")
    frame, excluded = _complete_cases(data, outcome, mediator, exposure, covariates)
    logistic = outcome_model == "logistic"
    args = (mediator, outcome, covariates, interaction, logistic, c_cond)
    rng = np.random.default_rng(seed)
    out = []
    for label, rows, avec, lo, hi in _contrasts(frame, exposure, a0, a1):
        sub = frame.loc[rows]
        ct = _fit_contrast(label, sub, avec, lo, hi, args)
        ct.table = _delta_table(ct, m_cde, logistic, level)
        if method == "bootstrap":
            ct.table = _bootstrap(ct, sub, avec, args, m_cde, int(n_boot or 2000), rng,
                                  level, ci)
        out.append(ct)
    settings = {"outcome_model": outcome_model, "method": method, "interaction": interaction,
                "level": level, "ci": ci if method == "bootstrap" else "normal",
                "n_boot": int(n_boot or 2000) if method == "bootstrap" else None, "seed": seed}
    return MediationResult(out, excluded, settings)
