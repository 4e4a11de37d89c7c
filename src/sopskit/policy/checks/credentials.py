"""Credential files that must never be committed in plaintext.

``private-key``: PEM/OpenSSH/PGP private key blocks with a key body, age identities
(``AGE-SECRET-KEY-1...``) and any ``*.agekey`` file.  ``kubeconfig``: a ``kind: Config``
kubeconfig that embeds credentials (token, client key, password, auth-provider secrets).
``cloud-credentials``: AWS shared credentials, GCP service-account keys, Azure CLI token caches
and service-principal JSON.  ``production-dotenv``: a plaintext ``.env`` file under a production
path. SOPS-encrypted files never match: their values are ``ENC[...]``. Files in vendored
third-party trees (``ansible_collections/``, ``vendor/``, ``node_modules/``, ``third_party/``) are
not checked for private keys: those are the upstream project's test fixtures.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sopskit.detectors import encoded, values
from sopskit.detectors.paths import FILL_IN_SUFFIXES, is_vendored
from sopskit.format.recognize import AGE_IDENTITY_RE, is_enc_value
from sopskit.policy import credentials_in_text
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.globs import matches_any
from sopskit.policy.repo import RepoFile, is_kind
from sopskit.policy.results import Violation

_AWS_SECRET = re.compile(r"(?im)^[ \t]*aws_secret_access_key[ \t]*[=:][ \t]*[\"']?[A-Za-z0-9/+=]{40}\b")
_GCP_TYPE = re.compile(r'"type"\s*:\s*"service_account"')
_GCP_KEY = re.compile(r'"private_key"\s*:\s*"-----BEGIN')
_AZURE_SECRET = re.compile(r'"(?:clientSecret|client_secret|password)"\s*:\s*"[^"$]{8,}"')
_AZURE_TENANT = re.compile(r'"(?:tenantId|tenant)"\s*:')
_AZURE_CACHES = {
    "accessTokens.json",
    "msal_token_cache.json",
    "msal_token_cache.bin",
    "service_principal_entries.json",
}
_KUBECONFIG_SECRETS = ("token", "client-key-data", "password")
_AUTH_PROVIDER_SECRETS = ("id-token", "refresh-token", "client-secret", "access-token")
_DOTENV_TEMPLATES = FILL_IN_SUFFIXES
#: documents whose embedded keys another check reports (plaintext-secret, kubeconfig)
_OWN_CHECK_KINDS = re.compile(rb"(?m)^kind:[ \t]*[\"']?(?:Secret|Config)[\"']?[ \t]*$")


def _private_keys(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(PRIVATE_KEY.id, 0)
    for file in ctx.repo.files:
        if is_vendored(file.rel):
            ctx.note(PRIVATE_KEY.id, f"not checked: {file.rel}: vendored third-party code")
            continue
        ctx.count(PRIVATE_KEY.id)
        if file.name.endswith(".agekey") and not file.is_encrypted:
            yield Violation(
                PRIVATE_KEY.id,
                file.rel,
                None,
                "an age identity file (*.agekey) is committed",
                f"`git rm --cached {file.rel}`, add `*.agekey` to .gitignore, and replace the key "
                "(it must be treated as leaked)",
            )
            continue
        found = _plain_key(file) or _encoded_key(file)
        if found is None:
            continue
        offset, what = found
        yield Violation(
            PRIVATE_KEY.id,
            file.rel,
            _line_of_byte(file, offset),
            f"a plaintext private key is committed: {what}",
            "remove it from the repository (and history), rotate the key, and keep it in a secret "
            "store or a sops-encrypted file",
        )


def _plain_key(file: RepoFile) -> tuple[int, str] | None:
    """Where a private key block or an age identity starts, and its kind (never the key)."""
    for block in values.PRIVATE_KEY_BLOCK_BYTES.finditer(file.raw):
        if not values.is_elided_key_block(_key_block(file.raw, block.start())):
            return block.start(), f"{block.group(1).decode()} block"  # the block's kind
    identity = AGE_IDENTITY_RE.search(file.raw)
    if identity is not None:
        # the fixed prefix up to the bech32 separator "1"
        return identity.start(), f"age identity ({_age_prefix(identity.group())}...)"
    return None


def _key_block(raw: bytes, start: int) -> bytes:
    """The key block that starts at ``start``, through its END line (or what a cut file holds)."""
    end = raw.find(b"-----END", start)
    stop = raw.find(b"-----", end + 8) if end >= 0 else -1
    return raw[start: stop + 5 if stop >= 0 else start + 65536]


def _encoded_key(file: RepoFile) -> tuple[int, str] | None:
    """A PEM private key committed base64-encoded (a Talos machine config's ``key:``, a Helm
    value ``tls.key: LS0tLS1...``). Secret manifests and kubeconfigs are left to their own
    checks (``plaintext-secret``, ``kubeconfig``), which already report the same bytes. A SOPS
    file is read too: its encrypted values are ``ENC[...]`` (ciphertext never decodes to a PEM
    header), so a key found there is one its creation rule left in plaintext (a Talos secrets
    file under ``encrypted_regex: ^(data|stringData)$``)."""
    if _OWN_CHECK_KINDS.search(file.raw):
        return None
    for start, _end, decoded in encoded.pem_runs(file.raw):
        match = values.PRIVATE_KEY_BLOCK_BYTES.search(decoded)
        if match is not None:
            return start, f"{match.group(1).decode()} block, base64-encoded"
    return None


def _age_prefix(identity: bytes) -> str:
    """``AGE-SECRET-KEY-1`` or ``AGE-SECRET-KEY-PQ-1``: what kind of age identity was found."""
    return "AGE-SECRET-KEY-PQ-1" if identity.startswith(b"AGE-SECRET-KEY-PQ-") else "AGE-SECRET-KEY-1"


def _line_of_byte(file: RepoFile, offset: int) -> int:
    return file.raw.count(b"\n", 0, offset) + 1


def _kubeconfigs(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(KUBECONFIG.id, 0)
    for file, doc in ctx.repo.documents():
        data = doc.data
        if not is_kind(data, "Config") or isinstance(data.get("sops"), dict):
            continue
        if "users" not in data and "clusters" not in data:
            continue
        ctx.count(KUBECONFIG.id)
        users = data.get("users")
        for index, entry in enumerate(users if isinstance(users, list) else []):
            fields = _embedded_credentials(entry)
            if fields:
                name = entry.get("name", f"#{index}") if isinstance(entry, dict) else f"#{index}"
                yield Violation(
                    KUBECONFIG.id,
                    file.rel,
                    doc.line_of("users", index),
                    f"kubeconfig user {name!r} embeds credentials ({', '.join(fields)})",
                    "remove the kubeconfig from the repository and revoke the credentials; use an exec "
                    "plugin or OIDC login, or sops-encrypt the file if it must be shared",
                )


def _embedded_credentials(entry: Any) -> list[str]:
    user = entry.get("user") if isinstance(entry, dict) else None
    if not isinstance(user, dict):
        return []
    found = [key for key in _KUBECONFIG_SECRETS if _is_plain(user.get(key))]
    provider = user.get("auth-provider")
    config = provider.get("config") if isinstance(provider, dict) else None
    if isinstance(config, dict):
        found += [f"auth-provider {key}" for key in _AUTH_PROVIDER_SECRETS if _is_plain(config.get(key))]
    return found


#: ``proxy-authenticates-by-network-identity``: lower-case words joined by hyphens, a sentence
#: standing in a token field that nothing checks, never a generated credential
_WORD_PHRASE = re.compile(r"[a-z]+(?:-[a-z]+){2,}")


def _is_plain(value: Any) -> bool:
    """A credential written in the kubeconfig: not ``ENC[...]``, not a placeholder, reference or
    sentence of words."""
    if not isinstance(value, str) or not value.strip() or is_enc_value(value):
        return False
    text = value.strip()
    return not (values.is_placeholder(text) or values.is_reference(text) or _WORD_PHRASE.fullmatch(text))


def _cloud_credentials(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(CLOUD_CREDENTIALS.id, 0)
    for file in ctx.repo.files:
        text = file.text
        if text is None or file.rel.endswith((".md", ".rst", ".adoc")):
            continue
        ctx.count(CLOUD_CREDENTIALS.id)
        kind = _cloud_kind(file.name, text)
        if kind is None:
            continue
        description, line = kind
        yield Violation(
            CLOUD_CREDENTIALS.id,
            file.rel,
            line,
            f"{description} is committed",
            "remove the file from the repository, revoke/rotate the credential, and use workload identity "
            "or a sops-encrypted file instead",
        )


def _cloud_kind(name: str, text: str) -> tuple[str, int | None] | None:
    aws = _AWS_SECRET.search(text)
    if aws:
        return "an AWS secret access key (shared credentials format)", text.count("\n", 0, aws.start()) + 1
    if _GCP_TYPE.search(text) and (gcp := _GCP_KEY.search(text)):
        return "a GCP service-account key", text.count("\n", 0, gcp.start()) + 1
    if name in _AZURE_CACHES:
        return f"an Azure CLI token cache ({name})", None
    if name.endswith(".json") and _AZURE_TENANT.search(text) and (azure := _AZURE_SECRET.search(text)):
        return "an Azure service-principal secret", text.count("\n", 0, azure.start()) + 1
    return None


def _production_dotenv(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(PRODUCTION_DOTENV.id, 0)
    for file in ctx.repo.files:
        if not _is_dotenv(file.name) or file.is_encrypted:
            continue
        ctx.count(PRODUCTION_DOTENV.id)
        if not matches_any(file.rel, ctx.settings.production_paths):
            continue
        if file.text is not None and not credentials_in_text.file_holds_credential(file.rel, file.text, env=True):
            continue  # only references (op://, ${VAR}), placeholders and settings such as version pins
        yield Violation(
            PRODUCTION_DOTENV.id,
            file.rel,
            None,
            "a plaintext .env file is committed under a production path",
            f"encrypt it (`sops --encrypt --in-place {file.rel}`) or remove it and load the values "
            "from a secret store; commit a `.env.example` with empty values instead",
        )


def _is_dotenv(name: str) -> bool:
    if name.endswith(_DOTENV_TEMPLATES):
        return False
    return name == ".env" or name.startswith(".env.") or name.endswith(".env")


PRIVATE_KEY = Check(
    id="private-key",
    title="Plaintext private key",
    catches="PEM, OpenSSH or PGP private key blocks, age identities (AGE-SECRET-KEY-1...) "
    "and *.agekey files.",
    fix="Remove the file (and purge it from history), rotate the key, keep keys out of Git "
    "(add *.agekey to .gitignore) or sops-encrypt them.",
    run=_private_keys,
)
KUBECONFIG = Check(
    id="kubeconfig",
    title="Kubeconfig with embedded credentials",
    catches="A kubeconfig (kind: Config) whose users carry a token, client-key-data, password or "
    "auth-provider secrets in plaintext.",
    fix="Remove it and revoke the credentials; use an exec credential plugin, or sops-encrypt the file.",
    run=_kubeconfigs,
)
CLOUD_CREDENTIALS = Check(
    id="cloud-credentials",
    title="Cloud credential file",
    catches="AWS shared credentials with aws_secret_access_key, GCP service-account key JSON, Azure CLI "
    "token caches and Azure service-principal JSON with a client secret.",
    fix="Remove the file, revoke the credential, and use workload identity or a sops-encrypted file.",
    run=_cloud_credentials,
)
PRODUCTION_DOTENV = Check(
    id="production-dotenv",
    title="Plaintext .env file under a production path",
    catches="A .env / .env.* / *.env file (not .example/.sample/.template) that is not SOPS-encrypted "
    "under a sopskit.production_paths glob and holds a credential (not only references or settings).",
    fix="sops-encrypt it (dotenv is a sops format) or remove it; commit an .env.example with empty values.",
    run=_production_dotenv,
)
