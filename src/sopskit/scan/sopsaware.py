"""SOPS awareness: what sops protects is not a finding, what sops should protect but does not is.

Three facts are used, none needing a key:

* the ``sops`` metadata block (recipients, ``enc`` blobs, MAC) is never a secret; its lines
  are excluded from detection;
* in a sops file, a value the file's own selection rule (``encrypted_regex`` and the other
  five options recorded in its metadata) says is encrypted but that is plaintext was added
  by hand after encryption: a finding;
* a file that a ``.sops.yaml`` creation rule with a ``path_regex`` covers, that has no sops
  metadata and holds values the rule would encrypt, was committed without encrypting it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from sopskit.format.recognize import has_sops_metadata, is_enc_value
from sopskit.format.selection import SELECTION_OPTIONS, SelectionRules

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COMMENT_OPTIONS = ("unencrypted_comment_regex", "encrypted_comment_regex")
_NULL_TAG = "tag:yaml.org,2002:null"
_KIND = re.compile(rb"""(?m)^kind:\s*["']?([A-Za-z]+)""")
_STRUCTURAL = (("apiVersion",), ("kind",))


@dataclass(frozen=True)
class PlainValue:
    """A leaf value in a file, with the key path sops would see and its 1-based line."""

    line: int
    path: tuple[str, ...]
    value: bytes
    encrypted: bool


def metadata_line_range(data: bytes) -> tuple[int, int] | None:
    """1-based inclusive line range of the sops block, or None when there is none."""
    lines = data.split(b"\n")
    for i, line in enumerate(lines):
        if line.rstrip() == b"sops:":  # YAML: until the next top-level key
            end = next((j for j in range(i + 1, len(lines)) if lines[j][:1] not in (b" ", b"\t", b"", b"#")),
                       len(lines))
            return i + 1, end
        if line.strip().startswith(b'"sops": {'):  # JSON: sops writes the block last
            return i + 1, len(lines)
        if line.rstrip() == b"[sops]":  # INI: until the next section
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith(b"[")), len(lines))
            return i + 1, end
    first = next((i for i, ln in enumerate(lines) if ln.startswith(b"sops_")), None)
    if first is not None:  # dotenv: sops_* keys are written together at the end
        return first + 1, len(lines)
    return None


def _walk(node: Any, path: tuple[str, ...], top: bool) -> Iterator[PlainValue]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value)
            if top and name == "sops":
                continue
            yield from _walk(value, (*path, name), False)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _walk(item, path, False)
    elif isinstance(node, yaml.ScalarNode) and node.tag != _NULL_TAG and node.value != "":
        text = str(node.value)
        yield PlainValue(node.start_mark.line + 1, path, text.encode(), is_enc_value(text))


def _flat_values(data: bytes, ini: bool) -> tuple[list[PlainValue], dict[str, Any]]:
    values: list[PlainValue] = []
    options: dict[str, Any] = {}
    section: str | None = None
    for n, raw in enumerate(data.decode("utf-8", "replace").split("\n"), 1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if ini and line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        sep = "=" if "=" in line else None
        if sep is None:
            continue
        key, value = (s.strip() for s in line.split("=", 1))
        if ini and section == "sops":
            options[key] = value
        elif not ini and key.startswith("sops_"):
            options[key[5:]] = value
        elif value:
            path = (section, key) if ini and section else (key,)
            values.append(PlainValue(n, path, value.encode(), is_enc_value(value)))
    return values, options


def read_values(data: bytes, path: str) -> tuple[list[PlainValue], dict[str, Any]] | None:
    """Leaf values and the sops metadata mapping of a structured file; None if unparsable."""
    name = path.lower()
    if name.endswith((".env", ".ini")) or name.rsplit("/", 1)[-1].startswith(".env"):
        return _flat_values(data, ini=name.endswith(".ini"))
    if not name.endswith((".yaml", ".yml", ".json")):
        return None
    try:
        docs = list(yaml.compose_all(data, Loader=_LOADER))
    except yaml.YAMLError:
        if not name.endswith(".json"):
            return None
        try:  # JSON that YAML 1.1 rejects: no line numbers, but the values are still known
            plain = json.loads(data)
        except ValueError:
            return None
        block = plain.get("sops", {}) if isinstance(plain, dict) else {}
        return [], block if isinstance(block, dict) else {}
    values: list[PlainValue] = []
    meta: dict[str, Any] = {}
    for doc in docs:
        values.extend(_walk(doc, (), True))
        if isinstance(doc, yaml.MappingNode):
            for key, value in doc.value:
                if key.value == "sops" and isinstance(value, yaml.MappingNode):
                    meta = {str(k.value): getattr(v, "value", None) for k, v in value.value}
    return values, meta


def selection_from_metadata(meta: dict[str, Any]) -> SelectionRules | None:
    """The file's own selection rule; None for comment rules (comments are not tracked here)."""
    options: dict[str, str | None] = {k: str(meta[k]) for k in SELECTION_OPTIONS if meta.get(k)}
    if any(k in options for k in _COMMENT_OPTIONS):
        return None
    try:
        return SelectionRules.from_options(options)
    except Exception:  # a malformed block is reported by `sopskit` itself, not by the scanner
        return None


def plaintext_values(data: bytes, path: str) -> list[PlainValue]:
    """Values of a sops file that its own rule says are encrypted but are plaintext."""
    parsed = read_values(data, path)
    if parsed is None:
        return []
    values, meta = parsed
    rules = selection_from_metadata(meta)
    if rules is None:
        return []
    # ``ENC[]`` and other malformed ENC values are broken ciphertext, not plaintext
    plain = [v for v in values if not v.encrypted and not v.value.startswith(b"ENC[")
             and rules.should_encrypt(v.path, [], False)]
    if not any(meta.get(k) for k in SELECTION_OPTIONS) and any(v.path in _STRUCTURAL for v in plain):
        # a manifest whose apiVersion/kind are plaintext under "encrypt everything": the file was
        # written with an encrypted_regex that older sops versions did not record in the metadata
        return []
    return plain


def selected_values(data: bytes, path: str, rules: SelectionRules | None) -> list[PlainValue] | None:
    """Values a creation rule would encrypt in a plaintext file; None when not structured."""
    parsed = read_values(data, path)
    if parsed is None:
        return None
    rules = rules or SelectionRules()
    return [v for v in parsed[0] if rules.should_encrypt(v.path, [], False)]


def is_non_secret_manifest(data: bytes) -> bool:
    """A Kubernetes manifest whose kinds are all something other than Secret."""
    kinds = _KIND.findall(data)
    return bool(kinds) and all(k != b"Secret" for k in kinds)


class CoveringRule(Protocol):
    """The part of ``sopskit.config.CreationRule`` the scanner needs."""

    @property
    def selection(self) -> SelectionRules | None: ...


RuleLookup = Callable[[str], CoveringRule | None]


def _real_config_api() -> tuple[Callable[[Path], Path | None], Callable[[Path], Any]] | None:
    try:
        from sopskit.config import find_config, load_config
    except ImportError:
        return None
    return find_config, load_config


class CreationRuleIndex:
    """Answers "which explicit creation rule covers this repository path?" with caching.

    Only rules with a ``path_regex`` count: a catch-all rule says which keys to use when a
    file is encrypted, not that every file must be.
    """

    def __init__(self, root: Path, *, config_api: tuple[Callable[[Path], Path | None],
                                                        Callable[[Path], Any]] | None = None) -> None:
        self.root = root
        self._api = config_api or _real_config_api()
        self._by_dir: dict[str, tuple[Path, Any] | None] = {}
        self.errors: list[str] = []

    def _config_for_dir(self, rel_dir: str) -> tuple[Path, Any] | None:
        if rel_dir in self._by_dir:
            return self._by_dir[rel_dir]
        assert self._api is not None
        find, load = self._api
        start = self.root / rel_dir
        while not start.is_dir() and start != self.root and start.parent != start:
            start = start.parent
        result: tuple[Path, Any] | None = None
        found = find(start)
        if found is not None:
            try:
                result = (found.parent, load(found))
            except Exception as exc:  # an invalid .sops.yaml disables the check, visibly
                self.errors.append(f"{found}: {type(exc).__name__}")
        self._by_dir[rel_dir] = result
        return result

    def rule_for(self, rel_path: str) -> CoveringRule | None:
        if self._api is None:
            return None
        if rel_path.rsplit("/", 1)[-1] in (".sops.yaml", ".sops.yml"):
            return None
        found = self._config_for_dir(rel_path.rsplit("/", 1)[0] if "/" in rel_path else "")
        if found is None:
            return None
        _base, config = found
        rule = config.rule_for((self.root / rel_path).absolute())
        if rule is None or not getattr(rule, "path_regex", None):
            return None
        return rule  # type: ignore[no-any-return]


def has_metadata(data: bytes) -> bool:
    return has_sops_metadata(data)


__all__: Sequence[str] = (
    "CreationRuleIndex", "PlainValue", "has_metadata", "is_non_secret_manifest", "metadata_line_range",
    "plaintext_values", "selected_values",
)
