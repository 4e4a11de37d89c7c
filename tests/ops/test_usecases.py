"""The use cases the CLI commands call, driven as a library (no argparse, no process):
encrypt by rule, set/unset, key groups add/delete, and git's decrypt-or-keep."""

from __future__ import annotations

import pytest
import yaml

from sopskit.errors import ConfigError, PathNotFoundError, SopsError, UsageError
from sopskit.keys.age import generate_identity
from sopskit.ops.decrypt import decrypt, decrypt_or_keep, load, make_context
from sopskit.ops.encrypt import encrypt_for_rule
from sopskit.ops.groups import add_key_group, delete_key_group, new_group_specs
from sopskit.ops.mutate import set_encrypted, unset_encrypted

PLAIN = b"db:\n    password: hunter2-XYZ\n    user: app\n"


@pytest.fixture(scope="module")
def keys() -> tuple[tuple[str, str], tuple[str, str]]:
    return generate_identity(), generate_identity()


def _encrypt(recipient: str, **kw: object) -> bytes:
    return encrypt_for_rule(PLAIN, input_format="yaml", output_format="yaml", rule_path=None, config=None,
                            keys={"age": [recipient]}, **kw)  # type: ignore[arg-type]


def test_encrypt_for_rule_selection_and_round_trip(keys: tuple[tuple[str, str], ...]) -> None:
    (ident, recip), _ = keys
    enc = _encrypt(recip, selection_options={"encrypted_regex": "^password$"})
    assert b"hunter2" not in enc and b"user: app" in enc
    assert decrypt(enc, format="yaml", context=make_context([ident])) == PLAIN


def test_set_and_unset(keys: tuple[tuple[str, str], ...]) -> None:
    (ident, recip), _ = keys
    ctx = make_context([ident])
    enc = _encrypt(recip)
    changed = set_encrypted(enc, '["db"]["port"]', "5432", input_format="yaml", context=ctx)
    assert changed is not None
    assert load(changed, format="yaml", identities=[ident])["db"] == {
        "password": "hunter2-XYZ", "user": "app", "port": 5432}
    assert set_encrypted(changed, '["db"]["port"]', "5432", input_format="yaml", context=ctx,
                         idempotent=True) is None
    gone = unset_encrypted(changed, '["db"]["user"]', input_format="yaml", context=ctx)
    assert gone is not None and "user" not in load(gone, format="yaml", identities=[ident])["db"]
    with pytest.raises(PathNotFoundError):
        unset_encrypted(gone, '["db"]["user"]', input_format="yaml", context=ctx)
    assert unset_encrypted(gone, '["db"]["user"]', input_format="yaml", context=ctx, idempotent=True) is None


def test_set_parses_before_reading() -> None:
    def never() -> bytes:
        raise AssertionError("read before the request was checked")

    with pytest.raises(Exception) as info:
        set_encrypted(never, "not a path", "1", input_format="yaml")
    assert not isinstance(info.value, AssertionError)


def test_groups_add_then_delete(keys: tuple[tuple[str, str], ...]) -> None:
    (ident1, recip1), (ident2, recip2) = keys
    enc = _encrypt(recip1)
    with pytest.raises(UsageError):
        new_group_specs({"age": []})
    two = add_key_group(enc, new_group_specs({"age": [recip2]}), input_format="yaml",
                        context=make_context([ident1]))
    groups = yaml.safe_load(two)["sops"]["key_groups"]
    assert [[r["recipient"] for r in g["age"]] for g in groups] == [[recip1], [recip2]]
    # Shamir over both groups: one identity alone no longer opens the file
    with pytest.raises(SopsError):
        decrypt(two, format="yaml", context=make_context([ident2]))
    assert decrypt(two, format="yaml", context=make_context([ident1, ident2])) == PLAIN
    one = delete_key_group(two, 0, input_format="yaml", threshold=1, context=make_context([ident1, ident2]))
    assert decrypt(one, format="yaml", context=make_context([ident2])) == PLAIN
    with pytest.raises(ConfigError):
        delete_key_group(one, 0, input_format="yaml", context=make_context([ident2]))


def test_decrypt_or_keep(keys: tuple[tuple[str, str], ...]) -> None:
    (ident, recip), (other, _) = keys
    enc = _encrypt(recip)
    asked: list[int] = []

    def ctx(identity: str):  # type: ignore[no-untyped-def]
        def make():  # type: ignore[no-untyped-def]
            asked.append(1)
            return make_context([identity]), ("age",)
        return make

    assert decrypt_or_keep(PLAIN, input_format="yaml", keys=ctx(ident)) == (PLAIN, None)
    assert not asked  # a plaintext file never resolves keys
    assert decrypt_or_keep(enc, input_format="yaml", keys=ctx(ident)) == (PLAIN, None)
    kept, why = decrypt_or_keep(enc, input_format="yaml", keys=ctx(other))
    assert kept == enc and why
