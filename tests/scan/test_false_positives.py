"""False positives of the scanner, each a minimised made-up reproduction (issue 8).

Cases come from gitleaks's published false-positive examples and from held-out GitOps
repositories; every value here is invented or generated from a seeded RNG, and each
non-detection is paired with the detection it must not cost.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from sopskit.scan import ScanOptions, scan

RNG = random.Random(2026_12_03)
ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def findings(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, str, int]]:
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    report = scan(ScanOptions(paths=[tmp_path], sops_config=False))
    return sorted((f.rule_id, f.path, f.line) for f in report.findings)


# ----------------------------------------------------------------- gitleaks's false examples


def test_a_word_that_only_starts_like_a_secret_word_is_not_a_key(tmp_path: Path) -> None:
    value = _rand(6) + "-" + _rand(5) + "=" + _rand(4)
    assert findings(tmp_path, {"ci.txt": f"libfoo-master-keying:{value}\n",
                               "b.txt": f"text_tokenizer = {_rand(20)}\n"}) == []
    assert findings(tmp_path, {"c.txt": f"libfoo-master-key: {_rand(24)}\n"}) == [
        ("generic-secret", "c.txt", 1)]


def test_a_key_that_names_where_secrets_are_kept_is_a_locator(tmp_path: Path) -> None:
    vault_name = f"ab{RNG.randrange(10)}-qx-{RNG.randrange(10**9, 10**10)}"
    assert findings(tmp_path, {"a.yaml": f"keyVaultToStoreSecrets: {vault_name}\n",
                               "b.yaml": f"bucketForTokens: {_rand(16)}\n"}) == []
    # the secret word is the head noun here: still a secret
    assert findings(tmp_path, {"c.yaml": f"encryptionKeyForSecrets: {_rand(32)}\n"}) == [
        ("generic-secret", "c.yaml", 1)]


def test_a_qualified_camel_case_type_name_is_not_a_token(tmp_path: Path) -> None:
    assert findings(tmp_path, {"a.xsd": 'token:"ns1234:AgencyIdentificationCodeContentType"\n'}) == []
    assert findings(tmp_path, {"b.env": f'token: "ns1234:{_rand(30)}"\n'}) == [("generic-secret", "b.env", 1)]
