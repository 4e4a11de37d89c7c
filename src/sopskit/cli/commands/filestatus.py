"""``sopskit filestatus FILE``: print ``{"encrypted":true}`` or ``{"encrypted":false}``.

Byte-compatible with sops, so scripts and pre-commit hooks written for sops keep working.
Nothing is decrypted and no key is needed.
"""

from __future__ import annotations

import argparse
import sys

from sopskit.cli import common


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "filestatus", help="tell whether a file is SOPS-encrypted",
        description='Print {"encrypted":true} if FILE has sops metadata with a MAC and a version, '
                    'else {"encrypted":false}.',
    )
    p.add_argument("--input-type", choices=("yaml", "json", "dotenv", "ini", "binary"),
                   default=argparse.SUPPRESS, help="format of the file (default: from its name)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(handler=run_filestatus)


def run_filestatus(args: argparse.Namespace) -> int:
    from sopskit.ops.status import file_status

    data = common.read_source(args.file)
    status = file_status(data, input_format=common.input_format(args, args.file))
    sys.stdout.write(status.to_json() + "\n")
    return 0
