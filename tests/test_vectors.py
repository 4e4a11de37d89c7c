"""One generic runner over every real sops vector in ../shared/vectors/sops.

For each file in manifest.json: the data key recovered through the real master keys (age
identities from keys.txt, PGP through gpg) equals the manifest's ``data_key_hex``; the
decrypted values equal ``expected/*.decrypted.json``; the expected failures (a MAC that does
not match, a missing MAC) fail with sops's exit code 51 and succeed with ``ignore_mac``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sopskit.errors import IntegrityError
from sopskit.format.tree import Comment, TreeMap, to_plain
from sopskit.keys.base import KeyContext
from sopskit.ops.document import open_document, read_encrypted, recover_key
from sopskit.stores import get_store
from tests.conftest import VECTORS


def _entries() -> list[dict[str, Any]]:
    manifest = VECTORS / "manifest.json"
    if not manifest.exists():
        return [{"file": "<vectors missing>"}]
    return list(json.loads(manifest.read_text())["vectors"])


ENTRIES = _entries()


def _store_of(entry: dict[str, Any]) -> str:
    return str(entry["store"])


def _items_of(branch: TreeMap, store: str) -> list[dict[str, str]]:
    """Flatten a dotenv/INI tree into the manifest's ``items`` shape (values only)."""
    out = []
    if store == "dotenv":
        for key, value in branch.items():
            out.append({"key": key, "value": value})
        return out  # type: ignore[return-value]
    for section, body in branch.items():
        assert isinstance(body, TreeMap)
        for key, value in body.items():
            out.append({"section": section, "key": key, "value": value})
    return out  # type: ignore[return-value]


def _open(entry: dict[str, Any], vectors_dir: Path, *, ignore_mac: bool = False):  # type: ignore[no-untyped-def]
    data = (vectors_dir / entry["file"]).read_bytes()
    branches, metadata = read_encrypted(data, get_store(_store_of(entry)))
    return open_document(branches, metadata, context=KeyContext(), ignore_mac=ignore_mac)


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["file"] for e in ENTRIES])
def test_vector(entry: dict[str, Any], vectors_dir: Path, key_env: dict[str, str]) -> None:
    data = (vectors_dir / entry["file"]).read_bytes()
    store = _store_of(entry)
    _, metadata = read_encrypted(data, get_store(store))
    assert recover_key(metadata, context=KeyContext()).hex() == entry["data_key_hex"]

    if entry["mac"] != "ok":
        with pytest.raises(IntegrityError) as info:
            _open(entry, vectors_dir)
        assert info.value.exit_code == 51
        opened = _open(entry, vectors_dir, ignore_mac=True)
    else:
        opened = _open(entry, vectors_dir)

    expected = json.loads((vectors_dir / entry["expected_values"]).read_text())
    if "documents" in expected:
        got = [to_plain(b) for b in opened.branches]
        assert got == expected["documents"]
    else:
        want = [{k: v for k, v in item.items() if k in ("section", "key", "value")}
                for item in expected["items"] if "key" in item]
        assert _items_of(opened.branches[0], store) == want
    for comment in expected.get("comments", []):
        text = comment.get("text")
        if text is None:
            continue
        found = _all_comments(opened.branches)
        assert text in found, f"comment {text!r} missing after decryption"


def _all_comments(branches: list[TreeMap]) -> set[str]:
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, TreeMap):
            for key, child in value.entries:
                if isinstance(key, Comment):
                    found.add(key.text)
                walk(child)
        elif isinstance(value, list):
            for child in value:
                if isinstance(child, Comment):
                    found.add(child.text)
                walk(child)

    for b in branches:
        walk(b)
    return found
