"""Review/build benchmark, run by hand: ``.venv/bin/python bench/review.py [--secrets N]``.

Makes a throwaway Git repository with N encrypted Secrets (age, encrypted_regex), a Deployment
consuming each, and one commit changing one value in every Secret; then times
``sopskit review BASE..HEAD --format json`` (no key), the same with ``--with-keys``, and
``sopskit build`` of the directory (all Secrets as kustomize resources). Wall-clock seconds of
the real CLI in a subprocess, best of three.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyrage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sopskit.format.selection import SelectionRules  # noqa: E402
from sopskit.ops.encrypt import encrypt  # noqa: E402

SELECTION = SelectionRules(option="encrypted_regex", pattern="^(data|stringData)$")


def _secret(i: int, value: str) -> bytes:
    return (f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s{i}\n  namespace: app\nstringData:\n"
            f"  password: {value}\n  user: user-{i}\n").encode()


def best_of(command: list[str], env: dict[str, str], cwd: Path) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--secrets", type=int, default=50)
    parser.add_argument("--keep", metavar="DIR", help="build the repository in DIR and keep it (profiling)")
    options = parser.parse_args()
    n = options.secrets
    with (contextlib.nullcontext(options.keep) if options.keep else tempfile.TemporaryDirectory()) as tmp:
        base = Path(tmp)
        identity = pyrage.x25519.Identity.generate()
        (base / "age.txt").write_text(str(identity) + "\n")
        recipient = str(identity.to_public())
        repo = base / "repo"
        (repo / "app").mkdir(parents=True)
        env = {**os.environ, "SOPS_AGE_KEY_FILE": str(base / "age.txt"), "GIT_AUTHOR_NAME": "b",
               "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b"}
        git = ["git", "-C", str(repo)]
        subprocess.run([*git, "init", "-q"], check=True)
        (repo / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: ^app/\n    age: {recipient}\n")
        resources = []
        for i in range(n):
            (repo / "app" / f"s{i}.yaml").write_bytes(encrypt(_secret(i, f"v1-{i}"), format="yaml",
                                                             age=[recipient], config=False, selection=SELECTION))
            (repo / "app" / f"d{i}.yaml").write_text(
                f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{i}, namespace: app}}\nspec:\n"
                f"  template:\n    spec:\n      containers:\n        - name: c\n"
                f"          envFrom: [{{secretRef: {{name: s{i}}}}}]\n")
            resources += [f"s{i}.yaml", f"d{i}.yaml"]
        (repo / "app" / "kustomization.yaml").write_text("resources:\n" + "".join(f"  - {r}\n" for r in resources))
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "base"], check=True, env=env)
        sopskit = [sys.executable, "-m", "sopskit"]
        for i in range(n):
            subprocess.run([*sopskit, "set", f"app/s{i}.yaml", '["stringData"]["password"]', f'"v2-{i}"'],
                           check=True, env=env, cwd=repo, capture_output=True)
        subprocess.run([*git, "commit", "-qam", "change"], check=True, env=env)
        env["PYTHONPATH"] = str(ROOT / "src")
        review = best_of([*sopskit, "review", "HEAD~1..HEAD", "--format", "json"], env, repo)
        keyed = best_of([*sopskit, "review", "HEAD~1..HEAD", "--format", "json", "--with-keys"], env, repo)
        build = best_of([*sopskit, "build", "app"], env, repo)
        out = subprocess.run([*sopskit, "review", "HEAD~1..HEAD", "--format", "json"], env=env, cwd=repo,
                             capture_output=True, check=True).stdout
        files = json.loads(out)["files"]
        assert len(files) == n and all(f["keys_changed"] == ["stringData.password"] for f in files)
        print(f"{n} Secrets changed: review {review:.2f} s, review --with-keys {keyed:.2f} s, build {build:.2f} s")


if __name__ == "__main__":
    main()
