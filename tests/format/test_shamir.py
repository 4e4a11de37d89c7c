from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopskit.format.shamir import ShamirError, combine, gf_div, gf_mul, split


def test_field_arithmetic_matches_sops_unit_tests() -> None:
    # shamir/shamir_test.go: mult(3, 7) = 9, div(6, 3) = 2, div(3, 3) = 1
    assert gf_mul(3, 7) == 9
    assert gf_div(6, 3) == 2
    assert gf_div(3, 3) == 1
    # a slow, independent carry-less multiplication modulo the AES polynomial
    def slow(a: int, b: int) -> int:
        r = 0
        while b:
            if b & 1:
                r ^= a
            a <<= 1
            if a & 0x100:
                a ^= 0x11B
            b >>= 1
        return r
    for a, b in itertools.product(range(0, 256, 7), range(0, 256, 5)):
        assert gf_mul(a, b) == slow(a, b)


def test_share_layout_is_y_values_then_x() -> None:
    secret = os.urandom(32)
    shares = split(secret, 3, 2, rng=os.urandom)
    assert [len(s) for s in shares] == [33, 33, 33]
    assert [s[-1] for s in shares] == [1, 2, 3]


@given(st.binary(min_size=1, max_size=40), st.integers(2, 6), st.data())
def test_any_threshold_subset_recovers(secret: bytes, parts: int, data: st.DataObject) -> None:
    threshold = data.draw(st.integers(2, parts))
    shares = split(secret, parts, threshold, rng=os.urandom)
    subset = data.draw(st.permutations(shares)).__getitem__(slice(0, threshold))
    assert combine(subset) == secret


def test_below_threshold_does_not_recover() -> None:
    secret = os.urandom(32)
    shares = split(secret, 3, 3, rng=os.urandom)
    assert combine(shares[:2]) != secret


@pytest.mark.parametrize(("parts", "threshold"), [(1, 2), (3, 1), (256, 2), (2, 3)])
def test_invalid_parameters(parts: int, threshold: int) -> None:
    with pytest.raises(ShamirError):
        split(b"x", parts, threshold, rng=os.urandom)
