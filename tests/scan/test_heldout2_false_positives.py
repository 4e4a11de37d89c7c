"""False positives and misses from a third held-out set of GitOps repositories (issue 8).

Each case is a minimised, made-up reproduction: every secret-looking value is drawn from a
seeded RNG or joined at run time (so the project's own scan stays clean), and each
non-detection is paired with the detection it must not cost.
"""

from __future__ import annotations

import base64
import random
import string
from pathlib import Path

from tests.scan.helpers import findings

RNG = random.Random(2026_12_04)
ALNUM = string.ascii_letters + string.digits
LOWER = string.ascii_lowercase + string.digits


def _rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(RNG.choice(alphabet) for _ in range(n))


def _secret(body: str, field: str = "stringData") -> str:
    return f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n{field}:\n{body}"


# ----------------------------------------------------------------- where the text is


def test_an_installed_python_environment_is_vendored_code(tmp_path: Path) -> None:
    code = f'api_key = "{_rand(32)}"\n'
    assert findings(tmp_path, {"ansible/venv/lib/python3.9/site-packages/pkg/mod.py": code,
                               "tools/dist-packages/pkg/mod.py": code}) == []
    assert findings(tmp_path, {"ansible/plugins/mod.py": code}) == [("generic-secret", "ansible/plugins/mod.py", 1)]


def test_an_installed_ansible_galaxy_role_is_vendored_code(tmp_path: Path) -> None:
    url = "postgres://" + f"postgres:{_rand(12)}@database:5432/postgres"
    docs = f"k3s_server:\n  datastore-endpoint: {url}\n"
    assert findings(tmp_path, {"ansible/roles/someone.k3s/README.md": docs}) == []
    # a project's own role (no namespace dot) is the project's code
    assert findings(tmp_path, {"ansible/roles/k3s/defaults/main.yml": docs}) == [
        ("database-url-password", "ansible/roles/k3s/defaults/main.yml", 2)]


def test_a_configmap_in_another_code_block_of_a_page_is_not_a_secret(tmp_path: Path) -> None:
    fence = "`" * 3
    secret = _secret(f"  password: {_rand(20)}\n")
    page = (f"# Settings\n\nA Secret:\n\n{fence}yaml\n{secret}{fence}\n\n"
            f"And the cluster settings:\n\n{fence}yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            f"  name: cluster-settings\ndata:\n  CLUSTER: infra\n  POD_CIDR: \"10.244.0.0/16\"\n"
            f"  STORE_NAME: \"onepassword\"\n{fence}\n")
    # only the Secret's value, on line 11, not the ConfigMap's three lines
    assert findings(tmp_path, {"docs/architecture.md": page}) == [("kubernetes-secret", "docs/architecture.md", 11)]


# ----------------------------------------------------------------- what the key is


def test_an_xml_attribute_names_the_value_it_quotes(tmp_path: Path) -> None:
    token = _rand(16, "0123456789abcdef")
    unattend = (f'<component name="Microsoft-Windows-Setup" processorArchitecture="amd64" '
                f'publicKeyToken="{token}" language="neutral">\n')
    assert findings(tmp_path, {"Autounattend.xml": unattend}) == []
    server = f'<server processorArchitecture="amd64" apiToken="{_rand(28)}" language="neutral">\n'
    assert findings(tmp_path, {"server.xml": server}) == [("generic-secret", "server.xml", 1)]


def test_a_bare_secret_key_holding_a_secret_object_name(tmp_path: Path) -> None:
    values = "storage:\n  connection:\n    secret: gitlab-s3-credentials\n    key: connection\n"
    assert findings(tmp_path, {"helmrelease.yaml": values}) == []
    assert findings(tmp_path, {"b.yaml": f"connection:\n  secret: {_rand(26)}\n"}) == [("generic-secret", "b.yaml", 2)]
    # a Dex static client's secret spelled like a name is the secret itself
    dex = "staticClients:\n  - id: proxy\n    secret: " + "oauth2-proxy-" + "secret\n"
    assert findings(tmp_path, {"c/dex.yaml": dex}) == [
        ("generic-secret", "b.yaml", 2), ("generic-secret", "c/dex.yaml", 3)]


def test_a_typed_lookup_table_path_is_not_a_password(tmp_path: Path) -> None:
    conf = "#smtp_sasl_password_maps = hash:/etc/pve/postfix_relay_passwd\n"
    assert findings(tmp_path, {"README.md": conf}) == []
    assert findings(tmp_path, {"main.cf": f"smtp_sasl_password = {_rand(22)}\n"}) == [("generic-secret", "main.cf", 1)]


def test_words_wrapped_in_underscores_are_a_slot_to_fill(tmp_path: Path) -> None:
    script = ':local Cfg {\n#  "AuthToken"="_Cloudflare_Auth_Key_Token_2_";\n#  "ZoneID"="__Dns_Zone_ID2____";\n}\n'
    assert findings(tmp_path, {"ddns.rsc": script}) == []
    real = f'  "AuthToken"="{_rand(40)}";\n'
    assert findings(tmp_path, {"real.rsc": real}) == [("generic-secret", "real.rsc", 1)]


# ----------------------------------------------------------------- Kubernetes Secrets


def test_settings_kept_in_a_secret_are_not_credentials(tmp_path: Path) -> None:
    body = ('  AUTHELIA_LOG_LEVEL: "debug"\n  sslmode: prefer\n  type: managed\n  DB_DATABASE_NAME: app\n'
            '  SECRET_NFS_HOST_0: "nas.home.invalid"\n  SECRET_NFS_HOST_BACKUP: "b2.home.invalid"\n'
            '  SECRET_WIREGUARD_CITY: "Atlanta GA"\n'
            '  SECRET_TSIG_KEYNAME: "externaldns-key"\n  CLOUDFLARE_RECORD_NAME: "ipv4.home.invalid"\n')
    assert findings(tmp_path, {"cluster-secrets.yaml": _secret(body)}) == []
    real = body + f'  SECRET_TSIG_SECRET: "{_rand(43)}="\n  mode: "{_rand(18)}"\n  HOST_PASSWORD: "Atlanta"\n'
    assert [line for _, _, line in findings(tmp_path, {"real.yaml": _secret(real)})] == [15, 16, 17]


def test_stand_ins_and_stubs_in_a_secret(tmp_path: Path) -> None:
    body = ('  FLOOD_OPTION_RUNDIR: FOO\n  FLOOD_OPTION_AUTH: BAR\n  FOO: "fix me"\n  WHISPARR__API_KEY: "\n'
            "  feeds.json: |\n    # add feeds info\n")
    assert findings(tmp_path, {"secrets-tmpl.yaml": _secret(body)}) == []
    real = f"  MYSQL_ROOT_PASSWORD: {_rand(5).lower()}\n"
    assert findings(tmp_path, {"real.yaml": _secret(real)}) == [("kubernetes-secret", "real.yaml", 6)]


def test_an_htpasswd_list_is_hashes(tmp_path: Path) -> None:
    hashed = f"user:$apr1${_rand(8)}${_rand(22)}\n"
    data = f'  users: "{base64.b64encode(hashed.encode()).decode()}"\n'
    assert findings(tmp_path, {"middleware.yaml": _secret(data, "data")}) == []
    plain = base64.b64encode(f"admin:{_rand(12)}".encode()).decode()
    assert findings(tmp_path, {"real.yaml": _secret(f"  auth: {plain}\n", "data")}) == [
        ("kubernetes-secret", "real.yaml", 6)]


def test_stand_in_passwords_in_helm_values(tmp_path: Path) -> None:
    values = ('rcon:\n  password: "FOO"\nserver:\n  password: "fix me"\n'
              'grafana:\n  secureJsonData:\n    password: "password" # arbitrary, replaced from the secret\n')
    assert findings(tmp_path, {"helm-release.yaml": "apiVersion: v2\nkind: HelmRelease\n" + values}) == []
    weak = (f'apiVersion: v2\nkind: HelmRelease\ndb:\n  password: "{_rand(6).lower()}" # set by hand\n'
            'game:\n  password: "foobar"\n')  # a weak word people do deploy is still reported
    assert findings(tmp_path, {"real/helm-release.yaml": weak}) == [
        ("manifest-password", "real/helm-release.yaml", 4), ("manifest-password", "real/helm-release.yaml", 6)]


# ----------------------------------------------------------------- files under a sops rule


def test_a_covered_file_of_substitutions_only_is_not_a_leak(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text(
        "creation_rules:\n  - path_regex: .*\\.sops\\.ya?ml$\n    encrypted_regex: ^(data|stringData)$\n"
        "    age: age1example\n")
    templated = _secret('  DATABASE_URL: "postgres://app:${APP_PWD}@db:5432/app"\n  ADMIN_USERNAME: app\n'
                        '  ADMIN_PASSWORD: "${APP_PWD}"\n')
    assert findings(tmp_path, {"app/secrets.sops.yaml": templated}, sops=True) == []
    # an app config whose `data` entries are public URLs is no leak either
    config = 'features:\n  - name: quotes\n    data:\n      - api_url: "https://quotes.invalid/api?x=1"\n'
    assert findings(tmp_path, {"app/config.sops.yaml": config}, sops=True) == []
    literal = _secret(f"  ADMIN_USERNAME: app\n  ADMIN_PASSWORD: {_rand(20)}\n")
    assert findings(tmp_path, {"other/secrets.sops.yaml": literal}, sops=True) == [
        ("kubernetes-secret", "other/secrets.sops.yaml", 7), ("sops-unencrypted-file", "other/secrets.sops.yaml", 6)]


def test_a_pgp_public_key_under_a_sops_path_rule(tmp_path: Path) -> None:
    (tmp_path / ".sops.yaml").write_text("creation_rules:\n  - path_regex: secrets/.*\n    pgp: ABCDEF\n")
    armour = "-----{} PGP PUBLIC KEY BLOCK-----"
    body = "\n".join(_rand(64, ALNUM + "+/") for _ in range(5))
    block = f"{armour.format('BEGIN')}\n\n{body}\n={_rand(4)}\n{armour.format('END')}\n"
    assert findings(tmp_path, {"secrets/.sops.pub.asc": block}, sops=True) == []
    assert findings(tmp_path, {"secrets/app.env": f"TOKEN={_rand(30)}\n"}, sops=True) == [
        ("generic-secret", "secrets/app.env", 1), ("sops-unencrypted-file", "secrets/app.env", 1)]


# ----------------------------------------------------------------- recall


def test_discord_webhook_url(tmp_path: Path) -> None:
    hook_id = str(RNG.randrange(10**17, 10**19))
    url = "https://" + "discord.com/api/webhooks/" + hook_id + "/" + _rand(68, ALNUM + "_-")
    # the documentation form with an elided token is not a webhook
    assert findings(tmp_path, {"doc.md": "POST https://" + "discord.com/api/webhooks/{id}/{token}\n"}) == []
    assert findings(tmp_path, {"vars.yaml": f"DISCORD_TOKEN: {url}\n"}) == [("discord-webhook", "vars.yaml", 1)]
    token = _rand(68, ALNUM + "_-")
    shoutrrr = "discord" + f"://{token}@{hook_id}"
    assert findings(tmp_path, {"host_vars/h.yml": f"notify_url: '{shoutrrr}'\n"}) == [
        ("discord-webhook", "vars.yaml", 1), ("discord-webhook-url", "host_vars/h.yml", 1)]
    assert findings(tmp_path, {"doc2.md": "discord" + "://token@webhookid\n"}) == [
        ("discord-webhook", "vars.yaml", 1), ("discord-webhook-url", "host_vars/h.yml", 1)]
