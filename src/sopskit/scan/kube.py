"""Kubernetes-aware checks: plaintext ``Secret`` manifests and Kustomize ``secretGenerator``.

Secret manifests are read line by line rather than with a YAML parser, because the layouts
that matter most do not parse: Helm templates (``{{ ... }}`` lines between keys) and
multi-document files with one broken document. A line reader also gives exact line numbers.
A value is reported when it is present and literal: templated values (``{{ }}``, Flux
``${VAR}`` substitutions), ``ENC[...]`` values and placeholders are not secrets in Git.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

_DOC_SPLIT = re.compile(rb"^(?:---|\.\.\.)\s*(?:#.*)?$")
_KIND_SECRET = re.compile(rb"""^kind:\s*["']?Secret["']?\s*(?:#.*)?$""")
_DATA_KEY = re.compile(rb"^(data|stringData):\s*(?:#.*)?$")
_ENTRY = re.compile(rb"""^(\s+)(["']?)([^"'\s:#][^"':]*|[^"']*)\2\s*:(?:\s+(.*?))?\s*$""")
_BLOCK = re.compile(rb"^[|>][-+0-9]*\s*(?:#.*)?$")
_COMMENT_TAIL = re.compile(rb"\s+#.*$")

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class ManifestValue:
    """A literal value found in a Secret's ``data``/``stringData`` (line is 1-based)."""

    line: int
    key: str
    field: str  # "data" or "stringData"
    value: bytes


def _unquote(raw: bytes) -> bytes:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b'"', b"'"):
        return raw[1:-1]
    return _COMMENT_TAIL.sub(b"", raw)


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" "))


def _is_transparent(line: bytes) -> bool:
    """Blank, comment and Helm control lines do not end a block."""
    s = line.strip()
    return not s or s.startswith(b"#") or s.startswith(b"{{")


def _values_in_block(lines: list[bytes], first: int, fieldname: str) -> list[ManifestValue]:
    out: list[ManifestValue] = []
    i, child = first, -1
    while i < len(lines):
        line = lines[i]
        if _is_transparent(line):
            i += 1
            continue
        ind = _indent(line)
        if ind == 0:
            break
        if child < 0:
            child = ind
        m = _ENTRY.match(line) if ind == child else None
        if m is None:
            i += 1
            continue
        key, raw = m.group(3).decode("utf-8", "replace"), (m.group(4) or b"")
        if _BLOCK.match(raw):
            body: list[bytes] = []
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > child):
                body.append(lines[j].strip())
                j += 1
            value = b"\n".join(body).strip()
            if value:
                out.append(ManifestValue(i + 1, key, fieldname, value))
            i = j
            continue
        value = _unquote(raw.strip())
        if value:
            out.append(ManifestValue(i + 1, key, fieldname, value))
        i += 1
    return out


def find_secret_values(data: bytes) -> list[ManifestValue]:
    """Literal values under ``data``/``stringData`` of every ``kind: Secret`` document."""
    if b"Secret" not in data:
        return []
    lines = data.split(b"\n")
    out: list[ManifestValue] = []
    start = 0
    for i in range(len(lines) + 1):
        if i == len(lines) or _DOC_SPLIT.match(lines[i]):
            doc = range(start, i)
            if any(_KIND_SECRET.match(lines[j]) for j in doc):
                for j in doc:
                    m = _DATA_KEY.match(lines[j])
                    if m:
                        block = _values_in_block(lines[: i], j + 1, m.group(1).decode())
                        out.extend(block)
            start = i + 1
    return out


def is_templated(value: bytes) -> bool:
    """Rendered at deploy time (Helm ``{{ }}``, Flux/envsubst ``${VAR}``): not a literal."""
    return b"{{" in value or b"${" in value


@dataclass(frozen=True)
class GeneratorRefs:
    """What a kustomization's ``secretGenerator`` entries put into Secrets."""

    literals: list[tuple[int, bytes]]  # (line, value)
    files: list[str]  # paths relative to the kustomization's directory
    envs: list[str]


def is_kustomization(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES


def _line_of(data: bytes, needle: bytes) -> int:
    pos = data.find(needle)
    return data.count(b"\n", 0, pos) + 1 if pos >= 0 else 1


def find_generator_refs(data: bytes) -> GeneratorRefs:
    """Literals, files and env files of ``secretGenerator`` entries (empty if unparsable)."""
    refs = GeneratorRefs([], [], [])
    if b"secretGenerator" not in data:
        return refs
    try:
        doc = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return refs
    gens = doc.get("secretGenerator") if isinstance(doc, dict) else None
    for gen in gens if isinstance(gens, list) else []:
        if not isinstance(gen, dict):
            continue
        for lit in gen.get("literals") or []:
            text = str(lit)
            if "=" in text:
                value = text.split("=", 1)[1].encode()
                if value:
                    refs.literals.append((_line_of(data, text.encode()), value))
        for f in gen.get("files") or []:
            text = str(f)
            refs.files.append(text.split("=", 1)[1] if "=" in text else text)
        envs = list(gen.get("envs") or [])
        if gen.get("env"):
            envs.append(gen["env"])
        refs.envs.extend(str(e) for e in envs)
    return refs


def env_file_values(data: bytes) -> list[tuple[int, bytes]]:
    """``KEY=value`` lines of a dotenv file: (line, value)."""
    out: list[tuple[int, bytes]] = []
    for n, line in enumerate(data.split(b"\n"), 1):
        s = line.strip()
        if s and not s.startswith(b"#") and b"=" in s:
            value = _unquote(s.split(b"=", 1)[1].strip())
            if value:
                out.append((n, value))
    return out
