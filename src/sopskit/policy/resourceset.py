"""The objects a Flux Operator ``ResourceSet`` stamps out, rendered from its inline inputs.

A ``ResourceSet`` (``fluxcd.controlplane.io``) holds templates in ``spec.resources`` and a list
of ``spec.inputs``; the operator applies each template once per input, with ``<< inputs.name >>``
replaced by that input's field. Repositories use it to generate one Flux Kustomization per
namespace (``path: ./kubernetes/apps/<< inputs.namespace >>``): without rendering, every
namespace directory looks unbuilt and every app below it a root of its own.

Only what can be known from the file is rendered: a field of an inline input. Any other
expression (``inputsFrom`` providers, functions, ``<< inputs.id >>`` when no input sets ``id``)
is kept as a ``${...}`` placeholder, so the rendered value counts as templated, exactly like a
Flux post-build variable the repository does not fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from sopskit.policy.repo import is_kind
from sopskit.policy.yamldocs import YamlDocument

OPERATOR_API = "fluxcd.controlplane.io/"
#: ``<< inputs.namespace >>``, with the optional whitespace trimming dashes of Go templates
_EXPRESSION = re.compile(r"<<-?\s*(.*?)\s*-?>>", re.DOTALL)
_INPUT_FIELD = re.compile(r"inputs((?:\.[A-Za-z_][\w-]*)+)")


def resource_set_objects(doc: YamlDocument) -> Iterator[YamlDocument]:
    """Each template of the ResourceSet ``doc`` rendered once per inline input (once with no
    input when it has none), as a document whose line look-ups point into the template."""
    if not is_kind(doc.data, "ResourceSet", OPERATOR_API):
        return
    spec = doc.data.get("spec")
    if not isinstance(spec, dict):
        return
    resources = spec.get("resources")
    raw_inputs = spec.get("inputs")
    inputs = [i for i in raw_inputs if isinstance(i, dict)] if isinstance(raw_inputs, list) else []
    for index, template in enumerate(resources if isinstance(resources, list) else ()):
        if not isinstance(template, dict):
            continue
        node = doc.node_at("spec", "resources", index)
        for values in inputs or [{}]:
            yield YamlDocument(doc.index, _rendered(template, values), node)


def _rendered(value: Any, inputs: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _EXPRESSION.sub(lambda m: _expression_value(m.group(1), inputs), value) if "<<" in value else value
    if isinstance(value, dict):
        return {_rendered(k, inputs): _rendered(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_rendered(v, inputs) for v in value]
    return value


def _expression_value(expression: str, inputs: dict[str, Any]) -> str:
    """The input field ``expression`` names, or a ``${...}`` placeholder when the file cannot
    tell (another input source, a function, a missing or non-scalar field)."""
    field = _INPUT_FIELD.fullmatch(expression)
    found: Any = inputs if field else None
    for step in field.group(1).split(".")[1:] if field else ():
        found = found.get(step) if isinstance(found, dict) else None
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, (str, int, float)):
        return str(found)
    return "${" + expression + "}"
