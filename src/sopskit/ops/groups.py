"""``groups add`` / ``groups delete``: change a file's key groups without touching its values.

Only the data key is recovered (values stay encrypted and the MAC is not re-computed, as in
sops): the data key is re-wrapped for the new groups and the metadata rewritten.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sopskit.config import KeySpec
from sopskit.errors import ConfigError, UsageError
from sopskit.format.metadata import Metadata, metadata_to_plain
from sopskit.format.tree import TreeMap
from sopskit.keys.base import KeyContext
from sopskit.ops.document import DEFAULT_DECRYPTION_ORDER, recover_key
from sopskit.ops.plan import cli_key_specs, resolve_keys
from sopskit.ops.rekey import check_group_index, keys_of, rewrap
from sopskit.ops.sopsfile import parse_encrypted
from sopskit.stores import get_store
from sopskit.stores.base import Store


def _read_key(data: bytes, input_format: str, context: KeyContext,
              decryption_order: Sequence[str]) -> tuple[Store, list[TreeMap], Metadata, bytes]:
    """The file's store, still-encrypted branches, metadata and recovered data key."""
    branches, metadata = parse_encrypted(data, input_format=input_format)
    return (get_store(input_format), branches, metadata,
            recover_key(metadata, context=context, decryption_order=decryption_order))


def new_group_specs(
    keys: Mapping[str, Sequence[str]],
    *,
    encryption_context: Mapping[str, str] | None = None,
    aws_profile: str | None = None,
) -> list[KeySpec]:
    """The keys of the group to add (metadata key type -> values); at least one is needed."""
    specs = cli_key_specs({t: v for t, v in keys.items() if v},
                          encryption_context=encryption_context, aws_profile=aws_profile)
    if not specs:
        raise UsageError("groups add needs at least one key (--age, --pgp, --kms, ...)")
    return specs


def add_key_group(
    data: bytes,
    specs: Sequence[KeySpec],
    *,
    input_format: str,
    threshold: int | None = None,
    context: KeyContext,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
) -> bytes:
    """The file with one more key group holding ``specs``."""
    store, branches, metadata, data_key = _read_key(data, input_format, context, decryption_order)
    groups = [*keys_of(metadata), *resolve_keys([specs])]
    rewrap(metadata, data_key, groups, threshold=threshold, context=context)
    return store.emit_encrypted(branches, metadata_to_plain(metadata))


def delete_key_group(
    data: bytes,
    index: int,
    *,
    input_format: str,
    threshold: int | None = None,
    context: KeyContext,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
) -> bytes:
    """The file without key group ``index`` (0-based); refuses to leave no group, or fewer
    groups than the Shamir threshold."""
    store, branches, metadata, data_key = _read_key(data, input_format, context, decryption_order)
    check_group_index(metadata, index)
    groups = keys_of(metadata)
    del groups[index]
    if not groups:
        raise ConfigError("cannot delete the only key group: nobody could decrypt the file")
    wanted = threshold if threshold is not None else metadata.shamir_threshold
    if wanted and len(groups) < wanted:
        raise ConfigError(
            f"deleting group {index} leaves {len(groups)} group(s), fewer than the threshold {wanted}",
            hint="lower it with --shamir-secret-sharing-threshold",
        )
    rewrap(metadata, data_key, groups, threshold=threshold, context=context)
    return store.emit_encrypted(branches, metadata_to_plain(metadata))
