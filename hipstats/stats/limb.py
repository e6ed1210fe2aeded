"""Both limbs: reshape involved/uninvolved strength to one row per limb, for limb x time
models (Beers et al. 2008 measured both sides at every visit)."""

from __future__ import annotations

import pandas as pd

from hipstats.errors import AnalysisError
from hipstats.stats.checks import check_columns

__all__ = ["limb_long"]


def limb_long(data: pd.DataFrame, involved: str = "strength",
              uninvolved: str = "strength_uninvolved", value: str = "strength") -> pd.DataFrame:
    """One row per subject, visit and limb.

    Parameters
    ----------
    data : DataFrame
        Person-period frame with both limbs' strength.
    involved, uninvolved : str
        Columns of the involved (or injured) and uninvolved limb.
    value : str
        Name of the strength column in the output.

    Returns
    -------
    DataFrame
        The other columns of ``data`` plus ``limb`` (``"involved"``/``"uninvolved"``) and
        ``value``; rows keep missing values (models drop them row by row).

    Examples
    --------
    >>> import hipstats
    >>> from hipstats.stats.limb import limb_long
    >>> long = limb_long(hipstats.example("program6wk"))
    >>> sorted(long["limb"].unique())
    ['involved', 'uninvolved']
    """
    check_columns(data, involved=involved, uninvolved=uninvolved)
    if data[uninvolved].isna().all():
        raise AnalysisError(f"{uninvolved!r} is entirely missing: only one limb was measured")
    keep = [c for c in data.columns if c not in (involved, uninvolved, "lsi")]
    parts = []
    for limb, col in (("involved", involved), ("uninvolved", uninvolved)):
        part = data[keep].copy()
        part["limb"] = limb
        part[value] = data[col].to_numpy()
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
