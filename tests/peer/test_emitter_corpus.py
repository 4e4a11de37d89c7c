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
_COMMENT_ATTACH = ("(a) unfixed: sopskit's YAML loader attaches comments differently from yaml.v3 when a "
                   "comment follows a nested block at a lower indentation or is the only content of a "
                   "mapping value; the tree (and so comment AADs and placement) differs")
KNOWN: dict[str, str] = {
    "comments-everywhere": _COMMENT_ATTACH,
    "comment-only-map-value": _COMMENT_ATTACH,
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
