"""kustomize ``replacements`` that give a binding's ServiceAccount subject its namespace.

A base can leave a ClusterRoleBinding's subject with a stand-in namespace (``namespace:
namespace``) and let each overlay copy the ServiceAccount's built namespace into it::

    replacements:
      - source: {kind: ServiceAccount, name: maester, fieldPath: metadata.namespace}
        targets:
          - select: {kind: ClusterRoleBinding, name: maester}
            fieldPaths: [subjects.0.namespace]

kustomize runs replacements after the kustomization's own ``namespace:`` transformer, so the
source reads the overlay's namespace (api/filters/replacement/replacement.go; the ``delimiter``
and ``index`` options replace one part of the target value). Without this, the subject's
namespace reads as the stand-in and the account seems to run nowhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sopskit.policy.kustomize import join
from sopskit.policy.repo import Repo, RepoFile, is_kind, name_of
from sopskit.policy.yamldocs import YamlDocument

_BINDING_KINDS = ("ClusterRoleBinding", "RoleBinding")
_SUBJECT_NAMESPACE = re.compile(r"subjects\.(\d+)\.namespace")

#: (binding file, subject name, subject namespace as written) -> the namespace once built
SubjectNamespaces = dict[tuple[str, str, str | None], str]


def replaced_subject_namespaces(repo: Repo) -> SubjectNamespaces:
    """Every binding subject whose namespace a kustomization's replacement sets from a
    ServiceAccount's namespace in the same build."""
    found: SubjectNamespaces = {}
    for file, doc in repo.kustomizations():
        built: list[str] | None = None
        for replacement in _replacements(repo, file, doc.data.get("replacements")):
            source = replacement.get("source")
            if not (isinstance(source, dict) and source.get("kind") == "ServiceAccount"
                    and source.get("fieldPath") == "metadata.namespace"):
                continue
            if built is None:
                built = sorted(repo.builds.resources(file.parent))
            namespace = _account_namespace(repo, built, source.get("name"), doc.data.get("namespace"))
            if namespace is None:
                continue
            for target in replacement.get("targets") or []:
                if isinstance(target, dict):
                    found.update(_targeted_subjects(repo, built, target, namespace))
    return found


def _replacements(repo: Repo, file: RepoFile, entries: Any) -> Iterator[dict[str, Any]]:
    """The replacements of a kustomization: inline ones and those in ``path:`` files."""
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        path = entry.get("path")
        if not isinstance(path, str):
            yield entry
            continue
        target = repo.by_rel.get(join(file.parent, path))
        parsed = target.yaml if target is not None else None
        for part in parsed.documents if parsed is not None else ():
            if isinstance(part.data, dict):
                yield part.data


def _account_namespace(repo: Repo, built: list[str], name: Any, kustomize_namespace: Any) -> str | None:
    """The namespace of the ServiceAccount ``name`` in a build: the kustomization's own
    ``namespace:`` (applied before replacements), else the account's."""
    for rel, doc in _documents(repo, built):
        if is_kind(doc.data, "ServiceAccount") and name_of(doc.data) == name:
            if isinstance(kustomize_namespace, str) and kustomize_namespace:
                return kustomize_namespace
            return repo.namespace_of(repo.by_rel[rel], doc)
    return None


def _targeted_subjects(repo: Repo, built: list[str], target: dict[str, Any], namespace: str) -> SubjectNamespaces:
    select = target.get("select")
    if not isinstance(select, dict) or select.get("kind") not in _BINDING_KINDS:
        return {}
    raw_options = target.get("options")
    options: dict[str, Any] = raw_options if isinstance(raw_options, dict) else {}
    indexes = [int(m.group(1)) for path in target.get("fieldPaths") or []
               if isinstance(path, str) and (m := _SUBJECT_NAMESPACE.fullmatch(path))]
    found: SubjectNamespaces = {}
    for rel, doc in _documents(repo, built):
        if not is_kind(doc.data, select["kind"]) or select.get("name") not in (None, name_of(doc.data)):
            continue
        subjects = doc.data.get("subjects")
        for index in indexes:
            subject = subjects[index] if isinstance(subjects, list) and index < len(subjects) else None
            if isinstance(subject, dict) and subject.get("kind") == "ServiceAccount":
                written = subject.get("namespace")
                found[(rel, str(subject.get("name", "")), written)] = _replaced(written, namespace, options)
    return found


def _replaced(written: Any, value: str, options: dict[str, Any]) -> str:
    """The target value after the replacement (``delimiter``/``index``: one part of it)."""
    delimiter, index = options.get("delimiter"), options.get("index", 0)
    if not isinstance(delimiter, str) or not delimiter or not isinstance(written, str) or not isinstance(index, int):
        return value
    parts = written.split(delimiter)
    if 0 <= index < len(parts):
        parts[index] = value
    return delimiter.join(parts)


def _documents(repo: Repo, rels: list[str]) -> Iterator[tuple[str, YamlDocument]]:
    for rel in rels:
        file = repo.by_rel.get(rel)
        parsed = file.yaml if file is not None else None
        for doc in parsed.documents if parsed is not None else ():
            if isinstance(doc.data, dict):
                yield rel, doc
