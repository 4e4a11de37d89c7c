"""Open (decrypt) and seal (encrypt) whole documents: the steps every use case shares.

An :class:`OpenedDocument` is a decrypted tree together with everything needed to write it
back *as sops would*: the metadata, the data key and the cipher whose IV stash makes
unchanged values re-encrypt to identical ``ENC[...]`` strings.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence

from sopskit.errors import IntegrityError, NoDocumentError, SopsError
from sopskit.format.codec import ValueCipher, format_time
from sopskit.format.metadata import SOPS_FORMAT_VERSION, Metadata, metadata_to_plain
from sopskit.format.selection import SelectionRules
from sopskit.format.tree import TreeMap
from sopskit.format.treecrypt import decrypt_branches, encrypt_branches
from sopskit.keys.base import KeyContext, MasterKey
from sopskit.record import Record
from sopskit.stores import read_encrypted

TYPE_CHECKING = False
if TYPE_CHECKING:
    from sopskit.stores.base import Store

RngFn = Callable[[int], bytes]
DEFAULT_DECRYPTION_ORDER = ("age", "pgp")


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


class OpenedDocument(Record):
    """A decrypted document that can be sealed again with the same data key.

    This and :class:`EncryptionPlan` are records, not dataclasses: the decrypt path must not
    import :mod:`dataclasses` (see ``docs/performance.md``). The repr never shows the
    decrypted values, the data key or the cipher holding it."""

    __slots__ = ("branches", "cipher", "data_key", "metadata")
    _fields = ("branches", "metadata", "data_key", "cipher")
    _hidden = ("branches", "data_key", "cipher")

    def __init__(self, branches: list[TreeMap], metadata: Metadata, data_key: bytes, cipher: ValueCipher) -> None:
        self.branches = branches
        self.metadata = metadata
        self.data_key = data_key
        self.cipher = cipher


class EncryptionPlan(Record):
    """Which master keys wrap the data key, and which values get encrypted."""

    __slots__ = ("key_groups", "mac_only_encrypted", "selection", "shamir_threshold")
    _fields = ("key_groups", "shamir_threshold", "selection", "mac_only_encrypted")

    def __init__(self, key_groups: list[list[MasterKey]], shamir_threshold: int = 0,
                 selection: SelectionRules | None = None, mac_only_encrypted: bool = False) -> None:
        self.key_groups = key_groups
        self.shamir_threshold = shamir_threshold
        self.selection: SelectionRules = SelectionRules() if selection is None else selection
        self.mac_only_encrypted = mac_only_encrypted


def recover_key(
    metadata: Metadata,
    *,
    context: KeyContext,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
) -> bytes:
    from sopskit.keys.datakey import recover_data_key

    return recover_data_key(metadata, context=context, decryption_order=decryption_order)


def verify_mac(metadata: Metadata, computed: str, cipher: ValueCipher) -> None:
    """Check the stored MAC against the one computed over the decrypted values."""
    if not metadata.mac:
        raise IntegrityError(
            "the file has no MAC, so its integrity cannot be checked",
            hint="pass --ignore-mac to decrypt it anyway, then re-encrypt it",
        )
    try:
        stored = cipher.decrypt(metadata.mac, metadata.mac_aad())
    except (SopsError, ValueError):
        raise IntegrityError(
            "cannot decrypt the MAC: the file's metadata was modified or belongs to another data key",
            hint="pass --ignore-mac to decrypt it anyway",
        ) from None
    if stored != computed:
        raise IntegrityError(
            "MAC mismatch: the file was modified outside sops or sopskit (a value, key or order changed)",
            hint="if the change is expected, decrypt with --ignore-mac and re-encrypt the file",
        )


def open_document(
    branches: list[TreeMap],
    metadata: Metadata,
    *,
    context: KeyContext,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    ignore_mac: bool = False,
    data_key: bytes | None = None,
    rng: RngFn = os.urandom,
) -> OpenedDocument:
    """Recover the data key, decrypt every value in place and check the MAC."""
    if data_key is None:
        data_key = recover_key(metadata, context=context, decryption_order=decryption_order)
    cipher = ValueCipher(data_key, rng=rng)
    computed = decrypt_branches(
        branches, cipher, metadata.rules, mac_only_encrypted=metadata.mac_only_encrypted
    )
    if not ignore_mac:
        verify_mac(metadata, computed, cipher)
    return OpenedDocument(branches, metadata, data_key, cipher)


def seal(opened: OpenedDocument, *, now: _dt.datetime | None = None, bump_version: bool = False) -> None:
    """Encrypt ``opened.branches`` in place with the document's data key and IV stash.

    Sets a new ``lastmodified`` and MAC, as sops does on edit/set/unset.
    """
    md = opened.metadata
    stamp = format_time((now or utc_now()).replace(microsecond=0))
    mac = encrypt_branches(
        opened.branches, opened.cipher, md.rules, mac_only_encrypted=md.mac_only_encrypted
    )
    md.lastmodified = stamp
    md.mac = opened.cipher.encrypt(mac, stamp.encode())
    if bump_version:
        md.version = SOPS_FORMAT_VERSION


def encrypt_new(
    branches: list[TreeMap],
    plan: EncryptionPlan,
    *,
    context: KeyContext,
    now: _dt.datetime | None = None,
    rng: RngFn = os.urandom,
    data_key: bytes | None = None,
    reuse_from: ValueCipher | None = None,
) -> OpenedDocument:
    """Encrypt plaintext branches in place under a new (or given) data key.

    ``reuse_from`` seeds the IV stash from a cipher that decrypted a previous version of the
    file, so unchanged values keep their IVs.
    """
    from sopskit.keys.datakey import generate_data_key, wrap_data_key

    if not branches:
        raise NoDocumentError("the input has no document to encrypt")
    now = (now or utc_now()).replace(microsecond=0)
    if data_key is None:
        data_key = generate_data_key(rng)
    records, threshold = wrap_data_key(
        data_key, plan.key_groups, plan.shamir_threshold, now=now, rng=rng, context=context
    )
    metadata = Metadata(
        key_groups=records,
        rules=plan.selection,
        shamir_threshold=threshold if len(records) > 1 else 0,
        mac_only_encrypted=plan.mac_only_encrypted,
        version=SOPS_FORMAT_VERSION,
    )
    cipher = ValueCipher(data_key, rng=rng)
    if reuse_from is not None:
        cipher.seed_stash(reuse_from)
    opened = OpenedDocument(branches, metadata, data_key, cipher)
    seal(opened, now=now)
    return opened


def emit_encrypted(opened: OpenedDocument, store: Store) -> bytes:
    return store.emit_encrypted(opened.branches, metadata_to_plain(opened.metadata))


def check_plain_input(branches: list[TreeMap], store: Store) -> None:
    """Refuse input that is already a SOPS file or has no document (sops exit 203 / 92)."""
    from sopskit.errors import AlreadyEncryptedError

    if not branches:
        raise NoDocumentError("the input has no document to encrypt")
    if store.has_sops_metadata(branches[0]):
        raise AlreadyEncryptedError(
            "the file is already encrypted (it has sops metadata)",
            hint="use `sopskit edit`, `sopskit rotate` or `sopskit updatekeys` on encrypted files",
        )


__all__ = [
    "DEFAULT_DECRYPTION_ORDER",
    "EncryptionPlan",
    "OpenedDocument",
    "check_plain_input",
    "emit_encrypted",
    "encrypt_new",
    "open_document",
    "read_encrypted",
    "recover_key",
    "seal",
    "utc_now",
    "verify_mac",
]
