"""``yaml-parse-error``: YAML that does not parse is reported, never a crash.

A broken file hides everything in it from the other checks, so it is a finding of its own.
Helm chart templates (``templates/`` below a ``Chart.yaml``) are Go templates, not YAML, and
are left out.
"""

from __future__ import annotations

from collections.abc import Iterator

from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.results import Violation


def _broken_yaml(ctx: CheckContext) -> Iterator[Violation]:
    chart_dirs = {f.parent for f in ctx.repo.files if f.name == "Chart.yaml"}
    ctx.count(YAML_PARSE_ERROR.id, 0)
    for file in ctx.repo.files:
        parsed = file.yaml
        if parsed is not None:
            ctx.count(YAML_PARSE_ERROR.id)
        if parsed is None or parsed.error is None or _in_chart_templates(file.rel, chart_dirs):
            continue
        yield Violation(
            YAML_PARSE_ERROR.id,
            file.rel,
            parsed.error_line,
            f"not valid YAML ({parsed.error}); no other check can see what this file holds",
            "fix the syntax at that line, or add the path to sopskit.exclude if it is a template "
            "rendered by another tool",
        )


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
