"""Key names: does a key hold a credential (``db_password``), or name, locate or describe one
(``secretName``, ``existing_secret``, ``password_length``, ``token_arn``)?

One vocabulary for the policy's reading of Secret values and generator files, its Terraform
variable and output checks, and its look at config files carried in Secrets.
"""

from __future__ import annotations

import re

#: The words that make a key secret-looking, as a regular-expression alternation (case-insensitive)
#: that other patterns embed (a key inside a line of configuration text).
SECRET_WORD = (
    r"pass(?:word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|credentials?|bearer|"
    r"connection[_-]?string"
)
#: A key that holds a credential: a secret word, a ``<kind>_key`` that is key material
#: (``encryption_key``, ``hmac-key``, ``ssh.key``), and salts, seeds, signatures, JWTs,
#: one-time passwords, PINs (not cookies: ``cookie_domain``; ``cookie_secret`` has its own word).
_CREDENTIAL_KEY = re.compile(
    rf"(?i){SECRET_WORD}|"
    r"(?:access|secret|private|encryption|signing|master|license|auth|app|client|shared|session|root|admin|"
    r"crypto|enc|hmac|ssh|tls|psk|pre[_-]?shared|account|storage|webhook)[_.-]?key$|^auth$|salt|seed|"
    r"signature|\.pem$|\.key$|jwt|pin$|(?:^|[_.-])pw$|pwd"
)
#: A key that names something a person types (a password, passphrase or PIN), which may be short
#: and still real, unlike an issued token or key.
PASSWORD_NAME = re.compile(r"(?i)pass|pwd|pin(?:code)?\b|phrase")
#: one-time-password words, matched as whole words of the key (``mfaOtp``, ``TOTP_SECRET``): a
#: substring match took ``hotplug`` and ``footprint`` for credentials
_OTP_WORDS = frozenset({"otp", "totp", "hotp"})
#: Words of a key that names, locates, switches or describes a credential rather than holds it.
POINTER_WORDS = frozenset({
    "name", "names", "ref", "refs", "reference", "path", "paths", "file", "files", "dir", "directory", "mount",
    "url", "uri", "endpoint", "namespace", "type", "enabled", "enable", "disabled", "kind", "mode", "method",
    "provider", "field", "header", "selector", "length", "size", "ttl", "expiry", "expiration", "expire",
    "expires", "duration", "format", "algorithm", "cipher", "hash", "version", "template", "existing", "use",
    "create", "generate", "rotate", "issuer", "audience", "scope", "prefix", "suffix", "location",
    # Terraform's pointer attributes (``secret_arn``, ``key_id``, ``password_rotation``, ``kms_key``)
    "arn", "arns", "id", "ids", "count", "rotation", "policy", "kms", "validity", "lifetime", "timeout",
    "interval", "bits", "comment", "description", "label", "note", "notes",
    # the scanner's generic rule: ``DB_PASSWORD_ENV``, ``token_var``, ``secretStore``, ``keyLen``
    "env", "var", "len", "store", "required", "annotation", "generator",
})
#: The pointer words as an alternation, longest first, for patterns that match a key's last
#: characters (the scanner reads ``secretName`` out of a line, with no word split).
POINTER_ALTERNATION = "|".join(sorted(POINTER_WORDS, key=lambda w: (-len(w), w)))
#: A key that names who or where, not a credential, even with "auth" or "client" in it
#: (``BASIC_AUTH_USERNAME``, ``OAUTH_CLIENT_ID``, ``issuer_url``, ``token_endpoint``).
IDENTITY_KEY = re.compile(
    r"(?i)(?:user(?:_?name)?|login|e-?mail|[_.-]id|name|ur[il]|host(?:name)?|port|realm|domain|issuer|endpoint)$"
)
#: The public half of a key pair (``public_key_openssh``, ``ssh_pubkey``, ``tls_public_key_pem``).
PUBLIC_KEY_NAME = re.compile(r"(?i)pub(?:lic)?[_.-]?key")
_SECRET_WORD = re.compile(rf"(?i){SECRET_WORD}")
#: ``adminPassword`` -> admin, Password; ``TLS_KEY`` -> TLS, KEY; ``secret2`` -> secret2
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def key_words(key: str) -> set[str]:
    """The lower-cased words of a key's last path segment (``a/b.c_dName`` -> c, d, name)."""
    return {w.lower() for w in _WORD.findall(key.rsplit("/", 1)[-1])}


#: Password managers whose names hold a secret word: ``onepassword_vault`` names a vault and
#: ``keepass_db`` a database file; ``onepassword_token`` is still a credential by its own word.
_PRODUCT_NAMES = re.compile(r"(?i)one[_-]?password|1password|lastpass|keepass(?:xc)?|passbolt")


def is_credential_name(key: str) -> bool:
    """A key that holds a credential (``db_password``, ``auth``), not one that names,
    locates or describes it (``secretName``, ``existing_secret``, ``passwordFile``,
    ``token-path``, ``secret_arn``, ``password_length``), nor a password manager's vault or
    item (``onepassword_vault``)."""
    key = _PRODUCT_NAMES.sub("_", key)
    if not _CREDENTIAL_KEY.search(key) and not key_words(key) & _OTP_WORDS:
        return False
    return not key_words(key) & POINTER_WORDS


def is_public_name(key: str) -> bool:
    """A key whose name says its value is public by design: an identifier, a user name, an
    address (``client_id``, ``db_username``, ``issuer_url``) or a public key, with no secret word
    (``secret_id``, an AppRole credential, and ``api_key_id`` are not)."""
    if PUBLIC_KEY_NAME.search(key):
        return True
    return bool(IDENTITY_KEY.search(key)) and not _SECRET_WORD.search(key)


#: A key's last word that says "identifier": ``TUNNEL_ID``, ``tunnelId``, ``zone-id``.
_ID_SUFFIX = re.compile(r"(?:^|[_.-])(?:id|ID|Id)$|[a-z0-9]Id$")


def is_identifier_name(key: str) -> bool:
    """A key whose name says it holds an identifier (``CLOUDFLARE_TUNNEL_ID``, ``zoneId``), not
    a credential: the word before ``id`` is no secret word (``secret_id``, an AppRole
    credential, ``api_key_id`` and ``token_id`` are not identifiers here)."""
    last = key.rsplit("/", 1)[-1]
    if not _ID_SUFFIX.search(last):
        return False
    words = _WORD.findall(last)
    before = words[-2].lower() if len(words) >= 2 else ""
    return not (_SECRET_WORD.fullmatch(before) or before in {"key", "pass", "pwd", "auth", "access"})


#: The identifier half of an S3-style key pair (``AWS_ACCESS_KEY_ID``, ``minio_access_key``,
#: ``accessKeyId``); group 1 is the prefix the secret half shares.
ACCESS_KEY_ID = re.compile(r"(?i)^(.*?)access[_-]?key(?:[_-]?id)?$")
#: The secret half's last words, after that prefix.
SECRET_HALVES = ("secret_key", "secret_access_key", "secret")
_SEPARATORS = re.compile(r"[_.-]")


def key_pair_identifiers(keys: list[str]) -> set[str]:
    """The keys that are the identifier half of an S3-style key pair: ``S3_ACCESS_KEY_ID``
    beside ``S3_SECRET_ACCESS_KEY``, ``MINIO_ACCESS_KEY`` beside ``MINIO_SECRET_KEY`` (or
    ``access_key`` beside ``secret``). Like AWS's access key ID, the identifier is not a
    credential; its secret half is, and is judged on its own. An ``access_key`` with no secret
    half beside it (Azure's ``primary_access_key`` is the whole credential) is not one."""

    def flat(name: str) -> str:
        return _SEPARATORS.sub("", name.lower())

    present = {flat(name) for name in keys}
    pairs = set()
    for name in keys:
        match = ACCESS_KEY_ID.match(name)
        if match and any(flat(match.group(1) + half) in present for half in SECRET_HALVES):
            pairs.add(name)
    return pairs
