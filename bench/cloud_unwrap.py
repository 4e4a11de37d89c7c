"""Many-file updatekeys against a key service, run by hand:
``.venv/bin/python bench/cloud_unwrap.py [--files 500 --latency-ms 20 --workers 1,8]``.

Starts the fake Azure Key Vault (``testing/azure_kv_server.py``) with LATENCY added to every
answer (a vault in another region answers in tens of milliseconds), encrypts FILES files for
its key through the unmodified SDK, then times the command a user runs,
``sopskit updatekeys -y --jobs N DIR`` (in-process: the fake's credential is patched in), adding
an age recipient with each pool size, and counts the vault's unwrap (decrypt) requests.
``--jobs 1`` is the serial run (what the CLI did before the pool); sops #885 reported minutes
for a few hundred files: one sequential round trip per file.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from sopskit.config import KeySpec  # noqa: E402
from sopskit.keys.age import generate_identity  # noqa: E402
from sopskit.ops.encrypt import encrypt  # noqa: E402
from testing.azure_kv_server import VAULT_DNS_NAMES, FakeCredential, FakeKeyVault, Principal  # noqa: E402
from testing.certs import make_tls_files  # noqa: E402

VAULT = "https://sopskit-bench.vault.azure.net"
PLAIN = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: pw\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", default="1,8", help="--jobs values to time, comma-separated")
    args = parser.parse_args()
    import azure.identity

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tls = make_tls_files(work / "tls", dns_names=VAULT_DNS_NAMES)
        with FakeKeyVault(tls) as vault:
            version = vault.add_key("sops")
            FakeCredential.token = vault.grant(Principal("bench"))
            azure.identity.DefaultAzureCredential = FakeCredential  # type: ignore[misc]
            os.environ.update({"HTTPS_PROXY": vault.proxy_url, "REQUESTS_CA_BUNDLE": str(tls.ca_cert)})
            os.environ.pop("NO_PROXY", None)
            key_url = f"{VAULT}/keys/sops/{version}"
            sealed = encrypt(PLAIN, format="yaml", config=False,
                             key_groups=[[KeySpec("azure_kv", key_url)]])
            for size in (int(w) for w in args.workers.split(",")):
                files = work / f"w{size}"
                files.mkdir()
                for index in range(args.files):
                    (files / f"s{index:04d}.enc.yaml").write_bytes(sealed)
                _, recipient = generate_identity()
                (work / ".sops.yaml").write_text(
                    f"creation_rules:\n  - azure_keyvault: {key_url}\n    age: {recipient}\n")
                vault.latency = args.latency_ms / 1000
                vault.requests.clear()
                vault.max_in_flight = 0
                start = time.perf_counter()
                code, err = _updatekeys(work, files, size)
                elapsed = time.perf_counter() - start
                vault.latency = 0.0
                ok = err.count("synced with new keys")
                if code != 0:
                    print(f"updatekeys exited {code}: {err.splitlines()[-1:]}")
                print(f"files={args.files} latency={args.latency_ms:.0f}ms --jobs {size}: "
                      f"{elapsed:.2f} s, {ok} updated, {vault.count('decrypt', status=None)} unwraps, "
                      f"{len(vault.requests)} requests, max in flight {vault.max_in_flight}")


def _updatekeys(work: Path, files: Path, jobs: int) -> tuple[int, str]:
    """``sopskit updatekeys -y --jobs JOBS FILES`` from WORK; (exit code, stderr)."""
    import contextlib
    import io

    from sopskit.cli.main import main as sopskit

    err = io.StringIO()
    cwd = Path.cwd()
    os.chdir(work)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            try:
                sopskit(["updatekeys", "-y", "--jobs", str(jobs), str(files)])
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
    finally:
        os.chdir(cwd)
    return code, err.getvalue()


if __name__ == "__main__":
    main()
