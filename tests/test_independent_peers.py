"""Files sopskit encrypts decrypt along an independent path.

The data key comes back through the real `age` and `gpg` commands, values and the MAC are
checked by tests/independent/decoder.py, which shares no code with sopskit. Every store, age
and PGP, one group and Shamir key groups.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sopskit.config import KeySpec
from sopskit.ops.encrypt import encrypt
from tests.conftest import require_tool
from tests.independent import decoder

PGP_FP = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
PGP_FP2 = "D7229043384BCC60326C6FB9D8720D957C3D3074"

SAMPLES = {
    "yaml": (b"user: alice\npassword: hunter2\nport: 5432\nratio: 0.25\nenabled: true\n"
             b"nested:\n    list:\n        - a\n        - 7\n    clear_unencrypted: visible\n"),
    "json": b'{"user": "alice", "n": 42, "f": 1.5, "ok": false, "xs": [1, "two", {"k": "v"}]}\n',
    "dotenv": b"USER=alice\nPASSWORD=hunter2\nMULTI=line1\\nline2\n",
    "ini": b"[db]\nuser = alice\npassword = hunter2\n\n[app]\ntoken = abc\n",
    "binary": b"\x00\x01 raw bytes \xff and text\n",
}
EXPECTED = {
    "yaml": {"user": "alice", "password": "hunter2", "port": 5432, "ratio": 0.25, "enabled": True,
             "nested": {"list": ["a", 7], "clear_unencrypted": "visible"}},
    "json": {"user": "alice", "n": 42, "f": 1.5, "ok": False, "xs": [1, "two", {"k": "v"}]},
    "dotenv": {"USER": "alice", "PASSWORD": "hunter2", "MULTI": "line1\nline2"},
    "ini": {"db": {"user": "alice", "password": "hunter2"}, "app": {"token": "abc"}},
}


@pytest.fixture(scope="module")
def age_identity(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    require_tool("age-keygen")
    path = tmp_path_factory.mktemp("age") / "id.txt"
    out = subprocess.run(["age-keygen", "-o", str(path)], capture_output=True, text=True, check=True)
    recipient = out.stderr.strip().split()[-1]
    return str(path), recipient


def _decode(blob: bytes, fmt: str, *, identity: str | None, home: str | None) -> tuple[object, bool]:
    tree, meta = decoder.load_any(blob, fmt)
    key = decoder.data_key_from_metadata(meta, age_identity_file=identity, gnupghome=home)
    assert len(key) == 32
    values, mac = decoder.decode_tree(tree, key)
    return values, decoder.verify_mac(meta, key, mac)


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_age_encrypted_files_open_with_the_age_cli(fmt: str, age_identity: tuple[str, str]) -> None:
    identity, recipient = age_identity
    blob = encrypt(SAMPLES[fmt], format=fmt, age=[recipient], config=False)
    values, mac_ok = _decode(blob, fmt, identity=identity, home=None)
    assert mac_ok
    if fmt == "binary":
        assert values == {"data": SAMPLES[fmt].decode("utf-8", "surrogateescape")}
    else:
        assert values == EXPECTED[fmt]
    assert b"hunter2" not in blob and b"alice" not in blob


@pytest.mark.parametrize("fmt", ["yaml", "json", "dotenv", "ini"])
def test_pgp_encrypted_files_open_with_gpg(fmt: str, gnupg_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home))
    blob = encrypt(SAMPLES[fmt], format=fmt, pgp=[PGP_FP], config=False)
    values, mac_ok = _decode(blob, fmt, identity=None, home=str(gnupg_home))
    assert mac_ok and values == EXPECTED[fmt]


def test_shamir_groups_combine_independently(gnupg_home: Path, age_identity: tuple[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GNUPGHOME", str(gnupg_home))
    identity, recipient = age_identity
    groups = [[KeySpec("age", recipient)], [KeySpec("pgp", PGP_FP)], [KeySpec("pgp", PGP_FP2)]]
    blob = encrypt(SAMPLES["yaml"], format="yaml", key_groups=groups, shamir_threshold=2, config=False)
    tree, meta = decoder.load_any(blob, "yaml")
    assert meta["shamir_threshold"] == 2 and len(meta["key_groups"]) == 3
    # any two groups are enough: age + first pgp key, through the peer tools
    first = decoder.age_unwrap(meta["key_groups"][0]["age"][0]["enc"], identity)
    second = decoder.gpg_unwrap(meta["key_groups"][1]["pgp"][0]["enc"], str(gnupg_home))
    third = decoder.gpg_unwrap(meta["key_groups"][2]["pgp"][0]["enc"], str(gnupg_home))
    assert len(first) == 33 and first[-1] == 1 and second[-1] == 2
    key = decoder.shamir_combine([first, second])
    assert decoder.shamir_combine([second, third]) == key
    values, mac = decoder.decode_tree(tree, key)
    assert values == EXPECTED["yaml"] and decoder.verify_mac(meta, key, mac)
