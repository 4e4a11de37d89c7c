"""The YAML store against the real sops vectors: load, decrypt, compare, MAC, re-emit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sopskit.format.codec import ValueCipher
from sopskit.format.metadata import metadata_from_plain
from sopskit.format.tree import Comment, TreeMap, Value, to_plain
from sopskit.format.treecrypt import decrypt_branches
from sopskit.stores._yaml_load import load_documents
from sopskit.stores.yaml import YamlStore
from tests.conftest import VECTORS

YAML_VECTORS = sorted(p.name for p in (VECTORS / "yaml").glob("*")) if (VECTORS / "yaml").exists() else []


def _no_rng(n: int) -> bytes:  # decryption never draws IVs
    raise AssertionError("no randomness needed to decrypt")


def _comments(value: Value, path: list[str], out: list[tuple[str, str]]) -> None:
    aad = "".join(k + ":" for k in path) if path else ":"
    if isinstance(value, TreeMap):
        for k, v in value.entries:
            if isinstance(k, Comment):
                out.append((aad, k.text))
            else:
                _comments(v, [*path, k], out)
    elif isinstance(value, list):
        for v in value:
            if isinstance(v, Comment):
                out.append((aad, v.text))
            else:
                _comments(v, path, out)


def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(v for v in manifest["vectors"] if v["file"] == f"yaml/{name}")


@pytest.mark.parametrize("name", YAML_VECTORS or ["<vectors missing>"])
def test_vector_decrypts_to_expected(name: str, vectors_dir: Path, manifest: dict[str, Any]) -> None:
    entry = _entry(manifest, name)
    store = YamlStore()
    branches, plain_md = store.load_encrypted((vectors_dir / "yaml" / name).read_bytes())
    md = metadata_from_plain(plain_md)
    cipher = ValueCipher(bytes.fromhex(entry["data_key_hex"]), rng=_no_rng)
    mac = decrypt_branches(branches, cipher, md.rules, mac_only_encrypted=md.mac_only_encrypted)
    expected = json.loads((vectors_dir / entry["expected_values"]).read_text())
    assert [to_plain(b) for b in branches] == expected["documents"]
    found: list[tuple[str, str]] = []
    for b in branches:
        _comments(b, [], found)
    wanted = expected.get("comments", [])
    assert [t for _, t in found] == [c["text"] for c in wanted]
    # plain-text comments (old files) carry no AAD; encrypted ones name the path they sit at
    assert [a for (a, _), c in zip(found, wanted, strict=True) if c["aad"] is not None] == [
        c["aad"] for c in wanted if c["aad"] is not None
    ]
    if entry.get("mac_computed"):
        assert mac == entry["mac_computed"]


@pytest.mark.parametrize("name", YAML_VECTORS or ["<vectors missing>"])
def test_fast_and_ruamel_paths_agree_on_vectors(name: str, vectors_dir: Path) -> None:
    data = (vectors_dir / "yaml" / name).read_bytes()
    without_comments = b"\n".join(
        line for line in data.split(b"\n") if not line.lstrip().startswith(b"#")
    )
    assert b"#" not in without_comments
    assert load_documents(without_comments) == load_documents(without_comments, force_ruamel=True)


def test_decrypt_output_is_byte_exact(vectors_dir: Path, manifest: dict[str, Any]) -> None:
    name = "format.sops-3.13.1.pgp.yaml"
    entry = _entry(manifest, name)
    store = YamlStore()
    branches, plain_md = store.load_encrypted((vectors_dir / "yaml" / name).read_bytes())
    md = metadata_from_plain(plain_md)
    decrypt_branches(branches, ValueCipher(bytes.fromhex(entry["data_key_hex"]), rng=_no_rng), md.rules)
    expected = (vectors_dir / "expected" / f"{name}.decrypt-output").read_bytes()
    assert store.emit_plain(branches) == expected


@pytest.mark.parametrize(
    "name", ["format.sops-3.13.1.pgp.yaml", "example.sops-3.10.2.pgp.yaml", "example.sops-3.7.1.age.yaml"]
)
def test_reemitting_yaml_v3_files_is_byte_identical(name: str, vectors_dir: Path) -> None:
    data = (vectors_dir / "yaml" / name).read_bytes()
    store = YamlStore()
    branches, metadata = store.load_encrypted(data)
    assert store.emit_encrypted(branches, metadata) == data


def test_metadata_is_plain_and_ordered(vectors_dir: Path) -> None:
    data = (vectors_dir / "yaml" / "example.sops-3.10.2.pgp.yaml").read_bytes()
    _, md = YamlStore().load_encrypted(data)
    assert list(md) == ["lastmodified", "mac", "pgp", "unencrypted_suffix", "version"]
    enc = md["pgp"][0]["enc"]
    assert enc.startswith("-----BEGIN PGP MESSAGE-----\n\n") and enc.endswith("-----END PGP MESSAGE-----")
    assert md["version"] == "3.10.2"
