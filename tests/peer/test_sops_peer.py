"""sops 3.11 (real binary) vs sopskit, both directions, every store.

For each case: (1) sops encrypts, both decrypt, outputs must be byte-identical; (2) sopskit
encrypts, sops must decrypt it (exit 0, so the MAC verified) to exactly what sopskit decrypts;
(3) both encrypted files must have the same data layout once ciphertexts and the metadata
block are masked (``_compare.data_layout``). Known differences are strict xfails whose reason
names their class (see docs/peer-testing.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.peer._compare import data_layout, metadata_keys
from tests.peer.conftest import PGP_FINGERPRINT, Peer

YAML_SAMPLE = """\
# head of the document
name: alice
number: 42
ratio: 1.5
big: 9223372036854775807
when: 2024-03-01T12:30:00.5+02:00
enabled: true
empty: ""
nothing: null
quoted: "yes"
unicode: "日本語 ü 😀"
text: |
    line one
    line two
list:
    # before a
    - a
    - 2
    # before the map item
    - k: v
      n: 1.25
    - last
nested:
    # inner head
    deeper:
        x: y
    after: z
# document foot
---
# second document
other: value
"""
JSON_SAMPLE = (
    '{"name": "alice", "n": 42, "f": 1.5, "t": true, "z": null, "s": "", "u": "\\u00fc<&>",'
    ' "l": [1, "two", {"k": [false]}], "m": {"deep": {"x": "y"}}, "e": {}, "a": []}\n'
)
DOTENV_SAMPLE = "# comment\nNAME=alice\nEMPTY=\nMULTI=one\\ntwo\nWITH_EQ=a=b\nSPACE = x \n#tail\n"
INI_SAMPLE = "; top comment\n[server]\nhost = example.org\n# port comment\nport = 8080\n\n[empty]\n[client]\nname=x\n"
BINARY_SAMPLE = bytes(range(256)) + b"\xff\xfe not utf-8 \x00\n"

SAMPLES: dict[str, tuple[str, bytes]] = {
    "yaml": ("sample.yaml", YAML_SAMPLE.encode()),
    "json": ("sample.json", JSON_SAMPLE.encode()),
    "dotenv": ("sample.env", DOTENV_SAMPLE.encode()),
    "ini": ("sample.ini", INI_SAMPLE.encode()),
    "binary": ("sample.bin", BINARY_SAMPLE),
}
STORES = list(SAMPLES)


def _both_ways(peer: Peer, fmt: str, plain: Path, *flags: str, global_flags: tuple[str, ...] = ()) -> None:
    by_sops = peer.encrypt("sops", plain, *flags, global_flags=global_flags)
    by_kit = peer.encrypt("kit", plain, *flags, global_flags=global_flags)
    sops_of_sops = peer.decrypt("sops", by_sops)
    assert peer.decrypt("kit", by_sops) == sops_of_sops
    kit_of_kit = peer.decrypt("kit", by_kit)
    assert peer.decrypt("sops", by_kit) == kit_of_kit
    assert kit_of_kit == sops_of_sops
    assert data_layout(by_kit.read_bytes(), fmt) == data_layout(by_sops.read_bytes(), fmt)


@pytest.mark.parametrize("fmt", STORES)
def test_round_trips_agree_for_every_store(peer: Peer, fmt: str) -> None:
    name, data = SAMPLES[fmt]
    _both_ways(peer, fmt, peer.write(name, data))


@pytest.mark.parametrize("fmt", STORES)
def test_decrypted_plaintext_is_the_input_where_sops_keeps_it(peer: Peer, fmt: str) -> None:
    """Binary and dotenv round-trip byte for byte; the decrypted bytes must be the input."""
    name, data = SAMPLES[fmt]
    plain = peer.write(name, data)
    out = peer.decrypt("kit", peer.encrypt("sops", plain))
    if fmt in ("binary", "dotenv"):
        assert out == data
    else:
        assert out == peer.decrypt("sops", peer.encrypt("kit", plain))


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_pgp_key_both_directions(peer: Peer, fmt: str) -> None:
    name, data = SAMPLES[fmt]
    plain = peer.write(name, data)
    by_sops = peer.encrypt("sops", plain, "--pgp", PGP_FINGERPRINT, age=False)
    by_kit = peer.encrypt("kit", plain, "--pgp", PGP_FINGERPRINT, age=False)
    no_age = {**peer.env, "SOPS_AGE_KEY": ""}
    assert peer.decrypt("kit", by_sops, env=no_age) == peer.decrypt("sops", by_sops, env=no_age)
    assert peer.decrypt("sops", by_kit, env=no_age) == peer.decrypt("kit", by_kit, env=no_age)
    assert f"fp: {PGP_FINGERPRINT}".encode() in by_kit.read_bytes() or fmt == "json"


def _shamir_config(peer: Peer) -> None:
    r = [k.recipient for k in peer.keys]
    peer.write(".sops.yaml", f"""\
creation_rules:
  - path_regex: \\.(yaml|json)$
    shamir_threshold: 2
    key_groups:
      - age: [{r[0]}]
      - age: [{r[1]}]
        pgp: [{PGP_FINGERPRINT}]
      - age: [{r[2]}]
""")


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_shamir_threshold_from_the_same_config(peer: Peer, fmt: str, tmp_path: Path) -> None:
    _shamir_config(peer)
    name, data = SAMPLES[fmt]
    plain = peer.write(name, data)
    by_sops = peer.encrypt("sops", plain, age=False)
    by_kit = peer.encrypt("kit", plain, age=False)
    empty_gpg = tmp_path / "empty-gnupg"
    empty_gpg.mkdir(mode=0o700)
    two_of_three = {**peer.env, "GNUPGHOME": str(empty_gpg),
                    "SOPS_AGE_KEY": f"{peer.keys[0].identity}\n{peer.keys[2].identity}"}
    expected = peer.decrypt("sops", by_sops, env=two_of_three)
    assert peer.decrypt("kit", by_sops, env=two_of_three) == expected
    assert peer.decrypt("sops", by_kit, env=two_of_three) == expected
    # one share only (no PGP, one age identity): both refuse with sops's exit code 128
    one = {**two_of_three, "SOPS_AGE_KEY": peer.keys[1].identity}
    for tool, path in (("sops", by_kit), ("kit", by_sops)):
        assert peer.run(tool, "decrypt", path, env=one).returncode == 128
    # PGP alone is a second share together with one age identity
    pgp_and_one = {**peer.env, "SOPS_AGE_KEY": peer.keys[2].identity}
    assert peer.decrypt("sops", by_kit, env=pgp_and_one) == expected
    assert peer.decrypt("kit", by_sops, env=pgp_and_one) == expected
    for path in (by_sops, by_kit):
        assert "shamir_threshold" in path.read_text()


SELECTION_YAML = """\
# top comment
name: x
pw_enc: secret
keep_plain: clear
sub:
    # sops:enc
    a: 1
    b_enc: 2
    # plain
    c: 3
pw_list:
    - 1
    # sops:enc
    - 2
    - 3
"""
CLI_SELECTIONS: list[tuple[str, ...]] = [
    ("--encrypted-regex", "^pw"),
    ("--unencrypted-regex", "^keep"),
    ("--encrypted-suffix", "_enc"),
    ("--unencrypted-suffix", "_plain"),
]
#: sops 3.11's ``encrypt`` subcommand ignores the global comment-regex and mac-only flags
#: (they only reach the legacy ``-e`` form), so these go through a shared .sops.yaml rule
CONFIG_SELECTIONS: list[str] = [
    "encrypted_comment_regex: sops:enc",
    "unencrypted_comment_regex: plain",
    "mac_only_encrypted: true",
    "encrypted_suffix: _enc\n    mac_only_encrypted: true",
]


@pytest.mark.parametrize("flags", CLI_SELECTIONS, ids=" ".join)
def test_selection_flags_encrypt_the_same_values(peer: Peer, flags: tuple[str, ...]) -> None:
    _both_ways(peer, "yaml", peer.write("sel.yaml", SELECTION_YAML), *flags)


def _rule(peer: Peer, options: str) -> None:
    peer.write(".sops.yaml", f"creation_rules:\n  - path_regex: .*\n    age: {peer.recipient}\n    {options}\n")


@pytest.mark.parametrize("options", CONFIG_SELECTIONS)
def test_selection_rules_from_sops_yaml(peer: Peer, options: str) -> None:
    _rule(peer, options)
    plain = peer.write("sel.yaml", SELECTION_YAML)
    _both_ways(peer, "yaml", plain)
    first_option = options.split(":")[0]
    for tool in ("sops", "kit"):
        assert first_option in peer.encrypt(tool, plain, out_name=f"check-{tool}.yaml").read_text()


@pytest.mark.parametrize(("fmt", "name", "data", "flags"), [
    ("json", "s.json", '{"pw": "a", "x": {"pw2": 1, "y": [true, 2.5]}, "z": null}', ("--encrypted-regex", "pw")),
    ("dotenv", "s.env", "A_enc=1\nB=2\n", ("--encrypted-suffix", "_enc")),
    ("ini", "s.ini", "[s]\npw=1\nx=2\n[t]\npw=3\n", ("--encrypted-regex", "^pw$")),
    ("binary", "s.bin", "ignored options", ("--encrypted-regex", "^pw$")),
], ids=["json", "dotenv", "ini", "binary"])
def test_selection_in_other_stores(peer: Peer, fmt: str, name: str, data: str, flags: tuple[str, ...]) -> None:
    _both_ways(peer, fmt, peer.write(name, data), *flags)


@pytest.mark.parametrize("mac_only", [False, True], ids=["full-mac", "mac-only-encrypted"])
def test_mac_covers_the_same_values(peer: Peer, mac_only: bool) -> None:
    """Changing an unencrypted value breaks the MAC unless only encrypted values are MACed;
    both tools must agree on files written by either."""
    if mac_only:
        _rule(peer, "mac_only_encrypted: true")
    plain = peer.write("m.yaml", "secret: s\nclear_unencrypted: before\n")
    for writer in ("sops", "kit"):
        path = peer.encrypt(writer, plain)
        path.write_text(path.read_text().replace("clear_unencrypted: before", "clear_unencrypted: after"))
        codes = {tool: peer.run(tool, "decrypt", path).returncode for tool in ("sops", "kit")}
        assert codes == ({"sops": 0, "kit": 0} if mac_only else {"sops": 51, "kit": 51}), writer


SET_CASES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "yaml": ("t.yaml", "a: 1\nb:\n    c: x\n",
             [('["b"]["c"]', '"new"'), ('["b"]["d"]', "5"), ('["b"]["e"]', '{"k": [1, 2.5, true]}'),
              ('["l"]', '{"x": 1.5e-7}')]),
    "json": ("t.json", '{"a": 1, "b": {"c": "x"}}',
             [('["b"]["c"]', '"new"'), ('["b"]["d"]', "5"), ('["b"]["e"]', '{"k": [1, 2.5, true]}')]),
    "dotenv": ("t.env", "a=1\nc=x\n", [('["c"]', '"new"'), ('["d"]', "5"), ('["f"]', "1e21"), ('["t"]', "true")]),
    "ini": ("t.ini", "[b]\nc=x\n", [('["b"]["c"]', '"new"'), ('["b"]["d"]', "5"), ('["b"]["f"]', "0.1")]),
}


@pytest.mark.parametrize("writer", ["sops", "kit"], ids=["sops-file", "sopskit-file"])
@pytest.mark.parametrize("fmt", list(SET_CASES))
def test_cross_tool_set(peer: Peer, fmt: str, writer: str) -> None:
    """The other tool's ``set`` edits the file; both then decrypt it identically."""
    name, text, edits = SET_CASES[fmt]
    path = peer.encrypt(writer, peer.write(name, text))
    editor = "kit" if writer == "sops" else "sops"
    for index, value in edits:
        peer.ok(editor, "set", path, index, value)
    assert peer.decrypt("kit", path) == peer.decrypt("sops", path)


def test_unicode_and_empty_values_in_dotenv_and_ini(peer: Peer) -> None:
    for name, data in (("u.env", "K=日本語\nE=\nT=a\tb\n"), ("u.ini", "[s]\nk = ü\ne =\n")):
        _both_ways(peer, "dotenv" if name.endswith(".env") else "ini", peer.write(name, data))


# -- documented differences (strict xfails) ------------------------------------------------

@pytest.mark.xfail(strict=True, reason="(b) spec 7.2/12: sops <=3.12 writes metadata in struct order, "
                   "sopskit writes the 3.13 alphabetical order")
def test_metadata_key_order(peer: Peer) -> None:
    plain = peer.write("o.yaml", "a: 1\n")  # age entries: recipient, enc (3.11) vs enc, recipient
    keys = [metadata_keys(peer.encrypt(t, plain).read_bytes(), "yaml") for t in ("sops", "kit")]
    assert keys[0] == keys[1]


@pytest.mark.xfail(strict=True, reason="(b) spec 12, 3.13.0: YAML inline comments are preserved as inline "
                   "(sopskit); sops 3.11 moves them before the key")
def test_inline_comment_layout(peer: Peer) -> None:
    plain = peer.write("i.yaml", "a: 1 # note\n")
    layouts = [data_layout(peer.encrypt(t, plain).read_bytes(), "yaml") for t in ("sops", "kit")]
    assert layouts[0] == layouts[1]


def test_inline_comment_decrypts_the_same(peer: Peer) -> None:
    """Despite the layout difference, the decrypted text agrees (the comment lands before the key)."""
    plain = peer.write("i.yaml", "a: 1 # note\nb: 2\n")
    by_kit = peer.encrypt("kit", plain)
    assert peer.decrypt("sops", by_kit) == peer.decrypt("kit", by_kit) == b"# note\na: 1\nb: 2\n"


@pytest.mark.xfail(strict=True, reason="(b) spec 8.2/12, 3.13.2: JSON integers stay int; sops 3.11 reads "
                   "every number as float64, so integers beyond 2^53 are rounded")
def test_json_integer_beyond_float_precision(peer: Peer) -> None:
    plain = peer.write("big.json", '{"a": 9007199254740993}')
    outs = [peer.decrypt(t, peer.encrypt(t, plain)) for t in ("sops", "kit")]
    assert outs[0] == outs[1]


def test_json_integer_types_differ_only_in_tag(peer: Peer) -> None:
    plain = peer.write("n.json", '{"a": 1}')
    tags = [json.loads(peer.encrypt(t, plain).read_text())["a"].rsplit("type:", 1)[1] for t in ("sops", "kit")]
    assert tags == ["float]", "int]"]


@pytest.mark.xfail(strict=True, reason="(c) sops 3.11 `set` of a nested value in INI writes Go syntax "
                   "(`[{k [ENC…]}]`) it cannot read back; sopskit refuses (exit 4)")
def test_ini_set_nested_value(peer: Peer) -> None:
    for writer in ("sops", "kit"):
        path = peer.encrypt(writer, peer.write("n.ini", "[b]\nc=x\n"))
        assert peer.run("kit", "set", path, '["b"]["e"]', '{"k": 1}').returncode == 0
        assert peer.run("sops", "decrypt", path).returncode == 0


def test_dedented_foot_comment_after_nested_mapping(peer: Peer) -> None:
    plain = peer.write("f.yaml", "nested:\n    deeper:\n        x: y\n    # inner foot\n"
                                 "list:\n    - k: v\n    # list foot\n")
    by_sops, by_kit = peer.encrypt("sops", plain), peer.encrypt("kit", plain)
    assert data_layout(by_kit.read_bytes(), "yaml") == data_layout(by_sops.read_bytes(), "yaml")
    assert peer.decrypt("sops", by_kit) == peer.decrypt("kit", by_kit)


def test_merge_key_with_scalar_value_is_readable_by_sopskit(peer: Peer) -> None:
    """sops writes a "<<" key as ``!!merge <<``; with a scalar value sops 3.11 then cannot
    load its own file (yaml.v3 applies merge semantics while reading the metadata). sopskit
    writes the same bytes and reads both files."""
    plain = peer.write("m.yaml", '"<<": 1\nx: 2\n')
    by_sops = peer.encrypt("sops", plain)
    by_kit = peer.encrypt("kit", plain)
    assert data_layout(by_sops.read_bytes(), "yaml") == data_layout(by_kit.read_bytes(), "yaml")
    assert peer.decrypt("kit", by_sops) == peer.decrypt("kit", by_kit) == b"!!merge <<: 1\nx: 2\n"
    assert peer.run("sops", "decrypt", by_sops).returncode != 0


def test_comment_only_yaml_is_refused_alike(peer: Peer) -> None:
    for text, code in (("# only a comment\n", 2), ("\n", 2), ("", 92)):
        plain = peer.write("c.yaml", text)
        codes = [peer.run(t, "encrypt", "--age", peer.recipient, plain).returncode for t in ("sops", "kit")]
        assert codes == [code, code], text
