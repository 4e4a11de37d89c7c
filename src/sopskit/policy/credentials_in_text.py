"""Does a configuration value, or a configuration file, hold a credential?

``plaintext-secret`` asks this of two things that are not obviously secrets: the plaintext
values of a ``Secret`` manifest and the files a kustomize ``secretGenerator`` reads. Real
repositories put plenty of non-secrets there: Flux post-build variables (``dns_suffix:
example.org``), and whole Helm values files (a ``secretGenerator`` is how Flux's ``valuesFrom``
gets a values file), thousands of lines long, full of upstream chart comments and defaults
(``secretName: my-tls``, ``# password: changeme``, ``existingSecret: ""``). Reporting those
teaches users to switch the gate off, so a value counts as a credential only when:

* its key names a credential (``password``, ``token``, ``apiKey``, ``client_secret``, ...) and
  does not merely name or locate one (``secretName``, ``existingSecret``, ``passwordFile``,
  ``tokenPath``, ``secretRef``, ``*Key`` naming a key of another Secret), and the value is a
  literal that is not a placeholder (``changeme``, ``<token>``, ``your-password-here``,
  ``xxxxx``, ``${VAR}``) nor a reference (``op://``, ``{{ template }}``);
* or, whatever its key, the value is key material: a PEM private key block, a URL with a
  password, or a long random-looking token.

YAML and JSON files are judged by their parsed values, so comments never count; ``.env`` files
line by line; other text by the multi-line rule of :func:`secrets.is_harmless_config`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

from sopskit.detectors import names, values
from sopskit.format.recognize import AGE_IDENTITY_PATTERN

#: a Kubernetes object name: what a key like ``adminTokenSecret`` holds when it names a Secret
_OBJECT_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{24,}={0,2}")
#: a credential whose value is a whole config document is still checked key by key
_STRUCTURED_SUFFIXES = (".yaml", ".yml", ".json")
_ENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*?)\s*$")


def is_credential_key(key: str) -> bool:
    """A key that holds a credential (``db_password``), not one that names or locates it
    (``secretName``, ``existing_secret``, ``passwordFile``, ``token-path``)."""
    return names.is_credential_name(key)


def is_placeholder(value: str) -> bool:
    """A value left for the user to fill in, or a reference to where the real one lives."""
    text = value.strip().strip("\"'").strip()
    if not text or values.is_reference(text) or values.is_placeholder(text):
        return True
    rest = values.strip_templates(text).strip()
    return not rest or (rest != text and len(rest) < 8)


#: an age identity (X25519 or post-quantum): key material whatever the key or file around it says
AGE_IDENTITY = re.compile(AGE_IDENTITY_PATTERN)


def is_material(value: str) -> bool:
    """Key material whatever the key says: a private key block, a URL password, a random token
    (a reference such as ``op://vault/Item2/API_TOKEN`` is none of these)."""
    if values.is_reference(value.strip()):
        return False
    text = values.strip_templates(value)
    if values.PRIVATE_KEY_BLOCK.search(text) or AGE_IDENTITY.search(text):
        return True
    for match in values.URL_PASSWORD.finditer(text):
        if not is_placeholder(match.group(1)):
            return True
    return any(values.RANDOM_SHAPE.search(m.group(0)) and not _looks_like_a_name(m.group(0))
               for m in _TOKEN.finditer(text))


def _looks_like_a_name(token: str) -> bool:
    """CamelCase identifiers, image digests' neighbours and kebab-case names are not tokens."""
    if re.fullmatch(r"(?:[A-Z][a-z0-9]+)+[A-Z]?[a-z0-9]*", token):
        return True
    parts = re.split(r"[-_]", token)
    return len(parts) >= 3 and all(p.isalpha() or p.isdigit() for p in parts)


#: the name of a hashing or cipher algorithm: what ``htpasswd_encryption: bcrypt`` or
#: ``password_scheme: sha512`` set is how a credential is stored, not a credential
_ALGORITHM_NAME = re.compile(
    r"(?i)^(?:bcrypt|scrypt|yescrypt|argon2(?:id|i|d)?|pbkdf2(?:[-_]sha-?\d+)?|s?sha-?(?:1|224|256|384|512)(?:[-_]crypt)?|"
    r"md5(?:[-_]crypt)?|apr1|crypt|des|3des|aes-?(?:128|192|256)(?:-?(?:gcm|cbc|ctr))?|chacha20(?:-poly1305)?|"
    r"[hre]s(?:256|384|512)|ed25519|ecdsa|rsa|plain(?:text)?|cleartext)$"
)


def is_credential(key: str, value: Any) -> bool:
    """One scalar value under ``key`` is a credential."""
    if not isinstance(value, str):
        return False
    if is_material(value):
        return True
    if not is_credential_key(key) or is_placeholder(value) or "\n" in value.strip():
        return False
    if _ALGORITHM_NAME.match(value.strip().strip("\"'")):
        return False  # how the credential is hashed or encrypted, not the credential
    if values.is_location(value):
        return False  # an IP address, a mount path, a URL with nothing secret in it
    if value.strip().lower() == key.lower():
        return False  # ``accesskeysecret: accesskeysecret``
    # ``tlsSecret: grafana-tls`` names a Secret object, and so does each item of a ``secrets:`` list
    # (``prometheusSpec.secrets: [etcd-client-certs]``, Secrets to mount); a real credential is
    # not a kebab-case name
    return not (key.lower().endswith(("secret", "secrets", "key")) and "-" in value
                and _OBJECT_NAME.match(value.strip()))


def credential_keys(data: Any, key: str = "") -> Iterator[str]:
    """Keys (dotted paths) of the credentials in a parsed YAML/JSON structure."""
    if isinstance(data, dict):
        for name, value in data.items():
            path = f"{key}.{name}" if key else str(name)
            if isinstance(value, (dict, list)):
                yield from credential_keys(value, path)
            elif is_credential(str(name), value):
                yield path
    elif isinstance(data, list):
        for item in data:
            yield from credential_keys(item, key)


def file_holds_credential(rel: str, text: str, *, env: bool = False) -> bool | None:
    """Whether a configuration file holds a credential; None when its format is not known here
    (the caller then judges the text as a whole)."""
    rel = _without_marker(rel)
    if env or rel.endswith(".env") or rel.rsplit("/", 1)[-1].startswith(".env"):
        return any(_env_credential(line) for line in text.splitlines())
    if rel.endswith(_STRUCTURED_SUFFIXES) or _is_json_object(text):
        try:
            documents = list(yaml.safe_load_all(text))
        except yaml.YAMLError:
            return None
        return any(next(credential_keys(doc), None) is not None for doc in documents) or (
            any(isinstance(doc, str) and is_material(doc) for doc in documents)
        )
    return None


#: a name's last suffix that says what is meant to happen to the file, not what it holds
#: (``regcreds.json.encrypted``: a JSON file its author means to encrypt)
_MARKER_SUFFIXES = (".encrypted", ".decrypted", ".plain", ".plaintext", ".unencrypted")


def _without_marker(rel: str) -> str:
    """``rel`` without a trailing :data:`_MARKER_SUFFIXES` when a real suffix is left before it."""
    for suffix in _MARKER_SUFFIXES:
        if rel.endswith(suffix) and "." in rel.rsplit("/", 1)[-1][: -len(suffix)]:
            return rel[: -len(suffix)]
    return rel


def _is_json_object(text: str) -> bool:
    """A file that is a JSON object whatever its name (a ``.dockerconfigjson`` input, ``auths``)."""
    stripped = text.strip()
    if not stripped.startswith("{"):
        return False
    try:
        return isinstance(json.loads(stripped), dict)
    except ValueError:
        return False


def _env_credential(line: str) -> bool:
    if line.lstrip().startswith("#"):
        return False
    match = _ENV_LINE.match(line)
    if match is None:
        return False
    value = match.group(2)
    if value[:1] in "\"'" and value[-1:] == value[:1]:
        value = value[1:-1]
    return bool(value) and is_credential(match.group(1), value)


#: values that configure rather than authenticate: numbers, booleans, host names, addresses,
#: e-mail addresses, paths, URLs without a password, durations, sizes and object names
_CONFIG_SHAPED = re.compile(
    r"(?i)^(?:-?\d+(?:\.\d+)?|true|false|yes|no|on|off|"
    r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}\.?(?:/[\w.-]+)*/?|"  # host / domain name (and path)
    r"\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d+)?|[0-9a-f:]+::?[0-9a-f:]*(?:/\d{1,3})?|"  # IPv4/IPv6 (CIDR)
    r"[^@\s]+@[a-z0-9.-]+\.[a-z]{2,}|"  # e-mail
    r"[^<>@\n]{1,100}<[^@\s<>]+@[a-z0-9.-]+\.[a-z]{2,}>|"  # a named mailbox (a git author: ``Bot <bot@x.org>``)
    r"(?:/|\./|~/)[\w./-]*|"  # path
    r"[a-z]+(?:[_-][a-z]+)*(?:/[a-z][a-z0-9_+-]{0,30}){1,2}|"  # a time zone (Area/City), a word path
    r"\d+(?:\.\d+)?(?:ms|s|m|h|d|w|ki|mi|gi|ti|k|m|g|t|kb|mb|gb|tb)|"  # duration / size
    r"[a-z]+|[a-z0-9]+(?:[-_.][a-z0-9]+)+)$"  # a word, a kebab/snake-case name
)


#: a URL without a password: scheme, a user name at most (``postgresql://app@db``: client
#: certificates or a password kept elsewhere), host, port, then path, query and fragment
_URL = re.compile(r"(?i)^[a-z][a-z0-9+.-]*://(?:[^\s:@/?#]+@)?[^\s:@/?#]+(?::\d+)?(?:[/?#]\S*)?$")
#: a container image reference with a registry or repository path and a version tag or digest
#: (``registry.example.org/team/app:v1.2.3``, ``ghcr.io/org/app@sha256:...``): configuration
_IMAGE_REF = re.compile(
    r"^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r"(?::(?:v?\d[\w.-]{0,126}|latest|stable)(?:@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$"
)


def is_config_shaped(value: str) -> bool:
    """A value that configures something (``example.org``, ``443``, ``letsencrypt-production``,
    a URL with no password and no credential in its query, an image reference)."""
    text = value.strip().strip("\"'").strip()
    if _URL.match(text):
        return not _query_holds_credential(text)
    return bool(_CONFIG_SHAPED.match(text) or _IMAGE_REF.match(text))


def _query_holds_credential(url: str) -> bool:
    """``?token=...`` or a random-looking query value; ``?ssl_keyfile=/var/run/tls.key`` (a path),
    ``?sslmode=require`` are settings."""
    for key, item in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if values.is_filesystem_path(item) or item.lower() in ("true", "false") or item.isdigit():
            continue
        if names.is_credential_name(key) or values.RANDOM_SHAPE.search(item):
            return True
    return False


def is_secret_value(key: str, value: str) -> bool:
    """Whether one value of a Secret manifest (or a generator literal) is a credential in plaintext.

    Stricter than :func:`is_credential`: a Secret is meant to hold secrets, so under a credential
    key even a placeholder counts (the object will be applied as it is), and under any other key
    a value counts unless it is shaped like configuration (a host, a port, a name)."""
    if values.is_public_material(value):
        return False  # a CA bundle or a known_hosts line, whatever the key is called
    if is_material(value):
        return True
    text = value.strip()
    if not any(char.isalnum() for char in text):
        return False  # "-", "*", "--": a chart's "unset" marker holds nothing
    if is_credential_key(key):
        return True
    return not (is_config_shaped(text) or values.is_reference(text))
