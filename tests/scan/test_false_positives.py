"""False positives of the scanner, each a minimised made-up reproduction (issue 8).

Cases come from gitleaks's published false-positive examples and from held-out GitOps
repositories; every value here is invented or generated from a seeded RNG, and each
non-detection is paired with the detection it must not cost.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

from sopskit.scan import ScanOptions, scan
from tests.scan.helpers import findings

RNG = random.Random(2026_12_03)
ALNUM = string.ascii_letters + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))



# ----------------------------------------------------------------- gitleaks's false examples


def test_a_word_that_only_starts_like_a_secret_word_is_not_a_key(tmp_path: Path) -> None:
    value = _rand(6) + "-" + _rand(5) + "=" + _rand(4)
    assert findings(tmp_path, {"ci.txt": f"libfoo-master-keying:{value}\n",
                               "b.txt": f"text_tokenizer = {_rand(20)}\n"}) == []
    assert findings(tmp_path, {"c.txt": f"libfoo-master-key: {_rand(24)}\n"}) == [
        ("generic-secret", "c.txt", 1)]


def test_a_key_that_names_where_secrets_are_kept_is_a_locator(tmp_path: Path) -> None:
    vault_name = f"ab{RNG.randrange(10)}-qx-{RNG.randrange(10**9, 10**10)}"
    assert findings(tmp_path, {"a.yaml": f"keyVaultToStoreSecrets: {vault_name}\n",
                               "b.yaml": f"bucketForTokens: {_rand(16)}\n"}) == []
    # the secret word is the head noun here: still a secret
    assert findings(tmp_path, {"c.yaml": f"encryptionKeyForSecrets: {_rand(32)}\n"}) == [
        ("generic-secret", "c.yaml", 1)]


def test_a_qualified_camel_case_type_name_is_not_a_token(tmp_path: Path) -> None:
    assert findings(tmp_path, {"a.xsd": 'token:"ns1234:AgencyIdentificationCodeContentType"\n'}) == []
    assert findings(tmp_path, {"b.env": f'token: "ns1234:{_rand(30)}"\n'}) == [("generic-secret", "b.env", 1)]


def test_a_variable_named_as_a_deliberate_fake_is_not_a_credential(tmp_path: Path) -> None:
    code = (f'nonMatchingToken := "ab_cd_{_rand(10).lower()}"\n'
            f'invalidApiKey = "{_rand(24)}"\n'
            f'fake_password: {_rand(16)}\n')
    assert findings(tmp_path / "a", {"a_test.go": code}) == []
    assert findings(tmp_path / "b", {"b.go": f'matchingToken := "ab_cd_{_rand(16)}"\n'
                                             f'INVALIDATION_TOKEN = "{_rand(24)}"\n'}) == [
        ("generic-secret", "b.go", 1), ("generic-secret", "b.go", 2)]


def test_a_typed_run_repeated_three_times_is_filler(tmp_path: Path) -> None:
    hexdigits, slack = "0123456789abcdef", "xo" + "xp"
    assert findings(tmp_path / "a", {"a.json": f'"token3": "{slack}-1234-1234-1234-{_rand(32, hexdigits)}"\n'}) == []
    assert findings(tmp_path / "b", {"b.json": f'"token3": "{slack}-7351-2093-8812-{_rand(32, hexdigits)}"\n'}) == [
        ("generic-secret", "b.json", 1)]


# ----------------------------------------------------------------- held-out GitOps repositories


def test_a_csharp_class_declaration_is_code(tmp_path: Path) -> None:
    src = ("namespace Crds.Inputs\n{\n"
           "    public class BackendS3SecretAccessKeySecretRefArgs : global::Pulumi.ResourceArgs\n    {\n    }\n}\n")
    assert findings(tmp_path, {"Crds/BackendS3SecretAccessKeySecretRefArgs.cs": src}) == []
    assert findings(tmp_path, {"b.cs": f'    var clientSecret = "{_rand(32)}";\n'}) == [("generic-secret", "b.cs", 1)]


def test_an_image_whose_name_contains_secret_pinned_by_digest(tmp_path: Path) -> None:
    digest = _rand(64, "0123456789abcdef")
    patch = ("spec:\n  containers:\n    - name: x\n"
             f"      image: ghcr.io/someone/argocd-secret-replacer:rolling@sha256:{digest}\n")
    assert findings(tmp_path, {"patch.yaml": patch}) == []


def test_a_variable_default_inside_a_substitution_is_not_a_secret(tmp_path: Path) -> None:
    values = ("persistence:\n  media:\n    path: ${SECRET_NFS_DIRECTORY:-/volume2}/media\n"
              "    other: ${SECRET_NFS_DIRECTORY:=/volume2}/other\n"
              "backup-target: s3://${SECRET_NAS_IP:-test}:9000@us-east-1/longhorn\n")
    assert findings(tmp_path, {"helmrelease.yaml": values}) == []


def test_a_secret_field_naming_another_secret_is_a_reference(tmp_path: Path) -> None:
    cluster = ("apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: pg\nspec:\n  certificates:\n"
               "    clientCASecret: pg17-ca\n    replicationTLSSecret: pg17-replication\n")
    assert findings(tmp_path, {"cluster.yaml": cluster}) == []
    # a random value under such a field is still reported
    assert findings(tmp_path, {"c.yaml": f"clientSecret: {_rand(12).lower()}-{_rand(14)}\n"}) == [
        ("generic-secret", "c.yaml", 1)]


def _secret(body: str, field: str = "stringData") -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n{field}:\n{body}"


def test_documentation_stand_ins_in_a_secret(tmp_path: Path) -> None:
    body = ('  RESTIC_REPOSITORY: "s3:s3.example-region.invalid/bucket/myapp"\n  KOPIA_REPOSITORY: "filesystem:///repo"\n'
            '  KOPIA_FS_PATH: "/repository"\n  AWS_ACCESS_KEY_ID: "keyid"\n  AWS_SECRET_ACCESS_KEY: "secretkey"\n'
            "  value: test-1730000000\n")
    assert findings(tmp_path, {"secret.yaml": _secret(body)}) == []
    real = (f'  RESTIC_REPOSITORY: "rest:https://backup:{_rand(20)}@nas.invalid/repo"\n'
            f'  AWS_SECRET_ACCESS_KEY: "{_rand(40)}"\n')
    assert {line for _, _, line in findings(tmp_path, {"real.yaml": _secret(real)})} == {6, 7}


def test_a_short_base64_data_value_is_decoded_before_judging(tmp_path: Path) -> None:
    import base64
    enc = base64.b64encode(b"dp.st.xxxx").decode()
    assert len(enc.rstrip("=")) < 16
    assert findings(tmp_path, {"s.yaml": _secret(f"  dopplerToken: {enc}\n", "data")}) == []
    real = base64.b64encode(_rand(10).encode()).decode()
    assert findings(tmp_path, {"r.yaml": _secret(f"  dopplerToken: {real}\n", "data")}) == [
        ("kubernetes-secret", "r.yaml", 6)]


def test_overridden_is_a_placeholder_password(tmp_path: Path) -> None:
    values = "node:\n  session:\n    auth:\n      password: overridden\n"
    assert findings(tmp_path, {"values.yaml": values}) == []
    assert findings(tmp_path, {"other/values.yaml": "auth:\n  password: hunter22\n"}) == [
        ("manifest-password", "other/values.yaml", 2)]


def test_public_keys_and_templates_under_a_sops_path_rule(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - path_regex: secrets/.*\n    age: age1example\n")
    recipient = "age1" + _rand(58, "023456789acdefghjklmnpqrstuvwxyz")
    files = {"secrets/node/host.age-pub": recipient + "\n",
             "secrets/node/ssh_host_ed25519_key.pub": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{_rand(43)} root@node\n",
             "secrets/templates/app.sops.yaml.j2": "---\nstringData:\n  token: \"#{ app_token }#\"\n"}
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert scan(ScanOptions(paths=[tmp_path])).findings == []
    (tmp_path / "secrets/app.yaml").write_text(f"token: {_rand(30)}\n")
    assert {(f.rule_id, f.path) for f in scan(ScanOptions(paths=[tmp_path])).findings} == {
        ("sops-unencrypted-file", "secrets/app.yaml"), ("generic-secret", "secrets/app.yaml")}


# ----------------------------------------------------------------- recall


def test_a_random_hex_token_is_judged_against_the_hex_alphabet(tmp_path: Path) -> None:
    from sopskit.scan.engine import shannon_entropy
    hexdigits = "0123456789abcdef"
    # a random 32-digit hex token that, by chance, scores under the mixed-alphabet gate of 3.5
    token = next(t for t in (_rand(32, hexdigits) for _ in range(10_000))
                 if 3.0 < shannon_entropy(t.encode()) < 3.4 and not t.isdigit())
    assert findings(tmp_path / "a", {"a.env": f"SERVICE_TOKEN={token}\n"}) == [("generic-secret", "a.env", 1)]
    # still not: a hex digest under a digest key, and a hex run made mostly of one digit
    assert findings(tmp_path / "b", {"b.env": f"COMMIT_SHA={_rand(40, hexdigits)}\n"
                                              "API_TOKEN=00000000a0000000b0000000\n"}) == []


def test_a_dashed_legacy_slack_token_is_matched_whole(tmp_path: Path) -> None:
    # numbers full of one digit, as in Slack's documentation; the hex tail makes it a token
    token = "-".join(["xo" + "xa", "2", "5" + "1" * 8, "3" + "1" * 10, "3" + "1" * 12, _rand(18, "0123456789abcdef")])
    assert findings(tmp_path, {"a.env": f'SLACK_TOKEN="{token}"\n'}) == [("slack-token", "a.env", 1)]


def test_an_xml_element_named_as_a_secret_even_pretty_printed(tmp_path: Path) -> None:
    one, two = _rand(40), _rand(32)
    xml = f"<settings>\n  <apiToken>\n    {one}\n  </apiToken>\n  <dbPassword>{two}</dbPassword>\n</settings>\n"
    assert findings(tmp_path / "a", {"settings.xml": xml}) == [
        ("generic-xml-secret", "settings.xml", 3), ("generic-xml-secret", "settings.xml", 5)]
    # the element name is the key: an id, and a name without digits, are not secrets
    uuid = f"{_rand(8, '0123456789abcdef')}-0a1b-4c2d-8e3f-{_rand(12, '0123456789abcdef')}"
    ids = (f"<PropertyGroup>\n  <UserSecretsId>{uuid}"
           "</UserSecretsId>\n  <tokenName>\n    deploy-bot-token\n  </tokenName>\n</PropertyGroup>\n")
    assert findings(tmp_path / "b", {"app.csproj": ids}) == []


def test_a_one_word_echo_of_the_key_is_a_weak_password_not_a_stand_in(tmp_path: Path) -> None:
    body = '  POSTGRES_PASSWORD: "postgres"\n  AWS_SECRET_ACCESS_KEY: "secretkey"\n'
    assert findings(tmp_path, {"s.yaml": _secret(body)}) == [("kubernetes-secret", "s.yaml", 6)]


def test_openshift_and_notion_tokens(tmp_path: Path) -> None:
    urlsafe = ALNUM + "-_"
    oc = "sha" + "256~" + _rand(43, urlsafe)
    notion = "nt" + "n_" + "".join(RNG.choice(string.digits) for _ in range(11)) + _rand(35)
    kubeconfig = f"users:\n- name: admin/api-cluster:6443\n  user:\n    token: {oc}\n"
    assert findings(tmp_path, {"kubeconfig": kubeconfig, "notion.env": f"NOTION={notion}\n"}) == [
        ("notion-api-token", "notion.env", 1), ("openshift-user-token", "kubeconfig", 4)]
    # a sha256 digest is not an OpenShift token
    assert findings(tmp_path / "d", {"digest.txt": f"image@sha256:{_rand(64, '0123456789abcdef')}\n"}) == []


def test_firebase_sdk_published_test_keys_are_documented_examples(tmp_path: Path) -> None:
    # one of the keys the Firebase Android SDK's own tests use, and a made-up key of the same shape
    published = "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU"
    made_up = "AIzaSy" + _rand(33, ALNUM + "-_")
    found = findings(tmp_path, {"app.js": f'const a = "{published}";\nconst b = "{made_up}";\n'})
    assert [line for _rule, _path, line in found] == [2]
