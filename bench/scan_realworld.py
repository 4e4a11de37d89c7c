"""Scanner precision (and recall against a second opinion) on real GitOps repositories (by hand).

For each local clone: ``sopskit scan`` (work tree) and ``sopskit scan --history``; when a
gitleaks binary is given, ``gitleaks dir`` / ``gitleaks git`` too. Findings of both tools are
joined per (source, path, secret fingerprint) - or per (path, line) when the two tools cut the
secret differently - and looked up in a label file written by a person who read each file:

    {"<repo>|<source>|<path>|<fingerprint>": {"label": true|false, "why": "..."}}
    {"<repo>|<source>|<RULE> <path>:<line>": {"label": true|false, "why": "..."}}

The second form (rule, path and line of the first introducing version, no fingerprint) is the
one new label files use. A label file holds fingerprints or positions and paths, never a secret.
Precision = sopskit's true findings / its labelled findings; recall = sopskit's true findings /
true findings of either tool (the union is the best available stand-in for "every secret").

    .venv/bin/python bench/scan_realworld.py --clones /tmp/rw --labels bench/scan_realworld_labels.json \\
        [--gitleaks /path/to/gitleaks] [--unlabelled] REPO [REPO ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

Key = tuple[str, str, str]  # (source, path, fingerprint)


def _fp(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def run_sopskit(clone: Path, history: bool) -> list[dict[str, Any]]:
    args = [sys.executable, "-m", "sopskit", "scan", "--no-progress", "--format", "json", "--jobs", "2", "."]
    if history:
        args.insert(4, "--history")
    out = subprocess.run(args, cwd=clone, capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1):
        raise SystemExit(f"sopskit failed on {clone}: {out.stderr.strip()[-300:]}")
    return [{"rule": f["rule_id"], "path": f["path"], "line": f["line"], "fp": f["fingerprint"],
             "source": "history" if history else "worktree", "commit": f.get("commit")}
            for f in json.loads(out.stdout)["findings"]]


def run_gitleaks(binary: str, clone: Path, history: bool) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        mode = ["git", str(clone)] if history else ["dir", str(clone)]
        subprocess.run([binary, *mode, "--no-banner", "--exit-code", "0", "--report-format", "json",
                        "--report-path", str(report), "--log-level", "error", "--max-target-megabytes", "10"],
                       check=True, capture_output=True)
        hits = json.loads(report.read_text() or "[]")
    out = []
    for h in hits:
        path = h["File"]
        if not history:
            path = Path(path).resolve().relative_to(clone.resolve()).as_posix()
        out.append({"rule": h["RuleID"], "path": path, "line": h["StartLine"], "fp": _fp(h["Secret"]),
                    "source": "history" if history else "worktree", "commit": h.get("Commit") or None})
    return out


def cached(cache: Path | None, name: str, compute: Any) -> list[dict[str, Any]]:
    """Tool output, kept in ``--cache`` so relabelling does not rescan (delete it after a change)."""
    if cache is None:
        return compute()  # type: ignore[no-any-return]
    target = cache / f"{name}.json"
    if target.exists():
        return json.loads(target.read_text())  # type: ignore[no-any-return]
    result = compute()
    cache.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result))
    return result  # type: ignore[no-any-return]


def key(repo: str, f: dict[str, Any]) -> str:
    return f"{repo}|{f['source']}|{f['path']}|{f['fp']}"


def position_key(repo: str, f: dict[str, Any]) -> str:
    return f"{repo}|{f['source']}|{f['rule']} {f['path']}:{f['line']}"


def label_of(labels: dict[str, dict[str, Any]], repo: str, f: dict[str, Any]) -> dict[str, Any] | None:
    return labels.get(position_key(repo, f)) or labels.get(key(repo, f))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("repos", nargs="+")
    ap.add_argument("--clones", type=Path, default=Path("/tmp/rw"))
    ap.add_argument("--labels", type=Path, default=Path(__file__).with_name("scan_realworld_labels.json"))
    ap.add_argument("--gitleaks")
    ap.add_argument("--cache", type=Path, help="directory keeping each tool's findings between runs")
    ap.add_argument("--unlabelled", action="store_true", help="list findings that have no label yet")
    args = ap.parse_args()
    labels: dict[str, dict[str, Any]] = json.loads(args.labels.read_text()) if args.labels.exists() else {}
    rows = []
    for repo in args.repos:
        clone = args.clones / repo
        for history in (False, True):
            source = "history" if history else "worktree"
            ours = cached(args.cache, f"{repo}.sopskit.{source}", lambda c=clone, h=history: run_sopskit(c, h))
            theirs = cached(args.cache, f"{repo}.gitleaks.{source}",
                            lambda c=clone, h=history: run_gitleaks(args.gitleaks, c, h)) if args.gitleaks else []
            ours_keys = {key(repo, f) for f in ours}
            ours_lines = {(f["path"], f["line"]) for f in ours}
            extra = [f for f in theirs if key(repo, f) not in ours_keys and (f["path"], f["line"]) not in ours_lines]
            t = fl = unl = 0
            for f in ours:
                lab = label_of(labels, repo, f)
                if lab is None:
                    unl += 1
                    if args.unlabelled:
                        print(f"  unlabelled sopskit {position_key(repo, f)} {f.get('commit')}")
                elif lab["label"] is True:
                    t += 1
                else:
                    fl += 1
            missed = 0
            for f in extra:
                lab = label_of(labels, repo, f)
                if lab is None and args.unlabelled:
                    print(f"  unlabelled gitleaks {position_key(repo, f)} {f.get('commit')}")
                missed += bool(lab and lab["label"] is True)  # "dup": the same secret sopskit reported
            rows.append((repo, source, len(ours), t, fl, unl, len(theirs), missed))
    print(f"{'repository':40} {'source':8} {'sopskit':>7} {'true':>5} {'false':>5} {'unlab':>5} {'prec':>5} "
          f"{'gitleaks':>8} {'missed':>6} {'recall':>6}")
    for repo, source, n, t, fl, unl, g, missed in rows:
        prec = f"{t / (t + fl):.2f}" if t + fl else "-"
        rec = f"{t / (t + missed):.2f}" if t + missed else "-"
        print(f"{repo:40} {source:8} {n:7} {t:5} {fl:5} {unl:5} {prec:>5} {g:8} {missed:6} {rec:>6}")
    tt = sum(r[3] for r in rows)
    tf = sum(r[4] for r in rows)
    tm = sum(r[7] for r in rows)
    print(f"total: {tt} true, {tf} false -> precision {tt / max(1, tt + tf):.3f}; "
          f"{tm} true secrets only gitleaks found -> recall {tt / max(1, tt + tm):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
