"""Flags shared by several commands, declared once.

sops declares its key flags four times (global, encrypt, rotate, groups); here each family
is one function. Every shared flag is accepted both before the command name (sops's global
position) and after it: sub-parsers declare the same flags with ``default=SUPPRESS`` so a
value given before the command is not overwritten by the sub-parser's default.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from sopskit.errors import ConflictingParametersError, InvalidEncryptionContextError, UsageError
from sopskit.ops.keytable import key_types

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

# argparse is imported inside the functions that declare flags: a plain ``sopskit decrypt
# FILE`` is read by ``crypt.parse_decrypt_fast`` without it (see docs/performance.md).

SELECTION_FLAGS = {
    "unencrypted_suffix": "keys ending with this suffix stay in clear (default _unencrypted)",
    "encrypted_suffix": "only keys ending with this suffix are encrypted",
    "unencrypted_regex": "keys matching this regex stay in clear",
    "encrypted_regex": "only keys matching this regex are encrypted (e.g. '^(data|stringData)$')",
    "unencrypted_comment_regex": "values after a comment matching this regex stay in clear",
    "encrypted_comment_regex": "only values after a comment matching this regex are encrypted",
}

FORMATS = ("yaml", "json", "dotenv", "ini", "binary")


def _default(value: object, sub: bool) -> object:
    import argparse  # argparse tells SUPPRESS by identity

    return argparse.SUPPRESS if sub else value


def add_key_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    g = p.add_argument_group("master keys (replace the .sops.yaml rule's keys)")
    for row in key_types():
        g.add_argument(*row.flags, dest=f"key_{row.name}", metavar="KEYS", default=_default(None, sub),
                       help=f"{row.help} [env {row.env}]")
    g.add_argument("--encryption-context", default=_default(None, sub), metavar="K:V,...",
                   help="AWS KMS encryption context for --kms keys")
    g.add_argument("--aws-profile", default=_default(None, sub), help="AWS profile for --kms keys")
    g.add_argument("--shamir-secret-sharing-threshold", type=int, default=_default(None, sub), metavar="N",
                   help="number of key groups needed to decrypt (default: all)")


def add_selection_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    g = p.add_argument_group("which values are encrypted (at most one)")
    for name, text in SELECTION_FLAGS.items():
        g.add_argument("--" + name.replace("_", "-"), dest=name, default=_default(None, sub), metavar="TEXT",
                       help=text)
    g.add_argument("--mac-only-encrypted", action="store_true", default=_default(False, sub),
                   help="compute the MAC over encrypted values only")


def add_format_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    p.add_argument("--input-type", choices=FORMATS, default=_default(None, sub),
                   help="format of the input (default: from the file name; stdin: binary)")
    p.add_argument("--output-type", choices=FORMATS, default=_default(None, sub),
                   help="format of the output (default: the input's)")
    p.add_argument("--filename-override", default=_default(None, sub), metavar="PATH",
                   help="use PATH to choose the format and the creation rule (needed with stdin)")


def add_output_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    p.add_argument("-i", "--in-place", action="store_true", default=_default(False, sub),
                   help="write the result back to the file (atomically)")
    p.add_argument("--output", default=_default(None, sub), metavar="FILE", help="write the result to FILE")


def add_decrypt_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    p.add_argument("--ignore-mac", action="store_true", default=_default(False, sub),
                   help="do not check the MAC (integrity) of the file")
    p.add_argument("--decryption-order", default=_default(None, sub), metavar="TYPES",
                   help="master key types to try first, e.g. age,pgp [env SOPS_DECRYPTION_ORDER]")
    add_cluster_identity_flags(p, sub=sub)


def add_cluster_identity_flags(
    p: argparse.ArgumentParser, *, sub: bool = False,
    help: str = "use the age identity held in the cluster's sops-age Secret (never written to disk)",
) -> None:
    """``--from-cluster``, ``--kubeconfig``, ``--context``: what :func:`common.key_context` reads."""
    p.add_argument("--from-cluster", action="store_true", default=_default(False, sub), help=help)
    p.add_argument("--kubeconfig", default=_default(None, sub), help="kubeconfig for --from-cluster")
    p.add_argument("--context", dest="kube_context", default=_default(None, sub),
                   help="kubeconfig context for --from-cluster")


def _jobs_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        import argparse  # only at run time when a parser exists (the decrypt path never gets here)

        raise argparse.ArgumentTypeError(f"--jobs wants a whole number of at least 1, not {text!r}")
    return value


def add_jobs_flag(p: argparse.ArgumentParser, *,
                  what: str = "files processed at once with several files or a directory") -> None:
    """``-j/--jobs N``: the size of the bounded pool of the many-file commands
    (``sopskit.ops.pool``); each file's data key is still unwrapped once."""
    from sopskit.ops.pool import DEFAULT_WORKERS

    p.add_argument("-j", "--jobs", type=_jobs_value, default=DEFAULT_WORKERS, metavar="N",
                   help=f"{what} (default {DEFAULT_WORKERS})")


def add_global_only_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    import argparse

    p.add_argument("--config", default=_default(None, sub), metavar="FILE",
                   help="use this .sops.yaml instead of searching from the working directory [env SOPS_CONFIG]")
    p.add_argument("--indent", type=int, default=_default(None, sub), metavar="N",
                   help="indentation of YAML/JSON output")
    p.add_argument("--verbose", action="store_true", default=_default(False, sub), help="more logging")
    p.add_argument("--debug", action="store_true", default=_default(False, sub),
                   help="show a traceback for unexpected errors (never includes values)")
    p.add_argument("--enable-local-keyservice", default=_default("true", sub), metavar="BOOL",
                   help=argparse.SUPPRESS)
    p.add_argument("--keyservice", action="append", default=_default(None, sub), help=argparse.SUPPRESS)
    p.add_argument("--disable-version-check", action="store_true", default=_default(False, sub),
                   help=argparse.SUPPRESS)
    p.add_argument("--check-for-updates", action="store_true", default=_default(False, sub),
                   help=argparse.SUPPRESS)


def add_all_shared(p: argparse.ArgumentParser, *, sub: bool) -> None:
    add_key_flags(p, sub=sub)
    add_selection_flags(p, sub=sub)
    add_format_flags(p, sub=sub)
    add_output_flags(p, sub=sub)
    add_decrypt_flags(p, sub=sub)
    add_global_only_flags(p, sub=sub)


def shared_defaults() -> dict[str, object]:
    """The values a command parser gives the shared flags when none is given.

    For :func:`sopskit.cli.commands.crypt.parse_decrypt_fast`, which builds a namespace
    without argparse; a test checks it equals what the parser of :func:`add_all_shared` gives.
    """
    out: dict[str, object] = {f"key_{row.name}": None for row in key_types()}
    out.update(encryption_context=None, aws_profile=None, shamir_secret_sharing_threshold=None)
    out.update(dict.fromkeys(SELECTION_FLAGS))
    out.update(
        mac_only_encrypted=False, input_type=None, output_type=None, filename_override=None,
        in_place=False, output=None, ignore_mac=False, decryption_order=None, from_cluster=False,
        kubeconfig=None, kube_context=None, config=None, indent=None, verbose=False, debug=False,
        enable_local_keyservice="true", keyservice=None, disable_version_check=False,
        check_for_updates=False,
    )
    return out


# -- reading the parsed values ---------------------------------------------------------------

def split_list(text: str | None) -> list[str]:
    if not text:
        return []
    return [part.strip() for part in text.split(",") if part.strip()]


def key_values(args: argparse.Namespace, *, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Key flags, falling back to their environment variables as sops does."""
    env = dict(os.environ) if env is None else env
    out: dict[str, list[str]] = {}
    for row in key_types():
        value = getattr(args, f"key_{row.name}", None)
        if value is None:
            value = env.get(row.env)
        items = split_list(value)
        if items:
            out[row.name] = items
    return out


def encryption_context(args: argparse.Namespace) -> dict[str, str] | None:
    text = getattr(args, "encryption_context", None)
    if not text:
        return None
    out: dict[str, str] = {}
    for pair in text.split(","):
        key, sep, value = pair.partition(":")
        if not sep or not key:
            raise InvalidEncryptionContextError(
                f"invalid encryption context {pair!r}: expected key:value pairs"
            )
        out[key] = value
    return out


def selection_options(args: argparse.Namespace) -> dict[str, str | None]:
    return {name: getattr(args, name, None) for name in SELECTION_FLAGS}


def check_output_conflicts(args: argparse.Namespace, *, stdin: bool) -> None:
    if getattr(args, "in_place", False) and getattr(args, "output", None):
        raise ConflictingParametersError("--in-place and --output cannot be used together")
    if stdin and getattr(args, "in_place", False):
        raise ConflictingParametersError("--in-place cannot be used with standard input")


def decryption_order(args: argparse.Namespace) -> tuple[str, ...]:
    text = getattr(args, "decryption_order", None) or os.environ.get("SOPS_DECRYPTION_ORDER")
    if not text:
        return ("age", "pgp")
    from sopskit.ops.request import parse_decryption_order

    return parse_decryption_order(text)


def single_file(files: Sequence[str], command: str) -> str | None:
    if not files:
        return None
    if len(files) > 1:
        raise UsageError(f"{command} takes one file; got {len(files)}")
    return files[0]


def add_rotate_flags(p: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """``--add-age``/``--rm-age`` and friends, for rotate (and the legacy ``-r``)."""
    g = p.add_argument_group("add or remove master keys while rotating")
    for row in key_types():
        for verb in ("add", "rm"):
            g.add_argument(f"--{verb}-{row.flag_stem}", dest=f"{verb}_{row.name}", metavar="KEYS",
                           default=_default(None, sub), help=f"{verb} {row.flag_stem} keys, comma separated")


def rotate_changes(args: argparse.Namespace) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    names = [row.name for row in key_types()]
    add = {t: split_list(getattr(args, f"add_{t}", None)) for t in names}
    rm = {t: split_list(getattr(args, f"rm_{t}", None)) for t in names}
    return {t: v for t, v in add.items() if v}, {t: v for t, v in rm.items() if v}
