"""Fake credentials in each provider's format, and decoys that look like secrets but are not.

Every value is drawn from a seeded RNG at test time: random, never a real credential. Each
planted secret records the rule expected to find it and the exact secret string, so the
recall/precision test can compare by fingerprint without trusting the scanner's output.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass

ALNUM = string.ascii_letters + string.digits
UPPER_NUM = string.ascii_uppercase + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
BECH32_UPPER = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
BECH32 = BECH32_UPPER.lower()


@dataclass(frozen=True)
class Planted:
    rule_id: str
    secret: str  # the exact string whose sha256 is the expected fingerprint
    text: str  # the file content (or snippet) carrying it


class Fakes:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def b64_body(self, nbytes: int) -> str:
        return base64.b64encode(self.rng.randbytes(nbytes)).decode()

    def pem(self, label: str) -> str:
        body = self.b64_body(600)
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"

    def openssh_key(self) -> str:
        """Shaped like ``ssh-keygen`` output (default OpenSSH format): its base64 holds the
        ``AAAAAA`` runs that a naive placeholder filter mistakes for filler."""
        def s(b: bytes) -> bytes:
            return len(b).to_bytes(4, "big") + b
        pub = s(b"ssh-ed25519") + s(self.rng.randbytes(32))
        check = self.rng.randbytes(4)
        priv = check + check + s(b"ssh-ed25519") + s(self.rng.randbytes(32)) + s(self.rng.randbytes(64)) + s(b"me@host")
        blob = b"openssh-key-v1\0" + s(b"none") + s(b"none") + s(b"") + (1).to_bytes(4, "big") + s(pub) + s(priv)
        body = base64.b64encode(blob).decode()
        lines = "\n".join(body[i:i + 70] for i in range(0, len(body), 70))
        return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{lines}\n-----END OPENSSH PRIVATE KEY-----"

    def jwt(self) -> str:
        def enc(obj: dict[str, object]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
        header = enc({"alg": "HS256", "typ": "JWT"})
        payload = enc({"sub": self.chars(ALNUM, 12), "iat": self.rng.randint(10**9, 2 * 10**9)})
        return f"{header}.{payload}.{self.chars(B64URL, 43)}"

    def planted(self) -> list[Planted]:
        """One or more fakes per rule, each in a realistic line."""
        c = self.chars
        out: list[Planted] = []

        def add(rule: str, secret: str, text: str) -> None:
            out.append(Planted(rule, secret, text))

        for _ in range(3):
            s = "AKIA" + c(UPPER_NUM, 16)
            add("aws-access-key-id", s, f"aws_access_key_id = {s}\n")
            s = c(B64, 40)
            add("aws-secret-access-key", s, f"aws_secret_access_key = {s}\n")
            s = c(B64, 86) + "=="
            add("azure-storage-connection-string", s,
                f'conn: "DefaultEndpointsProtocol=https;AccountName=acct{c(HEX, 6)};AccountKey={s};'
                'EndpointSuffix=core.windows.net"\n')
            s = c(B64, 86) + "=="
            add("azure-storage-account-key", s, f'AZURE_STORAGE_KEY: "{s}"\n')
            s = "ghp_" + c(ALNUM, 36)
            add("github-token", s, f"GITHUB_TOKEN={s}\n")
            s = "github_pat_" + c(ALNUM, 22) + "_" + c(ALNUM, 59)
            add("github-fine-grained-token", s, f'token: "{s}"\n')
            s = "glpat-" + c(ALNUM + "_-", 20)
            add("gitlab-token", s, f"gitlab_token: {s}\n")
            s = f"xoxb-{c(string.digits, 11)}-{c(string.digits, 13)}-{c(ALNUM, 24)}"
            add("slack-token", s, f"SLACK_BOT={s}\n")
            s = f"https://hooks.slack.com/services/T{c(UPPER_NUM, 10)}/B{c(UPPER_NUM, 10)}/{c(ALNUM, 24)}"
            add("slack-webhook", s, f"webhook_url: {s}\n")
            s = "sk_live_" + c(ALNUM, 32)
            add("stripe-key", s, f"STRIPE={s}\n")
            s = "AIza" + c(ALNUM + "_-", 35)
            add("google-api-key", s, f'maps_key = "{s}"\n')
            s = "npm_" + c(ALNUM, 36)
            add("npm-token", s, f"//registry.npmjs.org/:_authToken={s}\n")
            s = f"SG.{c(ALNUM + '_-', 22)}.{c(ALNUM + '_-', 43)}"
            add("sendgrid-api-key", s, f"SENDGRID={s}\n")
            s = "SK" + c(HEX, 32)
            add("twilio-api-key", s, f"twilio_sid: {s}\n")
            s = c(HEX, 32)
            add("twilio-auth-token", s, f"TWILIO_AUTH_TOKEN={s}\n")
            s = f"sk-proj-{c(ALNUM, 40)}T3BlbkFJ{c(ALNUM, 40)}"
            add("openai-api-key", s, f"OPENAI={s}\n")
            s = f"sk-ant-api03-{c(ALNUM + '_-', 95)}"
            add("anthropic-api-key", s, f"ANTHROPIC={s}\n")
            s = self.jwt()
            add("jwt", s, f"Authorization: Bearer {s}\n")
            s = c(ALNUM, 18)
            add("database-url-password", s, f"DATABASE_URL=postgresql://app:{s}@db.internal:5432/app\n")
            s = c(ALNUM + "!#%&*+-", 22)
            add("generic-secret", s, f'DB_PASSWORD = "{s}"\n')
            s = "AGE-SECRET-KEY-1" + c(BECH32_UPPER, 58)
            add("age-secret-key", s, f"# created: 2024-01-01\n# public key: age1{c(BECH32, 58)}\n{s}\n")
            s = "AGE-SECRET-KEY-PQ-1" + c(BECH32_UPPER, 58)
            add("age-secret-key", s, f"# created: 2026-01-01\n# public key: age1pq1{c(BECH32, 1950)}\n{s}\n")
            s = "hvs." + c(ALNUM + "_-", 95)
            add("vault-token", s, f"VAULT_TOKEN={s}\n")
            s = f"xoxe-1-{c(ALNUM, 146)}"
            add("slack-token", s, f"refresh_token: {s}\n")
            s = f"{c(ALNUM, 3)}{self.rng.randint(0, 9)}Q~{c(ALNUM + '_~.-', 34)}"
            add("azure-ad-client-secret", s, f'"clientSecret": "{s}"\n')
            s = "hf_" + c(string.ascii_letters, 34)
            add("huggingface-token", s, f"huggingface-cli login --token {s}\n")
            s = c(ALNUM, 20)
            add("curl-credentials", s, f"curl -sf -u deploy:{s} https://registry.internal/v2/\n")
            s = self.openssh_key()
            add("private-key", s, s + "\n")
        for label in ("RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY", "OPENSSH PRIVATE KEY",
                      "ENCRYPTED PRIVATE KEY", "PRIVATE KEY", "PGP PRIVATE KEY BLOCK"):
            s = self.pem(label)
            add("private-key", s, s + "\n")
        body = "\\n".join(self.b64_body(400)[i:i + 64] for i in range(0, 540, 64))
        s = f"-----BEGIN PRIVATE KEY-----\\n{body}\\n-----END PRIVATE KEY-----\\n"
        add("gcp-service-account-key", s, json.dumps(
            {"type": "service_account", "project_id": "demo", "private_key_id": c(HEX, 40)}
        )[:-1] + f', "private_key": "{s}", "client_email": "x@demo.iam.gserviceaccount.com"}}\n')
        return out

    def decoys(self) -> str:
        """A file of near-misses: every line looks like a secret to a naive scanner."""
        c = self.chars
        b64 = base64.b64encode(self.rng.randbytes(64)).decode()
        return "\n".join([
            'password = "changeme"',
            "api_key: <your-api-key>",
            "token: ${GITHUB_TOKEN}",
            "secret: {{ .Values.secret }}",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "webhook: https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "jwt: eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
            "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0Ijox"
            "NTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
            f"password: ENC[AES256_GCM,data:{b64[:24]},iv:{b64[:43]}=,tag:{b64[:22]}==,type:str]",
            f"recipient: age1{c(BECH32, 58)}",
            f"password_sha256 = {c(HEX, 64)}",
            f"commit_token = {c(HEX, 40)}",
            f"api_key_id = {c(HEX, 8)}-{c(HEX, 4)}-4{c(HEX, 3)}-a{c(HEX, 3)}-{c(HEX, 12)}",
            f'"integrity": "sha512-{b64}"',
            f"token: sha512-{b64}",
            'password = os.environ["DB_PASSWORD"]',
            "secret_key = settings.SECRET_KEY",
            "DATABASE_URL=postgres://user:password@localhost:5432/db",
            "pwd = xxxxxxxxxxxx",
            f"image: registry.example.com/app@sha256:{c(HEX, 64)}",
            "token = 123456789012",
            "secretName: cluster-wildcard-tls",
            "existingSecret: grafana-admin-credentials",
            "tls-secret-name: ingress-default-cert",
            "secretKey: AWS_SECRET_ACCESS_KEY",
            f"password: op://Private/{c(ALNUM, 12)}/password",
            "api_key: os.environ/OPENAI_API_KEY",
            f"recipient_pq: age1pq1{c(BECH32, 1950)}",
            f"recipient_tag: age1tag1{c(BECH32, 60)}",
            "token:",
            f"  {c(ALNUM, 30)}",
            "",
        ])
