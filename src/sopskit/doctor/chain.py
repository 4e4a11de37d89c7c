"""Walk the chain Flux walks for every SOPS file and stop at the first broken link.

For one file: it parses and is SOPS -> it lists recipients -> the ``.sops.yaml`` rule that wins
for its path lists no recipient the file lacks, and no earlier catch-all shadows a rule written
for it -> a Flux Kustomization builds it -> with ``spec.decryption`` (sops, a Secret) -> the Secret
exists with key names Flux reads -> one of its identities is a recipient of the file -> the data
key opens and the MAC checks out -> the controller may read the Secret -> no decrypted value
trips strict post-build substitution. Offline (no cluster) the Secret's side is answered from
public keys committed to the repository (``.sops.pub.age``) or left "unknown" with the reason.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.config import CONFIG_NAME, SopsConfig, load_config
from sopskit.config.sops_yaml import CreationRule
from sopskit.doctor.cloudauth import ControllerFacts, check_cloud_auth, controller_view
from sopskit.doctor.cluster import ClusterReader, KeySecret, read_key_secret
from sopskit.doctor.model import Check, Report, Status
from sopskit.doctor.substitution import rejected
from sopskit.doctor.wiring import FluxKs, find_kustomizations, recorded_recipients
from sopskit.errors import IntegrityError, SopsError
from sopskit.format.metadata import Metadata
from sopskit.format.tree import TreeMap
from sopskit.keys.base import KeyContext
from sopskit.ops.document import open_document
from sopskit.ops.pool import DEFAULT_WORKERS, run_bounded
from sopskit.ops.sopsfile import parse_encrypted
from sopskit.policy.repo import Repo, RepoFile, load_repo

#: the field that names a key in each metadata record type (what .sops.yaml rules list)
_RECORD_ID = {"age": "recipient", "pgp": "fp", "kms": "arn", "gcp_kms": "resource_id"}
_NO_KEYS = "no master keys found in the file's sops metadata"
_ENC_VALUE = re.compile(rb"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]{16,},tag:")
_TEXT_SUFFIXES = (".yaml", ".yml", ".json", ".env", ".ini")
_PROBE = "sopskit-doctor-probe/zz/unlikely-name.txt"


@dataclass
class Options:
    """What to diagnose. ``secret`` fixes the decryption Secret (``cluster verify``): the Flux
    links are then skipped for files no Kustomization builds."""

    scope: str = ""
    cluster: ClusterReader | None = None
    kustomization: tuple[str, str] | None = None
    secret: tuple[str, str] | None = None
    only_files: set[str] | None = None
    #: only the Kustomizations that decrypt with this Secret (namespace, name) and their files
    decrypting_with: tuple[str, str] | None = None
    #: files diagnosed at once (the shared bounded pool); the report is the same for any value
    workers: int = DEFAULT_WORKERS


@dataclass
class _Context:
    repo: Repo
    config: SopsConfig | None
    options: Options
    kustomizations: list[FluxKs]
    secrets: dict[tuple[str, str], KeySecret] = field(default_factory=dict)
    rbac: dict[tuple[str, str, str], tuple[Status, str]] = field(default_factory=dict)
    controller: ControllerFacts | None = None
    #: files are diagnosed in parallel: each cluster question is asked once per run, by one
    #: thread at a time (the cluster client is not assumed thread-safe)
    cluster_lock: threading.Lock = field(default_factory=threading.Lock)

    def controller_view(self) -> ControllerFacts:
        """The Flux controllers' identity wiring, read from the repository once per run."""
        with self.cluster_lock:
            if self.controller is None:
                self.controller = controller_view(self.repo)
            return self.controller

    def key_secret(self, namespace: str, name: str) -> KeySecret | None:
        if self.options.cluster is None:
            return None
        key = (namespace, name)
        with self.cluster_lock:
            if key not in self.secrets:
                self.secrets[key] = read_key_secret(self.options.cluster, namespace, name)
            return self.secrets[key]


class _Chain:
    """The checks of one file, stopping at the first failure."""

    def __init__(self, rel: str) -> None:
        self.rel = rel
        self.checks: list[Check] = []
        self.broken = False

    def ok(self, check_id: str, message: str) -> None:
        self.checks.append(Check(check_id, "ok", message, self.rel))

    def unknown(self, check_id: str, message: str) -> None:
        self.checks.append(Check(check_id, "unknown", message, self.rel))

    def fail(self, check_id: str, message: str, fix: str) -> None:
        self.checks.append(Check(check_id, "fail", message, self.rel, fix))
        self.broken = True


def load_sops_config(root: Path) -> tuple[SopsConfig | None, Check]:
    path = root.resolve() / CONFIG_NAME
    if not path.is_file():
        return None, Check(
            "sopsyaml.config", "fail", f"{CONFIG_NAME} does not exist at the repository root", CONFIG_NAME,
            "create it: `sopskit repo init` (then `sopskit cluster init`)",
        )
    try:
        return load_config(path), Check("sopsyaml.config", "ok", f"{CONFIG_NAME} parses", CONFIG_NAME)
    except SopsError as exc:
        return None, Check("sopsyaml.config", "fail", f"{CONFIG_NAME}: {exc.message}", CONFIG_NAME,
                           f"fix the YAML of {CONFIG_NAME}")


def record_ids(metadata: Metadata) -> dict[str, list[str]]:
    """Key type -> the keys a file's data key is wrapped for, as rules write them."""
    out: dict[str, list[str]] = {}
    for record in metadata.records():
        field_name = _RECORD_ID.get(record.key_type)
        value = str(record.fields.get(field_name, "")).strip() if field_name else record.key_type
        out.setdefault(record.key_type, []).append(value)
    return out


def _is_catch_all(rule: CreationRule) -> bool:
    return rule.path_regex is None or rule.matches(_PROBE)


def _rule_label(rule: CreationRule) -> str:
    regex = "no path_regex" if rule.path_regex is None else f"path_regex {rule.path_regex!r}"
    return f"rule #{rule.index + 1} ({regex})"


def _config_relative(config: SopsConfig, file: RepoFile) -> str:
    """The path rules are matched against: the repository path when ``.sops.yaml`` sits at the
    root (the common case, and no filesystem call), else what sops computes."""
    if config.path.parent == file.root:
        return file.rel
    return config.relative_path(file.path)


def _winning_rule(config: SopsConfig, file: RepoFile) -> tuple[CreationRule | None, list[CreationRule]]:
    """The rule sops applies to ``file`` and the later ones it shadows (when it is a catch-all)."""
    relative = _config_relative(config, file)
    matching = [r for r in config.creation_rules if r.matches(relative)]
    if not matching:
        return None, []
    winner = matching[0]
    shadowed = [r for r in matching[1:] if _is_catch_all(winner) and not _is_catch_all(r)]
    return winner, shadowed


def _check_rule(ctx: _Context, file: RepoFile, ids: dict[str, list[str]], chain: _Chain) -> None:
    config = ctx.config
    if config is None:
        chain.unknown("sopsyaml.rule", f"no usable {CONFIG_NAME}: the rule cannot be checked")
        return
    winner, shadowed = _winning_rule(config, file)
    if winner is None:
        chain.fail(
            "sopsyaml.rule", f"no creation rule of {CONFIG_NAME} matches this path, so `sopskit edit` and "
            "`sopskit updatekeys` cannot re-encrypt it",
            f"add a rule whose path_regex matches {file.rel!r} to {CONFIG_NAME}",
        )
        return
    missing = [
        f"{key_type} {key}"
        for key_type in _RECORD_ID
        for key in winner.recipients(key_type)
        if key not in ids.get(key_type, [])
    ]
    if missing:
        chain.fail(
            "sopsyaml.rule", f"{_rule_label(winner)} lists {', '.join(missing)}, which the file is not "
            "encrypted for", f"sopskit updatekeys -y {file.rel}",
        )
        return
    chain.ok("sopsyaml.rule", f"{_rule_label(winner)} matches and the file lists its recipients")
    if shadowed:
        later = shadowed[0]
        chain.fail(
            "sopsyaml.shadow", f"{_rule_label(winner)} matches every path and comes first, so "
            f"{_rule_label(later)}, written for this path, never applies",
            f"move {_rule_label(later)} above {_rule_label(winner)} in {CONFIG_NAME}, then "
            f"`sopskit updatekeys -y {file.rel}`",
        )
        return
    chain.ok("sopsyaml.shadow", "no earlier catch-all rule shadows a rule for this path")


def _builders(ctx: _Context, rel: str) -> list[FluxKs]:
    return [ks for ks in ctx.kustomizations if rel in ks.builds]


def _age_only(metadata: Metadata) -> Metadata:
    """The file's metadata with only its age records: the check is whether the Secret's age
    identities open the data key, so no other key (a cloud KMS reached with the caller's own
    credentials) may answer for them, and no key service is called per file."""
    groups = [[r for r in group if r.key_type == "age"] for group in metadata.key_groups]
    return metadata.replace(key_groups=groups)


def _open(
    branches: list[TreeMap], metadata: Metadata, identities: list[str], chain: _Chain
) -> list[TreeMap] | None:
    try:
        open_document(branches, _age_only(metadata), context=KeyContext(age_identities=identities, env={}),
                      decryption_order=("age",))
    except IntegrityError as exc:
        chain.fail("sops.mac", f"the data key opens but {exc.message}",
                   f"restore the file from Git (`git checkout -- {chain.rel}`), or if the change is "
                   f"intended: `sopskit decrypt --ignore-mac` it and encrypt it again")
        return None
    except SopsError as exc:
        chain.fail("sops.mac", f"the cluster's identities do not open the data key: {exc.message}",
                   f"sopskit updatekeys -y {chain.rel}")
        return None
    chain.ok("sops.mac", "the cluster's identity opens the data key and the MAC checks out")
    return branches


def _check_secret_side(
    ctx: _Context, file: RepoFile, ks: FluxKs | None, namespace: str, name: str,
    ids: dict[str, list[str]], parsed: tuple[list[TreeMap], Metadata], chain: _Chain,
) -> None:
    age = ids.get("age", [])
    secret = ctx.key_secret(namespace, name)
    if secret is None:  # offline: public keys recorded in the repository, if any
        recorded = recorded_recipients(ctx.repo, ks) if ks is not None else None
        chain.unknown("cluster.secret", f"offline: whether Secret {namespace}/{name} exists is known to the "
                      "cluster only (run with --cluster)")
        if recorded is None:
            chain.unknown("cluster.recipient", "offline and no .sops.pub.age records the cluster's public key")
        elif set(recorded) & set(age):
            chain.ok("cluster.recipient", "the file lists the cluster public key recorded in .sops.pub.age")
        elif not age and not ids.get("pgp"):
            chain.unknown("cluster.recipient", "the file relies on cloud KMS keys, not the recorded age key")
        else:
            chain.fail("cluster.recipient", f"the file is not encrypted for the cluster public key recorded in "
                       f".sops.pub.age ({', '.join(recorded)})",
                       f"add that key to the file's .sops.yaml rule, then `sopskit updatekeys -y {file.rel}`")
            return
        chain.unknown("sops.mac", "offline: no private key, so the data key and MAC are not checked")
        return
    if secret.exists is None:
        chain.unknown("cluster.secret", f"cannot read Secret {secret.label}: {secret.error}")
        return
    if not secret.exists:
        chain.fail("cluster.secret", f"Secret {secret.label} does not exist",
                   f"sopskit cluster init --namespace {namespace} --secret-name {name}")
        return
    if not secret.readable:
        chain.fail("cluster.secret", f"Secret {secret.label} has no data key Flux reads (it has "
                   f"{', '.join(secret.key_names) or 'none'}; Flux reads *.agekey, *.asc and sops.*)",
                   f"rename the data key to age.agekey: `sopskit cluster init --force --namespace "
                   f"{namespace} --secret-name {name}` rewrites it")
        return
    chain.ok("cluster.secret", f"Secret {secret.label} exists with {', '.join(secret.readable)}")
    if set(secret.recipients) & set(age):
        chain.ok("cluster.recipient", f"an identity of Secret {secret.label} is a recipient of the file")
    elif (secret.has_pgp and ids.get("pgp")) or (secret.has_kms and set(ids) - {"age", "pgp"}):
        chain.unknown("cluster.recipient", "the file relies on PGP or KMS keys, which doctor does not derive")
    else:
        held = ", ".join(secret.recipients) or "no age identity"
        chain.fail("cluster.recipient", f"no identity of Secret {secret.label} is a recipient of the file "
                   f"(the Secret holds {held}; the file lists {', '.join(age) or 'no age key'})",
                   f"put the cluster's recipient in the file's .sops.yaml rule (`sopskit cluster verify` "
                   f"shows it), then `sopskit updatekeys -y {file.rel}` with a key that opens it")
        return
    branches = _open(*parsed, secret.identities, chain) if secret.identities else None
    if chain.broken:
        return
    if branches is None:
        chain.unknown("sops.mac", "the Secret holds no age identity to open the file with")
    _check_rbac(ctx, ks, namespace, name, chain)
    if chain.broken or ks is None:
        return
    post_build = ks.post_build
    if post_build is None:
        chain.ok("flux.substitution", f"Kustomization {ks.label} has no postBuild substitution")
    elif branches is None:
        chain.unknown("flux.substitution", "not decrypted, so values were not checked for ${...}")
    else:
        bad = rejected(branches, post_build)
        if bad and post_build.get("substituteFrom"):
            chain.unknown("flux.substitution", f"{len(bad)} value(s) use ${{...}} variables that may come from "
                          "postBuild.substituteFrom: " + ", ".join(p for p, _ in bad[:5]))
        elif bad:
            chain.fail("flux.substitution", f"Flux's strict post-build substitution of {ks.label} rejects "
                       "undefined variables in " + ", ".join(f"{p} (${{{n[0]}}})" for p, n in bad[:5]),
                       f"write $${{VAR}} for a literal, define VAR in spec.postBuild.substitute, or annotate the "
                       f"Secret with kustomize.toolkit.fluxcd.io/substitute: disabled (`sopskit edit "
                       f"--from-cluster {file.rel}`)")
        else:
            chain.ok("flux.substitution", "no decrypted value contains an undefined ${...} variable")


def _check_rbac(ctx: _Context, ks: FluxKs | None, namespace: str, name: str, chain: _Chain) -> None:
    client = ctx.options.cluster
    if client is None:
        return
    subject = ks.subject if ks is not None else "system:serviceaccount:flux-system:kustomize-controller"
    key = (subject, namespace, name)
    with ctx.cluster_lock:
        if key not in ctx.rbac:
            try:
                allowed = client.can_i("get", "secrets", namespace, name, as_user=subject)
                ctx.rbac[key] = ("ok", "") if allowed else ("fail", "")
            except SopsError as exc:
                ctx.rbac[key] = ("unknown", exc.message)
        status, reason = ctx.rbac[key]
    if status == "ok":
        chain.ok("cluster.rbac", f"{subject} may get Secret {namespace}/{name}")
    elif status == "fail":
        chain.fail("cluster.rbac", f"{subject} may not get Secret {namespace}/{name}",
                   f"grant it `get` on secrets/{name} in {namespace} (a Role and RoleBinding), or use "
                   "the default kustomize-controller service account")
    else:
        chain.unknown("cluster.rbac", f"cannot ask the cluster on behalf of {subject}: {reason}")


def diagnose_file(ctx: _Context, file: RepoFile) -> list[Check]:
    chain = _Chain(file.rel)
    try:
        parsed = parse_encrypted(file.raw, name=file.rel)
    except SopsError as exc:
        if exc.message == _NO_KEYS:  # sops parses it, but lists nobody who can open it
            chain.ok("sops.parse", "parses as a SOPS file")
            chain.fail("sops.recipients", "the file's metadata lists no key: nobody can open its data key",
                       f"encrypt it again from the plaintext: `sopskit encrypt -i {file.rel}`")
            return chain.checks
        chain.fail("sops.parse", f"not a readable SOPS file: {exc.message}",
                   f"restore it from Git (`git checkout -- {file.rel}`) or encrypt it again")
        return chain.checks
    chain.ok("sops.parse", "parses as a SOPS file")
    ids = record_ids(parsed[1])
    if not ids:
        chain.fail("sops.recipients", "the file's metadata lists no key: nobody can open its data key",
                   f"encrypt it again from the plaintext: `sopskit encrypt -i {file.rel}`")
        return chain.checks
    chain.ok("sops.recipients", "encrypted for " + ", ".join(f"{len(v)} {k}" for k, v in sorted(ids.items())))
    _check_rule(ctx, file, ids, chain)
    if chain.broken:
        return chain.checks
    if ctx.options.secret is not None:
        _check_secret_side(ctx, file, None, *ctx.options.secret, ids, parsed, chain)
        return chain.checks
    builders = _builders(ctx, file.rel)
    if not builders:
        if not ctx.kustomizations:
            chain.unknown("flux.kustomization", "no Flux Kustomization found in the repository"
                          + (" or the cluster" if ctx.options.cluster else ""))
        else:
            chain.fail("flux.kustomization", "no Flux Kustomization builds this file, so Flux never decrypts it",
                       "list it (or its folder) in the resources of a kustomization.yaml under a "
                       "Kustomization's spec.path")
        return chain.checks
    for ks in builders:
        _check_kustomization(ctx, file, ks, ids, parsed, chain)
        if chain.broken:
            break
    return chain.checks


def _check_kustomization(
    ctx: _Context, file: RepoFile, ks: FluxKs, ids: dict[str, list[str]],
    parsed: tuple[list[TreeMap], Metadata], chain: _Chain,
) -> None:
    chain.ok("flux.kustomization", f"Kustomization {ks.label} builds it (spec.path {ks.path or '.'!r})")
    decryption = ks.decryption
    if decryption.get("provider") != "sops":
        chain.fail("flux.decryption", f"Kustomization {ks.label} has no spec.decryption.provider: sops, so "
                   "Flux applies the file still encrypted", "sopskit repo init (adds spec.decryption)")
        return
    name = ks.secret_name
    if name is None:
        if set(ids) & {"age", "pgp"}:
            chain.fail("flux.decryption", f"Kustomization {ks.label} names no spec.decryption.secretRef, so the "
                       "controller has no age or PGP identity", "sopskit repo init (adds secretRef sops-age)")
            return
        chain.ok("flux.decryption", f"Kustomization {ks.label} decrypts with sops through cloud KMS")
        _check_cloud_auth(ctx, ks, ids, chain)
        if not chain.broken:
            chain.unknown("cluster.secret", "no decryption Secret (no secretRef): KMS access is the cloud "
                          "provider's IAM")
        return
    chain.ok("flux.decryption", f"Kustomization {ks.label} decrypts with sops and Secret {ks.namespace}/{name}")
    _check_cloud_auth(ctx, ks, ids, chain)
    if chain.broken:
        return
    _check_secret_side(ctx, file, ks, ks.namespace, name, ids, parsed, chain)


def _check_cloud_auth(ctx: _Context, ks: FluxKs, ids: dict[str, list[str]], chain: _Chain) -> None:
    """For a file only cloud keys open: can the controller reach one of them (``cloudauth``)?"""
    if set(ids) & {"age", "pgp"}:
        return
    names: list[str] | None = None
    if ks.secret_name is not None and ctx.options.cluster is not None:
        secret = ctx.key_secret(ks.namespace, ks.secret_name)
        if secret is None or not secret.exists:
            return  # cluster.secret names the missing or unreadable Secret
        names = secret.key_names
    verdict = check_cloud_auth(ks, set(ids), ctx.controller_view().for_kustomization(ks), names)
    if verdict is None:
        return
    chain.checks.append(Check("flux.kms-auth", verdict.status, verdict.message, chain.rel, verdict.fix))
    chain.broken = chain.broken or verdict.status == "fail"


def _global_checks(ctx: _Context, report: Report, files: list[RepoFile]) -> None:
    config = ctx.config
    if config is not None:
        for rule in config.creation_rules:
            if rule.path_regex is None or _is_catch_all(rule):
                continue
            matched = [f for f in files if rule.matches(_config_relative(config, f))]
            wins = [f for f in matched if _winning_rule(config, f)[0] is rule]
            if matched and not wins:
                winner = _winning_rule(config, matched[0])[0]
                assert winner is not None
                report.checks.append(Check(
                    "sopsyaml.rule-wins", "fail",
                    f"{_rule_label(rule)} never applies: {_rule_label(winner)} comes first and matches its "
                    f"{len(matched)} file(s)", CONFIG_NAME,
                    f"move {_rule_label(rule)} above {_rule_label(winner)} in {CONFIG_NAME}"))
    for ks in ctx.kustomizations:
        if ks.status is None:
            continue
        ready = ks.ready()
        revision = ks.status.get("lastAppliedRevision") or "none"
        if ready is None:
            report.checks.append(Check("flux.ready", "unknown", f"Kustomization {ks.label} reports no Ready "
                                       "condition yet", ks.defined_in))
        elif ready.get("status") == "True":
            report.checks.append(Check("flux.ready", "ok", f"Kustomization {ks.label} is Ready (last applied "
                                       f"revision {revision})", ks.defined_in))
        else:
            message = str(ready.get("message") or ready.get("reason") or "not ready")
            decrypt = "decrypt" in message.lower() or "sops" in message.lower()
            report.checks.append(Check(
                "flux.ready", "fail", f"Kustomization {ks.label} is not Ready (last applied revision {revision}): "
                + message.splitlines()[0][:300], ks.defined_in,
                "run `sopskit doctor --cluster` on the files it builds" if decrypt
                else f"flux reconcile kustomization {ks.name} -n {ks.namespace} after fixing the cause"))


def _looks_sops(file: RepoFile) -> bool:
    """A SOPS file, or one that was meant to be (``ENC[`` values) but no longer parses as one:
    a merge conflict or a truncated write is exactly the "malformed file" Flux trips on."""
    if file.rel.endswith(_TEXT_SUFFIXES):
        return file.is_encrypted or _ENC_VALUE.search(file.raw) is not None
    if not file.is_encrypted:
        return False
    try:  # another name (a binary secret, a .py test holding JSON): only if it really is SOPS
        parse_encrypted(file.raw, name=file.rel)
    except SopsError:
        return False
    return True


def diagnose(root: Path, options: Options | None = None, *, progress: Callable[[int], None] | None = None) -> Report:
    """Diagnose every SOPS file under ``options.scope`` of the repository at ``root``."""
    from sopskit.doctor.checklist import add_checklist

    options = options or Options()
    repo = load_repo(root)
    config, config_check = load_sops_config(repo.root)
    cluster_objects: list[dict[str, Any]] = []
    flux_error: str | None = None
    if options.cluster is not None:
        try:
            cluster_objects = options.cluster.list_kustomizations()
        except SopsError as exc:
            flux_error = exc.message
    ctx = _Context(repo, config, options, find_kustomizations(repo, cluster_objects))
    report = Report(mode="cluster" if options.cluster is not None else "offline")
    scope = options.scope.strip("/")
    files = [
        f for f in repo.files
        if _looks_sops(f) and (not scope or f.rel == scope or f.rel.startswith(scope + "/"))
        and f.name != ".sops.yaml"
    ]
    if options.only_files is not None:
        files = [f for f in files if f.rel in options.only_files]
    if options.kustomization is not None:
        wanted = [ks for ks in ctx.kustomizations if (ks.namespace, ks.name) == options.kustomization]
        if not wanted:
            report.checks.append(Check("flux.kustomization", "fail", "no Kustomization {}/{} in the repository "
                                       "or cluster".format(*options.kustomization), None,
                                       "check the name with `kubectl get kustomizations -A`"))
        ctx.kustomizations = wanted
        files = [f for f in files if any(f.rel in ks.builds for ks in wanted)]
    if options.decrypting_with is not None:
        ctx.kustomizations = [
            ks for ks in ctx.kustomizations if (ks.namespace, ks.secret_name) == options.decrypting_with
        ]
        files = [f for f in files if any(f.rel in ks.builds for ks in ctx.kustomizations)]
    report.files = len(files)
    if config_check.status == "fail" and files:
        report.checks.append(config_check)
    done = 0

    def finished(_index: int, _checks: list[Check]) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done)

    # files in parallel (each one's data key is opened once), checks in the files' order
    for checks in run_bounded(files, lambda file: diagnose_file(ctx, file), workers=options.workers,
                              on_done=finished):
        report.checks.extend(checks)
    _global_checks(ctx, report, files)
    if flux_error is not None:
        report.checks.append(Check("flux.ready", "unknown", f"cannot list Flux Kustomizations: {flux_error}"))
    add_checklist(ctx, report, files)
    return report


__all__ = ["Options", "diagnose", "diagnose_file", "load_sops_config", "record_ids"]
