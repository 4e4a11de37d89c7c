"""Key fallthrough, sops 3.11 (real binary) vs sopskit: cloud keys that cannot work (no
credentials, no SDK) are skipped for the age key of the same group; exit 128 only when no key
works (sops.go ``GetDataKeyWithKeyServices``, ``codes.CouldNotRetrieveKey``)."""

from __future__ import annotations

import pytest

from tests.keys.test_fallthrough import ARN, GCP_ID
from tests.peer.conftest import Peer

CLOUD_ENTRIES = (
    "sops:\n"
    f"    gcp_kms:\n        - resource_id: {GCP_ID}\n          created_at: \"2024-01-01T00:00:00Z\"\n"
    "          enc: CiQAbm90cmVhbA==\n"
    f"    kms:\n        - arn: {ARN}\n          created_at: \"2024-01-01T00:00:00Z\"\n"
    "          enc: AQICAHhiZm9v\n          aws_profile: \"\"\n"
)


@pytest.mark.parametrize("order", ["gcp_kms,kms,age", "kms,gcp_kms,age"])
def test_cloud_keys_fall_through_to_age_like_sops(peer: Peer, order: str) -> None:
    plain = peer.write("s.yaml", "password: hunter2\n")
    by_sops = peer.encrypt("sops", plain)
    by_sops.write_text(by_sops.read_text().replace("sops:\n", CLOUD_ENTRIES, 1))
    env = {**peer.env, "SOPS_DECRYPTION_ORDER": order, "AWS_EC2_METADATA_DISABLED": "true",
           "NO_GCE_CHECK": "True", "AWS_SHARED_CREDENTIALS_FILE": str(peer.cwd / "none"),
           "AWS_CONFIG_FILE": str(peer.cwd / "none")}
    outputs = {tool: peer.decrypt(tool, by_sops, env=env) for tool in ("sops", "kit")}
    assert outputs["sops"] == outputs["kit"] == b"password: hunter2\n"
    no_age = {k: v for k, v in env.items() if k != "SOPS_AGE_KEY"}
    codes = {tool: peer.run(tool, "decrypt", by_sops, env=no_age).returncode for tool in ("sops", "kit")}
    assert codes == {"sops": 128, "kit": 128}
