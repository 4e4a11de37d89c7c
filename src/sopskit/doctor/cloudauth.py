"""How Flux's kustomize-controller authenticates to a file's cloud key service, and what is missing.

A file encrypted only for cloud keys (Azure Key Vault, GCP KMS, AWS KMS, Vault transit) opens in
the cluster when the controller can call that service. kustomize-controller's decryptor
(``internal/decryptor/decryptor.go``: ``ImportKeys`` then ``SetAuthOptions``) looks, per provider:

1. in the Kustomization's ``spec.decryption.secretRef`` Secret, for one exact data key name
   (``sops.azure-kv``, ``sops.gcp-kms``, ``sops.aws-kms``, ``sops.vault-token``); any other name,
   ``azure-kv`` included, is silently ignored;
2. else at ``spec.decryption.serviceAccountName`` (object-level workload identity, Flux 2.6+,
   only with the controller's ``ObjectLevelWorkloadIdentity`` feature gate; without it the
   Kustomization stalls with reason ``FeatureGateDisabled``);
3. else at the controller's own identity: its ServiceAccount's workload-identity annotation
   (``azure.workload.identity/client-id`` plus the pod label ``azure.workload.identity/use:
   "true"`` on AKS, ``iam.gke.io/gcp-service-account``, ``eks.amazonaws.com/role-arn``) or
   credentials in its environment (``AZURE_CLIENT_ID``/``AZURE_FEDERATED_TOKEN_FILE``,
   ``GOOGLE_APPLICATION_CREDENTIALS``, ``VAULT_TOKEN``, ``--sops-vault-configmap``), or, on AKS
   clusters still running the deprecated AAD Pod Identity, the pod label ``aadpodidbinding`` (the
   wiring kustomize-controller's v1beta2 docs give, found in real repositories).

The controller's identity is read from the repository, where ``flux bootstrap`` keeps it: patches
in the ``kustomization.yaml`` next to ``gotk-components.yaml`` targeting the kustomize-controller
ServiceAccount or Deployment (strategic-merge or JSON 6902, inline or from a file), and
ServiceAccount/Deployment manifests named ``kustomize-controller``. The decryption Secret's *key
names* come from the cluster (``doctor --cluster``); no value is read for a cloud credential.

Some wiring leaves no trace in manifests (EKS Pod Identity, GKE workload identity federation
granting the controller's ServiceAccount directly): for AWS and GCP a missing annotation is
therefore "unknown", not a failure. Azure Key Vault has no such path for SOPS (Flux supports
node-level identity for ACR only), so there a missing wiring fails.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sopskit.doctor.model import Status
from sopskit.doctor.wiring import FluxKs
from sopskit.format.keytypes import flux_reads, key_type
from sopskit.ops.fluxauth import (
    AWS_ANNOTATION,
    CLIENT_ID_ANNOTATION,
    CONTROLLER,
    FLUX_MANIFESTS,
    GCP_ANNOTATION,
    USE_LABEL,
    targets_controller,
)
from sopskit.policy.repo import Repo, RepoFile, is_kind, name_of

FEATURE_GATE = "ObjectLevelWorkloadIdentity"


@dataclass(frozen=True)
class Provider:
    """What Flux reads to authenticate to one key service."""

    key_type: str
    label: str
    #: ServiceAccount annotations that bind a workload identity (any one)
    annotations: tuple[str, ...] = ()
    #: pod-template labels the identity also needs (AKS's webhook injects only into labelled pods)
    pod_labels: tuple[tuple[str, str], ...] = ()
    #: pod-template labels that bind an identity by themselves, any value (AAD Pod Identity's
    #: ``aadpodidbinding`` names the AzureIdentityBinding; its NMI answers the controller's
    #: managed-identity token requests)
    binding_labels: tuple[str, ...] = ()
    #: controller environment variables that carry credentials (any one)
    env: tuple[str, ...] = ()
    #: controller flags that enable a secret-less login (any one)
    args: tuple[str, ...] = ()
    #: a wiring the manifests cannot show, when there is one (the reason "missing" is not certain)
    invisible: str | None = None
    #: ``sopskit repo init`` flag that writes the workload identity
    init_flag: str | None = None
    #: words that mark a near-miss data key name (``azure-kv`` for ``sops.azure-kv``)
    near: tuple[str, ...] = ()

    @property
    def secret_key(self) -> str:
        """The exact data key of the decryption Secret Flux reads for this key type."""
        row = key_type(self.key_type)
        return row.flux_secret_key if row is not None else ""


PROVIDERS: tuple[Provider, ...] = (
    Provider("azure_kv", "Azure Key Vault",
             annotations=(CLIENT_ID_ANNOTATION,),
             pod_labels=((USE_LABEL, "true"),), binding_labels=("aadpodidbinding",),
             env=("AZURE_CLIENT_ID", "AZURE_FEDERATED_TOKEN_FILE"),
             init_flag="--azure-identity CLIENT_ID", near=("azure", "azkv")),
    Provider("gcp_kms", "GCP KMS",
             annotations=(GCP_ANNOTATION,), env=("GOOGLE_APPLICATION_CREDENTIALS",),
             invisible="unless GKE workload identity federation grants its ServiceAccount directly",
             init_flag="--gcp-service-account EMAIL", near=("gcp", "gcloud", "google")),
    Provider("kms", "AWS KMS",
             annotations=(AWS_ANNOTATION,),
             env=("AWS_ACCESS_KEY_ID", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"),
             invisible="unless an EKS Pod Identity association gives it a role",
             init_flag="--aws-role-arn ARN", near=("aws", "kms")),
    Provider("hc_vault", "Vault transit",
             env=("VAULT_TOKEN",), args=("--sops-vault-configmap",), near=("vault",)),
)
BY_KEY_TYPE = {p.key_type: p for p in PROVIDERS}


@dataclass
class Identity:
    """What the repository shows of one ServiceAccount and the controller Deployment."""

    annotations: dict[str, str] = field(default_factory=dict)
    pod_labels: dict[str, str] = field(default_factory=dict)
    env: set[str] = field(default_factory=set)
    args: list[str] = field(default_factory=list)
    #: where the facts were found (repository paths)
    sources: set[str] = field(default_factory=set)


@dataclass
class ControllerView:
    """kustomize-controller as the repository describes it. ``installed_in`` is the
    ``kustomization.yaml`` that installs Flux (None: the install is not in this repository, so a
    missing annotation proves nothing)."""

    installed_in: str | None
    controller: Identity
    #: other ServiceAccounts found, by (namespace, name): the object-level identities
    accounts: dict[tuple[str, str], Identity]
    #: the installs it could belong to when ``installed_in`` is None although the repository holds
    #: several (a Kustomization defined in a base shared by the clusters)
    candidates: tuple[str, ...] = ()

    @property
    def feature_gate(self) -> bool:
        return any(FEATURE_GATE + "=true" in arg.replace(" ", "") for arg in self.controller.args
                   if arg.startswith("--feature-gates"))

    @property
    def default_decryption_account(self) -> str | None:
        for arg in self.controller.args:
            if arg.startswith("--default-decryption-service-account="):
                return arg.split("=", 1)[1] or None
        return None


# -- reading the repository ---------------------------------------------------------------------

def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _containers(spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    containers = _mapping(_mapping(spec.get("template")).get("spec")).get("containers")
    for container in containers if isinstance(containers, list) else []:
        if isinstance(container, dict):
            yield container


def _merge_manifest(identity: Identity, doc: Mapping[str, Any], kind: str) -> None:
    """A strategic-merge patch or a full manifest of the ServiceAccount or Deployment."""
    if kind == "ServiceAccount":
        for key, value in _mapping(_mapping(doc.get("metadata")).get("annotations")).items():
            identity.annotations[str(key)] = str(value)
        return
    spec = _mapping(doc.get("spec"))
    for key, value in _mapping(_mapping(_mapping(spec.get("template")).get("metadata")).get("labels")).items():
        identity.pod_labels[str(key)] = str(value)
    for container in _containers(spec):
        for env in container.get("env") or []:
            if isinstance(env, dict) and isinstance(env.get("name"), str):
                identity.env.add(env["name"])
        identity.args.extend(str(a) for a in container.get("args") or [] if isinstance(a, (str, int)))


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _json6902(identity: Identity, ops: list[Any]) -> None:
    """The ``add``/``replace`` operations that set an annotation, a pod label, env or an arg."""
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in ("add", "replace"):
            continue
        parts = [_unescape(p) for p in str(op.get("path", "")).split("/")[1:]]
        value = op.get("value")
        if parts[:2] == ["metadata", "annotations"]:
            _set_map(identity.annotations, parts[2:], value)
        elif parts[:4] == ["spec", "template", "metadata", "labels"]:
            _set_map(identity.pod_labels, parts[4:], value)
        elif parts[:4] == ["spec", "template", "spec", "containers"] and len(parts) >= 6:
            items = value if parts[6:] == [] and isinstance(value, list) else [value]
            if parts[5] == "env":
                identity.env.update(str(v["name"]) for v in items if isinstance(v, dict) and "name" in v)
            elif parts[5] == "args":
                identity.args.extend(str(v) for v in items if isinstance(v, (str, int)))
        elif parts[:4] == ["spec", "template", "spec", "containers"] and len(parts) == 4 and isinstance(value, list):
            _merge_manifest(identity, {"spec": {"template": {"spec": {"containers": value}}}}, "Deployment")


def _set_map(into: dict[str, str], rest: list[str], value: Any) -> None:
    if len(rest) == 1:
        into[rest[0]] = str(value)
    elif not rest and isinstance(value, dict):
        into.update({str(k): str(v) for k, v in value.items()})


def _patch_bodies(repo: Repo, file: RepoFile, kustomization: Mapping[str, Any]) -> Iterator[tuple[Any, Any]]:
    """(target, parsed patch) of every patch a kustomization.yaml lists, inline or from a file."""
    import yaml

    base = posixpath.dirname(file.rel)

    def load(entry: Mapping[str, Any]) -> list[Any]:
        text = entry.get("patch")
        if not isinstance(text, str) and isinstance(entry.get("path"), str):
            other = repo.by_rel.get(posixpath.normpath(posixpath.join(base, entry["path"])))
            text = other.text if other is not None else None
        if not isinstance(text, str):
            return []
        try:
            return [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError:
            return []

    for key in ("patches", "patchesJson6902"):
        for entry in kustomization.get(key) or []:
            if isinstance(entry, dict):
                for doc in load(entry):
                    yield _mapping(entry.get("target")), doc
    for entry in kustomization.get("patchesStrategicMerge") or []:
        if isinstance(entry, str):
            for doc in load({"patch": entry} if "\n" in entry else {"path": entry}):
                yield {}, doc


def _merge_identity(into: Identity, piece: Identity) -> None:
    into.annotations.update(piece.annotations)
    into.pod_labels.update(piece.pod_labels)
    into.env |= piece.env
    into.args.extend(piece.args)
    into.sources |= piece.sources


def _cluster_dir(install: str) -> str:
    """``clusters/prod`` for ``clusters/prod/flux-system/kustomization.yaml``: bootstrap's layout."""
    return posixpath.dirname(posixpath.dirname(install))


def _under(rel: str, directory: str) -> bool:
    return not directory or rel.startswith(directory + "/")


@dataclass
class ControllerFacts:
    """Every install of Flux in the repository and what each file says of kustomize-controller,
    so a repository holding several clusters answers for the cluster of each Kustomization."""

    installs: list[str] = field(default_factory=list)
    pieces: list[tuple[str, Identity]] = field(default_factory=list)
    accounts: dict[tuple[str, str], Identity] = field(default_factory=dict)

    def for_kustomization(self, ks: FluxKs) -> ControllerView:
        """The controller of the cluster ``ks`` belongs to: the install whose cluster folder holds
        its definition (the only install when there is one). None when it cannot be told apart,
        so nothing from another cluster's patches counts for it."""
        install: str | None = self.installs[0] if len(self.installs) == 1 else None
        if len(self.installs) > 1 and ks.defined_in:
            owners = [i for i in self.installs if _under(ks.defined_in, _cluster_dir(i))]
            install = max(owners, key=len) if owners else None
        identity = Identity()
        if install is None and len(self.installs) > 1:
            return ControllerView(None, identity, self.accounts, tuple(self.installs))
        for rel, piece in self.pieces:
            clusters = [i for i in self.installs if _under(rel, _cluster_dir(i))]
            if not clusters or install is None or install in clusters:
                _merge_identity(identity, piece)
        return ControllerView(install, identity, self.accounts)


def controller_view(repo: Repo) -> ControllerFacts:
    """Read kustomize-controller's identity (and other ServiceAccounts) from the repository."""
    facts = ControllerFacts()
    for file, doc in repo.kustomizations():
        data = doc.data
        resources = data.get("resources") or []
        if isinstance(resources, list) and any(str(r).endswith(FLUX_MANIFESTS) for r in resources):
            facts.installs.append(file.rel)
        piece = Identity()
        for target, patch in _patch_bodies(repo, file, data):
            for kind in ("ServiceAccount", "Deployment"):
                if isinstance(patch, list) and targets_controller(target, {}, kind):
                    _json6902(piece, patch)
                    piece.sources.add(file.rel)
                elif isinstance(patch, dict) and targets_controller(target, patch, kind) \
                        and (not patch.get("kind") or patch.get("kind") == kind):
                    _merge_manifest(piece, patch, kind)
                    piece.sources.add(file.rel)
        if piece.sources:
            facts.pieces.append((file.rel, piece))
    for file in repo.files:
        # a direct manifest; gotk-components.yaml is generated and carries no identity, skip it
        # (and parse only files that can hold a ServiceAccount or the controller: parsing is slow)
        wanted = b"ServiceAccount" in file.raw or CONTROLLER.encode() in file.raw
        if not wanted or file.name == FLUX_MANIFESTS or not file.is_yaml or file.is_encrypted or file.yaml is None:
            continue
        for doc in file.yaml.documents:
            for kind in ("ServiceAccount", "Deployment"):
                if not is_kind(doc.data, kind):
                    continue
                meta = _mapping(doc.data.get("metadata"))
                namespace = str(meta.get("namespace") or repo.namespace_of(file, doc) or "default")
                if name_of(doc.data) == CONTROLLER and namespace in ("flux-system", "default"):
                    piece = Identity(sources={file.rel})
                    _merge_manifest(piece, doc.data, kind)
                    facts.pieces.append((file.rel, piece))
                elif kind == "ServiceAccount":
                    account = facts.accounts.setdefault((namespace, name_of(doc.data)), Identity())
                    _merge_manifest(account, doc.data, kind)
                    account.sources.add(file.rel)
    return facts


# -- the check ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Verdict:
    """The answer for one file and one Kustomization: ``status`` of check ``flux.kms-auth``."""

    status: Status
    message: str
    fix: str | None = None


def _identity_wiring(provider: Provider, identity: Identity) -> tuple[bool, str | None]:
    """(wired, what is half-done) for a controller-level or object-level identity."""
    if identity.env.intersection(provider.env) or any(
            arg.startswith(flag) for arg in identity.args for flag in provider.args) or any(
            identity.pod_labels.get(label) for label in provider.binding_labels):
        return True, None
    annotated = [a for a in provider.annotations if identity.annotations.get(a)]
    if not annotated:
        return False, None
    missing_labels = [f'{k}: "{v}"' for k, v in provider.pod_labels if identity.pod_labels.get(k, "").lower() != v]
    if missing_labels:
        return False, (f"its ServiceAccount has {annotated[0]} but the pod template lacks the label "
                       f"{', '.join(missing_labels)}, so the workload identity webhook never injects the token")
    return True, None


def _near_misses(provider: Provider, key_names: list[str]) -> list[str]:
    """Data key names meant for ``provider`` that Flux ignores (``azure-kv``, ``sops.azure-kv.yaml``);
    a name Flux reads for another service is not one."""
    return [k for k in key_names if not flux_reads(k) and any(w in k.lower() for w in provider.near)]


def check_cloud_auth(
    ks: FluxKs, key_types: set[str], view: ControllerView, key_names: list[str] | None,
) -> Verdict | None:
    """Whether ``ks`` can authenticate to at least one of the file's cloud key services.

    ``key_names`` are the decryption Secret's data key names (None when not known: offline, or no
    ``secretRef``). Returns None when the file has no cloud key Flux knows.
    """
    providers = [BY_KEY_TYPE[t] for t in sorted(key_types) if t in BY_KEY_TYPE]
    if not providers:
        return None
    secret = ks.secret_name
    account = ks.decryption.get("serviceAccountName") or view.default_decryption_account
    gaps: list[str] = []
    unknowns: list[str] = []
    for provider in providers:
        if key_names is not None and provider.secret_key in key_names:
            return Verdict("ok", f"Secret {ks.namespace}/{secret} has {provider.secret_key}, Flux's static "
                           f"credential for {provider.label}")
        if isinstance(account, str) and account:
            return _object_level(ks, provider, account, view)
        wired, half = _identity_wiring(provider, view.controller)
        if wired:
            where = ", ".join(sorted(view.controller.sources)) or "the repository"
            return Verdict("ok", f"{CONTROLLER} authenticates to {provider.label} with its own identity "
                           f"(workload identity or environment, from {where})")
        near = _near_misses(provider, key_names or [])
        if near:
            gaps.append(f"Secret {ks.namespace}/{secret} has {', '.join(near)}, which Flux ignores: it reads "
                        f"only {provider.secret_key}")
        elif half:
            gaps.append(f"{CONTROLLER}: {half}")
        elif secret is not None and key_names is None:
            unknowns.append(f"offline: Secret {ks.namespace}/{secret} may hold {provider.secret_key} "
                            f"(run with --cluster), and the repository shows no {provider.label} identity "
                            f"for {CONTROLLER}")
        elif view.installed_in is None and view.candidates:
            unknowns.append(f"no {provider.secret_key} entry"
                            + (f" in Secret {ks.namespace}/{secret}" if secret else " (no secretRef)")
                            + f", and the repository installs Flux {len(view.candidates)} times "
                            f"({', '.join(view.candidates)}) while Kustomization {ks.label} is defined in "
                            f"{ks.defined_in or 'no cluster folder'}, so which {CONTROLLER} decrypts it, and "
                            f"its {provider.label} identity, cannot be told")
        elif view.installed_in is None:
            unknowns.append(f"no {provider.secret_key} entry"
                            + (f" in Secret {ks.namespace}/{secret}" if secret else " (no secretRef)")
                            + f", and the Flux install ({FLUX_MANIFESTS}) is not in this repository, so "
                            f"{CONTROLLER}'s {provider.label} identity cannot be checked")
        elif provider.invisible:
            unknowns.append(f"no {provider.secret_key} entry and no {provider.label} identity on {CONTROLLER} "
                            f"in {view.installed_in}, {provider.invisible}")
        else:
            gaps.append(f"no {provider.secret_key} entry"
                        + (f" in Secret {ks.namespace}/{secret}" if secret else " (no spec.decryption.secretRef)")
                        + f" and no {provider.label} workload identity on {CONTROLLER} (patches in "
                        f"{view.installed_in})")
    fix = _fix(ks, providers[0], exists=key_names is not None)
    if gaps and not unknowns:  # one reachable service is enough: fail only when none may be
        labels = " or ".join(p.label for p in providers)
        return Verdict("fail", f"Kustomization {ks.label} cannot authenticate to {labels}: " + "; ".join(gaps), fix)
    return Verdict("unknown", "; ".join(unknowns + gaps), fix)


def _object_level(ks: FluxKs, provider: Provider, account: str, view: ControllerView) -> Verdict:
    label = f"{ks.namespace}/{account}"
    if view.installed_in is not None and not view.feature_gate \
            and ks.decryption.get("serviceAccountName"):
        return Verdict("fail", f"Kustomization {ks.label} sets spec.decryption.serviceAccountName {account} but "
                       f"{CONTROLLER} runs without the {FEATURE_GATE} feature gate ({view.installed_in}); Flux "
                       "stalls it with reason FeatureGateDisabled",
                       f"add `--feature-gates={FEATURE_GATE}=true` to the {CONTROLLER} args with a patch in "
                       f"{view.installed_in}")
    if view.installed_in is not None and provider.args and not any(
            arg.startswith(flag) for arg in view.controller.args for flag in provider.args):
        return Verdict("fail", f"Kustomization {ks.label} authenticates to {provider.label} as ServiceAccount "
                       f"{label}, but {CONTROLLER} runs without {provider.args[0]} ({view.installed_in}), so that "
                       "login is disabled", f"add `{provider.args[0]}=CONFIGMAP` to the {CONTROLLER} args with a "
                       f"patch in {view.installed_in}")
    found = view.accounts.get((ks.namespace, account))
    if found is not None and provider.annotations and not any(found.annotations.get(a) for a in provider.annotations):
        return Verdict("fail", f"ServiceAccount {label} (object-level identity of {ks.label}) has no "
                       f"{provider.annotations[0]} annotation for {provider.label}",
                       f"annotate it in {sorted(found.sources)[0]}: {provider.annotations[0]}: <id>")
    return Verdict("ok", f"Kustomization {ks.label} authenticates to {provider.label} as ServiceAccount {label} "
                   "(object-level workload identity)")


def _fix(ks: FluxKs, provider: Provider, *, exists: bool) -> str:
    """Workload identity first (no credential to leak or rotate), else the Secret entry, written
    from stdin so the credential never lands in a file or the shell history."""
    secret = ks.secret_name or "sops-keys"
    if exists:
        command = (f"`kubectl -n {ks.namespace} patch secret {secret} --type merge --patch-file /dev/stdin` "
                   f"with {{\"stringData\": {{\"{provider.secret_key}\": ...}}}} on stdin")
    else:
        command = (f"`kubectl -n {ks.namespace} create secret generic {secret} "
                   f"--from-file={provider.secret_key}=/dev/stdin`")
    via_secret = (f"or put {provider.secret_key} in Secret {ks.namespace}/{secret}: {command}"
                  + ("" if ks.secret_name else f" and set spec.decryption.secretRef.name: {secret}"))
    if provider.init_flag:
        return f"`sopskit repo init {provider.init_flag}` (workload identity on {CONTROLLER}), {via_secret}"
    if provider.annotations:
        return (f"annotate the {CONTROLLER} ServiceAccount with {provider.annotations[0]} (a patch next to "
                f"{FLUX_MANIFESTS}), {via_secret}")
    return (f"give {CONTROLLER} {provider.args[0]} or {provider.env[0]} (a Deployment patch next to "
            f"{FLUX_MANIFESTS}), {via_secret}")


__all__ = ["BY_KEY_TYPE", "FEATURE_GATE", "PROVIDERS", "ControllerFacts", "ControllerView", "Identity", "Provider",
           "Verdict",
           "check_cloud_auth", "controller_view"]
