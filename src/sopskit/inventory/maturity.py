"""The maturity level (0-5) and the production checklist, each answer with its evidence.

Every checklist item is answered ``yes``, ``no`` or ``unknown`` (with the reason: what the
repository cannot show). A level is reached when every item of it and of the levels below is
``yes``; the report says what is missing for the next one. Levels (docs/inventory.md):

0. plaintext secrets in the repository
1. secrets are encrypted (no plaintext Secret manifests)
2. encryption is policy: every SOPS file has a ``.sops.yaml`` rule, and guardrails run
3. authority is separated: one recipient set per environment, decryption in the cluster
4. lifecycle: every secret has an owner and was rotated within the maximum age, CI cannot
   decrypt production
5. audited: access to Secrets and to the decryption key is restricted (needs evidence a
   repository rarely holds: RBAC and incident records)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sopskit.errors import SopsError
from sopskit.inventory.collect import mapping_at
from sopskit.inventory.model import Inventory

_PROD = ("prod", "production")
#: secret scanners, and k8s-at-home/sops-pre-commit's hook that refuses an unencrypted Secret
_GUARDRAIL_WORDS = ("sopskit", "gitleaks", "detect-secrets", "trufflehog", "git-secrets", "ggshield",
                    "forbid-secrets")
#: hook runners besides pre-commit (home-ops repositories often use lefthook)
_HOOK_FILES = (".pre-commit-config.yaml", "lefthook.yml", "lefthook.yaml", "lefthook.toml", ".lefthook.yml",
               ".lefthook.yaml", ".lefthook.toml", ".gitlab-ci.yml")


@dataclass
class Answer:
    item: str
    answer: str  # yes | no | unknown
    evidence: str
    level: int

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, "answer": self.answer, "evidence": self.evidence, "level": self.level}


@dataclass
class MaturityReport:
    level: int
    checklist: list[Answer]
    missing_for_next: list[str]
    inventory: Inventory

    def to_json(self) -> dict[str, Any]:
        return {"level": self.level, "checklist": [a.to_json() for a in self.checklist],
                "missing_for_next_level": self.missing_for_next, "inventory": self.inventory.to_json()}


def grade(inventory: Inventory) -> MaturityReport:
    root = Path(inventory.root)
    items = [
        _no_plaintext(inventory),
        _rules_cover_files(inventory, root),
        _guardrails(root),
        _separate_recipients(inventory),
        _in_cluster_decryption(inventory),
        _owners(inventory),
        _rotation(inventory),
        _ci_cannot_decrypt_prod(inventory),
        _rbac(root),
        _incident_records(root),
    ]
    level = 0
    for candidate in range(1, 6):
        if all(a.answer == "yes" for a in items if a.level <= candidate):
            level = candidate
        else:
            break
    missing = [f"{a.item}: {a.answer} ({a.evidence})" for a in items if a.level == level + 1 and a.answer != "yes"]
    return MaturityReport(level, items, missing, inventory)


def _no_plaintext(inv: Inventory) -> Answer:
    plain = [s for s in inv.secrets if s.protection == "plaintext"]
    if plain:
        where = ", ".join(sorted({s.path for s in plain})[:5])
        return Answer("No plaintext Secret manifests in the repository", "no",
                      f"{len(plain)} plaintext Secret(s): {where}", 1)
    protected = len(inv.secrets)
    return Answer("No plaintext Secret manifests in the repository", "yes",
                  f"{protected} secret-bearing object(s), none in plaintext (run `sopskit scan` for other kinds)", 1)


def _rules_cover_files(inv: Inventory, root: Path) -> Answer:
    from sopskit.policy.sopsconfig import find_sops_config, read_sops_config

    item = "Every SOPS file is under a .sops.yaml creation rule"
    found = find_sops_config(root)
    sops_files = sorted({s.path for s in inv.secrets if s.protection == "sops"})
    if found is None:
        return Answer(item, "no", "no .sops.yaml: what gets encrypted, and for whom, is left to each person", 2)
    try:
        config = read_sops_config(found)
    except SopsError as exc:
        return Answer(item, "unknown", f"{found.name} could not be read: {exc}", 2)
    uncovered = [p for p in sops_files if config.rule_for(_config_relative(root / p, config.directory)) is None]
    if not sops_files:
        return Answer(item, "unknown", "no SOPS files to check", 2)
    if uncovered:
        return Answer(item, "no", f"{len(uncovered)} file(s) match no rule, e.g. {uncovered[0]}", 2)
    return Answer(item, "yes", f"{len(sops_files)} SOPS file(s), each matched by a rule of {found.name}", 2)


def _config_relative(path: Path, directory: Path) -> str:
    try:
        return path.resolve().relative_to(directory.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _guardrails(root: Path) -> Answer:
    item = "A secret scanner runs before commit or in CI"
    places = [*(root / name for name in _HOOK_FILES), *sorted((root / ".github" / "workflows").glob("*.y*ml"))]
    hits = []
    for place in places:
        try:
            text = place.read_text(encoding="utf-8", errors="replace").lower()
        except OSError:
            continue
        words = [w for w in _GUARDRAIL_WORDS if w in text]
        if words:
            hits.append(f"{place.relative_to(root).as_posix()} ({', '.join(words)})")
    if hits:
        return Answer(item, "yes", "; ".join(hits), 2)
    return Answer(item, "no", "no scanner in .pre-commit-config.yaml, lefthook, .github/workflows or .gitlab-ci.yml",
                  2)


def _separate_recipients(inv: Inventory) -> Answer:
    item = "Each environment has its own recipients (no key opens two environments)"
    known = [e for e in inv.environments if e != "unknown"]
    if len(known) < 2:
        return Answer(item, "unknown", f"environments found: {', '.join(known) or 'none'} (need two to compare)", 3)
    spanning = [h for h in inv.holders if h.spans_environments]
    if spanning:
        first = spanning[0]
        return Answer(item, "no", f"{len(spanning)} key(s) open several environments, e.g. {first.key[:24]}… "
                      f"({first.holder}) opens {', '.join(first.environments)}", 3)
    return Answer(item, "yes", f"{len(inv.holders)} key(s), each within one of {', '.join(known)}", 3)


def _in_cluster_decryption(inventory: Inventory) -> Answer:
    from sopskit.policy.repo import is_kind, load_repo

    item = "Decryption happens in the cluster (Flux Kustomizations with SOPS decryption)"
    wired = []
    repo = inventory.repo if inventory.repo is not None else load_repo(Path(inventory.root))
    for file, doc in repo.documents():
        data = doc.data
        if is_kind(data, "Kustomization", "kustomize.toolkit.fluxcd.io/"):
            spec = mapping_at(data, "spec")
            decryption = mapping_at(spec, "decryption")
            if decryption.get("provider") == "sops":
                wired.append(file.rel)
    if wired:
        return Answer(item, "yes", f"{len(wired)} Flux Kustomization(s) decrypt with SOPS, e.g. {wired[0]}", 3)
    return Answer(item, "unknown", "no Flux Kustomization with spec.decryption found (Argo CD plugins and "
                  "controller-wide decryption flags are not visible here)", 3)


def _owners(inv: Inventory) -> Answer:
    item = "Every secret has an owner (CODEOWNERS or the sopskit.io/owner annotation)"
    if not inv.secrets:
        return Answer(item, "unknown", "no secrets found", 4)
    orphans = [s.path for s in inv.secrets if not s.owner]
    if orphans:
        return Answer(item, "no", f"{len(orphans)} of {len(inv.secrets)} without an owner, e.g. {orphans[0]}", 4)
    return Answer(item, "yes", f"all {len(inv.secrets)} secrets have an owner", 4)


def _rotation(inv: Inventory) -> Answer:
    item = f"Every encrypted secret changed within {inv.max_age_days} days (rotation evidence)"
    sops = [s for s in inv.secrets if s.protection == "sops"]
    if not inv.has_history:
        return Answer(item, "unknown", "no Git history to read", 4)
    if not sops:
        return Answer(item, "unknown", "no SOPS files", 4)
    due = [s for s in sops if s.rotation_due]
    if due:
        oldest = min(due, key=lambda s: s.last_changed or "")
        return Answer(item, "no", f"{len(due)} due, the oldest {oldest.path} (last changed {oldest.last_changed})", 4)
    return Answer(item, "yes", f"all {len(sops)} changed within {inv.max_age_days} days", 4)


def _ci_cannot_decrypt_prod(inv: Inventory) -> Answer:
    item = "CI cannot decrypt production"
    prod = [s for s in inv.secrets if s.environment in _PROD and s.protection == "sops"]
    if not prod:
        return Answer(item, "unknown", "no production SOPS files recognised", 4)
    ci = {r.key for s in prod for r in s.recipients if r.holder_kind == "ci"}
    if ci:
        return Answer(item, "no", f"{len(ci)} CI key(s) are recipients of production files", 4)
    unknown = {r.key for s in prod for r in s.recipients if r.holder_kind == "unknown"}
    if unknown:
        return Answer(item, "unknown", f"{len(unknown)} production recipient(s) not in the holders file", 4)
    return Answer(item, "yes", "no recipient of a production file is held by CI", 4)


def _rbac(root: Path) -> Answer:
    from sopskit.policy import check_policy

    item = "Access to Secrets and to the decryption key is restricted (RBAC)"
    report = check_policy(root, only=["rbac-workload-reads-all-secrets", "decryption-key-readable",
                                      "wildcard-secret-read"])
    if report.violations:
        first = report.violations[0]
        return Answer(item, "no", f"{len(report.violations)} finding(s) of `sopskit policy check`, e.g. "
                      f"[{first.check_id}] {first.path}", 5)
    return Answer(item, "unknown", "no over-broad grant in the repository; the cluster's own RBAC is not visible "
                  "here", 5)


def _incident_records(root: Path) -> Answer:
    item = "Leaks are handled as incidents with records (sopskit leak)"
    records = sorted((root / "incidents").glob("*.yaml")) if (root / "incidents").is_dir() else []
    if records:
        return Answer(item, "yes", f"{len(records)} incident record(s) in incidents/", 5)
    return Answer(item, "unknown", "no incidents/ records (none may have been needed)", 5)
