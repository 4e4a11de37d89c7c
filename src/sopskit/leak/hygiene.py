"""History hygiene, prepared and never run: ``git-filter-repo`` on a mirror clone.

A rewrite removes the value from *this* history. It does not make the secret safe: it was
already copied into clones, forks, pull-request refs, CI logs and caches the rewrite cannot
reach. Rotation is the fix; a rewrite is hygiene, done after rotation, to stop the old value
from being rediscovered and re-used as a template. Every text this module returns says so.

Two ways are prepared:

* ``--replace-text``: the value is replaced in every blob. The replacement file must hold the
  value, so it is written (0600, in a fresh 0700 directory) on a RAM-backed filesystem
  (``SOPSKIT_TMPDIR``, ``XDG_RUNTIME_DIR`` or ``/dev/shm``: the same rule as ``sopskit edit``)
  and the plan ends by deleting it;
* ``--strip-blobs-with-ids``: the blobs the record lists are dropped; needs no value, but
  removes those file versions entirely.

``git-filter-repo`` comes from PyPI (``pip install 'sopskit[history]'``).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

NOT_A_FIX = ("A history rewrite does NOT make the leaked secret safe: copies already exist in clones, forks, "
             "pull-request refs, CI logs and caches. Rotate the credential first; rewrite only for hygiene.")

HOSTING_TEXT = """\
Subject: purge cached views of rewritten commits in {repo}

We rewrote the history of {repo} to remove a credential that was committed by mistake
(incident {incident}; the credential itself has been revoked and rotated). The old commits are
still served from cached views and from pull-request refs. Please:
- purge cached views (commit, diff, blame, file pages) of the commits listed below;
- delete or garbage-collect the pull-request refs that still point at them;
- run garbage collection on the repository's object store.
Commits:
{commits}
"""


@dataclass
class ScrubPlan:
    mirror: str
    commands: list[str]
    replacement_file: str | None
    blob_ids_file: str | None
    hosting_text: str
    warning: str = NOT_A_FIX
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"warning": self.warning, "mirror": self.mirror, "commands": self.commands,
                "replacement_file": self.replacement_file, "blob_ids_file": self.blob_ids_file,
                "hosting_text": self.hosting_text, "notes": self.notes}


def _write_private(directory: Path, name: str, data: bytes) -> Path:
    import os

    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def prepare(record_file: Path, rec: Mapping[str, object], repo: str, *, value: bytes | None,
            env: Mapping[str, str], workdir: Path | None = None, allow_disk: bool = False,
            replacement: str = "***REMOVED-BY-SOPSKIT***") -> ScrubPlan:
    """Write the replacement (or blob-id) file and return the commands; nothing is rewritten."""
    import tempfile

    from sopskit.ops.edit import buffer_location

    location = buffer_location(env, allow_disk=allow_disk)
    secret_dir = Path(tempfile.mkdtemp(prefix="sopskit-scrub-", dir=location.directory))
    secret_dir.chmod(0o700)
    work = workdir or Path(repo).resolve().parent  # the mirror outlives the secret directory
    mirror = str(work / (Path(repo.rstrip("/")).name.removesuffix(".git") + "-mirror.git"))
    surface = rec.get("surface") if isinstance(rec.get("surface"), dict) else {}
    occurrences = list(surface.get("occurrences") or []) if isinstance(surface, dict) else []
    mine = [o for o in occurrences if isinstance(o, dict) and o.get("repo") in (repo, str(Path(repo).resolve()))]
    commits = sorted({c for o in mine for c in o.get("commits") or []})
    blobs = sorted({str(o["blob"]) for o in mine if o.get("blob") and o.get("where") != "sops"})
    sops_blobs = sorted({str(o["blob"]) for o in mine if o.get("blob") and o.get("where") == "sops"})
    q = shlex.quote
    commands = [f"git clone --mirror {q(repo)} {q(mirror)}"]
    replacement_file = blob_file = None
    notes: list[str] = []
    if value is not None:
        from sopskit.leak.probe import value_forms

        lines = b"".join(b"literal:" + form + b"==>" + replacement.encode() + b"\n"
                         for form in value_forms(value).values())
        replacement_file = str(_write_private(secret_dir, "replacements.txt", lines))
        rewrite = f"git -C {q(mirror)} filter-repo --force --replace-text {q(replacement_file)}"
        if sops_blobs:  # a text replacement cannot reach inside ciphertext: drop those versions
            blob_file = str(_write_private(secret_dir, "blob-ids.txt", "".join(b + "\n" for b in sops_blobs).encode()))
            rewrite += f" --strip-blobs-with-ids {q(blob_file)}"
            notes.append(f"{len(sops_blobs)} SOPS file version(s) hold the value encrypted; they are dropped, so "
                         "commit the new value in those files first (runbook: update-secrets)")
        commands.append(rewrite)
    else:
        ids = blobs + sops_blobs
        blob_file = str(_write_private(secret_dir, "blob-ids.txt", "".join(b + "\n" for b in ids).encode()))
        commands.append(f"git -C {q(mirror)} filter-repo --force --strip-blobs-with-ids {q(blob_file)}")
    commands += [
        f"rm -rf {q(str(secret_dir))}",
        f"sopskit leak status {q(str(record_file))} --repo {q(mirror)}    (must report 0 occurrences)",
        f"git -C {q(mirror)} push --force --mirror    (only after every clone owner agreed; see docs/leak.md)",
    ]
    if not location.ram_backed:
        notes.append("the replacement file is on disk: no RAM-backed directory was found")
    if not blobs and not sops_blobs:
        notes.append("the record lists no blob in this repository; the rewrite will find nothing to replace")
    text = HOSTING_TEXT.format(repo=repo, incident=rec.get("id"),
                               commits="\n".join(f"  {c}" for c in commits) or "  (none recorded)")
    return ScrubPlan(mirror, commands, replacement_file, blob_file, text, notes=notes)


def commands_text(plan: ScrubPlan) -> str:
    return "\n".join(plan.commands)


__all__ = ["HOSTING_TEXT", "NOT_A_FIX", "ScrubPlan", "commands_text", "prepare"]
