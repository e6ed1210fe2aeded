"""Simulation-based power for the built-in designs, batched and optionally on Dask."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from hipstats.power import batched
from hipstats.power.models import (ANALYSES, NULL_EFFECT, Pfps3wkModel, Program6wkModel,
                                   model_for)

__all__ = ["simulate", "simulate_arrays", "ANALYSES"]

TERMS = {"mixed": "strength (function ~ strength + week + (week | subject))",
         "rm_corr": "within-subject r (strength, function)",
         "ancova": "group at follow-up, adjusted for baseline (post ~ group + pre)",
         "ttest": "group difference at follow-up (two-sample t)"}


def simulate_arrays(model, n: int, n_sims: int, rng: np.random.Generator) -> dict:
    """Draw ``n_sims`` data sets of ``n`` subjects (per arm for pfps3wk) as arrays."""
    if isinstance(model, Program6wkModel):
        weeks = np.asarray(model.weeks, dtype=float)
        J = len(weeks)
        u = rng.normal(0, model.sd_strength, (n_sims, n, 1))
        strength = (model.strength0 + u + model.strength_slope * weeks
                    + rng.normal(0, model.sd_strength_noise, (n_sims, n, J)))
        mean_s = model.strength0 + model.strength_slope * weeks
        a = rng.normal(0, model.sd_intercept, (n_sims, n, 1))
        b = rng.normal(0, model.sd_slope, (n_sims, n, 1))
        function = (model.function0 + model.function_slope * weeks
                    + model.beta_strength * (strength - mean_s) + a + b * weeks
                    + rng.normal(0, model.sd_residual, (n_sims, n, J)))
        drop = np.asarray(model.dropout, dtype=float)
        leave = rng.random((n_sims, n, J)) < drop
        mask = np.cumsum(leave, axis=2) == 0
        return {"strength": strength, "function": function, "week": weeks, "mask": mask}
    if isinstance(model, Pfps3wkModel):
        N = 2 * n
        group = np.tile(np.r_[np.ones(n), np.zeros(n)], (n_sims, 1))
        pre = rng.normal(model.pain_pre, model.sd_pre, (n_sims, N))
        resid_sd = model.sd_post * np.sqrt(1 - model.rho ** 2)
        post = (model.pain_post - model.delta * group
                + model.rho * model.sd_post / model.sd_pre * (pre - model.pain_pre)
                + rng.normal(0, resid_sd, (n_sims, N)))
        observed = rng.random((n_sims, N)) >= model.dropout
        return {"pre": pre, "post": post, "group": group, "observed": observed}
    raise TypeError(f"unknown model {type(model).__name__}")


def _analyse(model, arrays: dict, analysis: str, alpha: float) -> dict:
    if analysis == "mixed":
        return batched.lmm_slope_test(arrays["strength"], arrays["function"], arrays["week"],
                                      arrays["mask"], alpha)
    if analysis == "rm_corr":
        return batched.rm_corr_test(arrays["strength"], arrays["function"], arrays["mask"], alpha)
    if analysis == "ancova":
        return batched.ancova_test(arrays["pre"], arrays["post"], arrays["group"],
                                   arrays["observed"], alpha)
    if analysis == "ttest":
        return batched.ttest_post(arrays["post"], arrays["group"], arrays["observed"], alpha)
    raise ValueError(f"unknown analysis {analysis!r}")


def _chunk(design: str, effects: dict, n: int, n_sims: int, seed_seq, analysis: str,
           alpha: float) -> dict:
    """One unit of work (also a Dask task): simulate and analyse ``n_sims`` data sets."""
    model = model_for(design, effects)
    rng = np.random.default_rng(seed_seq)
    res = _analyse(model, simulate_arrays(model, n, n_sims, rng), analysis, alpha)
    return {k: np.asarray(v) for k, v in res.items()}


def _true_value(model, analysis: str) -> float | None:
    if analysis in ("mixed",):
        return model.beta_strength
    if analysis in ("ancova", "ttest"):
        return -model.delta
    return None  # rm_corr: the within-subject r is implied, not a parameter


def _band(k: int, alpha: float, level: float = 0.99) -> tuple[float, float]:
    """Exact central binomial band of rejection rates for ``k`` data sets (each tail at
    most (1 - level) / 2), as rates."""
    from scipy import stats as sps

    if k < 1:
        return np.nan, np.nan
    tail = (1 - level) / 2
    lo = int(sps.binom.ppf(tail, k, alpha))
    if sps.binom.cdf(lo, k, alpha) <= tail:
        lo += 1
    hi = int(sps.binom.isf(tail, k, alpha))
    if sps.binom.sf(hi, k, alpha) > tail:
        hi += 1
    return lo / k, hi / k


def simulate(design: str, effects: dict | None = None, n=(20, 40, 60), n_sims: int = 1000,
             dropout=None, alpha: float = 0.05, seed: int = 1, analysis: str | None = None,
             client=None, chunk_size: int = 250, progress: bool = False,
             return_draws: bool = False, threads: int | None = None,
             null: bool = True) -> pd.DataFrame:
    """Power by simulation for ``program6wk`` or ``pfps3wk`` trials.

    Parameters
    ----------
    design : {"program6wk", "pfps3wk"}
    effects : dict, optional
        Overrides of the generative model's fields (:class:`~hipstats.power.models.Program6wkModel`,
        :class:`~hipstats.power.models.Pfps3wkModel`), e.g. ``{"delta": 1.5}``.
    n : int or sequence of int
        Subjects (program6wk) or subjects per arm (pfps3wk).
    n_sims : int
        Simulated data sets per n.
    dropout : float or sequence, optional
        Per-visit dropout (program6wk: one per visit, monotone) or post-visit loss (pfps3wk).
    alpha : float
        Two-sided significance level.
    seed : int
        Seed; the data sets of chunk c at sample size n come from
        ``SeedSequence(seed).spawn(...)``, fixed by ``chunk_size`` only, so results are
        identical for any number of Dask workers.
    analysis : str, optional
        program6wk: ``"mixed"`` (default; the strength coefficient of the mixed model a user
        would fit) or ``"rm_corr"``; pfps3wk: ``"ancova"`` (default) or ``"ttest"``.
    client : dask.distributed.Client, optional
        Run chunks as Dask tasks on this client.
    chunk_size : int
        Data sets per chunk (the unit of work and of seeding).
    threads : int, optional
        Threads for in-process chunks (default: all cores).
    null : bool
        Also simulate the same design with the effect set to zero
        (:data:`~hipstats.power.models.NULL_EFFECT`; same n, visits and dropout, its own
        seed stream) and report the test's
        type I error and CI coverage there, so power is read beside whether the test is
        honest at that size.

    Returns
    -------
    DataFrame
        One row per n: ``n``, ``power``, ``mc_se``, ``ci_low``, ``ci_high`` (Wilson 95% CI of
        the Monte-Carlo power), ``analysis``, ``term``, ``n_sims``, ``n_failed``,
        ``mean_estimate``, ``bias``, ``rmse`` and ``coverage`` (of the ``1 - alpha`` CIs;
        NaN where the model has no single true value); with ``null``: ``type1_error``
        (rejection rate with the effect set to zero), ``type1_mc_se``, ``null_coverage``
        (CIs covering zero there; the rm_corr analysis: NaN) and ``type1_band_low``,
        ``type1_band_high``, the exact 99% binomial band of rejection rates an honest test
        gives with ``n_sims`` data sets.

    Notes
    -----
    Data sets are generated as arrays and analysed in batches (:mod:`hipstats.power.batched`):
    no Python loop of model fits. The mixed-model test uses residual df; its decisions agree
    with ``hipstats.mixed_model(..., df_method="satterthwaite")`` on at least 99.5% of data
    sets (checked in the test suite).

    Examples
    --------
    >>> from hipstats.power import simulate
    >>> res = simulate("pfps3wk", n=[20], n_sims=200, seed=1)
    >>> list(res.columns[:5])
    ['n', 'power', 'mc_se', 'ci_low', 'ci_high']
    """
    from hipstats.progress import track

    if design not in ANALYSES:
        raise ValueError(f"unknown design {design!r}; choose one of {sorted(ANALYSES)}")
    analysis = analysis or ANALYSES[design][0]
    if analysis not in ANALYSES[design]:
        raise ValueError(f"analysis {analysis!r} is not available for {design}; "
                         f"choose one of {ANALYSES[design]}")
    effects = dict(effects or {})
    if dropout is not None:
        effects["dropout"] = dropout
    model = model_for(design, effects)  # validates effects early
    ns = [int(v) for v in np.atleast_1d(n)]
    minimum = 4 if design == "program6wk" else 3
    if any(v < minimum for v in ns):
        raise ValueError(f"n must be at least {minimum} for {design}")
    if n_sims < 1 or chunk_size < 1:
        raise ValueError("n_sims and chunk_size must be positive")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")
    n_chunks = -(-n_sims // chunk_size)
    root = np.random.SeedSequence(seed)
    per_n = root.spawn(len(ns))
    null_root = np.random.SeedSequence([seed, 0x5EED0])  # the null runs' own stream
    null_per_n = null_root.spawn(len(ns))
    null_effects = dict(effects, **NULL_EFFECT[analysis])
    runs = [(effects, per_n)] + ([(null_effects, null_per_n)] if null else [])
    jobs = []
    for r, (eff, seqs_n) in enumerate(runs):
        for i, nv in enumerate(ns):
            seqs = seqs_n[i].spawn(n_chunks)
            for c in range(n_chunks):
                size = min(chunk_size, n_sims - c * chunk_size)
                jobs.append((r, nv, size, seqs[c]))
    if client is not None:
        futures = [client.submit(_chunk, design, runs[r][0], nv, size, sq, analysis, alpha,
                                 pure=False) for r, nv, size, sq in jobs]
        results = client.gather(futures)
    else:
        # chunks on threads: numpy's array operations release the GIL, so two cores help;
        # results are identical to a serial run (each chunk has its own seed stream)
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, min(threads or (os.cpu_count() or 1), len(jobs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(track(pool.map(lambda j: _chunk(design, runs[j[0]][0], j[1], j[2],
                                                            j[3], analysis, alpha), jobs),
                                 total=len(jobs), desc="simulating", enabled=progress,
                                 plain_lines=False))
    truth = _true_value(model, analysis)
    rows, draws = [], {}
    z = 1.959963984540054
    for nv in ns:
        parts = [res for (r, jn, _, _), res in zip(jobs, results) if jn == nv and r == 0]
        res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        ok = ~res["failed"]
        k = int(ok.sum())
        rej = res["pval"][ok] < alpha
        pw = rej.mean() if k else np.nan
        den = 1 + z * z / k
        centre = (pw + z * z / (2 * k)) / den
        half = z * np.sqrt(pw * (1 - pw) / k + z * z / (4 * k * k)) / den
        est = res["estimate"][ok]
        row = {"n": nv, "power": pw, "mc_se": np.sqrt(pw * (1 - pw) / k), "ci_low": centre - half,
               "ci_high": centre + half, "analysis": analysis, "term": TERMS[analysis],
               "n_sims": n_sims, "n_failed": n_sims - k, "mean_estimate": est.mean()}
        if truth is not None:
            row["bias"] = est.mean() - truth
            row["rmse"] = np.sqrt(np.mean((est - truth) ** 2))
            row["coverage"] = np.mean((res["ci_low"][ok] <= truth) & (truth <= res["ci_high"][ok]))
        else:
            row["bias"] = row["rmse"] = row["coverage"] = np.nan
        if null:
            nparts = [res0 for (r, jn, _, _), res0 in zip(jobs, results) if jn == nv and r == 1]
            r0 = {key: np.concatenate([p[key] for p in nparts]) for key in nparts[0]}
            ok0 = ~r0["failed"]
            k0 = int(ok0.sum())
            t1 = float(np.mean(r0["pval"][ok0] < alpha)) if k0 else np.nan
            row["type1_error"] = t1
            row["type1_mc_se"] = float(np.sqrt(t1 * (1 - t1) / k0)) if k0 else np.nan
            row["null_coverage"] = (float(np.mean((r0["ci_low"][ok0] <= 0) & (r0["ci_high"][ok0] >= 0)))
                                    if truth is not None and k0 else np.nan)
            lo, hi = _band(k0, alpha)
            row["type1_band_low"], row["type1_band_high"] = lo, hi
        rows.append(row)
        draws[nv] = res
    out = pd.DataFrame(rows)
    if return_draws:
        out.attrs["draws"] = draws
    return out
