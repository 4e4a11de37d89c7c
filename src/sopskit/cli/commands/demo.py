"""``sopskit demo``: the whole flow on a throwaway repository, in a few seconds, no cluster.

It shows, with a heading per step: a temporary Git repository, an age key held in memory
(passed to sopskit as identities, never written to a file), a ``.sops.yaml``, a Kubernetes
Secret encrypted with the Flux convention, the encrypted file and its ``git diff``, one value
edited with IV-stable re-encryption (so the diff is that value's line plus the MAC and
timestamp), the file decrypted back, and the guardrail commands when they are installed.
The demo values are made up. The temp dir is removed at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

SECRET_PATH = "flux/secrets/demo/db-credentials.yaml"
PATH_REGEX = "^flux/secrets/demo/"
MANIFEST = """\
# Database credentials for the demo app (made-up values)
apiVersion: v1
kind: Secret
metadata:
  name: db-credentials
  namespace: demo
type: Opaque
stringData:
  username: demo-app
  password: correct-horse-battery-staple
"""
NEW_PASSWORD = "tr0ub4dor-and-3"  # a made-up demo value; sopskit:allow
MANIFEST_PASSWORD = "correct-horse-battery-staple"  # the manifest's made-up value; sopskit:allow


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = subparsers.add_parser(
        "demo", help="run the whole flow on a throwaway repository (no cluster needed)",
        description="Show sopskit end to end on a throwaway Git repository in a temp directory.",
    )
    demo.add_argument("--keep", action="store_true", help="keep the temp directory and print where it is")
    demo.add_argument("--no-guardrails", action="store_true", help="skip the scan and policy steps")
    demo.set_defaults(handler=run_demo)


class _Show:
    """Headings and indented blocks on stdout: the only output of the demo."""

    def __init__(self) -> None:
        self.step = 0

    def heading(self, title: str) -> None:
        self.step += 1
        print(f"\n== {self.step}. {title} ==", flush=True)

    def text(self, line: str) -> None:
        print(line, flush=True)

    def block(self, content: str) -> None:
        for line in content.rstrip("\n").splitlines():
            print(f"    {line}")
        sys.stdout.flush()


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
           "GIT_TERMINAL_PROMPT": "0"}
    done = subprocess.run(
        ["git", "-c", "user.name=sopskit demo", "-c", "user.email=demo@example.invalid",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", "-c", "color.ui=never",
         *args],
        cwd=repo, env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        from sopskit.errors import SopsError

        raise SopsError(f"git {args[0]} failed in the demo repository: {done.stderr.strip()[:200]}")
    return done.stdout


def _diff(repo: Path, has_git: bool, before: str, after: str, *, cached: bool = False) -> str:
    if has_git:
        return _git(repo, "--no-pager", "diff", *(["--cached"] if cached else []), "--", SECRET_PATH)
    import difflib

    return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{SECRET_PATH}", f"b/{SECRET_PATH}"))


def run_demo(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="sopskit-demo-"))
    show = _Show()
    show.text(f"sopskit demo in {workdir} (removed at the end{'; kept: --keep' if args.keep else ''})")
    try:
        _run_steps(workdir / "repo", show, guardrails=not args.no_guardrails)
    finally:
        if args.keep:
            show.text(f"\nkept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            show.text(f"\nremoved {workdir}")
    return 0


def _run_steps(repo: Path, show: _Show, *, guardrails: bool) -> None:
    import json

    from sopskit.config import load_config
    from sopskit.ops.decrypt import decrypt
    from sopskit.ops.encrypt import encrypt
    from sopskit.ops.files import atomic_write
    from sopskit.ops.mutate import set_encrypted
    from sopskit.ops.request import generate_age_identity, key_context
    from sopskit.ops.sopsyaml_edit import add_age_recipient

    has_git = shutil.which("git") is not None
    show.heading("A throwaway Git repository")
    repo.mkdir(parents=True)
    if has_git:
        _git(repo, "init", "-q")
        show.text(f"git init {repo}")
    else:
        show.text("git is not installed: diffs below are computed by Python instead")

    show.heading("An age key, held in memory only")
    identity, recipient = generate_age_identity()
    identities = [identity]  # handed to sopskit directly, like SOPS_AGE_KEY, never a key file
    show.text(f"recipient (public): {recipient}")
    show.text("identity (private): kept in this process's memory, passed to sopskit as identities")

    show.heading(".sops.yaml: which key encrypts which path")
    sops_yaml = add_age_recipient(None, PATH_REGEX, recipient)
    (repo / ".sops.yaml").write_text(sops_yaml, encoding="utf-8")
    (repo / ".gitignore").write_text("*.agekey\n*.dec.yaml\n*.decrypted.*\n.env\n", encoding="utf-8")
    show.block(sops_yaml)

    show.heading("A Kubernetes Secret manifest (plaintext, in memory)")
    show.block(MANIFEST)

    show.heading(f"Encrypted into {SECRET_PATH}")
    target = repo / SECRET_PATH
    target.parent.mkdir(parents=True)
    config = load_config(repo / ".sops.yaml")
    encrypted = encrypt(MANIFEST.encode(), format="yaml", path=target, config=config).decode()
    atomic_write(target, encrypted.encode(), default_mode=0o644)
    show.text("only data/stringData values are encrypted (encrypted_regex), so the manifest stays readable:")
    show.block(encrypted)
    if has_git:
        _git(repo, "add", ".sops.yaml", ".gitignore", SECRET_PATH)
        show.heading("git diff --cached: what a commit would contain")
        show.block(_diff(repo, has_git, "", encrypted, cached=True))
        _git(repo, "commit", "-q", "-m", "Add encrypted db-credentials")

    show.heading("Edit one value: unchanged values keep their exact ciphertext")
    edited_bytes = set_encrypted(encrypted.encode(), '["stringData"]["password"]', json.dumps(NEW_PASSWORD),
                                 input_format="yaml", context=key_context(identities))
    assert edited_bytes is not None
    edited = edited_bytes.decode()
    atomic_write(target, edited.encode(), default_mode=0o644)
    diff = _diff(repo, has_git, encrypted, edited)
    changed = [line for line in diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    show.text(f"git diff: {len(changed) // 2} line(s) changed: the edited value and the file's MAC "
              "(and lastmodified, once a second has passed); username and the key records are "
              "byte-identical")
    show.block(diff)
    if has_git:
        _git(repo, "commit", "-q", "-am", "Rotate the demo password")

    show.heading("Decrypted back (to stdout only)")
    show.block(decrypt(edited.encode(), format="yaml", identities=identities).decode())

    if guardrails:
        _guardrails(repo, show, [SECRET_PATH])
        _incident_and_audit(repo, show, identity)


def _sopskit(repo: Path, argv: Sequence[str], *, stdin: str | None = None,
             identity: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a sopskit command in the demo repository. An identity, when a step needs one, goes
    to that child process's environment only (like SOPS_AGE_KEY in CI), never to a file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOPS_")}
    env["NO_COLOR"] = "1"
    if identity is not None:
        env["SOPS_AGE_KEY"] = identity
    return subprocess.run([sys.executable, "-m", "sopskit", *argv], cwd=repo, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def _incident_and_audit(repo: Path, show: _Show, identity: str) -> None:
    """The last chapter: review the change, answer a leak, and take stock, never showing a value."""
    steps: list[tuple[str, list[str], str | None, bool, str]] = [
        ("review HEAD~1..HEAD", ["review", "HEAD~1..HEAD"], None, False,
         "the pull-request view of the edit: which Secret and key changed, who can decrypt it, no value"),
        ("leak value", ["leak", "value", "--no-worktree"], MANIFEST_PASSWORD, True,
         "the old password was pasted in a chat: where else is it? (read from stdin, kept only as an "
         "HMAC fingerprint; the key opens the SOPS file's history in memory)"),
        ("inventory", ["inventory"], None, False, "who can decrypt what"),
        ("report", ["report"], None, False, "maturity level and production checklist, with evidence"),
    ]
    for title, argv, stdin, needs_key, why in steps:
        if importlib.util.find_spec(f"sopskit.cli.commands.{argv[0]}") is None and argv[0] != "report":
            continue
        show.heading(f"sopskit {title}: {why}")
        done = _sopskit(repo, argv, stdin=stdin, identity=identity if needs_key else None)
        show.block((done.stdout + done.stderr).strip() or "(no output)")
        show.text(f"exit status {done.returncode}")
    _teammate_joins(repo, show, identity)


def _teammate_joins(repo: Path, show: _Show, identity: str) -> None:
    """A new recipient in .sops.yaml, then every file under it re-wrapped in one run."""
    from sopskit.ops.request import generate_age_identity
    from sopskit.ops.sopsyaml_edit import add_age_recipient

    _, teammate = generate_age_identity()  # their private half stays theirs: only the recipient is used
    config = repo / ".sops.yaml"
    config.write_text(add_age_recipient(config.read_text(encoding="utf-8"), PATH_REGEX, teammate),
                      encoding="utf-8")
    show.heading("A teammate joins: their recipient goes into .sops.yaml, then updatekeys over the tree")
    show.text(f"added recipient {teammate} to the {PATH_REGEX} rule")
    show.text("each file's data key is unwrapped once and re-wrapped for the new recipient list, "
              "--jobs files at a time (a key service answers in parallel); values are untouched")
    done = _sopskit(repo, ["updatekeys", "-y", "flux/"], identity=identity)
    show.block((done.stdout + done.stderr).strip() or "(no output)")
    show.text(f"exit status {done.returncode}")


def _guardrails(repo: Path, show: _Show, files: Sequence[str]) -> None:
    commands = [("scan", ["scan", "--no-progress", "."]), ("policy", ["policy", "check", "."])]
    for module, argv in commands:
        if importlib.util.find_spec(f"sopskit.cli.commands.{module}") is None:
            continue
        show.heading(f"sopskit {' '.join(argv)}: guardrails on the repository")
        env = {**os.environ, "NO_COLOR": "1"}
        done = subprocess.run([sys.executable, "-m", "sopskit", *argv], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        output = (done.stdout + done.stderr).strip() or "(no output)"
        show.block(output)
        show.text(f"exit status {done.returncode}" + (" (clean)" if done.returncode == 0 else ""))
