"""Cheap recognition of SOPS files (scanner, policy checks, textconv) against what sops opens.

sops opens a file whose ``sops`` block has keys, an RFC 3339 ``lastmodified`` and a version,
with or without a MAC (``decrypt --ignore-mac``; sops's own ``functional-tests/res/no_mac.yaml``
has none), so recognition must not require the ``mac`` field. Fixtures are made up.
"""

from __future__ import annotations

import pytest

from sopskit.format.recognize import has_sops_metadata

_AGE = "age1" + "q" * 58

NO_MAC = {
    "yaml": (
        "password: ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n"
        "sops:\n"
        "    age:\n"
        f"        - recipient: {_AGE}\n"
        "          enc: x\n"
        "    lastmodified: '2019-08-29T22:23:01Z'\n"
        "    unencrypted_suffix: _unencrypted\n"
        "    version: 3.3.1\n"
    ),
    "json": (
        '{"password": "ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]",\n'
        f' "sops": {{"age": [{{"recipient": "{_AGE}", "enc": "x"}}],\n'
        '  "lastmodified": "2019-08-29T22:23:01Z", "version": "3.3.1"}}\n'
    ),
    "dotenv": (
        "PASSWORD=ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n"
        f"sops_age__list_0__map_recipient={_AGE}\nsops_age__list_0__map_enc=x\n"
        "sops_lastmodified=2019-08-29T22:23:01Z\nsops_version=3.3.1\n"
    ),
    "ini": (
        "[db]\npassword = ENC[AES256_GCM,data:AAAA,iv:AAAA,tag:AAAA,type:str]\n\n"
        f"[sops]\nage__list_0__map_recipient = {_AGE}\nage__list_0__map_enc = x\n"
        "lastmodified = 2019-08-29T22:23:01Z\nversion = 3.3.1\n"
    ),
}


@pytest.mark.parametrize("fmt", sorted(NO_MAC))
def test_a_file_without_mac_is_recognised(fmt: str) -> None:
    assert has_sops_metadata(NO_MAC[fmt].encode())


@pytest.mark.parametrize("fmt", sorted(NO_MAC))
def test_a_file_with_mac_is_recognised(fmt: str) -> None:
    text = NO_MAC[fmt]
    mac = {"yaml": "    mac: ENC[m]\n", "json": "", "dotenv": "sops_mac=ENC[m]\n", "ini": "mac = ENC[m]\n"}[fmt]
    if fmt == "json":
        text = text.replace('"version": "3.3.1"', '"mac": "ENC[m]"')
    else:
        text = text.replace(
            {"yaml": "    version: 3.3.1\n", "dotenv": "sops_version=3.3.1\n", "ini": "version = 3.3.1\n"}[fmt], mac
        )
    assert "version" not in text
    assert has_sops_metadata(text.encode())


@pytest.mark.parametrize("text", [
    # a manifest with a key called sops and a version, but no sops timestamp
    "sops:\n    enabled: true\nversion: 1.2.3\n",
    # a Flux Kustomization that decrypts with sops
    "spec:\n  decryption:\n    provider: sops\n  interval: 10m\nversion: 2\n",
    # a sops block with lastmodified but neither mac nor version
    "sops:\n    lastmodified: '2019-08-29T22:23:01Z'\n",
    # the marker only in the middle of a line
    "note: sops: lastmodified version mac\n",
])
def test_lookalikes_are_not_recognised(text: str) -> None:
    assert not has_sops_metadata(text.encode())
