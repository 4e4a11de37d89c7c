"""``sopskit edit FILE`` (and the legacy ``sopskit FILE``): edit with plaintext only in RAM.

Also hosts ``run_encrypt_reusing`` for ``encrypt --reuse-ciphertext-from OLD`` (sops #1587):
re-encrypting an edited plaintext against the previous encrypted file keeps the data key,
the key groups and the ciphertext of every unchanged value.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from sopskit.cli import common, options

EDIT_EPILOG = """\
examples:
  sopskit edit flux/secrets/prod/db.enc.yaml
  EDITOR='code --wait' sopskit edit secret.enc.json
  sopskit edit new-secret.enc.yaml          (a new file starts from a template; keys from .sops.yaml)

The plaintext lives only on tmpfs ($SOPSKIT_TMPDIR, $XDG_RUNTIME_DIR or /dev/shm), 0600 in a
0700 directory, removed on exit, Ctrl-C, SIGTERM or an editor crash. vim, nvim, emacs and
nano run without swap, undo and backup files. Values you did not change keep their exact
ciphertext. Exit 200: the file has not changed; 201: no editor could be run.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser("edit", help="edit an encrypted file (plaintext only on tmpfs)",
                              description="Decrypt FILE into a RAM-only buffer, open the editor, "
                                          "re-encrypt on save. A missing FILE is created.",
                              epilog=EDIT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    options.add_all_shared(p, sub=True)
    add_edit_flags(p)
    p.add_argument("file", metavar="FILE")
    p.set_defaults(handler=run_edit)


def add_edit_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-s", "--show-master-keys", action="store_true", default=argparse.SUPPRESS,
                   help="show the sops metadata block while editing (edits to it are ignored)")
    p.add_argument("--allow-disk-tempdir", action="store_true", default=argparse.SUPPRESS,
                   help="accept a disk-backed temporary directory when no tmpfs is available (unsafe)")


def _ask(problem: str) -> str:
    """On a terminal: reopen, keep (abort, buffer kept on tmpfs) or discard."""
    from sopskit.cli.main import terminal_safe

    print(f"sopskit: {terminal_safe(problem)}", file=sys.stderr)
    if not sys.stdin.isatty():
        return "keep"
    while True:
        sys.stderr.write("[r]eopen the editor, [k]eep the text on tmpfs and abort, or [d]iscard? ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer in ("", "r", "reopen"):
            return "reopen"
        if answer in ("k", "keep"):
            return "keep"
        if answer in ("d", "discard"):
            return "discard"


def _plan_factory(args: argparse.Namespace, path: str):  # type: ignore[no-untyped-def]
    def plan():  # type: ignore[no-untyped-def]
        from sopskit.ops.plan import plan_for_rule

        return plan_for_rule(
            common.rule_path(args, path) or path,
            config=common.load_sops_config(args),
            keys=options.key_values(args),
            encryption_context=options.encryption_context(args),
            aws_profile=getattr(args, "aws_profile", None),
            selection_options=options.selection_options(args),
            shamir_threshold=getattr(args, "shamir_secret_sharing_threshold", None),
            mac_only_encrypted=getattr(args, "mac_only_encrypted", False) or None,
        )

    return plan


def run_edit(args: argparse.Namespace) -> int:
    """Edit ``args.file`` (legacy mode sets it too). Returns 0, or 128+N after signal N."""
    from sopskit.ops.edit import EditInterrupted, edit_file

    path = getattr(args, "file", None) or (getattr(args, "files", None) or [None])[0]
    if common.is_stdin(path):
        from sopskit.errors import UsageError

        raise UsageError("edit needs a file, not standard input")
    assert path is not None
    fmt = common.input_format(args, path)
    try:
        edit_file(
            Path(path),
            input_format=fmt,
            context=common.key_context(args),
            env=dict(os.environ),
            plan_for_new=_plan_factory(args, path),
            decryption_order=options.decryption_order(args),
            ignore_mac=bool(getattr(args, "ignore_mac", False)),
            show_master_keys=bool(getattr(args, "show_master_keys", False)),
            allow_disk=bool(getattr(args, "allow_disk_tempdir", False)),
            on_problem=_ask,
            indent=common.store_indent(args, fmt, None),
        )
    except EditInterrupted as exc:
        print(f"sopskit: interrupted by {signal.Signals(exc.signum).name}; the plaintext buffer was removed",
              file=sys.stderr)
        return 128 + exc.signum
    from sopskit.cli.commands.review import print_restart_hints

    print_restart_hints(path)
    return 0


def run_encrypt_reusing(args: argparse.Namespace) -> int:
    """``encrypt --reuse-ciphertext-from OLD FILE``: seal FILE's plaintext with OLD's data key
    and IV stash (and OLD's key groups), so unchanged values keep their ciphertext."""
    from sopskit.ops.edit import encrypt_reusing
    from sopskit.ops.sopsfile import open_encrypted

    path = options.single_file(args.files, "encrypt")
    options.check_output_conflicts(args, stdin=common.is_stdin(path))
    old_path = args.reuse_ciphertext_from
    fmt = common.input_format(args, path)
    old_fmt = common.input_format(args, old_path)
    previous = open_encrypted(common.read_source(old_path), input_format=old_fmt, ignore_mac=args.ignore_mac,
                              context=common.key_context(args), decryption_order=options.decryption_order(args))
    out_fmt = common.output_format(args, fmt)
    data = encrypt_reusing(previous, common.read_source(path), input_format=fmt, output_format=out_fmt,
                           indent=common.store_indent(args, out_fmt, None))
    common.write_result(args, data, source=path)
    return 0
