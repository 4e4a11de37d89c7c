"""Repeated mapping keys in YAML: refused exactly where sops refuses them, kept elsewhere.

sops decodes only the first document into a Go value, and that decode is what refuses a
repeated key (yaml.v3 ``mapping key "a" already defined``): the whole document for a plaintext
(``stores/yaml/store.go`` ``LoadPlainFile``), only the top level and the ``sops`` block for an
encrypted file (``LoadEncryptedFile`` decoding into ``stores.SopsFile``, sops up to 3.12). The
real binary is compared in tests/peer/test_duplicate_keys_peer.py.
"""

from __future__ import annotations

import pytest

from sopskit.errors import ParseError
from sopskit.stores._yaml_load import load_documents
from sopskit.stores.yaml import YamlStore

META = "sops:\n    version: 3.11.0\n"


@pytest.mark.parametrize("comment", ["", "# with a comment (the ruamel path)\n"])
def test_plaintext_first_document_refuses_any_repeat(comment: str) -> None:
    for text in ("a: 1\na: 2\n", "x:\n    a: 1\n    a: 2\n", "l:\n    - a: 1\n      a: 2\n"):
        with pytest.raises(ParseError, match="mapping key already defined"):
            YamlStore().load_plain((comment + text).encode())


def test_plaintext_later_documents_keep_repeats_in_order() -> None:
    docs = YamlStore().load_plain(b"a: 1\n---\nb: 2\nb: 3\nx:\n    c: 4\n    c: 5\n")
    assert docs[1].entries[:2] == [("b", 2), ("b", 3)]
    nested = docs[1]["x"]
    assert nested.entries == [("c", 4), ("c", 5)]  # type: ignore[union-attr]


@pytest.mark.parametrize("comment", ["", "# c\n"])
def test_encrypted_file_keeps_nested_repeats(comment: str) -> None:
    text = f"{comment}x:\n    a: ENC[one]\n    a: ENC[two]\nl:\n    - k: 1\n      k: 2\n{META}"
    branches, metadata = YamlStore().load_encrypted(text.encode())
    assert branches[0]["x"].entries == [("a", "ENC[one]"), ("a", "ENC[two]")]  # type: ignore[union-attr]
    assert metadata == {"version": "3.11.0"}


@pytest.mark.parametrize("text", [
    f"a: 1\na: 2\n{META}",  # top level of document 1
    "a: 1\nsops:\n    version: 3.11.0\n    version: 3.11.0\n",  # the metadata block
    "a: 1\nsops:\n    age:\n        - recipient: r\n          recipient: r\n    version: 3.11.0\n",
])
def test_encrypted_file_refuses_top_level_and_metadata_repeats(text: str) -> None:
    with pytest.raises(ParseError, match=r"line [0-9]+, column [0-9]+: mapping key already defined"):
        YamlStore().load_encrypted(text.encode())


def test_encrypted_file_later_documents_are_not_checked() -> None:
    text = f"a: 1\n{META}---\nb: 1\nb: 2\n{META}"
    branches, _ = YamlStore().load_encrypted(text.encode())
    assert branches[1].entries == [("b", 1), ("b", 2)]


def test_both_parsers_agree() -> None:
    text = b"x:\n    a: 1\n    a: 2\n"
    assert load_documents(text, encrypted=True) == load_documents(text, encrypted=True, force_ruamel=True)
