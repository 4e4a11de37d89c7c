"""A Flux Kustomization's ``spec.components`` are part of its build (Flux 2.1+): a SOPS file
that only a component brings in needs decryption like one under ``spec.path``, and it is not
an unreferenced file."""

from __future__ import annotations

from tests.policy.conftest import SOPS_CONFIG, RepoFactory, encrypted_secret, flux, flux_ks

_COMPONENT = (
    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n  - secret.sops.yaml\n"
)
_APP_KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - cm.yaml\n"
_CONFIG_MAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  mode: fast\n"


def _repo(make_repo: RepoFactory, *, components: bool, decryption: bool) -> object:
    ks = flux_ks("app", "./apps/app")
    if components:
        ks += "  components:\n    - ../../components/secrets\n"
    if decryption:
        ks += "  decryption:\n    provider: sops\n    secretRef:\n      name: sops-age\n"
    return make_repo({
        **SOPS_CONFIG,
        "clusters/main/app.yaml": ks,
        "apps/app/kustomization.yaml": _APP_KUSTOMIZATION,
        "apps/app/cm.yaml": _CONFIG_MAP,
        "components/secrets/kustomization.yaml": _COMPONENT,
        "components/secrets/secret.sops.yaml": encrypted_secret(),
    })


def test_a_sops_file_brought_in_by_a_component_needs_decryption(make_repo: RepoFactory) -> None:
    root = _repo(make_repo, components=True, decryption=False)
    assert flux(root, "flux-decryption-provider") == [("clusters/main/app.yaml", 6)]


def test_the_same_kustomization_with_decryption_is_clean(make_repo: RepoFactory) -> None:
    root = _repo(make_repo, components=True, decryption=True)
    assert flux(root, "flux-decryption-provider") == []
    assert flux(root, "encrypted-file-unreferenced") == []


def test_without_the_component_no_decryption_is_needed(make_repo: RepoFactory) -> None:
    root = _repo(make_repo, components=False, decryption=False)
    assert flux(root, "flux-decryption-provider") == []


def test_sops_files_a_config_map_generator_reads_need_no_decryption(make_repo: RepoFactory) -> None:
    """kustomize-controller decrypts Secrets and secretGenerator sources only: SOPS files that
    become a ConfigMap stay encrypted for an in-cluster consumer whatever spec.decryption says."""
    generator = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "{kind}:\n  - name: boot\n    files:\n      - node.bu\n"
    )
    for kind, reported in (("configMapGenerator", []), ("secretGenerator", [("clusters/main/app.yaml", 6)])):
        root = make_repo({
            **SOPS_CONFIG,
            "clusters/main/app.yaml": flux_ks("app", "./apps/boot"),
            "apps/boot/kustomization.yaml": generator.format(kind=kind),
            "apps/boot/node.bu": encrypted_secret(),
        })
        assert flux(root, "flux-decryption-provider") == reported, kind
