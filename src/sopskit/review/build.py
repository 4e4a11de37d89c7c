"""``sopskit build``: what kustomize-controller would apply, decrypted in memory, redacted by default.

The steps follow the controller's ``build`` (fluxcd/kustomize-controller
``internal/controller/kustomization_controller.go``):

1. copy the repository to tmpfs (:mod:`~sopskit.review.workspace`);
2. when the Flux Kustomization sets ``targetNamespace``, write it as the build directory's
   kustomization ``namespace:``; with no kustomization file, generate one listing the
   directory's manifests, as the controller does;
3. decrypt generator inputs and patches (:mod:`~sopskit.review.sources`);
4. run the real kustomize (``kubectl kustomize``, else ``kustomize build``);
5. per resource: decrypt it when it carries ``sops`` metadata with a MAC (the MAC is verified,
   the controller skips that check), or decrypt SOPS-encrypted ``data`` entries of a Secret
   (a generator that read a still-encrypted file), unless annotated
   ``kustomize.toolkit.fluxcd.io/decrypt: disabled``; then ``postBuild`` substitution
   (:mod:`~sopskit.review.substitute`) with variables from ``substitute`` and from the
   repository's ConfigMaps and Secrets named in ``substituteFrom`` (the controller reads them
   from the cluster; a build from Git can only read Git).

:func:`redact` replaces Secret ``data``/``stringData`` values and any string holding a
decrypted value with ``REDACTED:<keyed fingerprint>``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sopskit.errors import IntegrityError, SopsError
from sopskit.format.tree import to_plain
from sopskit.keys.base import KeyContext
from sopskit.ops.decrypt import emit_plaintext, open_bytes
from sopskit.ops.sopsfile import parse_encrypted
from sopskit.policy.fluxgraph import normal_dir, source_path
from sopskit.policy.repo import load_repo
from sopskit.review.errors import BuildError
from sopskit.review.fingerprint import Fingerprinter
from sopskit.review.secretdata import desired_values, unwrap
from sopskit.review.secrets import SecretValues, open_collecting
from sopskit.review.sources import (
    KUSTOMIZATION_FILES,
    MARKERS,
    SourceDecryptor,
    format_for_key,
    is_remote_url,
    load_kustomization,
)
from sopskit.review.substitute import check_names, is_disabled, substitute_text
from sopskit.review.workspace import ram_copy
from sopskit.walk import walk_tree

DECRYPT_DISABLED_KEY = "kustomize.toolkit.fluxcd.io/decrypt"
KUSTOMIZE_TIMEOUT = 300


@dataclass
class BuildSpec:
    """What to build: a directory of the repository, plus what a Flux Kustomization adds."""

    root: Path
    path: str  # root-relative directory
    namespace: str | None = None  # the Flux Kustomization's namespace (substituteFrom lookups)
    #: what the Flux Kustomization writes into the build directory's kustomization (see _overlay)
    overlay: dict[str, Any] = field(default_factory=dict)
    post_build: dict[str, Any] | None = None
    decrypt: bool = True
    substitute_always: bool = False


@dataclass
class BuildResult:
    resources: list[dict[str, Any]] = field(repr=False)
    secrets: SecretValues = field(repr=False)
    decrypted_sources: list[str] = field(default_factory=list)


# -- which Flux Kustomization -------------------------------------------------------------------

def spec_for_kustomization(root: Path, namespace: str, name: str) -> BuildSpec:
    """The build a Flux ``Kustomization`` NAMESPACE/NAME of this repository describes."""
    repo = load_repo(root)
    for _file, doc in repo.documents():
        data = doc.data
        meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
        api = str(data.get("apiVersion", ""))
        if data.get("kind") != "Kustomization" or not api.startswith("kustomize.toolkit.fluxcd.io/"):
            continue
        if meta.get("name") != name or (meta.get("namespace") or "default") != namespace:
            continue
        spec = data.get("spec") if isinstance(data.get("spec"), dict) else {}
        path = str(spec.get("path") or "./").strip()
        decryption = spec.get("decryption") if isinstance(spec.get("decryption"), dict) else None
        post_build = spec.get("postBuild") if isinstance(spec.get("postBuild"), dict) else None
        strategy = str(spec.get("substituteStrategy", "")) if "substituteStrategy" in spec else ""
        return BuildSpec(
            root=root,
            path=_root_relative(path),
            namespace=namespace,
            overlay=_overlay(spec),
            post_build=post_build,
            decrypt=decryption is not None and decryption.get("provider") == "sops",
            substitute_always=strategy == "Always",
        )
    raise BuildError(f"no Flux Kustomization {namespace}/{name} in {root}")


def _root_relative(path: str) -> str:
    """A Kustomization ``spec.path`` (``./apps/prod``) as a root-relative directory."""
    return normal_dir(source_path(path.strip()))


# -- kustomize ----------------------------------------------------------------------------------

def kustomize_command() -> list[str]:
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize", "--load-restrictor", "LoadRestrictionsNone"]
    if shutil.which("kustomize"):
        return ["kustomize", "build", "--load-restrictor", "LoadRestrictionsNone"]
    raise BuildError("neither kubectl nor kustomize is on PATH", hint="install kubectl (it embeds kustomize)")


def run_kustomize(directory: Path, secrets: SecretValues, root: Path | None = None) -> str:
    """``kustomize build DIRECTORY``; errors name paths relative to DIRECTORY (``./x``) or, outside
    it, to ``root`` (the throw-away copy of the repository, whose location means nothing to a user)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_"))}
    try:
        proc = subprocess.run([*kustomize_command(), str(directory)], capture_output=True, check=False,
                              timeout=KUSTOMIZE_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        raise BuildError(f"kustomize did not finish within {KUSTOMIZE_TIMEOUT} s") from None
    if proc.returncode != 0:
        reason = secrets.scrub(_kustomize_reason(proc.stderr.decode("utf-8", "replace"), proc.returncode))
        reason = reason.replace(str(directory), ".")
        if root is not None:
            reason = reason.replace(f"{root}/", "").replace(str(root), ".")
        raise BuildError(f"kustomize build failed: {reason[:400]}")
    return proc.stdout.decode("utf-8")


_KLOG_HEADER = re.compile(r'^[IWEF]\d{4} [\d:.]+\s+\d+ [^\]]+\] (?:"command failed" )?(?:err=)?')


def _kustomize_reason(stderr: str, code: int) -> str:
    """What kustomize's error output says, without ``kubectl``'s log framing.

    ``kubectl kustomize`` logs through klog: ``E1203 08:09:15.6 1 run.go:72] "command failed"
    err="..."`` on one line, or ``err=<``, the indented message and a closing `` >`` when the
    message has several lines (then the last line alone says nothing)."""
    parts = []
    for line in stderr.splitlines():
        line = _KLOG_HEADER.sub("", line.strip())
        if line in ("", "<", ">") or line.startswith(": exit status"):
            continue
        parts.append(line[1:-1] if len(line) > 1 and line[0] == line[-1] == '"' else line)
    return " ".join(parts) if parts else f"exit {code}"


def _overlay(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The fields kustomize-controller's generator sets in the kustomization before the build
    (fluxcd/pkg ``kustomize_generator.go``): ``targetNamespace`` -> ``namespace``,
    ``namePrefix``, ``nameSuffix``, inline ``patches`` appended, local ``components`` appended
    (a missing one skipped with ``ignoreMissingComponents``), ``images`` merged by name."""
    overlay: dict[str, Any] = {}
    for source, target in (("targetNamespace", "namespace"), ("namePrefix", "namePrefix"),
                           ("nameSuffix", "nameSuffix")):
        if isinstance(spec.get(source), str):
            overlay[target] = spec[source]
    patches = [p for p in spec.get("patches") or [] if isinstance(p, dict) and isinstance(p.get("patch"), str)]
    if patches:
        overlay["patches"] = [{k: v for k, v in p.items() if k in ("patch", "target")} for p in patches]
    components = [c for c in spec.get("components") or [] if isinstance(c, str)]
    for component in components:
        if component.startswith("/") or is_remote_url(component) or "://" in component:
            raise BuildError(f"component path {component!r} must be local and relative")
    if components:
        overlay["components"] = components
        overlay["ignoreMissingComponents"] = bool(spec.get("ignoreMissingComponents"))
    images = [i for i in spec.get("images") or [] if isinstance(i, dict) and i.get("name")]
    if images:
        overlay["images"] = images
    return overlay


def _apply_overlay(kustomization: dict[str, Any], overlay: Mapping[str, Any], directory: Path) -> None:
    for key in ("namespace", "namePrefix", "nameSuffix"):
        if key in overlay:
            kustomization[key] = overlay[key]
    if overlay.get("patches"):
        kustomization["patches"] = [*(kustomization.get("patches") or []), *overlay["patches"]]
    for component in overlay.get("components") or []:
        if overlay.get("ignoreMissingComponents") and not (directory / component).exists():
            continue
        kustomization.setdefault("components", []).append(component)
    for image in overlay.get("images") or []:
        images = kustomization.setdefault("images", [])
        existing = next((i for i in images if isinstance(i, dict) and i.get("name") == image["name"]), None)
        if existing is None:
            images.append(dict(image))
        else:
            existing.update({k: v for k, v in image.items() if v})


def _generated_resources(directory: Path) -> list[str]:
    """The controller's ``scanManifests``: manifests under ``directory``; a sub-directory with
    its own kustomization is listed as a whole and not descended into.

    ``directory`` is in the RAM copy, which holds only what the one walker listed; it is walked
    with the same walker (:func:`sopskit.walk.walk_tree`) so that no second walk exists."""
    files = [path.relative_to(directory) for path in walk_tree(directory)]
    units = {rel.parent for rel in files if rel.name in KUSTOMIZATION_FILES and rel.parent != Path(".")}
    found: set[str] = set()
    for rel in files:
        unit = next((p for p in reversed(rel.parents) if p in units), None)
        if unit is not None:
            found.add(unit.as_posix())
        elif rel.suffix in (".yaml", ".yml", ".json") and _is_manifest(directory / rel):
            found.add(rel.as_posix())
    return sorted(found)


def _prepare(copy_root: Path, spec: BuildSpec) -> None:
    """Flux's generated kustomization and overlay fields, written in the RAM copy."""
    directory = copy_root / spec.path
    if not directory.is_dir():
        raise BuildError(f"{spec.path or '.'}: not a directory of the repository")
    kustomization = load_kustomization(copy_root, spec.path)
    if kustomization is None:
        resources = _generated_resources(directory)
        kustomization = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        if resources:
            kustomization["resources"] = resources
        else:
            kustomization["namespace"] = "_placeholder"
        target = directory / "kustomization.yaml"
    else:
        if not spec.overlay:
            return
        target = next(directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file())
    _apply_overlay(kustomization, spec.overlay, directory)
    target.write_text(yaml.safe_dump(kustomization, sort_keys=False))


def _is_manifest(path: Path) -> bool:
    try:
        docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    except (yaml.YAMLError, UnicodeDecodeError):
        return False
    return any(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in docs)


# -- per resource -------------------------------------------------------------------------------

def _annotations(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = resource.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    return annotations if isinstance(annotations, dict) else {}


def _is_sops_resource(resource: Mapping[str, Any]) -> bool:
    block = resource.get("sops")
    return isinstance(block, dict) and bool(block.get("mac"))


def _label(resource: Mapping[str, Any]) -> str:
    ns = f"{_namespace(resource)}/" if _namespace(resource) else ""
    return f"{resource.get('kind')} {ns}{_name(resource)}"


class MacIndex:
    """The MAC of every SOPS manifest of the repository, verified on its source file.

    kustomize rewrites resources (``namespace:``, labels, name prefixes), and sops's MAC covers
    the unencrypted values too, so a built resource can no longer match its MAC; the controller
    therefore never checks it. sopskit checks it where it still means something: the built
    resource's ``sops.mac`` must be the MAC of a file in the repository, and that file must
    decrypt with a valid MAC. A resource whose MAC belongs to no file fails closed."""

    def __init__(self, root: Path, context: KeyContext) -> None:
        self._context = context
        self._sources: dict[str, tuple[str, bytes, str]] = {}
        self._verified: set[str] = set()
        for file in load_repo(root).files:
            if not file.is_encrypted or not file.rel.endswith((".yaml", ".yml", ".json")):
                continue
            fmt = "json" if file.rel.endswith(".json") else "yaml"
            try:
                _branches, metadata = parse_encrypted(file.raw, input_format=fmt)
            except SopsError:
                continue
            if metadata.mac:
                self._sources.setdefault(metadata.mac, (file.rel, file.raw, fmt))

    def verify(self, mac: str, label: str) -> None:
        if mac in self._verified:
            return
        source = self._sources.get(mac)
        if source is None:
            raise IntegrityError(f"{label}: its sops MAC belongs to no file of the repository, so its "
                                 "integrity cannot be checked")
        rel, data, fmt = source
        try:
            open_bytes(data, input_format=fmt, context=self._context)
        except SopsError as exc:
            exc.message = f"{rel}: {exc.message}"
            raise
        self._verified.add(mac)


def decrypt_resource(resource: dict[str, Any], context: KeyContext, secrets: SecretValues,
                     macs: MacIndex) -> dict[str, Any]:
    """The controller's ``DecryptResource``, with the MAC verified on the source file."""
    if str(_annotations(resource).get(DECRYPT_DISABLED_KEY, "")).lower() == "disabled":
        return resource
    if _is_sops_resource(resource):
        macs.verify(str(resource["sops"]["mac"]), _label(resource))
        try:
            opened = open_collecting(json.dumps(resource).encode(), "json", context, secrets, ignore_mac=True)
        except SopsError as exc:
            exc.message = f"decryption failed for {_label(resource)}: {exc.message}"
            raise
        plain = to_plain(opened.branches[0])
        assert isinstance(plain, dict)
        return plain
    if resource.get("kind") == "Secret" and isinstance(resource.get("data"), dict):
        data = dict(resource["data"])
        for key, value in data.items():
            try:
                raw = base64.b64decode(unwrap(value), validate=True)
            except (binascii.Error, ValueError):
                continue
            fmt = next((f for f, marker in MARKERS.items() if marker in raw), None)
            if fmt is None:
                continue
            try:
                opened = open_collecting(raw, fmt, context, secrets)
            except SopsError as exc:
                exc.message = f"decryption failed for {_label(resource)} field {key!r}: {exc.message}"
                raise
            data[key] = base64.b64encode(emit_plaintext(opened, output_format=format_for_key(key))).decode()
        resource = {**resource, "data": data}
    return resource


def _secret_data(resource: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's values as text, as the API server would store them."""
    return {k: v.decode("utf-8", "replace") for k, v in desired_values(resource).items()}


def load_variables(spec: BuildSpec, context: KeyContext, secrets: SecretValues) -> dict[str, str]:
    """``substituteFrom`` from the repository's manifests, then ``substitute`` on top."""
    post_build = spec.post_build or {}
    variables: dict[str, str] = {}
    wanted = [r for r in post_build.get("substituteFrom") or [] if isinstance(r, dict)]
    if wanted:
        objects = _repository_objects(spec.root, context, secrets)
        for ref in wanted:
            kind, name = ref.get("kind"), ref.get("name")
            found = next((o for o in objects if o.get("kind") == kind and _name(o) == name
                          and _namespace(o) in (None, spec.namespace)), None)
            if found is None:
                if ref.get("optional"):
                    continue
                raise BuildError(f"substitute from '{kind}/{name}': not found in the repository")
            values = _secret_data(found) if kind == "Secret" else \
                {str(k): str(v) for k, v in (found.get("data") or {}).items()}
            for key, value in values.items():
                variables[key] = value.replace("\n", "")
                if kind == "Secret":
                    secrets.add(variables[key])
    for key, value in (post_build.get("substitute") or {}).items():
        variables[str(key)] = str(value).replace("\n", "")
    check_names(variables)
    return variables


def _name(obj: Mapping[str, Any]) -> Any:
    meta = obj.get("metadata")
    return meta.get("name") if isinstance(meta, dict) else None


def _namespace(obj: Mapping[str, Any]) -> Any:
    meta = obj.get("metadata")
    return meta.get("namespace") if isinstance(meta, dict) else None


def _repository_objects(root: Path, context: KeyContext, secrets: SecretValues) -> list[dict[str, Any]]:
    """ConfigMaps and Secrets of the repository, SOPS ones decrypted."""
    objects: list[dict[str, Any]] = []
    for file, doc in load_repo(root).documents():
        data = doc.data
        if data.get("kind") not in ("ConfigMap", "Secret"):
            continue
        if _is_sops_resource(data):
            try:
                opened = open_collecting(file.raw, "yaml", context, secrets)
            except SopsError as exc:
                exc.message = f"{file.rel}: {exc.message}"
                raise
            for branch in opened.branches:
                plain = to_plain(branch)
                if isinstance(plain, dict):
                    objects.append(plain)
        else:
            objects.append(data)
    return objects


def substitute_resource(resource: dict[str, Any], variables: Mapping[str, str], *, always: bool) -> dict[str, Any]:
    if is_disabled(resource) or not (variables or always):
        return resource
    text = yaml.safe_dump(resource, sort_keys=False, allow_unicode=True, width=1 << 30)
    try:
        substituted = substitute_text(text, variables)
    except BuildError as exc:
        if resource.get("kind") != "Secret":
            raise
        # a Secret's text holds decrypted values: the expression may be part of one, so it is not shown
        raise BuildError(f"post build failed for {_label(resource)}: {exc.message.split(' in ', 1)[0]} "
                         "in a value (not shown: Secret values are never quoted)") from None
    try:
        out = yaml.safe_load(substituted)
    except yaml.YAMLError:
        raise BuildError(f"post build failed for {_label(resource)}: the substituted YAML is invalid") from None
    if not isinstance(out, dict):
        raise BuildError(f"post build failed for {_label(resource)}: not an object after substitution")
    return out


# -- the use case -------------------------------------------------------------------------------

def build(spec: BuildSpec, *, context: KeyContext, env: Mapping[str, str] | None = None) -> BuildResult:
    """Build ``spec`` as the controller would; values in clear (callers redact)."""
    secrets = SecretValues()
    with ram_copy(spec.root, env) as copy_root:
        _prepare(copy_root, spec)
        decryptor = SourceDecryptor(copy_root, context, secrets)
        if spec.decrypt:
            decryptor.run(spec.path)
        output = run_kustomize(copy_root / spec.path, secrets, copy_root)
    try:
        resources = [r for r in yaml.safe_load_all(output) if r is not None]
    except yaml.YAMLError:
        raise BuildError("kustomize output is not valid YAML") from None
    variables = load_variables(spec, context, secrets) if spec.post_build is not None else {}
    macs = MacIndex(spec.root, context)
    result: list[dict[str, Any]] = []
    for resource in resources:
        if not isinstance(resource, dict) or not (resource.get("kind") and resource.get("apiVersion")
                                                   and _name(resource)):
            raise BuildError("failed to decode Kubernetes apiVersion, kind and name of a resource")
        if spec.decrypt:
            resource = decrypt_resource(resource, context, secrets, macs)
        if spec.post_build is not None:
            resource = substitute_resource(resource, variables, always=spec.substitute_always)
        result.append(resource)
    return BuildResult(result, secrets, decryptor.decrypted)


def redact(resources: list[dict[str, Any]], secrets: SecretValues, fingerprints: Fingerprinter) -> list[dict[str, Any]]:
    """Copies with every secret value replaced by ``REDACTED:<fingerprint>``."""
    out = []
    for resource in resources:
        resource = copy.deepcopy(resource)
        if resource.get("kind") == "Secret":
            for fieldname in ("data", "stringData"):
                values = resource.get(fieldname)
                if isinstance(values, dict):
                    for key, value in values.items():
                        raw = value
                        if fieldname == "data":
                            try:
                                raw = base64.b64decode(unwrap(value), validate=True)
                            except (binascii.Error, ValueError):
                                raw = str(value)
                        values[key] = fingerprints.redacted(raw if isinstance(raw, bytes) else str(raw))
        out.append(_redact_strings(resource, secrets, fingerprints))
    return out


def _redact_strings(value: Any, secrets: SecretValues, fingerprints: Fingerprinter) -> Any:
    if isinstance(value, dict):
        return {k: _redact_strings(v, secrets, fingerprints) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v, secrets, fingerprints) for v in value]
    if isinstance(value, str) and not value.startswith("REDACTED:") and secrets.is_secret(value):
        return fingerprints.redacted(value)
    return value


def to_yaml(resources: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(resources, sort_keys=False, allow_unicode=True, explicit_start=True)

