"""``sopskit flux validate``: what Flux's kustomize-controller needs and never checks itself.

The checked root is taken as the root of the Flux source (GitRepository), so a Flux
``Kustomization``'s ``spec.path`` is resolved against it. What a Kustomization builds is followed
the way kustomize does: a directory with a kustomization file contributes what that file
references (recursively through directory resources); a directory without one contributes every
file below it (Flux generates a kustomization for it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from sopskit.format.keytypes import flux_reads, flux_secret_names
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.fluxgraph import (
    FluxGraph,
    FluxKustomization,
    child,
    commented_out,
    graph_of,
    is_archived,
    is_example,
    parked_by_comment,
    source_path,
)
from sopskit.policy.kustomize import Reference
from sopskit.policy.repo import KUSTOMIZATION_NAMES, RepoFile, is_kind, name_of
from sopskit.policy.results import Violation

_PARKED_SUFFIXES = (".disabled", ".bak", ".old", ".orig", ".backup", ".example", ".sample", ".tmpl", ".template")
_PUBLIC_KEY_NAME = re.compile(r"(?i)pub(?:lic)?(?:key)?\b|\.pub$|recipients?")


def _note_skipped(ctx: CheckContext, check_id: str) -> None:
    for k, reason in graph_of(ctx).skipped():
        ctx.note(check_id, f"not checked: {k.label} ({k.file.rel}): {reason}")


def _encrypted_inputs(ctx: CheckContext, kustomization: FluxKustomization) -> list[str]:
    """SOPS files the build reads (its path and its ``spec.components``); those a
    ``.sourceignore`` keeps out of the artifact never reach the controller (a key kept for a
    bootstrap script beside the manifests)."""
    graph = graph_of(ctx)
    config_map_data = _config_map_data(ctx)
    return sorted(
        rel
        for rel in graph.flux_inputs(kustomization)
        if (f := ctx.repo.by_rel.get(rel)) is not None and f.is_encrypted
        and not graph.source_ignored(rel, kustomization) and rel not in config_map_data
    )


def _config_map_data(ctx: CheckContext) -> frozenset[str]:
    """Files that builds read only as ``configMapGenerator`` inputs. kustomize-controller decrypts
    Secret manifests and ``secretGenerator`` sources, never a ConfigMap's (fluxcd
    kustomize-controller internal/decryptor/decryptor.go walks ``kus.SecretGenerator`` only), so
    a SOPS file there reaches the cluster encrypted whatever ``spec.decryption`` says: it is data
    an in-cluster consumer decrypts itself, not a file Flux needs a key for."""
    cached = ctx.shared.get("flux_config_map_data")
    if isinstance(cached, frozenset):
        return cached
    fields: dict[str, set[str]] = {}
    for _file, ref in graph_of(ctx).builds.all_references:
        fields.setdefault(ref.target, set()).add(ref.field)
    found = frozenset(target for target, used in fields.items() if used == {"configMapGenerator"})
    ctx.shared["flux_config_map_data"] = found
    return found


def _decryption(ctx: CheckContext, *, want: str) -> Iterator[Violation]:
    graph = graph_of(ctx)
    check_id = FLUX_DECRYPTION_PROVIDER.id if want == "provider" else FLUX_DECRYPTION_SECRETREF.id
    ctx.count(check_id, 0)
    _note_skipped(ctx, check_id)
    for kustomization in graph.checked():
        if not ctx.repo.exists(kustomization.path or "."):
            continue
        encrypted = _encrypted_inputs(ctx, kustomization)
        if not encrypted:
            continue
        ctx.count(check_id)
        if "decryption" not in kustomization.spec:
            if graph.inherits_decryption(kustomization):
                ctx.note(check_id, f"{kustomization.label}: decryption patched in by a parent Kustomization")
                continue
            if graph.global_decryption:
                ctx.note(check_id, f"{kustomization.label}: decryption from the controller's global flags")
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
        if want == "secretRef" and not (isinstance(ref, dict) and ref.get("name")) and graph.global_decryption:
            ctx.note(check_id, f"{kustomization.label}: no secretRef, the controller's global key decrypts")
            continue
        if want == "secretRef" and not (isinstance(ref, dict) and ref.get("name")) and all(
            _cloud_kms_file(ctx, rel) for rel in encrypted
        ):
            ctx.note(
                check_id,
                f"{kustomization.label}: no secretRef, its files are encrypted with a cloud KMS key that the "
                "controller's own identity (workload identity, IRSA) can use",
            )
            continue
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


_CLOUD_KMS_STORES = ("kms", "gcp_kms", "azure_kv")
#: dotenv (``sops_kms__list_0__map_arn=``) and INI (``[sops]`` ``kms__list_0__map_arn =``) metadata
_CLOUD_KMS_FLAT = re.compile(r"(?m)^\s*(?:sops_)?(?:kms|gcp_kms|azure_kv)__list_0__map_")


def _cloud_kms_file(ctx: CheckContext, rel: str) -> bool:
    """An encrypted file with an AWS KMS, GCP KMS or Azure Key Vault master key: Flux's
    kustomize-controller decrypts it with its own cloud identity, no ``secretRef`` needed
    (Flux docs, "Kustomization decryption": secretRef is optional for cloud KMS)."""
    file = ctx.repo.by_rel.get(rel)
    if file is None:
        return False
    parsed = file.yaml
    if parsed is not None:
        for doc in parsed.documents:
            metadata = doc.data.get("sops") if isinstance(doc.data, dict) else None
            if isinstance(metadata, dict) and any(metadata.get(store) for store in _CLOUD_KMS_STORES):
                return True
        return False
    text = file.text or ""
    if rel.endswith(".json"):
        try:
            metadata = json.loads(text).get("sops")
        except (ValueError, AttributeError):
            return False
        return isinstance(metadata, dict) and any(metadata.get(store) for store in _CLOUD_KMS_STORES)
    return bool(_CLOUD_KMS_FLAT.search(text))


def _missing_flux_paths(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(FLUX_PATH_MISSING.id, 0)
    _note_skipped(ctx, FLUX_PATH_MISSING.id)
    graph = graph_of(ctx)
    for kustomization in graph.checked():
        ctx.count(FLUX_PATH_MISSING.id)
        # a base's placeholder path that every overlay's kustomize patch replaces is never used
        patched = graph.patched_paths(kustomization)
        for path in dict.fromkeys(patched or [kustomization.path]):
            if ctx.repo.exists(path or "."):
                continue
            given = "is patched to" if patched else "has"
            yield Violation(
                FLUX_PATH_MISSING.id,
                kustomization.file.rel,
                kustomization.doc.line_of("spec", "path"),
                f"{kustomization.label} {given} spec.path {path!r}, which is not in the repository",
                "fix spec.path (relative to the GitRepository root, e.g. ./apps/prod) or commit the dir",
            )


#: suffixes of template sources that a tool renders into the file without the suffix
_TEMPLATE_SUFFIXES = (".tpl", ".j2", ".jinja", ".jinja2", ".tmpl", ".gotmpl", ".template")
_TEMPLATE_DIRS = ("templates", "template", "skeleton", "scaffold")


def _rendered(ctx: CheckContext, target: str) -> bool:
    """``target`` (a file, or a directory's kustomization file) is rendered from a template source
    committed next to it (``helmrelease.yaml.tpl``, ``kustomization.yaml.j2``)."""
    names = [target, *(child(target, name) for name in KUSTOMIZATION_NAMES)]
    return any(ctx.repo.exists(name + suffix) for name in names for suffix in _TEMPLATE_SUFFIXES)


def _template_tree(ctx: CheckContext, directory: str) -> bool:
    """A kustomization directory that a template tool renders or copies: it holds template
    sources, or it lies under a ``templates/`` directory that does. Its relative references
    point into the rendered layout, not into this tree."""
    sources = ctx.shared.get("template_sources")
    if not isinstance(sources, set):
        sources = ctx.shared["template_sources"] = {
            f.parent for f in ctx.repo.files if f.name.endswith(_TEMPLATE_SUFFIXES)
        }
    if directory in sources:
        return True
    parts = directory.split("/") if directory else []
    for index, part in enumerate(parts):
        if part.lower() in _TEMPLATE_DIRS:
            prefix = "/".join(parts[: index + 1])
            if any(d == prefix or d.startswith(prefix + "/") for d in sources):
                return True
    return False


def _missing_references(ctx: CheckContext) -> Iterator[Violation]:
    graph = graph_of(ctx)
    builds = graph.builds
    dead = _dead_kustomize_dirs(ctx, graph)
    ctx.count(KUSTOMIZE_MISSING_FILE.id, 0)
    for file, ref in builds.all_references:
        if file.parent in dead:
            continue
        ctx.count(KUSTOMIZE_MISSING_FILE.id)
        target_path = ctx.repo.root / ref.target
        if ref.target in ctx.repo.committed:
            continue
        unresolved = not ctx.repo.exists(ref.target) or (ref.may_be_dir and not builds.has_kustomization(ref.target))
        if unresolved and (_rendered(ctx, ref.target) or _template_tree(ctx, file.parent)):
            ctx.note(KUSTOMIZE_MISSING_FILE.id, f"not checked: {file.rel}: {ref.raw!r} is rendered from a template")
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


def _dead_kustomize_dirs(ctx: CheckContext, graph: FluxGraph) -> set[str]:
    """Directories of kustomizations that no checked Flux Kustomization builds: archived or
    example trees that nothing deploys. Only a repository without any Flux Kustomization (plain
    kustomize, Argo CD), or one whose Kustomizations' paths are filled in by a template (what is
    built is not known), has every kustomization checked; a Flux path that is missing builds
    nothing (``flux-path-missing`` reports it)."""
    checked = [k for k in graph.checked() if ctx.repo.exists(k.path or ".")]
    if not graph.kustomizations or (not checked and any(k.templated_path for k in graph.own)):
        examples = {
            file.parent for file, _doc in ctx.repo.kustomizations() if is_example(file.rel) or is_archived(file.rel)
        }
        for directory in sorted(examples):
            ctx.note(KUSTOMIZE_MISSING_FILE.id, f"not checked: {directory or '.'}: an example that nothing builds")
        return examples
    built = set().union(*(graph.flux_inputs(k) for k in checked),
                        *(graph.builds.inputs(path) for path in graph.possibly_built))
    dead = set()
    for file, _doc in ctx.repo.kustomizations():
        if file.rel not in built or is_archived(file.rel):
            dead.add(file.parent)
            ctx.note(KUSTOMIZE_MISSING_FILE.id, f"not checked: {file.rel}: no Flux Kustomization builds it")
    return dead


def _unreferenced_encrypted(ctx: CheckContext) -> Iterator[Violation]:
    graph = graph_of(ctx)
    builds = graph.builds
    if not graph.kustomizations:
        # Argo CD and plain kustomize repositories reach SOPS files through plugins (KSOPS
        # generators, helm-secrets, secret replacers) that name them in their own manifests
        ctx.mark_not_applicable(ENCRYPTED_FILE_UNREFERENCED.id, "the repository has no Flux Kustomization")
        return
    referenced = {ref.target for _, ref in builds.all_references}
    # what each Flux build reads, through the kustomization Flux generates where a path has
    # none: the YAML files below it, a subdirectory with its own kustomization file taken as one
    # resource (fluxcd/pkg kustomize/kustomize_generator.go, scanManifests), so a file beside that
    # file which it does not list is never applied. A Kustomization that nothing deploys (defined
    # in a file no live build lists) builds nothing either.
    built = set().union(*(
        graph.flux_inputs(k) for k in graph.kustomizations if ctx.repo.exists(k.path or ".") and graph.is_live(k)
    ))
    # everything below the path of a parked app's Kustomization, also a SOPS file its own
    # kustomization leaves out: the whole app is out of the cluster on purpose
    parked_paths = [k.path for k in graph.kustomizations
                    if k.path and ctx.repo.exists(k.path) and not graph.is_live(k) and parked_by_comment(ctx, k.file)]
    parked = set().union(*(
        graph.flux_inputs(k) for k in graph.kustomizations
        if ctx.repo.exists(k.path or ".") and not graph.is_live(k) and parked_by_comment(ctx, k.file)
    ), {f.rel for f in ctx.repo.files if any(f.rel.startswith(f"{path}/") for path in parked_paths)})
    dead = _dead_kustomize_dirs(ctx, graph)
    templated = [_templated_path_pattern(k.raw_path) for k in graph.kustomizations if k.templated_path]
    generator_style = _encrypted_generator_inputs(ctx, builds.all_references)
    ctx.count(ENCRYPTED_FILE_UNREFERENCED.id, 0)
    for file in ctx.repo.files:
        if not file.is_encrypted or file.rel in referenced or file.name == ".sops.yaml":
            continue
        if file.name.endswith(_PARKED_SUFFIXES):
            continue  # config.sops.yaml.disabled: taken out of the build on purpose
        if not _is_manifest(file) and not _stray_generator_input(ctx, file, generator_style):
            continue  # Talos secrets, a sourced env file, Terraform variables: not Flux's to apply
        ctx.count(ENCRYPTED_FILE_UNREFERENCED.id)
        if file.rel in built or any(pattern.match(file.rel) for pattern in templated):
            continue
        if file.rel in parked:
            ctx.note(ENCRYPTED_FILE_UNREFERENCED.id, f"not reported: {file.rel}: the Flux Kustomization that "
                     "builds it is commented out of its kustomization")
            continue
        owner = ctx.repo.nearest_kustomization(file.parent)
        if owner is None or (owner.rsplit("/", 1)[0] if "/" in owner else "") in dead:
            continue  # not part of a kustomize tree (e.g. Terraform secrets)
        if commented_out(ctx, owner, file.name):
            ctx.note(ENCRYPTED_FILE_UNREFERENCED.id, f"not reported: {file.rel}: {owner} comments its entry out")
            continue
        yield Violation(
            ENCRYPTED_FILE_UNREFERENCED.id,
            file.rel,
            None,
            f"SOPS-encrypted file is not referenced by {owner} (nor by any other kustomization), so Flux "
            "never applies it",
            f"add it to `resources:` (or a secretGenerator) in {owner}, or delete it if it is obsolete",
        )


def _encrypted_generator_inputs(ctx: CheckContext, refs: list[tuple[RepoFile, Reference]]) -> set[str]:
    """Suffixes (``.env.encrypted``, ``.json``...) of the SOPS files that this repository's
    secretGenerators read: Flux decrypts a generator's ``envs``/``files`` inputs, and a team that
    keeps secrets that way names them alike."""
    suffixes = set()
    for _, ref in refs:
        if ref.field != "secretGenerator":
            continue
        target = ctx.repo.by_rel.get(ref.target)
        if target is not None and target.is_encrypted and not _is_manifest(target):
            suffixes.add(_input_suffix(target.name))
    return suffixes


def _input_suffix(name: str) -> str:
    """``.env.secret.db.encrypted`` -> ``.encrypted``; ``creds.sops.json`` -> ``.sops.json``;
    a dotenv file ``.env`` or ``app.env`` -> ``.env``."""
    stem, dot, last = name.rpartition(".")
    if not dot:
        return name
    inner = stem.rpartition(".")[2] if "." in stem else ""
    return f".{inner}.{last}" if inner in ("sops", "enc", "secret") else f".{last}"


def _stray_generator_input(ctx: CheckContext, file: RepoFile, suffixes: set[str]) -> bool:
    """A non-manifest SOPS file (dotenv, JSON, binary) named like the files this repository's
    secretGenerators read, in a directory that has its own kustomization: a generator input that
    no generator reads any more (moved to the overlays, renamed), so Flux never applies it."""
    if not suffixes or _input_suffix(file.name) not in suffixes:
        return False
    owner = ctx.repo.nearest_kustomization(file.parent)
    return owner is not None and owner.rpartition("/")[0] == file.parent


def _is_manifest(file: RepoFile) -> bool:
    """A Kubernetes object (a document with ``apiVersion`` and ``kind``: sops never encrypts
    keys), which is what a Flux build applies."""
    parsed = file.yaml if file.rel.endswith((".yaml", ".yml", ".json")) else None
    return parsed is not None and any(
        isinstance(doc.data, dict) and "apiVersion" in doc.data and "kind" in doc.data for doc in parsed.documents
    )


def _templated_path_pattern(raw_path: str) -> re.Pattern[str]:
    """Files a Flux ``spec.path`` with ``${VAR}`` parts may build (``./clusters/${CLUSTER}``):
    each variable stands for one path segment, and everything below the path is taken."""
    parts = re.split(r"\$\{[^}]*\}", source_path(raw_path))
    body = "[^/]+".join(re.escape(part) for part in parts)
    return re.compile(rf"{body}(?:/|$)" if body not in ("", ".") else ".*")


def _decryption_key_names(ctx: CheckContext) -> Iterator[Violation]:
    refs = {
        (k.namespace, k.spec["decryption"]["secretRef"]["name"])
        for k in graph_of(ctx).kustomizations
        if isinstance(k.spec.get("decryption"), dict)
        and isinstance(k.spec["decryption"].get("secretRef"), dict)
        and isinstance(k.spec["decryption"]["secretRef"].get("name"), str)
    }
    ctx.count(FLUX_DECRYPTION_KEY_NAME.id, 0)
    for file, doc in ctx.repo.documents():
        if not is_kind(doc.data, "Secret"):
            continue
        namespace = ctx.repo.namespace_of(file, doc)
        name = name_of(doc.data)
        if not any(n == name and (namespace is None or namespace == ns) for ns, n in refs):
            continue
        ctx.count(FLUX_DECRYPTION_KEY_NAME.id)
        keys = [
            (section, str(key))
            for section in ("data", "stringData")
            if isinstance(doc.data.get(section), dict)
            for key in doc.data[section]
        ]
        readable = [key for _, key in keys if flux_reads(key)]
        for section, key in keys:
            if readable and _PUBLIC_KEY_NAME.search(key):
                continue  # age.pubkey kept beside age.agekey: harmless
            if not flux_reads(key):
                yield Violation(
                    FLUX_DECRYPTION_KEY_NAME.id,
                    file.rel,
                    doc.line_of(section, key),
                    f"decryption Secret {name!r} has key {key!r}, which Flux ignores"
                    + ("" if readable else "; Flux finds no decryption key in it at all"),
                    f"rename the key to end in .agekey (age) or .asc (PGP), e.g. {_suggest(key)!r}, or use "
                    f"one of {', '.join(flux_secret_names())}",
                )


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
