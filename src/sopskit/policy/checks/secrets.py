"""``plaintext-secret``: Kubernetes Secrets and kustomize secret generators holding plaintext.

A ``Secret`` document with non-empty ``data``/``stringData`` values that are not SOPS
``ENC[...]`` values, in a document without a ``sops`` block, is plaintext in Git (base64 is an
encoding, not encryption). Kustomize ``secretGenerator`` literals are never decrypted by Flux,
and generator files/envs that are not SOPS-encrypted put plaintext into the build.

A value that only *refers* to a secret is not one: ``${VAR}`` (Flux post-build substitution),
``op://vault/item/field`` (1Password), ``<path:...>`` (argocd-vault-plugin), ``<secret:key|base64>``
(argocd-secret-replacer), ``ref+...://`` (vals),
``<github_token>`` placeholders,
and Helm/Jinja/Go template expressions (``{{ ... }}``, ``{% ... %}``). Base64 ``data`` values are
decoded before that test. A multi-line value is a configuration file carried in a Secret: it
counts when it holds a credential-looking word (password, secret, token, key, auth, ...), a PEM
block or a long random-looking token, not when it is, say, a list of scrape targets.
Nothing secret either: a value made only of comment lines, only of SSH public keys, or a
redaction marker (``redacted``). A Secret in a template-named file (``secrets-tmpl.yaml``,
``x.sample.yaml``) that the kustomization beside it leaves out (it lists the encrypted one
instead) is never applied: only key material in it counts. Under a credential key a placeholder
counts only in a Secret some build (Flux or a kustomization) reaches: an example nothing lists is
a template. There, fewer than six characters under a token, key or ID key (``API_TOKEN: asdf``)
are a stand-in too; a short password may be a real one and still counts.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from typing import Any

from sopskit.detectors import names
from sopskit.detectors.paths import is_vendored
from sopskit.detectors.values import (
    RANDOM_SHAPE,
    TEMPLATE_RE,
    URL_PASSWORD,
    is_filesystem_path,
    is_public_material,
    strip_templates,
)
from sopskit.detectors.values import is_reference as is_reference_syntax
from sopskit.format.recognize import has_sops_metadata, is_enc_value
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.credentials_in_text import (
    AGE_IDENTITY,
    file_holds_credential,
    is_material,
    is_placeholder,
    is_secret_value,
)
from sopskit.policy.fluxgraph import (
    deleted_by_patch,
    dropped_from_flux,
    is_archived,
    left_out_of_kustomization,
    library_not_built,
    reached_by_a_build,
)
from sopskit.policy.kustomize import generator_sources
from sopskit.policy.repo import is_kind, name_of
from sopskit.policy.results import Violation

_ENCRYPT_FIX = (
    "encrypt it: `sops --encrypt --encrypted-regex '^(data|stringData)$' --in-place {path}` "
    "(or `sopskit encrypt -i {path}`), then rotate the exposed values"
)


#: a <placeholder> left for the reader in place of the whole value: a Secret committed so that it
#: applies until the real value is set outside Git
_ANGLE_PLACEHOLDER = re.compile(r"^\s*<[A-Za-z0-9_. -]{1,64}>\s*$")
# what, left after the templates are cut out, is still a credential: a URL password or a token
_LONG_LITERAL = re.compile(r"[A-Za-z0-9+/_\-]{20,}")


# a credential-looking key with a literal value (what follows the key up to the end of the line)
_CONFIG_CREDENTIAL = re.compile(
    rf"(?im)(?:^|[\s\"'{{,])[\w.-]*(?:{names.SECRET_WORD}|auth(?!or(?:s|ity)?\b))[\w-]*[\"']?(?::\s|\s*=)\s*(.*)$"
)
_NOT_A_CREDENTIAL = re.compile(r"(?i)^[\s\"',]*(?:true|false|null|none|yes|no|~|-?\d+(?:\.\d+)?)?[\s\"',;]*$")
_CONFIG_MATERIAL = re.compile(r"-----BEGIN|[A-Za-z0-9+/_\-]{32,}")
_LITERAL_VALUE = re.compile(r"[^\s\"'\[\]{},|>\\-]")
#: what a value in a script or code file holds instead of a literal: a shell variable
#: (``PRIVATE-TOKEN: $GITLAB_TOKEN``) or a function call (``self.auth = copy(t.auth)``)
_SHELL_VARIABLE = re.compile(r"\$[A-Za-z_][A-Za-z0-9_]*")
_CALL = re.compile(r"^\s*[A-Za-z_][\w.:]*\(")


#: the value was removed on purpose (a copy kept for the record): ``redacted``, ``<REDACTED>``, ``[redacted]``
_REDACTED = re.compile(r"(?i)^\s*[<\[(*\"']*\s*redacted\s*[>\])*\"']*\s*$")
_REMARK = re.compile(r"^(?:#|//|;)\s+[A-Za-z]+(?:\s+\S+)+$")
#: shorter than any issued token or key (a stub in an unapplied Secret, :func:`_is_stub`)
_SHORTEST_TOKEN = 6
#: a file name that says "template / sample / example" (``secrets-tmpl.yaml``, ``x-tmpl-sample.yaml``)
_TEMPLATE_NAME = re.compile(r"(?i)(?:^|[-_.])(?:tmpl|template|sample|example|dist)(?:[-_.]|$)")



def is_harmless_config(value: str) -> bool:
    """A multi-line value (a config file carried in a Secret) in which no credential-looking key
    has a literal value, and with no key block or long random token: templates and ``${VAR}``
    references do not count as literals."""
    if "\n" not in value.strip():
        return False
    if AGE_IDENTITY.search(value):
        return False  # an age key file (``# created: ...`` and ``# public key: ...`` above the key)
    stripped = strip_templates(value)
    for match in _CONFIG_MATERIAL.finditer(stripped):
        # a key block, or a long token that looks random (not a metric or label name, nor a
        # device path such as /dev/serial/by-id/usb-<serial>)
        if match.group(0) == "-----BEGIN" or (RANDOM_SHAPE.search(match.group(0))
                                               and not is_filesystem_path(match.group(0))):
            return False
    for match in _CONFIG_CREDENTIAL.finditer(value):
        literal = _SHELL_VARIABLE.sub("", strip_templates(match.group(1)).split("#", 1)[0])
        if _LITERAL_VALUE.search(literal) and not _NOT_A_CREDENTIAL.match(literal) and not _CALL.match(literal):
            return False
    return True


def is_reference(value: str) -> bool:
    """True when ``value`` names or templates a secret instead of holding one: the whole value is
    a reference, or it holds template expressions and no literal credential besides them."""
    if is_reference_syntax(value) or _ANGLE_PLACEHOLDER.match(value):
        return True
    if not TEMPLATE_RE.search(value):
        return False
    # a long run of literal text is a credential unless it is a path of words
    # (``?sslcert=/var/run/secrets/pg/tls.crt`` beside ``${DB_USER}``)
    literal = strip_templates(value)
    if URL_PASSWORD.search(literal):
        return False
    return all(_is_word_path(match.group(0)) for match in _LONG_LITERAL.finditer(literal))


def _is_word_path(run: str) -> bool:
    """``/var/run/secrets/pg/tls``: a path of words, not a token."""
    return "/" in run and not RANDOM_SHAPE.search(run)


def _decoded(value: str) -> str:
    """A ``data`` value decoded; line breaks inside it are skipped, as Go's base64 decoder (and
    so the API server) skips them: kustomize writes long values wrapped."""
    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value


def _plaintext_secrets(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(PLAINTEXT_SECRET.id, 0)
    left_out = left_out_of_kustomization(ctx)
    for file, doc in ctx.repo.documents():
        data = doc.data
        if not is_kind(data, "Secret") or isinstance(data.get("sops"), dict):
            continue
        if (is_vendored(file.rel) and library_not_built(ctx, file.rel)) or deleted_by_patch(ctx, file.rel, doc):
            continue  # an upstream example in a copied tree that Flux builds pick from, or removed by an overlay
        ctx.count(PLAINTEXT_SECRET.id)
        sections = {name: _values(data.get(name), encoded=name == "data") for name in ("data", "stringData")}
        # credentials taken from references (or withheld: "redacted") leave configuration beside them
        delegates = any(
            is_reference(text) or _REDACTED.match(text) for values in sections.values() for _, text in values
        )
        # a template kept beside the real (encrypted) Secret, which its kustomization lists
        # instead: never applied, its placeholders are for the reader; key material still counts
        template = file.rel in left_out and bool(_TEMPLATE_NAME.search(file.name))
        # a file no build reads (its kustomization does not list it, ``# - ./oidc-secret.yaml``;
        # an example nothing lists) is not applied: a placeholder in it waits for the reader; a
        # real credential in it is still in Git
        # nor is one in a kustomize directory that Flux deploys the tree around but dropped (the
        # parent kustomization comments the app out, ``# - harbor/``)
        # nor is one in an archive tree (``.archive/immich/app/secrets.sops.yaml`` left unencrypted
        # with ``PLACEHOLDER`` values)
        applied = (file.rel not in left_out and reached_by_a_build(ctx, file.rel)
                   and not dropped_from_flux(ctx, file.rel) and not is_archived(file.rel))
        for field_name, values in sections.items():
            keys = [
                key for key, text in values
                if (_looks_like_material(text) if template else _is_plaintext(key, text, delegates=delegates)
                    and (applied or not (is_placeholder(text) or _is_stub(key, text))))
            ]
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


def _is_stub(key: str, text: str) -> bool:
    """A few typed characters under a key that names a token, key or ID (``API_TOKEN: asdf``): no
    service issues a token that short, so in a file nothing applies it is a stand-in waiting to
    be filled. A short password may be real (and weak): it still counts."""
    stripped = text.strip()
    return len(stripped) < _SHORTEST_TOKEN and not names.PASSWORD_NAME.search(key)


def _values(section: Any, *, encoded: bool) -> list[tuple[str, str]]:
    """(key, text) of the non-empty values of a data/stringData section (data decoded)."""
    if not isinstance(section, dict):
        return []
    found = []
    for key, value in section.items():
        if value in (None, ""):
            continue
        if isinstance(value, str) and is_enc_value(value):
            continue
        text = str(value)
        if encoded and isinstance(value, str):
            text = _decoded(value)
            if text != value and has_sops_metadata(text.encode()):
                # a whole SOPS document, base64'd: kustomize-controller decrypts such data entries
                # (decryptor.go, the Secret case of DecryptResource; seen in its testdata)
                continue
        if is_enc_value(text):
            continue
        found.append((str(key), text))
    return found


def _is_plaintext(key: str, text: str, *, delegates: bool) -> bool:
    """Whether one value is a secret in plaintext.

    References and templates are not; a multi-line config file without credentials is not; a
    value shaped like configuration (a host, a port, a name: Flux post-build variables kept in a
    Secret) under a key that does not name a credential is not.
    When the same Secret takes its credentials from references (``${DB_PASSWORD}``), its other
    plaintext values are deliberate configuration (a host, a port, a user name): only a value
    under a credential-looking key, or one that looks like key material, still counts.
    """
    if is_reference(text) or is_harmless_config(text) or _REDACTED.match(text) or _holds_nothing(text):
        return False
    if is_public_material(text):
        return False  # certificates, CA bundles, public keys: published by design
    if not delegates:
        return is_secret_value(key, text)
    return (names.is_credential_name(key) and not names.IDENTITY_KEY.search(key)) or _looks_like_material(text)


def _holds_nothing(text: str) -> bool:
    """Only comment lines (a config file whose every setting is commented out): nothing secret in
    it. Public keys are :func:`sopskit.detectors.values.is_public_material`'s question."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    # one line must read as a remark ("# add your feeds here"): "#Xy9!..." may be a password
    if len(lines) > 1 and all(line.startswith(("#", ";", "//")) for line in lines):
        return True
    return len(lines) == 1 and bool(_REMARK.match(lines[0]))


def _looks_like_material(text: str) -> bool:
    stripped = strip_templates(text)
    if "-----BEGIN" in stripped or any(not is_placeholder(m.group(1)) for m in URL_PASSWORD.finditer(stripped)):
        return True
    return any(RANDOM_SHAPE.search(m.group(0)) for m in _CONFIG_MATERIAL.finditer(stripped))


def _plaintext_generators(ctx: CheckContext) -> Iterator[Violation]:
    for file, doc in ctx.repo.kustomizations():
        generators = doc.data.get("secretGenerator")
        if not isinstance(generators, list) or (is_vendored(file.rel) and library_not_built(ctx, file.rel)):
            continue  # (an upstream variant's kustomization in a copied tree no build reaches)
        for index, generator in enumerate(generators):
            if not isinstance(generator, dict):
                continue
            ctx.count(PLAINTEXT_SECRET.id)
            pairs = [str(item).split("=", 1) for item in generator.get("literals") or [] if "=" in str(item)]
            literals = [
                key for key, value in pairs if value and not is_reference(value) and is_secret_value(key, value)
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
            env_files = set(
                generator_sources(file.parent, {"envs": generator.get("envs"), "env": generator.get("env")})
            )
            for source in generator_sources(file.parent, generator):
                target = ctx.repo.by_rel.get(source)
                if target is not None and target.text is not None and not target.is_encrypted:
                    if not _generator_file_holds_secret(target.rel, target.text, env=source in env_files):
                        ctx.note(
                            PLAINTEXT_SECRET.id,
                            f"not reported: {target.rel} (read by secretGenerator "
                            f"{generator.get('name', '<unnamed>')!r}) holds no credential",
                        )
                        continue
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


#: a file that is one angle-bracketed placeholder ("<place-holder for the private key>"), committed
#: so the generator builds until the real value is put in place outside Git
_PLACEHOLDER_FILE = re.compile(r"<[^<>\n]{1,200}>")


#: a sentence: three or more words of letters, with ordinary punctuation
_PROSE = re.compile(r"[A-Za-z][\w'’,.!?()-]*(?:\s+[\w'’,.!?()&:-]+){2,}")


def _generator_file_holds_secret(rel: str, text: str, *, env: bool) -> bool:
    """A file a secretGenerator reads is a finding when it holds a credential: a Helm values
    file turned into a Secret for ``valuesFrom`` usually holds none (only chart defaults and
    comments); a file of unknown format is judged as a whole."""
    if _PLACEHOLDER_FILE.fullmatch(text.strip()) or is_public_material(text):
        return False  # a placeholder, or a certificate / CA bundle / public key: public by design
    holds = file_holds_credential(rel, text, env=env)
    if holds is not None:
        return holds
    if "\n" not in text.strip():
        # one line: a password file (``admin-password``, a lone token) or a message of words (an
        # IRC ``motd``): words count only under a file name that says credential, or as key material
        name = rel.rsplit("/", 1)[-1]
        return is_material(text) or names.is_credential_name(name) or not _PROSE.fullmatch(text.strip())
    return not is_harmless_config(text)


PLAINTEXT_SECRET = Check(
    id="plaintext-secret",
    title="Secret manifest or secret generator with plaintext values",
    catches="A Kubernetes Secret whose data/stringData values are not SOPS-encrypted; kustomize "
    "secretGenerator literals; secretGenerator files/envs that are not SOPS-encrypted.",
    fix="Encrypt the file with sops (encrypted_regex ^(data|stringData)$ keeps metadata readable), "
    "rotate the values that were exposed, or replace the Secret with an ExternalSecret.",
    run=_plaintext_secrets,
)
