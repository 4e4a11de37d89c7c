"""F1-F3 and the file-size limit: deep nesting, YAML alias bombs, huge flattened list indexes
and oversized files end in bounded time and memory with one line and exit 2; nesting up to
the documented maximum works in every command."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from sopskit.stores.limits import Limits
from tests.hostile._support import Env, run_limited

DEPTH_OK = Limits().max_depth - 10  # sops reads these; so must we
DEPTH_BAD = Limits().max_depth + 200


def deep_yaml_block(depth: int) -> bytes:
    return ("".join(" " * i + "a:\n" for i in range(depth - 1)) + " " * (depth - 1) + "b: 1\n").encode()


def deep_yaml_flow(depth: int, *, comment: bool = False) -> bytes:
    head = "# a comment sends this through the ruamel parser\n" if comment else ""
    n = depth - 1
    return f"{head}x: {'[' * n}1{']' * n}\n".encode()


def deep_json(depth: int) -> bytes:
    n = depth - 1
    return ('{"x": ' + '{"a": ' * (n - 1) + "[1" + "]" + "}" * (n - 1) + "}\n").encode()


DEEP = {
    "yaml-block": ("s.yaml", deep_yaml_block),
    "yaml-flow": ("s.yaml", deep_yaml_flow),
    "yaml-comments": ("s.yaml", lambda d: deep_yaml_flow(d, comment=True)),
    "json": ("s.json", deep_json),
}


# an editor that changes a deep file without parsing it (a parser could not nest that deep)
EDITOR = r"""
import sys
path = sys.argv[-1]
text = open(path).read()
if path.endswith(".json"):
    text = text[: text.rindex("}")] + ', "edited": "yes"}\n'
else:
    text += "edited: 'yes'\n"
open(path, "w").write(text)
"""


def _assert_limit(out: object, what: str) -> None:
    import subprocess

    assert isinstance(out, subprocess.CompletedProcess)
    err = out.stderr.decode()
    assert out.returncode == 2, err
    assert what in err and "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) <= 2  # one line, plus the hint


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_deep_nesting_within_the_limit_works_in_every_command(keyenv: Env, tmp_path: Path, kind: str) -> None:
    name, make = DEEP[kind]
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {keyenv.key.recipient}\n")
    enc = keyenv.encrypt(make(DEPTH_OK), tmp_path / name)
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    commands = [
        ["edit", str(enc)],
        ["decrypt", str(enc)],
        ["filestatus", str(enc)],
        ["set", str(enc), '["extra"]', '"v"'],
        ["rotate", "-i", str(enc)],
        ["updatekeys", "-y", str(enc)],
        ["exec-file", "--no-fifo", str(enc), "test -s {}"],
        ["decrypt", "-i", str(enc)],
    ]
    env = keyenv.with_(EDITOR=f"{sys.executable} {editor}")
    for args in commands:
        out = run_limited(args, env=env, cwd=tmp_path, timeout=120)
        assert out.returncode == 0, (args, out.stderr.decode()[-300:])
    assert b"extra" in enc.read_bytes() and b"edited" in enc.read_bytes()


@pytest.mark.parametrize("kind", sorted(DEEP))
def test_deep_nesting_beyond_the_limit_is_one_line_exit_2(keyenv: Env, tmp_path: Path, kind: str) -> None:
    name, make = DEEP[kind]
    src = tmp_path / name
    src.write_bytes(make(DEPTH_BAD))
    started = time.monotonic()
    out = run_limited(["encrypt", "--age", keyenv.key.recipient, str(src)], env=keyenv.env)
    _assert_limit(out, "nesting depth limit")
    assert "SOPSKIT_MAX_DEPTH" in out.stderr.decode()
    assert time.monotonic() - started < 60


def test_raised_depth_limit_reads_deeper_files(keyenv: Env, tmp_path: Path) -> None:
    env = keyenv.with_(SOPSKIT_MAX_DEPTH=str(DEPTH_BAD + 10))
    for name, make in (("s.yaml", deep_yaml_flow), ("s.json", deep_json)):
        src = tmp_path / name
        src.write_bytes(make(DEPTH_BAD))
        out = run_limited(["encrypt", "--age", keyenv.key.recipient, str(src)], env=env, timeout=120)
        assert out.returncode == 0, out.stderr.decode()
        enc = tmp_path / f"enc-{name}"
        enc.write_bytes(out.stdout)
        assert run_limited(["decrypt", str(enc)], env=env, timeout=120).returncode == 0
        # the same file under the default limit: refused, not crashed
        _assert_limit(run_limited(["decrypt", str(enc)], env=keyenv.env), "nesting depth limit")


def alias_bomb(*, comment: bool = False) -> bytes:
    """The classic billion-laughs shape: nine levels of nine aliases (342 bytes)."""
    text = "# c\n" if comment else ""
    text += 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join(["*" + previous] * 9) + "]\n"
        previous = name
    return text.encode()


@pytest.mark.parametrize("comment", [False, True], ids=["libyaml", "ruamel"])
def test_alias_bomb_is_bounded_in_every_command(keyenv: Env, tmp_path: Path, comment: bool) -> None:
    src = tmp_path / "bomb.yaml"
    src.write_bytes(alias_bomb(comment=comment))
    _assert_limit(run_limited(["encrypt", "--age", keyenv.key.recipient, str(src)], env=keyenv.env),
                  "node count")
    # an encrypted file carrying the bomb next to real metadata: refused before any MAC check
    enc = keyenv.encrypt(b"real: value\n", tmp_path / "s.yaml")
    enc.write_bytes(alias_bomb(comment=comment) + enc.read_bytes())
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {keyenv.key.recipient}\n")
    for args in (["decrypt", str(enc)], ["filestatus", str(enc)], ["updatekeys", "-y", str(enc)],
                 ["rotate", "-i", str(enc)], ["exec-env", str(enc), "true"], ["set", str(enc), '["a"]', "1"]):
        started = time.monotonic()
        out = run_limited(args, env=keyenv.env, cwd=tmp_path)
        _assert_limit(out, "node count")
        assert time.monotonic() - started < 60


def test_small_alias_use_still_works(keyenv: Env, tmp_path: Path) -> None:
    enc = keyenv.encrypt(b"base: &b {user: u, pass: p}\nprod: *b\nlist: [*b, *b]\n", tmp_path / "s.yaml")
    assert keyenv.decrypt(enc).count(b"user: u") == 4


@pytest.mark.parametrize("store", ["dotenv", "ini"])
def test_huge_flattened_list_index_is_bounded(keyenv: Env, tmp_path: Path, store: str) -> None:
    if store == "dotenv":
        path = tmp_path / "s.env"
        path.write_bytes(b"A=ENC[x]\nsops_age__list_999999999999__map_recipient=x\nsops_version=3.9.0\n")
    else:
        path = tmp_path / "s.ini"
        path.write_bytes(b"[s]\nA=1\n[sops]\nage__list_999999999999__map_recipient=x\nversion=3.9.0\n")
    for args in (["decrypt", str(path)], ["filestatus", str(path)]):
        out = run_limited(args, env=keyenv.env)
        _assert_limit(out, "list index limit")
        assert "SOPSKIT_MAX_LIST_INDEX" in out.stderr.decode()


@pytest.mark.parametrize("store", ["dotenv", "ini"])
def test_deep_flattened_metadata_is_bounded(keyenv: Env, tmp_path: Path, store: str) -> None:
    key = "x" + "__map_a" * DEPTH_BAD
    if store == "dotenv":
        path = tmp_path / "s.env"
        path.write_text(f"A=ENC[x]\nsops_{key}=v\nsops_version=3.9.0\n")
    else:
        path = tmp_path / "s.ini"
        path.write_text(f"[s]\nA=1\n[sops]\n{key}=v\nversion=3.9.0\n")
    _assert_limit(run_limited(["decrypt", str(path)], env=keyenv.env), "nesting depth limit")


@pytest.mark.parametrize("name", ["s.yaml", "s.json", "s.env", "s.ini", "s.bin"])
def test_file_size_limit(keyenv: Env, tmp_path: Path, name: str) -> None:
    src = tmp_path / name
    src.write_bytes(b'{"a": "' + b"x" * 3000 + b'"}\n' if name.endswith(".json") else
                    b"[s]\na=" + b"x" * 3000 + b"\n" if name.endswith(".ini") else
                    b"a=" + b"x" * 3000 + b"\n" if name.endswith(".env") else
                    b"a: " + b"x" * 3000 + b"\n")
    env = keyenv.with_(SOPSKIT_MAX_FILE_SIZE="2000")
    out = run_limited(["encrypt", "--age", keyenv.key.recipient, str(src)], env=env)
    _assert_limit(out, "file size")
    assert "SOPSKIT_MAX_FILE_SIZE" in out.stderr.decode()
    assert run_limited(["encrypt", "--age", keyenv.key.recipient, str(src)], env=keyenv.env).returncode == 0


def test_bad_limit_setting_is_one_line(keyenv: Env, tmp_path: Path) -> None:
    src = tmp_path / "s.yaml"
    src.write_bytes(b"a: 1\n")
    out = run_limited(["encrypt", "--age", keyenv.key.recipient, str(src)],
                      env=keyenv.with_(SOPSKIT_MAX_DEPTH="lots"))
    assert out.returncode == 2 and b"SOPSKIT_MAX_DEPTH" in out.stderr
