"""Proportional-odds (cumulative logit) model for an ordinal outcome, such as a global rating
of change: statsmodels' ``OrderedModel``, reported as R's ``ordinal::clm`` reports it, with
the common odds ratio and Brant's test of proportional odds.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_frame
from hipstats.stats.logistic import fit_logit
from hipstats.stats.marginal import complete_rows

__all__ = ["ordinal", "OrdinalResult"]


@dataclass
class OrdinalResult:
    """Result of :func:`ordinal`.

    ``params``/``bse``/``cov``: thresholds (``"1|2"``, ... as clm names them) then the
    coefficients (patsy names), on clm's scale: ``logit P(y <= j) = theta_j - x'beta``, so a
    positive coefficient means higher categories. ``loglik``, ``n``, ``levels`` (the outcome
    categories observed, in order). ``table``: the coefficients with ``est, se, z, pval,
    lci, uci`` and the odds ratio ``or, or_lci, or_uci`` (odds of a higher category; the
    common odds ratio the model assumes equal at every cut). ``po_test``: Brant's Wald test
    of proportional odds (``stat, df, pval``; NaN when a binary split is separated), and
    ``po_terms`` the same test per term. ``dropped``: rows left out and why.
    """

    params: pd.Series
    bse: pd.Series
    cov: pd.DataFrame
    loglik: float
    n: int
    levels: list
    table: pd.DataFrame
    po_test: dict
    po_terms: pd.DataFrame
    dropped: pd.DataFrame
    notes: list = field(default_factory=list)

    def __repr__(self) -> str:
        po = self.po_test
        return "\n".join([f"Proportional-odds model, n = {self.n}, log-likelihood "
                          f"{self.loglik:.4f}", self.table.to_string(),
                          f"Brant test of proportional odds: chi2({po['df']}) = "
                          f"{po['stat']:.3f}, p = {po['pval']:.4g}", *self.notes])


def _frame(data: pd.DataFrame, formula: str):
    import patsy

    from hipstats.stats.lmm.engine import _model_desc, formula_variables

    check_frame(data)
    lhs, rhs = formula_variables(formula, data.columns)
    if len(lhs) != 1:
        raise AnalysisError(f"formula {formula!r} needs one outcome column of data on the left")
    cols = lhs + rhs
    d, dropped = complete_rows(data, cols)
    y = pd.to_numeric(d[lhs[0]], errors="coerce")
    if y.isna().any():
        raise AnalysisError(f"outcome {lhs[0]!r} must hold ordered numeric codes; it holds "
                            f"{list(pd.unique(d[lhs[0]][y.isna()].astype(str)))[:5]}")
    levels = sorted(y.unique())
    if len(levels) < 3:
        raise AnalysisError(f"outcome {lhs[0]!r} has {len(levels)} categories among the rows "
                            "used: an ordinal model needs at least 3 (use marginal_effect for "
                            "a binary outcome)")
    X = patsy.dmatrix(formula.split("~", 1)[1], d, return_type="dataframe")
    info = X.design_info
    # columns in the formula's written order (as clm reports them; patsy puts numeric
    # terms after categorical ones)
    written = [t for t in _model_desc(formula).rhs_termlist if t in info.term_slices]
    cols = [c for t in written for c in X.columns[info.term_slices[t]] if c != "Intercept"]
    X = X[cols]
    if np.linalg.matrix_rank(X.to_numpy()) < X.shape[1]:
        raise AnalysisError(f"the model {formula!r} is rank deficient on the rows used")
    return y.to_numpy(float), X, info, levels, dropped


def _fit(y, X, levels):
    """OrderedModel (logit) fitted by BFGS to a gradient of ~1e-7, the noise floor of
    statsmodels' finite-difference score (Newton steps on its numerical Hessian cannot go
    further); that is 1e-7 of an SE from clm's optimum. The covariance is the inverse of
    statsmodels' numerical Hessian (agrees with clm's analytic one to ~1e-5)."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    endog = pd.Categorical(y, categories=levels, ordered=True)
    model = OrderedModel(endog, X, distr="logit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(method="bfgs", disp=False, maxiter=5000, gtol=1e-9)
    if np.max(np.abs(model.score(np.asarray(res.params)))) > 1e-4:
        raise AnalysisError("the proportional-odds fit did not converge (BFGS): "
                            "check for categories chosen by very few participants")
    return model, res


def _check_finite(y, X: pd.DataFrame, params: pd.Series, bse: pd.Series) -> None:
    """Refuse a fit without a finite maximum (separation), naming the indicator whose
    participants all sit at or beyond every other participant's ratings (or the
    coefficient that ran off)."""
    coef = params[list(X.columns)]
    if np.all(np.isfinite(bse)) and np.abs(coef).max() < 15:
        return
    for c in X.columns:
        x = X[c].to_numpy()
        if set(np.unique(x)) <= {0.0, 1.0}:
            a, b = y[x == 1], y[x == 0]
            if len(a) and len(b) and (a.min() >= b.max() or a.max() <= b.min()):
                raise AnalysisError(
                    f"separation: every participant with {c} rates "
                    f"{'at or above' if a.min() >= b.max() else 'at or below'} every other "
                    "participant, so the proportional-odds model has no finite maximum (its "
                    "odds ratio is infinite); analyse success (a binary split) instead")
    raise AnalysisError(f"separation: the proportional-odds fit has no finite maximum "
                        f"({coef.abs().idxmax()} runs off to {coef.abs().max():.0f} on the "
                        "logit scale)")


def _clm_scale(res, X: pd.DataFrame, levels) -> tuple[pd.Series, pd.DataFrame]:
    """statsmodels' (beta, cut_1, log increments) -> clm's (thresholds, beta), with the
    covariance through the Jacobian of that map."""
    p = np.asarray(res.params)
    k = X.shape[1]
    raw = p[k:]
    theta = np.cumsum(np.concatenate([[raw[0]], np.exp(raw[1:])]))
    m = len(raw)
    J = np.zeros((m + k, m + k))
    for j in range(m):
        J[j, k] = 1.0
        J[j, k + 1:k + 1 + j] = np.exp(raw[1:j + 1])
    J[m:, :k] = np.eye(k)
    names = [f"{_lab(levels[j])}|{_lab(levels[j + 1])}" for j in range(m)] + \
        list(X.columns)
    try:
        raw_cov = np.asarray(res.cov_params())
    except ValueError:      # Hessian not invertible: no finite maximum (see _check_finite)
        raw_cov = np.full((m + k, m + k), np.nan)
    cov = J @ raw_cov @ J.T
    return (pd.Series(np.concatenate([theta, p[:k]]), index=names),
            pd.DataFrame(cov, index=names, columns=names))


def _lab(v) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def brant_test(y: np.ndarray, X: pd.DataFrame, info, levels) -> tuple[dict, pd.DataFrame]:
    """Brant's (1990) Wald test that the slopes of the J - 1 binary logits 1{y > j} are
    equal (what proportional odds assumes), overall and per term.

    Each binary logit is fitted by maximum likelihood on the same covariates; their joint
    covariance is Brant's: Var(b_j, b_l) = (X'W_j X)^-1 X' W_jl X (X'W_l X)^-1 with
    W_jl = diag(p_l - p_j p_l) for j <= l (p_j the fitted P(y > j)). The statistic for
    D b = 0 (D the differences of consecutive cuts' slopes) is chi-squared with
    (J - 2) x (number of slopes) df. When a split is separated (Firth's fit needed) the
    test is not available (NaN), as for R's brant package. ``info``: the patsy design
    info of X with its intercept (for the per-term tests).
    """
    Xa = np.column_stack([np.ones(len(y)), X.to_numpy()])
    k = X.shape[1]
    fits = [fit_logit(Xa, (y > c).astype(float)) for c in levels[:-1]]
    m = len(fits)
    nan = {"stat": np.nan, "df": (m - 1) * k, "pval": np.nan, "method": "Brant (1990) Wald"}
    if any(f.penalty != "none" for f in fits):
        return nan, pd.DataFrame(columns=["term", "stat", "df", "pval"])
    b = np.concatenate([f.beta[1:] for f in fits])
    V = np.zeros((m * k, m * k))
    for j in range(m):
        for l in range(m):
            pj, pl = fits[min(j, l)].fitted, fits[max(j, l)].fitted
            mid = (Xa * (pl - pj * pl)[:, None]).T @ Xa
            V[j * k:(j + 1) * k, l * k:(l + 1) * k] = (fits[j].cov @ mid @ fits[l].cov)[1:, 1:]

    def wald(cols):
        D = np.zeros(((m - 1) * len(cols), m * k))
        for j in range(m - 1):
            for i, c in enumerate(cols):
                D[j * len(cols) + i, j * k + c] = 1.0
                D[j * len(cols) + i, (j + 1) * k + c] = -1.0
        db = D @ b
        stat = float(db @ np.linalg.solve(D @ V @ D.T, db))
        df = (m - 1) * len(cols)
        return stat, df, float(stats.chi2.sf(stat, df))

    stat, df, p = wald(list(range(k)))
    terms = []
    names = list(X.columns)
    for term, sl in info.term_slices.items():
        cols = [names.index(c) for c in info.column_names[sl] if c in names]
        if cols:
            terms.append((term.name(), *wald(cols)))
    return ({"stat": stat, "df": df, "pval": p, "method": "Brant (1990) Wald"},
            pd.DataFrame(terms, columns=["term", "stat", "df", "pval"]))


def ordinal(data: pd.DataFrame, formula: str, alpha: float = 0.05) -> OrdinalResult:
    """Proportional-odds (cumulative logit) model of an ordinal outcome, e.g. a global rating
    of change adjusted for baseline: ``ordinal(d, "grc ~ arm + y_bl")``.

    Parameters
    ----------
    data : DataFrame
        One row per participant.
    formula : str
        Outcome (ordered numeric codes, e.g. GRC 1 = much worse ... 7 = much better) on the
        left; treatment and covariates on the right (no intercept is fitted: the
        thresholds take its place).
    alpha : float
        1 - confidence level.

    Returns
    -------
    OrdinalResult
        ``params``, ``bse``, ``cov``, ``loglik`` on R's ``ordinal::clm`` scale; ``table``
        (coefficients with Wald CIs and odds ratios: the common odds ratio of a higher
        category); ``po_test`` (Brant's test of proportional odds), ``po_terms``;
        ``dropped``; ``notes``.

    Notes
    -----
    The fit is statsmodels' ``OrderedModel`` (logit link, BFGS); thresholds are reported as clm reports them (``theta_j``, not
    statsmodels' first threshold and log increments), with the covariance mapped through
    the Jacobian. Checked against ``ordinal::clm`` (``tests/test_marginal_reference.py``).
    Categories are those observed (a category nobody chose has no threshold, as in clm).
    The proportional-odds check is Brant's (1990) Wald test of equal slopes across the
    separate binary logits (see :func:`brant_test`); a small p-value says the common odds
    ratio hides cut-specific effects (report the binary analysis, e.g. GRC success, beside
    it).

    References
    ----------
    McCullagh P (1980). Regression models for ordinal data. J R Stat Soc B 42(2):109-142.
    Brant R (1990). Assessing proportionality in the proportional odds model for ordinal
    logistic regression. Biometrics 46(4):1171-1178. Christensen RHB (2022). ordinal:
    regression models for ordinal data, R package 2022.11-16.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import hipstats as hs
    >>> rng = np.random.default_rng(2)
    >>> arm, y_bl = np.repeat(["ctl", "hip"], 80), rng.normal(5, 1.5, 160)
    >>> latent = 0.8 * (arm == "hip") + 0.3 * y_bl + rng.logistic(size=160)
    >>> d = pd.DataFrame({"arm": arm, "y_bl": y_bl})
    >>> d["grc"] = np.digitize(latent, [-0.5, 0.5, 1.2, 2, 2.8, 3.6]) + 1
    >>> fit = hs.ordinal(d, "grc ~ arm + y_bl")
    >>> list(fit.params.index)
    ['1|2', '2|3', '3|4', '4|5', '5|6', '6|7', 'arm[T.hip]', 'y_bl']
    """
    y, X, info, levels, dropped = _frame(data, formula)
    model, res = _fit(y, X, levels)
    params, cov = _clm_scale(res, X, levels)
    bse = pd.Series(np.sqrt(np.diag(cov)), index=params.index)
    _check_finite(y, X, params, bse)
    z = stats.norm.ppf(1 - alpha / 2)
    coef = list(X.columns)
    t = pd.DataFrame({"est": params[coef], "se": bse[coef]})
    t["z"] = t["est"] / t["se"]
    t["pval"] = 2 * stats.norm.sf(t["z"].abs())
    t["lci"], t["uci"] = t["est"] - z * t["se"], t["est"] + z * t["se"]
    t["or"], t["or_lci"], t["or_uci"] = np.exp(t["est"]), np.exp(t["lci"]), np.exp(t["uci"])
    po, po_terms = brant_test(y, X, info, levels)
    notes = [] if np.isfinite(po["stat"]) else [
        "Brant's test not available: a binary split of the outcome is separated"]
    return OrdinalResult(params=params, bse=bse, cov=cov, loglik=float(res.llf), n=len(y),
                         levels=list(levels), table=t.rename_axis("term"), po_test=po,
                         po_terms=po_terms, dropped=dropped, notes=notes)
