"""Safe file replacement: atomic, through symlinks, locked, and leaving no plaintext behind.

:func:`atomic_write` replaces a file so that a crash leaves the old content or the new one,
never a torn file, and so that a temporary copy of the content (which is plaintext for
``decrypt -i`` / ``--output``) cannot outlive the process:

* the temporary file is an unnamed ``O_TMPFILE`` inode in the target's directory (same
  filesystem, so the final rename is atomic) created with the target's mode from the start;
  it gets a name only for the instant between ``linkat`` and ``rename``. Where ``O_TMPFILE``
  is missing, a named ``.NAME.XXXX.sopskit-tmp`` file is used instead; either way the named
  temp file is removed on TERM, HUP, INT and QUIT (the handler then lets the signal do what it
  did before) and at exit. Only SIGKILL in that instant can leave it (``repo init``'s
  ``.gitignore`` ignores ``*.sopskit-tmp``);
* like sops (which opens the path with ``os.Create``), a symlink is written *through*: its
  final target is replaced and the link stays a link; a read-only target is refused (sops:
  exit 3, ``CouldNotWriteOutputFile``); owner and group are kept where the process may set
  them; a target with other hard links is replaced anyway (atomicity wins) and a
  :class:`FileWarning` says that the other names keep the old content;
* a target that is not a regular file (``/dev/stdout``, a FIFO) is written directly.

Concurrent writers: :func:`read_for_update` takes an advisory ``flock`` on the target (kept
until the write, :func:`release` or the end of the process) and records what it read; a later
:func:`atomic_write` of that path checks, under the lock, that the file is still what was read
and fails loudly (:class:`ConcurrentChangeError`) instead of losing someone else's update.
Two sopskit writers therefore serialise; a writer that ignores the lock is detected.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import hashlib
import os
import signal
import stat
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from sopskit.errors import InputError, OutputError

__all__ = [
    "TEMP_SUFFIX",
    "ConcurrentChangeError",
    "FileWarning",
    "atomic_write",
    "read_for_update",
    "release",
    "resolve_target",
]

#: suffix of the (rarely visible) named temporary files; ``repo init`` ignores ``*.sopskit-tmp``
TEMP_SUFFIX = ".sopskit-tmp"
_CLEANUP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT") if hasattr(signal, name)
)


class FileWarning(UserWarning):
    """Something the user should know about a write that still succeeded (the CLI prints it)."""


class ConcurrentChangeError(OutputError):
    """The target changed between the moment it was read and the moment it was written."""


# -- temporary files removed on signals and at exit ---------------------------------------------

_live_temps: set[str] = set()
_previous_handlers: dict[int, Any] = {}
_guard = threading.Lock()


def _remove_live_temps() -> None:
    for name in list(_live_temps):
        with contextlib.suppress(OSError):
            os.unlink(name)
        _live_temps.discard(name)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    _remove_live_temps()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    _restore_handlers()
    if callable(previous):
        previous(signum, frame)
        return
    if previous == signal.SIG_IGN:
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    if threading.current_thread() is not threading.main_thread() or _previous_handlers:
        return
    for signum in _CLEANUP_SIGNALS:
        with contextlib.suppress(OSError, ValueError):
            _previous_handlers[signum] = signal.signal(signum, _on_signal)


def _restore_handlers() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum, previous in list(_previous_handlers.items()):
        with contextlib.suppress(OSError, ValueError, TypeError):
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    _previous_handlers.clear()


@contextlib.contextmanager
def _tracked(name: str) -> Any:
    """Remove ``name`` if a catchable signal or the interpreter's exit comes first."""
    with _guard:
        _live_temps.add(name)
    try:
        yield
    finally:
        with _guard:
            _live_temps.discard(name)


atexit.register(_remove_live_temps)


# -- locking ------------------------------------------------------------------------------------

@dataclass
class _Held:
    fd: int
    digest: bytes
    ino: int
    dev: int


_held: dict[str, _Held] = {}


def resolve_target(path: str | Path) -> Path:
    """The file a write to ``path`` really changes: symlinks followed, as ``os.Create`` does."""
    return Path(os.path.realpath(path))


def _lock_fd(target: Path) -> int:
    """An fd of ``target`` holding an exclusive ``flock``, on the inode the path names *now*
    (a writer that renamed a new file over it while we waited makes us lock the new one)."""
    while True:
        try:
            fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise InputError(f"{target}: no such file") from None
        except OSError as exc:
            raise InputError(f"{target}: cannot read: {exc.strerror}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                return fd  # no locks on this filesystem: the change check still protects
            now = os.stat(target)
            held = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            raise InputError(f"{target}: cannot lock: {exc.strerror}") from None
        if (now.st_ino, now.st_dev) == (held.st_ino, held.st_dev):
            return fd
        os.close(fd)  # replaced while we waited: lock what the path names now


def read_for_update(path: str | Path) -> bytes:
    """Lock ``path`` for writing and return its bytes; the next :func:`atomic_write` of it
    fails if anything else changed it in between. The lock lasts until :func:`release` or exit.
    """
    target = resolve_target(path)
    key = str(target)
    if key in _held:
        os.close(_held.pop(key).fd)
    fd = _lock_fd(target)
    try:
        with open(fd, "rb", closefd=False) as handle:
            data = handle.read()
        info = os.fstat(fd)
    except IsADirectoryError:
        os.close(fd)
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        os.close(fd)
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    _held[key] = _Held(fd, hashlib.sha256(data).digest(), info.st_ino, info.st_dev)
    return data


def release(path: str | Path) -> None:
    """Drop the lock :func:`read_for_update` took (a no-op if there is none)."""
    held = _held.pop(str(resolve_target(path)), None)
    if held is not None:
        os.close(held.fd)


def _check_unchanged(target: Path) -> None:
    held = _held.get(str(target))
    if held is None:
        return
    try:
        with open(target, "rb") as handle:
            now = hashlib.sha256(handle.read()).digest()
    except FileNotFoundError:
        now = b""
    except OSError as exc:
        raise OutputError(f"{target}: cannot re-read before writing: {exc.strerror}") from None
    if now != held.digest:
        raise ConcurrentChangeError(
            f"{target}: the file changed since it was read; not overwriting the other change",
            hint="run the command again on the new content",
        )


# -- writing ------------------------------------------------------------------------------------

def _keep_owner(fd: int, info: os.stat_result | None) -> None:
    if info is None:
        return
    with contextlib.suppress(OSError):
        os.fchown(fd, info.st_uid, info.st_gid)
        return
    with contextlib.suppress(OSError):
        os.fchown(fd, -1, info.st_gid)  # a member of the group may keep the group


def _write_direct(target: Path, data: bytes) -> None:
    """Devices and FIFOs (``--output /dev/stdout``): no rename is possible, write to them."""
    try:
        with open(target, "wb") as handle:
            handle.write(data)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror}") from None


def _linkat_empty_path(fd: int, name: str) -> bool:
    """``linkat(fd, "", AT_FDCWD, name, AT_EMPTY_PATH)``: works where ``/proc`` is not usable."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.linkat(fd, b"", -100, os.fsencode(name), 0x1000)) == 0
    except (OSError, AttributeError):
        return False


def _link_name(fd: int, directory: Path, target: Path) -> str | None:
    """Give the unnamed temp file a name next to the target (its only named instant);
    None when this system cannot link an ``O_TMPFILE`` inode."""
    for _ in range(100):
        name = str(directory / f".{target.name}.{os.urandom(6).hex()}{TEMP_SUFFIX}")
        try:
            os.link(f"/proc/self/fd/{fd}", name, follow_symlinks=True)
            return name
        except FileExistsError:
            continue
        except OSError:
            if _linkat_empty_path(fd, name):
                return name
            if _ctypes_errno() == errno.EEXIST:
                continue
            return None
    raise OutputError(f"{target}: cannot name a temporary file next to it")


def _ctypes_errno() -> int:
    import ctypes

    return ctypes.get_errno()


_tmpfile_usable = True


def _is_read_only(target: Path, info: os.stat_result) -> bool:
    """sops refuses what ``os.Create`` cannot open; root may open anything, so a file with no
    write bit at all is refused for root too (a 0400 file is meant to stay as it is)."""
    return not os.access(target, os.W_OK) or not info.st_mode & 0o222


def _write_temp(fd: int, data: bytes, info: os.stat_result | None) -> None:
    with os.fdopen(fd, "wb", closefd=False) as handle:
        _keep_owner(handle.fileno(), info)
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_new(directory: Path, target: Path, mode: int, data: bytes, info: os.stat_result | None,
               stack: contextlib.ExitStack) -> str:
    """Write ``data`` to a new file next to ``target``; returns its (tracked) name."""
    global _tmpfile_usable
    flag = getattr(os, "O_TMPFILE", 0)
    if flag and _tmpfile_usable:
        fd = -1
        try:
            fd = os.open(directory, flag | os.O_WRONLY | os.O_CLOEXEC, mode)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
                raise OutputError(
                    f"{target}: cannot create a temporary file next to it: {exc.strerror}") from None
        if fd >= 0:
            try:
                os.fchmod(fd, mode)
                _write_temp(fd, data, info)
                name = _link_name(fd, directory, target)
            finally:
                os.close(fd)
            if name is not None:
                stack.enter_context(_tracked(name))
                return name
        _tmpfile_usable = False
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise OutputError(f"{target}: cannot create a temporary file next to it: {exc.strerror}") from None
    stack.enter_context(_tracked(name))
    try:
        os.fchmod(fd, mode)
        _write_temp(fd, data, info)
    finally:
        os.close(fd)
    return name


def atomic_write(path: str | Path, data: bytes, *, default_mode: int = 0o600) -> None:
    """Replace the file ``path`` names with ``data`` atomically (see the module docstring)."""
    target = resolve_target(path)
    directory = target.parent
    try:
        info: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise OutputError(f"{target}: cannot stat: {exc.strerror}") from None
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            raise OutputError(f"{target}: is a directory")
        _write_direct(target, data)
        return
    if info is not None and _is_read_only(target, info):
        raise OutputError(f"{target}: permission denied: the file is read-only",
                          hint="make it writable (chmod u+w) if you mean to change it")
    mode = stat.S_IMODE(info.st_mode) if info is not None else default_mode
    _check_unchanged(target)
    _install_handlers()
    named: str | None = None
    try:
        with contextlib.ExitStack() as stack:
            try:
                named = _write_new(directory, target, mode, data, info, stack)
                os.replace(named, target)
                named = None
            except OSError as exc:
                raise OutputError(f"{target}: cannot write: {exc.strerror}") from None
    finally:
        if named is not None:
            with contextlib.suppress(OSError):
                os.unlink(named)
        _restore_handlers()
    if info is not None and info.st_nlink > 1:
        warnings.warn(
            f"{target} had {info.st_nlink - 1} other hard link(s); they keep the old content",
            FileWarning, stacklevel=2,
        )
    release(target)  # the read-modify-write is done
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
