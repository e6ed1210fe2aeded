"""mixed_model vs statsmodels MixedLM and lme4 (when Rscript is installed), same data;
then the engine's own scaling in time and memory. Model: function ~ strength * week +
(week | subject), 4 visits per subject, REML."""

import shutil
import subprocess
import tempfile
import time
import tracemalloc
import warnings

from cohort import random_slope_cohort

import hipstats

FORMULA = "function_score ~ strength * week"


def _ours(d):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        fit = hipstats.mixed_model(d, FORMULA, "subject", random="week", df_method="residual")
        return time.perf_counter() - t, fit


def _lme4(d):
    if not shutil.which("Rscript"):
        return None, None
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as fh:
        d.to_csv(fh.name, index=False)
    code = (f'suppressPackageStartupMessages(library(lme4)); d <- read.csv("{fh.name}"); '
            f't <- system.time(f <- lmer({FORMULA} + (week | subject), d))[["elapsed"]]; '
            'cat(t, sprintf("%.8f", as.numeric(logLik(f))))')
    r = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True)
    if r.returncode:
        return None, None
    t, ll = r.stdout.split()
    return float(t), float(ll)


def main(quick: bool = False) -> None:
    import statsmodels.formula.api as smf

    sizes = (1000,) if quick else (1000, 5000)
    print(f"{'subjects':>9} {'hipstats s':>10} {'lme4 s':>8} {'ratio':>7} {'dLL lme4':>9} "
          f"{'MixedLM s':>10} {'ratio':>7} {'dLL MixedLM':>12}")
    for n in sizes:
        d = random_slope_cohort(n)
        t_ours, fit = _ours(d)
        t_r, ll_r = _lme4(d)
        if n == 1000:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t = time.perf_counter()
                sm = smf.mixedlm(FORMULA, d, groups=d["subject"], re_formula="~week").fit(reml=True)
                t_sm = time.perf_counter() - t
            sm_cols = f"{t_sm:>10.2f} {t_sm / t_ours:>6.1f}x {sm.llf - fit.loglik:>12.4f}"
        else:
            sm_cols = f"{'-':>10} {'-':>7} {'-':>12}"
        if ll_r is not None:
            assert abs(ll_r - fit.loglik) < 1e-4, f"loglik {fit.loglik} vs lme4 {ll_r}"
            r_cols = f"{t_r:>8.3f} {t_r / t_ours:>6.2f}x {fit.loglik - ll_r:>9.1e}"
        else:
            r_cols = f"{'n/a':>8} {'':>7} {'':>9}"
        print(f"{n:>9} {t_ours:>10.3f} {r_cols} {sm_cols}")
    print("(ratio = other tool's time / hipstats' time; >1 means hipstats is faster)")
    print(f"\n{'subjects':>9} {'seconds':>8} {'peak MB':>8} {'evals':>6}")
    for n in ((5000,) if quick else (5000, 10000, 100000)):
        d = random_slope_cohort(n)
        tracemalloc.start()
        t, fit = _ours(d)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        print(f"{n:>9} {t:>8.2f} {peak:>8.1f} {fit.optimizer_info['nfev']:>6}")
