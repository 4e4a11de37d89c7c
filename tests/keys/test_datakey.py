"""Data-key wrapping and recovery: one group, Shamir groups, decryption order, reports."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from sopskit.errors import (
    ConfigError,
    DataKeyUnavailableError,
    DuplicateDecryptionKeyTypeError,
    KeyOutcome,
    MasterKeyError,
    UsageError,
)
from sopskit.format import shamir
from sopskit.format.metadata import KeyRecord, Metadata, metadata_from_plain, metadata_to_plain
from sopskit.keys.age import AgeKey, generate_identity
from sopskit.keys.base import KeyContext, MasterKey
from sopskit.keys.datakey import (
    generate_data_key,
    order_group,
    parse_decryption_order,
    recover_data_key,
    wrap_data_key,
)
from sopskit.keys.pgp import PgpKey

NOW = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
DATA_KEY = bytes.fromhex("9ac088cf" * 8)
FP1 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"


def _pairs(n: int) -> list[tuple[str, str]]:
    return [generate_identity() for _ in range(n)]


def _wrap(groups: Sequence[Sequence[MasterKey]], threshold: int,
          context: KeyContext | None = None) -> Metadata:
    records, effective = wrap_data_key(DATA_KEY, groups, threshold, now=NOW, rng=os.urandom,
                                       context=context or KeyContext(env={}))
    # through the on-disk form, as a file would carry it
    md = Metadata(key_groups=records, lastmodified="2024-01-01T00:00:00Z", shamir_threshold=effective)
    return metadata_from_plain(metadata_to_plain(md))


def _ctx(*identities: str) -> KeyContext:
    return KeyContext(age_identities=list(identities), env={})


def test_generate_data_key_takes_32_bytes_from_rng() -> None:
    calls: list[int] = []

    def rng(n: int) -> bytes:
        calls.append(n)
        return b"\x01" * n

    assert generate_data_key(rng) == b"\x01" * 32 and calls == [32]
    with pytest.raises(ValueError):
        generate_data_key(lambda n: b"short")


def test_one_group_every_key_wraps_the_whole_key() -> None:
    pairs = _pairs(2)
    records, threshold = wrap_data_key(DATA_KEY, [[AgeKey(r) for _, r in pairs]], 0, now=NOW,
                                       rng=os.urandom, context=KeyContext(env={}))
    assert threshold == 0 and len(records) == 1 and len(records[0]) == 2
    for (identity, recipient), record in zip(pairs, records[0], strict=True):
        assert AgeKey(recipient).decrypt(record, context=_ctx(identity)) == DATA_KEY
    md = Metadata(key_groups=records)
    assert recover_data_key(md, context=_ctx(pairs[1][0])) == DATA_KEY


@pytest.mark.parametrize(("threshold", "available", "ok"), [
    (2, (0, 1), True), (2, (1, 2), True), (2, (0, 2), True), (2, (0, 1, 2), True),
    (2, (1,), False), (0, (0, 1, 2), True), (0, (0, 1), False), (3, (0, 2), False),
])
def test_shamir_three_groups(threshold: int, available: tuple[int, ...], ok: bool) -> None:
    pairs = _pairs(3)
    md = _wrap([[AgeKey(r)] for _, r in pairs], threshold)
    assert md.shamir_threshold == (threshold or 3)
    shares = [AgeKey(r).decrypt(g[0], context=_ctx(i))
              for (i, r), g in zip(pairs, md.key_groups, strict=True)]
    assert all(len(s) == 33 for s in shares) and [s[-1] for s in shares] == [1, 2, 3]
    context = _ctx(*(pairs[i][0] for i in available))
    if ok:
        assert recover_data_key(md, context=context) == DATA_KEY
        return
    with pytest.raises(DataKeyUnavailableError) as caught:
        recover_data_key(md, context=context)
    err = caught.value
    needed = threshold or 3
    assert str(err) == (f"could not decrypt the data key: {len(available)} of 3 key groups decrypted, "
                        f"{needed} needed")
    assert err.exit_code == 128
    assert {o.key for o in err.outcomes} == {r for _, r in pairs}
    assert {o.group for o in err.outcomes if o.error is None} == set(available)
    report = err.report()
    for identity, recipient in pairs:
        assert recipient in report
        assert identity not in report and identity not in str(err) and identity not in (err.hint or "")
    assert "SOPS_AGE_KEY_FILE" in (err.hint or "")


def test_first_success_per_group_stops_trying() -> None:
    (i1, r1), (_, r2) = _pairs(2)
    md = _wrap([[AgeKey(r1), AgeKey(r2)]], 0)
    with pytest.raises(DataKeyUnavailableError):
        recover_data_key(md, context=_ctx())
    # with i1 known, the second key is never asked
    assert recover_data_key(md, context=_ctx(i1)) == DATA_KEY


def test_decryption_order_puts_listed_types_first_then_loaded_order() -> None:
    group = [
        KeyRecord("kms", {"arn": "a"}), KeyRecord("pgp", {"fp": "1"}), KeyRecord("gcp_kms", {}),
        KeyRecord("age", {"recipient": "x"}), KeyRecord("pgp", {"fp": "2"}),
    ]
    assert [r.key_type for r in order_group(group, ("age", "pgp"))] == ["age", "pgp", "pgp", "kms", "gcp_kms"]
    assert [r.fields.get("fp") for r in order_group(group, ("pgp",)) if r.key_type == "pgp"] == ["1", "2"]
    assert [r.key_type for r in order_group(group, ("gcp_kms", "age"))] == \
        ["gcp_kms", "age", "kms", "pgp", "pgp"]


def test_outcomes_follow_decryption_order_across_types(key_env: dict[str, str]) -> None:
    (identity, recipient), (_, other) = _pairs(2)
    md = _wrap([[PgpKey(FP1), AgeKey(other), AgeKey(recipient)]], 0, KeyContext(env=dict(os.environ)))
    env = {**os.environ, "SOPS_AGE_KEY": identity}
    env.pop("SOPS_AGE_KEY_FILE", None)
    wrong_gpg = {**env, "GNUPGHOME": str(os.path.join(key_env["HOME"], "nope"))}
    with pytest.raises(DataKeyUnavailableError) as caught:
        recover_data_key(md, context=KeyContext(env={**wrong_gpg, "SOPS_AGE_KEY": "AGE-SECRET-KEY-1BAD"}))
    assert [(o.key_type, o.key) for o in caught.value.outcomes] == [
        ("age", other), ("age", recipient), ("pgp", FP1)]
    assert recover_data_key(md, context=KeyContext(env=env)) == DATA_KEY
    assert recover_data_key(md, context=KeyContext(env=dict(os.environ)),
                            decryption_order=("pgp",)) == DATA_KEY


def test_wrong_identity_report_names_recipients_not_identity() -> None:
    (_, recipient), (wrong, _) = _pairs(2)
    md = _wrap([[AgeKey(recipient)]], 0)
    with pytest.raises(DataKeyUnavailableError) as caught:
        recover_data_key(md, context=_ctx(wrong))
    err = caught.value
    assert err.outcomes == (KeyOutcome(0, "age", recipient, err.outcomes[0].error),)
    assert err.outcomes[0].error and recipient in err.outcomes[0].error
    for text in (str(err), err.report(), err.hint or ""):
        assert wrong not in text
    assert "0 of 1 key groups decrypted, 1 needed" in str(err)


def test_empty_group_or_no_groups_are_errors() -> None:
    _, recipient = generate_identity()
    for groups in ([], [[AgeKey(recipient)], []]):
        with pytest.raises(ConfigError):
            wrap_data_key(DATA_KEY, groups, 0, now=NOW, rng=os.urandom, context=KeyContext(env={}))


def test_threshold_above_group_count_is_an_error() -> None:
    pairs = _pairs(2)
    with pytest.raises(ConfigError):
        wrap_data_key(DATA_KEY, [[AgeKey(r)] for _, r in pairs], 3, now=NOW, rng=os.urandom,
                      context=KeyContext(env={}))


def test_failing_key_is_named(tmp_path: Path) -> None:
    _, recipient = generate_identity()
    bad = PgpKey("0123456789ABCDEF0123456789ABCDEF01234567")
    with pytest.raises(MasterKeyError) as caught:
        wrap_data_key(DATA_KEY, [[AgeKey(recipient), bad]], 0, now=NOW, rng=os.urandom,
                      context=KeyContext(env={**os.environ, "GNUPGHOME": str(tmp_path)}))
    assert "pgp key 0123456789ABCDEF0123456789ABCDEF01234567" in str(caught.value)


def test_shares_use_the_injected_rng() -> None:
    pairs = _pairs(2)
    groups = [[AgeKey(r)] for _, r in pairs]
    records, _ = wrap_data_key(DATA_KEY, groups, 2, now=NOW, rng=lambda n: b"\x05" * n,
                               context=KeyContext(env={}))
    shares = [AgeKey(r).decrypt(g[0], context=_ctx(i)) for (i, r), g in zip(pairs, records, strict=True)]
    expected = shamir.split(DATA_KEY, 2, 2, rng=lambda n: b"\x05" * n)
    assert shares == expected


def test_parse_decryption_order() -> None:
    assert parse_decryption_order(" pgp, age ,kms,") == ("pgp", "age", "kms")
    with pytest.raises(DuplicateDecryptionKeyTypeError) as caught:
        parse_decryption_order("age,pgp,age")
    assert caught.value.exit_code == 112
    with pytest.raises(UsageError):
        parse_decryption_order("age,gpg")
