"""The shipped Argo CD manifests keep the hardening docs/argocd.md promises."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "argocd"


def test_plugin_runs_sopskit() -> None:
    plugin = yaml.safe_load((DEPLOY / "plugin.yaml").read_text())
    assert plugin["kind"] == "ConfigManagementPlugin"
    assert plugin["spec"]["generate"]["command"] == ["sopskit", "argocd", "generate"]
    assert plugin["spec"]["discover"]["find"]["command"] == ["sopskit", "argocd", "discover"]
    config_map, _ = yaml.safe_load_all((DEPLOY / "repo-server-sidecar.yaml").read_text())
    assert yaml.safe_load(config_map["data"]["plugin.yaml"]) == plugin  # the two copies agree


def test_sidecar_is_locked_down() -> None:
    _, deployment = yaml.safe_load_all((DEPLOY / "repo-server-sidecar.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["runAsUser"] == 999 and security["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True and security["allowPrivilegeEscalation"] is False
    assert container["command"] == ["/var/run/argocd/argocd-cmp-server"]
    assert "@sha256:" in container["image"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes[mounts["/tmp"]]["emptyDir"]["medium"] == "Memory"
    key_volume = volumes[next(m["name"] for m in container["volumeMounts"] if m.get("readOnly"))]
    assert "secretName" in key_volume["secret"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["SOPS_AGE_KEY_FILE"].startswith("/run/sopskit/age/")
