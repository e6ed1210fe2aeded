"""Simulation-based power for the built-in designs, batched and optionally on Dask."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from hipstats.power import batched
from hipstats.power.models import Pfps3wkModel, Program6wkModel, model_for

__all__ = ["simulate", "simulate_arrays", "ANALYSES"]

#: Analyses per design (the first is the default).
ANALYSES = {"program6wk": ("mixed", "rm_corr"), "pfps3wk": ("ancova", "ttest")}
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


def simulate(design: str, effects: dict | None = None, n=(20, 40, 60), n_sims: int = 1000,
             dropout=None, alpha: float = 0.05, seed: int = 1, analysis: str | None = None,
             client=None, chunk_size: int = 250, progress: bool = False,
             return_draws: bool = False, threads: int | None = None) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        One row per n: ``n``, ``power``, ``mc_se``, ``ci_low``, ``ci_high`` (Wilson 95% CI of
        the Monte-Carlo power), ``analysis``, ``term``, ``n_sims``, ``n_failed``,
        ``mean_estimate``, ``bias``, ``rmse`` and ``coverage`` (of the ``1 - alpha`` CIs;
        NaN where the model has no single true value).

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
    jobs = []
    for i, nv in enumerate(ns):
        seqs = per_n[i].spawn(n_chunks)
        for c in range(n_chunks):
            size = min(chunk_size, n_sims - c * chunk_size)
            jobs.append((nv, size, seqs[c]))
    if client is not None:
        futures = [client.submit(_chunk, design, effects, nv, size, sq, analysis, alpha,
                                 pure=False) for nv, size, sq in jobs]
        results = client.gather(futures)
    else:
        # chunks on threads: numpy's array operations release the GIL, so two cores help;
        # results are identical to a serial run (each chunk has its own seed stream)
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, min(threads or (os.cpu_count() or 1), len(jobs)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(track(pool.map(lambda j: _chunk(design, effects, j[0], j[1], j[2],
                                                            analysis, alpha), jobs),
                                 total=len(jobs), desc="simulating", enabled=progress,
                                 plain_lines=False))
    truth = _true_value(model, analysis)
    rows, draws = [], {}
    for nv in ns:
        parts = [r for (jn, _, _), r in zip(jobs, results) if jn == nv]
        res = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        ok = ~res["failed"]
        k = int(ok.sum())
        rej = res["pval"][ok] < alpha
        pw = rej.mean() if k else np.nan
        z = 1.959963984540054
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
        rows.append(row)
        draws[nv] = res
    out = pd.DataFrame(rows)
    if return_draws:
        out.attrs["draws"] = draws
    return out
