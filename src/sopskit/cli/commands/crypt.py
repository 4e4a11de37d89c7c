"""``sopskit encrypt`` and ``sopskit decrypt``, with sops's syntax and exit codes."""

from __future__ import annotations

from collections.abc import Sequence

from sopskit.cli import common, options

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

ENCRYPT_EPILOG = """\
examples:
  sopskit encrypt --age age1abc... secret.yaml > secret.enc.yaml
  sopskit encrypt -i flux/secrets/prod/db.yaml          (keys from the matching .sops.yaml rule)
  sopskit encrypt --encrypted-regex '^(data|stringData)$' secret.yaml
  cat app.env | sopskit encrypt --filename-override app.env --age age1... > app.enc.env

Keys on the command line replace the rule's keys; a .sops.yaml whose rules match nothing
refuses to encrypt (as sops does), so a file never escapes the rule meant for it.
"""

DECRYPT_EPILOG = """\
examples:
  sopskit decrypt secret.enc.yaml
  sopskit decrypt --extract '["data"]["password"]' secret.enc.yaml
  sopskit decrypt --from-cluster flux/secrets/prod/db.yaml   (key from the cluster, memory only)
  sopskit decrypt --input-type json - < secret.enc.json

The MAC is checked unless --ignore-mac is given. Exit codes: 51 MAC mismatch, 128 no
key could decrypt the data key (each key and its answer are listed), 100 no such file.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    import argparse

    enc = subparsers.add_parser(
        "encrypt", help="encrypt a plaintext file", description="Encrypt a plaintext file.",
        epilog=ENCRYPT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_all_shared(enc, sub=True)
    enc.add_argument("--reuse-ciphertext-from", metavar="OLD", default=None,
                     help="keep the data key, keys and the ciphertext of unchanged values from OLD, "
                          "a previous encrypted version of this file (small diffs)")
    enc.add_argument("files", nargs="*", metavar="FILE", help="the file (stdin if omitted or -)")
    enc.set_defaults(handler=run_encrypt)

    dec = subparsers.add_parser(
        "decrypt", help="decrypt a SOPS file", description="Decrypt a SOPS file to stdout.",
        epilog=DECRYPT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_all_shared(dec, sub=True)
    dec.add_argument("--extract", default=argparse.SUPPRESS, metavar="PATH",
                     help='print only this part of the tree, e.g. \'["data"]["password"]\'')
    dec.add_argument("files", nargs="*", metavar="FILE", help="the file (stdin if omitted or -)")
    dec.set_defaults(handler=run_decrypt)


#: ``sopskit decrypt`` switches that :func:`parse_decrypt_fast` reads itself: flag -> dest
_FAST_SWITCHES = {
    "--ignore-mac": "ignore_mac", "-i": "in_place", "--in-place": "in_place", "--verbose": "verbose",
    "--debug": "debug", "--disable-version-check": "disable_version_check",
    "--check-for-updates": "check_for_updates",
}
#: and flags with a value (``--flag VALUE`` or ``--flag=VALUE``): flag -> dest
_FAST_VALUES = {
    "--input-type": "input_type", "--output-type": "output_type", "--filename-override": "filename_override",
    "--output": "output", "--config": "config", "--decryption-order": "decryption_order", "--extract": "extract",
}
_FAST_CHOICES = {"input_type": options.FORMATS, "output_type": options.FORMATS}


def parse_decrypt_fast(argv: Sequence[str]) -> argparse.Namespace | None:
    """The arguments after ``decrypt``, read without building the argparse parser; None when
    they hold anything else (help, key or cluster flags, an abbreviation, ``--``, a bad
    choice, several files...), and the full parser then reads them.

    Why: building the parser (and importing argparse) costs a cold ``sopskit decrypt`` more
    than the decryption itself. The namespace is the one the parser gives (a test compares
    them over many command lines); its handler is :func:`run_decrypt`.
    """
    from types import SimpleNamespace

    values = options.shared_defaults()
    files: list[str] = []
    words = iter(argv)
    for word in words:
        if word in _FAST_SWITCHES:
            values[_FAST_SWITCHES[word]] = True
            continue
        flag, eq, value = word.partition("=")
        if flag in _FAST_VALUES:
            if not eq:
                value = next(words, "-")
                if value.startswith("-"):  # argparse's own rules for values that look like flags
                    return None
            dest = _FAST_VALUES[flag]
            if dest in _FAST_CHOICES and value not in _FAST_CHOICES[dest]:
                return None
            values[dest] = value
            continue
        if word.startswith("-") and word != "-":
            return None
        files.append(word)
    if len(files) > 1:
        return None
    values.update(command="decrypt", files=files, handler=run_decrypt)
    # only attribute access is used on the namespace, as on argparse's
    return SimpleNamespace(**values)  # type: ignore[return-value]


def run_encrypt(args: argparse.Namespace) -> int:
    from sopskit.ops.encrypt import encrypt_for_rule

    if getattr(args, "reuse_ciphertext_from", None):
        from sopskit.cli.commands.edit import run_encrypt_reusing

        return run_encrypt_reusing(args)
    path = options.single_file(args.files, "encrypt")
    stdin = common.is_stdin(path)
    options.check_output_conflicts(args, stdin=stdin)
    if stdin and not (args.filename_override or args.input_type):
        from sopskit.errors import ConflictingParametersError

        raise ConflictingParametersError(
            "encrypting standard input needs --filename-override PATH (or --input-type)",
            hint="the path chooses the format and the .sops.yaml rule",
        )
    data = common.read_source(path, for_update=bool(getattr(args, "in_place", False)))
    fmt = common.input_format(args, path)
    config = common.load_sops_config(args)
    out_fmt = common.output_format(args, fmt)
    result = encrypt_for_rule(
        data,
        input_format=fmt,
        output_format=out_fmt,
        rule_path=common.rule_path(args, path),
        config=config,
        keys=options.key_values(args),
        encryption_context=options.encryption_context(args),
        aws_profile=args.aws_profile,
        selection_options=options.selection_options(args),
        shamir_threshold=args.shamir_secret_sharing_threshold,
        mac_only_encrypted=args.mac_only_encrypted or None,
        indent=common.store_indent(args, out_fmt, config),
    )
    common.write_result(args, result, source=path)
    return 0


def run_decrypt(args: argparse.Namespace) -> int:
    from sopskit.ops.decrypt import decrypt

    path = options.single_file(args.files, "decrypt")
    options.check_output_conflicts(args, stdin=common.is_stdin(path))
    extract = None
    if getattr(args, "extract", None):
        from sopskit.ops.treepath import parse_tree_path

        extract = parse_tree_path(args.extract)
    data = common.read_source(path, for_update=bool(getattr(args, "in_place", False)))
    fmt = common.input_format(args, path)
    context = common.key_context(args)
    order = options.decryption_order(args)
    out_fmt = common.output_format(args, fmt)
    result = decrypt(data, format=fmt, output_format=out_fmt, ignore_mac=args.ignore_mac, extract=extract,
                     context=context, decryption_order=order, indent=common.output_indent(args, out_fmt))
    common.write_result(args, result, source=path)
    return 0
