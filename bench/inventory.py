"""Inventory benchmark, run by hand: ``.venv/bin/python bench/inventory.py [--files 2000 --commits 5000]``.

Builds a throwaway repository with FILES SOPS-encrypted Secrets over three environments and
COMMITS commits (each re-encrypting one file's value, as an edit does; every tenth only
changing recipients, as ``updatekeys`` does), with ``git fast-import``, then times
``sopskit inventory --format json`` (history on and off) on it, and ``git log --raw`` over the
same history as the floor (the one pass the inventory needs).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import sopskit  # noqa: E402
from sopskit.keys.age import generate_identity  # noqa: E402

ENVS = ("dev", "staging", "prod")


def secret(name: str, env: str, value: str) -> bytes:
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: {name}\n    namespace: app-{env}\n"
            f"stringData:\n    password: {value}\n    user: app\n").encode()


def build(work: Path, files: int, commits: int) -> Path:
    root = work / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    recipients = {env: generate_identity()[1] for env in ENVS}
    selection = sopskit.SelectionRules("encrypted_regex", "^(data|stringData)$")
    config = ("creation_rules:\n" + "".join(
        f"  - path_regex: ^secrets/{env}/\n    encrypted_regex: ^(data|stringData)$\n    age: {r}\n"
        for env, r in recipients.items())).encode()
    paths = [f"secrets/{ENVS[i % 3]}/s{i:05d}.yaml" for i in range(files)]
    rng = random.Random(7)
    stream = bytearray()
    when = 1_600_000_000

    def commit(changes: dict[str, bytes], message: str) -> None:
        nonlocal when
        when += 3600
        stream.extend(f"commit refs/heads/main\ncommitter b <b@example.com> {when} +0000\n".encode())
        stream.extend(f"data {len(message)}\n{message}\n".encode())
        for path, data in changes.items():
            stream.extend(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    def encrypt(path: str, value: str) -> bytes:
        env = path.split("/")[1]
        return sopskit.encrypt(secret(Path(path).stem, env, value), format="yaml", age=[recipients[env]],
                               selection=selection, config=False)

    current = {p: encrypt(p, f"v0-{i}") for i, p in enumerate(paths)}
    commit({".sops.yaml": config, **current}, "initial")
    for n in range(1, commits):
        path = rng.choice(paths)
        if n % 10 == 0:  # metadata only (as updatekeys): the values keep their ciphertext
            current[path] = current[path].replace(b"sops:\n", b"sops:\n    # re-keyed\n", 1)
        else:
            current[path] = encrypt(path, f"v{n}")
        commit({path: current[path]}, f"change {n}")
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=bytes(stream), check=True)
    subprocess.run(["git", "-C", str(root), "checkout", "-q", "main"], check=True)
    return root


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="build in DIR and keep it (for profiling)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sopskit-bench-inv-") as scratch:
        tmp = args.keep or scratch
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        root = build(Path(tmp), args.files, args.commits)
        print(f"built {args.files} SOPS files, {args.commits} commits in {time.perf_counter() - start:.1f} s")
        exe = [sys.executable, "-m", "sopskit"]
        floor = timed(["git", "-C", str(root), "log", "--raw", "--no-abbrev", "--format=%cI", "HEAD"])
        with_history = timed([*exe, "inventory", "--format", "json", str(root)])
        without = timed([*exe, "inventory", "--format", "json", "--no-history", str(root)])
        print(f"floor: git log --raw over the history      {floor:7.2f} s")
        print(f"sopskit inventory (history)               {with_history:7.2f} s")
        print(f"sopskit inventory --no-history            {without:7.2f} s")


if __name__ == "__main__":
    main()
