"""``rotate``/``updatekeys --from-cluster`` on a directory read the cluster's Secret once per run.

The identity is fetched into memory once and shared by every file of the pool; a run over a
directory must not ask the API server once per file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sopskit.cli.main import main
from sopskit.k8s.agesecret import AGEKEY_DATA_KEY, format_agekey
from sopskit.keys.age import generate_identity
from sopskit.ops.decrypt import decrypt
from sopskit.ops.encrypt import encrypt
from testing.k8s_server import FakeKubeServer

NS, NAME = "flux-system", "sops-age"
PLAIN = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: pool-9\n"


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().err


def _secret_reads(server: FakeKubeServer) -> int:
    return sum(1 for r in server.requests if r.method == "GET" and r.resource == "secrets")


@pytest.mark.parametrize("command", ["rotate", "updatekeys"])
def test_directory_run_reads_the_cluster_secret_once(
        command: str, k8s_server: FakeKubeServer, kubeconfig_readonly: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    identity, recipient = generate_identity()
    extra_identity, extra = generate_identity()
    k8s_server.add_secret(NS, NAME, {AGEKEY_DATA_KEY: format_agekey([identity])})
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    for index in range(12):
        (secrets / f"s{index:02d}.enc.yaml").write_bytes(
            encrypt(PLAIN, format="yaml", age=[recipient], config=False))
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - age: {recipient},{extra}\n")
    for var in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "KUBECONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(tmp_path / "no-such-keys.txt"))  # only the cluster's key
    monkeypatch.chdir(tmp_path)
    k8s_server.clear_log()
    flags = ["-i", "--add-age", extra] if command == "rotate" else ["-y"]

    code, err = _cli(capsys, command, *flags, "--jobs", "4", "--from-cluster",
                     "--kubeconfig", str(kubeconfig_readonly), "secrets")

    assert code == 0, err
    assert err.count("rotated" if command == "rotate" else "synced with new keys") == 12
    assert _secret_reads(k8s_server) == 1
    for path in sorted(secrets.iterdir()):
        assert decrypt(path.read_bytes(), format="yaml", identities=[extra_identity]) == PLAIN
