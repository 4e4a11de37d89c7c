"""Deciding how a new file is encrypted: which master keys, which values, what threshold.

Precedence is sops's: key flags given on the command line replace the matching creation
rule's keys (one group, in the order kms, gcp_kms, hckms, azure_kv, pgp, hc_vault, age);
selection flags replace the rule's option; with neither, the ``_unencrypted`` suffix rule
applies. A ``.sops.yaml`` whose rules match nothing blocks encryption even when keys are
given on the command line, as in sops, so a mistyped path never escapes its rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Required, TypedDict, Unpack

from sopskit.config import CreationRule, KeySpec, SopsConfig
from sopskit.errors import ConfigError, EmptyKeyGroupError, NoMatchingRuleError
from sopskit.format.keytypes import cli_order
from sopskit.format.selection import SelectionRules
from sopskit.keys import key_from_spec
from sopskit.keys.base import MasterKey
from sopskit.ops.document import EncryptionPlan


def cli_key_specs(
    keys: Mapping[str, Sequence[str]],
    *,
    encryption_context: Mapping[str, str] | None = None,
    aws_profile: str | None = None,
) -> list[KeySpec]:
    """Key specs from ``--age``/``--pgp``/... values (each already split on commas)."""
    specs: list[KeySpec] = []
    for row in cli_order():
        key_type = row.name
        for item in keys.get(key_type, ()):
            item = item.strip()
            if not item:
                continue
            if key_type == "kms":
                arn, _, role = item.partition("+")
                spec: dict[str, Any] = {"arn": arn}
                if role:
                    spec["role"] = role
                if encryption_context:
                    spec["context"] = dict(encryption_context)
                if aws_profile:
                    spec["aws_profile"] = aws_profile
                specs.append(KeySpec("kms", spec))
            else:
                specs.append(KeySpec(key_type, item))
    return specs


def resolve_keys(groups: Sequence[Sequence[KeySpec]]) -> list[list[MasterKey]]:
    return [[key_from_spec(k.key_type, k.spec) for k in group] for group in groups]


def matching_rule(config: SopsConfig | None, path: str | None) -> CreationRule | None:
    """The creation rule for ``path``; raises when a config with rules matches nothing."""
    if config is None or not config.creation_rules:
        return None
    rule = config.rule_for(path or "")
    if rule is None:
        raise NoMatchingRuleError(
            f"no creation rule in {config.path} matches {path or 'the input'}",
            hint="add a rule whose path_regex matches this file, or pass --config another file",
        )
    return rule


def plan_encryption(
    path: str | None,
    *,
    config: SopsConfig | None,
    cli_keys: Sequence[KeySpec] = (),
    key_groups: Sequence[Sequence[KeySpec]] | None = None,
    selection: SelectionRules | None = None,
    shamir_threshold: int | None = None,
    mac_only_encrypted: bool | None = None,
) -> EncryptionPlan:
    """``key_groups`` (library callers) or ``cli_keys`` (one group) replace the rule's keys."""
    rule = matching_rule(config, path)
    groups: list[list[KeySpec]]
    if key_groups:
        groups = [list(g) for g in key_groups]
    elif cli_keys:
        groups = [list(cli_keys)]
    elif rule is not None:
        groups = rule.key_groups
    else:
        groups = []
    if rule is not None and (not groups or any(not g for g in groups)):
        # sops's exact words (its functional tests match on them); the hint says where
        where = f"rule {rule.index} of {config.path}" if config is not None else "the creation rule"
        raise EmptyKeyGroupError(
            "Could not generate data key: [empty key group provided]",
            hint=f"{where} has no keys in a key group; add age/pgp/kms keys to it, or pass --age/--pgp",
        )
    if not groups:
        raise ConfigError(
            "no master keys to encrypt with: no .sops.yaml rule applies and no key was given",
            hint="pass --age RECIPIENT or --pgp FINGERPRINT, or add a creation rule to .sops.yaml",
        )
    chosen = selection or (rule.selection if rule is not None else None) or SelectionRules()
    threshold = shamir_threshold if shamir_threshold is not None else (rule.shamir_threshold if rule else 0)
    mac_only = bool(mac_only_encrypted) or bool(rule.mac_only_encrypted if rule else False)
    return EncryptionPlan(
        key_groups=resolve_keys(groups),
        shamir_threshold=threshold,
        selection=chosen,
        mac_only_encrypted=mac_only,
    )


class RuleInputs(TypedDict, total=False):
    """The keyword arguments of :func:`plan_for_rule`, declared once so that callers which
    pass them on (``ops.encrypt.encrypt_for_rule``) do not repeat the list. An absent
    optional one means ``None`` (nothing given on the command line)."""

    config: Required[SopsConfig | None]
    keys: Required[Mapping[str, Sequence[str]]]  # metadata key type -> values
    encryption_context: Mapping[str, str] | None
    aws_profile: str | None
    selection_options: Mapping[str, str | None] | None
    shamir_threshold: int | None
    mac_only_encrypted: bool | None


def plan_for_rule(rule_path: str | None, **inputs: Unpack[RuleInputs]) -> EncryptionPlan:
    """The plan of ``sopskit encrypt`` and of a new file in ``sopskit edit``: key flags
    (metadata key type -> values) and selection options over the rule matching ``rule_path``."""
    options = dict(inputs.get("selection_options") or {})
    selection = SelectionRules.from_options(options) if any(options.values()) else None
    cli_keys = cli_key_specs(
        inputs["keys"],
        encryption_context=inputs.get("encryption_context"),
        aws_profile=inputs.get("aws_profile"),
    )
    return plan_encryption(
        rule_path,
        config=inputs["config"],
        cli_keys=cli_keys,
        selection=selection,
        shamir_threshold=inputs.get("shamir_threshold"),
        mac_only_encrypted=inputs.get("mac_only_encrypted"),
    )
