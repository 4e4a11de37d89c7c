"""The YAML store: byte-exact with sops 3.13 (yaml.v3 v3.0.4 underneath).

Loading uses libyaml when the input holds no ``#`` (so no comments: the fast path) and
ruamel.yaml's parser otherwise; one builder turns either event stream into branches with
yaml.v3's scalar resolution and sops's comment placement (:mod:`._yaml_load`). Emitting is a
direct port of the layout rules of yaml.v3's emitter (:mod:`._yaml_emit`).
"""

from __future__ import annotations

from sopskit.errors import FormatError, MetadataNotFoundError, ParseError, UsageError
from sopskit.format.tree import TreeMap, Value, from_plain, to_plain
from sopskit.stores._yaml_emit import Emitter
from sopskit.stores._yaml_load import load_documents

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _effective_indent(indent: int) -> int:
    """sops/yaml.v3: 0 means the default 4, 2-9 are kept, other positives become 2."""
    if indent < 0:
        raise UsageError("YAML indentation must not be negative")
    if indent == 0:
        return 4
    if 2 <= indent <= 9:
        return indent
    return 2


def _metadata_value(value: Any) -> Value:
    """Plain metadata (dict/list/scalars) as a tree, keeping dict order."""
    return from_plain(value)


class YamlStore:
    """Read and write YAML streams the way sops does."""

    name = "yaml"

    def __init__(self, indent: int = 4) -> None:
        self.indent = _effective_indent(indent)

    # -- loading -----------------------------------------------------------------------------
    def load_plain(self, data: bytes) -> list[TreeMap]:
        branches = load_documents(data)
        if not branches and data:
            # sops decodes once before walking documents; a stream with no document at all
            # (only blank lines or comments) fails there with EOF (exit 2), while an empty
            # file is refused later as "no document" (exit 92)
            raise ParseError("invalid YAML: the input holds no document (only comments or blank lines)")
        return branches

    def load_encrypted(self, data: bytes) -> tuple[list[TreeMap], dict[str, Any]]:
        branches = load_documents(data, encrypted=True)
        if not branches or "sops" not in branches[0]:
            raise MetadataNotFoundError("sops metadata not found in the YAML file")
        raw = branches[0]["sops"]
        if not isinstance(raw, TreeMap):
            raise FormatError("sops metadata is not a mapping")
        metadata = to_plain(raw)
        assert isinstance(metadata, dict)
        for branch in branches:
            branch.entries = [(k, v) for k, v in branch.entries if k != "sops"]
        return branches, metadata

    # -- emitting ----------------------------------------------------------------------------
    def emit_plain(self, branches: list[TreeMap]) -> bytes:
        return Emitter(self.indent).stream(list(branches)).encode("utf-8", "surrogateescape")

    def emit_encrypted(self, branches: list[TreeMap], metadata: dict[str, Any]) -> bytes:
        block = _metadata_value(metadata)
        with_meta = [TreeMap([*b.entries, ("sops", block)]) for b in branches]
        return self.emit_plain(with_meta)

    def emit_value(self, value: Value) -> bytes:
        return Emitter(self.indent).value(value).encode("utf-8", "surrogateescape")

    def has_sops_metadata(self, branch: TreeMap) -> bool:
        return "sops" in branch
