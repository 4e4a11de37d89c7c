""".sops.yaml: discovery, parsing and creation-rule matching, as sops 3.x does them.

* Discovery starts in the current working directory (not the file's directory) and walks up
  at most 100 levels; only ``.sops.yaml`` counts (``.sops.yml`` is never read by sops).
* ``creation_rules`` are tried in order and the first whose ``path_regex`` is found in the
  file's path relative to the config's directory wins; a rule without ``path_regex``
  matches everything.
* Every pattern (``path_regex`` and the selection regexes) has Go's RE2 syntax and is compiled by
  :mod:`sopskit.format.goregex`. An invalid one is a :class:`ConfigError` when the file is
  loaded (sops fails only once it reaches that rule, and silently encrypts nothing with a broken
  ``encrypted_regex``).
* Rule-level keys form one key group (strings are comma lists, or YAML lists since 3.11);
  ``key_groups`` (with ``merge``) replaces them. Inside explicit groups duplicate keys are
  dropped, as sops 3.9+ does.
* Unknown keys are ignored by sops, which is why sopskit's own settings can live under a
  top-level ``sopskit:`` mapping in the same file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from sopskit.errors import ConfigError, SopsError
from sopskit.format.keytypes import key_type as key_type_row
from sopskit.format.keytypes import rule_order
from sopskit.format.selection import SELECTION_OPTIONS, SelectionRules
from sopskit.record import FrozenRecord, Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, Self

    from sopskit.format.goregex import GoRegex

CONFIG_NAME = ".sops.yaml"
MAX_DEPTH = 100



# KeySpec, CreationRule and SopsConfig are records, not dataclasses: a decrypt reads
# .sops.yaml (for ``stores`` indents) and must not import :mod:`dataclasses` (docs/performance.md).

class KeySpec(FrozenRecord):
    """A master key as written in config or on the command line, not yet resolved (immutable)."""

    __slots__ = _fields = ("key_type", "spec")

    key_type: str
    spec: str | Mapping[str, Any]

    def __init__(self, key_type: str, spec: str | Mapping[str, Any]) -> None:
        object.__setattr__(self, "key_type", key_type)
        object.__setattr__(self, "spec", spec)

    def identity(self) -> str:
        """String form used for de-duplication and comparison."""
        if isinstance(self.spec, str):
            return self.spec
        return ",".join(f"{k}={self.spec[k]}" for k in sorted(self.spec))


class CreationRule(Record):
    """One creation rule; ``selection`` is None when the rule sets no selection option (the
    CLI or the default then applies). ``_compiled`` is ``path_regex`` compiled by the parser
    (derived state: not compared, not shown)."""

    __slots__ = (
        "_compiled",
        "index",
        "key_groups",
        "mac_only_encrypted",
        "path_regex",
        "selection",
        "shamir_threshold",
    )
    _fields = ("path_regex", "key_groups", "shamir_threshold", "selection", "mac_only_encrypted", "index")

    def __init__(self, path_regex: str | None, key_groups: list[list[KeySpec]], shamir_threshold: int = 0,
                 selection: SelectionRules | None = None, mac_only_encrypted: bool = False, index: int = 0,
                 _compiled: GoRegex | None = None) -> None:
        self.path_regex = path_regex
        self.key_groups = key_groups
        self.shamir_threshold = shamir_threshold
        self.selection = selection
        self.mac_only_encrypted = mac_only_encrypted
        self.index = index
        self._compiled = _compiled

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed; it keeps the compiled ``path_regex``, which is why
        ``path_regex`` itself cannot change here (parse a new rule instead)."""
        if "path_regex" in changes:
            raise TypeError("CreationRule.replace cannot change path_regex")
        return super().replace(_compiled=self._compiled, **changes)

    def matches(self, relative_path: str) -> bool:
        return self._compiled is None or self._compiled.search(relative_path)

    def recipients(self, key_type: str) -> list[str]:
        """Every key of one type across the rule's groups, as strings."""
        return [k.identity() for g in self.key_groups for k in g if k.key_type == key_type]


class SopsConfig(Record):
    """A parsed ``.sops.yaml``: its rules, ``stores`` indents, ``sopskit:`` settings and raw mapping."""

    __slots__ = (
        "creation_rules",
        "json_binary_indent",
        "json_indent",
        "path",
        "raw",
        "sopskit_settings",
        "yaml_indent",
    )
    _fields = ("path", "creation_rules", "yaml_indent", "json_indent", "json_binary_indent", "sopskit_settings",
               "raw")

    def __init__(self, path: Path, creation_rules: list[CreationRule], yaml_indent: int | None = None,
                 json_indent: int | None = None, json_binary_indent: int | None = None,
                 sopskit_settings: dict[str, Any] | None = None, raw: dict[str, Any] | None = None) -> None:
        self.path = path
        self.creation_rules = creation_rules
        self.yaml_indent = yaml_indent
        self.json_indent = json_indent
        self.json_binary_indent = json_binary_indent
        self.sopskit_settings: dict[str, Any] = {} if sopskit_settings is None else sopskit_settings
        self.raw: dict[str, Any] = {} if raw is None else raw

    @property
    def directory(self) -> Path:
        return self.path.parent

    def relative_path(self, file_path: str | Path) -> str:
        """The path a rule's ``path_regex`` is matched against (sops strips the config dir)."""
        absolute = os.path.abspath(os.fspath(file_path))
        prefix = str(self.directory.resolve()) + os.sep
        if absolute.startswith(prefix):
            return absolute[len(prefix):]
        prefix_unresolved = os.path.abspath(self.directory) + os.sep
        if absolute.startswith(prefix_unresolved):
            return absolute[len(prefix_unresolved):]
        return absolute

    def rule_for(self, file_path: str | Path) -> CreationRule | None:
        relative = self.relative_path(file_path)
        for rule in self.creation_rules:
            if rule.matches(relative):
                return rule
        return None


def find_config(start: Path | str | None = None) -> Path | None:
    """Walk up from ``start`` (default: the working directory) to the first ``.sops.yaml``.

    The walk uses ``os.path`` (as ``Path.absolute`` would, without resolving ``..``): a
    decrypt with no ``.sops.yaml`` around then never imports :mod:`pathlib` (docs/performance.md).
    """
    directory = os.path.join(os.getcwd(), os.fspath(start if start is not None else ""))
    directory = directory.rstrip(os.sep) or os.sep
    for _ in range(MAX_DEPTH):
        candidate = os.path.join(directory, CONFIG_NAME)
        if os.path.isfile(candidate):
            from pathlib import Path

            return Path(candidate)
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    return None


def _split(value: Any, where: str) -> list[str]:
    """A comma-separated string or a list of strings -> trimmed, non-empty items."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            if not isinstance(item, str):
                raise ConfigError(f"{where}: expected a string, got {type(item).__name__}")
            out.extend(part.strip() for part in item.split(",") if part.strip())
        return out
    raise ConfigError(f"{where}: expected a string or a list of strings")


def _kms_spec(text: str, profile: str | None) -> dict[str, Any]:
    arn, _, role = text.partition("+")
    spec: dict[str, Any] = {"arn": arn.strip()}
    if role:
        spec["role"] = role.strip()
    if profile:
        spec["aws_profile"] = profile
    return spec


def _rule_group(rule: Mapping[str, Any], where: str) -> list[KeySpec]:
    group: list[KeySpec] = []
    profile = rule.get("aws_profile")
    for row in rule_order():
        for item in _split(rule.get(row.rule_field), f"{where}.{row.rule_field}"):
            if row.name == "kms":
                group.append(KeySpec("kms", _kms_spec(item, profile)))
            else:
                group.append(KeySpec(row.name, item))
    return group


def _group_entries(key_type: str, value: Any, where: str) -> list[KeySpec]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list")
    row = key_type_row(key_type)
    strings_only = row is not None and row.group_strings_only
    specs: list[KeySpec] = []
    for item in value:
        if isinstance(item, str):
            if strings_only:
                specs.extend(KeySpec(key_type, s) for s in _split(item, where))
            elif key_type == "kms":
                specs.append(KeySpec("kms", _kms_spec(item, None)))
            else:
                specs.append(KeySpec(key_type, item))
        elif isinstance(item, Mapping):
            if strings_only:
                raise ConfigError(f"{where}: expected strings")
            specs.append(KeySpec(key_type, dict(item)))
        else:
            raise ConfigError(f"{where}: unexpected {type(item).__name__} entry")
    return specs


def _explicit_group(group: Any, where: str) -> list[KeySpec]:
    if not isinstance(group, Mapping):
        raise ConfigError(f"{where}: each key group must be a mapping")
    specs: list[KeySpec] = []
    for i, merged in enumerate(group.get("merge") or []):
        specs.extend(_explicit_group(merged, f"{where}.merge[{i}]"))
    for row in rule_order():
        specs.extend(_group_entries(row.name, group.get(row.group_field), f"{where}.{row.group_field}"))
    seen: set[tuple[str, str]] = set()
    unique: list[KeySpec] = []
    for spec in specs:
        ident = (spec.key_type, spec.identity())
        if ident not in seen:
            seen.add(ident)
            unique.append(spec)
    return unique


def _int(value: Any, where: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer")
    return value


def _parse_rule(raw: Any, index: int) -> CreationRule:
    where = f"creation_rules[{index}]"
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: each creation rule must be a mapping")
    path_regex = raw.get("path_regex")
    compiled = None
    if path_regex is not None:
        if not isinstance(path_regex, str):
            raise ConfigError(f"{where}.path_regex: expected a string")
        try:
            from sopskit.format.goregex import compile_go_regex

            compiled = compile_go_regex(path_regex, what=f"{where}.path_regex") if path_regex else None
        except SopsError as exc:
            raise ConfigError(exc.message) from None
    raw_groups = raw.get("key_groups")
    if raw_groups:
        if not isinstance(raw_groups, list):
            raise ConfigError(f"{where}.key_groups: expected a list")
        groups = [_explicit_group(g, f"{where}.key_groups[{i}]") for i, g in enumerate(raw_groups)]
    else:
        group = _rule_group(raw, where)
        groups = [group] if group else []
    options: dict[str, str | None] = {}
    for name in SELECTION_OPTIONS:
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}.{name}: expected a string")
        options[name] = value
    try:
        selection = (
            SelectionRules.from_options(options) if any(options.values()) else None
        )
    except SopsError as exc:
        raise ConfigError(f"{where}: {exc.message}") from None
    return CreationRule(
        path_regex=path_regex,
        key_groups=groups,
        shamir_threshold=_int(raw.get("shamir_threshold"), f"{where}.shamir_threshold"),
        selection=selection,
        mac_only_encrypted=bool(raw.get("mac_only_encrypted", False)),
        index=index,
        _compiled=compiled,
    )


def _store_indent(stores: Mapping[str, Any], name: str) -> int | None:
    section = stores.get(name)
    if isinstance(section, Mapping) and "indent" in section:
        return _int(section["indent"], f"stores.{name}.indent")
    return None


def parse_config(text: str, path: Path, *, rules: bool = True) -> SopsConfig:
    """Parse the text of a ``.sops.yaml``; raises :class:`ConfigError` with the file named.

    ``rules=False`` leaves ``creation_rules`` empty and unchecked: for a reader that wants the
    ``stores`` and ``sopskit`` settings only (a decrypt's output indent), since compiling every
    ``path_regex`` imports RE2, a cold decrypt's largest cost in a repository (docs/performance.md).
    """
    from sopskit.stores._pyyaml import pyyaml

    yaml = pyyaml()

    try:
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    rules_raw = raw.get("creation_rules") or []
    if not isinstance(rules_raw, Sequence) or isinstance(rules_raw, str):
        raise ConfigError(f"{path}: creation_rules must be a list")
    try:
        parsed = [_parse_rule(r, i) for i, r in enumerate(rules_raw)] if rules else []
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", hint=exc.hint) from None
    stores = raw.get("stores") if isinstance(raw.get("stores"), Mapping) else {}
    assert isinstance(stores, Mapping)
    settings = raw.get("sopskit")
    return SopsConfig(
        path=path,
        creation_rules=parsed,
        yaml_indent=_store_indent(stores, "yaml"),
        json_indent=_store_indent(stores, "json"),
        json_binary_indent=_store_indent(stores, "json_binary"),
        sopskit_settings=dict(settings) if isinstance(settings, Mapping) else {},
        raw=raw,
    )


def load_config(path: Path | str, *, rules: bool = True) -> SopsConfig:
    """Read and parse a ``.sops.yaml`` (``rules``: see :func:`parse_config`)."""
    from pathlib import Path

    from sopskit.format.textcodec import decode_text

    path = Path(path)
    try:
        text = decode_text(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not text in UTF-8 (or UTF-16 with a byte-order mark)",
                          hint="save .sops.yaml as UTF-8") from None
    return parse_config(text, path, rules=rules)
