"""The project follows its own guardrails: its tree scans clean against the committed
baseline (made-up credentials the tests need), and `policy check` finds nothing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_repository_scans_clean_with_its_baseline() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sopskit", "scan", "--no-progress", "--baseline", ".sopskit-baseline.json", "."],
        cwd=ROOT, capture_output=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_repository_passes_policy_check() -> None:
    proc = subprocess.run([sys.executable, "-m", "sopskit", "policy", "check", "."],
                          cwd=ROOT, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
