"""Kubernetes-aware checks: plaintext ``Secret`` manifests and Kustomize ``secretGenerator``.

Secret manifests are read line by line rather than with a YAML parser, because the layouts
that matter most do not parse: Helm templates (``{{ ... }}`` lines between keys) and
multi-document files with one broken document. A line reader also gives exact line numbers.
A value is reported when it is present and literal: templated values (``{{ }}``, Flux
``${VAR}`` substitutions), ``ENC[...]`` values and placeholders are not secrets in Git.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

import yaml

from sopskit.detectors import names, values

_DOC_SPLIT = re.compile(rb"^(?:---|\.\.\.)\s*(?:#.*)?$")
#: A Markdown code fence: in documentation each fenced block is its own document, so a
#: ConfigMap's ``data:`` is not read as the Secret shown in another block of the same page.
_FENCE = re.compile(rb"^ {0,3}(?:```|~~~)")
_KIND_SECRET = re.compile(rb"""^kind:\s*["']?Secret["']?\s*(?:#.*)?$""")
_DATA_KEY = re.compile(rb"^(data|stringData):\s*(?:#.*)?$")
_KIND_SEALED = re.compile(rb"""^kind:\s*["']?SealedSecret["']?\s*(?:#.*)?$""")
_HAS_KIND_SECRET = re.compile(rb"""(?m)^kind:[ \t]*["']?Secret["']?[ \t]*(?:#.*)?\r?$""")
_HAS_KIND_SEALED = re.compile(rb"""(?m)^kind:[ \t]*["']?SealedSecret["']?[ \t]*(?:#.*)?\r?$""")
_SEALED_KEY = re.compile(rb"^\s{0,4}(encryptedData):\s*(?:#.*)?$")
_ENTRY = re.compile(rb"""^(\s+)(["']?)([^"'\s:#][^"':]*|[^"']*)\2\s*:(?:\s+(.*?))?\s*$""")
_BLOCK = re.compile(rb"^[|>][-+0-9]*\s*(?:#.*)?$")
_COMMENT_TAIL = re.compile(rb"\s+#.*$")

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class ManifestValue:
    """A literal value found in a Secret's ``data``/``stringData`` (line is 1-based)."""

    line: int
    key: str
    field: str  # "data" or "stringData"
    value: bytes


def _unquote(raw: bytes) -> bytes:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[:1] in (b'"', b"'"):
        return raw[1:-1]
    return _COMMENT_TAIL.sub(b"", raw)


def _indent(line: bytes) -> int:
    return len(line) - len(line.lstrip(b" "))


def _is_transparent(line: bytes) -> bool:
    """Blank, comment and Helm control lines do not end a block."""
    s = line.strip()
    return not s or s.startswith(b"#") or s.startswith(b"{{")


def _values_in_block(lines: list[bytes], first: int, fieldname: str) -> list[ManifestValue]:
    out: list[ManifestValue] = []
    i, child = first, -1
    while i < len(lines):
        line = lines[i]
        if _is_transparent(line):
            i += 1
            continue
        ind = _indent(line)
        if ind == 0:
            break
        if child < 0:
            child = ind
        m = _ENTRY.match(line) if ind == child else None
        if m is None:
            i += 1
            continue
        key, raw = m.group(3).decode("utf-8", "replace"), (m.group(4) or b"")
        if _BLOCK.match(raw):
            body: list[bytes] = []
            j = i + 1
            while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > child):
                body.append(lines[j].strip())
                j += 1
            value = b"\n".join(body).strip()
            if value:
                out.append(ManifestValue(i + 1, key, fieldname, value))
            i = j
            continue
        value = _unquote(raw.strip())
        if value:
            out.append(ManifestValue(i + 1, key, fieldname, value))
        i += 1
    return out


def find_secret_values(data: bytes) -> list[ManifestValue]:
    """Literal values under ``data``/``stringData`` of every ``kind: Secret`` document."""
    if b"Secret" not in data or not _HAS_KIND_SECRET.search(data):
        return []
    return _block_values(data, _KIND_SECRET, _DATA_KEY)


_LAST: list[tuple[bytes, list[ManifestValue]]] = []


def all_secret_values(data: bytes) -> list[ManifestValue]:
    """YAML and JSON Secret values of ``data``, computed once per content (several checks ask)."""
    if _LAST and _LAST[0][0] is data:
        return _LAST[0][1]
    values = find_secret_values(data) + find_json_secret_values(data)
    _LAST[:] = [(data, values)]
    return values


def sealed_value_lines(data: bytes) -> set[int]:
    """Lines of a SealedSecret's ``encryptedData`` values: ciphertext, safe in Git."""
    if b"SealedSecret" not in data or not _HAS_KIND_SEALED.search(data):
        return set()
    return {v.line for v in _block_values(data, _KIND_SEALED, _SEALED_KEY)}


def _block_values(data: bytes, kind: re.Pattern[bytes], key: re.Pattern[bytes]) -> list[ManifestValue]:
    lines = data.split(b"\n")
    out: list[ManifestValue] = []
    start = 0
    for i in range(len(lines) + 1):
        if i == len(lines) or _DOC_SPLIT.match(lines[i]) or _FENCE.match(lines[i]):
            doc = range(start, i)
            if any(kind.match(lines[j]) for j in doc):
                for j in doc:
                    m = key.match(lines[j])
                    if m:
                        block = _values_in_block(lines[: i], j + 1, m.group(1).decode())
                        out.extend(block)
            start = i + 1
    return out


def _json_secret_docs(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, list):
        return [d for item in node for d in _json_secret_docs(item)]
    if not isinstance(node, dict):
        return []
    if node.get("kind") == "Secret":
        return [node]
    return _json_secret_docs(node.get("items"))  # kind: List


def find_json_secret_values(data: bytes) -> list[ManifestValue]:
    """Literal ``data``/``stringData`` values of Secrets written as JSON (``kubectl -o json``,
    a ``kind: List``, or a JSON array of manifests)."""
    head = data.lstrip()[:1]
    if head not in (b"{", b"[") or b'"Secret"' not in data:
        return []
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return []
    out: list[ManifestValue] = []
    for secret in _json_secret_docs(doc):
        for fieldname in ("data", "stringData"):
            entries = secret.get(fieldname)
            if not isinstance(entries, dict):
                continue
            for key, value in entries.items():
                if not isinstance(value, str) or not value:
                    continue
                encoded = json.dumps(value).encode()
                pos = data.find(json.dumps(key).encode())
                pos = data.find(encoded, max(pos, 0))
                line = data.count(b"\n", 0, pos) + 1 if pos >= 0 else 1
                out.append(ManifestValue(line, str(key), fieldname, value.encode()))
    return out


_API_VERSION = re.compile(rb"""(?m)^(?:apiVersion:\s*\S|\s*"apiVersion"\s*:)""")
_KIND = re.compile(rb"""(?m)^(?:kind:\s*\S|\s*"kind"\s*:)""")
_HELM_VALUES = re.compile(r"^values(?:[-._][A-Za-z0-9_.-]*)?\.ya?ml$")
_TERRAFORM = re.compile(r"\.(?:tf|tfvars|hcl)$")
#: ``adminPassword: hunter2``, ``- db_passwd: x`` (one line, key says password).
_PASSWORD_LINE = re.compile(
    rb"""^\s*(?:-\s+)?["']?([A-Za-z0-9_.-]*(?:password|passwd|passphrase|_pwd|-pwd)|pwd)["']?"""
    rb"""\s*:[ \t]+(\S.*?)\s*$""",
    re.IGNORECASE,
)
_PASSWORD_ASSIGN = re.compile(  # Terraform/HCL: ``admin_password = "..."``
    rb"""^\s*["']?([A-Za-z0-9_.-]*(?:password|passwd|passphrase|_pwd)|pwd)["']?[ \t]*=[ \t]*(\S.*?)\s*$""",
    re.IGNORECASE,
)
_PASSWORD_WORD = re.compile(rb"(?i)passw|passphrase|pwd")
_MANIFEST_PATH = re.compile(r"\.(?:ya?ml|json|ya?ml\.j2|ya?ml\.tmpl)$|^[^.]*$")
#: ``- name: DB_PASSWORD`` followed by ``value: hunter2`` (a container env entry).
_ENV_NAME = re.compile(
    rb"""^(\s*)-\s+name:\s*["']?([A-Za-z0-9_.-]*(?:PASSWORD|PASSWD|PASSPHRASE)[A-Za-z0-9_]*)["']?\s*$""", re.IGNORECASE
)
_ENV_VALUE = re.compile(rb"""^(\s*)value:[ \t]+(\S.*?)\s*$""")
#: Keys that hold a password's name, location or policy rather than the password: the shared
#: pointer words, plus a password's own switches and rules (``passwordKey`` names a Secret's key).
_PASSWORD_META_KEY = re.compile(
    rf"(?i)(?:^(?:allow|enable|disable|require|use|no|skip|show|hide)[_-]|^existing|{names.POINTER_ALTERNATION}|"
    r"key|keys|secret|secrets|from|hashed|regex|pattern|min|max|age|reset|change|prompt|auth|command|cmd|helper|"
    r"manager)$".encode()
)
_SCALAR_SKIP = re.compile(rb"""^(?:[|>][-+0-9]*|[{\[].*|[*&!].*|~|null|true|false|yes|no|on|off|-?[0-9.]+)$""",
                          re.IGNORECASE)


#: An HCL type expression, unquoted (``string``, ``optional(string)``, ``map(any)``,
#: ``object({``): a variable's declared type, not its value. ``"string"`` (quoted) is a value.
_HCL_TYPE = re.compile(rb"(?:string|number|bool|any|(?:list|map|set|object|tuple|optional)\(.*),?\s*(?:#.*|//.*)?")

_QUOTED_THEN_COMMENT = re.compile(rb"""^(["'])(.*?)\1\s+#.*$""")


def is_password_name(key: str) -> bool:
    """A key that names a password (``DB_PASSWORD``, ``passphrase``, ``admin_pwd``): the
    manifest-password check's, whatever the value's entropy."""
    return bool(_PASSWORD_WORD.search(key.encode()))


def is_manifest(data: bytes) -> bool:
    """A Kubernetes manifest (YAML or JSON): it declares ``apiVersion`` and ``kind``."""
    return bool(_API_VERSION.search(data) and _KIND.search(data))


def is_helm_values(path: str) -> bool:
    """A Helm values file (``values.yaml``, ``values-prod.yaml``...)."""
    return bool(_HELM_VALUES.match(posixpath.basename(path)))


def is_terraform(path: str) -> bool:
    """Terraform / HCL (``main.tf``, ``prod.tfvars``): infrastructure code that provisions clusters."""
    return bool(_TERRAFORM.search(path))


def _password_value(raw: bytes) -> bytes | None:
    raw = raw.strip()
    if raw.lstrip(b"\"'")[:1] == b"/" or raw.lstrip(b"\"'")[:2] == b"./":  # a path to a password file
        return None
    if raw.endswith(b","):  # a JSON member
        raw = raw[:-1].rstrip()
    if raw[:1] not in (b'"', b"'"):
        raw = _COMMENT_TAIL.sub(b"", raw)
    raw = _QUOTED_THEN_COMMENT.sub(rb"\1\2\1", raw)  # ``"password" # replaced from the secret``
    value = _unquote(raw.strip())
    # a human password is short; long values are encrypted blobs (SealedSecret encryptedData)
    # or random tokens, which the entropy-gated rules judge
    if not 4 <= len(value) <= 64 or _SCALAR_SKIP.match(value):
        return None
    return value


def is_manifest_path(path: str) -> bool:
    """A file name a manifest can have (YAML, JSON, their templates, or no extension)."""
    return bool(_MANIFEST_PATH.search(posixpath.basename(path)))


def find_password_values(data: bytes, *, assignments: bool = False) -> list[ManifestValue]:
    """Literal values of password keys, one line each, and of ``- name: *PASSWORD*`` env entries
    (``assignments``: also ``key = value``, the Terraform/HCL form)."""
    lowered = data.lower()
    if b"pass" not in lowered and b"pwd" not in lowered:
        return []
    out: list[ManifestValue] = []
    lines = data.split(b"\n")
    hits: list[int] = []
    lineno, counted = 0, 0
    for word in _PASSWORD_WORD.finditer(data):  # only lines that mention a password word
        lineno += data.count(b"\n", counted, word.start())
        counted = word.start()
        if not hits or hits[-1] != lineno:
            hits.append(lineno)
    for i in hits:
        line = lines[i]
        assign = None if not assignments else _PASSWORD_ASSIGN.match(line)
        if assign and _HCL_TYPE.fullmatch(assign.group(2).strip()):
            continue  # ``password = string`` in a variable's ``object({...})`` type: no value
        m = _PASSWORD_LINE.match(line) or assign
        if m and not _PASSWORD_META_KEY.search(m.group(1)):
            value = _password_value(m.group(2))
            if value is not None:
                out.append(ManifestValue(i + 1, m.group(1).decode("utf-8", "replace"), "password", value))
            continue
        env = _ENV_NAME.match(line)
        if env and i + 1 < len(lines) and not _PASSWORD_META_KEY.search(env.group(2)):
            nxt = _ENV_VALUE.match(lines[i + 1])
            if nxt and len(nxt.group(1)) == len(env.group(1)) + 2:
                value = _password_value(nxt.group(2))
                if value is not None:
                    out.append(ManifestValue(i + 2, env.group(2).decode("utf-8", "replace"), "env", value))
    return out


#: ``- name: API_TOKEN`` (any env entry's name); its value is on the next line.
_ENV_ANY_NAME = re.compile(rb"""^(\s*)-\s+name:\s*["']?([A-Za-z_][A-Za-z0-9_.-]*)["']?\s*$""")


def find_env_values(data: bytes) -> list[ManifestValue]:
    """``- name: X`` followed by ``value: Y`` (a container env entry, a Helm chart's ``env:``
    list), one per pair, at the value's line; ``key`` is the entry's name. The two lines belong
    together only when ``value`` sits where the entry's next key goes (two columns right of the
    dash), so a ``value:`` of another structure is never taken for this entry's."""
    if b"value:" not in data:
        return []
    lines = data.split(b"\n")
    out: list[ManifestValue] = []
    for i, line in enumerate(lines[:-1]):
        env = _ENV_ANY_NAME.match(line)
        if env is None:
            continue
        nxt = _ENV_VALUE.match(lines[i + 1])
        if nxt and len(nxt.group(1)) == len(env.group(1)) + 2:
            raw = _QUOTED_THEN_COMMENT.sub(rb"\1\2\1", nxt.group(2).strip())
            if raw[:1] not in (b'"', b"'"):
                raw = _COMMENT_TAIL.sub(b"", raw)
            out.append(ManifestValue(i + 2, env.group(2).decode("utf-8", "replace"), "env", _unquote(raw.strip())))
    return out


#: The shared template markers (:data:`sopskit.detectors.values.TEMPLATE_MARKERS`), as bytes.
TEMPLATE_MARKERS = tuple(m.encode() for m in values.TEMPLATE_MARKERS)


def is_templated(value: bytes) -> bool:
    """Rendered at deploy time (Helm ``{{ }}``, Flux/envsubst ``${VAR}``, Jinja): not a literal."""
    return any(m in value for m in TEMPLATE_MARKERS)


_CONFIG_LINE = re.compile(rb"""^\s*(?:-\s+)?(?:[\w.\-"'/\[\]]+\s*[:=]|[\[\]{}#<;]|-\s*$|-\s+\S)""")
#: Secret keys whose value identifies rather than authenticates.
_IDENTIFYING_KEY = re.compile(
    r"(?i)(?:^|[_.-])(?:user|username|login|email|host|hostname|server|port|database|db|dbname|region|bucket|"
    r"namespace|domain|tenant|tenant_?id|client_?id|account_?id|project|project_?id|org|organization|"
    r"repository|repo|path|dir|directory|mount_?path)$"
)
#: ``rest:https://user:pass@host/``: a location that carries a credential is not only a location.
_USERINFO = re.compile(values.URL_PASSWORD.pattern.encode())


def is_structured_config(value: bytes) -> bool:
    """A multi-line value that is a configuration file (YAML, INI, JSON, XML): its secrets, if
    any, are judged line by line by the regex rules, not reported wholesale."""
    lines = [ln for ln in value.split(b"\n") if ln.strip()]
    if len(lines) < 2:
        return False
    return sum(bool(_CONFIG_LINE.match(ln)) for ln in lines) * 2 >= len(lines)


_EXAMPLE_KEY = re.compile(r"(?i)example|placeholder|sample|dummy")


def is_example(key: str, value: bytes) -> bool:
    """``SECRET_EXAMPLE: Global secrets for your cluster go in this file``: a template's
    example entry or a sentence, not a credential."""
    return bool(_EXAMPLE_KEY.search(key)) or len(value.split()) >= 6


def is_identifying_key(key: str, value: bytes = b"") -> bool:
    """``username``, ``DB_HOST``, ``client-id``, ``RESTIC_REPOSITORY``...: not the credential
    itself, unless the value embeds one (``rest:https://user:pass@host/repo``)."""
    return bool(_IDENTIFYING_KEY.search(key)) and not _USERINFO.search(value)


def is_location_or_id(key: str, value: bytes) -> bool:
    """``10.0.0.0/16``, ``/volume1/kubernetes``, ``http://svc.ns.svc.cluster.local:8080/api``,
    or a UUID under ``*_ID``/``*Id``: a Flux ``cluster-secrets`` keeps such addresses and
    identifiers beside its credentials; none opens anything. A UUID under a credential name
    (``api_key``, ``secret_id``) is still reported: some vendors' keys are UUIDs."""
    text = value.decode("latin-1").strip()
    return values.is_location(text) or (values.is_uuid(text) and names.is_identifier_name(key))


#: Secret keys that hold a setting, not a credential: ``LOG_LEVEL``, ``sslmode``, ``type``,
#: ``DB_DATABASE_NAME``, ``TSIG_KEYNAME``, ``SECRET_NFS_HOST_0``, ``NFS_HOST_NAS``, ``WIREGUARD_CITY`` (Flux
#: ``cluster-secrets`` keep such settings beside the credentials they substitute).
_SETTING_KEY = re.compile(
    r"(?i)(?:^|[_.-])(?:log_?level|level|ssl_?mode|mode|type|kind|name|key_?name|city|country|timezone|tz|"
    r"locale|lang|language|host|hostname|record|address|ip|url|domain|zone|port|enabled|version|dir|rundir)"
    r"(?:[_.-]?[0-9]+|[_.-](?!(?:pass|pwd|token|key|secret|auth|cred))[A-Za-z]+)?$"  # NFS_HOST_0, NFS_HOST_NAS
)
#: A setting's value: words (no digits), a host name or an IPv4 address; never random text.
_SETTING_VALUE = re.compile(
    rb"[A-Za-z][A-Za-z .-]{0,40}|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
    rb"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
)


def is_setting(key: str, value: bytes) -> bool:
    """``LOG_LEVEL: debug``, ``sslmode: prefer``, ``NFS_HOST_0: nas.example``: a setting kept in
    a Secret, judged by key and value together (a password under ``mode`` is still reported)."""
    return bool(_SETTING_KEY.search(key) and _SETTING_VALUE.fullmatch(value.strip())
                and not _USERINFO.search(value))


_ALNUM = re.compile(rb"[A-Za-z0-9]")
#: ``user:$apr1$…`` lines (Traefik/nginx basic auth): password hashes, not passwords.
_HTPASSWD_LINE = re.compile(rb"[^:\s]+:(?:\$apr1\$|\$2[abxy]\$|\{SHA\}|\$[156]\$|\$argon2(?:id|i|d)\$)\S+")


def is_empty_stub(value: bytes) -> bool:
    """``"`` (an unterminated quote) or a block holding only ``# comments``: nothing to leak."""
    lines = [ln.strip() for ln in value.split(b"\n") if ln.strip()]
    return not _ALNUM.search(value) or all(ln.startswith(b"#") for ln in lines)


def is_password_hash_list(value: bytes) -> bool:
    """Every line is ``user:<crypt hash>`` (an htpasswd file): hashes, as public as a public key."""
    lines = [ln.strip() for ln in value.split(b"\n") if ln.strip()]
    return bool(lines) and all(_HTPASSWD_LINE.fullmatch(ln) for ln in lines)


@dataclass(frozen=True)
class GeneratorRefs:
    """What a kustomization's ``secretGenerator`` entries put into Secrets."""

    literals: list[tuple[int, str, bytes]]  # (line, key, value)
    files: list[str]  # paths relative to the kustomization's directory
    envs: list[str]


def is_kustomization(path: str) -> bool:
    return path.rsplit("/", 1)[-1] in KUSTOMIZATION_NAMES


def _line_of(data: bytes, needle: bytes) -> int:
    pos = data.find(needle)
    return data.count(b"\n", 0, pos) + 1 if pos >= 0 else 1


def find_generator_refs(data: bytes) -> GeneratorRefs:
    """Literals, files and env files of ``secretGenerator`` entries (empty if unparsable)."""
    refs = GeneratorRefs([], [], [])
    if b"secretGenerator" not in data:
        return refs
    try:
        doc = yaml.load(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return refs
    gens = doc.get("secretGenerator") if isinstance(doc, dict) else None
    for gen in gens if isinstance(gens, list) else []:
        if not isinstance(gen, dict):
            continue
        for lit in gen.get("literals") or []:
            text = str(lit)
            if "=" in text:
                key, value = text.split("=", 1)
                if value:
                    refs.literals.append((_line_of(data, text.encode()), key, value.encode()))
        for f in gen.get("files") or []:
            text = str(f)
            refs.files.append(text.split("=", 1)[1] if "=" in text else text)
        envs = list(gen.get("envs") or [])
        if gen.get("env"):
            envs.append(gen["env"])
        refs.envs.extend(str(e) for e in envs)
    return refs


#: A host inside the cluster or the machine (``svc.svc.cluster.local``, a single label,
#: ``localhost``): an address that is no credential, unlike an external webhook URL whose path
#: may be one.
_LOCAL_HOST = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:svc|svc\.cluster\.local|cluster\.local)|[a-z0-9-]+|localhost"
                         r"|127\.0\.0\.1")
_URL_HOST = re.compile(r"[a-z][a-z0-9+.-]*://([^/:@\s]+)(?::[0-9]+)?(?:/|$)", re.IGNORECASE)
#: Keys under which a config file may keep key material even without a credential word
#: (Alertmanager's ``routing_key``/``service_key``/``user_key``, ``webhook`` URLs).
_KEYISH = re.compile(r"(?i)(?:^|[_.-])key$|webhook")


def _leaves(node: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(node, dict):
        return [leaf for k, v in node.items() for leaf in _leaves(v, str(k))]
    if isinstance(node, list):
        return [leaf for v in node for leaf in _leaves(v, key)]
    return [(key, node)]


def config_may_hold_secret(content: bytes) -> bool:
    """A file read by a secretGenerator holds something worth encrypting: not when it is a YAML
    or JSON document whose every value is a setting (an Alertmanager route to an in-cluster
    webhook, a connection list whose passwords are ``${VAR}`` substitutions). A file that does
    not parse as a mapping or a list (a key, a token, an INI file) is judged worth encrypting;
    the regex rules read its lines either way."""
    try:
        doc = yaml.load(content, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (yaml.YAMLError, ValueError):
        return True
    if not isinstance(doc, (dict, list)):
        return True
    for key, value in _leaves(doc):
        if not isinstance(value, str) or not value.strip():
            continue
        raw = value.encode()
        if values.is_templated(value) or values.is_reference(value) or values.is_placeholder(value):
            continue
        if names.is_credential_name(key) or _KEYISH.search(key) or _USERINFO.search(raw):
            return True
        if b"PRIVATE KEY" in raw:
            return True
        host = _URL_HOST.match(value.strip())
        if host and not _LOCAL_HOST.fullmatch(host.group(1).lower()):
            return True
    return False


def env_file_values(data: bytes) -> list[tuple[int, str, bytes]]:
    """``KEY=value`` lines of a dotenv file: (line, key, value)."""
    out: list[tuple[int, str, bytes]] = []
    for n, line in enumerate(data.split(b"\n"), 1):
        s = line.strip()
        if s and not s.startswith(b"#") and b"=" in s:
            key, raw = s.split(b"=", 1)
            value = _unquote(raw.strip())
            if value:
                out.append((n, key.strip().decode("utf-8", "replace"), value))
    return out
