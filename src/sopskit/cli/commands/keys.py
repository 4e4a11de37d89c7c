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
import time
from pathlib import Path

from sopskit.cli import common, options
from sopskit.errors import CannotChangeKeysError, ConfigError, NoFileSpecifiedError, UsageError
from sopskit.ops.keytable import key_types

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
    from sopskit.errors import SopsError
    from sopskit.ops.rekey import RotateResult, rotate_file
    from sopskit.ops.updatekeys import expand_paths

    if not (args.in_place or dry_run):
        raise UsageError("rotating several files or a directory needs -i (or --dry-run)")
    if getattr(args, "output", None):
        raise UsageError("--output takes one file")
    failed = 0
    for path, skip in expand_paths([Path(f) for f in files]):
        if skip is not None:
            print(f"{path}: skipped: {skip}", file=sys.stderr)
            continue
        _pause()
        try:
            result = rotate_file(path, context=common.key_context(args), add=add, remove=remove,
                                 input_format=args.input_type,
                                 decryption_order=options.decryption_order(args),
                                 ignore_mac=args.ignore_mac, dry_run=dry_run)
        except SopsError as exc:
            result = RotateResult(path, error=_one_line(exc))
        failed += 0 if result.ok else 1
        print(_rotate_line(result), file=sys.stderr)
    return 1 if failed else 0


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
    from sopskit.errors import SopsError
    from sopskit.ops.updatekeys import expand_paths, update_keys_file

    config = common.require_sops_config(args)
    context = common.key_context(args)
    order = options.decryption_order(args)
    threshold = args.shamir_secret_sharing_threshold
    failed = 0
    # one file: its error is the command's error (one line and a hint, at the edge);
    # several files or a directory: a line per file, then a summary
    single = len(args.files) == 1 and not os.path.isdir(args.files[0])
    for path, skip in expand_paths([Path(f) for f in args.files]):
        if skip is not None:
            if single:
                from sopskit.errors import FormatError, NoFileSpecifiedError

                error = NoFileSpecifiedError if skip == "no such file" else FormatError
                raise error(f"{path}: {skip}")
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
            if args.dry_run:
                continue
            if not args.yes:
                answer = _confirm()
                if answer is None:
                    raise ConfigError("no answer on standard input",
                                      hint="pass --yes to update without asking")
                if not answer:
                    print(f"{path}: left unchanged", file=sys.stderr)
                    continue
            _pause()
            update_keys_file(path, config=config, context=context, shamir_threshold=threshold,
                             input_format=args.input_type, decryption_order=order)
            print(f"{path}: synced with new keys", file=sys.stderr)
        except SopsError as exc:
            if single:
                raise
            failed += 1
            print(f"{path}: FAILED: {_one_line(exc)}", file=sys.stderr)
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
