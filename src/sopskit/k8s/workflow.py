"""The cluster-key workflow: ``cluster init`` (first key or rotation) and ``cluster verify``.

One age identity per cluster lives in the ``sops-age`` Secret; its recipient is in the
``.sops.yaml`` rule of the cluster's secrets path. The private key exists in three places
only: the generator's memory, the cluster Secret, and the user's password manager (it is
printed once by the command line). It is never written to a file, a log or the rotation state.

**First key.** The new ``.sops.yaml`` text is computed and validated first, then the Secret
is created (namespace included), then ``.sops.yaml`` is written; if that last write fails
the Secret is deleted again. A refused request (403 on a read-only token) therefore changes
nothing anywhere.

**Rotation** (``force``) runs the steps of :data:`sopskit.k8s.rotation_state.STEPS` in order,
recording each in ``.sopskit/rotation.json``. The invariant at every step: every file under
the rule opens with the identities the cluster holds at that moment.

* Before ``cluster_both`` the new private key exists only in memory. A failure there rolls
  back: ``.sops.yaml`` and the files get their original bytes back and the state is cleared.
  After a crash, ``--resume`` first looks in the cluster for the new key (the write may have
  landed before the connection died); if it is not there, the half-done steps are undone
  (the new recipient removed) and a fresh rotation starts.
* From ``cluster_both`` on the cluster holds old and new identities, so a failure stops
  with a report of the step reached and ``--resume`` finishes the rotation, reading the new
  identity back from the cluster.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sopskit.config import CONFIG_NAME, SopsConfig, parse_config
from sopskit.errors import ClusterError, SopsError, UsageError
from sopskit.k8s import rekey
from sopskit.k8s.agesecret import (
    AGEKEY_DATA_KEY,
    MANAGED_LABELS,
    SecretClient,
    SecretRef,
    format_agekey,
    read_identities,
    require_identities,
    write_identities,
)
from sopskit.k8s.errors import ClusterNotFoundError, RotationInterruptedError
from sopskit.k8s.rotation_state import (
    STEPS,
    RotationState,
    clear_state,
    load_state,
    save_state,
)
from sopskit.keys.age import generate_identity, is_post_quantum, public_key_of, recipient_kind
from sopskit.ops.files import atomic_write
from sopskit.ops.sopsyaml_edit import add_age_recipient, age_recipients, remove_age_recipient

DEFAULT_PATH_REGEX = "^flux/secrets/"
DEFAULT_REF = SecretRef()
RESUME_COMMAND = "sopskit cluster init --force --resume"
IdentityGenerator = Callable[[], tuple[str, str]]


@dataclass
class InitResult:
    """What ``cluster init`` did. ``identity`` is the new private key: print it once, keep it nowhere."""

    identity: str = field(repr=False)
    recipient: str
    ref: SecretRef
    config_path: Path
    namespace_created: bool = False
    rotated_from: list[str] = field(default_factory=list)
    files_rekeyed: list[Path] = field(default_factory=list)
    #: True when ``--resume`` finished a rotation whose key was already in the cluster
    resumed: bool = False
    rolled_back: bool = False


# -- repository helpers ------------------------------------------------------------------------

def find_repo_root(start: Path | None = None) -> Path:
    """The nearest directory at or above ``start`` holding ``.git``; the workflow needs one."""
    directory = Path(start or os.getcwd()).absolute()
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    raise UsageError(
        f"{directory} is not inside a Git repository",
        hint="run the command from your GitOps repository (or `git init` first)",
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"), default_mode=0o644)


def _config(path: Path, text: str) -> SopsConfig:
    return parse_config(text, path)


def _relative(repo: Path, path: Path) -> str:
    return os.path.relpath(path, repo)


# -- first key ---------------------------------------------------------------------------------

def init_cluster_key(
    repo: Path,
    *,
    client: SecretClient,
    ref: SecretRef = DEFAULT_REF,
    path_regex: str = DEFAULT_PATH_REGEX,
    force: bool = False,
    resume: bool = False,
    generate: IdentityGenerator = generate_identity,
    now: _dt.datetime | None = None,
) -> InitResult:
    """Create the cluster key, or with ``force`` rotate it (``resume`` finishes a rotation)."""
    config_path = repo / CONFIG_NAME
    state = load_state(repo)
    if state is not None and not resume:
        raise ClusterError(
            f"a key rotation is in progress (step {state.step!r} done)",
            hint=f"finish it with `{RESUME_COMMAND}`",
        )
    if resume and not force:
        raise UsageError("--resume continues a rotation and needs --force")
    if state is not None:
        return _resume(repo, state, client=client, generate=generate, now=now)
    existing = read_identities(client, ref)
    if existing is not None:
        if not force:
            raise ClusterError(
                f"the Secret {ref} already exists; nothing was changed",
                hint="pass --force to rotate the key (safely, with resume), or `sopskit cluster verify`",
            )
        return _rotate(repo, client=client, ref=ref, path_regex=path_regex, generate=generate, now=now)
    return _create(repo, config_path, client=client, ref=ref, path_regex=path_regex, generate=generate)


def _create(
    repo: Path, config_path: Path, *, client: SecretClient, ref: SecretRef, path_regex: str,
    generate: IdentityGenerator,
) -> InitResult:
    identity, recipient = generate()
    old_text = _read_text(config_path)
    new_text = add_age_recipient(old_text, path_regex, recipient)
    _config(config_path, new_text)  # a .sops.yaml we would break stops us before the cluster
    data = {AGEKEY_DATA_KEY: format_agekey([identity])}
    created = False
    try:  # the minimal Role has no namespace rights: only touch namespaces when one is missing
        client.create_secret(ref.namespace, ref.name, data, labels=MANAGED_LABELS)
    except ClusterNotFoundError:
        created = client.ensure_namespace(ref.namespace)
        client.create_secret(ref.namespace, ref.name, data, labels=MANAGED_LABELS)
    try:
        _write_text(config_path, new_text)
    except SopsError:
        try:
            client.delete_secret(ref.namespace, ref.name)
        except SopsError as cleanup:
            raise ClusterError(
                f"{config_path} could not be written and the new Secret {ref} could not be deleted",
                hint=f"delete it by hand (kubectl -n {ref.namespace} delete secret {ref.name})",
            ) from cleanup
        raise
    return InitResult(identity, recipient, ref, config_path, namespace_created=created)


# -- rotation ----------------------------------------------------------------------------------

@dataclass
class _Run:
    """One rotation in progress: the persisted state plus what only memory may hold."""

    repo: Path
    state: RotationState
    client: SecretClient
    old_identities: list[str] = field(repr=False)
    new_identity: str | None = field(default=None, repr=False)
    now: _dt.datetime | None = None
    #: original bytes of every file changed before the key reached the cluster (for rollback)
    originals: dict[Path, bytes | None] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> SecretRef:
        return SecretRef(self.state.namespace, self.state.secret_name)

    @property
    def config_path(self) -> Path:
        return self.repo / CONFIG_NAME

    def files(self) -> list[Path]:
        text = _read_text(self.config_path) or ""
        return rekey.sops_files_for_rule(_config(self.config_path, text), self.state.path_regex)

    def mark(self, step: str) -> None:
        self.state.step = step
        self.state.files_done = []
        save_state(self.repo, self.state)

    def remember(self, path: Path) -> None:
        if path not in self.originals:
            self.originals[path] = path.read_bytes() if path.exists() else None


def _rotate(
    repo: Path, *, client: SecretClient, ref: SecretRef, path_regex: str,
    generate: IdentityGenerator, now: _dt.datetime | None,
) -> InitResult:
    old_identities = require_identities(client, ref)
    old_recipients = list(dict.fromkeys(public_key_of(i) for i in old_identities))
    config_path = repo / CONFIG_NAME
    text = _read_text(config_path)
    probe = add_age_recipient(text, path_regex, old_recipients[0])
    files = rekey.sops_files_for_rule(_config(config_path, probe), path_regex)
    blocked = [(p, why) for p in files if (why := rekey.check_decryptable(p, old_identities))]
    if blocked:
        lines = "; ".join(f"{_relative(repo, p)}: {why}" for p, why in blocked)
        raise ClusterError(
            f"cannot rotate: {len(blocked)} file(s) under the rule do not open with the cluster's "
            f"current key ({lines}); nothing was changed",
            hint="run `sopskit cluster verify` and re-encrypt those files for the cluster key first",
        )
    identity, recipient = generate()
    state = RotationState(ref.namespace, ref.name, path_regex, old_recipients, recipient)
    save_state(repo, state)
    run = _Run(repo, state, client, old_identities, identity, now)
    _drive(run)
    return InitResult(identity, recipient, ref, config_path, rotated_from=old_recipients,
                      files_rekeyed=run.files())


def _resume(
    repo: Path, state: RotationState, *, client: SecretClient, generate: IdentityGenerator,
    now: _dt.datetime | None,
) -> InitResult:
    ref = SecretRef(state.namespace, state.secret_name)
    held = require_identities(client, ref)
    new_identity = next((i for i in held if public_key_of(i) == state.new_recipient), None)
    if new_identity is None and state.key_is_in_cluster:
        raise ClusterError(
            f"the rotation state says the new key is in {ref}, but the Secret does not hold it",
            hint="the Secret was changed by someone else; run `sopskit cluster verify` before anything else",
        )
    if new_identity is None:
        # the new private key died with the interrupted process: undo, then rotate afresh
        run = _Run(repo, state, client, held, None, now)
        _undo_new_recipient(run)
        clear_state(repo)
        result = _rotate(repo, client=client, ref=ref, path_regex=state.path_regex,
                         generate=generate, now=now)
        result.rolled_back = True
        return result
    if not state.key_is_in_cluster:
        state.step = "cluster_both"  # the write landed before the connection died
        state.files_done = []
        save_state(repo, state)
    old = [i for i in held if public_key_of(i) != state.new_recipient]
    run = _Run(repo, state, client, old, new_identity, now)
    _drive(run)
    return InitResult(new_identity, state.new_recipient, ref, run.config_path,
                      rotated_from=list(state.old_recipients), files_rekeyed=run.files(), resumed=True)


def _drive(run: _Run) -> None:
    """Run every step after the recorded one; on failure roll back or stop resumably."""
    actions = {
        "config_both": _step_config_both,
        "files_both": _step_files_both,
        "cluster_both": _step_cluster_both,
        "verified": _step_verified,
        "config_new": _step_config_new,
        "files_new": _step_files_new,
        "cluster_new": _step_cluster_new,
    }
    for step in STEPS[STEPS.index(run.state.step) + 1:]:
        try:
            actions[step](run)
        except (SopsError, OSError) as exc:
            reason = exc.message if isinstance(exc, SopsError) else f"{type(exc).__name__}: {exc.strerror}"
            if not run.state.key_is_in_cluster:
                _rollback(run)
                raise ClusterError(
                    f"key rotation failed while doing step {step!r} ({reason}); rolled back: "
                    ".sops.yaml and every file are as before and the cluster still holds the old key",
                    hint="fix the cause and run `sopskit cluster init --force` again",
                ) from exc
            raise RotationInterruptedError(
                f"key rotation stopped at step {step!r} after {run.state.step!r} ({reason}); every file "
                "still opens with the identities the cluster holds",
                hint=f"fix the cause and run `{RESUME_COMMAND}` to finish it",
            ) from exc
        if step == "cluster_new":
            clear_state(run.repo)
        else:
            run.mark(step)


def _step_config_both(run: _Run) -> None:
    run.remember(run.config_path)
    text = _read_text(run.config_path)
    for recipient in [*run.state.old_recipients, run.state.new_recipient]:
        text = add_age_recipient(text, run.state.path_regex, recipient)
    assert text is not None
    _config(run.config_path, text)
    _write_text(run.config_path, text)


def _step_files_both(run: _Run) -> None:
    for path in run.files():
        rel = _relative(run.repo, path)
        if rel in run.state.files_done:
            continue
        run.remember(path)
        rekey.rekey_file(path, config_path=run.config_path, identities=run.old_identities, now=run.now)
        run.state.files_done.append(rel)
        save_state(run.repo, run.state)


def _step_cluster_both(run: _Run) -> None:
    assert run.new_identity is not None
    write_identities(run.client, run.ref, [*run.old_identities, run.new_identity])


def _step_verified(run: _Run) -> None:
    assert run.new_identity is not None
    held = require_identities(run.client, run.ref)
    if run.new_identity not in held:
        raise ClusterError(f"the Secret {run.ref} does not hold the new identity after writing it")
    failures: list[str] = []
    for path in run.files():
        rekey.rekey_file(path, config_path=run.config_path, identities=held, now=run.now)
        why = rekey.check_decryptable(path, [run.new_identity])
        if why:
            failures.append(f"{_relative(run.repo, path)}: {why}")
    if failures:
        raise ClusterError("the new identity cannot open: " + "; ".join(failures))


def _step_config_new(run: _Run) -> None:
    text = _read_text(run.config_path) or ""
    present = age_recipients(text, run.state.path_regex) or []
    for recipient in run.state.old_recipients:
        if recipient in present and recipient != run.state.new_recipient:
            text = remove_age_recipient(text, run.state.path_regex, recipient)
    _config(run.config_path, text)
    _write_text(run.config_path, text)


def _step_files_new(run: _Run) -> None:
    assert run.new_identity is not None
    for path in run.files():
        rel = _relative(run.repo, path)
        if rel in run.state.files_done:
            continue
        rekey.rekey_file(path, config_path=run.config_path, identities=[run.new_identity], now=run.now)
        run.state.files_done.append(rel)
        save_state(run.repo, run.state)


def _step_cluster_new(run: _Run) -> None:
    assert run.new_identity is not None
    write_identities(run.client, run.ref, [run.new_identity])


def _rollback(run: _Run) -> None:
    """Give every changed file its original bytes back and forget the rotation."""
    for path, original in run.originals.items():
        if original is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write(path, original, default_mode=0o644)
    if not run.originals:
        _undo_new_recipient(run)
    clear_state(run.repo)


def _undo_new_recipient(run: _Run) -> None:
    """After a crash before ``cluster_both``: remove the (lost) new recipient everywhere.

    ``.sops.yaml`` first, then every file is re-keyed to match it with the identities the
    cluster holds (the old ones, which every file still lists).
    """
    new = run.state.new_recipient
    text = _read_text(run.config_path)
    if text is not None and new in (age_recipients(text, run.state.path_regex) or []):
        _write_text(run.config_path, remove_age_recipient(text, run.state.path_regex, new))
    for path in run.files():
        rekey.rekey_file(path, config_path=run.config_path, identities=run.old_identities, now=run.now)


# -- verify ------------------------------------------------------------------------------------

@dataclass
class FileCheck:
    path: Path
    recipients: list[str]
    problem: str | None = None


@dataclass
class VerifyReport:
    """Agreement between the cluster key, ``.sops.yaml`` and the files. Never holds identities."""

    ref: SecretRef
    cluster_recipients: list[str]
    rules: dict[str, list[str]] = field(default_factory=dict)
    files: list[FileCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_cluster_key(
    repo: Path, *, client: SecretClient, ref: SecretRef = DEFAULT_REF, path_regex: str | None = None,
) -> VerifyReport:
    """Check the cluster's recipients against the ``.sops.yaml`` rule(s) and every file under them.

    The rules checked are the one for ``path_regex``, or else every rule listing a cluster
    recipient. A file is a mismatch when the cluster cannot open it, or when its age
    recipients differ from its rule's (``sopskit updatekeys`` would change it).
    """
    identities = require_identities(client, ref)
    cluster = list(dict.fromkeys(public_key_of(i) for i in identities))
    report = VerifyReport(ref, cluster)
    report.notes.extend(f"cluster key {r[:16]}... is {recipient_kind(r)}" for r in cluster)
    config_path = repo / CONFIG_NAME
    text = _read_text(config_path)
    if text is None:
        report.problems.append(f"{CONFIG_NAME} does not exist; no rule lists the cluster key")
        return report
    config = _config(config_path, text)
    state = load_state(repo)
    if state is not None:
        report.problems.append(f"a key rotation is unfinished (step {state.step!r}); run `{RESUME_COMMAND}`")
    regexes = [path_regex] if path_regex else [
        r.path_regex for r in config.creation_rules
        if r.path_regex is not None and set(r.recipients("age")) & set(cluster)
    ]
    if not regexes:
        report.problems.append(f"no creation rule in {CONFIG_NAME} lists a recipient of the cluster key")
    for regex in regexes:
        _verify_rule(repo, config, text, regex, identities, report)
    return report


def _verify_rule(
    repo: Path, config: SopsConfig, text: str, regex: str, identities: Sequence[str], report: VerifyReport,
) -> None:
    rule_recipients = age_recipients(text, regex)
    if rule_recipients is None:
        report.problems.append(f"{CONFIG_NAME} has no creation rule with path_regex {regex!r}")
        return
    report.rules[regex] = rule_recipients
    for recipient in report.cluster_recipients:
        if recipient not in rule_recipients:
            report.problems.append(f"rule {regex!r} does not list the cluster recipient {recipient}")
    for extra in rule_recipients:
        if extra not in report.cluster_recipients:
            report.notes.append(f"rule {regex!r} also lists {extra}, which the cluster does not hold")
    for path in rekey.sops_files_for_rule(config, regex):
        rel = _relative(repo, path)
        try:
            recipients = rekey.age_recipients_of(rekey.read_metadata(path))
        except SopsError as exc:
            report.problems.append(f"{rel}: cannot read its metadata: {exc.message}")
            continue
        check = FileCheck(path, recipients)
        why = rekey.check_decryptable(path, identities)
        if why:
            check.problem = f"{rel}: the cluster's key cannot open it ({why})"
        elif set(recipients) != set(rule_recipients):
            missing = sorted(set(rule_recipients) - set(recipients))
            unlisted = sorted(set(recipients) - set(rule_recipients))
            parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                [f"not in the rule: {', '.join(unlisted)}"] if unlisted else [])
            check.problem = f"{rel}: recipients differ from the rule ({'; '.join(parts)})"
        if check.problem:
            report.problems.append(check.problem)
        elif any(map(is_post_quantum, recipients)) and not all(map(is_post_quantum, recipients)):
            report.notes.append(f"{rel}: post-quantum and classical recipients together (fine during "
                                "a --pq rotation; afterwards only as strong as the classical one)")
        report.files.append(check)


__all__ = [
    "DEFAULT_PATH_REGEX",
    "RESUME_COMMAND",
    "FileCheck",
    "InitResult",
    "RotationInterruptedError",
    "VerifyReport",
    "find_repo_root",
    "init_cluster_key",
    "verify_cluster_key",
]
