"""The audit checks (issue 16): each with a repository that trips it and one that must not."""

from __future__ import annotations

import json

from sopskit.policy import check_policy
from tests.policy.conftest import AGE_VECTOR_RECIPIENT, RepoFactory, found

STATE_PASSWORD = "state-generated-pw-5550123"


def _state(resources: list[dict]) -> str:  # type: ignore[type-arg]
    return json.dumps({"version": 4, "terraform_version": "1.9.0", "serial": 3, "resources": resources}, indent=2)


RANDOM_PASSWORD = {"mode": "managed", "type": "random_password", "name": "db", "provider": "random",
                   "instances": [{"attributes": {"id": "none", "result": STATE_PASSWORD, "length": 24}}]}
BUCKET = {"mode": "managed", "type": "aws_s3_bucket", "name": "logs",
          "instances": [{"attributes": {"id": "logs", "bucket": "logs"}}]}


def test_terraform_state_in_git(make_repo: RepoFactory) -> None:
    root = make_repo({"infra/terraform.tfstate": _state([BUCKET]), "infra/main.tf": 'resource "x" "y" {}\n'})
    report = check_policy(root, only=["terraform-state-committed", "terraform-state-secret"])
    assert found(report, "terraform-state-committed") == [("infra/terraform.tfstate", None)]
    assert found(report, "terraform-state-secret") == []  # a bucket holds no credential


def test_terraform_state_with_a_generated_password(make_repo: RepoFactory) -> None:
    root = make_repo({"prod.tfstate.backup": _state([BUCKET, RANDOM_PASSWORD])})
    report = check_policy(root, only=["terraform-state-secret"])
    [violation] = report.violations
    assert violation.path == "prod.tfstate.backup" and "random_password.db" in violation.message
    assert STATE_PASSWORD not in violation.message + violation.fix


def test_sensitive_attributes_of_any_resource_count(make_repo: RepoFactory) -> None:
    custom = {"mode": "managed", "type": "vendor_thing", "name": "x",
              "instances": [{"attributes": {"token": "abc", "id": "1"},
                             "sensitive_attributes": [[{"type": "get_attr", "value": "token"}]]}]}
    report = check_policy(make_repo({"terraform.tfstate": _state([custom])}), only=["terraform-state-secret"])
    assert [v.message for v in report.violations] == ["vendor_thing.x in the state holds token in plaintext"]


def test_aws_iam_json_wildcard_secret_read(make_repo: RepoFactory) -> None:
    broad = {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadAll", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": "*"}]}
    scoped = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
         "Resource": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app/*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    root = make_repo({"iam/broad.json": json.dumps(broad, indent=2), "iam/scoped.json": json.dumps(scoped)})
    report = check_policy(root, only=["wildcard-secret-read"])
    assert [v.path for v in report.violations] == ["iam/broad.json"]
    assert "ReadAll" in report.violations[0].message


def test_terraform_policy_document_and_gcp_and_azure(make_repo: RepoFactory) -> None:
    tf = '''
        data "aws_iam_policy_document" "ci" {
          statement {
            actions   = ["secretsmanager:GetSecretValue"]
            resources = ["*"]
          }
        }
        data "aws_iam_policy_document" "app" {
          statement {
            actions   = ["secretsmanager:GetSecretValue"]
            resources = [aws_secretsmanager_secret.app.arn]
          }
        }
        resource "google_project_iam_member" "reader" {
          project = "p"
          role    = "roles/secretmanager.secretAccessor"
          member  = "serviceAccount:ci@p.iam.gserviceaccount.com"
        }
        resource "google_secret_manager_secret_iam_member" "one" {
          secret_id = "db"
          role      = "roles/secretmanager.secretAccessor"
          member    = "serviceAccount:app@p.iam.gserviceaccount.com"
        }
        resource "azurerm_role_assignment" "sub" {
          scope                = data.azurerm_subscription.current.id
          role_definition_name = "Key Vault Secrets User"
          principal_id         = "x"
        }
        resource "azurerm_role_assignment" "vault" {
          scope                = azurerm_key_vault.app.id
          role_definition_name = "Key Vault Secrets User"
          principal_id         = "y"
        }
    '''
    report = check_policy(make_repo({"iam.tf": tf}), only=["wildcard-secret-read"])
    messages = [v.message.split(" ")[0] for v in report.violations]
    assert messages == ["aws_iam_policy_document.ci", "google_project_iam_member.reader", "azurerm_role_assignment.sub"]


RBAC = '''
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: secret-reader}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: one-secret}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    resourceNames: ["app-config"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: app-reads-all}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects:
  - {kind: ServiceAccount, name: app, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: app-reads-one}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: one-secret}
subjects:
  - {kind: ServiceAccount, name: app, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: idle-reads-all, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
subjects:
  - {kind: ServiceAccount, name: unused, namespace: shop}
'''
DEPLOYMENT = '''
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      serviceAccountName: app
      containers: [{name: web, image: nginx}]
'''


def test_rbac_that_lets_a_workload_read_all_secrets(make_repo: RepoFactory) -> None:
    root = make_repo({"rbac.yaml": RBAC, "web.yaml": DEPLOYMENT})
    report = check_policy(root, only=["rbac-workload-reads-all-secrets"])
    assert [v.message for v in report.violations] == [
        "app-reads-all lets ServiceAccount shop/app (used by Deployment/web) read all Secrets in every namespace "
        "through ClusterRole secret-reader"]


def test_rbac_without_a_workload_is_not_reported(make_repo: RepoFactory) -> None:
    report = check_policy(make_repo({"rbac.yaml": RBAC}), only=["rbac-workload-reads-all-secrets"])
    assert report.violations == ()


def test_flux_system_secrets_readable_by_others(make_repo: RepoFactory) -> None:
    binding = '''
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata: {name: {name}, namespace: flux-system}
        roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader}
        subjects:
          - {kind: {kind}, name: {subject}, namespace: flux-system}
    '''
    role = RBAC.split("---")[0]
    files = {
        ".sops.yaml": f"creation_rules:\n  - age: {AGE_VECTOR_RECIPIENT}\n",  # SOPS in use: a key Secret may exist
        "role.yaml": role,
        "controller.yaml": binding.replace("{name}", "kc").replace("{kind}", "ServiceAccount")
        .replace("{subject}", "kustomize-controller"),
        "people.yaml": binding.replace("{name}", "devs").replace("{kind}", "Group").replace("{subject}", "developers"),
    }
    report = check_policy(make_repo(files), only=["decryption-key-readable"])
    reported = [(v.path, v.message.split(" lets ")[1][:16]) for v in report.violations]
    assert reported == [("people.yaml", "Group developers")]


def test_flux_controllers_reading_all_secrets_are_not_reported(make_repo: RepoFactory) -> None:
    # made-up minimum of a committed gotk-components.yaml: Flux's crd-controller role reads all
    # Secrets by design; a workload of the same shape outside flux-system is still reported
    gotk = '''
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: crd-controller-flux-system}
rules:
  - apiGroups: [""]
    resources: [namespaces, secrets, configmaps]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crd-controller-flux-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: crd-controller-flux-system}
subjects:
  - {kind: ServiceAccount, name: kustomize-controller, namespace: flux-system}
  - {kind: ServiceAccount, name: helm-controller, namespace: flux-system}
  - {kind: ServiceAccount, name: kustomize-controller, namespace: shop}
'''
    deployments = "\n---\n".join(
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\n"
        f"spec: {{template: {{spec: {{serviceAccountName: {name}, containers: [{{name: m, image: x}}]}}}}}}\n"
        for name, ns in (("kustomize-controller", "flux-system"), ("helm-controller", "flux-system"),
                         ("kustomize-controller", "shop")))
    report = check_policy(make_repo({"gotk-components.yaml": gotk, "deploy.yaml": deployments}),
                          only=["rbac-workload-reads-all-secrets"])
    assert [v.message.split(" (used by")[0] for v in report.violations] == [
        "crd-controller-flux-system lets ServiceAccount shop/kustomize-controller"]
