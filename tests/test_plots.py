"""The page figures draw what the data say: each participant's trajectory and
repeated-measures line from their own points (one collection per arm, not one line per
participant), and the scatter's line and 95% band the least-squares fit and its exact
interval (statsmodels), not a bootstrap."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import statsmodels.api as sm  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402

from hipstats import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _frame():
    rows = [("b", "A", 2, 5.0), ("a", "A", 4, 3.0), ("a", "A", 0, 6.0), ("a", "A", 2, np.nan),
            ("c", "B", 0, 7.0), ("c", "B", 4, 6.5), ("b", "A", 0, 5.5), ("d", "B", 2, 4.0)]
    return pd.DataFrame(rows, columns=["subject", "group", "week", "pain"])


def test_trajectories_draw_each_participants_observed_points_in_visit_order():
    ax = plots.trajectories(_frame(), "pain", "week", "subject", group="group")
    lines = [c for c in ax.collections                    # (the error bars are collections
             if isinstance(c, LineCollection) and c.get_alpha() == 0.25]   # too)
    assert len(lines) == 2                                  # one per arm
    x = {0: 0, 2: 1, 4: 2}                                  # visits at positions 0, 1, 2
    want_a = [[(x[0], 6.0), (x[4], 3.0)], [(x[0], 5.5), (x[2], 5.0)]]   # a (NaN left out), b
    want_b = [[(x[0], 7.0), (x[4], 6.5)], [(x[2], 4.0)]]                # c, d
    for coll, want in zip(lines, (want_a, want_b)):
        assert [s.tolist() for s in coll.get_segments()] == [
            [list(p) for p in seg] for seg in want]
    assert not np.allclose(lines[0].get_color(), lines[1].get_color())


def test_rm_corr_lines_are_each_subjects_mean_with_the_common_slope():
    d = pd.DataFrame({"subject": list("aaabbbcc"), "x": [1, 2, 3, 2, 3, 5, 1, 1.5],
                      "y": [1, 2, 2.5, 4, 4.5, 6, 0, 1]})
    ax = plots.rm_corr_plot(d, "x", "y", "subject")
    xc = d["x"] - d.groupby("subject")["x"].transform("mean")
    yc = d["y"] - d.groupby("subject")["y"].transform("mean")
    slope = (xc * yc).sum() / (xc ** 2).sum()
    (lines,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    for seg, (s, g) in zip(lines.get_segments(), d.groupby("subject")):
        lo, hi = g["x"].min(), g["x"].max()
        np.testing.assert_allclose(seg, [[lo, g["y"].mean() + slope * (lo - g["x"].mean())],
                                         [hi, g["y"].mean() + slope * (hi - g["x"].mean())]])
    (points,) = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(points.get_offsets(), d[["x", "y"]].to_numpy())
    colours = points.get_facecolor()
    assert np.allclose(colours[0], colours[2]) and not np.allclose(colours[0], colours[3])
    np.testing.assert_allclose(lines.get_color()[:, :3], colours[[0, 3, 6], :3])


def test_scatter_line_and_band_are_the_least_squares_fit_and_its_exact_interval():
    rng = np.random.default_rng(4)
    d = pd.DataFrame({"week": np.repeat([0, 6], 30), "x": rng.normal(3, 1, 60)})
    d["y"] = 2 + 0.5 * d["x"] + rng.normal(0, 1, 60)
    fig = plots.scatter_by_time(d, "x", "y", "week")
    assert [a.get_title() for a in fig.axes] == ["Week 0", "Week 6"]
    for ax, (_, at) in zip(fig.axes, d.groupby("week")):
        line = ax.get_lines()[0]
        grid = line.get_xdata()
        ols = sm.OLS(at["y"], sm.add_constant(at["x"])).fit()
        pred = ols.get_prediction(sm.add_constant(grid)).summary_frame(alpha=0.05)
        np.testing.assert_allclose(line.get_ydata(), pred["mean"], rtol=1e-10)
        band = ax.collections[-1].get_paths()[0].vertices
        lower = band[1:len(grid) + 1, 1]
        np.testing.assert_allclose(lower, pred["mean_ci_lower"], rtol=1e-10)
        assert grid.min() == at["x"].min() and grid.max() == at["x"].max()
