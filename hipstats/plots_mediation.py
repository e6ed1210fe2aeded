"""Figures of a mediation analysis: the path diagram and the sensitivity curve.

As :mod:`hipstats.plots`: ``data`` plus column names and an optional ``ax``; each returns
the :class:`matplotlib.axes.Axes` and never calls ``plt.show()``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hipstats.plots import COLUMN, PALETTE, _ax

__all__ = ["path_diagram", "sensitivity_curve"]


def _coef(row) -> str:
    return f"{row['est']:.2f}\n({row['lci']:.2f} to {row['uci']:.2f})"


def path_diagram(paths: pd.DataFrame, exposure: str = "Arm", mediator: str = "Mediator",
                 outcome: str = "Outcome", path: str = "path", ax=None):
    """Exposure -> mediator -> outcome with the a, b and direct coefficients (95% CI).

    ``paths``: one contrast's rows of :attr:`MediationResult.paths` (``path`` in a, b,
    direct, indirect, total; columns est, lci, uci).

    Examples
    --------
    >>> import pandas as pd
    >>> from hipstats import plots_mediation
    >>> p = pd.DataFrame({"path": ["a", "b", "direct", "indirect"], "est": [.4, -.5, -.3, -.2],
    ...                   "lci": [.1, -.9, -.8, -.4], "uci": [.7, -.1, .2, 0.]})
    >>> ax = plots_mediation.path_diagram(p, "HIP vs KNEE", "Strength change", "Pain")
    """
    ax = _ax(ax, width=COLUMN * 1.4, height=2.4)
    rows = paths.set_index(path)
    boxes = {"x": (0.12, 0.2), "m": (0.5, 0.8), "y": (0.88, 0.2)}
    for key, text in (("x", exposure), ("m", mediator), ("y", outcome)):
        ax.text(*boxes[key], text, ha="center", va="center", fontsize=8, wrap=True,
                bbox=dict(boxstyle="round,pad=0.4", fc="white", ec=PALETTE[0]))
    arrows = [("x", "m", "a"), ("m", "y", "b"), ("x", "y", "direct")]
    for start, end, name in arrows:
        (x0, y0), (x1, y1) = boxes[start], boxes[end]
        ax.annotate("", xy=(x1 - 0.1 * np.sign(x1 - x0), y1 - 0.08 * np.sign(y1 - y0)),
                    xytext=(x0 + 0.1 * np.sign(x1 - x0), y0 + 0.08 * np.sign(y1 - y0)),
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.0))
        if name in rows.index:
            xm, ym = (x0 + x1) / 2, (y0 + y1) / 2
            where = {"a": (xm - 0.05, ym + 0.02, "right"), "b": (xm + 0.05, ym + 0.02, "left"),
                     "direct": (xm, ym - 0.13, "center")}[name]
            ax.text(where[0], where[1], f"{name}: " + _coef(rows.loc[name]), ha=where[2],
                    va="center", fontsize=7)
    if "indirect" in rows.index:
        ax.text(0.5, 0.36, "indirect (a x b):\n" + _coef(rows.loc["indirect"]).replace("\n", " "),
                ha="center", va="center", fontsize=7, color=PALETTE[1])
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.axis("off")
    return ax


def sensitivity_curve(curve: pd.DataFrame, rho: str = "rho", effect: str = "tnie",
                      rho_zero: float | None = None, ylabel: str = "Indirect effect", ax=None):
    """The indirect effect against rho (the correlation of the mediator and outcome models'
    errors), with the rho at which it vanishes marked.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from hipstats import plots_mediation
    >>> r = np.linspace(-0.9, 0.9, 19)
    >>> ax = plots_mediation.sensitivity_curve(pd.DataFrame({"rho": r, "tnie": 0.2 - r}),
    ...                                        rho_zero=0.2)
    """
    ax = _ax(ax)
    ax.plot(curve[rho], curve[effect], color=PALETTE[0], lw=1.4)
    mid = curve.loc[curve[rho].abs() <= 0.8, effect]   # the curve runs off to infinity at +/-1
    if len(mid) and np.isfinite(mid).all():
        pad = 0.1 * (mid.max() - mid.min() or 1.0)
        ax.set_ylim(mid.min() - pad, mid.max() + pad)
    ax.axhline(0, color="0.5", lw=0.8)
    ax.axvline(0, color="0.8", lw=0.8, ls=":")
    if rho_zero is not None and np.isfinite(rho_zero):
        ax.axvline(rho_zero, color=PALETTE[3], lw=1.0, ls="--")
        ax.annotate(f"zero at rho = {rho_zero:.2f}", xy=(rho_zero, 0), xytext=(5, 8),
                    textcoords="offset points", fontsize=7, color=PALETTE[3])
    ax.set(xlabel="Correlation of the two models' errors (rho)", ylabel=ylabel, xlim=(-1, 1),
           xticks=[-1, -0.5, 0, 0.5, 1])
    return ax
