"""``sopskit git``: a diff driver and a merge driver for SOPS files (sops #52).

* ``git textconv FILE``: prints the decrypted file so ``git diff``/``git log -p`` show
  plaintext changes on the terminal (to a pipe, never to disk). A file that is not SOPS or
  cannot be decrypted is printed as it is, so diffs keep working for everybody.
* ``git diff-driver``: the same as a ``diff.<name>.command`` (git's seven arguments).
* ``git merge-driver BASE OURS THEIRS PATH``: merges in memory (:mod:`sopskit.ops.merge`),
  writes the encrypted result over OURS, exits 0 when clean and 1 on conflicts; conflicts are
  marked inside the encrypted tree, never as plaintext on disk.
* ``git setup``: prints (or with ``--apply`` writes) the ``.gitattributes`` and ``git config``
  lines.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess
import sys
from pathlib import Path

from sopskit.cli import common, options

DEFAULT_PATTERNS = ("*.enc.yaml", "*.enc.yml", "*.enc.json", "*.enc.env", "*.enc.ini")
DRIVER = "sopskit"

SETUP_EPILOG = """\
examples:
  sopskit git setup                          (print the lines)
  sopskit git setup --apply                  (write .gitattributes and the repo's git config)
  sopskit git setup --apply --pattern 'flux/secrets/**'

Never set diff.sopskit.cachetextconv: git would store the decrypted text in its notes.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    git = subparsers.add_parser("git", help="git diff/merge drivers for SOPS files",
                                description="Let git diff and merge SOPS files without plaintext on disk.")
    sub = git.add_subparsers(dest="git_command", metavar="textconv|diff-driver|merge-driver|setup")

    tc = sub.add_parser("textconv", help="print a SOPS file decrypted (diff.<driver>.textconv)")
    _decrypt_flags(tc)
    tc.add_argument("file", metavar="FILE")
    tc.set_defaults(handler=run_textconv)

    dd = sub.add_parser("diff-driver", help="diff two versions decrypted (diff.<driver>.command)")
    _decrypt_flags(dd)
    dd.add_argument("git_args", nargs="+", metavar="ARG",
                    help="PATH OLD-FILE OLD-HEX OLD-MODE NEW-FILE NEW-HEX NEW-MODE, as git passes them")
    dd.set_defaults(handler=run_diff_driver)

    md = sub.add_parser("merge-driver", help="three-way merge of a SOPS file (merge.<driver>.driver)")
    _decrypt_flags(md)
    md.add_argument("base", metavar="BASE", help="%%O: the common ancestor")
    md.add_argument("ours", metavar="OURS", help="%%A: our version; the result is written here")
    md.add_argument("theirs", metavar="THEIRS", help="%%B: their version")
    md.add_argument("path", metavar="PATH", nargs="?", help="%%P: the file's path (chooses the format)")
    md.set_defaults(handler=run_merge_driver)

    st = sub.add_parser("setup", help="print or apply the .gitattributes and git config lines",
                        epilog=SETUP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    st.add_argument("--apply", action="store_true", help="write them (this repository only)")
    st.add_argument("--pattern", action="append", metavar="GLOB",
                    help=f"files to route through the drivers (default: {' '.join(DEFAULT_PATTERNS)})")
    st.add_argument("--command", default="sopskit", help="how git should call sopskit (default: sopskit)")
    st.set_defaults(handler=run_setup)


def _decrypt_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-type", choices=options.FORMATS, default=argparse.SUPPRESS)
    p.add_argument("--decryption-order", default=argparse.SUPPRESS, metavar="TYPES")


def _plaintext(data: bytes, fmt: str, args: argparse.Namespace) -> tuple[bytes, str | None]:
    """Decrypted bytes, or the input itself and why it could not be decrypted."""
    from sopskit.ops.decrypt import decrypt_or_keep

    return decrypt_or_keep(data, input_format=fmt,
                           keys=lambda: (common.key_context(args), options.decryption_order(args)))


def run_textconv(args: argparse.Namespace) -> int:
    fmt = common.input_format(args, args.file)
    text, problem = _plaintext(common.read_source(args.file), fmt, args)
    if problem:
        print(f"sopskit git textconv: {args.file}: shown encrypted: {problem}", file=sys.stderr)
    sys.stdout.buffer.write(text)
    sys.stdout.flush()
    return 0


def run_diff_driver(args: argparse.Namespace) -> int:
    parts = args.git_args
    if len(parts) < 7:
        from sopskit.errors import UsageError

        raise UsageError("diff-driver expects git's 7 arguments: "
                         "PATH OLD OLD-HEX OLD-MODE NEW NEW-HEX NEW-MODE")
    path, old, new = parts[0], parts[1], parts[4]
    fmt = common.input_format(args, path)
    texts = []
    for name in (old, new):
        data = b"" if name == "/dev/null" else Path(name).read_bytes()
        texts.append(_plaintext(data, fmt, args)[0].decode("utf-8", "replace").splitlines(keepends=True))
    diff = difflib.unified_diff(texts[0], texts[1], fromfile=f"a/{path}", tofile=f"b/{path}")
    sys.stdout.write(f"diff --sopskit a/{path} b/{path}\n")
    sys.stdout.writelines(line if line.endswith("\n") else line + "\n" for line in diff)
    sys.stdout.flush()
    return 0


def run_merge_driver(args: argparse.Namespace) -> int:
    from sopskit.errors import SopsError
    from sopskit.ops.files import atomic_write
    from sopskit.ops.merge import merge_encrypted

    name = args.path or args.ours
    fmt = common.input_format(args, name)
    base = Path(args.base).read_bytes() if Path(args.base).exists() else None
    try:
        outcome = merge_encrypted(base, Path(args.ours).read_bytes(), Path(args.theirs).read_bytes(),
                                  input_format=fmt, context=common.key_context(args),
                                  decryption_order=options.decryption_order(args))
    except SopsError as exc:
        print(f"sopskit merge-driver: {name}: cannot merge: {exc.message}; our version is kept",
              file=sys.stderr)
        return 1
    atomic_write(args.ours, outcome.data)
    if outcome.conflicts:
        print(f"sopskit merge-driver: {name}: {len(outcome.conflicts)} conflict(s) at "
              f"{', '.join(outcome.conflicts)}; resolve with `sopskit edit {name}` "
              f"(both versions are inside, encrypted)", file=sys.stderr)
        return 1
    return 0


def setup_lines(patterns: list[str], command: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The ``.gitattributes`` lines and the ``git config`` (key, value) pairs."""
    attributes = [f"{p} diff={DRIVER} merge={DRIVER}" for p in patterns]
    config = [
        (f"diff.{DRIVER}.textconv", f"{command} git textconv"),
        (f"merge.{DRIVER}.name", "sopskit three-way merge of SOPS files (in memory)"),
        (f"merge.{DRIVER}.driver", f"{command} git merge-driver %O %A %B %P"),
    ]
    return attributes, config


def run_setup(args: argparse.Namespace) -> int:
    attributes, config = setup_lines(list(args.pattern or DEFAULT_PATTERNS), args.command)
    if not args.apply:
        print("# .gitattributes")
        print("\n".join(attributes))
        print("# git config (run in the repository)")
        for key, value in config:
            print(f"git config {key} '{value}'")
        return 0
    from sopskit.errors import UsageError

    top = subprocess.run(["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True)
    if top.returncode != 0:
        raise UsageError("not inside a git repository")
    for key, value in config:
        subprocess.run(["git", "config", key, value], check=True)
    gitattributes = Path(top.stdout.strip()) / ".gitattributes"
    existing = gitattributes.read_text().splitlines() if gitattributes.exists() else []
    missing = [line for line in attributes if line not in existing]
    if missing:
        with gitattributes.open("a") as handle:
            if existing and existing[-1] != "":
                handle.write("\n")
            handle.write("\n".join(missing) + "\n")
    print(f"configured the {DRIVER} diff and merge drivers; {len(missing)} line(s) added to {gitattributes}",
          file=sys.stderr)
    return 0
