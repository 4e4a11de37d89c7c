"""Values that are not credentials: placeholders (stand-ins, filler) and references (pointers).

A *placeholder* is left for someone to fill in or shows what a value looks like (``changeme``,
``<token>``, ``your-api-key-here``, ``xxxx``, ``abcdef123456``, AWS's documented example key).
A *reference* says where the real value lives (``op://vault/item/field``, ``ref+sops://...``,
``vault:secret/data/x#k``, ``<path:kv/data/x#k>``, ``${DB_PASSWORD}``, ``{{ .Values.pw }}``).
Neither is a secret, so neither the scanner nor a policy check reports it.

The predicates take ``str``; the scanner, which works on bytes, decodes with latin-1 (one
character per byte, so lengths and runs are those of the bytes).
"""

from __future__ import annotations

import ipaddress
import itertools
import re

#: Substrings that mark a value as a placeholder wherever they occur. Each is a word or a mark
#: that random text does not hold by chance (``<``, ``{{``), or a word a real credential does not
#: spell out (``example``, ``changeme``, ``encoded`` as in ``base64encodedaccountkey``).
PLACEHOLDER_WORDS = (
    "example", "sample", "placeholder", "changeme", "change_me", "change-me", "change me", "dummy",
    "redacted", "your_", "your-", "yourkey", "xxxx", "****", "....", "<", ">", "${", "{{", "$(", "%(",
    "todo", "fixme", "insert", "replace", "secret value", "secret-value", "nopassword", "no-password",
    "no_password", "overridden", "encoded", "changeit",
    # xkcd 936's example passphrase, quoted by password-strength docs and tests everywhere
    "correcthorsebatterystaple",
)
#: Whole values that are obviously not real secrets: the word for the thing (``password``), a
#: default everyone knows (``admin``, ``root``), booleans and nulls, "not applicable".
#: Not ``testing`` nor ``foobar``: real repositories deploy them as passwords (labelled
#: findings in bench/scan_heldout2_labels.json), and a gate should say so.
PLACEHOLDER_VALUES = frozenset({
    "password", "passw0rd", "passwd", "passwrd", "secret", "token", "admin", "root", "test",
    "pass", "none", "null", "nil", "true", "false", "undefined", "empty", "default", "tbd", "n/a", "na",
    # filler for a slot the service does not read (an unauthenticated relay's password)
    "unused", "not-used", "not_used", "notused", "unset", "disabled",
})
#: Whole values that are a template's slots (``FOO``/``BAR``/``BAZ``, ``fix me``): never a deployed
#: credential. Weak but real-looking words (``foobar``) are not here: people deploy them as
#: passwords, and a gate should say so.
STAND_IN_VALUES = frozenset({"foo", "bar", "baz", "qux", "fix me"})
#: ``POSTGRES_PASSWORD``, ``DB_PASS``: an environment variable's name where its value goes (a
#: sample connection URL ``postgresql://app:POSTGRES_PASSWORD@db/app``), upper case with a role word
_VARIABLE_NAME_SLOT = re.compile(
    r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|KEY)(?:_[A-Z0-9]+)*")
#: ``_Cloudflare_Auth_Key_Token_2_``, ``__Zone_ID__``: words wrapped in underscores, a template's
#: slot to fill in (a random token does not start and end with ``_`` around words).
_UNDERSCORE_WRAPPED_NAME = re.compile(r"_{1,2}[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+_{1,2}")
#: Whole-value shapes of a stand-in: ``<...>``, ``[...]``, runs of ``x``/``*``/``.``/``-``/``_``,
#: a word followed by filler (``fake-token``, ``test-password-1``, ``my-secret-key``,
#: ``supersecret``, ``insecure-dev-key``), a "put it here" sentence (``token-goes-here``), a
#: numbered stand-in (``test-1730512600``, ``example_2``), a demo word before a role word
#: (``demo-password``, ``sample-user``), ``secret2``, ``password123``. Not
#: ``mypass`` nor ``pass123``: weak passwords that real repositories deploy (a labelled finding).
_PLACEHOLDER_SHAPE = re.compile(
    r"(?:<[^>]*>|\[[^\]]*\]|x{3,}|\*{3,}|\.{3,}|-+|_+"
    r"|(?:fake|insecure|super[-_ ]?secret|test[-_ ]?pass|"
    r"not[-_ ]a[-_ ]secure|my[-_ ]?(?:secret|password|token))[^\n]*"
    r"|[^\n]*[-_ ](?:here|goes[-_ ]here)"
    r"|secret\d*|password\d*|passw(?:or)?d|pass|token"
    r"|(?:test|testing|smoketest|demo|example|sample|dummy|fake)[-_.][0-9]{4,}"
    r"|(?:demo|example|sample|dummy)[-_](?:user(?:name)?|pass(?:word)?|secret|token|key))",
    re.IGNORECASE,
)
#: ``value-from-authentik-provider``, ``set-by-operator``, ``from-vault``: a lower-case hyphenated
#: phrase saying where the value comes from (like ``your-...``), not the value.
_FILLED_ELSEWHERE = re.compile(r"(?:value-from|set-by|filled-by|provided-by|from)(?:-[a-z]+)+")
#: ``ENC[AES256_GCM,data:...]``, ``ENC[AES256_GCM,data:xxx,...]``: sops ciphertext notation shown
#: in a document, elided or not (real ciphertext is no secret either).
_ENC_NOTATION = re.compile(r"ENC\[[A-Z0-9_]+,[^\]]*\]")
#: A value starting like a variable, an option or a YAML anchor/alias: ``$VAR``, ``[PASSWORD]``,
#: ``{value}``, ``%s``, ``&anchor``, ``*alias``, ``(none)``.
_PLACEHOLDER_START = ("$", "[", "{", "%", "&", "*", "(")

#: Credentials published in vendor documentation and standards (AWS, jwt.io, the OAuth RFCs and
#: OpenID Connect's examples) that are not secrets, and the
#: Google API keys the Firebase Android SDK's own tests and docs use (each one checked to be in
#: github.com/firebase/firebase-android-sdk at the time of writing): copied into countless apps'
#: test code, they are public and open nothing worth a gate.
DOCUMENTED_EXAMPLES = frozenset({
    "AKIAIOSFODNN7EXAMPLE",
    "AIzaSyabcdefghijklmnopqrstuvwxyz1234567",
    "AIzaSyAnLA7NfeLquW1tJFpx_eQCxoX-oo6YyIs",
    "AIzaSyD3asb-2pEZVqMkmL6M9N6nHZRR_znhrh0",
    "AIzayDNSXIbFmlXbIE6mCzDLQAqITYefhixbX4A",
    "AIzaSyAdOS2zB6NCsk1pCdZ4-P6GBdi_UUPwX7c",
    "AIzaSyASWm6HmTMdYWpgMnjRBjxcQ9CKctWmLd4",
    "AIzaSyANUvH9H9BsUccjsu2pCmEkOPjjaXeDQgY",
    "AIzaSyA5_iVawFQ8ABuTZNUdcwERLJv_a_p4wtM",
    "AIzaSyA4UrcGxgwQFTfaI3no3t7Lt1sjmdnP5sQ",
    "AIzaSyDSb51JiIcB6OJpwwMicseKRhhrOq1cS7g",
    "AIzaSyBF2RrAIm4a0mO64EShQfqfd2AFnzAvvuU",
    "AIzaSyBcE-OOIbhjyR83gm4r2MFCu4MJmprNXsw",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    # RFC 6749 (OAuth 2.0), sections 1.5, 2.3.1, 4.1-4.4, 5.1, 6: the example access and refresh
    # tokens, authorization code, client id and secrets (and the Basic credentials
    # base64("s6BhdRkqt3:gX1fBat3bV")) that every OAuth guide and library test copies
    "2YotnFZFEjr1zCsicMWpAA", "tGzv3JOkF0XG5Qx2TlKWIA", "SplxlOBeZQQYbYS6WxSbIA", "s6BhdRkqt3",
    "7Fjfp0ZBr1KtDRbnfVdmIw", "gX1fBat3bV", "czZCaGRSa3F0MzpnWDFmQmF0M2JW",
    # RFC 6750 (bearer token usage), section 2.1 and RFC 7662: the example bearer token
    "mF_9.B5f-4.1JqM",
    # RFC 7636 (PKCE), appendix B: the example code verifier and its S256 challenge
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    # OpenID Connect Core 1.0, section 3.1.3.3: the example token response's access/refresh tokens
    "SlAV32hkKG", "8xLOxBtZp8",
})

#: Reference markers found anywhere in a one-line value (1Password, vals/helm-secrets, traefikoidc,
#: argocd-vault-plugin, LiteLLM and code reading the environment, Grafana provisioning, Azure
#: Key Vault references, AWS ARNs, bank-vaults, Jinja statements).
REFERENCE_MARKERS = (
    "op://", "os.environ/", "os.environ[", "os.getenv(", "ref+", "{%", "$__file{", "$__env{",
    "@microsoft.keyvault(", "arn:aws:", "vault:secret/", "vault:kv/", "process.env.", "<path:",
    # the traefikoidc plugin's Secret reference, ``urn:k8s:secret:NAME:KEY``
    "urn:k8s:secret:",
)
#: Whole-value reference syntaxes, multi-line values included: the same pointers, the external-
#: secrets / vals scheme prefixes (``vault:``, ``akv:``, ``awssm:``, ``gcpsm:``, ``secretref+``),
#: argocd-vault-plugin ``<path:...>`` / ``<vault:...>``, secret-manager URIs that injectors and
#: bootstrap tools resolve (``ak://`` Akeyless, ``azure://vault/secret``, ``secret://name``,
#: ``bws://``, ``infisical://``, ``doppler://``, ``keeper://``; never with user info, so a URL
#: carrying a password is not excused), and a template or variable standing alone.
_WHOLE_REFERENCE = re.compile(
    r"\s*(?:op://\S+|<path:[^>]+>|<[a-z]+:[^<>\s]+>|ref\+[a-z0-9]+://\S+|vault:\S+|akv:\S+|awssm:\S+|"
    r"(?:ak|akeyless|azure|azkv|secret|secrets|bws|infisical|doppler|keeper|sm|gsm|asm)://[^\s@]+|"
    r"gcpsm:\S+|secretref\+\S+|urn:k8s:secret:[^\s:]+:\S+|\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|\{\{.*\}\}|\{%.*%\})\s*",
    re.DOTALL,
)

#: Template markers: Helm/Go and Jinja ``{{ }}`` / ``{% %}``, Flux/envsubst ``${VAR}``, ERB
#: ``<%= %>``, and makejinja's ``#{ }#`` / ``#% %#`` (the onedr0p cluster-template family).
TEMPLATE_MARKERS = ("{{", "${", "{%", "<%", "#{", "#%")
#: One template expression of any of those syntaxes (what :func:`strip_templates` cuts out).
TEMPLATE_RE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{[^}]*\}|<%.*?%>|#\{.*?\}#|#%.*?%#", re.DOTALL)

#: A private key block with key material in it: the BEGIN line of any PEM or OpenSSH private key
#: (``RSA``, ``EC``, ``OPENSSH``, ``ENCRYPTED``, PGP's ``... PRIVATE KEY BLOCK``), then a base64
#: run of 40 characters before any END line. A quoted template whose body is elided (``...``)
#: and followed by a public key or a hash holds no key. Group 1 names the kind, never the key.
PRIVATE_KEY_BLOCK = re.compile(
    r"-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?)-----"
    r"(?:(?!-----END)[\s\S]){0,300}?[A-Za-z0-9+/]{40}"
)
#: :data:`PRIVATE_KEY_BLOCK` for raw file bytes (the policy reads files as bytes)
PRIVATE_KEY_BLOCK_BYTES = re.compile(PRIVATE_KEY_BLOCK.pattern.encode("ascii"))
#: an armour line (BEGIN/END) of a key block, and what makes a block's body a cut-down example
_ARMOUR_LINE = re.compile(rb"-----(?:BEGIN|END) [A-Z0-9 ]+-----")
_ELISION = (b"...", "\u2026".encode())


def is_elided_key_block(block: bytes) -> bool:
    """A private key block whose body an author cut short (``...`` or ``…`` standing for lines,
    a README showing what an export looks like): not a usable key. The scanner and the policy's
    ``private-key`` share this rule."""
    body = b"".join(_ARMOUR_LINE.sub(b"", block).split()).replace(b"\\n", b"")
    return any(mark in body for mark in _ELISION)


#: A password in a URL's user info (``redis://:pw@host``, ``https://user:pw@host``); group 1 is
#: the password. A ``/`` ends it, so ``https://host:443/@scope/pkg`` (a port, then a path) is
#: none, and so does a template character (``user:${PW}@`` is a reference).
URL_PASSWORD = re.compile(r"://[^:/@\s]*:([^@\s/{}$]+)@")
#: A token that looks random rather than like a word: digits, lower and upper case letters all
#: present, or a long lower-case hex string.
RANDOM_SHAPE = re.compile(r"^(?=.*\d)(?=.*[a-z])(?=.*[A-Z])|^[0-9a-f]{32,}$")

_REPEATED = re.compile(r"(.)\1{5,}")

#: the key types of an OpenSSH public key line (``ssh-ed25519 AAAA... comment``), for the scanner's
#: and the policy's "this is only public key material" rules
SSH_PUBLIC_KEY_TYPES = (
    r"ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com"
)


#: An absolute filesystem path of name-like segments (``/volume1/kubernetes/config``, an NFS
#: export): a location. A segment that looks random (mixed case and digits) is not a name, so a
#: base64 token that happens to start with ``/`` is no path.
_FS_PATH = re.compile(r"(?:/[A-Za-z0-9][A-Za-z0-9._@+-]{0,63})+/?")
#: ``scheme://host[:port][/words...]`` with no user info, no query and no fragment.
_PLAIN_URL = re.compile(r"[a-z][a-z0-9+.-]*://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?((?:/[^/?#@\s]*)*)",
                        re.IGNORECASE)
#: A path segment that reads as a word or a version (``api``, ``v1``, ``my-bucket``, ``2024``):
#: letters with separators and at most a few digits; webhook tokens (``T0123ABCD``, a Discord
#: hook's 18-digit id and random key) are not.
_WORD_SEGMENT = re.compile(r"[A-Za-z]{1,24}(?:[._-][A-Za-z]{1,24})*[0-9]{0,2}|v[0-9]{1,2}|[0-9]{1,4}|")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_network_address(value: str) -> bool:
    """An IP address or a CIDR (``192.168.1.10``, ``10.0.0.0/16``, ``fd00::/8``): a location."""
    text = value.strip().strip("\"'")
    if not text or not re.fullmatch(r"[0-9A-Fa-f:.]+(?:/[0-9]{1,3})?", text):
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


def is_filesystem_path(value: str) -> bool:
    """An absolute path of name-like segments (an NFS export, a mount point): a location. A
    device path (``/dev/disk/by-id/ata-...``, ``/dev/serial/by-id/usb-...``) names hardware by
    its serial number, which is random-looking and no credential."""
    text = value.strip().strip("\"'")
    if not _FS_PATH.fullmatch(text) or text.endswith("="):
        return False
    return text.startswith("/dev/") or not any(RANDOM_SHAPE.search(seg) for seg in text.split("/"))


def is_plain_url(value: str) -> bool:
    """``https://auth.example.org``, ``http://svc.ns.svc.cluster.local:8080/api``: an address with
    no user info, no query and a path of words only. A webhook URL carries its token in the path
    (Slack's ``/services/T.../B.../...``, Discord's ``/api/webhooks/<id>/<token>``) and is none."""
    m = _PLAIN_URL.fullmatch(value.strip().strip("\"'"))
    if not m:
        return False
    return all(_WORD_SEGMENT.fullmatch(seg) and not RANDOM_SHAPE.search(seg) for seg in m.group(2).split("/"))


def is_uuid(value: str) -> bool:
    """``123e4567-e89b-12d3-a456-426614174000``: an identifier's shape (some vendors' API keys
    have it too, so the key's name decides: :func:`sopskit.detectors.names.is_identifier_name`)."""
    return bool(_UUID.fullmatch(value.strip().strip("\"'")))


def is_location(value: str) -> bool:
    """Where something is, not a credential: an IP address or CIDR, an absolute filesystem path,
    a URL without user info, query or random-looking path segment."""
    return is_network_address(value) or is_filesystem_path(value) or is_plain_url(value)


def is_templated(value: str) -> bool:
    """Rendered at deploy time (Helm ``{{ }}``, Flux/envsubst ``${VAR}``, Jinja): not a literal."""
    return any(m in value for m in TEMPLATE_MARKERS)


def strip_templates(value: str) -> str:
    """``value`` without its template expressions: what is literal in it."""
    return TEMPLATE_RE.sub("", value)


def is_whole_reference(value: str) -> bool:
    """The whole of ``value`` is one reference syntax (``urn:k8s:secret:auth:password``,
    ``op://vault/item/field``), no marker merely found inside it."""
    return bool(_WHOLE_REFERENCE.fullmatch(value))


def is_reference(value: str) -> bool:
    """A pointer to a secret kept elsewhere (``op://``, ``ref+sops://``, ``vault:...``,
    ``<path:...>``, a lone ``${VAR}`` or ``{{ template }}``), not the secret.

    Markers count anywhere only in a one-line value: a configuration file carried in a Secret
    that mentions an ARN somewhere is not, as a whole, a reference."""
    if _WHOLE_REFERENCE.fullmatch(value):
        return True
    if "\n" in value.strip():
        return False
    low = value.lower()
    return any(m in low for m in REFERENCE_MARKERS)


def is_placeholder(value: str) -> bool:
    """A stand-in, not a credential: a documented example, a placeholder word or shape, a
    number, or typed filler (see :func:`is_filler`, :func:`has_sequence`)."""
    text = value.strip().strip("\"'").strip()
    if not text or text in DOCUMENTED_EXAMPLES:
        return True
    low = text.lower()
    if low in PLACEHOLDER_VALUES or text.startswith(_PLACEHOLDER_START) or low.endswith("..."):
        return True
    if low in STAND_IN_VALUES or _UNDERSCORE_WRAPPED_NAME.fullmatch(text) or _VARIABLE_NAME_SLOT.fullmatch(text):
        return True
    if _FILLED_ELSEWHERE.fullmatch(text) or _ENC_NOTATION.fullmatch(text):
        return True
    if any(w in low for w in PLACEHOLDER_WORDS) or _PLACEHOLDER_SHAPE.fullmatch(text):
        return True
    return is_filler(text) or text.isdigit() or has_sequence(low) or has_repeated_run(low)


def is_filler(secret: str) -> bool:
    """Mostly one repeated character (``AIzaaaaaaaaa…``, ``AGE-SECRET-KEY-1QQQQ…``). A run alone
    is not enough: real Twitter bearer tokens start with twenty-odd ``A``s."""
    if not _REPEATED.search(secret):
        return False
    rest = _REPEATED.sub("", secret)
    return len(set(rest)) < 12


def _step(a: str, b: str) -> bool:
    return ord(b) == ord(a) + 1 and b.isalnum()


def has_repeated_run(text: str) -> bool:
    """``xoxp-1234-1234-1234-…``: the same typed run (``1234``, ``abcd``) three times is filler."""
    runs = [text[i:i + 4] for i in range(len(text) - 3)
            if all(_step(a, b) for a, b in itertools.pairwise(text[i:i + 4]))]
    return any(runs.count(r) >= 3 for r in set(runs))


def has_sequence(text: str, run: int = 6) -> bool:
    """``abcdef``, ``123456``, ``klmnop``: typed filler (a random string has such a run with
    odds of about one in a billion per position)."""
    count = 1
    for a, b in itertools.pairwise(text):
        count = count + 1 if _step(a, b) else 1
        if count >= run:
            return True
    return False


#: an OpenSSH public key line, after authorized_keys options or a known_hosts host list
_PUBLIC_KEY_LINE = re.compile(
    r"(?:.*\s)?(?:" + SSH_PUBLIC_KEY_TYPES + r")(?:-cert-v01@openssh\.com)?\s+AAAA[A-Za-z0-9+/=]+(?:\s[^\n]*)?"
)
#: X.509 certificates, CA bundles, CRLs and PEM public keys: published by design
_PUBLIC_PEM = re.compile(r"-----BEGIN (?:CERTIFICATE|TRUSTED CERTIFICATE|PUBLIC KEY|RSA PUBLIC KEY|X509 CRL)-----")
#: The first line of ``openssl x509 -text`` output, which some keep as ``server.crt``
_CERTIFICATE_DUMP = re.compile(r"Certificate:")
#: An exported OpenPGP public key (``.sops.pub.asc`` kept beside a repository's sops rules).
_PGP_PUBLIC = re.compile(r"-----BEGIN PGP PUBLIC KEY BLOCK-----")
#: an age recipient, X25519, post-quantum or plugin tag (the scanner compiles it for bytes)
AGE_RECIPIENT_PATTERN = r"\bage1(?:pq1|tag1|tagpq1)?[02-9ac-hj-np-z]{50,}"
_AGE_RECIPIENT = re.compile(AGE_RECIPIENT_PATTERN)


def is_public_material(value: str) -> bool:
    """Public halves that Secrets carry beside the private one: ``identity.pub``,
    ``known_hosts`` / ``authorized_keys`` lines (``#`` comments between them), X.509
    certificates and CA bundles, PGP public keys, age recipients. Neither the scanner nor the
    policy's ``plaintext-secret`` reports them."""
    lines = [ln.strip() for ln in value.strip().split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        return False
    if all(_PUBLIC_KEY_LINE.fullmatch(ln) for ln in lines):
        return True
    if (_PUBLIC_PEM.match(lines[0]) or _PGP_PUBLIC.match(lines[0])) and "PRIVATE KEY" not in value:
        return True
    if _CERTIFICATE_DUMP.fullmatch(lines[0]) and _PUBLIC_PEM.search(value) and "PRIVATE KEY" not in value:
        return True  # ``openssl x509 -text`` output: the decoded fields, then the certificate itself
    return all(_AGE_RECIPIENT.fullmatch(ln) for ln in lines)
