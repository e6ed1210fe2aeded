"""From a :class:`~hipstats.io.readers.RawTable` to typed person-period rows: the loading
pipeline, one small named stage per module, the ledger (:class:`Assembled`) passed along.

====  ==========================  ==================================================
 1    read                        :mod:`hipstats.io.readers` (one reader per format)
 2    options, map columns        :mod:`hipstats.io.columns`
 3    parse cells                 :mod:`hipstats.io.cells` (blank and summary rows set aside)
 4    reshape                     :mod:`hipstats.io.reshape` (wide, dates, REDCap)
 5    units                       :mod:`hipstats.io.convert`
 6    checks                      :mod:`hipstats.validation` (ranges, duplicates, consistency)
 7    ledger                      :mod:`hipstats.io.ledger` (one row per input row)
====  ==========================  ==================================================

Every cell that cannot be used becomes a :class:`~hipstats.errors.DataProblem` naming file,
data row, column and the value as the file wrote it; nothing is dropped or coerced silently
(rows set aside are in the ledger with their reason). Column names accepted:
:mod:`hipstats.io.columns`; visit labels and dates: :mod:`hipstats.io.visits`.
"""

from __future__ import annotations

import pandas as pd

from hipstats.design import Design
from hipstats.io.cells import parse_cells
from hipstats.io.columns import accepted_names, map_columns, read_options, required_present
from hipstats.io.convert import convert, plan_units
from hipstats.io.ledger import Assembled
from hipstats.io.names import ALIASES
from hipstats.io.readers import RawTable
from hipstats.io.reshape import redcap_rows, to_long, visits_from_dates
from hipstats.io.values import MISSING_TOKENS, show_value

__all__ = ["Assembled", "assemble", "ALIASES", "MISSING_TOKENS", "accepted_names", "show_value"]


def assemble(raw: RawTable, design: Design, units: dict | None = None,
             dictionary: pd.DataFrame | None = None, lever_arm=None,
             columns: dict | None = None, analysis_units: dict | None = None,
             missing=None, visit_dates=None) -> Assembled:
    """Map, parse, reshape and convert a raw table (the stages above).

    ``lever_arm`` is a number (metres) or the name of a file column; ``missing`` a list of
    codes (``-99``, ``"n.d."``) read as missing cells in measure and covariate columns;
    ``visit_dates`` (``{"column": "visit_date", "window_days": 3}``) places rows on the grid
    by their date.
    """
    out = Assembled(frame=pd.DataFrame(), problems=list(raw.problems), notes=list(raw.notes),
                    warnings=list(raw.warnings), raw=raw)
    opts = read_options(design, out, units=units, dictionary=dictionary, lever_arm=lever_arm,
                        columns=columns, analysis_units=analysis_units, missing=missing,
                        visit_dates=visit_dates)
    if opts is None:
        return out
    cm = map_columns(raw, opts, out)
    if cm is None or not required_present(cm, design, out):
        return out
    plan = plan_units(cm, opts, out)
    cells = parse_cells(raw, cm, opts, out)
    frame = to_long(cells, cm, design, plan.numeric, out)
    if "_visit_date" in frame:
        frame = visits_from_dates(frame, out, design, opts.vdates)
    if out.layout == "redcap" and len(frame):
        keep = cells.usable
        frame = redcap_rows(frame, out, design,
                            cells.repeat[keep] if cells.repeat is not None else None,
                            cells.instance[keep] if cells.instance is not None else None)
    out.frame = convert(frame, out, design, plan, cm, opts.lever_const)
    return out
