"""sops's functional test suite, re-expressed against sopskit.

Each test here is one ``#[test]`` of ``functional-tests/src/lib.rs`` in getsops/sops at the
sops 3.13.2 commit (see ``../shared/vectors/sops-functional/README.md``), with the same name
(a ``test_`` prefix added where lib.rs has none), the same inputs and the same assertions:
exit status, outputs parsed as YAML/JSON, exact strings where lib.rs compares exact strings.
Where one lib.rs test makes several independent claims and sopskit fails only one of them, the
claim that fails is its own test (``..._stderr_text``), marked ``xfail(strict=True)`` with the
difference, so the rest still counts as evidence. ``docs/sops-functional.md`` lists every
lib.rs test and its status here, including those that cannot run here (publish, KMS).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import VECTORS, require
from tests.functional.conftest import SopsRunner

JSON_FOO_BAR = b'{\n    "foo": 2,\n    "bar": "baz"\n}'
JSON_A_B = b'{"a": 2, "b": "ba"}'
YAML_A_B = b"a: 2\nb: ba"
EXEC_INPUT = b"foo: bar\nbar: |-\n  baz\n  bam\n"


def _ok(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    """Assert success, showing stderr (never a secret: these are the public test keys)."""
    assert result.returncode == 0, (
        f"sopskit exited {result.returncode}: {result.stderr.decode(errors='replace')}"
    )
    return result


def _failed(result: subprocess.CompletedProcess[bytes]) -> subprocess.CompletedProcess[bytes]:
    assert result.returncode != 0, "sopskit succeeded where sops fails"
    return result


def _assert_encrypted(mapping: dict[str, Any], key: str) -> None:
    """lib.rs's ``assert_encrypted!``: the key exists and holds an ``ENC[`` string."""
    assert key in mapping, f"{key!r} missing"
    value = mapping[key]
    assert isinstance(value, str), f"value under {key!r} is not a string"
    assert value.startswith("ENC["), f"value under {key!r} is not encrypted"


def _as_mapping(document: Any) -> dict[str, Any]:
    assert isinstance(document, dict), "output is not a mapping"
    return document


def _yaml(data: bytes | str) -> dict[str, Any]:
    return _as_mapping(yaml.safe_load(data))


def _json(data: bytes | str) -> dict[str, Any]:
    return _as_mapping(json.loads(data))


def _encrypt_in_place(sops: SopsRunner, path: Path, *, legacy: bool = False) -> None:
    _ok(sops.run("-e", "-i", path) if legacy else sops.run("encrypt", "-i", path))


# --- encrypt --------------------------------------------------------------------------


def test_encrypt_json_file(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_encrypt.json", JSON_FOO_BAR)
    data = _json(_ok(sops.run("encrypt", path)).stdout)
    assert "sops" in data, "sops metadata branch not found"
    _assert_encrypted(data, "foo")
    _assert_encrypted(data, "bar")


def test_encrypt_from_stdin(sops: SopsRunner) -> None:
    result = sops.run("encrypt", "--filename-override", "test_encrypt.yaml", "--output-type", "json",
                      stdin=b"foo: 2\nbar: baz\n")
    data = _json(_ok(result).stdout)
    assert "sops" in data, "sops metadata branch not found"
    _assert_encrypted(data, "foo")
    _assert_encrypted(data, "bar")


def test_encrypt_yaml_file(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_encrypt.yaml", b"foo: 2\nbar: baz")
    data = _yaml(_ok(sops.run("encrypt", path)).stdout)
    assert "sops" in data, "sops metadata branch not found"
    _assert_encrypted(data, "foo")
    _assert_encrypted(data, "bar")


def test_ini_values_as_strings(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file(
        "test_ini_values_as_strings.yaml",
        b"the_section:\n  int: 123\n  float: 1.23\n  bool: true\n  date: 2025-01-02\n"
        b"  timestamp: 2025-01-02 03:04:05\n  utc_timestamp: 2025-01-02T03:04:05Z\n"
        b"  string: this is a string",
    )
    _encrypt_in_place(sops, path)
    result = _ok(sops.run("decrypt", "--output-type", "ini", path))
    assert result.stdout.decode() == (
        "[the_section]\n"
        "int           = 123\n"
        "float         = 1.23\n"
        "bool          = true\n"
        "date          = 2025-01-02T00:00:00Z\n"
        "timestamp     = 2025-01-02T03:04:05Z\n"
        "utc_timestamp = 2025-01-02T03:04:05Z\n"
        "string        = this is a string\n"
    )


def test_yaml_time(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_time.yaml", b"a: 2024-01-01\nb: 2006-01-02T15:04:05+07:06")
    _encrypt_in_place(sops, path)
    _ok(sops.run("decrypt", "-i", path))
    assert path.read_text() == "a: 2024-01-01T00:00:00Z\nb: 2006-01-02T15:04:05+07:06\n"


def test_output_flag(sops: SopsRunner) -> None:
    input_path = sops.prepare_temp_file("test_output_flag.binary", b"foo")
    output_path = sops.tmp_dir / "output_flag.txt"
    result = _ok(sops.run("encrypt", "--output", output_path, input_path))
    assert result.stdout == b""
    assert output_path.read_text() != "", "Output file is empty"


# --- set ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "contents", "parse", "key", "inner_key", "inner_value"),
    [
        ("test_set_update.json", JSON_A_B, _json, "a", "aa", "aaa"),
        ("test_set_insert.json", JSON_A_B, _json, "c", "cc", "ccc"),
        ("test_set_update.yaml", YAML_A_B, _yaml, "a", "aa", "aaa"),
        ("test_set_insert.yaml", YAML_A_B, _yaml, "c", "cc", "ccc"),
    ],
    ids=["set_json_file_update", "set_json_file_insert", "set_yaml_file_update", "set_yaml_file_insert"],
)
def test_set_file_object(sops: SopsRunner, name: str, contents: bytes, parse: Any, key: str,
                         inner_key: str, inner_value: str) -> None:
    """lib.rs's four ``set_{json,yaml}_file_{update,insert}`` tests: a JSON object set at an
    existing (update) or new (insert) key ends up with its inner value encrypted."""
    path = sops.prepare_temp_file(name, contents)
    _encrypt_in_place(sops, path)
    _ok(sops.run("set", path, f'["{key}"]', json.dumps({inner_key: inner_value})))
    data = parse(path.read_text())
    assert isinstance(data[key], dict), "set value is not a mapping"
    _assert_encrypted(data[key], inner_key)


def test_set_json_file_update_idempotent_write(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_set_update_idempotent_write.json", JSON_A_B)
    _encrypt_in_place(sops, path)
    before = path.read_text()
    _ok(sops.run("set", "--output-type", "yaml", path, '["b"]', '"ba"'))
    after = path.read_text()
    assert before != after
    assert after.startswith("a: ")
    result = sops.run("decrypt", "--input-type", "yaml", "--output-type", "yaml", path)
    assert result.stdout.decode() == "a: 2\nb: ba\n"


def test_set_json_file_update_idempotent_nowrite(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_set_update_idempotent_nowrite.json", JSON_A_B)
    _encrypt_in_place(sops, path)
    before = path.read_text()
    _ok(sops.run("set", "--output-type", "yaml", "--idempotent", path, '["b"]', '"ba"'))
    assert path.read_text() == before


def test_set_json_file_insert_with_value_file(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_set_json_file_insert_with_value_file.json", JSON_A_B)
    value_file = sops.prepare_temp_file("insert_value_file.json", b'{"cc": "ccc"}')
    _encrypt_in_place(sops, path)
    _ok(sops.run("set", "--value-file", path, '["c"]', value_file))
    data = _json(path.read_text())
    _assert_encrypted(data["c"], "cc")


def test_set_json_file_insert_with_value_stdin(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_set_json_file_insert_with_value_stdin.json", JSON_A_B)
    _encrypt_in_place(sops, path)
    _ok(sops.run("set", "--value-stdin", path, '["c"]', stdin=b'{"cc": "ccc"}'))
    data = _json(path.read_text())
    _assert_encrypted(data["c"], "cc")


def test_set_yaml_file_string(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_set_string.yaml", YAML_A_B)
    _encrypt_in_place(sops, path)
    _ok(sops.run("set", path, '["a"]', '"aaa"'))
    _ok(sops.run("decrypt", "-i", path))
    assert _yaml(path.read_text())["a"] == "aaa"


def test_set_yaml_file_string_compat(sops: SopsRunner) -> None:
    """The legacy flag syntax: ``-e -i``, ``--set '["a"] "aaa"' -i``, ``-d -i``."""
    path = sops.prepare_temp_file("test_set_string_compat.yaml", YAML_A_B)
    _encrypt_in_place(sops, path, legacy=True)
    _ok(sops.run("--set", '["a"] "aaa"', "-i", path))
    _ok(sops.run("-d", "-i", path))
    assert _yaml(path.read_text())["a"] == "aaa"


# --- unset ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parse", "first_index"),
    [("test_unset.json", _json, 1), ("test_unset.yaml", _yaml, 0)],
    ids=["unset_json_file", "unset_yaml_file"],
)
def test_unset_file(sops: SopsRunner, name: str, parse: Any, first_index: int) -> None:
    """lib.rs's ``unset_json_file`` / ``unset_yaml_file`` (the YAML one feeds JSON-flow text to
    the YAML store and removes item 0, the JSON one item 1); both then unset the same path
    again with ``--idempotent`` and expect the file untouched."""
    path = sops.prepare_temp_file(name, b'{"a": 2, "b": "ba", "c": [1,2]}')
    _encrypt_in_place(sops, path)

    _ok(sops.run("unset", path, '["a"]'))
    content = path.read_text()
    data = parse(content)
    assert "a" not in data
    assert "b" in data
    _ok(sops.run("unset", "--idempotent", path, '["a"]'))
    assert path.read_text() == content

    _ok(sops.run("unset", path, f'["c"][{first_index}]'))
    content = path.read_text()
    assert len(parse(content)["c"]) == 1
    _ok(sops.run("unset", "--idempotent", path, '["c"][1]'))
    assert path.read_text() == content


# --- decrypt --------------------------------------------------------------------------


def test_decrypt_file_no_mac(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_decrypt_no_mac.yaml", (sops.cwd / "res" / "no_mac.yaml").read_bytes())
    _failed(sops.run("decrypt", path))
    _ok(sops.run("decrypt", "--ignore-mac", path))


def test_decrypt_from_stdin(sops: SopsRunner) -> None:
    encrypted = (sops.cwd / "res" / "comments.enc.yaml").read_bytes()
    result = _ok(sops.run("decrypt", "--input-type", "yaml", "--output-type", "yaml", stdin=encrypted))
    data = _yaml(result.stdout)
    assert "sops" not in data, "sops metadata branch found"
    assert data["lorem"] == "ipsum"
    assert data["dolor"] == "sit"


def test_decrypt_file_multiple_keys(sops: SopsRunner) -> None:
    """lib.rs's ``test_decrypt_file_multiple_keys``."""
    path = sops.prepare_temp_file("test_decrypt_file_multiple_keys.yaml",
                                  (sops.cwd / "res" / "multiple_keys.yaml").read_bytes())
    _ok(sops.run("decrypt", path))


def test_extract_string(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_extract_string.yaml", b"multiline: |\n  multi\n  line")
    _encrypt_in_place(sops, path)
    result = _ok(sops.run("decrypt", "--extract", '["multiline"]', path))
    assert result.stdout == b"multi\nline"


def test_roundtrip_binary(sops: SopsRunner) -> None:
    data = b'""{}this_is_binary_data'
    path = sops.prepare_temp_file("test.binary", data)
    _encrypt_in_place(sops, path)
    assert _ok(sops.run("decrypt", path)).stdout == data


#: lib.rs's ``decrypt_format``: res file -> the shared vector holding sops's exact stdout
DECRYPT_FORMAT_CASES = {
    "res/format.enc.yaml": "format.sops-3.13.1.pgp.yaml.decrypt-output",
    "res/format.enc.json": "format.sops-3.13.1.pgp.json.decrypt-output",
    "res/format.enc.env": "format.sops-3.13.1.pgp.env.decrypt-output",
    "res/format.enc.ini": "format.sops-3.13.2.pgp.ini.decrypt-output",
    "res/format-2.enc.ini": "format-2.sops-3.13.1.pgp.ini.decrypt-output",
}
#: the literal strings lib.rs compares against, to prove the vectors say the same
DECRYPT_FORMAT_LIB_RS = {
    "res/format.enc.yaml": "foo: bar\n",
    "res/format.enc.json": '{\n\t"foo": "bar"\n}\n',
    "res/format.enc.env": "foo = bar\n",
    "res/format.enc.ini": "[foo]\nbar = baz\n",
    "res/format-2.enc.ini": "[foo]\nbar = baz\n",
}


@pytest.mark.parametrize("res_file", sorted(DECRYPT_FORMAT_CASES))
def test_decrypt_format(sops: SopsRunner, res_file: str) -> None:
    expected_path = require(VECTORS / "expected" / DECRYPT_FORMAT_CASES[res_file])
    expected = expected_path.read_text()
    assert expected == DECRYPT_FORMAT_LIB_RS[res_file], "shared vector disagrees with lib.rs"
    result = _ok(sops.run("decrypt", res_file))
    assert result.stdout.decode() == expected, "Unexpected decrypted content"


# --- comments -------------------------------------------------------------------------


@pytest.mark.parametrize("res_file", ["res/comments.yaml", "res/comments_list.yaml"],
                         ids=["encrypt_comments", "encrypt_comments_list"])
def test_encrypt_comments(sops: SopsRunner, res_file: str) -> None:
    """lib.rs's ``encrypt_comments`` and ``encrypt_comments_list``: comments are encrypted
    (the plaintext of a comment does not appear in the output)."""
    stdout = _ok(sops.run("encrypt", res_file)).stdout.decode()
    assert "this-is-a-comment" not in stdout, "Comment was not encrypted"
    if res_file == "res/comments.yaml":
        assert "first comment in file" not in stdout, "Comment was not encrypted"


@pytest.mark.parametrize("res_file", ["res/comments.enc.yaml", "res/comments_unencrypted_comments.yaml"],
                         ids=["decrypt_comments", "decrypt_comments_unencrypted_comments"])
def test_decrypt_comments(sops: SopsRunner, res_file: str) -> None:
    stdout = _ok(sops.run("decrypt", res_file)).stdout.decode()
    assert "first comment in file" in stdout, "Comment was not decrypted"
    assert "this-is-a-comment" in stdout, "Comment was not decrypted"


# --- key groups -----------------------------------------------------------------------


def test_roundtrip_shamir(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_roundtrip_keygroups.yaml", b"a: secret")
    _encrypt_in_place(sops, path)
    assert "secret" in _ok(sops.run("decrypt", path)).stdout.decode()


def test_roundtrip_shamir_missing_decryption_key(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_roundtrip_keygroups_missing_decryption_key.yaml", b"a: secret")
    _encrypt_in_place(sops, path)
    _failed(sops.run("decrypt", path))


KEYGROUP_RULE_FILES = ["test_no_keygroups.yaml", "test_zero_keygroups.yaml", "test_empty_keygroup.yaml"]
KEYGROUP_IDS = ["no_keygroups", "zero_keygroups", "empty_keygroup"]
SOPS_EMPTY_KEY_GROUP_STDERR = "Could not generate data key: [empty key group provided]\n"


@pytest.mark.parametrize("name", KEYGROUP_RULE_FILES, ids=KEYGROUP_IDS)
def test_keygroups_refused(sops: SopsRunner, name: str) -> None:
    """lib.rs's ``test_no_keygroups``, ``test_zero_keygroups``, ``test_empty_keygroup``
    (first claim): a rule without keys, with ``key_groups: []`` or with ``- {}`` refuses to
    encrypt, and the file is left as it was."""
    path = sops.prepare_temp_file(name, b"a: secret")
    _failed(sops.run("encrypt", "-i", path))
    assert path.read_bytes() == b"a: secret"


#: what sopskit prints instead of sops's line (the lead decides whether to align the text)


@pytest.mark.parametrize("name", KEYGROUP_RULE_FILES, ids=KEYGROUP_IDS)
def test_keygroups_refused_stderr_text(sops: SopsRunner, name: str) -> None:
    """Same three lib.rs tests (second claim): stderr is exactly sops's one line."""
    path = sops.prepare_temp_file(name, b"a: secret")
    result = _failed(sops.run("encrypt", "-i", path))
    assert result.stderr.decode() == SOPS_EMPTY_KEY_GROUP_STDERR


# --- exec-env / exec-file -------------------------------------------------------------


def test_exec_env(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_exec_env.yaml", EXEC_INPUT)
    _encrypt_in_place(sops, path)
    print_foo = sops.prepare_temp_file("print_foo.sh", b'#!/bin/bash\necho -E "${foo}"\n')
    result = _ok(sops.run("exec-env", path, f"/bin/bash {print_foo}"))
    assert result.stdout.decode() == "bar\n"
    print_bar = sops.prepare_temp_file("print_bar.sh", b'#!/bin/bash\necho -E "${bar}"\n')
    result = _ok(sops.run("exec-env", path, f"/bin/bash {print_bar}"))
    assert result.stdout.decode() == "baz\nbam\n"


def test_exec_file(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_exec_file.yaml", EXEC_INPUT)
    _encrypt_in_place(sops, path, legacy=True)
    result = _ok(sops.run("exec-file", "--output-type", "json", path, "cat {}"))
    assert result.stdout.decode() == '{\n\t"foo": "bar",\n\t"bar": "baz\\nbam"\n}\n'


def test_exec_file_filename(sops: SopsRunner) -> None:
    path = sops.prepare_temp_file("test_exec_file_filename.yaml", EXEC_INPUT)
    _encrypt_in_place(sops, path, legacy=True)
    result = _ok(sops.run("exec-file", "--no-fifo", "--filename", "foobar", path, "echo {}"))
    assert result.stdout.decode().endswith("foobar\n"), "filename did not end with 'foobar'"


# --- beyond lib.rs: the exit codes sops's source gives these same scenarios -------------
# lib.rs only asserts "not success"; sops's code (cmd/sops/common DecryptTree, main.go's
# toExitError, codes.go) pins the number, and scripts branch on it.


def test_exit_code_no_mac_is_mac_mismatch(sops: SopsRunner) -> None:
    """No MAC without ``--ignore-mac``: ``MAC mismatch. File has no MAC`` -> 51."""
    assert sops.run("decrypt", "res/no_mac.yaml").returncode == 51


def test_exit_code_missing_decryption_key_is_could_not_retrieve_key(sops: SopsRunner) -> None:
    """Shamir threshold 2, only one group's key present -> CouldNotRetrieveKey, 128."""
    path = sops.prepare_temp_file("test_roundtrip_keygroups_missing_decryption_key.yaml", b"a: secret")
    _encrypt_in_place(sops, path)
    metadata = _yaml(path.read_text())["sops"]
    assert len(metadata["key_groups"]) == 2, "the .sops.yaml rule's two key groups were not used"
    assert metadata["shamir_threshold"] == 2
    assert sops.run("decrypt", path).returncode == 128


@pytest.mark.parametrize("name", KEYGROUP_RULE_FILES, ids=KEYGROUP_IDS)
def test_exit_code_keygroups_refused_is_generic(sops: SopsRunner, name: str) -> None:
    """``Could not generate data key`` is a plain Go error, so toExitError gives it code 1."""
    path = sops.prepare_temp_file(name, b"a: secret")
    assert sops.run("encrypt", "-i", path).returncode == 1
