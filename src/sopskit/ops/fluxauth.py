"""``repo init`` for a repository whose ``.sops.yaml`` uses cloud keys: give Flux a way in.

kustomize-controller opens a cloud data key with, in Flux's order (kustomize-controller
``internal/decryptor/decryptor.go``, ``docs/spec/v1/kustomizations.md`` "Decryption" and
"Controller global decryption"): an entry in the Kustomization's decryption Secret
(``sops.azure-kv``, ``sops.gcp-kms``, ``sops.aws-kms``), else ``spec.decryption.serviceAccountName``
(object-level, a feature gate), else the controller's own workload identity. The safe default is
the last one: no credential exists to leak or rotate. It is patches in the ``kustomization.yaml``
that installs Flux (next to ``gotk-components.yaml``), the ones Flux's integration guides show
("At the controller level"): for Azure the ``azure.workload.identity/client-id`` (and
``tenant-id``) annotation on the kustomize-controller ServiceAccount plus the
``azure.workload.identity/use: "true"`` label on its pod template, which AKS's webhook needs to
inject the federated token; for GKE the ``iam.gke.io/gcp-service-account`` annotation; for EKS
(IRSA) the ``eks.amazonaws.com/role-arn`` annotation.

The patches are inserted as text, at the end of ``patches`` (or as a new ``patches`` key at the
end of the file): every other byte stays. A patch already there (any patch for the
kustomize-controller ServiceAccount that sets the annotation, or its Deployment that sets the
label) is left alone, so the edit is idempotent and never overrides a team's own value.

The Secret route is never written to the repository (a client secret is a credential): the
caller prints a ``kubectl`` command that reads it from stdin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sopskit.errors import UsageError
from sopskit.format.keytypes import key_type

CONTROLLER = "kustomize-controller"
CLIENT_ID_ANNOTATION = "azure.workload.identity/client-id"
TENANT_ID_ANNOTATION = "azure.workload.identity/tenant-id"
USE_LABEL = "azure.workload.identity/use"
GCP_ANNOTATION = "iam.gke.io/gcp-service-account"
AWS_ANNOTATION = "eks.amazonaws.com/role-arn"
FLUX_MANIFESTS = "gotk-components.yaml"
#: the data key of Flux's decryption Secret for Azure Key Vault (from the key-type table)
AZURE_SECRET_KEY = key_type("azure_kv").flux_secret_key  # type: ignore[union-attr]  # a built-in row
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_GCP_SA = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]@[-a-z0-9.]+\.iam\.gserviceaccount\.com$")
_AWS_ROLE = re.compile(r"^arn:aws[-a-z]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$")


@dataclass(frozen=True)
class WorkloadIdentity:
    """What kustomize-controller's ServiceAccount (and pod) carry to act as a cloud identity:
    public identifiers only, never a credential. ``key_type`` is the sops key type it opens."""

    key_type: str
    label: str
    annotations: tuple[tuple[str, str], ...]
    pod_labels: tuple[tuple[str, str], ...] = ()
    #: what the cloud side still needs (doctor cannot see it)
    next_step: str = ""


def azure_identity(client_id: str, tenant_id: str | None = None) -> WorkloadIdentity:
    """Azure workload identity: the managed identity's client ID (and tenant) on the ServiceAccount,
    and the pod label AKS's webhook needs to inject the federated token."""
    for label, value in (("client ID", client_id), ("tenant ID", tenant_id)):
        if value is not None and not _GUID.match(value):
            raise UsageError(f"Azure {label} {value!r} is not a GUID",
                             hint="az identity show --name NAME --resource-group GROUP --query clientId -o tsv")
    annotations = ((CLIENT_ID_ANNOTATION, client_id),) + (((TENANT_ID_ANNOTATION, tenant_id),) if tenant_id else ())
    return WorkloadIdentity("azure_kv", "Azure workload identity", annotations, ((USE_LABEL, '"true"'),),
                            "federate the managed identity with system:serviceaccount:flux-system:"
                            "kustomize-controller (audience api://AzureADTokenExchange), grant it Key Vault "
                            "Crypto User, then restart kustomize-controller once")


def gcp_identity(service_account: str) -> WorkloadIdentity:
    """GKE workload identity: the Google service account kustomize-controller impersonates."""
    if not _GCP_SA.match(service_account):
        raise UsageError(f"{service_account!r} is not a Google service account e-mail",
                         hint="NAME@PROJECT_ID.iam.gserviceaccount.com")
    return WorkloadIdentity("gcp_kms", "GKE workload identity", ((GCP_ANNOTATION, service_account),),
                            next_step="grant roles/iam.workloadIdentityUser on that service account to "
                            "PROJECT_ID.svc.id.goog[flux-system/kustomize-controller] and it "
                            "roles/cloudkms.cryptoKeyDecrypter, then restart kustomize-controller once")


def aws_identity(role_arn: str) -> WorkloadIdentity:
    """EKS IAM roles for service accounts (IRSA): the role kustomize-controller assumes."""
    if not _AWS_ROLE.match(role_arn):
        raise UsageError(f"{role_arn!r} is not an IAM role ARN", hint="arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME")
    return WorkloadIdentity("kms", "EKS IAM role for service accounts", ((AWS_ANNOTATION, role_arn),),
                            next_step="trust the cluster's OIDC provider for system:serviceaccount:flux-system:"
                            "kustomize-controller in the role, allow kms:Decrypt on the key, then restart "
                            "kustomize-controller once")


def find_flux_installs(repo: Path, kustomizations: list[tuple[Path, Any]], near: list[Path]) -> list[Path]:
    """The ``kustomization.yaml`` files listing ``gotk-components.yaml`` (what ``flux bootstrap``
    writes) of the clusters that apply the secrets: the only one, or, when the repository holds
    several clusters' installs, those whose cluster folder (``clusters/prod`` for
    ``clusters/prod/flux-system/``) holds a Flux Kustomization in ``near``."""
    found = sorted(path for path, doc in kustomizations
                   if isinstance(doc, dict) and isinstance(doc.get("resources"), list)
                   and any(str(r).endswith(FLUX_MANIFESTS) for r in doc["resources"]))
    if len(found) <= 1:
        return found
    return [path for path in found if any(path.parent.parent in k.parents for k in near)]


def targets_controller(target: Any, body: Any, kind: str) -> bool:
    """Whether a kustomize patch (its ``target``, else the patch body's own kind and name)
    applies to kustomize-controller's ``kind`` object; kustomize matches ``target.kind`` and
    ``target.name`` as anchored regular expressions. ``repo init`` and ``doctor`` both ask here."""
    target = target if isinstance(target, dict) else {}
    meta = body.get("metadata") if isinstance(body, dict) else None
    want_kind = target.get("kind") or (body.get("kind") if isinstance(body, dict) else None)
    name = target.get("name") or (meta.get("name") if isinstance(meta, dict) else None)
    if not isinstance(want_kind, str) or not isinstance(name, str):
        return False
    try:
        return bool(re.fullmatch(want_kind, kind)) and bool(re.fullmatch(name, CONTROLLER))
    except re.error:
        return (want_kind, name) == (kind, CONTROLLER)


#: per key type: the ServiceAccount annotation and the pod label (if any) of its workload identity
MARKERS: dict[str, tuple[str, str | None]] = {
    "azure_kv": (CLIENT_ID_ANNOTATION, USE_LABEL), "gcp_kms": (GCP_ANNOTATION, None), "kms": (AWS_ANNOTATION, None),
}


def existing_patches(doc: Any, key_type: str) -> tuple[bool, bool]:
    """(the ServiceAccount annotation is patched, the pod label is patched or none is needed) for
    kustomize-controller's ``key_type`` identity, by any patch of the file (a team's own included)."""
    import yaml

    marker, label = MARKERS[key_type]
    annotated, labelled = False, label is None
    patches = doc.get("patches") if isinstance(doc, dict) else None
    for entry in patches if isinstance(patches, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("patch"), str):
            continue
        text = entry["patch"]
        try:
            body = yaml.safe_load(text)
        except yaml.YAMLError:
            continue
        if marker in text and targets_controller(entry.get("target"), body, "ServiceAccount"):
            annotated = True
        if label and label in text and targets_controller(entry.get("target"), body, "Deployment"):
            labelled = True
    return annotated, labelled


def _patch_entries(identity: WorkloadIdentity, annotate: bool, label: bool, dash: int) -> str:
    pad = " " * dash
    lines: list[str] = [f"# sopskit: {identity.label} of {CONTROLLER} for SOPS decryption"]
    if annotate:
        lines += ["- target:", "    kind: ServiceAccount", f"    name: {CONTROLLER}", "  patch: |",
                  "    apiVersion: v1", "    kind: ServiceAccount", "    metadata:", f"      name: {CONTROLLER}",
                  "      annotations:"]
        lines += [f"        {key}: {value}" for key, value in identity.annotations]
    if label:
        lines += ["- target:", "    kind: Deployment", f"    name: {CONTROLLER}", "  patch: |",
                  "    apiVersion: apps/v1", "    kind: Deployment", "    metadata:", f"      name: {CONTROLLER}",
                  "    spec:", "      template:", "        metadata:", "          labels:"]
        lines += [f"            {key}: {value}" for key, value in identity.pod_labels]
    return "".join(f"{pad}{line}\n" for line in lines)


def add_workload_identity(text: str, identity: WorkloadIdentity) -> str:
    """``text`` of the Flux install's ``kustomization.yaml`` with the identity's patches added
    (those missing); unchanged when they are there. Refuses a flow-style ``patches`` it cannot
    extend."""
    import yaml

    from sopskit.errors import ConfigError

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError("the Flux kustomization.yaml is not valid YAML") from None
    annotated, labelled = existing_patches(doc, identity.key_type)
    if annotated and labelled:
        return text
    if not isinstance(node, yaml.MappingNode):
        raise ConfigError("the Flux kustomization.yaml is not a mapping")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    patches = next((v for k, v in node.value if k.value == "patches"), None)
    resources = next((v for k, v in node.value if k.value == "resources"), None)
    if patches is None:
        dash = _dash_column(lines, resources)
        while lines and not lines[-1].strip():
            lines.pop()
        return "".join(lines) + "patches:\n" + _patch_entries(identity, not annotated, not labelled, dash)
    if not isinstance(patches, yaml.SequenceNode) or patches.flow_style or not patches.value:
        raise ConfigError("the Flux kustomization.yaml has a flow-style or empty `patches`; add the workload "
                          "identity patches by hand (see docs/cloud-keys.md)")
    dash = _dash_column(lines, patches)
    at = _end_line(patches.value[-1])
    # back over blank lines and comments that belong to what follows (indented at most like the
    # dashes: the content of a block scalar is always indented deeper)
    while at > 0 and at - 1 < len(lines) and (
            not lines[at - 1].strip()
            or (lines[at - 1].lstrip().startswith("#") and len(lines[at - 1]) - len(lines[at - 1].lstrip()) <= dash)):
        at -= 1
    block = _patch_entries(identity, not annotated, not labelled, dash)
    return "".join([*lines[:at], block, *lines[at:]])


def _end_line(node: Any) -> int:
    """The line after a node's last content (its innermost last scalar: a collection's own
    end mark lies at the next token, past trailing comments)."""
    import yaml

    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    end = node.end_mark
    return int(end.line if end.column == 0 else end.line + 1)


def _dash_column(lines: list[str], sequence: Any) -> int:
    """Where the ``-`` of a block sequence's items sits (kustomize files use 0 or 2)."""
    import yaml

    if isinstance(sequence, yaml.SequenceNode) and not sequence.flow_style and sequence.value:
        first = sequence.value[0].start_mark
        line = lines[first.line][: first.column] if first.line < len(lines) else ""
        dash = line.rfind("-")
        if dash >= 0:
            return dash
    return 0


def secret_instructions(namespace: str, secret: str) -> list[str]:
    """How to put a ``sops.azure-kv`` entry in the decryption Secret without it touching a file."""
    return [
        f"Azure Key Vault through a decryption Secret: Flux reads the data key {AZURE_SECRET_KEY} (exactly that "
        f"name) of Secret {namespace}/{secret}, which the Kustomization's spec.decryption.secretRef must name.",
        "Its value is YAML or JSON: `clientId: ID` alone for a managed identity, or tenantId, clientId and "
        "clientSecret (or clientCertificate) for a service principal. Type it on stdin, never into a file:",
        f"  kubectl -n {namespace} create secret generic {secret} --from-file={AZURE_SECRET_KEY}=/dev/stdin",
        f"  (Secret already there: kubectl -n {namespace} patch secret {secret} --type merge --patch-file "
        f"/dev/stdin, with {{\"stringData\": {{\"{AZURE_SECRET_KEY}\": \"...\"}}}})",
        "Workload identity needs no credential at all: `sopskit repo init --azure-identity CLIENT_ID`.",
    ]


__all__ = ["AZURE_SECRET_KEY", "MARKERS", "WorkloadIdentity", "add_workload_identity", "aws_identity", "azure_identity",
           "existing_patches", "find_flux_installs", "gcp_identity", "secret_instructions",
           "targets_controller"]
