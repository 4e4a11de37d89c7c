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
recording each in ``.sopskit/rotation.json``, over the rule asked for and every rule that lists
an old recipient. It pauses twice (:data:`~sopskit.k8s.rotation_state.PAUSES`), because Flux
reads the pushed revision, not the work tree: after the files are encrypted for both keys and
the cluster holds both (commit and push), and after the old key left the files, which get new
data keys (push again). ``--resume`` passes a pause only when the files are committed, pushed,
and every Flux Kustomization decrypting with the Secret applied that commit (unless
``wait_for_flux`` is off). The invariant at every step: every file, in the work tree and as
pushed, opens with the identities the cluster holds at that moment.

* Before ``cluster_both`` the new private key exists only in memory. A failure there rolls
  back: ``.sops.yaml`` and the files get their original bytes back and the state is cleared.
  After a crash, ``--resume`` first looks in the cluster for the new key (the write may have
  landed before the connection died); if it is not there, the half-done steps are undone
  (the new recipient removed) and a fresh rotation starts.
* From ``cluster_both`` on the cluster holds old and new identities, so a failure stops
  with a report of the step reached and ``--resume`` finishes the rotation, reading the new
  identity back from the cluster.

**Verify** never says ok falsely: see :func:`verify_cluster_key`.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sopskit.config import CONFIG_NAME, SopsConfig, parse_config
from sopskit.errors import ClusterError, SopsError, UsageError
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
from sopskit.k8s.errors import ClusterNotFoundError, RotationInterruptedError, RotationPausedError
from sopskit.k8s.rotation_state import (
    PAUSES,
    STEPS,
    RotationState,
    clear_state,
    load_state,
    record_retired,
    retired_recipients,
    save_state,
)
from sopskit.keys.age import generate_identity, identity_kind, is_post_quantum, public_key_of, recipient_kind
from sopskit.ops import rulefiles
from sopskit.ops.files import atomic_write
from sopskit.ops.sopsyaml_edit import add_age_recipient, age_recipients, has_rule, remove_age_recipient

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
    #: the pause step the rotation stopped before ("pushed_both", "pushed_new"), None when done
    paused: str | None = None
    #: path_regex of every rule re-keyed
    rules: list[str | None] = field(default_factory=list)


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
    generate: IdentityGenerator | None = None,
    now: _dt.datetime | None = None,
    wait_for_flux: bool = True,
) -> InitResult:
    """Create the cluster key, or with ``force`` rotate it (``resume`` continues a rotation).

    A rotation stops twice for the outside world (see :data:`PAUSES`): after the files are
    encrypted for both keys (commit and push them), and after the old key left the files (push
    again). ``resume`` continues only once Flux applied the pushed revision, unless
    ``wait_for_flux`` is False.
    """
    generate = generate or new_cluster_identity
    config_path = repo / CONFIG_NAME
    state = load_state(repo)
    if state is not None and not resume:
        raise ClusterError(
            f"a key rotation is in progress (step {state.step!r} done)",
            hint=state_next_action(state),
        )
    if resume and not force:
        raise UsageError("--resume continues a rotation and needs --force")
    if state is not None:
        return _resume(repo, state, client=client, generate=generate, now=now, wait_for_flux=wait_for_flux)
    existing = read_identities(client, ref)
    if existing is not None:
        if not force:
            raise ClusterError(
                f"the Secret {ref} already exists; nothing was changed",
                hint="pass --force to rotate the key (safely, with resume), or `sopskit cluster verify`",
            )
        return _rotate(repo, client=client, ref=ref, path_regex=path_regex, generate=generate, now=now,
                       wait_for_flux=wait_for_flux)
    return _create(repo, config_path, client=client, ref=ref, path_regex=path_regex, generate=generate)


def _create(
    repo: Path, config_path: Path, *, client: SecretClient, ref: SecretRef, path_regex: str,
    generate: IdentityGenerator,
) -> InitResult:
    identity, recipient = generate()
    old_text = _read_text(config_path)
    new_text = add_age_recipient(old_text, path_regex, recipient)
    _refuse_shadowed_rule(_config(config_path, new_text), path_regex)  # before the cluster is touched
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


def _refuse_shadowed_rule(config: SopsConfig, path_regex: str) -> None:
    """Refuse a rule that an earlier keyless rule shadows for part of its paths (``repo init``
    leaves ``^flux/secrets/ENV/`` rules with no key; the default ``^flux/secrets/`` rule after
    them would never win there, and ``secret new`` would fail on the empty rule)."""
    ours = next((r for r in config.creation_rules if r.path_regex == path_regex), None)
    if ours is None:
        return
    for other in config.creation_rules[: ours.index]:
        probe = _probe_path(other.path_regex) if other.path_regex else None
        if probe and ours.matches(probe) and not any(group for group in other.key_groups):
            raise ClusterError(
                f"the rule {path_regex!r} would never apply under {other.path_regex!r}: that rule comes "
                f"first in {CONFIG_NAME} and lists no key; nothing was changed",
                hint=f"give the cluster that rule: `sopskit cluster init --path-regex '{other.path_regex}'`",
            )


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
    wait_for_flux: bool = True
    #: original bytes of every file changed before the key reached the cluster (for rollback)
    originals: dict[Path, bytes | None] = field(default_factory=dict, repr=False)

    @property
    def ref(self) -> SecretRef:
        return SecretRef(self.state.namespace, self.state.secret_name)

    @property
    def config_path(self) -> Path:
        return self.repo / CONFIG_NAME

    @property
    def rules(self) -> list[str | None]:
        return self.state.rules or [self.state.path_regex]

    def files(self) -> list[Path]:
        text = _read_text(self.config_path) or ""
        config = _config(self.config_path, text)
        found: list[Path] = []
        for regex in self.rules:
            found += [p for p in rulefiles.sops_files_for_rule(config, regex) if p not in found]  # type: ignore[arg-type]
        return found

    def mark(self, step: str) -> None:
        self.state.step = step
        self.state.files_done = []
        save_state(self.repo, self.state)

    def remember(self, path: Path) -> None:
        if path not in self.originals:
            self.originals[path] = path.read_bytes() if path.exists() else None


def new_cluster_identity() -> tuple[str, str]:
    """The one place a cluster key is made: ``(identity, recipient)``, in memory only.

    Rotation and first key both come here (through the ``generate`` seam), so another key
    type (a post-quantum one, say) plugs in by passing a different generator.
    """
    return generate_identity()


def cluster_key_generator(
    client: SecretClient, ref: SecretRef, *, pq: bool = False, rotating: bool = False
) -> Callable[[], tuple[str, str]]:
    """The new cluster key's type: post-quantum when asked, or when rotating a post-quantum
    key (a rotation never silently downgrades); X25519 otherwise."""
    from functools import partial

    if not pq and rotating:
        pq = any(identity_kind(i) == "post-quantum" for i in read_identities(client, ref) or [])
    return partial(generate_identity, pq=pq)


def rules_listing(config: SopsConfig, recipients: Sequence[str]) -> list[str | None]:
    """path_regex of every rule that lists one of ``recipients`` (None for a catch-all rule)."""
    wanted = set(recipients)
    return [r.path_regex for r in config.creation_rules if set(r.recipients("age")) & wanted]


def _rotate(
    repo: Path, *, client: SecretClient, ref: SecretRef, path_regex: str,
    generate: IdentityGenerator, now: _dt.datetime | None, wait_for_flux: bool = True,
) -> InitResult:
    old_identities = require_identities(client, ref)
    old_recipients = list(dict.fromkeys(public_key_of(i) for i in old_identities))
    config_path = repo / CONFIG_NAME
    text = _read_text(config_path)
    listing = rules_listing(_config(config_path, text or ""), old_recipients) if text else []
    if path_regex not in listing and (listing and not has_rule(text, path_regex)):
        # the default --path-regex (or a typo) must not create a rule that never wins: rotate
        # the rules that actually hold the cluster key
        path_regex = next(r for r in listing if r is not None) if any(r is not None for r in listing) \
            else path_regex
    probe = add_age_recipient(text, path_regex, old_recipients[0])
    probe_config = _config(config_path, probe)
    rules = list(dict.fromkeys([path_regex, *rules_listing(probe_config, old_recipients)]))
    files = [p for regex in rules for p in rulefiles.sops_files_for_rule(probe_config, regex)]  # type: ignore[arg-type]
    blocked = [(p, why) for p in files if (why := rulefiles.check_decryptable(p, old_identities))]
    strays = [
        p for p in rulefiles.iter_repo_files(repo)
        if p not in files and p.suffix in (".yaml", ".yml", ".json", ".env", ".ini")
        and _lists_any(p, old_recipients)
    ]
    blocked += [(p, "it lists the cluster key but its .sops.yaml rule does not") for p in strays]
    if blocked:
        lines = "; ".join(f"{_relative(repo, p)}: {why}" for p, why in blocked)
        raise ClusterError(
            f"cannot rotate: {len(blocked)} file(s) do not open with the cluster's current key or are not "
            f"under a rule that lists it ({lines}); nothing was changed",
            hint="run `sopskit cluster verify` and `sopskit updatekeys -y FILE` for those files first",
        )
    identity, recipient = generate()
    state = RotationState(ref.namespace, ref.name, path_regex, old_recipients, recipient, rules=rules)
    save_state(repo, state)
    run = _Run(repo, state, client, old_identities, identity, now, wait_for_flux)
    paused = _drive(run, resumed=False)
    return _result(run, identity, paused, resumed=False)


def _lists_any(path: Path, recipients: Sequence[str]) -> bool:
    try:
        head = path.read_bytes()
    except OSError:
        return False
    if not rulefiles.is_sops(head):
        return False
    try:
        return bool(set(rulefiles.age_recipients_of(rulefiles.read_metadata(path))) & set(recipients))
    except SopsError:
        return False


def _result(run: _Run, identity: str, paused: str | None, *, resumed: bool) -> InitResult:
    """The outcome; the private key is handed out by the first run that gets this far only."""
    show = not run.state.announced
    if paused is not None and show:
        run.state.announced = True
        save_state(run.repo, run.state)
    return InitResult(
        identity if show else "", run.state.new_recipient, run.ref, run.config_path,
        rotated_from=list(run.state.old_recipients),
        files_rekeyed=run.files(), resumed=resumed, paused=paused,
        rules=list(run.rules),
    )


def _resume(
    repo: Path, state: RotationState, *, client: SecretClient, generate: IdentityGenerator,
    now: _dt.datetime | None, wait_for_flux: bool = True,
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
        run = _Run(repo, state, client, held, None, now, wait_for_flux)
        _undo_new_recipient(run)
        clear_state(repo)
        result = _rotate(repo, client=client, ref=ref, path_regex=state.path_regex,
                         generate=generate, now=now, wait_for_flux=wait_for_flux)
        result.rolled_back = True
        return result
    if not state.key_is_in_cluster:
        state.step = "cluster_both"  # the write landed before the connection died
        state.files_done = []
        save_state(repo, state)
    old = [i for i in held if public_key_of(i) != state.new_recipient]
    run = _Run(repo, state, client, old, new_identity, now, wait_for_flux)
    paused = _drive(run, resumed=True)
    return _result(run, new_identity, paused, resumed=True)


def _drive(run: _Run, *, resumed: bool) -> str | None:
    """Run every step after the recorded one; stop before a pause step (returned) unless it is
    the first step of a resumed run. On failure roll back or stop resumably."""
    actions: dict[str, Callable[[_Run], None]] = {
        "config_both": _step_config_both,
        "files_both": _step_files_both,
        "cluster_both": _step_cluster_both,
        "pushed_both": _step_pushed,
        "verified": _step_verified,
        "config_new": _step_config_new,
        "files_new": _step_files_new,
        "pushed_new": _step_pushed,
        "cluster_new": _step_cluster_new,
    }
    first = True
    for step in STEPS[STEPS.index(run.state.step) + 1:]:
        if step in PAUSES and not (resumed and first):
            return step
        first = False
        try:
            actions[step](run)
        except RotationPausedError:
            raise
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
            record_retired(run.repo, run.state.namespace, run.state.secret_name,
                           [r for r in run.state.old_recipients if r != run.state.new_recipient],
                           (run.now or _dt.datetime.now(_dt.UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"))
            clear_state(run.repo)
        else:
            run.mark(step)
    return None


def state_next_action(state: RotationState) -> str:
    """What the user has to do next for a rotation recorded at ``state.step``."""
    following = STEPS[STEPS.index(state.step) + 1] if state.step != STEPS[-1] else None
    if following in PAUSES:
        push = "the re-encrypted files" if following == "pushed_both" else "the files without the old key"
        return (f"commit and push .sops.yaml and {push}, wait until Flux has applied that revision, then run "
                f"`{RESUME_COMMAND}`")
    return f"run `{RESUME_COMMAND}`"


def _step_config_both(run: _Run) -> None:
    run.remember(run.config_path)
    text = _read_text(run.config_path)
    for regex in run.rules:
        for recipient in [*run.state.old_recipients, run.state.new_recipient]:
            if regex == run.state.path_regex or recipient == run.state.new_recipient:
                text = add_age_recipient(text, regex, recipient)  # type: ignore[arg-type]
    assert text is not None
    _config(run.config_path, text)
    _write_text(run.config_path, text)


def _step_files_both(run: _Run) -> None:
    for path in run.files():
        rel = _relative(run.repo, path)
        if rel in run.state.files_done:
            continue
        run.remember(path)
        rulefiles.rekey_file(path, config_path=run.config_path, identities=run.old_identities, now=run.now)
        run.state.files_done.append(rel)
        save_state(run.repo, run.state)


def _step_cluster_both(run: _Run) -> None:
    assert run.new_identity is not None
    write_identities(run.client, run.ref, [*run.old_identities, run.new_identity])


def _step_pushed(run: _Run) -> None:
    """The outside world acted: the changed files are committed and pushed, and (unless told
    not to wait) every Flux Kustomization decrypting with the Secret applied that revision."""
    from sopskit.k8s import flux_status, gitrev

    paths = [CONFIG_NAME, *(_relative(run.repo, p) for p in run.files())]
    dirty = gitrev.uncommitted(run.repo, paths)
    if dirty:
        raise RotationPausedError(
            f"the rotation waits for a commit: {len(dirty)} changed file(s) are not committed "
            f"({', '.join(dirty[:5])}{', ...' if len(dirty) > 5 else ''}); nothing was changed",
            hint=f"git add {' '.join(dirty[:5])} && git commit && git push, then `{RESUME_COMMAND}`",
        )
    head = gitrev.commit_of(run.repo, "HEAD")
    upstream = gitrev.upstream(run.repo)
    if upstream is not None and head is not None and not gitrev.is_ancestor(run.repo, head, upstream):
        raise RotationPausedError(
            f"the rotation waits for a push: HEAD {head[:12]} is not on {upstream}, the branch Flux pulls",
            hint=f"git push, then `{RESUME_COMMAND}`",
        )
    if run.wait_for_flux:
        if upstream is None:
            raise RotationPausedError(
                "the rotation cannot tell which revision Flux pulls: HEAD has no upstream branch",
                hint=f"git push -u origin HEAD, or pass --no-wait-for-flux: `{RESUME_COMMAND} --no-wait-for-flux`",
            )
        assert head is not None
        flux_status.require_applied(run.client, run.ref, head, resume_command=RESUME_COMMAND)
    run.state.pushed[STEPS[STEPS.index(run.state.step) + 1]] = head or "unknown"


def _step_verified(run: _Run) -> None:
    assert run.new_identity is not None
    held = require_identities(run.client, run.ref)
    if run.new_identity not in held:
        raise ClusterError(f"the Secret {run.ref} does not hold the new identity after writing it")
    failures: list[str] = []
    for path in run.files():
        rulefiles.rekey_file(path, config_path=run.config_path, identities=held, now=run.now)
        why = rulefiles.check_decryptable(path, [run.new_identity])
        if why:
            failures.append(f"{_relative(run.repo, path)}: {why}")
    if failures:
        raise ClusterError("the new identity cannot open: " + "; ".join(failures))


def _step_config_new(run: _Run) -> None:
    text = _read_text(run.config_path) or ""
    for regex in run.rules:
        present = age_recipients(text, regex) or []  # type: ignore[arg-type]
        for recipient in run.state.old_recipients:
            if recipient in present and recipient != run.state.new_recipient:
                text = remove_age_recipient(text, regex, recipient)  # type: ignore[arg-type]
    _config(run.config_path, text)
    _write_text(run.config_path, text)


def _step_files_new(run: _Run) -> None:
    """Drop the old recipient and give every file a new data key (as ``sops rotate`` does), so
    the old identity plus an old key record from Git history opens nothing written from now on."""
    assert run.new_identity is not None
    for path in run.files():
        rel = _relative(run.repo, path)
        if rel in run.state.files_done:
            continue
        rulefiles.rekey_file(path, config_path=run.config_path, identities=[run.new_identity], now=run.now)
        rulefiles.rotate_data_key(path, identities=[run.new_identity], now=run.now)
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
    for regex in run.rules:
        if text is not None and new in (age_recipients(text, regex) or []):  # type: ignore[arg-type]
            text = remove_age_recipient(text, regex, new)  # type: ignore[arg-type]
            _write_text(run.config_path, text)
    for path in run.files():
        rulefiles.rekey_file(path, config_path=run.config_path, identities=run.old_identities, now=run.now)


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
    recipient or a key this cluster held before a rotation. It never says ok falsely:

    * a rule with no SOPS file under it ("0 files checked"), or one an earlier rule shadows
      (it never wins), is a problem;
    * a rule listing a key the cluster no longer holds (recorded when a rotation retired it) is;
    * a file the cluster cannot open, or whose recipients differ from its rule's, is;
    * the files Flux pulls (the upstream branch, when there is one) must open with the
      cluster's identities too, so an unpushed re-encryption is reported;
    * with a client that can read Flux objects, ``sopskit doctor``'s chain runs for every file a
      Kustomization decrypting with this Secret builds, and each broken link is a problem.
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
        report.problems.append(f"a key rotation is unfinished (step {state.step!r}); {state_next_action(state)}")
    retired = set(retired_recipients(repo, ref.namespace, ref.name)) - set(cluster)
    regexes = [path_regex] if path_regex else [
        r.path_regex for r in config.creation_rules
        if r.path_regex is not None and set(r.recipients("age")) & (set(cluster) | retired)
    ]
    if not regexes:
        report.problems.append(f"no creation rule in {CONFIG_NAME} lists a recipient of the cluster key")
    for regex in regexes:
        _verify_rule(repo, config, text, regex, identities, report)
    for rule in config.creation_rules:
        stale = sorted(set(rule.recipients("age")) & retired)
        if stale:
            where = repr(rule.path_regex) if rule.path_regex is not None else "(no path_regex)"
            report.problems.append(
                f"rule {where} lists {', '.join(stale)}, a key the cluster {ref} no longer holds"
            )
    _verify_upstream(repo, config, regexes, identities, report)
    _verify_with_doctor(repo, client, ref, report)
    return report


def _probe_path(regex: str) -> str | None:
    """A path ``regex`` was written for: its literal prefix plus a file name (None if unsure)."""
    body = regex[1:] if regex.startswith("^") else regex
    prefix = ""
    for char in body:
        if char in ".^$*+?{}[]|()\\":
            break
        prefix += char
    if not prefix:
        return None
    return prefix + ("" if prefix.endswith("/") else "/") + "sopskit-probe.yaml"


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
    probe = _probe_path(regex)
    winner = config.rule_for(config.directory / probe) if probe else None
    if winner is not None and winner.path_regex != regex:
        shadow = repr(winner.path_regex) if winner.path_regex is not None else "(no path_regex)"
        report.problems.append(
            f"rule {regex!r} never wins: the earlier rule {shadow} matches its paths first, so files there "
            "are not encrypted for the cluster key (move the rule above it in .sops.yaml)"
        )
    files = rulefiles.sops_files_for_rule(config, regex)
    if not files:
        report.problems.append(
            f"rule {regex!r}: files checked: 0 (no SOPS file is under it; check the path_regex, or create "
            "one with `sopskit secret new ENV NAME`)"
        )
    for path in files:
        rel = _relative(repo, path)
        try:
            recipients = rulefiles.age_recipients_of(rulefiles.read_metadata(path))
        except SopsError as exc:
            report.problems.append(f"{rel}: cannot read its metadata: {exc.message}")
            continue
        check = FileCheck(path, recipients)
        why = rulefiles.check_decryptable(path, identities)
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


def _verify_upstream(
    repo: Path, config: SopsConfig, regexes: Sequence[str], identities: Sequence[str], report: VerifyReport,
) -> None:
    """Open the files of the upstream branch (what Flux pulls) with the cluster's identities."""
    from sopskit.k8s import gitrev

    upstream = gitrev.upstream(repo)
    if upstream is None:
        report.notes.append("no upstream branch: the pushed files (what Flux pulls) were not checked")
        return
    for rel, data in gitrev.files_at(repo, upstream):
        rule = config.rule_for(repo / rel)
        if rule is None or rule.path_regex not in regexes or not rulefiles.is_sops(data):
            continue
        why = rulefiles.check_decryptable_bytes(rel, data, identities)
        if why:
            report.problems.append(
                f"{rel} as pushed ({upstream}): the cluster's key cannot open it ({why}); commit and push the "
                "re-encrypted files before the cluster drops a key"
            )


def _verify_with_doctor(repo: Path, client: SecretClient, ref: SecretRef, report: VerifyReport) -> None:
    """Doctor's chain for every file a Flux Kustomization decrypting with ``ref`` builds."""
    if not hasattr(client, "list_kustomizations"):
        return
    from sopskit.doctor import Options, diagnose

    doctor = diagnose(repo, Options(cluster=client, decrypting_with=(ref.namespace, ref.name)))  # type: ignore[arg-type]
    for check in doctor.failures():
        if check.id.startswith("checklist."):
            continue
        problem = f"{check.file}: [{check.id}] {check.message}" if check.file else f"[{check.id}] {check.message}"
        report.problems.append(problem)


__all__ = [
    "DEFAULT_PATH_REGEX",
    "RESUME_COMMAND",
    "FileCheck",
    "InitResult",
    "RotationInterruptedError",
    "VerifyReport",
    "find_repo_root",
    "init_cluster_key",
    "new_cluster_identity",
    "rules_listing",
    "state_next_action",
    "verify_cluster_key",
]
