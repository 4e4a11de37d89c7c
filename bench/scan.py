"""Benchmark ``sopskit scan`` against its floor and its peers, on a synthetic repository.

Run by hand (not part of the test suite):

    .venv/bin/python bench/scan.py            # about 300 MB of unique blob history
    .venv/bin/python bench/scan.py --mb 30    # quick run

One run builds the repository with ``git fast-import`` (random code-like text, a few fake
credentials), then times, each as a subprocess:

* ``sopskit scan --history`` (whole default rule set);
* the floor ``git cat-file --batch-all-objects --batch | rg`` with the same patterns
  (the rules' multi-pattern prefilters, i.e. what sopskit's first stage searches for);
* ``git secrets --scan-history`` (Debian git-secrets, AWS provider patterns registered);
* on the HEAD tree: ``sopskit scan`` against ``detect-secrets scan --all-files``
  (installed into a throwaway venv under /tmp, never into the project).

Targets (from the issue): history <= 3x the rg floor and faster than git-secrets; HEAD
>= 10x faster than detect-secrets.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

WORDS = [
    "def", "return", "class", "import", "self", "value", "config", "request", "response", "user",
    "item", "index", "count", "result", "error", "handler", "client", "server", "message", "buffer",
    "if", "else", "for", "while", "in", "not", "None", "True", "False", "with", "as", "yield",
]
IDENT = string.ascii_lowercase + "_"
FILES = 400


def _line(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(3, 9))
    ident = "".join(rng.choices(IDENT, k=rng.randint(4, 14)))
    num = rng.randint(0, 10**9)
    return f"    {' '.join(words)} {ident} = {num}  # {ident[::-1]}\n"


def _content(rng: random.Random, size: int) -> bytes:
    lines: list[str] = []
    total = 0
    while total < size:
        ln = _line(rng)
        lines.append(ln)
        total += len(ln)
    if rng.random() < 0.02:  # a few fake credentials so the confirm stage has work
        fake = "AKIA" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=16))
        lines.insert(len(lines) // 2, f"aws_access_key_id = {fake}\n")
    return "".join(lines).encode()


def build_repo(path: Path, megabytes: int, seed: int = 7) -> dict[str, int]:
    """Commits rewriting 10 files each with fresh ~20 KB contents until ``megabytes`` is reached."""
    rng = random.Random(seed)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    proc = subprocess.Popen(["git", "-C", str(path), "fast-import", "--quiet"], stdin=subprocess.PIPE)
    assert proc.stdin is not None
    target, written, commits, mark = megabytes * 1024 * 1024, 0, 0, 0
    when = 1_600_000_000
    while written < target:
        commits += 1
        paths = rng.sample(range(FILES), 10) if commits > 1 else list(range(FILES))
        blobs = []
        for n in paths:
            data = _content(rng, rng.randint(10_000, 30_000))
            mark += 1
            proc.stdin.write(b"blob\nmark :%d\ndata %d\n" % (mark, len(data)) + data + b"\n")
            blobs.append((mark, f"src/module_{n:03d}.py"))
            written += len(data)
        msg = f"commit {commits}".encode()
        when += 3600
        proc.stdin.write(b"commit refs/heads/main\n")
        proc.stdin.write(b"committer Bench <bench@example.invalid> %d +0000\n" % when)
        proc.stdin.write(b"data %d\n%s\n" % (len(msg), msg))
        for m, p in blobs:
            proc.stdin.write(b"M 100644 :%d %s\n" % (m, p.encode()))
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit("git fast-import failed")
    subprocess.run(["git", "-C", str(path), "checkout", "-q", "-f", "main"], check=True)
    gc_mode = "--aggressive" if megabytes < 50 else "--auto"
    subprocess.run(["git", "-C", str(path), "gc", "-q", gc_mode], check=True)
    return {"bytes": written, "commits": commits, "blobs": mark}


def timed(cmd: list[str] | str, *, cwd: Path, timeout: float, shell: bool = False) -> float | None:
    start = time.perf_counter()
    try:
        subprocess.run(cmd, cwd=cwd, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return None
    return time.perf_counter() - start


def rg_patterns() -> list[str]:
    from sopskit.scan.rules import load_default_rules

    return [r.prefilter for r in load_default_rules().rules if r.prefilter]


def detect_secrets_bin() -> Path | None:
    env_dir = Path(tempfile.gettempdir()) / "sopskit-bench-detect-secrets"
    exe = env_dir / "bin" / "detect-secrets"
    if not exe.exists():
        venv.create(env_dir, with_pip=True)
        pip = subprocess.run([str(env_dir / "bin" / "pip"), "install", "-q", "detect-secrets"], check=False)
        if pip.returncode != 0:
            return None
    return exe


def fmt(seconds: float | None, limit: float) -> str:
    return f">{limit:.0f}s (timeout)" if seconds is None else f"{seconds:.2f}s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=int, default=300, help="unique blob bytes to generate (MiB)")
    ap.add_argument("--workdir", type=Path, help="where to build the repository (default: a temp dir)")
    ap.add_argument("--timeout", type=float, default=900.0, help="per-tool time limit in seconds")
    ap.add_argument("--keep", action="store_true", help="keep the repository afterwards")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="sopskit-bench-"))
    repo = work / "repo"
    t0 = time.perf_counter()
    info = build_repo(repo, args.mb)
    print(f"built {repo}: {info['bytes'] / 2**20:.0f} MiB unique blobs, {info['blobs']} blobs, "
          f"{info['commits']} commits in {time.perf_counter() - t0:.1f}s")
    sopskit = Path(sys.executable).parent / "sopskit"
    pattern_file = work / "patterns.txt"
    pattern_file.write_text("\n".join(rg_patterns()) + "\n")
    results: dict[str, float | None] = {}
    results["sopskit scan --history"] = timed(
        [str(sopskit), "scan", "--history", "--format", "json", "--output", str(work / "history.json")],
        cwd=repo, timeout=args.timeout)
    results["floor: cat-file | rg"] = timed(
        f"git cat-file --batch-all-objects --batch | rg -a -c -f {pattern_file} > /dev/null",
        cwd=repo, timeout=args.timeout, shell=True)
    results["I/O floor: cat-file | rg one literal"] = timed(
        "git cat-file --batch-all-objects --batch | rg -a -c -F AKIA > /dev/null", cwd=repo,
        timeout=args.timeout, shell=True)
    if shutil.which("git-secrets"):
        subprocess.run(["git", "secrets", "--install", "-f"], cwd=repo, capture_output=True, check=False)
        subprocess.run(["git", "secrets", "--register-aws"], cwd=repo, capture_output=True, check=False)
        results["git secrets --scan-history"] = timed(["git", "secrets", "--scan-history"], cwd=repo,
                                                      timeout=args.timeout)
    results["sopskit scan (HEAD)"] = timed(
        [str(sopskit), "scan", "--format", "json", "--output", str(work / "head.json")], cwd=repo,
        timeout=args.timeout)
    ds = detect_secrets_bin()
    if ds is not None:
        results["detect-secrets scan --all-files (HEAD)"] = timed(
            f"{ds} scan --all-files > {work / 'ds.json'}", cwd=repo, timeout=args.timeout, shell=True)
    print(f"{'tool':45} time")
    for name, secs in results.items():
        print(f"{name:45} {fmt(secs, args.timeout)}")
    hist, floor = results["sopskit scan --history"], results["floor: cat-file | rg"]
    if hist and floor:
        print(f"history / floor = {hist / floor:.2f}x (target <= 3x)")
    gs = results.get("git secrets --scan-history", 0.0)
    if hist:
        print("vs git-secrets: " + ("timed out" if gs is None else f"{(gs or 0) / hist:.1f}x faster"))
    head, dsec = results["sopskit scan (HEAD)"], results.get("detect-secrets scan --all-files (HEAD)")
    if head and dsec:
        print(f"detect-secrets / sopskit HEAD = {dsec / head:.1f}x (target >= 10x)")
    if not args.keep and args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    os.sys.stdout.flush()


if __name__ == "__main__":
    main()
