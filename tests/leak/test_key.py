"""`sopskit leak key`: old versions wrapped for the leaked key are exposed; a re-key with a new
data key ends the exposure, a re-key that keeps the data key (updatekeys) does not."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sopskit.keys.age import generate_identity
from tests.leak.builder import init_repo, sops_secret
from tests.leak.conftest import SOPSKIT, clean_env


def _sopskit(args: list[str], env: dict[str, str], stdin: bytes = b"", cwd: Path | None = None,
             ) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*SOPSKIT, *args], env=env, input=stdin, capture_output=True, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def rekeyed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("keyleak")
    leaked_id, leaked = generate_identity()
    _other_id, other = generate_identity()
    new_id, new = generate_identity()
    g = init_repo(tmp / "repo")
    g.write("secrets/db.yaml", sops_secret("db", "db-password-1", leaked))
    g.write("secrets/api.yaml", sops_secret("api", "api-token-1", leaked))
    g.write("secrets/other.yaml", sops_secret("other", "other-1", other))
    g.write("apps/db-client.yaml", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: backup, namespace: apps}\n"
            "spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n"
            "            - name: b\n              image: b:1\n              envFrom: [{secretRef: {name: db}}]\n")
    g.commit("secrets")
    g("tag", "v1")
    old = {p: g("rev-parse", f"HEAD:secrets/{p}") for p in ("db.yaml", "api.yaml", "other.yaml")}
    keys = tmp / "keys.txt"
    keys.write_text(f"{leaked_id}\n{new_id}\n")
    env = clean_env(tmp, SOPS_AGE_KEY_FILE=str(keys))
    # db.yaml: a proper rotation, new data key for the new recipient only
    out = _sopskit(["rotate", "-i", "--add-age", new, "--rm-age", leaked, "secrets/db.yaml"], env, cwd=g.path)
    assert out.returncode == 0, out.stderr.decode()
    # api.yaml: updatekeys, which re-wraps the same data key
    (g.path / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: secrets/.*\n    age: {new}\n")
    out = _sopskit(["updatekeys", "-y", "secrets/api.yaml"], env, cwd=g.path)
    assert out.returncode == 0, out.stderr.decode()
    g.commit("re-key")
    now = {p: g("rev-parse", f"HEAD:secrets/{p}") for p in ("db.yaml", "api.yaml")}
    assert now["api.yaml"] != old["api.yaml"] and now["db.yaml"] != old["db.yaml"]
    return {"repo": g.path, "leaked_id": leaked_id, "leaked": leaked, "old": old, "now": now, "tmp": tmp}


def _exposed(doc: dict[str, object]) -> dict[str, dict[str, object]]:
    return {e["blob"]: e for e in doc["exposed"]}  # type: ignore[attr-defined, index]


@pytest.mark.parametrize("mode", ["public", "identity"])
def test_old_versions_exposed_new_data_key_not(rekeyed: dict[str, object], mode: str) -> None:
    tmp = rekeyed["tmp"]
    assert isinstance(tmp, Path)
    env = clean_env(tmp)
    if mode == "public":
        out = _sopskit(["leak", "key", "--repo", str(rekeyed["repo"]), "--public", str(rekeyed["leaked"]),
                        "--format", "json"], env)
    else:
        out = _sopskit(["leak", "key", "--repo", str(rekeyed["repo"]), "--format", "json"], env,
                       stdin=str(rekeyed["leaked_id"]).encode() + b"\n")
    assert out.returncode == 1, out.stderr.decode()
    assert str(rekeyed["leaked_id"]).encode() not in out.stdout + out.stderr
    doc = json.loads(out.stdout)
    exposed = _exposed(doc)
    old, now = rekeyed["old"], rekeyed["now"]
    assert isinstance(old, dict) and isinstance(now, dict)
    assert exposed[old["db.yaml"]]["reason"] == "full"
    assert exposed[old["api.yaml"]]["reason"] == "full"
    assert now["db.yaml"] not in exposed  # rotated: new data key
    assert old["other.yaml"] not in exposed  # never for the leaked key
    assert exposed[now["api.yaml"]]["reason"] == "same-data-key"  # updatekeys kept the data key
    assert exposed[old["db.yaml"]]["secret"] == {"kind": "Secret", "namespace": "apps", "name": "db",
                                                 "keys": ["API_TOKEN", "USER"]}
    assert set(exposed[old["db.yaml"]]["refs"]) == {"refs/heads/main", "refs/tags/v1"}
    assert exposed[now["api.yaml"]]["refs"] == ["refs/heads/main"]
    tips = {t["blob"]: t["refs"] for t in doc["at_tips"]}  # what a checkout of each ref holds today
    assert tips == {now["api.yaml"]: ["refs/heads/main"], old["api.yaml"]: ["refs/tags/v1"],
                    old["db.yaml"]: ["refs/tags/v1"]}
    assert doc["per_ref"]["refs/tags/v1"] == 2
    assert any("updatekeys" in n for n in doc["notes"])


def test_text_and_record(rekeyed: dict[str, object]) -> None:
    tmp = rekeyed["tmp"]
    assert isinstance(tmp, Path)
    rec_dir = tmp / "incidents"
    out = _sopskit(["leak", "key", "--repo", str(rekeyed["repo"]), "--public", str(rekeyed["leaked"]),
                    "--record", str(rec_dir) + "/", "--owner", "sre"], clean_env(tmp))
    assert out.returncode == 1
    text = out.stdout.decode()
    assert "EXPOSED: 3 of" in text and "Secret apps/db: API_TOKEN, USER" in text and "updatekeys" in text
    record_file = next(rec_dir.glob("*.yaml"))
    import yaml

    rec = yaml.safe_load(record_file.read_text())
    steps = [s["id"] for s in rec["runbook"]]
    assert steps[:7] == ["new-key", "add-recipient", "reencrypt-new-data-keys", "push", "reconcile",
                         "remove-old-recipient", "delete-old-key"]
    assert "sopskit rotate" in rec["runbook"][2]["command"]
    restart = next(s for s in rec["runbook"] if s["id"] == "restart-workloads")
    assert restart["workloads"] == [{"kind": "CronJob", "namespace": "apps", "name": "backup", "secret": "db",
                                     "path": "apps/db-client.yaml", "via": "envFrom", "restart": True}]
    status = _sopskit(["leak", "status", str(record_file), "--format", "json"], clean_env(tmp))
    assert status.returncode == 1
    # main's api.yaml still shares the data key; tag v1 still holds both old versions
    assert json.loads(status.stdout)["surface"] == 3


def test_bad_key_input_is_one_line(tmp_path: Path) -> None:
    g = init_repo(tmp_path / "r")
    g.write("a.txt", "x\n")
    g.commit("a")
    out = _sopskit(["leak", "key", "--repo", str(g.path)], clean_env(tmp_path), stdin=b"not a key at all\n")
    assert out.returncode == 2 and b"Traceback" not in out.stderr and b"not a key" not in out.stderr
    _unused_id, unused = generate_identity()  # a valid key that opens nothing: 0 (a malformed one: 2)
    none = _sopskit(["leak", "key", "--repo", str(g.path), "--public", unused], clean_env(tmp_path))
    assert none.returncode == 0, none.stderr


def test_real_sops_files_pgp_and_age(tmp_path: Path) -> None:
    """Recipients as sops itself writes them: the shared vectors, copied into a repo at test time."""
    from tests.conftest import VECTORS, require

    pgp_file = require(VECTORS / "yaml" / "example.sops-3.5.0.pgp.yaml")
    age_file = require(VECTORS / "yaml" / "example.sops-3.7.1.age.yaml")
    age_keys = require(VECTORS / "keys" / "age" / "keys.txt")
    g = init_repo(tmp_path / "repo")
    g.write("pgp.yaml", pgp_file.read_bytes())
    g.write("age.yaml", age_file.read_bytes())
    g.commit("vectors")
    env = clean_env(tmp_path)
    out = _sopskit(["leak", "key", "--repo", str(g.path), "--public", "3D16CEE4A27381B4", "--format", "json"], env)
    assert out.returncode == 1, out.stderr.decode()
    assert [e["path"] for e in json.loads(out.stdout)["exposed"]] == ["pgp.yaml"]
    out = _sopskit(["leak", "key", "--repo", str(g.path), "--format", "json"], env, stdin=age_keys.read_bytes())
    assert out.returncode == 1, out.stderr.decode()
    assert [e["path"] for e in json.loads(out.stdout)["exposed"]] == ["age.yaml"]


def test_version_sopskit_cannot_read_that_names_the_key_is_still_exposed(tmp_path: Path) -> None:
    # made-up: a version whose metadata sopskit cannot parse (a threshold that is no number) is
    # still wrapped for the leaked key; it must be listed, not silently skipped
    _leaked_id, leaked = generate_identity()
    g = init_repo(tmp_path / "repo")
    good = sops_secret("db", "db-password-1", leaked)
    g.write("secrets/db.yaml", good)
    g.write("secrets/odd.yaml", good.replace("encrypted_regex: ^(data|stringData)$",
                                             "encrypted_regex: ^(data|stringData)$\n    shamir_threshold: many",
                                             1).replace("name: db", "name: odd", 1))
    assert "shamir_threshold: many" in (g.path / "secrets/odd.yaml").read_text()
    g.commit("secrets")
    out = _sopskit(["leak", "key", "--public", leaked, "--format", "json"], clean_env(tmp_path), cwd=g.path)
    assert out.returncode == 1, out.stderr.decode()
    exposed = json.loads(out.stdout)["exposed"]
    reasons = {e["path"]: e["reason"] for e in exposed}
    assert reasons == {"secrets/db.yaml": "full", "secrets/odd.yaml": "names-key"}
    # issue 14's shape holds even for a version sopskit could not read: secret is an object, never null
    for entry in exposed:
        assert set(entry) >= {"path", "blob", "commits", "refs", "secret"}
        assert isinstance(entry["commits"], list) and isinstance(entry["refs"], list)
        assert set(entry["secret"]) == {"kind", "namespace", "name", "keys"}
    odd = next(e for e in exposed if e["path"] == "secrets/odd.yaml")
    assert odd["secret"] == {"kind": None, "namespace": None, "name": None, "keys": []}


@pytest.mark.parametrize("public", ["age1zz", "age1" + "q" * 58, "ssh-ed25519 AAAAnot-base64"])
def test_malformed_public_key_is_an_error_not_nothing_found(tmp_path: Path, public: str) -> None:
    """Exit 2 (error), never 0: a truncated copy of the key must not read as "no file exposed"."""
    _leaked_id, leaked = generate_identity()
    g = init_repo(tmp_path / "repo")
    g.write("secrets/db.yaml", sops_secret("db", "db-password-1", leaked))
    g.commit("secrets")
    out = _sopskit(["leak", "key", "--public", public, "--format", "json"], clean_env(tmp_path), cwd=g.path)
    assert out.returncode == 2, (out.returncode, out.stdout)
    assert out.stdout == b"" and b"not a valid age recipient" in out.stderr
