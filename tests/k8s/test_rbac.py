"""The documented minimal Role is enough for sopskit's Secret calls, and no more than needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sopskit.k8s.client import connect
from sopskit.k8s.errors import ClusterForbiddenError
from sopskit.k8s.rbac import minimal_role_yaml
from testing.k8s_server import FakeKubeServer, Rule, User
from tests.k8s.conftest import NAMESPACE, SECRET


def _rules_from_yaml(text: str) -> tuple[Rule, ...]:
    """Turn the Role YAML sopskit prints into the fake server's rules (Role = namespaced)."""
    rules = []
    for doc in yaml.safe_load_all(text):
        namespace = doc["metadata"].get("namespace") if doc["kind"] == "Role" else None
        for rule in doc["rules"]:
            assert rule["apiGroups"] == [""]
            rules.append(
                Rule.of(
                    rule["verbs"], rule["resources"], names=rule.get("resourceNames", ()), namespace=namespace
                )
            )
    return tuple(rules)


def _client_with(server: FakeKubeServer, tmp_path: Path, role_yaml: str) -> Any:
    server.add_token("from-docs", User("docs-role", _rules_from_yaml(role_yaml)))
    return connect(kubeconfig=str(server.write_kubeconfig(tmp_path / "kc", token="from-docs")))


def test_role_yaml_is_valid_rbac() -> None:
    role = next(yaml.safe_load_all(minimal_role_yaml("team-a", "team-key")))
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "team-a"
    by_verbs = {tuple(r["verbs"]): r for r in role["rules"]}
    assert "resourceNames" not in by_verbs[("create",)]  # RBAC cannot name objects on create
    assert by_verbs[("get", "update", "delete")]["resourceNames"] == ["team-key"]


def test_minimal_role_runs_the_whole_secret_cycle(k8s_server: FakeKubeServer, tmp_path: Path) -> None:
    k8s_server.add_namespace(NAMESPACE)
    client = _client_with(k8s_server, tmp_path, minimal_role_yaml(NAMESPACE, SECRET))
    assert client.read_secret(NAMESPACE, SECRET) is None
    client.create_secret(NAMESPACE, SECRET, {"age.agekey": b"one"})
    client.replace_secret(NAMESPACE, SECRET, {"age.agekey": b"two"})
    assert client.read_secret(NAMESPACE, SECRET) == {"age.agekey": b"two"}
    assert client.delete_secret(NAMESPACE, SECRET) is True
    assert {r.status for r in k8s_server.requests} <= {200, 201, 404}


@pytest.mark.parametrize(
    ("namespace", "name"),
    [(NAMESPACE, "another-secret"), ("default", SECRET)],
)
def test_minimal_role_refuses_other_objects(
    k8s_server: FakeKubeServer, tmp_path: Path, namespace: str, name: str
) -> None:
    k8s_server.add_secret(namespace, name, {"k": b"v"})
    client = _client_with(k8s_server, tmp_path, minimal_role_yaml(NAMESPACE, SECRET))
    with pytest.raises(ClusterForbiddenError, match=r"not allowed to get secret"):
        client.read_secret(namespace, name)
    with pytest.raises(ClusterForbiddenError):
        client.delete_secret(namespace, name)
    assert k8s_server.secret_data(namespace, name) == {"k": b"v"}


def test_namespace_access_only_with_the_cluster_role(k8s_server: FakeKubeServer, tmp_path: Path) -> None:
    without = _client_with(k8s_server, tmp_path, minimal_role_yaml(NAMESPACE, SECRET))
    with pytest.raises(ClusterForbiddenError):
        without.ensure_namespace(NAMESPACE)
    with_ns = _client_with(
        k8s_server, tmp_path, minimal_role_yaml(NAMESPACE, SECRET, with_namespace_access=True)
    )
    assert with_ns.ensure_namespace(NAMESPACE) is True


def test_forbidden_hint_is_the_role_for_that_secret(
    k8s_server: FakeKubeServer, kubeconfig_no_rights: Path
) -> None:
    k8s_server.add_namespace("team-a")
    with pytest.raises(ClusterForbiddenError) as caught:
        connect(kubeconfig=str(kubeconfig_no_rights)).create_secret("team-a", "team-key", {"k": b"v"})
    hint = caught.value.hint or ""
    role_text = hint.split(":\n", 1)[1]
    assert role_text.strip() == minimal_role_yaml("team-a", "team-key").strip()
    assert (
        str(caught.value)
        == 'not allowed to create secret "team-key" in namespace "team-a" as User "nobody" (403 Forbidden)'
    )
