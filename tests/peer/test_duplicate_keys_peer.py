"""Repeated YAML mapping keys, sops 3.11 (real binary) vs sopskit.

Older sops (before 3.10.0 added the plaintext check) encrypted a repeated key like any other; such
files still open in sops up to 3.12 when the repeat is below the top level, and repeats in any
document after the first are never checked (see tests/stores/test_yaml_duplicate_keys.py for
the sops source). The fixtures are written by the binary itself: sops 3.11 accepts a repeat in
a second document, whose keys, values and MAC are those of a one-document file once the empty
first document is dropped (AADs are key paths; the empty document adds nothing to the MAC).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.peer.conftest import Peer

NESTED = "x:\n    a: 1\n    # between\n    a: 2\nl:\n    - k: one\n      k: two\n"
TOP_LEVEL = "b: 3\nb: 4\n"


def _sops_file(peer: Peer, body: str, name: str, *, keep_first: bool = False) -> Path:
    """A file sops wrote with ``body`` as its only document (or its second, ``keep_first``)."""
    plain = peer.write(f"{name}.plain.yaml", f"keep: {{}}\n---\n{body}")
    written = peer.encrypt("sops", plain).read_text()
    return peer.write(f"{name}.yaml", written if keep_first else written.split("\n---\n", 1)[1])


@pytest.mark.parametrize("keep_first", [False, True], ids=["document-1", "document-2"])
def test_nested_repeats_open_like_sops(peer: Peer, keep_first: bool) -> None:
    path = _sops_file(peer, NESTED, "nested", keep_first=keep_first)
    out = peer.decrypt("sops", path)
    assert b"    a: 1\n    # between\n    a: 2\n" in out
    assert peer.decrypt("kit", path) == out
    assert peer.ok("kit", "filestatus", path) == peer.ok("sops", "filestatus", path)
    if not keep_first:  # --extract reads document 1; the first of the repeated keys wins
        extracted = peer.ok("sops", "decrypt", "--extract", '["x"]["a"]', path)
        assert peer.ok("kit", "decrypt", "--extract", '["x"]["a"]', path) == extracted == b"1\n"


def test_sopskit_edits_keep_the_repeats(peer: Peer) -> None:
    path = _sops_file(peer, NESTED, "nested")
    peer.ok("kit", "set", path, '["l"]', '"new"')
    assert peer.decrypt("sops", path) == peer.decrypt("kit", path)
    assert peer.decrypt("sops", path).startswith(b"x:\n    a: 1\n    # between\n    a: 2\n")


def test_repeats_in_a_later_document_open_like_sops(peer: Peer) -> None:
    path = _sops_file(peer, TOP_LEVEL, "later", keep_first=True)
    assert peer.decrypt("kit", path) == peer.decrypt("sops", path)


def test_top_level_repeat_of_document_1_is_refused_by_both(peer: Peer) -> None:
    path = _sops_file(peer, TOP_LEVEL, "top")
    for args in (("decrypt", path), ("filestatus", path)):
        codes = {tool: peer.run(tool, *args).returncode for tool in ("sops", "kit")}
        # sops: 1 (any load error of an encrypted file); sopskit: 2, its YAML parse error
        assert codes == {"sops": 1, "kit": 2}, args


def test_plaintext_repeats_are_checked_in_document_1_only(peer: Peer) -> None:
    for text, ok in ((NESTED, False), (TOP_LEVEL, False), ("a: 1\n---\n" + NESTED, True)):
        plain = peer.write("p.yaml", text)
        codes = {tool: peer.run(tool, "encrypt", "--age", peer.recipient, plain).returncode
                 for tool in ("sops", "kit")}
        assert codes == ({"sops": 0, "kit": 0} if ok else {"sops": 2, "kit": 2}), text
