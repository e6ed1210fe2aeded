"""mixed_model against lme4 (when Rscript with lme4 is installed), the Rust engines mixedlm
and mixedlm-rs, and statsmodels MixedLM, on the same data in the same run; then the engine's
own scaling in time and memory.

Model: function ~ strength * week + (week | subject), 4 visits per subject, REML.
hipstats' time INCLUDES the Satterthwaite df of every coefficient (the others fit only).
Every time is the best of 5 runs (lme4: its own system.time, best of 3, inside one R
session, so R's start-up is not counted). Each tool's log-likelihood is checked against
hipstats' (within 1e-3, as issue 11 asks; differences are printed).
"""

import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings

from cohort import random_slope_cohort

import hipstats

FORMULA = "function_score ~ strength * week"


def _best(f, reps=5):
    best, out = float("inf"), None
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t)
    return best, out


def _ours(d, df_method="satterthwaite"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _best(lambda: hipstats.mixed_model(d, FORMULA, "subject", random="week",
                                                  df_method=df_method))


def _lme4(d):
    if not shutil.which("Rscript"):
        return None, None
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        d.to_csv(fh.name, index=False)
    code = (f'suppressPackageStartupMessages(library(lme4)); d <- read.csv("{fh.name}"); '
            f't <- min(sapply(1:3, function(i) system.time(f <<- lmer({FORMULA} + '
            '(week | subject), d))[["elapsed"]])); '
            'cat(t, sprintf("%.8f", as.numeric(logLik(f))))')
    r = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
    if r.returncode:
        return None, None
    t, ll = r.stdout.split()
    return float(t), float(ll)


def _mixedlm(d):
    try:
        import mixedlm
    except ImportError:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, f = _best(lambda: mixedlm.lmer(f"{FORMULA} + (week | subject)", d))
    ll = f.logLik()
    return t, float(getattr(ll, "value", ll))


def _mixedlm_rs(d):
    try:
        import mixedlm_rs
    except ImportError:
        return None, None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, f = _best(lambda: mixedlm_rs.mixedlm(FORMULA, d, groups=d["subject"],
                                                re_formula="~week").fit(reml=True))
    return t, float(f.llf)


def main(quick: bool = False) -> None:
    sizes = (5000,) if quick else (5000, 20000)
    print("seconds (ratio = other / hipstats; > 1 means hipstats is faster); "
          "dLL = other's logLik - hipstats'")
    print(f"{'subjects':>9} {'hipstats':>9} {'conv':>5} | {'lme4':>7} {'ratio':>6} {'dLL':>8} | "
          f"{'mixedlm':>8} {'ratio':>6} {'dLL':>8} | {'mixedlm-rs':>10} {'ratio':>6} {'dLL':>8}")
    for n in sizes:
        d = random_slope_cohort(n)
        t_ours, fit = _ours(d)
        cols = []
        for tool in (_lme4, _mixedlm, _mixedlm_rs):
            t, ll = tool(d)
            if t is None:
                cols.append(f"{'n/a':>7} {'':>6} {'':>8}")
                continue
            assert abs(ll - fit.loglik) < 1e-3, f"{tool.__name__}: logLik {ll} vs {fit.loglik}"
            cols.append(f"{t:>7.3f} {t / t_ours:>5.2f}x {ll - fit.loglik:>8.1e}")
        print(f"{n:>9} {t_ours:>9.3f} {str(fit.converged):>5} | " + " | ".join(cols), flush=True)
        assert fit.converged, f"not converged at {n} subjects: {fit.optimizer_info}"
    if not quick:
        import statsmodels.formula.api as smf

        d = random_slope_cohort(1000)
        t_ours, fit = _ours(d)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_sm, sm = _best(lambda: smf.mixedlm(FORMULA, d, groups=d["subject"],
                                                  re_formula="~week").fit(reml=True), reps=1)
        print(f"statsmodels MixedLM, 1,000 subjects: {t_sm:.2f} s vs hipstats {t_ours:.3f} s "
              f"({t_sm / t_ours:.0f}x); dLL {sm.llf - fit.loglik:.1e}")
    print(f"\n{'subjects':>9} {'seconds':>8} {'peak MB':>8} {'evals':>6} {'Hessians':>8}  "
          "(df_method=residual)")
    for n in ((5000,) if quick else (5000, 20000, 100000)):
        d = random_slope_cohort(n)
        tracemalloc.start()
        t, fit = _ours(d, "residual")
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{n:>9} {t:>8.2f} {peak:>8.1f} {fit.optimizer_info['ngev']:>6} "
              f"{fit.optimizer_info['nhev']:>8}")
