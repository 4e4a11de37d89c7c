"""Made-up, minimised reproductions of the findings of the twenty-fifth held-out round
(docs/guardrails.md, "Held-out round 25"). Each case comes with a near-identical one whose verdict
must not change."""

from __future__ import annotations

import base64
import json

import pytest

from sopskit.policy import check_policy
from tests.policy.conftest import SOPS_CONFIG, RepoFactory, flux, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, RBAC, found, secrets_binding, workload
from tests.policy.test_realworld_cases import ENC, ks

UNREFERENCED = "encrypted-file-unreferenced"


@pytest.mark.parametrize(("gitignore", "says"), [
    ("", "is empty, so nothing ignores"),
    ("\n  \n", "is empty, so nothing ignores"),
    (None, "is missing, so nothing ignores"),
    ("/node_modules/\n", "does not ignore"),
])
def test_an_empty_gitignore_is_called_empty_not_missing(make_repo: RepoFactory, gitignore: str | None,
                                                        says: str) -> None:
    """A committed but empty root .gitignore ("cleared gitignore file") was reported as missing:
    the finding stands, its words must say what the file is."""
    result = check_policy(make_repo(dict(SOPS_CONFIG), gitignore=gitignore), only=["gitignore-agekey"])
    messages = [v.message for v in result.violations if v.check_id == "gitignore-agekey"]
    assert len(messages) == 1 and says in messages[0]


def _dotenv(name: str) -> str:
    """A SOPS-encrypted dotenv file (the layout sops writes: one ``sops_*`` line per field)."""
    return (f"{name}={ENC}\nsops_age__list_0__map_recipient=age1example\n"
            "sops_lastmodified=2024-01-01T00:00:00Z\n"
            f"sops_mac={ENC}\nsops_version=3.8.1\n")


class TestStrayGeneratorInput:
    """A SOPS dotenv file left in a base after its ``secretGenerator`` moved to the overlays
    (each overlay keeps its own copy): no kustomization reads it, so Flux never applies it. The
    repository shows that encrypted generator inputs are its convention; a lone SOPS dotenv file
    (sourced by a script) or one below a directory without a kustomization is not Flux's."""

    @staticmethod
    def files(stray: str = "apps/base/db/.env.secret.creds.encrypted") -> dict[str, str]:
        return {
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps/production"),
            "apps/production/kustomization.yaml": (
                "resources:\n  - ../base/db\nsecretGenerator:\n  - name: creds\n    envs:\n"
                "      - .env.secret.creds.encrypted\n"),
            "apps/production/.env.secret.creds.encrypted": _dotenv("PASSWORD"),
            "apps/base/db/kustomization.yaml": "resources:\n  - service.yaml\n",
            "apps/base/db/service.yaml": "apiVersion: v1\nkind: Service\nmetadata:\n  name: db\n",
            stray: _dotenv("PASSWORD"),
        }

    def test_the_left_behind_input_is_reported(self, make_repo: RepoFactory) -> None:
        assert flux(make_repo(self.files()), UNREFERENCED) == [("apps/base/db/.env.secret.creds.encrypted", None)]

    def test_an_input_still_read_is_not(self, make_repo: RepoFactory) -> None:
        files = self.files()
        files["apps/base/db/kustomization.yaml"] += (
            "secretGenerator:\n  - name: creds\n    envs:\n      - .env.secret.creds.encrypted\n")
        assert flux(make_repo(files), UNREFERENCED) == []

    def test_without_encrypted_generator_inputs_a_dotenv_file_is_not_flux_s(self, make_repo: RepoFactory) -> None:
        files = self.files()
        files["apps/production/kustomization.yaml"] = "resources:\n  - ../base/db\n"
        del files["apps/production/.env.secret.creds.encrypted"]
        assert flux(make_repo(files), UNREFERENCED) == []

    def test_a_differently_named_file_or_one_outside_a_kustomize_directory_is_not(
            self, make_repo: RepoFactory) -> None:
        assert flux(make_repo(self.files("apps/base/db/secrets.sops.env")), UNREFERENCED) == []
        assert flux(make_repo(self.files("apps/base/db/scripts/.env.creds.encrypted")), UNREFERENCED) == []


def _key_lines(seed: str, count: int) -> str:
    """Made-up base64 lines shaped like a key body (no key: letters from a seed)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    return "".join(
        "".join(alphabet[(i * 7 + j * 13 + ord(seed[j % len(seed)])) % 64] for j in range(64)) + "\n"
        for i in range(count))


PGP_BEGIN = "-----BEGIN " + "PGP PRIVATE KEY BLOCK-----"
PGP_END = "-----END " + "PGP PRIVATE KEY BLOCK-----"


class TestElidedKeyBlockInDocs:
    """A README shows what an exported PGP private key looks like, with ``...`` lines standing
    for most of the body: a cut-down example, not a usable key. The same block whole is one."""

    @staticmethod
    def readme(body: str) -> dict[str, str]:
        return {**SOPS_CONFIG, "README.md": f"# Back up the key\n\n```\n{PGP_BEGIN}\n\n{body}=abcd\n{PGP_END}\n```\n"}

    def test_an_elided_block_is_not_a_key(self, make_repo: RepoFactory) -> None:
        for mark in ("...", "\u2026"):
            body = _key_lines("a", 2) + f"{mark}\n{mark}\n" + _key_lines("b", 2)
            assert policy(make_repo(self.readme(body)), "private-key") == []

    def test_the_whole_block_is(self, make_repo: RepoFactory) -> None:
        assert policy(make_repo(self.readme(_key_lines("a", 6))), "private-key") == [("README.md", 4)]


class TestGeneratorInputsJudgedByContent:
    """Files a secretGenerator reads, not SOPS-encrypted: a registry-credentials input named
    ``regcreds.json.encrypted`` (its author meant to encrypt it) holding only ``{"auths": {}}``,
    and ``server.crt`` kept as ``openssl x509 -text`` output, hold nothing secret. The same
    inputs with a registry login or a private key in them do."""

    @staticmethod
    def files(name: str, content: str) -> dict[str, str]:
        return {
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps"),
            "apps/kustomization.yaml": (
                f"secretGenerator:\n  - name: input\n    type: Opaque\n    files:\n      - {name}\n"),
            f"apps/{name}": content,
        }

    def test_an_empty_registry_login_holds_nothing(self, make_repo: RepoFactory) -> None:
        root = make_repo(self.files("regcreds.json.encrypted", '{"auths": {}}\n'))
        assert policy(root, "plaintext-secret") == []

    def test_a_registry_login_is_a_secret(self, make_repo: RepoFactory) -> None:
        login = base64.b64encode(b"robot:" + _key_lines("r", 1)[:40].encode()).decode()
        root = make_repo(self.files("regcreds.json.encrypted", json.dumps({"auths": {"ghcr.io": {"auth": login}}})))
        assert policy(root, "plaintext-secret") == [("apps/regcreds.json.encrypted", None)]

    DUMP = ("Certificate:\n    Data:\n        Version: 3 (0x2)\n        Serial Number:\n"
            "            2b:1c:b6:c9\n    Signature Algorithm: ecdsa-with-SHA256\n"
            "-----BEGIN CERTIFICATE-----\n" + _key_lines("c", 3) + "-----END CERTIFICATE-----\n")

    def test_a_certificate_dump_is_public(self, make_repo: RepoFactory) -> None:
        assert policy(make_repo(self.files("server.crt", self.DUMP)), "plaintext-secret") == []

    def test_a_dump_with_a_private_key_is_not(self, make_repo: RepoFactory) -> None:
        key = ("-----BEGIN " + "EC PRIVATE KEY-----\n" + _key_lines("k", 3) + "-----END " + "EC PRIVATE KEY-----\n")
        root = make_repo(self.files("server.crt", self.DUMP + key))
        assert policy(root, "plaintext-secret") == [("apps/server.crt", None)]


class TestReplacementSetsTheSubjectNamespace:
    """A base binds a ClusterRole that reads every Secret to ``namespace/maester`` (a stand-in
    namespace); the overlay's kustomize ``replacements`` copy the ServiceAccount's built
    namespace into ``subjects.0.namespace``, so the controller the overlay deploys reads every
    Secret. Without the replacement the subject names an account that runs nowhere."""

    REPLACEMENT = ("source:\n  kind: ServiceAccount\n  name: maester\n  fieldPath: metadata.namespace\n"
                   "targets:\n  - select:\n      kind: ClusterRoleBinding\n      name: maester\n"
                   "    fieldPaths:\n      - subjects.0.namespace\n    options:\n      delimiter: '-'\n"
                   "      index: 0\n")

    def files(self, overlay_tail: str) -> dict[str, str]:
        account = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: maester\n"
        return {
            **SOPS_CONFIG, **FLUX_SOURCE,
            "clusters/home/apps.yaml": ks("apps", "./apps/production"),
            "apps/production/kustomization.yaml": "namespace: auth\nresources:\n  - ../base\n" + overlay_tail,
            "apps/base/kustomization.yaml": "resources:\n  - maester.yaml\n",
            "apps/base/replacements/namespace.yaml": self.REPLACEMENT,
            "apps/base/maester.yaml": (
                account + "---\n" + secrets_binding("maester", "maester", "maester", "namespace")
                + "---\n" + workload("Deployment", "maester", "auth", "maester", "x/maester:1").replace(
                    "  namespace: auth\n", "")),
        }

    def test_the_replaced_subject_is_the_running_account(self, make_repo: RepoFactory) -> None:
        root = make_repo(self.files("replacements:\n  - path: ../base/replacements/namespace.yaml\n"))
        assert found(root, RBAC) == [(RBAC, "apps/base/maester.yaml")]

    def test_an_inline_replacement_too(self, make_repo: RepoFactory) -> None:
        inline = "replacements:\n  - " + self.REPLACEMENT.replace("\n", "\n    ").rstrip() + "\n"
        assert found(make_repo(self.files(inline)), RBAC) == [(RBAC, "apps/base/maester.yaml")]

    def test_without_it_the_stand_in_namespace_runs_nothing(self, make_repo: RepoFactory) -> None:
        assert found(make_repo(self.files("")), RBAC) == []
