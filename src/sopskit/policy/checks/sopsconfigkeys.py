"""``sops-config-ignored-key``: a misspelt key in ``.sops.yaml`` that sops silently ignores.

sops reads ``.sops.yaml`` into Go structs and drops every key it does not know, without a word
(``config/config.go``: ``configFile``, ``creationRule``, ``keyGroup``). So ``creationRules:``
leaves a file with no rule at all ("no matching creation rules found"), ``path-regex:`` turns a
rule into a catch-all that shadows every rule after it, ``key_group:`` or ``agee:`` drops the
recipients it lists, and ``encrypted-regex:`` encrypts every value instead of a selection.

Unknown keys are also used on purpose: a top-level ``keys:`` list that only holds YAML anchors
(``- &admin age1...``), notes such as ``input_type:``. So only a key that is *almost* a sops key
of that level (the same letters but for case, ``_``/``-`` and one or two typos), a key of
another level (``hc_vault:`` in a rule, whose rule-level key is ``hc_vault_transit_uri``), or a
word written for the path pattern (``path:``, ``paths:``, ``path_glob:``, ``regex:``), and
that carries a value, is reported, and only where dropping it changes what sops does: a misspelt
selection key is left alone when the rule selects with a correct one already (sops would refuse
two selections, so the misspelt one is dead text), as is a misspelt key beside its correct
spelling. ``filename_regex`` (removed from sops; ignored) counts when the rule has no
``path_regex``, since the rule then matches every file.
"""

from __future__ import annotations

from collections.abc import Iterator
from difflib import SequenceMatcher
from typing import Any

from sopskit.format.selection import SELECTION_OPTIONS
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.results import Violation
from sopskit.policy.sopsconfig import CONFIG_NAME, SopsConfigView
from sopskit.policy.yamldocs import YamlDocument

#: ``configFile`` (plus sopskit's own settings section)
_TOP_KEYS = frozenset(("creation_rules", "destination_rules", "stores", "sopskit"))
#: the selection options, at most one per rule
_SELECTION_KEYS = frozenset(SELECTION_OPTIONS)
#: ``creationRule``
_RULE_KEYS = frozenset(
    (
        "path_regex",
        "kms",
        "aws_profile",
        "age",
        "pgp",
        "gcp_kms",
        "hckms",
        "azure_keyvault",
        "hc_vault_transit_uri",
        "key_groups",
        "shamir_threshold",
        "mac_only_encrypted",
        *_SELECTION_KEYS,
    )
)
#: ``keyGroup``
_GROUP_KEYS = frozenset(("merge", "kms", "gcp_kms", "hckms", "azure_keyvault", "hc_vault", "age", "pgp"))
#: keys of another level, with the key this level spells them as
_RULE_MISPLACED = {"hc_vault": "hc_vault_transit_uri", "merge": "key_groups",
                   # words people write for the path pattern (``path: ^secrets/``): far from
                   # ``path_regex`` by spelling, as silently dropped
                   "path": "path_regex", "paths": "path_regex", "path_glob": "path_regex",
                   "file_regex": "path_regex", "regex": "path_regex"}
_GROUP_MISPLACED = {"hc_vault_transit_uri": "hc_vault"}
_SIMILARITY = 0.85  # SequenceMatcher ratio of the normalised names: one or two letters off


def _normalised(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def _meant(name: str, known: frozenset[str]) -> str | None:
    """The sops key ``name`` is almost spelt as, if any (never ``name`` itself)."""
    if name in known:
        return None
    plain = _normalised(name)
    best, best_ratio = None, 0.0
    for candidate in sorted(known):
        ratio = SequenceMatcher(None, plain, _normalised(candidate)).ratio()
        if ratio > best_ratio:
            best, best_ratio = candidate, ratio
    return best if best_ratio >= _SIMILARITY and len(plain) >= 3 else None


def _has_value(value: Any) -> bool:
    return value not in (None, "", [], {}, False)


def ignored_keys(config: SopsConfigView) -> Iterator[tuple[int | None, str]]:
    """(line, what is wrong) for each ignored key that changes what sops does."""
    parse = config.parse
    if parse.error is not None or not parse.documents or not isinstance(parse.documents[0].data, dict):
        return
    document = parse.documents[0]
    data: dict[Any, Any] = document.data
    for key, value in data.items():
        meant = _meant(str(key), _TOP_KEYS)
        if meant is None or meant in data or not _has_value(value):
            continue
        effect = "sops finds no creation rule in this file" if meant == "creation_rules" else "it has no effect"
        message = f"`{key}` is not a sops key (meant `{meant}`?): sops ignores it, so {effect}"
        yield document.line_of(str(key)), message
    rules = data.get("creation_rules")
    if not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        if isinstance(rule, dict):
            yield from _rule_keys(rule, document, index)


def _rule_keys(rule: dict[Any, Any], document: YamlDocument, index: int) -> Iterator[tuple[int | None, str]]:
    where = f"creation rule {index + 1}"

    def line(*path: str | int) -> int:
        return document.line_of("creation_rules", index, *path)

    for key, value in rule.items():
        name = str(key)
        if name == "filename_regex" and "path_regex" not in rule and _has_value(value):
            yield (
                line(name),
                (
                    f"{where}: `filename_regex` is no longer read by sops, so this rule has no path_regex and "
                    "matches every file (shadowing every rule after it)"
                ),
            )
            continue
        meant = _RULE_MISPLACED.get(name) or _meant(name, _RULE_KEYS)
        if meant is None or meant in rule or not _has_value(value):
            continue
        if meant in _SELECTION_KEYS and any(other in rule for other in _SELECTION_KEYS):
            continue  # the rule selects already; the misspelt one is dead text
        yield (
            line(name),
            (
                f"{where}: `{name}` is not a creation-rule key (meant `{meant}`?): sops ignores it, so "
                f"{_rule_effect(meant)}"
            ),
        )
    groups = rule.get("key_groups")
    if isinstance(groups, list):
        for group_index, group in enumerate(groups):
            if not isinstance(group, dict):
                continue
            for key, value in group.items():
                name = str(key)
                meant = _GROUP_MISPLACED.get(name) or _meant(name, _GROUP_KEYS)
                if meant is None or meant in group or not _has_value(value):
                    continue
                yield (
                    line("key_groups", group_index, name),
                    (
                        f"{where}, key group {group_index + 1}: `{name}` is not a key-group key (meant `{meant}`?): "
                        "sops ignores it, so the keys it lists cannot decrypt files made by this rule"
                    ),
                )


def _rule_effect(meant: str) -> str:
    if meant == "path_regex":
        return "this rule matches every file (shadowing every rule after it)"
    if meant in _SELECTION_KEYS:
        return "sops encrypts every value of the files this rule makes, not the selection"
    if meant in ("shamir_threshold", "mac_only_encrypted", "aws_profile"):
        return "the rule works without this setting"
    return "the keys it lists cannot decrypt files made by this rule"


def _check(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(SOPS_CONFIG_IGNORED_KEY.id, 0)
    for config in ctx.sops_configs:
        if config.path.name != CONFIG_NAME:
            continue  # sops never reads .sops.yml unless told to
        ctx.count(SOPS_CONFIG_IGNORED_KEY.id)
        rel = ctx.relative(config.path)
        for line, message in ignored_keys(config):
            yield Violation(
                SOPS_CONFIG_IGNORED_KEY.id,
                rel,
                line,
                message,
                "spell the key as sops does (config/config.go), then run `sops updatekeys` (or re-encrypt) on "
                "the files this rule made",
            )


SOPS_CONFIG_IGNORED_KEY = Check(
    id="sops-config-ignored-key",
    title="Misspelt key in .sops.yaml that sops silently ignores",
    catches="A key in .sops.yaml that is almost a sops key (creationRules, path-regex, key_group, "
    "encrypted-regex) or belongs to another level (hc_vault in a rule): sops drops it without a word, so "
    "rules, recipients or selections are not what the file says.",
    fix="Spell the key as sops does, then `sops updatekeys` the files the rule made.",
    run=_check,
)
