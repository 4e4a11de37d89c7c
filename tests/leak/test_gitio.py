"""The git plumbing: every ref, reflog entry, unreachable object, and a blob's paths/commits/refs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sopskit import gitio
from sopskit.errors import InputError
from tests.leak.builder import build_leak_repo, init_repo


@pytest.fixture(scope="module")
def leak_repo(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return build_leak_repo(tmp_path_factory.mktemp("gitio"))


def test_every_hiding_place_is_mapped(leak_repo) -> None:  # type: ignore[no-untyped-def]
    m = gitio.map_repository(leak_repo.path)
    deleted = m.place(leak_repo.places["deleted-branch"][1])
    assert deleted.where == gitio.HISTORY and deleted.paths == ["deploy/feature.env"]
    assert deleted.refs and all("@{" in r for r in deleted.refs)  # only the HEAD reflog keeps it
    tag = m.place(leak_repo.places["tag"][1])
    assert tag.refs == ["refs/tags/v0.1"] and tag.paths == ["old/creds.txt"]
    amended = m.place(leak_repo.places["amended"][1])
    assert amended.where == gitio.HISTORY and amended.refs
    assert all(r.startswith(("refs/heads/main@{", "HEAD@{")) for r in amended.refs)
    stash = m.place(leak_repo.places["stash"][1])
    assert stash.paths == ["README.md"] and "refs/stash@{1}" in stash.refs
    assert "refs/stash" not in stash.refs  # the top stash entry is the other one
    lost = m.place(leak_repo.places["unreachable"][1])
    assert lost.where == gitio.UNREACHABLE and lost.paths == [] and lost.refs == []
    sops = m.place(leak_repo.places["sops"][1])
    assert sops.refs == ["refs/heads/main"] and sops.authors == ["Dev One <dev1@example.invalid>"]
    assert sops.first is not None and sops.first == sops.last_introduced
    assert m.commits >= 7


def test_last_seen_is_the_newest_commit_holding_the_blob(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "r")
    g.write("cfg.txt", "secret-ish v1\n")
    first = g.commit("add")
    blob = g("rev-parse", "HEAD:cfg.txt")
    g.write("other.txt", "x\n")
    still = g.commit("unrelated")
    g.write("cfg.txt", "clean\n")
    g.commit("fix")
    m = gitio.map_repository(g.path)
    assert [c.sha for c in m.place(blob).commits] == [first]
    last = m.last_seen(blob)
    assert last is not None and last.sha == still
    g("checkout", "-q", "-b", "keep", still)  # a branch whose tip still holds it
    g.write("z.txt", "z\n")
    tip = g.commit("z")
    m = gitio.map_repository(g.path)
    tips = gitio.blobs_at_tips(g.path, {blob})
    assert tips == {blob: ["refs/heads/keep"]}
    seen = m.last_seen(blob, tips[blob])
    assert seen is not None and seen.sha == tip


def test_unreachable_commit_keeps_its_paths(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "r")
    g.write("a.txt", "one\n")
    g.commit("one")
    g("checkout", "-q", "-b", "gone")
    g.write("b/lost.txt", "lost content\n")
    g.commit("lost")
    blob = g("rev-parse", "HEAD:b/lost.txt")
    g("checkout", "-q", "main")
    g("branch", "-D", "gone")
    g("reflog", "expire", "--expire=now", "--all")
    m = gitio.map_repository(g.path)
    place = m.place(blob)
    assert place.where == gitio.UNREACHABLE
    assert place.paths == ["b/lost.txt"] and len(place.commits) == 1


def test_stream_blobs_reads_every_blob_once(leak_repo) -> None:  # type: ignore[no-untyped-def]
    seen = [oid for oid, _ in gitio.stream_blobs(leak_repo.path)]
    assert len(seen) == len(set(seen))
    for _, oid in leak_repo.places.values():
        assert oid in seen
    only = {leak_repo.places["tag"][1]}
    got = list(gitio.stream_blobs(leak_repo.path, only=only))
    assert [oid for oid, _ in got] == list(only) and leak_repo.value.encode() in got[0][1]


def test_not_a_repository_is_one_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        gitio.map_repository(tmp_path)
    with pytest.raises(InputError):
        gitio.map_repository(tmp_path / "missing")


def test_pull_refs_notes_remotes_and_index(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "r")
    g.write("a.txt", "base\n")
    base = g.commit("base")
    g.write("pr.txt", "from a pull request\n")
    pr = g.commit("pr")
    g("reset", "-q", "--hard", base)
    g("update-ref", "refs/pull/7/head", pr)
    g("update-ref", "refs/remotes/origin/feature", pr)
    g("notes", "add", "-m", "a note body", base)
    g("reflog", "expire", "--expire=now", "--all")
    g.write("staged.txt", "staged only\n")
    g("add", "staged.txt")
    m = gitio.map_repository(g.path)
    pr_blob = m.place(g("rev-parse", f"{pr}:pr.txt"))
    assert pr_blob.refs == ["refs/pull/7/head", "refs/remotes/origin/feature"]
    note = m.place(g("rev-parse", f"refs/notes/commits:{base}"))
    assert note.refs == ["refs/notes/commits"] and note.paths == [base]
    staged = m.place(g("rev-parse", ":staged.txt"))
    assert staged.where == gitio.INDEX and staged.paths == ["staged.txt"]
    tips = gitio.blobs_at_tips(g.path, {pr_blob.oid})
    assert tips == {pr_blob.oid: ["refs/pull/7/head", "refs/remotes/origin/feature"]}
