"""Builds, at test time, a git repository of fake credentials and decoys.

Layout: a third of the fakes live in HEAD, a third only in history (added, then deleted),
a third only on a side branch, a tag and in stash entries; Kubernetes and SOPS cases sit in
HEAD with their decoys. ``expected_head`` / ``expected_history`` say what a scan should find.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.scan.fakes import ALNUM, BECH32, Fakes, Planted


@dataclass
class FakeRepo:
    path: Path
    head: list[Planted] = field(default_factory=list)
    history_only: list[Planted] = field(default_factory=list)

    @property
    def expected_history(self) -> list[Planted]:
        return self.head + self.history_only


class _Git:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.tick = 0

    def __call__(self, *args: str) -> str:
        self.tick += 1
        date = f"2024-01-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        env = {**os.environ, "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date,
               "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.invalid",
               "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "t@example.invalid",
               "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1"}
        return subprocess.run(["git", *args], cwd=self.path, env=env, check=True,
                              capture_output=True, text=True).stdout

    def write(self, rel: str, text: str) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def commit(self, message: str) -> None:
        self("add", "-A")
        self("commit", "-q", "-m", message)


def _fake_enc(f: Fakes) -> str:
    b = base64.b64encode(f.rng.randbytes(48)).decode()
    return f"ENC[AES256_GCM,data:{b[:20]},iv:{b[:43]}=,tag:{b[:22]}==,type:str]"


def _sops_block(f: Fakes, option: str) -> str:
    return (
        "sops:\n"
        "    age:\n"
        f"        - recipient: age1{f.chars(BECH32, 58)}\n"
        "          enc: |\n"
        "            -----BEGIN AGE ENCRYPTED FILE-----\n"
        f"            {f.b64_body(48)}\n"
        "            -----END AGE ENCRYPTED FILE-----\n"
        "    lastmodified: \"2024-01-01T00:00:00Z\"\n"
        f"    mac: {_fake_enc(f)}\n"
        f"    {option}\n"
        "    version: 3.9.0\n"
    )


def build_repo(path: Path, seed: int) -> FakeRepo:
    f = Fakes(seed)
    git = _Git(path)
    git("init", "-q", "-b", "main")
    repo = FakeRepo(path)
    planted = f.planted()
    seen: dict[str, int] = {}
    turn = []  # per rule: 1st fake in HEAD, 2nd deleted in history, 3rd on branch/tag/stash
    for p in planted:
        turn.append(seen.get(p.rule_id, 0) % 3)
        seen[p.rule_id] = seen.get(p.rule_id, 0) + 1
    head = [p for p, t in zip(planted, turn, strict=True) if t == 0]
    deleted = [p for p, t in zip(planted, turn, strict=True) if t == 1]
    hidden = [p for p, t in zip(planted, turn, strict=True) if t == 2]

    def plant(p: Planted, i: int) -> str:
        rel = f"config/{p.rule_id}-{i}.txt"
        git.write(rel, p.text)
        return rel

    for i, p in enumerate(head):
        plant(p, i)
    repo.head.extend(head)
    git.write("docs/decoys.md", f.decoys())
    git.write("docs/more-decoys.yaml", f.decoys().replace(" = ", ": "))
    _kubernetes(git, f, repo)
    _sops(git, f, repo)
    git.commit("initial")
    for i, p in enumerate(deleted):
        plant(p, 100 + i)
    git.commit("add some config")
    for i, _ in enumerate(deleted):
        (path / f"config/{deleted[i].rule_id}-{100 + i}.txt").unlink()
    git.commit("remove leaked config")
    repo.history_only.extend(deleted)
    # Side branch, a tag on a commit no branch contains, and two stash entries.
    thirds = [hidden[0::3], hidden[1::3], hidden[2::3]]
    git("checkout", "-q", "-b", "feature")
    for i, p in enumerate(thirds[0]):
        plant(p, 200 + i)
    git.commit("feature work")
    git("checkout", "-q", "main")
    git("checkout", "-q", "--detach")
    for i, p in enumerate(thirds[1]):
        plant(p, 300 + i)
    git.commit("tagged only")
    git("tag", "v0-leak")
    git("checkout", "-q", "main")
    for n, chunk in enumerate((thirds[2][0::2], thirds[2][1::2])):
        for i, p in enumerate(chunk):
            plant(p, 400 + 10 * n + i)
        git("stash", "push", "-q", "-u", "-m", f"wip {n}")
    repo.history_only.extend(hidden)
    return repo


def _kubernetes(git: _Git, f: Fakes, repo: FakeRepo) -> None:
    pw, tok = f.chars(ALNUM, 20), base64.b64encode(f.chars(ALNUM, 24).encode()).decode()
    block = f.chars(ALNUM, 30)
    git.write("k8s/app.yaml", (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\nspec:\n  replicas: 1\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\n"
        f"stringData:\n  password: \"{pw}\"\n  config.txt: |\n    {block}\n"
        f"data:\n  token: {tok}\n  empty: \"\"\n---\n"
        "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: sealed\n"
        f"spec:\n  encryptedData:\n    password: {f.b64_body(120)}\n---\n"
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: enc\n"
        f"stringData:\n  password: {_fake_enc(f)}\n  flux: ${{DB_PASSWORD}}\n"
    ))
    repo.head += [Planted("kubernetes-secret", pw, ""), Planted("kubernetes-secret", tok, ""),
                  Planted("kubernetes-secret", block, "")]
    helm_pw = f.chars(ALNUM, 20)
    git.write("charts/app/templates/secret.yaml", (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ include \"app.fullname\" . }}\n"
        "  labels:\n    {{- include \"app.labels\" . | nindent 4 }}\ntype: Opaque\ndata:\n"
        "{{- if .Values.password }}\n  password: {{ .Values.password | b64enc | quote }}\n{{- end }}\n"
        f"  api: {{{{ .Values.api | b64enc }}}}\nstringData:\n  literal: {helm_pw}\n"
    ))
    repo.head.append(Planted("kubernetes-secret", helm_pw, ""))
    gh = "ghp_" + f.chars(ALNUM, 36)
    key = f.openssh_key()
    git.write("k8s/wrapped.yaml", (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: wrapped\ndata:\n"
        f"  token: {base64.b64encode(gh.encode()).decode()}\n"
        f"  identity: {base64.b64encode(key.encode()).decode()}\n"
    ))
    repo.head += [Planted("github-token", gh, ""), Planted("private-key", key, "")]
    json_pw = f.chars(ALNUM, 20)
    git.write("k8s/secret.json", json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "j"},
                                             "stringData": {"password": json_pw}}, indent=2) + "\n")
    repo.head.append(Planted("kubernetes-secret", json_pw, ""))
    human = "summer" + str(f.rng.randint(1990, 2030))
    git.write("charts/app/values.yaml", f"auth:\n  adminPassword: {human}\n  existingSecret: app-admin\n"
              "  passwordKey: admin-password\n  password: \"\"\n")
    repo.head.append(Planted("manifest-password", human, ""))
    lit, file_secret, env_pw = f.chars(ALNUM, 20), f.chars(ALNUM, 40) + "\n", f.chars(ALNUM, 20)
    git.write("kustomize/kustomization.yaml", (
        "resources:\n  - deploy.yaml\nsecretGenerator:\n  - name: app\n    literals:\n"
        f"      - API_TOKEN={lit}\n      - FROM_ENV=${{X}}\n    files:\n      - creds.txt\n"
        "      - key=encrypted.txt\n    envs:\n      - db.env\n"
    ))
    git.write("kustomize/creds.txt", file_secret)
    git.write("kustomize/db.env", f"DB_USER=app\nDB_PASS={env_pw}\n")
    git.write("kustomize/encrypted.txt", f"{{\n\t\"data\": \"{_fake_enc(f)}\",\n\t\"sops\": {{\n"
              f"\t\t\"mac\": \"{_fake_enc(f)}\",\n\t\t\"lastmodified\": \"2024-01-01T00:00:00Z\"\n\t}}\n}}\n")
    repo.head += [Planted("kustomize-secret-literal", lit, ""),
                  Planted("kustomize-secret-file", file_secret, ""),
                  # not DB_USER=app: a user name, as in a Secret's own entries, is no credential
                  Planted("kustomize-secret-file", env_pw, "")]


def _sops(git: _Git, f: Fakes, repo: FakeRepo) -> None:
    recipient = "age1" + f.chars(BECH32, 58)
    git.write(".sops.yaml", f"creation_rules:\n  - path_regex: ^secrets/.*\\.yaml$\n    age: {recipient}\n"
              "    encrypted_regex: ^(data|stringData|password)$\n  - age: " + recipient + "\n")
    pw = f.chars(ALNUM, 22)
    plain = f"db:\n  password: \"{pw}\"\n"
    git.write("secrets/plain.yaml", plain)
    repo.head += [Planted("sops-unencrypted-file", plain, ""), Planted("generic-secret", pw, "")]
    leaked = f.chars(ALNUM, 24)
    git.write("secrets/enc.yaml", (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n    name: db\nstringData:\n    password: {_fake_enc(f)}\n"
        f"    added_later: {leaked}\n" + _sops_block(f, "encrypted_regex: ^(data|stringData)$")
    ))
    repo.head.append(Planted("sops-plaintext-value", leaked, ""))
    git.write("secrets/ok.yaml", f"db:\n    password: {_fake_enc(f)}\n    port: {_fake_enc(f)}\n"
              + _sops_block(f, "unencrypted_suffix: _unencrypted"))
    git.write("notes/uncovered.yaml", "db:\n  host: localhost\n")
