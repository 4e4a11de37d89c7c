"""SOPS awareness against the real sops vectors (read in place, never copied)."""

from __future__ import annotations

from pathlib import Path

from sopskit.scan import ScanOptions, scan

STORES = ("yaml", "json", "dotenv", "ini", "binary")


def _encrypted_files(vectors_dir: Path) -> list[Path]:
    files = [p for d in STORES for p in sorted((vectors_dir / d).glob("*")) if p.is_file()]
    assert len(files) >= 20
    return files


def test_real_sops_files_have_no_findings(vectors_dir: Path) -> None:
    report = scan(ScanOptions(paths=_encrypted_files(vectors_dir), sops_config=False))
    assert report.findings == [], [(f.rule_id, f.path, f.line) for f in report.findings]
    assert report.stats.items_scanned == len(_encrypted_files(vectors_dir))


def test_real_key_files_are_findings(vectors_dir: Path) -> None:
    report = scan(ScanOptions(paths=[vectors_dir / "keys"], sops_config=False))
    rules = {(f.rule_id, Path(f.path).name) for f in report.findings}
    assert ("age-secret-key", "keys.txt") in rules
    assert ("private-key", "sops_functional_tests_key.asc") in rules


def test_plaintext_value_added_to_real_sops_file(vectors_dir: Path, tmp_path: Path) -> None:
    """A value added by hand after encryption, under a key the file's rule encrypts."""
    original = (vectors_dir / "yaml" / "example.sops-3.7.1.age.yaml").read_text()
    assert original.startswith(("#", "a", "b", "e", "m", "h", "l", "c", "d")) or original
    tampered = tmp_path / "tampered.yaml"
    tampered.write_text("added_by_hand: hunter2-but-longer\n" + original)
    report = scan(ScanOptions(paths=[tampered], sops_config=False))
    assert [(f.rule_id, f.line) for f in report.findings] == [("sops-plaintext-value", 1)]
    clean = scan(ScanOptions(paths=[vectors_dir / "yaml" / "example.sops-3.7.1.age.yaml"], sops_config=False))
    assert clean.findings == []
