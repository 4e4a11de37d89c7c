"""``plaintext-secret``: Kubernetes Secrets and kustomize secret generators holding plaintext.

A ``Secret`` document with non-empty ``data``/``stringData`` values that are not SOPS
``ENC[...]`` values, in a document without a ``sops`` block, is plaintext in Git (base64 is an
encoding, not encryption). Kustomize ``secretGenerator`` literals are never decrypted by Flux,
and generator files/envs that are not SOPS-encrypted put plaintext into the build.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sopskit.format.recognize import is_enc_value
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.kustomize import generator_sources
from sopskit.policy.repo import is_kind, name_of
from sopskit.policy.results import Violation

_ENCRYPT_FIX = (
    "encrypt it: `sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place {path}` "
    "(or `sopskit encrypt -i {path}`), then rotate the exposed values"
)


def _plaintext_secrets(ctx: CheckContext) -> Iterator[Violation]:
    for file, doc in ctx.repo.documents():
        data = doc.data
        if not is_kind(data, "Secret") or isinstance(data.get("sops"), dict):
            continue
        for field_name in ("data", "stringData"):
            keys = _plaintext_keys(data.get(field_name))
            if keys:
                namespace = ctx.repo.namespace_of(file, doc) or "default"
                yield Violation(
                    PLAINTEXT_SECRET.id,
                    file.rel,
                    doc.line_of(field_name),
                    f"Secret {name_of(data)!r} in namespace {namespace!r} has plaintext {field_name} "
                    f"(keys: {', '.join(keys)})",
                    _ENCRYPT_FIX.format(path=file.rel),
                )
    yield from _plaintext_generators(ctx)


def _plaintext_keys(section: Any) -> list[str]:
    if not isinstance(section, dict):
        return []
    return [
        str(key)
        for key, value in section.items()
        if value not in (None, "") and not (isinstance(value, str) and is_enc_value(value))
    ]


def _plaintext_generators(ctx: CheckContext) -> Iterator[Violation]:
    for file, doc in ctx.repo.kustomizations():
        generators = doc.data.get("secretGenerator")
        if not isinstance(generators, list):
            continue
        for index, generator in enumerate(generators):
            if not isinstance(generator, dict):
                continue
            literals = [
                str(item).split("=", 1)[0] for item in generator.get("literals") or [] if "=" in str(item)
            ]
            if literals:
                yield Violation(
                    PLAINTEXT_SECRET.id,
                    file.rel,
                    doc.line_of("secretGenerator", index, "literals"),
                    f"secretGenerator {generator.get('name', '<unnamed>')!r} has plaintext literals "
                    f"(keys: {', '.join(literals)}); Flux never decrypts literals",
                    "move the values to a file, encrypt it with sops and list it under `files:` or `envs:`",
                )
            for source in generator_sources(file.parent, generator):
                target = ctx.repo.by_rel.get(source)
                if target is not None and target.text is not None and not target.is_encrypted:
                    yield Violation(
                        PLAINTEXT_SECRET.id,
                        target.rel,
                        None,
                        f"file used by secretGenerator {generator.get('name', '<unnamed>')!r} in "
                        f"{file.rel} is not SOPS-encrypted",
                        _ENCRYPT_FIX.format(path=target.rel).replace(
                            "--encrypted-regex '^(data|stringData)$' ", ""
                        ),
                    )


PLAINTEXT_SECRET = Check(
    id="plaintext-secret",
    title="Secret manifest or secret generator with plaintext values",
    catches="A Kubernetes Secret whose data/stringData values are not SOPS-encrypted; kustomize "
    "secretGenerator literals; secretGenerator files/envs that are not SOPS-encrypted.",
    fix="Encrypt the file with sops (encrypted_regex ^(data|stringData)$ keeps metadata readable), "
    "rotate the values that were exposed, or replace the Secret with an ExternalSecret.",
    run=_plaintext_secrets,
)
