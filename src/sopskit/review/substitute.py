"""Flux ``postBuild`` variable substitution, as kustomize-controller does it (facts from
fluxcd/pkg ``kustomize/kustomize_varsub.go`` and ``envsubst``).

* Variables: ``substituteFrom`` entries in order (ConfigMap ``data``, Secret ``data`` decoded),
  then ``substitute`` on top (its values win); newlines are removed from every value.
* Names must match ``^[_[:alpha:]][_[:alpha:][:digit:]]*$``, else the build fails.
* A resource labelled or annotated ``kustomize.toolkit.fluxcd.io/substitute: disabled`` is left
  alone; with no variable at all nothing is substituted.
* Not strict (the controller's default): an unknown ``${var}`` becomes the empty string.
* Syntax: ``${var}``, ``${var:-default}``, ``${var-default}``, ``${var:=default}``,
  ``${var=default}``; ``$$`` is a literal ``$`` (so ``$${var}`` stays ``${var}``). The rarer
  bash operators (``${#var}``, ``${var^^}``, substrings, pattern replace) are refused with a clear
  error rather than guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sopskit.review.errors import BuildError

VAR_NAME_RE = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
DISABLED_KEY = "kustomize.toolkit.fluxcd.io/substitute"
_EXPR_RE = re.compile(r"^([_a-zA-Z][_a-zA-Z0-9]*)(?:(:?[-=])(.*))?$", re.DOTALL)


def check_names(variables: Mapping[str, str]) -> None:
    for name in variables:
        if not VAR_NAME_RE.match(name):
            raise BuildError(f"postBuild variable name {name!r} is invalid, it must match "
                             f"{VAR_NAME_RE.pattern}")


def _evaluate(expression: str, variables: Mapping[str, str]) -> str:
    match = _EXPR_RE.match(expression)
    if match is None:
        shown = expression.split(":", 1)[0].split("/", 1)[0][:40]
        raise BuildError(f"unsupported substitution expression in ${{{shown}...}} (sopskit supports "
                         "${var}, ${var:-default}, ${var-default}, ${var:=default}, ${var=default})")
    name, operator, default = match.group(1), match.group(2), match.group(3)
    if operator is None:
        return variables.get(name, "")
    is_set = name in variables
    value = variables.get(name, "")
    use_default = (not is_set or value == "") if operator.startswith(":") else not is_set
    return substitute_text(default, variables) if use_default else value


def substitute_text(text: str, variables: Mapping[str, str]) -> str:
    """Expand ``${...}`` in ``text``."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "$" and text.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        if ch == "$" and text.startswith("${", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                if text.startswith("${", j):
                    depth += 1
                    j += 2
                    continue
                if text[j] == "}":
                    depth -= 1
                j += 1
            if depth:
                raise BuildError("unterminated ${ in a resource")
            out.append(_evaluate(text[i + 2:j - 1], variables))
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def is_disabled(resource: Mapping[str, object]) -> bool:
    meta = resource.get("metadata")
    if not isinstance(meta, dict):
        return False
    for field in ("labels", "annotations"):
        marks = meta.get(field)
        if isinstance(marks, dict) and marks.get(DISABLED_KEY) == "disabled":
            return True
    return False
