"""dotenv store: the real sops vector, sops's exact line rules, and errors."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopskit.errors import EmitError, FormatError, ParseError
from sopskit.format.codec import ValueCipher
from sopskit.format.metadata import metadata_from_plain, metadata_to_plain
from sopskit.format.tree import Comment, TreeMap
from sopskit.format.treecrypt import decrypt_branches
from sopskit.stores import get_store
from sopskit.stores.dotenv import DotenvStore

VECTOR = "dotenv/format.sops-3.13.1.pgp.env"


def _no_iv(size: int) -> bytes:
    raise AssertionError("decryption must not draw IVs")


def test_vector_list_covers_the_manifest(manifest: dict[str, Any]) -> None:
    assert [e["file"] for e in manifest["vectors"] if e["store"] == "dotenv"] == [VECTOR]


def test_vector_decrypts_with_exact_output(vectors_dir: Path, manifest: dict[str, Any]) -> None:
    entry = next(e for e in manifest["vectors"] if e["file"] == VECTOR)
    store = DotenvStore()
    branches, plain = store.load_encrypted((vectors_dir / VECTOR).read_bytes())
    metadata = metadata_from_plain(plain)
    assert metadata.records()[0].fields["fp"] == "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
    cipher = ValueCipher(bytes.fromhex(entry["data_key_hex"]), rng=_no_iv)
    mac = decrypt_branches(branches, cipher, metadata.rules)
    assert mac == entry["mac_computed"]
    assert cipher.decrypt(metadata.mac, metadata.mac_aad()) == mac
    expected = json.loads((vectors_dir / entry["expected_values"]).read_text())["items"]
    assert [(k, v) for k, v in branches[0].items()] == [(i["key"], i["value"]) for i in expected]
    output = (vectors_dir / "expected/format.sops-3.13.1.pgp.env.decrypt-output").read_bytes()
    assert store.emit_plain(branches) == output


def test_vector_reemits_byte_for_byte(vectors_dir: Path) -> None:
    data = (vectors_dir / VECTOR).read_bytes()
    store = DotenvStore()
    branches, plain = store.load_encrypted(data)
    assert plain["pgp"][0]["enc"].startswith("-----BEGIN PGP MESSAGE-----\n\n")
    assert store.emit_encrypted(branches, plain) == data
    assert store.emit_encrypted(branches, metadata_to_plain(metadata_from_plain(plain))) == data


# -- line rules --------------------------------------------------------------------------------

def test_sops_line_rules() -> None:
    data = b"#top comment\n\nA=1\n B = two \nC=x=y\nD=\nE=line1\\nline2\nF=cr\r\n# spaced\nG=caf\xc3\xa9\n"
    (branch,) = DotenvStore().load_plain(data)
    assert branch.entries == [
        (Comment("top comment"), None),
        ("A", "1"),
        (" B ", " two "),
        ("C", "x=y"),
        ("D", ""),
        ("E", "line1\nline2"),
        ("F", "cr\r"),
        (Comment(" spaced"), None),
        ("G", "café"),
    ]
    # emitting gives back the input minus the blank line
    assert DotenvStore().emit_plain([branch]) == data.replace(b"\n\n", b"\n")


def test_non_strings_are_written_with_sops_val_to_string() -> None:
    branch = TreeMap([
        ("i", 42), ("f", 1.5), ("whole", 3.0), ("big", 1e21), ("tiny", 1e-5), ("million", 1234567.0),
        ("t", True), ("n", False), ("ts", dt.datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=dt.UTC)),
        ("none", None),
    ])
    assert DotenvStore().emit_plain([branch]).decode().splitlines() == [
        "i=42", "f=1.5", "whole=3.0", "big=1E+21", "tiny=1E-05", "million=1.234567E+06",
        "t=true", "n=false", "ts=2024-01-02T03:04:05Z", "none=<nil>",
    ]


@pytest.mark.parametrize("value", [TreeMap([("a", "b")]), ["a"]])
def test_complex_values_cannot_be_written(value: Any) -> None:
    with pytest.raises(EmitError, match="cannot use complex value in dotenv file") as info:
        DotenvStore().emit_plain([TreeMap([("K", value)])])
    assert "'a'" not in str(info.value) and "'b'" not in str(info.value)


def test_emit_encrypted_appends_prefixed_flat_metadata_and_escapes_newlines() -> None:
    plain = {"age": [{"enc": "line1\nline2\n", "recipient": "age1x"}], "lastmodified": "T",
             "mac": "M", "mac_only_encrypted": True, "shamir_threshold": 2, "version": "3.13.2"}
    out = DotenvStore().emit_encrypted([TreeMap([("A", "ENC[a]")])], plain)
    assert out == (
        b"A=ENC[a]\nsops_age__list_0__map_enc=line1\\nline2\\n\nsops_age__list_0__map_recipient=age1x\n"
        b"sops_lastmodified=T\nsops_mac=M\nsops_mac_only_encrypted=true\nsops_shamir_threshold=2\n"
        b"sops_version=3.13.2\n"
    )
    branches, back = DotenvStore().load_encrypted(out)
    assert branches == [TreeMap([("A", "ENC[a]")])]
    assert back == plain


def test_emit_value_only_strings() -> None:
    assert DotenvStore().emit_value("a\nb") == b"a\nb"
    with pytest.raises(EmitError):
        DotenvStore().emit_value(5)


def test_has_sops_metadata_looks_for_the_prefix() -> None:
    assert DotenvStore().has_sops_metadata(TreeMap([("sops_mac", "x")]))
    assert not DotenvStore().has_sops_metadata(TreeMap([("sops", "x"), ("SOPS_x", "y")]))


def test_registry_passes_indent_harmlessly() -> None:
    assert get_store("dotenv", indent=4).name == "dotenv"


# -- negative cases ----------------------------------------------------------------------------

def test_line_without_equals_is_a_one_line_parse_error_without_the_line() -> None:
    with pytest.raises(ParseError, match="line 2") as info:
        DotenvStore().load_plain(b"A=1\nhunter2-secret\n")
    assert "hunter2" not in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_metadata_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="sops metadata not found"):
        DotenvStore().load_encrypted(b"A=1\n")


def test_malformed_metadata_keys_are_format_errors() -> None:
    with pytest.raises(FormatError, match="pgp__list_x"):
        DotenvStore().load_encrypted(b"sops_pgp__list_x__map_fp=F\n")


def test_repeated_metadata_key_keeps_the_last_value() -> None:
    """A dotenv file sops 3.8 encrypted twice: the first metadata became data, fresh metadata
    follows (sops <= 3.12 reads its ``sops_`` lines into a map, so the last one wins)."""
    text = (
        "A=ENC[x]\n"
        "sops_age__list_0__map_recipient=ENC[old]\nsops_lastmodified=ENC[old]\nsops_version=ENC[old]\n"
        "sops_age__list_0__map_recipient=age1new\nsops_age__list_0__map_enc=E\n"
        "sops_lastmodified=2024-06-08T15:59:46Z\nsops_mac=ENC[mac]\nsops_version=3.8.1\n"
    )
    branches, plain = DotenvStore().load_encrypted(text.encode())
    assert branches[0].entries == [("A", "ENC[x]")]
    metadata = metadata_from_plain(plain)
    assert [r.fields for r in metadata.records()] == [{"recipient": "age1new", "enc": "E"}]
    assert (metadata.lastmodified, metadata.version, metadata.mac) == ("2024-06-08T15:59:46Z", "3.8.1", "ENC[mac]")


def test_repeated_metadata_key_last_value_must_still_be_valid() -> None:
    text = "sops_lastmodified=2024-06-08T15:59:46Z\nsops_age__list_0__map_recipient=a\nsops_lastmodified=ENC[x]\n"
    _branches, plain = DotenvStore().load_encrypted(text.encode())
    with pytest.raises(FormatError, match="lastmodified is not an RFC 3339 time"):
        metadata_from_plain(plain)


# -- properties --------------------------------------------------------------------------------

_keys = st.text(st.characters(codec="utf-8", blacklist_characters="=\n"), min_size=1).filter(
    lambda k: not k.startswith("#")
)
# "\\n" would turn into a newline on load: sops cannot represent it either
_values = st.text(st.characters(codec="utf-8")).filter(lambda v: "\\n" not in v
                                                                        and not v.endswith("\\"))


@given(st.lists(st.tuples(_keys, _values), max_size=8))
def test_emit_then_load_is_identity(pairs: list[tuple[str, str]]) -> None:
    store = DotenvStore()
    branch = TreeMap(list(pairs))
    assert store.load_plain(store.emit_plain([branch])) == [branch]
