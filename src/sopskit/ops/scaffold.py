"""The file layout of a GitOps secrets repository: ``repo init`` and ``secret new``.

Layout (Flux's conventions)::

    .sops.yaml                           one creation rule per environment
    .gitignore                           guards: *.agekey, *.dec.yaml, *.decrypted.*, .env
    .pre-commit-config.yaml              sopskit's scan and policy hooks
    flux/secrets/ENV/kustomization.yaml  lists the encrypted Secrets of ENV
    flux/secrets/ENV/NAME.yaml           one encrypted Secret each

Every function is idempotent: run twice, the second run changes nothing. Edits of existing
YAML go through ruamel.yaml's round-trip mode so comments and ordering survive.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.errors import ConfigError, UsageError
from sopskit.ops.files import atomic_write
from sopskit.ops.sopsyaml_edit import ensure_rule

SECRETS_ROOT = "flux/secrets"
DECRYPTION_SECRET = "sops-age"
GITIGNORE_GUARDS = ("*.agekey", "*.dec.yaml", "*.decrypted.*", ".env", "*.sopskit-tmp")
_GITIGNORE_HEADER = "# sopskit: never commit private keys or decrypted files"
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"
_SKIP_DIRS = {".git", ".sopskit", "node_modules", ".venv"}

PRE_COMMIT_SNIPPET = """\
# sopskit guardrails: block plaintext secrets before they reach Git
repos:
  - repo: local
    hooks:
      - id: sopskit-scan
        name: sopskit scan (staged secrets)
        entry: sopskit scan --staged
        language: system
        pass_filenames: false
        always_run: true
      - id: sopskit-policy
        name: sopskit policy check
        entry: sopskit policy check
        language: system
        pass_filenames: false
        always_run: true
"""

KUSTOMIZATION_TEMPLATE = """\
# Encrypted Secrets of this environment; Flux decrypts them with the sops-age Secret.
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: []
"""


@dataclass
class ScaffoldReport:
    """Which files a scaffolding step created or changed (relative paths); the rest were fine."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


# -- names and paths ---------------------------------------------------------------------------

def check_name(kind: str, value: str) -> str:
    """Environment and Secret names become paths and Kubernetes names: DNS labels only."""
    if not _NAME_RE.match(value):
        raise UsageError(f"{kind} {value!r} is not a valid name: use lowercase letters, digits and '-'")
    return value


def env_path_regex(env: str, *, root: str = SECRETS_ROOT) -> str:
    """The ``path_regex`` of an environment's rule (``^flux/secrets/prod/``)."""
    return f"^{re.escape(root.strip('/'))}/{re.escape(env)}/"


def known_environments(repo: Path, *, root: str = SECRETS_ROOT) -> list[str]:
    """Environments are the folders under the secrets root."""
    base = repo / root
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))


def secret_path(repo: Path, env: str, name: str, *, root: str = SECRETS_ROOT) -> Path:
    return repo / root / env / f"{name}.yaml"


def secret_template(env: str, name: str) -> str:
    """The plaintext a user edits for ``secret new``: an Opaque Secret with ``stringData``."""
    return (
        "# Fill in stringData; lines starting with # are kept. Values are encrypted on save.\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata:\n"
        f"  name: {name}\n"
        f"  namespace: {env}\n"
        "type: Opaque\n"
        "stringData:\n"
        "  key: value\n"
    )


# -- YAML round trip ---------------------------------------------------------------------------

def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load_all(text: str, where: Path) -> list[Any]:
    from ruamel.yaml.error import YAMLError

    try:
        return list(_yaml().load_all(text))
    except YAMLError:
        raise ConfigError(f"{where}: not valid YAML") from None


def _dump_all(docs: Sequence[Any]) -> str:
    buffer = io.StringIO()
    _yaml().dump_all(list(docs), buffer)
    return buffer.getvalue()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"), default_mode=0o644)


def _rel(repo: Path, path: Path) -> str:
    return str(path.relative_to(repo))


# -- kustomization.yaml ------------------------------------------------------------------------

def add_kustomization_resource(path: Path, resource: str) -> bool:
    """Add ``resource`` to ``resources`` of a kustomization.yaml (created if missing).

    Returns True when the file changed.
    """
    text = path.read_text(encoding="utf-8") if path.exists() else KUSTOMIZATION_TEMPLATE
    docs = _load_all(text, path)
    if not docs or not isinstance(docs[0], dict):
        raise ConfigError(f"{path}: expected a Kustomization mapping")
    doc = docs[0]
    resources = doc.get("resources")
    if resources is None:
        from ruamel.yaml.comments import CommentedSeq

        resources = CommentedSeq()
        doc["resources"] = resources
    if not isinstance(resources, list):
        raise ConfigError(f"{path}: resources must be a list")
    if resource in resources:
        if not path.exists():
            _write(path, text)
            return True
        return False
    resources.append(resource)
    _write(path, _dump_all(docs))
    return True


# -- repo init ---------------------------------------------------------------------------------

def _ensure_gitignore(repo: Path, report: ScaffoldReport) -> None:
    path = repo / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in text.splitlines()}
    missing = [guard for guard in GITIGNORE_GUARDS if guard not in present]
    if not missing:
        return
    block = "\n".join([_GITIGNORE_HEADER, *missing]) + "\n"
    separator = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    _write(path, text + separator + block)
    (report.updated if text else report.created).append(".gitignore")


def _ensure_sops_yaml(
    repo: Path, environments: Sequence[str], recipients: Mapping[str, Sequence[str]], root: str,
    report: ScaffoldReport,
) -> None:
    path = repo / ".sops.yaml"
    before = path.read_text(encoding="utf-8") if path.exists() else None
    text = before
    for env in environments:
        text = ensure_rule(text, env_path_regex(env, root=root), list(recipients.get(env, ())))
    if text is not None and text != before:
        _write(path, text)
        (report.updated if before is not None else report.created).append(".sops.yaml")


def _ensure_pre_commit(repo: Path, report: ScaffoldReport) -> None:
    path = repo / ".pre-commit-config.yaml"
    if not path.exists():
        _write(path, PRE_COMMIT_SNIPPET)
        report.created.append(".pre-commit-config.yaml")
        return
    text = path.read_text(encoding="utf-8")
    if "sopskit" in text:
        return
    docs = _load_all(text, path)
    snippet = _load_all(PRE_COMMIT_SNIPPET, path)[0]["repos"][0]
    if not docs or not isinstance(docs[0], dict):
        raise ConfigError(f"{path}: expected a mapping with repos")
    repos = docs[0].setdefault("repos", [])
    repos.append(snippet)
    _write(path, _dump_all(docs))
    report.updated.append(".pre-commit-config.yaml")


def _iter_yaml_files(repo: Path) -> Iterator[Path]:
    for path in sorted(repo.rglob("*")):
        if any(part in _SKIP_DIRS for part in path.relative_to(repo).parts):
            continue
        if path.is_file() and path.suffix in (".yaml", ".yml"):
            yield path


def _covers(spec_path: str, secrets_dir: str) -> bool:
    """True if a Flux Kustomization building ``spec_path`` includes ``secrets_dir``."""
    base = spec_path.strip().removeprefix("./").strip("/")
    return base in ("", ".") or secrets_dir == base or secrets_dir.startswith(base + "/")


def _is_flux_kustomization(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == "Kustomization"
            and str(doc.get("apiVersion", "")).startswith(_FLUX_KUSTOMIZE_API))


def wire_flux_decryption(
    repo: Path, secrets_dirs: Sequence[str], *, secret_name: str = DECRYPTION_SECRET,
) -> list[str]:
    """Add ``spec.decryption`` to every Flux Kustomization whose ``spec.path`` covers a secrets dir.

    A Kustomization that already has a ``decryption`` block is left alone (it may use another
    Secret on purpose). Returns the files changed.
    """
    from ruamel.yaml.comments import CommentedMap

    changed: list[str] = []
    for path in _iter_yaml_files(repo):
        text = path.read_text(encoding="utf-8", errors="replace")
        if _FLUX_KUSTOMIZE_API not in text or ("sops:" in text and "mac:" in text):
            continue
        try:
            docs = _load_all(text, path)
        except ConfigError:
            continue
        touched = False
        for doc in docs:
            if not _is_flux_kustomization(doc):
                continue
            spec = doc.get("spec")
            if not isinstance(spec, dict) or "decryption" in spec:
                continue
            if not any(_covers(str(spec.get("path", "")), d) for d in secrets_dirs):
                continue
            block = CommentedMap()
            block["provider"] = "sops"
            ref = CommentedMap()
            ref["name"] = secret_name
            block["secretRef"] = ref
            spec["decryption"] = block
            touched = True
        if touched:
            _write(path, _dump_all(docs))
            changed.append(_rel(repo, path))
    return changed


def init_repo(
    repo: Path,
    environments: Sequence[str],
    *,
    root: str = SECRETS_ROOT,
    recipients: Mapping[str, Sequence[str]] | None = None,
) -> ScaffoldReport:
    """Lay out (or complete) a secrets repository for ``environments``; idempotent."""
    if not environments:
        raise UsageError("repo init needs at least one environment", hint="e.g. --env dev --env prod")
    for env in environments:
        check_name("environment", env)
    report = ScaffoldReport()
    _ensure_sops_yaml(repo, environments, recipients or {}, root, report)
    _ensure_gitignore(repo, report)
    for env in environments:
        kustomization = repo / root / env / "kustomization.yaml"
        if not kustomization.exists():
            _write(kustomization, KUSTOMIZATION_TEMPLATE)
            report.created.append(_rel(repo, kustomization))
    _ensure_pre_commit(repo, report)
    secrets_dirs = [f"{root.strip('/')}/{env}" for env in environments]
    report.updated.extend(wire_flux_decryption(repo, secrets_dirs))
    return report


__all__ = [
    "DECRYPTION_SECRET",
    "GITIGNORE_GUARDS",
    "PRE_COMMIT_SNIPPET",
    "SECRETS_ROOT",
    "ScaffoldReport",
    "add_kustomization_resource",
    "check_name",
    "env_path_regex",
    "init_repo",
    "known_environments",
    "secret_path",
    "secret_template",
    "wire_flux_decryption",
]
