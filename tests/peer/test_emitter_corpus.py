"""Corpus- and property-driven emitter comparison: sops 3.11 vs sopskit, byte for byte.

For each tricky plaintext: sops encrypts it; ``sops decrypt`` and sopskit's decrypt must give
identical bytes. Then sopskit encrypts it; sops must decrypt that file to what sopskit gives,
and both encrypted files must have the same masked data layout. sopskit runs in-process here
(``sopskit.ops``: the same code path as the CLI minus process start-up) to keep the suite fast;
the CLI itself is compared in ``test_sops_peer.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sopskit.ops.decrypt import decrypt as kit_decrypt
from sopskit.ops.encrypt import encrypt as kit_encrypt
from tests.peer._compare import data_layout
from tests.peer._corpus import JSON_CORPUS, YAML_CORPUS
from tests.peer.conftest import Peer

#: strict xfails: differences found and deliberately left (class and reason, see docs)
KNOWN: dict[str, str] = {
    "negative-zero": "(c) sops 3.11 reads a plain `-0` as int 0 (type:int); sopskit's resolver maps it to "
                     "float -0.0 (type:float, printed -0); whether yaml.v3 v3.0.4 in sops 3.13 differs is "
                     "not verified",
}


def _kit_encrypt(peer: Peer, data: bytes, fmt: str) -> bytes:
    return kit_encrypt(data, format=fmt, age=[peer.recipient], config=False)


def _kit_decrypt(peer: Peer, data: bytes, fmt: str) -> bytes:
    return kit_decrypt(data, format=fmt, identities=[peer.keys[0].identity])


def _compare(peer: Peer, name: str, text: str, fmt: str, ext: str) -> None:
    plain = peer.write(f"{name}.{ext}", text)
    by_sops = peer.encrypt("sops", plain)
    assert _kit_decrypt(peer, by_sops.read_bytes(), fmt) == peer.decrypt("sops", by_sops)
    by_kit = peer.write(f"kit.{name}.{ext}", _kit_encrypt(peer, plain.read_bytes(), fmt))
    assert peer.decrypt("sops", by_kit) == _kit_decrypt(peer, by_kit.read_bytes(), fmt)
    assert data_layout(by_kit.read_bytes(), fmt) == data_layout(by_sops.read_bytes(), fmt)


def _cases(corpus: dict[str, str]) -> list[object]:
    return [
        pytest.param(name, text, id=name,
                     marks=[pytest.mark.xfail(strict=True, reason=KNOWN[name])] if name in KNOWN else [])
        for name, text in corpus.items()
    ]


@pytest.mark.parametrize(("name", "text"), _cases(YAML_CORPUS))
def test_yaml_corpus(peer: Peer, name: str, text: str) -> None:
    _compare(peer, name, text, "yaml", "yaml")


#: comment placement around closing blocks (yaml.v3's foot rules, see docs/yaml-store.md)
FOOT_CORPUS: dict[str, str] = {
    "foot-after-deep-map": "a:\n  b:\n    c:\n      d: 1\n    # c4\nz: 1\n",
    "foot-dedented-below-its-block": "a:\n  b:\n    c:\n      d: 1\n  # c2\nz: 1\n",
    "foot-before-a-shallower-key": "a:\n  b:\n    c:\n      d: 1\n# c0\n  y: 1\n",
    "foot-groups-by-column": "a:\n  b:\n    c:\n      d: 1\n    # c4\n  # c2\n# c0\nz: 1\n",
    "foot-groups-rising-column": "a:\n  b:\n    c:\n      d: 1\n  # c2\n    # c4\nz: 1\n",
    "foot-then-blank-line": "a:\n  b:\n    c:\n      d: 1\n    # c4\n\n  # c2\nz: 1\n",
    "blank-line-then-foot": "a:\n  b:\n    c:\n      d: \"1\"\n\n    # c4\nz: 1\n",
    "foot-after-list-in-map": "a:\n  b:\n    - 1\n    - 2\n  # c2\nz: 1\n",
    "foot-after-map-in-list": "list:\n    - a: 1\n    # foot\nnext: 1\n",
    "foot-after-flow-value": "a:\n  b:\n    c:\n      d: [1]\n    # c4\nz: 1\n",
    "foot-after-block-scalar": "a:\n  b:\n    c:\n      d: |\n        x\n    # c4\nz: 1\n",
    "head-of-next-key": "a:\n  b:\n    c:\n      d: 1\n  # c2\n  y: 1\n",
    "foot-at-stream-end": "a:\n  b:\n    c: 1\n  # c2\n",
    "split-foot-at-stream-end": "a:\n  b:\n    c: 1\n  # c2\n# c0\n",
    "foot-before-document-start": "a:\n  b:\n    c: 1\n  # c2\n---\nz: 1\n",
    "comment-under-empty-nested-value": "x:\n  a:\n  # only\nb: 1\n",
    "comments-under-empty-value": "a:\n    # only\n    # two\nb: 1\n",
    "comment-under-empty-value-at-stream-end": "x:\n  a:\n    # c\n",
    "comment-after-empty-value-at-stream-end": "a:\n# c\n",
    "sequence-foot-at-stream-end": "x:\n  list:\n    - a\n    # foot\n",
    "sequence-foot-then-blank-line": "list:\n    - a\n    # foot\n\nnext: 1\n",
    "blank-line-then-sequence-foot-at-stream-end": "list:\n    - a\n\n    # foot\n",
    "dedented-foot-after-map-item-at-stream-end": "list:\n    - k: v\n    # foot\n",
}


@pytest.mark.parametrize(("name", "text"), _cases(FOOT_CORPUS))
def test_yaml_foot_comment_corpus(peer: Peer, name: str, text: str) -> None:
    _compare(peer, name, text, "yaml", "yaml")


@pytest.mark.parametrize(("name", "text"), _cases(JSON_CORPUS))
def test_json_corpus(peer: Peer, name: str, text: str) -> None:
    _compare(peer, name, text, "json", "json")


def test_sopskit_reads_the_sops_merge_tag_it_writes(peer: Peer) -> None:
    """``!!merge <<`` as a value decodes to the string "<<" in both tools."""
    plain = peer.write("m.yaml", "a: !!merge <<\n")
    by_sops = peer.encrypt("sops", plain)
    assert peer.decrypt("sops", by_sops) == _kit_decrypt(peer, by_sops.read_bytes(), "yaml") == b"a: !!merge <<\n"


# -- property-based: random trees written as JSON (which is also YAML) -----------------------

_TRICKY = st.sampled_from(["", " ", "yes", "no", "on", "~", "null", "true", "1", "0x1F", "1e3", "-", "- x",
                           "a: b", "#", "x #y", "'", '"', "\\", "<<", "2024-01-01", "12:30", ".inf",
                           "\n", "a\nb", "a\nb\n", " lead", "trail ", "\t", "\u2028", "\ufeffx", "é", "😀"])
_TEXT = st.one_of(_TRICKY, st.text(st.characters(exclude_categories=["Cs"]), max_size=12))
_SCALARS = st.one_of(
    _TEXT,
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.none(),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=8,
)
_DOCS = st.dictionaries(_TEXT.filter(lambda k: k != "sops"), _VALUES, min_size=1, max_size=4)
_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


_NON_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ufffe\uffff]")  # also YAML 1.1 breaks


def _property(peer: Peer, doc: dict[str, object], fmt: str, ext: str) -> None:
    text = json.dumps(doc, ensure_ascii=False)
    if fmt == "yaml":  # YAML forbids raw non-printable characters: give those JSON escapes
        text = _NON_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    plain = peer.write(f"p.{ext}", text)
    by_sops = peer.encrypt("sops", plain)
    assert _kit_decrypt(peer, by_sops.read_bytes(), fmt) == peer.decrypt("sops", by_sops)
    by_kit = peer.write(f"k.{ext}", _kit_encrypt(peer, text.encode(), fmt))
    assert peer.decrypt("sops", by_kit) == _kit_decrypt(peer, by_kit.read_bytes(), fmt)


@_SETTINGS
@given(doc=_DOCS)
def test_random_yaml_documents(peer: Peer, doc: dict[str, object]) -> None:
    _property(peer, doc, "yaml", "yaml")


@_SETTINGS
@given(doc=_DOCS)
def test_random_json_documents(peer: Peer, doc: dict[str, object]) -> None:
    _property(peer, doc, "json", "json")


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64))
def test_random_binary_files(peer: Peer, data: bytes) -> None:
    plain = peer.write("p.bin", data)
    assert _kit_decrypt(peer, peer.encrypt("sops", plain).read_bytes(), "binary") == data
    by_kit = peer.write("k.bin", _kit_encrypt(peer, data, "binary"))
    assert peer.decrypt("sops", by_kit) == data


def test_peer_dir_is_isolated(peer: Peer) -> None:
    assert Path(peer.env["HOME"]).is_dir() and "SOPS_AGE_KEY_FILE" not in peer.env
