"""Made-up, minimised reproductions of the RBAC audit's false findings in the eighth held-out round
(bench/realworld_labels.json, group held-out-8): "dropped from Flux" gave up for the whole
repository when one Kustomization named an undefined GitRepository, and ``decryption-key-readable``
fired in a repository whose SOPS files use only cloud KMS keys (no key Secret to read). Each case
comes with a near-identical one that must still be reported."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sopskit.policy import check_policy
from tests.policy.conftest import AGE_VECTOR_RECIPIENT, RepoFactory

BOTH = ["decryption-key-readable", "rbac-workload-reads-all-secrets"]


def ks(name: str, path: str, source: str = "flux-system", extra: str = "") -> str:
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: flux-system\n"
        f"spec:\n  interval: 10m\n  path: {path}\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n{extra}"
    )


_ROLE = (
    "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: unsealer\n"
    "rules:\n  - apiGroups: ['']\n    resources: [secrets]\n    verbs: [get, list]\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n  name: unsealer\n"
    "roleRef:\n  kind: ClusterRole\n  name: unsealer\n  apiGroup: rbac.authorization.k8s.io\n"
    "subjects:\n  - kind: ServiceAccount\n    name: unsealer\n    namespace: vault\n"
)
_JOB = (
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: unseal\n  namespace: vault\nspec:\n"
    "  template:\n    spec:\n      serviceAccountName: unsealer\n"
    "      containers: [{name: c, image: example.invalid/unseal:1}]\n"
)


def found(root: Path) -> list[tuple[str, str]]:
    return sorted((v.check_id, v.path) for v in check_policy(root, only=BOTH).violations)


class TestDroppedWithAnUnresolvedSource:
    # the live tree: clusters/home builds apps/vault, whose kustomization no longer lists jobs/
    LIVE = {
        ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use: a key Secret may exist
        "clusters/home/vault.yaml": ks("vault", "./apps/vault"),
        "apps/vault/kustomization.yaml": "resources:\n  - namespace.yaml\n",
        "apps/vault/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: vault\n",
        "apps/vault/jobs/kustomization.yaml": "resources:\n  - rbac.yaml\n  - job.yaml\n",
        "apps/vault/jobs/rbac.yaml": _ROLE,
        "apps/vault/jobs/job.yaml": _JOB,
    }
    # a second, unused tree whose Kustomizations name a GitRepository defined nowhere here
    UNUSED = {
        "next/clusters/lab/apps.yaml": ks("lab-apps", "./next/apps", source="lab"),
        "next/apps/kustomization.yaml": "resources:\n  - config.yaml\n",
        "next/apps/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lab\n",
    }
    REPORTED = [("decryption-key-readable", "apps/vault/jobs/rbac.yaml"),
                ("rbac-workload-reads-all-secrets", "apps/vault/jobs/rbac.yaml")]

    def test_an_undefined_source_elsewhere_does_not_stop_the_judgement(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.LIVE)) == []
        assert found(make_repo({**self.LIVE, **self.UNUSED})) == []

    def test_listed_again_it_is_reported(self, make_repo: RepoFactory) -> None:
        listed = {**self.LIVE, **self.UNUSED,
                  "apps/vault/kustomization.yaml": "resources:\n  - namespace.yaml\n  - jobs\n"}
        assert found(make_repo(listed)) == self.REPORTED

    def test_an_unresolved_kustomization_building_the_directory_may_deploy_it(
        self, make_repo: RepoFactory
    ) -> None:
        # its source may be this repository under another name: its path counts as built
        files = {**self.LIVE, "next/clusters/lab/apps.yaml": ks("lab-apps", "./apps/vault/jobs", source="lab")}
        assert found(make_repo(files)) == self.REPORTED

    def test_everything_below_an_unresolved_path_may_be_deployed(self, make_repo: RepoFactory) -> None:
        # a path without a kustomization file above the dropped directory (Flux generates one)
        above = {**self.LIVE, "next/clusters/lab/apps.yaml": ks("lab-apps", "./apps", source="lab")}
        assert found(make_repo(above)) == self.REPORTED
        # the same directory whose kustomization leaves jobs/ out here: the unknown source's
        # revision may list it, so it is not called dropped either
        same = {**self.LIVE, "next/clusters/lab/apps.yaml": ks("lab-apps", "./apps/vault", source="lab")}
        assert found(make_repo(same)) == self.REPORTED

    def test_a_kustomization_following_another_branch_may_deploy_its_path(self, make_repo: RepoFactory) -> None:
        source = (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
            "metadata:\n  name: staging\n  namespace: flux-system\n"
            "spec:\n  url: https://example.invalid/home/ops.git\n  ref:\n    branch: staging\n"
        )
        files = {**self.LIVE, "clusters/staging/source.yaml": source,
                 "clusters/staging/vault.yaml": ks("vault-staging", "./apps/vault/jobs", source="staging")}
        root = make_repo(files)
        subprocess.run(["git", "-C", str(root), "checkout", "-q", "-b", "main"], check=True)
        subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "https://example.invalid/home/ops.git"],
                       check=True)
        assert found(root) == self.REPORTED


ENC = "ENC[AES256_GCM,data:c2VjcmV0,iv:aXZpdml2aXZpdml2aXZpdg==,tag:dGFndGFndGFndGFndGFndA==,type:str]"
GCP = "projects/p/locations/global/keyRings/sops/cryptoKeys/sops-key"


def sops_secret(keys: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sealed-key\n  namespace: kube-system\nstringData:\n"
        f"  tls.key: {ENC}\nsops:\n{keys}  lastmodified: '2024-01-01T00:00:00Z'\n  mac: {ENC}\n"
        "  encrypted_regex: ^(data|stringData)$\n  version: 3.7.1\n"
    )


REPORTED_OP = [("decryption-key-readable", "operator/rbac.yaml"),
               ("rbac-workload-reads-all-secrets", "operator/rbac.yaml")]
GCP_ONLY = f"  gcp_kms:\n    - resource_id: {GCP}\n      enc: eA==\n  age: []\n  pgp: []\n"


class TestDecryptionKeyOnlyWhereThereIsOne:
    """Every SOPS key is a GCP KMS key, no Kustomization names a decryption secretRef: the
    controller decrypts with its cloud identity and flux-system holds no key Secret."""

    CLOUD = {
        ".sops.yaml": f"creation_rules:\n  - path_regex: secrets/.*\n    gcp_kms: {GCP}\n",
        "clusters/prod/apps.yaml": ks("apps", "./secrets", extra="  decryption:\n    provider: sops\n"),
        "secrets/sealed-key.enc.yaml": sops_secret(GCP_ONLY),
        "operator/rbac.yaml": _ROLE,
        "operator/job.yaml": _JOB,
    }

    def test_cloud_kms_only_is_not_applicable_and_the_broad_read_is_still_reported(
        self, make_repo: RepoFactory
    ) -> None:
        report = check_policy(make_repo(self.CLOUD), only=BOTH)
        assert [(v.check_id, v.path) for v in report.violations] == [
            ("rbac-workload-reads-all-secrets", "operator/rbac.yaml")
        ]
        status = {s.check_id: s for s in report.statuses}["decryption-key-readable"]
        assert status.status == "not-applicable"
        assert "only cloud KMS keys (gcp_kms)" in status.reason

    def _reported(self, make_repo: RepoFactory, changes: dict[str, str]) -> list[tuple[str, str]]:
        return found(make_repo({**self.CLOUD, **changes}))

    def test_an_age_rule_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        rules = self.CLOUD[".sops.yaml"] + f"  - path_regex: apps/.*\n    age: {AGE_VECTOR_RECIPIENT}\n"
        assert self._reported(make_repo, {".sops.yaml": rules}) == REPORTED_OP

    def test_a_pgp_recipient_in_a_file_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        pgp = GCP_ONLY.replace("  pgp: []\n", "  pgp:\n    - fp: 0123456789ABCDEF0123456789ABCDEF01234567\n"
                               "      created_at: '2024-01-01T00:00:00Z'\n      enc: eA==\n")
        assert self._reported(make_repo, {"secrets/old.enc.yaml": sops_secret(pgp)}) == REPORTED_OP

    def test_a_secret_ref_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        # cloud credentials in a Secret (sops.gcp-kms) are a decryption key Secret too
        extra = "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-gcp\n"
        assert self._reported(make_repo, {"clusters/prod/apps.yaml": ks("apps", "./secrets", extra=extra)}) \
            == REPORTED_OP

    def test_a_patched_in_decryption_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        patch = (
            "resources:\n  - apps.yaml\npatches:\n  - target:\n      kind: Kustomization\n    patch: |\n"
            "      - op: add\n        path: /spec/decryption\n"
            "        value: {provider: sops, secretRef: {name: sops-gcp}}\n"
        )
        assert self._reported(make_repo, {"clusters/prod/kustomization.yaml": patch}) == REPORTED_OP

    def test_a_flux_instance_patching_decryption_in_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        # the Flux Operator patches its sync Kustomization: the Secret it names may hold a key
        instance = (
            "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n"
            "  namespace: flux-system\nspec:\n  kustomize:\n    patches:\n      - target:\n"
            "          kind: Kustomization\n        patch: |\n          - op: add\n"
            "            path: /spec/decryption\n            value: {provider: sops, secretRef: {name: sops-gcp}}\n"
        )
        assert self._reported(make_repo, {"clusters/prod/instance.yaml": instance}) == REPORTED_OP
        # the same instance patching something else leaves the check not applicable
        other = instance.replace("/spec/decryption", "/spec/timeout").replace(
            "{provider: sops, secretRef: {name: sops-gcp}}", "5m")
        assert self._reported(make_repo, {"clusters/prod/instance.yaml": other}) == [
            ("rbac-workload-reads-all-secrets", "operator/rbac.yaml")
        ]

    def test_the_global_flag_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        flag = (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kustomize-controller\n"
            "  namespace: flux-system\nspec:\n  template:\n    spec:\n      containers:\n"
            "        - name: manager\n          image: example.invalid/kc:1\n"
            "          args: [--sops-age-secret=sops-age]\n"
        )
        assert self._reported(make_repo, {"clusters/prod/controller.yaml": flag}) == REPORTED_OP

    def test_a_committed_key_secret_means_a_key_secret(self, make_repo: RepoFactory) -> None:
        secret = (
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\n"
            f"stringData:\n  age.agekey: {ENC}\nsops:\n{GCP_ONLY}  lastmodified: '2024-01-01T00:00:00Z'\n"
            f"  mac: {ENC}\n  version: 3.7.1\n"
        )
        assert self._reported(make_repo, {"clusters/prod/sops-age.enc.yaml": secret}) == REPORTED_OP

    def test_unreadable_metadata_or_no_sops_key_at_all_keeps_the_check(self, make_repo: RepoFactory) -> None:
        broken = sops_secret("  gcp_kms: not-a-list\n")
        assert self._reported(make_repo, {"secrets/broken.enc.yaml": broken}) == REPORTED_OP
        bare = {k: v for k, v in self.CLOUD.items() if k not in (".sops.yaml", "secrets/sealed-key.enc.yaml")}
        assert found(make_repo(bare)) == REPORTED_OP


class TestCopiedUpstreamTree:
    """held-out-9: a repository copies an upstream project's whole manifest tree into
    ``third_party/`` and Flux builds pick a few of its directories (``resources:
    ../../third_party/...``). The tree's other variants and examples (RBAC, example Secrets) are
    in Git only because the whole tree was copied: no build reaches them. What a build reaches
    is judged as before; a vendored tree no build reaches at all is left alone (it may be applied
    by other means)."""

    EXAMPLE_SECRET = ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: example\n  namespace: vault\n"
                      "stringData:\n  password: " + "Upstr" + "eamDef4ult" + "Pw9\n")

    def files(self) -> dict[str, str | bytes]:
        return {
            ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": "resources:\n  - ../third_party/upstream/base\n",
            "third_party/upstream/base/kustomization.yaml": "resources:\n  - rbac.yaml\n  - job.yaml\n",
            "third_party/upstream/base/rbac.yaml": _ROLE,
            "third_party/upstream/base/job.yaml": _JOB,
            "third_party/upstream/variant/kustomization.yaml": "resources:\n  - rbac.yaml\n  - job.yaml\n",
            "third_party/upstream/variant/rbac.yaml": _ROLE.replace("unsealer", "other"),
            "third_party/upstream/variant/job.yaml": _JOB.replace("unsealer", "other"),
            "third_party/upstream/examples/secret.yaml": self.EXAMPLE_SECRET,
            "third_party/upstream/env/gcp/kustomization.yaml": (
                "secretGenerator:\n  - name: artifacts\n    envs: [artifact.env]\n"),
            "third_party/upstream/env/gcp/artifact.env": "secretkey=" + "Upstr" + "eamDef4ult" + "Key7\n",
        }

    def test_only_what_a_build_reaches_is_judged(self, make_repo: RepoFactory) -> None:
        root = make_repo(self.files())
        assert found(root) == [("decryption-key-readable", "third_party/upstream/base/rbac.yaml"),
                               ("rbac-workload-reads-all-secrets", "third_party/upstream/base/rbac.yaml")]
        assert [v.path for v in check_policy(root, only=["plaintext-secret"]).violations] == []

    def test_a_built_example_secret_is_still_reported(self, make_repo: RepoFactory) -> None:
        files = self.files()
        files["third_party/upstream/base/kustomization.yaml"] = (
            "resources:\n  - rbac.yaml\n  - job.yaml\n  - ../examples/secret.yaml\n")
        root = make_repo(files)
        assert [v.path for v in check_policy(root, only=["plaintext-secret"]).violations] == [
            "third_party/upstream/examples/secret.yaml"]

    def test_a_built_variants_generator_is_still_reported(self, make_repo: RepoFactory) -> None:
        files = self.files()
        files["apps/kustomization.yaml"] = (
            "resources:\n  - ../third_party/upstream/base\n  - ../third_party/upstream/env/gcp\n")
        root = make_repo(files)
        assert [v.path for v in check_policy(root, only=["plaintext-secret"]).violations] == [
            "third_party/upstream/env/gcp/artifact.env"]

    def test_a_vendored_tree_no_build_reaches_is_left_alone(self, make_repo: RepoFactory) -> None:
        files = self.files()
        files["apps/kustomization.yaml"] = "resources: []\n"
        root = make_repo(files)
        assert {path for _check, path in found(root)} == {"third_party/upstream/base/rbac.yaml",
                                                         "third_party/upstream/variant/rbac.yaml"}
        assert sorted(v.path for v in check_policy(root, only=["plaintext-secret"]).violations) == [
            "third_party/upstream/env/gcp/artifact.env", "third_party/upstream/examples/secret.yaml"]
