"""Whether ``flux-system`` can hold a SOPS decryption-key Secret at all.

``decryption-key-readable`` guards the Secret that kustomize-controller decrypts with: an age
or PGP private key, or cloud credentials, named by a Kustomization's
``spec.decryption.secretRef`` or by the controller's global ``--sops-age-secret`` flag. A
repository whose SOPS files and ``.sops.yaml`` rules name only cloud KMS keys (AWS KMS, GCP KMS,
Azure Key Vault, Vault transit) and that names no such Secret anywhere has none: the controller
decrypts with its own cloud identity (workload identity, IRSA), so there is no key to read.
Nor has a repository that uses no SOPS at all: no ``.sops.yaml``, no SOPS file, no
Kustomization with ``spec.decryption``, no decryption patch or global flag (Flux repositories
that keep their secrets with External Secrets or Sealed Secrets). Nor, for the same reason, has
a Flux repository whose SOPS files serve other tools only: no Kustomization decrypts and no
build reads any of them (Terraform or Ansible secrets beside manifests kept with External Secrets).

Every doubt keeps the check applicable (a key Secret *may* exist): an age or PGP recipient in
any ``.sops.yaml`` or file metadata, a ``.sops.yaml`` or a SOPS file whose keys cannot be read, a
key type this table does not know, a ``.sops.yaml`` or SOPS file naming no key, a ``secretRef`` in any Flux
Kustomization (whatever its source), a patch that sets ``spec.decryption``, the global flag, or
a committed Secret carrying a data key Flux's decryptor reads (``*.agekey``, ``sops.gcp-kms``...),
or, in any manifest but a CRD, a ``decryption`` mapping with a ``secretRef`` or a text patching
``spec.decryption`` (a ``FluxInstance``'s ``spec.kustomize.patches``).
File metadata is read with :func:`sopskit.stores.read_encrypted`, as every command does (the
policy layer never decrypts).
"""

from __future__ import annotations

import re

from sopskit.errors import SopsError
from sopskit.format.keytypes import flux_reads
from sopskit.policy.context import CheckContext
from sopskit.policy.fluxgraph import flux_kustomizations, graph_of, is_archived
from sopskit.policy.repo import RepoFile, is_kind
from sopskit.policy.sopsconfig import SopsConfigView
from sopskit.stores import format_for_path, get_store, read_encrypted

#: master-key types the controller uses through its own cloud identity (no key Secret needed)
CLOUD_KEY_TYPES = frozenset(("kms", "gcp_kms", "azure_kv", "hc_vault"))
_FALLBACK_FORMATS = ("yaml", "json", "dotenv", "ini")
#: a patch (JSON 6902 path or strategic-merge body) that sets a Kustomization's decryption
_DECRYPTION_PATCH = re.compile(r"(?m)/spec/decryption\b|^\s*decryption:")


def no_decryption_key_secret(ctx: CheckContext) -> str | None:
    """Why ``flux-system`` holds no SOPS decryption-key Secret; None when it may hold one."""
    cached = ctx.shared.get("no_decryption_key_secret", False)
    if cached is not False:
        return cached if isinstance(cached, str) else None
    reason = _reason(ctx)
    ctx.shared["no_decryption_key_secret"] = reason
    return reason


def _reason(ctx: CheckContext) -> str | None:
    if _sops_only_outside_flux(ctx):
        return (
            "no Flux Kustomization decrypts (no spec.decryption, patch or global flag) and no build reads any of "
            "the repository's SOPS files (they serve other tools): Flux uses no decryption key here "
            "(rbac-workload-reads-all-secrets still reports broad Secret reads)"
        )
    types: set[str] = set()
    for config in _live_configs(ctx):
        if config.error is not None or config.parse.error is not None:
            return None
        types |= {key.key_type for rule in config.rules for group in rule.rule.key_groups for key in group}
        if not types <= CLOUD_KEY_TYPES:
            return None
    for file in _live_encrypted(ctx):
        file_types = file_key_types(file)
        if file_types is None:
            return None
        types |= file_types
        if not types <= CLOUD_KEY_TYPES:
            return None
    if not types and (bool(_live_configs(ctx)) or bool(_live_encrypted(ctx))):
        return None  # SOPS in use, but no key named: nothing tells how Flux decrypts
    graph = graph_of(ctx)
    if graph.global_decryption or graph.decryption_patched:
        return None
    for k in flux_kustomizations(ctx.repo):
        decryption = k.spec.get("decryption")
        if isinstance(decryption, dict) and (decryption.get("secretRef") or not types):
            return None
    if _committed_key_secret(ctx) or _names_decryption_elsewhere(ctx):
        return None
    if not types:
        return (
            "the repository uses no SOPS (no .sops.yaml, no encrypted file, no Kustomization that decrypts): "
            "flux-system holds no SOPS decryption key (rbac-workload-reads-all-secrets still reports broad "
            "Secret reads)"
        )
    return (
        f"the SOPS files and .sops.yaml rules use only cloud KMS keys ({', '.join(sorted(types))}), and no "
        "Kustomization names a decryption secretRef: flux-system holds no SOPS decryption key "
        "(rbac-workload-reads-all-secrets still reports broad Secret reads)"
    )


def _sops_only_outside_flux(ctx: CheckContext) -> bool:
    """The repository has SOPS files, but only for other tools (Terraform, Ansible, Talos): Flux
    Kustomizations exist, none decrypts (no ``spec.decryption`` in any, no decryption patch, no
    global flag, no ``decryption`` named elsewhere, no committed key Secret) and no build reads a
    SOPS file. Every doubt keeps the check: no Flux Kustomization, builds that cannot be told
    (:meth:`FluxGraph.reaches` is then True), or a ``.sops.yaml`` with no encrypted file yet."""
    encrypted = _live_encrypted(ctx)
    if not encrypted:
        return False
    graph = graph_of(ctx)
    if not graph.kustomizations or graph.global_decryption or graph.decryption_patched:
        return False
    if any(isinstance(k.spec.get("decryption"), dict) for k in flux_kustomizations(ctx.repo)):
        return False
    if _committed_key_secret(ctx) or _names_decryption_elsewhere(ctx):
        return False
    return not any(graph.reaches(file.rel) for file in encrypted)


def _live_encrypted(ctx: CheckContext) -> list[RepoFile]:
    """The SOPS files outside archive trees: a ``.archived/`` copy of an old setup (its key
    Secret, its ``.sops.yaml``) says nothing about how Flux decrypts today."""
    return [file for file in ctx.repo.files if file.is_encrypted and not is_archived(file.rel)]


def _live_configs(ctx: CheckContext) -> list[SopsConfigView]:
    return [config for config in ctx.sops_configs
            if not is_archived(ctx.relative(config.path))]


def file_key_types(file: RepoFile) -> set[str] | None:
    """The master-key types in a SOPS file's metadata (no key needed); None when unreadable.

    The store is sops's choice for the file name; a name sops would open as binary (no known
    suffix: ``kubeconfig``) is tried as the structured formats too, as ``--input-type`` would."""
    first = format_for_path(file.rel)
    for name in dict.fromkeys((first, *_FALLBACK_FORMATS)):
        try:
            _branches, metadata = read_encrypted(file.raw, get_store(name))
        except (SopsError, ValueError, TypeError, UnicodeDecodeError):
            continue
        return {record.key_type for record in metadata.records()}
    return None


def _names_decryption_elsewhere(ctx: CheckContext) -> bool:
    """A ``decryption`` mapping with a ``secretRef``, or a patch text setting ``spec.decryption``,
    anywhere in a manifest other than a CRD schema: a Flux Operator ``FluxInstance``'s
    ``spec.kustomize.patches``, a ``ResourceSet`` template, Helm values rendering Kustomizations."""
    for file, doc in ctx.repo.documents():
        if is_archived(file.rel):
            continue
        if not is_kind(doc.data, "CustomResourceDefinition") and _mentions_decryption(doc.data, 0):
            return True
    return False


def _mentions_decryption(node: object, depth: int) -> bool:
    if depth > 40:
        return True  # too deep to tell: keep the check
    if isinstance(node, dict):
        decryption = node.get("decryption")
        if isinstance(decryption, dict) and "secretRef" in decryption:
            return True
        return any(_mentions_decryption(value, depth + 1) for value in node.values())
    if isinstance(node, list):
        return any(_mentions_decryption(value, depth + 1) for value in node)
    return isinstance(node, str) and _DECRYPTION_PATCH.search(node) is not None


def _committed_key_secret(ctx: CheckContext) -> bool:
    """A Secret in the repository (plain or SOPS-encrypted) with a data key Flux's decryptor reads."""
    for file, doc in ctx.repo.documents():
        if not is_kind(doc.data, "Secret") or is_archived(file.rel):
            continue
        for field in ("data", "stringData"):
            entries = doc.data.get(field)
            if isinstance(entries, dict) and any(flux_reads(str(key)) for key in entries):
                return True
    return False
