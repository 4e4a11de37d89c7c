"""Run the newer sopskit commands over real GitOps clones and print counts, exit codes and times.

Run by hand (not part of the test suite); it takes clones you made yourself, e.g.::

    git clone /work/.mirror/toboshii+home-ops/repo /tmp/realnew/toboshii-home-ops
    .venv/bin/python bench/realworld_new.py /tmp/realnew/*            # every command
    .venv/bin/python bench/realworld_new.py --save /tmp/out /tmp/realnew/toboshii-home-ops

Per repository it runs, each as a subprocess with ``--format json`` where the command has it:

* ``sopskit inventory`` (entries per kind/protection, holders spanning environments);
* ``sopskit report`` (level, checklist answers);
* ``sopskit policy check --only`` each audit check (findings per check id);
* ``sopskit review HEAD~20..HEAD`` (changed files and key changes);
* ``sopskit build --no-decrypt`` on up to three directories holding a ``kustomization.yaml``
  and a SOPS file (objects built);
* ``sopskit leak key --public R`` for the first age recipient of the root ``.sops.yaml``
  (files and versions exposed);
* ``sopskit leak value`` with a made-up value on stdin (no hit expected).

A crash is an exit code other than 0/1 or a ``Traceback`` on standard error. ``--save DIR``
keeps every command's standard output for labelling by hand.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

SOPSKIT = [sys.executable, "-m", "sopskit"]
AUDIT = [
    "terraform-state-committed",
    "terraform-state-secret",
    "wildcard-secret-read",
    "rbac-workload-reads-all-secrets",
    "decryption-key-readable",
]
AGE_RE = re.compile(r"age1[0-9a-z]{58}")


def run(args: list[str], cwd: Path, stdin: str | None = None) -> tuple[int, float, str, str]:
    """Run one sopskit command; return exit code, wall seconds, stdout and stderr."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*SOPSKIT, *args], cwd=cwd, input=stdin, capture_output=True, text=True,
        env={**os.environ, "SOPS_AGE_KEY_FILE": os.devnull}, check=False,
    )
    return proc.returncode, time.perf_counter() - start, proc.stdout, proc.stderr


def load(out: str) -> Any:
    try:
        return json.loads(out)
    except ValueError:
        return None


def crashed(code: int, err: str) -> bool:
    return code not in (0, 1) or "Traceback" in err


def sops_dirs(repo: Path, limit: int = 3) -> list[Path]:
    """Directories with a kustomization.yaml that list a SOPS file (Flux app paths)."""
    listed = subprocess.run(["git", "-C", str(repo), "grep", "-l", "ENC\\[AES256_GCM"],
                            capture_output=True, text=True, check=False).stdout.split()
    found: list[Path] = []
    for rel in listed:
        parent = (repo / rel).parent
        if (parent / "kustomization.yaml").is_file() and parent not in found:
            found.append(parent)
        if len(found) >= limit:
            break
    return found


def first_age_recipient(repo: Path) -> str | None:
    config = repo / ".sops.yaml"
    if not config.is_file():
        return None
    match = AGE_RE.search(config.read_text(errors="replace"))
    return match.group(0) if match else None


def summarise(name: str, args: list[str], code: int, secs: float, err: str, counts: str,
              rows: list[dict[str, Any]]) -> None:
    flag = " CRASH" if crashed(code, err) else ""
    print(f"  {name:<34} exit={code} {secs:6.1f}s {counts}{flag}")
    if flag:
        print("    " + err.strip().splitlines()[-1][:200] if err.strip() else "    (no stderr)")
    rows.append({"command": name, "args": args, "exit": code, "seconds": round(secs, 2),
                 "crash": bool(flag), "counts": counts})


def bench_repo(repo: Path, save: Path | None, commands: set[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    print(f"{repo.name}:")

    def keep(label: str, out: str) -> None:
        if save:
            (save / repo.name).mkdir(parents=True, exist_ok=True)
            (save / repo.name / f"{label}.out").write_text(out)

    if "inventory" in commands:
        args = ["inventory", ".", "--format", "json"]
        code, secs, out, err = run(args, repo)
        keep("inventory", out)
        data = load(out) or {}
        kinds = Counter(f"{s.get('protection')}" for s in data.get("secrets", []))
        spans = sum(1 for h in data.get("holders", []) if h.get("spans_environments"))
        summarise("inventory", args, code, secs, err,
                  f"entries={sum(kinds.values())} {dict(kinds)} spanning_holders={spans}", rows)
    if "report" in commands:
        args = ["report", ".", "--format", "json"]
        code, secs, out, err = run(args, repo)
        keep("report", out)
        data = load(out) or {}
        answers = Counter(c.get("answer") for c in data.get("checklist", []))
        summarise("report", args, code, secs, err, f"level={data.get('level')} {dict(answers)}", rows)
    if "audit" in commands:
        for check in AUDIT:
            args = ["policy", "check", ".", "--only", check, "--format", "json"]
            code, secs, out, err = run(args, repo)
            keep(f"audit-{check}", out)
            data = load(out)
            findings = data.get("violations") if isinstance(data, dict) else None
            count = len(findings) if isinstance(findings, list) else "?"
            summarise(f"audit {check}", args, code, secs, err, f"findings={count}", rows)
    if "review" in commands:
        depth = int(subprocess.run(["git", "-C", str(repo), "rev-list", "--count", "HEAD"],
                                   capture_output=True, text=True, check=False).stdout or 1)
        base = f"HEAD~{min(20, depth - 1)}"
        args = ["review", f"{base}..HEAD", "--format", "json"]
        code, secs, out, err = run(args, repo)
        keep("review", out)
        data = load(out) or {}
        files = data.get("files", []) if isinstance(data, dict) else []
        summarise("review", args, code, secs, err, f"files={len(files)}", rows)
    if "build" in commands:
        for path in sops_dirs(repo):
            rel = str(path.relative_to(repo))
            args = ["build", rel, "--no-decrypt"]
            code, secs, out, err = run(args, repo)
            keep("build-" + rel.replace("/", "_"), out)
            objects = out.count("\n---") + (1 if out.strip() else 0)
            summarise(f"build {rel}", args, code, secs, err, f"objects={objects}", rows)
    if "leak" in commands:
        recipient = first_age_recipient(repo)
        if recipient:
            args = ["leak", "key", "--public", recipient, "--format", "json"]
            code, secs, out, err = run(args, repo)
            keep("leak-key", out)
            data = load(out) or {}
            summarise("leak key", args, code, secs, err,
                      f"exposed_versions={len(data.get('exposed', []))} "
                      f"files={len({e.get('path') for e in data.get('exposed', [])})} "
                      f"errors={len(data.get('errors', []))}",
                      rows)
        args = ["leak", "value", "--format", "json", "--no-worktree"]
        code, secs, out, err = run(args, repo, stdin="made-up-not-a-real-value-7f3a9c\n")
        keep("leak-value", out)
        data = load(out) or {}
        summarise("leak value", args, code, secs, err, f"occurrences={len(data.get('occurrences', []))} "
                  f"blobs={data.get('stats', {}).get('blobs')}", rows)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="+", type=Path)
    parser.add_argument("--save", type=Path, help="keep each command's output under DIR/<repo>/")
    parser.add_argument("--only", action="append",
                        choices=["inventory", "report", "audit", "review", "build", "leak"])
    parser.add_argument("--json", type=Path, help="write all rows to this file")
    opts = parser.parse_args()
    commands = set(opts.only or ["inventory", "report", "audit", "review", "build", "leak"])
    rows: dict[str, list[dict[str, Any]]] = {}
    for repo in opts.repos:
        rows[repo.name] = bench_repo(repo.resolve(), opts.save, commands)
    crashes = sum(r["crash"] for rs in rows.values() for r in rs)
    print(f"crashes: {crashes}")
    if opts.json:
        opts.json.write_text(json.dumps(rows, indent=2))
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
