"""What every section of a page shares: the data, the design, where outputs go, numbering.

A page is the generic report notebook (``notebooks/design-page.ipynb``) run for one design:
the two built-in pages (``01`` program6wk, ``02`` pfps3wk) and one per design a study
declares. The notebook only calls :func:`open_page` and then one section function per cell;
the sections (modules of :mod:`hipstats.pages`) hold the logic, once, and read everything
that differs between designs (arms, visits, instruments, which measures are taken when) from
the :class:`~hipstats.design.Design`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pandas as pd

from hipstats.design import Design
from hipstats.labels import measure_label
from hipstats.report.outputs import save_figure, save_table
from hipstats.tables import format_table

__all__ = ["PageContext", "open_page", "show", "say"]


def say(text: str) -> None:
    """Display Markdown text on the page (printed as text outside a notebook)."""
    from IPython import get_ipython
    from IPython.display import Markdown, display

    if get_ipython() is None:
        print(text)
    else:
        display(Markdown(text))


def show(obj) -> None:
    """Display a formatted table (or any object) on the page."""
    from IPython.display import display

    display(obj)


@dataclass
class PageContext:
    """One page being rendered.

    Attributes
    ----------
    data : DataFrame
        The validated person-period frame.
    design : Design
        Its design (arms, visits, measures, instruments, primary roles).
    prefix : str
        Prefix of the page's tables and figures (``"01"``, ``"design-mytrial"``).
    figures_dir, tables_dir : str
        Where figures and CSV tables are written.
    alpha, seed, power_target : float, int, float
        Test level, seed of every simulation, power the next trial is sized for.
    results : dict
        What a section leaves for a later one (the primary analyses for the next trial).
    """

    data: pd.DataFrame
    design: Design
    prefix: str
    figures_dir: str
    tables_dir: str
    alpha: float = 0.05
    seed: int = 20261125
    power_target: float = 0.80
    results: dict = field(default_factory=dict)
    config_path: str | None = None
    _numbers: itertools.count = field(default_factory=lambda: itertools.count(1), repr=False)

    # -- the design, as the sections ask for it ----------------------------------------
    @property
    def time(self) -> str:
        return self.design.time

    @property
    def grid(self) -> list:
        return list(self.design.timepoints)

    @property
    def base(self):
        return self.design.baseline

    @property
    def last(self):
        return self.design.timepoints[-1]

    @property
    def group(self) -> str | None:
        """``"group"`` for a design with arms, else ``None``."""
        return "group" if self.design.has_groups else None

    @property
    def strength(self) -> str | None:
        """The primary strength measure when the data carry it, else ``None``."""
        s = self.design.primary.get("strength")
        return s if s and s in self.data and self.data[s].notna().any() else None

    @property
    def uninvolved(self) -> str | None:
        """The uninvolved limb's strength (``primary.uninvolved``) when measured, else None."""
        u = self.design.primary.get("uninvolved")
        return u if u and u in self.data and self.data[u].notna().any() else None

    @property
    def outcomes(self) -> list[str]:
        """Outcomes analysed as primary: the declared primary outcome and every measure with
        an instrument (strength measures excluded), in design order."""
        skip = {self.design.primary.get("strength"), self.design.primary.get("uninvolved")}
        primary = self.design.primary.get("outcome")
        return [m.name for m in self.design.measures if m.kind == "float" and m.name not in skip
                and not m.ordinal and (m.instrument or m.name == primary)]

    @property
    def ratings(self) -> list[str]:
        """Ordinal ratings (global rating of change) with data, in design order: analysed as
        categories (success, proportional odds) by the responders section only."""
        return [m.name for m in self.design.measures if m.ordinal
                and m.name in self.data and self.data[m.name].notna().any()]

    @property
    def repeated(self) -> list[str]:
        """Every numeric repeated measure of the design that has data (ordinal ratings
        excluded: they are categories, not means)."""
        return [m.name for m in self.design.measures if m.kind == "float" and not m.ordinal
                and m.name in self.data and self.data[m.name].notna().any()]

    def visits_of(self, *measures: str) -> list:
        """The visits at which all of ``measures`` are taken, in grid order."""
        return [t for t in self.grid if all(self.design.measure(m).taken_at(t) for m in measures)]

    @property
    def numeric_time(self) -> bool:
        """True when the visits are numbers (weeks), False for labels (pre/post)."""
        return all(isinstance(t, (int, float)) for t in self.grid)

    def over(self, visits: list | None = None) -> str:
        """"over weeks" for numbered visits, "from pre to post" for labelled ones."""
        visits = self.grid if visits is None else visits
        return f"over {self.time}s" if self.numeric_time else f"from {visits[0]} to {visits[-1]}"

    def visit_term(self) -> str:
        """The visit as a patsy factor in grid order (``C(time, levels=[...])`` for labels)."""
        return f"C({self.time})" if self.numeric_time else f"C({self.time}, levels={self.grid!r})"

    def events_path(self):
        """The study's intercurrent-events file (``ice`` in ``[data.NAME]``), or None."""
        from hipstats.config import events_path

        return events_path(self.config_path, self.design.name) if self.config_path else None

    def load_columns(self) -> dict:
        """The study's ``columns`` map (file column -> hipstats name), or {}."""
        from hipstats.config import load_options

        if not self.config_path:
            return {}
        return load_options(self.config_path, self.design.name).get("columns", {})

    # -- words ------------------------------------------------------------------------
    def label(self, col: str, unit: bool = True) -> str:
        """A measure's label with its unit ("Pain (VAS, cm)")."""
        return measure_label(col, self.data, unit=unit)

    def prose(self, col: str) -> str:
        """A measure's label for the middle of a sentence ("pain (VAS)")."""
        s = self.label(col, unit=False)
        return s[0].lower() + s[1:] if len(s) > 1 and not s[1].isupper() else s

    # -- outputs ----------------------------------------------------------------------
    def save(self, frame: pd.DataFrame, name: str, **kwargs) -> None:
        """Write ``frame`` as ``tables/<prefix>-<name>.csv`` (full precision)."""
        save_table(frame, f"{self.prefix}-{name}", self.tables_dir, **kwargs)

    def figure(self, fig, name: str, caption: str) -> None:
        """Write and show a figure as ``figures/<prefix>-<name>.png/.pdf``."""
        save_figure(fig, f"{self.prefix}-{name}", self.figures_dir, caption=caption)

    def table(self, frame: pd.DataFrame, caption: str, name: str, **kwargs) -> None:
        """Show ``frame`` as the page's next numbered table, labelled from the design."""
        kwargs.setdefault("labels", self.data)
        show(format_table(frame, caption=f"Table {next(self._numbers)}. {caption}", name=name,
                          **kwargs))


def open_page(design_name: str, data_path=None, config_path=None, load_kwargs=None, *,
              prefix: str, figures_dir: str, tables_dir: str, title: str | None = None,
              alpha: float = 0.05, seed: int = 20261125,
              power_target: float = 0.80) -> PageContext:
    """Load a design's data, show the page's title, design and data source, and return the
    :class:`PageContext` the sections take.

    Parameters
    ----------
    design_name : str
        A built-in design or one ``config_path`` declares.
    data_path : str or None
        The data file; ``None`` reads the bundled example of that design.
    config_path : str or None
        The study's hipstats.toml (its design and loading options).
    load_kwargs : dict, optional
        One-off loading options.
    prefix, figures_dir, tables_dir : str
        Output names and folders (:class:`PageContext`).
    title : str, optional
        The page's heading; default "Trial report: <design>".

    Returns
    -------
    PageContext
    """
    import hipstats as hs
    from hipstats import plots, summary

    plots.set_style()
    design = hs.study_design(config_path, design_name) if config_path else hs.get_design(design_name)
    df = (hs.load(data_path, design, config=config_path, **(load_kwargs or {})) if data_path
          else hs.example(design_name))
    page = PageContext(df, design, prefix, figures_dir, tables_dir, alpha, seed, power_target,
                       config_path=str(config_path) if config_path else None)
    say(f"# {title or f'Trial report: {design.name}'}")
    say(f"**Design `{design.name}`.** {design.description or ''}")
    say(_design_sentence(page))
    say(summary.describe_source(data_path, df))
    return page


def _design_sentence(page: PageContext) -> str:
    d, T = page.design, page.time
    arms = (f"Arms: {', '.join(d.arms)} (reference: **{d.reference}**). " if page.group
            else "One group. ")
    measures = "; ".join(page.label(m.name) + ("" if m.visits is None else
                         f" (at {T} {', '.join(str(v) for v in m.visits)} only)")
                         for m in d.measures)
    return (arms + f"Visits ({T}): {', '.join(str(t) for t in page.grid)}; baseline "
            f"{page.base}. Measures: {measures}.")
