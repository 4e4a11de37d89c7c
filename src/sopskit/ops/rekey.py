"""Re-wrapping a data key for new key groups, and rotating it.

Three use cases share this module because they share one step, "wrap this data key for these
groups": ``rotate`` (a *new* data key, every value re-encrypted, recipients optionally added
or removed), ``groups add``/``groups delete`` and ``updatekeys`` (the *same* data key wrapped
for a different set of keys; no value is touched).

sops's rules kept here: ``--add-*`` keys go to the first group, ``--rm-*`` keys leave every
group (compared by their string form), rotate does not update ``version``.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sopskit.errors import ConfigError, SopsError, UsageError
from sopskit.format.codec import ValueCipher
from sopskit.format.metadata import KeyRecord, Metadata
from sopskit.keys import key_from_record, key_from_spec
from sopskit.keys.base import KeyContext, MasterKey
from sopskit.ops.document import DEFAULT_DECRYPTION_ORDER, OpenedDocument, seal
from sopskit.ops.document import emit_encrypted as _emit
from sopskit.ops.files import atomic_write, read_for_update
from sopskit.ops.sopsfile import open_encrypted, parse_encrypted
from sopskit.stores import format_for_path, get_store

RngFn = Callable[[int], bytes]


def key_label(key: MasterKey) -> str:
    """``"age age1…"``: the key type and its identity, as reports show it."""
    return f"{key.key_type} {key.to_string()}"


def record_label(record: KeyRecord) -> str:
    try:
        return key_label(key_from_record(record))
    except SopsError:
        return f"{record.key_type} (unreadable record)"


def keys_of(metadata: Metadata) -> list[list[MasterKey]]:
    """The master keys of a file's key groups, in stored order."""
    return [[key_from_record(r) for r in group] for group in metadata.key_groups]


def change_keys(
    groups: Sequence[Sequence[MasterKey]],
    *,
    add: Mapping[str, Sequence[str]] | None = None,
    remove: Mapping[str, Sequence[str]] | None = None,
) -> list[list[MasterKey]]:
    """sops's ``--add-*``/``--rm-*``: add to the first group, remove from all groups."""
    out = [list(g) for g in groups] or [[]]
    for key_type, specs in (add or {}).items():
        for spec in specs:
            key = key_from_spec(key_type, spec)
            if key_label(key) not in {key_label(k) for k in out[0]}:
                out[0].append(key)
    gone = {key_label(key_from_spec(t, s)) for t, specs in (remove or {}).items() for s in specs}
    out = [[k for k in g if key_label(k) not in gone] for g in out]
    if any(not g for g in out):
        raise ConfigError(
            "removing these keys would leave a key group empty",
            hint="keep at least one key in every group, or delete the group with `sopskit groups delete`",
        )
    return out


def rewrap(
    metadata: Metadata,
    data_key: bytes,
    groups: Sequence[Sequence[MasterKey]],
    *,
    threshold: int | None = None,
    context: KeyContext,
    now: _dt.datetime | None = None,
    rng: RngFn = os.urandom,
) -> None:
    """Replace ``metadata``'s key groups by ``data_key`` wrapped for ``groups``.

    ``threshold`` None keeps the file's; it is capped at the number of groups, as sops does.
    Values, ``lastmodified``, MAC and ``version`` are left alone.
    """
    from sopskit.keys.datakey import wrap_data_key

    wanted = metadata.shamir_threshold if threshold is None else threshold
    if len(groups) > 1:
        wanted = min(wanted or len(groups), len(groups))
    records, effective = wrap_data_key(
        data_key, groups, wanted, now=now or _dt.datetime.now(_dt.UTC), rng=rng, context=context
    )
    metadata.key_groups = records
    metadata.shamir_threshold = effective if len(records) > 1 else 0


def rotate_document(
    opened: OpenedDocument,
    *,
    add: Mapping[str, Sequence[str]] | None = None,
    remove: Mapping[str, Sequence[str]] | None = None,
    context: KeyContext,
    now: _dt.datetime | None = None,
    rng: RngFn = os.urandom,
) -> OpenedDocument:
    """A new data key for an opened document: re-wrapped, every value re-encrypted."""
    from sopskit.keys.datakey import generate_data_key

    groups = change_keys(keys_of(opened.metadata), add=add, remove=remove)
    new_key = generate_data_key(rng)
    rewrap(opened.metadata, new_key, groups, context=context, now=now, rng=rng)
    cipher = ValueCipher(new_key, rng=rng)
    rotated = OpenedDocument(opened.branches, opened.metadata, new_key, cipher)
    seal(rotated, now=now)
    return rotated


@dataclass
class RotateResult:
    """What ``rotate`` did to one file (never any value)."""

    path: Path
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    written: bool = False
    error: str | None = None
    output: bytes | None = field(default=None, repr=False)
    #: why the file was not a candidate (a given file that is not a SOPS file), or None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _labels(groups: Sequence[Sequence[MasterKey]]) -> set[str]:
    return {key_label(k) for g in groups for k in g}


def rotate_file(
    path: Path,
    *,
    context: KeyContext,
    add: Mapping[str, Sequence[str]] | None = None,
    remove: Mapping[str, Sequence[str]] | None = None,
    input_format: str | None = None,
    output_format: str | None = None,
    indent: int | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    ignore_mac: bool = False,
    in_place: bool = True,
    dry_run: bool = False,
    now: _dt.datetime | None = None,
    rng: RngFn = os.urandom,
) -> RotateResult:
    """Rotate one file's data key; written atomically when ``in_place`` (else in ``output``)."""
    from sopskit.ops.decrypt import read_input

    fmt = input_format or format_for_path(str(path))
    data = read_for_update(path) if in_place and not dry_run else read_input(path)
    branches, metadata = parse_encrypted(data, input_format=fmt)
    before = _labels(keys_of(metadata))
    after = _labels(change_keys(keys_of(metadata), add=add, remove=remove))
    result = RotateResult(path, sorted(after - before), sorted(before - after))
    if dry_run:
        return result
    opened = open_encrypted(data, parsed=(branches, metadata), context=context, decryption_order=decryption_order,
                            ignore_mac=ignore_mac)
    rotated = rotate_document(opened, add=add, remove=remove, context=context, now=now, rng=rng)
    data = _emit(rotated, get_store(output_format or fmt, indent=indent))
    if in_place:
        atomic_write(path, data)
        result.written = True
    else:
        result.output = data
    return result


def rotate_many(
    paths: Sequence[Path],
    *,
    context: KeyContext,
    add: Mapping[str, Sequence[str]] | None = None,
    remove: Mapping[str, Sequence[str]] | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    dry_run: bool = False,
    input_format: str | None = None,
    ignore_mac: bool = False,
    workers: int | None = None,
    before_file: Callable[[Path], None] | None = None,
    on_done: Callable[[int, RotateResult], None] | None = None,
) -> list[RotateResult]:
    """Rotate many files in place (directories expand to the SOPS files below them); a
    failure is recorded and the next file is tried. Each file's data key is unwrapped once,
    on up to ``workers`` files at a time (default ``pool.DEFAULT_WORKERS``); results come in
    the order the files were found. A given file that is not a SOPS file (or does not exist)
    comes back with ``skipped`` set. ``before_file`` runs in the worker before a file is read
    (a test hook); ``on_done(index, result)`` as each file finishes (progress, reports)."""
    from sopskit.ops.batch import expand_paths, serial_prompts
    from sopskit.ops.pool import DEFAULT_WORKERS, run_bounded

    shared = serial_prompts(context)

    def one(entry: tuple[Path, str | None]) -> RotateResult:
        path, skip = entry
        if skip is not None:
            return RotateResult(path, skipped=skip)
        try:
            if before_file is not None:
                before_file(path)
            return rotate_file(path, context=shared, add=add, remove=remove,
                               decryption_order=decryption_order, dry_run=dry_run,
                               input_format=input_format, ignore_mac=ignore_mac)
        except SopsError as exc:
            return RotateResult(path, error=_one_line(exc))

    return run_bounded(list(expand_paths(paths)), one,
                       workers=DEFAULT_WORKERS if workers is None else workers, on_done=on_done)


def _one_line(exc: SopsError) -> str:
    report = getattr(exc, "report", None)
    text = report() if callable(report) else exc.message
    return str(text).replace("\n", "; ")


def check_group_index(metadata: Metadata, index: int) -> None:
    if not 0 <= index < len(metadata.key_groups):
        raise UsageError(
            f"there is no key group {index}; the file has {len(metadata.key_groups)} "
            f"(numbered from 0)"
        )


__all__ = [
    "RotateResult",
    "change_keys",
    "check_group_index",
    "key_label",
    "keys_of",
    "record_label",
    "rewrap",
    "rotate_document",
    "rotate_file",
    "rotate_many",
]
