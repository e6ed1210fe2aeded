"""Reading and writing trial files: one reader per format, layouts, units.

``hipstats.load`` and ``hipstats.validate`` (in :mod:`hipstats.validation`) are the entry
points; this package holds the parts they use:

* :mod:`hipstats.io.readers` - CSV/TSV, Excel, Parquet, SPSS readers returning raw cells;
* :mod:`hipstats.io.assemble` - column mapping, long/wide/REDCap layouts, cell parsing;
* :mod:`hipstats.io.units` - unit declarations and conversions;
* :mod:`hipstats.io.writers` - the same formats and layouts written out.
"""

from hipstats.io.readers import read_raw
from hipstats.io.writers import to_wide, write

__all__ = ["read_raw", "write", "to_wide"]
