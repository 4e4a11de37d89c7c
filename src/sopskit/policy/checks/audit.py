"""Audit checks: who can read secrets, as far as the repository shows it.

``terraform-state-committed``: a Terraform state file in Git. State holds every attribute of
every resource in plaintext, secrets included (``random_password.result``, private keys,
access keys), whatever ``sensitive`` says. An empty file, or a state without resources and
outputs, holds nothing and is not reported.
``terraform-state-secret``: a state file that does hold such values; reported per resource
address, never with the value.
``wildcard-secret-read``: a cloud policy that lets a principal read *every* secret: an AWS IAM
statement allowing ``secretsmanager:GetSecretValue`` (or ``secretsmanager:*``, ``ssm:GetParameter*``,
``*``) on ``Resource: "*"``, in JSON or a Terraform ``aws_iam_policy_document``; a GCP
``roles/secretmanager.secretAccessor`` (or admin) grant at project, folder or organisation
level; an Azure Key Vault secrets role assigned above a single vault.
``rbac-workload-reads-all-secrets``: a Role/ClusterRole that allows get/list/watch on all
Secrets (no ``resourceNames``), bound to a ServiceAccount that a workload in the repository runs
as: a compromise of that workload reads every Secret of the namespace (Role) or the cluster.
A Flux HelmRelease counts as a workload running as the accounts its values name
(:mod:`sopskit.policy.helmworkloads`).
An aggregated ClusterRole counts with the rules of the ClusterRoles its ``aggregationRule`` selects.
Kubernetes's built-in ``cluster-admin``, ``admin`` and ``edit`` ClusterRoles read every Secret
(both RBAC checks, for ServiceAccount subjects); ``view`` reads none.
Flux's own controllers in ``flux-system`` (a committed ``gotk-components.yaml``) are not reported:
reading Secrets everywhere is what they are for. Nor are Argo CD's own components (accounts that
only workloads running Argo CD's image run as); ``decryption-key-readable`` still reports them:
flux-system's key is Flux's, not Argo CD's.
``decryption-key-readable``: Secrets of ``flux-system`` (where the SOPS decryption key lives)
readable by a subject other than Flux's controllers. A controller is Flux by its account name in
``flux-system`` or, wherever installed, by the image of the workload that runs as the account.
Not applicable when ``flux-system`` holds no decryption-key Secret: every SOPS key of the
repository is a cloud KMS key and nothing names a decryption ``secretRef`` or the global
``--sops-age-secret`` flag (:mod:`sopskit.policy.keysecret`); a broad read is then still
``rbac-workload-reads-all-secrets``'s finding.

RBAC in a file that the ``kustomization.yaml`` beside it does not list (when it lists some of its
neighbours: an operator's install kit often ships two variants and the kustomization picks one),
under an ``.archive/`` (``archive/``, ``archived/``) directory, or in a kustomize directory below a
Flux path that no Flux build includes (:func:`sopskit.policy.fluxgraph.dropped_from_flux`), is not
deployed: not judged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from typing import Any

from sopskit.detectors import names
from sopskit.detectors.values import is_templated
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.credentials_in_text import is_config_shaped, is_material
from sopskit.policy.fluxgraph import (
    beside_chart_templates,
    deleted_by_patch,
    dropped_from_flux,
    graph_of,
    is_archived,
    left_out_of_kustomization,
)
from sopskit.policy.helmworkloads import (
    adopted_accounts,
    chart_default_accounts,
    chart_of,
    chart_own_bindings,
    chart_secret_rbac,
    flux_target_namespace,
    is_helm_release,
    release_accounts,
    release_name,
    release_namespace,
    release_rbac,
    retired_accounts,
    with_generated_values,
    workload_namespace,
)
from sopskit.policy.keysecret import no_decryption_key_secret
from sopskit.policy.replacements import SubjectNamespaces, replaced_subject_namespaces
from sopskit.policy.repo import RepoFile, is_kind, name_of
from sopskit.policy.results import Violation
from sopskit.policy.yamldocs import YamlDocument

_STATE_NAME = re.compile(r"(?:^|/)(?:terraform\.tfstate(?:\.backup)?|[^/]+\.tfstate(?:\.backup)?)$")
#: state resource types (or attribute names) whose values are credentials
_STATE_SECRET_TYPES = {
    "random_password": ("result", "bcrypt_hash"),
    "random_string": ("result",),
    "tls_private_key": ("private_key_pem", "private_key_openssh", "private_key_pem_pkcs8"),
    "aws_iam_access_key": ("secret", "ses_smtp_password_v4"),
    "aws_db_instance": ("password",),
    "aws_rds_cluster": ("master_password",),
    "azurerm_key_vault_secret": ("value",),
    "google_service_account_key": ("private_key",),
    "kubernetes_secret": ("data",),
}
#: data sources whose state holds what they read decrypted: the carlpett/sops provider's
#: ``sops_file`` and ``sops_external`` (``data`` and ``raw``: the whole plaintext of the SOPS
#: file; older provider versions mark neither sensitive, so ``sensitive_attributes`` is empty)
_STATE_SECRET_DATA_TYPES = {
    "sops_file": ("data", "raw"),
    "sops_external": ("data", "raw"),
}
_SECRET_READ_ACTIONS = re.compile(
    r"(?i)^(\*|secretsmanager:\*|secretsmanager:GetSecretValue|ssm:\*|ssm:GetParameters?|"
    r"ssm:GetParametersByPath|secretsmanager:Get\*|ssm:Get\*)$")
_GCP_SECRET_ROLES = ("roles/secretmanager.secretAccessor", "roles/secretmanager.admin", "roles/owner",
                     "roles/editor")
_GCP_BROAD_RESOURCES = re.compile(
    r'resource\s+"(google_project_iam_(?:member|binding)|google_folder_iam_(?:member|binding)|'
    r'google_organization_iam_(?:member|binding))"\s+"([^"]+)"\s*\{')
#: an authoritative policy (``google_project_iam_policy`` ...) and the ``google_iam_policy`` data
#: source whose ``binding { role = ... }`` blocks it sets
_GCP_POLICY_RESOURCES = re.compile(
    r'resource\s+"google_(project|folder|organization)_iam_policy"\s+"([^"]+)"\s*\{')
_GCP_POLICY_DATA = re.compile(r'data\s+"google_iam_policy"\s+"([^"]+)"\s*\{')
_AZURE_SECRET_ROLES = ("Key Vault Secrets User", "Key Vault Secrets Officer", "Key Vault Administrator")
_AZURE_ASSIGNMENT = re.compile(r'resource\s+"azurerm_role_assignment"\s+"([^"]+)"\s*\{')
_TF_POLICY_DOC = re.compile(r'data\s+"aws_iam_policy_document"\s+"([^"]+)"\s*\{')
_FLUX_SUBJECTS = {"kustomize-controller", "helm-controller", "source-controller", "notification-controller",
                  "image-reflector-controller", "image-automation-controller", "source-watcher"}
_FLUX_APIS = ("kustomize.toolkit.fluxcd.io/", "source.toolkit.fluxcd.io/", "helm.toolkit.fluxcd.io/",
              "fluxcd.controlplane.io/")
#: a Flux controller's container image (``ghcr.io/fluxcd/kustomize-controller:v1.4.0``, ``fluxcd/source-watcher``)
_FLUX_IMAGE = re.compile(
    r"(?:^|/)fluxcd/(?:(?:kustomize|helm|source|notification|image-reflector|image-automation)-controller"
    r"|source-watcher)(?:[:@]|$)")
#: Argo CD's own image (``quay.io/argoproj/argocd:v2.x``, ``ghcr.io/argoproj/argocd``): every
#: component of the stock ``install.yaml`` runs it (dex and redis in an init container)
_ARGOCD_IMAGE = re.compile(r"(?:^|/)argoproj/argocd(?:[:@]|$)")
_READ_VERBS = {"get", "list", "watch", "*"}
#: Kubernetes's built-in ClusterRoles that read every Secret: ``cluster-admin`` (``*`` on
#: ``*``), ``edit`` aggregates ``system:aggregate-to-edit`` (get/list/watch on ``secrets``) and
#: ``admin`` aggregates ``edit`` (kubernetes plugin/pkg/auth/authorizer/rbac/bootstrappolicy/
#: policy.go). ``view`` leaves Secrets out. Only ServiceAccount subjects count: a CI runner or a
#: dashboard token bound to ``cluster-admin`` reads the decryption key like any other reader.
_BUILTIN_SECRET_READERS = ("cluster-admin", "admin", "edit")
_RBAC_API = "rbac.authorization.k8s.io/"
_WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}


# -- Terraform state ---------------------------------------------------------------------------

def _state_files(ctx: CheckContext) -> Iterator[tuple[RepoFile, dict[str, Any] | None]]:
    for file in ctx.repo.files:
        if not _STATE_NAME.search(file.rel) or file.is_encrypted:
            continue
        try:
            data = json.loads(file.text or "")
        except ValueError:
            data = None
        yield file, data if isinstance(data, dict) else None


def _terraform_state_committed(ctx: CheckContext) -> Iterator[Violation]:
    for file, state in _state_files(ctx):
        if not (file.text or "").strip() or (state is not None and not state.get("resources")
                                             and not state.get("outputs")):
            # an empty file (a placeholder for a backend path) or a state with no resource holds nothing
            ctx.note(TERRAFORM_STATE_COMMITTED.id, f"not reported: {file.rel} holds no resource")
            continue
        yield Violation(
            TERRAFORM_STATE_COMMITTED.id, file.rel, None,
            f"Terraform state {file.name} is committed: it holds every resource attribute in plaintext",
            TERRAFORM_STATE_COMMITTED.fix,
        )


def _terraform_state_secrets(ctx: CheckContext) -> Iterator[Violation]:
    for file, state in _state_files(ctx):
        if state is None:
            continue
        for resource in state.get("resources") or []:
            if not isinstance(resource, dict):
                continue
            rtype, name = str(resource.get("type", "")), str(resource.get("name", ""))
            is_data = resource.get("mode") == "data"
            if is_data and rtype not in _STATE_SECRET_DATA_TYPES:
                continue
            known = _STATE_SECRET_DATA_TYPES if is_data else _STATE_SECRET_TYPES
            for instance in resource.get("instances") or []:
                attributes = instance.get("attributes") if isinstance(instance, dict) else None
                if not isinstance(attributes, dict):
                    continue
                secret_attrs = [a for a in known.get(rtype, ()) if attributes.get(a)]
                secret_attrs += [a for a in _sensitive_attribute_names(instance) if attributes.get(a)
                                 and a not in secret_attrs and not _tainted_configuration(a, attributes.get(a))]
                if secret_attrs:
                    yield Violation(
                        TERRAFORM_STATE_SECRET.id, file.rel, _line_of(file, f'"{name}"'),
                        f"{rtype}.{name} in the state holds {', '.join(sorted(secret_attrs))} in plaintext",
                        TERRAFORM_STATE_SECRET.fix,
                    )
                    break


def _tainted_configuration(attribute: str, value: Any) -> bool:
    """A value Terraform marks sensitive only because it was computed from a sensitive input (a
    DNS record's name built from a domain read out of a SOPS file): under an attribute that does
    not name a credential, a host name, a host pattern (``*.example.org``, ``app.example.org/*``),
    a number or a flag is configuration."""
    if names.is_credential_name(attribute) or (isinstance(value, str) and is_material(value)):
        return False
    return isinstance(value, (bool, int, float)) or (
        isinstance(value, str) and is_config_shaped(value.replace("*", "x"))
    )


def _sensitive_attribute_names(instance: dict[str, Any]) -> list[str]:
    attributes = []
    for path in instance.get("sensitive_attributes") or []:
        if isinstance(path, list) and path and isinstance(path[0], dict) and path[0].get("type") == "get_attr":
            attributes.append(str(path[0].get("value")))
    return attributes


def _line_of(file: RepoFile, needle: str) -> int | None:
    offset = (file.text or "").find(needle)
    return file.line_of_offset(offset) if offset >= 0 else None


# -- cloud policies ------------------------------------------------------------------------------

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value is not None else []


def _aws_statements(document: Any) -> Iterator[dict[str, Any]]:
    if isinstance(document, dict):
        if "Statement" in document:
            for statement in _as_list(document["Statement"]):
                if isinstance(statement, dict):
                    yield statement
        else:
            for value in document.values():  # CloudFormation/CDK/Terraform JSON nest documents
                yield from _aws_statements(value)
    elif isinstance(document, list):
        for value in document:
            yield from _aws_statements(value)


def _is_wildcard_secret_read(statement: dict[str, Any]) -> bool:
    if statement.get("Effect") != "Allow" or "NotResource" in statement:
        return False
    actions = [str(a) for a in _as_list(statement.get("Action"))]
    resources = [str(r) for r in _as_list(statement.get("Resource"))]
    return any(_SECRET_READ_ACTIONS.match(a) for a in actions) and "*" in resources


def _wildcard_secret_reads(ctx: CheckContext) -> Iterator[Violation]:
    for file in ctx.repo.files:
        text = file.text
        if text is None or file.is_encrypted:
            continue
        if file.rel.endswith(".json") and '"Statement"' in text:
            try:
                document = json.loads(text)
            except ValueError:
                document = None
            for statement in _aws_statements(document):
                if _is_wildcard_secret_read(statement):
                    sid = statement.get("Sid")
                    yield _wildcard(file, _line_of(file, f'"{sid}"') if sid else None,
                                    f"IAM statement{f' {sid}' if sid else ''} allows reading every secret "
                                    f"({', '.join(map(str, _as_list(statement.get('Action'))))} on Resource *)")
        if file.rel.endswith(".tf"):
            yield from _terraform_policies(file, text)


def _wildcard(file: RepoFile, line: int | None, message: str) -> Violation:
    return Violation(WILDCARD_SECRET_READ.id, file.rel, line, message, WILDCARD_SECRET_READ.fix)


def _block_body(text: str, start: int) -> str:
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def _hcl_list(body: str, name: str) -> list[str]:
    match = re.search(rf"(?m)^\s*{name}\s*=\s*\[([^\]]*)\]", body)
    return re.findall(r'"([^"]*)"', match.group(1)) if match else []


def _terraform_policies(file: RepoFile, text: str) -> Iterator[Violation]:
    for match in _TF_POLICY_DOC.finditer(text):
        body = _block_body(text, match.end())
        for statement in re.finditer(r"statement\s*\{", body):
            inner = _block_body(body, statement.end())
            if re.search(r'(?m)^\s*effect\s*=\s*"Deny"', inner):
                continue
            actions, resources = _hcl_list(inner, "actions"), _hcl_list(inner, "resources")
            if any(_SECRET_READ_ACTIONS.match(a) for a in actions) and "*" in resources:
                yield _wildcard(file, file.line_of_offset(match.start()),
                                f"aws_iam_policy_document.{match.group(1)} allows {', '.join(actions)} on every "
                                "resource")
    for match in _GCP_BROAD_RESOURCES.finditer(text):
        body = _block_body(text, match.end())
        role = re.search(r'(?m)^\s*role\s*=\s*"([^"]+)"', body)
        if role and role.group(1) in _GCP_SECRET_ROLES:
            scope = match.group(1).split("_")[1]
            yield _wildcard(file, file.line_of_offset(match.start()),
                            f"{match.group(1)}.{match.group(2)} grants {role.group(1)} on the whole {scope}: "
                            "every secret in it is readable")
    yield from _gcp_policy_data(file, text)
    for match in _AZURE_ASSIGNMENT.finditer(text):
        body = _block_body(text, match.end())
        role = re.search(r'(?m)^\s*role_definition_name\s*=\s*"([^"]+)"', body)
        scope = re.search(r'(?m)^\s*scope\s*=\s*(.+)$', body)
        if role and role.group(1) in _AZURE_SECRET_ROLES and scope and "key_vault" not in scope.group(1) \
                and "Microsoft.KeyVault/vaults" not in scope.group(1):
            yield _wildcard(file, file.line_of_offset(match.start()),
                            f"azurerm_role_assignment.{match.group(1)} assigns {role.group(1)} above a single "
                            "Key Vault: every vault's secrets below that scope are readable")


def _gcp_policy_data(file: RepoFile, text: str) -> Iterator[Violation]:
    """Secret-reading roles in the ``binding`` blocks of a ``google_iam_policy`` data source that an
    authoritative project/folder/organisation policy in the same file sets (``policy_data =
    data.google_iam_policy.NAME.policy_data``): a grant like ``google_project_iam_member``, in
    another spelling."""
    scopes: dict[str, str] = {}
    for match in _GCP_POLICY_RESOURCES.finditer(text):
        used = re.search(r"policy_data\s*=\s*data\.google_iam_policy\.([A-Za-z0-9_-]+)\.policy_data",
                         _block_body(text, match.end()))
        if used:
            scopes.setdefault(used.group(1), match.group(1))
    for match in _GCP_POLICY_DATA.finditer(text):
        scope = scopes.get(match.group(1))
        if scope is None:
            continue
        body_start = match.end()
        body = _block_body(text, body_start)
        for binding in re.finditer(r"binding\s*\{", body):
            role = re.search(r'(?m)^\s*role\s*=\s*"([^"]+)"', _block_body(body, binding.end()))
            if role and role.group(1) in _GCP_SECRET_ROLES:
                yield _wildcard(file, file.line_of_offset(body_start + binding.start()),
                                f"data.google_iam_policy.{match.group(1)} grants {role.group(1)} on the whole "
                                f"{scope} (an authoritative google_{scope}_iam_policy sets it): every secret in it "
                                "is readable")


# -- Kubernetes RBAC -------------------------------------------------------------------------------

def _reads_all_secrets(role: dict[str, Any]) -> bool:
    for rule in _as_list(role.get("rules")):
        if not isinstance(rule, dict) or rule.get("resourceNames"):
            continue
        groups = [str(g) for g in _as_list(rule.get("apiGroups"))]
        resources = [str(r) for r in _as_list(rule.get("resources"))]
        verbs = {str(v) for v in _as_list(rule.get("verbs"))}
        if ("" in groups or "*" in groups) and ("secrets" in resources or "*" in resources) and verbs & _READ_VERBS:
            return True
    return False


def _rbac_documents(ctx: CheckContext) -> Iterator[tuple[RepoFile, YamlDocument]]:
    """Documents that something may deploy: not left out by their kustomization, not archived,
    not in a kustomize directory dropped from a tree that Flux builds, not removed by a
    ``$patch: delete`` in every build that reaches them, not a copy beside a chart's templates,
    not in a stale copy of the Flux tree (``backup/`` beside ``cluster/``)."""
    left_out = left_out_of_kustomization(ctx)
    graph = graph_of(ctx)
    for file, doc in ctx.repo.documents():
        if file.rel not in left_out and not is_archived(file.rel) and not dropped_from_flux(ctx, file.rel) \
                and not deleted_by_patch(ctx, file.rel, doc) and not beside_chart_templates(ctx, file.rel) \
                and not graph.in_stale_copy(file.rel):
            if is_helm_release(doc.data):
                # the values helm-controller merges in from generated ConfigMaps count as values
                doc = YamlDocument(doc.index, with_generated_values(ctx, file, doc.data), doc.node)
            yield file, doc
            if is_helm_release(doc.data) and _helm_controller_may_apply(ctx, file.rel):
                # RBAC the chart renders from the values (app-template ``rbac.roles``/``rbac.bindings``,
                # Cilium's BGP secrets Role)
                namespace = release_namespace(ctx, file, doc)
                rendered = [*release_rbac(doc.data, namespace), *chart_secret_rbac(ctx, doc.data, namespace)]
                for manifest, path in rendered:
                    yield file, YamlDocument(doc.index, manifest, doc.node_at("spec", "values", *path))
                # and the binding a known chart renders for its own account (Headlamp's cluster-admin)
                for manifest, path, _account in chart_own_bindings(ctx, doc.data, namespace):
                    yield file, YamlDocument(doc.index, manifest, doc.node_at("spec", "values", *path))


def _helm_controller_may_apply(ctx: CheckContext, rel: str) -> bool:
    """Whether Flux may apply the HelmRelease in ``rel``, so that its chart renders RBAC: only
    helm-controller acts on a HelmRelease, so one outside every Flux build (an app directory no
    Kustomization points at) renders nothing (:meth:`FluxGraph.may_build`)."""
    return graph_of(ctx).may_build(rel)


def _selector_matches(selector: Any, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (``matchLabels``, ``matchExpressions`` In/NotIn/Exists/
    DoesNotExist) against ``labels``; an empty selector matches everything, a missing one nothing
    (apimachinery ``LabelSelectorAsSelector``). An operator it does not know matches nothing."""
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels")
    if isinstance(match_labels, dict) and any(labels.get(str(k)) != str(v) for k, v in match_labels.items()):
        return False
    for expression in _as_list(selector.get("matchExpressions")):
        if not isinstance(expression, dict):
            return False
        key, operator = str(expression.get("key", "")), expression.get("operator")
        values = {str(v) for v in _as_list(expression.get("values"))}
        if operator == "In":
            ok = key in labels and labels[key] in values
        elif operator == "NotIn":
            ok = key not in labels or labels[key] not in values
        elif operator == "Exists":
            ok = key in labels
        elif operator == "DoesNotExist":
            ok = key not in labels
        else:
            ok = False
        if not ok:
            return False
    return True


def _labels(data: dict[str, Any]) -> dict[str, str]:
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _aggregated_rules(role: dict[str, Any], cluster_roles: list[dict[str, Any]]) -> list[Any]:
    """The rules Kubernetes gives a ClusterRole with an ``aggregationRule``: those of every other
    ClusterRole whose labels match one of its ``clusterRoleSelectors`` (kubernetes
    pkg/controller/clusterroleaggregation). The role's own rules are kept as well: roles outside
    the repository may match too, so what the controller leaves is never less than what is here."""
    rule = role.get("aggregationRule")
    selectors = _as_list(rule.get("clusterRoleSelectors")) if isinstance(rule, dict) else []
    rules = list(_as_list(role.get("rules")))
    for other in cluster_roles:
        if other is not role and name_of(other) != name_of(role) and any(
            _selector_matches(selector, _labels(other)) for selector in selectors
        ):
            rules.extend(_as_list(other.get("rules")))
    return rules


def _roles(ctx: CheckContext) -> dict[tuple[str, str | None, str], tuple[RepoFile, YamlDocument]]:
    """(kind, namespace or None for ClusterRole, name) -> where the role is defined, for every
    role that reads all Secrets (an aggregated ClusterRole by the rules it aggregates)."""
    found: dict[tuple[str, str | None, str], tuple[RepoFile, YamlDocument]] = {}
    documents = list(_rbac_documents(ctx))
    cluster_roles = [doc.data for _file, doc in documents if is_kind(doc.data, "ClusterRole", _RBAC_API)]
    for file, doc in documents:
        for kind in ("ClusterRole", "Role"):
            if not is_kind(doc.data, kind, _RBAC_API):
                continue
            effective = doc.data
            if kind == "ClusterRole" and isinstance(doc.data.get("aggregationRule"), dict):
                effective = {"rules": _aggregated_rules(doc.data, cluster_roles)}
            if _reads_all_secrets(effective):
                namespace = None if kind == "ClusterRole" else ctx.repo.namespace_of(file, doc)
                found[(kind, namespace, name_of(doc.data))] = (file, doc)
    return found


def _builtin_readers(ctx: CheckContext) -> set[str]:
    """The built-in ``cluster-admin``/``admin``/``edit`` ClusterRoles (which read every Secret)
    that the repository does not define itself: a ClusterRole of that name in the repository is judged by its rules."""
    defined = {name_of(doc.data) for _file, doc in ctx.repo.documents() if is_kind(doc.data, "ClusterRole", _RBAC_API)}
    return set(_BUILTIN_SECRET_READERS) - defined


def _secret_reading_bindings(ctx: CheckContext) -> Iterator[tuple[RepoFile, YamlDocument, str | None,
                                                                 tuple[str, str | None, str], list[dict[str, Any]]]]:
    """:func:`_bindings` whose role reads every Secret: a role of the repository that does, or the
    built-in ``cluster-admin``/``admin``/``edit``. Granted to a User or Group those are
    deliberate human trust, so only their ServiceAccount subjects are kept."""
    roles, builtin = _roles(ctx), _builtin_readers(ctx)
    for file, doc, namespace, role_key, subjects in _bindings(ctx):
        if role_key in roles:
            yield file, doc, namespace, role_key, subjects
        elif role_key[0] == "ClusterRole" and role_key[2] in builtin:
            accounts = [s for s in subjects if s.get("kind") == "ServiceAccount"]
            if accounts:
                yield file, doc, namespace, role_key, accounts


def _bindings(ctx: CheckContext) -> Iterator[tuple[RepoFile, YamlDocument, str | None, tuple[str, str | None, str],
                                                   list[dict[str, Any]]]]:
    """Every binding: where, the namespace it grants in (None: cluster), the role it points
    at (as a key of :func:`_roles`) and its subjects. A RoleBinding whose namespace the
    repository does not say grants in the namespace it is applied to (``""``), never the cluster."""
    for file, doc in _rbac_documents(ctx):
        data = doc.data
        for kind in ("ClusterRoleBinding", "RoleBinding"):
            if not is_kind(data, kind, "rbac.authorization.k8s.io/"):
                continue
            ref = data.get("roleRef") if isinstance(data.get("roleRef"), dict) else {}
            namespace = None if kind == "ClusterRoleBinding" else (ctx.repo.namespace_of(file, doc) or "")
            role_kind = str(ref.get("kind", ""))
            role_namespace = None if role_kind == "ClusterRole" else (namespace or None)
            role_key = (role_kind, role_namespace, str(ref.get("name", "")))
            subjects = [_as_account(s) for s in _as_list(data.get("subjects")) if isinstance(s, dict)]
            yield file, doc, namespace, role_key, subjects


def _as_account(subject: dict[str, Any]) -> dict[str, Any]:
    """A ``User`` subject named ``system:serviceaccount:NAMESPACE:NAME`` as the ServiceAccount it
    is: the API server authenticates an account's token as exactly that user name, so the
    binding grants the account (a human user cannot hold that name)."""
    name = subject.get("name")
    if subject.get("kind") == "User" and isinstance(name, str) and name.startswith("system:serviceaccount:"):
        parts = name.split(":")
        if len(parts) == 4 and parts[2] and parts[3]:
            return {"kind": "ServiceAccount", "name": parts[3], "namespace": parts[2]}
    return subject


def _subject_namespace(ctx: CheckContext, file: RepoFile, subject: dict[str, Any], namespace: str | None) -> str | None:
    """The namespace a binding's ServiceAccount subject has once built: by the kustomizations
    above it (:func:`_kustomized_subject_namespace`), then by the Flux Kustomizations that apply
    it with a ``spec.targetNamespace`` (Flux's generated kustomization sets ``namespace:``, so
    the same two rules apply: a subject named ``default``, and one naming an account that the
    same Flux build applies, from the namespace that account had before, move to the target).
    A kustomize replacement that copies a ServiceAccount's namespace into the subject settles it
    (:mod:`sopskit.policy.replacements`)."""
    replaced = _replaced_subject_namespaces(ctx).get(
        (file.rel, str(subject.get("name", "")), subject.get("namespace")))
    if replaced is not None and subject.get("kind") == "ServiceAccount":
        return replaced
    built = _kustomized_subject_namespace(ctx, file, subject, namespace)
    target = flux_target_namespace(ctx, file)
    if target is None or subject.get("kind") != "ServiceAccount":
        return built
    name = str(subject.get("name", ""))
    if name == "default":
        return target
    graph = graph_of(ctx)
    builders = graph.own_builders.get(file.rel, [])
    for account_file, doc in _service_accounts(ctx).get(name, []):
        if not any(k in builders for k in graph.own_builders.get(account_file.rel, [])):
            continue
        if not subject.get("namespace") or ctx.repo.namespace_of(account_file, doc) == built:
            return target
    return built


def _replaced_subject_namespaces(ctx: CheckContext) -> SubjectNamespaces:
    cached = ctx.shared.get("audit_replaced_subjects")
    if isinstance(cached, dict):
        return cached
    found = replaced_subject_namespaces(ctx.repo)
    ctx.shared["audit_replaced_subjects"] = found
    return found


def _service_accounts(ctx: CheckContext) -> dict[str, list[tuple[RepoFile, YamlDocument]]]:
    """ServiceAccount name -> where the repository defines one of that name."""
    cached = ctx.shared.get("audit_service_accounts")
    if isinstance(cached, dict):
        return cached
    found: dict[str, list[tuple[RepoFile, YamlDocument]]] = {}
    for file, doc in ctx.repo.documents():
        if is_kind(doc.data, "ServiceAccount"):
            found.setdefault(name_of(doc.data), []).append((file, doc))
    ctx.shared["audit_service_accounts"] = found
    return found


def _kustomized_subject_namespace(
    ctx: CheckContext, file: RepoFile, subject: dict[str, Any], namespace: str | None,
) -> str | None:
    """The namespace a binding's ServiceAccount subject has once kustomize built it.

    A kustomization's ``namespace:`` rewrites only the subjects named ``default`` (kustomize
    api/filters/namespace/namespace.go, ``roleBindingHack``, default mode ``defaultOnly``); the
    name-reference pass (api/filters/nameref/nameref.go ``setMapping``, with
    api/internal/konfig/builtinpluginconsts/namereference.go: ServiceAccount -> ``subjects``)
    then gives a subject the namespace of the one ServiceAccount of that name in the same build,
    when the subject names no namespace or the account's original one. Otherwise the subject's
    own namespace, or for a RoleBinding the binding's (what the API server's authorizer uses)."""
    own = subject.get("namespace") or namespace or None
    kustomized = ctx.repo.kustomize_namespace(file)
    if kustomized is None or subject.get("kind") != "ServiceAccount":
        return own
    directory, kustomize_namespace = kustomized
    name = str(subject.get("name", ""))
    if name == "default":
        return kustomize_namespace
    written = subject.get("namespace")
    namespaces = set()
    for rel in sorted(graph_of(ctx).builds.resources(directory)):
        account_file = ctx.repo.by_rel.get(rel)
        parsed = account_file.yaml if account_file is not None else None
        for doc in parsed.documents if parsed is not None else ():
            if account_file is None or not is_kind(doc.data, "ServiceAccount") or name_of(doc.data) != name:
                continue
            metadata = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
            current = ctx.repo.namespace_of(account_file, doc)
            if not written or written in ((metadata or {}).get("namespace") or "default", current):
                namespaces.add(current)
    if len(namespaces) == 1:
        return namespaces.pop() or own
    return own


#: API groups whose objects are no operator's workload: Kubernetes's own, kustomize's, and Flux's
#: (its ``spec.serviceAccountName`` is impersonation, :func:`_flux_impersonation_accounts`)
_NOT_CUSTOM_APIS = ("v1", "apps/", "batch/", "rbac.authorization.k8s.io/", "kustomize.config.k8s.io/",
                    "policy/", "networking.k8s.io/", "admissionregistration.k8s.io/", *_FLUX_APIS)


def _is_custom_resource(data: dict[str, Any]) -> bool:
    api = str(data.get("apiVersion", ""))
    return "/" in api and not api.startswith(_NOT_CUSTOM_APIS) and not is_helm_release(data)


def _pod_accounts(value: Any, depth: int = 0) -> Iterator[str]:
    """``serviceAccountName: NAME`` anywhere in a custom resource's spec: the account of the
    pods its operator creates."""
    if depth > 6:
        return
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if key == "serviceAccountName" and isinstance(item, str) and item.strip() and not is_templated(item):
            yield item.strip()
        else:
            yield from _pod_accounts(item, depth + 1)


def _operator_default_accounts(data: dict[str, Any]) -> list[str]:
    """Accounts an operator creates for its resource when the spec names none: the OpenTelemetry
    operator runs an ``OpenTelemetryCollector`` as ``<name>-collector`` and its target allocator
    (``spec.targetAllocator.enabled``) as ``<name>-targetallocator`` (operator
    ``internal/naming``)."""
    if data.get("kind") != "OpenTelemetryCollector" or not str(data.get("apiVersion", "")).startswith(
            "opentelemetry.io/"):
        return []
    raw_spec = data.get("spec")
    spec: dict[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    name = name_of(data)
    accounts = [] if spec.get("serviceAccount") else [f"{name}-collector"]
    allocator = spec.get("targetAllocator")
    if isinstance(allocator, dict) and allocator.get("enabled") is True and not allocator.get("serviceAccount"):
        accounts.append(f"{name}-targetallocator")
    return accounts


def _store_account(data: dict[str, Any]) -> tuple[str | None, str] | None:
    """(namespace or None, name) of the ServiceAccount an External Secrets ``SecretStore`` or
    ``ClusterSecretStore`` with the Kubernetes provider authenticates as
    (``spec.provider.kubernetes.auth.serviceAccount``): every ExternalSecret using the store reads
    Secrets with that account's token."""
    if data.get("kind") not in ("SecretStore", "ClusterSecretStore") or \
            not str(data.get("apiVersion", "")).startswith("external-secrets.io/"):
        return None
    node: Any = data
    for key in ("spec", "provider", "kubernetes", "auth", "serviceAccount"):
        node = node.get(key) if isinstance(node, dict) else None
    if not isinstance(node, dict):
        return None
    name, namespace = node.get("name"), node.get("namespace")
    if not isinstance(name, str) or not name.strip() or is_templated(name):
        return None
    return (namespace if isinstance(namespace, str) and namespace.strip() else None), name.strip()


def _workloads(ctx: CheckContext) -> Iterator[tuple[str | None, str, str, dict[str, Any]]]:
    """Every workload that something may deploy (:func:`_rbac_documents`: not in a file its
    kustomization leaves out, such as a commented ``# - ./setup-job.yaml``, nor archived, dropped
    from Flux's tree or removed by ``$patch: delete``): (namespace, service account it runs as,
    "Kind/name", its pod spec). A Flux HelmRelease is a workload "HelmRelease/name" for each
    ServiceAccount its values name (:mod:`sopskit.policy.helmworkloads`), with an empty pod spec."""
    for file, doc in _rbac_documents(ctx):
        data = doc.data
        if is_helm_release(data):
            # a chart's workloads, by the accounts its values name (no pod spec: no image)
            release_ns = release_namespace(ctx, file, doc)
            named = (release_accounts(data) or adopted_accounts(ctx).get((release_ns, release_name(data)), [])
                     or chart_default_accounts(ctx, data))
            # and the accounts a known chart binds its own rendered RBAC to run its pods
            rendered = [*(account for _m, _p, account in chart_own_bindings(ctx, data, release_ns)),
                        *(str(subject["name"]) for manifest, _p in chart_secret_rbac(ctx, data, release_ns)
                          for subject in manifest.get("subjects", ()))]
            named = [*named, *(account for account in dict.fromkeys(rendered) if account not in named)]
            for release_account in named:
                yield release_ns, release_account, f"HelmRelease/{name_of(data)}", {}
            continue
        store_account = _store_account(data)
        if store_account is not None:
            # External Secrets' Kubernetes provider mints tokens for this account and reads with them
            yield (store_account[0] or workload_namespace(ctx, file, doc), store_account[1],
                   f"{data.get('kind')}/{name_of(data)}", {})
            continue
        if data.get("kind") not in _WORKLOAD_KINDS:
            if _is_custom_resource(data):
                # an operator's resource whose pods run as a named account (a system-upgrade Plan,
                # a Prometheus, an Argo Workflow, ``spec.workload.serviceAccountName``)
                for runs_as in dict.fromkeys([*_pod_accounts(data.get("spec")), *_operator_default_accounts(data)]):
                    yield workload_namespace(ctx, file, doc), runs_as, f"{data.get('kind')}/{name_of(data)}", {}
            continue
        spec: Any = data.get("spec")
        for step in ("jobTemplate", "spec", "template", "spec"):  # CronJob > Job > Pod template > Pod
            if isinstance(spec, dict) and "serviceAccountName" not in spec and step in spec:
                spec = spec[step]
        pod = spec if isinstance(spec, dict) else {}
        # ``serviceAccount`` is the deprecated alias the API server still honours when
        # ``serviceAccountName`` is empty (older CSI drivers' DaemonSets use it)
        account = pod.get("serviceAccountName") or pod.get("serviceAccount")
        name = str(account) if account and isinstance(account, str) else "default"
        yield workload_namespace(ctx, file, doc), name, f"{data['kind']}/{name_of(data)}", pod


def _workload_service_accounts(ctx: CheckContext) -> dict[tuple[str | None, str], str]:
    """(namespace, service account) -> one workload that runs as it."""
    found: dict[tuple[str | None, str], str] = {}
    for namespace, account, workload, _pod in _workloads(ctx):
        found.setdefault((namespace, account), workload)
    return found


def _flux_controller_accounts(ctx: CheckContext) -> set[tuple[str | None, str]]:
    """(namespace, service account) of workloads that run a Flux controller image.

    Flux installed outside ``flux-system`` or under another account name (a controller's own
    repository deploys it from ``config/`` into a namespace its kustomization sets) is still
    Flux: reading Secrets is its job. ``None`` as namespace: the repository does not say where
    the workload runs, so a subject of that account name in any namespace may be it.
    """
    cached = ctx.shared.get("audit_flux_accounts")
    if isinstance(cached, set):
        return cached
    found = {(namespace, account) for namespace, account, _workload, pod in _workloads(ctx)
             if _runs_image(pod, _FLUX_IMAGE)}
    ctx.shared["audit_flux_accounts"] = found
    return found


def _runs_image(pod: dict[str, Any], image: re.Pattern[str]) -> bool:
    """A container or init container of the pod spec runs an image ``image`` matches."""
    containers = [*_as_list(pod.get("containers")), *_as_list(pod.get("initContainers"))]
    return any(isinstance(c, dict) and image.search(str(c.get("image", ""))) for c in containers)


def _argocd_accounts(ctx: CheckContext) -> set[tuple[str | None, str]]:
    """(namespace, service account) that only Argo CD's own components run as: every workload
    running as the account has a container or init container of Argo CD's image. Like Flux's
    controllers, Argo CD reads Secrets by design (repository and cluster credentials, and every
    object it syncs); an account that another workload shares stays reported."""
    cached = ctx.shared.get("audit_argocd_accounts")
    if isinstance(cached, set):
        return cached
    verdicts: dict[tuple[str | None, str], bool] = {}
    for namespace, account, _workload, pod in _workloads(ctx):
        argocd = _runs_image(pod, _ARGOCD_IMAGE)
        verdicts[(namespace, account)] = verdicts.get((namespace, account), True) and argocd
    found = {key for key, argocd in verdicts.items() if argocd}
    ctx.shared["audit_argocd_accounts"] = found
    return found


#: the label ``flux create tenant`` puts on a tenant's ServiceAccount (and its Namespace, RoleBinding)
_FLUX_TENANT_LABEL = "toolkit.fluxcd.io/tenant"
_IMPERSONATING_APIS = ("kustomize.toolkit.fluxcd.io/", "helm.toolkit.fluxcd.io/")


def _flux_impersonation_accounts(ctx: CheckContext) -> set[tuple[str | None, str]]:
    """(namespace, service account) that Flux acts as: a Flux Kustomization's or HelmRelease's
    ``spec.serviceAccountName`` (kustomize- and helm-controller impersonate it to apply), and a
    ServiceAccount that ``flux create tenant`` made (its tenant label). ``None`` as namespace:
    the name alone, where the repository does not say the namespace."""
    cached = ctx.shared.get("audit_flux_impersonated")
    if isinstance(cached, set):
        return cached
    found: set[tuple[str | None, str]] = set()
    for file, doc in ctx.repo.documents():
        data = doc.data
        spec = data.get("spec")
        if str(data.get("apiVersion", "")).startswith(_IMPERSONATING_APIS) and isinstance(spec, dict):
            account = spec.get("serviceAccountName")
            if isinstance(account, str) and account:
                found.add((ctx.repo.namespace_of(file, doc), account))
        elif is_kind(data, "ServiceAccount") and _FLUX_TENANT_LABEL in _labels(data):
            found.add((ctx.repo.namespace_of(file, doc), name_of(data)))
    ctx.shared["audit_flux_impersonated"] = found
    return found


def _idle_account(ctx: CheckContext, file: RepoFile, subject: dict[str, Any], namespace: str | None,
                  candidates: Collection[tuple[str | None, str]]) -> bool:
    """A ServiceAccount subject among ``candidates`` that no workload of the repository runs as:
    no pod holds its token. The candidates are accounts Flux only impersonates (what they may
    read kustomize-controller reads anyway; a tenant's account that also runs a Deployment stays
    reported), and accounts the chart beside them no longer runs pods as (Kyverno's ``kyverno``
    next to a 3.x chart, :func:`sopskit.policy.helmworkloads.retired_accounts`: a binding left
    over from the older chart)."""
    if subject.get("kind") != "ServiceAccount":
        return False
    name = str(subject.get("name", ""))
    sa_namespace = _subject_namespace(ctx, file, subject, namespace)
    return _names_account(candidates, sa_namespace, name) and not _names_account(
        _workload_service_accounts(ctx), sa_namespace, name)


_APP_TEMPLATE = "app-template"
#: the Kubernetes Dashboard chart: its pods run as accounts it creates and names after the
#: release; an account committed beside it and bound to ``cluster-admin`` is a login account
#: (the dashboard's documented ``admin-user``), used from outside only through a token
_DASHBOARD = "kubernetes-dashboard"
#: actions-runner-controller's runner chart: its runner pods run as ``template.spec.serviceAccountName``
#: when the values set it, else as an account the chart makes (``<release>-gha-rs-no-permission``)
_RUNNER_SCALE_SET = "gha-runner-scale-set"


def _accounts_no_chart_pod_holds(ctx: CheckContext) -> set[tuple[str | None, str]]:
    """(namespace, name) of ServiceAccounts the repository creates in a directory whose only
    charts run their pods as accounts the values say, and none of them this one: bjw-s
    app-template releases with no ``serviceAccount`` anywhere in their values (that chart runs
    its pods as ``default`` unless its values name or define an account; often a forgotten
    ``serviceAccount`` line), and actions-runner-controller's ``gha-runner-scale-set``, whose
    runners run as ``template.spec.serviceAccountName`` or the chart's own account (an account
    committed under the release's name and bound to ``cluster-admin``, never wired into the
    runner template), and the Kubernetes Dashboard chart, whose pods run as accounts it creates
    (a committed ``admin-user`` bound to ``cluster-admin`` is a login account). So nothing in
    that directory holds the created account's token. With a
    token Secret committed for the account, it is used from outside and is no candidate.
    :func:`_idle_account` still asks that no workload anywhere runs as it."""
    cached = ctx.shared.get("audit_idle_chart_accounts")
    if isinstance(cached, set):
        return cached
    created: dict[str, list[tuple[str | None, str]]] = {}
    releases: dict[str, list[set[str] | None]] = {}
    tokens: set[str] = set()
    for file, doc in _rbac_documents(ctx):
        data = doc.data
        if is_kind(data, "ServiceAccount") and str(data.get("apiVersion", "")) == "v1":
            created.setdefault(file.parent, []).append((ctx.repo.namespace_of(file, doc), name_of(data)))
        elif is_helm_release(data):
            releases.setdefault(file.parent, []).append(_chart_pod_accounts(ctx, data))
        elif is_kind(data, "Secret") and data.get("type") == "kubernetes.io/service-account-token":
            metadata = data.get("metadata")
            annotations = metadata.get("annotations") if isinstance(metadata, dict) else None
            if isinstance(annotations, dict):
                tokens.add(str(annotations.get("kubernetes.io/service-account.name", "")))
    found: set[tuple[str | None, str]] = set()
    for directory, accounts in created.items():
        charts = releases.get(directory)
        if not charts or any(named is None for named in charts):
            continue
        used = set().union(*(named for named in charts if named is not None))
        found |= {account for account in accounts if account[1] not in tokens and account[1] not in used}
    ctx.shared["audit_idle_chart_accounts"] = found
    return found


def _chart_pod_accounts(ctx: CheckContext, data: dict[str, Any]) -> set[str] | None:
    """The committed accounts a release's pods may run as, for a chart whose rule is known (see
    :func:`_accounts_no_chart_pod_holds`); None for any other chart, or any doubt."""
    chart = chart_of(ctx, data)
    spec = data.get("spec")
    values = spec.get("values") if isinstance(spec, dict) else None
    if chart is not None and chart[0] in (_APP_TEMPLATE, _DASHBOARD):
        return None if _mentions_account(values, 0) else set()
    if chart is not None and chart[0] == _RUNNER_SCALE_SET:
        template = values.get("template") if isinstance(values, dict) else None
        pod = template.get("spec") if isinstance(template, dict) else None
        account = pod.get("serviceAccountName") if isinstance(pod, dict) else None
        if account is None:
            return set()  # the chart's own no-permission account
        return {account} if isinstance(account, str) else None
    return None


def _mentions_account(node: Any, depth: int) -> bool:
    """A ``serviceAccount``/``serviceAccountName`` key anywhere in Helm values (any doubt: True)."""
    if depth > 12:
        return True
    if isinstance(node, dict):
        return any(str(key) in ("serviceAccount", "serviceAccountName") or _mentions_account(value, depth + 1)
                   for key, value in node.items())
    if isinstance(node, list):
        return any(_mentions_account(value, depth + 1) for value in node)
    return False


def _names_account(accounts: Collection[tuple[str | None, str]], namespace: str | None, name: str) -> bool:
    """``accounts`` holds this one, by its namespace or by its name alone (``None``: the
    repository did not say where that account lives)."""
    return (namespace, name) in accounts or (None, name) in accounts


def _is_flux(ctx: CheckContext, file: RepoFile, subject: dict[str, Any], namespace: str | None) -> bool:
    """Whether a binding's subject is one of Flux's controllers (by name in flux-system, or by
    the image of the workload that runs as it)."""
    if subject.get("kind") != "ServiceAccount":
        return False
    name = str(subject.get("name", ""))
    sa_namespace = _subject_namespace(ctx, file, subject, namespace)
    if sa_namespace == "flux-system" and name in _FLUX_SUBJECTS:
        return True
    return _names_account(_flux_controller_accounts(ctx), sa_namespace, name)


def _rbac_workload_reads_all_secrets(ctx: CheckContext) -> Iterator[Violation]:
    workloads = _workload_service_accounts(ctx)
    for file, doc, namespace, role_key, subjects in _secret_reading_bindings(ctx):
        for subject in subjects:
            if subject.get("kind") != "ServiceAccount":
                continue
            sa_namespace = _subject_namespace(ctx, file, subject, namespace)
            if _is_flux(ctx, file, subject, namespace):
                continue  # the GitOps engine itself (gotk-components.yaml): reading Secrets is its job
            workload = workloads.get((sa_namespace, str(subject.get("name"))))
            if workload is None:
                continue
            if (sa_namespace, str(subject.get("name"))) in _argocd_accounts(ctx):
                continue  # Argo CD's own components (install.yaml): reading Secrets is their job too
            where = (
                "every namespace" if namespace is None
                else f"namespace {namespace}" if namespace else "the namespace it is applied to"
            )
            yield Violation(
                RBAC_WORKLOAD_READS_ALL_SECRETS.id, file.rel, doc.line,
                f"{name_of(doc.data)} lets ServiceAccount {sa_namespace or '(its namespace)'}/{subject.get('name')} "
                f"(used by {workload}) "
                f"read all Secrets in {where} through {role_key[0]} {role_key[2]}",
                RBAC_WORKLOAD_READS_ALL_SECRETS.fix,
            )


def _uses_flux(ctx: CheckContext) -> bool:
    """Flux objects in the repository (a Flux Kustomization, a Flux source, a FluxInstance, or
    anything in ``flux-system``): only then does ``flux-system`` hold a SOPS decryption key (an
    Argo CD repository keeps it elsewhere)."""
    return any(
        str(doc.data.get("apiVersion", "")).startswith(_FLUX_APIS) or ctx.repo.namespace_of(file, doc) == "flux-system"
        for file, doc in ctx.repo.documents()
    )


def _decryption_key_readable(ctx: CheckContext) -> Iterator[Violation]:
    if not _uses_flux(ctx):
        ctx.mark_not_applicable(DECRYPTION_KEY_READABLE.id, "the repository has no Flux objects (no flux-system key)")
        return
    no_key = no_decryption_key_secret(ctx)
    if no_key is not None:
        ctx.mark_not_applicable(DECRYPTION_KEY_READABLE.id, no_key)
        return
    for file, doc, namespace, _role_key, subjects in _secret_reading_bindings(ctx):
        if namespace not in (None, "flux-system"):
            continue
        for subject in subjects:
            kind, name = subject.get("kind"), str(subject.get("name", ""))
            if _is_flux(ctx, file, subject, namespace):
                continue
            if _idle_account(ctx, file, subject, namespace, _flux_impersonation_accounts(ctx)) or _idle_account(
                    ctx, file, subject, namespace, retired_accounts(ctx)) or _idle_account(
                    ctx, file, subject, namespace, _accounts_no_chart_pod_holds(ctx)):
                continue
            if kind == "Group" and name == "system:masters":
                continue
            yield Violation(
                DECRYPTION_KEY_READABLE.id, file.rel, doc.line,
                f"{name_of(doc.data)} lets {kind} {name} read the Secrets of flux-system, where the SOPS "
                "decryption key lives",
                DECRYPTION_KEY_READABLE.fix,
            )


TERRAFORM_STATE_COMMITTED = Check(
    id="terraform-state-committed",
    title="Terraform state file committed",
    catches="*.tfstate and *.tfstate.backup files (not SOPS-encrypted) in the repository.",
    fix="Remove it from Git (and history), keep state in a remote backend with encryption and access control, "
        "and add *.tfstate* to .gitignore; rotate the secrets it held.",
    run=_terraform_state_committed,
)
TERRAFORM_STATE_SECRET = Check(
    id="terraform-state-secret",
    title="Generated password or private key in a committed Terraform state",
    catches="random_password/random_string results, tls_private_key keys, IAM access key secrets, database "
            "passwords and attributes listed in sensitive_attributes, in plaintext in a state file.",
    fix="Rotate each listed credential (it is in Git history), then remove the state from Git.",
    run=_terraform_state_secrets,
)
WILDCARD_SECRET_READ = Check(
    id="wildcard-secret-read",
    title="Cloud policy that can read every secret",
    catches="AWS IAM statements (JSON or aws_iam_policy_document) allowing secretsmanager/ssm reads on Resource "
            "*; GCP secret accessor roles at project/folder/organisation level; Azure Key Vault secret roles "
            "assigned above one vault.",
    fix="Scope the grant to the secrets (ARNs, secret resources, one vault) the principal needs.",
    run=_wildcard_secret_reads,
)
RBAC_WORKLOAD_READS_ALL_SECRETS = Check(
    id="rbac-workload-reads-all-secrets",
    title="A workload's ServiceAccount can read all Secrets",
    catches="A Role/ClusterRole allowing get/list/watch on secrets without resourceNames, bound to a "
            "ServiceAccount that a Deployment, StatefulSet, DaemonSet, Job, CronJob or Pod in the repository "
            "runs as.",
    fix="Grant only the named Secrets the workload needs (resourceNames), or mount them instead of reading "
        "them through the API.",
    run=_rbac_workload_reads_all_secrets,
)
DECRYPTION_KEY_READABLE = Check(
    id="decryption-key-readable",
    title="The flux-system Secrets (SOPS decryption key) are readable by more than Flux",
    catches="A RoleBinding in flux-system or a ClusterRoleBinding that lets a subject other than Flux's "
            "controllers read Secrets through a role that allows it.",
    fix="Remove the binding; only kustomize-controller needs the decryption Secret.",
    run=_decryption_key_readable,
)
