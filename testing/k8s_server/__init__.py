"""An in-process fake Kubernetes API server for namespaces and Secrets (test infrastructure).

No real API server can run on the test machines, so this module speaks enough of the real REST
API that the real ``kubectl`` and the official ``kubernetes`` Python client both work against it,
and the test suite proves that by driving it with ``kubectl`` (``tests/k8s/test_server_kubectl.py``).

What it implements, and why each part is there:

* **Discovery** (``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/openapi/v3``): kubectl asks
  before most commands. Only JSON is advertised, so kubectl never sends protobuf; ``/openapi/v2``
  answers 404, like a server that stopped serving it, and kubectl 1.32 copes because
  ``/openapi/v3`` says the PATCH endpoints accept ``fieldValidation``.
* **Authentication and authorisation**: bearer tokens map to :class:`User` objects holding
  RBAC-like :class:`Rule` lists (verb, resource, resourceName, namespace), so the minimal Role of
  the cluster-key workflow can be tested. Unknown tokens get a 401 ``Unauthorized`` Status;
  requests without a token run as ``system:anonymous`` (403 on everything but ``/version``).
  403 messages follow the real server's wording.
* **Namespaces and Secrets**: list/get/create/update/patch/delete, a global ``resourceVersion``
  counter, 409 on a stale ``resourceVersion`` and on ``AlreadyExists``, 404, ``stringData``
  merged into base64 ``data``, ``data`` validated as base64, ``uid``/``creationTimestamp``,
  ``managedFields``, ``fieldValidation``, ``dryRun=All``, and no-op updates that keep the
  ``resourceVersion`` (as the real server does).
* **Patches**: JSON patch, merge patch, strategic merge patch (maps only: Secrets and Namespaces
  have no merge-keyed lists sopskit cares about) and server-side apply with field managers and
  conflicts. Client-side ``kubectl apply`` works too, and stores its
  ``last-applied-configuration`` annotation, which is exactly why sopskit never uses it.
* **Flux Kustomizations** (``kustomize.toolkit.fluxcd.io/v1``, short name ``ks``): stored as
  given, with ``status`` a subresource that only tests set (:meth:`FakeKubeServer.add_kustomization`,
  :meth:`FakeKubeServer.set_kustomization_status`), as kustomize-controller would; tables show
  Ready and its message, so ``kubectl get ks`` and ``kubectl wait --for=condition=Ready`` work.
* **SelfSubjectAccessReview** (``kubectl auth can-i``): answered from the same rules that
  authorise requests, so a "can the controller read this Secret?" check is tested against the
  decision the server would actually make.
* **Observation and faults**: :attr:`FakeKubeServer.requests` logs method, path, query, content
  type, user and status, never a body. :attr:`FakeKubeServer.faults` fails or drops requests after
  N more, or when a predicate matches; :meth:`FakeKubeServer.kill` drops every open connection.

Not implemented: watch streams (a watch answers with an empty stream that ends at once),
label selectors beyond ``k=v``/``k!=v``/``k``, other resources and subresources, protobuf, CBOR, aggregated discovery.

The package splits that work into one module per job: :mod:`.rbac` (users and rules),
:mod:`.faults` (log and fault injection), :mod:`.errors` (``Status`` answers), :mod:`.patches`,
:mod:`.kinds` and :mod:`.store` (objects, validation, field ownership, server-side apply),
:mod:`.discovery` (discovery, OpenAPI, tables), :mod:`.requests` (request info and bodies),
:mod:`.protobuf`, :mod:`.kubeconfig` and :mod:`.server` (HTTP and :class:`FakeKubeServer`).
"""

from __future__ import annotations

from testing.k8s_server.faults import FaultPlan, RequestRecord
from testing.k8s_server.kubeconfig import write_kubeconfig
from testing.k8s_server.rbac import ADMIN, READ_ONLY, Rule, User, minimal_role_rules
from testing.k8s_server.server import FakeKubeServer

__all__ = [
    "ADMIN",
    "READ_ONLY",
    "FakeKubeServer",
    "FaultPlan",
    "RequestRecord",
    "Rule",
    "User",
    "minimal_role_rules",
    "write_kubeconfig",
]
