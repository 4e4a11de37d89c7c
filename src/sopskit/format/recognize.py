"""Cheap recognition of SOPS files and values, for the scanner and the policy checks.

These functions never parse fully and never decrypt: they look for the markers every store
writes (a ``sops`` block with ``mac`` and ``lastmodified``, ``ENC[AES256_GCM,…]`` values), so
a guardrail can tell an encrypted file from a plaintext one in microseconds.
"""

from __future__ import annotations

import re

ENC_VALUE_RE = re.compile(
    r"ENC\[AES256_GCM,data:[A-Za-z0-9+/=]*,iv:[A-Za-z0-9+/=]+,tag:[A-Za-z0-9+/=]+,type:[a-z]+\]"
)
AGE_RECIPIENT_RE = re.compile(r"\bage1[02-9ac-hj-np-z]{58}\b")
#: an age identity, X25519 (``AGE-SECRET-KEY-1``) or hybrid post-quantum (``AGE-SECRET-KEY-PQ-1``):
#: the policy check and the scanner's ``age-secret-key`` rule (scan/rules/default.toml, which
#: cannot import it; a test keeps the two equal) look for this one pattern
AGE_IDENTITY_PATTERN = r"\bAGE-SECRET-KEY-(?:PQ-)?1[02-9AC-HJ-NP-Z]{58,2200}\b"
AGE_IDENTITY_RE = re.compile(AGE_IDENTITY_PATTERN.encode())

_YAML_META = re.compile(rb"(?m)^sops:\s*$")
#: the block in YAML flow style (``sops: {`` as kubectl's KYAML output and formatters write it,
#: one key per line or the whole document on one line): sops's YAML parser reads both
_FLOW_META = re.compile(rb'(?m)(?:^|[{,])[ \t]*"?sops"?[ \t]*:[ \t]*\{')
_JSON_META = re.compile(rb'"sops"\s*:\s*\{')
_DOTENV_META = re.compile(rb"(?m)^sops_(?:mac|lastmodified|version)=")
_INI_META = re.compile(rb"(?m)^\[sops\]\s*$")
_MAC_FIELD = re.compile(rb"(?m)(?:^\s*mac\s*[:=]|\"mac\"\s*:|^sops_mac=|[{,][ \t]*mac[ \t]*:)")
_VERSION_FIELD = re.compile(rb"(?m)(?:^\s*version\s*[:=]|\"version\"\s*:|^sops_version=|[{,][ \t]*version[ \t]*:)")
_LASTMOD_FIELD = re.compile(rb"lastmodified")


def is_enc_value(text: str) -> bool:
    """True if ``text`` is exactly one sops ``ENC[...]`` value."""
    return ENC_VALUE_RE.fullmatch(text) is not None


def has_sops_metadata(data: bytes) -> bool:
    """True if the bytes carry a sops metadata block in any store's layout.

    Needs the block marker, its ``lastmodified`` field and a ``mac`` or ``version`` field, so a
    manifest that merely has a key called ``sops`` is not mistaken for an encrypted file. The
    MAC alone is not required: sops opens a file without one (``decrypt --ignore-mac``; its
    own ``functional-tests/res/no_mac.yaml``), while it refuses a block without
    ``lastmodified`` (an RFC 3339 time) or ``version`` before looking for a key.
    """
    if not (_YAML_META.search(data) or _JSON_META.search(data) or _DOTENV_META.search(data)
            or _INI_META.search(data) or _FLOW_META.search(data)):
        return False
    if not _LASTMOD_FIELD.search(data):
        return False
    return bool(_MAC_FIELD.search(data)) or bool(_VERSION_FIELD.search(data))
