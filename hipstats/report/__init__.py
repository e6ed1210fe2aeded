"""Render the notebooks in ``notebooks/`` into a reproducible HTML report.

* :mod:`hipstats.report.outputs` - ``save_figure``/``save_table`` used inside notebooks;
* :mod:`hipstats.report.execute` - parameter injection and headless execution (nbclient);
* :mod:`hipstats.report.build` - validation first, cache, HTML, manifest, atomic swap, check.
"""

from hipstats.report.outputs import save_figure, save_table

__all__ = ["save_figure", "save_table"]
