"""within_between against a hand calculation (R: ave(x, subject, FUN = mean, na.rm = TRUE))."""

import numpy as np
import pandas as pd
import pytest

import hipstats
from hipstats.errors import AnalysisError


def test_hand_calculation_with_missing_values():
    d = pd.DataFrame({"subject": ["a", "a", "a", "b", "b"], "x": [1.0, 2.0, np.nan, -4.0, 10.0]})
    out = hipstats.within_between(d, "x", "subject")
    assert out["x_between"].tolist() == [1.5, 1.5, 1.5, 3.0, 3.0]
    assert out["x_within"].tolist()[:2] == [-0.5, 0.5] and np.isnan(out["x_within"].iloc[2])
    assert out["x_within"].tolist()[3:] == [-7.0, 7.0]
    assert "x_between" not in d  # a copy


def test_errors():
    d = pd.DataFrame({"subject": ["a", "b"], "x": ["1", "2"]})
    with pytest.raises(AnalysisError, match="numeric"):
        hipstats.within_between(d, "x", "subject")
    with pytest.raises(AnalysisError, match="not a column"):
        hipstats.within_between(d, "y", "subject")
