"""``sopskit scan``: a Kubernetes-aware, SOPS-aware secret scanner.

Pipeline: sources (work tree, index, history blobs) -> detectors (regex rules through a
multi-pattern engine, Secret manifests, secretGenerator, sops coverage) -> filters (named
predicates: placeholders, hashes, ENC values, age recipients, allow comments, allowlists)
-> findings (fingerprints, never secrets) -> baseline -> report (text, JSON, SARIF).
Nothing here prints; progress is reported through a callback.
"""

from sopskit.scan.baseline import load_baseline, write_baseline
from sopskit.scan.detect import BUILTIN_RULES
from sopskit.scan.findings import Finding, ScanReport, ScanStats, fingerprint
from sopskit.scan.report import to_json, to_sarif, to_text
from sopskit.scan.rules import Rule, RuleSet, load_default_rules, load_rules, parse_rules
from sopskit.scan.scanner import DEFAULT_MAX_SIZE, ScanOptions, scan

__all__ = [
    "BUILTIN_RULES",
    "DEFAULT_MAX_SIZE",
    "Finding",
    "Rule",
    "RuleSet",
    "ScanOptions",
    "ScanReport",
    "ScanStats",
    "fingerprint",
    "load_baseline",
    "load_default_rules",
    "load_rules",
    "parse_rules",
    "scan",
    "to_json",
    "to_sarif",
    "to_text",
    "write_baseline",
]
