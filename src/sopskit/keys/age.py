"""age master keys (X25519 and SSH recipients), through pyrage.

sops wraps the data key (or a Shamir share) with ``age.Encrypt`` to a single recipient and
stores the ASCII-armoured result: ``-----BEGIN AGE ENCRYPTED FILE-----``, 64-column standard
base64, ``-----END AGE ENCRYPTED FILE-----`` and a final newline. The record has only
``recipient`` and ``enc`` (no creation date).

Decryption uses the identities given in :class:`KeyContext.age_identities` when set, else the
sources sops reads (:mod:`sopskit.keys.identities`). Identity material never appears in a
message: failures name the recipient and the sources looked at.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from sopskit.errors import ConfigError, FormatError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.base import KeyContext, quote_key_input, split_key_list
from sopskit.keys.identities import X25519_PREFIX, DiscoveredIdentities, discover_identities

_ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"
_ARMOR_END = "-----END AGE ENCRYPTED FILE-----"
_ARMOR_COLUMNS = 64
_BINARY_MAGIC = "age-encryption.org/"
_SSH_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ")
#: what to tell a user who has no matching identity
AGE_HINT = (
    "set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY / SOPS_AGE_KEY_CMD) to an identity of this recipient, "
    "or read the cluster's key into memory with `sopskit decrypt --from-cluster FILE`"
)


# -- armour ---------------------------------------------------------------------------------

def armor_age(binary: bytes) -> str:
    """ASCII armour as age's ``armor.Writer`` produces it (and sops stores it)."""
    encoded = base64.b64encode(binary).decode()
    lines = [encoded[i : i + _ARMOR_COLUMNS] for i in range(0, len(encoded), _ARMOR_COLUMNS)]
    return "\n".join([_ARMOR_BEGIN, *lines, _ARMOR_END]) + "\n"


def dearmor_age(text: str) -> bytes:
    """The binary age file inside ``text``, read as leniently as age's armour reader.

    Leading blank lines, trailing whitespace and CRLF line ends are accepted; the header,
    footer and at most 64-column lines are required. Unarmoured age files pass through.
    """
    stripped = text.lstrip()
    if stripped.startswith(_BINARY_MAGIC):
        return text.encode()
    lines = [line.rstrip() for line in stripped.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 2 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END:
        raise FormatError("age: the encrypted data key is not an armoured age file")
    body = lines[1:-1]
    if any(len(line) > _ARMOR_COLUMNS for line in body):
        raise FormatError("age: armoured data key has lines longer than 64 columns")
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError("age: armoured data key is not valid base64") from exc


# -- keys and identities --------------------------------------------------------------------

def _parse_recipient(recipient: str) -> Any:
    from pyrage import RecipientError, ssh, x25519

    try:
        if recipient.startswith("age1pq1"):
            raise ConfigError(f"age: post-quantum recipient {recipient} is not supported")
        if recipient.startswith("age1") and recipient.count("1") > 1:
            raise ConfigError(f"age: plugin recipient {recipient} is not supported")
        if recipient.startswith("age1"):
            return x25519.Recipient.from_str(recipient)
        if recipient.startswith(_SSH_PREFIXES):
            return ssh.Recipient.from_str(recipient)
    except RecipientError as exc:
        raise ConfigError(f"age: {quote_key_input(recipient)} is not a valid recipient") from exc
    raise ConfigError(f"age: unknown recipient type: {quote_key_input(recipient)}")


def _parse_identity(identity: str) -> Any:
    """A pyrage identity object; raises ValueError without echoing the input."""
    from pyrage import IdentityError, ssh, x25519

    try:
        if identity.startswith(X25519_PREFIX):
            return x25519.Identity.from_str(identity)
        if "PRIVATE KEY-----" in identity:
            return ssh.Identity.from_buffer(identity.encode())
    except IdentityError:
        raise ValueError("malformed identity") from None
    raise ValueError("unknown identity type")


def public_key_of(identity: str) -> str:
    """The recipient of an identity: ``age1…`` for X25519, ``ssh-… AAAA…`` for an SSH key."""
    identity = identity.strip()
    if identity.startswith(X25519_PREFIX):
        return str(_parse_identity(identity).to_public())
    if "PRIVATE KEY-----" in identity:
        from cryptography.hazmat.primitives import serialization

        try:
            key = serialization.load_ssh_private_key(identity.encode(), password=None)
        except (ValueError, TypeError):
            raise ConfigError("age: the SSH identity cannot be read (encrypted or malformed)") from None
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        return public.decode()
    raise ConfigError("age: not an age or SSH identity")


def generate_identity() -> tuple[str, str]:
    """A fresh X25519 identity and its recipient, in memory only: ``(identity, recipient)``."""
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


class AgeKey:
    """One age recipient; wraps the data key to it and unwraps with matching identities."""

    key_type: ClassVar[str] = "age"

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient.strip()
        _parse_recipient(self.recipient)  # validate early: ConfigError for a bad spec

    def __repr__(self) -> str:
        return f"AgeKey({self.recipient!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AgeKey) and other.recipient == self.recipient

    def __hash__(self) -> int:
        return hash(("age", self.recipient))

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> AgeKey:
        if isinstance(spec, Mapping):
            spec = str(spec.get("recipient", ""))
        if not isinstance(spec, str) or not spec.strip():
            raise ConfigError("age: empty recipient")
        return cls(spec)

    @classmethod
    def from_record(cls, record: KeyRecord) -> AgeKey:
        recipient = str(record.fields.get("recipient") or "")
        key = cls.__new__(cls)  # records are not re-validated: decrypt must still report
        key.recipient = recipient.strip()
        return key

    def to_string(self) -> str:
        return self.recipient

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        import pyrage

        recipient = _parse_recipient(self.recipient)
        try:
            binary: bytes = pyrage.encrypt(data_key, [recipient])
        except pyrage.EncryptError as exc:
            raise MasterKeyError(f"age: could not encrypt to {self.recipient}") from exc
        return KeyRecord("age", {"recipient": self.recipient, "enc": armor_age(binary)})

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        import pyrage

        found = self._identities(context)
        parsed = []
        for index, identity in enumerate(found.identities, start=1):
            try:
                parsed.append(_parse_identity(identity))
            except ValueError as exc:
                found.errors.append(f"identity #{index}: {exc}")
        if not parsed:
            raise MasterKeyError(
                f"age: no identities available to decrypt for recipient {self.recipient} "
                f"({found.describe()})",
                hint=AGE_HINT,
            )
        binary = dearmor_age(record.enc)
        try:
            plain: bytes = pyrage.decrypt(binary, parsed)
        except pyrage.DecryptError as exc:
            raise MasterKeyError(
                f"age: none of {len(parsed)} identities can decrypt for recipient {self.recipient} "
                f"({found.describe()})",
                hint=AGE_HINT,
            ) from exc
        return plain

    def _identities(self, context: KeyContext) -> DiscoveredIdentities:
        if context.age_identities is not None:
            given = DiscoveredIdentities()
            given.add("the identities given", [i.strip() for i in context.age_identities if i.strip()])
            return given
        return discover_identities(
            context.env, recipient=self.recipient, passphrase_reader=context.passphrase_reader
        )


def parse_recipients(text: str) -> list[AgeKey]:
    """``--age`` / ``SOPS_AGE_RECIPIENTS`` / ``.sops.yaml`` ``age``: a comma-separated list."""
    return [AgeKey(item) for item in split_key_list(text)]


def keys_from_identities(identities: Sequence[str]) -> list[AgeKey]:
    """The age keys that the given identities can decrypt (for ``updatekeys`` style checks)."""
    return [AgeKey(public_key_of(identity)) for identity in identities]
