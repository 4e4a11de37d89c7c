"""INI store: the real sops vectors, go-ini's parsing and writing rules, both metadata forms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sopskit.errors import EmitError, FormatError, ParseError
from sopskit.format.codec import ValueCipher
from sopskit.format.metadata import metadata_from_plain, metadata_to_plain
from sopskit.format.tree import Comment, TreeMap
from sopskit.format.treecrypt import decrypt_branches
from sopskit.stores import get_store
from sopskit.stores.ini import IniStore

INI_VECTORS = [
    "ini/example.sops-3.2.0.pgp.ini",
    "ini/example.sops-3.5.0.pgp.ini",
    "ini/example.sops-3.7.1.age.ini",
    "ini/format-2.sops-3.13.1.pgp.ini",
    "ini/format.sops-3.13.2.pgp.ini",
]


def _entry(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(e for e in manifest["vectors"] if e["file"] == name)


def _no_iv(size: int) -> bytes:
    raise AssertionError("decryption must not draw IVs")


def _decrypt(vectors_dir: Path, entry: dict[str, Any]) -> tuple[list[TreeMap], str, str]:
    branches, plain = IniStore().load_encrypted((vectors_dir / entry["file"]).read_bytes())
    metadata = metadata_from_plain(plain)
    cipher = ValueCipher(bytes.fromhex(entry["data_key_hex"]), rng=_no_iv)
    mac = decrypt_branches(branches, cipher, metadata.rules)
    stored = cipher.decrypt(metadata.mac, metadata.mac_aad())
    assert isinstance(stored, str)
    return branches, mac, stored


def _items(branch: TreeMap) -> list[dict[str, str]]:
    """The tree in the shape of expected/*.decrypted.json ``items`` (without AAD notes)."""
    out: list[dict[str, str]] = []
    for section, body in branch.items():
        assert isinstance(body, TreeMap)
        for key, value in body.entries:
            if isinstance(key, Comment):
                out.append({"section": section, "comment": key.text})
            else:
                assert isinstance(value, str)
                out.append({"section": section, "key": key, "value": value})
    return out


def test_vector_list_covers_the_manifest(manifest: dict[str, Any]) -> None:
    assert sorted(e["file"] for e in manifest["vectors"] if e["store"] == "ini") == INI_VECTORS


@pytest.mark.parametrize("name", INI_VECTORS)
def test_vector_decrypts_to_expected_values_and_mac(
    name: str, vectors_dir: Path, manifest: dict[str, Any]
) -> None:
    entry = _entry(manifest, name)
    branches, mac, stored = _decrypt(vectors_dir, entry)
    expected = json.loads((vectors_dir / entry["expected_values"]).read_text())["items"]
    keep = ("section", "key", "value", "comment")
    assert _items(branches[0]) == [{k: i[k] for k in keep if k in i} for i in expected]
    assert branches[0].entries[0][0] == "DEFAULT"
    assert mac == entry["mac_computed"]
    assert stored == mac


@pytest.mark.parametrize("name", ["ini/format.sops-3.13.2.pgp.ini", "ini/format-2.sops-3.13.1.pgp.ini"])
def test_format_vectors_decrypt_output_is_exact(
    name: str, vectors_dir: Path, manifest: dict[str, Any]
) -> None:
    branches, _, _ = _decrypt(vectors_dir, _entry(manifest, name))
    expected = (vectors_dir / "expected" / (Path(name).name + ".decrypt-output")).read_bytes()
    assert IniStore().emit_plain(branches) == expected


def test_3_13_2_vector_reemits_byte_for_byte(vectors_dir: Path) -> None:
    data = (vectors_dir / "ini/format.sops-3.13.2.pgp.ini").read_bytes()
    store = IniStore()
    branches, plain = store.load_encrypted(data)
    assert store.emit_encrypted(branches, plain) == data
    assert store.emit_encrypted(branches, metadata_to_plain(metadata_from_plain(plain))) == data


def test_3_13_1_multiline_metadata_reemits_in_the_escaped_form(vectors_dir: Path) -> None:
    data = (vectors_dir / "ini/format-2.sops-3.13.1.pgp.ini").read_bytes()
    store = IniStore()
    branches, plain = store.load_encrypted(data)
    enc = plain["pgp"][0]["enc"]
    assert enc.startswith("-----BEGIN PGP MESSAGE-----\n\nwcBM") and enc.endswith("-----END PGP MESSAGE-----")
    # expected: the input with the """ block turned into one line of escaped newlines
    text = data.decode()
    start = text.index('"""')
    end = text.index('"""', start + 3) + 3
    expected = (text[:start] + enc.replace("\n", "\\n") + text[end:]).encode()
    assert store.emit_encrypted(branches, plain) == expected
    assert store.load_encrypted(expected)[1] == plain


def test_escaped_and_multiline_metadata_read_the_same(vectors_dir: Path) -> None:
    _, old = IniStore().load_encrypted((vectors_dir / "ini/example.sops-3.7.1.age.ini").read_bytes())
    assert old["age"][1]["enc"].endswith("-----END AGE ENCRYPTED FILE-----\n")
    assert sorted(old) == ["age", "lastmodified", "mac", "unencrypted_suffix", "version"]


# -- parsing rules -----------------------------------------------------------------------------

SAMPLE = b"""top = level
; about the first section
# second line
[first]
plain = value
spaced   =    padded value   \t
colon: separated
inline = value ; an inline comment
hash = a#b
dq = "  quoted  "
sq = 'single'
bt = `keeps ; and #`
mixed = "a"b"
empty =
; a key comment
commented = yes
multi = \"\"\"line one
line two\"\"\"
cont = one \\
  two
dup = first
dup = second
caf\xc3\xa9 = \xc3\xa9t\xc3\xa9

[second]
x = 1
[first]
again = yes
"""


def test_go_ini_parsing_rules() -> None:
    (branch,) = IniStore().load_plain(SAMPLE)
    sections = [(name, body) for name, body in branch.items()]
    assert [name for name, _ in sections] == ["DEFAULT", "first", "second", "first"]
    assert sections[0][1] == TreeMap([("top", "level")])
    first = sections[1][1]
    assert isinstance(first, TreeMap)
    assert first.entries == [
        (Comment("about the first section\n# second line"), None),
        ("plain", "value"),
        ("spaced", "padded value"),
        ("colon", "separated"),
        ("inline", "value"),
        (Comment("an inline comment"), None),
        ("hash", "a"),
        (Comment("b"), None),
        ("dq", "  quoted  "),
        ("sq", "single"),
        ("bt", "keeps ; and #"),
        ("mixed", '"a"b"'),
        ("empty", ""),
        ("commented", "yes"),
        (Comment("a key comment"), None),
        ("multi", "line one\nline two"),
        ("cont", "one two"),
        ("dup", "second"),
        ("café", "été"),
    ]
    assert sections[3][1] == TreeMap([("again", "yes")])


def test_emit_pads_keys_quotes_values_and_writes_comments() -> None:
    branch = TreeMap([
        ("DEFAULT", TreeMap()),
        ("first", TreeMap([
            (Comment("section note"), None),
            ("a", "1"),
            (Comment("about a"), None),
            ("longer_key", "x;y"),
            ("sp", " lead"),
            ("nl", "two\nlines"),
            ("k=v", "q"),
            ("empty", ""),
        ])),
        ("second", TreeMap([("b", "2")])),
    ])
    out = IniStore().emit_plain([branch]).decode()
    assert out == (
        "; section note\n"
        "[first]\n"
        "; about a\n"  # go-ini writes a key's comment before the key
        "a          = 1\n"
        "longer_key = `x;y`\n"
        'sp         = " lead"\n'
        'nl         = """two\nlines"""\n'
        "`k=v`      = q\n"
        "empty      = \n"
        "\n"
        "[second]\n"
        "b = 2\n"
    )
    # and reading it back gives the same tree (the comment goes after its key again)
    assert IniStore().load_plain(out.encode()) == [branch]


def test_key_quoting_counts_in_the_padding() -> None:
    out = IniStore().emit_plain([TreeMap([("s", TreeMap([("tick`", "t"), ('q"', "u"), ("a", "v")]))])])
    assert out.decode() == '[s]\n"""tick`""" = t\n`q"`        = u\na           = v\n'
    (back,) = IniStore().load_plain(out)
    assert back["s"] == TreeMap([("tick`", "t"), ('q"', "u"), ("a", "v")])


def test_emit_round_trips_our_sample() -> None:
    store = IniStore()
    (branch,) = store.load_plain(SAMPLE)
    out = store.emit_plain([branch])
    (again,) = store.load_plain(out)
    assert store.emit_plain([again]) == out
    merged = dict(again.items())
    assert merged["first"] is not None
    first = again["first"]
    assert isinstance(first, TreeMap)
    assert first["bt"] == "keeps ; and #"
    assert first["dq"] == "  quoted  "
    assert first["multi"] == "line one\nline two"
    assert first["again"] == "yes"  # the repeated [first] is merged on write, as go-ini does


def test_non_empty_default_section_has_no_header() -> None:
    out = IniStore().emit_plain([TreeMap([("DEFAULT", TreeMap([("k", "v")])), ("s", TreeMap([("a", "b")]))])])
    assert out == b"k = v\n\n[s]\na = b\n"


def test_non_string_values_use_val_to_string() -> None:
    out = IniStore().emit_plain([TreeMap([("s", TreeMap([("f", 2.0), ("b", True), ("i", 7)]))])])
    assert out == b"[s]\nf = 2.0\nb = true\ni = 7\n"


def test_emit_encrypted_writes_sorted_flat_metadata_with_escaped_newlines() -> None:
    plain = {"lastmodified": "T", "mac": "M", "pgp": [{"enc": "a\nb", "fp": "F"}], "version": "3.13.2"}
    out = IniStore().emit_encrypted([TreeMap([("DEFAULT", TreeMap()), ("s", TreeMap([("k", "E")]))])], plain)
    assert out.decode().splitlines() == [
        "[s]",
        "k = E",
        "",
        "[sops]",
        "lastmodified         = T",
        "mac                  = M",
        "pgp__list_0__map_enc = a\\nb",
        "pgp__list_0__map_fp  = F",
        "version              = 3.13.2",
    ]
    assert out.endswith(b"3.13.2\n")
    assert IniStore().load_encrypted(out)[1] == plain


def test_emit_value_is_go_json() -> None:
    assert IniStore().emit_value("a<b") == b'"a\\u003cb"'


def test_has_sops_metadata_looks_for_the_section() -> None:
    assert IniStore().has_sops_metadata(IniStore().load_plain(b"[sops]\nmac = x\n")[0])
    assert not IniStore().has_sops_metadata(IniStore().load_plain(b"sops = x\n")[0])


def test_registry_passes_indent_harmlessly() -> None:
    assert get_store("ini", indent=2).name == "ini"


# -- negative cases ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    "data",
    [
        b"[open\nk = hunter2-secret\n",
        b"hunter2-secret\n",
        b'k = """hunter2-secret\nnever closed\n',
        b"[]\n",
        b"= hunter2-secret\n",
    ],
)
def test_broken_ini_is_a_one_line_parse_error_without_values(data: bytes) -> None:
    with pytest.raises(ParseError) as info:
        IniStore().load_plain(data)
    assert "hunter2" not in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_metadata_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"\[sops\]"):
        IniStore().load_encrypted(b"[a]\nb = c\n")


@pytest.mark.parametrize(
    "branch",
    [
        TreeMap([("s", "not a section")]),
        TreeMap([("s", TreeMap([("k", TreeMap())]))]),
        TreeMap([("", TreeMap())]),
    ],
)
def test_trees_that_are_not_sections_cannot_be_written(branch: TreeMap) -> None:
    with pytest.raises(EmitError):
        IniStore().emit_plain([branch])
