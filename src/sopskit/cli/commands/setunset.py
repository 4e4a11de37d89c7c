"""``sopskit set`` and ``sopskit unset`` (and the legacy ``--set '["k"] value'``).

Both decrypt in memory, change one path, and write the file back in place atomically with
the same data key, so only the touched value gets new ciphertext. ``version`` is not
updated, as in sops.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from sopskit.cli import common, options
from sopskit.errors import SetFormatError, UsageError

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


def _write(args: argparse.Namespace, path: str, verb: Callable[..., bytes | None], *operands: str) -> int:
    """Run the ops ``verb`` on ``path`` and write the result back in place."""
    from sopskit.ops.files import atomic_write

    def read() -> bytes:
        if common.is_stdin(path):
            raise UsageError("set/unset edit a file in place; standard input is not supported")
        return common.read_source(path, for_update=True)

    fmt = common.input_format(args, path) if not common.is_stdin(path) else "binary"
    out_fmt = common.output_format(args, fmt)
    result = verb(read, *operands, input_format=fmt, output_format=out_fmt,
                  context=common.key_context(args), decryption_order=options.decryption_order(args),
                  ignore_mac=getattr(args, "ignore_mac", False), idempotent=getattr(args, "idempotent", False),
                  indent=common.output_indent(args, out_fmt), name=path)
    if result is None:
        return 0
    atomic_write(path, result)
    from sopskit.cli.commands.review import print_restart_hints

    print_restart_hints(path)
    return 0


def _set(args: argparse.Namespace, file: str, path_text: str, value_text: str) -> int:
    from sopskit.ops.mutate import set_encrypted

    return _write(args, file, set_encrypted, path_text, value_text)


def run_set(args: argparse.Namespace) -> int:
    return _set(args, args.file, args.path, _value_text(args))


def run_unset(args: argparse.Namespace) -> int:
    from sopskit.ops.mutate import unset_encrypted

    return _write(args, args.file, unset_encrypted, args.path)


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
