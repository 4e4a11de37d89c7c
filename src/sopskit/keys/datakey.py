"""The data key: generating it, wrapping it for key groups, and recovering it.

One key group (the usual case): every master key wraps the whole 32-byte data key. Several
groups: the key is split with Shamir into one share per group, ``threshold`` of which recover
it (0 means all groups); every key of group *i* wraps share *i*.

Recovery follows sops (``sops.go`` ``GetDataKeyWithKeyServices``): in each group, keys are
tried in decryption order (the listed types first, in that order, then the rest in their
loaded order) and the first success gives the group's part. With one group that part is the
key; with several, at least ``threshold`` parts are needed and all recovered parts are
combined. When that fails, :class:`DataKeyUnavailableError` lists what every key answered.

Whatever one master key raises while unwrapping is that key's failure, never the command's:
a cloud SDK without credentials or an unreachable service (each backend translates its SDK's
errors into :class:`MasterKeyError`), a missing optional SDK (:class:`MissingExtraError`), or
an exception no backend foresaw (reported by type only: its text may quote data). sops does
the same (``keyservice`` errors are collected per key and the next key is tried), and exits
128 only when no group can be recovered.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence

from sopskit.errors import (
    ConfigError,
    DataKeyUnavailableError,
    DuplicateDecryptionKeyTypeError,
    KeyOutcome,
    MasterKeyError,
    MissingExtraError,
    SopsError,
    UsageError,
)
from sopskit.format.metadata import KEY_TYPES, KeyRecord, Metadata
from sopskit.keys import key_from_record
from sopskit.keys.base import KeyContext, MasterKey

DATA_KEY_SIZE = 32
DEFAULT_DECRYPTION_ORDER = ("age", "pgp")

_HINTS = {
    "age": "age: set SOPS_AGE_KEY_FILE, SOPS_AGE_KEY or SOPS_AGE_KEY_CMD to an identity of a "
           "listed recipient, or read the cluster's key into memory with `sopskit decrypt --from-cluster FILE`",
    "pgp": "pgp: import a listed secret key into GnuPG (GNUPGHOME)",
}


def generate_data_key(rng: Callable[[int], bytes]) -> bytes:
    """32 random bytes from ``rng`` (``os.urandom`` or ``secrets.token_bytes`` in practice)."""
    key = rng(DATA_KEY_SIZE)
    if len(key) != DATA_KEY_SIZE:
        raise ValueError("rng returned the wrong number of bytes")
    return key


def parse_decryption_order(text: str) -> tuple[str, ...]:
    """``--decryption-order`` / ``SOPS_DECRYPTION_ORDER``: comma-separated key types."""
    order = tuple(item.strip() for item in text.split(",") if item.strip())
    seen: set[str] = set()
    for key_type in order:
        if key_type in seen:
            raise DuplicateDecryptionKeyTypeError(f"decryption order lists {key_type!r} twice")
        if key_type not in KEY_TYPES:
            raise UsageError(
                f"unknown key type {key_type!r} in the decryption order",
                hint="use " + ", ".join(sorted(KEY_TYPES)),
            )
        seen.add(key_type)
    return order


def wrap_data_key(
    data_key: bytes,
    groups: Sequence[Sequence[MasterKey]],
    threshold: int,
    *,
    now: _dt.datetime,
    rng: Callable[[int], bytes],
    context: KeyContext,
) -> tuple[list[list[KeyRecord]], int]:
    """Wrap ``data_key`` for every key of every group; return the records and the threshold.

    With several groups the returned threshold is the effective one (0 became the number of
    groups); with one group ``threshold`` is returned unchanged, as sops stores it.
    """
    if not groups:
        raise ConfigError("no key groups: at least one master key is needed")
    for index, group in enumerate(groups):
        if not group:
            raise ConfigError(f"key group {index} is empty")
    if len(groups) == 1:
        parts = [data_key]
    else:
        from sopskit.format import shamir  # only multi-group files need it

        threshold = threshold or len(groups)
        try:
            parts = shamir.split(data_key, len(groups), threshold, rng=rng)
        except shamir.ShamirError as exc:
            raise ConfigError(
                f"cannot split the data key for {len(groups)} key groups with threshold "
                f"{threshold}: {exc.message}"
            ) from exc
    records: list[list[KeyRecord]] = []
    for index, (group, part) in enumerate(zip(groups, parts, strict=True)):
        records.append([_wrap_one(key, part, index, now=now, context=context) for key in group])
    return records, threshold


def _wrap_one(key: MasterKey, part: bytes, group: int, *, now: _dt.datetime,
              context: KeyContext) -> KeyRecord:
    where = f"could not encrypt the data key with {key.key_type} key {key.to_string()} (group {group})"
    try:
        return key.encrypt(part, now=now, context=context)
    except SopsError as exc:
        raise MasterKeyError(f"{where}: {exc.message}", hint=exc.hint) from exc
    except Exception as exc:  # an SDK error the backend did not translate: one line, not a crash
        raise MasterKeyError(f"{where}: {_unexpected(key.key_type, exc)}") from exc


def _unexpected(key_type: str, exc: Exception) -> str:
    """An exception a backend did not translate, named by type only (its text may hold data)."""
    return f"unexpected {type(exc).__name__} from the {key_type} backend"


def _failure(exc: SopsError) -> str:
    """One key's failure for the report; a missing SDK also says what to install."""
    if isinstance(exc, MissingExtraError) and exc.hint:
        return f"{exc.message} ({exc.hint})"
    return exc.message


def order_group(group: Sequence[KeyRecord], decryption_order: Sequence[str]) -> list[KeyRecord]:
    """A group's records in the order they are tried: listed types first, then the rest."""
    rank = {key_type: position for position, key_type in enumerate(decryption_order)}
    unlisted = len(rank)
    return sorted(group, key=lambda record: rank.get(record.key_type, unlisted))  # stable


def _describe(record: KeyRecord) -> str:
    try:
        return key_from_record(record).to_string()
    except SopsError:
        return "(unreadable record)"


def _recover_part(
    index: int, group: Sequence[KeyRecord], *, context: KeyContext,
    decryption_order: Sequence[str], outcomes: list[KeyOutcome],
) -> bytes | None:
    for record in order_group(group, decryption_order):
        label = _describe(record)
        try:
            part = key_from_record(record).decrypt(record, context=context)
        except SopsError as exc:
            outcomes.append(KeyOutcome(index, record.key_type, label, _failure(exc)))
            continue
        except Exception as exc:  # never the command's failure: the next key may work
            outcomes.append(KeyOutcome(index, record.key_type, label, _unexpected(record.key_type, exc)))
            continue
        outcomes.append(KeyOutcome(index, record.key_type, label, None))
        return part
    return None


def _hint(outcomes: Sequence[KeyOutcome]) -> str | None:
    tried = {o.key_type for o in outcomes}
    lines = [_HINTS[key_type] for key_type in DEFAULT_DECRYPTION_ORDER if key_type in tried]
    return "; ".join(lines) or None


def recover_data_key(
    metadata: Metadata,
    *,
    context: KeyContext,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
) -> bytes:
    """Unwrap the data key from the file's key groups (see the module docstring)."""
    outcomes: list[KeyOutcome] = []
    groups = metadata.key_groups
    parts = []
    for index, group in enumerate(groups):
        part = _recover_part(index, group, context=context,
                             decryption_order=decryption_order, outcomes=outcomes)
        if part is not None:
            parts.append(part)
    # a stored 0 with several groups never comes from sops (it saves len(groups)): require all
    needed = 1 if len(groups) == 1 else (metadata.shamir_threshold or len(groups))
    if len(parts) < needed or not parts:
        raise DataKeyUnavailableError(
            f"could not decrypt the data key: {len(parts)} of {len(groups)} key groups "
            f"decrypted, {needed} needed",
            outcomes,
            hint=_hint(outcomes),
        )
    if len(groups) == 1:
        return parts[0]
    from sopskit.format import shamir  # only multi-group files need it

    try:
        return shamir.combine(parts)
    except shamir.ShamirError as exc:
        raise DataKeyUnavailableError(
            f"could not combine the key group shares into the data key: {exc.message}", outcomes
        ) from exc
