"""Build the inventory: one pass over the repository, metadata only, no key needed."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from sopskit.errors import SopsError
from sopskit.format import keytypes
from sopskit.inventory.history import last_value_changes
from sopskit.inventory.model import Holder, Inventory, Recipient, SecretEntry
from sopskit.inventory.owners import HOLDERS_FILE, OWNER_ANNOTATION, CodeOwners, KeyHolder, load_holders
from sopskit.policy.context import CheckContext
from sopskit.policy.repo import Repo, RepoFile, is_kind, load_repo, name_of
from sopskit.policy.settings import PolicySettings, settings_from_mapping
from sopskit.policy.sopsconfig import find_sops_config, read_sops_config

DEFAULT_MAX_AGE_DAYS = 90
_ENV_ALIASES = {"production": "prod", "stage": "staging", "development": "dev"}
_KNOWN_ENVS = ("prod", "production", "staging", "stage", "dev", "development", "test", "qa", "preprod",
               "sandbox", "uat")
#: the field of a metadata record that names its key (public data)
_RECORD_ID = {t.name: t.record_id[0] for t in keytypes.key_types() if len(t.record_id) == 1}


def collect(
    root: Path,
    *,
    holders_path: Path | None = None,
    history: bool = True,
    max_age_days: int | None = None,
    extra_holders: dict[str, KeyHolder] | None = None,
    now: _dt.datetime | None = None,
) -> Inventory:
    """Inventory of ``root``: secrets, their recipients and holders, owners and last change."""
    config = find_sops_config(root)
    notes: list[str] = []
    sops_config = None
    if config is not None:
        try:
            sops_config = read_sops_config(config)
        except SopsError as exc:
            # one rule sopskit cannot read must not hide the whole inventory
            notes.append(f"{config.name} not used ({exc}): environments come from paths and namespaces")
        if sops_config is not None and sops_config.error:
            notes.append(f"{config.name} not used ({sops_config.error}): environments come from paths and "
                         "namespaces")
    settings = (settings_from_mapping(sops_config.settings, source=str(sops_config.path))
                if sops_config is not None else PolicySettings())
    if max_age_days is None:
        configured = sops_config.settings.get("rotation_max_age_days") if sops_config is not None else None
        max_age_days = configured if isinstance(configured, int) and configured > 0 else DEFAULT_MAX_AGE_DAYS
    repo = load_repo(root, exclude=settings.exclude)
    ctx = _InventoryContext(repo=repo, settings=settings, sops_config=sops_config)
    holders = _holders(repo.root, holders_path)
    holders.update(extra_holders or {})
    owners = CodeOwners.load(repo.root)
    if not owners.source:
        notes.append("no CODEOWNERS file: owners come only from the sopskit.io/owner annotation")
    if holders_path is None and not (repo.root / HOLDERS_FILE).is_file() and not extra_holders:
        notes.append(f"no {HOLDERS_FILE}: key holders are unknown (see docs/inventory.md)")

    secrets: list[SecretEntry] = []
    for file in repo.files:
        secrets.extend(_entries_of(file, ctx, holders, owners))
    _add_consumers(repo, secrets)

    has_history = repo.is_git and history
    if has_history:
        changes = last_value_changes(repo.root, {s.path for s in secrets if s.protection == "sops"})
        today = now or _dt.datetime.now(_dt.UTC)
        for entry in secrets:
            changed = changes.get(entry.path)
            entry.last_changed = changed
            if changed is not None:
                age = today - _dt.datetime.fromisoformat(changed)
                entry.rotation_due = age.days > max_age_days
    elif history:
        notes.append("not a Git repository: last-changed dates and rotation are unknown")

    environments = sorted({e.name for e in ctx.environments} | {s.environment for s in secrets} - {"unknown"})
    return Inventory(
        root=str(repo.root), secrets=secrets, holders=_holder_matrix(secrets), environments=environments,
        max_age_days=max_age_days, has_history=has_history, notes=notes, repo=repo,
    )


class _InventoryContext(CheckContext):
    @cached_property
    def declared_namespaces(self) -> frozenset[str]:
        """Namespaces the repository creates or deploys into: Namespace objects, a kustomization's
        ``namespace:`` and a Flux Kustomization's ``spec.targetNamespace``."""
        found: set[str] = set()
        for _file, doc in self.repo.documents():
            data = doc.data
            if is_kind(data, "Namespace") and str(data.get("apiVersion", "v1")) == "v1":
                found.add(str(name_of(data)))
            elif data.get("kind") == "Kustomization":
                api = str(data.get("apiVersion", ""))
                value = data.get("namespace") if api.startswith("kustomize.config.k8s.io/") or not api \
                    else mapping_at(data, "spec").get("targetNamespace")
                if isinstance(value, str):
                    found.add(value)
        return frozenset(found)


def _add_consumers(repo: Repo, secrets: list[SecretEntry]) -> None:
    """The workloads that read each Kubernetes Secret (the review's consumer index)."""
    from sopskit.review.consumers import ConsumerIndex

    index = ConsumerIndex(repo)
    for entry in secrets:
        if entry.name and entry.kind in ("Secret", "ExternalSecret", "SealedSecret"):
            entry.consumers = [c.to_json() for c in index.find(entry.namespace, entry.name)]


def _holders(root: Path, holders_path: Path | None) -> dict[str, KeyHolder]:
    path = holders_path or root / HOLDERS_FILE
    if holders_path is None and not path.is_file():
        return {}
    return load_holders(path)


def _entries_of(file: RepoFile, ctx: CheckContext, holders: dict[str, KeyHolder],
                owners: CodeOwners) -> Iterator[SecretEntry]:
    if file.is_encrypted:
        yield from _sops_entries(file, ctx, holders, owners)
        return
    parsed = file.yaml
    if parsed is None:
        return
    for doc in parsed.documents:
        data = doc.data
        if not isinstance(data, dict):
            continue
        if is_kind(data, "ExternalSecret", "external-secrets.io/"):
            yield _external_secret(file, ctx, data, owners)
        elif is_kind(data, "SealedSecret", "bitnami.com/"):
            spec = mapping_at(data, "spec")
            encrypted = mapping_at(spec, "encryptedData")
            yield _entry(file, ctx, data, owners, kind="SealedSecret", keys=sorted(map(str, encrypted)),
                         protection="sealed")
        elif is_kind(data, "Secret") and str(data.get("apiVersion", "v1")) == "v1":
            keys = sorted({str(k) for field in ("data", "stringData") if isinstance(data.get(field), dict)
                           for k in data[field]})
            if keys:
                yield _entry(file, ctx, data, owners, kind="Secret", keys=keys, protection="plaintext")


def _sops_entries(file: RepoFile, ctx: CheckContext, holders: dict[str, KeyHolder],
                  owners: CodeOwners) -> Iterator[SecretEntry]:
    documents = _read_sops_file(file)
    if documents is None:
        yield SecretEntry(file.rel, "SopsFile", None, None, [], _environment(file, ctx, None), "sops",
                          owner=_owner(file, owners, {}))
        return
    branches, records = documents
    recipients = [_recipient(key_type, fields, holders) for key_type, fields in records]
    # sops writes its metadata into every document of a multi-document file, so an empty
    # document (a trailing `---`) comes back as {}: not a secret of its own
    branches = [b for b in branches if b] or branches[:1]
    for plain in branches:
        is_secret = plain.get("kind") == "Secret"
        if is_secret:
            keys = sorted({key for field in ("data", "stringData") for key in _names(plain.get(field))})
        else:
            # an INI tree always holds go-ini's DEFAULT section, empty unless the file has keys
            # before its first [section]: not a key anyone set
            keys = sorted(str(k) for k, v in plain.items() if not (k == "DEFAULT" and v in ({}, None)
                                                                      and file.rel.endswith(".ini")))
        entry = _entry(file, ctx, plain, owners, kind="Secret" if is_secret else "SopsFile", keys=keys,
                       protection="sops")
        entry.recipients = recipients
        yield entry


def _read_sops_file(file: RepoFile) -> tuple[list[dict[str, Any]], list[tuple[str, dict[str, Any]]]] | None:
    """The documents (without ``sops``) and the key records of a SOPS file; None if unreadable.

    YAML goes through libyaml's plain loader (5x faster than the round-trip store, and comments
    and key order do not matter here); other formats, and YAML that loader refuses, through
    the file's store."""
    from sopskit.format.metadata import metadata_from_plain
    from sopskit.format.tree import to_plain

    branches: list[dict[str, Any]] | None = None
    if file.rel.endswith((".yaml", ".yml")):
        branches = _fast_yaml(file.raw)
    if branches is None:
        from sopskit.ops.sopsfile import parse_encrypted

        try:
            trees, metadata = parse_encrypted(file.raw, name=file.rel)
        except SopsError:
            return None
        records = [(r.key_type, r.fields) for r in metadata.records()]
        plain_trees = [to_plain(t) for t in trees]
        return [{k: v for k, v in t.items() if k != "sops"} for t in plain_trees if isinstance(t, dict)], records
    sops = next((b["sops"] for b in branches if isinstance(b.get("sops"), dict)), None)
    if sops is None:
        return None
    try:
        metadata = metadata_from_plain(sops)
    except SopsError:
        return None
    return [{k: v for k, v in b.items() if k != "sops"} for b in branches], \
        [(r.key_type, r.fields) for r in metadata.records()]


def _fast_yaml(data: bytes) -> list[dict[str, Any]] | None:
    from sopskit.stores._pyyaml import pyyaml

    yaml = pyyaml()
    try:
        documents = list(yaml.load_all(data, Loader=yaml.CSafeLoader))
    except (yaml.YAMLError, ValueError, TypeError):
        return None
    return [d for d in documents if isinstance(d, dict)] or None


def mapping_at(data: dict[str, Any], key: str) -> dict[str, Any]:
    """``data[key]`` when it is a mapping, else an empty one (manifests are untrusted input)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _names(section: Any) -> list[str]:
    """Key names of a mapping, or none."""
    return [str(name) for name in section] if isinstance(section, dict) else []


def _entry(file: RepoFile, ctx: CheckContext, data: dict[str, Any], owners: CodeOwners, *, kind: str,
           keys: list[str], protection: str) -> SecretEntry:
    metadata = mapping_at(data, "metadata")
    name = metadata.get("name") if isinstance(metadata.get("name"), str) else None
    if name is not None and name.startswith("ENC["):  # encrypted names say nothing
        name = None
    namespace = ctx.repo.effective_namespace(file, data)
    if namespace is not None and namespace.startswith("ENC["):
        namespace = None
    return SecretEntry(file.rel, kind, namespace, name, keys, _environment(file, ctx, namespace), protection,
                       owner=_owner(file, owners, metadata))


def _external_secret(file: RepoFile, ctx: CheckContext, data: dict[str, Any], owners: CodeOwners) -> SecretEntry:
    spec = mapping_at(data, "spec")
    keys: list[str] = []
    refs: list[str] = []
    for item in spec.get("data") or []:
        if isinstance(item, dict):
            if item.get("secretKey"):
                keys.append(str(item["secretKey"]))
            remote = item.get("remoteRef")
            if isinstance(remote, dict) and remote.get("key"):
                refs.append(str(remote["key"]))
    for item in spec.get("dataFrom") or []:
        extract = item.get("extract") if isinstance(item, dict) else None
        if isinstance(extract, dict) and extract.get("key"):
            refs.append(str(extract["key"]))
    target = mapping_at(spec, "target")
    template = mapping_at(target, "template")
    templated = _names(template.get("data"))
    for source in template.get("templateFrom") or []:
        # templateFrom a ConfigMap/Secret renders each listed item into the Secret's data under
        # the item's key (target: Data, the default)
        if not isinstance(source, dict) or source.get("target", "Data") != "Data":
            continue
        for ref in (source.get("configMap"), source.get("secret")):
            items = ref.get("items") if isinstance(ref, dict) else None
            templated += [str(i["key"]) for i in items or [] if isinstance(i, dict) and i.get("key")]
    if templated:
        # external-secrets renders target.template.data into the Secret; with the default
        # mergePolicy (Replace) those are its only keys, with Merge they join spec.data's.
        keys = templated + keys if template.get("mergePolicy") == "Merge" else templated
    entry = _entry(file, ctx, data, owners, kind="ExternalSecret", keys=sorted(set(keys)),
                   protection="external")
    if isinstance(target.get("name"), str):
        entry.name = target["name"]
    entry.remote_refs = refs
    return entry


def _environment(file: RepoFile, ctx: CheckContext, namespace: str | None) -> str:
    """secrets_root/E/, else the environment of the rule that encrypts the path, else the
    environment that owns the namespace, else a well-known environment word in the path."""
    env = ctx.environment_of_path(file.rel)
    if env is not None:
        return env.name
    rule = ctx.rule_for(file)
    if rule is not None and rule.index in ctx.rule_environments:
        return ctx.rule_environments[rule.index].name
    if namespace:
        owners = [e.name for e in ctx.environments if e.owns_namespace(namespace)]
        if len(owners) == 1:
            return owners[0]
    # a directory named like a Namespace the repository creates (home-ops' apps/dev/) is that
    # namespace, not an environment
    declared: frozenset[str] = getattr(ctx, "declared_namespaces", frozenset())
    for part in reversed(file.rel.lower().split("/")[:-1]):
        if part in _KNOWN_ENVS and part != namespace and part not in declared:
            return _ENV_ALIASES.get(part, part)
    return "unknown"


def _owner(file: RepoFile, owners: CodeOwners, metadata: dict[str, Any]) -> str | None:
    annotations = mapping_at(metadata, "annotations")
    if isinstance(annotations.get(OWNER_ANNOTATION), str):
        return str(annotations[OWNER_ANNOTATION])
    found = owners.owners_of(file.rel)
    return " ".join(found) if found else None


def _recipient(key_type: str, fields: dict[str, Any], holders: dict[str, KeyHolder]) -> Recipient:
    if key_type in _RECORD_ID:
        key = str(fields.get(_RECORD_ID[key_type], ""))
    elif key_type == "azure_kv":
        key = f"{fields.get('vault_url', '')}/keys/{fields.get('name', '')}/{fields.get('version', '')}"
    elif key_type == "hc_vault":
        key = f"{fields.get('vault_address', '')}/v1/{fields.get('engine_path', '')}/keys/{fields.get('key_name', '')}"
    else:
        key = "?"
    known = holders.get(key) or holders.get(key.rstrip("!"))
    if known is not None:
        holder, kind = known.holder, known.kind
    elif key_type not in ("age", "pgp"):
        holder, kind = f"{key_type} key policy", "kms"  # who decrypts is decided by the service's IAM
    else:
        holder, kind = "unknown", "unknown"
    return Recipient(key_type, key, holder, kind, post_quantum=key.startswith("age1pq1"))


def _holder_matrix(secrets: list[SecretEntry]) -> list[Holder]:
    by_key: dict[str, Holder] = {}
    for entry in secrets:
        label = entry.path if entry.name is None else f"{entry.path}#{entry.namespace or '-'}/{entry.name}"
        for recipient in entry.recipients:
            holder = by_key.setdefault(recipient.key, Holder(recipient.key, recipient.holder, recipient.holder_kind,
                                                             [], []))
            if entry.environment not in holder.environments:
                holder.environments.append(entry.environment)
            if label not in holder.secrets:
                holder.secrets.append(label)
                holder.per_environment[entry.environment] = holder.per_environment.get(entry.environment, 0) + 1
    for holder in by_key.values():
        holder.environments.sort()
    return sorted(by_key.values(), key=lambda h: (h.holder, h.key))
