"""Many repositories: a deterministic shard split, JSON lines, merge, clone URLs, and the
Indexed Job manifest in docs checked with ``kubectl apply --dry-run=client``."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from sopskit.errors import UsageError
from sopskit.leak import shard
from tests.conftest import require_tool
from tests.leak.builder import init_repo, make_value
from tests.leak.conftest import ROOT, SOPSKIT, clean_env


def test_split_is_deterministic_and_covers_everything() -> None:
    names = [f"https://git.example.com/org/repo-{i}.git" for i in range(200)]
    parts = [shard.select(names, i, 7) for i in range(7)]
    assert sorted(n for p in parts for n in p) == sorted(names)
    assert all(parts) and sum(len(p) for p in parts) == len(names)
    assert shard.select(list(reversed(names)), 3, 7) == list(reversed(parts[3]))  # order-independent
    assert shard.parse_shard("2/5", {}) == (2, 5)
    assert shard.parse_shard("5", {"JOB_COMPLETION_INDEX": "4"}) == (4, 5)
    for bad in ("5/5", "x/2", "3"):
        with pytest.raises(UsageError):
            shard.parse_shard(bad, {})


def _leak(args: list[str], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, "leak", *args], env=env, input=stdin, capture_output=True, timeout=120)


def test_shards_merge_to_the_single_run(tmp_path: Path) -> None:
    value = make_value()
    repos: list[str] = []
    for i in range(5):
        g = init_repo(tmp_path / f"r{i}")
        g.write("f.txt", f"{value}\n" if i % 2 == 0 else "clean\n")
        g.commit("c")
        repos.append(str(g.path))
    listing = tmp_path / "repos.txt"
    listing.write_text("# repos\n" + "\n".join(repos) + "\n")
    env = clean_env(tmp_path)
    rec = tmp_path / "inc.yaml"
    single = _leak(["value", "--repos-from", str(listing), "--record", str(rec), "--format", "json"], env,
                   value.encode())
    assert single.returncode == 1
    parts = []
    for i in range(3):
        out = tmp_path / f"part-{i}.jsonl"
        run = _leak(["value", "--from-record", str(rec), "--repos-from", str(listing), "--shard", "3",
                     "--output", str(out)], {**env, "JOB_COMPLETION_INDEX": str(i)})
        assert run.returncode in (0, 1), run.stderr.decode()
        parts.append(out)
        assert value.encode() not in out.read_bytes()
    merged = _leak(["merge", *map(str, parts)], env)
    assert merged.returncode == 1
    doc = json.loads(merged.stdout)
    want = {(o["repo"], o["blob"]) for o in json.loads(single.stdout)["occurrences"]}
    assert {(o["repo"], o["blob"]) for o in doc["occurrences"]} == want and len(want) == 3
    assert doc["fingerprint"] == json.loads(single.stdout)["fingerprint"]
    incomplete = _leak(["merge", *map(str, parts[:2])], env)
    assert incomplete.returncode == 2 and b"did not finish" in incomplete.stderr


def test_clone_urls_are_mirror_cloned(tmp_path: Path) -> None:
    value = make_value()
    g = init_repo(tmp_path / "origin")
    g.write("a.txt", value + "\n")
    g.commit("a")
    g.write("a.txt", "clean\n")
    g.commit("b")
    url = (tmp_path / "origin").as_uri()
    listing = tmp_path / "repos.txt"
    listing.write_text(url + "\n")
    out = _leak(["value", "--repos-from", str(listing), "--clone-dir", str(tmp_path / "clones"),
                 "--format", "json"], clean_env(tmp_path), value.encode())
    assert out.returncode == 1, out.stderr.decode()
    occ = json.loads(out.stdout)["occurrences"]
    assert len(occ) == 1 and occ[0]["path"] == "a.txt" and occ[0]["refs"] == ["refs/heads/main"]
    assert occ[0]["repo"].startswith(str(tmp_path / "clones"))


_GROUPS = {
    "/api": {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
        {"name": "batch", "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
         "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}}]},
    "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": n, "singularName": n[:-1], "namespaced": True, "kind": k, "verbs": ["create", "get", "patch"]}
        for n, k in (("configmaps", "ConfigMap"), ("secrets", "Secret"))]},
    "/apis/batch/v1": {"kind": "APIResourceList", "groupVersion": "batch/v1", "resources": [
        {"name": "jobs", "singularName": "job", "namespaced": True, "kind": "Job",
         "verbs": ["create", "get", "patch"]}]},
    "/version": {"major": "1", "minor": "32", "gitVersion": "v1.32.0"},
}


class _Discovery(BaseHTTPRequestHandler):
    """Discovery only: kubectl's client-side dry run needs the REST mapping, nothing else."""

    def do_GET(self) -> None:
        body = _GROUPS.get(self.path.split("?")[0])
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(body or {"kind": "Status", "code": 404}).encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture()
def discovery() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_job_manifest_dry_run(discovery: str, tmp_path: Path) -> None:
    kubectl = require_tool("kubectl")
    manifest = ROOT / "docs" / "leak-job.yaml"
    docs = list(yaml.safe_load_all(manifest.read_text()))
    job = next(d for d in docs if d["kind"] == "Job")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["completions"] >= 1
    container = spec["template"]["spec"]["containers"][0]
    script = container["args"][0]
    assert f'--shard "$JOB_COMPLETION_INDEX/{spec["completions"]}"' in script
    assert "--from-record" in script and "--output" in script
    # kubectl --dry-run=client still asks the server for discovery (REST mappings); no cluster
    # exists here, so a discovery-only stub answers; schema validation needs the server's
    # OpenAPI and is off.
    env = {**os.environ, "KUBECONFIG": str(tmp_path / "none")}
    out = subprocess.run([kubectl, "--server", discovery, "apply", "--dry-run=client", "--validate=false",
                          "-f", str(manifest)], capture_output=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr.decode()
    assert b"job.batch/leak-search created (dry run)" in out.stdout
    assert b"configmap/leak-repos created (dry run)" in out.stdout


def test_a_failed_clone_names_the_url_without_its_token(tmp_path: Path) -> None:
    """A clone URL often carries a token (``https://x-access-token:TOKEN@host/...``); when the
    clone fails, the error names the repository, never the token."""
    from sopskit import gitio
    from sopskit.errors import InputError

    token = "ghp_" + "Kx7" * 12
    url = f"https://x-access-token:{token}@127.0.0.1:9/nobody/nothing.git"
    with pytest.raises(InputError) as failed:
        gitio.mirror_clone(url, tmp_path / "clone.git")
    assert "127.0.0.1:9/nobody/nothing.git" in str(failed.value)
    assert token not in str(failed.value)
