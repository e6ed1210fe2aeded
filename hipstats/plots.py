"""Figures for strength, pain and function data (seaborn/matplotlib).

Every function takes ``data`` plus column names and an optional ``ax``, draws on it, and
returns the :class:`matplotlib.axes.Axes` (never calls ``plt.show()``). Colours come from
seaborn's colour-blind-safe palette; axis labels carry units; default sizes fit a journal
column (3.5 in) or page (7 in) width.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

__all__ = ["PALETTE", "set_style", "trajectories", "scatter_by_time", "rm_corr_plot",
           "paired_plot", "forest_plot", "power_curve", "flow_diagram", "COLUMN", "PAGE"]

#: Colour-blind-safe palette (seaborn "colorblind", after Okabe & Ito).
PALETTE = sns.color_palette("colorblind")
COLUMN, PAGE = 3.5, 7.0  # figure widths in inches

#: Units for axis labels of the canonical measures.
LABELS = {
    "strength": "Abductor strength, involved (N/kg)",
    "strength_uninvolved": "Abductor strength, uninvolved (N/kg)",
    "lsi": "Limb symmetry index (%)",
    "function_score": "Function, LEFS (0-80)",
    "pain_vas": "Pain, VAS (cm)",
    "valgus_peak": "Peak knee valgum (deg)",
    "knee_variability": "Knee variability (deg)",
    "week": "Week", "time": "Visit",
    "strength_change": "Change in abductor strength (N/kg)",
    "pain_vas_change": "Change in pain, VAS (cm)",
    "function_score_change": "Change in function, LEFS",
}


def set_style() -> None:
    """Journal style: white grid, small fonts, colour-blind palette, fixed metadata."""
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 300, "svg.hashsalt": "hipstats",
                         "pdf.compression": 6, "figure.autolayout": False})


def _label(col: str) -> str:
    return LABELS.get(col, col.replace("_", " "))


def _ax(ax, width=COLUMN, height=2.6):
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    return ax


def _order(data: pd.DataFrame, time: str, order):
    if order is not None:
        return list(order)
    if pd.api.types.is_numeric_dtype(data[time]):
        return sorted(data[time].dropna().unique())
    return list(pd.unique(data[time].dropna()))


def trajectories(data: pd.DataFrame, y: str, time: str, subject: str, group: str | None = None,
                 order=None, ax=None):
    """Individual trajectories (thin lines) with the group mean and its 95% CI.

    Examples
    --------
    >>> import hipstats
    >>> from hipstats import plots
    >>> ax = plots.trajectories(hipstats.example("program6wk"), "strength", "week", "subject")
    """
    ax = _ax(ax)
    order = _order(data, time, order)
    pos = {t: i for i, t in enumerate(order)}
    d = data.assign(_x=data[time].map(pos))
    groups = sorted(d[group].dropna().unique()) if group else [None]
    for gi, g in enumerate(groups):
        dg = d[d[group] == g] if group else d
        colour = PALETTE[gi % len(PALETTE)]
        for _, s in dg.groupby(subject, sort=True):
            s = s.dropna(subset=[y]).sort_values("_x")
            ax.plot(s["_x"], s[y], color=colour, alpha=0.25, lw=0.7)
        stats = dg.groupby("_x")[y].agg(["mean", "std", "count"]).reset_index()
        from scipy import stats as sps

        half = sps.t.ppf(0.975, np.maximum(stats["count"] - 1, 1)) * stats["std"] / np.sqrt(
            stats["count"])
        ax.errorbar(stats["_x"], stats["mean"], yerr=half, color=colour, lw=2, capsize=3,
                    marker="o", ms=4, label=f"{g} (mean, 95% CI)" if group else "mean, 95% CI")
    ax.set_xticks(range(len(order)), [str(t) for t in order])
    ax.set_xlabel(_label(time))
    ax.set_ylabel(_label(y))
    ax.legend(frameon=False, fontsize="small")
    return ax


def scatter_by_time(data: pd.DataFrame, x: str, y: str, time: str, order=None,
                    corr: pd.DataFrame | None = None, height: float = 2.0):
    """Scatter of ``y`` against ``x`` at each timepoint with a fit line and r.

    ``corr`` (from :func:`hipstats.timepoint_corr`) supplies the r and CI printed in each
    panel. Returns the :class:`seaborn.FacetGrid`.
    """
    order = _order(data, time, order)
    d = data.dropna(subset=[x, y])
    g = sns.FacetGrid(d, col=time, col_order=order, height=height, aspect=0.9, sharex=True,
                      sharey=True)
    g.map_dataframe(sns.regplot, x=x, y=y, ci=95, scatter_kws={"s": 12, "alpha": 0.7},
                    line_kws={"lw": 1.2}, color=PALETTE[0], seed=0)
    if corr is not None:
        for t, axi in zip(order, g.axes.flat):
            row = corr[corr[corr.columns[0]] == t]
            if len(row):
                r = row.iloc[0]
                axi.text(0.04, 0.96, f"r = {r['r']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]\n"
                         f"n = {int(r['n'])}", transform=axi.transAxes, va="top", fontsize=7)
    g.set_titles(f"{_label(time)} {{col_name}}")
    g.set_axis_labels("", _label(y))
    g.figure.supxlabel(_label(x), fontsize="small")
    g.figure.tight_layout()
    return g


def rm_corr_plot(data: pd.DataFrame, x: str, y: str, subject: str, r: float | None = None,
                 ax=None):
    """Repeated-measures correlation plot: each subject's points and its own parallel fit
    (common slope, subject-specific intercept), as in Bakdash & Marusich (2017)."""
    ax = _ax(ax)
    d = data.dropna(subset=[x, y])
    xc = d[x] - d.groupby(subject)[x].transform("mean")
    yc = d[y] - d.groupby(subject)[y].transform("mean")
    slope = float((xc * yc).sum() / (xc * xc).sum())
    subjects = sorted(d[subject].unique())
    colours = sns.color_palette("colorblind", n_colors=max(len(subjects), 1))
    for i, s in enumerate(subjects):
        ds = d[d[subject] == s]
        c = colours[i % len(colours)]
        ax.scatter(ds[x], ds[y], s=10, color=c, alpha=0.8)
        if len(ds) > 1:
            xs = np.array([ds[x].min(), ds[x].max()])
            ax.plot(xs, ds[y].mean() + slope * (xs - ds[x].mean()), color=c, lw=0.9)
    ax.set_xlabel(_label(x))
    ax.set_ylabel(_label(y))
    if r is not None:
        ax.set_title(f"Within-subject r = {r:.2f}", fontsize="small")
    return ax


def paired_plot(data: pd.DataFrame, y: str, time: str, subject: str, group: str | None = None,
                order=None, ax=None):
    """Before/after paired plot: one line per subject, panels side by side per group."""
    order = _order(data, time, order)
    groups = sorted(data[group].dropna().unique()) if group else [None]
    if ax is None:
        fig, axes = plt.subplots(1, len(groups), figsize=(COLUMN, 2.6), sharey=True,
                                 layout="constrained", squeeze=False)
        axes = axes[0]
    else:
        axes = [ax] * len(groups)
    pos = {t: i for i, t in enumerate(order)}
    for gi, g in enumerate(groups):
        a = axes[gi]
        dg = data[data[group] == g] if group else data
        colour = PALETTE[gi % len(PALETTE)]
        for _, s in dg.groupby(subject, sort=True):
            s = s.dropna(subset=[y])
            s = s.assign(_x=s[time].map(pos)).sort_values("_x")
            a.plot(s["_x"], s[y], color=colour, alpha=0.45, lw=0.8, marker="o", ms=2.5)
        means = dg.groupby(time)[y].mean().reindex(order)
        a.plot(range(len(order)), means.to_numpy(), color="black", lw=2, marker="s", ms=4)
        a.set_xticks(range(len(order)), [str(t) for t in order])
        a.set_xlim(-0.3, len(order) - 0.7)
        a.set_title(str(g) if group else "", fontsize="small")
        a.set_xlabel(_label(time))
    axes[0].set_ylabel(_label(y))
    return axes[0]


def forest_plot(studies: pd.DataFrame, pooled: pd.DataFrame | None = None, label: str = "study",
                yi: str = "yi", vi: str = "vi", xlabel: str = "Hedges' g (95% CI)", ax=None):
    """Forest plot of study effects with 95% CIs and, if given, the pooled estimate
    (diamond) and prediction interval (from :func:`hipstats.meta_analysis`)."""
    k = len(studies)
    ax = _ax(ax, width=PAGE * 0.75, height=0.35 * (k + 2) + 0.6)
    from scipy import stats as sps

    z = sps.norm.ppf(0.975)
    y_pos = np.arange(k, 0, -1)
    est = studies[yi].to_numpy(float)
    se = np.sqrt(studies[vi].to_numpy(float))
    w = 1 / studies[vi].to_numpy(float)
    ax.errorbar(est, y_pos, xerr=z * se, fmt="none", ecolor="black", lw=1)
    ax.scatter(est, y_pos, marker="s", s=20 + 80 * w / w.max(), color=PALETTE[0], zorder=3)
    labels = list(studies[label].astype(str))
    if pooled is not None:
        p = pooled.iloc[0]
        yd = 0
        ax.fill([p["ci_low"], p["estimate"], p["ci_high"], p["estimate"]],
                [yd, yd + 0.3, yd, yd - 0.3], color=PALETTE[1], zorder=3)
        if "pi_low" in p and np.isfinite(p["pi_low"]):
            ax.plot([p["pi_low"], p["pi_high"]], [yd, yd], color=PALETTE[1], lw=1, ls=":")
        labels.append(f"Pooled ({p.get('method', '')})")
        y_pos = np.append(y_pos, 0)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y_pos, labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    return ax


def power_curve(curve: pd.DataFrame, x: str = "n", y: str = "power", hue: str | None = None,
                target: float = 0.8, ax=None, xlabel: str = "Subjects per group"):
    """Power against sample size, with the target power as a dashed line."""
    ax = _ax(ax)
    sns.lineplot(data=curve, x=x, y=y, hue=hue, marker="o", ax=ax, palette="colorblind"
                 if hue else None, color=None if hue else PALETTE[0])
    if {"ci_low", "ci_high"} <= set(curve.columns) and hue is None:
        ax.fill_between(curve[x], curve["ci_low"], curve["ci_high"], alpha=0.2, color=PALETTE[0])
    ax.axhline(target, color="grey", ls="--", lw=0.8)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Power")
    return ax


def flow_diagram(flow: pd.DataFrame, ax=None):
    """CONSORT-style flow: one box per stage, top to bottom.

    ``flow`` has columns ``stage`` and ``text`` (e.g. from
    :func:`hipstats.tables.cohort_flow`).
    """
    n = len(flow)
    ax = _ax(ax, width=COLUMN, height=0.75 * n + 0.2)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, n)
    ax.axis("off")
    for i, (_, row) in enumerate(flow.iterrows()):
        yc = n - i - 0.5
        ax.text(0.5, yc, f"{row['stage']}\n{row['text']}", ha="center", va="center",
                fontsize=7, bbox={"boxstyle": "round,pad=0.4", "fc": "white",
                                  "ec": PALETTE[0], "lw": 1})
        if i < n - 1:
            ax.annotate("", xy=(0.5, yc - 0.62), xytext=(0.5, yc - 0.38),
                        arrowprops={"arrowstyle": "->", "color": "grey"})
    return ax
