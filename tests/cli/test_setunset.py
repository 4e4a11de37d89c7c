"""``set`` / ``unset`` / legacy ``--set`` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli._support import base_env, decrypt, enc_values, encrypt_json, new_age_key, run
from tests.conftest import VECTORS, require


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    key = new_age_key(tmp_path)
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(key.key_file))
    (tmp_path / "home").mkdir()
    path = encrypt_json({"a": "alpha", "b": {"c": 1}, "l": ["x", "y"]}, tmp_path / "s.enc.json",
                        key.recipient, env)
    return path, env


def test_set_string_creates_missing_path_and_keeps_other_ciphertext(
    setup: tuple[Path, dict[str, str]],
) -> None:
    path, env = setup
    before = enc_values(path)
    out = run(["set", str(path), '["new"]["deep"]', '"v1"'], env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(decrypt(path, env))["new"] == {"deep": "v1"}
    after = enc_values(path)
    for key in ("a", "b.c", "l[0]", "l[1]"):
        assert after[key] == before[key]


def test_set_scalar_number_is_float_but_object_keeps_ints(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    assert run(["set", str(path), '["n"]', "5"], env=env).returncode == 0
    assert run(["set", str(path), '["o"]', '{"i": 5, "f": 1.5}'], env=env).returncode == 0
    values = enc_values(path)
    assert values["n"].endswith("type:float]")
    assert values["o.i"].endswith("type:int]")
    assert values["o.f"].endswith("type:float]")


def test_set_index_past_end_appends(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    assert run(["set", str(path), '["l"][9]', '"z"'], env=env).returncode == 0
    assert json.loads(decrypt(path, env))["l"] == ["x", "y", "z"]


def test_set_value_file_and_stdin(setup: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    path, env = setup
    value_file = tmp_path / "v.json"
    value_file.write_text('{"from": "file"}')
    assert run(["set", "--value-file", str(path), '["vf"]', str(value_file)], env=env).returncode == 0
    assert run(["set", "--value-stdin", str(path), '["vs"]'], env=env, stdin=b'"from stdin"').returncode == 0
    plain = json.loads(decrypt(path, env))
    assert plain["vf"] == {"from": "file"}
    assert plain["vs"] == "from stdin"


def test_set_idempotent_does_not_rewrite(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    before = path.read_bytes()
    assert run(["set", "--idempotent", str(path), '["a"]', '"alpha"'], env=env).returncode == 0
    assert path.read_bytes() == before
    # without --idempotent sops rewrites (new lastmodified and MAC)
    assert run(["set", str(path), '["a"]', '"alpha"'], env=env).returncode == 0
    assert enc_values(path)["a"] == enc_values_from(before)["a"]


def enc_values_from(data: bytes) -> dict[str, str]:
    parsed = json.loads(data)
    return {k: v for k, v in parsed.items() if isinstance(v, str)}


def test_set_errors_have_sops_exit_codes(setup: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    path, env = setup
    bad_json = run(["set", str(path), '["a"]', "not-json-secret"], env=env)
    assert bad_json.returncode == 7
    assert b"not-json-secret" not in bad_json.stderr  # the value never appears in a message
    assert run(["set", str(path), "bad path", '"x"'], env=env).returncode == 7
    assert run(["set", str(tmp_path / "missing.json"), '["a"]', '"x"'], env=env).returncode == 100
    assert b"Traceback" not in bad_json.stderr


def test_unset_and_idempotent(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    assert run(["unset", str(path), '["b"]["c"]'], env=env).returncode == 0
    assert json.loads(decrypt(path, env))["b"] == {}
    assert run(["unset", str(path), '["l"][0]'], env=env).returncode == 0
    assert json.loads(decrypt(path, env))["l"] == ["y"]
    before = path.read_bytes()
    missing = run(["unset", str(path), '["nope"]'], env=env)
    assert missing.returncode == 1
    assert b'["nope"]' in missing.stderr
    assert run(["unset", "--idempotent", str(path), '["nope"]'], env=env).returncode == 0
    assert path.read_bytes() == before


def test_legacy_set(setup: tuple[Path, dict[str, str]]) -> None:
    path, env = setup
    out = run(["--set", '["a"] "legacy"', str(path)], env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(decrypt(path, env))["a"] == "legacy"
    assert run(["--set", "garbage", str(path)], env=env).returncode == 7


def test_set_on_real_sops_vector_keeps_untouched_ciphertext(tmp_path: Path) -> None:
    vector = require(VECTORS / "yaml" / "example.sops-3.7.1.age.yaml")
    keys = require(VECTORS / "keys" / "age" / "keys.txt")
    (tmp_path / "home").mkdir()
    env = base_env(tmp_path / "home", SOPS_AGE_KEY_FILE=str(keys))
    work = tmp_path / "example.yaml"
    work.write_bytes(vector.read_bytes())
    def data_lines(text: str) -> list[str]:
        lines = text.splitlines()
        return lines[: lines.index("sops:")]

    original = data_lines(vector.read_text())
    assert run(["set", str(work), '["added_by_test"]', '"hello"'], env=env).returncode == 0
    updated = data_lines(work.read_text())
    # every value line sops wrote is byte-identical; the new key is the only addition
    # (the metadata block is rewritten in the 3.13 layout, as sops 3.13 itself does)
    assert [line for line in updated if not line.startswith("added_by_test:")] == original
    assert sum(line.startswith("added_by_test: ENC[") for line in updated) == 1
    out = decrypt(work, env)
    assert b"added_by_test: hello" in out
