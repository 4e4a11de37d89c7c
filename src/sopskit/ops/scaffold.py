"""The file layout of a GitOps secrets repository: ``repo init`` and ``secret new``.

Layout (Flux's conventions)::

    .sops.yaml                           one creation rule per environment
    .gitignore                           guards: *.agekey, *.dec.yaml, *.decrypted.*, .env and
                                         sopskit's temp files (.*.sopskit-tmp, see ops.files)
    .pre-commit-config.yaml              sopskit's scan and policy hooks
    flux/secrets/ENV/kustomization.yaml  lists the encrypted Secrets of ENV
    flux/secrets/ENV/NAME.yaml           one encrypted Secret each

Every function is idempotent: run twice, the second run changes nothing. On an existing
repository only what must change changes: Flux Kustomizations get their ``decryption`` block by
inserting lines (every other byte stays), and only those that build *this* repository (a
``GitRepository`` named ``flux-system``, or one whose URL is a ``git remote`` of the repository;
never an OCIRepository, Bucket or another Git repository). Other YAML edits go through
ruamel.yaml's round trip, with the leading ``---`` put back.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.errors import ConfigError, SopsError, UsageError
from sopskit.ops.files import atomic_write
from sopskit.ops.fluxauth import WorkloadIdentity, add_workload_identity, find_flux_installs, secret_instructions
from sopskit.ops.sopsyaml_edit import ensure_rule, keep_document_start
from sopskit.walk import repo_files

SECRETS_ROOT = "flux/secrets"
DECRYPTION_SECRET = "sops-age"
GITIGNORE_GUARDS = ("*.agekey", "*.dec.yaml", "*.decrypted.*", ".env", "*.sopskit-tmp")
_GITIGNORE_HEADER = "# sopskit: never commit private keys or decrypted files"
_NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"

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
    #: what the user still has to do by hand (printed by the CLI; never a secret value)
    notes: list[str] = field(default_factory=list)

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
    _write(path, keep_document_start(text, _dump_all(docs)))
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
    report: ScaffoldReport, *, azure_kv: str | None = None,
) -> None:
    path = repo / ".sops.yaml"
    before = path.read_text(encoding="utf-8") if path.exists() else None
    text = before
    extra = {"azure_keyvault": azure_kv} if azure_kv else None
    for env in environments:
        text = ensure_rule(text, env_path_regex(env, root=root), list(recipients.get(env, ())), extra=extra)
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
    _write(path, keep_document_start(text, _dump_all(docs)))
    report.updated.append(".pre-commit-config.yaml")


def _iter_yaml_files(repo: Path) -> Iterator[Path]:
    """The YAML files Flux would see: what a commit holds (Git-ignored files never reach the
    cluster), through the one walker."""
    for path in sorted(repo_files(repo)):
        if path.suffix in (".yaml", ".yml"):
            yield path


def _covers(spec_path: str, secrets_dir: str) -> bool:
    """True if a Flux Kustomization building ``spec_path`` includes ``secrets_dir``."""
    base = spec_path.strip().removeprefix("./").strip("/")
    return base in ("", ".") or secrets_dir == base or secrets_dir.startswith(base + "/")


def _is_flux_kustomization(doc: Any) -> bool:
    return (isinstance(doc, dict) and doc.get("kind") == "Kustomization"
            and str(doc.get("apiVersion", "")).startswith(_FLUX_KUSTOMIZE_API))


def _remote_urls(repo: Path) -> set[str]:
    try:
        out = subprocess.run(["git", "-C", str(repo), "remote", "-v"], capture_output=True, text=True,
                             check=False, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return set()
    return {_url_key(line.split()[1]) for line in out.stdout.splitlines() if len(line.split()) >= 2}


def _url_key(url: str) -> str:
    """``https://github.com/o/r.git``, ``ssh://git@github.com/o/r`` and ``git@github.com:o/r`` agree."""
    text = re.sub(r"^[a-z+]+://", "", url.strip().lower())
    text = re.sub(r"^[^@/]+@", "", text)
    text = re.sub(r":\d+/", "/", text, count=1) if re.search(r":\d+/", text) else text.replace(":", "/", 1)
    return text.removesuffix("/").removesuffix(".git")


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _own_git_sources(repo: Path, documents: Sequence[tuple[Path, Any]]) -> set[tuple[str, str]]:
    """(namespace, name) of the GitRepositories that are this repository."""
    urls = _remote_urls(repo)
    own = {("flux-system", "flux-system")}
    for _path, doc in documents:
        if not (isinstance(doc, dict) and doc.get("kind") == "GitRepository"):
            continue
        meta = _mapping(doc.get("metadata"))
        spec = _mapping(doc.get("spec"))
        if isinstance(spec.get("url"), str) and _url_key(spec["url"]) in urls:
            own.add((str(meta.get("namespace", "flux-system")), str(meta.get("name", ""))))
    return own


def _builds_this_repo(doc: Any, own: set[tuple[str, str]]) -> bool:
    """True when the Kustomization's source is this repository (no sourceRef: a fragment, taken as ours)."""
    ref = doc["spec"].get("sourceRef")
    if not isinstance(ref, dict):
        return True
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    namespace = str(ref.get("namespace") or meta.get("namespace") or "flux-system")
    return ref.get("kind", "GitRepository") == "GitRepository" and (namespace, str(ref.get("name"))) in own


def _needs_decryption(doc: Any, secrets_dirs: Sequence[str], own: set[tuple[str, str]]) -> bool:
    if not _is_flux_kustomization(doc):
        return False
    spec = doc.get("spec")
    if not isinstance(spec, dict) or "decryption" in spec:
        return False
    return any(_covers(str(spec.get("path", "")), d) for d in secrets_dirs) and _builds_this_repo(doc, own)


def _decryption_lines(indent: str, secret_name: str | None) -> str:
    """The block; without a Secret (cloud keys through workload identity) no ``secretRef``: Flux
    fails the reconcile when a named Secret does not exist (decryptor ``ImportKeys``)."""
    block = f"{indent}decryption:\n{indent}  provider: sops\n"
    return block + (f"{indent}  secretRef:\n{indent}    name: {secret_name}\n" if secret_name else "")


def _insert_decryption(text: str, secret_name: str | None, wanted: set[int]) -> str:
    """Insert a ``decryption`` block as the first key of ``spec`` in the documents ``wanted``
    (indexes), as text: every other byte of the file stays as it was."""
    import yaml

    lines = text.splitlines(keepends=True)
    inserts: list[tuple[int, str]] = []
    for index, node in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        if index not in wanted or not isinstance(node, yaml.MappingNode):
            continue
        for key, value in node.value:
            if key.value == "spec" and isinstance(value, yaml.MappingNode) and value.flow_style is False \
                    and value.value:
                first_key = value.value[0][0]
                indent = " " * first_key.start_mark.column
                inserts.append((first_key.start_mark.line, _decryption_lines(indent, secret_name)))
    for line, block in sorted(inserts, reverse=True):
        lines.insert(line, block)
    return "".join(lines)


def _flux_documents(repo: Path) -> tuple[list[tuple[Path, str, list[Any]]], set[tuple[str, str]]]:
    """The YAML files that may hold Flux objects, parsed, and the GitRepositories that are this one."""
    import yaml

    parsed: list[tuple[Path, str, list[Any]]] = []
    for path in _iter_yaml_files(repo):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "kind:" not in text or ("sops:" in text and "mac:" in text):
            continue
        try:
            docs = list(yaml.load_all(text, Loader=yaml.SafeLoader))
        except yaml.YAMLError:
            continue
        parsed.append((path, text, docs))
    return parsed, _own_git_sources(repo, [(p, d) for p, _t, docs in parsed for d in docs])


def _covering(parsed: list[tuple[Path, str, list[Any]]], own: set[tuple[str, str]],
              secrets_dirs: Sequence[str]) -> list[Path]:
    """Files defining a Flux Kustomization of this repository that builds a secrets dir."""
    return [path for path, _text, docs in parsed
            if any(_is_flux_kustomization(doc) and isinstance(doc.get("spec"), dict)
                   and any(_covers(str(doc["spec"].get("path", "")), d) for d in secrets_dirs)
                   and _builds_this_repo(doc, own) for doc in docs)]


def wire_flux_decryption(
    repo: Path, secrets_dirs: Sequence[str], *, secret_name: str | None = DECRYPTION_SECRET,
) -> list[str]:
    """Add ``spec.decryption`` to every Flux Kustomization of this repository whose ``spec.path``
    covers a secrets dir.

    A Kustomization that already has a ``decryption`` block is left alone (it may use another
    Secret on purpose); one built from another source (OCIRepository, another Git repository) is
    never touched. Without ``secret_name`` the block has no ``secretRef``. Returns the files changed.
    """
    parsed, own = _flux_documents(repo)
    changed: list[str] = []
    for path, text, docs in parsed:
        wanted = {index for index, doc in enumerate(docs) if _needs_decryption(doc, secrets_dirs, own)}
        if not wanted:
            continue
        new_text = _insert_decryption(text, secret_name, wanted)
        if new_text != text:
            _write(path, new_text)
            changed.append(_rel(repo, path))
    return changed


#: key types Flux reaches through a workload identity ``repo init`` can write, and its flag
_WORKLOAD_FLAGS = {"azure_kv": "--azure-identity CLIENT_ID", "gcp_kms": "--gcp-service-account EMAIL",
                   "kms": "--aws-role-arn ARN"}
_KEY_LABELS = {"azure_kv": "Azure Key Vault", "gcp_kms": "GCP KMS", "kms": "AWS KMS"}


def _rule_keys(repo: Path, environments: Sequence[str], root: str) -> tuple[set[str], bool]:
    """(the workload-identity key types some rule uses, the environments' rules are for such cloud
    keys only: no age or PGP key, so Flux needs no decryption Secret)."""
    from sopskit.config import parse_config

    path = repo / ".sops.yaml"
    if not path.is_file():
        return set(), False
    try:
        config = parse_config(path.read_text(encoding="utf-8"), path)
    except SopsError:
        return set(), False
    used = {t for t in _WORKLOAD_FLAGS for rule in config.creation_rules if rule.recipients(t)}
    regexes = {env_path_regex(env, root=root) for env in environments}
    rules = [rule for rule in config.creation_rules if rule.path_regex in regexes]
    cloud_only = any(rule.recipients(t) for rule in rules for t in _WORKLOAD_FLAGS) and not any(
        rule.recipients("age") or rule.recipients("pgp") for rule in rules)
    return used, cloud_only


def _flux_installs(repo: Path, secrets_dirs: Sequence[str]) -> list[Path]:
    import yaml

    found: list[tuple[Path, Any]] = []
    for path in _iter_yaml_files(repo):
        if path.name not in ("kustomization.yaml", "kustomization.yml"):
            continue
        try:
            found.append((path, yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))))
        except yaml.YAMLError:
            continue
    parsed, own = _flux_documents(repo)
    return find_flux_installs(repo, found, _covering(parsed, own, secrets_dirs))


def _wire_cloud(
    repo: Path, report: ScaffoldReport, used: set[str], identities: Sequence[WorkloadIdentity],
    azure_secret: bool, secrets_dirs: Sequence[str],
) -> None:
    """Patch the given workload identities in; for a key type a rule uses with none given and
    none in place, a note naming the flag (and, for Azure, the Secret route)."""
    import yaml

    from sopskit.ops.fluxauth import existing_patches

    if azure_secret:
        report.notes.extend(secret_instructions("flux-system", DECRYPTION_SECRET))
        used = used - {"azure_kv"}
    given = {identity.key_type for identity in identities}
    wanted = sorted(used | given)
    if not wanted:
        return
    installs = _flux_installs(repo, secrets_dirs)
    if not installs:
        report.notes.append("the rules use cloud keys, and no kustomization.yaml listing gotk-components.yaml "
                            "was found for the cluster that applies the secrets: give kustomize-controller a "
                            "workload identity where Flux is installed (docs/cloud-keys.md)")
        return
    for install in installs:
        for identity in identities:
            text = install.read_text(encoding="utf-8")
            try:
                new_text = add_workload_identity(text, identity)
            except ConfigError as exc:  # the rest of the layout is done: say what is left by hand
                report.notes.append(f"{_rel(repo, install)}: {exc.message}")
                continue
            key, value = identity.annotations[0]
            if new_text == text and value not in text:
                report.notes.append(f"{_rel(repo, install)} already patches {key} on kustomize-controller with "
                                    "another value: kept as it is (edit it there to change it)")
            if new_text != text:
                _write(install, new_text)
                if _rel(repo, install) not in report.updated:
                    report.updated.append(_rel(repo, install))
                report.notes.append(f"{_rel(repo, install)}: {identity.next_step}")
        doc = yaml.safe_load(install.read_text(encoding="utf-8"))
        for key_type in sorted(used - given):
            if existing_patches(doc, key_type) != (True, True):
                extra = "; or --azure-secret for a decryption Secret entry" if key_type == "azure_kv" else ""
                report.notes.append(f"the rules use {_KEY_LABELS[key_type]}: Flux needs an identity. Recommended: "
                                    f"`sopskit repo init {_WORKLOAD_FLAGS[key_type]}` "
                                    f"(patches {_rel(repo, install)}){extra}")


def init_repo(
    repo: Path,
    environments: Sequence[str],
    *,
    root: str = SECRETS_ROOT,
    recipients: Mapping[str, Sequence[str]] | None = None,
    azure_kv: str | None = None,
    identities: Sequence[WorkloadIdentity] = (),
    azure_secret: bool = False,
) -> ScaffoldReport:
    """Lay out (or complete) a secrets repository for ``environments``; idempotent.

    When a ``.sops.yaml`` rule uses Azure Key Vault, GCP KMS or AWS KMS (``azure_kv`` adds Key
    Vault to new rules), Flux's access is wired too (:mod:`sopskit.ops.fluxauth`): the given
    workload ``identities`` are patched on kustomize-controller; with ``azure_secret`` only
    instructions for a ``sops.azure-kv`` entry (a credential is never written); otherwise a
    note names the flag.
    """
    if not environments:
        raise UsageError("repo init needs at least one environment", hint="e.g. --env dev --env prod")
    if azure_secret and any(i.key_type == "azure_kv" for i in identities):
        raise UsageError("choose one Azure wiring: --azure-identity (workload identity) or --azure-secret")
    for env in environments:
        check_name("environment", env)
    if azure_kv:  # refuse a URL sops would not read before writing it into .sops.yaml
        from sopskit.keys.azure_kv import parse_key_urls

        parse_key_urls(azure_kv)
    report = ScaffoldReport()
    _ensure_sops_yaml(repo, environments, recipients or {}, root, report, azure_kv=azure_kv)
    _ensure_gitignore(repo, report)
    for env in environments:
        kustomization = repo / root / env / "kustomization.yaml"
        if not kustomization.exists():
            _write(kustomization, KUSTOMIZATION_TEMPLATE)
            report.created.append(_rel(repo, kustomization))
    _ensure_pre_commit(repo, report)
    used, cloud_only = _rule_keys(repo, environments, root)
    secrets_dirs = [f"{root.strip('/')}/{env}" for env in environments]
    # cloud keys only, no Secret route: no secretRef (Flux fails the reconcile on a missing Secret)
    secret: str | None = None if cloud_only and not azure_secret else DECRYPTION_SECRET
    report.updated.extend(wire_flux_decryption(repo, secrets_dirs, secret_name=secret))
    _wire_cloud(repo, report, used, identities, azure_secret, secrets_dirs)
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
