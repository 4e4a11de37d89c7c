"""``leak key`` with the leaked identity: each exposed version's data key is unwrapped once, on
the shared pool, with the leaked key alone -- never by a key service the responder's own
credentials reach (one call per version, and a wrong answer about what the leak opens)."""

from __future__ import annotations

from pathlib import Path

from sopskit.config import KeySpec
from sopskit.keys.age import generate_identity
from sopskit.leak.keyleak import FULL, exposure_in_repo, leaked_from_text
from sopskit.ops.encrypt import encrypt
from testing.azure_kv_server import FakeKeyVault
from tests.keys.test_azure_kv import PLAIN, VAULT, azure_tls, azure_vault  # noqa: F401 - fixtures
from tests.leak.builder import init_repo


def test_unwraps_with_the_leaked_key_only_and_any_pool_size(
        azure_vault: FakeKeyVault,  # noqa: F811 - fixture
        tmp_path: Path) -> None:
    leaked_id, leaked = generate_identity()
    key_url = f"{VAULT}/keys/sops/{azure_vault.latest('sops')}"
    g = init_repo(tmp_path / "repo")
    for index in range(6):
        # Shamir, 2 of 3: the leaked key holds two shares, the vault the third
        sealed = encrypt(PLAIN.replace(b"XYZ", str(index).encode()), format="yaml", config=False,
                         key_groups=[[KeySpec("age", leaked)], [KeySpec("age", leaked)],
                                     [KeySpec("azure_kv", key_url)]], shamir_threshold=2)
        g.write(f"s{index}.yaml", sealed)
        g.commit(f"v{index}")
    key = leaked_from_text(leaked_id + "\n")
    azure_vault.requests.clear()
    serial = exposure_in_repo(g.path, key, workers=1)
    pooled = exposure_in_repo(g.path, key, workers=8)
    assert azure_vault.count("decrypt", status=None) == 0  # the vault's share was never asked for
    assert [e.to_dict() for e in serial.exposed] == [e.to_dict() for e in pooled.exposed]
    reasons = {e.path: e.reason for e in pooled.exposed}
    assert reasons == {f"s{i}.yaml": FULL for i in range(6)}
