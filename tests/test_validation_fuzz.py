"""Property-based: corrupting a valid file at random either loads or raises HipstatsDataError."""

import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hipstats
from hipstats.errors import HipstatsDataError

DESIGNS = ["program6wk", "pfps3wk"]
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_bytes(design: str) -> bytes:
    buf = io.StringIO()
    hipstats.example(design).drop(columns=["lsi"], errors="ignore").to_csv(
        buf, index=False, float_format="%.10g", lineterminator="\n")
    return buf.getvalue().encode()


VALID = {d: _valid_bytes(d) for d in DESIGNS}
CELLS = st.one_of(st.text(max_size=8), st.sampled_from(
    ["", "NA", "-1", "1e309", "nan", "inf", "1,5", "999", "post", "pre", "PFPS", "control", "0",
     "<script>", '"', "\n", "week 2", "2.0", "M", "x" * 50]))


def _load(tmp_path, data: bytes, design: str):
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    try:
        df = hipstats.load(path, design)
    except HipstatsDataError as err:
        assert err.problems and all(p.file == str(path) for p in err.problems)
        return None
    assert isinstance(df, pd.DataFrame)
    return df


@pytest.mark.parametrize("design", DESIGNS)
@SETTINGS
@given(data=st.data())
def test_corrupt_cells(tmp_path, design, data):
    lines = VALID[design].decode().split("\n")
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 2))
        cells = lines[i].split(",")
        j = data.draw(st.integers(0, len(cells) - 1))
        cells[j] = data.draw(CELLS)
        lines[i] = ",".join(cells)
    _load(tmp_path, "\n".join(lines).encode(), design)


@pytest.mark.parametrize("design", DESIGNS)
@SETTINGS
@given(data=st.data())
def test_corrupt_bytes(tmp_path, design, data):
    raw = bytearray(VALID[design])
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and raw:
            del raw[pos]
        else:
            raw = raw[:pos]
    _load(tmp_path, bytes(raw), design)


@pytest.mark.parametrize("design", DESIGNS)
@SETTINGS
@given(data=st.data())
def test_corrupt_rows(tmp_path, design, data):
    lines = VALID[design].decode().split("\n")
    op = data.draw(st.sampled_from(["duplicate", "drop", "swap", "drop_header_field"]))
    i = data.draw(st.integers(1, len(lines) - 2))
    if op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "drop":
        del lines[i]
    elif op == "swap":
        j = data.draw(st.integers(1, len(lines) - 2))
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[0] = ",".join(lines[0].split(",")[:-1])
    df = _load(tmp_path, "\n".join(lines).encode(), design)
    if op in ("drop", "swap") and df is not None:
        n = hipstats.example(design)["subject"].nunique()
        assert df["subject"].nunique() >= n - (op == "drop")  # nothing else lost
