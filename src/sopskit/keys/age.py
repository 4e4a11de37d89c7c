"""age master keys: X25519 and SSH recipients through pyrage, hybrid post-quantum
(``age1pq1…``, stanza ``mlkem768x25519``) natively (:mod:`sopskit.keys.age_pq`), and tag
recipients (``age1tag1…``, ``age1tagpq1…``, hardware keys) as encrypt-only recipients through
pyrage's ``tag``/``tagpq`` modules.

sops wraps the data key (or a Shamir share) with ``age.Encrypt`` to a single recipient and
stores the ASCII-armoured result: ``-----BEGIN AGE ENCRYPTED FILE-----``, 64-column standard
base64, ``-----END AGE ENCRYPTED FILE-----`` and a final newline. The record has only
``recipient`` and ``enc`` (no creation date). The armour is read as strictly as age's
``armor.Reader`` (CCTV ``armor_*`` vectors): whitespace around the block and CRLF line ends
are allowed, anything else non-canonical is refused.

Decryption uses the identities given in :class:`KeyContext.age_identities` when set, else the
sources sops reads (:mod:`sopskit.keys.identities`); post-quantum identities open
``mlkem768x25519`` stanzas natively, the others go to pyrage. Identity material never
appears in a message: failures name the recipient, its key type and the sources looked at.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Mapping, Sequence

from sopskit.errors import ConfigError, MasterKeyError
from sopskit.format.metadata import KeyRecord
from sopskit.keys.age_format import dearmor_age
from sopskit.keys.base import KeyContext, SingleIdKey, quote_key_input, split_key_list
from sopskit.keys.identities import PQ_PREFIX as PQ_IDENTITY_PREFIX
from sopskit.keys.identities import PQ_RECIPIENT_PREFIX, X25519_PREFIX, DiscoveredIdentities, discover_identities

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, Self

_SSH_PREFIXES = ("ssh-ed25519 ", "ssh-rsa ")
_TAG_PREFIX = "age1tag1"
_TAGPQ_PREFIX = "age1tagpq1"
#: what to tell a user who has no matching identity
AGE_HINT = (
    "set SOPS_AGE_KEY_FILE (or SOPS_AGE_KEY / SOPS_AGE_KEY_CMD) to an identity of this recipient, "
    "or read the cluster's key into memory with `sopskit decrypt --from-cluster FILE`"
)


def recipient_kind(recipient: str) -> str:
    """The key type of a recipient, as messages name it."""
    if recipient.startswith(PQ_RECIPIENT_PREFIX):
        return "post-quantum (mlkem768x25519)"
    if recipient.startswith(_TAGPQ_PREFIX):
        return "post-quantum hardware tag (mlkem768p256tag)"
    if recipient.startswith(_TAG_PREFIX):
        return "hardware tag (p256tag)"
    if recipient.startswith("age1") and recipient.count("1") > 1:
        return "plugin"
    if recipient.startswith("age1"):
        return "X25519"
    if recipient.startswith("ssh-"):
        return "SSH"
    return "unknown"


def identity_kind(identity: str) -> str:
    if identity.startswith(PQ_IDENTITY_PREFIX):
        return "post-quantum"
    if identity.startswith(X25519_PREFIX):
        return "X25519"
    return "SSH" if "PRIVATE KEY-----" in identity else "unknown"


def is_post_quantum(recipient: str) -> bool:
    """True for recipients that resist a quantum computer (``age1pq1…``, ``age1tagpq1…``)."""
    return recipient.startswith((PQ_RECIPIENT_PREFIX, _TAGPQ_PREFIX))


# -- armour ---------------------------------------------------------------------------------

def armor_age(binary: bytes) -> str:
    """ASCII armour as age's ``armor.Writer`` produces it (and sops stores it)."""
    from sopskit.keys.age_format import armor

    return armor(binary)


# -- keys and identities --------------------------------------------------------------------

def _parse_recipient(recipient: str) -> Any:
    """A recipient object with either ``wrap`` (native) or pyrage's recipient interface."""
    from pyrage import RecipientError, ssh, tag, tagpq, x25519

    from sopskit.keys.age_pq import PqKeyError, PqRecipient

    kind = recipient_kind(recipient)
    try:
        if recipient.startswith(PQ_RECIPIENT_PREFIX):
            return PqRecipient.from_str(recipient)
        if recipient.startswith(_TAGPQ_PREFIX):
            return tagpq.Recipient.from_str(recipient)
        if recipient.startswith(_TAG_PREFIX):
            return tag.Recipient.from_str(recipient)
        if kind == "plugin":
            raise ConfigError(f"age: plugin recipient {quote_key_input(recipient)} is not supported")
        if kind == "X25519":
            return x25519.Recipient.from_str(recipient)
        if kind == "SSH" and recipient.startswith(_SSH_PREFIXES):
            return ssh.Recipient.from_str(recipient)
    except (RecipientError, PqKeyError) as exc:
        why = f" ({exc})" if isinstance(exc, PqKeyError) else ""
        raise ConfigError(
            f"age: {quote_key_input(recipient)} is not a valid {kind} recipient{why}"
        ) from exc
    raise ConfigError(f"age: unknown recipient type: {quote_key_input(recipient)}")


def _parse_identity(identity: str) -> Any:
    """A native (X25519, post-quantum) or pyrage (SSH) identity object; raises ValueError
    without echoing the input. X25519 is native so that a plain decrypt never loads pyrage."""
    if identity.startswith(PQ_IDENTITY_PREFIX):  # the post-quantum code loads only for such a key
        from sopskit.keys.age_pq import PqIdentity, PqKeyError

        try:
            return PqIdentity.from_str(identity)
        except PqKeyError:
            raise ValueError(f"malformed {identity_kind(identity)} identity") from None
    if identity.startswith(X25519_PREFIX):
        from sopskit.keys.age_x25519 import X25519Identity, X25519KeyError

        try:
            return X25519Identity.from_str(identity)
        except X25519KeyError:
            raise ValueError(f"malformed {identity_kind(identity)} identity") from None
    if "PRIVATE KEY-----" in identity:
        from pyrage import IdentityError, ssh

        try:
            return ssh.Identity.from_buffer(identity.encode())
        except IdentityError:
            raise ValueError(f"malformed {identity_kind(identity)} identity") from None
    raise ValueError("unknown identity type")


def public_key_of(identity: str) -> str:
    """The recipient of an identity: ``age1pq1…`` for a post-quantum identity, ``age1…`` for
    X25519, ``ssh-… AAAA…`` for an SSH key."""
    identity = identity.strip()
    if identity.startswith((X25519_PREFIX, PQ_IDENTITY_PREFIX)):
        try:
            return str(_parse_identity(identity).to_public())
        except ValueError as exc:
            raise ConfigError(f"age: {exc}") from None
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


def generate_identity(*, pq: bool = False) -> tuple[str, str]:
    """A fresh identity and its recipient, in memory only: ``(identity, recipient)``.

    ``pq=True`` makes a hybrid post-quantum (ML-KEM-768 + X25519) identity, as
    ``age-keygen -pq`` does; the default stays X25519.
    """
    if pq:
        from sopskit.keys.age_pq import PqIdentity

        native = PqIdentity.generate()
        return str(native), str(native.to_public())
    from pyrage import x25519

    identity = x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def encrypt_age(plaintext: bytes, recipient: str) -> bytes:
    """A binary age file of ``plaintext`` for one recipient (any supported type)."""
    import pyrage

    from sopskit.keys import age_format

    parsed = _parse_recipient(recipient)
    if hasattr(parsed, "wrap"):
        file_key = age_format.new_file_key()
        return age_format.encrypt(file_key, [parsed.wrap(file_key)], plaintext)
    try:
        binary: bytes = pyrage.encrypt(plaintext, [parsed])
    except pyrage.EncryptError as exc:
        raise MasterKeyError(f"age: could not encrypt to {recipient_kind(recipient)} recipient {recipient}") from exc
    return binary


class AgeDecryptError(ValueError):
    """No identity opened the file, or the file is damaged; ``kind`` is ``no match`` or a
    CCTV failure word (``header failure``, ``HMAC failure``, ``payload failure``...)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def decrypt_age(binary: bytes, identities: Sequence[Any]) -> bytes:
    """Decrypt a binary age file with parsed identities (from :func:`_parse_identity`).

    X25519 and post-quantum identities are tried first on the native path; if none of them
    matches a stanza, the SSH ones go to pyrage. A damaged header found on the native path is
    final: a different identity cannot make it valid.
    """
    from sopskit.keys import age_format

    # a native identity exists only if its module was loaded (by _parse_identity). Another
    # thread may be importing one right now (a pool wrapping for an age1pq recipient): a module
    # still without its class cannot have made an instance yet
    native_types = tuple(
        cls
        for module, name in ((sys.modules.get("sopskit.keys.age_pq"), "PqIdentity"),
                             (sys.modules.get("sopskit.keys.age_x25519"), "X25519Identity"))
        if module is not None and (cls := getattr(module, name, None)) is not None
    )
    native = [i for i in identities if isinstance(i, native_types)]
    classical = [i for i in identities if not isinstance(i, native_types)]
    try:  # rage accepts some headers age refuses (CCTV stanza_missing_body): check as age does
        age_format.parse_header(binary)
    except age_format.AgeFormatError as exc:
        raise AgeDecryptError(str(exc), exc.kind) from None
    if native:
        try:
            return age_format.decrypt(binary, [i.unwrap for i in native])
        except age_format.AgeNoMatchError as exc:
            if not classical:
                raise AgeDecryptError(str(exc), exc.kind) from None
        except age_format.AgeFormatError as exc:
            raise AgeDecryptError(str(exc), exc.kind) from None
    if not classical:
        raise AgeDecryptError("age: no identity matched any of the recipients", "no match")
    import pyrage

    try:
        plain: bytes = pyrage.decrypt(binary, classical)
    except pyrage.DecryptError as exc:
        raise AgeDecryptError(f"age: {exc}", "no match or damaged") from None
    return plain


class AgeKey(SingleIdKey):
    """One age recipient; wraps the data key to it and unwraps with matching identities."""

    key_type: ClassVar[str] = "age"
    id_field: ClassVar[str] = "recipient"

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient.strip()
        _parse_recipient(self.recipient)  # validate early: ConfigError for a bad spec

    @classmethod
    def from_spec(cls, spec: str | Mapping[str, Any]) -> Self:
        if isinstance(spec, Mapping):
            spec = str(spec.get("recipient", ""))
        if not isinstance(spec, str) or not spec.strip():
            raise ConfigError("age: empty recipient")
        return cls(spec)

    @classmethod
    def from_record(cls, record: KeyRecord) -> Self:
        recipient = str(record.fields.get("recipient") or "")
        key = cls.__new__(cls)  # records are not re-validated: decrypt must still report
        key.recipient = recipient.strip()
        return key

    def to_string(self) -> str:
        return self.recipient

    @property
    def kind(self) -> str:
        """``X25519``, ``post-quantum (mlkem768x25519)``, ``SSH``... for messages."""
        return recipient_kind(self.recipient)

    def encrypt(self, data_key: bytes, *, now: _dt.datetime, context: KeyContext) -> KeyRecord:
        binary = encrypt_age(data_key, self.recipient)
        return KeyRecord("age", {"recipient": self.recipient, "enc": armor_age(binary)})

    def decrypt(self, record: KeyRecord, *, context: KeyContext) -> bytes:
        if self.recipient.startswith((_TAG_PREFIX, _TAGPQ_PREFIX)):
            raise MasterKeyError(
                f"age: {self.kind} recipient {self.recipient} is encrypt-only here: its identity "
                "lives on a hardware key (use age with its plugin, or another key group)",
                hint=AGE_HINT,
            )
        found = self._identities(context)
        parsed = []
        for index, identity in enumerate(found.identities, start=1):
            try:
                parsed.append(_parse_identity(identity))
            except ValueError as exc:
                found.errors.append(f"identity #{index}: {exc}")
        if not parsed:
            raise MasterKeyError(
                f"age: no identities available to decrypt for {self.kind} recipient {self.recipient} "
                f"({found.describe()})",
                hint=AGE_HINT,
            )
        binary = dearmor_age(record.enc)
        try:
            return decrypt_age(binary, parsed)
        except AgeDecryptError as exc:
            kinds = sorted({identity_kind(i) for i in found.identities})
            if exc.kind in ("no match", "no match or damaged"):
                what = (f"none of {len(parsed)} identities ({', '.join(kinds)}) can decrypt for "
                        f"{self.kind} recipient {self.recipient}")
            else:
                what = f"the data key for {self.kind} recipient {self.recipient} is damaged ({exc.kind}: {exc})"
            raise MasterKeyError(f"age: {what} ({found.describe()})", hint=AGE_HINT) from None

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
