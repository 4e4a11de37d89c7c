"""``sopskit review``: what a range of commits changes in SOPS files, without any private key.

For every SOPS file changed between two revisions (either side encrypted): the Secret it
defines, the entries added, removed and changed (an unchanged ciphertext is an unchanged value,
since sops and sopskit keep the ``ENC[...]`` string of every value an edit did not touch), the
recipients added and removed and whether they equal the ``.sops.yaml`` rule for the path, MAC and
``lastmodified`` changes, files that left or entered encryption, and the workloads of the
repository that read the Secret.

With a key context (local identities, or identities the CLI fetched from a cluster) both sides
are decrypted in memory (MAC verified) and compared by keyed fingerprint, which tells the values
that really changed from those merely re-encrypted (a data key rotation re-encrypts them all).
No value, ciphertext or fingerprint is part of the result: only entry names.

Consumers and generator names are looked up in the working tree (in CI: the checked-out HEAD).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sopskit.config import SopsConfig, parse_config
from sopskit.errors import SopsError
from sopskit.keys import key_from_spec
from sopskit.keys.base import KeyContext
from sopskit.ops.document import open_document
from sopskit.ops.rekey import key_label
from sopskit.policy.kustomize import generator_sources
from sopskit.policy.repo import Repo, load_repo
from sopskit.review.consumers import Consumer, ConsumerIndex, restart_hints
from sopskit.review.fileview import FileView, entries_of, view_file
from sopskit.review.fingerprint import Fingerprinter
from sopskit.review.gitrev import Range, changed_paths, read_at, read_many

STATUSES = ("added", "modified", "deleted", "decrypted", "encrypted")


@dataclass
class FileChange:
    """One changed SOPS file. Names only: no value, no ciphertext, no fingerprint."""

    path: str
    status: str
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    keys_added: list[str] = field(default_factory=list)
    keys_removed: list[str] = field(default_factory=list)
    keys_changed: list[str] = field(default_factory=list)
    recipients_added: list[str] = field(default_factory=list)
    recipients_removed: list[str] = field(default_factory=list)
    rule_matches: bool = True
    rule: str | None = None  # which rule was compared, e.g. "creation_rules[1] (path_regex ^prod/)"
    consumers: list[Consumer] = field(default_factory=list)
    restart_hints: list[str] = field(default_factory=list)
    mac_changed: bool = False
    lastmodified: tuple[str, str] | None = None
    previous: tuple[str | None, str | None] | None = None  # (namespace, name) before, when it changed
    data_key_rotated: bool = False
    #: entries whose decrypted value differs (None: no key was given or decryption failed)
    values_changed: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
            "keys_added": self.keys_added,
            "keys_removed": self.keys_removed,
            "keys_changed": self.keys_changed,
            "recipients_added": self.recipients_added,
            "recipients_removed": self.recipients_removed,
            "rule_matches": self.rule_matches,
            "consumers": [c.to_json() for c in self.consumers],
            "restart_hints": self.restart_hints,
            "mac_changed": self.mac_changed,
            "lastmodified": list(self.lastmodified) if self.lastmodified else None,
            "previous": {"namespace": self.previous[0], "name": self.previous[1]} if self.previous else None,
            "data_key_rotated": self.data_key_rotated,
            "values_changed": self.values_changed,
            "notes": self.notes,
        }


@dataclass
class Review:
    range: str
    files: list[FileChange]

    def to_json(self) -> dict[str, Any]:
        return {"range": self.range, "files": [f.to_json() for f in self.files]}


def _status(old: FileView | None, new: FileView | None) -> str | None:
    was = old is not None and old.encrypted
    now = new is not None and new.encrypted
    if was and now:
        return "modified"
    if was:
        return "deleted" if new is None else "decrypted"
    if now:
        return "added" if old is None else "encrypted"
    return None


def _rule_labels(config: SopsConfig | None, root: Path, path: str) -> tuple[set[str] | None, str | None]:
    """Recipient labels of the first matching creation rule, and a description of the rule."""
    if config is None:
        return None, None
    rule = config.rule_for(root / path)
    if rule is None:
        return None, None
    labels = set()
    for group in rule.key_groups:
        for spec in group:
            try:
                labels.add(key_label(key_from_spec(spec.key_type, spec.spec)))
            except SopsError:
                labels.add(f"{spec.key_type} {spec.identity()}")
    where = f"creation_rules[{rule.index}]"
    return labels, where + (f" (path_regex {rule.path_regex})" if rule.path_regex else "")


def _head_config(root: Path, rng: Range) -> tuple[SopsConfig | None, str | None]:
    data = read_at(root, rng.head, ".sops.yaml")
    if data is None:
        return None, None
    try:
        return parse_config(data.decode("utf-8", "replace"), root / ".sops.yaml"), None
    except SopsError as exc:
        return None, f".sops.yaml at the head side is invalid: {exc.message}"


def _generated_secret(repo: Repo | None, path: str) -> tuple[str, str | None] | None:
    """(name, namespace) of the secretGenerator that reads ``path``, if one does."""
    if repo is None:
        return None
    for file, doc in repo.kustomizations():
        for generator in doc.data.get("secretGenerator") or []:
            if isinstance(generator, dict) and path in generator_sources(file.parent, generator):
                name = generator.get("name")
                namespace = generator.get("namespace") or doc.data.get("namespace")
                if isinstance(name, str):
                    return name, namespace if isinstance(namespace, str) else None
    return None


def _effective_identity(view: FileView, repo: Repo | None) -> None:
    """Kustomize's ``namespace:`` overrides the manifest; a generator source names its Secret."""
    if view.kind is None:
        generated = _generated_secret(repo, view.path)
        if generated is not None:
            view.kind, view.name, view.namespace = "Secret", generated[0], generated[1]
            return
    if repo is not None and view.kind is not None:
        file = repo.by_rel.get(view.path)
        if file is not None and file.yaml is not None:
            for doc in file.yaml.documents:
                if isinstance(doc.data, dict) and doc.data.get("kind") == view.kind:
                    override = repo.namespace_of(file, doc)
                    if override is not None and override != doc.data.get("metadata", {}).get("namespace"):
                        view.namespace = override
                    return
        override = _directory_namespace(repo, view.path)  # deleted file: its directory still says
        if override is not None:
            view.namespace = override


def _directory_namespace(repo: Repo, path: str) -> str | None:
    """The ``namespace:`` of the nearest kustomization above ``path``."""
    found = {file.parent: doc.data.get("namespace") for file, doc in repo.kustomizations()}
    directory = path.rsplit("/", 1)[0] if "/" in path else ""
    while True:
        namespace = found.get(directory)
        if isinstance(namespace, str) and namespace:
            return namespace
        if not directory:
            return None
        directory = directory.rsplit("/", 1)[0] if "/" in directory else ""


def _plain_fingerprints(view: FileView, context: KeyContext, fingerprints: Fingerprinter) -> dict[str, str]:
    """Entry -> keyed fingerprint of the decrypted value (MAC verified)."""
    branches = copy.deepcopy(view.branches)
    if view.encrypted:
        assert view.metadata is not None
        opened = open_document(branches, copy.deepcopy(view.metadata), context=context)
        branches = opened.branches
    return {p: fingerprints.digest(repr(v)) for p, v in entries_of(branches)}


def _compare_values(change: FileChange, old: FileView, new: FileView, context: KeyContext,
                    fingerprints: Fingerprinter) -> None:
    try:
        before = _plain_fingerprints(old, context, fingerprints)
        after = _plain_fingerprints(new, context, fingerprints)
    except SopsError as exc:
        change.notes.append(f"values not compared: {exc.message}")
        return
    change.values_changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])


def _diff(change: FileChange, old: FileView | None, new: FileView | None) -> None:
    before = old.entries if old is not None else {}
    after = new.entries if new is not None else {}
    change.keys_added = sorted(after.keys() - before.keys())
    change.keys_removed = sorted(before.keys() - after.keys())
    if change.status == "modified":
        change.keys_changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    old_r = old.recipients if old is not None and old.encrypted else {}
    new_r = new.recipients if new is not None and new.encrypted else {}
    change.recipients_added = sorted(new_r.keys() - old_r.keys())
    change.recipients_removed = sorted(old_r.keys() - new_r.keys())
    if old is not None and new is not None and old.encrypted and new.encrypted:
        change.mac_changed = old.mac != new.mac
        if old.lastmodified != new.lastmodified:
            change.lastmodified = (old.lastmodified, new.lastmodified)
        common = old_r.keys() & new_r.keys()
        if common and all(old_r[k] != new_r[k] for k in common) and before and \
                all(before[k] != after[k] for k in before.keys() & after.keys()):
            change.data_key_rotated = True


def _describe(change: FileChange, old: FileView | None, new: FileView | None) -> None:
    if change.status == "decrypted":
        change.notes.append("the file LEFT encryption: its values are now plaintext in Git "
                            "(rewrite history and rotate every value it holds)")
    elif change.status == "encrypted":
        change.notes.append("the file entered encryption (its earlier plaintext stays in history)")
    if old is not None and new is not None and not (old.parsed and new.parsed):
        change.notes.append("one side could not be parsed; entries not compared")
    if change.data_key_rotated and change.values_changed is None:
        change.notes.append("data key rotated: every value was re-encrypted, so ciphertext cannot tell "
                            "which values changed (pass --with-keys or --from-cluster to find out)")
    elif change.keys_changed and change.values_changed is None:
        change.notes.append("changed ciphertext; pass --with-keys or --from-cluster to confirm which "
                            "values really changed")


def review_change(
    path: str,
    old_data: bytes | None,
    new_data: bytes | None,
    *,
    root: Path,
    config: SopsConfig | None,
    repo: Repo | None,
    fingerprints: Fingerprinter,
    context: KeyContext | None = None,
    consumers: ConsumerIndex | None = None,
) -> FileChange | None:
    """The change of one file, or None when neither side is a SOPS file or nothing changed."""
    if old_data == new_data:
        return None
    old = view_file(path, old_data, fingerprints) if old_data is not None else None
    new = view_file(path, new_data, fingerprints) if new_data is not None else None
    status = _status(old, new)
    if status is None:
        return None
    for view in (old, new):
        if view is not None:
            _effective_identity(view, repo)
    current = new if new is not None else old
    assert current is not None
    change = FileChange(path=path, status=status, kind=current.kind, namespace=current.namespace,
                        name=current.name)
    if old is not None and new is not None and old.kind is not None and \
            (old.namespace, old.name) != (new.namespace, new.name):
        change.previous = (old.namespace, old.name)
    _diff(change, old, new)
    if context is not None and old is not None and new is not None and old.parsed and new.parsed:
        _compare_values(change, old, new, context, fingerprints)
    wanted, where = _rule_labels(config, root, path)
    change.rule = where
    if status == "decrypted":
        change.rule_matches = False
    elif status != "deleted" and new is not None:
        change.rule_matches = wanted is not None and wanted == set(new.recipients)
        if wanted is None:
            change.notes.append("no .sops.yaml creation rule matches this path" if config is not None
                                else "no .sops.yaml at the repository root: nothing says who this path is for")
    if change.kind == "Secret" and change.name and repo is not None:
        index = consumers if consumers is not None else ConsumerIndex(repo)
        change.consumers = index.find(change.namespace, change.name)
        change.restart_hints = restart_hints(change.consumers) if status != "deleted" else []
    _describe(change, old, new)
    return change


def review_range(
    root: Path,
    rng: Range,
    *,
    context: KeyContext | None = None,
    paths: Iterable[str] | None = None,
    fingerprints: Fingerprinter | None = None,
) -> Review:
    """Review every SOPS file changed in ``rng`` (optionally only ``paths``)."""
    fingerprints = fingerprints or Fingerprinter()
    config, config_note = _head_config(root, rng)
    repo = load_repo(root)
    index = ConsumerIndex(repo)
    wanted = set(paths) if paths is not None else None
    files: list[FileChange] = []
    changed = [p for p in changed_paths(root, rng) if wanted is None or p in wanted]
    before, after = read_many(root, rng.base, changed), read_many(root, rng.head, changed)
    for path in changed:
        change = review_change(
            path, before.get(path), after.get(path),
            root=root, config=config, repo=repo, fingerprints=fingerprints, context=context,
            consumers=index,
        )
        if change is not None:
            if config_note:
                change.notes.append(config_note)
            files.append(change)
    return Review(rng.label, files)


__all__ = ["STATUSES", "FileChange", "Review", "review_change", "review_range"]
