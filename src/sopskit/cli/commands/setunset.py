"""``sopskit set`` and ``sopskit unset`` (and the legacy ``--set '["k"] value'``).

Both decrypt in memory, change one path, and write the file back in place atomically with
the same data key, so only the touched value gets new ciphertext. ``version`` is not
updated, as in sops.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sopskit.cli import common, options
from sopskit.errors import NoFileSpecifiedError, SetFormatError, UsageError

SET_EPILOG = """\
examples:
  sopskit set secret.enc.yaml '["db"]["password"]' '"s3cr3t"'
  sopskit set secret.enc.yaml '["replicas"]' 3            (a JSON number: stored as float, like sops)
  sopskit set --value-file secret.enc.yaml '["tls"]' cert.json
  printf '"%s"' "$TOKEN" | sopskit set --value-stdin secret.enc.yaml '["token"]'

The value is JSON (strings need quotes). Missing keys are created. --idempotent leaves the
file untouched when the value is already there.
"""

UNSET_EPILOG = """\
examples:
  sopskit unset secret.enc.yaml '["db"]["old_password"]'
  sopskit unset --idempotent secret.enc.yaml '["list"][2]'

A missing path is an error (exit 1) unless --idempotent is given.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("set", help="set one value in an encrypted file, in place",
                              description="Set the JSON VALUE at a tree PATH of an encrypted FILE.",
                              epilog=SET_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(p, sub=True)
    p.add_argument("--value-file", action="store_true",
                   help="VALUE is the path of a file holding the JSON value")
    p.add_argument("--value-stdin", action="store_true", help="read the JSON value from standard input")
    p.add_argument("--idempotent", action="store_true", help="do not write the file if nothing changes")
    p.add_argument("file", metavar="FILE")
    p.add_argument("path", metavar="PATH", help='tree path, e.g. \'["data"]["password"]\'')
    p.add_argument("value", metavar="VALUE", nargs="?", help="JSON value (omit with --value-stdin)")
    p.set_defaults(handler=run_set)

    u = subparsers.add_parser("unset", help="remove one key or list item from an encrypted file",
                              description="Remove the key or list element at PATH of an encrypted FILE.",
                              epilog=UNSET_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(u, sub=True)
    u.add_argument("--idempotent", action="store_true", help="succeed without writing if PATH is missing")
    u.add_argument("file", metavar="FILE")
    u.add_argument("path", metavar="PATH")
    u.set_defaults(handler=run_unset)


def _value_text(args: argparse.Namespace) -> str:
    if args.value_file and args.value_stdin:
        raise UsageError("--value-file and --value-stdin cannot be used together")
    if args.value_stdin:
        if args.value is not None:
            raise UsageError("with --value-stdin, give only FILE and PATH")
        return sys.stdin.read()
    if args.value is None:
        raise UsageError("set needs FILE PATH VALUE (or --value-stdin)")
    if args.value_file:
        try:
            return Path(args.value).read_text(encoding="utf-8")
        except OSError as exc:
            raise SetFormatError(f"{args.value}: cannot read the value file: {exc.strerror}") from None
    return str(args.value)


def _mutate_in_place(args: argparse.Namespace, path: str, change) -> int:  # type: ignore[no-untyped-def]
    """Open ``path``, apply ``change(root) -> bool`` (True: changed), write it back."""
    from sopskit.ops.document import emit_encrypted, open_document, read_encrypted, seal
    from sopskit.ops.files import atomic_write
    from sopskit.stores import get_store

    if common.is_stdin(path):
        raise UsageError("set/unset edit a file in place; standard input is not supported")
    data = common.read_source(path, for_update=True)
    fmt = common.input_format(args, path)
    branches, metadata = read_encrypted(data, get_store(fmt))
    opened = open_document(branches, metadata, context=common.key_context(args),
                           decryption_order=options.decryption_order(args),
                           ignore_mac=getattr(args, "ignore_mac", False))
    if not opened.branches:
        raise NoFileSpecifiedError(f"{path}: the file has no document")
    changed = change(opened.branches[0])
    if not changed and getattr(args, "idempotent", False):
        return 0
    seal(opened)
    out_fmt = common.output_format(args, fmt)
    store = get_store(out_fmt, indent=common.output_indent(args, out_fmt))
    atomic_write(path, emit_encrypted(opened, store))
    from sopskit.cli.commands.review import print_restart_hints

    print_restart_hints(path)
    return 0


def _set(args: argparse.Namespace, file: str, path_text: str, value_text: str) -> int:
    from sopskit.ops.mutate import parse_set_value, set_value
    from sopskit.ops.treepath import parse_set_path

    tree_path = parse_set_path(path_text)
    value = parse_set_value(value_text)
    return _mutate_in_place(args, file, lambda root: set_value(root, tree_path, value))


def run_set(args: argparse.Namespace) -> int:
    return _set(args, args.file, args.path, _value_text(args))


def run_unset(args: argparse.Namespace) -> int:
    from sopskit.errors import PathNotFoundError
    from sopskit.ops.mutate import unset_value
    from sopskit.ops.treepath import parse_set_path

    tree_path = parse_set_path(args.path)

    def change(root) -> bool:  # type: ignore[no-untyped-def]
        try:
            unset_value(root, tree_path)
        except PathNotFoundError:
            if args.idempotent:
                return False
            raise
        return True

    return _mutate_in_place(args, args.file, change)


def run_legacy_set(args: argparse.Namespace) -> int:
    """``sopskit --set '["key"] VALUE' FILE``: the path and the JSON value in one string."""
    expr = (args.set_expr or "").strip()
    split = _split_legacy_expression(expr)
    return _set(args, args.files[0], split[0], split[1])


def _split_legacy_expression(expr: str) -> tuple[str, str]:
    """Split ``["a"][0] VALUE`` at the first space after the last ``]`` of the path."""
    index = 0
    while index < len(expr) and expr[index] == "[":
        if index + 1 < len(expr) and expr[index + 1] in "\"'":
            close = expr.find(expr[index + 1] + "]", index + 2)
            if close < 0:
                break
            index = close + 2
        else:
            close = expr.find("]", index)
            if close < 0:
                break
            index = close + 1
    path, value = expr[:index], expr[index:].strip()
    if not path or not value:
        raise SetFormatError("--set expects '[\"key\"] VALUE': a tree path, a space, then a JSON value")
    return path, value
