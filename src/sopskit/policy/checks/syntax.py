"""``yaml-parse-error``: YAML that does not parse is reported, never a crash.

A broken file hides everything in it from the other checks, so it is a finding of its own.
Not every ``.yaml`` file is YAML: Helm chart templates (``templates/`` below a ``Chart.yaml``),
files holding Go/Jinja template expressions (``{{ .Values.x }}``, ``{% if %}``: rendered by
another tool before anything parses them; unless the YAML is broken elsewhere, which a word in
place of each ``{{ }}`` expression shows) and the inputs of a kustomize ``configMapGenerator`` /
``secretGenerator`` (kustomize copies their bytes, it never parses them) are left out when they
do not parse, and so is valid JSON that PyYAML refuses (tab-indented JSON, as ``sops`` writes
a kubeconfig encrypted in JSON format). Files in an archive tree (``.archive/``, ``archived/``)
are not checked: nothing builds them, so no tool fails on them, and every other check skips them
too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.fluxgraph import is_archived
from sopskit.policy.kustomize import generator_sources
from sopskit.policy.results import Violation
from sopskit.policy.yamldocs import parse_yaml_documents

_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def _generator_inputs(ctx: CheckContext) -> set[str]:
    inputs: set[str] = set()
    for file, doc in ctx.repo.kustomizations():
        for field_name in ("configMapGenerator", "secretGenerator"):
            items = doc.data.get(field_name)
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict):
                    inputs.update(generator_sources(file.parent, item))
    return inputs


def _broken_yaml(ctx: CheckContext) -> Iterator[Violation]:
    chart_dirs = {f.parent for f in ctx.repo.files if f.name == "Chart.yaml"}
    generator_inputs = _generator_inputs(ctx)
    ctx.count(YAML_PARSE_ERROR.id, 0)
    for file in ctx.repo.files:
        parsed = file.yaml
        if parsed is not None:
            ctx.count(YAML_PARSE_ERROR.id)
        if parsed is None or parsed.error is None or _in_chart_templates(file.rel, chart_dirs):
            continue
        if is_archived(file.rel):
            ctx.note(YAML_PARSE_ERROR.id, f"not checked: {file.rel}: archived (nothing builds it)")
            continue
        if file.rel in generator_inputs:
            ctx.note(YAML_PARSE_ERROR.id, f"not checked: {file.rel}: a generator input (kustomize copies its bytes)")
            continue
        if _TEMPLATE.search(file.text or "") and _templates_break_it(file.text or ""):
            ctx.note(YAML_PARSE_ERROR.id, f"not checked: {file.rel}: a template rendered by another tool")
            continue
        if _is_json(file.text or ""):
            continue  # JSON (tab-indented, e.g. a sops-encrypted kubeconfig): valid for kubectl and YAML 1.2
        yield Violation(
            YAML_PARSE_ERROR.id,
            file.rel,
            parsed.error_line,
            f"not valid YAML ({parsed.error}); no other check can see what this file holds",
            "fix the syntax at that line, or add the path to sopskit.exclude if it is a template "
            "rendered by another tool",
        )


_EXPRESSION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
#: a line holding nothing but template actions (``{{- if .Values.x }}``, ``{{- end }}``,
#: ``{{- $ctx := . -}}``): control flow that renders to nothing, not a value. An action's body
#: never runs past a ``}}``, so a line splits into actions one way only: with a lazy ``.*?``
#: instead, a line of many ``{{a}}`` that fails to match backtracks exponentially.
_ACTION_LINE = re.compile(r"(?m)^[ \t]*(?:\{\{(?:(?!\}\}).)*\}\}[ \t]*)+$")


def _templates_break_it(text: str) -> bool:
    """Whether the template syntax is what breaks the YAML: with ``{% %}`` blocks (they shape the
    document) always; with only ``{{ }}`` expressions, when the text parses once each line of
    template actions alone is dropped and each other expression is replaced by a plain word.
    ``key: &a &b "{{ .x }}"`` (two anchors) is broken YAML whatever the expression renders to, and
    is reported."""
    if "{%" in text:
        return True
    return parse_yaml_documents(_EXPRESSION.sub("x", _ACTION_LINE.sub("", text))).error is None


def _is_json(text: str) -> bool:
    """JSON is YAML 1.2 even where PyYAML balks (tabs as indentation inside flow collections)."""
    if not text.lstrip().startswith(("{", "[")):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _in_chart_templates(rel: str, chart_dirs: set[str]) -> bool:
    return any(rel.startswith(f"{d}/templates/" if d else "templates/") for d in chart_dirs)


YAML_PARSE_ERROR = Check(
    id="yaml-parse-error",
    title="YAML file does not parse",
    catches="A .yaml/.yml/kustomization file that is not valid YAML: Flux fails on it and every other "
    "check is blind to its content.",
    fix="Fix the syntax, or list the path in sopskit.exclude when it is a template rendered elsewhere.",
    run=_broken_yaml,
)
