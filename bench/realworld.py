"""Run every guardrail command on real GitOps repositories and count findings per check id.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/realworld.py /work/.mirror/bjw-s+home-ops/repo \\
        /work/.mirror/onedr0p+home-ops/repo@2022-06-01 ~/src/my-gitops@v1.2.0
    .venv/bin/python bench/realworld.py --save run.json REPO...     # keep the findings
    .venv/bin/python bench/realworld.py --score run.json            # precision / recall
    .venv/bin/python bench/realworld.py --score run.json --per-check   # ... and per check id
    .venv/bin/python bench/realworld.py --no-scan -v --save run.json REPO...   # guardrails only

A REPO is a work tree or a Git directory (the bare mirrors the ``fetch`` tool writes), optionally
followed by ``@REV`` (a commit, tag or branch) or ``@YYYY-MM-DD`` (the last commit before that
day, 00:00 UTC: many repositories used SOPS in the past and moved on; a labelled snapshot's
``"commit"`` pins it, HEAD snapshots too, to the commit it was labelled at). Each one is cloned with
``git clone --shared`` into a temporary directory (the source is never touched), checked out at
the revision, then ``sopskit scan``, ``sopskit policy check`` and ``sopskit flux validate`` run on
it with ``--format json``. Findings print grouped by repository and check id.

Labels: ``bench/realworld_labels.json`` maps ``"owner/name@snapshot"`` to a mapping of
``"CHECK PATH:LINE"`` to ``true`` (a real problem) or ``false`` (a false positive), set by reading
each file; ``"missed"`` lists true findings no run reported (``"CHECK PATH"``). No file content
is stored. ``--score`` prints precision and recall per repository group (``tuned`` / ``held-out``
in the labels file) from a saved run: recall counts every finding ever labelled true for that
snapshot (by any run) plus the listed misses.

How the groups were made: a repository is first run once with the code frozen (a commit), every
finding is labelled by reading the file, and the figures are recorded as a ``held-out-N`` group
before any change; once the code is changed because of what it showed, the repository moves to
``tuned`` and its snapshot's ``note`` keeps the held-out figures.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "bench" / "realworld_labels.json"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GUARDRAILS = (("policy", ["policy", "check"]), ("flux", ["flux", "validate"]))


def _sopskit() -> list[str]:
    return [sys.executable, "-m", "sopskit"]


def _name(source: str) -> str:
    """``owner/name`` from a mirror path (``owner+name/repo``) or the directory name."""
    path = Path(source).resolve()
    if path.name == "repo" and "+" in path.parent.name:
        return path.parent.name.replace("+", "/", 1)
    return path.name


def _pinned_commit(label: str) -> str | None:
    """The commit a date snapshot was labelled at (``"commit"`` in its labels entry), so a re-run
    reads the same files whatever day it runs on (busy repositories commit daily)."""
    if not LABELS.exists():
        return None
    entry = json.loads(LABELS.read_text()).get("snapshots", {}).get(label, {})
    commit = entry.get("commit") if isinstance(entry, dict) else None
    return commit if isinstance(commit, str) else None


def _checkout(source: str, rev: str | None, into: Path) -> str:
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", source, str(into)], check=True)
    # a labelled HEAD or date snapshot reads the commit it was labelled at, wherever the
    # mirror's HEAD has moved since (a newer fetch of a busy repository)
    pinned = _pinned_commit(f"{_name(source)}@{rev or 'HEAD'}") if rev is None or _DATE.match(rev) else None
    if pinned and subprocess.run(["git", "-C", str(into), "cat-file", "-e", f"{pinned}^{{commit}}"],
                                 capture_output=True).returncode == 0:
        target = pinned
    elif rev is None:
        target = "HEAD"
    elif _DATE.match(rev):
        target = subprocess.run(
            ["git", "-C", str(into), "rev-list", "-1", f"--before={rev}T00:00:00Z", "HEAD"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
        if not target:
            raise SystemExit(f"{source}: no commit before {rev}")
    else:
        target = rev
    subprocess.run(["git", "-C", str(into), "checkout", "-q", "--detach", target], check=True)
    name = _name(source)
    if "/" in name:  # what a user's clone would have: the GitHub URL as origin
        subprocess.run(["git", "-C", str(into), "remote", "set-url", "origin", f"https://github.com/{name}.git"],
                       check=True)
    return subprocess.run(
        ["git", "-C", str(into), "rev-parse", "--short=12", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()


def _run_json(args: list[str], cwd: Path) -> tuple[dict[str, Any] | None, str]:
    proc = subprocess.run([*_sopskit(), *args], cwd=cwd, capture_output=True, text=True, timeout=1800)
    stderr = proc.stderr.strip()
    if "Traceback" in stderr:
        stderr = "TRACEBACK: " + stderr.splitlines()[-1]
    try:
        return json.loads(proc.stdout), stderr
    except json.JSONDecodeError:
        return None, stderr or f"exit {proc.returncode}, no JSON"


def run_one(spec: str, *, history: bool, scan: bool = True) -> dict[str, Any]:
    source, _, rev = spec.partition("@")
    label = f"{_name(source)}@{rev or 'HEAD'}"
    with tempfile.TemporaryDirectory(prefix="sopskit-realworld-") as tmp:
        work = Path(tmp) / "repo"
        commit = _checkout(source, rev or None, work)
        result: dict[str, Any] = {"repo": label, "commit": commit, "findings": [], "errors": []}
        scan_args = ["scan", "--format", "json", "--no-progress", *(["--history"] if history else []), "."]
        data, err = _run_json(scan_args, work) if scan else ({"findings": []}, "")
        if data is None:
            result["errors"].append(f"scan: {err}")
        else:
            for f in data.get("findings", []):
                result["findings"].append(
                    {"tool": "scan", "check": f["rule_id"], "path": f["path"], "line": f.get("line"),
                     "commit": f.get("commit")}
                )
        for tool, command in _GUARDRAILS:
            data, err = _run_json([*command, "--format", "json", "."], work)
            if data is None:
                result["errors"].append(f"{tool}: {err}")
                continue
            for v in data.get("violations", []):
                result["findings"].append(
                    {"tool": tool, "check": v["check"], "path": v["path"], "line": v.get("line"),
                     "message": v["message"]}
                )
            result.setdefault("checks", {})[tool] = data.get("summary", {}).get("check_status", {})
        return result


def finding_key(finding: dict[str, Any]) -> str:
    line = finding.get("line")
    return f"{finding['check']} {finding['path']}" + (f":{line}" if line else "")


def print_run(result: dict[str, Any], *, verbose: bool) -> None:
    print(f"== {result['repo']} ({result['commit']})")
    for error in result["errors"]:
        print(f"   ERROR {error}")
    counts = Counter((f["tool"], f["check"]) for f in result["findings"])
    for (tool, check), count in sorted(counts.items()):
        print(f"   {tool:7} {check:38} {count}")
    if verbose:
        for f in result["findings"]:
            if f["tool"] != "scan":
                print(f"     {f['tool']}: {finding_key(f)}  {f.get('message', '')[:160]}")


def score(runs: list[dict[str, Any]], labels: dict[str, Any], *, per_check: bool = False) -> None:
    """Precision and recall of the policy+flux findings, per group of repositories."""
    snapshots = labels.get("snapshots", {})
    totals: dict[str, Counter[str]] = {}
    print(f"{'repository':52} {'found':>5} {'true':>5} {'false':>5} {'unlab':>5} {'miss':>5}")
    for run in runs:
        marks = snapshots.get(run["repo"], {})
        verdicts = marks.get("findings", {})
        found = [finding_key(f) for f in run["findings"] if f["tool"] != "scan"]
        true = sum(1 for k in found if verdicts.get(k) is True)
        false = sum(1 for k in found if verdicts.get(k) is False)
        unlabelled = len(found) - true - false
        all_true = {k for k, v in verdicts.items() if v is True} | set(marks.get("missed", []))
        missed = len(_not_reported(all_true, found))
        group = _group_of(labels, run["repo"])
        bucket = totals.setdefault(group, Counter())
        # recall over distinct true findings (one problem reported by both commands counts once)
        bucket.update(found=len(found), true=true, false=false, unlabelled=unlabelled, missed=missed,
                      true_unique=len(all_true) - missed)
        print(f"{run['repo']:52} {len(found):5} {true:5} {false:5} {unlabelled:5} {missed:5}")
    for group, c in sorted(totals.items()):
        precision = c["true"] / (c["true"] + c["false"]) if c["true"] + c["false"] else 1.0
        hits, total = c["true_unique"], c["true_unique"] + c["missed"]
        recall = hits / total if total else 1.0
        print(f"{group}: precision {precision:.2f} ({c['true']}/{c['true'] + c['false']}), "
              f"recall {recall:.2f} ({hits}/{total}), unlabelled {c['unlabelled']}")
    if per_check:
        print_per_check(runs, labels)


def _not_reported(true_keys: set[str], found: list[str] | set[str]) -> set[str]:
    """The true findings no key of ``found`` reports. A listed miss names a check and a path
    (``"CHECK PATH"``): a finding of that check at any line of that path reports it."""
    reported = set(found) | {key.rsplit(":", 1)[0] for key in found}
    return {key for key in true_keys if key not in reported}


def _group_of(labels: dict[str, Any], repo: str) -> str:
    groups = labels.get("groups", {})
    return next((g for g, names in groups.items() if repo.split("@")[0] in names), "other")


def print_per_check(runs: list[dict[str, Any]], labels: dict[str, Any]) -> None:
    """Per check id: findings true / false / unlabelled, and true ones missed, held-out vs tuned.

    "held-out" adds up every ``held-out*`` group, so the table answers "is this check right on
    repositories nobody tuned it on?", the question a default gate has to answer.
    """
    snapshots = labels.get("snapshots", {})
    table: dict[tuple[str, str], Counter[str]] = {}
    for run in runs:
        group = _group_of(labels, run["repo"])
        kind = "held-out" if group.startswith("held-out") else group
        marks = snapshots.get(run["repo"], {})
        verdicts = marks.get("findings", {})
        found = {finding_key(f) for f in run["findings"] if f["tool"] != "scan"}
        for key in found:
            verdict = verdicts.get(key)
            state = "true" if verdict is True else "false" if verdict is False else "unlabelled"
            table.setdefault((key.split(" ", 1)[0], kind), Counter())[state] += 1
        all_true = {k for k, v in verdicts.items() if v is True} | set(marks.get("missed", []))
        for key in _not_reported(all_true, found):
            table.setdefault((key.split(" ", 1)[0], kind), Counter())["missed"] += 1
    print(f"\n{'check':38} {'repos':9} {'true':>5} {'false':>5} {'unlab':>5} {'miss':>5} {'prec':>5}")
    for (check, kind), c in sorted(table.items()):
        judged = c["true"] + c["false"]
        precision = f"{c['true'] / judged:.2f}" if judged else "-"
        print(f"{check:38} {kind:9} {c['true']:5} {c['false']:5} {c['unlabelled']:5} {c['missed']:5} {precision:>5}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repos", nargs="*", help="REPO[@REV|@YYYY-MM-DD]")
    parser.add_argument("--history", action="store_true", help="scan with --history too (slow)")
    parser.add_argument("--no-scan", action="store_true", help="run only the guardrails (policy, flux)")
    parser.add_argument("--save", type=Path, help="write the findings to this JSON file")
    parser.add_argument("--score", type=Path, help="score a saved run against the labels file")
    parser.add_argument("--labels", type=Path, default=LABELS)
    parser.add_argument("-v", "--verbose", action="store_true", help="list every policy/flux finding")
    parser.add_argument("--per-check", action="store_true", help="with --score: a table per check id")
    args = parser.parse_args()
    if args.score:
        runs = json.loads(args.score.read_text(encoding="utf-8"))
        labels = json.loads(args.labels.read_text(encoding="utf-8")) if args.labels.is_file() else {}
        score(runs, labels, per_check=args.per_check)
        return 0
    if not args.repos:
        parser.error("give at least one repository (or --score FILE)")
    runs = []
    for spec in args.repos:
        result = run_one(spec, history=args.history, scan=not args.no_scan)
        print_run(result, verbose=args.verbose)
        runs.append(result)
    if args.save:
        args.save.write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
