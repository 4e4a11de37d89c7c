"""``rotate``, ``updatekeys`` and ``groups add|delete``: everything that changes who can
decrypt a file.

Beyond sops: ``rotate`` and ``updatekeys`` take many files and directories at once, with
``--dry-run`` and a per-file report, and keep going past a failing file (sops #1071); the
exit status is 1 when any file failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sopskit.cli import common, options
from sopskit.errors import CannotChangeKeysError, ConfigError, NoFileSpecifiedError, UsageError
from sopskit.ops.keytable import key_types
from sopskit.ops.pool import InOrder

if TYPE_CHECKING:
    from sopskit.config import SopsConfig
    from sopskit.ops.request import KeyContext

T = TypeVar("T")

ROTATE_EPILOG = """\
examples:
  sopskit rotate -i secret.enc.yaml                       (new data key, same recipients)
  sopskit rotate -i --add-age age1new... --rm-age age1old... secret.enc.yaml
  sopskit rotate -i --dry-run flux/secrets/               (every SOPS file below, report only)

Added keys go to the first key group; removed keys leave every group. With several files
or a directory, -i (or --dry-run) is required and each file gets one report line.
"""

UPDATEKEYS_EPILOG = """\
examples:
  sopskit updatekeys secret.enc.yaml                      (shows the change and asks)
  sopskit updatekeys -y flux/secrets/                     (every SOPS file below, no questions)
  sopskit updatekeys --dry-run flux/ other.enc.json       (report only)

The data key is kept and wrapped for the key groups of the matching .sops.yaml rule; no
value, MAC, lastmodified or version changes.
"""

GROUPS_EPILOG = """\
examples:
  sopskit groups add --file secret.enc.yaml --age age1... --age age1... -i
  sopskit groups delete --file secret.enc.yaml 1 -i
"""

#: sopskit-only, for fault-injection tests: seconds to sleep before each file is written
PAUSE_ENV = "SOPSKIT_TEST_PAUSE_BEFORE_WRITE"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rot = subparsers.add_parser("rotate", help="new data key (optionally add/remove recipients)",
                                description="Generate a new data key and re-encrypt every value.",
                                epilog=ROTATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(rot, sub=True)
    options.add_rotate_flags(rot, sub=True)
    rot.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    options.add_jobs_flag(rot)
    rot.add_argument("files", nargs="*", metavar="FILE|DIR")
    rot.set_defaults(handler=run_rotate)

    upd = subparsers.add_parser("updatekeys", help="sync a file's keys with .sops.yaml",
                                description="Re-wrap the data key for the key groups of the matching "
                                            "creation rule.",
                                epilog=UPDATEKEYS_EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(upd, sub=True)
    upd.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    upd.add_argument("--dry-run", action="store_true", help="show the changes; write nothing")
    options.add_jobs_flag(upd)
    upd.add_argument("files", nargs="+", metavar="FILE|DIR")
    upd.set_defaults(handler=run_updatekeys)

    grp = subparsers.add_parser("groups", help="add or delete key groups (Shamir)",
                                description="Add or delete key groups of an encrypted file.",
                                epilog=GROUPS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = grp.add_subparsers(dest="groups_command", metavar="add|delete")
    add = sub.add_parser("add", help="add a key group")
    _group_common(add)
    for row in key_types():
        add.add_argument(*[f for f in row.flags if f.startswith("--")], dest=f"group_{row.name}",
                         action="append", default=None, metavar="KEY", help=f"{row.help} (repeatable)")
    add.set_defaults(handler=run_groups_add)
    for name in ("delete", "remove"):
        delete = sub.add_parser(name, help="delete a key group by its 0-based index")
        _group_common(delete)
        delete.add_argument("index", type=int, metavar="INDEX")
        delete.set_defaults(handler=run_groups_delete)


def _group_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-f", "--file", required=True, metavar="FILE", help="the encrypted file")
    p.add_argument("-i", "--in-place", action="store_true", default=argparse.SUPPRESS,
                   help="write the result back to the file (default: stdout)")
    p.add_argument("--shamir-secret-sharing-threshold", type=int, default=argparse.SUPPRESS, metavar="N")
    p.add_argument("--encryption-context", default=argparse.SUPPRESS, metavar="K:V,...")
    p.add_argument("--aws-profile", default=argparse.SUPPRESS)
    p.add_argument("--input-type", choices=options.FORMATS, default=argparse.SUPPRESS)


# -- rotate --------------------------------------------------------------------------------------

def _is_many(files: list[str]) -> bool:
    return len(files) > 1 or any(os.path.isdir(f) for f in files)


def run_rotate(args: argparse.Namespace) -> int:
    """sops's ``rotate`` (and legacy ``-r``); several files or directories are sopskit's."""
    from sopskit.ops.rekey import rotate_file

    add, remove = options.rotate_changes(args)
    files = list(getattr(args, "files", None) or [])
    if not files:
        raise NoFileSpecifiedError("no file specified", hint="usage: sopskit rotate [-i] FILE...")
    dry_run = getattr(args, "dry_run", False)
    if _is_many(files):
        return _rotate_many(args, files, add, remove, dry_run=dry_run)
    path = files[0]
    options.check_output_conflicts(args, stdin=common.is_stdin(path))
    if common.is_stdin(path):
        raise UsageError("rotate needs a file, not standard input")
    if not os.path.exists(path):
        if add or remove:
            raise CannotChangeKeysError(f"{path}: cannot add or remove keys of a file that does not exist")
        raise NoFileSpecifiedError(f"{path}: no such file")
    fmt = common.input_format(args, path)
    out_fmt = common.output_format(args, fmt)
    result = rotate_file(
        Path(path), context=common.key_context(args), add=add, remove=remove, input_format=fmt,
        output_format=out_fmt, indent=common.store_indent(args, out_fmt, None),
        decryption_order=options.decryption_order(args), ignore_mac=args.ignore_mac,
        in_place=bool(args.in_place), dry_run=dry_run,
    )
    if dry_run:
        print(_rotate_line(result), file=sys.stderr)
        return 0
    if result.output is not None:
        common.write_result(args, result.output, source=path)
    return 0


def _rotate_line(result) -> str:  # type: ignore[no-untyped-def]
    if result.error:
        return f"{result.path}: FAILED: {result.error}"
    changes = [f"+{k}" for k in result.added] + [f"-{k}" for k in result.removed]
    verb = "rotated" if result.written else "would rotate"
    return f"{result.path}: {verb}" + (f" ({', '.join(changes)})" if changes else "")


def _rotate_many(args: argparse.Namespace, files: list[str], add: dict[str, list[str]],
                 remove: dict[str, list[str]], *, dry_run: bool) -> int:
    from sopskit.ops.rekey import RotateResult, rotate_many

    if not (args.in_place or dry_run):
        raise UsageError("rotating several files or a directory needs -i (or --dry-run)")
    if getattr(args, "output", None):
        raise UsageError("--output takes one file")
    progress = _Progress("rotate")

    def report(result: RotateResult) -> None:
        progress.clear()
        if result.skipped is not None:
            print(f"{result.path}: skipped: {result.skipped}", file=sys.stderr)
        else:
            print(_rotate_line(result), file=sys.stderr)

    # one key context for the run: --from-cluster reads the cluster's Secret once, not per file
    results = rotate_many([Path(f) for f in files], context=common.key_context(args), add=add,
                          remove=remove, decryption_order=options.decryption_order(args),
                          dry_run=dry_run, input_format=args.input_type, ignore_mac=args.ignore_mac,
                          workers=_jobs(args), before_file=_before_file,
                          on_done=progress.wrap(InOrder(report)))
    progress.clear()
    failed = sum(1 for r in results if not r.ok)
    if failed:
        print(f"sopskit: rotate failed for {failed} file(s)", file=sys.stderr)
    return 1 if failed else 0


def _jobs(args: argparse.Namespace) -> int:
    from sopskit.ops.pool import DEFAULT_WORKERS

    return int(getattr(args, "jobs", None) or DEFAULT_WORKERS)


class _Progress:
    """``updatekeys: 120 file(s) done`` on stderr while a many-file run goes, only on a
    terminal (a log or a pipe gets the report lines only).

    The counter holds no text from any file, so its carriage return and erase-line sequence
    are written to the terminal directly (file descriptor 2): ``sys.stderr`` escapes control
    characters, rightly, for every line that quotes a path or a recipient.
    """

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.done = 0
        self.shown = False
        try:
            self.enabled = sys.stderr.isatty() and os.isatty(2)
        except (AttributeError, ValueError, OSError):
            self.enabled = False

    def wrap(self, inner: Callable[[int, T], None]) -> Callable[[int, T], None]:
        def on_done(index: int, result: T) -> None:
            inner(index, result)
            self.done += 1
            self.show()
        return on_done

    def _raw(self, text: str) -> None:
        sys.stderr.flush()
        try:
            os.write(2, text.encode())
        except OSError:
            self.enabled = False

    def show(self) -> None:
        if self.enabled:
            self._raw(f"\r{self.verb}: {self.done} file(s) done")
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self._raw("\r\x1b[K")
            self.shown = False


_PAUSE_LOCK = threading.Lock()


def _before_file(path: Path) -> None:
    """The fault-injection pause: taken under one lock, so paused files are written one at a
    time and a kill lands between two writes even with a pool."""
    delay = os.environ.get(PAUSE_ENV)
    if delay:
        with _PAUSE_LOCK:
            time.sleep(float(delay))


def _pause() -> None:
    delay = os.environ.get(PAUSE_ENV)
    if delay:
        time.sleep(float(delay))


def _one_line(exc: Exception) -> str:
    report = getattr(exc, "report", None)
    text = report() if callable(report) else getattr(exc, "message", type(exc).__name__)
    return str(text).replace("\n", "; ")


# -- updatekeys ----------------------------------------------------------------------------------

def _show_diff(result) -> str:  # type: ignore[no-untyped-def]
    lines = [f"{result.path}: the following changes will be made to the file's key groups:"]
    for index, group in enumerate(result.groups):
        lines.append(f"Group {index + 1}")
        lines.extend(f"    {k}" for k in group.common)
        lines.extend(f"+++ {k}" for k in group.added)
        lines.extend(f"--- {k}" for k in group.removed)
    return "\n".join(lines)


def _confirm() -> bool | None:
    while True:
        sys.stdout.write("Is this okay? (y/n): ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            return None
        answer = answer.strip().lower()
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")


def run_updatekeys(args: argparse.Namespace) -> int:
    config = common.require_sops_config(args)
    context = common.key_context(args)  # once per run: --from-cluster reads the Secret once
    # one file: its error is the command's error (one line and a hint, at the edge), as sops;
    # several files or a directory: a line per file from the pool, then a summary
    if len(args.files) == 1 and not os.path.isdir(args.files[0]):
        return _updatekeys_one(args, Path(args.files[0]), config, context)
    return _updatekeys_many(args, config, context)


def _updatekeys_one(args: argparse.Namespace, path: Path, config: SopsConfig, context: KeyContext) -> int:
    from sopskit.errors import FormatError
    from sopskit.ops.batch import expand_paths
    from sopskit.ops.updatekeys import update_keys_file

    order = options.decryption_order(args)
    threshold = args.shamir_secret_sharing_threshold
    for _, skip in expand_paths([path]):
        if skip is not None:
            error = NoFileSpecifiedError if skip == "no such file" else FormatError
            raise error(f"{path}: {skip}")
    preview = update_keys_file(path, config=config, context=context, dry_run=True,
                               shamir_threshold=threshold, input_format=args.input_type,
                               decryption_order=order)
    if not preview.changed:
        print(f"{path}: already up to date", file=sys.stderr)
        return 0
    print(_show_diff(preview))
    if args.dry_run:
        return 0
    if not args.yes:
        answer = _confirm()
        if answer is None:
            raise ConfigError("no answer on standard input", hint="pass --yes to update without asking")
        if not answer:
            print(f"{path}: left unchanged", file=sys.stderr)
            return 0
    _pause()
    update_keys_file(path, config=config, context=context, shamir_threshold=threshold,
                     input_format=args.input_type, decryption_order=order)
    print(f"{path}: synced with new keys", file=sys.stderr)
    return 0


def _updatekeys_many(args: argparse.Namespace, config: SopsConfig, context: KeyContext) -> int:
    """Without --yes, every diff is shown and answered first (reading files only; no key is
    unwrapped), then the accepted files go through the pool: one unwrap per file, ``--jobs``
    at a time, report lines in the order the files were found."""
    from sopskit.errors import SopsError
    from sopskit.ops.batch import expand_paths
    from sopskit.ops.updatekeys import UpdateResult, update_keys_file, update_keys_many

    order = options.decryption_order(args)
    threshold = args.shamir_secret_sharing_threshold
    failed = 0
    targets: list[Path] = [Path(f) for f in args.files]
    if not (args.yes or args.dry_run):
        targets = []
        for path, skip in expand_paths([Path(f) for f in args.files]):
            if skip is not None:
                print(f"{path}: skipped: {skip}", file=sys.stderr)
                continue
            try:
                preview = update_keys_file(path, config=config, context=context, dry_run=True,
                                           shamir_threshold=threshold, input_format=args.input_type,
                                           decryption_order=order)
                if not preview.changed:
                    print(f"{path}: already up to date", file=sys.stderr)
                    continue
                print(_show_diff(preview))
                answer = _confirm()
                if answer is None:
                    raise ConfigError("no answer on standard input", hint="pass --yes to update without asking")
                if answer:
                    targets.append(path)
                else:
                    print(f"{path}: left unchanged", file=sys.stderr)
            except SopsError as exc:
                failed += 1
                print(f"{path}: FAILED: {_one_line(exc)}", file=sys.stderr)
        if not targets:
            return _updatekeys_summary(failed)
    progress = _Progress("updatekeys")
    show_diff = bool(args.yes or args.dry_run)  # without --yes the diff was shown when asking

    def report(result: UpdateResult) -> None:
        progress.clear()
        if result.skipped is not None:
            print(f"{result.path}: skipped: {result.skipped}", file=sys.stderr)
        elif result.error is not None:
            print(f"{result.path}: FAILED: {result.error}", file=sys.stderr)
        elif not result.changed:
            print(f"{result.path}: already up to date", file=sys.stderr)
        else:
            if show_diff:
                print(_show_diff(result), flush=True)
            if result.written:
                print(f"{result.path}: synced with new keys", file=sys.stderr)

    results = update_keys_many(targets, config=config, context=context, dry_run=args.dry_run,
                               shamir_threshold=threshold, input_format=args.input_type,
                               decryption_order=order, workers=_jobs(args), before_file=_before_file,
                               on_done=progress.wrap(InOrder(report)))
    progress.clear()
    failed += sum(1 for r in results if r.error is not None)
    return _updatekeys_summary(failed)


def _updatekeys_summary(failed: int) -> int:
    if failed:
        print(f"sopskit: updatekeys failed for {failed} file(s)", file=sys.stderr)
        return 1
    return 0


# -- groups --------------------------------------------------------------------------------------

def _read_for_groups(args: argparse.Namespace) -> tuple[bytes, str]:
    path = args.file
    if not os.path.exists(path):
        raise NoFileSpecifiedError(f"{path}: no such file")
    return (common.read_source(path, for_update=bool(getattr(args, "in_place", False))),
            common.input_format(args, path))


def _write_groups(args: argparse.Namespace, data: bytes) -> int:
    from sopskit.ops.files import atomic_write

    if getattr(args, "in_place", False):
        atomic_write(args.file, data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0


def run_groups_add(args: argparse.Namespace) -> int:
    from sopskit.ops.groups import add_key_group, new_group_specs

    values = {t.name: options.split_list(",".join(getattr(args, f"group_{t.name}") or [])) for t in key_types()}
    specs = new_group_specs(values, encryption_context=options.encryption_context(args),
                            aws_profile=getattr(args, "aws_profile", None))
    data, fmt = _read_for_groups(args)
    result = add_key_group(data, specs, input_format=fmt,
                           threshold=getattr(args, "shamir_secret_sharing_threshold", None),
                           context=common.key_context(args), decryption_order=options.decryption_order(args))
    return _write_groups(args, result)


def run_groups_delete(args: argparse.Namespace) -> int:
    from sopskit.ops.groups import delete_key_group

    data, fmt = _read_for_groups(args)
    result = delete_key_group(data, args.index, input_format=fmt,
                              threshold=getattr(args, "shamir_secret_sharing_threshold", None),
                              context=common.key_context(args), decryption_order=options.decryption_order(args))
    return _write_groups(args, result)
