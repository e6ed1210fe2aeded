"""Seeded 4-visit random-slope cohorts shared by the benchmarks."""

import numpy as np
import pandas as pd


def random_slope_cohort(n_subjects: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    weeks = np.array([0.0, 2.0, 4.0, 6.0])
    n = n_subjects
    s = 3 + rng.normal(0, 0.6, (n, 1)) + 0.13 * weeks + rng.normal(0, 0.2, (n, 4))
    f = (55 + 2.2 * weeks + 11 * (s - 3) + rng.normal(0, 4, (n, 1))
         + rng.normal(0, 0.5, (n, 1)) * weeks + rng.normal(0, 4.5, (n, 4)))
    return pd.DataFrame({"subject": np.repeat([f"S{i:06d}" for i in range(n)], 4),
                         "week": np.tile(weeks, n), "strength": s.ravel(),
                         "function_score": f.ravel()})
