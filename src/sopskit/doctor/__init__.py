"""``sopskit doctor``: where decryption fails, link by link, the way Flux walks it.

:func:`~sopskit.doctor.chain.diagnose` answers named checks (:mod:`sopskit.doctor.model`) for
every SOPS file of a repository: offline from public keys alone (what CI can run), or with a
cluster reader (:mod:`sopskit.doctor.cluster`) that adds the decryption Secret, the Kustomization
status and RBAC. ``cluster verify`` runs the same checks with its Secret fixed. Nothing here
prints; no message carries a value or key material.
"""

from __future__ import annotations

from sopskit.doctor.chain import Options, diagnose
from sopskit.doctor.model import CHAIN, CHECKLIST, GLOBAL, Check, Report

__all__ = ["CHAIN", "CHECKLIST", "GLOBAL", "Check", "Options", "Report", "diagnose"]
