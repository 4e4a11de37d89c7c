"""REST behaviour of the fake API server seen with plain HTTP requests (what kubectl does not show)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from testing.k8s_server import FakeKubeServer
from tests.k8s.conftest import NAMESPACE

SECRETS = f"/api/v1/namespaces/{NAMESPACE}/secrets"


def call(
    server: FakeKubeServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str = "admin-token",
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(
        server.url + path,
        data=data,
        method=method,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": content_type,
            "Accept": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def secret(name: str, **fields: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, **fields}


@pytest.fixture()
def server(k8s_plain_server: FakeKubeServer) -> FakeKubeServer:
    k8s_plain_server.add_namespace(NAMESPACE)
    return k8s_plain_server


def test_status_objects(server: FakeKubeServer) -> None:
    code, status = call(server, "GET", f"{SECRETS}/absent")
    assert code == 404
    assert status == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'secrets "absent" not found',
        "reason": "NotFound",
        "code": 404,
        "details": {"name": "absent", "kind": "secrets"},
    }
    assert call(server, "GET", SECRETS, token="wrong")[1]["reason"] == "Unauthorized"
    assert call(server, "POST", SECRETS, secret("a"), token="read-only-token")[1]["code"] == 403
    assert call(server, "POST", SECRETS, secret("a"))[0] == 201
    code, status = call(server, "POST", SECRETS, secret("a"))
    assert (code, status["reason"]) == (409, "AlreadyExists")


def test_string_data_is_merged_and_data_validated(server: FakeKubeServer) -> None:
    code, obj = call(server, "POST", SECRETS, secret("s", data={"a": "YQ=="}, stringData={"b": "plain"}))
    assert code == 201
    assert "stringData" not in obj
    assert {k: base64.b64decode(v) for k, v in obj["data"].items()} == {"a": b"a", "b": b"plain"}
    code, status = call(server, "POST", SECRETS, secret("t", data={"a": "%%%"}))
    assert (code, status["reason"]) == (400, "BadRequest")
    assert "illegal base64 data at input byte 0" in status["message"]
    code, status = call(server, "POST", SECRETS, secret("u", data={"bad key": "YQ=="}))
    assert (code, status["reason"]) == (422, "Invalid")
    assert status["details"]["causes"][0]["field"] == "data[bad key]"


def test_resource_versions(server: FakeKubeServer) -> None:
    _, created = call(server, "POST", SECRETS, secret("s", data={"a": "YQ=="}))
    rv = created["metadata"]["resourceVersion"]
    _, same = call(server, "PUT", f"{SECRETS}/s", created)
    assert same["metadata"]["resourceVersion"] == rv  # a no-op update keeps the version
    changed = {**created, "data": {"a": "Yg=="}}
    _, updated = call(server, "PUT", f"{SECRETS}/s", changed)
    assert int(updated["metadata"]["resourceVersion"]) > int(rv)
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    code, status = call(server, "PUT", f"{SECRETS}/s", changed)  # carries the old version
    assert (code, status["reason"]) == (409, "Conflict")
    code, listing = call(server, "GET", f"{SECRETS}?fieldSelector=metadata.name%3Ds")
    assert [i["metadata"]["name"] for i in listing["items"]] == ["s"]
    assert int(listing["metadata"]["resourceVersion"]) >= int(updated["metadata"]["resourceVersion"])


def test_update_of_absent_secret_is_404(server: FakeKubeServer) -> None:
    assert call(server, "PUT", f"{SECRETS}/absent", secret("absent"))[0] == 404


def test_dry_run_does_not_persist(server: FakeKubeServer) -> None:
    code, obj = call(server, "POST", f"{SECRETS}?dryRun=All", secret("d", data={"a": "YQ=="}))
    assert code == 201 and obj["data"] == {"a": "YQ=="}
    assert server.object("secrets", NAMESPACE, "d") is None


def test_unknown_content_type_is_415(server: FakeKubeServer) -> None:
    code, status = call(server, "POST", SECRETS, b"\xa1", content_type="application/cbor")
    assert (code, status["reason"]) == (415, "UnsupportedMediaType")
    code, status = call(server, "PATCH", f"{SECRETS}/x", {}, content_type="application/json")
    assert code == 415


def test_apply_needs_field_manager(server: FakeKubeServer) -> None:
    code, status = call(
        server, "PATCH", f"{SECRETS}/x", secret("x"), content_type="application/apply-patch+yaml"
    )
    assert (code, status["reason"]) == (400, "BadRequest")
    code, obj = call(
        server,
        "PATCH",
        f"{SECRETS}/x?fieldManager=me",
        secret("x", stringData={"k": "v"}),
        content_type="application/apply-patch+yaml",
    )
    assert code == 201
    assert obj["metadata"]["managedFields"][0]["manager"] == "me"
    assert "annotations" not in obj["metadata"]


def test_request_log_never_holds_secret_data(server: FakeKubeServer) -> None:
    marker = "do-not-log-this-value"
    call(server, "POST", SECRETS, secret("s", stringData={"k": marker}))
    call(server, "PUT", f"{SECRETS}/s", secret("s", stringData={"k": marker + "2"}))
    record = server.requests[0]
    assert (record.method, record.path, record.content_type, record.user, record.status) == (
        "POST",
        SECRETS,
        "application/json",
        "admin",
        201,
    )
    logged = repr(server.requests)
    assert marker not in logged
    assert base64.b64encode(marker.encode()).decode() not in logged
