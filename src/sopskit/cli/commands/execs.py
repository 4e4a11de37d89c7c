"""``exec-env`` and ``exec-file``: run a command with the secrets, never writing them to disk.

``exec-env`` puts the top-level scalars into the command's environment and runs
``/bin/sh -c COMMAND``. ``exec-file`` replaces every ``{}`` in COMMAND with the path of a
FIFO (default; the plaintext only passes through the kernel) or, with ``--no-fifo``, of a
0600 file in a 0700 directory on tmpfs that is removed when the command ends. The command's
exit status is returned, as sops does.

TERM, HUP, INT and QUIT sent to sopskit are forwarded to the command, and sopskit removes the
file (or FIFO) once the command has ended, so a CI runner stopping the job leaves no plaintext.
With ``--background`` a forked watcher keeps the file until the command ends.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import FrameType

from sopskit.cli import common, options
from sopskit.errors import UsageError

EXEC_ENV_EPILOG = """\
examples:
  sopskit exec-env secret.enc.env 'psql "$DATABASE_URL"'
  sopskit exec-env --pristine secret.enc.yaml 'env'
"""

EXEC_FILE_EPILOG = """\
examples:
  sopskit exec-file kubeconfig.enc.yaml 'kubectl --kubeconfig {} get pods'
  sopskit exec-file --no-fifo --filename app.env secret.enc.env 'source {} && ./run'

The FIFO can be read once. --no-fifo writes a regular file on tmpfs (refused on disk
unless --allow-disk-tempdir), removed when the command exits.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    env = subparsers.add_parser("exec-env", help="run a command with the secrets in its environment",
                                description="Run COMMAND (via /bin/sh -c) with FILE's top-level values "
                                            "as environment variables.",
                                epilog=EXEC_ENV_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(env, sub=True)
    _exec_common(env)
    env.add_argument("--pristine", action="store_true", help="start from an empty environment")
    env.add_argument("--same-process", action="store_true",
                     help="replace sopskit with the command (exec) instead of running a child")
    env.add_argument("file", metavar="FILE")
    env.add_argument("command", metavar="COMMAND")
    env.set_defaults(handler=run_exec_env)

    fil = subparsers.add_parser("exec-file", help="run a command with the secrets in a FIFO or tmpfs file",
                                description="Run COMMAND with every {} replaced by the path of the "
                                            "decrypted FILE.",
                                epilog=EXEC_FILE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(fil, sub=True)
    _exec_common(fil)
    fil.add_argument("--no-fifo", action="store_true", help="use a regular file on tmpfs instead of a FIFO")
    fil.add_argument("--filename", default="tmp-file", help="name of the file inside the private directory")
    fil.add_argument("--allow-disk-tempdir", action="store_true",
                     help="with --no-fifo, accept a disk-backed temporary directory if no tmpfs exists")
    fil.add_argument("file", metavar="FILE")
    fil.add_argument("command", metavar="COMMAND")
    fil.set_defaults(handler=run_exec_file)


def _exec_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--background", action="store_true", help="do not wait for the command (deprecated)")
    p.add_argument("--user", default=None, help="run the command as this user (needs root)")


def _open(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from sopskit.ops.sopsfile import open_encrypted

    fmt = common.input_format(args, args.file)
    opened = open_encrypted(common.read_source(args.file), input_format=fmt, ignore_mac=args.ignore_mac,
                            context=common.key_context(args), decryption_order=options.decryption_order(args))
    return opened, fmt


def _user_switch(user: str | None) -> tuple[Callable[[], None] | None, dict[str, str]]:
    if not user:
        return None, {}
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise UsageError(f"no such user {user!r}") from None
    if os.geteuid() != 0:
        raise UsageError("--user needs root privileges")

    def switch() -> None:
        os.initgroups(entry.pw_name, entry.pw_gid)
        os.setgid(entry.pw_gid)
        os.setuid(entry.pw_uid)

    return switch, {"HOME": entry.pw_dir, "USER": entry.pw_name, "LOGNAME": entry.pw_name}


#: signals passed on to the command: the command decides when to stop, and sopskit stays to
#: clean up after it (a killed sopskit would leave the --no-fifo plaintext behind and the
#: command blocked on a FIFO nobody writes)
FORWARDED_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT") if hasattr(signal, name)
)


class _Forwarder:
    """Signal handlers that pass signals on to the child; a signal that arrives before the
    child exists is held and delivered as soon as it does."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        if self.process is None:
            self.pending.append(signum)
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signum)

    def attach(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        for signum in self.pending:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signum)
        self.pending.clear()


@contextlib.contextmanager
def _forwarding() -> Iterator[_Forwarder]:
    forwarder = _Forwarder()
    if threading.current_thread() is not threading.main_thread():
        yield forwarder
        return
    previous = {s: signal.signal(s, forwarder) for s in FORWARDED_SIGNALS}
    try:
        yield forwarder
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _run_shell(command: str, env: Mapping[str, str], args: argparse.Namespace, *,
               wait: bool | None = None) -> int:
    preexec, user_env = _user_switch(getattr(args, "user", None))
    full_env = {**env, **user_env}
    if not (wait if wait is not None else not getattr(args, "background", False)):
        subprocess.Popen(["/bin/sh", "-c", command], env=full_env, preexec_fn=preexec)
        return 0
    with _forwarding() as forwarder:
        process = subprocess.Popen(["/bin/sh", "-c", command], env=full_env, preexec_fn=preexec)
        forwarder.attach(process)
        return _status(process.wait())


def _status(code: int) -> int:
    return 128 - code if code < 0 else code


def run_exec_env(args: argparse.Namespace) -> int:
    from sopskit.ops.environ import secret_environment

    opened, _fmt = _open(args)
    if not opened.branches:
        raise UsageError(f"{args.file}: the file has no document")
    secrets = secret_environment(opened.branches[0])
    env = dict(secrets) if args.pristine else {**os.environ, **secrets}
    if args.same_process:
        preexec, user_env = _user_switch(args.user)
        if preexec is not None:
            preexec()
        sys.stdout.flush()
        os.execve("/bin/sh", ["/bin/sh", "-c", args.command], {**env, **user_env})
    return _run_shell(args.command, env, args)


def _check_filename(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith(".."):
        raise UsageError(f"--filename {name!r} must be a plain file name (no directories)")
    return name


def _feed_fifo(path: Path, data: bytes, stop: threading.Event) -> None:
    """Write ``data`` into the FIFO once a reader opens it; give up when ``stop`` is set."""
    while not stop.is_set():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: no reader yet
            stop.wait(0.02)
            continue
        try:
            os.set_blocking(fd, True)
            with contextlib.suppress(BrokenPipeError):
                os.write(fd, data)
        finally:
            os.close(fd)
        return


def run_exec_file(args: argparse.Namespace) -> int:
    from sopskit.ops.decrypt import emit_plaintext
    from sopskit.ops.edit import buffer_location

    opened, fmt = _open(args)
    out_fmt = common.output_format(args, fmt)
    data = emit_plaintext(opened, output_format=out_fmt)
    name = _check_filename(args.filename)
    # a FIFO holds no data on disk, so any directory will do; a regular file needs tmpfs
    location = buffer_location(os.environ, allow_disk=(not args.no_fifo) or args.allow_disk_tempdir)
    if getattr(args, "background", False):
        # sopskit returns at once, but the file must live until the command has read it: a
        # forked watcher owns the buffer, waits for the command and then removes it
        if os.fork() != 0:
            return 0
        code = 1
        try:
            code = _exec_file_in_buffer(args, data, name, location)
        finally:
            sys.stdout.flush()
            os._exit(code)
    return _exec_file_in_buffer(args, data, name, location)


def _exec_file_in_buffer(args: argparse.Namespace, data: bytes, name: str, location) -> int:  # type: ignore[no-untyped-def]
    """Run the command with the buffer in place and wait for it; the buffer is removed after
    it, also when sopskit gets TERM/HUP/INT/QUIT (forwarded to the command)."""
    from sopskit.ops.edit import SecureBuffer, signals_as_interrupts

    # before the command runs (and after it), TERM/HUP/QUIT interrupt sopskit so the buffer
    # is removed; while it runs, they are forwarded to it instead
    with signals_as_interrupts(), SecureBuffer(location, name) as buffer:
        command = args.command.replace("{}", str(buffer.path))
        if args.no_fifo:
            buffer.write(data)
            return _run_shell(command, os.environ, args, wait=True)
        os.mkfifo(buffer.path, 0o600)
        stop = threading.Event()
        feeder = threading.Thread(target=_feed_fifo, args=(buffer.path, data, stop), daemon=True)
        feeder.start()
        try:
            return _run_shell(command, os.environ, args, wait=True)
        finally:
            stop.set()
            _unblock_fifo(buffer.path)
            feeder.join(timeout=1)


def _unblock_fifo(path: Path) -> None:
    """A feeder blocked writing into a FIFO the command stopped reading: open the read end
    once and drain it, so the write ends and the thread exits."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            while os.read(fd, 65536):
                pass
        except BlockingIOError:
            pass
        finally:
            os.close(fd)


__all__ = ["register", "run_exec_env", "run_exec_file"]
