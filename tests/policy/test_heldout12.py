"""Made-up, minimised reproductions of the false findings and misses of the twelfth held-out
round (docs/guardrails.md, "Held-out round 12"). Each case comes with a near-identical one whose
verdict must not change."""

from __future__ import annotations

from pathlib import Path

from tests.policy.conftest import RepoFactory, policy
from tests.policy.test_heldout10_rbac import FLUX_SOURCE, cluster_binding, helm_release, workload
from tests.policy.test_realworld_cases import ENC, SOPS_BLOCK

AGE = "age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw"


class TestKeyFileExpansions:
    """``${SOPS_AGE_KEY_FILE:?message}`` only insists that the variable is set: the message is no
    key file. ``${SOPS_AGE_KEY_FILE:-path}`` names where the key is when nothing overrides it."""

    @staticmethod
    def repo(make_repo: RepoFactory, recipe: str) -> Path:
        return make_repo({
            ".sops.yaml": f"creation_rules:\n  - age: {AGE}\n",
            "justfile": f"decrypt file:\n    {recipe}\n    sops -d {{{{file}}}}\n",
        }, gitignore="keys.txt\n")

    def test_an_is_set_guard_names_no_file(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, ': "${SOPS_AGE_KEY_FILE:?Set SOPS_AGE_KEY_FILE to your age key}"')
        assert policy(root, "gitignore-agekey") == []

    def test_a_default_in_the_work_tree_is_still_a_key_file(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, 'export SOPS_AGE_KEY_FILE="${SOPS_AGE_KEY_FILE:-./cluster.agekey}"')
        assert policy(root, "gitignore-agekey") == [(".gitignore", None)]

    def test_a_capitalised_justfile_variable_in_home_keeps_it_outside(self, make_repo: RepoFactory) -> None:
        justfile = ('key_file := "~/.config/sops/age/keys.txt"\n\ndecrypt file:\n'
                    "    SOPS_AGE_KEY_FILE={{ key_file }} sops -d {{file}}\n")
        files = {".sops.yaml": f"creation_rules:\n  - age: {AGE}\n", "Justfile": justfile}
        assert policy(make_repo(files, gitignore="*.tfstate\n"), "gitignore-agekey") == []
        inside = justfile.replace("~/.config/sops/age/keys.txt", "cluster.agekey")
        assert policy(make_repo({**files, "Justfile": inside}, gitignore="*.tfstate\n"), "gitignore-agekey") == [
            (".gitignore", None)]

    def test_a_flake_shell_hook_in_home_keeps_it_outside(self, make_repo: RepoFactory) -> None:
        flake = ('{\n  outputs = { self, nixpkgs }: {\n    devShells.x86_64-linux.default = pkgs.mkShell {\n'
                 '      shellHook = \'\'\n        export SOPS_AGE_KEY_FILE="$HOME/.keys/cluster-age.txt"\n'
                 "      '';\n    };\n  };\n}\n")
        files = {".sops.yaml": f"creation_rules:\n  - age: {AGE}\n", ".envrc": "use flake .\n", "flake.nix": flake}
        assert policy(make_repo(files, gitignore="*.tfstate\n"), "gitignore-agekey") == []
        inside = flake.replace("$HOME/.keys/cluster-age.txt", "$PWD/cluster.agekey")
        assert policy(make_repo({**files, "flake.nix": inside}, gitignore="*.tfstate\n"), "gitignore-agekey") == [
            (".gitignore", None)]

    def test_a_default_in_home_keeps_it_outside(self, make_repo: RepoFactory) -> None:
        root = self.repo(make_repo, 'sops --decrypt "${SOPS_AGE_KEY_FILE:-${HOME}/.config/age/cluster.txt}"')
        assert policy(root, "gitignore-agekey") == []


def _left_out(selected: str, auth: str) -> str:
    return (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  values:\n"
        f"    persistence:\n      data:\n        size: {ENC}\n    auth:\n{auth}"
        + SOPS_BLOCK + f"  encrypted_regex: {selected}\n"
    )


class TestAlgorithmNames:
    def test_a_hashing_algorithm_is_a_setting(self, make_repo: RepoFactory) -> None:
        text = _left_out("^(data|stringData)$", "      htpasswd_encryption: bcrypt\n")
        assert policy(make_repo({"release.sops.yaml": text}), "sops-plaintext-value") == []

    def test_the_password_beside_it_is_still_reported(self, make_repo: RepoFactory) -> None:
        password = "".join(("Xk9", "pLm2Qr7", "sTz"))  # made up at run time: the self-scan reads this file
        auth = ("      htpasswd_encryption: bcrypt\n      users:\n        - username: u\n"
                f"          password: {password}\n")
        text = _left_out("^(data|stringData)$", auth)
        assert policy(make_repo({"release.sops.yaml": text}), "sops-plaintext-value") == [("release.sops.yaml", 14)]


def _secret(body: str) -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: renovate\nstringData:\n{body}"


class TestNamedMailbox:
    def test_a_git_author_is_configuration(self, make_repo: RepoFactory) -> None:
        body = "  RENOVATE_PLATFORM: github\n  RENOVATE_GIT_AUTHOR: 'Renovate Bot <bot@example.com>'\n"
        assert policy(make_repo({"settings.yaml": _secret(body)}), "plaintext-secret") == []

    def test_a_token_beside_it_is_still_reported(self, make_repo: RepoFactory) -> None:
        token = "".join(("ghp_", "R4nd0mT0k3n", "Val9eXq2", "Lm7Pz8Wk1"))
        body = f"  RENOVATE_GIT_AUTHOR: 'Renovate Bot <bot@example.com>'\n  RENOVATE_TOKEN: {token}\n"
        assert policy(make_repo({"settings.yaml": _secret(body)}), "plaintext-secret") == [("settings.yaml", 5)]


class TestAccountsFluxActsAs:
    """A ServiceAccount that only Flux impersonates (a Flux Kustomization's ``serviceAccountName``,
    or a ``flux create tenant`` account) holds no pod's token: kustomize-controller acting as it
    reads nothing it could not read already. A workload running as the same account counts."""

    @staticmethod
    def repo(make_repo: RepoFactory, extra: dict[str, str]) -> Path:
        ks = (
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app-viewer\n"
            "  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps/viewer\n  prune: true\n"
            "  sourceRef: {kind: GitRepository, name: flux-system}\n  serviceAccountName: viewer-sa\n"
            "  decryption: {provider: sops, secretRef: {name: sops-age}}\n"
        )
        return make_repo({
            **FLUX_SOURCE, ".sops.yaml": f"creation_rules:\n  - age: {AGE}\n",
            "clusters/home/apps.yaml": ks + "---\n"
            + cluster_binding("viewer-read", "viewer", "viewer-sa", "flux-system"),
            "apps/viewer/secret.sops.yaml": f"kind: Secret\ndata:\n  k: {ENC}\n" + SOPS_BLOCK,
            **extra,
        })

    def test_an_account_only_flux_impersonates_is_not_reported(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, {}), "decryption-key-readable") == []

    def test_the_same_account_run_by_a_pod_is_reported(self, make_repo: RepoFactory) -> None:
        pod = workload("Deployment", "viewer", "flux-system", "viewer-sa", "example.org/viewer:1.0")
        root = self.repo(make_repo, {"clusters/home/viewer.yaml": pod})
        assert policy(root, "decryption-key-readable") == [("clusters/home/apps.yaml", 23)]

    def test_a_tenant_account_is_flux_s(self, make_repo: RepoFactory) -> None:
        tenant = (
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: flux-admin\n  namespace: \"${TENANT}\"\n"
            "  labels:\n    toolkit.fluxcd.io/tenant: sre\n---\n"
            + cluster_binding("flux-admin", "cluster-admin", "flux-admin", "${TENANT}", define_role=False)
        )
        untagged = tenant.replace("    toolkit.fluxcd.io/tenant: sre\n", "    team: sre\n")
        root = self.repo(make_repo, {"infra/tenant.yaml": tenant})
        assert ("infra/tenant.yaml", 9) not in policy(root, "decryption-key-readable")
        root = self.repo(make_repo, {"infra/tenant.yaml": untagged})
        assert ("infra/tenant.yaml", 9) in policy(root, "decryption-key-readable")


class TestAccountAdoptedByARelease:
    """A committed ServiceAccount with Helm's ownership annotations for a release is the account
    that release's chart creates and runs as, when the values name none (kubernetes-dashboard
    with ``--enable-skip-login``, its account bound to ``cluster-admin``)."""

    @staticmethod
    def account(release: str) -> str:
        return (
            "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: status\n  namespace: monitoring\n"
            f"  annotations:\n    meta.helm.sh/release-name: {release}\n"
            "    meta.helm.sh/release-namespace: monitoring\n"
            "---\n" + cluster_binding("status-admin", "cluster-admin", "status", "monitoring", define_role=False)
        )

    def test_the_adopted_account_runs_the_release(self, make_repo: RepoFactory) -> None:
        release = helm_release("    replicas: 1\n")
        root = make_repo({"app/release.yaml": release, "app/rbac.yaml": self.account("status")})
        assert policy(root, "rbac-workload-reads-all-secrets") == [("app/rbac.yaml", 10)]

    def test_an_account_annotated_for_another_release_does_not(self, make_repo: RepoFactory) -> None:
        release = helm_release("    replicas: 1\n")
        root = make_repo({"app/release.yaml": release, "app/rbac.yaml": self.account("other")})
        assert policy(root, "rbac-workload-reads-all-secrets") == []

    def test_an_account_the_values_name_wins(self, make_repo: RepoFactory) -> None:
        values = "    serviceAccount:\n      name: status-reader\n"
        root = make_repo({"app/release.yaml": helm_release(values), "app/rbac.yaml": self.account("status")})
        assert policy(root, "rbac-workload-reads-all-secrets") == []


class TestKustomizationCommentedOutOfItsParent:
    """A Flux Kustomization whose defining file the parent kustomization comments out deploys
    nothing, so the RBAC its path holds is not deployed either (a staging cluster's dashboard)."""

    @staticmethod
    def repo(make_repo: RepoFactory, listed: bool) -> Path:
        entry = "  - ./dash/ks.yaml\n" if listed else "  # - ./dash/ks.yaml\n"
        root_ks = (
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
            "  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./apps\n  prune: true\n"
            "  sourceRef: {kind: GitRepository, name: flux-system}\n"
        )
        dash_ks = root_ks.replace("name: apps\n", "name: dash\n").replace("path: ./apps\n", "path: ./apps/dash/app\n")
        return make_repo({
            **FLUX_SOURCE,
            "clusters/home/apps.yaml": root_ks,
            "clusters/home/kustomization.yaml": "resources:\n  - source.yaml\n  - apps.yaml\n",
            "apps/kustomization.yaml": "resources:\n  - ./web/ks.yaml\n" + entry,
            "apps/web/ks.yaml": dash_ks.replace("name: dash\n", "name: web\n").replace("dash/app", "web/app"),
            "apps/web/app/kustomization.yaml": "resources:\n  - deploy.yaml\n",
            "apps/web/app/deploy.yaml": workload("Deployment", "web", "web", "web", "example.org/web:1.0"),
            "apps/dash/ks.yaml": dash_ks,
            "apps/dash/app/kustomization.yaml": "resources:\n  - rbac.yaml\n  - deploy.yaml\n",
            "apps/dash/app/deploy.yaml": workload("Deployment", "dash", "dash", "dash", "example.org/dash:1.0"),
            "apps/dash/app/rbac.yaml": cluster_binding("dash-admin", "cluster-admin", "dash", "dash",
                                                       define_role=False),
        })

    def test_rbac_under_a_commented_out_kustomization_is_not_deployed(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, listed=False), "rbac-workload-reads-all-secrets") == []

    def test_the_same_tree_listed_is(self, make_repo: RepoFactory) -> None:
        assert policy(self.repo(make_repo, listed=True), "rbac-workload-reads-all-secrets") == [
            ("apps/dash/app/rbac.yaml", 1)]
