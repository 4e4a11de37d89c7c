"""Every command family lists the same files: one walker, one skip list, no FIFOs.

One made-up repository is built per family, each planted file holding what that family looks
for (a token for scan and leak search, sops metadata for updatekeys/rotate); the family is then
run and the planted files it reached are compared with what the walker promises.
"""

from __future__ import annotations

import os
import random
import string
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sopskit.walk import SKIP_DIRS, VCS_DIRS

#: planted in a Git work tree: committed, untracked, ignored, in each skipped directory, and as
#: a FIFO, a symlink and a tracked file deleted from the work tree
COMMITTED, UNTRACKED, DEEP, IGNORED = "committed.env", "untracked.env", "sub/deep.env", "ignored.env"
GIT_AWARE = {COMMITTED, UNTRACKED, DEEP}  # what a commit would hold
EVERYTHING = {COMMITTED, UNTRACKED, DEEP, IGNORED}  # every regular file outside skipped directories
#: leak search skips only version-control data: a leaked value may sit in a tool directory
#: (the committed node_modules/skipped.env is a committed blob, read from history instead)
IN_TOOL_DIRS = {f"{d}/skipped.env" for d in SKIP_DIRS - VCS_DIRS - {"node_modules"}} | {"sub/node_modules/skipped.env"}


def _git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd,
                   env=env, check=True, capture_output=True)


def _token() -> str:
    rng = random.SystemRandom()
    return "ghp" + "_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))


def _plant(root: Path, content: bytes, *, git: bool) -> None:
    names = [COMMITTED, UNTRACKED, DEEP, IGNORED, "gone.env",
             *(f"{d}/skipped.env" for d in SKIP_DIRS if d != ".git"), "sub/node_modules/skipped.env"]
    for rel in names:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    (root / ".gitignore").write_text(f"{IGNORED}\n")
    if git:
        _git(root, "init", "-q")
        _git(root, "add", "-f", COMMITTED, "gone.env", ".gitignore", "node_modules/skipped.env")
        _git(root, "commit", "-qm", "planted")
    (root / "gone.env").unlink()
    os.mkfifo(root / "pipe.env")  # reading it would block the command for ever
    (root / "link.env").symlink_to(COMMITTED)


def _planted(rels: Iterable[str]) -> set[str]:
    return {r for r in rels if r.endswith(".env")}


def _scan(root: Path, value: str) -> set[str]:
    from sopskit.scan.scanner import ScanOptions, scan

    return _planted(f.path for f in scan(ScanOptions(paths=[root], sops_config=False)).findings)


def _policy(root: Path, value: str) -> set[str]:
    """policy check, flux validate, doctor and inventory all load the repository this way."""
    from sopskit.policy.repo import load_repo

    return _planted(f.rel for f in load_repo(root).files)


def _batch(root: Path, value: str) -> set[str]:
    """updatekeys and rotate given a directory (the cluster-key rotation goes through them)."""
    from sopskit.ops.batch import expand_paths

    return _planted(p.relative_to(root).as_posix() for p, reason in expand_paths([root]) if reason is None)


def _leak(root: Path, value: str) -> set[str]:
    """leak search's work-tree pass: what is not a committed blob, ignored files included."""
    from sopskit.leak.probe import ValueProbe, new_incident_key
    from sopskit.leak.search import search_repo

    probe = ValueProbe(value.encode(), new_incident_key())
    return _planted(o.path for o in search_repo(root, probe, sops=False).occurrences if o.where == "worktree")


def _review_build(root: Path, value: str) -> set[str]:
    """review build and the Argo CD plugin copy the repository to tmpfs before kustomize."""
    from sopskit.review.workspace import ram_copy

    if not Path("/dev/shm").is_dir():
        pytest.skip("no /dev/shm for the RAM copy")
    with ram_copy(root, {"SOPSKIT_TMPDIR": "/dev/shm"}) as copy:
        return _planted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())


def _review_changes(root: Path, value: str) -> set[str]:
    """review of the work tree against HEAD: changed paths plus untracked ones."""
    from sopskit.review.gitrev import Range, changed_paths

    return _planted(changed_paths(root, Range("HEAD", None)))


@dataclass(frozen=True)
class Family:
    name: str
    run: Callable[[Path, str], set[str]]
    content: Callable[[str], bytes]
    in_git: set[str] | None  # None: the family works on Git repositories only
    plain: set[str] | None  # None: the family needs a Git repository


def _token_file(value: str) -> bytes:
    return f"T={value}\n".encode()


def _sops_file(value: str) -> bytes:
    return (b"secret=ENC[AES256_GCM,data:eA==,iv:,tag:,type:str]\n"
            b"sops_lastmodified=2024-01-01T00:00:00Z\nsops_version=3.9.0\n")


FAMILIES = [
    Family("scan work tree", _scan, _token_file, GIT_AWARE, EVERYTHING),
    Family("policy check / flux validate", _policy, _token_file, GIT_AWARE, EVERYTHING),
    Family("updatekeys / rotate on a directory", _batch, _sops_file, EVERYTHING, EVERYTHING),
    Family("leak search", _leak, _token_file, {UNTRACKED, DEEP, IGNORED} | IN_TOOL_DIRS, None),
    Family("review build", _review_build, _token_file, GIT_AWARE, EVERYTHING),
    Family("review changes", _review_changes, _token_file, {UNTRACKED, DEEP, "gone.env"}, None),
]


CASES = [(f, git) for f in FAMILIES for git in (True, False) if (f.in_git if git else f.plain) is not None]


@pytest.mark.parametrize(("family", "git"), CASES,
                         ids=[f"{f.name} ({'git' if git else 'plain'})" for f, git in CASES])
def test_family_skips_the_same_directories_and_fifos(family: Family, git: bool, tmp_path: Path) -> None:
    expected = family.in_git if git else family.plain
    value = _token()
    root = tmp_path / "repo"
    root.mkdir()
    _plant(root, family.content(value), git=git)
    assert family.run(root, value) == expected


def test_argocd_discovery_skips_the_same_directories_and_fifos(tmp_path: Path) -> None:
    from sopskit.review.argocd import discover

    sops = _sops_file("")
    (tmp_path / "kustomization.yaml").write_text("resources: []\n")
    for name in SKIP_DIRS:
        (tmp_path / name).mkdir()
        (tmp_path / name / "secret.env").write_bytes(sops)
    os.mkfifo(tmp_path / "pipe.env")
    (tmp_path / "link.env").symlink_to(tmp_path / ".venv" / "secret.env")
    assert discover(tmp_path) is False
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "secret.env").write_bytes(sops)
    assert discover(tmp_path) is True


def test_repo_init_reads_the_yaml_flux_would_see(tmp_path: Path) -> None:
    """``repo init`` / ``secret new`` look for Flux objects in what a commit holds."""
    from sopskit.ops.scaffold import _iter_yaml_files

    for rel in ("flux/ks.yaml", "new.yml", "local.yaml", "node_modules/pkg/ks.yaml", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("kind: Kustomization\n")
    (tmp_path / ".gitignore").write_text("local.yaml\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "flux/ks.yaml")
    _git(tmp_path, "commit", "-qm", "flux")
    os.mkfifo(tmp_path / "pipe.yaml")
    assert [p.relative_to(tmp_path).as_posix() for p in _iter_yaml_files(tmp_path)] == ["flux/ks.yaml", "new.yml"]
