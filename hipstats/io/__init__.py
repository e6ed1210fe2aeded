"""Reading and writing trial files: one reader per format, layouts, units.

``hipstats.load`` and ``hipstats.validate`` (in :mod:`hipstats.validation`) are the entry
points; this package holds the parts they use:

* :mod:`hipstats.io.readers` - CSV/TSV (UTF-8, UTF-16, decimal commas), Excel, Parquet,
  Feather/Arrow, SPSS, Stata, SAS readers returning raw cells;
* :mod:`hipstats.io.assemble` - the loading pipeline, calling in order
  :mod:`~hipstats.io.columns` (options, column mapping), :mod:`~hipstats.io.cells` (parse
  cells), :mod:`~hipstats.io.reshape` (wide, dates, REDCap) and :mod:`~hipstats.io.convert`
  (units), the ledger (:mod:`~hipstats.io.ledger`) passed along;
* :mod:`hipstats.io.visits` - visit labels and visit dates onto the design's grid;
* :mod:`hipstats.io.units` - unit declarations and conversions;
* :mod:`hipstats.io.writers` - the same formats and layouts written out.
"""

from hipstats.io.readers import read_raw
from hipstats.io.writers import to_wide, write

__all__ = ["read_raw", "write", "to_wide"]
