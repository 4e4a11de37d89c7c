"""Decrypt what kustomize reads before the build, as kustomize-controller's ``DecryptSources``.

Facts from fluxcd/kustomize-controller ``internal/decryptor/decryptor.go``:

* Start at the build directory; load its kustomization file (``kustomization.yaml``,
  ``kustomization.yml`` or ``Kustomization``: exactly one, a regular file), then recurse into every
  local ``resources`` and ``components`` entry that is a directory. Each directory once.
* In each kustomization: every ``secretGenerator`` ``files`` entry (``key=path`` or ``path``),
  decrypted in the format of the *key*'s extension (a key ending in ``.dockerconfigjson`` is
  JSON); every ``envs`` entry, in the format of its extension, dotenv when that says binary; and
  every ``patches[].path`` that is not a remote URL, in the format of its extension.
* A path is joined to the kustomization's directory and confined to the root (``securejoin``);
  it must be a regular file (no symlink) of at most 5 MiB; it is decrypted only if its bytes
  contain the format's marker (``mac: ENC[`` for YAML, ``"mac": "ENC[`` for JSON and binary,
  ``sops_mac=ENC[`` for dotenv, ``[sops]`` for INI) and then written back as plaintext.

Differences, on purpose: the MAC is always verified, and the files written back live on tmpfs
(:mod:`sopskit.review.workspace`). Every decrypted value is remembered for redaction.
"""

from __future__ import annotations

import os
import posixpath
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sopskit.errors import SopsError
from sopskit.keys.base import KeyContext
from sopskit.ops.decrypt import emit_plaintext
from sopskit.review.errors import BuildError
from sopskit.review.secrets import SecretValues, open_collecting
from sopskit.stores import format_for_path

MAX_FILE_BYTES = 5 << 20
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MARKERS = {
    "binary": b'"mac": "ENC[',
    "dotenv": b"sops_mac=ENC[",
    "ini": b"[sops]",
    "json": b'"mac": "ENC[',
    "yaml": b"mac: ENC[",
}


def format_for_key(path: str) -> str:
    """The controller's ``formatForPath``: ``.dockerconfigjson`` is JSON, else sops's rule."""
    return "json" if path.endswith(".dockerconfigjson") else format_for_path(path)


def is_remote_url(path: str) -> bool:
    parsed = urllib.parse.urlparse(path)
    return bool(parsed.scheme and parsed.netloc)


def confine(root: Path, directory: str, entry: str) -> tuple[Path, str]:
    """``entry`` (relative to ``directory``, both root-relative) as an absolute path inside
    ``root``, and its root-relative form. Like securejoin, ``..`` cannot climb above the root."""
    joined = posixpath.normpath(posixpath.join("/", directory, entry.lstrip("/") if entry.startswith("/")
                                               else entry))
    rel = joined.lstrip("/") or "."
    return root / rel, rel


def load_kustomization(root: Path, rel_dir: str) -> dict[str, Any] | None:
    """The kustomization of ``rel_dir``; None when there is none; errors as the controller."""
    found: Path | None = None
    for name in KUSTOMIZATION_FILES:
        candidate = root / rel_dir / name
        if not os.path.lexists(candidate):
            continue
        if candidate.is_symlink() or not candidate.is_file():
            raise BuildError(f"expected {posixpath.join(rel_dir, name)} to be a regular file")
        if found is not None:
            raise BuildError(f"found multiple kustomization files in {rel_dir or '.'}")
        found = candidate
    if found is None:
        return None
    try:
        data = yaml.safe_load(found.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        raise BuildError(f"{posixpath.join(rel_dir, found.name)}: not valid YAML") from None
    return data if isinstance(data, dict) else {}


@dataclass
class SourceDecryptor:
    root: Path
    context: KeyContext
    secrets: SecretValues
    decrypted: list[str] = field(default_factory=list)
    _seen_files: set[str] = field(default_factory=set)
    _seen_dirs: set[str] = field(default_factory=set)

    def run(self, rel_dir: str) -> None:
        self._visit_dir(rel_dir)

    def _visit_dir(self, rel_dir: str) -> None:
        path, rel = confine(self.root, "", rel_dir)
        if rel in self._seen_dirs:
            return
        self._seen_dirs.add(rel)
        if path.is_symlink() or not path.is_dir():
            return  # a file resource or a URL: a dead end, as in the controller
        kustomization = load_kustomization(self.root, "" if rel == "." else rel)
        if kustomization is None:
            if rel_dir == "" or rel == ".":
                return
            raise BuildError(f"no kustomization file found in {rel}")
        base = "" if rel == "." else rel
        self._visit_kustomization(base, kustomization)
        for entry in [*(kustomization.get("resources") or []), *(kustomization.get("components") or [])]:
            if isinstance(entry, str) and not is_remote_url(entry):
                target = confine(self.root, base, entry)[1]
                if (self.root / target).is_dir():
                    self._visit_dir(target)

    def _visit_kustomization(self, base: str, kustomization: dict[str, Any]) -> None:
        for generator in kustomization.get("secretGenerator") or []:
            if not isinstance(generator, dict):
                continue
            for entry in generator.get("files") or []:
                if isinstance(entry, str):
                    key, _, file_path = entry.partition("=")
                    self._decrypt(base, file_path or key, format_for_key(key))
            for entry in generator.get("envs") or []:
                if isinstance(entry, str):
                    fmt = format_for_key(entry)
                    self._decrypt(base, entry, "dotenv" if fmt == "binary" else fmt)
        for patch in kustomization.get("patches") or []:
            path = patch.get("path") if isinstance(patch, dict) else None
            if isinstance(path, str) and path and not is_remote_url(path):
                self._decrypt(base, path, format_for_key(path))

    def _decrypt(self, base: str, entry: str, fmt: str) -> None:
        path, rel = confine(self.root, base, entry)
        if rel in self._seen_files:
            return
        if not os.path.lexists(path):
            return  # kustomize reports the missing file itself
        if path.is_symlink() or not path.is_file():
            raise BuildError(f"{rel}: cannot decrypt irregular file (symlinks are refused)")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise BuildError(f"{rel}: cannot decrypt file with size ({size} bytes) exceeding limit "
                             f"({MAX_FILE_BYTES})")
        data = path.read_bytes()
        if MARKERS[fmt] not in data:
            return
        try:
            opened = open_collecting(data, fmt, self.context, self.secrets)
        except SopsError as exc:
            exc.message = f"{rel}: {exc.message}"
            raise
        plain = emit_plaintext(opened, output_format=fmt)
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "wb") as handle:
            handle.write(plain)
        self._seen_files.add(rel)
        self.decrypted.append(rel)
