"""``edit``: decrypt into a RAM-only buffer, run the editor, re-encrypt what changed.

The guarantees (also in docs/cli.md), and how each is kept:

* Plaintext never reaches persistent disk. The buffer directory is created on tmpfs/ramfs
  (``$SOPSKIT_TMPDIR``, ``$XDG_RUNTIME_DIR``, then ``/dev/shm``; the filesystem type is checked
  in ``/proc/self/mounts``); a disk-backed directory is refused unless the caller passes
  ``allow_disk``. The directory is 0700 and the file 0600. The editor gets ``TMPDIR`` pointing
  into the buffer directory, and vim/nvim/emacs/nano get the flags that turn off swap, undo,
  backup, lock and history files.
* The buffer is removed on every exit path: normal return, editor crash or kill, Ctrl-C, and
  SIGTERM/SIGHUP/SIGQUIT (turned into :class:`EditInterrupted` so ``finally`` blocks run; the editor
  child is terminated first). The one exception is deliberate: when the edited text does not
  parse and the user chooses to abort, or the text cannot be encrypted or written (read-only
  target, full disk, the file changed meanwhile), the buffer is *kept* so typed work is never
  lost, and the message says where it is (on tmpfs; on disk only with ``allow_disk``).
* The file is not locked while the editor is open; before the write it is locked and compared
  with what was read, so a concurrent change fails loudly instead of being overwritten.
* Unchanged text (same bytes, or the same tree) is not rewritten (exit 200, like sops).
* Changed text is sealed with the *same* data key and the IV stash, so values that did not
  change keep their exact ``ENC[...]`` strings and a diff shows only what was edited.
* The encrypted result is written atomically (:func:`sopskit.ops.files.atomic_write`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from sopskit.errors import (
    BufferKeptError,
    EditorError,
    FileNotModifiedError,
    InputError,
    OutputError,
    ParseError,
    SopsError,
)
from sopskit.format.metadata import SOPS_FORMAT_VERSION, metadata_to_plain
from sopskit.format.tree import TreeMap
from sopskit.keys.base import KeyContext
from sopskit.ops.document import (
    DEFAULT_DECRYPTION_ORDER,
    EncryptionPlan,
    OpenedDocument,
    emit_encrypted,
    encrypt_new,
    seal,
)
from sopskit.ops.files import ConcurrentChangeError, atomic_write, read_for_update, release
from sopskit.ops.sopsfile import open_encrypted
from sopskit.stores import get_store
from sopskit.stores.base import Store

RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})
DEFAULT_EDITORS = ("vim", "nano", "vi")

#: a new file starts from this document (the user replaces it)
TEMPLATES: dict[str, bytes] = {
    "yaml": b"# A new SOPS file: replace this example with your secrets.\n"
            b"example_key: example_value\nexample_list:\n    - one\n    - two\nexample_number: 42\n",
    "json": b'{\n\t"example_key": "example_value",\n\t"example_number": 42\n}\n',
    "dotenv": b"# A new SOPS file: replace this example with your secrets.\nEXAMPLE_KEY=example_value\n",
    "ini": b"; A new SOPS file: replace this example with your secrets.\n[example]\nkey = value\n",
    "binary": b"A new SOPS file: replace this text with your secret.\n",
}


class EditInterrupted(KeyboardInterrupt):
    """SIGTERM/SIGHUP/SIGQUIT during an edit, raised so that cleanup code runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# -- where the buffer lives --------------------------------------------------------------------

def _unescape_mount(text: str) -> str:
    return text.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")


def filesystem_type(path: Path, *, mounts_file: str = "/proc/self/mounts") -> str | None:
    """The type of the filesystem holding ``path`` (longest mount-point prefix), or None."""
    try:
        lines = Path(mounts_file).read_text().splitlines()
    except OSError:
        return None
    target = os.path.realpath(path)
    best, best_type = "", None
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = _unescape_mount(parts[1])
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, parts[2]
    return best_type


def is_ram_backed(path: Path) -> bool:
    return filesystem_type(path) in RAM_FILESYSTEMS


def _usable(directory: Path) -> bool:
    return directory.is_dir() and os.access(directory, os.W_OK | os.X_OK)


@dataclass(frozen=True)
class BufferLocation:
    directory: Path
    ram_backed: bool


def buffer_location(env: Mapping[str, str], *, allow_disk: bool = False) -> BufferLocation:
    """The directory for plaintext buffers; raises :class:`OutputError` when only disk is
    available and ``allow_disk`` is false."""
    candidates = [env.get("SOPSKIT_TMPDIR"), env.get("XDG_RUNTIME_DIR"), "/dev/shm"]
    for candidate in candidates:
        if candidate and _usable(Path(candidate)) and is_ram_backed(Path(candidate)):
            return BufferLocation(Path(candidate), True)
    if allow_disk:
        return BufferLocation(Path(env.get("SOPSKIT_TMPDIR") or tempfile.gettempdir()), False)
    raise OutputError(
        "no RAM-backed directory (tmpfs) for the plaintext buffer: $SOPSKIT_TMPDIR, "
        "$XDG_RUNTIME_DIR and /dev/shm are missing or on disk",
        hint="set SOPSKIT_TMPDIR to a tmpfs directory, or pass --allow-disk-tempdir to accept "
             "plaintext on disk",
    )


class SecureBuffer:
    """A 0600 file in a fresh 0700 directory; :meth:`remove` deletes the whole directory
    (editors may add files next to it)."""

    def __init__(self, location: BufferLocation, name: str) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="sopskit-", dir=location.directory))
        os.chmod(self.directory, 0o700)
        safe_name = Path(name).name or "secret"
        self.path = self.directory / safe_name
        self.kept = False

    def write(self, data: bytes) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(self.path, 0o600)

    def read(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise EditorError("the editor removed the file instead of saving it") from None

    def remove(self) -> None:
        if self.kept:
            return
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> SecureBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def kept_hint(buffer: SecureBuffer, location: BufferLocation) -> str:
    """Where the kept text is, truthfully: RAM (tmpfs) or disk."""
    where = "in RAM (tmpfs)" if location.ram_backed else "ON DISK (no tmpfs was available)"
    return (f"your text is kept {where} at {buffer.path}; fix the problem and run the command "
            f"again, then delete {buffer.directory}")


@contextlib.contextmanager
def kept_on_failure(buffer: SecureBuffer, location: BufferLocation) -> Iterator[None]:
    """If saving the typed text fails, keep the buffer and say where (the error's hint)."""
    try:
        yield
    except SopsError as exc:
        buffer.kept = True
        exc.hint = kept_hint(buffer, location) + (f" ({exc.hint})" if exc.hint else "")
        raise


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Turn SIGTERM, SIGHUP and SIGQUIT into :class:`EditInterrupted` for the duration, so the
    buffer is removed; the previous handlers come back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise EditInterrupted(signum)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# -- the editor --------------------------------------------------------------------------------

def _editor_family(program: str) -> str:
    name = os.path.basename(program)
    resolved = shutil.which(program)
    real = os.path.basename(os.path.realpath(resolved)) if resolved else name
    for family, names in (("vim", ("vim", "nvim", "gvim", "mvim", "vimx")), ("emacs", ("emacs",)),
                          ("nano", ("nano",))):
        if name in names or real.startswith(names):
            return "nvim" if family == "vim" and (name == "nvim" or real.startswith("nvim")) else family
    if name == "vi" and "vim" in real:
        return "vim"
    return "other"


_VIM_OFF = "set noswapfile nobackup nowritebackup noundofile"


def hardening_flags(program: str) -> list[str]:
    """Flags that stop known editors from writing swap, undo, backup or history files."""
    family = _editor_family(program)
    if family == "vim":
        return ["-n", "-i", "NONE", "--cmd", _VIM_OFF + " viminfo=", "-c", _VIM_OFF]
    if family == "nvim":
        return ["-n", "-i", "NONE", "--cmd", _VIM_OFF + " shada=", "-c", _VIM_OFF]
    if family == "emacs":
        return ["--eval", "(setq make-backup-files nil backup-inhibited t auto-save-default nil "
                          "create-lockfiles nil auto-save-list-file-prefix nil)"]
    if family == "nano":
        return ["--ignorercfile"]
    return []


def editor_command(file: Path, env: Mapping[str, str]) -> list[str]:
    """``SOPS_EDITOR``, else ``EDITOR`` (shell-split), else vim/nano/vi; plus safety flags."""
    text = env.get("SOPS_EDITOR") or env.get("EDITOR")
    if text:
        try:
            argv = shlex.split(text)
        except ValueError:
            raise EditorError("SOPS_EDITOR/EDITOR cannot be parsed (unbalanced quotes?)") from None
        if not argv:
            raise EditorError("SOPS_EDITOR/EDITOR is empty")
    else:
        found = next((e for e in DEFAULT_EDITORS if shutil.which(e, path=env.get("PATH"))), None)
        if found is None:
            raise EditorError("no editor found: set SOPS_EDITOR or EDITOR",
                              hint="e.g. export EDITOR=vim")
        argv = [found]
    return [*argv, *hardening_flags(argv[0]), str(file)]


def run_editor(argv: Sequence[str], *, env: Mapping[str, str], tmpdir: Path) -> None:
    """Run the editor in the foreground; on interruption terminate it before re-raising."""
    child_env = {**env, "TMPDIR": str(tmpdir)}
    try:
        process = subprocess.Popen(list(argv), env=child_env)
    except OSError as exc:
        raise EditorError(f"could not run the editor {argv[0]!r}: {exc.strerror}",
                          hint="set SOPS_EDITOR or EDITOR to an installed editor") from None
    try:
        code = process.wait()
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=3)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        raise
    if code != 0:
        how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
        raise EditorError(f"the editor {how}; the file was not changed")


# -- the session -------------------------------------------------------------------------------

#: called with a one-line problem; returns "reopen", "keep" (abort, keep the buffer) or "discard"
ProblemHandler = Callable[[str], str]


def _keep_on_problem(_problem: str) -> str:
    return "keep"


@dataclass
class EditOutcome:
    """What the edit did: whether the file was written, and with how many changed values."""

    path: Path
    created: bool
    written: bool


def _newer_version(current: str) -> bool:
    def parts(text: str) -> tuple[int, ...]:
        return tuple(int(p) for p in text.split("-")[0].split("."))

    try:
        return parts(current) < parts(SOPS_FORMAT_VERSION)
    except ValueError:
        return False


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def replace_plaintext(opened: OpenedDocument, branches: list[TreeMap], *,
                      now: _dt.datetime | None = None, bump_version: bool = True) -> OpenedDocument:
    """Seal new plaintext branches with an opened file's data key and IV stash: values equal
    to the old ones (same key path, same type) get byte-identical ``ENC[...]`` strings."""
    result = OpenedDocument(branches, opened.metadata, opened.data_key, opened.cipher)
    seal(result, now=now, bump_version=bump_version and _newer_version(opened.metadata.version))
    return result


def encrypt_reusing(previous: OpenedDocument, plain: bytes, *, input_format: str,
                    output_format: str | None = None, indent: int | None = None) -> bytes:
    """``encrypt --reuse-ciphertext-from OLD`` (sops #1587): seal the plaintext file ``plain``
    with the opened OLD's data key, IV stash and key groups, so unchanged values keep their
    ciphertext; returns the encrypted file in ``output_format``."""
    from sopskit.ops.document import check_plain_input

    in_store = get_store(input_format)
    branches = in_store.load_plain(plain)
    check_plain_input(branches, in_store)
    sealed = replace_plaintext(previous, branches, bump_version=True)
    return emit_encrypted(sealed, get_store(output_format or input_format, indent=indent))


def _parse_edited(store: Store, data: bytes, *, with_metadata: bool) -> list[TreeMap]:
    if with_metadata:
        branches, _metadata = store.load_encrypted(data)  # edits to the metadata are ignored
    else:
        branches = store.load_plain(data)
    if not branches:
        raise ParseError("the edited file has no document")
    if store.has_sops_metadata(branches[0]):
        raise ParseError("the edited file contains a top-level 'sops' key, which is reserved")
    return branches


def _plain_copy(branches: list[TreeMap], store: Store) -> bytes:
    return store.emit_plain(branches)


def _check_not_changed(path: Path, as_read: bytes | None) -> None:
    """Lock ``path`` and make sure it is still what the edit started from (None: absent)."""
    if as_read is None:
        if path.exists() or path.is_symlink():
            raise ConcurrentChangeError(f"{path} was created by someone else during the edit; "
                                        "not overwriting it")
        return
    try:
        current = read_for_update(path)
    except InputError:
        current = None
    if current != as_read:
        release(path)
        raise ConcurrentChangeError(f"{path} changed during the edit; not overwriting the other change")


def edit_file(
    path: Path,
    *,
    input_format: str,
    context: KeyContext,
    env: Mapping[str, str],
    plan_for_new: Callable[[], EncryptionPlan] | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    ignore_mac: bool = False,
    show_master_keys: bool = False,
    allow_disk: bool = False,
    on_problem: ProblemHandler = _keep_on_problem,
    indent: int | None = None,
    now: _dt.datetime | None = None,
) -> EditOutcome:
    """Edit an encrypted file (or create it from :data:`TEMPLATES` when it does not exist and
    ``plan_for_new`` is given). Raises FileNotModifiedError (200) when nothing changed."""
    store = get_store(input_format, indent=indent)
    location = buffer_location(env, allow_disk=allow_disk)
    created = not path.exists()
    opened: OpenedDocument | None = None
    as_read: bytes | None = None
    if created:
        if plan_for_new is None:
            raise EditorError(f"{path} does not exist")
        if not path.parent.is_dir():  # fail before anyone types a secret that could not be saved
            raise OutputError(f"cannot create {path}: {path.parent} is not a directory")
        plan = plan_for_new()  # fail on a missing rule before the editor opens
        if input_format == "binary":  # as encrypt: selection does not apply to binary files
            from sopskit.format.selection import SelectionRules

            plan.selection, plan.mac_only_encrypted = SelectionRules(), False
        original = TEMPLATES.get(input_format, TEMPLATES["binary"])
        original_tree: list[TreeMap] | None = None
        show_master_keys = False
    else:
        from sopskit.ops.decrypt import read_input

        as_read = read_input(path)
        opened = open_encrypted(as_read, input_format=input_format, context=context,
                                decryption_order=decryption_order, ignore_mac=ignore_mac)
        original_tree = [b.copy_deep() for b in opened.branches]
        if show_master_keys:
            original = store.emit_encrypted(opened.branches, metadata_to_plain(opened.metadata))
        else:
            original = _plain_copy(opened.branches, store)
    with signals_as_interrupts(), SecureBuffer(location, path.name) as buffer:
        buffer.write(original)
        while True:
            run_editor(editor_command(buffer.path, env), env=env, tmpdir=buffer.directory)
            edited = buffer.read()
            if _digest(edited) == _digest(original):
                raise FileNotModifiedError("File has not changed, exiting.")
            try:
                new_branches = _parse_edited(store, edited, with_metadata=show_master_keys)
            except SopsError as exc:
                choice = on_problem(exc.message)
                if choice == "reopen":
                    continue
                if choice == "keep":
                    buffer.kept = True
                    raise BufferKeptError(
                        f"the edited text is not valid {input_format}: {exc.message}",
                        hint=kept_hint(buffer, location),
                    ) from None
                raise ParseError(f"the edited text is not valid {input_format}: {exc.message}") from None
            break
        if original_tree is not None and new_branches == original_tree:
            raise FileNotModifiedError("File has not changed, exiting.")
        with kept_on_failure(buffer, location):
            if opened is not None:
                sealed = replace_plaintext(opened, new_branches, now=now)
            else:
                sealed = encrypt_new(new_branches, plan, context=context, now=now)
            data = emit_encrypted(sealed, store)
            _check_not_changed(path, as_read)
            atomic_write(path, data)
    return EditOutcome(path=path, created=created, written=True)


__all__ = [
    "TEMPLATES",
    "BufferKeptError",
    "BufferLocation",
    "EditInterrupted",
    "EditOutcome",
    "SecureBuffer",
    "buffer_location",
    "edit_file",
    "editor_command",
    "filesystem_type",
    "hardening_flags",
    "is_ram_backed",
    "kept_hint",
    "kept_on_failure",
    "replace_plaintext",
    "run_editor",
    "signals_as_interrupts",
]
