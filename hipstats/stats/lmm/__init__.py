"""Linear mixed models fitted the way lme4 does, with lmerTest/pbkrtest inference.

==================  ==============================================================
module              holds
==================  ==============================================================
``engine``          model frame from the formula's parsed variables, per-subject blocks,
                    profiled deviance and its exact gradient, optimiser, convergence test
``ddf``             Satterthwaite and Kenward-Roger df for any contrast matrix
``inference``       ``anova`` (type III/I F-tests), ``emmeans``, ``contrast``, ``compare_models``
``result``          :class:`MixedModelResult`: tables, ``summary()``, HTML, ``predict``
``kernel``          the batched deviance kernel used by :mod:`hipstats.power`
==================  ==============================================================
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats as sps

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_columns, check_min_subjects
from hipstats.stats.lmm.inference import compare_models
from hipstats.stats.lmm.result import MixedModelResult

__all__ = ["mixed_model", "MixedModelResult", "select_random", "compare_models"]


def _parse_random(random) -> list[str]:
    if random is None:
        return []
    if isinstance(random, (list, tuple)):
        return [str(r) for r in random]
    s = str(random).strip().lstrip("~").strip()
    parts = [t.strip() for t in s.replace("|", "+").split("+") if t.strip()]
    return [t for t in parts if t not in ("1", "0")]


def _nested_columns(d: pd.DataFrame, subject: str, nested: str, codes: np.ndarray):
    """Index of each row's nested unit within its subject (0, 1, ...), the maximum number
    of units per subject, and the number of units in all."""
    unit = pd.factorize(pd.Series(list(zip(codes, d[nested].astype(str))), index=d.index),
                        sort=True)[0]
    first = pd.Series(unit).groupby(codes).transform("min").to_numpy()
    # rank of the unit within the subject (units are numbered consecutively per subject
    # because factorize sorted the (subject, unit) pairs)
    within = unit - first
    return within, int(within.max()) + 1, int(unit.max()) + 1


def mixed_model(data: pd.DataFrame, formula: str, subject: str, random=None,
                reml: bool = True, df_method: str = "satterthwaite", alpha: float = 0.05,
                correlated: bool = True, nested: str | None = None) -> MixedModelResult:
    """Linear mixed model with a random intercept (and slopes) per subject.

    Parameters
    ----------
    data : DataFrame
        Person-period frame; a row missing any variable the model uses (the formula's own
        columns, ``subject``, ``random``, ``nested``) is excluded on its own (a missed visit
        removes that visit only) and listed in ``.exclusions`` with the columns missing.
    formula : str
        Fixed effects, patsy style: ``"function_score ~ strength * week"``,
        ``"pain_vas ~ C(time) * group"``. The outcome must be numeric; a text predictor is a
        factor only when none of its values is a number.
    subject : str
        Grouping column (one random intercept per subject).
    random : None, str or list of str
        Random slopes: ``"week"`` means lme4's ``(1 + week | subject)``; R-style
        ``"~ week"`` is accepted. None: intercept only.
    reml : bool
        REML (default, as lme4) or maximum likelihood.
    df_method : {"satterthwaite", "kenward-roger", "residual"}
        Denominator df of the t-tests: lmerTest's Satterthwaite, pbkrtest's Kenward-Roger
        (with its adjusted SEs; REML fits only, as lmerTest requires), or n - p.
    alpha : float
        1 - confidence level of the intervals.
    correlated : bool
        False fits uncorrelated random effects, lme4's ``(1 + week || subject)``.
    nested : str, optional
        A second grouping level nested in the subject (e.g. ``"limb"`` when both limbs are
        measured at every visit): adds ``(1 | subject:limb)``.

    Returns
    -------
    MixedModelResult
        ``.fixed`` (index: term; ``estimate, se, df, t, pval, ci_low, ci_high``),
        ``.random`` (``group, var1, var2, vcov, sdcor`` as R's ``as.data.frame(VarCorr())``),
        ``.loglik``, ``.aic``, ``.bic``, ``.deviance``, ``.converged``, ``.singular``,
        ``.optimizer_info``, ``.theta``, ``.sigma``, ``.vcov``, ``.nobs``, ``.ngroups``,
        ``.exclusions``, ``.blups``, ``.predict(newdata)``, ``.summary()``.

    Notes
    -----
    Fitted as lme4 (profiled deviance over the relative covariance factor; Bates et al.
    2015) from per-subject blocks, by Newton's method with the exact gradient
    (:mod:`hipstats.stats.lmm.engine`) and Hessian. ``converged`` is lme4's test (Newton-scaled
    gradient below 2e-3), boundary-aware: a variance at 0 is reported as ``singular``
    (lme4's ``isSingular``: a diagonal of the factor below 1e-4), not as non-convergence.
    Fixed-effect names follow patsy (``Intercept``, ``strength:week``, ``C(week)[T.2]``);
    log-likelihood, AIC and BIC follow lme4 (REML fits report the REML criterion).

    R equivalent: ``lmerTest::lmer(function_score ~ strength * week + (week | subject))``,
    ``summary(m, ddf = "Satterthwaite" | "Kenward-Roger")``.

    References
    ----------
    Bates D, Maechler M, Bolker B, Walker S (2015). Fitting linear mixed-effects models using
    lme4. J Stat Softw 67(1):1-48. Kuznetsova A, Brockhoff PB, Christensen RHB (2017).
    lmerTest package: tests in linear mixed effects models. J Stat Softw 82(13):1-26.
    Halekoh U, Hojsgaard S (2014). A Kenward-Roger approximation and parametric bootstrap
    methods for tests in linear mixed models: the R package pbkrtest. J Stat Softw 59(9).

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("program6wk")
    >>> fit = hipstats.mixed_model(df, "function_score ~ strength + week", subject="subject")
    >>> list(fit.fixed.columns)
    ['estimate', 'se', 'df', 't', 'pval', 'ci_low', 'ci_high']
    """
    from hipstats.stats.lmm.engine import one_blas_thread

    with one_blas_thread():
        return _mixed_model(data, formula, subject, random, reml, df_method, alpha,
                            correlated, nested)


def _check_arguments(data, df_method, reml, alpha) -> str:
    """The df method by its canonical name, after the argument checks."""
    df_method = (df_method or "residual").lower().replace("_", "-")
    if df_method in ("kr", "kenward-roger", "kenwardroger"):
        df_method = "kenward-roger"
    if df_method not in ("satterthwaite", "kenward-roger", "residual"):
        raise AnalysisError("df_method must be 'satterthwaite', 'kenward-roger' or 'residual'")
    if df_method == "kenward-roger" and not reml:
        raise AnalysisError("Kenward-Roger's method is only available for REML model fits "
                            "(as in lmerTest); fit with reml=True or use df_method="
                            "'satterthwaite'")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be in (0, 1), got {alpha}")
    if not isinstance(data, pd.DataFrame) or data.empty:
        raise AnalysisError("data must be a non-empty DataFrame")
    return df_method


def _fixed_design(ydf, Xdf):
    """Outcome and fixed-effects design as arrays, refused when not finite, constant or
    rank-deficient: (y, X, coefficient names)."""
    yname = ydf.design_info.column_names[0]
    y = np.asarray(ydf, dtype=float)[:, 0]
    if not np.all(np.isfinite(y)):
        raise AnalysisError(f"outcome {yname!r} has missing or infinite values after the "
                            "formula's transformations")
    if np.ptp(y) == 0:
        raise AnalysisError(f"outcome {yname!r} is constant in the complete rows "
                            f"({y[0]:g}); there is nothing to model")
    X = np.asarray(Xdf, dtype=float)
    coef_names = list(Xdf.design_info.column_names)
    if not np.all(np.isfinite(X)):
        bad = [nm for j, nm in enumerate(coef_names) if not np.all(np.isfinite(X[:, j]))]
        raise AnalysisError(f"predictor {bad[0]!r} has missing or infinite values after the "
                            "formula's transformations")
    for j, name in enumerate(coef_names):
        if name != "Intercept" and np.ptp(X[:, j]) == 0:
            raise AnalysisError(f"predictor column {name!r} is constant in the complete rows")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise AnalysisError("fixed-effects design is rank-deficient (collinear terms)")
    return y, X, coef_names


def _random_design(d, Z, subject, nested, correlated, p):
    """Subject codes, Z with the nested-unit indicators, the ThetaMap; refused when the
    random part is not identifiable: (codes, uniques, Zfull, tmap)."""
    from hipstats.stats.lmm import engine as E

    n = len(d)
    codes, uniques = pd.factorize(d[subject].astype(str), sort=True)
    m, q = len(uniques), Z.shape[1]
    check_min_subjects(d, subject, max(3, q + 1), "a mixed model", n=m)
    n_nested = n_units = 0
    Zfull = Z
    if nested:
        within, n_nested, n_units = _nested_columns(d, subject, nested, codes)
        if n_nested < 2:
            raise AnalysisError(f"nested={nested!r} has one level per subject; nothing is "
                                "nested")
        ind = np.zeros((n, n_nested))
        ind[np.arange(n), within] = 1.0
        Zfull = np.column_stack([Z, ind])
    tmap = E.ThetaMap(q, correlated=correlated, n_nested=n_nested)
    n_re = m * q + n_units
    if n <= n_re:
        raise AnalysisError(f"number of observations ({n}) <= number of random effects "
                            f"({n_re}) for {subject!r}: the random-effects parameters and the "
                            "residual variance are not identifiable (lme4 refuses this too); "
                            "simplify the random part")
    if n <= p + tmap.k:
        raise AnalysisError(f"too few observations ({n}) for the model")
    return codes, uniques, Zfull, tmap


def _fixed_inference(df_method, state, theta, sigma, reml, info, ev, alpha):
    """Fixed-effects table and the covariance its tests use: (fixed, V_use)."""
    from hipstats.stats.lmm import ddf as D

    beta, V0, X, names = state["beta"], state["V0"], state["X"], state["coef_names"]
    p = len(beta)
    se, V_use, dfs = np.sqrt(np.diag(V0)), V0, np.full(p, float(X.shape[0] - p))
    if df_method == "satterthwaite":
        sat = D.Satterthwaite(theta, sigma, state["B"], state["tmap"], reml, V0,
                              info.get("hessian_vp"), ev)
        state["satterthwaite"] = sat
        dfs = np.array([sat.t_df(np.eye(p)[j]) for j in range(p)])
    elif df_method == "kenward-roger":
        PhiA, P, W = D.kenward_roger(X, state["Zfull"], state["codes"], state["lam"], sigma,
                                     D.kr_generators(state["tmap"]), V0)
        state["kr"] = (PhiA, P, W)
        V_use = PhiA
        se = np.sqrt(np.diag(PhiA))
        dfs = np.array([D.kr_ddf(np.eye(p)[j], V0, P, W) for j in range(p)])
    tvals = beta / se
    qcrit = sps.t.ppf(1 - alpha / 2, dfs)
    fixed = pd.DataFrame({"estimate": beta, "se": se, "df": dfs, "t": tvals,
                          "pval": 2 * sps.t.sf(np.abs(tvals), dfs),
                          "ci_low": beta - qcrit * se, "ci_high": beta + qcrit * se},
                         index=pd.Index(names, name="term"))
    return fixed, V_use


def _varcorr(Dm, sigma, subject, slopes, nested, correlated) -> pd.DataFrame:
    """Variances and correlations as R's ``as.data.frame(VarCorr())``."""
    q = len(slopes) + 1
    names = ["(Intercept)"] + slopes
    rows = []
    if nested:
        rows.append((f"{subject}:{nested}", "(Intercept)", None, Dm[q, q], np.sqrt(Dm[q, q])))
    sd = np.sqrt(np.diag(Dm)[:q])
    rows += [(subject, names[i], None, Dm[i, i], sd[i]) for i in range(q)]
    if correlated:
        for j in range(q):
            for i in range(j + 1, q):
                corr = Dm[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                rows.append((subject, names[j], names[i], Dm[i, j], corr))
    rows.append(("Residual", None, None, sigma ** 2, sigma))
    return pd.DataFrame(rows, columns=["group", "var1", "var2", "vcov", "sdcor"])


def _warn_fit(info, singular, formula):
    if singular:
        warnings.warn(f"mixed_model: singular fit for {formula!r} (a random-effect variance "
                      "is zero or a correlation is +/-1); simplify the random part",
                      stacklevel=4)
    if not info["converged"]:
        warnings.warn(f"mixed_model: convergence not confirmed for {formula!r}: scaled "
                      f"gradient {info['scaled_gradient_max']:.3g} (lme4's tolerance 2e-3)",
                      stacklevel=4)


def _mixed_model(data: pd.DataFrame, formula: str, subject: str, random=None,
                 reml: bool = True, df_method: str = "satterthwaite", alpha: float = 0.05,
                 correlated: bool = True, nested: str | None = None) -> MixedModelResult:
    """:func:`mixed_model` without the BLAS thread limit."""
    from hipstats.stats.lmm import engine as E

    df_method = _check_arguments(data, df_method, reml, alpha)
    slopes = _parse_random(random)
    check_columns(data, subject=subject, random=slopes or None, nested=nested)
    ydf, Xdf, Z, d, excluded = E.model_frame(data, formula, subject, slopes, nested)
    y, X, coef_names = _fixed_design(ydf, Xdf)
    n, p = X.shape
    codes, uniques, Zfull, tmap = _random_design(d, Z, subject, nested, correlated, p)
    m, q = len(uniques), Z.shape[1]
    # With an intercept, fit y minus its mean (the intercept takes it back afterwards):
    # y'y - fitted parts is a difference of large sums when y sits far from zero, and the
    # deviance lost digits (y + 1000 moved the log-likelihood by 1e-4; invariance tests)
    int_col = [j for j, nm in enumerate(coef_names) if nm == "Intercept"
               and np.all(X[:, j] == 1.0)]
    ybar = float(y.mean()) if int_col else 0.0
    B = E.blocks(X, Zfull, y - ybar, codes, m)
    theta, info = E.optimise(B, tmap, reml)
    ev = info.pop("eval")
    dev = ev.dev
    sigma = float(np.sqrt(ev.pwrss / (n - p if reml else n)))
    beta = ev.beta.copy()
    if int_col:
        beta[int_col[0]] += ybar
    lam = tmap.lam(theta)
    npar = p + tmap.k + 1
    singular = bool(np.any(np.abs(theta[tmap.diag]) < 1e-4))
    _warn_fit(info, singular, formula)
    state = {"B": B, "tmap": tmap, "beta": beta, "V0": sigma ** 2 * ev.parts["C"], "X": X,
             "Zfull": Zfull, "codes": codes, "lam": lam, "coef_names": coef_names,
             "frame": d}
    if reml:
        state["refit_ml"] = lambda: mixed_model(data, formula, subject, random=random,
                                                reml=False, df_method="satterthwaite",
                                                alpha=alpha, correlated=correlated,
                                                nested=nested)
    fixed, V_use = _fixed_inference(df_method, state, theta, sigma, reml, info, ev, alpha)
    # conditional modes b = Lambda u (subject-level effects)
    blups = pd.DataFrame((lam @ ev.parts["u"]).T[:, :q], index=pd.Index(uniques, name=subject),
                         columns=["(Intercept)"] + slopes)
    return MixedModelResult(
        formula=formula, subject=subject, random_terms=slopes, reml=reml, df_method=df_method,
        fixed=fixed, random=_varcorr(sigma ** 2 * lam @ lam.T, sigma, subject, slopes, nested,
                                     correlated),
        loglik=-dev / 2, aic=dev + 2 * npar, bic=dev + np.log(n) * npar, deviance=dev,
        converged=bool(info["converged"]), singular=singular, theta=theta, sigma=sigma,
        vcov=pd.DataFrame(V_use, index=fixed.index, columns=fixed.index), nobs=n, ngroups=m,
        optimizer_info=info, exclusions=excluded, blups=blups, correlated=correlated,
        nested=nested, npar=npar, _design_info=Xdf.design_info, _alpha=alpha, _state=state)


def select_random(data: pd.DataFrame, formula: str, subject: str, random, **kwargs):
    """Fit the maximal random part the data support, by a fixed, documented rule.

    The rule (as lme4 users and ``buildmer`` do; Barr et al. 2013, Matuschek et al. 2017):
    fit the maximal model ``(1 + slopes | subject)``; if it is singular, drop the slope
    correlation ``(1 + slopes || subject)``; if that is still singular, drop the slopes
    ``(1 | subject)``. The first non-singular fit is reported; if even the intercept-only
    fit is singular, it is reported and flagged.

    Parameters
    ----------
    data, formula, subject, random
        As :func:`mixed_model` (``random``: the maximal model's slopes).
    **kwargs
        Passed to :func:`mixed_model` (``reml``, ``df_method``, ``alpha``, ``nested``).

    Returns
    -------
    MixedModelResult
        The chosen fit, with ``.selection`` (DataFrame: ``step, random, singular,
        converged, loglik, chosen``) and ``.selection_note`` (one plain sentence saying which
        model was reported and why) added.

    Examples
    --------
    >>> import hipstats
    >>> df = hipstats.example("program6wk")
    >>> fit = hipstats.select_random(df, "function_score ~ week", "subject", random="week")
    >>> fit.selection.columns.tolist()
    ['step', 'random', 'singular', 'converged', 'loglik', 'chosen']
    """
    slopes = _parse_random(random)
    steps = [("maximal", slopes, True)]
    if slopes and len(slopes) >= 1:
        steps.append(("no slope correlation", slopes, False))
        steps.append(("random intercept only", [], True))
    rows, chosen, fits = [], None, []
    for name, sl, corr in steps:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            fit = mixed_model(data, formula, subject, random=sl or None, correlated=corr,
                              **kwargs)
        fits.append(fit)
        rows.append({"step": name, "random": fit.random_formula, "singular": fit.singular,
                     "converged": fit.converged, "loglik": fit.loglik})
        if not fit.singular:
            chosen = fit
            break
    if chosen is None:
        chosen = fits[-1]
    for r, f in zip(rows, fits):
        r["chosen"] = f is chosen
    sel = pd.DataFrame(rows, columns=["step", "random", "singular", "converged", "loglik",
                                      "chosen"])
    tried = [r for r in rows if not r["chosen"]]
    if not tried:
        note = (f"The maximal random part {chosen.random_formula} was reported: its fit is "
                "not singular.")
    elif not chosen.singular:
        note = (f"The maximal random part {rows[0]['random']} gave a singular fit (a variance "
                "at zero or a correlation of +/-1), so it was simplified by the rule "
                f"(drop the slope correlation, then the slope); reported: "
                f"{chosen.random_formula}.")
    else:
        note = (f"Every random part tried was singular; reported: {chosen.random_formula} "
                "(flagged singular).")
    chosen.selection = sel
    chosen.selection_note = note
    return chosen
