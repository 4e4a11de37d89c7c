"""When did a SOPS file's values last change? Answered from Git history, without a key.

A value's ciphertext changes when the value is set again (sops re-encrypts every value on
edit; sopskit only the changed ones) or the data key is rotated, and stays the same when only
the recipients change (``updatekeys``). So the newest commit whose set of value ciphertexts
differs from its parent's is "last changed". The MAC (re-encrypted on every save) is left out.
One ``git log`` pass lists every version of every path; :func:`sopskit.gitio.stream_blobs` reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from sopskit.errors import InputError
from sopskit.gitio import git, stream_blobs

_ENC = re.compile(rb"ENC\[AES256_GCM,data:[^\]]*\]")
_MAC_LINE = re.compile(rb"(?i)(?:^|[^a-z])mac(?:[^a-z]|$)")


def value_fingerprint(blob: bytes) -> frozenset[bytes]:
    """The value ciphertexts of a SOPS file, without the MAC's."""
    found = set()
    for line in blob.splitlines():
        if b"ENC[" not in line or _MAC_LINE.search(line.split(b"ENC[", 1)[0]):
            continue
        found.update(_ENC.findall(line))
    if not found:  # JSON/binary on one line: fall back to every ciphertext but the MAC's
        found = {m for m in _ENC.findall(blob)} - set(_mac_values(blob))
    return frozenset(found)


def _mac_values(blob: bytes) -> list[bytes]:
    return re.findall(rb'(?i)"?mac"?\s*[:=]\s*"?(ENC\[AES256_GCM,data:[^\]]*\])', blob)


def versions_by_path(root: Path, paths: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """For each wanted path: its versions, newest first, as (commit date ISO, blob id)."""
    wanted = set(paths)
    try:
        log = git(root, "log", "--first-parent", "--no-renames", "--raw", "--no-abbrev", "-z", "--format=%x01%cI",
                  "HEAD")
    except InputError:  # no commit yet: no history to read
        log = b""
    versions: dict[str, list[tuple[str, str]]] = {p: [] for p in wanted}
    date = ""
    for record in log.split(b"\x01"):
        if not record:
            continue
        head, _, rest = record.partition(b"\n")
        date = head.decode().strip("\0 \n")
        fields = rest.strip(b"\n\0").split(b"\0")
        for i in range(0, len(fields) - 1, 2):
            meta, path = fields[i].decode(errors="replace"), fields[i + 1].decode(errors="replace")
            if not meta.startswith(":") or path not in wanted:
                continue
            parts = meta.split()
            new_blob, status = parts[3], parts[4]
            versions[path].append((date, "" if status.startswith("D") else new_blob))
    return versions


def last_value_changes(root: Path, paths: Iterable[str]) -> dict[str, str | None]:
    """Path -> ISO date of the commit that last changed a value's ciphertext (None: no history)."""
    versions = versions_by_path(root, paths)
    wanted = {blob for history in versions.values() for _, blob in history if blob}
    blobs = dict(stream_blobs(root, only=wanted)) if wanted else {}
    result: dict[str, str | None] = {}
    for path, history in versions.items():
        if not history or not history[0][1]:
            result[path] = None
            continue
        current = value_fingerprint(blobs.get(history[0][1], b""))
        changed = history[0][0]
        for date, blob in history[1:]:
            if not blob or value_fingerprint(blobs.get(blob, b"")) != current:
                break
            changed = date
        result[path] = changed
    return result
