"""The incident record: the runbook as data, status re-checks without the value, reopening,
and a real git-filter-repo rewrite on a mirror after which status finds nothing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import require_tool
from tests.leak.builder import Git, build_leak_repo, init_repo, make_value, secret_manifest, sops_secret
from tests.leak.conftest import SOPSKIT, clean_env

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: apps
spec:
  template:
    spec:
      containers:
        - name: web
          image: web:1
          env:
            - name: TOKEN
              valueFrom:
                secretKeyRef: {name: api, key: API_TOKEN}
      volumes:
        - name: other
          secret: {secretName: unrelated}
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: worker
  namespace: apps
spec:
  template:
    spec:
      containers: [{name: w, image: w:1}]
      volumes:
        - name: creds
          secret: {secretName: api}
"""


def _leak(args: list[str], env: dict[str, str], stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, "leak", *args], env=env, input=stdin, capture_output=True, timeout=120)


def _all_ids(rec: dict[str, object]) -> list[str]:
    return [str(i["id"]) for s in ("outside", "runbook", "follow_ups") for i in rec[s]]  # type: ignore[attr-defined]


def test_runbook_lists_secrets_and_workloads_then_closes_and_reopens(tmp_path: Path) -> None:
    value = make_value()
    g = init_repo(tmp_path / "repo")
    g.write("k8s/secret.yaml", secret_manifest("api", value))
    g.write("k8s/deploy.yaml", DEPLOYMENT)
    g.commit("app")
    env = clean_env(tmp_path)
    rec_file = tmp_path / "incidents" / "inc.yaml"
    out = _leak(["value", "--repo", str(g.path), "--record", str(rec_file), "--what", "API token of web"],
                env, value.encode())
    assert out.returncode == 1
    rec = yaml.safe_load(rec_file.read_text())
    assert rec["leaked"]["description"] == "API token of web"
    steps = {s["id"]: s for s in rec["runbook"]}
    assert rec["runbook"][0]["id"] == "rotate-credential"
    assert steps["update-secrets"]["secrets"] == [{"kind": "Secret", "namespace": "apps", "name": "api",
                                                   "keys": ["API_TOKEN"]}]
    workloads = {(w["kind"], w["name"]): w for w in steps["restart-workloads"]["workloads"]}
    assert workloads[("Deployment", "web")]["restart"] is True and workloads[("Deployment", "web")]["via"] == "env"
    assert workloads[("StatefulSet", "worker")]["restart"] is False
    assert {o["id"] for o in rec["outside"]} >= {"forks", "pull-refs", "ci", "gitops-caches", "chat",
                                                 "screenshots", "clones"}
    # every item done, but the value is still in history: open
    done = [a for i in _all_ids(rec) for a in ("--done", i)]
    st = _leak(["status", str(rec_file), *done], env)
    assert st.returncode == 1 and b"surface: 1 occurrence" in st.stdout
    # the value leaves the repository (a fresh history without it): closed
    shutil.rmtree(g.path)
    g = init_repo(tmp_path / "repo")
    g.write("k8s/secret.yaml", secret_manifest("api", "rotated-elsewhere"))
    g.commit("clean")
    st = _leak(["status", str(rec_file), "--format", "json"], env)
    assert st.returncode == 0, st.stdout.decode()
    assert json.loads(st.stdout)["status"] == "closed"
    # the value comes back: reopened, rotation back to todo, exit 1
    g.write("notes.txt", f"old token was {value}\n")
    g.commit("oops")
    st = _leak(["status", str(rec_file), "--format", "json"], env)
    assert st.returncode == 1
    report = json.loads(st.stdout)
    assert report["reopened"] is True and report["status"] == "reopened"
    assert "runbook:rotate-credential" in report["open_items"]
    rec = yaml.safe_load(rec_file.read_text())
    assert rec["status"] == "reopened" and [e["event"] for e in rec["events"]][-1] == "status reopened"
    for text in (st.stdout, st.stderr, rec_file.read_bytes(), out.stdout, out.stderr):
        assert value.encode() not in text


def test_corrupt_record_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nkind: value\nleaked: {}\nrepos: []\n")
    st = _leak(["status", str(bad)], clean_env(tmp_path))
    assert st.returncode == 2 and b"Traceback" not in st.stderr and len(st.stderr.splitlines()) == 1
    st = _leak(["status", str(tmp_path / "none.yaml")], clean_env(tmp_path))
    assert st.returncode == 2


def test_filter_repo_rewrite_then_status_finds_nothing(tmp_path: Path) -> None:
    bindir = str(Path(sys.executable).parent)
    env = clean_env(tmp_path, PATH=bindir + os.pathsep + os.environ.get("PATH", ""),
                    SOPSKIT_TMPDIR="/dev/shm" if os.path.isdir("/dev/shm") else str(tmp_path))
    if shutil.which("git-filter-repo", path=env["PATH"]) is None:
        require_tool("git-filter-repo")
    leak = build_leak_repo(tmp_path / "src")
    keys = tmp_path / "keys.txt"
    keys.write_text(leak.identity + "\n")
    env["SOPS_AGE_KEY_FILE"] = str(keys)
    rec_file = tmp_path / "inc.yaml"
    first = _leak(["value", "--repo", str(leak.path), "--record", str(rec_file)], env, leak.value.encode())
    assert first.returncode == 1
    # runbook step update-secrets: the SOPS file gets the rotated value before any rewrite
    g = Git(leak.path)
    g.write("secrets/api.yaml", sops_secret("api", "rotated-" + make_value(), leak.recipient))
    g.commit("rotate api token")
    work = tmp_path / "work"
    work.mkdir()
    plan = _leak(["scrub", str(rec_file), "--repo", str(leak.path), "--workdir", str(work), "--format", "json",
                  "--allow-disk-tempdir"], env, leak.value.encode())
    assert plan.returncode == 0, plan.stderr.decode()
    doc = json.loads(plan.stdout)
    assert "does NOT make the leaked secret safe" in doc["warning"]
    replacement = Path(doc["replacement_file"])
    assert replacement.stat().st_mode & 0o077 == 0
    assert not (work / Path(doc["mirror"]).name).exists()  # prepared, not run
    for command in doc["commands"][:3]:  # clone --mirror, filter-repo, delete the replacement file
        subprocess.run(command, shell=True, check=True, env=env, capture_output=True)
    assert not replacement.exists()
    status = _leak(["status", str(rec_file), "--repo", doc["mirror"], "--format", "json"], env)
    report = json.loads(status.stdout)
    assert report["surface"] == 0, report
    assert status.returncode == 1  # rotation and the outside surfaces are still open
    # the original clone is untouched and still holds the value
    again = _leak(["status", str(rec_file), "--format", "json"], env)
    assert json.loads(again.stdout)["surface"] >= 6
    for text in (first.stdout, first.stderr, plan.stdout, plan.stderr, status.stdout, rec_file.read_bytes()):
        assert leak.value.encode() not in text
    text_plan = _leak(["scrub", str(rec_file), "--repo", str(leak.path), "--blobs", "--workdir", str(work)], env)
    assert text_plan.returncode == 0 and b"strip-blobs-with-ids" in text_plan.stdout
    assert b"NOT make the leaked secret safe" in text_plan.stdout
    wrong = _leak(["scrub", str(rec_file), "--repo", str(leak.path)], env, b"some-other-value-123")
    assert wrong.returncode == 2
