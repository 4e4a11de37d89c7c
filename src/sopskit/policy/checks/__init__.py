"""The catalogue: which checks each command runs, in report order.

Adding a check is one module-level :class:`~sopskit.policy.check.Check` and one line here.
Ids are stable API (settings, SARIF rule ids, docs/guardrails.md): never rename one.
"""

from __future__ import annotations

from sopskit.policy.check import Check
from sopskit.policy.checks.audit import (
    DECRYPTION_KEY_READABLE,
    RBAC_WORKLOAD_READS_ALL_SECRETS,
    TERRAFORM_STATE_COMMITTED,
    TERRAFORM_STATE_SECRET,
    WILDCARD_SECRET_READ,
)
from sopskit.policy.checks.credentials import CLOUD_CREDENTIALS, KUBECONFIG, PRIVATE_KEY, PRODUCTION_DOTENV
from sopskit.policy.checks.externalsecrets import CLUSTERSECRETSTORE_IN_APP_NAMESPACE, EXTERNALSECRET_PREFIX
from sopskit.policy.checks.flux import (
    ENCRYPTED_FILE_UNREFERENCED,
    FLUX_DECRYPTION_KEY_NAME,
    FLUX_DECRYPTION_PROVIDER,
    FLUX_DECRYPTION_SECRETREF,
    FLUX_PATH_MISSING,
    KUSTOMIZE_MISSING_FILE,
)
from sopskit.policy.checks.gitignore import GITIGNORE_AGEKEY
from sopskit.policy.checks.recipients import NAMESPACE_RECIPIENT_MISMATCH, SHARED_AGE_RECIPIENT
from sopskit.policy.checks.secrets import PLAINTEXT_SECRET
from sopskit.policy.checks.sopsconfigkeys import SOPS_CONFIG_IGNORED_KEY
from sopskit.policy.checks.sopsfiles import SOPS_PLAINTEXT_VALUE, SOPS_SELECTION_ENCRYPTS_NOTHING
from sopskit.policy.checks.syntax import YAML_PARSE_ERROR
from sopskit.policy.checks.terraform import TERRAFORM_SECRET_DEFAULT, TERRAFORM_SENSITIVE_OUTPUT

POLICY_CHECKS: tuple[Check, ...] = (
    PLAINTEXT_SECRET,
    SOPS_PLAINTEXT_VALUE,
    SOPS_SELECTION_ENCRYPTS_NOTHING,
    SOPS_CONFIG_IGNORED_KEY,
    PRIVATE_KEY,
    KUBECONFIG,
    CLOUD_CREDENTIALS,
    PRODUCTION_DOTENV,
    TERRAFORM_SECRET_DEFAULT,
    TERRAFORM_SENSITIVE_OUTPUT,
    EXTERNALSECRET_PREFIX,
    CLUSTERSECRETSTORE_IN_APP_NAMESPACE,
    SHARED_AGE_RECIPIENT,
    NAMESPACE_RECIPIENT_MISMATCH,
    GITIGNORE_AGEKEY,
    YAML_PARSE_ERROR,
    TERRAFORM_STATE_COMMITTED,
    TERRAFORM_STATE_SECRET,
    WILDCARD_SECRET_READ,
    RBAC_WORKLOAD_READS_ALL_SECRETS,
    DECRYPTION_KEY_READABLE,
)

FLUX_CHECKS: tuple[Check, ...] = (
    FLUX_DECRYPTION_PROVIDER,
    FLUX_DECRYPTION_SECRETREF,
    FLUX_PATH_MISSING,
    KUSTOMIZE_MISSING_FILE,
    ENCRYPTED_FILE_UNREFERENCED,
    FLUX_DECRYPTION_KEY_NAME,
    YAML_PARSE_ERROR,
)

SUITES: dict[str, tuple[Check, ...]] = {"policy": POLICY_CHECKS, "flux": FLUX_CHECKS}
ALL_CHECKS: dict[str, Check] = {check.id: check for suite in SUITES.values() for check in suite}

__all__ = ["ALL_CHECKS", "FLUX_CHECKS", "POLICY_CHECKS", "SUITES"]
