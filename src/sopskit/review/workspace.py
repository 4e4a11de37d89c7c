"""A RAM-only working copy of the repository for kustomize, removed on every exit path.

Decrypted generator inputs and patches must exist as files for kustomize to read them, so the
copy lives on tmpfs (the directory choice and its check are :func:`sopskit.ops.edit.buffer_location`:
``$SOPSKIT_TMPDIR``, ``$XDG_RUNTIME_DIR``, ``/dev/shm``; disk is refused). Only regular files Git
would commit are copied: symlinks are not (Flux refuses to follow them out of the root), nor
``.git``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from sopskit.ops.edit import buffer_location, signals_as_interrupts
from sopskit.policy.repo import load_repo


@contextlib.contextmanager
def ram_copy(root: Path, env: Mapping[str, str] | None = None) -> Iterator[Path]:
    """Copy ``root`` into a fresh 0700 directory on tmpfs; yield the copy's root."""
    location = buffer_location(env if env is not None else os.environ)
    directory = Path(tempfile.mkdtemp(prefix="sopskit-build-", dir=location.directory))
    try:
        with signals_as_interrupts():
            os.chmod(directory, 0o700)
            copy = directory / "repo"
            copy.mkdir(mode=0o700)
            for file in load_repo(root).files:
                target = copy / file.rel
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                shutil.copyfile(file.path, target, follow_symlinks=False)
            yield copy
    finally:
        shutil.rmtree(directory, ignore_errors=True)
