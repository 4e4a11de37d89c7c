"""Test-only reader for the ``sops`` block of the real vectors, independent of sopskit's stores.

YAML/JSON/binary: load the document and take its ``sops`` mapping. INI/dotenv: collect the
flattened ``[sops]`` / ``sops_`` entries (``pgp__list_0__map_enc``), undo ``\\n`` escapes and
go-ini's triple quotes, and rebuild the nested lists. Just enough to reach the key records.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

_FLAT = re.compile(r"^(?P<type>[a-z_]+?)__list_(?P<index>\d+)__map_(?P<field>[a-z_]+)$")


def _unflatten(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        match = _FLAT.match(key)
        if not match:
            out[key] = value
            continue
        entries = out.setdefault(match["type"], {})
        entries.setdefault(int(match["index"]), {})[match["field"]] = value
    for key, value in list(out.items()):
        if isinstance(value, dict):
            out[key] = [value[i] for i in sorted(value)]
    return out


def _ini_section(text: str) -> dict[str, str]:
    lines = text.splitlines()
    start = lines.index("[sops]") + 1
    flat: dict[str, str] = {}
    i = start
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("["):
            break
        if "=" not in line or line.lstrip().startswith((";", "#")):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if value.startswith('"""'):
            body = [value[3:]]
            while not body[-1].endswith('"""'):
                body.append(lines[i])
                i += 1
            value = "\n".join(body)[:-3]
        flat[key.strip()] = value.replace("\\n", "\n")
    return flat


def _dotenv(text: str) -> dict[str, str]:
    flat = {}
    for line in text.splitlines():
        if line.startswith("sops_") and "=" in line:
            key, _, value = line.partition("=")
            flat[key[len("sops_"):]] = value.replace("\\n", "\n")
    return flat


def read_sops_block(path: Path, store: str) -> dict[str, Any]:
    text = path.read_text()
    if store == "yaml":
        block: dict[str, Any] = yaml.safe_load(text)["sops"]
        return block
    if store in ("json", "binary"):
        block = json.loads(text)["sops"]
        return block
    if store == "ini":
        return _unflatten(_ini_section(text))
    if store == "dotenv":
        return _unflatten(_dotenv(text))
    raise ValueError(f"unknown store {store}")
