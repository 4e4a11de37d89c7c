"""Shared by the scanner's tests: write made-up files into a directory and scan it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sopskit.scan import ScanOptions, scan


def findings(tmp_path: Path, files: Mapping[str, str | bytes], *, sops: bool = False,
             **opts: object) -> list[tuple[str, str, int]]:
    """(rule, path, line) of every finding of a work-tree scan of ``files`` written under
    ``tmp_path``; ``sops`` reads the ``.sops.yaml`` rules (off by default, as most tests plant none)."""
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text if isinstance(text, bytes) else text.encode())
    report = scan(ScanOptions(paths=[tmp_path], sops_config=sops, **opts))  # type: ignore[arg-type]
    return sorted((f.rule_id, f.path, f.line) for f in report.findings)
