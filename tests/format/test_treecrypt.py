"""The encrypt/decrypt walk: selection rules, AAD, MAC and comment handling."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sopskit.errors import DecryptionError
from sopskit.format.codec import ValueCipher, is_encrypted_value, parse_enc
from sopskit.format.selection import SelectionRules
from sopskit.format.tree import Comment, TreeMap, deep_copy
from sopskit.format.treecrypt import MAC_ONLY_ENCRYPTED_PREFIX, decrypt_branches, encrypt_branches

KEY = bytes(range(32))


def cipher() -> ValueCipher:
    return ValueCipher(KEY, rng=os.urandom)


def sample() -> TreeMap:
    return TreeMap([
        (Comment(" top"), None),
        ("name", "alice"),
        ("port", 5432),
        ("ratio", 0.5),
        ("on", True),
        ("nothing", None),
        ("list", [1, Comment(" in list"), "two"]),
        ("nested_unencrypted", TreeMap([("deep", TreeMap([("x", "clear")]))])),
        ("db", TreeMap([(Comment(" inner"), None), ("password", "s3cret")])),
    ])


def test_default_rule_encrypts_all_but_unencrypted_suffix_subtrees() -> None:
    tree = sample()
    encrypt_branches([tree], cipher(), SelectionRules())
    assert is_encrypted_value(tree["name"])
    assert is_encrypted_value(tree["port"]) and parse_enc(tree["port"])[3] == "int"  # type: ignore[arg-type]
    assert parse_enc(tree["ratio"])[3] == "float"  # type: ignore[arg-type]
    assert parse_enc(tree["on"])[3] == "bool"  # type: ignore[arg-type]
    assert tree["nothing"] is None
    assert tree["nested_unencrypted"] == sample()["nested_unencrypted"]
    # comments in mappings become #ENC[...] comment entries, in lists plain ENC strings
    assert isinstance(tree.entries[0][0], Comment) and is_encrypted_value(tree.entries[0][0].text)
    lst = tree["list"]
    assert isinstance(lst, list) and isinstance(lst[1], str) and parse_enc(lst[1])[3] == "comment"


def test_round_trip_restores_tree_and_mac_agrees() -> None:
    tree = sample()
    mac_enc = encrypt_branches([tree], cipher(), SelectionRules())
    mac_dec = decrypt_branches([tree], cipher(), SelectionRules())
    assert mac_enc == mac_dec
    assert tree == sample()


def test_mac_is_sha512_of_plain_values_in_order_without_comments_or_nulls() -> None:
    tree = sample()
    mac = encrypt_branches([tree], cipher(), SelectionRules())
    expected = hashlib.sha512(b"alice" b"5432" b"0.5" b"True" b"1" b"two" b"clear" b"s3cret").hexdigest().upper()
    assert mac == expected


def test_mac_only_encrypted_skips_clear_values_and_has_prefix() -> None:
    tree = sample()
    mac = encrypt_branches([tree], cipher(), SelectionRules(), mac_only_encrypted=True)
    h = hashlib.sha512(MAC_ONLY_ENCRYPTED_PREFIX)
    h.update(b"alice" b"5432" b"0.5" b"True" b"1" b"two" b"s3cret")
    assert mac == h.hexdigest().upper()
    assert hashlib.sha256(b"sops").digest() == MAC_ONLY_ENCRYPTED_PREFIX


def test_aad_binds_values_to_their_key_path() -> None:
    tree = TreeMap([("a", "one"), ("b", "two")])
    encrypt_branches([tree], cipher(), SelectionRules())
    swapped = TreeMap([("a", tree["b"]), ("b", tree["a"])])
    with pytest.raises(DecryptionError) as info:
        decrypt_branches([swapped], cipher(), SelectionRules())
    assert "one" not in str(info.value) and "two" not in str(info.value)
    assert '"a"' in str(info.value)


def test_list_elements_share_the_parent_path() -> None:
    tree = TreeMap([("xs", ["p", ["q"]])])
    c = cipher()
    encrypt_branches([tree], c, SelectionRules())
    xs = tree["xs"]
    assert isinstance(xs, list)
    assert c.decrypt(xs[0], b"xs:") == "p"
    assert c.decrypt(xs[1][0], b"xs:") == "q"


def test_top_level_comment_uses_colon_aad() -> None:
    tree = TreeMap([(Comment("hello"), None), ("k", "v")])
    c = cipher()
    encrypt_branches([tree], c, SelectionRules())
    key = tree.entries[0][0]
    assert isinstance(key, Comment) and c.decrypt(key.text, b":") == Comment("hello")


@pytest.mark.parametrize(
    ("rules", "encrypted"),
    [
        (SelectionRules("encrypted_regex", "^(data|stringData)$"), {"data", "stringData"}),
        (SelectionRules("unencrypted_regex", "^(kind|metadata)$"), {"data", "stringData", "extra"}),
        (SelectionRules("encrypted_suffix", "Data"), {"stringData"}),
        (SelectionRules("unencrypted_suffix", "Data"), {"data", "kind", "metadata", "extra"}),
    ],
)
def test_path_based_rules(rules: SelectionRules, encrypted: set[str]) -> None:
    tree = TreeMap([
        ("kind", "Secret"),
        ("metadata", TreeMap([("name", "x")])),
        ("data", TreeMap([("a", "b")])),
        ("stringData", TreeMap([("c", "d")])),
        ("extra", "e"),
    ])
    encrypt_branches([tree], cipher(), rules)
    got = set()
    for key, value in tree.items():
        leaf = value["name"] if key == "metadata" else value["a"] if key == "data" else (
            value["c"] if key == "stringData" else value)  # type: ignore[index]
        if is_encrypted_value(leaf):
            got.add(key)
    assert got == encrypted


def test_encrypted_comment_regex_semantics() -> None:
    """The matching comment stays clear; what follows it (comments too) is encrypted;
    the active comments are cleared after each non-comment item."""
    tree = TreeMap([
        ("plain", "p"),
        (Comment(" sops:enc"), None),
        (Comment(" after"), None),
        ("secret", ["a", "b"]),
        ("later", "l"),
    ])
    encrypt_branches([tree], cipher(), SelectionRules("encrypted_comment_regex", "sops:enc"))
    assert tree["plain"] == "p"
    first, second = tree.entries[1][0], tree.entries[2][0]
    assert isinstance(first, Comment) and first.text == " sops:enc"
    assert isinstance(second, Comment) and is_encrypted_value(second.text)
    assert all(is_encrypted_value(v) for v in tree["secret"])  # type: ignore[union-attr]
    assert tree["later"] == "l"


def test_unencrypted_comment_regex() -> None:
    tree = TreeMap([(Comment(" sops:clear"), None), ("a", "x"), ("b", "y")])
    encrypt_branches([tree], cipher(), SelectionRules("unencrypted_comment_regex", "sops:clear"))
    assert tree["a"] == "x" and is_encrypted_value(tree["b"])


def test_plaintext_comment_in_old_files_is_kept_on_decrypt() -> None:
    enc_value = ValueCipher(KEY, rng=os.urandom).encrypt("v", b"k:")
    tree = TreeMap([(Comment(" not encrypted"), None), ("k", enc_value)])
    decrypt_branches([tree], cipher(), SelectionRules())
    assert tree.entries[0][0] == Comment(" not encrypted") and tree["k"] == "v"


def test_plain_value_where_encryption_expected_is_an_error() -> None:
    with pytest.raises(DecryptionError) as info:
        decrypt_branches([TreeMap([("k", 12345)])], cipher(), SelectionRules())
    assert "12345" not in str(info.value)


def test_multi_document_single_mac() -> None:
    docs = [TreeMap([("a", "1")]), TreeMap([("b", "2")])]
    mac = encrypt_branches(docs, cipher(), SelectionRules())
    assert mac == hashlib.sha512(b"12").hexdigest().upper()


leaf = st.one_of(st.text(), st.integers(-(2**63), 2**63 - 1), st.booleans(),
                 st.floats(allow_nan=False, allow_infinity=False), st.none())
keys = st.text(min_size=1, max_size=8)
trees = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(keys, children), max_size=4, unique_by=lambda kv: kv[0]).map(TreeMap),
    ),
    max_leaves=25,
)


@given(st.lists(st.tuples(keys, trees), max_size=5, unique_by=lambda kv: kv[0]).map(TreeMap))
def test_property_encrypt_then_decrypt_is_identity(tree: TreeMap) -> None:
    original = deep_copy(tree)
    c = ValueCipher(KEY, rng=os.urandom)
    mac1 = encrypt_branches([tree], c, SelectionRules())
    mac2 = decrypt_branches([tree], ValueCipher(KEY, rng=os.urandom), SelectionRules())
    assert mac1 == mac2
    assert tree == original


@given(st.lists(st.tuples(keys, trees), max_size=5, unique_by=lambda kv: kv[0]).map(TreeMap))
def test_property_reencrypt_unchanged_is_stable(tree: TreeMap) -> None:
    """After one edit cycle every ENC string is a fixed point. (The first cycle may merge
    the IVs of equal values at the same path: sops's stash is last-decryption-wins.)"""
    def cycle() -> None:
        c = ValueCipher(KEY, rng=os.urandom)
        decrypt_branches([tree], c, SelectionRules())
        encrypt_branches([tree], c, SelectionRules())

    encrypt_branches([tree], ValueCipher(KEY, rng=os.urandom), SelectionRules())
    cycle()
    first = deep_copy(tree)
    cycle()
    assert tree == first


def test_reencrypt_keeps_each_distinct_value_identical() -> None:
    tree = TreeMap([("a", "x"), ("b", TreeMap([("c", 1), ("d", [True, "y"])]))])
    encrypt_branches([tree], ValueCipher(KEY, rng=os.urandom), SelectionRules())
    before = deep_copy(tree)
    c = ValueCipher(KEY, rng=os.urandom)
    decrypt_branches([tree], c, SelectionRules())
    tree["a"] = "changed"
    encrypt_branches([tree], c, SelectionRules())
    assert tree["b"] == before["b"]
    assert tree["a"] != before["a"]
