"""What a ``kustomization.yaml`` points at: resources, patches and generator inputs, and which
objects its ``$patch: delete`` patches remove.

Shared by the Flux checks (every reference must exist; every encrypted file must be referenced)
and the plaintext check (generator inputs must be encrypted). Paths come back relative to the
checked root, normalised; remote resources (URLs, ``github.com/...``, ``git::``) are skipped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from sopskit.format.goregex import go_regex_or_never
from sopskit.policy.repo import Repo, RepoFile
from sopskit.policy.yamldocs import YamlDocument

_PATH_LISTS = ("resources", "bases", "components", "crds", "generators", "transformers", "validators")
_PATCH_LISTS = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("secretGenerator", "configMapGenerator")


@dataclass(frozen=True)
class Reference:
    """One path a kustomization needs. ``may_be_dir``: resources and friends may name a directory."""

    field: str
    raw: str
    target: str
    line: int
    may_be_dir: bool

    @property
    def is_patch(self) -> bool:
        """A patch file is merged into resources, never emitted as one."""
        return self.field in ("patchesStrategicMerge", *_PATCH_LISTS)


def is_remote(entry: str) -> bool:
    lowered = entry.lower()
    return (
        "://" in entry
        or lowered.startswith(("github.com/", "gitlab.com/", "bitbucket.org/", "git@", "git::"))
        or "?ref=" in entry
        or "?version=" in entry
    )


def join(directory: str, entry: str) -> str:
    """``entry`` resolved against the kustomization's directory, as a root-relative path."""
    return posixpath.normpath(posixpath.join(directory, entry)) if directory else posixpath.normpath(entry)


def generator_files(directory: str, generator: dict[str, Any]) -> list[tuple[str, str]]:
    """(data key, file) of a generator's ``files`` entries: ``key=path``, or ``path`` whose
    key is the file's name (kustomize's ``ParseFileSource``)."""
    found: list[tuple[str, str]] = []
    for item in generator.get("files") or []:
        if isinstance(item, str) and item.strip():
            key, separator, path = item.strip().partition("=")
            if not separator:
                key, path = "", key
            path = path.strip()
            if path and not is_remote(path):
                found.append((key.strip() or posixpath.basename(path), join(directory, path)))
    return found


def generator_sources(directory: str, generator: dict[str, Any]) -> list[str]:
    """Files a generator reads: ``files`` (``key=path`` or ``path``), ``envs`` and ``env``."""
    entries = [path for _key, path in generator_files(directory, generator)]
    envs = [item for item in generator.get("envs") or [] if isinstance(item, str)]
    if isinstance(generator.get("env"), str):
        envs.append(generator["env"])
    return entries + [join(directory, entry.strip()) for entry in envs
                      if entry.strip() and not is_remote(entry.strip())]


def references(file: RepoFile, doc: YamlDocument) -> Iterator[Reference]:
    """Every local path the kustomization in ``file`` refers to."""
    data = doc.data
    directory = file.parent
    for field_name in _PATH_LISTS:
        for index, entry in _entries(data.get(field_name)):
            if "\n" not in entry and not is_remote(entry):
                yield Reference(
                    field_name, entry, join(directory, entry), doc.line_of(field_name, index), True
                )
    for index, entry in _entries(data.get("patchesStrategicMerge")):
        if "\n" not in entry and ":" not in entry:  # inline patches are YAML text
            yield Reference(
                "patchesStrategicMerge",
                entry,
                join(directory, entry),
                doc.line_of("patchesStrategicMerge", index),
                False,
            )
    for field_name in _PATCH_LISTS:
        items = data.get(field_name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                path = item.get("path") if isinstance(item, dict) else None
                if isinstance(path, str) and path and not is_remote(path):
                    yield Reference(
                        field_name, path, join(directory, path), doc.line_of(field_name, index, "path"), False
                    )
    for field_name in _GENERATORS:
        items = data.get(field_name)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    line = doc.line_of(field_name, index)
                    for target in generator_sources(directory, item):
                        yield Reference(f"{field_name}", target, target, line, False)


def _entries(value: Any) -> Iterator[tuple[int, str]]:
    if isinstance(value, list):
        for index, entry in enumerate(value):
            if isinstance(entry, str) and entry.strip():
                yield index, entry.strip()


def patch_bodies(repo: Repo, file: RepoFile, doc: YamlDocument) -> list[tuple[Any, str]]:
    """(``target`` or None, patch text) of every patch of a kustomization: ``patches`` entries
    (inline ``patch:`` or a ``path:`` file) and ``patchesStrategicMerge`` entries (inline YAML or
    a file). A patch file that is not in the repository gives nothing."""
    entries: list[tuple[Any, Any]] = []
    for item in doc.data.get("patches") or []:
        if isinstance(item, dict):
            body = item.get("patch")
            if not isinstance(body, str) and isinstance(item.get("path"), str):
                body = _patch_file(repo, file, item["path"])
            entries.append((item.get("target"), body))
    for item in doc.data.get("patchesStrategicMerge") or []:
        if isinstance(item, str):
            entries.append((None, item if "\n" in item else _patch_file(repo, file, item)))
    return [(target, body) for target, body in entries if isinstance(body, str)]


def _patch_file(repo: Repo, file: RepoFile, path: str) -> str | None:
    target = repo.by_rel.get(join(file.parent, path))
    return target.text if target is not None else None


#: kinds without a namespace: a strategic-merge patch matches them by kind and name alone
CLUSTER_SCOPED = frozenset((
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PersistentVolume",
    "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "APIService", "IngressClass", "RuntimeClass", "CSIDriver", "ClusterIssuer", "ClusterSecretStore",
))


@dataclass(frozen=True)
class Deletion:
    """What one ``$patch: delete`` patch removes: ``kind`` (None: any), ``name`` and ``namespace``
    (None: any), regular expressions when ``selector`` (a ``target:``), exact otherwise."""

    kind: str | None
    name: str | None
    namespace: str | None
    selector: bool

    def matches(self, kind: str, name: str, namespaces: tuple[str | None, ...]) -> bool:
        """Whether an object of ``kind``/``name`` whose namespace is, or was, one of ``namespaces``
        is removed (kustomize matches a patch against an object's current and previous ids;
        ``""`` and ``default`` are the same namespace, resid.go ``EffectiveNamespace``)."""
        if self.kind is not None and self.kind != kind:
            return False
        if self.name is not None and not _equal(self.name, name, regex=self.selector):
            return False
        if kind in CLUSTER_SCOPED or (self.namespace is None and self.selector):
            return True
        wanted = self.namespace or "default"
        return any(_equal(wanted, ns or "default", regex=self.selector) for ns in namespaces)


def _equal(pattern: str, value: str, *, regex: bool) -> bool:
    """A target's name or namespace against an object's: kustomize anchors the pattern and runs
    it with Go's RE2 (a user's pattern never backtracks here either; an invalid one matches
    nothing)."""
    if pattern == value:
        return True
    return regex and go_regex_or_never(f"^(?:{pattern})$").search(value)


def deletions(repo: Repo, file: RepoFile, doc: YamlDocument) -> list[Deletion]:
    """The objects a kustomization's strategic-merge patches remove with ``$patch: delete``
    (kustomize api/internal/builtins/PatchTransformer.go: without ``target`` a patch applies to
    the one object with its kind, name and namespace; with ``target`` to every object selected;
    an emptied object leaves the build, api/resource/resource.go ``ApplyFilter``). A target that
    selects by labels or annotations is not followed (its objects stay)."""
    found: list[Deletion] = []
    for target, body in patch_bodies(repo, file, doc):
        try:
            patches = list(yaml.safe_load_all(body))
        except yaml.YAMLError:
            continue
        for patch in patches:
            if not isinstance(patch, dict) or patch.get("$patch") != "delete":
                continue
            if isinstance(target, dict):
                if target.get("labelSelector") or target.get("annotationSelector"):
                    continue
                found.append(Deletion(_text(target.get("kind")), _text(target.get("name")),
                                      _text(target.get("namespace")), selector=True))
                continue
            metadata = patch.get("metadata") if isinstance(patch.get("metadata"), dict) else {}
            kind, name = _text(patch.get("kind")), _text((metadata or {}).get("name"))
            if kind is not None and name is not None:
                found.append(Deletion(kind, name, _text((metadata or {}).get("namespace")), selector=False))
    return found


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
