"""F10: key names, paths and recipients from files reach the terminal with their control
characters escaped, in errors, warnings and the commands' own progress lines."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sopskit.cli.main import terminal_safe
from tests.hostile._support import Env, run_limited

RAW_CONTROL = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]|\xe2\x80[\xaa-\xae]|\xe2\x81[\xa6-\xa9]")


def test_terminal_safe_escapes_controls_and_bidi() -> None:
    assert terminal_safe("k\x1b[2K\rok") == "k\\x1b[2K\\rok"
    assert terminal_safe("a\u202eb\x9bc\x7f") == "a\\u202eb\\x9bc\\x7f"
    assert terminal_safe("line\nnext\ttab", keep="\n\t") == "line\nnext\ttab"
    assert terminal_safe("plain ünïcode ✓") == "plain ünïcode ✓"


def _tamper_first_value(path: Path) -> None:
    text = path.read_text()
    match = re.search(r"ENC\[AES256_GCM,data:([A-Za-z0-9+/]{4})", text)
    assert match is not None
    fake = "AAAA" if match.group(1) != "AAAA" else "BBBB"
    path.write_text(text[: match.start(1)] + fake + text[match.end(1):])


def test_key_name_with_escape_sequences_is_escaped_in_errors(keyenv: Env, tmp_path: Path) -> None:
    hostile_key = "k\x1b[2K\r\x1b[32mok\x1b[0m\u202e"
    enc = keyenv.encrypt(json.dumps({hostile_key: "secret-value"}).encode(), tmp_path / "s.json")
    _tamper_first_value(enc)
    out = run_limited(["decrypt", str(enc)], env=keyenv.env)
    assert out.returncode != 0
    assert b"\\x1b[2K" in out.stderr  # the key is named, escaped
    assert not RAW_CONTROL.search(out.stderr), out.stderr
    assert b"secret-value" not in out.stderr


def test_hostile_path_is_escaped_in_progress_lines(keyenv: Env, tmp_path: Path) -> None:
    directory = tmp_path / "d\x1b[31mir"
    directory.mkdir()
    enc = keyenv.encrypt(b"a: 1\n", directory / "s.yaml")
    out = run_limited(["rotate", "--dry-run", str(enc)], env=keyenv.env)
    assert out.returncode == 0, out.stderr
    assert b"\\x1b[31m" in out.stderr and not RAW_CONTROL.search(out.stderr)
