"""Binary store: the real sops vectors and exact bytes, including non-UTF-8 input."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopskit.errors import EmitError, FormatError
from sopskit.format.codec import ValueCipher
from sopskit.format.metadata import metadata_from_plain
from sopskit.format.selection import SelectionRules
from sopskit.format.tree import TreeMap, to_plain
from sopskit.format.treecrypt import decrypt_branches, encrypt_branches
from sopskit.stores.binary import BinaryStore

BINARY_VECTORS = [
    "binary/example.label-1.0.pgp.txt",
    "binary/example.sops-3.5.0.pgp.txt",
    "binary/example.sops-3.7.1.age.txt",
]


def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in manifest["vectors"] if e["file"] == name)


def _no_iv(size: int) -> bytes:
    raise AssertionError("decryption must not draw IVs")


def test_vector_list_covers_the_manifest(manifest: dict[str, Any]) -> None:
    assert sorted(e["file"] for e in manifest["vectors"] if e["store"] == "binary") == BINARY_VECTORS


@pytest.mark.parametrize("name", BINARY_VECTORS)
def test_vector_decrypts_to_the_exact_plaintext(
    name: str, vectors_dir: Path, manifest: dict[str, Any]
) -> None:
    entry = _entry(manifest, name)
    store = BinaryStore()
    branches, plain = store.load_encrypted((vectors_dir / name).read_bytes())
    metadata = metadata_from_plain(plain)
    cipher = ValueCipher(bytes.fromhex(entry["data_key_hex"]), rng=_no_iv)
    mac = decrypt_branches(branches, cipher, metadata.rules)
    assert mac == entry["mac_computed"]
    assert cipher.decrypt(metadata.mac, metadata.mac_aad()) == mac
    expected_values = json.loads((vectors_dir / entry["expected_values"]).read_text())
    assert [to_plain(b) for b in branches] == expected_values["documents"]
    assert store.emit_plain(branches) == (vectors_dir / entry["expected_plaintext_exact"]).read_bytes()


@given(st.binary(max_size=64))
def test_any_bytes_round_trip_through_load_and_emit(data: bytes) -> None:
    store = BinaryStore()
    assert store.emit_plain(store.load_plain(data)) == data


def test_invalid_utf8_survives_encryption_and_decryption() -> None:
    data = b"caf\xe9 \xff\xfe\x00 ok\n"
    store = BinaryStore()
    branches = store.load_plain(data)
    key = os.urandom(32)
    mac_in = encrypt_branches(branches, ValueCipher(key, rng=os.urandom), SelectionRules())
    encrypted = branches[0]["data"]
    assert isinstance(encrypted, str) and encrypted.startswith("ENC[AES256_GCM,")
    mac_out = decrypt_branches(branches, ValueCipher(key, rng=os.urandom), SelectionRules())
    assert mac_in == mac_out
    assert store.emit_plain(branches) == data


def test_encrypted_form_is_the_json_envelope() -> None:
    out = BinaryStore().emit_encrypted([TreeMap([("data", "ENC[x]")])], {"mac": "m", "version": "3.13.2"})
    assert out == b'{\n\t"data": "ENC[x]",\n\t"sops": {\n\t\t"mac": "m",\n\t\t"version": "3.13.2"\n\t}\n}\n'
    branches, plain = BinaryStore().load_encrypted(out)
    assert branches == [TreeMap([("data", "ENC[x]")])]
    assert plain == {"mac": "m", "version": "3.13.2"}


def test_indent_is_passed_to_the_envelope() -> None:
    out = BinaryStore(indent=2).emit_encrypted([TreeMap([("data", "")])], {"mac": ""})
    assert out == b'{\n  "data": "",\n  "sops": {\n    "mac": ""\n  }\n}\n'


def test_empty_file() -> None:
    store = BinaryStore()
    assert store.load_plain(b"") == [TreeMap([("data", "")])]
    assert store.emit_plain(store.load_plain(b"")) == b""


@pytest.mark.parametrize(
    "branches",
    [[], [TreeMap([("data", "a")]), TreeMap([("data", "b")])], [TreeMap([("other", "a")])],
     [TreeMap([("data", 5)])]],
)
def test_emit_plain_refuses_trees_without_one_string_data(branches: list[TreeMap]) -> None:
    with pytest.raises(EmitError):
        BinaryStore().emit_plain(branches)


def test_extracting_a_value_is_refused() -> None:
    with pytest.raises(EmitError, match="not structured"):
        BinaryStore().emit_value("x")


def test_missing_metadata_is_a_format_error() -> None:
    with pytest.raises(FormatError):
        BinaryStore().load_encrypted(b'{"data": "ENC[...]"}')


def test_has_sops_metadata() -> None:
    assert BinaryStore().has_sops_metadata(TreeMap([("data", ""), ("sops", TreeMap())]))
    assert not BinaryStore().has_sops_metadata(BinaryStore().load_plain(b'{"sops": 1}')[0])
