"""The fake API server is faithful enough for the real kubectl (TLS + bearer token).

Each test drives ``kubectl`` and checks both what kubectl printed and what the server stored,
so a fake that merely answered 200 would fail.
"""

from __future__ import annotations

import base64
import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sopskit.keys.age import generate_identity
from testing.k8s_server import FakeKubeServer
from tests.k8s.conftest import NAMESPACE, SECRET, Kubectl

# a real identity made at run time: no key material sits in the repository (our own
# `sopskit policy check` and `sopskit scan` run clean on this tree)
AGE_KEY = generate_identity()[0]


def _create_from_stdin(kubectl: Kubectl, kubeconfig: Path, value: str = AGE_KEY) -> None:
    done = kubectl(
        kubeconfig,
        "create",
        "secret",
        "generic",
        SECRET,
        "-n",
        NAMESPACE,
        "--from-file=age.agekey=/dev/stdin",
        input=value,
    )
    assert done.returncode == 0, done.stderr
    assert f"secret/{SECRET} created" in done.stdout


def _get_json(kubectl: Kubectl, kubeconfig: Path, name: str = SECRET) -> dict[str, object]:
    done = kubectl(kubeconfig, "get", "secret", name, "-n", NAMESPACE, "-o", "json")
    assert done.returncode == 0, done.stderr
    parsed: dict[str, object] = json.loads(done.stdout)
    return parsed


def test_create_secret_generic_from_stdin(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    assert kubectl(kubeconfig_admin, "create", "namespace", NAMESPACE).returncode == 0
    _create_from_stdin(kubectl, kubeconfig_admin)

    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": AGE_KEY.encode()}
    create = [r for r in k8s_server.requests if r.verb == "create" and r.resource == "secrets"]
    assert len(create) == 1
    # kubectl 1.32 sends typed creates as protobuf whatever discovery says; the server decodes it.
    assert create[0].content_type == "application/vnd.kubernetes.protobuf"
    assert create[0].user == "admin"
    assert create[0].query["fieldManager"] == "kubectl-create"


def test_get_json_shows_server_fields(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_namespace(NAMESPACE)
    _create_from_stdin(kubectl, kubeconfig_admin)
    obj = _get_json(kubectl, kubeconfig_admin)
    meta = obj["metadata"]
    assert isinstance(meta, dict)
    assert base64.b64decode(obj["data"]["age.agekey"]) == AGE_KEY.encode()  # type: ignore[index]
    assert obj["type"] == "Opaque"
    assert meta["resourceVersion"].isdigit() and meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta == {
        k: v
        for k, v in k8s_server.existing("secrets", NAMESPACE, SECRET)["metadata"].items()
        if k != "managedFields"
    }


def test_create_when_secret_already_exists(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"old"})
    done = kubectl(
        kubeconfig_admin,
        "create",
        "secret",
        "generic",
        SECRET,
        "-n",
        NAMESPACE,
        "--from-file=age.agekey=/dev/stdin",
        input="new",
    )
    assert done.returncode == 1
    assert f'secrets "{SECRET}" already exists' in done.stderr
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": b"old"}


def test_create_in_missing_namespace(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    done = kubectl(
        kubeconfig_admin, "create", "secret", "generic", SECRET, "-n", "nowhere", "--from-literal=a=b"
    )
    assert done.returncode == 1
    assert 'namespaces "nowhere" not found' in done.stderr


def test_replace_bumps_resource_version_and_rejects_stale(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"one"})
    obj = _get_json(kubectl, kubeconfig_admin)
    old_rv = obj["metadata"]["resourceVersion"]  # type: ignore[index]
    obj["data"] = {"age.agekey": base64.b64encode(b"two").decode()}
    done = kubectl(kubeconfig_admin, "replace", "-f", "-", input=json.dumps(obj))
    assert done.returncode == 0, done.stderr
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": b"two"}
    new_rv = k8s_server.existing("secrets", NAMESPACE, SECRET)["metadata"]["resourceVersion"]
    assert int(new_rv) > int(old_rv)

    obj["data"] = {"age.agekey": base64.b64encode(b"three").decode()}  # still carries old_rv
    stale = kubectl(kubeconfig_admin, "replace", "-f", "-", input=json.dumps(obj))
    assert stale.returncode == 1
    assert "the object has been modified; please apply your changes to the latest version" in stale.stderr
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": b"two"}


def test_delete_then_not_found(k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"x"})
    done = kubectl(kubeconfig_admin, "delete", "secret", SECRET, "-n", NAMESPACE)
    assert done.returncode == 0, done.stderr
    assert f'secret "{SECRET}" deleted' in done.stdout
    assert k8s_server.object("secrets", NAMESPACE, SECRET) is None
    again = kubectl(kubeconfig_admin, "delete", "secret", SECRET, "-n", NAMESPACE)
    assert again.returncode == 1
    assert f'Error from server (NotFound): secrets "{SECRET}" not found' in again.stderr


@pytest.mark.parametrize(
    ("patch_type", "patch", "content_type"),
    [
        ("merge", {"data": {"extra": "eQ==", "age.agekey": None}}, "application/merge-patch+json"),
        (
            "strategic",
            {"data": {"extra": "eQ==", "age.agekey": None}},
            "application/strategic-merge-patch+json",
        ),
        (
            "json",
            [
                {"op": "add", "path": "/data/extra", "value": "eQ=="},
                {"op": "remove", "path": "/data/age.agekey"},
            ],
            "application/json-patch+json",
        ),
    ],
)
def test_patch_types(
    k8s_server: FakeKubeServer,
    kubeconfig_admin: Path,
    kubectl: Kubectl,
    patch_type: str,
    patch: object,
    content_type: str,
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"x", "keep": b"k"})
    done = kubectl(
        kubeconfig_admin,
        "patch",
        "secret",
        SECRET,
        "-n",
        NAMESPACE,
        f"--type={patch_type}",
        "-p",
        json.dumps(patch),
    )
    assert done.returncode == 0, done.stderr
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"extra": b"y", "keep": b"k"}
    assert [r.content_type for r in k8s_server.requests if r.method == "PATCH"] == [content_type]


def test_patch_with_invalid_base64_is_rejected(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"x"})
    done = kubectl(
        kubeconfig_admin,
        "patch",
        "secret",
        SECRET,
        "-n",
        NAMESPACE,
        "--type=merge",
        "-p",
        '{"data": {"bad": "not base64!"}}',
    )
    assert done.returncode == 1
    assert "illegal base64 data at input byte 3" in done.stderr
    assert k8s_server.secret_data(NAMESPACE, SECRET) == {"age.agekey": b"x"}


MANIFEST = """\
apiVersion: v1
kind: Secret
metadata:
  name: app
  namespace: flux-system
stringData:
  password: {password}
"""


def test_client_side_apply_stores_plaintext_in_annotation(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    """Why sopskit never uses client-side apply: the plaintext lands in an annotation."""
    k8s_server.add_namespace(NAMESPACE)
    done = kubectl(kubeconfig_admin, "apply", "-f", "-", input=MANIFEST.format(password="hunter2-plain"))
    assert done.returncode == 0, done.stderr
    obj = k8s_server.object("secrets", NAMESPACE, "app")
    assert obj is not None
    assert base64.b64decode(obj["data"]["password"]) == b"hunter2-plain"  # stringData merged into data
    assert "stringData" not in obj
    annotation = obj["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
    assert json.loads(annotation)["stringData"] == {"password": "hunter2-plain"}

    # A second apply computes a strategic merge patch from that annotation.
    done = kubectl(kubeconfig_admin, "apply", "-f", "-", input=MANIFEST.format(password="rotated"))
    assert done.returncode == 0, done.stderr
    assert "configured" in done.stdout
    assert any(r.content_type == "application/strategic-merge-patch+json" for r in k8s_server.requests)
    assert k8s_server.secret_data(NAMESPACE, "app") == {"password": b"rotated"}


def test_server_side_apply_has_field_manager_and_no_annotation(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_namespace(NAMESPACE)
    done = kubectl(
        kubeconfig_admin,
        "apply",
        "--server-side",
        "--field-manager=sopskit-test",
        "-f",
        "-",
        input=MANIFEST.format(password="s3cret"),
    )
    assert done.returncode == 0, done.stderr
    assert "serverside-applied" in done.stdout
    obj = k8s_server.object("secrets", NAMESPACE, "app")
    assert obj is not None
    assert "annotations" not in obj["metadata"]
    managers = {m["manager"]: m for m in obj["metadata"]["managedFields"]}
    assert managers["sopskit-test"]["operation"] == "Apply"
    assert "f:password" in managers["sopskit-test"]["fieldsV1"]["f:data"]
    assert [r.content_type for r in k8s_server.requests if r.method == "PATCH"] == [
        "application/apply-patch+yaml"
    ]


def test_server_side_apply_conflicts_with_another_manager(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_namespace(NAMESPACE)
    created = kubectl(
        kubeconfig_admin,
        "create",
        "secret",
        "generic",
        "app",
        "-n",
        NAMESPACE,
        "--from-literal=password=first",
    )
    assert created.returncode == 0, created.stderr
    conflict = kubectl(
        kubeconfig_admin, "apply", "--server-side", "-f", "-", input=MANIFEST.format(password="x")
    )
    assert conflict.returncode == 1
    assert 'Apply failed with 1 conflict: conflict with "kubectl-create": .data.password' in conflict.stderr
    assert k8s_server.secret_data(NAMESPACE, "app") == {"password": b"first"}

    forced = kubectl(
        kubeconfig_admin,
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        "-",
        input=MANIFEST.format(password="x"),
    )
    assert forced.returncode == 0, forced.stderr
    assert k8s_server.secret_data(NAMESPACE, "app") == {"password": b"x"}


def test_unknown_token_is_401_with_kubectls_text(
    k8s_server: FakeKubeServer, kubeconfig_bad_token: Path, kubectl: Kubectl
) -> None:
    done = kubectl(kubeconfig_bad_token, "get", "secret", SECRET, "-n", NAMESPACE)
    assert done.returncode == 1
    assert "error: You must be logged in to the server" in done.stderr
    assert {r.status for r in k8s_server.requests} == {401}


def test_read_only_token_is_403_and_changes_nothing(
    k8s_server: FakeKubeServer, kubeconfig_readonly: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"age.agekey": b"old"})
    before = k8s_server.object("secrets", NAMESPACE, SECRET)
    assert _get_json(kubectl, kubeconfig_readonly)["data"] == before["data"]  # type: ignore[index]

    create = kubectl(
        kubeconfig_readonly, "create", "secret", "generic", "other", "-n", NAMESPACE, "--from-literal=a=b"
    )
    assert create.returncode == 1
    assert (
        'secrets is forbidden: User "reader" cannot create resource "secrets" in API group "" '
        'in the namespace "flux-system"'
    ) in create.stderr
    delete = kubectl(kubeconfig_readonly, "delete", "secret", SECRET, "-n", NAMESPACE)
    assert delete.returncode == 1
    assert (
        f'Error from server (Forbidden): secrets "{SECRET}" is forbidden: User "reader" cannot delete '
        'resource "secrets" in API group "" in the namespace "flux-system"'
    ) in delete.stderr
    assert k8s_server.object("secrets", NAMESPACE, SECRET) == before
    assert k8s_server.object("secrets", NAMESPACE, "other") is None


def test_minimal_role_allows_only_the_named_secret(
    k8s_server: FakeKubeServer, kubeconfig_minimal: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_namespace(NAMESPACE)
    k8s_server.add_secret(NAMESPACE, "unrelated", {"k": b"v"})
    _create_from_stdin(kubectl, kubeconfig_minimal)
    assert _get_json(kubectl, kubeconfig_minimal)["data"]  # get on the named Secret works
    other = kubectl(kubeconfig_minimal, "get", "secret", "unrelated", "-n", NAMESPACE)
    assert other.returncode == 1
    assert 'User "sopskit-ci" cannot get resource "secrets"' in other.stderr
    listing = kubectl(kubeconfig_minimal, "get", "secrets", "-n", NAMESPACE)
    assert listing.returncode == 1
    assert 'cannot list resource "secrets"' in listing.stderr
    assert kubectl(kubeconfig_minimal, "delete", "secret", SECRET, "-n", NAMESPACE).returncode == 0


def test_kubectl_sends_no_token_over_plain_http(
    k8s_plain_server: FakeKubeServer, tmp_path: Path, kubectl: Kubectl
) -> None:
    """Backs the docs: against plain HTTP kubectl is anonymous, so local tests need TLS."""
    kubeconfig = k8s_plain_server.write_kubeconfig(tmp_path / "plain", token="admin-token")
    done = kubectl(kubeconfig, "get", "secrets", "-n", NAMESPACE)
    assert done.returncode == 1
    users = {r.user for r in k8s_plain_server.requests}
    assert users == {"system:anonymous"}


def test_discovery_lists_only_json_resources(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    done = kubectl(kubeconfig_admin, "api-resources", "-o", "name")
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.split()) == {
        "namespaces",
        "secrets",
        "kustomizations.kustomize.toolkit.fluxcd.io",
        "selfsubjectaccessreviews.authorization.k8s.io",
    }
    version = kubectl(kubeconfig_admin, "version", "-o", "json")
    assert json.loads(version.stdout)["serverVersion"]["minor"] == "32"


def test_table_output(k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl) -> None:
    k8s_server.add_secret(NAMESPACE, SECRET, {"a": b"1", "b": b"2"})
    done = kubectl(kubeconfig_admin, "get", "secrets", "-n", NAMESPACE)
    assert done.returncode == 0, done.stderr
    header, row = done.stdout.splitlines()
    assert header.split() == ["NAME", "TYPE", "DATA", "AGE"]
    assert row.split()[:3] == [SECRET, "Opaque", "2"]


# --------------------------------------------------------------------------- Flux Kustomizations

_KS_SPEC = {
    "interval": "10m",
    "path": "./apps",
    "prune": True,
    "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
    "decryption": {"provider": "sops", "secretRef": {"name": SECRET}},
}
_READY = {
    "conditions": [
        {
            "type": "Ready",
            "status": "False",
            "reason": "ReconciliationFailed",
            "message": "decryption failed for 'app-secret': no age identity found",
        }
    ],
    "lastAppliedRevision": "main@sha1:0123abcd",
}


def test_kustomization_get_shows_the_status_the_test_set(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    k8s_server.add_kustomization(NAMESPACE, "apps", _KS_SPEC, status=_READY)

    table = kubectl(kubeconfig_admin, "get", "kustomizations", "-n", NAMESPACE)
    assert table.returncode == 0, table.stderr
    assert "apps" in table.stdout and "False" in table.stdout and "no age identity found" in table.stdout

    done = kubectl(kubeconfig_admin, "get", "ks", "apps", "-n", NAMESPACE, "-o", "json")
    assert done.returncode == 0, done.stderr
    obj = json.loads(done.stdout)
    assert obj["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
    assert obj["spec"]["decryption"]["secretRef"]["name"] == SECRET
    assert obj["status"]["lastAppliedRevision"] == "main@sha1:0123abcd"

    k8s_server.set_kustomization_status(
        NAMESPACE, "apps", {"conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded"}]}
    )
    waited = kubectl(
        kubeconfig_admin, "wait", "--for=condition=Ready", "kustomization/apps", "-n", NAMESPACE, "--timeout=5s"
    )
    assert waited.returncode == 0, waited.stderr
    assert "condition met" in waited.stdout


def test_kustomization_create_keeps_status_a_subresource(
    k8s_server: FakeKubeServer, kubeconfig_admin: Path, kubectl: Kubectl
) -> None:
    manifest = json.dumps(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "infra", "namespace": NAMESPACE},
            "spec": _KS_SPEC,
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    assert kubectl(kubeconfig_admin, "create", "namespace", NAMESPACE).returncode == 0
    done = kubectl(kubeconfig_admin, "create", "-f", "-", input=manifest)
    assert done.returncode == 0, done.stderr
    assert "kustomization.kustomize.toolkit.fluxcd.io/infra created" in done.stdout
    stored = k8s_server.existing("kustomizations", NAMESPACE, "infra")
    assert stored["spec"]["path"] == "./apps"
    assert "status" not in stored  # a client cannot claim Ready; only the controller (the test) can


def test_kustomization_not_served_under_the_core_group(k8s_server: FakeKubeServer) -> None:
    k8s_server.add_kustomization(NAMESPACE, "apps", _KS_SPEC)
    assert k8s_server.tls is not None
    context = ssl.create_default_context(cafile=str(k8s_server.tls.ca_cert))
    for path, status in (
        (f"/api/v1/namespaces/{NAMESPACE}/kustomizations/apps", 404),
        (f"/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{NAMESPACE}/kustomizations/apps", 200),
    ):
        request = urllib.request.Request(k8s_server.url + path, headers={"Authorization": "Bearer admin-token"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as answer:
                code = answer.status
        except urllib.error.HTTPError as error:
            code = error.code
        assert code == status, path


# --------------------------------------------------------------------------- access reviews


@pytest.mark.parametrize(
    ("kubeconfig_fixture", "target", "expected"),
    [
        ("kubeconfig_admin", f"secrets/{SECRET}", "yes"),
        ("kubeconfig_minimal", f"secrets/{SECRET}", "yes"),
        ("kubeconfig_minimal", "secrets/other", "no"),
        ("kubeconfig_readonly", f"secrets/{SECRET}", "yes"),
        ("kubeconfig_no_rights", f"secrets/{SECRET}", "no"),
    ],
)
def test_auth_can_i_answers_from_the_servers_rules(
    request: pytest.FixtureRequest, kubectl: Kubectl, kubeconfig_fixture: str, target: str, expected: str
) -> None:
    kubeconfig = request.getfixturevalue(kubeconfig_fixture)
    done = kubectl(kubeconfig, "auth", "can-i", "get", target, "-n", NAMESPACE)
    assert done.stdout.strip() == expected, done.stderr
    assert done.returncode == (0 if expected == "yes" else 1)


def test_auth_can_i_delete_follows_the_verb(kubeconfig_readonly: Path, kubectl: Kubectl) -> None:
    done = kubectl(kubeconfig_readonly, "auth", "can-i", "delete", f"secrets/{SECRET}", "-n", NAMESPACE)
    assert (done.returncode, done.stdout.strip()) == (1, "no")
