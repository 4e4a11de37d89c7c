"""Minimised, made-up reproductions of what the inventory got wrong on public GitOps repositories."""

from __future__ import annotations

from pathlib import Path

from sopskit.inventory.collect import collect


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _entry(root: Path, rel: str) -> dict:  # type: ignore[type-arg]
    found = [s for s in collect(root, history=False).to_json()["secrets"] if s["path"] == rel]
    assert len(found) == 1, found
    return found[0]


def test_external_secret_keys_come_from_its_template(tmp_path: Path) -> None:
    # dataFrom.extract with a template: the Secret holds exactly the template's keys
    _write(tmp_path, "apps/issuer.yaml", """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: issuer, namespace: certs}
spec:
  secretStoreRef: {kind: ClusterSecretStore, name: vault}
  target:
    name: issuer-secret
    template:
      data:
        TOKEN: "{{ .token }}"
        ZONE: example.org
  dataFrom:
    - extract: {key: dns-provider}
""")
    entry = _entry(tmp_path, "apps/issuer.yaml")
    assert (entry["name"], entry["keys"], entry["remote_refs"]) == ("issuer-secret", ["TOKEN", "ZONE"],
                                                                    ["dns-provider"])


def test_external_secret_keys_from_a_template_config_map(tmp_path: Path) -> None:
    _write(tmp_path, "apps/auth.yaml", """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: auth}
spec:
  target:
    template:
      templateFrom:
        - configMap: {name: auth-tpl, items: [{key: configuration.yaml, templateAs: Values}]}
        - target: Annotations
          configMap: {name: auth-annotations, items: [{key: not-a-data-key}]}
  dataFrom:
    - extract: {key: auth}
""")
    assert _entry(tmp_path, "apps/auth.yaml")["keys"] == ["configuration.yaml"]


def test_external_secret_template_replaces_or_merges_data_keys(tmp_path: Path) -> None:
    body = """\
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {{name: app}}
spec:
  target:
    template:
      {policy}
      data: {{DSN: "postgres://{{{{ .user }}}}"}}
  data:
    - secretKey: user
      remoteRef: {{key: db, property: user}}
"""
    _write(tmp_path, "replace.yaml", body.format(policy=""))
    _write(tmp_path, "merge.yaml", body.format(policy="mergePolicy: Merge"))
    assert _entry(tmp_path, "replace.yaml")["keys"] == ["DSN"]
    assert _entry(tmp_path, "merge.yaml")["keys"] == ["DSN", "user"]


def test_unreadable_sops_config_still_lists_the_secrets(tmp_path: Path) -> None:
    _write(tmp_path, ".sops.yaml", "creation_rules: {not: a list}\n")  # a schema error sopskit cannot use
    _write(tmp_path, "apps/plain.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n")
    inv = collect(tmp_path, history=False).to_json()
    assert [(s["path"], s["protection"]) for s in inv["secrets"]] == [("apps/plain.yaml", "plaintext")]
    assert any(".sops.yaml not used" in note and "creation_rules" in note for note in inv["notes"])


def test_ini_file_keys_leave_out_the_empty_default_section(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from pyrage import x25519

    recipient = str(x25519.Identity.generate().to_public())
    _write(tmp_path, "app.ini", "[db]\nuser = app\npassword = made-up\n")
    subprocess.run([sys.executable, "-m", "sopskit", "encrypt", "--age", recipient, "--in-place", "app.ini"],
                   cwd=tmp_path, check=True, capture_output=True, env={**os.environ, "SOPS_AGE_KEY_FILE": os.devnull})
    assert "ENC[" in (tmp_path / "app.ini").read_text()
    assert _entry(tmp_path, "app.ini")["keys"] == ["db"]


_ENC = "ENC[AES256_GCM,data:AAAA,iv:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]"


def test_empty_document_of_a_multi_document_sops_file_is_not_an_entry(tmp_path: Path) -> None:
    # made-up: a Secret then an empty document, as `sops -e` writes a manifest ending in `---`
    # (each document carries the sops metadata, the empty one nothing else)
    _write(tmp_path, "app/secret.enc.yaml", f"""\
apiVersion: v1
kind: Secret
metadata: {{name: oauth, namespace: web}}
stringData:
    clientSecret: {_ENC}
sops:
    age:
        - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq6ad6ks
          enc: x
    lastmodified: "2026-01-01T00:00:00Z"
    mac: {_ENC}
    version: 3.8.1
---
sops:
    age:
        - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq6ad6ks
          enc: x
    lastmodified: "2026-01-01T00:00:00Z"
    mac: {_ENC}
    version: 3.8.1
""")
    found = [(s["kind"], s["namespace"], s["name"], s["keys"])
             for s in collect(tmp_path, history=False).to_json()["secrets"]]
    assert found == [("Secret", "web", "oauth", ["clientSecret"])]


def test_namespace_directory_named_dev_is_not_an_environment(tmp_path: Path) -> None:
    # home-ops layout apps/<namespace>/<app>/: the "dev" namespace holds CI runners, it is not
    # a dev environment; a staging/ directory that is no Namespace still is one
    _write(tmp_path, "apps/dev/namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: dev}\n")
    external = ("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: {name: runner}\n"
                "spec:\n  data:\n    - secretKey: token\n      remoteRef: {key: runner}\n")
    _write(tmp_path, "apps/dev/runner/externalsecret.yaml", external)
    _write(tmp_path, "clusters/staging/runner/externalsecret.yaml", external)
    assert _entry(tmp_path, "apps/dev/runner/externalsecret.yaml")["environment"] == "unknown"
    assert _entry(tmp_path, "clusters/staging/runner/externalsecret.yaml")["environment"] == "staging"
    # the namespace may come from a kustomization instead of a Namespace object
    (tmp_path / "apps/dev/namespace.yaml").unlink()
    _write(tmp_path, "apps/dev/kustomization.yaml", "namespace: dev\nresources: [./runner/externalsecret.yaml]\n")
    assert _entry(tmp_path, "apps/dev/runner/externalsecret.yaml")["environment"] == "unknown"


def _scanner_answer(root: Path) -> tuple[str, str]:
    from sopskit.inventory.maturity import grade

    report = grade(collect(root, history=False))
    found = [a for a in report.checklist if a.item.startswith("A secret scanner")]
    return found[0].answer, found[0].evidence


def test_sops_pre_commit_forbid_secrets_and_lefthook_count_as_guardrails(tmp_path: Path) -> None:
    assert _scanner_answer(tmp_path)[0] == "no"
    _write(tmp_path, ".pre-commit-config.yaml", "repos:\n  - repo: https://example.org/sops-pre-commit\n"
                                                "    hooks:\n      - id: forbid-secrets\n")
    assert _scanner_answer(tmp_path) == ("yes", ".pre-commit-config.yaml (forbid-secrets)")
    (tmp_path / ".pre-commit-config.yaml").unlink()
    _write(tmp_path, ".lefthook.toml", "[pre-commit.commands.leaks]\nrun = \"gitleaks protect --staged\"\n")
    assert _scanner_answer(tmp_path) == ("yes", ".lefthook.toml (gitleaks)")


def test_encrypted_names_are_not_shown_as_names(tmp_path: Path) -> None:
    # made-up: a whole-file encryption (no encrypted_regex) hides kind, name and namespace
    from pyrage import x25519

    import sopskit

    recipient = str(x25519.Identity.generate().to_public())
    plain = b"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\n    namespace: shop\nstringData:\n    pw: x\n"
    (tmp_path / "db.yaml").write_bytes(sopskit.encrypt(plain, format="yaml", age=[recipient], config=False))
    [entry] = collect(tmp_path, history=False).to_json()["secrets"]
    assert (entry["kind"], entry["namespace"], entry["name"]) == ("SopsFile", None, None)


def test_repository_without_commits_has_no_history(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    _write(tmp_path, "apps/plain.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {a: b}\n")
    [entry] = collect(tmp_path).to_json()["secrets"]
    assert entry["last_changed"] is None and entry["rotation_due"] is False
