"""Scanner held-out set 6 (issue 8): ``- name: X`` / ``value: Y`` pairs and token IDs.

The generic rule reads one line at a time, so a container env entry or a tool's ``fields:``
list (``- name: apiKey`` then ``value: <hex>``) kept its credential out of sight: the blind
round found eight API keys that neither sopskit nor gitleaks reported. Values are drawn from a
seeded RNG at run time (the project's own scan stays clean); each reported case is paired with
near-identical ones that must stay silent.
"""

from __future__ import annotations

import base64
import random
import string
from pathlib import Path

from tests.scan.helpers import findings

RNG = random.Random(2026_12_03)


def _hex(n: int = 32) -> str:
    return "".join(RNG.choice("0123456789abcdef") for _ in range(n))


def _token(n: int = 28) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(RNG.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in value) and any(c.isupper() for c in value):
            return value


def _deployment(env: str) -> str:
    return (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: app\n          env:\n" + env
    )


def _entry(name: str, value: str, indent: str = "            ") -> str:
    return f"{indent}- name: {name}\n{indent}  value: {value}\n"


def test_a_credential_env_entry_is_reported_at_its_value_line(tmp_path: Path) -> None:
    env = _entry("DEMO_API_KEY", f'"{_hex()}"') + _entry("DEMO_TOKEN", _token())
    assert findings(tmp_path, {"deploy.yaml": _deployment(env)}) == [
        ("generic-secret", "deploy.yaml", 12), ("generic-secret", "deploy.yaml", 14)]


def test_a_tool_config_fields_list_is_read_too(tmp_path: Path) -> None:
    """Not a manifest: a tool's own YAML with ``- name: apiKey`` / ``value:`` entries."""
    text = "sonarr:\n  fields:\n" + _entry("baseUrl", "http://sonarr:8989", "    ") + _entry("apiKey", _hex(), "    ")
    assert findings(tmp_path, {"config.yaml": text}) == [("generic-secret", "config.yaml", 6)]


def test_entries_that_hold_no_credential_stay_silent(tmp_path: Path) -> None:
    word_b64 = base64.b64encode(b"demo-web\n").decode()
    env = (
        _entry("DEMO_CLIENT_ID", f'"{_hex()}"')  # an identifier
        + _entry("API_KEY_FILE", "/run/secrets/api-key")  # a path to the credential
        + _entry("API_TOKEN", "${API_TOKEN}")  # substituted at deploy time
        + _entry("TOKEN_SECRET", "demo-operator-credentials")  # the name of a Secret object
        + _entry("CLIENT_SECRET", f'"{word_b64}"')  # base64 of a word
        + _entry("LOG_LEVEL", "debug")
    )
    assert findings(tmp_path, {"deploy.yaml": _deployment(env)}) == []


def test_a_value_of_another_structure_is_not_paired(tmp_path: Path) -> None:
    """``value:`` belongs to the entry only two columns right of its dash; a deeper one (a
    ``valueFrom`` block's child, another list) is not this entry's value."""
    nested = "            - name: DEMO_API_KEY\n              other:\n                value: " + _hex() + "\n"
    text = _deployment(nested)
    assert findings(tmp_path, {"deploy.yaml": text}) == []


def test_password_names_stay_with_the_manifest_password_check(tmp_path: Path) -> None:
    env = _entry("DB_PASSWORD", _token())
    assert findings(tmp_path, {"deploy.yaml": _deployment(env)}) == [("manifest-password", "deploy.yaml", 12)]


def test_a_proxmox_token_id_is_an_identifier(tmp_path: Path) -> None:
    """``token: user@realm!Name`` (commented in a template) names a Proxmox API token; the token's
    secret, a UUID, is a finding beside it."""
    suffix = _token(6)
    template = f"---\n# token: operator@realm!Token{suffix} ID\n"
    assert findings(tmp_path / "a", {"widget.yaml": template}) == []
    leaked = f"---\n# token: operator@realm!Token{suffix} ID\napi_token_secret: {_token()}\n"
    assert findings(tmp_path / "b", {"widget.yaml": leaked}) == [("generic-secret", "widget.yaml", 3)]
