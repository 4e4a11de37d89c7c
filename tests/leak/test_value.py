"""`sopskit leak value`: every hiding place found, and the value in no output, record or error."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from sopskit.leak.probe import KeyedProbe, ValueProbe, new_incident_key
from sopskit.leak.search import search_repo
from tests.leak.builder import LeakRepo, build_leak_repo
from tests.leak.conftest import SOPSKIT, clean_env


def _run(args: list[str], env: dict[str, str], stdin: bytes, cwd: Path | None = None,
         ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, "leak", *args], env=env, input=stdin, capture_output=True, cwd=cwd,
                          timeout=120)


def _no_value(value: str, *texts: bytes) -> None:
    import base64

    for text in texts:
        assert value.encode() not in text
        assert base64.b64encode(value.encode()) not in text


def _key_env(leak: LeakRepo, tmp: Path) -> dict[str, str]:
    keys = tmp / "keys.txt"
    keys.write_text(leak.identity + "\n")
    return clean_env(tmp, SOPS_AGE_KEY_FILE=str(keys))


def test_finds_every_hiding_place(leak_repo: LeakRepo, tmp_path: Path) -> None:
    env = _key_env(leak_repo, tmp_path)
    record_dir = tmp_path / "incidents"
    out = _run(["value", "--repo", str(leak_repo.path), "--logs", str(leak_repo.logs), "--format", "json",
                "--record", f"{record_dir}/"], env, leak_repo.value.encode() + b"\n")
    assert out.returncode == 1, out.stderr.decode()
    doc = json.loads(out.stdout)
    # issue 14's fields; "index" and "worktree" are sopskit's documented additions to its four places
    assert {o["where"] for o in doc["occurrences"]} <= {"history", "unreachable", "sops", "log", "index", "worktree"}
    for occurrence in doc["occurrences"]:
        assert set(occurrence) >= {"repo", "where", "path", "blob", "commits", "refs"}
        assert isinstance(occurrence["commits"], list) and isinstance(occurrence["refs"], list)
    by_blob = {o["blob"]: o for o in doc["occurrences"] if o["blob"]}
    for place, (path, blob) in leak_repo.places.items():
        assert blob in by_blob, place
        assert by_blob[blob]["path"] == path, place
    assert by_blob[leak_repo.places["sops"][1]]["where"] == "sops"
    assert by_blob[leak_repo.places["unreachable"][1]]["where"] == "unreachable"
    assert by_blob[leak_repo.places["tag"][1]]["refs"] == ["refs/tags/v0.1"]
    assert "refs/stash@{1}" in by_blob[leak_repo.places["stash"][1]]["refs"]
    sops_occ = by_blob[leak_repo.places["sops"][1]]
    assert sops_occ["secrets"] == [{"kind": "Secret", "namespace": "apps", "name": "api", "keys": ["API_TOKEN"]}]
    assert [o["path"] for o in doc["occurrences"] if o["where"] == "worktree"] == [".env"]
    logs = [o for o in doc["occurrences"] if o["where"] == "log"]
    assert [Path(o["path"]).name for o in logs] == ["job-2.log"]
    assert doc["fingerprint"].startswith("hmac-sha256:")
    records = list(record_dir.glob("*.yaml"))
    assert len(records) == 1 and records[0].stat().st_mode & 0o077 == 0
    _no_value(leak_repo.value, out.stdout, out.stderr, records[0].read_bytes())
    text = _run(["value", "--repo", str(leak_repo.path)], env, leak_repo.value.encode())
    assert text.returncode == 1 and b"[unreachable]" in text.stdout
    _no_value(leak_repo.value, text.stdout, text.stderr)


def test_sops_occurrence_needs_the_key(leak_repo: LeakRepo, tmp_path: Path) -> None:
    out = _run(["value", "--repo", str(leak_repo.path), "--format", "json"], clean_env(tmp_path),
               leak_repo.value.encode())
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert leak_repo.places["sops"][1] not in {o["blob"] for o in doc["occurrences"]}
    assert doc["stats"]["sops_files"] == 1 and doc["stats"]["sops_opened"] == 0
    text = _run(["value", "--repo", str(leak_repo.path)], clean_env(tmp_path), leak_repo.value.encode())
    assert b"could not be opened" in text.stdout


def test_nothing_found_exits_0_and_errors_exit_2(leak_repo: LeakRepo, tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    other = "zz_" + leak_repo.value[::-1]
    out = _run(["value", "--repo", str(leak_repo.path)], env, other.encode())
    assert out.returncode == 0 and b"not found" in out.stdout
    bad = _run(["value", "--repo", str(tmp_path / "missing")], env, leak_repo.value.encode())
    assert bad.returncode == 2 and bad.stderr.count(b"\n") >= 1 and b"Traceback" not in bad.stderr
    short = _run(["value", "--repo", str(leak_repo.path)], env, b"abc")
    assert short.returncode == 2
    empty = _run(["value", "--repo", str(leak_repo.path)], env, b"\n")
    assert empty.returncode == 2
    bad_logs = _run(["value", "--repo", str(leak_repo.path), "--logs", str(tmp_path / "nologs")], env,
                    leak_repo.value.encode())
    assert bad_logs.returncode == 2
    _no_value(leak_repo.value, bad.stdout, bad.stderr, bad_logs.stdout, bad_logs.stderr)
    _no_value(other, out.stdout, out.stderr)


def test_value_is_not_taken_from_argv(leak_repo: LeakRepo, tmp_path: Path) -> None:
    out = _run(["value", leak_repo.value], clean_env(tmp_path), b"")
    assert out.returncode == 2 and b"never from the command line" in out.stderr
    _no_value(leak_repo.value, out.stdout, out.stderr)


def test_keyed_probe_finds_what_the_value_finds(leak_repo: LeakRepo) -> None:
    key = new_incident_key()
    value = ValueProbe(leak_repo.value.encode(), key)
    keyed = KeyedProbe(value.fingerprint, key, value.forms())
    assert "value" not in repr(value) and leak_repo.value not in repr(value)
    a = {(o.blob, o.path) for o in search_repo(leak_repo.path, value, sops=False).occurrences}
    b = {(o.blob, o.path) for o in search_repo(leak_repo.path, keyed, sops=False).occurrences}
    assert a == b and len(a) == 6 and (None, ".env") in a
    wrong = KeyedProbe(value.fingerprint, new_incident_key(), value.forms())
    assert not search_repo(leak_repo.path, wrong, sops=False).occurrences


def test_base64_form_and_several_clones_in_parallel(tmp_path: Path) -> None:
    import base64

    from tests.leak.builder import init_repo, secret_manifest

    first = build_leak_repo(tmp_path / "one")
    g = init_repo(tmp_path / "two")
    manifest = secret_manifest("x", "placeholder").replace("stringData:\n    API_TOKEN: placeholder",
                                                             "data:\n    TOKEN: " + base64.b64encode(
                                                                 first.value.encode()).decode())
    g.write("k8s/secret.yaml", manifest)
    g.commit("plain secret")
    out = _run(["value", "--repo", str(first.path), "--repo", str(g.path), "--format", "json", "--jobs", "2"],
               clean_env(tmp_path), first.value.encode())
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    two = [o for o in doc["occurrences"] if o["repo"] == str(g.path.resolve())]
    assert len(two) == 1 and two[0]["encodings"] == ["base64"] and two[0]["path"] == "k8s/secret.yaml"
    assert two[0]["secrets"][0]["name"] == "x" and two[0]["secrets"][0]["keys"] == ["TOKEN"]
    assert doc["stats"]["repos"] == 2
    _no_value(first.value, out.stdout, out.stderr)


def test_scanner_fingerprint_finds_the_copies_without_the_value(tmp_path: Path) -> None:
    import secrets as _s
    import string

    from tests.leak.builder import init_repo

    token = "ghp_" + "".join(_s.choice(string.ascii_letters + string.digits) for _ in range(36))
    g = init_repo(tmp_path / "repo")
    g.write("ci.sh", f"export GITHUB_TOKEN={token}\n")
    g.commit("ci")
    g("checkout", "-q", "-b", "tmp")
    g.write("notes.md", f"token: {token}\n")
    g.commit("notes")
    g("checkout", "-q", "main")
    g("branch", "-D", "tmp")
    env = clean_env(tmp_path)
    scan = subprocess.run([*SOPSKIT, "scan", "--history", "--format", "json", str(g.path)], env=env,
                          capture_output=True, cwd=g.path, timeout=120)
    fps = {f["fingerprint"] for f in json.loads(scan.stdout)["findings"]}
    assert len(fps) == 1
    fp = fps.pop()
    rec = tmp_path / "inc.yaml"
    out = _run(["value", "--repo", str(g.path), "--fingerprint", fp, "--format", "json", "--record", str(rec)],
               env, b"")
    assert out.returncode == 1, out.stderr.decode()
    doc = json.loads(out.stdout)
    assert doc["fingerprint"] == fp
    assert sorted(o["path"] for o in doc["occurrences"]) == ["ci.sh", "notes.md"]  # notes.md: reflog only
    st = _run(["status", str(rec), "--format", "json"], env, b"")
    assert st.returncode == 1 and json.loads(st.stdout)["surface"] == 2
    _no_value(token, out.stdout, out.stderr, rec.read_bytes(), st.stdout)
    bad = _run(["value", "--repo", str(g.path), "--fingerprint", "sha256:nothex"], env, b"")
    assert bad.returncode == 2


def test_prompt_on_a_terminal_does_not_echo(leak_repo: LeakRepo, tmp_path: Path) -> None:
    import os
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # child: stdin, stdout and stderr are the terminal
        env = clean_env(tmp_path)
        os.execve(SOPSKIT[0], [*SOPSKIT, "leak", "value", "--repo", str(leak_repo.path), "--no-sops"], env)
    seen = b""

    def read_until(marker: bytes, limit: float = 60) -> None:
        nonlocal seen
        import time

        end = time.monotonic() + limit
        while marker not in seen and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:
                    return
                if not chunk:
                    return
                seen += chunk

    read_until(b"input hidden")
    assert b"input hidden" in seen
    os.write(fd, leak_repo.value.encode() + b"\n")
    read_until(b"searched")
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 1
    assert b"FOUND in" in seen
    _no_value(leak_repo.value, seen)
