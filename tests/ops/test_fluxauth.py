"""``repo init`` on a repository whose rules use Azure Key Vault: Flux's workload-identity
patches added as text (every other byte kept), idempotent, refused when unsafe, and accepted by
doctor's reading of the controller. Fixtures are made-up bootstrap layouts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from sopskit.doctor.cloudauth import controller_view
from sopskit.doctor.wiring import FluxKs
from sopskit.errors import ConfigError, SopsError, UsageError
from sopskit.ops.fluxauth import add_workload_identity, aws_identity, azure_identity, existing_patches, gcp_identity
from sopskit.ops.scaffold import init_repo
from sopskit.policy.repo import load_repo

CLIENT = "00000000-0000-0000-0000-0000000000aa"
TENANT = "11111111-0000-0000-0000-000000000000"
URL = "https://example-vault.vault.azure.net/keys/sops-key/0123456789abcdef0123456789abcdef"
BOOTSTRAP = """\
---
# made-up bootstrap layout, with a team patch and comments to keep
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- gotk-components.yaml
- gotk-sync.yaml
patches:
- target:
    kind: Deployment
    name: "kustomize-controller"
  patch: |
    - op: add
      path: /spec/template/spec/containers/0/args/-
      value: --concurrent=20

    # inside the block scalar

# belongs to images
images: []
"""
FLUX_KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: secrets
  namespace: flux-system
spec:
  interval: 10m  # keep me
  path: ./flux/secrets/prod
  sourceRef:
    kind: GitRepository
    name: flux-system
"""


def test_patches_are_appended_and_every_other_byte_kept() -> None:
    out = add_workload_identity(BOOTSTRAP, azure_identity(CLIENT, TENANT))
    before, after = BOOTSTRAP.splitlines(keepends=True), out.splitlines(keepends=True)
    at = next(i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b)
    size = len(after) - len(before)
    assert after[:at] + after[at + size:] == before  # one insertion, every other byte kept
    assert before[at - 1].strip() == "# inside the block scalar"
    assert before[at:at + 2] == ["\n", "# belongs to images\n"]
    added = "".join(after[at:at + size])
    assert added.count("- target:") == 2 and f"client-id: {CLIENT}" in added and f"tenant-id: {TENANT}" in added
    doc = yaml.safe_load(out)
    assert doc["images"] == [] and len(doc["patches"]) == 3
    assert doc["patches"][0]["patch"].endswith("# inside the block scalar\n")  # the scalar is untouched
    assert existing_patches(doc, "azure_kv") == (True, True)
    assert add_workload_identity(out, azure_identity(CLIENT)) == out  # idempotent


def test_no_patches_key_gets_one_at_the_end() -> None:
    text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-components.yaml\n\n"
    out = add_workload_identity(text, azure_identity(CLIENT))
    assert out.startswith(text.rstrip("\n") + "\npatches:\n  # sopskit")  # resources' dash column is kept
    patches = yaml.safe_load(out)["patches"]
    assert [p["target"]["kind"] for p in patches] == ["ServiceAccount", "Deployment"]
    assert yaml.safe_load(patches[1]["patch"])["spec"]["template"]["metadata"]["labels"] == {
        "azure.workload.identity/use": "true"}


def test_a_teams_own_annotation_is_never_overridden() -> None:
    own = BOOTSTRAP.replace("# belongs to images\n", "") + (
        "- target:\n    kind: ServiceAccount\n    name: (kustomize-controller|source-controller)\n  patch: |\n"
        "    apiVersion: v1\n    kind: ServiceAccount\n    metadata:\n      name: x\n      annotations:\n"
        "        azure.workload.identity/client-id: 22222222-0000-0000-0000-000000000000\n")
    own = own.replace("images: []\n", "") + "images: []\n"
    out = add_workload_identity(own, azure_identity(CLIENT))
    assert CLIENT not in out and out.count("azure.workload.identity/use") == 1  # only the label was missing


def test_flow_style_patches_are_refused() -> None:
    with pytest.raises(ConfigError, match="by hand"):
        add_workload_identity("resources: [gotk-components.yaml]\npatches: []\n", azure_identity(CLIENT))


def test_identity_must_be_a_guid() -> None:
    with pytest.raises(UsageError, match="not a GUID"):
        azure_identity("my-identity")


def _existing_repo(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "clusters/prod/flux-system").mkdir(parents=True)
    (root / "clusters/prod/flux-system/kustomization.yaml").write_text(BOOTSTRAP)
    (root / "clusters/prod/secrets.yaml").write_text(FLUX_KS)
    (root / ".sops.yaml").write_text(f"# ours\ncreation_rules:\n  - path_regex: ^flux/secrets/prod/\n"
                                     f"    encrypted_regex: ^(data|stringData)$\n    azure_keyvault: {URL}\n")


def _secrets_ks() -> FluxKs:
    return FluxKs("flux-system", "secrets", "flux/secrets/prod", {}, "clusters/prod/secrets.yaml")


def test_repo_init_on_an_azure_repository(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    sops_yaml = (tmp_path / ".sops.yaml").read_bytes()
    report = init_repo(tmp_path, ["prod"], identities=[azure_identity(CLIENT)])
    assert "clusters/prod/flux-system/kustomization.yaml" in report.updated
    assert (tmp_path / ".sops.yaml").read_bytes() == sops_yaml  # its rule exists: not touched
    ks = (tmp_path / "clusters/prod/secrets.yaml").read_text()
    # cloud keys only: decryption without a secretRef (a missing Secret fails Flux's reconcile)
    assert ks == FLUX_KS.replace("spec:\n", "spec:\n  decryption:\n    provider: sops\n", 1)
    view = controller_view(load_repo(tmp_path)).for_kustomization(_secrets_ks())
    assert view.controller.annotations == {"azure.workload.identity/client-id": CLIENT}
    assert view.controller.pod_labels == {"azure.workload.identity/use": "true"}
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and ".git" not in p.parts}
    again = init_repo(tmp_path, ["prod"], identities=[azure_identity(CLIENT)])
    assert not again.changed
    assert {p: p.read_bytes() for p in before} == before


def test_repo_init_without_a_choice_only_notes(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    report = init_repo(tmp_path, ["prod"])
    assert (tmp_path / "clusters/prod/flux-system/kustomization.yaml").read_text() == BOOTSTRAP
    assert any("--azure-identity CLIENT_ID" in n for n in report.notes)


def test_repo_init_secret_route_writes_no_credential(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    report = init_repo(tmp_path, ["prod"], azure_secret=True)
    assert (tmp_path / "clusters/prod/flux-system/kustomization.yaml").read_text() == BOOTSTRAP
    ks = yaml.safe_load((tmp_path / "clusters/prod/secrets.yaml").read_text())
    assert ks["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}
    text = "\n".join(report.notes)
    assert "--from-file=sops.azure-kv=/dev/stdin" in text and "clientSecret" in text


def test_azure_kv_flag_writes_new_rules_and_bad_urls_are_refused(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    with pytest.raises(SopsError):
        init_repo(tmp_path, ["prod"], azure_kv="not a key url")
    assert not (tmp_path / ".sops.yaml").exists()
    init_repo(tmp_path, ["prod"], azure_kv=URL)
    rule = yaml.safe_load((tmp_path / ".sops.yaml").read_text())["creation_rules"][0]
    assert rule["azure_keyvault"] == URL and rule["path_regex"] == "^flux/secrets/prod/"


def test_repo_init_patches_only_the_cluster_that_applies_the_secrets(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    (tmp_path / "clusters/staging/flux-system").mkdir(parents=True)
    (tmp_path / "clusters/staging/flux-system/kustomization.yaml").write_text(BOOTSTRAP)
    (tmp_path / "clusters/staging/secrets.yaml").write_text(FLUX_KS.replace("/prod", "/staging"))
    report = init_repo(tmp_path, ["prod"], identities=[azure_identity(CLIENT)])
    assert "clusters/prod/flux-system/kustomization.yaml" in report.updated
    assert (tmp_path / "clusters/staging/flux-system/kustomization.yaml").read_text() == BOOTSTRAP
    # no cluster applies flux/secrets/dev: nothing is guessed, a note says so
    report = init_repo(tmp_path, ["dev"], identities=[azure_identity(CLIENT)])
    assert (tmp_path / "clusters/staging/flux-system/kustomization.yaml").read_text() == BOOTSTRAP
    assert any("no kustomization.yaml listing gotk-components.yaml" in n for n in report.notes)


def test_an_environment_without_azure_keeps_the_age_secret_ref(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    (tmp_path / "clusters/prod/dev.yaml").write_text(FLUX_KS.replace("/prod", "/dev").replace("secrets\n", "dev\n", 1))
    init_repo(tmp_path, ["dev"])  # its new rule waits for `cluster init` (age): Flux needs sops-age
    ks = yaml.safe_load((tmp_path / "clusters/prod/dev.yaml").read_text())
    assert ks["spec"]["decryption"] == {"provider": "sops", "secretRef": {"name": "sops-age"}}


@pytest.mark.parametrize(("key_type", "rule_field", "key", "identity", "annotation"), [
    ("gcp_kms", "gcp_kms", "projects/p/locations/global/keyRings/r/cryptoKeys/k",
     lambda: gcp_identity("flux-kms@my-project.iam.gserviceaccount.com"), "iam.gke.io/gcp-service-account"),
    ("kms", "kms", "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
     lambda: aws_identity("arn:aws:iam::111122223333:role/flux-kms"), "eks.amazonaws.com/role-arn"),
])
def test_gcp_and_aws_identities(tmp_path: Path, key_type: str, rule_field: str, key: str,
                                identity: object, annotation: str) -> None:
    _existing_repo(tmp_path)
    (tmp_path / ".sops.yaml").write_text(f"creation_rules:\n  - path_regex: ^flux/secrets/prod/\n"
                                         f"    {rule_field}: {key}\n")
    noted = init_repo(tmp_path, ["prod"])
    assert any(MARK in n for n in noted.notes for MARK in ("--gcp-service-account", "--aws-role-arn"))
    made = identity()  # type: ignore[operator]
    init_repo(tmp_path, ["prod"], identities=[made])
    text = (tmp_path / "clusters/prod/flux-system/kustomization.yaml").read_text()
    assert text.count(annotation) == 1 and "azure.workload.identity" not in text  # no pod label for these
    view = controller_view(load_repo(tmp_path)).for_kustomization(_secrets_ks())
    assert view.controller.annotations[annotation] == made.annotations[0][1]
    assert existing_patches(yaml.safe_load(text), key_type) == (True, True)
    assert not init_repo(tmp_path, ["prod"], identities=[made]).changed


def test_gcp_and_aws_values_are_checked() -> None:
    with pytest.raises(UsageError, match="service account"):
        gcp_identity("flux@gmail.com")
    with pytest.raises(UsageError, match="IAM role ARN"):
        aws_identity("arn:aws:kms:eu-west-1:111122223333:key/1")


def test_repo_init_keeps_a_different_client_id_and_says_so(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    init_repo(tmp_path, ["prod"], identities=[azure_identity(CLIENT)])
    install = tmp_path / "clusters/prod/flux-system/kustomization.yaml"
    before = install.read_bytes()
    other = "33333333-0000-0000-0000-000000000000"
    report = init_repo(tmp_path, ["prod"], identities=[azure_identity(other)])
    assert install.read_bytes() == before and any("another value" in n for n in report.notes)


def test_flow_style_patches_leave_a_note_not_a_half_done_error(tmp_path: Path) -> None:
    _existing_repo(tmp_path)
    install = tmp_path / "clusters/prod/flux-system/kustomization.yaml"
    install.write_text("resources: [gotk-components.yaml, gotk-sync.yaml]\npatches: []\n")
    report = init_repo(tmp_path, ["prod"], identities=[azure_identity(CLIENT)])
    assert install.read_text() == "resources: [gotk-components.yaml, gotk-sync.yaml]\npatches: []\n"
    assert any("by hand" in n for n in report.notes) and (tmp_path / ".gitignore").is_file()
