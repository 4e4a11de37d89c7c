"""Atomic file replacement: a crash leaves the old file or the new one, never a torn one.

The new content goes to a temporary file in the same directory (same filesystem, so the
rename is atomic), is flushed and fsynced, gets the old file's mode, and is renamed over
the target; the directory is fsynced so the rename itself survives a power cut.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from sopskit.errors import OutputError


def atomic_write(path: str | Path, data: bytes, *, default_mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically, keeping its permission bits."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = default_mode
    except OSError as exc:
        raise OutputError(f"{target}: cannot stat: {exc.strerror}") from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".sopskit-tmp", dir=directory)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create a temporary file next to it: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise OutputError(f"{target}: cannot write: {exc.strerror}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
