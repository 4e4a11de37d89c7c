"""Writing kubeconfig files that point at the fake."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def write_kubeconfig(
    path: Path,
    server: str,
    *,
    token: str | None,
    ca_pem: bytes | None = None,
    namespace: str | None = None,
    context: str = "fake",
    extra_contexts: Mapping[str, str | None] | None = None,
) -> Path:
    """Write a kubeconfig for ``server`` with a bearer token (embedded CA when TLS is used).

    ``extra_contexts`` maps more context names to their tokens (same server), for ``--context`` tests.
    """
    cluster: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    contexts = {context: token, **(extra_contexts or {})}
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [{"name": "fake-cluster", "cluster": cluster}],
        "users": [{"name": f"{ctx}-user", "user": {"token": tok} if tok else {}} for ctx, tok in contexts.items()],
        "contexts": [
            {
                "name": ctx,
                "context": {
                    "cluster": "fake-cluster",
                    "user": f"{ctx}-user",
                    **({"namespace": namespace} if namespace else {}),
                },
            }
            for ctx in contexts
        ],
        "current-context": context,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path
