"""Metadata flattening (dotenv/INI) and the flat stores' scalar-to-text rule."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopskit.errors import FormatError
from sopskit.format.codec import go_format_float
from sopskit.format.metadata import KeyRecord, Metadata, metadata_from_plain, metadata_to_plain
from sopskit.stores.flatten import (
    escape_newlines,
    flatten_metadata,
    unescape_newlines,
    unflatten_metadata,
    value_to_text,
)

NESTED: dict[str, Any] = {
    "key_groups": [
        {"age": [{"enc": "E1", "recipient": "age1a"}], "hc_vault": [],
         "kms": [{"arn": "arn:x", "context": {"Environment": "prod", "Team": "a"}, "enc": "K"}]},
        {"age": [], "hc_vault": [], "pgp": [{"fp": "F"}]},
    ],
    "lastmodified": "2026-01-01T00:00:00Z",
    "mac": "M",
    "mac_only_encrypted": True,
    "shamir_threshold": 2,
    "version": "3.13.2",
}


def test_flatten_uses_sops_separators_in_the_given_order() -> None:
    assert flatten_metadata(NESTED) == [
        ("key_groups__list_0__map_age__list_0__map_enc", "E1"),
        ("key_groups__list_0__map_age__list_0__map_recipient", "age1a"),
        ("key_groups__list_0__map_kms__list_0__map_arn", "arn:x"),
        ("key_groups__list_0__map_kms__list_0__map_context__map_Environment", "prod"),
        ("key_groups__list_0__map_kms__list_0__map_context__map_Team", "a"),
        ("key_groups__list_0__map_kms__list_0__map_enc", "K"),
        ("key_groups__list_1__map_pgp__list_0__map_fp", "F"),
        ("lastmodified", "2026-01-01T00:00:00Z"),
        ("mac", "M"),
        ("mac_only_encrypted", "true"),
        ("shamir_threshold", "2"),
        ("version", "3.13.2"),
    ]


def test_unflatten_inverts_flatten_except_empty_containers() -> None:
    back = unflatten_metadata(flatten_metadata(NESTED))
    expected = {**NESTED, "key_groups": [
        {"age": [{"enc": "E1", "recipient": "age1a"}],
         "kms": [{"arn": "arn:x", "context": {"Environment": "prod", "Team": "a"}, "enc": "K"}]},
        {"pgp": [{"fp": "F"}]},
    ]}
    assert back == expected


def test_unflatten_accepts_any_order_and_builds_lists_densely() -> None:
    back = unflatten_metadata([("pgp__list_1__map_fp", "B"), ("version", "1"), ("pgp__list_0__map_fp", "A")])
    assert back == {"pgp": [{"fp": "A"}, {"fp": "B"}], "version": "1"}


def test_none_values_are_skipped() -> None:
    assert flatten_metadata({"kms": None, "mac": "M"}) == [("mac", "M")]


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([("pgp__list_1__map_fp", "F")], "no element 0"),
        ([("mac", "a"), ("mac", "b")], "more than once"),
        ([("pgp", "x"), ("pgp__list_0__map_fp", "F")], "clashes"),
        ([("pgp__list_0__map_fp", "F"), ("pgp__map_fp", "x")], "clashes"),
        ([("pgp__list_x__map_fp", "F")], "bad list index"),
        ([("pgp__list_01__map_fp", "F")], "bad list index"),
        ([("pgp__list_0__map_", "F")], "empty map key"),
        ([("__map_x", "F")], "empty top-level"),
        ([("shamir_threshold", "two")], "shamir_threshold"),
    ],
)
def test_malformed_flat_keys_are_format_errors(items: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(FormatError, match=message) as info:
        unflatten_metadata(items)
    assert all(value not in str(info.value) for _, value in items if len(value) > 2)


def test_typed_fields_are_decoded() -> None:
    assert unflatten_metadata([("shamir_threshold", "3"), ("mac_only_encrypted", "false")]) == {
        "shamir_threshold": 3, "mac_only_encrypted": False,
    }
    # INI files written by sops <= 3.10 stored the threshold through a float
    assert unflatten_metadata([("shamir_threshold", "2.000000")]) == {"shamir_threshold": 2}


def test_round_trip_through_the_metadata_model() -> None:
    md = Metadata(
        key_groups=[[KeyRecord("pgp", {"fp": "F", "created_at": "2026-01-01T00:00:00Z", "enc": "a\nb"})],
                    [KeyRecord("age", {"recipient": "age1x", "enc": "c\n"})]],
        lastmodified="2026-01-01T00:00:00Z", mac="M", shamir_threshold=2,
    )
    plain = metadata_to_plain(md)
    back = metadata_from_plain(unflatten_metadata(flatten_metadata(plain)))
    assert metadata_to_plain(back) == plain


def test_newline_escaping() -> None:
    assert escape_newlines("a\nb\n") == "a\\nb\\n"
    assert unescape_newlines("a\\nb\\n") == "a\nb\n"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1.0"), (0.0, "0.0"), (-0.0, "-0.0"), (25.4, "25.4"), (100000.0, "100000.0"),
        (1000000.0, "1E+06"), (1234567.0, "1.234567E+06"), (0.0001, "0.0001"), (0.00001, "1E-05"),
        (1e21, "1E+21"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
        (True, "true"), (False, "false"), (-5, "-5"), ("text", "text"), (None, "<nil>"), (b"hi", "[104 105]"),
        (dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2))),
         "2024-05-06T07:08:09+02:00"),
    ],
)
def test_value_to_text_matches_sops_val_to_string(value: Any, text: str) -> None:
    assert value_to_text(value) == text


@pytest.mark.parametrize(("value", "text"), [(1e8, "1e+08"), (123456.0, "123456"), (1.5e-300, "1.5e-300")])
def test_go_g_format(value: float, text: str) -> None:
    assert go_format_float(value, "g") == text


_names = st.text(st.characters(whitelist_categories=("Ll", "Nd")), min_size=1, max_size=6).filter(
    lambda s: "__" not in s
)
_leaves = st.text(max_size=10)
_meta = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.lists(children, min_size=1, max_size=3),
        st.dictionaries(_names, children, min_size=1, max_size=3),
    ),
    max_leaves=12,
)


@given(st.dictionaries(_names.filter(lambda s: s not in ("shamir_threshold", "mac_only_encrypted")), _meta,
                       max_size=4))
def test_unflatten_of_flatten_is_identity_for_non_empty_shapes(plain: dict[str, Any]) -> None:
    assert unflatten_metadata(flatten_metadata(plain)) == plain
