"""The sops binary ignores misspelt ``.sops.yaml`` keys: the facts ``sops-config-ignored-key``
reports (sops reads the file into Go structs and drops unknown keys, config/config.go)."""

from __future__ import annotations

import json

from tests.peer.conftest import Peer

PLAIN = '{"kind": "Secret", "data": {"token": "abc"}}'


def _recipients(encrypted: bytes) -> list[str]:
    return [entry["recipient"] for entry in json.loads(encrypted)["sops"]["age"]]


def test_camel_case_creation_rules_leave_sops_without_a_rule(peer: Peer) -> None:
    plain = peer.write("s.json", PLAIN)
    peer.write(".sops.yaml", f"creationRules:\n  - age: {peer.recipient}\n")
    assert peer.sops("encrypt", plain).returncode != 0  # no rule, no key: nothing to encrypt for
    peer.write(".sops.yaml", f"creation_rules:\n  - age: {peer.recipient}\n")
    assert _recipients(peer.ok("sops", "encrypt", plain)) == [peer.recipient]


def test_a_misspelt_path_regex_matches_every_file(peer: Peer) -> None:
    first, second = peer.keys[0].recipient, peer.keys[1].recipient
    plain = peer.write("k8s/s.json", PLAIN)
    for spelling in ("path-regex", "filename_regex"):
        peer.write(".sops.yaml", f"creation_rules:\n  - {spelling}: ^never$\n    age: {first}\n"
                                 f"  - path_regex: ^k8s/\n    age: {second}\n")
        assert _recipients(peer.ok("sops", "encrypt", plain)) == [first], spelling
    peer.write(".sops.yaml", f"creation_rules:\n  - path_regex: ^never$\n    age: {first}\n"
                             f"  - path_regex: ^k8s/\n    age: {second}\n")
    assert _recipients(peer.ok("sops", "encrypt", plain)) == [second]


def test_a_misspelt_selection_encrypts_every_value(peer: Peer) -> None:
    plain = peer.write("s.json", PLAIN)
    peer.write(".sops.yaml", f"creation_rules:\n  - encrypted-regex: ^data$\n    age: {peer.recipient}\n")
    assert json.loads(peer.ok("sops", "encrypt", plain))["kind"].startswith("ENC[")
    peer.write(".sops.yaml", f"creation_rules:\n  - encrypted_regex: ^data$\n    age: {peer.recipient}\n")
    assert json.loads(peer.ok("sops", "encrypt", plain))["kind"] == "Secret"


def test_a_misspelt_key_group_key_drops_its_recipients(peer: Peer) -> None:
    first, second = peer.keys[0].recipient, peer.keys[1].recipient
    plain = peer.write("s.json", PLAIN)
    peer.write(".sops.yaml", f"creation_rules:\n  - key_groups:\n      - age: [{first}]\n"
                             f"        agee: [{second}]\n")
    assert _recipients(peer.ok("sops", "encrypt", plain)) == [first]
