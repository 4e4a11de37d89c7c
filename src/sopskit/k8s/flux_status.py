"""Has Flux applied a revision? Read from the Kustomizations that decrypt with a Secret.

kustomize-controller records ``status.lastAppliedRevision`` (``main@sha1:<commit>`` since Flux
2.1, ``main/<commit>`` before) and a ``Ready`` condition. A rotation may only take a key away
from the cluster once every Kustomization using that key applied the commit that stopped
needing it.
"""

from __future__ import annotations

import re
from typing import Any

from sopskit.errors import SopsError
from sopskit.k8s.agesecret import SecretRef
from sopskit.k8s.errors import RotationPausedError

_SHA = re.compile(r"(?:sha1:|/|^)([0-9a-f]{7,40})$")


def applied_commit(revision: str) -> str | None:
    found = _SHA.search(revision.strip())
    return found[1] if found else None


def _users_of(objects: list[dict[str, Any]], ref: SecretRef) -> list[dict[str, Any]]:
    found = []
    for obj in objects:
        metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        decryption = spec.get("decryption") if isinstance(spec, dict) else None
        secret = decryption.get("secretRef") if isinstance(decryption, dict) else None
        name = secret.get("name") if isinstance(secret, dict) else None
        if name == ref.name and isinstance(metadata, dict) and metadata.get("namespace") == ref.namespace:
            found.append(obj)
    return found


def require_applied(client: Any, ref: SecretRef, commit: str, *, resume_command: str) -> None:
    """Raise :class:`RotationPausedError` unless every Kustomization decrypting with ``ref`` is
    Ready at ``commit`` (a later commit that contains it is not recognised: resume again)."""
    hint_skip = f"or, if Flux is not in this cluster, `{resume_command} --no-wait-for-flux`"
    if not hasattr(client, "list_kustomizations"):
        raise RotationPausedError("this cluster client cannot read Flux Kustomizations",
                                  hint=f"pass --no-wait-for-flux: `{resume_command} --no-wait-for-flux`")
    try:
        objects = client.list_kustomizations()
    except SopsError as exc:
        raise RotationPausedError(f"cannot read Flux Kustomizations: {exc.message}", hint=hint_skip) from exc
    users = _users_of(objects, ref)
    if not users:
        raise RotationPausedError(
            f"no Flux Kustomization in the cluster decrypts with Secret {ref}, so nothing tells when the "
            "pushed files are applied", hint=f"check spec.decryption.secretRef, {hint_skip}")
    waiting = []
    for obj in users:
        status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
        label = f"{obj['metadata'].get('namespace')}/{obj['metadata'].get('name')}"
        conditions = status.get("conditions") or [] if isinstance(status, dict) else []
        ready = next((c for c in conditions if isinstance(c, dict) and c.get("type") == "Ready"), {})
        applied = applied_commit(str(status.get("lastAppliedRevision") or "")) if isinstance(status, dict) else None
        if ready.get("status") != "True" or applied is None or not commit.startswith(applied):
            waiting.append(f"{label} (Ready={ready.get('status', 'Unknown')}, applied "
                           f"{applied[:12] if applied else 'nothing yet'})")
    if waiting:
        raise RotationPausedError(
            f"waiting for Flux to apply {commit[:12]}: " + "; ".join(waiting),
            hint=f"`flux reconcile kustomization NAME -n NAMESPACE --with-source`, then `{resume_command}`",
        )


__all__ = ["applied_commit", "require_applied"]
