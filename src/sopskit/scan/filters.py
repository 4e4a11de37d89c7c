"""Named predicates that turn a regex match into "not a secret".

Each filter answers one question about a candidate, so a reader can see why a decoy was
dropped and a test can exercise each one. Filters look at the candidate secret, its line
and the file; they never need the secret to leave this process.
"""

from __future__ import annotations

import re

from sopskit.format.recognize import AGE_RECIPIENT_RE, ENC_VALUE_RE

#: Inline comments that accept the secret on their line (ours, gitleaks's, detect-secrets's).
ALLOW_MARKERS = (b"sopskit:allow", b"gitleaks:allow", b"pragma: allowlist secret")

#: Substrings that mark a value as a placeholder rather than a credential.
PLACEHOLDER_WORDS = (
    b"example", b"sample", b"placeholder", b"changeme", b"change_me", b"change-me", b"dummy",
    b"redacted", b"your_", b"your-", b"yourkey", b"xxxx", b"****", b"....", b"<", b">", b"${",
    b"{{", b"$(", b"%(", b"todo", b"fixme", b"insert", b"replace",
)

#: Whole values that are obviously not real secrets.
PLACEHOLDER_VALUES = frozenset({
    b"password", b"passw0rd", b"secret", b"token", b"changeit", b"admin", b"root", b"test",
    b"pass", b"none", b"null", b"true", b"false", b"undefined", b"empty",
})

#: Credentials published in vendor documentation (AWS, jwt.io) that are not secrets.
DOCUMENTED_EXAMPLES = frozenset({
    b"AKIAIOSFODNN7EXAMPLE",
    b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    b".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
})

_HEX_HASH = re.compile(rb"(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})",
                       re.IGNORECASE)
_DIGEST = re.compile(rb"(?:sha1|sha224|sha256|sha384|sha512|md5)[-:][A-Za-z0-9+/=]{16,}", re.IGNORECASE)
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_CODE_LIKE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+|.*[()\[\]{}$@%]")
#: ``obj.method(arg`` or ``lower_name(arg``: the start of a call, so the "value" is code. The
#: name must look like code (a dot or underscore, or all lower case) and the argument must
#: start like a name or a quote, so passwords such as ``Hunter(2)`` are still reported.
_CALL_START = re.compile(
    rb"(?:[A-Za-z_][A-Za-z0-9_]*[._][A-Za-z0-9_.]*|[a-z_][a-z0-9_]{2,})\((?:[A-Za-z_)\"'*]|\Z)"
)
#: ``dir/sub/file.ext``: a path to a file, not a credential
_FILE_PATH = re.compile(rb"(?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]+\.[A-Za-z]{2,6}")
_ENC_B = re.compile(ENC_VALUE_RE.pattern.encode())
_AGE_B = re.compile(AGE_RECIPIENT_RE.pattern.encode())
_REPEATED = re.compile(rb"(.)\1{5,}")


def has_allow_comment(line: bytes) -> bool:
    """The line carries an inline allow marker."""
    return any(m in line for m in ALLOW_MARKERS)


def is_placeholder(secret: bytes) -> bool:
    """Template variables, documentation stand-ins and filler, not credentials."""
    low = secret.lower()
    if low in PLACEHOLDER_VALUES or secret in DOCUMENTED_EXAMPLES:
        return True
    if any(w in low for w in PLACEHOLDER_WORDS):
        return True
    return bool(_REPEATED.search(secret)) or low.strip(b"0123456789") == b""


def is_hash_or_id(secret: bytes) -> bool:
    """Hex digests, ``sha512-…`` integrity strings, ``sha256:`` digests and UUIDs."""
    return bool(_HEX_HASH.fullmatch(secret) or _DIGEST.fullmatch(secret) or _UUID.fullmatch(secret)
                or (_UUID.search(secret) and len(secret) <= 40))


def is_code_reference(secret: bytes) -> bool:
    """Code, not a value: ``os.environ.get`` style names, calls such as
    ``self._read(namespace`` and relative file paths such as ``flux/secrets/db.yaml``."""
    return bool(_CODE_LIKE.fullmatch(secret) or _CALL_START.match(secret) or _FILE_PATH.fullmatch(secret))


def is_sops_or_public(secret: bytes, line: bytes, start_in_line: int, end_in_line: int) -> bool:
    """Inside an ``ENC[...]`` value, or an age public key (``age1…``): safe by design."""
    if _AGE_B.search(secret) or b"ENC[AES256_GCM" in secret:
        return True
    return any(m.start() <= start_in_line and end_in_line <= m.end() for m in _ENC_B.finditer(line))
