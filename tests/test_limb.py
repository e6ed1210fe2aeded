"""limb_long: both limbs as rows, nothing lost; single-limb data give a clear error."""

import numpy as np
import pytest

import hipstats
from hipstats.errors import AnalysisError


def test_limb_long_keeps_every_value():
    df = hipstats.example("program6wk")
    long = hipstats.limb_long(df)
    assert len(long) == 2 * len(df)
    inv = long[long.limb == "involved"]["strength"].to_numpy()
    unv = long[long.limb == "uninvolved"]["strength"].to_numpy()
    np.testing.assert_array_equal(inv, df["strength"].to_numpy())
    np.testing.assert_array_equal(unv, df["strength_uninvolved"].to_numpy())
    assert "lsi" not in long and "strength_uninvolved" not in long


def test_limb_long_needs_both_limbs():
    df = hipstats.example("program6wk").assign(strength_uninvolved=np.nan)
    with pytest.raises(AnalysisError, match="one limb"):
        hipstats.limb_long(df)
