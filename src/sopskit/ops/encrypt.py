"""Encrypting plaintext files with explicit recipients or the matching creation rule."""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Unpack

from sopskit.config import KeySpec, SopsConfig, load_config
from sopskit.config.discover import load_discovered
from sopskit.format.selection import SelectionRules
from sopskit.keys.base import KeyContext
from sopskit.ops.decrypt import read_input
from sopskit.ops.document import EncryptionPlan, check_plain_input, emit_encrypted, encrypt_new
from sopskit.ops.plan import RuleInputs, cli_key_specs, plan_encryption, plan_for_rule
from sopskit.stores import format_for_path, get_store


def resolve_config(config: SopsConfig | str | Path | bool | None) -> SopsConfig | None:
    """``True`` (default): ``$SOPS_CONFIG``, else the ``.sops.yaml`` found from the working
    directory, as the command line does; ``False``/None: no config; a path: load that file; a
    :class:`SopsConfig`: use it."""
    if isinstance(config, SopsConfig):
        return config
    if config is True:
        return load_discovered()
    if config is False or config is None:
        return None
    return load_config(config)


def encrypt_with_plan(
    data: bytes,
    plan: EncryptionPlan,
    *,
    input_format: str,
    output_format: str | None = None,
    indent: int | None = None,
    context: KeyContext | None = None,
    now: _dt.datetime | None = None,
    rng: Callable[[int], bytes] = os.urandom,
) -> bytes:
    in_store = get_store(input_format)
    branches = in_store.load_plain(data)
    check_plain_input(branches, in_store)
    if input_format == "binary":
        # sops 3.11+: selection options and mac_only_encrypted do not apply to binary files
        plan.selection = SelectionRules()
        plan.mac_only_encrypted = False
    opened = encrypt_new(branches, plan, context=context or KeyContext(), now=now, rng=rng)
    return emit_encrypted(opened, get_store(output_format or input_format, indent=indent))


def encrypt_for_rule(
    data: bytes,
    *,
    input_format: str,
    output_format: str,
    rule_path: str | None,
    indent: int | None = None,
    **inputs: Unpack[RuleInputs],
) -> bytes:
    """``sopskit encrypt``: the plan from key flags (metadata key type -> values), selection
    options and the creation rule matching ``rule_path`` (:func:`plan_for_rule`, whose
    keyword arguments ``inputs`` are), then the encrypted bytes."""
    plan = plan_for_rule(rule_path, **inputs)
    return encrypt_with_plan(data, plan, input_format=input_format, output_format=output_format, indent=indent)


def encrypt(
    data: bytes,
    *,
    format: str,
    output_format: str | None = None,
    path: str | Path | None = None,
    age: Sequence[str] = (),
    pgp: Sequence[str] = (),
    key_groups: Sequence[Sequence[KeySpec]] | None = None,
    shamir_threshold: int | None = None,
    selection: SelectionRules | None = None,
    mac_only_encrypted: bool | None = None,
    config: SopsConfig | str | Path | bool | None = True,
    indent: int | None = None,
    now: _dt.datetime | None = None,
    rng: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """Encrypt plaintext bytes and return the SOPS file's bytes.

    Keys come from ``age``/``pgp``/``key_groups`` when given, else from the creation rule of
    the discovered (or given) ``.sops.yaml`` that matches ``path``.
    """
    plan = plan_encryption(
        str(path) if path else None,
        # explicit groups are the whole answer: no rule lookup
        config=None if key_groups else resolve_config(config),
        cli_keys=cli_key_specs({"age": list(age), "pgp": list(pgp)}),
        key_groups=key_groups,
        selection=selection,
        shamir_threshold=shamir_threshold,
        mac_only_encrypted=mac_only_encrypted,
    )
    return encrypt_with_plan(
        data, plan, input_format=format, output_format=output_format, indent=indent, now=now, rng=rng
    )


def encrypt_file(
    path: str | Path,
    *,
    format: str | None = None,
    age: Sequence[str] = (),
    pgp: Sequence[str] = (),
    config: SopsConfig | str | Path | bool | None = True,
    selection: SelectionRules | None = None,
) -> bytes:
    """Encrypt a plaintext file on disk (not in place) and return the encrypted bytes."""
    fmt = format or format_for_path(str(path))
    return encrypt(read_input(path), format=fmt, path=path, age=age, pgp=pgp, config=config, selection=selection)
