"""``sopskit leak``: map a leaked value or key, keep an incident record, re-check it.

The value is read from a hidden prompt or stdin, never from argv, never echoed; after that
only its keyed fingerprint exists outside the search. Exit status: 0 nothing found (or the
incident is closed), 1 something found (or still open), 2 error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from sopskit.cli.options import add_jobs_flag

DESCRIPTION = """\
Respond to a leak in a GitOps repository.

  value   where a leaked value occurs: every blob reachable from any ref (branches, tags,
          remotes, refs/pull/*, notes, stash, reflog), unreachable objects, inside SOPS files
          your local keys open, in CI log directories and in other clones (--repo, parallel)
  key     which SOPS files, and which old versions in every ref, a leaked key opens, and the
          Kubernetes Secrets whose values must now be treated as exposed
  status  re-check an incident record (no value needed) and list what is still open
  scrub   prepare (never run) a git-filter-repo rewrite on a mirror clone
  merge   join the JSON lines of --shard runs

The value is read from a hidden prompt or stdin; it is never taken from the command line,
printed, logged or stored: records and reports hold an HMAC-SHA256 fingerprint under a
random per-incident key.
"""

EPILOG = """\
examples:
  sopskit leak value --record incidents/                  (prompt for the value; record it)
  printf %s "$VALUE" | sopskit leak value --repo ../a --repo ../b --logs ci-logs/ --format json
  sopskit leak key --public age1...                       (or: the identity on stdin)
  sopskit leak key --from-cluster --context prod --record incidents/
  sopskit leak status incidents/20261203-071200-3f9a.yaml --done rotate-credential
  sopskit leak scrub incidents/ID.yaml --repo .           (prints the plan; runs nothing)
  sopskit leak value --from-record incidents/ID.yaml --repos-from repos.txt --shard 3/20 > part-3.jsonl
  sopskit leak merge part-*.jsonl

Exit status: 0 nothing found / closed, 1 found / still open, 2 error.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("leak", help="map a leaked value or key; keep and re-check an incident record",
                              description=DESCRIPTION, epilog=EPILOG,
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="leak_action", metavar="ACTION")

    def common(q: argparse.ArgumentParser, *, record: bool = True) -> None:
        q.add_argument("--repo", action="append", default=[], metavar="DIR",
                       help="a clone to search (repeat; default: the current directory)")
        q.add_argument("--format", dest="out_format", choices=("text", "json"), default="text")
        if record:
            q.add_argument("--record", metavar="FILE|DIR", help="write the incident record (DIR gets <id>.yaml)")
            q.add_argument("--what", default="", help="what leaked, in words (no value!), for the record")
            q.add_argument("--owner", action="append", default=[], help="incident owner (repeat)")

    v = sub.add_parser("value", help="where a leaked value occurs", description=DESCRIPTION,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    common(v)
    v.add_argument("--logs", action="append", default=[], metavar="DIR",
                   help="a directory of CI logs or artefacts (.gz and .zip opened; repeat)")
    v.add_argument("--from-record", metavar="FILE",
                   help="search with a record's fingerprint instead of the value (no value needed)")
    v.add_argument("--fingerprint", metavar="sha256:HEX",
                   help="search for a scanner finding's secret by its fingerprint (no value needed; "
                        "finds only copies the scanner's rules recognise)")
    v.add_argument("--no-worktree", action="store_true",
                   help="do not read modified, untracked and ignored work-tree files")
    v.add_argument("--no-sops", action="store_true", help="do not open SOPS files with the local keys")
    v.add_argument("--jobs", type=int, default=0, metavar="N", help="repositories searched in parallel")
    v.add_argument("--repos-from", metavar="FILE", help="a file listing repositories, one per line")
    v.add_argument("--shard", metavar="I/N",
                   help="search only shard I of N of the repositories and write JSON lines "
                        "(I defaults to $JOB_COMPLETION_INDEX)")
    v.add_argument("--output", metavar="FILE", help="write the report (or shard lines) to FILE")
    v.add_argument("--clone-dir", metavar="DIR",
                   help="where clone URLs in the repository list are mirror-cloned (default: a temp dir)")
    v.add_argument("stray", nargs="*", help=argparse.SUPPRESS)  # caught so argparse never echoes a value
    v.set_defaults(handler=run_value)

    k = sub.add_parser("key", help="what a leaked key opens, in every version and ref")
    common(k)
    src = k.add_mutually_exclusive_group()
    src.add_argument("--public", metavar="KEY", help="the leaked key's age recipient or PGP fingerprint")
    src.add_argument("--from-cluster", action="store_true", help="the identities of the cluster's sops-age Secret")
    k.add_argument("--context", dest="kube_context", metavar="C", help="kubeconfig context (with --from-cluster)")
    k.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (with --from-cluster)")
    add_jobs_flag(k, what="versions whose data key is unwrapped at once with the leaked identity")
    k.set_defaults(handler=run_key)

    s = sub.add_parser("status", help="re-check an incident record; exit 1 while anything is open")
    s.add_argument("record_file", metavar="FILE")
    s.add_argument("--repo", action="append", default=None, metavar="DIR",
                   help="re-check these clones instead of the ones in the record")
    s.add_argument("--done", action="append", default=[], metavar="ID", help="mark an item done (repeat)")
    s.add_argument("--na", action="append", default=[], metavar="ID", help="mark an item not applicable")
    s.add_argument("--format", dest="out_format", choices=("text", "json"), default="text")
    s.set_defaults(handler=run_status)

    c = sub.add_parser("scrub", help="prepare a git-filter-repo rewrite on a mirror (never run)")
    c.add_argument("record_file", metavar="FILE")
    c.add_argument("--repo", required=True, metavar="DIR", help="the repository to prepare the rewrite for")
    c.add_argument("--blobs", action="store_true",
                   help="drop the recorded blobs instead of replacing the value (no value needed)")
    c.add_argument("--workdir", metavar="DIR", help="where the mirror clone goes (default: next to the repository)")
    c.add_argument("--allow-disk-tempdir", action="store_true",
                   help="accept the replacement file on disk when no tmpfs is available")
    c.add_argument("--format", dest="out_format", choices=("text", "json"), default="text")
    c.set_defaults(handler=run_scrub)

    m = sub.add_parser("merge", help="join --shard outputs into one report")
    m.add_argument("files", nargs="+", metavar="FILE")
    m.add_argument("--format", dest="out_format", choices=("text", "json"), default="json")
    m.set_defaults(handler=run_merge)
    p.set_defaults(handler=None)


# -- helpers -----------------------------------------------------------------------------------

def _guard(fn: Any, args: argparse.Namespace) -> int:
    from sopskit.errors import SopsError

    try:
        code: int = fn(args)
        return code
    except SopsError as exc:  # leak's contract: 2 on any error, 1 means found / open
        print(f"sopskit: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 2


def _read_secret_input(prompt: str) -> bytes:
    """From a hidden prompt on a terminal, else all of stdin. Never echoed."""
    from sopskit.errors import InputError

    if sys.stdin.isatty():
        import getpass

        data = getpass.getpass(prompt).encode("utf-8", "surrogateescape")
    else:
        data = sys.stdin.buffer.read()
    if not data.strip():
        raise InputError("nothing was read from stdin or the prompt")
    return data


def _repo_names(args: argparse.Namespace) -> list[str]:
    listed = list(args.repo or [])
    if getattr(args, "repos_from", None):
        from sopskit.leak.shard import read_repo_list

        listed += read_repo_list(Path(args.repos_from))
    return listed or ["."]


def _repos(args: argparse.Namespace, names: list[str] | None = None) -> list[Path]:
    """Local clones; clone URLs are mirror-cloned first (only the ones this run searches)."""
    import hashlib
    import tempfile

    from sopskit import gitio

    out: list[Path] = []
    clone_dir: Path | None = None
    for name in names if names is not None else _repo_names(args):
        if not gitio.is_remote(name):
            out.append(Path(name))
            continue
        if clone_dir is None:
            clone_dir = Path(getattr(args, "clone_dir", None) or tempfile.mkdtemp(prefix="sopskit-leak-"))
        stem = name.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git") or "repo"
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        out.append(gitio.mirror_clone(name, clone_dir / f"{digest}-{stem}.git"))
    return out


def _emit(text: str, output: str | None = None) -> None:
    if output:
        from sopskit.ops.files import atomic_write

        atomic_write(output, text.encode(), default_mode=0o644)
    else:
        sys.stdout.write(text)


def _short(oid: str | None) -> str:
    return oid[:12] if oid else "-"


def _occurrence_line(o: dict[str, Any]) -> str:
    where = o["where"]
    place = o.get("path") or "(no path)"
    repo = f"{o['repo']}: " if o.get("repo") else ""
    refs = o.get("refs") or []
    ref_text = ", ".join(refs[:4]) + (f" +{len(refs) - 4}" if len(refs) > 4 else "")
    extra = f"  blob {_short(o.get('blob'))}" if o.get("blob") else ""
    if o.get("commits"):
        extra += f"  {len(o['commits'])} commit(s), first {_short(o.get('first_commit'))}"
    if ref_text:
        extra += f"  refs: {ref_text}"
    if o.get("encodings") and o["encodings"] != ["plain"]:
        extra += f"  as {'/'.join(o['encodings'])}"
    return f"  [{where}] {repo}{place}{extra}"


# -- value -------------------------------------------------------------------------------------

def run_value(args: argparse.Namespace) -> int:
    return _guard(_run_value, args)


def _run_value(args: argparse.Namespace) -> int:
    from sopskit.errors import UsageError
    from sopskit.leak import record as rec_mod
    from sopskit.leak import respond, shard
    from sopskit.leak.probe import FingerprintProbe, Probe, ValueProbe, new_incident_key

    if args.stray:
        raise UsageError("leak value takes no positional argument: the value is read from stdin or a hidden "
                         "prompt, never from the command line (if you typed it, clear your shell history)")
    names = _repo_names(args)
    shard_spec: tuple[int, int] | None = None
    if args.shard:
        shard_spec = shard.parse_shard(args.shard)
        names = shard.select(names, *shard_spec)
    if args.from_record and args.record:
        raise UsageError("--record starts a new incident; with --from-record use `sopskit leak status` instead")
    repos = _repos(args, names)
    value_probe: ValueProbe | FingerprintProbe | None = None
    probe: Probe
    if args.from_record:
        probe = rec_mod.keyed_probe(rec_mod.load(Path(args.from_record)))
    elif args.fingerprint:
        value_probe = probe = FingerprintProbe(args.fingerprint)
    else:
        value_probe = ValueProbe(_read_secret_input("leaked value (input hidden): "), new_incident_key())
        probe = value_probe
    result = respond.search_value(probe, repos, [Path(d) for d in args.logs], workers=args.jobs,
                                  sops=not args.no_sops, worktree=not args.no_worktree)
    doc = result.to_dict()
    if shard_spec is not None:
        lines = shard.shard_lines(probe.fingerprint, *shard_spec, names, doc)
        _emit("\n".join(lines) + "\n", args.output)
        return 2 if result.errors else (1 if result.occurrences else 0)
    if args.record and value_probe is not None:
        runbook = respond.value_runbook(result, repos)
        record = rec_mod.value_record(value_probe, doc["occurrences"], description=args.what, owners=args.owner,
                                      repos=[str(r.resolve()) for r in repos],
                                      logs=[str(Path(d).resolve()) for d in args.logs], runbook=runbook)
        path = rec_mod.record_path(args.record, record["id"])
        rec_mod.save(path, record)
        doc["record"] = str(path)
    if args.out_format == "json":
        _emit(json.dumps(doc, indent=2) + "\n", args.output)
    else:
        _emit(_value_text(doc), args.output)
    for err in result.errors:
        print(f"sopskit: {err}", file=sys.stderr)
    if result.errors:
        return 2
    return 1 if result.occurrences else 0


def _value_text(doc: dict[str, Any]) -> str:
    st = doc["stats"]
    lines = [f"fingerprint {doc['fingerprint']}"]
    occ = doc["occurrences"]
    if occ:
        lines.append(f"FOUND in {len(occ)} place(s):")
        lines += [_occurrence_line(o) for o in occ]
    else:
        lines.append("not found")
    lines.append(f"searched {st['repos']} repo(s), {st['blobs']} blob(s), {st['worktree_files']} work-tree "
                 f"file(s), {st['log_files']} log file(s); "
                 f"{st['sops_opened']}/{st['sops_files']} SOPS file version(s) opened with local keys")
    if st["sops_files"] > st["sops_opened"]:
        lines.append(f"note: {st['sops_files'] - st['sops_opened']} SOPS file version(s) could not be opened "
                     "with the local keys; the value may also be inside those")
    if doc.get("record"):
        lines.append(f"incident record: {doc['record']}  (next: sopskit leak status {doc['record']})")
    return "\n".join(lines) + "\n"


# -- key ---------------------------------------------------------------------------------------

def run_key(args: argparse.Namespace) -> int:
    return _guard(_run_key, args)


def _run_key(args: argparse.Namespace) -> int:
    from sopskit.leak import record as rec_mod
    from sopskit.leak import respond
    from sopskit.leak.keyleak import leaked_from_text

    if args.public:
        key = leaked_from_text(args.public)
        if key.identities:
            from sopskit.errors import UsageError

            raise UsageError("--public takes a public key; give a private identity on stdin instead")
    elif args.from_cluster:
        from sopskit.k8s.identity import fetch_identities

        ids = fetch_identities(kubeconfig=args.kubeconfig, context=args.kube_context)
        key = leaked_from_text("\n".join(ids))
    else:
        key = leaked_from_text(_read_secret_input("leaked identity (input hidden): ").decode("utf-8", "replace"))
    repos = _repos(args)
    result = respond.key_exposure(key, repos, workers=args.jobs)
    doc = result.to_dict()
    tips = respond.at_tips(result)
    doc["at_tips"] = tips
    if result.same_data_key:
        doc["notes"] = [f"{result.same_data_key} version(s) are not wrapped for the leaked key but share a "
                        "data key with one that is (a re-key that kept the data key, e.g. updatekeys or "
                        "cluster init --force): they stay exposed; re-encrypt with `sopskit rotate` "
                        "(new data key)"]
    if args.record:
        record = rec_mod.key_record(result.key, doc["exposed"], tips, description=args.what, owners=args.owner,
                                    repos=[str(r.resolve()) for r in repos],
                                    runbook=respond.key_runbook(result, context=args.kube_context))
        path = rec_mod.record_path(args.record, record["id"])
        rec_mod.save(path, record)
        doc["record"] = str(path)
    if args.out_format == "json":
        _emit(json.dumps(doc, indent=2) + "\n")
    else:
        _emit(_key_text(doc))
    for err in result.errors:
        print(f"sopskit: {err}", file=sys.stderr)
    if result.errors:
        return 2
    return 1 if result.exposed else 0


def _key_text(doc: dict[str, Any]) -> str:
    lines = [f"leaked key: {', '.join(doc['key'])}"]
    exposed = doc["exposed"]
    if not exposed:
        lines.append(f"no SOPS file version is opened by this key ({doc['sops_versions']} version(s) checked)")
    else:
        lines.append(f"EXPOSED: {len(exposed)} of {doc['sops_versions']} SOPS file version(s)")
        for e in exposed:
            refs = e["refs"]
            ref_text = ", ".join(refs[:3]) + (f" +{len(refs) - 3}" if len(refs) > 3 else "")
            why = {"share": " (one Shamir share)", "same-data-key": " (same data key as an exposed version)",
                   "names-key": " (names the key; sopskit could not read it)"}.get(
                e["reason"], "")
            lines.append(f"  {e['path'] or '(no path)'}  blob {_short(e['blob'])}{why}  refs: {ref_text or '-'}")
            for s in e["secrets"]:
                if s["kind"]:
                    ns = f"{s['namespace']}/" if s["namespace"] else ""
                    lines.append(f"      {s['kind']} {ns}{s['name']}: {', '.join(s['keys']) or '(no data keys)'}")
        if doc["at_tips"]:
            lines.append(f"still current at a ref tip: {len(doc['at_tips'])} version(s)")
    lines += [f"note: {n}" for n in doc.get("notes", [])]
    if doc.get("record"):
        lines.append(f"incident record: {doc['record']}")
    return "\n".join(lines) + "\n"


# -- status ------------------------------------------------------------------------------------

def run_status(args: argparse.Namespace) -> int:
    return _guard(_run_status, args)


def _run_status(args: argparse.Namespace) -> int:
    from sopskit.errors import UsageError
    from sopskit.leak import plan, respond
    from sopskit.leak import record as rec_mod

    path = Path(args.record_file)
    rec = rec_mod.load(path)
    missing = rec_mod.mark(rec, args.done, plan.DONE) + rec_mod.mark(rec, args.na, plan.NOT_APPLICABLE)
    if missing:
        raise UsageError(f"no item with id {', '.join(missing)} in {path}")
    outcome = respond.recheck(rec, repos=[Path(r) for r in args.repo] if args.repo else None)
    if args.repo is None:  # a re-check of other clones (a mirror) does not replace the record's surface
        rec_mod.save(path, outcome.record)
    else:
        saved = rec_mod.load(path)
        rec_mod.mark(saved, args.done, plan.DONE)
        rec_mod.mark(saved, args.na, plan.NOT_APPLICABLE)
        saved["events"] = outcome.record.get("events", [])
        rec_mod.save(path, saved)
    report = outcome.report
    if args.out_format == "json":
        out = report.to_dict()
        out["surface_detail"] = outcome.record.get("surface")
        _emit(json.dumps(out, indent=2) + "\n")
    else:
        kind = "occurrence(s)" if rec["kind"] == "value" else "exposed version(s) still current at a ref tip"
        lines = [f"incident {report.incident}: {report.status.upper()}",
                 f"surface: {report.surface} {kind}"]
        if report.reopened:
            lines.append("REOPENED: the leak reappeared after the incident was closed")
        surface = outcome.record.get("surface") or {}
        for o in surface.get("occurrences", []):
            lines.append(_occurrence_line(o))
        for t in surface.get("at_tips", []):
            where = ", ".join(t["paths"]) or "(no path)"
            lines.append(f"  {where}  blob {_short(t['blob'])}  at {', '.join(t['refs'])}")
        for err in surface.get("errors", []):
            lines.append(f"  not searched: {err}")
        if report.open_items:
            lines.append("open items: " + ", ".join(report.open_items))
        _emit("\n".join(lines) + "\n")
    return 1 if report.is_open else 0


# -- scrub / merge -----------------------------------------------------------------------------

def run_scrub(args: argparse.Namespace) -> int:
    return _guard(_run_scrub, args)


def _run_scrub(args: argparse.Namespace) -> int:
    from sopskit.errors import UsageError
    from sopskit.leak import hygiene
    from sopskit.leak import record as rec_mod
    from sopskit.leak.probe import keyed_fingerprint

    path = Path(args.record_file)
    rec = rec_mod.load(path)
    repo = str(Path(args.repo).resolve())
    value: bytes | None = None
    if not args.blobs:
        if rec["kind"] != "value" or rec["leaked"].get("scanner"):
            raise UsageError("this record has no keyed value fingerprint to check a replacement against; "
                             "use --blobs to drop the recorded blobs")
        value = _read_secret_input("leaked value, to build the replacement file (input hidden): ").strip(b"\r\n")
        probe = rec_mod.keyed_probe(rec)
        import base64

        if keyed_fingerprint(base64.b64decode(rec["leaked"]["hmac_key"]), value) != probe.fingerprint:
            raise UsageError("this is not the value of the incident (its fingerprint differs)")
    plan_ = hygiene.prepare(path, rec, repo, value=value, env=os.environ,
                            workdir=Path(args.workdir) if args.workdir else None,
                            allow_disk=args.allow_disk_tempdir)
    if args.out_format == "json":
        _emit(json.dumps(plan_.to_dict(), indent=2) + "\n")
    else:
        lines = [f"WARNING: {plan_.warning}", "", "prepared, NOT run; review, then run by hand:"]
        lines += [f"  {c}" for c in plan_.commands]
        lines += [f"note: {n}" for n in plan_.notes]
        lines += ["", "text for the hosting service (cached views, pull-request refs):", "", plan_.hosting_text]
        _emit("\n".join(lines))
    return 0


def run_merge(args: argparse.Namespace) -> int:
    return _guard(_run_merge, args)


def _run_merge(args: argparse.Namespace) -> int:
    from sopskit.leak import shard

    doc = shard.merge([Path(f) for f in args.files])
    if args.out_format == "json":
        _emit(json.dumps(doc, indent=2) + "\n")
    else:
        lines = [f"fingerprint {doc['fingerprint']}: {len(doc['occurrences'])} occurrence(s) "
                 f"in {len(doc['repos'])} repo(s)"]
        lines += [_occurrence_line(o) for o in doc["occurrences"]]
        _emit("\n".join(lines) + "\n")
    for err in doc["errors"]:
        print(f"sopskit: {err}", file=sys.stderr)
    if doc["errors"]:
        return 2
    return 1 if doc["occurrences"] else 0
