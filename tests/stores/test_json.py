"""JSON store: the real sops vectors, Go-exact output, and our own edge cases."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sopskit.errors import EmitError, FormatError, ParseError, UsageError
from sopskit.format.codec import ValueCipher
from sopskit.format.metadata import metadata_from_plain, metadata_to_plain
from sopskit.format.tree import Comment, TreeMap, Value, to_plain
from sopskit.format.treecrypt import decrypt_branches
from sopskit.stores import get_store
from sopskit.stores.json import JsonStore, marshal_float, marshal_string

JSON_VECTORS = [
    "json/all_in_one_secret.sops-3.5.0.pgp.json",
    "json/example.label-1.6.pgp.json",
    "json/example.sops-3.5.0.pgp.json",
    "json/example.sops-3.7.1.age.json",
    "json/format.sops-3.13.1.pgp.json",
    "json/per_file_static_github.sops-3.5.0.pgp.json",
]


def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in manifest["vectors"] if e["file"] == name)


def _no_iv(size: int) -> bytes:
    raise AssertionError("decryption must not draw IVs")


def _decrypt(store: JsonStore, vectors_dir: Path, entry: dict[str, Any]) -> tuple[list[TreeMap], str, str]:
    """Load and decrypt one vector; return (branches, computed MAC, MAC stored in the file)."""
    branches, plain = store.load_encrypted((vectors_dir / entry["file"]).read_bytes())
    metadata = metadata_from_plain(plain)
    cipher = ValueCipher(bytes.fromhex(entry["data_key_hex"]), rng=_no_iv)
    mac = decrypt_branches(branches, cipher, metadata.rules, mac_only_encrypted=metadata.mac_only_encrypted)
    stored = cipher.decrypt(metadata.mac, metadata.mac_aad())
    assert isinstance(stored, str)
    return branches, mac, stored


def test_vector_list_covers_the_manifest(manifest: dict[str, Any]) -> None:
    assert sorted(e["file"] for e in manifest["vectors"] if e["store"] == "json") == sorted(JSON_VECTORS)


@pytest.mark.parametrize("name", JSON_VECTORS)
def test_vector_decrypts_to_expected_values_and_mac(
    name: str, vectors_dir: Path, manifest: dict[str, Any]
) -> None:
    entry = _entry(manifest, name)
    branches, mac, stored = _decrypt(JsonStore(), vectors_dir, entry)
    expected = json.loads((vectors_dir / entry["expected_values"]).read_text())
    assert [to_plain(b) for b in branches] == expected["documents"]
    assert mac == entry["mac_computed"]
    assert stored == mac


def test_format_vector_decrypt_output_is_exact(vectors_dir: Path, manifest: dict[str, Any]) -> None:
    entry = _entry(manifest, "json/format.sops-3.13.1.pgp.json")
    branches, _, _ = _decrypt(JsonStore(), vectors_dir, entry)
    expected = (vectors_dir / "expected/format.sops-3.13.1.pgp.json.decrypt-output").read_bytes()
    assert JsonStore().emit_plain(branches) == expected


def test_format_vector_reemits_byte_for_byte(vectors_dir: Path) -> None:
    data = (vectors_dir / "json/format.sops-3.13.1.pgp.json").read_bytes()
    store = JsonStore()
    branches, plain = store.load_encrypted(data)
    assert store.emit_encrypted(branches, plain) == data
    # the same through the metadata model, as ops/ will do it
    assert store.emit_encrypted(branches, metadata_to_plain(metadata_from_plain(plain))) == data


def test_old_metadata_nulls_load(vectors_dir: Path) -> None:
    _, plain = JsonStore().load_encrypted((vectors_dir / "json/example.sops-3.5.0.pgp.json").read_bytes())
    assert plain["kms"] is None and plain["version"] == "3.5.0"
    assert len(metadata_from_plain(plain).records()) == 2


# -- our own samples ---------------------------------------------------------------------------

SAMPLE = (
    '{"name": "Zoë \\u00e9", "html": "<a href=\\"x\\">&</a>", "ls": "\\u2028\\u2029",'
    ' "ctl": "\\b\\f\\n\\r\\t\\u0001\\u007f", "empty": "", "nested": [{"a": 1}, {"b": [true, false, null]}],'
    ' "big": 9223372036854775807, "bigger": 9223372036854775808, "neg": -9223372036854775808,'
    ' "f": 1.5, "e": 1e21, "tiny": 1e-7, "small": 0.000001, "whole": 2.0, "obj": {}, "arr": []}'
)

SAMPLE_OUT = (
    '{\n'
    '\t"name": "Zoë é",\n'
    '\t"html": "\\u003ca href=\\"x\\"\\u003e\\u0026\\u003c/a\\u003e",\n'
    '\t"ls": "\\u2028\\u2029",\n'
    '\t"ctl": "\\b\\f\\n\\r\\t\\u0001\x7f",\n'
    '\t"empty": "",\n'
    '\t"nested": [\n'
    '\t\t{\n\t\t\t"a": 1\n\t\t},\n'
    '\t\t{\n\t\t\t"b": [\n\t\t\t\ttrue,\n\t\t\t\tfalse,\n\t\t\t\tnull\n\t\t\t]\n\t\t}\n'
    '\t],\n'
    '\t"big": 9223372036854775807,\n'
    '\t"bigger": 9223372036854776000,\n'  # float64, shortest digits like Go
    '\t"neg": -9223372036854775808,\n'
    '\t"f": 1.5,\n'
    '\t"e": 1e+21,\n'
    '\t"tiny": 1e-7,\n'
    '\t"small": 0.000001,\n'
    '\t"whole": 2,\n'
    '\t"obj": {},\n'
    '\t"arr": []\n'
    '}\n'
)


def test_sample_types_follow_sops_3_13_2() -> None:
    (branch,) = JsonStore().load_plain(SAMPLE.encode())
    assert type(branch["big"]) is int
    assert type(branch["neg"]) is int
    assert type(branch["bigger"]) is float  # beyond int64: float64, as Go
    assert type(branch["whole"]) is float
    assert branch["nested"] == [TreeMap([("a", 1)]), TreeMap([("b", [True, False, None])])]


def test_sample_emits_like_go() -> None:
    store = JsonStore()
    out = store.emit_plain(store.load_plain(SAMPLE.encode()))
    assert out.decode() == SAMPLE_OUT
    # stable: emitting what we read back changes nothing more
    assert store.emit_plain(store.load_plain(out)) == out


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-7, "1e-7"), (1.5e-7, "1.5e-7"),
        (1e-6, "0.000001"), (123456789.125, "123456789.125"), (-0.0, "-0"), (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"), (0.1, "0.1"), (1e-10, "1e-10"),
    ],
)
def test_floats_use_go_es6_form(value: float, text: str) -> None:
    assert marshal_float(value) == text


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_cannot_be_written(bad: float) -> None:
    with pytest.raises(EmitError):
        marshal_float(bad)


def test_invalid_utf8_and_lone_surrogates_become_replacement_chars() -> None:
    (branch,) = JsonStore().load_plain(b'{"a": "x\xffy", "b": "\\ud800z"}')
    assert branch["a"] == "x\ufffdy"
    assert branch["b"] == "\ufffdz"
    assert marshal_string("x\udcffy") == '"x\\ufffdy"'


def test_duplicate_keys_are_kept_in_order() -> None:
    (branch,) = JsonStore().load_plain(b'{"a": 1, "b": 2, "a": 3}')
    assert branch.entries == [("a", 1), ("b", 2), ("a", 3)]
    assert JsonStore(indent=0).emit_plain([branch]) == b'{\n"a": 1,\n"b": 2,\n"a": 3\n}\n'


@pytest.mark.parametrize(("indent", "expected"), [(-1, '{\n\t"a": [\n\t\t1\n\t]\n}\n'),
                                                   (2, '{\n  "a": [\n    1\n  ]\n}\n'),
                                                   (0, '{\n"a": [\n1\n]\n}\n')])
def test_indent_setting(indent: int, expected: str) -> None:
    assert JsonStore(indent=indent).emit_plain([TreeMap([("a", [1])])]).decode() == expected


def test_indent_below_minus_one_is_refused() -> None:
    with pytest.raises(UsageError):
        JsonStore(indent=-2)


def test_registry_builds_the_store_with_indent() -> None:
    store = get_store("json", indent=4)
    assert store.name == "json"
    assert store.emit_plain([TreeMap([("a", 1)])]) == b'{\n    "a": 1\n}\n'


def test_comments_are_dropped() -> None:
    branch = TreeMap([
        (Comment(" hi"), None), ("a", [Comment(" x"), 1]), ("b", TreeMap([(Comment("c"), None)])),
    ])
    assert JsonStore().emit_plain([branch]) == b'{\n\t"a": [\n\t\t1\n\t],\n\t"b": {}\n}\n'


def test_emit_value_has_no_trailing_newline() -> None:
    store = JsonStore()
    assert store.emit_value("a<b") == b'"a\\u003cb"'
    assert store.emit_value(TreeMap([("k", 1.0)])) == b'{\n\t"k": 1\n}'


def test_metadata_is_written_after_the_data() -> None:
    metadata = {"lastmodified": "t", "pgp": [{"fp": "F"}]}
    out = JsonStore(indent=1).emit_encrypted([TreeMap([("a", "x")])], metadata)
    assert out == (
        b'{\n "a": "x",\n "sops": {\n  "lastmodified": "t",\n'
        b'  "pgp": [\n   {\n    "fp": "F"\n   }\n  ]\n }\n}\n'
    )
    assert JsonStore().has_sops_metadata(JsonStore().load_plain(out)[0])


# -- negative cases ----------------------------------------------------------------------------

SECRET = "hunter2-secret-value"


@pytest.mark.parametrize(
    "data",
    [
        f'{{"a": "{SECRET}",}}'.encode(),
        f'{{"a": "{SECRET}"'.encode(),
        f'{{"a": {SECRET}}}'.encode(),
        b"",
        b'{"a": NaN}',
        b'{"a": 1e400}',
    ],
)
def test_broken_json_is_a_one_line_parse_error_without_values(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        JsonStore().load_plain(data)
    message = str(info.value)
    assert "\n" not in message
    assert SECRET not in message


def test_parse_error_names_the_position() -> None:
    with pytest.raises(ParseError, match="line 2 column"):
        JsonStore().load_plain(b'{"a": 1,\n  ]}')


@pytest.mark.parametrize("data", [f'["{SECRET}"]'.encode(), b'"text"', b"42"])
def test_top_level_must_be_an_object(data: bytes) -> None:
    with pytest.raises(ParseError, match="top level is an object") as info:
        JsonStore().load_plain(data)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("data", [b'{"a": 1}', b'{"a": 1, "sops": null}'])
def test_missing_metadata_is_a_format_error(data: bytes) -> None:
    with pytest.raises(FormatError, match="sops metadata not found"):
        JsonStore().load_encrypted(data)


def test_encrypted_file_must_not_have_trailing_data() -> None:
    with pytest.raises(ParseError):
        JsonStore().load_encrypted(b'{"sops": {"mac": ""}} {}')
    # plaintext: sops's token decoder stops after the object
    assert JsonStore().load_plain(b'{"a": 1} trailing')[0]["a"] == 1


# -- properties --------------------------------------------------------------------------------

_keys = st.text(max_size=8)
_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
)


def _normalise(value: Value) -> Value:
    """What a value reads back as: integral floats print without a fraction and become ints."""
    if isinstance(value, float):
        text = marshal_float(value)
        if "e" not in text and "." not in text and -(2**63) <= int(text) < 2**63:
            return int(text)  # e.g. 6.638683109794485e16 prints as 66386831097944850
        return value
    if isinstance(value, TreeMap):
        return TreeMap([(k, _normalise(v)) for k, v in value.entries])
    if isinstance(value, list):
        return [_normalise(v) for v in value]
    return value


_trees = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(_keys, children), max_size=4).map(lambda kv: TreeMap(list(kv))),
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_keys, _trees), max_size=5), st.sampled_from([-1, 0, 2]))
def test_emit_then_load_is_identity(entries: list[tuple[str, Value]], indent: int) -> None:
    store = JsonStore(indent=indent)
    branch = TreeMap(list(entries))
    out = store.emit_plain([branch])
    assert store.load_plain(out) == [_normalise(branch)]
    # and Python's own JSON reader agrees the output is valid JSON
    json.loads(out)
