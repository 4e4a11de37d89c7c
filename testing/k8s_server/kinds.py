"""The kinds the fake stores and the validation of their names and fields."""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import re
from dataclasses import dataclass
from typing import Any

JSON = "application/json"
SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-sopskit-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_CONFIG_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_MAX_SECRET_BYTES = 1024 * 1024
_INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class _Kind:
    resource: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...]
    known_fields: frozenset[str]
    group: str = ""
    version: str = "v1"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def collection_path(self) -> str:
        """The URL prefix of the group-version (``/api/v1`` or ``/apis/<group>/<version>``)."""
        return f"/apis/{self.group}/{self.version}" if self.group else "/api/v1"


_SECRETS = _Kind(
    "secrets",
    "Secret",
    True,
    (),
    frozenset({"apiVersion", "kind", "metadata", "data", "stringData", "type", "immutable"}),
)
_NAMESPACES = _Kind(
    "namespaces", "Namespace", False, ("ns",), frozenset({"apiVersion", "kind", "metadata", "spec", "status"})
)
FLUX_KUSTOMIZE_GROUP = "kustomize.toolkit.fluxcd.io"
# Flux's Kustomization: stored as given (no schema beyond the top-level fields), with ``status`` a
# subresource like the real CRD: clients' writes never change it, tests set it with
# :meth:`FakeKubeServer.set_kustomization_status` (that is the controller's job on a real cluster).
_KUSTOMIZATIONS = _Kind(
    "kustomizations",
    "Kustomization",
    True,
    ("ks",),
    frozenset({"apiVersion", "kind", "metadata", "spec", "status"}),
    group=FLUX_KUSTOMIZE_GROUP,
)
_KINDS = {k.resource: k for k in (_SECRETS, _NAMESPACES, _KUSTOMIZATIONS)}
_METADATA_FIELDS = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "labels",
        "annotations",
        "uid",
        "resourceVersion",
        "creationTimestamp",
        "managedFields",
        "finalizers",
        "ownerReferences",
        "generation",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64_error(value: Any) -> str | None:
    """Go's encoding/json rejects []byte fields that are not strict standard base64."""
    if not isinstance(value, str):
        return "json: cannot unmarshal into Go value of type []uint8"
    for index, char in enumerate(value):
        if not (char.isascii() and (char.isalnum() or char in "+/=")):
            return f"illegal base64 data at input byte {index}"
    try:
        base64.b64decode(value, validate=True)
    except binascii.Error:
        return f"illegal base64 data at input byte {len(value) - (len(value) % 4 or 4)}"
    return None
