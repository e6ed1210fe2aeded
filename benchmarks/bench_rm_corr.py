"""rm_corr (group-wise centring, O(rows)) vs pingouin.rm_corr (ANCOVA) on the same data."""

import time
import warnings

from cohort import random_slope_cohort

import hipstats


def main(quick: bool = False) -> None:
    import pingouin as pg

    sizes = (1000,) if quick else (1000, 3000)
    print(f"{'subjects':>9} {'hipstats s':>11} {'pingouin s':>11} {'ratio':>8} {'|dr|':>9}")
    for n in sizes:
        d = random_slope_cohort(n)
        t = time.perf_counter()
        ours = hipstats.rm_corr(d, "strength", "function_score", "subject")
        t_ours = time.perf_counter() - t
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = time.perf_counter()
            theirs = pg.rm_corr(d, "strength", "function_score", "subject")
            t_pg = time.perf_counter() - t
        dr = abs(ours["r"].iloc[0] - theirs["r"].iloc[0])
        assert dr < 1e-10, f"r differs by {dr}"
        print(f"{n:>9} {t_ours:>11.4f} {t_pg:>11.3f} {t_pg / t_ours:>7.0f}x {dr:>9.1e}")
