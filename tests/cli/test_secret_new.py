"""``sopskit secret new ENV NAME`` through the real entry point, with a scripted $EDITOR.

The fake editor records where its buffer lives and with which permissions (never the
content), then writes the user's values. Afterwards no byte of the plaintext may remain
anywhere: not in the repository, ``$HOME``, the temp dirs or tmpfs.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from sopskit.keys.age import generate_identity
from sopskit.ops.decrypt import decrypt

SOPSKIT = [sys.executable, "-m", "sopskit"]
# made at run time so that no file on disk (this test file included) holds it
VALUE = "s3cr3t-typed-in-editor-" + secrets.token_hex(8)

EDITOR = """\
import json, os, stat, sys
path = sys.argv[-1]
st, dst = os.stat(path), os.stat(os.path.dirname(path))
with open(os.environ["EDITOR_LOG"], "w") as log:
    json.dump({"path": path, "mode": stat.S_IMODE(st.st_mode), "dir_mode": stat.S_IMODE(dst.st_mode)}, log)
mode = os.environ.get("EDITOR_MODE", "fill")
if mode == "fail":
    sys.exit(3)
if mode == "fill":
    text = open(path).read().replace("key: value", "password: " + os.environ["EDITOR_VALUE"])
    open(path, "w").write(text)
"""


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, dict[str, str], str]:
    identity, recipient = generate_identity()
    repo = tmp_path / "repo"
    (repo / "flux/secrets/prod").mkdir(parents=True)
    (repo / "flux/secrets/dev").mkdir(parents=True)
    (repo / ".sops.yaml").write_text(
        f"creation_rules:\n  - path_regex: ^flux/secrets/prod/\n    encrypted_regex: ^(data|stringData)$\n"
        f"    age: {recipient}\n")
    editor = tmp_path / "editor.py"
    editor.write_text(EDITOR)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "XDG_RUNTIME"))}
    env.update({"HOME": str(home), "EDITOR": f"{sys.executable} {editor}", "EDITOR_VALUE": VALUE,
                "EDITOR_LOG": str(tmp_path / "editor.json")})
    return repo, env, identity


def _run(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, "secret", "new", *args], cwd=repo, env=env, capture_output=True,
                          timeout=60, check=False)


def _plaintext_anywhere(*roots: Path, since: float = 0.0) -> list[Path]:
    """Regular files under ``roots`` changed at or after ``since`` that hold the value (FIFOs
    and devices that other programs leave in /tmp are skipped: reading one would block)."""
    hits = []
    for root in roots:
        for directory, _dirs, files in os.walk(root):
            for name in files:
                path = Path(directory) / name
                try:
                    info = os.lstat(path)
                    if not stat.S_ISREG(info.st_mode) or info.st_mtime < since:
                        continue
                    if VALUE.encode() in path.read_bytes():
                        hits.append(path)
                except OSError:
                    continue
    return hits


def test_secret_new_writes_encrypted_file(setup: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    repo, env, identity = setup
    started = time.time() - 1
    proc = _run(repo, env, "prod", "db-credentials")
    assert proc.returncode == 0, proc.stderr.decode()
    target = repo / "flux/secrets/prod/db-credentials.yaml"
    data = target.read_bytes()
    assert VALUE.encode() not in data and b"ENC[AES256_GCM" in data
    plain = yaml.safe_load(decrypt(data, format="yaml", identities=[identity]))
    assert plain["kind"] == "Secret" and plain["type"] == "Opaque"
    assert plain["metadata"] == {"name": "db-credentials", "namespace": "prod"}
    assert plain["stringData"] == {"password": VALUE}
    assert yaml.safe_load(data)["metadata"]["name"] == "db-credentials"  # manifest stays readable
    kustomization = yaml.safe_load((repo / "flux/secrets/prod/kustomization.yaml").read_text())
    assert kustomization["resources"] == ["db-credentials.yaml"]
    err = proc.stderr.decode()
    assert "git add" in err and "spec.decryption" in err and VALUE not in err
    log = json.loads((tmp_path / "editor.json").read_text())
    buffer = Path(log["path"])
    assert log["mode"] == 0o600 and log["dir_mode"] == 0o700
    assert str(buffer).startswith("/dev/shm/")
    assert not buffer.parent.exists()
    assert not _plaintext_anywhere(repo, Path(env["HOME"]), Path(tempfile.gettempdir()), Path("/dev/shm"),
                                   since=started)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_unknown_environment_lists_known_ones(setup: tuple[Path, dict[str, str], str],
                                             tmp_path: Path) -> None:
    repo, env, _ = setup
    proc = _run(repo, env, "stage", "db")
    assert proc.returncode != 0
    err = proc.stderr.decode()
    assert "unknown environment 'stage'" in err and "dev, prod" in err
    assert not (tmp_path / "editor.json").exists()  # the editor never opened


def test_existing_file_offers_edit(setup: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    repo, env, _ = setup
    existing = repo / "flux/secrets/prod/db.yaml"
    existing.write_text("kept\n")
    proc = _run(repo, env, "prod", "db")
    assert proc.returncode != 0
    assert "sopskit edit --from-cluster flux/secrets/prod/db.yaml" in proc.stderr.decode()
    assert existing.read_text() == "kept\n"


def test_editor_failure_leaves_nothing(setup: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    repo, env, _ = setup
    proc = _run(repo, {**env, "EDITOR_MODE": "fail"}, "prod", "api")
    assert proc.returncode != 0
    assert not (repo / "flux/secrets/prod/api.yaml").exists()
    assert not (repo / "flux/secrets/prod/kustomization.yaml").exists()
    buffer = Path(json.loads((tmp_path / "editor.json").read_text())["path"])
    assert not buffer.parent.exists()


def test_unchanged_template_writes_nothing(setup: tuple[Path, dict[str, str], str], tmp_path: Path) -> None:
    repo, env, _ = setup
    proc = _run(repo, {**env, "EDITOR_MODE": "keep"}, "prod", "api")
    assert proc.returncode == 200
    assert not (repo / "flux/secrets/prod/api.yaml").exists()


def test_rule_without_keys_fails_before_the_editor(setup: tuple[Path, dict[str, str], str],
                                                   tmp_path: Path) -> None:
    repo, env, _ = setup
    proc = _run(repo, env, "dev", "api")  # no rule matches flux/secrets/dev/
    assert proc.returncode != 0 and b"no creation rule" in proc.stderr
    assert not (tmp_path / "editor.json").exists()
