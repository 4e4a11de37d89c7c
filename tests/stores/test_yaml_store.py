"""YamlStore on self-written plaintext: types, quoting, layout, comments, errors, properties."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sopskit.errors import FormatError, ParseError, SopsError, UsageError
from sopskit.format.tree import Comment, TreeMap, Value
from sopskit.stores._yaml_load import load_documents
from sopskit.stores.yaml import YamlStore

STORE = YamlStore()


def _one(text: str) -> TreeMap:
    (branch,) = STORE.load_plain(text.encode())
    return branch


# -- scalar resolution (yaml.v3) -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True), ("False", False), ("TRUE", True), ("yes", "yes"), ("off", "off"),
        ("~", None), ("null", None), ("", None), ("0x1F", 31), ("0o17", 15), ("0b101", 5),
        ("0755", 493), ("1_000", 1000), ("-12", -12), ("1.5", 1.5), ("1e3", 1000.0),
        (".5", 0.5), ("08", 8.0), ("'123'", "123"), ('"true"', "true"), ("1:20", "1:20"),
        ("abc # x", "abc"),
    ],
)
def test_scalars_resolve_like_yaml_v3(text: str, expected: Value) -> None:
    value = _one(f"k: {text}\n")["k"]
    assert value == expected and type(value) is type(expected)


def test_special_floats_and_timestamps() -> None:
    b = _one("a: .inf\nb: -.Inf\nc: .nan\nd: 2024-01-02\ne: 2024-01-02T03:04:05.5+02:00\n")
    assert b["a"] == math.inf and b["b"] == -math.inf and math.isnan(b["c"])  # type: ignore[arg-type]
    assert b["d"] == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert b["e"] == dt.datetime(2024, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone(dt.timedelta(hours=2)))


def test_aliases_are_copied() -> None:
    b = _one("base: &b\n    x: 1\ncopy: *b\n")
    assert b["copy"] == b["base"] and b["copy"] is not b["base"]


# -- emitting layout and quoting -------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"), ("true", '"true"'), ("yes", '"yes"'), ("y", '"y"'), ("123", '"123"'),
        ("1:20", '"1:20"'), ("", '""'), ("null", '"null"'), ("a: b", "'a: b'"), ("#x", "'#x'"),
        (" lead", "' lead'"), ("it's", "it's"), ("- x", "'- x'"), ("tab\there", '"tab\\there"'),
        ("caf\u00e9", "caf\u00e9"), ("\U0001F600", '"\\U0001F600"'), ("a, [b]", "a, [b]"),
        ("ENC[AES256_GCM,data:x==,iv:y=,tag:z=,type:str]", "ENC[AES256_GCM,data:x==,iv:y=,tag:z=,type:str]"),
        (42, "42"), (1.5, "1.5"), (42.0, "42"), (1234568000.0, "1.234568e+09"), (True, "true"),
        (None, "null"), (math.inf, ".inf"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "2024-01-01T00:00:00Z"),
        ("bad\udcff", "!!binary YmFk/w=="),
    ],
)
def test_scalar_styles(value: Value, expected: str) -> None:
    assert STORE.emit_plain([TreeMap([("k", value)])]) == f"k: {expected}\n".encode()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a\nb", "k: |-\n    a\n    b\n"),
        ("a\nb\n", "k: |\n    a\n    b\n"),
        ("a\n\n", "k: |+\n    a\n\n"),
        (" a\nb", "k: |4-\n     a\n    b\n"),
        ("a \nb", 'k: "a \\nb"\n'),
    ],
)
def test_block_scalars(value: str, expected: str) -> None:
    assert STORE.emit_plain([TreeMap([("k", value)])]) == expected.encode()


def test_nested_layout_matches_yaml_v3() -> None:
    tree = TreeMap([
        ("a", TreeMap([("b", [1, TreeMap([("x", "w"), ("z", [True])]), ["p", "q"]])])),
        ("empty_map", TreeMap()), ("empty_list", []),
    ])
    expected = (
        "a:\n    b:\n        - 1\n        - x: w\n          z:\n            - true\n"
        "        - - p\n          - q\nempty_map: {}\nempty_list: []\n"
    )
    assert STORE.emit_plain([tree]).decode() == expected
    assert STORE.load_plain(expected.encode()) == [tree]


def test_indent_setting() -> None:
    tree = [TreeMap([("a", TreeMap([("b", ["c"])]))])]
    assert YamlStore(indent=2).emit_plain(tree) == b"a:\n  b:\n    - c\n"
    assert YamlStore(indent=0).emit_plain(tree) == b"a:\n    b:\n        - c\n"
    assert YamlStore(indent=12).indent == 2
    with pytest.raises(UsageError):
        YamlStore(indent=-1)


def test_documents_are_joined_and_empty_branch_is_braces() -> None:
    out = STORE.emit_plain([TreeMap([("a", 1)]), TreeMap()])
    assert out == b"a: 1\n---\n{}\n"
    assert STORE.load_plain(out) == [TreeMap([("a", 1)]), TreeMap()]


# -- comments ----------------------------------------------------------------------------------------

COMMENTED = """\
# head of a
a: 1 # inline on a
b:
    # first in b
    c: x
    d: |- # on the block
        two
        lines
    # foot of b
# before list
list:
    # before item 1
    - one # on one
    - two
# after the list
---
# second document
z: 9
"""


def test_comments_land_where_sops_puts_them() -> None:
    first, second = STORE.load_plain(COMMENTED.encode())
    assert first.entries[:3] == [
        (Comment(" head of a"), None), (Comment(" inline on a", inline=True), None), ("a", 1),
    ]
    b = first["b"]
    assert isinstance(b, TreeMap)
    assert b.entries == [
        (Comment(" first in b"), None), ("c", "x"),
        (Comment(" on the block", inline=True), None), ("d", "two\nlines"), (Comment(" foot of b"), None),
    ]
    assert first.entries[4] == (Comment(" before list"), None)
    assert first["list"] == [Comment(" before item 1"), Comment(" on one", inline=True), "one", "two"]
    assert first.entries[-1] == (Comment(" after the list"), None)
    assert second.entries == [(Comment(" second document"), None), ("z", 9)]


def test_commented_file_reemits_in_sops_layout_and_is_stable() -> None:
    once = STORE.emit_plain(STORE.load_plain(COMMENTED.encode()))
    assert once.decode() == COMMENTED
    assert STORE.emit_plain(STORE.load_plain(once)) == once


def test_foot_right_after_an_indented_sequence_stays_in_the_sequence() -> None:
    # checked with the sops 3.11 binary (the comment's AAD is "list:"): a comment directly
    # after the last item, before a dedented key, is the foot of the innermost closing block.
    # (An earlier model of yaml.v3 moved it after the sequence; the real binary does not.)
    branch = _one("list:\n    - a\n    # foot\nnext: 1\n")
    assert branch.entries == [("list", ["a", Comment(" foot")]), ("next", 1)]


def _comment_paths(value: Value, path: tuple[str, ...] = ()) -> list[tuple[str, tuple[str, ...]]]:
    """(text, key path) of every comment, in document order: the path is the comment's AAD."""
    found: list[tuple[str, tuple[str, ...]]] = []
    if isinstance(value, TreeMap):
        for key, item in value.entries:
            if isinstance(key, Comment):
                found.append((key.text.strip(), path))
            else:
                found.extend(_comment_paths(item, (*path, key)))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, Comment):
                found.append((item.text.strip(), path))
            else:
                found.extend(_comment_paths(item, path))
    return found


# Each case was run through the sops 3.11 binary: the expected paths are the AADs with which
# sops encrypted each comment (found by decrypting it with the data key).
_FOOT_CASES = [
    # a foot right after a nested block goes to the innermost closing block, whatever its column
    ("a:\n  b:\n    c:\n      d: 1\n    # c4\nz: 1\n", [("c4", ("a", "b", "c"))]),
    ("a:\n  b:\n    c:\n      d: 1\n  # c2\nz: 1\n", [("c2", ("a", "b", "c"))]),
    ("a:\n  b:\n    c:\n      d: 1\n# c0\n  y: 1\n", [("c0", ("a", "b", "c"))]),
    ("a:\n  b:\n    c:\n      d: 1\n\n    # c4\nz: 1\n", [("c4", ("a", "b", "c"))]),
    ("a:\n  b:\n    - 1\n    - 2\n  # c2\nz: 1\n", [("c2", ("a", "b"))]),
    # further groups (split by a change of column) go to the block at their column
    ("a:\n  b:\n    c:\n      d: 1\n    # c4\n  # c2\n# c0\nz: 1\n",
     [("c4", ("a", "b", "c")), ("c2", ("a",)), ("c0", ())]),
    ("a:\n  b:\n    c:\n      d: 1\n  # c2\n    # c4\nz: 1\n", [("c2", ("a", "b", "c")), ("c4", ("a", "b"))]),
    # a blank line after the first group: the column decides
    ("a:\n  b:\n    c:\n      d: 1\n    # c4\n\n  # c2\nz: 1\n", [("c4", ("a", "b")), ("c2", ("a",))]),
    ("a:\n  b:\n    c:\n      d: 1\n    # c4\n\nz: 1\n", [("c4", ("a", "b"))]),
    # at the column of the next key: that key's head
    ("a:\n  b:\n    c:\n      d: 1\n  # c2\n  y: 1\n", [("c2", ("a",))]),
    # at the end of the stream a single group follows its column; a split one does not
    ("a:\n  b:\n    c: 1\n  # c2\n", [("c2", ("a",))]),
    ("a:\n  b:\n    c: 1\n  # c2\n# c0\n", [("c2", ("a", "b")), ("c0", ())]),
    ("a:\n  b:\n    c: 1\n  # c2\n---\nz: 1\n", [("c2", ("a", "b"))]),
    # at a sequence's column: inside the sequence unless dedented below its item or after a blank
    ("x:\n  list:\n    - a\n    # foot\n", [("foot", ("x", "list"))]),
    ("list:\n    - a\n    # foot\n\nnext: 1\n", [("foot", ("list",))]),
    ("list:\n    - a\n\n    # foot\n", [("foot", ())]),
    ("list:\n    - k: v\n    # foot\n", [("foot", ())]),
]


@pytest.mark.parametrize(("text", "expected"), _FOOT_CASES)
def test_foot_comments_get_the_paths_sops_encrypts_them_with(
    text: str, expected: list[tuple[str, tuple[str, ...]]]
) -> None:
    assert _comment_paths(STORE.load_plain(text.encode())[0]) == expected


def test_comment_as_the_only_content_of_a_value_follows_the_entry() -> None:
    # `a:` with only a comment under it: the value is null and yaml.v3 makes the comment the
    # head of the next key (sops 3.11 writes `a: null` then the comment)
    assert _one("a:\n  # only a comment\nb: 1\n").entries == [
        ("a", None), (Comment(" only a comment"), None), ("b", 1),
    ]
    assert _one("x:\n  a:\n  # only\nb: 1\n").entries == [
        ("x", TreeMap([("a", None), (Comment(" only"), None)])), ("b", 1),
    ]


def test_encrypted_comment_lines_in_maps_and_elements_in_lists() -> None:
    enc = "ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:comment]"
    tree = TreeMap([(Comment(enc), None), ("l", [enc, "v"])])
    assert STORE.emit_plain([tree]) == f"#{enc}\nl:\n    - {enc}\n    - v\n".encode()


# -- encrypted files ----------------------------------------------------------------------------

def test_metadata_goes_into_every_document_and_is_stripped_on_load() -> None:
    md = {"lastmodified": "2024-01-01T00:00:00Z", "mac": "ENC[x]", "version": "3.13.2"}
    out = STORE.emit_encrypted([TreeMap([("a", 1)]), TreeMap([("b", 2)])], md)
    assert out.count(b"sops:\n") == 2 and b'    lastmodified: "2024-01-01T00:00:00Z"\n' in out
    branches, loaded = STORE.load_encrypted(out)
    assert branches == [TreeMap([("a", 1)]), TreeMap([("b", 2)])] and loaded == md
    assert STORE.has_sops_metadata(TreeMap([("sops", TreeMap())]))
    assert not STORE.has_sops_metadata(branches[0])


def test_emit_value() -> None:
    assert STORE.emit_value(TreeMap([("a", [1])])) == b"a:\n    - 1\n"
    assert STORE.emit_value(["x", 2]) == b"- x\n- 2\n"
    assert STORE.emit_value("s") == b"s\n"


# -- errors --------------------------------------------------------------------------------------------

SECRET = "hunter2-secret"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        (f"a: [{SECRET}\n", ParseError),
        (f"a: {SECRET}\na: {SECRET}\n", ParseError),
        (f"- {SECRET}\n", ParseError),
        (f"{SECRET}\n", ParseError),
        (f"1: {SECRET}\n", ParseError),
        (f"a: {SECRET}\n  b: c\n", ParseError),
        ("a: 9223372036854775808\n", ParseError),
        (f"a: {SECRET} # c\n  - x\n", ParseError),
    ],
)
def test_bad_input_raises_one_line_without_values(text: str, error: type[SopsError]) -> None:
    with pytest.raises(error) as info:
        STORE.load_plain(text.encode())
    message = str(info.value)
    assert ("\n" not in message and SECRET not in message and "line" in message) or "sops" in message


def test_missing_sops_block() -> None:
    with pytest.raises(FormatError, match="sops metadata not found"):
        STORE.load_encrypted(b"a: 1\n")


# -- properties -----------------------------------------------------------------------------------------

# Multi-line text that starts with a space or newline gets an indentation indicator that
# yaml.v3 computes from the emitter's indent, not the parser's, inside sequences: the output
# does not read back (docs/yaml-store.md). Such strings are left out of the round trip.
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).filter(
    lambda s: "\n" not in s or s[:1] not in (" ", "\n")
)
_scalars = st.one_of(
    _text, st.integers(min_value=-(2**63), max_value=2**63 - 1), st.booleans(), st.none(),
    st.floats(allow_nan=False).filter(lambda f: not (f.is_integer() and abs(f) < 2**63)),
)
_comment_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), max_size=8)
# like values, multi-line keys starting with a space or newline get yaml.v3's (unreadable)
# indentation indicator inside sequences; sops writes the same bytes, so they are left out here
_keys = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8).filter(
    lambda s: "\n" not in s or s[:1] not in (" ", "\n")
)


def _trees() -> st.SearchStrategy[Value]:
    def extend(children: st.SearchStrategy[Value]) -> st.SearchStrategy[Value]:
        entries = st.lists(st.tuples(_keys, children), max_size=4, unique_by=lambda kv: kv[0])
        maps = st.builds(lambda es: TreeMap(list(es)), entries)
        lists = st.lists(children, max_size=4)
        return st.one_of(maps, lists)

    return st.recursive(_scalars, extend, max_leaves=12)


def _with_comments(tree: Value, texts: list[str], *, in_list: bool = False) -> Value:
    """Sprinkle own-line comments before the first entry of maps and items of lists.

    Not at the start of a map or list that is a list item: sops writes those before the ``-``, so
    they read back as list elements (a real, documented asymmetry of sops).
    """
    if isinstance(tree, TreeMap):
        out = TreeMap([(k, _with_comments(v, texts)) for k, v in tree.entries])
        if out.entries and texts and not in_list:
            out.entries.insert(0, (Comment(texts[0]), None))
        return out
    if isinstance(tree, list):
        items: list[Value] = []
        for i, v in enumerate(tree):
            if texts and not (in_list and i == 0):
                items.append(Comment(texts[0]))
            items.append(_with_comments(v, texts, in_list=True))
        return items
    return tree


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_keys, _trees()), max_size=5, unique_by=lambda kv: kv[0]),
    st.lists(_comment_text, max_size=1),
)
def test_emit_then_load_is_identity(entries: list[tuple[str, Value]], texts: list[str]) -> None:
    tree = _with_comments(TreeMap(entries), texts)
    assert isinstance(tree, TreeMap)
    text = STORE.emit_plain([tree])
    assert STORE.load_plain(text) == [tree]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_keys, _trees()), max_size=5, unique_by=lambda kv: kv[0]))
def test_fast_path_equals_ruamel_path(entries: list[tuple[str, Value]]) -> None:
    text = STORE.emit_plain([TreeMap(entries)])
    if b"#" in text:
        return
    assert load_documents(text) == load_documents(text, force_ruamel=True)


def test_comment_free_load_does_not_import_ruamel() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from sopskit.stores.yaml import YamlStore; "
        "YamlStore().load_plain(b'a: 1\\nb: [x]\\n'); print('ruamel' in ' '.join(sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
