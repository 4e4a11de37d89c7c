"""Tolerant multi-document YAML parsing that keeps line numbers.

Checks need the data *and* where a key sits, and a repository always holds some broken or
templated YAML. So this parser keeps every document that parsed before an error, reports the
error as data (problem and line only: PyYAML's full message quotes the source line, which may
be a secret), and accepts unknown tags (``!Ref``, ``!vault``) instead of failing on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml


class _TolerantLoader(yaml.SafeLoader):
    """SafeLoader that builds plain values for tags it does not know, and lets an anchor name be
    defined again (YAML 1.2: an alias refers to the most recent node with that anchor; Flux,
    Helm and kubectl accept it, PyYAML alone refuses)."""

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if not self.check_event(yaml.AliasEvent):
            anchor = getattr(self.peek_event(), "anchor", None)  # type: ignore[no-untyped-call]
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return super().compose_node(parent, index)


def _construct_unknown(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None


_TolerantLoader.add_constructor(None, _construct_unknown)


@dataclass(frozen=True)
class YamlDocument:
    """One document: constructed data plus its node tree for line look-ups."""

    index: int
    data: Any = field(repr=False)  # may hold secret values: keep them out of reprs and tracebacks
    node: yaml.Node = field(repr=False)

    @property
    def line(self) -> int:
        """1-based line where the document's content starts."""
        return self.node.start_mark.line + 1

    def line_of(self, *path: str | int) -> int:
        """Line of the key (or list item) at ``path``; the deepest found ancestor otherwise."""
        return self._walk(path)[1]

    def node_at(self, *path: str | int) -> yaml.Node:
        """The node at ``path`` (the deepest found ancestor otherwise): for an object that a
        document describes inside itself (RBAC written as Helm values), so that its line is where
        it is written."""
        return self._walk(path)[0]

    def _walk(self, path: tuple[str | int, ...]) -> tuple[yaml.Node, int]:
        node = self.node
        line = self.line
        for step in path:
            child: yaml.Node | None = None
            if isinstance(node, yaml.MappingNode) and isinstance(step, str):
                for key, value in node.value:
                    if isinstance(key, yaml.ScalarNode) and key.value == step:
                        line = key.start_mark.line + 1
                        child = value
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                child = node.value[step]
                line = child.start_mark.line + 1
            if child is None:
                return node, line
            node = child
        return node, line


@dataclass(frozen=True)
class YamlParse:
    """All documents that parsed, and the first error if parsing stopped early."""

    documents: tuple[YamlDocument, ...]
    error: str | None = None
    error_line: int | None = None


#: a line's indentation and the rest of it
_LINE = re.compile(r"(?m)^([ \t]*)(\S.*)$")


def _inner_tabs_as_spaces(text: str) -> str:
    """Every tab after the first non-blank character of its line read as a space; tabs that
    indent stay (they are errors everywhere), and line numbers do not move."""
    return _LINE.sub(lambda m: m.group(1) + m.group(2).replace("\t", " "), text)


def parse_yaml_documents(text: str) -> YamlParse:
    """Parse every document of ``text``; never raises on malformed input.

    PyYAML's pure-Python scanner refuses a tab as white space between tokens: after a plain
    value at the end of a line (``state: drain<TAB>``), between a key and its colon
    (``some.key<TAB>: true``), before a comment or inside a flow list. libyaml, Go's YAML
    (Flux, kubectl) and Ansible read those tabs as white space, so such a text is parsed again
    with them as spaces: the text is broken only if it is broken read that way. Tabs that indent
    stay errors everywhere."""
    parsed = _parse(text)
    if parsed.error is not None and "\t" in text:
        return _parse(_inner_tabs_as_spaces(text))  # its error, if any, is the one Go would give
    return parsed


def _parse(text: str) -> YamlParse:
    documents: list[YamlDocument] = []
    try:
        loader = _TolerantLoader(text)  # the reader rejects control characters here already
    except yaml.YAMLError as err:
        return YamlParse((), *_describe(err))
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            data = loader.construct_document(node)
            documents.append(YamlDocument(index=len(documents), data=data, node=node))
    except yaml.YAMLError as err:
        return YamlParse(tuple(documents), *_describe(err))
    except (TypeError, ValueError, RecursionError):
        # Unhashable keys, bad timestamps, alias bombs: broken input, not a crash.
        return YamlParse(tuple(documents), "the YAML cannot be turned into data", None)
    finally:
        loader.dispose()
    return YamlParse(tuple(documents))


def _describe(err: yaml.YAMLError) -> tuple[str, int | None]:
    """Problem text and line, without the quoted source snippet."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        problem = err.problem or err.context or "invalid YAML"
        return problem, (mark.line + 1 if mark is not None else None)
    return "invalid YAML", None
