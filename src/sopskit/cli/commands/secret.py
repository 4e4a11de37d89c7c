"""``sopskit secret new ENV NAME``: write a new encrypted Kubernetes Secret in the right place.

The plaintext exists only in the editor's buffer, a 0600 file in a 0700 directory on tmpfs
(:mod:`sopskit.ops.edit`), removed on every exit path except one: when the typed text cannot
be saved (invalid YAML, encryption or write failure) it is kept there and the error says where.
The keys are resolved *before* the editor opens, so a missing recipient is reported before anyone types a password.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

EPILOG = """\
examples:
  sopskit secret new prod db-credentials
  sopskit secret new dev api-token --root clusters/secrets

The Secret is encrypted with the .sops.yaml rule matching ROOT/ENV/NAME.yaml, written there,
and added to ROOT/ENV/kustomization.yaml. ENV must be an existing folder under ROOT
(`sopskit repo init --env ENV` creates it).
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from sopskit.ops.scaffold import SECRETS_ROOT

    secret = subparsers.add_parser("secret", help="create encrypted Kubernetes Secrets",
                                   description="Create encrypted Kubernetes Secrets.")
    sub = secret.add_subparsers(dest="secret_command", metavar="SUBCOMMAND")
    new = sub.add_parser(
        "new", help="edit a new Secret in $EDITOR and save it encrypted",
        description="Open $EDITOR on a Secret template, then encrypt it into ROOT/ENV/NAME.yaml.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    new.add_argument("env", metavar="ENV", help="environment (a folder under ROOT)")
    new.add_argument("name", metavar="NAME", help="Secret name (metadata.name and the file name)")
    new.add_argument("--root", default=SECRETS_ROOT, help="secrets folder (default %(default)s)")
    new.set_defaults(handler=run_new)


def _repo_root() -> Path:
    from sopskit.config import find_config
    from sopskit.errors import ConfigError

    found = find_config()
    if found is None:
        raise ConfigError("no .sops.yaml found in this directory or any parent",
                          hint="run `sopskit repo init` at the root of your repository")
    return found.parent


def run_new(args: argparse.Namespace) -> int:
    from sopskit.config import load_config
    from sopskit.errors import ConfigError, EmptyKeyGroupError, UsageError
    from sopskit.ops.encrypt import encrypt_with_plan
    from sopskit.ops.files import atomic_write
    from sopskit.ops.plan import plan_encryption
    from sopskit.ops.scaffold import (
        add_kustomization_resource,
        check_name,
        known_environments,
        secret_path,
        secret_template,
    )

    env, name = check_name("environment", args.env), check_name("Secret name", args.name)
    repo = _repo_root()
    known = known_environments(repo, root=args.root)
    if env not in known:
        listed = ", ".join(known) if known else "none"
        raise UsageError(f"unknown environment {env!r}: no folder {args.root}/{env} (known: {listed})",
                         hint=f"create it with `sopskit repo init --env {env}`")
    target = secret_path(repo, env, name, root=args.root)
    relative = target.relative_to(repo)
    if target.exists():
        raise UsageError(f"{relative} already exists", hint=f"edit it with `sopskit edit --from-cluster {relative}`")
    config = load_config(repo / ".sops.yaml")
    try:
        plan = plan_encryption(str(target), config=config)  # fail before the user types a secret
    except EmptyKeyGroupError:
        raise ConfigError(
            f"the .sops.yaml rule that matches {relative} lists no key, so nothing could encrypt it",
            hint=f"add the cluster key to a rule for it: `sopskit cluster init --path-regex '^{args.root}/{env}/'`;"
                 " `sopskit doctor` shows which rule wins for which file",
        ) from None
    template = secret_template(env, name).encode()

    def save(edited: bytes) -> None:
        encrypted = encrypt_with_plan(edited, plan, input_format="yaml")
        if target.exists():
            raise UsageError(f"{relative} was created by someone else meanwhile; not overwriting it")
        atomic_write(target, encrypted, default_mode=0o644)

    _edit_in_ram(template, f"{name}.yaml", save)
    add_kustomization_resource(target.parent / "kustomization.yaml", target.name)
    err = sys.stderr
    print(f"wrote {relative} (encrypted) and listed it in {relative.parent}/kustomization.yaml", file=err)
    print("next steps:", file=err)
    print(f"  git add {relative} {relative.parent}/kustomization.yaml && git commit -m 'Add secret {name}'",
          file=err)
    print(f"  make sure a Flux Kustomization builds {relative.parent} with spec.decryption "
          "(provider: sops, secretRef: sops-age); `sopskit repo init` adds it", file=err)
    print(f"  check it: sopskit decrypt --from-cluster {relative}", file=err)
    return 0


def _edit_in_ram(initial: bytes, name: str, save: Callable[[bytes], None]) -> None:
    """Run the editor on ``initial`` in a tmpfs buffer and ``save`` the text while the buffer
    still exists: if saving fails (invalid YAML, no key, unwritable target) the typed text is
    kept on tmpfs and the error says where; otherwise the buffer is gone when this returns."""
    from sopskit.errors import FileNotModifiedError
    from sopskit.ops.edit import (
        SecureBuffer,
        buffer_location,
        editor_command,
        kept_on_failure,
        run_editor,
        signals_as_interrupts,
    )

    env = dict(os.environ)
    location = buffer_location(env)
    with signals_as_interrupts(), SecureBuffer(location, name) as buffer:
        buffer.write(initial)
        run_editor(editor_command(buffer.path, env), env=env, tmpdir=buffer.directory)
        edited = buffer.read()
        if edited == initial:
            raise FileNotModifiedError("the template was not changed; nothing was written")
        with kept_on_failure(buffer, location):
            save(edited)
