"""`sopskit encrypt` / `sopskit decrypt` through the real entry point, in a subprocess.

Covers stdin/stdout, --output, -i, --extract, the legacy -e/-d forms, sops's exit codes, the
byte-exact decrypt output of the sops vectors, and the failure cases: each gives one line on
stderr, the right exit code, no traceback and no value.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SOPSKIT = [sys.executable, "-m", "sopskit"]
SECRET = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: hunter2-XYZ\n"


def run(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=60)


@pytest.fixture()
def age_env(tmp_path: Path) -> tuple[dict[str, str], str, str]:
    from sopskit.keys.age import generate_identity

    identity, recipient = generate_identity()
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env.update({"HOME": str(home), "SOPS_AGE_KEY": identity})
    return env, identity, recipient


def assert_clean_failure(proc: subprocess.CompletedProcess[bytes], code: int, *secrets: bytes) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert err.startswith("sopskit: ")
    for s in secrets:
        assert s not in proc.stderr and s not in proc.stdout
    return err


def test_encrypt_then_decrypt_round_trip(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    src = tmp_path / "secret.yaml"
    src.write_bytes(SECRET)
    enc = run("encrypt", "--age", recipient, "--encrypted-regex", "^(data|stringData)$", str(src),
              env=env, cwd=tmp_path)
    assert enc.returncode == 0, enc.stderr
    assert b"hunter2" not in enc.stdout and b"kind: Secret" in enc.stdout
    out = tmp_path / "secret.enc.yaml"
    out.write_bytes(enc.stdout)
    dec = run("decrypt", str(out), env=env, cwd=tmp_path)
    assert dec.returncode == 0, dec.stderr
    assert dec.stdout == SECRET


def test_stdin_output_in_place_and_extract(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    enc = run("encrypt", "--age", recipient, "--filename-override", "x.json", env=env, cwd=tmp_path,
              stdin=b'{"a": {"b": [1, "two"]}, "t": "tok"}')
    assert enc.returncode == 0, enc.stderr
    path = tmp_path / "x.json"
    path.write_bytes(enc.stdout)
    path.chmod(0o640)
    got = run("decrypt", "--extract", '["a"]["b"][1]', str(path), env=env)
    assert got.returncode == 0 and got.stdout == b"two"  # strings raw, no newline
    got = run("decrypt", "--extract", '["a"]', str(path), env=env)
    assert json.loads(got.stdout) == {"b": [1, "two"]}
    got = run("decrypt", "--input-type", "json", "-", env=env, stdin=path.read_bytes())
    assert json.loads(got.stdout) == {"a": {"b": [1, "two"]}, "t": "tok"}
    target = tmp_path / "plain.json"
    assert run("decrypt", "--output", str(target), str(path), env=env).returncode == 0
    assert json.loads(target.read_bytes())["t"] == "tok"
    assert run("decrypt", "-i", str(path), env=env).returncode == 0
    assert json.loads(path.read_bytes())["t"] == "tok"
    assert oct(path.stat().st_mode & 0o777) == oct(0o640)  # in-place keeps the mode
    assert run("encrypt", "-i", "--age", recipient, str(path), env=env).returncode == 0
    assert b"ENC[AES256_GCM" in path.read_bytes()
    bad = run("decrypt", "--extract", '["nope"]', str(path), env=env)
    assert_clean_failure(bad, 91)
    bad = run("decrypt", "--extract", "[nope", str(path), env=env)
    assert_clean_failure(bad, 91)


def test_legacy_forms(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    src = tmp_path / "a.env"
    src.write_bytes(b"TOKEN=abc\n")
    enc = run("-e", "--age", recipient, str(src), env=env)
    assert enc.returncode == 0, enc.stderr
    src.write_bytes(enc.stdout)
    dec = run("-d", str(src), env=env)
    assert dec.returncode == 0 and dec.stdout == b"TOKEN=abc\n"
    dec = run("--decrypt", "--output-type", "json", str(src), env=env)
    assert json.loads(dec.stdout) == {"TOKEN": "abc"}


def test_exit_codes_for_usage_errors(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    assert_clean_failure(run("decrypt", str(tmp_path / "missing.yaml"), env=env), 100)
    assert_clean_failure(run("encrypt", "--age", recipient, str(tmp_path / "missing.yaml"), env=env), 100)
    f = tmp_path / "p.yaml"
    f.write_bytes(b"a: 1\n")
    assert_clean_failure(run("decrypt", "-i", "--output", "x", str(f), env=env), 8)
    assert_clean_failure(run("encrypt", "--age", recipient, "--encrypted-regex", "a",
                             "--unencrypted-regex", "b", str(f), env=env), 8)
    enc = run("encrypt", "--age", recipient, str(f), env=env)
    f.write_bytes(enc.stdout)
    assert_clean_failure(run("encrypt", "--age", recipient, str(f), env=env), 203)
    empty = tmp_path / "empty.json"
    empty.write_bytes(b"")
    assert run("encrypt", "--age", recipient, str(empty), env=env).returncode != 0


def test_no_matching_rule_blocks_encryption(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: ^prod/\n    age: {recipient}\n")
    (tmp_path / "dev.yaml").write_bytes(b"a: b\n")
    err = assert_clean_failure(run("encrypt", "--age", recipient, "dev.yaml", env=env, cwd=tmp_path), 1)
    assert "no creation rule" in err
    (tmp_path / "prod").mkdir()
    (tmp_path / "prod" / "db.yaml").write_bytes(b"a: b\n")
    ok = run("encrypt", "prod/db.yaml", env=env, cwd=tmp_path)
    assert ok.returncode == 0 and recipient.encode() in ok.stdout


# -- failure cases on encrypted files -----------------------------------------------------

@pytest.fixture()
def encrypted(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> tuple[Path, dict[str, str]]:
    env, _, recipient = age_env
    src = tmp_path / "s.yaml"
    src.write_bytes(b"user: alice\npassword: hunter2-XYZ\n")
    enc = run("encrypt", "--age", recipient, str(src), env=env)
    assert enc.returncode == 0, enc.stderr
    src.write_bytes(enc.stdout)
    return src, env


def _mutate(path: Path, pattern: str, repl: str) -> None:
    text = path.read_text()
    new = re.sub(pattern, repl, text, count=1)
    assert new != text
    path.write_text(new)


def test_tampered_value(encrypted: tuple[Path, dict[str, str]]) -> None:
    path, env = encrypted
    _mutate(path, r"(password: ENC\[AES256_GCM,data:)(.)", lambda m: m.group(1) + ("B" if m.group(2) != "B" else "C"))  # type: ignore[arg-type]
    assert_clean_failure(run("decrypt", str(path), env=env), 25, b"hunter2")


def test_values_swapped_between_keys(encrypted: tuple[Path, dict[str, str]]) -> None:
    path, env = encrypted
    lines = path.read_text().splitlines(keepends=True)
    user, password = lines[0], lines[1]
    lines[0] = "user: " + password.split(": ", 1)[1]
    lines[1] = "password: " + user.split(": ", 1)[1]
    path.write_text("".join(lines))
    err = assert_clean_failure(run("decrypt", str(path), env=env), 25, b"hunter2", b"alice")
    assert '"user"' in err


def test_tampered_and_missing_mac(encrypted: tuple[Path, dict[str, str]]) -> None:
    path, env = encrypted
    original = path.read_text()
    _mutate(path, r"(mac: ENC\[AES256_GCM,data:)(.)", lambda m: m.group(1) + ("B" if m.group(2) != "B" else "C"))  # type: ignore[arg-type]
    assert_clean_failure(run("decrypt", str(path), env=env), 51, b"hunter2")
    path.write_text(re.sub(r"(?m)^    mac: .*\n", "", original))
    assert_clean_failure(run("decrypt", str(path), env=env), 51, b"hunter2")
    ok = run("decrypt", "--ignore-mac", str(path), env=env)
    assert ok.returncode == 0 and b"hunter2" in ok.stdout


def test_plain_value_edited_in_an_encrypted_file_breaks_the_mac(tmp_path: Path,
                                                               age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    src = tmp_path / "s.yaml"
    src.write_bytes(b"note_unencrypted: hello\npassword: x\n")
    src.write_bytes(run("encrypt", "--age", recipient, str(src), env=env).stdout)
    _mutate(src, "hello", "HELLO")
    assert_clean_failure(run("decrypt", str(src), env=env), 51)


def test_wrong_key_names_the_recipients_tried(encrypted: tuple[Path, dict[str, str]]) -> None:
    from sopskit.keys.age import generate_identity

    path, env = encrypted
    other, _ = generate_identity()
    recipient = re.search(r"recipient: (age1\w+)", path.read_text())
    assert recipient
    proc = run("decrypt", str(path), env={**env, "SOPS_AGE_KEY": other})
    err = assert_clean_failure(proc, 128, b"hunter2", other.encode(), env["SOPS_AGE_KEY"].encode())
    assert recipient.group(1) in err


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        (lambda t: t[: len(t) // 2], None),                                  # truncated
        (lambda t: t.replace("ENC[AES256_GCM,data:", "ENC[AES256_GCM,dada:", 1), 25),  # malformed ENC
        (lambda t: t.replace("user: ", "user: [unclosed ", 1), None),         # broken YAML
        (lambda t: re.sub(r"(?s)sops:.*", "", t), 1),                          # no metadata
    ],
    ids=["truncated", "malformed-enc", "broken-yaml", "no-metadata"],
)
def test_damaged_files(encrypted: tuple[Path, dict[str, str]], mutation, code: int | None) -> None:  # type: ignore[no-untyped-def]
    path, env = encrypted
    path.write_text(mutation(path.read_text()))
    proc = run("decrypt", str(path), env=env)
    assert proc.returncode != 0
    assert_clean_failure(proc, code if code is not None else proc.returncode, b"hunter2")
    assert len(proc.stderr.decode().strip().splitlines()) <= 2  # one line, plus an optional hint


def test_broken_json_plaintext(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _, recipient = age_env
    src = tmp_path / "b.json"
    src.write_bytes(b'{"password": "hunter2-XYZ",')
    assert_clean_failure(run("encrypt", "--age", recipient, str(src), env=env), 2, b"hunter2")


# -- exact output of the sops vectors ------------------------------------------------------

EXACT = [
    ("yaml/format.sops-3.13.1.pgp.yaml", "expected/format.sops-3.13.1.pgp.yaml.decrypt-output"),
    ("json/format.sops-3.13.1.pgp.json", "expected/format.sops-3.13.1.pgp.json.decrypt-output"),
    ("dotenv/format.sops-3.13.1.pgp.env", "expected/format.sops-3.13.1.pgp.env.decrypt-output"),
    ("ini/format.sops-3.13.2.pgp.ini", "expected/format.sops-3.13.2.pgp.ini.decrypt-output"),
    ("ini/format-2.sops-3.13.1.pgp.ini", "expected/format-2.sops-3.13.1.pgp.ini.decrypt-output"),
    ("binary/example.sops-3.5.0.pgp.txt", "expected/example.sops-3.5.0.pgp.txt.plaintext"),
    ("binary/example.sops-3.7.1.age.txt", "expected/example.sops-3.7.1.age.txt.plaintext"),
    ("binary/example.label-1.0.pgp.txt", "expected/example.label-1.0.pgp.txt.plaintext"),
]


@pytest.mark.parametrize(("vector", "expected"), EXACT, ids=[v for v, _ in EXACT])
def test_exact_decrypt_output(vector: str, expected: str, vectors_dir: Path, key_env: dict[str, str]) -> None:
    env = {**os.environ, **key_env}
    proc = run("decrypt", str(vectors_dir / vector), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (vectors_dir / expected).read_bytes()


def test_bad_mac_vectors_exit_51(vectors_dir: Path, key_env: dict[str, str]) -> None:
    env = {**os.environ, **key_env}
    for name in ("yaml/example.sops-3.5.0.pgp.BAD-MAC.yaml", "yaml/no_mac.sops-3.3.1.pgp.NO-MAC.yaml"):
        assert_clean_failure(run("decrypt", str(vectors_dir / name), env=env), 51)
        assert run("decrypt", "--ignore-mac", str(vectors_dir / name), env=env).returncode == 0


def test_decrypting_an_age_file_loads_no_cloud_sdk(tmp_path: Path, age_env: tuple[dict[str, str], str, str]) -> None:
    env, _identity, recipient = age_env
    src = tmp_path / "s.yaml"
    src.write_bytes(SECRET)
    src.write_bytes(run("encrypt", "--age", recipient, str(src), env=env).stdout)
    heavy = "('boto3','botocore','google','azure','kubernetes','hvac','rich','ruamel','re2','subprocess')"
    # standard modules that cost a cold start milliseconds and a decrypt does not need
    # (docs/performance.md): the argument parser, dataclasses (inspect, ast...), shutil, pathlib,
    # OpenSSL's hashlib (the MAC uses CPython's own SHA-512), threading, decimal; pyrage and
    # cryptography's OpenSSL backend module (X25519 identities are native, keys/age_x25519.py)
    heavy = heavy[:-1] + (",'argparse','dataclasses','inspect','ast','dis','shutil','gettext','pathlib',"
                          "'urllib','hashlib','_hashlib','hmac','threading','decimal','pyrage','typing')")
    # typing comes with cryptography's public modules (exceptions, hashes, hmac): the decrypt
    # path uses the Rust bindings, CPython's SHA-256 for age's HMAC, and names InvalidTag only
    # once the bindings raised it
    unneeded_heavy = ("('cryptography.hazmat.backends','cryptography.hazmat.primitives',"
                      "'cryptography.hazmat.decrepit','cryptography.exceptions','cryptography.utils')")
    # sopskit packages a plain age decryption has no use for; the post-quantum age code loads
    # only for an AGE-SECRET-KEY-PQ-1 identity
    unneeded = ("('sopskit.scan','sopskit.policy','sopskit.review','sopskit.k8s','sopskit.leak',"
                "'sopskit.inventory','sopskit.doctor','sopskit.keys.age_pq','sopskit.keys.age_hpke')")
    probe = (
        # main() with argv returns by SystemExit (started as a process, a decrypt skips the teardown)
        "import sys\nfrom sopskit.cli.main import main\n"
        f"try:\n    main(['decrypt', {str(src)!r}])\n"
        "except SystemExit:\n    pass\n"
        f"bad=[m for m in sys.modules if m.split('.')[0] in {heavy} or m.startswith({unneeded})"
        f" or m.startswith({unneeded_heavy})]\n"
        "sys.stderr.write('LOADED:'+','.join(sorted(bad)))\n"
    )
    # in tmp_path: no .sops.yaml above it (a found one is read, and pathlib with it)
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.stdout == SECRET
    assert proc.stderr.decode().endswith("LOADED:"), proc.stderr.decode()


@pytest.mark.parametrize("command", ["publish", "keyservice", "completion"])
def test_unimplemented_sops_commands_fail_clearly(command: str, tmp_path: Path) -> None:
    proc = run(command, "--yes", "x.json", cwd=tmp_path)
    err = assert_clean_failure(proc, 1)
    assert "does not implement" in err
    assert list(tmp_path.iterdir()) == []  # nothing created (no editor opened on a new file)
