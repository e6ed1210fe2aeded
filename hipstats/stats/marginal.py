"""Covariate-adjusted marginal treatment effects on a binary outcome (R's beeca).

``marginal_effect`` fits a logistic working model ``outcome ~ treatment + covariates``,
averages each participant's predicted risk with everyone set to one arm (g-computation),
and contrasts those average risks (risk difference, ratio, odds ratio, or their logs) with
the variance of Ge et al. (2011; delta method with a sandwich or model-based covariance) or
Ye et al. (2023; robust to a wrong working model, optionally stratified). This is the
analysis of a responder (or GRC success) outcome adjusted for baseline that the FDA's 2023
guidance on covariate adjustment describes; the numbers equal ``beeca::get_marginal_effect``
(0.2.0; ``tests/reference/marginal.R``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_frame
from hipstats.stats.logistic import LogitFit, fit_logit

__all__ = ["marginal_effect", "MarginalEffect", "CONTRASTS"]

# contrast -> (estimate(comp, ref), gradient wrt (ref, comp), null value); beeca's formulas
CONTRASTS = {
    "diff": (lambda x, y: x - y, lambda x, y: (-1.0, 1.0), 0.0),
    "rr": (lambda x, y: x / y, lambda x, y: (-x / y ** 2, 1 / y), 1.0),
    "or": (lambda x, y: (x / (1 - x)) / (y / (1 - y)),
           lambda x, y: (-x / ((1 - x) * y ** 2), (1 - y) / (y * (1 - x) ** 2)), 1.0),
    "logrr": (lambda x, y: np.log(x / y), lambda x, y: (-1 / y, 1 / x), 0.0),
    "logor": (lambda x, y: np.log((x / (1 - x)) / (y / (1 - y))),
              lambda x, y: (-1 / (y * (1 - y)), 1 / (x * (1 - x))), 0.0),
}
METHODS = ("Ye", "Ge")
TYPES = ("HC0", "model-based")


@dataclass
class MarginalEffect:
    """Result of :func:`marginal_effect`.

    ``table``: one row per non-reference arm (index ``arm``, in the treatment's level
    order): ``reference, contrast, est, se, lci, uci, pval``. ``means``: the counterfactual
    risk per arm (index ``arm``): ``est, se`` and the observed ``n, responders``.
    ``varcov``: the covariance of the arm risks. ``coef``: the working model's coefficients.
    ``dropped``: rows left out, with the reason. ``notes``: what the reader must know
    (separation, strata ignored, ...). ``penalty``: ``"none"`` or ``"firth"``.
    """

    table: pd.DataFrame
    means: pd.DataFrame
    varcov: pd.DataFrame
    coef: pd.Series
    n: int
    method: str
    type: str | None
    contrast: str
    reference: str
    strata: list
    dropped: pd.DataFrame
    penalty: str = "none"
    notes: list = field(default_factory=list)

    def __repr__(self) -> str:
        head = (f"Marginal effect ({self.contrast}, method {self.method}"
                + (f", {self.type}" if self.method == "Ge" else "")
                + (f", strata {self.strata}" if self.strata else "") + f"), n = {self.n}")
        return "\n".join([head, self.table.to_string(), *self.notes])

    def _repr_html_(self) -> str:
        notes = "".join(f"<p>{n}</p>" for n in self.notes)
        return f"<p>{repr(self).splitlines()[0]}</p>{self.table.to_html()}{notes}"


def _terms(formula: str, data: pd.DataFrame, treatment: str):
    """Outcome, variables used, and checks of the treatment's place in the formula."""
    from hipstats.stats.lmm.engine import _model_desc, _names_in_code, formula_variables

    if treatment not in data.columns:
        raise AnalysisError(f"treatment={treatment!r} is not a column of data")
    lhs, rhs = formula_variables(formula, data.columns)
    if len(lhs) != 1:
        raise AnalysisError(f"formula {formula!r} needs one outcome column of data on the left")
    main = False
    for term in _model_desc(formula).rhs_termlist:
        names = {nm for f in term.factors for nm, _ in _names_in_code(f.code)}
        if treatment in names and len(term.factors) > 1:
            raise AnalysisError(
                f"formula {formula!r} has a treatment x covariate interaction "
                f"({term.name()}): the marginal effect needs a working model without "
                "interactions of the treatment (as beeca requires)")
        main = main or (treatment in names and len(term.factors) == 1)
    if not main:
        raise AnalysisError(f"treatment={treatment!r} is not a term of formula {formula!r}")
    return lhs[0], rhs


def _outcome(y: pd.Series, name: str) -> np.ndarray:
    """A 0/1 outcome (numbers or booleans), else an error naming the values found."""
    if pd.api.types.is_bool_dtype(y):
        return y.astype(float).to_numpy()
    num = pd.to_numeric(y, errors="coerce")
    bad = y[num.isna() | ~num.isin([0, 1])]
    if len(bad):
        vals = list(pd.unique(bad.astype(str)))[:5]
        raise AnalysisError(
            f"outcome {name!r} must be coded 0 (no event) / 1 (event); it holds {vals}"
            + (" (two labels: code the event as 1 and the other as 0)"
               if y.nunique() == 2 else ""))
    return num.to_numpy(dtype=float)


def _levels(s: pd.Series, treatment: str, reference) -> tuple[list, str]:
    """Treatment levels in order (a Categorical's order, else sorted) and the reference."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        levels = [c for c in s.cat.categories if (s == c).any()]
    else:
        levels = sorted(s.unique(), key=lambda v: (str(type(v)), v))
    if len(levels) < 2:
        raise AnalysisError(f"treatment {treatment!r} has {len(levels)} level(s) "
                            f"{[str(v) for v in levels]} among the rows used: need at least 2")
    match = [lv for lv in levels if str(lv) == str(reference)
             or (not isinstance(reference, str) and lv == reference)]
    if not match:
        raise AnalysisError(f"reference={reference!r} is not a level of {treatment!r} "
                            f"(levels: {[str(v) for v in levels]})")
    return levels, match[0]


def complete_rows(data: pd.DataFrame, cols: list) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows complete on ``cols``, and the others listed (``row``, ``reason``: the columns
    missing)."""
    miss = data[cols].isna()
    gone = miss.any(axis=1).to_numpy()
    reason = ["missing " + ", ".join(c for c, m in zip(cols, r) if m)
              for r in miss.to_numpy()[gone]]
    return data.loc[~gone].copy(), pd.DataFrame({"row": data.index[gone], "reason": reason})


def _frame(data, formula, treatment, reference, strata):
    """Rows used (complete on the formula's variables), dropped rows with reasons, levels."""
    check_frame(data)
    outcome, rhs = _terms(formula, data, treatment)
    for s in strata:
        if s not in rhs:
            raise AnalysisError(f"stratum {s!r} is not a variable of formula {formula!r}: "
                                "strata must be covariates of the working model (as beeca "
                                "requires)")
    cols = [outcome] + rhs
    d, dropped = complete_rows(data, cols)
    if d.empty:
        raise AnalysisError(f"no row has all of {cols}")
    y = _outcome(d[outcome], outcome)
    if y.min() == y.max():
        raise AnalysisError(f"outcome {outcome!r} is {int(y[0])} for every row used: no "
                            "contrast to estimate")
    levels, ref = _levels(d[treatment], treatment, reference)
    d[treatment] = pd.Categorical(d[treatment], categories=levels)
    return d, y, levels, ref, dropped


def _design(d: pd.DataFrame, formula: str, treatment: str, levels: list):
    """Model matrix and one counterfactual matrix per arm (everyone set to that arm)."""
    import patsy

    from hipstats.stats.lmm.engine import _names_in_code

    rhs = formula.split("~", 1)[1]
    X = patsy.dmatrix(rhs, d, NA_action="raise", return_type="dataframe")
    info = X.design_info
    rank = np.linalg.matrix_rank(X.to_numpy())
    if rank < X.shape[1]:
        Xa, kept = X.to_numpy(), []
        for j in range(X.shape[1]):
            if np.linalg.matrix_rank(Xa[:, kept + [j]]) > len(kept):
                kept.append(j)
        names = [c for j, c in enumerate(X.columns) if j not in kept]
        raise AnalysisError(f"the working model is rank deficient (rank {rank} of "
                            f"{X.shape[1]} columns): {names} are aliased with earlier columns")
    # no treatment interaction: a counterfactual matrix is X with the treatment term's
    # columns set to that arm's coding (taken from a K-row frame, one row per arm)
    cols = np.concatenate([np.arange(X.shape[1])[sl] for term, sl in info.term_slices.items()
                           if treatment in {nm for f in term.factors
                                            for nm, _ in _names_in_code(f.code)}])
    rows = d.iloc[[0] * len(levels)].copy()
    rows[treatment] = pd.Categorical(levels, categories=levels)
    coding = np.asarray(patsy.build_design_matrices([info], rows)[0])[:, cols]
    Xa, cf = X.to_numpy(), []
    for k in range(len(levels)):
        M = Xa.copy()
        M[:, cols] = coding[k]
        cf.append(M)
    return X, cf


def _varcov_ye(y, arm, P, levels, fitted, cells):
    """Ye et al. (2023) covariance of the arm risks, beeca's default (mod = FALSE: the
    RobinCar variance decomposition), minus the stratified-randomisation term when strata
    are given (Ye, Shao, Yi & Zhao 2023, eq. 18: permuted blocks within strata)."""
    n, K = P.shape
    idx = [arm == k for k in range(K)]
    pi = np.array([i.mean() for i in idx])
    cov = lambda a, b: float(np.cov(a, b, ddof=1)[0, 1])  # noqa: E731
    V = np.empty((K, K))
    for a in range(K):
        ya, pa = y[idx[a]], P[idx[a], a]
        v_obs, c_op, v_pred = np.var(ya, ddof=1), cov(ya, pa), np.var(P[:, a], ddof=1)
        V[a, a] = (v_obs - 2 * c_op + v_pred) / pi[a] + 2 * c_op - v_pred
        for b in range(K):
            if b != a:
                V[a, b] = (cov(ya, P[idx[a], b]) + cov(y[idx[b]], P[idx[b], a])
                           - cov(P[:, a], P[:, b]))
    if cells is not None:
        omega = np.diag(pi) - np.outer(pi, pi)
        resid = y - fitted
        for z in np.unique(cells):
            inz = cells == z
            rb = np.diag([resid[idx[k] & inz].mean() / pi[k] for k in range(K)])
            V -= rb @ omega @ rb * inz.mean()
    return V / n


def _varcov_ge(fit: LogitFit, X: np.ndarray, y, P, cf, type_: str):
    """Ge et al. (2011): delta method, D V D', D the derivatives of the arm risks in the
    coefficients and V the model-based (X'WX)^-1 or the HC0 sandwich."""
    V = fit.cov
    if type_ == "HC0":
        meat = (X * ((y - fit.fitted) ** 2)[:, None]).T @ X
        V = fit.cov @ meat @ fit.cov
    D = np.vstack([((P[:, k] * (1 - P[:, k]))[:, None] * cf[k]).mean(axis=0)
                   for k in range(len(cf))])
    return D @ V @ D.T


def _contrast_table(means, V, levels, ref, contrast, alpha):
    """Contrasts of each non-reference arm against the reference (beeca's estimate and
    delta-method SE), with a Wald CI and p-value on the contrast's own scale."""
    est_f, grad_f, h0 = CONTRASTS[contrast]
    r = levels.index(ref)
    z = float(special.ndtri(1 - alpha / 2))     # scipy.special: no per-call overhead
    rows = []
    for k, lv in enumerate(levels):
        if k == r:
            continue
        g = np.zeros(len(levels))
        g[r], g[k] = grad_f(means[k], means[r])
        est, se = float(est_f(means[k], means[r])), float(np.sqrt(g @ V @ g))
        rows.append({"arm": str(lv), "reference": str(ref), "contrast": contrast,
                     "est": est, "se": se, "lci": est - z * se, "uci": est + z * se,
                     "pval": float(2 * special.ndtr(-abs(est - h0) / se))})
    return pd.DataFrame(rows).set_index("arm")


def _check_args(contrast, method, type, strata):
    if contrast not in CONTRASTS:
        raise AnalysisError(f"contrast={contrast!r} is not one of {list(CONTRASTS)}")
    if method not in METHODS:
        raise AnalysisError(f"method={method!r} is not one of {list(METHODS)}")
    if type not in TYPES:
        raise AnalysisError(f"type={type!r} is not one of {list(TYPES)} (Ge's variance)")
    strata = [strata] if isinstance(strata, str) else list(strata or [])
    notes = []
    if strata and method == "Ge":
        msg = f"strata {strata} ignored: Ge's variance does not use strata (as in beeca)"
        warnings.warn(msg, stacklevel=3)
        notes.append(msg)
        strata = []
    return strata, notes


def marginal_effect(data: pd.DataFrame, formula: str, treatment: str, reference,
                    contrast: str = "diff", method: str = "Ye", type: str = "HC0",
                    strata=None, alpha: float = 0.05) -> MarginalEffect:
    """Covariate-adjusted marginal treatment effect on a binary outcome (g-computation).

    Parameters
    ----------
    data : DataFrame
        One row per participant.
    formula : str
        The logistic working model, ``"resp ~ arm + y_bl + m_bl"``: a 0/1 outcome, the
        treatment and covariates, no treatment x covariate interaction.
    treatment : str
        The treatment column (a term of ``formula``). Its levels: a Categorical's order,
        else sorted.
    reference : scalar
        The reference arm (any level).
    contrast : {"diff", "rr", "or", "logrr", "logor"}
        Risk difference, risk ratio, odds ratio, log risk ratio, log odds ratio (arm vs
        reference).
    method : {"Ye", "Ge"}
        Variance: Ye et al. (2023), beeca's default (``mod = FALSE``), or Ge et al. (2011).
    type : {"HC0", "model-based"}
        The coefficient covariance of Ge's delta method.
    strata : list of str, optional
        Stratification variables of the randomisation (Ye only; each must be in the
        formula). Ignored, with a warning, under Ge (as beeca does).
    alpha : float
        1 - confidence level.

    Returns
    -------
    MarginalEffect
        ``.table`` (one row per non-reference arm, in level order: ``reference, contrast,
        est, se, lci, uci, pval``), ``.means`` (counterfactual risk per arm: ``est, se, n,
        responders``), ``.varcov``, ``.coef``, ``.n``, ``.dropped`` (rows left out and
        why), ``.penalty`` and ``.notes``.

    Notes
    -----
    Equal to ``beeca::get_marginal_effect`` (estimates and SEs; beeca reports no CI):
    ``lci, uci = est -/+ z(1 - alpha/2) se`` on the contrast's own scale (so a ratio's
    interval is symmetric; use ``logrr``/``logor`` for intervals symmetric on the log
    scale) and ``pval = 2 Phi(-|est - h0| / se)``, ``h0 = 1`` for ``rr`` and ``or``, else 0.
    The working model is fitted to the exact maximum (``hipstats.stats.logistic``). When an
    arm (or a covariate pattern) has only responders or only non-responders the maximum
    does not exist (separation): the working model is then Firth's penalised fit, ``penalty``
    is ``"firth"``, a note says so, and the intervals are computed from that fit (beeca has
    no answer there: ``glm`` diverges). Rows with a missing outcome or covariate are
    dropped and listed in ``dropped``.

    References
    ----------
    Ge M, Durham LK, Meyer RD, Xie W, Thomas N (2011). Covariate-adjusted difference in
    proportions from clinical trials using logistic regression and weighted risk
    differences. Drug Inf J 45:481-493. Ye T, Bannick M, Yi Y, Shao J (2023). Robust
    variance estimation for covariate-adjusted unconditional treatment effect in randomized
    clinical trials with binary outcomes. Stat Theory Relat Fields 7(2):159-163.
    Magirr D, Wang C, Przybylski A, Baillie M (2024). Estimating the variance of covariate-
    adjusted estimators of average treatment effects in clinical trials with binary
    endpoints. https://osf.io/9mp58/. FDA (2023). Adjusting for covariates in randomized
    clinical trials for drugs and biological products. Guidance for industry.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import hipstats as hs
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"arm": np.repeat(["ctl", "hip"], 60), "y_bl": rng.normal(5, 1.5, 120)})
    >>> d["resp"] = (rng.random(120) < np.where(d["arm"] == "hip", 0.6, 0.35)).astype(int)
    >>> me = hs.marginal_effect(d, "resp ~ arm + y_bl", treatment="arm", reference="ctl")
    >>> list(me.table.columns)
    ['reference', 'contrast', 'est', 'se', 'lci', 'uci', 'pval']
    >>> list(me.means.index)
    ['ctl', 'hip']
    """
    strata, notes = _check_args(contrast, method, type, strata)
    d, y, levels, ref, dropped = _frame(data, formula, treatment, reference, strata)
    X, cf = _design(d, formula, treatment, levels)
    arm = d[treatment].cat.codes.to_numpy()
    sep = [str(lv) for k, lv in enumerate(levels) if y[arm == k].min() == y[arm == k].max()]
    fit = fit_logit(X.to_numpy(), y, firth=bool(sep))
    if fit.penalty == "firth":
        notes.append(_separation_note(sep, levels, arm, y))
    P = np.column_stack([1 / (1 + np.exp(-(M @ fit.beta))) for M in cf])
    means = P.mean(axis=0)
    if method == "Ye":
        cells = None
        if strata:
            cells, labels = pd.MultiIndex.from_frame(d[strata].astype(str)).factorize()
            _check_cells(cells, labels, arm, levels, strata)
        V = _varcov_ye(y, arm, P, levels, fit.fitted, cells)
    else:
        V = _varcov_ge(fit, X.to_numpy(), y, P, cf, type)
    names = [str(lv) for lv in levels]
    means_df = pd.DataFrame({"est": means, "se": np.sqrt(np.diag(V)),
                             "n": [int((arm == k).sum()) for k in range(len(levels))],
                             "responders": [int(y[arm == k].sum()) for k in range(len(levels))]},
                            index=pd.Index(names, name="arm"))
    return MarginalEffect(
        table=_contrast_table(means, V, levels, ref, contrast, alpha), means=means_df,
        varcov=pd.DataFrame(V, index=names, columns=names),
        coef=pd.Series(fit.beta, index=X.columns), n=len(y), method=method,
        type=type if method == "Ge" else None, contrast=contrast, reference=str(ref),
        strata=strata, dropped=dropped, penalty=fit.penalty, notes=notes)


def _separation_note(sep, levels, arm, y) -> str:
    what = (", ".join(f"{lv} ({'all' if y[arm == levels.index(lv)].min() == 1 else 'none'} "
                      "with outcome 1)" for lv in sep) if sep else "a covariate pattern")
    return (f"separation: {what}; the logistic working model has no finite maximum, so it is "
            "Firth's penalised fit (Heinze & Schemper 2002) and the interval is the chosen "
            "method's Wald interval from that fit")


def _check_cells(cells, labels, arm, levels, strata) -> None:
    """Every arm in every stratum (Ye's stratified variance averages residuals per cell)."""
    for z in np.unique(cells):
        for k, lv in enumerate(levels):
            if not ((cells == z) & (arm == k)).any():
                raise AnalysisError(f"stratum {dict(zip(strata, labels[z]))} has no "
                                    f"participant in arm {lv!r}: Ye's stratified variance "
                                    "needs every arm in every stratum")
