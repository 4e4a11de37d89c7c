"""The files a many-file command works on, and what its parallel workers share.

``updatekeys`` and ``rotate`` (and the cluster-key rotation through them) take files and
directories, find the SOPS files below the directories with the project's one walker
(:func:`sopskit.walk.walk_tree`: one skip list, no symlinks, FIFOs or devices), and run
them on the bounded pool; a passphrase prompt must then never be asked by two workers at once.
Both commands come here, so neither imports the other.

The walk is deliberately the plain one, Git-ignored files included: a SOPS file that is ignored
(a local override, a backup) is still protected by the keys being changed, and skipping it
would leave it readable only with a key the rotation is about to retire.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from sopskit.format.recognize import has_sops_metadata
from sopskit.keys.base import KeyContext
from sopskit.walk import walk_tree

#: a file larger than this is not read to see whether it is a SOPS file
MAX_SNIFF = 8 * 1024 * 1024


def is_sops_file(path: Path) -> bool:
    """Whether ``path`` holds sops metadata (unreadable or very large files do not count)."""
    try:
        if path.stat().st_size > MAX_SNIFF:
            return False
        return has_sops_metadata(path.read_bytes())
    except OSError:
        return False


def expand_paths(paths: Sequence[Path]) -> Iterator[tuple[Path, str | None]]:
    """Each file given, and each SOPS file below each directory given (sorted, so a run
    is repeatable); a given file that is not a SOPS file comes with the reason to skip it."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for candidate in walk_tree(path):
                if is_sops_file(candidate):
                    yield candidate, None
        elif not path.exists():
            yield path, "no such file"
        elif not is_sops_file(path):
            yield path, "not a SOPS file (no sops metadata with mac and lastmodified)"
        else:
            yield path, None


def serial_prompts(context: KeyContext) -> KeyContext:
    """The context with its passphrase prompt serialised: parallel files never ask at once."""
    from sopskit.keys.identities import _read_passphrase

    lock = threading.Lock()
    inner = context.passphrase_reader

    def reader(prompt: str) -> str:
        with lock:
            if inner is not None:
                return inner(prompt)
            location = prompt.removeprefix("Enter passphrase for ").removesuffix(": ")
            return _read_passphrase(location, None)

    return context.replace(passphrase_reader=reader)


__all__ = ["MAX_SNIFF", "expand_paths", "is_sops_file", "serial_prompts"]
