"""sops's legacy syntax: ``sopskit [flags] FILE`` with ``-e``, ``-d``, ``-r``, ``--set``.

No mode flag means edit. Several mode flags: sops warns and the last one wins; so do we.
``-i`` makes ``-e``/``-d``/``-r`` write in place; edit and ``--set`` always do.
"""

from __future__ import annotations

import argparse
import sys

from sopskit.cli import options
from sopskit.errors import NoFileSpecifiedError, UsageError

_MODES = {"-e": "encrypt", "--encrypt": "encrypt", "-d": "decrypt", "--decrypt": "decrypt",
          "-r": "rotate", "--rotate": "rotate", "--set": "set"}


def add_legacy_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-e", "--encrypt", action="store_true", help="encrypt FILE (stdout unless -i)")
    p.add_argument("-d", "--decrypt", action="store_true", help="decrypt FILE (stdout unless -i)")
    p.add_argument("-r", "--rotate", action="store_true", help="rotate the data key of FILE")
    p.add_argument("--set", dest="set_expr", metavar='\'["key"] VALUE\'',
                   help="set the JSON VALUE at a tree path, in place")
    p.add_argument("-s", "--show-master-keys", action="store_true", help="edit with the metadata shown")
    p.add_argument("--extract", metavar="PATH", help="with -d: print only this part of the tree")
    options.add_rotate_flags(p)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sopskit", add_help=False,
        description="sops legacy form: sopskit [-e|-d|-r|--set EXPR] [flags] FILE (no mode: edit)",
    )
    options.add_all_shared(p, sub=False)
    add_legacy_flags(p)
    p.add_argument("files", nargs="*", metavar="FILE")
    return p


def _mode(argv: list[str]) -> str:
    modes = [_MODES[a.split("=", 1)[0]] for a in argv if a.split("=", 1)[0] in _MODES]
    if len(set(modes)) > 1:
        print("sopskit: warning: more than one mode flag given; the last one wins", file=sys.stderr)
    return modes[-1] if modes else "edit"


def run_legacy(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    mode = _mode(argv)
    if not args.files:
        raise NoFileSpecifiedError("no file specified", hint="usage: sopskit [-e|-d|-r] FILE, or `sopskit --help`")
    if len(args.files) > 1:
        print(f"sopskit: warning: ignoring extra arguments after {args.files[0]}", file=sys.stderr)
        args.files = args.files[:1]
    if mode == "encrypt":
        from sopskit.cli.commands.crypt import run_encrypt

        return run_encrypt(args)
    if mode == "decrypt":
        from sopskit.cli.commands.crypt import run_decrypt

        return run_decrypt(args)
    try:
        if mode == "rotate":
            from sopskit.cli.commands.keys import run_rotate

            return run_rotate(args)
        if mode == "set":
            from sopskit.cli.commands.setunset import run_legacy_set

            return run_legacy_set(args)
        from sopskit.cli.commands.edit import run_edit

        args.file = args.files[0]
        return run_edit(args)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("sopskit.cli.commands"):
            raise UsageError(f"the {mode} mode is not available in this build") from None
        raise
