"""sops commands sopskit does not implement: ``publish``, ``keyservice``, ``completion``.

They are known words, so ``sopskit publish FILE`` fails with a clear line instead of falling
through to the legacy form (which would open an editor on a file called ``publish``).
"""

from __future__ import annotations

import argparse

from sopskit.errors import UsageError

UNSUPPORTED = {
    "publish": "re-encrypt and upload files to S3, GCS or Vault (destination_rules)",
    "keyservice": "serve the sops gRPC key service",
    "completion": "print a shell completion script",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, what in UNSUPPORTED.items():
        p = subparsers.add_parser(name, help=f"(sops) {what}: not implemented in sopskit",
                                  description=f"sops's `{name}` ({what}) is not implemented in sopskit.")
        p.set_defaults(handler=lambda _args, name=name: refuse(name))


def refuse(name: str) -> int:
    """Called before argument parsing, so sops's own flags (``publish --yes``) do not matter."""
    raise UsageError(
        f"`{name}` is a sops command that sopskit does not implement",
        hint=f"use the sops binary for `{name}`; sopskit reads and writes the same files",
    )
