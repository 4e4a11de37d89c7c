"""``--from-cluster``: fetch the age identities from the cluster's ``sops-age`` Secret.

The identities go straight from the API response into the caller's
:class:`sopskit.keys.base.KeyContext`: never a file, not even a temporary one, and never a
log line. ``SOPSKIT_CLUSTER_NAMESPACE`` and ``SOPSKIT_CLUSTER_SECRET`` override where the
Secret is looked up (defaults ``flux-system`` / ``sops-age``, Flux's convention).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from sopskit.k8s.agesecret import (
    DEFAULT_NAMESPACE,
    DEFAULT_SECRET_NAME,
    ClientFactory,
    SecretRef,
    connect_client,
    require_identities,
)


def secret_ref_from_env(env: Mapping[str, str] | None = None) -> SecretRef:
    """The Secret to read, from ``SOPSKIT_CLUSTER_NAMESPACE`` / ``SOPSKIT_CLUSTER_SECRET``."""
    env = os.environ if env is None else env
    return SecretRef(
        namespace=env.get("SOPSKIT_CLUSTER_NAMESPACE") or DEFAULT_NAMESPACE,
        name=env.get("SOPSKIT_CLUSTER_SECRET") or DEFAULT_SECRET_NAME,
    )


def fetch_identities(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    ref: SecretRef | None = None,
    client_factory: ClientFactory | None = None,
) -> list[str]:
    """The age identities the cluster holds, in memory; raises ClusterError when there are none."""
    client = connect_client(kubeconfig=kubeconfig, context=context, client_factory=client_factory)
    return require_identities(client, ref or secret_ref_from_env())


__all__ = ["fetch_identities", "secret_ref_from_env"]
