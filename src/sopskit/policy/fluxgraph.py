"""The Flux objects of a repository and which of them this repository actually drives.

A Flux ``Kustomization`` builds ``spec.path`` *of its source*. Only when that source is this
repository can its path be resolved here; everything else is reported as "not checked":

* a ``GitRepository`` is this repository when its URL is one of this repository's URLs
  (``git remote`` URLs plus ``sopskit.repository_urls``, compared without scheme, user, ``.git``
  and case) and its ``ref.branch`` (if any) is the checked-out or default branch; when it is
  named ``flux-system`` (what ``flux bootstrap`` creates for the repository it bootstraps, in
  ``flux-system``); when ``sopskit.flux_sources`` lists it; or, when no URL can tell (no remote,
  or the URL differs only because the repository moved), when at least one Kustomization built
  from it has a non-root ``spec.path`` that exists here and none has one that does not;
* a Flux Operator ``FluxInstance``'s ``spec.sync`` defines a GitRepository too (judged by its URL
  like the others), and its sync Kustomization's ``spec.sync.path`` is deployed like a root;
* a Flux Operator ``ResourceSet``'s Kustomization templates count once per inline input
  (:mod:`sopskit.policy.resourceset`): ``path: ./apps/<< inputs.namespace >>`` builds each
  namespace's directory;
* ``OCIRepository``, ``Bucket``, ``ExternalArtifact``, ``HelmChart`` and other Git sources are
  other artifacts: never resolved here. A Kustomization without ``sourceRef`` (only valid as a
  kustomize patch fragment) is taken as this repository.

Only Kustomizations that this repository's build reaches are checked: when some Flux
Kustomization of this repository includes the file of another, the ones no build includes
(``.archive/``, examples) are "not reached". A repository where no Kustomization includes
another (a single root, tests) has every Kustomization live except those under an ``examples/``,
``samples/``, ``docs/`` or ``testdata/`` directory: examples written for the reader's repository,
whose paths are that repository's. A Kustomization whose ``spec.path`` is missing here but exists
below a directory above its file that is itself a repository root (its own ``.gitignore``,
``.sourceignore`` or ``.github``: a repository template) belongs to that repository.

A kustomize directory below one of this repository's Flux paths that no Flux build includes was
dropped from the tree Flux deploys (:func:`dropped_from_flux`; the RBAC audit checks skip it), and
so was a directory without a kustomization file below a Flux-built kustomization that does not
list it (a test fixture). A tree that Flux builds pick from by reaching into it (``../common/a``:
a library of components; a copied upstream tree under ``third_party/``) is deployed only where a
build reaches (:attr:`FluxGraph.library_roots`); a tree nothing reaches into may be applied by
other means and is judged. Kustomizations defined in a template directory (``template/``,
``*-template/``) are not checked: their paths hold a placeholder a script substitutes.
A Kustomization whose GitRepository cannot be told to be this repository (not defined here,
another branch) does not stop that judgement for the whole repository: its ``spec.path``, when it
exists here, and everything below it or reached by its kustomization file count as built.

An object that every build reaching it removes with a kustomize ``$patch: delete`` patch (an
upstream example Secret the repository's overlay deletes) is never deployed
(:func:`deleted_by_patch`; ``plaintext-secret`` and the RBAC audit checks skip it).

Decryption counts as wired for a Kustomization that sets ``spec.decryption``, or that a parent
Kustomization builds while patching ``spec.decryption`` into Kustomizations (``spec.patches``
targeting ``kind: Kustomization``), or that a ``kustomization.yaml`` lists among its resources
while patching ``spec.decryption`` into it (``patches`` / ``patchesStrategicMerge``, inline or
from a file, with ``target.name`` or the patch's own ``metadata.name`` matching: the
``flux bootstrap`` pattern for the ``flux-system`` Kustomization), or when the
kustomize-controller has global SOPS flags (``--sops-age-secret``, Flux 2.7+:
``sopskit.flux_global_decryption``, default ``auto``: on when a file of the repository sets the
flag).
"""

from __future__ import annotations

import posixpath
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import takewhile
from typing import Any

import yaml

from sopskit.detectors.paths import VENDORED_DIRS, is_vendored
from sopskit.detectors.values import is_templated
from sopskit.gitio import without_user_info
from sopskit.policy.context import CheckContext
from sopskit.policy.globs import IgnoreRule, go_git_ignored, ignore_rules
from sopskit.policy.kustomize import CLUSTER_SCOPED, Deletion, Reference, deletions, patch_bodies, references
from sopskit.policy.repo import KUSTOMIZATION_NAMES, Repo, RepoFile, is_kind, name_of
from sopskit.policy.resourceset import OPERATOR_API as _OPERATOR_API
from sopskit.policy.resourceset import resource_set_objects
from sopskit.policy.yamldocs import YamlDocument

FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"
_SOURCE_API = "source.toolkit.fluxcd.io/"
DEFAULT_FLUX_NAMESPACE = "flux-system"
_GLOBAL_FLAG = re.compile(r"--sops-age-secret\b")
#: a Flux post-build variable, ``${NAME}``, with or without a ``:=``/``:-`` default
_FLUX_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?[-=][^}]*)?\}")
_TEMPLATE_DIR = re.compile(r"(?i)^(?:[._]?templates?|.+-template)$")
#: What source-controller always leaves out of an artifact, and what it also leaves out when no
#: ``.sourceignore`` nor ``spec.ignore`` gives a pattern (fluxcd/pkg sourceignore/sourceignore.go:
#: ``ExcludeVCS``; ``ExcludeExt``, ``ExcludeCI``, ``ExcludeExtra``; artifact/storage/archive.go
#: ``SourceIgnoreFilter`` uses ``NewDefaultMatcher`` only when the pattern list is empty).
_FLUX_VCS_EXCLUDES = ignore_rules("\n".join([".git/", ".gitignore", ".gitmodules", ".gitattributes"]))
_FLUX_DEFAULT_EXCLUDES = ignore_rules("\n".join([
    "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
    ".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml", "cloudbuild.yaml",
    "codeship-services.yml", "codeship-steps.yml",
    "**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml",
]))


#: one object of the repository: (file, index of its YAML document)
ObjectKey = tuple[str, int]
#: kustomization fields whose entries are emitted as objects of the build
_EMITTING = ("resources", "bases", "components", "crds")


@dataclass(frozen=True)
class FluxKustomization:
    file: RepoFile
    doc: YamlDocument
    name: str
    namespace: str
    path: str  # root-relative, "" for the root
    raw_path: str

    @property
    def label(self) -> str:
        return f"Kustomization {self.namespace}/{self.name}"

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.data.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def source_ref(self) -> tuple[str, str, str] | None:
        """``(kind, namespace, name)`` of ``spec.sourceRef``; None when it has none."""
        ref = self.spec.get("sourceRef")
        if not isinstance(ref, dict):
            return None
        namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else self.namespace
        return str(ref.get("kind", "GitRepository")), str(namespace), str(ref.get("name", ""))

    @property
    def templated_path(self) -> bool:
        return is_templated(self.raw_path)

    @property
    def component_dirs(self) -> list[str]:
        """Root-relative directories of ``spec.components`` (Flux 2.1+): kustomize components
        added to the build of ``spec.path``, written relative to it."""
        components = self.spec.get("components")
        return [
            normal_dir(posixpath.normpath(posixpath.join(self.path, component)))
            for component in (components if isinstance(components, list) else [])
            if isinstance(component, str) and component.strip() and not is_templated(component)
        ]

    @property
    def in_template_dir(self) -> bool:
        """Defined in a template directory (``template/``, ``templates/``, ``_template/``,
        ``.template/``, ``cluster-template/``): a script copies the directory and substitutes a
        literal placeholder (``./clusters/cluster-name``) in its paths."""
        return any(_TEMPLATE_DIR.match(part) for part in self.file.rel.split("/")[:-1])


def child(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def normal_dir(path: str) -> str:
    return "" if path in (".", "") else path


def source_path(raw: object) -> str:
    """A Flux ``spec.path`` inside its source's artifact, as kustomize-controller resolves it:
    ``securejoin.SecureJoin(tmpDir, spec.path)`` (kustomization_controller.go) clamps ``..`` at
    the root, so ``../components/issuers`` builds ``components/issuers``. ``.`` is the root."""
    return posixpath.normpath("/" + str(raw)).lstrip("/") or "." if raw else "."


class Builds:
    """Kustomize reachability over the repo, memoised per run."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.kustomization_in: dict[str, tuple[RepoFile, YamlDocument]] = {
            file.parent: (file, doc) for file, doc in repo.kustomizations()
        }
        self._inputs: dict[str, frozenset[str]] = {}
        self._objects: dict[str, tuple[frozenset[ObjectKey], dict[ObjectKey, tuple[str | None, ...]]]] = {}
        self._file_object_cache: dict[str, dict[ObjectKey, tuple[str, str, str | None]]] = {}

    def has_kustomization(self, directory: str) -> bool:
        return any(self.repo.exists(child(directory, n)) for n in KUSTOMIZATION_NAMES)

    def inputs(self, directory: str) -> frozenset[str]:
        """Files that building ``directory`` reads."""
        if directory not in self._inputs:
            self._inputs[directory] = frozenset(self._collect(directory, set(), with_patches=True))
        return self._inputs[directory]

    def resources(self, directory: str) -> set[str]:
        """Files that building ``directory`` emits as resources (patch files excluded)."""
        return self._collect(directory, set(), with_patches=False)

    def _collect(self, directory: str, seen: set[str], *, with_patches: bool) -> set[str]:
        if directory in seen:
            return set()
        seen.add(directory)
        entry = self.kustomization_in.get(directory)
        if entry is None:
            if self.has_kustomization(directory):
                return set()  # excluded or unparsable: nothing we can follow
            return self._generated(directory, seen, with_patches=with_patches)
        found: set[str] = {entry[0].rel}
        for ref in references(*entry):
            if not with_patches and ref.is_patch:
                continue
            if ref.target in self.repo.by_rel or ref.target in self.repo.committed:
                found.add(ref.target)
            elif ref.may_be_dir and self.repo.exists(ref.target):
                found |= self._collect(normal_dir(ref.target), seen, with_patches=with_patches)
        return found

    def _generated(self, directory: str, seen: set[str], *, with_patches: bool) -> set[str]:
        """What Flux's generated kustomization of ``directory`` holds (:meth:`_generated_parts`)."""
        found, nested = self._generated_parts(directory)
        for sub in nested:
            found |= self._collect(sub, seen, with_patches=with_patches)
        return found

    def _generated_parts(self, directory: str) -> tuple[set[str], list[str]]:
        """(files, kustomize directories) of Flux's generated kustomization of ``directory``
        (fluxcd/pkg kustomize/kustomize_generator.go, scanManifests): the ``.yaml``/``.yml`` files
        below it, except that a subdirectory with its own kustomization file is taken as one
        resource, built by that file, and not walked further."""
        prefix = f"{directory}/" if directory else ""
        found: set[str] = set()
        nested: set[str] = set()
        for f in self.repo.files:
            if not f.rel.startswith(prefix):
                continue
            parts = f.rel[len(prefix):].split("/")[:-1]
            owner = next(
                (d for d in ("/".join([directory, *parts[: i + 1]]).lstrip("/") for i in range(len(parts)))
                 if self.has_kustomization(d)),
                None,
            )
            if owner is None:
                if f.rel.endswith((".yaml", ".yml")):
                    found.add(f.rel)
            else:
                nested.add(owner)
        return found, sorted(nested)

    def objects(self, directory: str) -> tuple[frozenset[ObjectKey], dict[ObjectKey, tuple[str | None, ...]]]:
        """(every object that building ``directory`` reads from its resources, the objects the
        build emits, each with the namespaces it has had on the way). A kustomization's
        ``$patch: delete`` patches take objects out (:func:`sopskit.policy.kustomize.deletions`)
        and its ``namespace:`` moves the others (kustomize keeps each previous namespace as an id
        a patch may match: NamespaceTransformer.go ``StorePreviousId``)."""
        if directory not in self._objects:
            self._objects[directory] = (frozenset(), {})  # a cycle adds nothing
            self._objects[directory] = self._build_objects(directory)
        return self._objects[directory]

    def _build_objects(self, directory: str) -> tuple[frozenset[ObjectKey], dict[ObjectKey, tuple[str | None, ...]]]:
        entry = self.kustomization_in.get(directory)
        deletes: list[Deletion] = []
        namespace: Any = None
        if entry is None:
            if self.has_kustomization(directory):
                return frozenset(), {}  # excluded or unparsable: nothing we can follow
            files, subdirs = self._generated_parts(directory)
        else:
            files, subdirs = set(), []
            for ref in references(*entry):
                if ref.field not in _EMITTING:
                    continue
                if ref.target in self.repo.by_rel:
                    files.add(ref.target)
                elif ref.may_be_dir and self.repo.exists(ref.target):
                    subdirs.append(normal_dir(ref.target))
            deletes = deletions(self.repo, *entry)
            namespace = entry[1].data.get("namespace")
        reached: set[ObjectKey] = set()
        emitted: dict[ObjectKey, tuple[str | None, ...]] = {}
        for rel in sorted(files):
            for key, (_kind, _name, ns) in self._file_objects(rel).items():
                reached.add(key)
                emitted[key] = (ns,)
        for sub in subdirs:
            sub_reached, sub_emitted = self.objects(sub)
            reached |= sub_reached
            emitted.update(sub_emitted)
        if deletes:
            emitted = {
                key: seen for key, seen in emitted.items()
                if not any(d.matches(*self._identity(key), seen) for d in deletes)
            }
        if isinstance(namespace, str) and namespace:
            emitted = {
                key: seen if self._identity(key)[0] in CLUSTER_SCOPED else (*seen, namespace)
                for key, seen in emitted.items()
            }
        return frozenset(reached), emitted

    def _file_objects(self, rel: str) -> dict[ObjectKey, tuple[str, str, str | None]]:
        """(file, document index) -> (kind, name, ``metadata.namespace``) of each object in ``rel``."""
        if rel in self._file_object_cache:
            return self._file_object_cache[rel]
        file = self.repo.by_rel.get(rel)
        parsed = file.yaml if file is not None and not file.is_kustomization else None
        found: dict[ObjectKey, tuple[str, str, str | None]] = {}
        self._file_object_cache[rel] = found
        for doc in parsed.documents if parsed is not None else ():
            if isinstance(doc.data, dict) and isinstance(doc.data.get("kind"), str):
                metadata = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
                namespace = (metadata or {}).get("namespace")
                found[(rel, doc.index)] = (
                    doc.data["kind"], name_of(doc.data), namespace if isinstance(namespace, str) else None
                )
        return found

    def _identity(self, key: ObjectKey) -> tuple[str, str]:
        kind, name, _namespace = self._file_objects(key[0])[key]
        return kind, name

    @cached_property
    def all_references(self) -> list[tuple[RepoFile, Reference]]:
        return [(file, ref) for file, doc in self.repo.kustomizations() for ref in references(file, doc)]


def flux_kustomizations(repo: Repo) -> Iterator[FluxKustomization]:
    """Every Flux Kustomization object in the repository (any source; see FluxGraph for which
    are ours), those a Flux Operator ``ResourceSet`` stamps out from its inputs included."""
    for file, doc in repo.documents():
        if is_kind(doc.data, "ResourceSet", _OPERATOR_API):
            for rendered in resource_set_objects(doc):
                if is_kind(rendered.data, "Kustomization", FLUX_KUSTOMIZE_API):
                    yield _flux_kustomization(file, rendered)
        elif is_kind(doc.data, "Kustomization", FLUX_KUSTOMIZE_API):
            yield _flux_kustomization(file, doc)


def _flux_kustomization(file: RepoFile, doc: YamlDocument) -> FluxKustomization:
    data = doc.data
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    raw_path = spec.get("path") if isinstance(spec, dict) else None
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return FluxKustomization(
        file,
        doc,
        name_of(data),
        namespace if isinstance(namespace, str) else DEFAULT_FLUX_NAMESPACE,
        normal_dir(source_path(raw_path)),
        str(raw_path or ""),
    )


def normalise_url(url: str) -> str:
    """``https://github.com/o/r.git``, ``ssh://git@github.com/o/r`` and ``git@github.com:o/r`` agree."""
    text = url.strip().lower()
    text = re.sub(r"^[a-z+]+://", "", text)
    text = re.sub(r"^[^@/]+@", "", text)
    text = text.replace(":", "/", 1) if re.match(r"^[^/]+:(?!\d+/)", text) else re.sub(r":\d+/", "/", text, count=1)
    return text.removesuffix("/").removesuffix(".git")


def _repository_name(url: str) -> str:
    """``home-ops`` for ``git@github.com:o/home-ops.git``: what a mirror on another host keeps."""
    return normalise_url(url).rsplit("/", 1)[-1]


def _repository_owner(url: str) -> str:
    """``github.com/o`` for ``git@github.com:o/home-ops.git``: the host and owner part."""
    return normalise_url(url).rsplit("/", 1)[0]


def _vendored_root(rel: str) -> str:
    """``third_party`` for ``third_party/kubeflow/x.yaml``: the path up to the first vendored
    directory (:data:`sopskit.detectors.paths.VENDORED_DIRS`)."""
    parts = rel.split("/")
    for index, part in enumerate(parts[:-1]):
        if part in VENDORED_DIRS:
            return "/".join(parts[: index + 1])
    return posixpath.dirname(rel)


def _git(repo: Repo, *args: str) -> str:
    if not repo.is_git:
        return ""
    try:
        out = subprocess.run(
            ["git", "-C", str(repo.root), *args], capture_output=True, check=False, timeout=30, text=True
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


@dataclass
class FluxGraph:
    """Flux Kustomizations and sources of one run, with the decisions above."""

    ctx: CheckContext

    @cached_property
    def builds(self) -> Builds:
        return self.ctx.repo.builds

    @cached_property
    def kustomizations(self) -> tuple[FluxKustomization, ...]:
        patch_files = {ref.target for _, ref in self.builds.all_references if ref.is_patch}
        return tuple(self._substituted(k) for k in flux_kustomizations(self.ctx.repo) if k.file.rel not in patch_files)

    @cached_property
    def _substitutions(self) -> dict[str, str]:
        """Post-build variables whose value the repository fixes: every ``postBuild.substitute``
        of a Flux Kustomization and every committed, unencrypted ConfigMap that a
        ``postBuild.substituteFrom`` names, where the variable has one value throughout (a
        single-cluster repository's ``CLUSTER: home``). A variable with two values (one per
        cluster) is left as a template."""
        values: dict[str, set[str]] = {}
        config_maps: set[str] = set()
        for k in flux_kustomizations(self.ctx.repo):
            post = k.spec.get("postBuild")
            if not isinstance(post, dict):
                continue
            substitute = post.get("substitute")
            for name, value in (substitute.items() if isinstance(substitute, dict) else ()):
                values.setdefault(str(name), set()).add(str(value))
            for ref in post.get("substituteFrom") or []:
                if isinstance(ref, dict) and ref.get("kind") == "ConfigMap" and isinstance(ref.get("name"), str):
                    config_maps.add(ref["name"])
        for file, doc in self.ctx.repo.documents():
            data = doc.data
            if file.is_encrypted or not is_kind(data, "ConfigMap") or name_of(data) not in config_maps:
                continue
            entries = data.get("data")
            for name, value in (entries.items() if isinstance(entries, dict) else ()):
                values.setdefault(str(name), set()).add(str(value))
        return {name: found.pop() for name, found in values.items()
                if len(found) == 1 and not is_templated(next(iter(found)))}

    def _substituted(self, k: FluxKustomization) -> FluxKustomization:
        """``k`` with the post-build variables of its ``spec.path`` filled in where the repository
        fixes their values (``./kubernetes/${CLUSTER}/apps`` in a one-cluster repository):
        kustomize-controller substitutes a Kustomization object's fields when the parent that
        applies it builds it."""
        if not k.templated_path or not self._substitutions:
            return k
        resolved = _FLUX_VARIABLE.sub(lambda m: self._substitutions.get(m.group(1), m.group(0)), k.raw_path)
        if is_templated(resolved):
            return k
        return replace(k, path=normal_dir(source_path(resolved)), raw_path=resolved)

    @cached_property
    def _git_source_definitions(self) -> dict[tuple[str, str], list[tuple[str, dict[str, Any]]]]:
        """(namespace, name) -> (file, spec) of every definition: a repository with one
        directory per cluster defines the same ``flux-system/home-kubernetes`` once per cluster,
        each with its own ``spec.ignore`` (``!/kubernetes/main``, ``!/kubernetes/storage``)."""
        found: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        for file, doc in self.ctx.repo.documents():
            if is_kind(doc.data, "GitRepository", _SOURCE_API):
                metadata = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
                namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
                spec = doc.data.get("spec")
                key = (str(namespace or DEFAULT_FLUX_NAMESPACE), name_of(doc.data))
                found.setdefault(key, []).append((file.rel, spec if isinstance(spec, dict) else {}))
            elif is_kind(doc.data, "FluxInstance", _OPERATOR_API):
                for key, source in _flux_instance_source(doc.data).items():
                    found.setdefault(key, []).append((file.rel, source))
        return found

    @cached_property
    def _git_sources(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(namespace, name) -> spec of the last definition read whose URL is literal (a
        ``tmpl/`` copy with ``url: ${BOOTSTRAP_GIT_REPOSITORY}`` does not hide the real one)."""
        return {key: next((spec for _file, spec in reversed(definitions) if not is_templated(str(spec.get("url", "")))),
                          definitions[-1][1])
                for key, definitions in self._git_source_definitions.items()}

    @cached_property
    def _own_urls(self) -> set[str]:
        urls = {normalise_url(u) for u in self.ctx.settings.repository_urls}
        for line in _git(self.ctx.repo, "remote", "-v").splitlines():
            parts = line.split()
            if len(parts) >= 2:
                urls.add(normalise_url(parts[1]))
        return urls

    @cached_property
    def _own_owners(self) -> set[str]:
        """``github.com/o`` for each URL this repository is known by."""
        return {_repository_owner(url) for url in self._own_urls}

    @cached_property
    def _own_names(self) -> set[str]:
        """The repository names (last URL segment) this repository is known by: a GitRepository
        URL with another name is another project, whatever paths the two share."""
        return {_repository_name(url) for url in self._own_urls}

    @cached_property
    def _branches(self) -> set[str]:
        names = {_git(self.ctx.repo, "symbolic-ref", "--short", "-q", "HEAD")}
        default = _git(self.ctx.repo, "symbolic-ref", "--short", "-q", "refs/remotes/origin/HEAD")
        names.add(default.split("/", 1)[1] if "/" in default else default)
        return {n for n in names if n}

    def _configured(self, namespace: str, name: str) -> bool:
        listed = self.ctx.settings.flux_sources
        return name in listed or f"{namespace}/{name}" in listed

    @cached_property
    def _source_verdicts(self) -> dict[tuple[str, str], str | None]:
        """(namespace, name) of each GitRepository used -> None (this repo) or why it is not."""
        verdicts: dict[tuple[str, str], str | None] = {}
        users: dict[tuple[str, str], list[FluxKustomization]] = {}
        for k in flux_kustomizations(self.ctx.repo):
            ref = k.source_ref
            if ref is not None and ref[0] == "GitRepository":
                users.setdefault((ref[1], ref[2]), []).append(k)
        for key, kustomizations in users.items():
            verdicts[key] = self._git_source_verdict(key, kustomizations)
        return verdicts

    def _git_source_verdict(self, key: tuple[str, str], users: list[FluxKustomization]) -> str | None:
        namespace, name = key
        if self._configured(namespace, name):
            return None
        spec = self._git_sources.get(key)
        if spec is None:
            if name == "flux-system":
                return None
            return f"GitRepository {namespace}/{name} is not defined in this repository"
        raw_url = spec.get("url")
        url = raw_url if isinstance(raw_url, str) else ""
        branch = self._other_branch(spec)
        other_branch = branch is not None
        if url and normalise_url(url) in self._own_urls:
            return f"GitRepository {namespace}/{name} follows branch {branch!r}" if other_branch else None
        if name == "flux-system" and namespace == DEFAULT_FLUX_NAMESPACE:
            return None
        if other_branch:
            shown = without_user_info(url) or "another repository"
            return f"GitRepository {namespace}/{name} follows branch {branch!r} of {shown}"
        paths = [k.path for k in users if k.path and not k.templated_path]
        if self._another_project(url, paths):
            return f"GitRepository {namespace}/{name} is another repository ({without_user_info(url)})"
        if any(self.ctx.repo.exists(p) for p in paths):
            return None  # a mirror or an internal URL of this repository, by the paths it builds
        return f"GitRepository {namespace}/{name} is another repository ({without_user_info(url) or 'no url'})"

    def _other_branch(self, spec: dict[str, Any]) -> str | None:
        """The ``ref.branch`` of a GitRepository spec when it is not the checked-out or default branch."""
        ref = spec.get("ref") if isinstance(spec.get("ref"), dict) else {}
        branch = ref.get("branch") if isinstance(ref, dict) else None
        if isinstance(branch, str) and self._branches and branch not in self._branches \
                and not is_templated(branch):
            return branch
        return None

    def _may_be_this_repository(self, k: FluxKustomization) -> bool:
        """Built from a GitRepository that is not judged this repository but may be: one not
        defined here (defined by hand or by a bootstrap outside the repository), or one with this
        repository's URL following another branch."""
        ref = k.source_ref
        if ref is None or ref[0] != "GitRepository" or self.source_problem(k) is None:
            return False
        spec = self._git_sources.get((ref[1], ref[2]))
        if spec is None:
            return True
        url = spec.get("url")
        return isinstance(url, str) and normalise_url(url) in self._own_urls and self._other_branch(spec) is not None

    def source_problem(self, k: FluxKustomization) -> str | None:
        """None when ``k`` builds this repository; otherwise why it is not checked."""
        ref = k.source_ref
        if ref is None:
            return None
        kind, namespace, name = ref
        if kind != "GitRepository":
            return f"its source is {kind} {namespace}/{name}, an artifact built elsewhere"
        return self._source_verdicts.get((namespace, name))

    def _another_project(self, url: str, paths: list[str]) -> bool:
        """The URL names another project (an operator's upstream manifests: its ./kubernetes is
        not ours). The same owner's URL under another name, building paths that all exist here,
        is this repository before a rename (GitHub redirects the old name)."""
        if not url or not self._own_names or _repository_name(url) in self._own_names:
            return False
        renamed = _repository_owner(url) in self._own_owners and bool(paths) and all(
            self.ctx.repo.exists(p) for p in paths)
        return not renamed

    def builds_another_tree(self, k: FluxKustomization) -> bool:
        """``k`` certainly builds another project's tree: a GitRepository whose URL names another
        repository (an operator's upstream CRDs with no ``spec.path``, which would otherwise read
        as this repository's root). An artifact (OCIRepository, Bucket) may be this repository
        pushed by CI, so it still counts as possibly reading these files."""
        ref = k.source_ref
        if ref is None or ref[0] != "GitRepository":
            return False
        spec = self._git_sources.get((ref[1], ref[2])) or {}
        raw_url = spec.get("url")
        url = raw_url if isinstance(raw_url, str) else ""
        paths = [k.path] if k.path and not k.templated_path else []
        return normalise_url(url) not in self._own_urls and not self._configured(ref[1], ref[2]) \
            and self._another_project(url, paths)

    @cached_property
    def own(self) -> tuple[FluxKustomization, ...]:
        """Kustomizations that build this repository (live or not)."""
        return tuple(k for k in self.kustomizations if self.source_problem(k) is None)

    @cached_property
    def _sourceignore(self) -> list[IgnoreRule]:
        """(base directory, pattern, negated, directory-only) of every ``.sourceignore`` file, in
        the order source-controller reads them (fluxcd/pkg sourceignore ``LoadIgnorePatterns``:
        a directory's file, then its subdirectories depth-first in name order), which matters
        because the last matching pattern wins."""
        found = sorted(
            (f for f in self.ctx.repo.files if f.name == ".sourceignore"),
            key=lambda f: tuple(f.parent.split("/")) if f.parent else (),
        )
        rules = []
        for f in found:
            rules.extend(ignore_rules(f.text or "", f.parent))
        return rules

    def source_ignored(self, rel: str, k: FluxKustomization | None = None) -> bool:
        """Whether source-controller keeps file ``rel`` out of the artifact it builds for ``k``'s
        source: the ``.sourceignore`` files, then the ``spec.ignore`` of ``k``'s GitRepository
        (appended after them, so it can bring back what they exclude), behind Flux's default
        exclusions, read with go-git's rules (:func:`sopskit.policy.globs.go_git_ignored`: each
        file's path on its own, so ``/*`` then ``!/kubernetes/main`` keeps ``kubernetes/main/``)."""
        patterns = self._sourceignore + self._spec_ignore(k)
        rules = _FLUX_VCS_EXCLUDES + (patterns or _FLUX_DEFAULT_EXCLUDES)
        return go_git_ignored(rules, rel)

    def _spec_ignore(self, k: FluxKustomization | None) -> list[IgnoreRule]:
        """The ``spec.ignore`` of ``k``'s GitRepository; of several definitions with its name (one
        per cluster directory), the one whose file shares the most leading directories with
        ``k``'s (its own cluster's)."""
        ref = k.source_ref if k is not None else None
        if k is None or ref is None or ref[0] != "GitRepository":
            return []
        definitions = self._git_source_definitions.get((ref[1], ref[2]), [])
        if not definitions:
            return []
        here = k.file.rel.split("/")[:-1]
        _rel, spec = max(
            reversed(definitions), key=lambda d: len(posixpath.commonprefix([d[0].split("/")[:-1], here]))
        )
        text = spec.get("ignore")
        return ignore_rules(text) if isinstance(text, str) else []

    @cached_property
    def _flux_roots(self) -> set[str]:
        """The non-root ``spec.path`` (existing here) of this repository's Kustomizations, and the
        sync paths of its FluxInstances."""
        roots = {k.path for k in self.own if k.path and self.ctx.repo.exists(k.path)}
        return roots | {p for p in self._instance_paths if p}

    @cached_property
    def library_roots(self) -> frozenset[str]:
        """Trees that Flux builds pick from by reaching into them: the parent directory of what a
        kustomization that a Flux build reads lists outside its own directory and outside every
        Flux path (``infra/prod`` lists ``../common/a``: ``infra/common`` is a library of
        components, and its ``b`` that no build lists is not deployed), when the listing
        kustomization lies outside that parent. In a vendored tree (``third_party/``,
        ``vendor/``: a copy of upstream manifests) the library is the whole vendored directory,
        also when a Flux path points into it. Nothing reaching into a tree (a Talos or Ansible
        bootstrap directory) leaves it out: it may be applied by other means."""
        built = self._own_built
        roots = self._flux_roots
        found = {_vendored_root(rel) for rel in built if is_vendored(rel)}
        for file, ref in self.builds.all_references:
            target = ref.target
            if file.rel not in built or target == ".." or target.startswith("../") or _is_below(target, file.parent):
                continue
            if any(_is_below(target, root) for root in roots):
                continue
            library = _vendored_root(target) if is_vendored(target) else posixpath.dirname(target)
            if library and not _is_below(file.parent, library):
                found.add(library)
        return frozenset(found)

    @cached_property
    def dropped_files(self) -> set[str]:
        """Files that no Flux build deploys although Flux deploys the tree around them (see
        :func:`dropped_from_flux`): kustomize directories below a Flux path that no Flux build
        includes, and files of a library (:attr:`library_roots`) that no build reaches. Empty when
        a Kustomization's path is a template: then what is built is not known. A Kustomization
        whose Git source is not this repository as far as can be told (a GitRepository not
        defined here, another branch) but whose ``spec.path`` exists here may build this very
        tree: everything below that path, and what its kustomization file reaches, counts as built
        (:meth:`possibly_built`); the other directories are still judged."""
        if any(k.templated_path for k in self.kustomizations):
            return set()
        roots = self._flux_roots
        libraries = self.library_roots
        if not roots and not libraries and not self._own_built:
            return set()
        unresolved = self.possibly_built
        built = set(self._own_built)
        for path in unresolved:
            built |= self.builds.inputs(path)

        def below_unresolved(directory: str) -> bool:
            return any(not path or directory == path or directory.startswith(f"{path}/") for path in unresolved)

        dropped_units = {
            file.parent for file, _doc in self.ctx.repo.kustomizations()
            if file.rel not in built and any(_is_below(file.parent, root) for root in roots)
            and not below_unresolved(file.parent)
        }
        return {
            f.rel for f in self.ctx.repo.files
            if f.rel not in built and not below_unresolved(f.parent) and (
                any(f.rel.startswith(f"{unit}/") for unit in dropped_units)
                or any(f.rel.startswith(f"{library}/") for library in libraries)
                or self._unlisted_below_built(f.rel, built)
            )
        }

    def _unlisted_below_built(self, rel: str, built: set[str]) -> bool:
        """``rel`` lies in a directory without a kustomization file, below a kustomize directory
        that a Flux build reads and whose kustomization does not list it (a Kyverno CLI test
        fixture in ``policy/tests/cli/case/``): kustomize applies a directory as what its
        kustomization lists, so Flux never applies the file. A Helm chart's files (a
        ``Chart.yaml`` on the way) are deployed by helm-controller, not by kustomize."""
        directory = posixpath.dirname(rel)
        owner = self.ctx.repo.kustomize_owner(directory)
        if owner is None or owner == directory:
            return False
        if not any(child(owner, name) in built for name in KUSTOMIZATION_NAMES):
            return False
        below = directory
        while below != owner:
            if self.ctx.repo.exists(child(below, "Chart.yaml")):
                return False
            below = posixpath.dirname(below)
        return True

    @cached_property
    def _reached(self) -> frozenset[str] | None:
        """Every file some build reads: a Flux build of any Kustomization whose path exists here
        (with its ``spec.components``, through a generated kustomization where the path has none)
        and every kustomization file's build; everything below a path whose source may be this
        repository. None when that cannot be told: a Kustomization's path is filled in by a
        template, or the repository has neither a Flux Kustomization nor a kustomization file
        (manifests applied by other means)."""
        kustomizations = list(self.ctx.repo.kustomizations())
        if any(k.templated_path for k in self.kustomizations) or not (kustomizations or self.kustomizations):
            return None
        reached = set(self.flux_built)
        for file, _doc in kustomizations:
            reached |= self.builds.inputs(file.parent)
        return frozenset(reached)

    @cached_property
    def flux_built(self) -> frozenset[str]:
        """Every file a Flux build reads (live or not; everything below a path whose source may be
        this repository): :attr:`_reached` without what a kustomization file that no Flux
        Kustomization builds would read."""
        built = set(self._own_built)
        for k in self.kustomizations:
            if self.ctx.repo.exists(k.path or ".") and not self.builds_another_tree(k):
                built |= self.flux_inputs(k)
        built |= {f.rel for f in self.ctx.repo.files if any(_is_below(f.parent, path) for path in self.possibly_built)}
        return frozenset(built)

    def may_build(self, rel: str) -> bool:
        """Whether a Flux build may read ``rel``: it is in :attr:`flux_built`, or the repository
        has no Flux Kustomization, or what its builds read cannot be told (:attr:`_reached`)."""
        return not self.kustomizations or self._reached is None or rel in self.flux_built

    def reaches(self, rel: str) -> bool:
        """Whether a build (Flux's, or a kustomization's) reads file ``rel``; True when what is
        built cannot be told (:attr:`_reached`)."""
        reached = self._reached
        return reached is None or rel in reached

    @cached_property
    def library_not_built(self) -> frozenset[str]:
        """Files of a library (:attr:`library_roots`: a tree Flux builds pick from, a copied
        upstream tree among them) that no build reaches: the other variants and examples."""
        return frozenset(
            rel for rel in self.dropped_files if any(rel.startswith(f"{library}/") for library in self.library_roots)
        )

    @cached_property
    def _own_built(self) -> frozenset[str]:
        """Every file a build of this repository's live Flux paths (and FluxInstance sync paths)
        reads. A Kustomization defined in a file that no live Kustomization builds (its entry
        commented out of the parent kustomization) deploys nothing (:meth:`is_live`)."""
        built: set[str] = set()
        for path in self._instance_paths:
            built |= self.builds.inputs(path)
        for k in self.own:
            if self.is_live(k):
                built |= self.flux_inputs(k)
        return frozenset(built)

    def flux_inputs(self, kustomization: FluxKustomization) -> frozenset[str]:
        """Every file Flux's build of ``kustomization`` reads: its ``spec.path`` (through the
        kustomization Flux generates where the path has none) and its ``spec.components``."""
        inputs = frozenset(self.builds.inputs(kustomization.path))
        for component in kustomization.component_dirs:
            inputs |= self.builds.inputs(component)
        return inputs

    @cached_property
    def own_builders(self) -> dict[str, list[FluxKustomization]]:
        """File -> the Kustomizations of this repository (:attr:`own`) whose build reads it."""
        builders: dict[str, list[FluxKustomization]] = {}
        for kustomization in self.own:
            for rel in self.flux_inputs(kustomization):
                builders.setdefault(rel, []).append(kustomization)
        return builders

    @cached_property
    def possible_builders(self) -> dict[str, list[FluxKustomization]]:
        """File -> the Kustomizations whose source may be this repository without being known to
        be (:meth:`_may_be_this_repository`: a GitRepository defined outside the repository; an
        OCIRepository, which CI may push this repository to) and whose build reads it."""
        builders: dict[str, list[FluxKustomization]] = {}
        for kustomization in self.kustomizations:
            ref = kustomization.source_ref
            pushed = ref is not None and ref[0] == "OCIRepository" and self.ctx.repo.exists(kustomization.path or ".")
            if (self._may_be_this_repository(kustomization) or pushed) \
                    and not parked_by_comment(self.ctx, kustomization.file):
                for rel in self.flux_inputs(kustomization):
                    builders.setdefault(rel, []).append(kustomization)
        return builders

    @cached_property
    def deleted_objects(self) -> frozenset[ObjectKey]:
        """Objects that every build reaching them removes with a ``$patch: delete`` patch
        (:meth:`Builds.objects`): an upstream example Secret or ClusterRole that the repository's
        own overlay deletes. The builds are this repository's Flux paths and every kustomize
        directory that no other kustomization includes and that is not dropped from Flux (it may
        be applied by other means). Nothing when a Kustomization's path is a template or its
        source may be this repository without being known to be: what is built is not known."""
        kustomizations = list(self.ctx.repo.kustomizations())
        if not any(deletions(self.ctx.repo, file, doc) for file, doc in kustomizations) or any(
            k.templated_path for k in self.kustomizations
        ) or self.possibly_built:
            return frozenset()
        included = {
            normal_dir(ref.target) for _file, ref in self.builds.all_references
            if ref.may_be_dir and ref.field in _EMITTING
        }
        roots = {k.path for k in self.own if self.ctx.repo.exists(k.path or ".")}
        roots |= set(self._instance_paths)
        roots |= {
            file.parent for file, _doc in kustomizations
            if file.parent not in included and file.rel not in self.dropped_files and not is_archived(file.rel)
        }
        reached: set[ObjectKey] = set()
        emitted: set[ObjectKey] = set()
        for root in sorted(roots):
            root_reached, root_emitted = self.builds.objects(root)
            reached |= root_reached
            emitted |= root_emitted.keys()
        return frozenset(reached - emitted)

    @cached_property
    def possibly_built(self) -> set[str]:
        """``spec.path`` (existing here) of each Kustomization built from a GitRepository that
        cannot be told to be this repository, or told to be another branch of it: what it builds
        is not known, so the directory, its kustomization chain and everything below it may be
        deployed (the conservative side: a wrong "dropped" would hide a true finding)."""
        paths: set[str] = set()
        for k in self.kustomizations:
            if self._may_be_this_repository(k) and not k.templated_path and self.ctx.repo.exists(k.path or ".") \
                    and not parked_by_comment(self.ctx, k.file):
                paths.add(k.path)
        return paths

    @cached_property
    def _instance_paths(self) -> list[str]:
        """``spec.sync.path`` of each FluxInstance that syncs this repository (existing here)."""
        paths = []
        for instance in self._instances():
            spec = instance.get("spec") if isinstance(instance.get("spec"), dict) else {}
            sync = spec.get("sync") if isinstance(spec, dict) else None
            for key in _flux_instance_source(instance):
                if self._configured(*key) or self._git_source_verdict(key, []) is None:
                    path = normal_dir(source_path(sync.get("path") if isinstance(sync, dict) else None))
                    if self.ctx.repo.exists(path or "."):
                        paths.append(path)
        return paths

    def _instances(self) -> Iterator[dict[str, Any]]:
        """Every FluxInstance: committed ones, and those the ``flux-instance`` Helm chart renders
        from ``instance.sync`` in a HelmRelease's ``spec.values`` or in a values file (a plain
        YAML document with a top-level ``instance:``, fed through ``valuesFrom``), in the
        release's namespace (``flux-system`` for a values file)."""
        for file, doc in self.ctx.repo.documents():
            data = doc.data
            if is_kind(data, "FluxInstance", _OPERATOR_API):
                yield data
                continue
            values: Any = data
            namespace = DEFAULT_FLUX_NAMESPACE
            if is_kind(data, "HelmRelease"):
                spec = data.get("spec")
                values = spec.get("values") if isinstance(spec, dict) else None
                namespace = self.ctx.repo.namespace_of(file, doc) or DEFAULT_FLUX_NAMESPACE
            elif "apiVersion" in data or "kind" in data:
                continue
            instance = values.get("instance") if isinstance(values, dict) else None
            if isinstance(instance, dict) and isinstance(instance.get("sync"), dict):
                yield {"metadata": {"namespace": namespace}, "spec": {"sync": instance["sync"]}}

    @cached_property
    def _live_files(self) -> set[str] | None:
        """Files whose Kustomizations are deployed: the roots (built by no other Kustomization,
        and building some: what bootstrap or a FluxInstance applies) and, transitively, every
        file a live Kustomization builds. None when no Kustomization builds another."""
        defined = {k.file.rel for k in self.own}
        builders = [k for k in self.own if not k.templated_path and not k.in_template_dir
                    and self.ctx.repo.exists(k.path or ".")]
        includes = {id(k): self.builds.resources(k.path) & defined for k in builders}
        by_others: set[str] = set()
        for k in builders:
            by_others |= includes[id(k)] - {k.file.rel}
        if not by_others:
            return None
        # the roots: built by no other Kustomization, or the one ``flux bootstrap`` applies itself
        # (``flux-system/flux-system`` in gotk-sync.yaml), which may also be built by a second
        # Kustomization of the same directory (two Kustomizations building each other)
        live = {k.file.rel for k in builders if includes[id(k)] - {k.file.rel}
                and (k.file.rel not in by_others or (k.namespace, k.name) == ("flux-system", "flux-system"))}
        # reached by a Kustomization of another identity (a copy of the same namespace, name and
        # path building its twin proves nothing), or by a FluxInstance's sync
        identities: dict[str, set[tuple[str, str, str | None]]] = {}
        for o in self.own:
            identities.setdefault(o.file.rel, set()).add((o.namespace, o.name, o.path))
        reached = {rel for k in builders for rel in includes[id(k)] - {k.file.rel}
                   if (k.namespace, k.name, k.path) not in identities.get(rel, set())}
        for path in self._instance_paths:  # what a FluxInstance's own sync Kustomization builds
            reached |= self.builds.resources(path) & defined
            live |= self.builds.resources(path) & defined
        live -= self._stale_copies(live - reached, reached)
        changed = True
        while changed:
            changed = False
            for k in builders:
                if k.file.rel in live and not includes[id(k)] <= live:
                    live |= includes[id(k)]
                    changed = True
        return live

    def _stale_copies(self, roots: set[str], reached: set[str]) -> set[str]:
        """Root candidates that copy a Kustomization some build reaches: the same namespace, name
        and ``spec.path`` (a backup tree ``kubernetes.orig/``, a holding folder). The cluster holds
        one object of that name, the one the live tree applies; the copy is applied by nothing."""
        built = {(k.namespace, k.name, k.path) for k in self.own if k.file.rel in reached}
        return {k.file.rel for k in self.own if k.file.rel in roots and (k.namespace, k.name, k.path) in built}

    @cached_property
    def stale_copy_roots(self) -> tuple[str, ...]:
        """Root directories of stale copies of the repository's Flux tree: a ``flux-system``
        Kustomization kept at ``backup/base/flux-system/`` whose sync path is ``./cluster/base``,
        an existing directory that is not its own, so ``backup/`` mirrors ``cluster/`` (a tree
        moved aside with its bootstrap files). Flux syncs the path named, never the copy."""
        roots: set[str] = set()
        for k in self.kustomizations:
            if k.name != "flux-system" or k.namespace != "flux-system" or k.file.name != "gotk-sync.yaml":
                continue
            home = posixpath.dirname(k.file.parent)  # backup/base (the directory above flux-system/)
            synced = k.path.strip("/")
            if not home or synced == home or not synced or not self.ctx.repo.exists(synced):
                continue
            home_parts = home.split("/")
            # the path segments both end with (``base``): what is left of home is the copy's root
            common = sum(1 for _ in takewhile(lambda pair: pair[0] == pair[1],
                                              zip(reversed(home_parts), reversed(synced.split("/")), strict=False)))
            copy_root = "/".join(home_parts[: len(home_parts) - common])
            if common and copy_root and not f"{synced}/".startswith(f"{copy_root}/"):
                roots.add(copy_root)
        return tuple(sorted(roots))

    def in_stale_copy(self, rel: str) -> bool:
        """A file below a stale copy of the Flux tree (:attr:`stale_copy_roots`) that no live
        build of this repository reads."""
        return any(rel.startswith(f"{root}/") for root in self.stale_copy_roots) and rel not in self.flux_built

    def is_live(self, k: FluxKustomization) -> bool:
        """Deployed: reached from a root Kustomization (or no Kustomization builds another), and
        not in an example tree that no live Kustomization builds, nor in a file that the
        kustomization beside it does not list (``flux-system/kustomization.yaml`` listing the
        gotk files and some Kustomizations but not a leftover one)."""
        if k.file.rel in left_out_of_kustomization(self.ctx):
            return False
        live = self._live_files
        if live is None:
            return not is_example(k.file.rel)
        return k.file.rel in live

    def skipped(self) -> Iterator[tuple[FluxKustomization, str]]:
        """Every Kustomization not checked, with the reason (for --verbose)."""
        for k in self.kustomizations:
            problem = self.source_problem(k)
            if problem is not None:
                yield k, problem
            elif k.templated_path:
                yield k, f"spec.path {k.raw_path!r} is filled in by a template"
            elif k.in_template_dir:
                yield k, f"defined in a template directory: spec.path {k.raw_path!r} is filled in when it is copied"
            elif (root := self.nested_root(k)) is not None:
                yield k, f"spec.path {k.raw_path!r} is relative to {root}/, a repository kept inside this one"
            elif not self.is_live(k):
                yield k, (
                    "an example (under an examples/ or docs/ directory)"
                    if is_example(k.file.rel) and self._live_files is None
                    else "no Flux Kustomization of this repository builds the file that defines it"
                )

    def checked(self) -> Iterator[FluxKustomization]:
        for k in self.own:
            if not k.templated_path and not k.in_template_dir and self.is_live(k) and self.nested_root(k) is None:
                yield k

    def nested_root(self, k: FluxKustomization) -> str | None:
        """The directory, above the file defining ``k``, that is the root of a repository kept
        inside this one (a repository template, a vendored repository: it has its own
        ``.gitignore``/``.sourceignore``/``.github``), when ``spec.path`` resolves against it and not
        against this root. Flux builds that repository, not this one."""
        if not k.path or self.ctx.repo.exists(k.path):
            return None
        parts = k.file.parent.split("/") if k.file.parent else []
        for depth in range(len(parts), 0, -1):
            directory = "/".join(parts[:depth])
            if any(self.ctx.repo.exists(f"{directory}/{marker}") for marker in _NESTED_ROOT_MARKERS) and \
                    self.ctx.repo.exists(f"{directory}/{k.path}"):
                return directory
        return None

    @cached_property
    def global_decryption(self) -> bool:
        setting = self.ctx.settings.flux_global_decryption
        if setting != "auto":
            return setting == "true"
        return any(
            f.text is not None and f.is_yaml and _GLOBAL_FLAG.search(f.text) for f in self.ctx.repo.files
        )

    @cached_property
    def _inherited(self) -> list[tuple[frozenset[str], str | None, PatchTarget]]:
        """(files, name pattern or None, patch target) of Kustomizations into which something
        patches ``spec.decryption``: a parent Flux Kustomization, or a kustomization.yaml."""
        found: list[tuple[frozenset[str], str | None, PatchTarget]] = []
        for parent in self.own:
            if self.ctx.repo.exists(parent.path or "."):
                for target in _decryption_patch_targets(parent.spec.get("patches")):
                    found.append((frozenset(self.builds.resources(parent.path)), None, target))
        for file, doc in self.ctx.repo.kustomizations():
            for name, target in self._kustomize_decryption_patches(file, doc):
                found.append((frozenset(self.builds.resources(file.parent)), name, target))
        return found

    @cached_property
    def decryption_patched(self) -> bool:
        """Whether any Flux Kustomization (of any source) or kustomization file patches
        ``spec.decryption`` into Kustomizations (such a patch may name a ``secretRef``)."""
        return any(_patches_decryption(k.spec.get("patches")) for k in self.kustomizations) or any(
            True for file, doc in self.ctx.repo.kustomizations() for _ in self._kustomize_decryption_patches(file, doc)
        )

    def _kustomize_decryption_patches(self, file: RepoFile, doc: YamlDocument
                                      ) -> Iterator[tuple[str | None, PatchTarget]]:
        """(name pattern, target) of the Kustomizations a kustomization.yaml's patches give decryption."""
        for target, body in patch_bodies(self.ctx.repo, file, doc):
            if isinstance(target, dict) and target.get("kind") not in (None, "Kustomization"):
                continue
            name = _decryption_patch_name(body)
            if name is False or name is True:
                continue
            target_name = target.get("name") if isinstance(target, dict) else None
            yield (str(target_name) if isinstance(target_name, str) else name), PatchTarget.of(target)

    @cached_property
    def _path_patches(self) -> list[tuple[frozenset[str], str | None, str]]:
        """(files, name pattern or None, path) of every kustomize patch that sets ``spec.path``
        of Kustomizations: a shared base's ``path: must-be-patched`` that each cluster's overlay
        replaces, inline or from a file, strategic-merge or JSON 6902."""
        found: list[tuple[frozenset[str], str | None, str]] = []
        for file, doc in self.ctx.repo.kustomizations():
            for target, body in patch_bodies(self.ctx.repo, file, doc):
                if isinstance(target, dict) and target.get("kind") not in (None, "Kustomization"):
                    continue
                target_name = target.get("name") if isinstance(target, dict) else None
                for name, path in _spec_path_patches(body):
                    pattern = str(target_name) if isinstance(target_name, str) else name
                    found.append((frozenset(self.builds.resources(file.parent)), pattern, path))
        return found

    def patched_paths(self, k: FluxKustomization) -> list[str]:
        """Root-relative ``spec.path`` values that kustomize patches give ``k`` where it is built."""
        return [
            normal_dir(source_path(path))
            for files, pattern, path in self._path_patches
            if k.file.rel in files and (pattern is None or _name_matches(pattern, k.name))
        ]

    def inherits_decryption(self, k: FluxKustomization) -> bool:
        for files, pattern, target in self._inherited:
            if k.file.rel in files and (pattern is None or _name_matches(pattern, k.name)) and \
                    target.selects(k.doc.data.get("apiVersion"), lambda: self._labels(k)):
                return True
        return False

    def _labels(self, k: FluxKustomization) -> dict[str, str]:
        """``k``'s labels as built: its own ``metadata.labels`` and those a kustomization that
        builds its file adds (``commonLabels``, ``labels[].pairs``)."""
        metadata = k.doc.data.get("metadata")
        own = metadata.get("labels") if isinstance(metadata, dict) else None
        labels = {str(key): str(value) for key, value in own.items()} if isinstance(own, dict) else {}
        for directory, added in self._kustomize_labels:
            if k.file.rel in self.builds.inputs(directory):
                labels.update(added)
        return labels

    @cached_property
    def _kustomize_labels(self) -> list[tuple[str, dict[str, str]]]:
        """(directory, labels) of each kustomization that adds labels to what it builds."""
        found = []
        for file, doc in self.ctx.repo.kustomizations():
            mappings = [doc.data.get("commonLabels")]
            entries = doc.data.get("labels")
            mappings += [entry.get("pairs") for entry in entries if isinstance(entry, dict)] \
                if isinstance(entries, list) else []
            added = {str(key): str(value) for mapping in mappings if isinstance(mapping, dict)
                     for key, value in mapping.items()}
            if added:
                found.append((file.parent, added))
        return found


_NESTED_ROOT_MARKERS = (".gitignore", ".sourceignore", ".github", ".gitlab-ci.yml", ".git")
_EXAMPLE_DIRS = frozenset(("example", "examples", "sample", "samples", "docs", "doc", "testdata"))


_ARCHIVE_DIRS = frozenset((".archive", "archive", "archived", ".archived", "_archive"))


def graph_of(ctx: CheckContext) -> FluxGraph:
    """One graph per run, shared by every check that asks what Flux builds."""
    graph = ctx.shared.get("flux_graph")
    if not isinstance(graph, FluxGraph):
        graph = ctx.shared["flux_graph"] = FluxGraph(ctx)
    return graph


def parked_by_comment(ctx: CheckContext, file: RepoFile) -> bool:
    """The kustomization above ``file`` names it only in a comment (``#- ./thanos/ks.yaml``): an
    app taken out of the cluster on purpose, its files kept for later."""
    owner = ctx.repo.nearest_kustomization(file.parent)
    if owner is None:
        return False
    directory = owner.rsplit("/", 1)[0] if "/" in owner else ""
    return commented_out(ctx, owner, posixpath.relpath(file.rel, directory or "."))


def commented_out(ctx: CheckContext, owner: str, name: str) -> bool:
    """The kustomization names the file only in a comment (``#- ./secret.sops.yaml``,
    ``# - path: web-secrets.enc.yaml``): taken out of the build on purpose, not forgotten."""
    kustomization = ctx.repo.by_rel.get(owner)
    text = kustomization.text if kustomization is not None else None
    if not text:
        return False
    mention = re.compile(rf"(?m)^\s*#.*(?<![\w.-]){re.escape(name)}(?![\w.-])")
    return mention.search(text) is not None


#: kustomization fields that emit resources; a kustomization with none of them builds nothing
_PRODUCING_FIELDS = ("resources", "bases", "components", "configMapGenerator", "secretGenerator",
                     "helmCharts", "generators", "crds")


def left_out_of_kustomization(ctx: CheckContext) -> set[str]:
    """Manifests that the kustomization file next to them does not list, when its resources pick
    among its neighbours, or list only other directories (and it renders no ``helmCharts``):
    kustomize builds what is listed, so nothing deploys them (the variant an operator's install
    kit ships beside the one that is used, a ``secret-tmpl.yaml`` kept beside the encrypted
    ``secret.sops.yaml``, manifests beside a kustomization that lists one subdirectory, or beside
    one that lists nothing at all)."""
    cached = ctx.shared.get("left_out")
    if isinstance(cached, set):
        return cached
    listed: dict[str, set[str]] = {}
    for file, doc in ctx.repo.kustomizations():
        targets = {ref.target for ref in references(file, doc) if ref.field in ("resources", "bases")}
        prefix = f"{file.parent}/" if file.parent else ""
        # only a kustomization whose resources pick among the files beside it leaves the others
        # out (one that renders helmCharts may sit next to its committed output, used elsewhere)
        picks = any(t.startswith(prefix) and "/" not in t[len(prefix):] and t in ctx.repo.by_rel for t in targets)
        only_directories = bool(targets) and "helmCharts" not in doc.data and not any(
            t in ctx.repo.by_rel for t in targets)
        # one that produces nothing (a Flux Kustomization's ``spec:`` pasted into kustomization.yaml)
        builds_nothing = isinstance(doc.data, dict) and not any(doc.data.get(f) for f in _PRODUCING_FIELDS)
        if picks or only_directories or builds_nothing:
            listed[file.parent] = targets
    # a file another kustomization lists by name (``../headlamp/ks.yaml`` from the parent, beside
    # an app kustomization that lists the app's manifests) is built all the same
    named_elsewhere = {ref.target for file, doc in ctx.repo.kustomizations() for ref in references(file, doc)
                       if ref.field in ("resources", "bases", "components")}
    left_out = {
        f.rel
        for f in ctx.repo.files
        if f.parent in listed and not f.is_kustomization and f.is_yaml and f.rel not in listed[f.parent]
        and f.rel not in named_elsewhere
    }
    ctx.shared["left_out"] = left_out
    return left_out


def library_not_built(ctx: CheckContext, rel: str) -> bool:
    """Whether ``rel`` is a file of a library that Flux builds pick from but never reach (an
    unused component, an upstream variant in a copied tree; see :attr:`FluxGraph.library_roots`)."""
    return rel in graph_of(ctx).library_not_built


def beside_chart_templates(ctx: CheckContext, rel: str) -> bool:
    """Whether ``rel`` lies in a Helm chart directory (one with a ``Chart.yaml``) outside its
    ``templates/``, in a Flux repository where no Flux build reads it: Helm renders only
    ``templates/``, so a plain copy of the manifests kept beside them (with a kustomization
    nothing builds) is deployed by nothing. A chart whose templates read files
    (``.Files.Get``/``.Files.Glob``: a wrapper chart that renders the manifests beside them)
    deploys them, and is not one of these."""
    charts = ctx.shared.get("chart_dirs")
    if not isinstance(charts, frozenset):
        charts = ctx.shared["chart_dirs"] = frozenset(
            f.parent for f in ctx.repo.files if f.name == "Chart.yaml" and not _reads_files(ctx, f.parent))
    chart = next((d for d in charts if d and rel.startswith(f"{d}/")), None)
    if chart is None or rel.startswith(f"{chart}/templates/"):
        return False
    return not graph_of(ctx).may_build(rel)


def _reads_files(ctx: CheckContext, chart: str) -> bool:
    """Whether a template of the chart in ``chart`` renders files of the chart (``.Files``)."""
    prefix = f"{chart}/templates/" if chart else "templates/"
    return any(f.rel.startswith(prefix) and ".Files." in (f.text or "") for f in ctx.repo.files)


def reached_by_a_build(ctx: CheckContext, rel: str) -> bool:
    """Whether a Flux build or a kustomization reads ``rel`` (:meth:`FluxGraph.reaches`)."""
    return graph_of(ctx).reaches(rel)


def deleted_by_patch(ctx: CheckContext, rel: str, doc: YamlDocument) -> bool:
    """Whether the object of document ``doc`` in ``rel`` is removed by a kustomize
    ``$patch: delete`` in every build that reaches it (:meth:`FluxGraph.deleted_objects`)."""
    return (rel, doc.index) in graph_of(ctx).deleted_objects


def dropped_from_flux(ctx: CheckContext, rel: str) -> bool:
    """Whether ``rel`` lies in a kustomize directory (one with its own kustomization file) below
    the ``spec.path`` of one of this repository's Flux Kustomizations (not the repository root)
    that no Flux build includes: the tree around it is deployed by Flux, it was taken out (its
    parent's kustomization stopped listing it). Files outside every Flux path may be applied by
    other means (Talos, Ansible, ``kubectl apply``) and are never "dropped"."""
    graph = graph_of(ctx)
    return rel in graph.dropped_files


def _flux_instance_source(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """The GitRepository a Flux Operator ``FluxInstance`` creates from ``spec.sync`` (kind
    GitRepository, ``name`` defaulting to the instance's namespace, ``url``, ``ref`` as a Git
    reference such as ``refs/heads/main``), in the shape of a GitRepository ``spec``."""
    spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
    sync = spec.get("sync") if isinstance(spec, dict) else None
    if not isinstance(sync, dict) or sync.get("kind") != "GitRepository":
        return {}
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    namespace = str((metadata or {}).get("namespace") or DEFAULT_FLUX_NAMESPACE)
    ref = str(sync.get("ref") or "")
    source: dict[str, Any] = {"url": str(sync.get("url") or "")}
    if ref.startswith("refs/heads/"):
        source["ref"] = {"branch": ref[len("refs/heads/"):]}
    return {(namespace, str(sync.get("name") or namespace)): source}


def _is_below(rel: str, directory: str) -> bool:
    """``rel`` is ``directory`` or below it (``""`` is the root, above everything)."""
    return not directory or rel == directory or rel.startswith(f"{directory}/")


def is_archived(rel: str) -> bool:
    """A file in an archive tree (``.archive/``): kept for reference, deployed by nothing."""
    return any(part.lower() in _ARCHIVE_DIRS for part in rel.split("/")[:-1])


def is_example(rel: str) -> bool:
    """A file in an example or documentation tree: written for the reader's repository."""
    return any(part.lower() in _EXAMPLE_DIRS for part in rel.split("/")[:-1])


def _name_matches(pattern: str, name: str) -> bool:
    """kustomize target names are regular expressions (anchored); a plain name matches itself."""
    if pattern == name:
        return True
    try:
        return re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def patch_documents(body: str) -> list[Any]:
    """The documents of a patch text (strategic-merge mappings, JSON 6902 operation lists);
    none when it is not YAML."""
    try:
        return list(yaml.safe_load_all(body))
    except yaml.YAMLError:
        return []


def _decryption_patch_name(body: str) -> str | bool | None:
    """For a strategic-merge patch setting ``spec.decryption`` on a Kustomization: its
    ``metadata.name`` (None when it has none); False when the patch does not set decryption."""
    for data in patch_documents(body):
        if isinstance(data, list) and any(
            isinstance(op, dict) and str(op.get("path", "")).startswith("/spec/decryption") for op in data
        ):
            return None
        if not isinstance(data, dict) or data.get("kind") not in (None, "Kustomization"):
            continue
        spec = data.get("spec")
        decryption = spec.get("decryption") if isinstance(spec, dict) else None
        if isinstance(decryption, dict) and decryption.get("provider") == "sops":
            metadata = data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            return name if isinstance(name, str) else None
    return False


def _spec_path_patches(body: str) -> Iterator[tuple[str | None, str]]:
    """(``metadata.name`` or None, path) of each patch document in ``body`` that sets a
    Kustomization's ``spec.path``: a strategic merge (``spec: {path: ...}``) or a JSON 6902
    ``replace``/``add`` of ``/spec/path``."""
    for data in patch_documents(body):
        if isinstance(data, list):
            for op in data:
                if (isinstance(op, dict) and op.get("path") == "/spec/path" and op.get("op") in ("add", "replace")
                        and isinstance(op.get("value"), str)):
                    yield None, op["value"]
            continue
        if not isinstance(data, dict) or data.get("kind") not in (None, "Kustomization"):
            continue
        spec = data.get("spec")
        path = spec.get("path") if isinstance(spec, dict) else None
        if isinstance(path, str):
            metadata = data.get("metadata")
            name = metadata.get("name") if isinstance(metadata, dict) else None
            yield (name if isinstance(name, str) else None), path


def _patches_decryption(patches: Any) -> bool:
    return bool(_decryption_patch_targets(patches))


@dataclass(frozen=True)
class PatchTarget:
    """What a kustomize patch's ``target`` selects beyond kind and name: a label selector, and
    an API group and version, each matched exactly when given (kustomize's ``resid.Gvk.IsSelected``:
    a patch for ``version: v1beta2`` leaves ``kustomize.toolkit.fluxcd.io/v1`` objects alone)."""

    selector: str | None = None
    group: str | None = None
    version: str | None = None

    @classmethod
    def of(cls, target: Any) -> PatchTarget:
        if not isinstance(target, dict):
            return cls()
        fields = [target.get(key) for key in ("labelSelector", "group", "version")]
        selector, group, version = (f.strip() if isinstance(f, str) and f.strip() else None for f in fields)
        return cls(selector, group, version)

    def selects(self, api_version: Any, labels: Callable[[], dict[str, str]]) -> bool:
        """Whether an object of ``api_version`` whose labels ``labels()`` gives is selected
        (the labels are computed only when a selector asks)."""
        group, _, version = str(api_version or "").rpartition("/")
        if (self.group is not None and self.group != group) or (self.version is not None and self.version != version):
            return False
        return self.selector is None or selector_matches(self.selector, labels())


def _decryption_patch_targets(patches: Any) -> list[PatchTarget]:
    """The ``target`` of each patch in a Flux Kustomization's ``spec.patches`` that sets
    ``spec.decryption`` (no selector: every Kustomization it builds)."""
    if not isinstance(patches, list):
        return []
    found: list[PatchTarget] = []
    for patch in patches:
        if not isinstance(patch, dict):
            continue
        target = patch.get("target")
        kind = target.get("kind") if isinstance(target, dict) else None
        if kind not in (None, "Kustomization"):
            continue
        body = patch.get("patch")
        if not isinstance(body, str):
            continue
        for data in patch_documents(body):
            decrypts = False
            if isinstance(data, dict) and isinstance(data.get("spec"), dict):
                decryption = data["spec"].get("decryption")
                decrypts = isinstance(decryption, dict) and decryption.get("provider") == "sops"
            if isinstance(data, list) and any(
                isinstance(op, dict) and str(op.get("path", "")).startswith("/spec/decryption") for op in data
            ):
                decrypts = True
            if decrypts:
                found.append(PatchTarget.of(target))
                break
    return found


_SET_REQUIREMENT = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQUALITY_REQUIREMENT = re.compile(r"^\s*([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)\s*$")
_EXISTS_REQUIREMENT = re.compile(r"^\s*(!?)\s*([\w./-]+)\s*$")


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    """Whether Kubernetes label selector text (``a=b,c notin (true),!d``) matches ``labels``; a
    requirement this reader cannot parse (or a ``${VAR}``) counts as matching."""
    for requirement in re.split(r",(?![^()]*\))", selector):
        if not requirement.strip() or "$" in requirement:
            continue
        if (found := _SET_REQUIREMENT.match(requirement)) is not None:
            key, operator, values = found.groups()
            inside = labels.get(key) in {v.strip() for v in values.split(",")}
            if (operator == "in") != inside:
                return False
        elif (found := _EQUALITY_REQUIREMENT.match(requirement)) is not None:
            key, operator, value = found.groups()
            if (labels.get(key) == value) != (operator != "!="):
                return False
        elif (found := _EXISTS_REQUIREMENT.match(requirement)) is not None:
            negated, key = found.groups()
            if (key in labels) == bool(negated):
                return False
    return True
