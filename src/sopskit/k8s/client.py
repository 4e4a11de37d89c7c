"""Kubernetes access for sopskit: read, create, replace and delete one Secret, ensure a namespace.

Built on the official ``kubernetes`` client (the ``k8s`` extra), imported inside :func:`connect`
so that commands that never touch a cluster do not pay for it.

Design choices, and why:

* **Create or replace, never client-side apply.** ``kubectl apply`` copies the whole object, plain
  ``stringData`` included, into the ``kubectl.kubernetes.io/last-applied-configuration``
  annotation. :meth:`ClusterClient.replace_secret` even drops that annotation when it finds one, so
  replacing a key that was once applied client-side does not leave the old key readable.
* **Optimistic concurrency.** Replace and delete send a ``resourceVersion`` precondition, so a
  concurrent change surfaces as :class:`~sopskit.k8s.errors.ClusterConflictError` instead of being
  overwritten.
* **Errors are translated at this boundary** (:mod:`sopskit.k8s.errors`); no ``ApiException`` or
  urllib3 error escapes, and no message contains Secret data.
* Field manager ``sopskit`` on every write, so ``managedFields`` show who wrote the Secret.

Configuration is found like kubectl finds it: an explicit kubeconfig path, else ``KUBECONFIG``
(a ``:``-separated list), else ``~/.kube/config``, else the in-cluster service account
(``KUBERNETES_SERVICE_HOST``). Bearer tokens are sent over plain HTTP too, unlike kubectl, which is
what local test servers need.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sopskit.errors import MissingExtraError
from sopskit.k8s.errors import (
    AlreadyExistsError,
    ClusterNotFoundError,
    KubeconfigError,
    Request,
    from_api_exception,
    from_connection_error,
)

__all__ = ["FIELD_MANAGER", "ClusterClient", "connect"]

FIELD_MANAGER = "sopskit"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"
DEFAULT_TIMEOUT = 30.0

T = TypeVar("T")


def _import_kubernetes() -> Any:
    try:
        import kubernetes
    except ImportError as exc:
        raise MissingExtraError("Kubernetes access", "k8s") from exc
    return kubernetes


def _config_source(kubeconfig: str | None) -> str | None:
    """The kubeconfig path(s) to load, or None for in-cluster configuration."""
    if kubeconfig:
        return kubeconfig
    from_env = os.environ.get("KUBECONFIG")
    if from_env:
        return from_env
    default = Path.home() / ".kube" / "config"
    if default.is_file() or not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return str(default)
    return None


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    client_factory: Callable[[], Any] | None = None,
) -> ClusterClient:
    """Connect to the cluster of ``context`` (default: the kubeconfig's current context).

    ``client_factory`` returns a ready ``kubernetes.client.CoreV1Api`` (or an object with the
    same ``read/create/replace/delete_namespaced_secret``, ``read_namespace`` and
    ``create_namespace`` methods) and bypasses all configuration loading: the seam for tests and
    for callers that configured the client themselves.
    """
    if client_factory is not None:
        api = client_factory()
        host = getattr(getattr(getattr(api, "api_client", None), "configuration", None), "host", None)
        return ClusterClient(api, server=str(host or "the injected client"), timeout=timeout)
    kubernetes = _import_kubernetes()
    configuration = kubernetes.client.Configuration()
    source = _config_source(kubeconfig)
    try:
        if source is None:
            if context:
                raise KubeconfigError(
                    f'cannot use context "{context}": running in-cluster without a kubeconfig',
                    hint="pass --kubeconfig or set KUBECONFIG",
                )
            kubernetes.config.load_incluster_config(client_configuration=configuration)
        else:
            _require_kubeconfig_files(source)
            kubernetes.config.load_kube_config(
                config_file=source, context=context, client_configuration=configuration, persist_config=False
            )
    except kubernetes.config.ConfigException as exc:
        where = "the in-cluster service account" if source is None else f"kubeconfig {source}"
        what = f'context "{context}" of {where}' if context else where
        raise KubeconfigError(
            f"cannot use {what}: {_first_line(exc)}",
            hint="list the contexts with `kubectl config get-contexts`",
        ) from exc
    api = kubernetes.client.CoreV1Api(kubernetes.client.ApiClient(configuration))
    return ClusterClient(api, server=str(configuration.host), timeout=timeout)


def _require_kubeconfig_files(source: str) -> None:
    paths = [p for p in source.split(os.pathsep) if p]
    if not any(Path(p).expanduser().is_file() for p in paths):
        raise KubeconfigError(
            f"no kubeconfig found at {source}",
            hint="pass --kubeconfig, set KUBECONFIG, or run inside the cluster",
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _encode(data: Mapping[str, bytes]) -> dict[str, str]:
    return {key: base64.b64encode(value).decode("ascii") for key, value in data.items()}


class ClusterClient:
    """One cluster, seen through the few calls the cluster-key workflow needs.

    Methods return plain values (decoded bytes, resourceVersions, booleans) and raise only
    :class:`sopskit.errors.ClusterError` subclasses.
    """

    def __init__(self, api: Any, *, server: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._api = api
        self.server = server
        self._timeout = timeout

    # ---- plumbing

    def _call(self, request: Request, call: Callable[[], T]) -> T:
        """Run one API call, translating every failure at this one place."""
        kubernetes = _import_kubernetes()
        import urllib3

        try:
            return call()
        except kubernetes.client.exceptions.ApiException as exc:
            if exc.status in (0, None):  # raised by the client itself, not the server
                raise from_connection_error(exc, request, self.server) from exc
            raise from_api_exception(int(exc.status), exc.body, request, self.server) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise from_connection_error(exc, request, self.server) from exc

    def _read(self, namespace: str, name: str) -> Any | None:
        request = Request("get", "secrets", namespace, name)
        try:
            return self._call(
                request,
                lambda: self._api.read_namespaced_secret(name, namespace, _request_timeout=self._timeout),
            )
        except ClusterNotFoundError:
            return None

    # ---- secrets

    def read_secret(self, namespace: str, name: str) -> dict[str, bytes] | None:
        """The Secret's decoded ``data``, or None when the Secret (or its namespace) is absent."""
        secret = self._read(namespace, name)
        if secret is None:
            return None
        return {key: base64.b64decode(value) for key, value in (secret.data or {}).items()}

    def secret_resource_version(self, namespace: str, name: str) -> str | None:
        """The Secret's current ``resourceVersion``, or None when it is absent."""
        secret = self._read(namespace, name)
        return None if secret is None else str(secret.metadata.resource_version)

    def create_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, bytes],
        *,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Create an Opaque Secret; returns its resourceVersion. Raises AlreadyExistsError."""
        metadata: dict[str, Any] = {"name": name, "namespace": namespace}
        if labels:
            metadata["labels"] = dict(labels)
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": metadata,
            "data": _encode(data),
        }
        created = self._call(
            Request("create", "secrets", namespace, name),
            lambda: self._api.create_namespaced_secret(
                namespace, body, field_manager=FIELD_MANAGER, _request_timeout=self._timeout
            ),
        )
        return str(created.metadata.resource_version)

    def replace_secret(
        self,
        namespace: str,
        name: str,
        data: Mapping[str, bytes],
        *,
        resource_version: str | None = None,
    ) -> str:
        """Replace the Secret's ``data`` wholesale; returns the new resourceVersion.

        Labels, other annotations and the type are kept. The update is conditional on
        ``resource_version`` (default: the version just read), so a concurrent writer causes
        ClusterConflictError rather than a lost update. An absent Secret is ClusterNotFoundError.
        """
        current = self._read(namespace, name)
        if current is None:
            raise ClusterNotFoundError(
                f'secret "{name}" in namespace "{namespace}" does not exist (404)',
                hint="create it instead",
            )
        meta = current.metadata
        annotations = {k: v for k, v in (meta.annotations or {}).items() if k != LAST_APPLIED_ANNOTATION}
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "resourceVersion": resource_version or meta.resource_version,
        }
        if meta.labels:
            metadata["labels"] = dict(meta.labels)
        if annotations:
            metadata["annotations"] = annotations
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": current.type or "Opaque",
            "metadata": metadata,
            "data": _encode(data),
        }
        replaced = self._call(
            Request("update", "secrets", namespace, name),
            lambda: self._api.replace_namespaced_secret(
                name, namespace, body, field_manager=FIELD_MANAGER, _request_timeout=self._timeout
            ),
        )
        return str(replaced.metadata.resource_version)

    def delete_secret(self, namespace: str, name: str, *, resource_version: str | None = None) -> bool:
        """Delete the Secret; False when it was already gone (so a resumed run can repeat it).

        With ``resource_version``, only that version is deleted (409 ClusterConflictError otherwise).
        """
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        try:
            self._call(
                Request("delete", "secrets", namespace, name),
                lambda: self._api.delete_namespaced_secret(
                    name, namespace, body=options, _request_timeout=self._timeout
                ),
            )
        except ClusterNotFoundError:
            return False
        return True

    # ---- read-only views used by ``sopskit doctor`` (never Secret values, except the key Secret)

    def _raw(
        self,
        request: Request,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        query: list[tuple[str, str]] | None = None,
    ) -> Any:
        """One request by path through the configured client (auth, TLS, timeouts kept)."""
        import json

        api_client = self._api.api_client

        def send() -> Any:
            method_, url, header_params, serialized, post = api_client.param_serialize(
                method,
                path,
                query_params=query or [],
                header_params={
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                    **(headers or {}),
                },
                body=body,
                auth_settings=["BearerToken"],
            )
            answer = api_client.call_api(
                method_, url, header_params=header_params, body=serialized, post_params=post,
                _request_timeout=self._timeout,
            )
            answer.read()
            if not 200 <= answer.status < 300:
                raise _import_kubernetes().client.exceptions.ApiException(http_resp=answer)
            return json.loads(answer.data or b"null")

        return self._call(request, send)

    def secret_exists(self, namespace: str, name: str) -> bool:
        """Whether the Secret exists, asked the way ``kubectl get -o name`` does: a ``Table`` of
        metadata without the object, so no value crosses the wire."""
        try:
            self._raw(
                Request("get", "secrets", namespace, name),
                "GET",
                f"/api/v1/namespaces/{namespace}/secrets/{name}",
                headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
                query=[("includeObject", "None")],
            )
        except ClusterNotFoundError:
            return False
        return True

    def list_kustomizations(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """Flux ``Kustomization`` objects (``kustomize.toolkit.fluxcd.io/v1``) with their status.
        ClusterNotFoundError when the CRD is not installed (the group answers 404)."""
        where = f"/namespaces/{namespace}" if namespace else ""
        answer = self._raw(
            Request("list", "kustomizations", namespace, None),
            "GET",
            f"/apis/kustomize.toolkit.fluxcd.io/v1{where}/kustomizations",
        )
        items = answer.get("items") if isinstance(answer, dict) else None
        return [item for item in items or [] if isinstance(item, dict)]

    def can_i(
        self, verb: str, resource: str, namespace: str | None, name: str | None, *, as_user: str | None = None
    ) -> bool:
        """A ``SelfSubjectAccessReview`` (``kubectl auth can-i [--as USER]``): may the caller, or
        the impersonated ``as_user``, do ``verb`` on the object? Impersonating needs the
        ``impersonate`` right; a refusal is a ClusterForbiddenError, not a "no"."""
        attributes = {"verb": verb, "resource": resource}
        if namespace:
            attributes["namespace"] = namespace
        if name:
            attributes["name"] = name
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes},
        }
        answer = self._raw(
            Request("create", "selfsubjectaccessreviews", None, None),
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            body=body,
            headers={"Impersonate-User": as_user} if as_user else None,
        )
        status = answer.get("status") if isinstance(answer, dict) else None
        return bool(isinstance(status, dict) and status.get("allowed"))

    # ---- namespaces

    def ensure_namespace(self, name: str) -> bool:
        """Make sure the namespace exists; True when this call created it.

        Needs ``get`` and (to create) ``create`` on namespaces, cluster-wide; the minimal Role
        does not include them, so call this only when the user asked for the namespace.
        """
        try:
            self._call(
                Request("get", "namespaces", None, name),
                lambda: self._api.read_namespace(name, _request_timeout=self._timeout),
            )
            return False
        except ClusterNotFoundError:
            pass
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        try:
            self._call(
                Request("create", "namespaces", None, name),
                lambda: self._api.create_namespace(
                    body, field_manager=FIELD_MANAGER, _request_timeout=self._timeout
                ),
            )
        except AlreadyExistsError:  # created by someone else in between
            return False
        return True
