"""``sopskit doctor`` benchmark, run by hand: ``.venv/bin/python bench/doctor.py [--files N] [--repeat R]``.

Generates a Git repository with N (default 1,000) SOPS-encrypted Secrets spread over 10
environments, one ``.sops.yaml`` rule and one Flux Kustomization per environment, a
``.sops.pub.age`` record of the cluster key, and times the offline diagnosis (the whole
library call, ``diagnose``, and the CLI ``sopskit doctor --format json`` as a subprocess).

Target (issue #13): offline doctor on 1,000 files in under 5 s on the test machine.
To make generation fast, one data key is reused for every file (the file contents differ);
doctor's work per file does not depend on that.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sopskit.config import load_config
from sopskit.doctor import diagnose
from sopskit.keys.age import generate_identity
from sopskit.ops.encrypt import encrypt

ENVS = 10
SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{n}\n  namespace: app{e}\nstringData:\n  password: p{n}\n"


def build(root: Path, files: int) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    _identity, recipient = generate_identity()
    rules = "".join(
        f"  - path_regex: ^secrets/env{e}/\n    encrypted_regex: ^(data|stringData)$\n    age: {recipient}\n"
        for e in range(ENVS)
    )
    (root / ".sops.yaml").write_text("creation_rules:\n" + rules)
    (root / "clusters").mkdir()
    (root / "clusters/.sops.pub.age").write_text(recipient + "\n")
    config = load_config(root / ".sops.yaml")
    per_env = files // ENVS
    for e in range(ENVS):
        directory = root / f"secrets/env{e}"
        directory.mkdir(parents=True)
        names = [f"s{n}.yaml" for n in range(per_env)]
        (directory / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {n}\n" for n in names))
        (root / f"clusters/env{e}.yaml").write_text(
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            f"metadata:\n  name: env{e}\n  namespace: flux-system\nspec:\n  path: ./secrets/env{e}\n"
            "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
        )
        for n in range(per_env):
            path = directory / f"s{n}.yaml"
            path.write_bytes(encrypt(SECRET.format(n=n, e=e).encode(), format="yaml", path=path, config=config))
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.invalid",
                    "commit", "-qm", "bench"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopskit-doctor-bench-") as tmp:
        root = Path(tmp) / "repo"
        started = time.perf_counter()
        build(root, args.files)
        print(f"generated {args.files} SOPS files in {time.perf_counter() - started:.1f} s")
        library, library_cpu = [], []
        for _ in range(args.repeat):
            started, cpu = time.perf_counter(), time.process_time()
            report = diagnose(root)
            library.append(time.perf_counter() - started)
            library_cpu.append(time.process_time() - cpu)
        assert report.files == args.files and report.ok, [c for c in report.failures()][:3]
        cli, cli_cpu = [], []
        for _ in range(args.repeat):
            started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run([sys.executable, "-m", "sopskit", "doctor", "--format", "json"], cwd=root,
                                  capture_output=True, check=False)
            cli.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cli_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            assert done.returncode == 0, done.stderr[-500:]
        print(f"doctor offline, {args.files} files: library median {statistics.median(library):.2f} s wall "
              f"(min {min(library):.2f}; CPU {statistics.median(library_cpu):.2f} s), CLI median "
              f"{statistics.median(cli):.2f} s wall (min {min(cli):.2f}; CPU {statistics.median(cli_cpu):.2f} s); "
              f"target < 5 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
