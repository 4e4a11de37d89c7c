"""Benchmark ``sopskit leak value`` against the by-hand way, ``git log -p -S VALUE --all``.

Run by hand (not part of the test suite):

    .venv/bin/python bench/leak.py            # the ~300 MB history bench/scan.py builds
    .venv/bin/python bench/leak.py --mb 30    # quick run

Builds the scanner bench's synthetic history (``bench/scan.py:build_repo``), plants one
made-up value in a commit on main and in a deleted branch's commit (reflog only), then times,
each as a subprocess:

* ``sopskit leak value`` (value on stdin; every blob, reachable or not, once);
* ``git log -p -S VALUE --all`` (pickaxe: diffs every commit, sees only refs, not reflogs);
* ``git cat-file --batch-all-objects --batch | grep -F`` (the floor: read and match only);
* ``sopskit leak status RECORD`` (re-check with the record's HMAC alone, no value).
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from scan import build_repo  # noqa: E402

SOPSKIT = [sys.executable, "-m", "sopskit"]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True).stdout.decode().strip()


def plant(repo: Path, value: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    (repo / "config.env").write_text(f"API_TOKEN={value}\n")
    subprocess.run(["git", "-C", str(repo), "add", "config.env"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "token"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "-b", "tmp"], check=True, env=env)
    (repo / "debug.txt").write_text(f"debug {value}\n")
    subprocess.run(["git", "-C", str(repo), "add", "debug.txt"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "debug"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "checkout", "-q", "main"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "branch", "-q", "-D", "tmp"], check=True, env=env)


def timed(cmd: list[str] | str, *, stdin: bytes = b"", shell: bool = False) -> tuple[float, bytes]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, capture_output=True, shell=shell, timeout=3600)
    return time.perf_counter() - start, proc.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="keep the repository")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sopskit-leak-bench-"))
    repo = work / "repo"
    t0 = time.perf_counter()
    info = build_repo(repo, args.mb)
    value = "lk_" + secrets.token_hex(16)
    plant(repo, value)
    print(f"built {info['bytes'] / 1e6:.0f} MB in {info['commits']} commits, {info['blobs']} blobs "
          f"({time.perf_counter() - t0:.0f} s); value planted on main and in a deleted branch")
    record = work / "incident.yaml"
    t_leak, out = timed([*SOPSKIT, "leak", "value", "--repo", str(repo), "--record", str(record), "--format",
                         "json"], stdin=value.encode())
    import json

    found = len(json.loads(out)["occurrences"])
    t_pick, out_pick = timed(["git", "-C", str(repo), "log", "-p", "-S", value, "--all", "--format=%H"])
    pick_commits = len([ln for ln in out_pick.decode().splitlines() if len(ln) == 40])
    floor_cmd = f"git -C {repo} cat-file --batch-all-objects --batch --unordered | grep -c -F -a {value}"
    t_floor, out_floor = timed(floor_cmd, shell=True)
    t_status, _ = timed([*SOPSKIT, "leak", "status", str(record), "--format", "json"])
    print(f"sopskit leak value            {t_leak:7.1f} s   {found} occurrence(s) (main + reflog-only commit)")
    print(f"git log -p -S VALUE --all     {t_pick:7.1f} s   {pick_commits} commit(s) (refs only: the deleted "
          "branch is missed)")
    print(f"cat-file --batch | grep -F    {t_floor:7.1f} s   {out_floor.decode().strip()} line(s) (floor: no places)")
    print(f"sopskit leak status (HMAC)    {t_status:7.1f} s   re-check without the value")
    if not args.keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}")


if __name__ == "__main__":
    main()
