"""``sopskit flux validate``: what Flux's kustomize-controller needs and never checks itself.

The checked root is taken as the root of the Flux source (GitRepository), so a Flux
``Kustomization``'s ``spec.path`` is resolved against it. What a Kustomization builds is followed
the way kustomize does: a directory with a kustomization file contributes what that file
references (recursively through directory resources); a directory without one contributes every
file below it (Flux generates a kustomization for it).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.kustomize import Reference, references
from sopskit.policy.repo import KUSTOMIZATION_NAMES, Repo, RepoFile, is_kind, name_of
from sopskit.policy.results import Violation
from sopskit.policy.yamldocs import YamlDocument

_FLUX_API = "kustomize.toolkit.fluxcd.io/"
_FLUX_KEY_NAMES = ("sops.vault-token", "sops.aws-kms", "sops.azure-kv", "sops.gcp-kms")
_DEFAULT_FLUX_NAMESPACE = "flux-system"


@dataclass(frozen=True)
class FluxKustomization:
    file: RepoFile
    doc: YamlDocument
    name: str
    namespace: str
    path: str  # root-relative, "" for the root

    @property
    def label(self) -> str:
        return f"Kustomization {self.namespace}/{self.name}"

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.doc.data.get("spec")
        return spec if isinstance(spec, dict) else {}


class _Builds:
    """Kustomize reachability over the repo, memoised per run."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.kustomization_in: dict[str, tuple[RepoFile, YamlDocument]] = {
            file.parent: (file, doc) for file, doc in repo.kustomizations()
        }

    def has_kustomization(self, directory: str) -> bool:
        return any(self.repo.exists(_child(directory, n)) for n in KUSTOMIZATION_NAMES)

    def inputs(self, directory: str, seen: set[str] | None = None) -> set[str]:
        """Files that building ``directory`` reads."""
        seen = set() if seen is None else seen
        if directory in seen:
            return set()
        seen.add(directory)
        entry = self.kustomization_in.get(directory)
        if entry is None:
            if self.has_kustomization(directory):
                return set()  # excluded or unparsable: nothing we can follow
            prefix = f"{directory}/" if directory else ""
            return {f.rel for f in self.repo.files if f.rel.startswith(prefix)}
        found: set[str] = set()
        for ref in references(*entry):
            if ref.target in self.repo.by_rel or ref.target in self.repo.committed:
                found.add(ref.target)
            elif ref.may_be_dir and self.repo.exists(ref.target):
                found |= self.inputs(_normal_dir(ref.target), seen)
        return found

    @cached_property
    def all_references(self) -> list[tuple[RepoFile, Reference]]:
        return [(file, ref) for file, doc in self.repo.kustomizations() for ref in references(file, doc)]


def _child(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


def _normal_dir(path: str) -> str:
    return "" if path in (".", "") else path


def _flux_kustomizations(repo: Repo) -> Iterator[FluxKustomization]:
    for file, doc in repo.documents():
        data = doc.data
        if not is_kind(data, "Kustomization", _FLUX_API):
            continue
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        raw_path = spec.get("path") if isinstance(spec, dict) else None
        path = posixpath.normpath(str(raw_path).lstrip("/")) if raw_path else "."
        metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
        yield FluxKustomization(
            file,
            doc,
            name_of(data),
            namespace if isinstance(namespace, str) else _DEFAULT_FLUX_NAMESPACE,
            _normal_dir(path),
        )


def _encrypted_inputs(ctx: CheckContext, builds: _Builds, kustomization: FluxKustomization) -> list[str]:
    return sorted(
        rel
        for rel in builds.inputs(kustomization.path)
        if (f := ctx.repo.by_rel.get(rel)) is not None and f.is_encrypted
    )


def _decryption(ctx: CheckContext, *, want: str) -> Iterator[Violation]:
    builds = _Builds(ctx.repo)
    for kustomization in _flux_kustomizations(ctx.repo):
        if not ctx.repo.exists(kustomization.path or "."):
            continue
        encrypted = _encrypted_inputs(ctx, builds, kustomization)
        if not encrypted:
            continue
        decryption = kustomization.spec.get("decryption")
        decryption = decryption if isinstance(decryption, dict) else {}
        example = f"{encrypted[0]}" + (f" and {len(encrypted) - 1} more" if len(encrypted) > 1 else "")
        line = (
            kustomization.doc.line_of("spec", "decryption")
            if decryption
            else kustomization.doc.line_of("spec")
        )
        if want == "provider" and decryption.get("provider") != "sops":
            yield Violation(
                FLUX_DECRYPTION_PROVIDER.id,
                kustomization.file.rel,
                line,
                f"{kustomization.label} builds SOPS-encrypted files ({example}) but spec.decryption.provider "
                "is not sops, so Flux applies them still encrypted or fails",
                "add to its spec: `decryption: {provider: sops, secretRef: {name: sops-age}}`",
            )
        ref = decryption.get("secretRef")
        if want == "secretRef" and not (isinstance(ref, dict) and ref.get("name")):
            yield Violation(
                FLUX_DECRYPTION_SECRETREF.id,
                kustomization.file.rel,
                line,
                f"{kustomization.label} builds SOPS-encrypted files ({example}) but has no "
                "spec.decryption.secretRef, so the controller has no key to decrypt with",
                f"add `secretRef: {{name: sops-age}}` under spec.decryption and create that Secret in "
                f"{kustomization.namespace!r} with an `age.agekey` key "
                f"(`sopskit cluster init --namespace {kustomization.namespace}`)",
            )


def _missing_flux_paths(ctx: CheckContext) -> Iterator[Violation]:
    for kustomization in _flux_kustomizations(ctx.repo):
        if not ctx.repo.exists(kustomization.path or "."):
            yield Violation(
                FLUX_PATH_MISSING.id,
                kustomization.file.rel,
                kustomization.doc.line_of("spec", "path"),
                f"{kustomization.label} has spec.path {kustomization.path!r}, which is not in the repository",
                "fix spec.path (relative to the GitRepository root, e.g. ./apps/prod) or commit the dir",
            )


def _missing_references(ctx: CheckContext) -> Iterator[Violation]:
    builds = _Builds(ctx.repo)
    for file, ref in builds.all_references:
        target_path = ctx.repo.root / ref.target
        if ref.target in ctx.repo.committed:
            continue
        if ref.may_be_dir and ctx.repo.exists(ref.target):
            if not builds.has_kustomization(ref.target):
                yield Violation(
                    KUSTOMIZE_MISSING_FILE.id,
                    file.rel,
                    ref.line,
                    f"{ref.field} entry {ref.raw!r} is a directory without a kustomization.yaml",
                    f"add {ref.target}/kustomization.yaml listing its resources, or list the files directly",
                )
            continue
        if ref.target.startswith("../") and target_path.exists():
            continue  # outside the checked root: only the filesystem can tell
        ignored = target_path.exists()
        yield Violation(
            KUSTOMIZE_MISSING_FILE.id,
            file.rel,
            ref.line,
            f"{ref.field} entry {ref.raw!r} points to {ref.target}, which "
            + (
                "exists locally but is ignored by Git, so Flux never gets it" if ignored else "does not exist"
            ),
            "commit the file (check .gitignore)"
            if ignored
            else "fix the path (relative to the kustomization's directory) or remove the entry",
        )


def _unreferenced_encrypted(ctx: CheckContext) -> Iterator[Violation]:
    builds = _Builds(ctx.repo)
    referenced = {ref.target for _, ref in builds.all_references}
    generated_roots = [k.path for k in _flux_kustomizations(ctx.repo) if not builds.has_kustomization(k.path)]
    for file in ctx.repo.files:
        if not file.is_encrypted or file.rel in referenced or file.name == ".sops.yaml":
            continue
        if any(_is_under(file.rel, root) for root in generated_roots):
            continue
        owner = _nearest_kustomization(builds, file.parent)
        if owner is None:
            continue  # not part of a kustomize tree (e.g. Terraform secrets)
        yield Violation(
            ENCRYPTED_FILE_UNREFERENCED.id,
            file.rel,
            None,
            f"SOPS-encrypted file is not referenced by {owner} (nor by any other kustomization), so Flux "
            "never applies it",
            f"add it to `resources:` (or a secretGenerator) in {owner}, or delete it if it is obsolete",
        )


def _is_under(rel: str, root: str) -> bool:
    return not root or rel.startswith(f"{root}/")


def _nearest_kustomization(builds: _Builds, directory: str) -> str | None:
    while True:
        for name in KUSTOMIZATION_NAMES:
            candidate = _child(directory, name)
            if builds.repo.exists(candidate):
                return candidate
        if not directory:
            return None
        directory = directory.rsplit("/", 1)[0] if "/" in directory else ""


def _decryption_key_names(ctx: CheckContext) -> Iterator[Violation]:
    refs = {
        (k.namespace, k.spec["decryption"]["secretRef"]["name"])
        for k in _flux_kustomizations(ctx.repo)
        if isinstance(k.spec.get("decryption"), dict)
        and isinstance(k.spec["decryption"].get("secretRef"), dict)
        and isinstance(k.spec["decryption"]["secretRef"].get("name"), str)
    }
    for file, doc in ctx.repo.documents():
        if not is_kind(doc.data, "Secret"):
            continue
        namespace = ctx.repo.namespace_of(file, doc)
        name = name_of(doc.data)
        if not any(n == name and (namespace is None or namespace == ns) for ns, n in refs):
            continue
        keys = [
            (section, str(key))
            for section in ("data", "stringData")
            if isinstance(doc.data.get(section), dict)
            for key in doc.data[section]
        ]
        readable = [key for _, key in keys if _flux_reads(key)]
        for section, key in keys:
            if not _flux_reads(key):
                yield Violation(
                    FLUX_DECRYPTION_KEY_NAME.id,
                    file.rel,
                    doc.line_of(section, key),
                    f"decryption Secret {name!r} has key {key!r}, which Flux ignores"
                    + ("" if readable else "; Flux finds no decryption key in it at all"),
                    f"rename the key to end in .agekey (age) or .asc (PGP), e.g. {_suggest(key)!r}, or use "
                    f"one of {', '.join(_FLUX_KEY_NAMES)}",
                )


def _flux_reads(key: str) -> bool:
    return key.endswith((".agekey", ".asc")) or key in _FLUX_KEY_NAMES


def _suggest(key: str) -> str:
    stem = key.rsplit(".", 1)[0] if "." in key else key
    return f"{stem or 'age'}.agekey"


def _run_provider(ctx: CheckContext) -> Iterator[Violation]:
    return _decryption(ctx, want="provider")


def _run_secretref(ctx: CheckContext) -> Iterator[Violation]:
    return _decryption(ctx, want="secretRef")


FLUX_DECRYPTION_PROVIDER = Check(
    id="flux-decryption-provider",
    title="Flux Kustomization builds SOPS files without decryption.provider: sops",
    catches="A kustomize.toolkit.fluxcd.io Kustomization whose build includes SOPS-encrypted files and "
    "whose spec.decryption.provider is missing or not sops.",
    fix="Set spec.decryption.provider: sops (and a secretRef) on the Kustomization.",
    run=_run_provider,
)
FLUX_DECRYPTION_SECRETREF = Check(
    id="flux-decryption-secretref",
    title="Flux Kustomization builds SOPS files without decryption.secretRef",
    catches="A Flux Kustomization whose build includes SOPS-encrypted files but names no "
    "spec.decryption.secretRef, so the controller has no key.",
    fix="Add spec.decryption.secretRef.name (e.g. sops-age) and create that Secret in the "
    "Kustomization's namespace.",
    run=_run_secretref,
)
FLUX_PATH_MISSING = Check(
    id="flux-path-missing",
    title="Flux Kustomization spec.path does not exist",
    catches="A Flux Kustomization whose spec.path is not a directory in the repository.",
    fix="Fix spec.path (relative to the source root) or commit the directory.",
    run=_missing_flux_paths,
)
KUSTOMIZE_MISSING_FILE = Check(
    id="kustomize-missing-file",
    title="kustomization.yaml references a missing file",
    catches="A resources/components/patches/generator entry of a kustomization.yaml that does not exist "
    "in the repository (or is git-ignored), or a directory resource without a kustomization.yaml.",
    fix="Fix the path or commit the file.",
    run=_missing_references,
)
ENCRYPTED_FILE_UNREFERENCED = Check(
    id="encrypted-file-unreferenced",
    title="SOPS-encrypted file that no kustomization references",
    catches="A SOPS-encrypted file inside a kustomize tree that no kustomization.yaml lists (resources, "
    "patches, generators), so it is never applied.",
    fix="Reference it from the kustomization.yaml next to it, or delete it.",
    run=_unreferenced_encrypted,
)
FLUX_DECRYPTION_KEY_NAME = Check(
    id="flux-decryption-key-name",
    title="Decryption Secret key that Flux does not read",
    catches="A Secret in the repo named by a Kustomization's decryption.secretRef with a key that is not "
    "*.agekey, *.asc or sops.vault-token/aws-kms/azure-kv/gcp-kms (Flux silently ignores it).",
    fix="Rename the key, e.g. keys.txt -> age.agekey.",
    run=_decryption_key_names,
)
