"""One age-identity pattern: the policy check and the scanner's rule find the same keys,
post-quantum identities included (the policy check used to miss them)."""

from __future__ import annotations

import pytest

from sopskit.format.recognize import AGE_IDENTITY_RE
from sopskit.keys.age import generate_identity
from sopskit.policy import check_policy
from sopskit.scan.rules import load_default_rules
from tests.policy.conftest import RepoFactory, policy

X25519 = "AGE-SECRET-KEY-1" + "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L" * 2  # made up, 64 > 58 characters


def _samples() -> list[bytes]:
    pq_identity, _ = generate_identity(pq=True)
    x_identity, _ = generate_identity()
    return [
        x_identity.encode(),
        pq_identity.encode(),
        X25519[:74].encode() + b"\n",
        b"key: " + X25519[:74].encode() + b" # comment",
        b"xAGE-SECRET-KEY-1" + b"Q" * 58,  # inside a word: not an identity
        b"AGE-SECRET-KEY-1" + b"Q" * 40,  # too short
        b"age-secret-key-1" + b"q" * 58,  # lower case: age writes identities in upper case
        b"AGE-SECRET-KEY-1" + b"Q" * 57 + b"B",  # B is not in the bech32 alphabet
    ]


@pytest.mark.parametrize("index", range(8))
def test_scanner_rule_and_policy_pattern_agree(index: int) -> None:
    data = _samples()[index]
    rule = load_default_rules().by_id()["age-secret-key"]
    assert rule.regex is not None
    scan_match = rule.regex.search(data)
    policy_match = AGE_IDENTITY_RE.search(data)
    assert (scan_match is None) == (policy_match is None)
    if scan_match is not None and policy_match is not None:
        assert scan_match.group(rule.secret_group) == policy_match.group()


def test_the_patterns_match_real_identities_only() -> None:
    found = [AGE_IDENTITY_RE.search(s) is not None for s in _samples()]
    assert found == [True, True, True, True, False, False, False, False]


def test_policy_flags_a_committed_post_quantum_identity(make_repo: RepoFactory) -> None:
    identity, _ = generate_identity(pq=True)
    root = make_repo({"notes/pq.txt": "# created\n" + identity + "\n"}, gitignore="")
    assert policy(root, "private-key") == [("notes/pq.txt", 2)]


def test_message_names_the_kind_of_identity_and_no_key_material(make_repo: RepoFactory) -> None:
    """A post-quantum identity was reported as "AGE-SECRET-KEY-1..." (seen on real repositories)."""
    pq_identity, _ = generate_identity(pq=True)
    x_identity, _ = generate_identity()
    root = make_repo({"pq.txt": pq_identity + "\n", "x.txt": x_identity + "\n"}, gitignore="")
    messages = {v.path: v.message for v in check_policy(root, only=["private-key"]).violations}
    assert "(AGE-SECRET-KEY-PQ-1...)" in messages["pq.txt"]
    assert "(AGE-SECRET-KEY-1...)" in messages["x.txt"]
    assert all(identity[20:40] not in m for m in messages.values() for identity in (pq_identity, x_identity))
