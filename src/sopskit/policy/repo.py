"""Load a repository for checking: which files, their bytes, YAML documents and namespaces.

In a Git work tree the files are the ones Git would commit (tracked plus untracked that are
not ignored): an ignored ``age.agekey`` is the guard working, not a leak. Outside Git every
regular file is taken; tool directories are skipped in both cases (the listing is the project's
one walker, :mod:`sopskit.walk`). Symlinks are skipped (Flux refuses them too) and big or binary
files are not read as text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from sopskit.format.recognize import has_sops_metadata
from sopskit.format.textcodec import decode_text, has_utf16_mark
from sopskit.policy.globs import matches_any
from sopskit.policy.yamldocs import YamlDocument, YamlParse, parse_yaml_documents
from sopskit.walk import list_repo

if TYPE_CHECKING:
    from sopskit.policy.fluxgraph import Builds

#: files read as text (larger ones are binary blobs to the checks); operator bundles, which keep
#: their CRDs, RBAC and Deployment in one file (prometheus-operator's ``bundle.yaml``), run to 4 MB
MAX_TEXT_BYTES = 8 * 1024 * 1024
KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class RepoFile:
    """One file of the repository, read lazily."""

    root: Path
    rel: str

    @property
    def path(self) -> Path:
        return self.root / self.rel

    @property
    def name(self) -> str:
        return PurePosixPath(self.rel).name

    @property
    def parent(self) -> str:
        """Relative POSIX directory; ``""`` for the root."""
        parent = str(PurePosixPath(self.rel).parent)
        return "" if parent == "." else parent

    @cached_property
    def raw(self) -> bytes:
        try:
            with self.path.open("rb") as handle:
                return handle.read(MAX_TEXT_BYTES + 1)
        except OSError:
            return b""

    @cached_property
    def text(self) -> str | None:
        """Decoded text, or None for binary and oversized files."""
        data = self.raw
        if len(data) > MAX_TEXT_BYTES or (b"\0" in data[:8192] and not has_utf16_mark(data)):
            return None
        return decode_text(data, errors="replace")

    @cached_property
    def is_encrypted(self) -> bool:
        """True if the file carries a SOPS metadata block (any store)."""
        return has_sops_metadata(self.raw)

    @property
    def is_yaml(self) -> bool:
        return (
            self.rel.endswith(YAML_SUFFIXES)
            or self.name in KUSTOMIZATION_NAMES
            or (_looks_like_kubeconfig(self) and not self.raw.startswith(b"#!"))  # a script, e.g. kubeconfig-get
        )

    @property
    def is_kustomization(self) -> bool:
        return self.name in KUSTOMIZATION_NAMES

    @cached_property
    def yaml(self) -> YamlParse | None:
        if not self.is_yaml or self.text is None:
            return None
        return parse_yaml_documents(self.text)

    def line_of_offset(self, offset: int) -> int:
        return (self.text or "").count("\n", 0, offset) + 1


#: suffixes of source files named after kubeconfigs (``kubeconfig.py``) that are not one
_CODE_SUFFIXES = (".py", ".go", ".sh", ".rs", ".ts", ".js", ".java", ".rb", ".md", ".txt", ".tpl", ".j2", ".tmpl")


def _looks_like_kubeconfig(file: RepoFile) -> bool:
    return (
        (file.name.startswith("kubeconfig") and not file.name.endswith(_CODE_SUFFIXES))
        or file.name.endswith(".kubeconfig")
        or file.rel.endswith(".kube/config")
    )


@dataclass
class Repo:
    """The files to check, plus every path Git would commit (for existence checks)."""

    root: Path
    files: tuple[RepoFile, ...]
    committed: frozenset[str]
    is_git: bool
    by_rel: dict[str, RepoFile] = field(init=False)
    _directories: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.by_rel = {f.rel: f for f in self.files}
        self._directories = frozenset(
            str(parent) for path in self.committed for parent in PurePosixPath(path).parents
        )

    def documents(self) -> Iterator[tuple[RepoFile, YamlDocument]]:
        """Every mapping document of every YAML file, in path order."""
        for file in self.files:
            parsed = file.yaml
            if parsed is None:
                continue
            for doc in parsed.documents:
                if isinstance(doc.data, dict):
                    yield file, doc

    def kustomizations(self) -> Iterator[tuple[RepoFile, YamlDocument]]:
        for file in self.files:
            if file.is_kustomization and file.yaml and file.yaml.documents:
                doc = file.yaml.documents[0]
                if isinstance(doc.data, dict):
                    yield file, doc

    @cached_property
    def _kustomize_namespaces(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for file, doc in self.kustomizations():
            namespace = doc.data.get("namespace")
            if isinstance(namespace, str) and namespace:
                found[file.parent] = namespace
        return found

    def namespace_of(self, file: RepoFile, doc: YamlDocument) -> str | None:
        """Effective namespace: the nearest enclosing kustomization's ``namespace:`` (kustomize
        overrides manifests with it), else ``metadata.namespace``, else None."""
        return self.effective_namespace(file, doc.data)

    def effective_namespace(self, file: RepoFile, manifest: dict[str, Any]) -> str | None:
        """:meth:`namespace_of` for a manifest given as a dict (e.g. read from a SOPS file)."""
        kustomized = self.kustomize_namespace(file)
        if kustomized is not None:
            return kustomized[1]
        metadata = manifest.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        return namespace if isinstance(namespace, str) and namespace else None

    def kustomize_namespace(self, file: RepoFile) -> tuple[str, str] | None:
        """(directory, namespace) of the nearest kustomization above ``file`` that sets ``namespace:``;
        None when the nearest kustomization above ``file`` does not include it (a test fixture in
        a subdirectory it does not list): its ``namespace:`` never touches that file."""
        owner = self.kustomize_owner(file.parent)
        if owner is not None and owner != file.parent and file.rel not in self.builds.inputs(owner):
            return None
        directory = file.parent
        while True:
            # an ancestor's ``namespace:`` moves only what its build includes: ``apps/kustomization.yaml``
            # (``namespace: virt``) listing ``./cdi/ks.yaml`` does not touch ``cdi/app/operator.yaml``,
            # which a Flux Kustomization builds on its own
            if directory in self._kustomize_namespaces and (
                    directory == owner or file.rel in self.builds.inputs(directory)):
                return directory, self._kustomize_namespaces[directory]
            if not directory:
                return self._overlay_namespace(file)
            directory = "" if "/" not in directory else directory.rsplit("/", 1)[0]

    def _overlay_namespace(self, file: RepoFile) -> tuple[str, str] | None:
        """(directory, namespace) when every kustomization elsewhere that builds ``file`` and sets
        ``namespace:`` sets the same one: a base without a namespace that an overlay
        (``apps/production/x``: ``namespace: utils``, ``resources: [../../base/x]``) moves."""
        found = {(directory, namespace) for directory, namespace in self._kustomize_namespaces.items()
                 if file.rel in self.builds.inputs(directory)}
        namespaces = {namespace for _directory, namespace in found}
        return min(found) if len(namespaces) == 1 else None

    @cached_property
    def builds(self) -> Builds:
        """What building each kustomize directory reads (:class:`sopskit.policy.fluxgraph.Builds`),
        memoised for the run."""
        from sopskit.policy.fluxgraph import Builds  # it reads this Repo: imported on first use

        return Builds(self)

    def nearest_kustomization(self, directory: str) -> str | None:
        """The kustomization file nearest at or above ``directory`` (its repository path)."""
        while True:
            for name in KUSTOMIZATION_NAMES:
                candidate = f"{directory}/{name}" if directory else name
                if self.exists(candidate):
                    return candidate
            if not directory:
                return None
            directory = "" if "/" not in directory else directory.rsplit("/", 1)[0]

    def kustomize_owner(self, directory: str) -> str | None:
        """The nearest directory at or above ``directory`` holding a kustomization file."""
        found = self.nearest_kustomization(directory)
        return None if found is None else found.rsplit("/", 1)[0] if "/" in found else ""

    def exists(self, rel: str) -> bool:
        """True if ``rel`` (a file or a directory) would be in a commit."""
        rel = rel.rstrip("/") or "."
        return rel in self.committed or rel in self._directories


def load_repo(root: Path, *, exclude: Sequence[str] = ()) -> Repo:
    """List the files under ``root`` that a commit would hold (:func:`sopskit.walk.list_repo`);
    ``exclude`` globs drop some from checking (they still count for existence, so excluding a
    file cannot fake a missing one)."""
    root = root.resolve()
    listing = list_repo(root)
    files = tuple(RepoFile(root, p) for p in listing.files if not matches_any(p, exclude))
    return Repo(root=root, files=files, committed=frozenset(listing.files), is_git=listing.in_git)


def is_kind(data: Any, kind: str, api_prefix: str | None = None) -> bool:
    """True if ``data`` is a manifest of ``kind`` (and API group prefix when given)."""
    if not isinstance(data, dict) or data.get("kind") != kind:
        return False
    api = data.get("apiVersion")
    return api_prefix is None or (isinstance(api, str) and api.startswith(api_prefix))


def name_of(data: dict[str, Any]) -> str:
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else "<unnamed>"
