"""The command-line edge: parse, dispatch, and turn every error into one line and an exit code.

Only the module of the command being run is imported (a table of module names, not
imports), so ``sopskit decrypt`` does not pay for the scanner, the Kubernetes client or
``rich``. Both sops syntaxes work: ``sopskit decrypt FILE`` and the legacy
``sopskit -d FILE`` / ``sopskit FILE`` (edit).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Sequence

from sopskit import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from typing import Any, TextIO

# argparse and the flag declarations (cli.options) are imported where a parser is built: a
# plain ``sopskit decrypt FILE`` needs neither (see run() and docs/performance.md).

SOPS_COMPAT_VERSION = "3.13.2"

#: command name -> module whose ``register(subparsers)`` defines it
COMMANDS: dict[str, str] = {
    "encrypt": "sopskit.cli.commands.crypt",
    "decrypt": "sopskit.cli.commands.crypt",
    "edit": "sopskit.cli.commands.edit",
    "set": "sopskit.cli.commands.setunset",
    "unset": "sopskit.cli.commands.setunset",
    "rotate": "sopskit.cli.commands.keys",
    "updatekeys": "sopskit.cli.commands.keys",
    "groups": "sopskit.cli.commands.keys",
    "exec-env": "sopskit.cli.commands.execs",
    "exec-file": "sopskit.cli.commands.execs",
    "filestatus": "sopskit.cli.commands.filestatus",
    "git": "sopskit.cli.commands.git",
    "cluster": "sopskit.cli.commands.cluster",
    "secret": "sopskit.cli.commands.secret",
    "repo": "sopskit.cli.commands.repo",
    "demo": "sopskit.cli.commands.demo",
    "scan": "sopskit.cli.commands.scan",
    "policy": "sopskit.cli.commands.policy",
    "flux": "sopskit.cli.commands.flux",
    "inventory": "sopskit.cli.commands.inventory",
    "report": "sopskit.cli.commands.inventory",
    "leak": "sopskit.cli.commands.leak",
    "review": "sopskit.cli.commands.review",
    "build": "sopskit.cli.commands.build",
    "diff": "sopskit.cli.commands.diffcluster",
    "argocd": "sopskit.cli.commands.argocd",
    "doctor": "sopskit.cli.commands.doctor",
    "publish": "sopskit.cli.commands.unsupported",
    "keyservice": "sopskit.cli.commands.unsupported",
    "completion": "sopskit.cli.commands.unsupported",
}

#: the one-line summary of each command in ``sopskit --help``, so that the top-level help
#: imports no command module (a test checks each equals the ``help=`` its module registers)
SUMMARIES: dict[str, str] = {
    "encrypt": "encrypt a plaintext file",
    "decrypt": "decrypt a SOPS file",
    "edit": "edit an encrypted file (plaintext only on tmpfs)",
    "set": "set one value in an encrypted file, in place",
    "unset": "remove one key or list item from an encrypted file",
    "rotate": "new data key (optionally add/remove recipients)",
    "updatekeys": "sync a file's keys with .sops.yaml",
    "groups": "add or delete key groups (Shamir)",
    "exec-env": "run a command with the secrets in its environment",
    "exec-file": "run a command with the secrets in a FIFO or tmpfs file",
    "filestatus": "tell whether a file is SOPS-encrypted",
    "git": "git diff/merge drivers for SOPS files",
    "cluster": "the per-cluster age key (init, rotate, verify)",
    "secret": "create encrypted Kubernetes Secrets",
    "repo": "scaffold a GitOps secrets repository",
    "demo": "run the whole flow on a throwaway repository (no cluster needed)",
    "scan": "find plaintext secrets (work tree, index, history)",
    "policy": "repository guardrails (policy check)",
    "flux": "Flux checks (flux validate)",
    "inventory": "who can decrypt what: every secret, holder and owner",
    "report": "secrets maturity level (0-5) and production checklist",
    "doctor": "find where decryption fails (.sops.yaml, keys, Flux wiring)",
    "leak": "map a leaked value or key; keep and re-check an incident record",
    "review": "review the SOPS secret changes of a commit range without revealing values",
    "build": "render what Flux would apply, SOPS values decrypted in memory and redacted",
    "diff": "compare Git's decrypted Secrets with the live cluster, key by key, without values",
    "argocd": "Argo CD Config Management Plugin (discover, generate)",
    "publish": "(sops) re-encrypt and upload files to S3, GCS or Vault (destination_rules): not implemented in sopskit",
    "keyservice": "(sops) serve the sops gRPC key service: not implemented in sopskit",
    "completion": "(sops) print a shell completion script: not implemented in sopskit",
}

DESCRIPTION = """\
sopskit keeps secrets encrypted in Git and decrypted only where they are used.

It reads and writes SOPS files byte-compatibly with sops 3.x (YAML, JSON, dotenv, INI,
binary; age, PGP and cloud KMS keys; .sops.yaml creation rules), so `alias sops=sopskit`
keeps scripts working, and adds a per-cluster key workflow and secret guardrails.
"""

EPILOG = """\
examples:
  sopskit encrypt --age age1... secret.yaml > secret.enc.yaml
  sopskit decrypt secret.enc.yaml
  sopskit -d secret.enc.yaml                 (sops's legacy form works too)
  sopskit edit flux/secrets/prod/db.yaml     (plaintext only on tmpfs)
  sopskit cluster init --path-regex '^flux/secrets/prod/'
  sopskit scan --history
  sopskit demo                               (the whole flow on a throwaway repo)

`sopskit COMMAND --help` explains each command. Exit codes follow sops's.
"""


def _register(subparsers: Any, module_name: str, *, only_command: str) -> None:
    """Register the commands of ``module_name`` into a throwaway parser and copy the one line
    summary of ``only_command`` (for a command that has no entry in :data:`SUMMARIES`)."""
    import argparse

    scratch = argparse.ArgumentParser(add_help=False).add_subparsers()
    importlib.import_module(module_name).register(scratch)
    helps = {action.dest: action.help for action in scratch._choices_actions}
    subparsers.add_parser(only_command, help=helps.get(only_command))


def _value_flags(parser: argparse.ArgumentParser) -> set[str]:
    return {
        flag
        for action in parser._actions
        if action.nargs != 0
        for flag in action.option_strings
    }


def build_parser(only: str | None = None, *, summaries_only: bool = False) -> argparse.ArgumentParser:
    """The parser for command ``only`` (its module alone is imported), or for every command.

    ``summaries_only`` (the top-level ``--help``) lists commands from :data:`SUMMARIES`
    without importing their modules; a command missing there is imported for its summary.
    """
    import argparse

    from sopskit.cli import options

    parser = argparse.ArgumentParser(
        prog="sopskit",
        usage="sopskit [GLOBAL FLAGS] COMMAND [FLAGS] [FILE ...]\n"
              "       sopskit [-e | -d | -r | --set EXPR] [FLAGS] FILE    (sops's legacy form; no mode: edit)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--version", action="version",
                        version=f"sopskit {__version__} (sops {SOPS_COMPAT_VERSION} compatible)")
    options.add_all_shared(parser, sub=False)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    if summaries_only:
        for name, module_name in COMMANDS.items():
            if name in SUMMARIES:
                subparsers.add_parser(name, help=SUMMARIES[name])
            else:
                _register(subparsers, module_name, only_command=name)
        return parser
    modules = [COMMANDS[only]] if only in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:  # command not built in this installation
                continue
            raise
        module.register(subparsers)
    return parser


def _command_in(argv: Sequence[str], value_flags: set[str]) -> str | None:
    """The first positional word, skipping values of options; None if there is none."""
    skip = False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == "--":
            return None
        if word.startswith("-") and word != "-":
            if "=" not in word and word in value_flags:
                skip = True
            continue
        return word
    return None


def _find_command(argv: Sequence[str]) -> str | None:
    """The command word. The common case (``sopskit decrypt FILE``) needs no parser; global
    flags before the command need one to know which flags take a value."""
    if argv and argv[0] in COMMANDS:
        return argv[0]
    import argparse

    from sopskit.cli import options

    probe = argparse.ArgumentParser(add_help=False)
    options.add_all_shared(probe, sub=False)
    from sopskit.cli.commands import legacy

    legacy.add_legacy_flags(probe)
    return _command_in(argv, _value_flags(probe))


def run(argv: Sequence[str]) -> int:
    if argv and argv[0] == "decrypt":
        # the common case of hooks and plugins, read without argparse (anything unusual: None)
        from sopskit.cli.commands.crypt import parse_decrypt_fast, run_decrypt

        fast = parse_decrypt_fast(argv[1:])
        if fast is not None:
            return run_decrypt(fast)
    from sopskit.cli.commands import legacy

    word = _find_command(argv)
    if word is None and not any(a in ("-h", "--help", "-v", "--version") for a in argv) and not argv:
        build_parser(summaries_only=True).print_help()
        return 0
    if word is not None and word in COMMANDS:
        if COMMANDS[word].endswith(".unsupported"):
            return int(importlib.import_module(COMMANDS[word]).refuse(word))
        parser = build_parser(word)
        args = parser.parse_args(list(argv))
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.parse_args([word, "--help"])
            return 0
        code: int = handler(args)
        return code
    if word is None and any(a in ("-h", "--help", "-v", "--version") for a in argv):
        build_parser(summaries_only=True).parse_args(list(argv))
        return 0
    if word is not None and _looks_like_command(word, argv):
        _unknown_command(word)
    return legacy.run_legacy(list(argv))


def _looks_like_command(word: str, argv: Sequence[str]) -> bool:
    """A bare word (no ``.``, no ``/``) that is no existing file, with no legacy mode flag: a
    mistyped command, not sops's ``sopskit FILE`` (whose files have an extension or a path)."""
    from sopskit.cli.commands.legacy import _MODES

    if "." in word or "/" in word or os.path.exists(word):
        return False
    return not any(a.split("=", 1)[0] in _MODES for a in argv)


def _unknown_command(word: str) -> None:
    import difflib

    from sopskit.errors import UsageError

    close = difflib.get_close_matches(word, list(COMMANDS), n=1, cutoff=0.5)
    raise UsageError(
        f"unknown command {word!r} (and no file of that name)",
        hint=(f"did you mean `sopskit {close[0]}`? " if close else "")
        + "`sopskit --help` lists the commands; to edit a new file named like this, give its path: "
        f"`sopskit ./{word}`",
    )


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get("SOPSKIT_DEBUG", "") not in ("", "0", "false")


#: bidirectional overrides and isolates: they reorder what a terminal shows (a file can make
#: "FAILED" read as "ok"), so they are escaped like control characters
_BIDI = frozenset(range(0x202A, 0x202F)) | frozenset(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


def terminal_safe(text: str, *, keep: str = "") -> str:
    """``text`` with every control character (C0, DEL, C1) and bidi control escaped, except
    the characters in ``keep``.

    Why here: messages quote key names, paths and recipients that come from files; printed
    raw, an escape sequence in a key name can clear the line, recolour it or fake an "ok".
    Every error and warning passes through this one function on its way to the terminal.
    """
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in keep:
            out.append(char)
        elif code < 0x20 or 0x7F <= code < 0xA0:
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char, f"\\x{code:02x}"))
        elif code in _BIDI:
            out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def _report_lines(text: str) -> str:
    """A multi-line report (one line per key): each line escaped, the line breaks kept."""
    return "\n".join(terminal_safe(line) for line in text.split("\n"))


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    from sopskit.ops.files import FileWarning

    if issubclass(category, FileWarning):
        print(f"sopskit: warning: {terminal_safe(str(message))}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)  # type: ignore[arg-type]


_default_showwarning = warnings.showwarning


class _SafeStream:
    """stderr with control characters escaped (line breaks and tabs kept): the commands'
    own progress lines (``rotate``, ``updatekeys``...) quote paths and recipients from files
    too. stdout is data (``decrypt``) and is never touched."""

    def __init__(self, inner: TextIO) -> None:
        self._inner = inner

    def write(self, text: str) -> int:
        self._inner.write(terminal_safe(text, keep="\n\t"))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _no_exit_handlers() -> bool:
    """Whether skipping the interpreter's teardown loses nothing: no ``atexit`` handler is
    registered (a coverage run, ``logging`` or a plug-in registers one, and then the normal
    exit runs it). ``atexit._ncallbacks`` is CPython's; elsewhere the normal exit is kept."""
    import atexit

    count = getattr(atexit, "_ncallbacks", None)
    return count is not None and count() == 0


def main(argv: Sequence[str] | None = None) -> None:
    """The process entry point (``sopskit`` console script, ``python -m sopskit``).

    For ``sopskit decrypt`` started as a process (``argv`` None), the cyclic garbage collector
    is off and the interpreter's teardown is skipped once stdout and stderr are flushed:
    together ~15% of a cold decrypt, for a process that ends right after (docs/performance.md).
    Called with ``argv`` (tests, embedding), it behaves as any function and raises SystemExit.
    """
    process_decrypt = argv is None and sys.argv[1:2] == ["decrypt"]
    argv = list(sys.argv[1:] if argv is None else argv)
    if process_decrypt:
        import gc

        gc.disable()  # reference counting still frees what the decrypt lets go
    warnings.showwarning = _show_warning
    stderr = sys.stderr
    sys.stderr = _SafeStream(stderr)
    try:
        code = _run_reporting(argv)
    finally:
        sys.stderr = stderr
        warnings.showwarning = _default_showwarning
    sys.stdout.flush()
    if process_decrypt and _no_exit_handlers():
        sys.stderr.flush()
        os._exit(code)  # output flushed, and nothing (coverage, logging...) waits for the exit
    sys.exit(code)


def _run_reporting(argv: list[str]) -> int:
    """Run the command; every error becomes one line on stderr and an exit code."""
    from sopskit.errors import DataKeyUnavailableError, SopsError

    try:
        code = run(argv)
    except DataKeyUnavailableError as exc:
        print(f"sopskit: {_report_lines(exc.report())}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {terminal_safe(exc.hint)}", file=sys.stderr)
        code = exc.exit_code
    except SopsError as exc:
        if exc.verbatim:
            print(terminal_safe(exc.message), file=sys.stderr)
            if exc.hint and sys.stderr.isatty():
                print(f"hint: {terminal_safe(exc.hint)}", file=sys.stderr)
        else:
            print(f"sopskit: {terminal_safe(exc.message)}", file=sys.stderr)
            if exc.hint:
                print(f"hint: {terminal_safe(exc.hint)}", file=sys.stderr)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("sopskit: interrupted", file=sys.stderr)
        code = 130
    except BrokenPipeError:
        code = 141
    except RecursionError:  # a walk went deeper than the limits let it: bad input, not a bug
        if _debug_requested(argv):
            raise
        print("sopskit: the input is nested too deeply to process "
              "(see docs/limits.md: SOPSKIT_MAX_DEPTH)", file=sys.stderr)
        code = 2
    except MemoryError:
        print("sopskit: out of memory while processing the input (see docs/limits.md)", file=sys.stderr)
        code = 2
    except Exception as exc:  # the one place unexpected errors are caught
        if _debug_requested(argv):
            raise
        # the exception text may quote data, so only its type is shown
        print(
            f"sopskit: unexpected internal error ({type(exc).__name__}); "
            "run again with --debug for a traceback and please report it",
            file=sys.stderr,
        )
        code = 1
    return code
