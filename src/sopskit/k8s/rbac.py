"""The least privilege the cluster-key workflow needs, as RBAC objects.

RBAC cannot limit ``create`` to one object name (the name is not known when the request is
authorised), so the Role has two rules: ``create`` on all Secrets of the namespace, and
``get``/``update``/``delete`` on the one Secret by name. Namespaces are cluster-scoped, so creating
one needs a ClusterRole; sopskit only needs it when it is asked to create the namespace.

These builders feed the 403 hint of :mod:`sopskit.k8s.errors` and ``docs/kubernetes.md``.
"""

from __future__ import annotations

from typing import Any

import yaml

DEFAULT_NAMESPACE = "flux-system"
DEFAULT_SECRET_NAME = "sops-age"
ROLE_NAME = "sopskit-cluster-key"


def minimal_role(
    namespace: str = DEFAULT_NAMESPACE, secret_name: str = DEFAULT_SECRET_NAME
) -> dict[str, Any]:
    """The namespaced Role: ``create`` on secrets, ``get/update/delete`` on ``secret_name`` only."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": ROLE_NAME, "namespace": namespace},
        "rules": [
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
            {
                "apiGroups": [""],
                "resources": ["secrets"],
                "resourceNames": [secret_name],
                "verbs": ["get", "update", "delete"],
            },
        ],
    }


def namespace_cluster_role() -> dict[str, Any]:
    """The ClusterRole needed only when sopskit creates the namespace itself."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": f"{ROLE_NAME}-namespaces"},
        "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "create"]}],
    }


def minimal_role_yaml(
    namespace: str = DEFAULT_NAMESPACE,
    secret_name: str = DEFAULT_SECRET_NAME,
    *,
    with_namespace_access: bool = False,
) -> str:
    """The Role (and, when asked, the namespace ClusterRole) as a YAML stream ready for kubectl."""
    documents = [minimal_role(namespace, secret_name)]
    if with_namespace_access:
        documents.append(namespace_cluster_role())
    return yaml.dump_all(documents, Dumper=_RoleDumper, sort_keys=False, explicit_start=True)


class _RoleDumper(yaml.SafeDumper):
    """Block style, except short lists of strings (``verbs: [get, update]``), as RBAC docs write them."""


def _represent_list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.Node:
    flow = all(isinstance(item, str) for item in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_RoleDumper.add_representer(list, _represent_list)
