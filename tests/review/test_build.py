"""``sopskit build``: redacted by default, equal to ``sops -d`` + ``kubectl kustomize`` with
values shown, postBuild substitution, fail-closed integrity and confinement, no disk residue."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cli._support import SOPSKIT
from tests.conftest import require_tool
from tests.review._buildrepo import SECRETS, BuildRepo, make_build_repo

CONTROLLER_FORMATS = {  # the format kustomize-controller decrypts each fixture file in
    "apps/web/secret.enc.yaml": "yaml",
    "apps/web/multi.enc.yaml": "yaml",  # two documents, one MAC over both
    "apps/web/config.enc.json": "json",
    "apps/web/web.env": "dotenv",
    "apps/web/docker.enc.json": "json",
    "apps/web/patch.enc.yaml": "yaml",
    "components/extra/extra.env": "dotenv",
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> BuildRepo:
    return make_build_repo(tmp_path_factory.mktemp("build"))


@pytest.fixture()
def ram_dir() -> Any:
    base = Path("/dev/shm")
    if not base.is_dir():
        pytest.skip("no /dev/shm")
    directory = Path(os.path.join(base, f"sopskit-test-{os.getpid()}"))
    directory.mkdir(exist_ok=True)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def sopskit(repo: BuildRepo, *args: str, tmpdir: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOPS_", "SOPSKIT_"))}
    env.update(SOPS_AGE_KEY_FILE=str(repo.key_file), PYTHONPATH=str(Path(__file__).resolve().parents[2] / "src"))
    if tmpdir is not None:
        env["SOPSKIT_TMPDIR"] = str(tmpdir)
    return subprocess.run([*SOPSKIT, *args], env=env, cwd=repo.root, capture_output=True, timeout=120)


def objects(text: bytes) -> list[dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all(text) if d]
    return sorted(docs, key=lambda d: (d["kind"], d["metadata"]["name"]))


def test_redacted_by_default_and_nothing_left_on_tmpfs(repo: BuildRepo, ram_dir: Path) -> None:
    out = sopskit(repo, "build", "apps/web", tmpdir=ram_dir)
    assert out.returncode == 0, out.stderr.decode()
    text = out.stdout.decode()
    for value in SECRETS.values():
        assert value not in text
    built = {(d["kind"], d["metadata"]["name"]): d for d in objects(out.stdout)}
    files = built[("Secret", "web-files")]
    assert set(files["data"]) == {"API_KEY", "DB_PASSWORD", "config.json"}
    assert all(v.startswith("REDACTED:") for v in files["data"].values())
    assert built[("Secret", "web-resource")]["stringData"]["password"].startswith("REDACTED:")
    assert built[("Secret", "multi-two")]["stringData"]["value"].startswith("REDACTED:")
    deployment = built[("Deployment", "web")]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"].startswith("REDACTED:")
    assert deployment["metadata"]["namespace"] == "web"  # clear values stay clear
    assert list(ram_dir.iterdir()) == []  # the working copy is gone


def test_show_values_refused_into_a_pipe(repo: BuildRepo) -> None:
    out = sopskit(repo, "build", "apps/web", "--show-values")
    assert out.returncode != 0 and out.stdout == b""
    assert b"refusing" in out.stderr


def test_equal_to_sops_decrypt_then_kubectl_kustomize(repo: BuildRepo, tmp_path: Path) -> None:
    kubectl = require_tool("kubectl")
    sops = shutil.which("sops", path=str(Path(sys.executable).parent)) or require_tool("sops")
    reference = tmp_path / "ref"
    shutil.copytree(repo.root, reference, ignore=shutil.ignore_patterns(".git"))
    env = {**os.environ, "SOPS_AGE_KEY_FILE": str(repo.key_file)}
    for rel, fmt in CONTROLLER_FORMATS.items():
        plain = subprocess.run([sops, "decrypt", "--input-type", fmt, "--output-type", fmt, str(reference / rel)],
                               env=env, capture_output=True, check=True).stdout
        (reference / rel).write_bytes(plain)
    expected = subprocess.run([kubectl, "kustomize", str(reference / "apps/web")], capture_output=True,
                              check=True).stdout
    out = sopskit(repo, "build", "apps/web", "--show-values", "--force")
    assert out.returncode == 0, out.stderr.decode()
    assert objects(out.stdout) == objects(expected)


def test_flux_kustomization_target_namespace_and_substitution(repo: BuildRepo) -> None:
    out = sopskit(repo, "build", "--kustomization", "flux-system/web", "--show-values", "--force")
    assert out.returncode == 0, out.stderr.decode()
    built = {(d["kind"], d["metadata"]["name"]): d for d in objects(out.stdout)}
    assert {d["metadata"]["namespace"] for d in built.values()} == {"web-prod"}
    settings = built[("ConfigMap", "web-settings")]["data"]
    assert settings == {"cluster": "prod-eu",  # substitute wins over substituteFrom
                        "escaped": "${NOT_A_VAR}", "token": SECRETS["subst_secret"],
                        "extra": "from-flux",  # the Flux Kustomization's own inline patch
                        "tag": 1.27}  # as in Flux: the YAML text is substituted, then parsed
    image = built[("Deployment", "web")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == "nginx:1.29"  # spec.images
    redacted = sopskit(repo, "build", "--kustomization", "flux-system/web")
    assert redacted.returncode == 0
    assert SECRETS["subst_secret"].encode() not in redacted.stdout  # a Secret variable in a ConfigMap


def test_fingerprints_equal_within_a_run_and_differ_between_runs(repo: BuildRepo) -> None:
    first = objects(sopskit(repo, "build", "apps/web").stdout)
    second = objects(sopskit(repo, "build", "apps/web").stdout)
    a = next(d for d in first if d["metadata"]["name"] == "web-files")["data"]["API_KEY"]
    b = next(d for d in second if d["metadata"]["name"] == "web-files")["data"]["API_KEY"]
    assert a != b


def test_tampered_resource_fails_closed(repo: BuildRepo, tmp_path: Path) -> None:
    broken = tmp_path / "repo"
    shutil.copytree(repo.root, broken)
    path = broken / "apps/web/secret.enc.yaml"
    path.write_text(path.read_text().replace("name: web-resource", "name: web-resource2"))
    clone = BuildRepo(broken, repo.identity, repo.key_file)
    out = sopskit(clone, "build", "apps/web")
    assert out.returncode != 0 and out.stdout == b""
    assert b"MAC" in out.stderr and b"Traceback" not in out.stderr


def test_symlinked_and_escaping_sources_are_refused(repo: BuildRepo, tmp_path: Path) -> None:
    broken = tmp_path / "repo"
    shutil.copytree(repo.root, broken)
    (broken / "apps/web/web.env").unlink()
    (broken / "apps/web/web.env").symlink_to(tmp_path / "outside.env")
    (tmp_path / "outside.env").write_text("OUTSIDE=outside-secret-value\n")
    out = sopskit(BuildRepo(broken, repo.identity, repo.key_file), "build", "apps/web")
    assert out.returncode != 0 and b"outside-secret-value" not in out.stdout + out.stderr
    from sopskit.review.sources import confine

    assert confine(Path("/r"), "apps/web", "../../../etc/passwd") == (Path("/r/etc/passwd"), "etc/passwd")


def test_size_limit(tmp_path: Path) -> None:
    from sopskit.keys.base import KeyContext
    from sopskit.review.errors import BuildError
    from sopskit.review.secrets import SecretValues
    from sopskit.review.sources import MAX_FILE_BYTES, SourceDecryptor

    (tmp_path / "kustomization.yaml").write_text("secretGenerator:\n  - name: s\n    envs: [big.env]\n")
    (tmp_path / "big.env").write_bytes(b"A=" + b"x" * MAX_FILE_BYTES)
    with pytest.raises(BuildError, match="exceeding limit"):
        SourceDecryptor(tmp_path, KeyContext(age_identities=[]), SecretValues()).run("")


def test_directory_without_kustomization_is_generated(repo: BuildRepo) -> None:
    out = sopskit(repo, "build", "clusters/prod", "--show-values", "--force")
    assert out.returncode == 0, out.stderr.decode()
    built = {(d["kind"], d["metadata"]["name"]): d for d in objects(out.stdout)}
    assert set(built) == {("Kustomization", "web"), ("Secret", "cluster-vars")}
    assert built[("Secret", "cluster-vars")]["stringData"]["SUBST_TOKEN"] == SECRETS["subst_secret"]
    assert "sops" not in built[("Secret", "cluster-vars")]


def test_kustomize_failure_names_the_cause_not_kubectl_log_framing() -> None:
    # kubectl kustomize logs through klog; a multi-line error ends in a bare " >" line
    from sopskit.review.build import _kustomize_reason

    multi = ('E1203 08:08:05.833622    5610 run.go:72] "command failed" err=<\n'
             "\taccumulating resources: failed to run 'git fetch': could not resolve host: example.org\n"
             "\t: exit status 128\n >\n")
    assert _kustomize_reason(multi, 1) == ("accumulating resources: failed to run 'git fetch': "
                                           "could not resolve host: example.org")
    single = 'E1203 08:09:15.6 8930 run.go:72] "command failed" err="accumulating resources: missing.yaml"\n'
    assert _kustomize_reason(single, 1) == "accumulating resources: missing.yaml"
    assert _kustomize_reason("", 3) == "exit 3"


def test_missing_resource_error_is_one_readable_line(tmp_path: Path) -> None:
    require_tool("kubectl")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "app").mkdir()
    (tmp_path / "app/kustomization.yaml").write_text("resources:\n  - not-there.yaml\n")
    out = subprocess.run([*SOPSKIT, "build", "app", "--no-decrypt"], cwd=tmp_path, capture_output=True, check=False)
    err = out.stderr.decode()
    assert out.returncode != 0 and "not-there.yaml" in err and "run.go" not in err and len(err.splitlines()) == 1
    # a missing directory outside the built one is named relative to the repository, not the
    # throw-away copy the build runs in
    (tmp_path / "app/kustomization.yaml").write_text("resources:\n  - ../templates/gone\n")
    out = subprocess.run([*SOPSKIT, "build", "app", "--no-decrypt"], cwd=tmp_path, capture_output=True, check=False)
    err = out.stderr.decode()
    assert out.returncode != 0 and "templates/gone" in err and "sopskit-build" not in err and "/shm/" not in err
