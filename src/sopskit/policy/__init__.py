"""Repository guardrails: ``sopskit policy check`` and ``sopskit flux validate``.

Checks never decrypt anything; they recognise SOPS files by their markers and report
violations as data (check id, path, line, message, fix), never secret values. The library
returns a :class:`Report`; the CLI renders it and exits 1 when it is not clean.

Layout: ``check`` (the Check unit) · ``checks/`` (one module per concern; the catalogue in
``checks/__init__``) · ``repo`` (which files, YAML with lines, namespaces) · ``settings``
(``sopskit:`` in ``.sops.yaml``) · ``sopsconfig`` (the view of creation rules) · ``context``
(environments) · ``kustomize`` (what a kustomization references) · ``runner`` · ``output``.
"""

from __future__ import annotations

from sopskit.policy.check import Check
from sopskit.policy.checks import ALL_CHECKS, FLUX_CHECKS, POLICY_CHECKS
from sopskit.policy.output import FORMATS, render, render_json, render_sarif, render_text
from sopskit.policy.results import Report, Violation
from sopskit.policy.runner import check_policy, run_suite, validate_flux
from sopskit.policy.settings import PolicySettings, settings_from_mapping

__all__ = [
    "ALL_CHECKS",
    "FLUX_CHECKS",
    "FORMATS",
    "POLICY_CHECKS",
    "Check",
    "PolicySettings",
    "Report",
    "Violation",
    "check_policy",
    "render",
    "render_json",
    "render_sarif",
    "render_text",
    "run_suite",
    "settings_from_mapping",
    "validate_flux",
]
