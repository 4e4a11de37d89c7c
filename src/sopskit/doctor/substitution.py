"""Flux's strict post-build substitution, as far as it can reject a decrypted value.

kustomize-controller substitutes ``${VAR}`` in every built object when ``spec.postBuild`` is set
(decrypted Secrets included); with strict substitution (Flux 2.9's default) a variable that is
neither defined in ``postBuild.substitute``/``substituteFrom`` nor given a default fails the whole
reconciliation. ``$${VAR}`` is the escape for a literal ``${VAR}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from sopskit.format.tree import TreeMap

_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}")
_DEFAULT_OPERATORS = (":=", ":-", "=", "-")
DISABLED_ANNOTATION = "kustomize.toolkit.fluxcd.io/substitute"


def undefined_variables(text: str, defined: Mapping[str, Any]) -> list[str]:
    """Names of ``${VAR}`` in ``text`` that strict substitution would reject."""
    return [
        name
        for name, rest in _VARIABLE.findall(text)
        if name not in defined and not rest.startswith(_DEFAULT_OPERATORS)
    ]


def string_leaves(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted key path, string)`` for every string leaf of a decrypted branch."""
    if isinstance(value, TreeMap):
        for key, child in value.items():
            yield from string_leaves(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from string_leaves(child, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def rejected(branches: list[TreeMap], post_build: Mapping[str, Any]) -> list[tuple[str, list[str]]]:
    """``(key path, variable names)`` a Kustomization with ``post_build`` would reject."""
    defined = post_build.get("substitute")
    defined = defined if isinstance(defined, dict) else {}
    found: list[tuple[str, list[str]]] = []
    for branch in branches:
        metadata = branch.get("metadata")
        annotations = metadata.get("annotations") if isinstance(metadata, TreeMap) else None
        if isinstance(annotations, TreeMap) and annotations.get(DISABLED_ANNOTATION) == "disabled":
            continue
        for path, text in string_leaves(branch):
            names = undefined_variables(text, defined)
            if names:
                found.append((path, names))
    return found


__all__ = ["DISABLED_ANNOTATION", "rejected", "string_leaves", "undefined_variables"]
