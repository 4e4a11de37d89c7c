"""The argparse-free reading of ``sopskit decrypt`` arguments (cli.commands.crypt.parse_decrypt_fast).

It must give exactly the namespace the full parser gives, and give up (None) on anything
it does not handle, so the full parser (and its error messages) takes over.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.cli.commands.crypt import parse_decrypt_fast, run_decrypt
from sopskit.cli.main import build_parser, run

READ_FAST = [
    [],
    ["-"],
    ["secret.enc.yaml"],
    ["--ignore-mac", "s.yaml"],
    ["s.yaml", "--ignore-mac"],
    ["-i", "s.yaml"],
    ["--in-place", "--verbose", "--debug", "s.yaml"],
    ["--disable-version-check", "--check-for-updates", "s.json"],
    ["--input-type", "json", "--output-type", "yaml", "-"],
    ["--input-type=dotenv", "--output-type=binary", "x"],
    ["--extract", '["data"]["password"]', "s.yaml"],
    ['--extract=["a"][0]', "s.yaml"],
    ["--output", "out.yaml", "s.yaml"],
    ["--output=", "s.yaml"],
    ["--output=-x", "s.yaml"],
    ["--config", "other/.sops.yaml", "--filename-override", "a.env", "-"],
    ["--decryption-order", "pgp,age", "s.yaml"],
    ["--decryption-order=age", "--decryption-order=pgp", "s.yaml"],
    ["--ignore-mac", "--ignore-mac", "s.yaml"],
]

LEFT_TO_ARGPARSE = [
    ["-h"],
    ["--help"],
    ["--ign", "s.yaml"],  # an abbreviation: argparse accepts it
    ["--age", "age1x", "s.yaml"],
    ["--from-cluster", "s.yaml"],
    ["--indent", "4", "s.yaml"],
    ["--input-type", "toml", "s.yaml"],  # a bad choice: argparse's message
    ["--output-type=xml", "s.yaml"],
    ["--output", "-", "s.yaml"],
    ["--output"],
    ["--ignore-mac=yes", "s.yaml"],
    ["--", "s.yaml"],
    ["-iv", "s.yaml"],
    ["a.yaml", "b.yaml"],
    ["--unknown", "s.yaml"],
]


@pytest.mark.parametrize("argv", READ_FAST, ids=lambda a: " ".join(a) or "<none>")
def test_fast_namespace_equals_the_parser(argv: list[str]) -> None:
    fast = parse_decrypt_fast(argv)
    assert fast is not None
    full = build_parser("decrypt").parse_args(["decrypt", *argv])
    assert vars(fast) == vars(full)
    assert fast.handler is run_decrypt


@pytest.mark.parametrize("argv", LEFT_TO_ARGPARSE, ids=lambda a: " ".join(a))
def test_anything_else_is_left_to_argparse(argv: list[str]) -> None:
    assert parse_decrypt_fast(argv) is None


def test_shared_defaults_follow_the_key_table() -> None:
    from sopskit.format import keytypes

    row = keytypes.key_type("age")
    assert row is not None
    keytypes.register(row.replace(name="dummy", flags=("--dummy",), env="SOPS_DUMMY"))
    try:
        fast = parse_decrypt_fast(["s.yaml"])
        full = build_parser("decrypt").parse_args(["decrypt", "s.yaml"])
        assert fast is not None and vars(fast) == vars(full)
        assert fast.key_dummy is None
    finally:
        keytypes.unregister("dummy")


def test_errors_still_come_from_the_full_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(["decrypt", "--input-type", "toml", "s.yaml"])
    assert exc.value.code == 2
    assert "invalid choice: 'toml'" in capsys.readouterr().err


def test_decrypt_reads_only_the_stores_indent_of_sops_yaml(tmp_path: Path) -> None:
    """A decrypt reads .sops.yaml for ``stores.yaml.indent`` only: a creation rule it has no use
    for (here an invalid path_regex) neither fails it nor costs it a regex engine."""
    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update({"HOME": str(tmp_path), "SOPS_AGE_KEY": identity})
    src = tmp_path / "s.yaml"
    src.write_bytes(b"top:\n    nested: value\n")
    sopskit = [sys.executable, "-m", "sopskit"]
    enc = subprocess.run([*sopskit, "encrypt", "--age", recipient, str(src)], env=env, cwd=tmp_path,
                         capture_output=True, timeout=60, check=True).stdout
    src.write_bytes(enc)
    (tmp_path / ".sops.yaml").write_text("stores:\n  yaml:\n    indent: 2\n"
                                         "creation_rules:\n  - path_regex: '(unclosed'\n    age: x\n")
    probe = ("import sys\nfrom sopskit.cli.main import main\n"
             "try:\n    main(['decrypt', 's.yaml'])\nexcept SystemExit as exc:\n    code = exc.code\n"
             "sys.stderr.write(f'CODE:{code} RE2:{\"re2\" in sys.modules}')\n")
    proc = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert proc.stdout == b"top:\n  nested: value\n"
    assert proc.stderr.decode().endswith("CODE:0 RE2:False"), proc.stderr.decode()
    from sopskit.config import load_config

    assert load_config(tmp_path / ".sops.yaml", rules=False).creation_rules == []


def test_a_process_decrypt_skips_teardown_only_when_no_exit_handler_waits(tmp_path: Path) -> None:
    """``sopskit decrypt`` as a process ends with os._exit after flushing; a registered atexit
    handler (coverage, logging, a plug-in) must still run, and the exit code must survive."""
    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "COV_", "COVERAGE"))}
    env.update({"HOME": str(tmp_path), "SOPS_AGE_KEY": identity})
    src = tmp_path / "s.yaml"
    src.write_bytes(b"k: v\n")
    enc = subprocess.run([sys.executable, "-m", "sopskit", "encrypt", "--age", recipient, str(src)], env=env,
                         capture_output=True, timeout=60, check=True).stdout
    src.write_bytes(enc)
    start = "import sys\nsys.argv = ['sopskit', 'decrypt', 's.yaml']\n"
    handler = "import atexit\natexit.register(lambda: sys.stderr.write('HANDLER RAN'))\n"
    run_main = "from sopskit.cli.main import main\nmain()\n"
    with_handler = subprocess.run([sys.executable, "-c", start + handler + run_main], env=env, cwd=tmp_path,
                                  capture_output=True, timeout=60)
    assert with_handler.returncode == 0 and with_handler.stdout == b"k: v\n"
    assert b"HANDLER RAN" in with_handler.stderr
    wrong_key = {**env, "SOPS_AGE_KEY": generate_identity()[0]}
    failing = subprocess.run([sys.executable, "-c", start + run_main], env=wrong_key, cwd=tmp_path,
                             capture_output=True, timeout=60)
    assert failing.returncode == 128 and failing.stdout == b""
