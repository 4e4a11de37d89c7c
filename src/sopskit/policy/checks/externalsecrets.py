"""External Secrets Operator guardrails.

``externalsecret-prefix``: every remote key an ``ExternalSecret`` reads (``spec.data[].remoteRef.key``,
``spec.dataFrom[].extract.key``, ``spec.dataFrom[].find.path``) must start with a prefix allowed
for its namespace (``sopskit.externalsecret_prefixes``; ``"*"`` is every namespace without its own
entry, ``{namespace}`` in a prefix is replaced), so one team's manifest cannot pull another team's
secrets. One leading ``/`` is ignored on both sides (SSM parameter names start with one).
``clustersecretstore-in-app-namespace``: an ``ExternalSecret`` in one of ``sopskit.app_namespaces``
(globs; never the platform namespaces) that uses a ``ClusterSecretStore`` (in ``secretStoreRef``
or a ``dataFrom[].sourceRef.storeRef``): cluster stores can read every tenant's keys, so
applications should use their namespace's ``SecretStore``.

Both are multi-tenant rules: a single-team cluster reading one password manager through one
``ClusterSecretStore`` is the documented, correct set-up. So without their setting they are
"not applicable", never violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase
from typing import Any

from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.repo import RepoFile, is_kind, name_of
from sopskit.policy.results import Violation
from sopskit.policy.yamldocs import YamlDocument

_API = "external-secrets.io/"


def _external_secrets(ctx: CheckContext) -> Iterator[tuple[RepoFile, YamlDocument, dict[str, Any], str]]:
    for file, doc in ctx.repo.documents():
        if is_kind(doc.data, "ExternalSecret", _API) and isinstance(doc.data.get("spec"), dict):
            yield file, doc, doc.data["spec"], ctx.repo.namespace_of(file, doc) or "default"


def _remote_keys(spec: dict[str, Any]) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    for index, item in enumerate(spec.get("data") or []):
        ref = item.get("remoteRef") if isinstance(item, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("key"), str):
            yield ref["key"], ("spec", "data", index, "remoteRef", "key")
    for index, item in enumerate(spec.get("dataFrom") or []):
        if not isinstance(item, dict):
            continue
        extract, find = item.get("extract"), item.get("find")
        if isinstance(extract, dict) and isinstance(extract.get("key"), str):
            yield extract["key"], ("spec", "dataFrom", index, "extract", "key")
        if isinstance(find, dict) and isinstance(find.get("path"), str):
            yield find["path"], ("spec", "dataFrom", index, "find", "path")


def _has_prefix(key: str, prefixes: tuple[str, ...]) -> bool:
    return any(prefix == "*" or _bare(key).startswith(_bare(prefix)) for prefix in prefixes)


def _bare(text: str) -> str:
    return text[1:] if text.startswith("/") else text


def _prefix_violations(ctx: CheckContext) -> Iterator[Violation]:
    if not ctx.settings.externalsecret_prefixes:
        ctx.mark_not_applicable(
            EXTERNALSECRET_PREFIX.id, "sopskit.externalsecret_prefixes is not set (no tenant prefixes to enforce)"
        )
        return
    ctx.count(EXTERNALSECRET_PREFIX.id, 0)
    for file, doc, spec, namespace in _external_secrets(ctx):
        allowed = ctx.settings.allowed_prefixes(namespace)
        if namespace not in ctx.settings.externalsecret_prefixes and "*" not in ctx.settings.externalsecret_prefixes:
            ctx.note(EXTERNALSECRET_PREFIX.id, f"not checked: namespace {namespace!r} has no prefixes configured")
            continue
        ctx.count(EXTERNALSECRET_PREFIX.id)
        for key, path in _remote_keys(spec):
            if not _has_prefix(key, allowed):
                yield Violation(
                    EXTERNALSECRET_PREFIX.id,
                    file.rel,
                    doc.line_of(*path),
                    f"ExternalSecret {name_of(doc.data)!r} in namespace {namespace!r} reads remote key "
                    f"{key!r}, outside the allowed prefixes ({', '.join(allowed) or 'none'})",
                    f"move the secret under {allowed[0] if allowed else namespace + '/'} in the store, "
                    f"or allow the prefix in .sops.yaml: sopskit.externalsecret_prefixes.{namespace}",
                )


def _store_refs(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], tuple[str | int, ...]]]:
    ref = spec.get("secretStoreRef")
    if isinstance(ref, dict):
        yield ref, ("spec", "secretStoreRef")
    for index, item in enumerate(spec.get("dataFrom") or []):
        source = item.get("sourceRef") if isinstance(item, dict) else None
        store = source.get("storeRef") if isinstance(source, dict) else None
        if isinstance(store, dict):
            yield store, ("spec", "dataFrom", index, "sourceRef", "storeRef")


def _cluster_store_violations(ctx: CheckContext) -> Iterator[Violation]:
    apps = ctx.settings.app_namespaces
    if not apps:
        ctx.mark_not_applicable(
            CLUSTERSECRETSTORE_IN_APP_NAMESPACE.id, "sopskit.app_namespaces is not set (no tenant namespaces)"
        )
        return
    ctx.count(CLUSTERSECRETSTORE_IN_APP_NAMESPACE.id, 0)
    for file, doc, spec, namespace in _external_secrets(ctx):
        if namespace in ctx.settings.platform_namespaces or not any(fnmatchcase(namespace, g) for g in apps):
            continue
        ctx.count(CLUSTERSECRETSTORE_IN_APP_NAMESPACE.id)
        for ref, path in _store_refs(spec):
            if ref.get("kind") == "ClusterSecretStore":
                yield Violation(
                    CLUSTERSECRETSTORE_IN_APP_NAMESPACE.id,
                    file.rel,
                    doc.line_of(*path),
                    f"ExternalSecret {name_of(doc.data)!r} in application namespace {namespace!r} uses "
                    f"ClusterSecretStore {ref.get('name', '<unnamed>')!r}",
                    f"create a namespaced SecretStore in {namespace!r} scoped to its secrets and reference "
                    "it with kind: SecretStore (or take the namespace out of sopskit.app_namespaces)",
                )


EXTERNALSECRET_PREFIX = Check(
    id="externalsecret-prefix",
    title="ExternalSecret reads a remote key outside its namespace's prefixes",
    catches="spec.data[].remoteRef.key, spec.dataFrom[].extract.key or find.path not starting with a "
    "prefix allowed for the ExternalSecret's namespace (sopskit.externalsecret_prefixes; not applicable "
    "when unset).",
    fix="Store the secret under the namespace's prefix, or allow the prefix in "
    "sopskit.externalsecret_prefixes.",
    run=_prefix_violations,
)
CLUSTERSECRETSTORE_IN_APP_NAMESPACE = Check(
    id="clustersecretstore-in-app-namespace",
    title="ClusterSecretStore referenced from an application namespace",
    catches="An ExternalSecret in a sopskit.app_namespaces namespace (not applicable when unset) whose "
    "secretStoreRef (or a dataFrom sourceRef.storeRef) has kind: ClusterSecretStore.",
    fix="Use a namespaced SecretStore whose credentials only reach that namespace's secrets.",
    run=_cluster_store_violations,
)
