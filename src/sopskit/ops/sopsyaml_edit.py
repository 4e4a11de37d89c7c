"""Comment-preserving edits of ``.sops.yaml``: add or remove one age recipient in one rule.

The cluster-key workflow changes exactly one creation rule (the one whose ``path_regex``
is given) and must leave everything else as the team wrote it: other rules, comments, key
order, quoting. So edits go through ruamel.yaml's round-trip mode instead of load/dump, and
the functions work on text (``str`` in, ``str`` out) so a caller can compute every change
before touching the disk, and write nothing when a later step fails.

A rule's age recipients may be written as a comma-separated string (``age: a,b``), a YAML
list, or inside ``key_groups``; the edit keeps the form it finds. A rule created here uses
the Flux convention ``encrypted_regex: ^(data|stringData)$`` so manifests stay readable.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from sopskit.errors import ConfigError
from sopskit.format import keytypes

FLUX_ENCRYPTED_REGEX = "^(data|stringData)$"
_HEADER = "# sops creation rules: the first rule whose path_regex matches a file's path wins.\n"


def _yaml() -> Any:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold a long recipient list
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def _load(text: str | None) -> Any:
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    if text is None or not text.strip():
        return CommentedMap()
    try:
        doc = _yaml().load(text)
    except YAMLError:
        raise ConfigError(".sops.yaml is not valid YAML; fix it before changing its rules") from None
    if doc is None:
        return CommentedMap()
    if not isinstance(doc, dict):
        raise ConfigError(".sops.yaml: the top level must be a mapping")
    return doc


def _dump(doc: Any, *, header: bool) -> str:
    buffer = io.StringIO()
    _yaml().dump(doc, buffer)
    text = buffer.getvalue()
    return (_HEADER + text) if header else text


def _rules(doc: Any, *, create: bool) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    rules = doc.get("creation_rules")
    if rules is None:
        if not create:
            return CommentedSeq()
        rules = CommentedSeq()
        doc["creation_rules"] = rules
    if not isinstance(rules, list):
        raise ConfigError(".sops.yaml: creation_rules must be a list")
    return rules


def _find_rule(rules: Any, path_regex: str) -> Any | None:
    for rule in rules:
        if isinstance(rule, dict) and rule.get("path_regex") == path_regex:
            return rule
    return None


def _split(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list):
        return [part.strip() for item in value for part in str(item).split(",") if part.strip()]
    raise ConfigError(".sops.yaml: an age entry must be a string or a list of strings")


def _age_holders(rule: Any) -> list[Any]:
    """The mappings whose ``age`` entry lists this rule's recipients (rule or key groups)."""
    groups = rule.get("key_groups")
    if groups:
        return [g for g in groups if isinstance(g, dict)]
    return [rule]


def _set_age(holder: Any, recipients: list[str]) -> None:
    """Write ``recipients`` back in the form the holder already used."""
    current = holder.get("age")
    if not recipients:
        if "age" in holder:
            del holder["age"]
        return
    if isinstance(current, list) and all(isinstance(item, str) and "," not in item for item in current):
        # edit in place, item by item, so the comments attached to kept items stay with them
        for index in reversed(range(len(current))):
            if current[index].strip() not in recipients:
                del current[index]
        present = [item.strip() for item in current]
        current.extend(r for r in recipients if r not in present)
    elif isinstance(current, str):
        holder["age"] = ",".join(recipients)  # sops reads comma lists; the comment stays put
    else:
        from ruamel.yaml.comments import CommentedSeq

        holder["age"] = CommentedSeq(recipients)


def _new_rule(path_regex: str, recipient: str) -> Any:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    rule = CommentedMap()
    rule["path_regex"] = path_regex
    rule["encrypted_regex"] = FLUX_ENCRYPTED_REGEX
    rule["age"] = CommentedSeq([recipient])
    return rule


def _probe(path_regex: str) -> str:
    """A file path the new rule is meant for: ``^flux/secrets/prod/`` -> ``flux/secrets/prod/secret.yaml``."""
    return re.sub(r"\\(.)", r"\1", path_regex.lstrip("^")) + "secret.yaml"


def _matches(path_regex: str, path: str) -> bool:
    """``path_regex`` against ``path`` exactly as creation rules are matched (sopskit.config)."""
    import json
    from pathlib import Path

    from sopskit.config import parse_config

    text = "creation_rules:\n  - path_regex: " + json.dumps(path_regex) + "\n"
    return parse_config(text, Path(".sops.yaml")).creation_rules[0].matches(path)


def _insert_position(rules: Any, path_regex: str | None = None) -> int:
    """New rules go before the first rule that would shadow them (sops takes the first match):
    a catch-all rule, or one whose ``path_regex`` already matches the new rule's files. A
    pattern that cannot be evaluated here is refused with its rule named, never guessed."""
    probe = _probe(path_regex) if path_regex else None
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        existing = rule.get("path_regex")
        if existing is None:
            return index
        if probe is None:
            continue
        try:
            shadows = _matches(str(existing), probe)
        except ConfigError:
            raise ConfigError(
                f".sops.yaml: cannot tell whether creation rule #{index + 1} (path_regex {existing!r}) "
                f"matches {probe}; add the rule for {path_regex!r} by hand, before it if it does"
            ) from None
        if shadows:
            return index
    return len(rules)


def _edit(text: str | None, change: Callable[[Any], None]) -> str:
    doc = _load(text)
    change(doc)
    out = _dump(doc, header=text is None or not text.strip())
    return keep_document_start(text or "", out)


def _first_content_line(text: str) -> int | None:
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return index
    return None


def keep_document_start(before: str, after: str) -> str:
    """Put back the leading ``---`` marker (and comments above it) that a YAML round trip drops:
    linters and many repositories require it, and a rewrite must not touch bytes it does not own."""
    first = _first_content_line(before)
    if first is None or before.splitlines()[first].rstrip() != "---":
        return after
    header = before.splitlines(keepends=True)[: first + 1]
    if not header[-1].endswith("\n"):
        header[-1] += "\n"
    known = {line.strip() for line in header}
    lines = after.splitlines(keepends=True)
    index = 0
    while index < len(lines) and (not lines[index].strip() or lines[index].strip() in known):
        index += 1
    return "".join([*header, *lines[index:]])


def add_age_recipient(text: str | None, path_regex: str, recipient: str) -> str:
    """``.sops.yaml`` text with ``recipient`` added to the rule for ``path_regex``.

    ``text`` None or empty means there is no file yet: one is created with that rule. A
    missing rule is created (before any catch-all rule). A recipient already present is not
    added twice, so the edit is idempotent.
    """

    def change(doc: Any) -> None:
        rules = _rules(doc, create=True)
        rule = _find_rule(rules, path_regex)
        if rule is None:
            rules.insert(_insert_position(rules, path_regex), _new_rule(path_regex, recipient))
            return
        holders = _age_holders(rule)
        if any(recipient in _split(h.get("age")) for h in holders):
            return
        first = holders[0]
        _set_age(first, [*_split(first.get("age")), recipient])

    return _edit(text, change)


def remove_age_recipient(text: str, path_regex: str, recipient: str) -> str:
    """``.sops.yaml`` text without ``recipient`` in the rule for ``path_regex``.

    Refuses to leave the rule without any master key: a rule with no key would make every
    later ``encrypt`` of a matching file fail.
    """

    def change(doc: Any) -> None:
        rule = _find_rule(_rules(doc, create=False), path_regex)
        if rule is None:
            raise ConfigError(f".sops.yaml has no creation rule with path_regex {path_regex!r}")
        for holder in _age_holders(rule):
            kept = [r for r in _split(holder.get("age")) if r != recipient]
            if kept != _split(holder.get("age")):
                _set_age(holder, kept)
        if not _has_any_key(rule):
            raise ConfigError(
                f"removing {recipient} would leave the rule {path_regex!r} without any key"
            )

    return _edit(text, change)


_KEY_FIELDS = keytypes.sops_yaml_fields()


def _has_any_key(rule: Any) -> bool:
    return any(h.get(field) for h in _age_holders(rule) for field in _KEY_FIELDS)


def age_recipients(text: str | None, path_regex: str) -> list[str] | None:
    """The age recipients of the rule for ``path_regex`` (None when there is no such rule)."""
    rule = _find_rule(_rules(_load(text), create=False), path_regex)
    if rule is None:
        return None
    return [r for h in _age_holders(rule) for r in _split(h.get("age"))]


def has_rule(text: str | None, path_regex: str) -> bool:
    return _find_rule(_rules(_load(text), create=False), path_regex) is not None


def ensure_rule(
    text: str | None, path_regex: str, recipients: list[str], *, extra: dict[str, str] | None = None,
) -> str:
    """``.sops.yaml`` text with a rule for ``path_regex``; an existing rule is left as is.

    Used by ``repo init`` to lay out one rule per environment; with no recipient yet, the
    rule gets an empty ``age`` list that ``cluster init`` fills in. ``extra`` adds rule fields
    to a new rule only (``azure_keyvault: URL`` for ``repo init --azure-kv``).
    """
    from ruamel.yaml.comments import CommentedSeq

    def change(doc: Any) -> None:
        rules = _rules(doc, create=True)
        if _find_rule(rules, path_regex) is not None:
            return
        rule = _new_rule(path_regex, recipients[0] if recipients else "")
        rule["age"] = CommentedSeq(list(recipients))
        for key, value in (extra or {}).items():
            rule[key] = value
        rules.insert(_insert_position(rules, path_regex), rule)

    return _edit(text, change)


__all__ = [
    "FLUX_ENCRYPTED_REGEX",
    "add_age_recipient",
    "age_recipients",
    "ensure_rule",
    "has_rule",
    "remove_age_recipient",
]
