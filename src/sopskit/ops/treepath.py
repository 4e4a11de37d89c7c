"""sops tree paths: ``["key"][0]["nested"]`` as used by ``--extract``, ``set`` and ``unset``.

Each ``[...]`` component starting with a quote is a key (first and last character
stripped, no escapes, exactly like sops); anything else must be an integer list index.
"""

from __future__ import annotations

from sopskit.errors import SetFormatError, SopsError, TreePathError
from sopskit.format.tree import TreeMap, Value

PathPart = str | int


def parse_tree_path(text: str, *, error: type[SopsError] = TreePathError) -> list[PathPart]:
    parts: list[PathPart] = []
    rest = text.strip()
    if not rest:
        raise error("empty tree path; expected something like '[\"key\"][0]'")
    while rest:
        if not rest.startswith("["):
            raise error(f"invalid tree path {text!r}: components must look like [\"key\"] or [0]")
        end = rest.find("]")
        # a quoted key may itself contain ']': look for the closing quote first
        if len(rest) > 1 and rest[1] in "\"'":
            close = rest.find(rest[1] + "]", 2)
            if close < 0:
                raise error(f"invalid tree path {text!r}: unterminated key")
            parts.append(rest[2:close])
            rest = rest[close + 2:]
            continue
        if end < 0:
            raise error(f"invalid tree path {text!r}: missing ']'")
        inner = rest[1:end]
        try:
            parts.append(int(inner))
        except ValueError:
            raise error(
                f"invalid tree path {text!r}: {inner!r} is neither a quoted key nor an index"
            ) from None
        rest = rest[end + 1:]
    return parts


def parse_set_path(text: str) -> list[PathPart]:
    return parse_tree_path(text, error=SetFormatError)


def get_at(root: TreeMap, path: list[PathPart]) -> Value:
    """The value at ``path``; raises TreePathError naming the missing component."""
    node: Value = root
    for depth, part in enumerate(path):
        shown = "".join(f'["{p}"]' if isinstance(p, str) else f"[{p}]" for p in path[: depth + 1])
        if isinstance(part, str):
            if not isinstance(node, TreeMap) or part not in node:
                raise TreePathError(f"the path {shown} does not exist in the file")
            node = node[part]
        else:
            if not isinstance(node, list):
                raise TreePathError(f"the path {shown} does not exist in the file")
            # like sops, the index counts every element, comments included
            if not 0 <= part < len(node):
                raise TreePathError(f"the path {shown} does not exist in the file")
            node = node[part]
    return node
