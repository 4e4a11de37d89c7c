"""Go (RE2) regular expressions as Python ``re`` patterns.

sops compiles ``path_regex``, ``encrypted_regex`` and the other selection regexes with Go's
``regexp``; real ``.sops.yaml`` files use RE2 spellings Python rejects, such as a mid-pattern
``((?i)pass|key)``. One translation serves the sops engine, the config reader and the scanner.
"""

from __future__ import annotations

import re

_POSIX_CLASSES = {
    "alnum": "A-Za-z0-9", "alpha": "A-Za-z", "digit": "0-9", "lower": "a-z", "upper": "A-Z",
    "space": r"\s", "xdigit": "0-9A-Fa-f", "punct": r"!-/:-@\[-`{-~", "word": r"\w",
}


def translate_go_regex(pattern: str) -> str:
    """Rewrite the RE2 spellings Python's ``re`` rejects into equivalents.

    Mid-pattern ``(?i)`` (RE2 applies it to the rest of the enclosing group) becomes a scoped
    ``(?i:...)`` group closed where the enclosing group closes; ``\\z`` becomes ``\\Z``; POSIX
    classes such as ``[[:alnum:]]`` become ranges.
    """
    for name, rng in _POSIX_CLASSES.items():
        pattern = pattern.replace(f"[:{name}:]", rng)
    out: list[str] = []
    # Per open group: the scoped flag groups opened inside it (RE2 keeps them to the group's end,
    # across alternatives, so each alternative gets its own copy).
    opened: list[list[str]] = [[]]
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            out.append("\\Z" if nxt == "z" else c + nxt)
            i += 2
            continue
        if in_class:
            in_class = c != "]"
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            if i + 1 < n and pattern[i + 1] == "]":
                out.append("]")
                i += 1
            i += 1
            continue
        flag = re.match(r"\(\?([imsU-]+)\)", pattern[i:])
        if flag and i > 0:
            scoped = f"(?{flag.group(1).replace('U', '')}:".replace("(?:", "(?:")
            out.append(scoped)
            opened[-1].append(scoped)
            i += flag.end()
            continue
        if c == "(":
            opened.append([])
        elif c == ")":
            out.append(")" * len(opened.pop()))
            if not opened:
                opened.append([])
        elif c == "|" and opened[-1]:
            out.append(")" * len(opened[-1]) + "|" + "".join(opened[-1]))
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * len(opened[-1]))
    return "".join(out)
