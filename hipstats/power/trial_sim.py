"""The next trial simulated from this study's fitted primary model (MMRM).

:func:`simulate_next_trial` draws trials from the fitted model of
:func:`hipstats.primary_analysis` (its visit means, baseline slope and covariance across
visits, the observed baseline spread and the observed retention at each visit), refits the
same primary analysis to each, and reports power at a planned difference beside the type I
error and CI coverage of the same analysis under no difference: a reader sees whether the
test is honest at the planned size, not only how often it rejects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

from hipstats.errors import AnalysisError

__all__ = ["simulate_next_trial", "last_visit_difference"]


def _model_parts(pa):
    fit, a, y = pa.fit, pa.frame, pa.outcome
    visits = list(fit.visits)
    emm = pa.emmeans
    if pa.group:
        emm = emm[emm[pa.group].astype(str) == str(pa.arms[0])]
    mu = emm.set_index(pa.time).loc[visits, "emmean"].to_numpy(float)
    Sigma = fit.covariance if not isinstance(fit.covariance, dict) else \
        next(iter(fit.covariance.values()))
    base = a.drop_duplicates(pa.subject)[f"{y}_bl"].dropna()
    subjects = a[pa.subject].nunique()
    seen = [a.loc[(a[pa.time] == v) & a[y].notna(), pa.subject].nunique() / subjects
            for v in visits]
    retention = np.minimum.accumulate(np.clip(seen, 0.05, 1.0))
    slope = float(fit.fixed.loc[f"{y}_bl", "estimate"])
    return visits, mu, Sigma.to_numpy(float), float(base.mean()), float(base.std()), \
        slope, retention


def _draw(rng, parts, n_per_arm, effect, n_arms: int = 2):
    """One simulated trial as arrays over (arm, participant, visit): baseline (arms, n),
    outcome and observed (arms, n, visits); draws in a fixed order (per arm: baselines,
    errors, dropout)."""
    visits, mu, S, bl_mean, bl_sd, slope, retention = parts
    m = len(visits)
    ramp = np.arange(1, m + 1) / m                   # difference grows to `effect` at the end
    L = np.linalg.cholesky(S)
    bl, yy, seen = [], [], []
    for k in range(n_arms):
        b = rng.normal(bl_mean, bl_sd, n_per_arm)
        e = rng.standard_normal((n_per_arm, m)) @ L.T
        bl.append(b)
        yy.append(mu + slope * (b - bl_mean)[:, None] + e + (effect * ramp if k else 0.0))
        seen.append((rng.random((n_per_arm, 1)) < retention[None, :]).cumprod(axis=1)
                    .astype(bool))
    return np.stack(bl), np.stack(yy), np.stack(seen)


def _frame(draw, visits, arms, time, y) -> pd.DataFrame:
    """A drawn trial as the analysis frame: one row per observed visit."""
    bl, yy, seen = draw
    frames = []
    for k, arm in enumerate(arms):
        i, j = np.nonzero(seen[k])                      # row-major: subject, then visit
        frames.append(pd.DataFrame({"subject": [f"{arm}-{v}" for v in i], "group": arm,
                                    time: np.asarray(visits)[j], f"{y}_bl": bl[k][i],
                                    y: yy[k][i, j]}))
    return pd.concat(frames, ignore_index=True)


class _Template:
    """The complete trial's rows as the MMRM prepares them (patsy's design matrix, rows
    sorted by participant and visit), built once; a drawn trial is then its observed rows
    with the baseline column filled in: no frame and no formula per simulated trial."""

    def __init__(self, parts, n_per_arm, arms, time, y, formula):
        from hipstats.stats.mmrm.fit import prepare

        visits = parts[0]
        m = len(visits)
        full = (np.zeros((len(arms), n_per_arm)),
                np.arange(len(arms) * n_per_arm * m, dtype=float).reshape(-1, n_per_arm, m),
                np.ones((len(arms), n_per_arm, m), dtype=bool))
        p = prepare(_frame(full, visits, arms, time, y), formula, "subject", time, None, visits)
        self.p, self.visits = p, list(visits)
        self.arm = p.d["group"].map({a: k for k, a in enumerate(arms)}).to_numpy(int)
        self.who = p.d["subject"].str.rsplit("-", n=1).str[1].astype(int).to_numpy()
        self.col_bl = list(p.design_info.column_names).index(f"{y}_bl")

    def prepared(self, draw):
        """The drawn trial's Prepared rows, or None when a visit has no observation (then
        the design's columns differ: the caller fits the frame)."""
        from hipstats.stats.mmrm.fit import Prepared

        bl, yy, seen = draw
        t = self.p
        keep = seen[self.arm, self.who, t.visit]
        if np.bincount(t.visit[keep], minlength=len(self.visits)).min() == 0:
            return None
        X = t.X[keep].copy()
        X[:, self.col_bl] = bl[self.arm, self.who][keep]
        yv = yy[self.arm, self.who, t.visit][keep]
        if np.nanstd(yv) == 0:
            raise AnalysisError("the simulated outcome is constant")
        subj = np.unique(t.subj[keep], return_inverse=True)[1]
        return Prepared(None, X, yv, t.design_info, subj, t.visit[keep],
                        np.zeros(int(keep.sum()), int), t.visits, None, None)


def last_visit_difference(fit, arm, time: str, visits: list) -> tuple:
    """(estimate, SE, df) of ``arm`` minus the reference arm at the last visit of a fit of
    ``y ~ y_bl + C(group, levels=[ref, arm]) * C(time)``: the treatment-coded main effect
    plus its interaction with the last visit, tested with the fit's own df method. The same
    numbers as ``fit.contrast("group", by=time, method="trt.vs.ctrl")`` at that visit
    (tested), without building every contrast and every coefficient's df per simulated
    trial."""
    L = _last_visit_row(list(fit._design_info.column_names), arm, time, visits)
    est, se, df = fit._tests.estimates(L[None, :])
    return float(est[0]), float(se[0]), float(df[0])


def _last_visit_row(names: list, arm, time: str, visits: list) -> np.ndarray:
    main = f"[T.{arm}]"
    inter = f":C({time})[T.{visits[-1]}]"
    return np.array([float(n.startswith("C(group") and (n.endswith(main) or (
        len(visits) > 1 and n.endswith(main + inter)))) for n in names])


def simulate_next_trial(pa, n_per_arm: int, effect: float, n_sims: int = 200,
                        seed: int = 2026, alpha: float = 0.05) -> pd.DataFrame:
    """Power, type I error and CI coverage of the primary MMRM for a planned trial.

    Parameters
    ----------
    pa : PrimaryAnalysis
        This study's fitted primary analysis (:func:`hipstats.primary_analysis`), with arms.
    n_per_arm : int
        Planned participants per arm (two arms: the reference and one treatment).
    effect : float
        Planned difference (treatment minus reference) at the last visit, reached linearly
        over the visits.
    n_sims : int
        Simulated trials per scenario.
    seed : int
        Seed of the simulations.
    alpha : float
        Two-sided level.

    Returns
    -------
    DataFrame
        One row per scenario (``"planned difference"``, ``"no difference"``): ``scenario,
        n_per_arm, effect, n_sims, rejected`` (rate), ``band_low, band_high`` (the exact 99%
        binomial band around ``alpha`` under no difference), ``coverage`` of the 95% CI,
        ``failed`` fits; ``.attrs["assumptions"]`` lists every assumption in words.

    Notes
    -----
    Data are drawn from the fitted model: reference-arm means at each visit (estimated
    means at the mean baseline), the fitted baseline slope, the fitted covariance across
    visits, baseline values normal with the observed mean and SD, and monotone dropout at
    the observed retention of each visit (missing completely at random). Each trial is
    analysed with the same formula and covariance structure as the study.

    Examples
    --------
    >>> import hipstats as hs
    >>> from hipstats.power.trial_sim import simulate_next_trial
    >>> pa = hs.primary_analysis(hs.example("pfps3wk"), "pain_vas", "time", group="group",
    ...                          reference="control")
    >>> simulate_next_trial(pa, 20, 2.0, n_sims=20)["scenario"].tolist()
    ['planned difference', 'no difference']
    """
    if not pa.group or not pa.arms or len(pa.arms) < 2:
        raise AnalysisError("the next-trial simulation compares two arms; this analysis has "
                            "one group")
    parts = _model_parts(pa)
    arms = [str(pa.arms[0]), str(pa.arms[1])]
    y, time = pa.outcome, pa.time
    rhs = f"{y}_bl + C(group, levels={arms!r})" + (f" * C({time})" if len(parts[0]) > 1 else "")
    rng = np.random.default_rng(seed)
    template = _Template(parts, n_per_arm, arms, time, y, f"{y} ~ {rhs}")
    L = _last_visit_row(list(template.p.design_info.column_names), arms[1], time, parts[0])
    out = []
    for scenario, eff in (("planned difference", effect), ("no difference", 0.0)):
        rej = cover = failed = 0
        for _ in range(n_sims):
            try:
                est, se, df = _analyse(_draw(rng, parts, n_per_arm, eff), template, L, pa,
                                       arms, rhs, alpha)
            except AnalysisError:
                failed += 1
                continue
            rej += 2 * sps.t.sf(abs(est / se), df) < alpha
            q = sps.t.ppf(1 - alpha / 2, df)
            cover += est - q * se <= eff <= est + q * se
        done = max(n_sims - failed, 1)
        lo, hi = sps.binom.interval(0.99, done, alpha)
        out.append({"scenario": scenario, "n_per_arm": n_per_arm, "effect": eff,
                    "n_sims": done, "rejected": rej / done, "band_low": lo / done,
                    "band_high": hi / done, "coverage": cover / done, "failed": failed})
    res = pd.DataFrame(out)
    res.attrs["assumptions"] = _assumptions(pa, parts, effect, n_sims, seed)
    return res


def _analyse(draw, template: _Template, L: np.ndarray, pa, arms, rhs, alpha) -> tuple:
    """(estimate, SE, df) of the last-visit difference in one drawn trial, analysed with the
    study's covariance structure and df method: from the template's rows (one fit, no
    frame), or, when a visit went unobserved, from the trial's frame as :func:`mmrm` reads
    it."""
    from hipstats.stats.mmrm import mmrm
    from hipstats.stats.mmrm.fit import fit_tests

    y, time, visits = pa.outcome, pa.time, template.visits
    p = template.prepared(draw)
    if p is None:
        fit = mmrm(_frame(draw, visits, arms, time, y), f"{y} ~ {rhs}", "subject", time=time,
                   cov=pa.fit.cov_structure, df_method=pa.fit.df_method, visits=visits,
                   alpha=alpha)
        return last_visit_difference(fit, arms[1], time, visits)
    est, se, df = fit_tests(p, pa.fit.cov_structure, pa.fit.df_method).estimates(L[None, :])
    return float(est[0]), float(se[0]), float(df[0])


def _assumptions(pa, parts, effect, n_sims, seed) -> str:
    visits, mu, S, bl_mean, bl_sd, slope, retention = parts
    return (f"Two arms ({pa.arms[0]} and {pa.arms[1]}); reference-arm means at {pa.time} "
            + ", ".join(f"{v}: {m:.2f}" for v, m in zip(visits, mu))
            + f"; baseline mean {bl_mean:.2f} (SD {bl_sd:.2f}), baseline slope {slope:.2f}; "
            f"SD at each visit " + ", ".join(f"{s:.2f}" for s in np.sqrt(np.diag(S)))
            + f" with the fitted {pa.fit.cov_structure} covariance; retention "
            + ", ".join(f"{r:.0%}" for r in retention)
            + f" (monotone dropout, completely at random); the difference grows linearly to "
            f"{effect:g} at the last visit; {n_sims} simulated trials per scenario, seed "
            f"{seed}; analysed with the study's own primary model.")
