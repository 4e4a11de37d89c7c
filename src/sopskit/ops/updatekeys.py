"""``updatekeys``: make a file's key groups match its ``.sops.yaml`` creation rule.

The data key is recovered and wrapped again for the rule's groups; no value is decrypted or
re-encrypted, and ``lastmodified``, the MAC and ``version`` stay as they were, exactly as sops
does, so the diff of an updatekeys commit touches only the key records.

Beyond sops (#1071): many files and directories in one call, a dry run, and a per-file result
instead of stopping at the first failure. The cluster key rotation calls this API.

Many files (sops #885: minutes for a few hundred files on a cloud KMS): each file's data key is
unwrapped exactly once per run, and files are processed by a bounded thread pool
(:func:`run_bounded`), since the time goes into waiting for the key service, not into Python.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sopskit.config import SopsConfig
from sopskit.errors import ConfigError, NoMatchingRuleError, SopsError
from sopskit.format.metadata import metadata_to_plain
from sopskit.keys.base import KeyContext, MasterKey
from sopskit.ops.batch import expand_paths, serial_prompts
from sopskit.ops.decrypt import read_input
from sopskit.ops.document import DEFAULT_DECRYPTION_ORDER, recover_key
from sopskit.ops.files import atomic_write, read_for_update, release
from sopskit.ops.plan import resolve_keys
from sopskit.ops.pool import DEFAULT_WORKERS, run_bounded
from sopskit.ops.rekey import key_label, keys_of, rewrap
from sopskit.ops.sopsfile import parse_encrypted
from sopskit.stores import format_for_path, get_store

RngFn = Callable[[int], bytes]

@dataclass
class GroupDiff:
    """One key group: keys kept, added and removed (``"age age1…"`` strings)."""

    common: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


@dataclass
class UpdateResult:
    """What updatekeys did (or would do) to one file. No value, no key material."""

    path: Path
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: bool = False
    written: bool = False
    groups: list[GroupDiff] = field(default_factory=list)
    #: why the file was not processed (not a SOPS file, no rule), or None
    skipped: str | None = None
    #: one-line error when the file failed, or None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def diff_key_groups(
    current: Sequence[Sequence[MasterKey]], wanted: Sequence[Sequence[MasterKey]]
) -> list[GroupDiff]:
    """Group by group, by string form, like sops's ``diffKeyGroups``."""
    diffs = []
    for i in range(max(len(current), len(wanted))):
        ours = [key_label(k) for k in current[i]] if i < len(current) else []
        theirs = [key_label(k) for k in wanted[i]] if i < len(wanted) else []
        diffs.append(GroupDiff(
            common=[k for k in theirs if k in ours],
            added=[k for k in theirs if k not in ours],
            removed=[k for k in ours if k not in theirs],
        ))
    return diffs


def _threshold_of(metadata_threshold: int, cli: int | None, groups: int) -> int:
    wanted = cli if cli is not None else metadata_threshold
    return min(wanted, groups) if groups > 1 else wanted


def update_keys_file(
    path: Path,
    *,
    config: SopsConfig,
    context: KeyContext,
    dry_run: bool = False,
    shamir_threshold: int | None = None,
    input_format: str | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    now: _dt.datetime | None = None,
    rng: RngFn = os.urandom,
) -> UpdateResult:
    """Re-wrap ``path``'s data key for the groups of the rule matching it in ``config``.

    Raises :class:`SopsError` for this file's failure (no rule, no data key, bad file);
    :func:`update_keys_many` turns those into per-file results.
    """
    path = Path(path)
    fmt = input_format or format_for_path(str(path))
    data = read_input(path) if dry_run else read_for_update(path)
    branches, metadata = parse_encrypted(data, input_format=fmt)
    rule = config.rule_for(path)
    if rule is None:
        raise NoMatchingRuleError(
            f"no creation rule in {config.path} matches {path}",
            hint="add a rule whose path_regex matches this file",
        )
    if not rule.key_groups or any(not g for g in rule.key_groups):
        raise ConfigError(f"rule {rule.index} of {config.path} has no keys (or an empty key group)")
    wanted = resolve_keys(rule.key_groups)
    diffs = diff_key_groups(keys_of(metadata), wanted)
    threshold = _threshold_of(metadata.shamir_threshold, shamir_threshold, len(wanted))
    stored_threshold = metadata.shamir_threshold if len(metadata.key_groups) > 1 else 0
    new_threshold = threshold if len(wanted) > 1 else 0
    result = UpdateResult(
        path=path,
        added=[k for d in diffs for k in d.added],
        removed=[k for d in diffs for k in d.removed],
        groups=diffs,
    )
    threshold_changed = shamir_threshold is not None and stored_threshold != new_threshold
    result.changed = bool(result.added or result.removed or threshold_changed)
    if not result.changed or dry_run:
        release(path)
        return result
    data_key = recover_key(metadata, context=context, decryption_order=decryption_order)
    rewrap(metadata, data_key, wanted, threshold=threshold, context=context, now=now, rng=rng)
    store = get_store(fmt)
    atomic_write(path, store.emit_encrypted(branches, metadata_to_plain(metadata)))
    result.written = True
    return result


def update_keys_many(
    paths: Sequence[Path],
    *,
    config: SopsConfig,
    context: KeyContext,
    dry_run: bool = False,
    shamir_threshold: int | None = None,
    input_format: str | None = None,
    decryption_order: Sequence[str] = DEFAULT_DECRYPTION_ORDER,
    now: _dt.datetime | None = None,
    rng: RngFn = os.urandom,
    workers: int = DEFAULT_WORKERS,
    before_file: Callable[[Path], None] | None = None,
    on_done: Callable[[int, UpdateResult], None] | None = None,
) -> list[UpdateResult]:
    """:func:`update_keys_file` for every file (directories expanded); never stops early.

    Each result has ``error`` (the failure, one line) or ``skipped`` (why it was not a
    candidate) or neither, in the order the files were found. Each file's data key is
    unwrapped once (only when its keys change), on up to ``workers`` files at a time; each
    file is written atomically. ``before_file`` runs in the worker before a file is read
    (a test hook); ``on_done(index, result)`` as each file finishes (progress, reports).
    """
    shared = serial_prompts(context)

    def one(entry: tuple[Path, str | None]) -> UpdateResult:
        path, skip = entry
        if skip is not None:
            return UpdateResult(path=path, skipped=skip)
        try:
            if before_file is not None:
                before_file(path)
            return update_keys_file(
                path, config=config, context=shared, dry_run=dry_run,
                shamir_threshold=shamir_threshold, input_format=input_format,
                decryption_order=decryption_order, now=now, rng=rng,
            )
        except SopsError as exc:
            report = getattr(exc, "report", None)
            text = report() if callable(report) else exc.message
            return UpdateResult(path=path, error=str(text).replace("\n", "; "))

    return run_bounded(list(expand_paths(paths)), one, workers=workers, on_done=on_done)


__all__ = ["DEFAULT_WORKERS", "GroupDiff", "UpdateResult", "diff_key_groups", "expand_paths",
           "run_bounded", "serial_prompts", "update_keys_file", "update_keys_many"]
