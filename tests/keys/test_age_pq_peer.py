"""Interoperability of sopskit's hybrid post-quantum age keys with an independent peer: the
npm package ``age-encryption`` (>= 0.3, the age author's TypeScript implementation on
``@noble/post-quantum``), driven by ``tests/keys/age_peer.mjs`` under ``node``.

The package is installed by the test set-up itself into ``SOPSKIT_NPM_PREFIX`` (default
``~/.cache/sopskit-npm``; scripts/test.sh installs it there too). Without node/npm or the
package the tests skip locally and **fail** under CI.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sopskit.format.metadata import KeyRecord
from sopskit.keys.age import AgeKey, generate_identity, public_key_of
from sopskit.keys.base import KeyContext
from tests.conftest import require_tool

NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
DATA_KEY = bytes(range(32))
HELPER = Path(__file__).with_name("age_peer.mjs")
PACKAGE = "age-encryption@>=0.3"
SOPSKIT = [sys.executable, "-m", "sopskit"]


def npm_prefix() -> Path:
    return Path(os.environ.get("SOPSKIT_NPM_PREFIX", Path.home() / ".cache" / "sopskit-npm"))


@pytest.fixture(scope="module")
def peer_module() -> Path:
    """``dist/index.js`` of age-encryption, installed on first use."""
    require_tool("node")
    npm = require_tool("npm")
    prefix = npm_prefix()
    module = prefix / "node_modules" / "age-encryption" / "dist" / "index.js"
    if not module.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix", str(prefix), PACKAGE],
                              capture_output=True, timeout=300)
        if proc.returncode != 0 or not module.exists():
            message = f"cannot install {PACKAGE}: {proc.stderr.decode(errors='replace')[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
    return module


def peer(module: Path, *args: str, stdin: bytes = b"") -> bytes:
    proc = subprocess.run(["node", str(HELPER), *args], input=stdin, capture_output=True, timeout=60,
                          env={**os.environ, "AGE_PEER_MODULE": str(module)})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")[-500:]
    return proc.stdout


def test_peer_version_is_at_least_0_3(peer_module: Path) -> None:
    import json

    version = json.loads((peer_module.parent.parent / "package.json").read_text())["version"]
    assert tuple(int(p) for p in version.split(".")[:2]) >= (0, 3)


def test_peer_identity_encodings_agree_with_ours(peer_module: Path) -> None:
    identity, recipient = peer(peer_module, "keygen").decode().split()
    assert identity.startswith("AGE-SECRET-KEY-PQ-1") and recipient.startswith("age1pq1")
    assert public_key_of(identity) == recipient


def test_peer_opens_what_sopskit_wraps_for_a_peer_recipient(peer_module: Path) -> None:
    identity, recipient = peer(peer_module, "keygen").decode().split()
    record = AgeKey(recipient).encrypt(DATA_KEY, now=NOW, context=KeyContext(env={}))
    assert peer(peer_module, "decrypt", identity, stdin=record.enc.encode()) == DATA_KEY


def test_sopskit_opens_what_the_peer_wraps(peer_module: Path) -> None:
    identity, recipient = generate_identity(pq=True)
    enc = peer(peer_module, "encrypt", recipient, stdin=DATA_KEY).decode()
    record = KeyRecord("age", {"recipient": recipient, "enc": enc})
    assert AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[identity])) == DATA_KEY


def test_peer_multi_recipient_file_with_x25519_and_pq(peer_module: Path) -> None:
    """A peer file with an X25519 and a PQ stanza: each of our identities alone opens it."""
    pq_id, pq_rec = generate_identity(pq=True)
    x_id, x_rec = generate_identity()
    enc = peer(peer_module, "encrypt", x_rec, pq_rec, stdin=DATA_KEY).decode()
    for recipient, identity in ((pq_rec, pq_id), (x_rec, x_id)):
        record = KeyRecord("age", {"recipient": recipient, "enc": enc})
        assert AgeKey(recipient).decrypt(record, context=KeyContext(age_identities=[identity])) == DATA_KEY


def test_peer_opens_the_pq_data_key_of_a_whole_sops_file(peer_module: Path, tmp_path: Path) -> None:
    """sopskit encrypts a file to X25519 + PQ; the peer unwraps the PQ record's data key, and
    that key is the one the X25519 record holds too."""
    import yaml

    peer_id, peer_rec = peer(peer_module, "keygen").decode().split()
    x_id, x_rec = generate_identity()
    src = tmp_path / "s.yaml"
    src.write_bytes(b"password: hunter2\n")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}, "HOME": str(tmp_path)}
    proc = subprocess.run([*SOPSKIT, "encrypt", "--age", f"{x_rec},{peer_rec}", str(src)],
                          capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    records = {r["recipient"]: r["enc"] for r in yaml.safe_load(proc.stdout)["sops"]["age"]}
    from_peer = peer(peer_module, "decrypt", peer_id, stdin=records[peer_rec].encode())
    ours = AgeKey(x_rec).decrypt(KeyRecord("age", {"recipient": x_rec, "enc": records[x_rec]}),
                                 context=KeyContext(age_identities=[x_id]))
    assert len(from_peer) == 32 and from_peer == ours
