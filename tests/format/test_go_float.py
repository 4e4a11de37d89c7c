"""The one Go float formatter (``format.codec.go_format_float``) against Go's documented
``strconv.FormatFloat`` output; the stores call it instead of keeping copies of their own."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopskit.format.codec import format_go_float, go_format_float

# (value, verb, expected) as Go 1.22 prints them (strconv.FormatFloat(v, verb, -1, 64))
GO_CASES = [
    (1.0, "g", "1"), (0.1, "g", "0.1"), (123456.0, "g", "123456"), (1234567.0, "g", "1.234567e+06"),
    (0.0001, "g", "0.0001"), (0.00001, "g", "1e-05"), (-2.5e-300, "g", "-2.5e-300"), (1e21, "G", "1E+21"),
    (-0.0, "g", "-0"), (0.0, "e", "0e+00"), (1234.5, "e", "1.2345e+03"), (1e-7, "f", "0.0000001"),
    (1e21, "f", "1000000000000000000000"), (3.0, "f", "3"), (float("nan"), "g", "NaN"),
    (float("inf"), "f", "+Inf"), (float("-inf"), "e", "-Inf"),
]


@pytest.mark.parametrize(("value", "verb", "expected"), GO_CASES)
def test_matches_go(value: float, verb: str, expected: str) -> None:
    assert go_format_float(value, verb) == expected


def test_fixed_precision_and_specials() -> None:
    assert go_format_float(2.25, "f", 1) == "2.2"  # round half to even on the exact binary value
    assert go_format_float(3.0, "f", 1) == "3.0"
    assert go_format_float(float("inf"), "g", specials=(".nan", ".inf", "-.inf")) == ".inf"
    with pytest.raises(ValueError):
        go_format_float(1.0, "x")
    with pytest.raises(ValueError):
        go_format_float(1.0, "g", 2)


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite)
def test_round_trips_and_f_wrapper(value: float) -> None:
    for verb in "feEgG":
        assert float(go_format_float(value, verb)) == value
    assert format_go_float(value) == go_format_float(value, "f")

