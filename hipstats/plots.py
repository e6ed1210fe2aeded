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
from matplotlib.collections import LineCollection

__all__ = ["PALETTE", "set_style", "trajectories", "scatter_by_time", "rm_corr_plot",
           "paired_plot", "forest_plot", "power_curve", "flow_diagram", "model_trajectories",
           "label", "COLUMN", "PAGE", "estimates_plot", "delta_plot"]

#: Colour-blind-safe palette (seaborn "colorblind", after Okabe & Ito).
PALETTE = sns.color_palette("colorblind")
COLUMN, PAGE = 3.5, 7.0  # figure widths in inches

from hipstats.labels import NAMES, measure_label  # noqa: E402  (labels live in one place)

#: Back-compatible mapping of plain labels (default units).
LABELS = {k: (f"{n} ({u})" if u else n) for k, (n, u) in NAMES.items()}
LABELS.update({"strength_change": "Change in abductor strength (N/kg)",
               "pain_vas_change": "Change in pain, VAS (cm)",
               "function_score_change": "Change in function, LEFS"})


def label(col: str, data: pd.DataFrame | None = None) -> str:
    """Axis label of a column with its unit (:func:`hipstats.labels.measure_label`): the
    measure's label from ``data.attrs["measures"]`` (its instrument), the unit from
    ``data.attrs["units"]`` when the loader recorded it (so torque studies say N*m/kg)."""
    return measure_label(col, data)


def set_style() -> None:
    """Journal style: white grid, small fonts, colour-blind palette, fixed metadata."""
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=0.9)
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 300, "svg.hashsalt": "hipstats",
                         "pdf.compression": 6, "figure.autolayout": False})


def _label(col: str, data: pd.DataFrame | None = None) -> str:
    return label(col, data)


def _tick(t) -> str:
    """A visit label as people write it: 2, not 2.0."""
    if isinstance(t, (int, float, np.integer, np.floating)) and float(t) == int(t):
        return str(int(t))
    return str(t)


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
        ax.add_collection(LineCollection(_subject_lines(dg, subject, "_x", y), colors=colour,
                                         alpha=0.25, linewidths=0.7, zorder=2))
        stats = dg.groupby("_x")[y].agg(["mean", "std", "count"]).reset_index()
        from scipy import stats as sps

        half = sps.t.ppf(0.975, np.maximum(stats["count"] - 1, 1)) * stats["std"] / np.sqrt(
            stats["count"])
        ax.errorbar(stats["_x"], stats["mean"], yerr=half, color=colour, lw=2, capsize=3,
                    marker="o", ms=4, label=f"{g} (mean, 95% CI)" if group else "mean, 95% CI")
    ax.set_xticks(range(len(order)), [_tick(t) for t in order])
    ax.set_xlabel(_label(time))
    ax.set_ylabel(_label(y, data))
    ax.legend(frameon=False, fontsize="small")
    return ax


def _subject_lines(d: pd.DataFrame, subject: str, x: str, y: str) -> list:
    """Each subject's observed points, sorted by ``x``: one polyline per subject (subjects
    sorted), drawn as one collection instead of one line per subject."""
    ok = d[[subject, x, y]].dropna(subset=[y])
    codes, _ = pd.factorize(ok[subject], sort=True)
    xs, ys = ok[x].to_numpy(float), ok[y].to_numpy(float)
    order = np.lexsort((xs, codes))
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(np.column_stack([xs[order], ys[order]]), cuts) if len(order) else []


def scatter_by_time(data: pd.DataFrame, x: str, y: str, time: str, order=None,
                    corr: pd.DataFrame | None = None, height: float = 2.0):
    """Scatter of ``y`` against ``x`` at each timepoint with the least-squares line and its
    95% confidence band, one panel per timepoint (shared axes).

    ``corr`` (from :func:`hipstats.timepoint_corr`) supplies the r and CI printed in each
    panel. The band is the exact t interval of the fitted mean, ``yhat +/- t(n-2) se``
    (what seaborn's ``regplot`` estimates by bootstrap). Returns the Figure.
    """
    order = _order(data, time, order)
    d = data.dropna(subset=[x, y])
    fig, axes = plt.subplots(1, len(order), figsize=(0.9 * height * len(order), height),
                             sharex=True, sharey=True, squeeze=False)
    for t, axi in zip(order, axes[0]):
        at = d[d[time] == t]
        _fit_line(axi, at[x].to_numpy(float), at[y].to_numpy(float))
        row = corr[corr[corr.columns[0]] == t] if corr is not None else []
        if len(row):
            r = row.iloc[0]
            axi.text(0.04, 0.96, f"r = {r['r']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}]\n"
                     f"n = {int(r['n'])}", transform=axi.transAxes, va="top", fontsize=7,
                     bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                           "alpha": 0.85}, zorder=5)
        axi.set_title(f"{_label(time)} {t}" if len(order) > 1 else "")
    axes[0][0].set_ylabel(_label(y, data))
    fig.supxlabel(_label(x, data), fontsize="small")
    sns.despine(fig=fig)
    fig.tight_layout()  # once, here: no layout engine to run again at each save
    return fig


def _fit_line(ax, xs: np.ndarray, ys: np.ndarray) -> None:
    """Points, the least-squares line over their x range and its exact 95% band."""
    from scipy import stats as sps

    ax.scatter(xs, ys, s=12, alpha=0.7, color=PALETTE[0],
               linewidths=plt.rcParams["lines.markeredgewidth"])  # as seaborn's regplot
    n = len(xs)
    if n < 3 or np.ptp(xs) == 0:
        return
    xm, sxx = xs.mean(), float(((xs - xs.mean()) ** 2).sum())
    b = float(((xs - xm) * (ys - ys.mean())).sum() / sxx)
    a = ys.mean() - b * xm
    s = np.sqrt(((ys - a - b * xs) ** 2).sum() / (n - 2))
    grid = np.linspace(xs.min(), xs.max(), 100)
    half = sps.t.ppf(0.975, n - 2) * s * np.sqrt(1 / n + (grid - xm) ** 2 / sxx)
    ax.plot(grid, a + b * grid, color=PALETTE[0], lw=1.2)
    ax.fill_between(grid, a + b * grid - half, a + b * grid + half, color=PALETTE[0],
                    alpha=0.15, linewidth=0)


def rm_corr_plot(data: pd.DataFrame, x: str, y: str, subject: str, r: float | None = None,
                 ax=None):
    """Repeated-measures correlation plot: each subject's points and its own parallel fit
    (common slope, subject-specific intercept), as in Bakdash & Marusich (2017)."""
    ax = _ax(ax)
    d = data.dropna(subset=[x, y])
    xc = d[x] - d.groupby(subject)[x].transform("mean")
    yc = d[y] - d.groupby(subject)[y].transform("mean")
    slope = float((xc * yc).sum() / (xc * xc).sum())
    codes, subjects = pd.factorize(d[subject], sort=True)
    colours = np.array(sns.color_palette("colorblind", n_colors=max(len(subjects), 1)))
    order = np.argsort(codes, kind="stable")            # subject by subject, as in the file
    c = colours[codes % len(colours)]
    ax.scatter(d[x].to_numpy()[order], d[y].to_numpy()[order], s=10, c=c[order], alpha=0.8)
    g = pd.DataFrame({"s": codes, "x": d[x].to_numpy(float), "y": d[y].to_numpy(float)})
    per = g.groupby("s").agg(n=("x", "size"), lo=("x", "min"), hi=("x", "max"),
                             mx=("x", "mean"), my=("y", "mean"))
    per = per[per["n"] > 1]
    lines = [np.array([[lo, my + slope * (lo - mx)], [hi, my + slope * (hi - mx)]])
             for lo, hi, mx, my in per[["lo", "hi", "mx", "my"]].to_numpy()]
    ax.add_collection(LineCollection(lines, colors=colours[per.index.to_numpy() % len(colours)],
                                     linewidths=0.9, zorder=2))
    ax.autoscale_view()
    ax.set_xlabel(_label(x, data))
    ax.set_ylabel(_label(y, data))
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
        a.set_xticks(range(len(order)), [_tick(t) for t in order])
        a.set_xlim(-0.3, len(order) - 0.7)
        a.set_title(str(g) if group else "", fontsize="small")
        a.set_xlabel(_label(time))
    axes[0].set_ylabel(_label(y, data))
    return axes[0]


def forest_plot(studies: pd.DataFrame, pooled: pd.DataFrame | None = None, label: str = "study",
                yi: str = "yi", vi: str = "vi", xlabel: str = "Hedges' g (95% CI)", ax=None):
    """Forest plot: study effects with 95% CIs (square size = weight), the pooled estimate
    as a diamond with its prediction interval (from :func:`hipstats.meta_analysis`), and a
    column of "estimate [95% CI]" and weight (%) beside each row, as in a published
    forest plot. Weights are random-effects weights 1 / (v_i + tau^2) when ``pooled`` gives
    ``tau2``."""
    k = len(studies)
    ax = _ax(ax, width=PAGE, height=0.32 * (k + 2) + 0.7)
    from scipy import stats as sps

    z = sps.norm.ppf(0.975)
    y_pos = np.arange(k, 0, -1)
    est = studies[yi].to_numpy(float)
    v = studies[vi].to_numpy(float)
    se = np.sqrt(v)
    tau2 = float(pooled.iloc[0].get("tau2", 0.0)) if pooled is not None else 0.0
    w = 1 / (v + (tau2 if np.isfinite(tau2) else 0.0))
    wpct = 100 * w / w.sum()
    ax.errorbar(est, y_pos, xerr=z * se, fmt="none", ecolor="black", lw=1)
    ax.scatter(est, y_pos, marker="s", s=20 + 80 * w / w.max(), color=PALETTE[0], zorder=3)
    labels = list(studies[label].astype(str))
    right = [f"{e:.2f} [{e - z * s_:.2f}, {e + z * s_:.2f}]   {p:4.1f}%"
             for e, s_, p in zip(est, se, wpct)]
    if pooled is not None:
        p = pooled.iloc[0]
        yd = 0
        ax.fill([p["ci_low"], p["estimate"], p["ci_high"], p["estimate"]],
                [yd, yd + 0.3, yd, yd - 0.3], color=PALETTE[1], zorder=3)
        if "pi_low" in p and np.isfinite(p["pi_low"]):
            ax.plot([p["pi_low"], p["pi_high"]], [yd, yd], color=PALETTE[1], lw=1, ls=":")
        labels.append(f"Pooled ({p.get('method', '')})")
        right.append(f"{p['estimate']:.2f} [{p['ci_low']:.2f}, {p['ci_high']:.2f}]  100.0%")
        y_pos = np.append(y_pos, 0)
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y_pos, labels)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    ax.set_ylim(-0.8, k + 0.9)
    for yv, text in zip(y_pos, right):
        ax.annotate(text.replace("-", "\u2212"), xy=(1.02, yv), xycoords=("axes fraction", "data"),
                    va="center", ha="left", fontsize=7, family="monospace")
    ax.annotate("Estimate [95% CI]   Weight", xy=(1.02, k + 0.7),
                xycoords=("axes fraction", "data"), va="center", ha="left", fontsize=7,
                fontweight="bold")
    return ax


def model_trajectories(emm: pd.DataFrame, time: str, group: str | None = None,
                       data: pd.DataFrame | None = None, y: str | None = None, order=None,
                       ax=None, ylabel: str | None = None):
    """Model-estimated means over time with 95% CIs (from ``fit.emmeans(time, by=group)``),
    drawn over the observed means (open circles) when ``data`` and ``y`` are given.

    Examples
    --------
    >>> import hipstats
    >>> from hipstats import plots
    >>> df = hipstats.example("pfps3wk")
    >>> fit = hipstats.mixed_model(df, "pain_vas ~ C(time) * group", "subject")
    >>> ax = plots.model_trajectories(fit.emmeans("time", by="group"), "time", "group",
    ...                               data=df, y="pain_vas", order=["pre", "post"])
    """
    ax = _ax(ax)
    order = list(order) if order is not None else list(pd.unique(emm[time]))
    pos = {str(t): i for i, t in enumerate(order)}
    # sorted, as in :func:`trajectories`: an arm keeps its colour across a page's figures
    groups = sorted(pd.unique(emm[group]), key=str) if group else [None]
    dodge = np.linspace(-0.06, 0.06, len(groups)) if len(groups) > 1 else [0.0]
    for gi, g in enumerate(groups):
        e = emm[emm[group] == g] if group else emm
        x = e[time].astype(str).map(pos).to_numpy(float) + dodge[gi]
        c = PALETTE[gi % len(PALETTE)]
        ax.errorbar(x, e["emmean"], yerr=[e["emmean"] - e["ci_low"], e["ci_high"] - e["emmean"]],
                    color=c, marker="o", ms=4, lw=1.6, capsize=3,
                    label=f"{g}: model estimate (95% CI)" if group else "model estimate (95% CI)")
        if data is not None and y is not None:
            dg = data[data[group] == g] if group else data
            obs = dg.groupby(dg[time].astype(str))[y].mean()
            xo = [pos[t] + dodge[gi] for t in obs.index if t in pos]
            ax.scatter(xo, [obs[t] for t in obs.index if t in pos], facecolors="none",
                       edgecolors=c, s=22, zorder=4,
                       label=f"{g}: observed mean" if group else "observed mean")
    ax.set_xticks(range(len(order)), [_tick(t) for t in order])
    ax.set_xlim(-0.35, len(order) - 0.65)
    ax.set_xlabel(_label(time))
    if ylabel or y is not None:
        ax.set_ylabel(ylabel or _label(y, data))
    ax.legend(frameon=False, fontsize="x-small", loc="best")
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


def flow_diagram(flow: pd.DataFrame, ax=None, arm: str = "arm"):
    """CONSORT-style flow: one box per stage, top to bottom, and one column per arm when
    ``flow`` has an ``arm`` column (from :func:`hipstats.tables.cohort_flow` with
    ``group=``).

    ``flow`` has columns ``stage`` and ``text`` (and optionally ``arm``).
    """
    arms = list(pd.unique(flow[arm])) if arm in flow else [None]
    per = [flow[flow[arm] == a] if a is not None else flow for a in arms]
    n = max(len(p) for p in per)
    width = max(COLUMN, 2.4 * len(arms))
    ax = _ax(ax, width=width, height=0.62 * n + 0.3)
    ax.set_xlim(0, len(arms))
    ax.set_ylim(0, n)
    ax.axis("off")
    for ai, (a, rows) in enumerate(zip(arms, per)):
        xc = ai + 0.5
        for i, (_, row) in enumerate(rows.iterrows()):
            yc = n - i - 0.5
            head = f"{a}: {row['stage']}" if a is not None and i == 0 else row["stage"]
            ax.text(xc, yc, f"{head}\n{row['text']}", ha="center", va="center", fontsize=8,
                    bbox={"boxstyle": "round,pad=0.4", "fc": "white",
                          "ec": PALETTE[ai % len(PALETTE)], "lw": 1.2})
            if i < len(rows) - 1:
                ax.annotate("", xy=(xc, yc - 0.66), xytext=(xc, yc - 0.34),
                            arrowprops={"arrowstyle": "->", "color": "grey"})
    return ax


def estimates_plot(data: pd.DataFrame, y: str = "label", est: str = "est", lo: str = "lci",
                   hi: str = "uci", hue: str | None = None, mcid: float | None = None,
                   xlabel: str = "Difference (95% CI)", ax=None):
    """Estimates with 95% CIs, one row per ``y`` (e.g. the missing-data strategies beside
    MAR), no difference as a dashed line and, when given, the MCID either side as dotted
    lines (for the sensitivity of a trial's primary comparison)."""
    rows = list(pd.unique(data[y].astype(str)))
    hues = list(pd.unique(data[hue])) if hue else [None]
    ax = _ax(ax, width=COLUMN * 1.4, height=0.35 * len(rows) * len(hues) + 0.9)
    pos = {r: len(rows) - i for i, r in enumerate(rows)}
    for j, h in enumerate(hues):
        d = data if h is None else data[data[hue] == h]
        off = 0.0 if h is None else (j - (len(hues) - 1) / 2) * 0.22
        yy = np.array([pos[r] for r in d[y].astype(str)]) + off
        ax.errorbar(d[est], yy, xerr=[d[est] - d[lo], d[hi] - d[est]], fmt="o", ms=4,
                    color=PALETTE[j], capsize=2, lw=1, label=None if h is None else str(h))
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    if mcid:
        for m in (-mcid, mcid):
            ax.axvline(m, color="grey", lw=0.8, ls=":")
        ax.annotate("MCID", xy=(mcid, len(rows) + 0.45), fontsize=7, color="grey", ha="center")
    ax.set_yticks(list(pos.values()), list(pos.keys()))
    ax.set_ylim(0.4, len(rows) + 0.7)
    ax.set_xlabel(xlabel)
    ax.grid(axis="y", visible=False)
    if hue:
        ax.legend(frameon=False, fontsize=7)
    return ax


def delta_plot(data: pd.DataFrame, x: str = "delta", est: str = "est", lo: str = "lci",
               hi: str = "uci", tipping: float | None = None, xlabel: str = "Delta",
               ylabel: str = "Difference (95% CI)", ax=None):
    """The estimate and its 95% CI as delta (the shift added to the imputed values) grows,
    with no difference dashed and the tipping point marked."""
    ax = _ax(ax)
    d = data.sort_values(x)
    ax.plot(d[x], d[est], color=PALETTE[0], lw=1.5)
    ax.fill_between(d[x], d[lo], d[hi], color=PALETTE[0], alpha=0.2, lw=0)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    if tipping is not None and np.isfinite(tipping):
        ax.axvline(tipping, color=PALETTE[3], lw=1, ls=":")
        ax.annotate(f"tipping point {tipping:.2f}", xy=(tipping, ax.get_ylim()[1]),
                    xytext=(3, -10), textcoords="offset points", fontsize=7, color=PALETTE[3])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
