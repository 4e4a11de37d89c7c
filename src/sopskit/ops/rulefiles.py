"""The SOPS files of one creation rule: finding them, re-keying them, checking who opens them.

Rotation changes who can open a file, never what is in it: re-keying goes through
``updatekeys`` (values, their IVs and the MAC stay byte-identical; only the key records
change), with the data key recovered from identities held in memory only. Nothing here talks
to Kubernetes: the cluster-key workflow (``sopskit.k8s.workflow``) drives these steps with the
identities it read from the cluster.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from pathlib import Path

from sopskit.config import SopsConfig
from sopskit.errors import SopsError
from sopskit.format.metadata import Metadata
from sopskit.format.recognize import has_sops_metadata
from sopskit.keys.base import KeyContext
from sopskit.ops.sopsfile import open_encrypted
from sopskit.ops.sopsfile import read_metadata as read_metadata
from sopskit.walk import walk_tree


def _context(identities: Sequence[str]) -> KeyContext:
    return KeyContext(age_identities=list(identities), env={})


def age_recipients_of(metadata: Metadata) -> list[str]:
    """The age recipients a file is encrypted for, in file order."""
    return [str(r.fields.get("recipient", "")).strip() for r in metadata.records() if r.key_type == "age"]


def rekey_file(
    path: Path, *, config_path: Path, identities: Sequence[str], now: _dt.datetime | None = None,
) -> bool:
    """Re-wrap ``path``'s data key for its rule in the ``.sops.yaml`` as it is now on disk.

    Delegates to :func:`sopskit.ops.updatekeys.update_keys_file` (values, MAC and
    ``lastmodified`` untouched); ``identities`` open the current data key. Returns whether the
    file was written. Repeating it is harmless: a file that already matches is not written.
    """
    from sopskit.config import load_config
    from sopskit.ops.updatekeys import update_keys_file

    result = update_keys_file(
        path, config=load_config(config_path), context=_context(identities),
        decryption_order=("age",), now=now,
    )
    return result.written


def rotate_data_key(path: Path, *, identities: Sequence[str], now: _dt.datetime | None = None) -> None:
    """A new data key for ``path``, wrapped for the same keys, every value re-encrypted
    (:func:`sopskit.ops.rekey.rotate_file`, what ``sops rotate`` does)."""
    from sopskit.ops.rekey import rotate_file

    rotate_file(path, context=_context(identities), decryption_order=("age",), now=now)


def check_decryptable(path: Path, identities: Sequence[str]) -> str | None:
    """None when ``identities`` open the file and its MAC checks out; else why not (no values)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    return check_decryptable_bytes(str(path), data, identities)


def check_decryptable_bytes(name: str, data: bytes, identities: Sequence[str]) -> str | None:
    """Like :func:`check_decryptable` for bytes (a Git blob); ``name`` picks the format."""
    try:
        open_encrypted(data, name=name, context=_context(identities), decryption_order=("age",))
    except SopsError as exc:
        return exc.message
    return None


def is_sops(data: bytes) -> bool:
    return has_sops_metadata(data)


def iter_repo_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, skipping VCS and tool directories, in a stable order.

    Git-ignored files are included (the one walker's plain walk): a rotation must re-wrap every
    SOPS file the retiring key protects, or an ignored one would be left unreadable."""
    return walk_tree(root)


def sops_files_for_rule(config: SopsConfig, path_regex: str) -> list[Path]:
    """The SOPS files under the config's directory whose first matching rule is ``path_regex``'s."""
    found: list[Path] = []
    for path in iter_repo_files(config.directory):
        rule = config.rule_for(path)
        if rule is None or rule.path_regex != path_regex:
            continue
        try:
            head = path.read_bytes()
        except OSError:
            continue
        if has_sops_metadata(head):
            found.append(path)
    return found


__all__ = [
    "age_recipients_of",
    "check_decryptable",
    "check_decryptable_bytes",
    "is_sops",
    "iter_repo_files",
    "read_metadata",
    "rekey_file",
    "rotate_data_key",
    "sops_files_for_rule",
]
