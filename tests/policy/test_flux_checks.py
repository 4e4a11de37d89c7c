"""``flux validate``: one positive and one negative case (at least) per check id."""

from __future__ import annotations

from pathlib import Path

from sopskit.policy import FLUX_CHECKS, validate_flux
from tests.policy.conftest import AGE_VECTOR, DOTENV_VECTOR, RepoFactory, encrypted_secret, flux, vector_bytes

DECRYPTION = "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"


def flux_kustomization(path: str, *, decryption: str = DECRYPTION, name: str = "apps") -> str:
    return (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\n"
        "kind: Kustomization\n"
        f"metadata:\n  name: {name}\n  namespace: flux-system\n"
        f"spec:\n  interval: 10m\n  path: {path}\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n"
        f"{decryption}"
    )


def _repo(
    make_repo: RepoFactory, *, decryption: str = DECRYPTION, files: dict[str, str | bytes] | None = None
) -> Path:
    tree: dict[str, str | bytes] = {
        "clusters/prod/apps.yaml": flux_kustomization("./apps/prod", decryption=decryption),
        "apps/prod/kustomization.yaml": "resources:\n  - deploy.yaml\n  - ../base\n  - secrets/db.enc.yaml\n",
        "apps/prod/deploy.yaml": "kind: Deployment\n",
        "apps/prod/secrets/db.enc.yaml": vector_bytes(AGE_VECTOR),
        "apps/base/kustomization.yaml": "resources: [svc.yaml]\n",
        "apps/base/svc.yaml": "kind: Service\n",
    }
    tree.update(files or {})
    return make_repo(tree)


def test_flux_ids_are_unique_and_documented() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "guardrails.md").read_text()
    assert len({c.id for c in FLUX_CHECKS}) == len(FLUX_CHECKS)
    for check in FLUX_CHECKS:
        assert f"`{check.id}`" in docs


def test_a_correct_setup_is_clean(make_repo: RepoFactory) -> None:
    report = validate_flux(_repo(make_repo))
    assert report.ok, report.violations
    assert report.exit_code == 0


class TestDecryption:
    def test_missing_decryption_block_fails_both_checks(self, make_repo: RepoFactory) -> None:
        root = _repo(make_repo, decryption="")
        assert flux(root, "flux-decryption-provider") == [("clusters/prod/apps.yaml", 6)]
        assert flux(root, "flux-decryption-secretref") == [("clusters/prod/apps.yaml", 6)]

    def test_wrong_provider_and_missing_secret_ref(self, make_repo: RepoFactory) -> None:
        root = _repo(make_repo, decryption="  decryption:\n    provider: age\n")
        assert flux(root, "flux-decryption-provider") == [("clusters/prod/apps.yaml", 10)]
        assert flux(root, "flux-decryption-secretref") == [("clusters/prod/apps.yaml", 10)]

    def test_encrypted_file_reached_through_a_directory_resource(self, make_repo: RepoFactory) -> None:
        root = _repo(
            make_repo,
            decryption="",
            files={
                "apps/prod/secrets/db.enc.yaml": "kind: ConfigMap\n",
                "apps/base/svc.yaml": vector_bytes(AGE_VECTOR),
            },
        )
        assert flux(root, "flux-decryption-provider") == [("clusters/prod/apps.yaml", 6)]

    def test_generated_kustomization_and_generator_inputs(self, make_repo: RepoFactory) -> None:
        root = make_repo(
            {
                "clusters/a.yaml": flux_kustomization("./plain", decryption="", name="a")
                + "---\n"
                + flux_kustomization("./gen", decryption="", name="b"),
                "plain/nested/s.yaml": vector_bytes(
                    AGE_VECTOR
                ),  # no kustomization.yaml: Flux takes all files
                "gen/kustomization.yaml": "secretGenerator:\n  - name: app\n    envs: [app.env]\n",
                "gen/app.env": vector_bytes(DOTENV_VECTOR),
            }
        )
        assert flux(root, "flux-decryption-provider") == [("clusters/a.yaml", 6), ("clusters/a.yaml", 16)]

    def test_kustomization_without_encrypted_files_needs_nothing(self, make_repo: RepoFactory) -> None:
        root = _repo(make_repo, decryption="", files={"apps/prod/secrets/db.enc.yaml": "kind: ConfigMap\n"})
        assert validate_flux(root, only=["flux-decryption-provider", "flux-decryption-secretref"]).ok


class TestReferences:
    def test_missing_resource_patch_and_generator_file(self, make_repo: RepoFactory) -> None:
        root = _repo(
            make_repo,
            files={
                "apps/prod/kustomization.yaml": (
                    "resources:\n  - deploy.yaml\n  - gone.yaml\n  - ../nodir\n  - secrets/db.enc.yaml\n"
                    "  - https://github.com/org/repo//base?ref=v1\n"
                    "patches:\n  - path: patch.yaml\n"
                    "secretGenerator:\n  - name: s\n    files: [key=keys/key.txt]\n"
                ),
            },
        )
        assert flux(root, "kustomize-missing-file") == [
            ("apps/prod/kustomization.yaml", 3),
            ("apps/prod/kustomization.yaml", 4),
            ("apps/prod/kustomization.yaml", 8),
            ("apps/prod/kustomization.yaml", 10),
        ]

    def test_directory_without_kustomization_and_git_ignored_file(self, make_repo: RepoFactory) -> None:
        root = _repo(
            make_repo,
            files={
                ".gitignore": "*.agekey\n*.dec.yaml\n",
                "apps/prod/kustomization.yaml": "resources:\n  - deploy.yaml\n  - plain/\n"
                "  - local.dec.yaml\n"
                "  - secrets/db.enc.yaml\n",
                "apps/prod/plain/x.yaml": "kind: ConfigMap\n",
                "apps/prod/local.dec.yaml": "kind: Secret\n",
            },
        )
        violations = validate_flux(root, only=["kustomize-missing-file"]).violations
        assert [(v.path, v.line) for v in violations] == [
            ("apps/prod/kustomization.yaml", 3),
            ("apps/prod/kustomization.yaml", 4),
        ]
        assert "without a kustomization.yaml" in violations[0].message
        assert "ignored by Git" in violations[1].message

    def test_existing_flux_paths_pass(self, make_repo: RepoFactory) -> None:
        root = _repo(make_repo, files={"clusters/prod/root.yaml": flux_kustomization("./", name="root")})
        assert flux(root, "flux-path-missing") == []

    def test_flux_path_missing(self, make_repo: RepoFactory) -> None:
        root = _repo(
            make_repo, files={"clusters/prod/extra.yaml": flux_kustomization("./apps/qa", name="qa")}
        )
        assert flux(root, "flux-path-missing") == [("clusters/prod/extra.yaml", 8)]


class TestUnreferencedEncrypted:
    def test_encrypted_file_not_in_kustomization(self, make_repo: RepoFactory) -> None:
        root = _repo(make_repo, files={"apps/prod/secrets/old.enc.yaml": encrypted_secret()})
        assert flux(root, "encrypted-file-unreferenced") == [("apps/prod/secrets/old.enc.yaml", None)]

    def test_referenced_generated_and_outside_kustomize_trees_pass(self, make_repo: RepoFactory) -> None:
        root = _repo(
            make_repo,
            files={
                "terraform/secrets.enc.yaml": vector_bytes(AGE_VECTOR),  # no kustomize tree around it
                "clusters/prod/plain.yaml": flux_kustomization("./plain", name="plain"),
                "plain/s.yaml": vector_bytes(AGE_VECTOR),  # generated kustomization
            },
        )
        assert flux(root, "encrypted-file-unreferenced") == []


class TestDecryptionKeyNames:
    SECRET = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sops-age\n  namespace: flux-system\n"
        "stringData:\n{keys}"
    )

    def test_key_names_flux_ignores(self, make_repo: RepoFactory) -> None:
        secret = self.SECRET.format(keys="  keys.txt: ENC[x]\n  identity: ENC[y]\n")
        root = _repo(make_repo, files={"clusters/prod/sops-age.yaml": secret})
        violations = validate_flux(root, only=["flux-decryption-key-name"]).violations
        assert [(v.path, v.line) for v in violations] == [
            ("clusters/prod/sops-age.yaml", 7),
            ("clusters/prod/sops-age.yaml", 8),
        ]
        assert "keys.agekey" in violations[1].fix or "keys.agekey" in violations[0].fix
        assert all("no decryption key" in v.message for v in violations)

    def test_key_names_flux_reads(self, make_repo: RepoFactory) -> None:
        secret = self.SECRET.format(
            keys="  age.agekey: ENC[x]\n  old.agekey: ENC[z]\n  sops.asc: ENC[y]\n"
            "  sops.vault-token: ENC[t]\n"
        )
        other = self.SECRET.replace("sops-age", "unrelated").format(keys="  keys.txt: x\n")
        root = _repo(
            make_repo, files={"clusters/prod/sops-age.yaml": secret, "clusters/prod/other.yaml": other}
        )
        assert flux(root, "flux-decryption-key-name") == []
