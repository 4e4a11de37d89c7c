"""What a ``kustomization.yaml`` points at: resources, patches and generator inputs.

Shared by the Flux checks (every reference must exist; every encrypted file must be referenced)
and the plaintext check (generator inputs must be encrypted). Paths come back relative to the
checked root, normalised; remote resources (URLs, ``github.com/...``, ``git::``) are skipped.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sopskit.policy.repo import RepoFile
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


def generator_sources(directory: str, generator: dict[str, Any]) -> list[str]:
    """Files a generator reads: ``files`` (``key=path`` or ``path``), ``envs`` and ``env``."""
    entries: list[str] = []
    for item in generator.get("files") or []:
        if isinstance(item, str):
            entries.append(item.split("=", 1)[1] if "=" in item else item)
    for item in generator.get("envs") or []:
        if isinstance(item, str):
            entries.append(item)
    if isinstance(generator.get("env"), str):
        entries.append(generator["env"])
    return [join(directory, entry.strip()) for entry in entries if entry.strip() and not is_remote(entry.strip())]


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
