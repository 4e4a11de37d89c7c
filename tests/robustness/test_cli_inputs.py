"""Bad input that is not a mutated encrypted file: wrong paths, broken plaintext handed to
``encrypt``, malformed key material, a broken .sops.yaml, a value for ``set`` that is not
JSON, and a hypothesis-driven byte mutator over every store.

Key material counts as a secret as much as plaintext does, so a malformed identity must not
be echoed back either.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.robustness import _harness as h
from tests.robustness.conftest import World
from tests.robustness.test_cli_robustness import Place, check

PATH_COMMANDS = ["decrypt", "encrypt-in-place", "set", "unset", "rotate", "edit", "exec-env",
                 "exec-file", "filestatus", "git-textconv"]


# -- not a readable file --------------------------------------------------------------------

#: not failures: rotate walks a directory argument (FILE|DIR); edit of a missing file starts
#: from a template and, as in sops, exits 200 when the editor leaves it unchanged
LEGITIMATE_SUCCESS = {("directory", "rotate"), ("missing", "edit")}


@pytest.mark.parametrize("kind", ["directory", "missing", "unreadable", "fifo-free-devnull"])
def test_path_that_is_not_a_readable_file(world: World, place: Place, kind: str) -> None:
    fx = place("yaml", None)
    target = fx.path
    if kind == "directory":
        target.unlink()
        target.mkdir()
    elif kind == "missing":
        target.unlink()
    elif kind == "unreadable":
        # mode 0 stops no one as root (as CI runs), so for root use a path that no one can
        # read: one that goes *through* a regular file (ENOTDIR)
        if os.geteuid() == 0:
            target = target / "child.yaml"
        else:
            target.chmod(0)
    else:
        target = Path(os.devnull)
    problems: list[str] = []
    for name in PATH_COMMANDS:
        if (kind, name) in LEGITIMATE_SUCCESS:
            continue
        command = h.COMMANDS_BY_NAME[name]
        result = h.run(command.argv(fx, target, world.keys), env=world.env(), cwd=fx.path.parent)
        problems += [f"{name}: {p}" for p in h.verdict(result, command=command, markers=fx.markers,
                                                      before=None, path=None, corrupt=False)]
        if result.returncode in command.ok_codes and name not in ("filestatus", "git-textconv"):
            problems.append(f"{name}: exit {result.returncode} on a {kind} path")
    assert not problems, "\n".join(problems)


# -- broken plaintext given to encrypt ------------------------------------------------------

BROKEN_PLAINTEXT = {
    "yaml-unclosed-flow": ("yaml", "a: [{m}, \nb: c\n"),
    "yaml-tab-indent": ("yaml", "a:\n\tb: {m}\n"),
    "yaml-bad-indent": ("yaml", "a: {m}\n  b: c\n d: e\n"),
    "yaml-duplicate-key": ("yaml", "a: {m}\na: other\n"),
    "yaml-unclosed-quote": ("yaml", 'a: "{m}\n'),
    "yaml-has-sops-key": ("yaml", "sops: {m}\n"),
    "json-unclosed": ("json", '{{"a": "{m}"'),
    "json-trailing-comma": ("json", '{{"a": "{m}",}}'),
    "json-bare-word": ("json", '{{"a": {m}}}'),
    "json-top-level-list": ("json", '["{m}"]'),
    "dotenv-no-equals": ("dotenv", "A=x\n{m}\n"),
    "dotenv-bad-key": ("dotenv", "=\"{m}\"\n"),
    "ini-no-section": ("ini", "a = {m}\n"),
    "ini-unclosed-section": ("ini", "[s\na = {m}\n"),
    "ini-bare-line": ("ini", "[s]\n{m}\n"),
    "yaml-invalid-utf8": ("yaml", "a: {m}\xff\n"),
    "json-nul": ("json", '{{"a": "{m}\x00"}}'),
}


#: sops accepts these too: keys before any [section] go to DEFAULT; `=value` is an empty key
ACCEPTED_LIKE_SOPS = {"ini-no-section", "dotenv-bad-key"}


@pytest.mark.parametrize("case", sorted(BROKEN_PLAINTEXT))
def test_encrypt_broken_plaintext_does_not_quote_it(world: World, tmp_path: Path, case: str) -> None:
    store, template = BROKEN_PLAINTEXT[case]
    marker = h.new_marker("plain")
    src = tmp_path / f"plain.{h.EXTENSIONS[store]}"
    data = template.format(m=marker).encode("utf-8", errors="surrogateescape")
    if case == "yaml-invalid-utf8":
        data = data.replace("\xff".encode(), b"\xff")
    src.write_bytes(data)
    result = h.run(["encrypt", "--age", world.keys.recipient, "--input-type", store, "-i", str(src)],
                   env=world.env(), cwd=tmp_path)
    command = h.Command("encrypt", lambda fx, p, k: [])
    problems = h.verdict(result, command=command, markers=[marker], before=data, path=src, corrupt=False)
    if result.returncode == 0 and case not in ACCEPTED_LIKE_SOPS:
        problems.append("encrypt accepted a broken plaintext file")
    if result.returncode == 0:
        assert marker.encode() not in src.read_bytes()
    assert not problems, "\n".join(problems)


# -- malformed key material -----------------------------------------------------------------

def test_malformed_identity_is_not_echoed(world: World, place: Place) -> None:
    fx = place("yaml", None)
    fake = "AGE-SECRET-KEY-1" + secrets.token_hex(20).upper()
    key_file = fx.path.parent / "keys.txt"
    key_file.write_text(f"# comment\n{fake}\nnot-a-key {fake}x\n")
    envs = {
        "SOPS_AGE_KEY": h.base_env(world.home, None, SOPS_AGE_KEY=fake),
        "SOPS_AGE_KEY_FILE": h.base_env(world.home, None, SOPS_AGE_KEY_FILE=str(key_file)),
        "SOPS_AGE_KEY_CMD": h.base_env(world.home, None, SOPS_AGE_KEY_CMD=f"echo {fake}"),
    }
    problems: list[str] = []
    for source, env in envs.items():
        for name in ("decrypt", "set", "exec-env"):
            command = h.COMMANDS_BY_NAME[name]
            result = h.run(command.argv(fx, fx.path, world.keys), env=env, cwd=fx.path.parent)
            found = h.verdict(result, command=command, markers=[*fx.markers, fake], before=fx.encrypted,
                              path=fx.path, corrupt=True)
            if result.returncode != 128:
                found.append(f"exit {result.returncode}, expected 128 (no data key)")
            problems += [f"{source} {name}: {p}" for p in found]
    assert not problems, "\n".join(problems)


def test_wrong_identity(world: World, place: Place) -> None:
    fx = place("json", None)
    other = h.new_keys()
    env = h.base_env(world.home, other)
    problems: list[str] = []
    for name in h.DECRYPTING:
        command = h.COMMANDS_BY_NAME[name]
        result = h.run(command.argv(fx, fx.path, world.keys), env=env, cwd=fx.path.parent)
        found = h.verdict(result, command=command, markers=fx.markers, before=fx.encrypted, path=fx.path,
                          corrupt=True)
        if other.identity.encode() in result.stderr + result.stdout:
            found.append("the identity was echoed")
        problems += [f"{name}: {p}" for p in found]
    assert not problems, "\n".join(problems)


# -- an identity pasted where a recipient belongs -------------------------------------------


@pytest.mark.parametrize("where", ["age-flag", "pgp-flag", "env-recipients", "sops-yaml-encrypt",
                                   "sops-yaml-updatekeys"])
def test_identity_given_as_recipient_is_not_echoed(world: World, place: Place, where: str) -> None:
    fx = place("yaml", None)
    plain = fx.path.parent / "new.yaml"
    plain.write_text("x: 1\n")
    secret_key = world.keys.identity
    env = world.env()
    argv = {"age-flag": ["encrypt", "--age", secret_key, str(plain)],
            "pgp-flag": ["encrypt", "--pgp", secret_key, str(plain)],
            "env-recipients": ["encrypt", str(plain)],
            "sops-yaml-encrypt": ["encrypt", str(plain)],
            "sops-yaml-updatekeys": ["updatekeys", "-y", str(fx.path)]}[where]
    if where == "env-recipients":
        env["SOPS_AGE_RECIPIENTS"] = secret_key
    if where.startswith("sops-yaml"):
        (fx.path.parent / ".sops.yaml").write_text(h.sops_yaml(secret_key))
    result = h.run(argv, env=env, cwd=fx.path.parent)
    assert result.returncode != 0
    assert secret_key.encode() not in result.stderr + result.stdout
    assert secret_key[16:].encode() not in result.stderr + result.stdout


# -- a broken .sops.yaml --------------------------------------------------------------------

BROKEN_CONFIG = {
    "invalid-yaml": "creation_rules: [\n",
    "rules-is-string": "creation_rules: nope\n",
    "rule-is-list": "creation_rules:\n  - [1, 2]\n",
    "age-is-int": "creation_rules:\n  - age: 5\n",
    "age-not-a-recipient": "creation_rules:\n  - age: age1nope\n",
    "path-regex-invalid": "creation_rules:\n  - path_regex: '('\n    age: {r}\n",
    "key-groups-garbage": "creation_rules:\n  - key_groups: 3\n",
    "shamir-is-string": "creation_rules:\n  - age: {r}\n    shamir_threshold: x\n",
    "binary-garbage": "\x00\x01\x02\xff",
    "top-level-list": "- 1\n- 2\n",
    "empty": "",
}




@pytest.mark.parametrize("case", sorted(BROKEN_CONFIG))
def test_broken_sops_yaml(world: World, place: Place, case: str) -> None:
    fx = place("yaml", None)
    config = fx.path.parent / ".sops.yaml"
    config.write_bytes(BROKEN_CONFIG[case].format(r=world.keys.recipient).encode("latin-1"))
    plain = fx.path.parent / "new.yaml"
    marker = h.new_marker("cfg")
    plain.write_text(f"x: {marker}\n")
    runs = {
        "encrypt": (["encrypt", "-i", str(plain)], plain),
        "updatekeys": (["updatekeys", "-y", str(fx.path)], fx.path),
    }
    problems: list[str] = []
    for name, (argv, target) in runs.items():
        before = target.read_bytes()
        result = h.run(argv, env=world.env(), cwd=fx.path.parent)
        command = h.Command(name, lambda f, p, k: [])
        found = h.verdict(result, command=command, markers=[*fx.markers, marker], before=before,
                          path=target, corrupt=case != "empty")
        problems += [f"{name}: {p}" for p in found]
        target.write_bytes(before)
    assert not problems, "\n".join(problems)


# -- set with a value that is not JSON ------------------------------------------------------

@pytest.mark.parametrize("shape", ["bare-word", "unclosed-string", "trailing-garbage", "nul"])
def test_set_invalid_json_value_is_not_echoed(world: World, place: Place, shape: str) -> None:
    fx = place("yaml", None)
    marker = h.new_marker("set")
    value = {"bare-word": marker, "unclosed-string": f'"{marker}', "trailing-garbage": f'"{marker}" x',
             "nul": f'"{marker}\\u0000'}[shape]
    result = h.run(["set", str(fx.path), '["a"]', value], env=world.env(), cwd=fx.path.parent)
    command = h.COMMANDS_BY_NAME["set"]
    problems = h.verdict(result, command=command, markers=[*fx.markers, marker], before=fx.encrypted,
                         path=fx.path, corrupt=True)
    assert not problems, "\n".join(problems)


def test_set_huge_and_odd_unicode_values_round_trip(world: World, place: Place) -> None:
    fx = place("json", None)
    marker = h.new_marker("big")
    value = marker + "\u202e\u0301\U0001f600\ufeff" + "y" * 300_000
    result = h.run(["set", "--value-stdin", str(fx.path), '["big"]'], env=world.env(), cwd=fx.path.parent,
                   stdin=f'"{value}"'.encode())
    assert result.returncode == 0, result.stderr[-300:]
    assert marker.encode() not in fx.path.read_bytes()
    out = h.run(["decrypt", "--extract", '["big"]', str(fx.path)], env=world.env(), cwd=fx.path.parent)
    assert out.returncode == 0, out.stderr[-300:]
    assert out.stdout.decode().rstrip("\n") == value


# -- hypothesis: random byte damage ---------------------------------------------------------

@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with a few bytes flipped, deleted, duplicated or inserted."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 3))):
        if not out:
            break
        at = draw(st.integers(0, len(out) - 1))
        action = draw(st.sampled_from(["flip", "delete", "insert", "duplicate"]))
        if action == "flip":
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "delete":
            del out[at: at + draw(st.integers(1, 40))]
        elif action == "insert":
            out[at:at] = draw(st.sampled_from([b"\x00", b"\n", b"'", b'"', b"]", b"=", b"\xff", b"  ", b"- "]))
        else:
            out[at:at] = out[at: at + draw(st.integers(1, 60))]
    return bytes(out)


@pytest.mark.parametrize("store", h.STORES)
@settings(max_examples=12, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_random_byte_damage(world: World, place: Place, store: str, data: st.DataObject) -> None:
    mutated = data.draw(damaged(world.fixtures[store].encrypted))
    fx = place(store, mutated)
    # damage may be harmless (whitespace, a recipient string); check() then requires full output
    problems = check(world, fx, ["decrypt", "set"], corrupt=False)
    assert not problems, "\n".join(problems)
