"""Named predicates that turn a regex match into "not a secret".

Each filter answers one question about a candidate, so a reader can see why a decoy was
dropped and a test can exercise each one. Filters look at the candidate secret, its line
and the file; they never need the secret to leave this process.
"""

from __future__ import annotations

import re

from sopskit.detectors import names, paths, values
from sopskit.format.recognize import AGE_RECIPIENT_RE, ENC_VALUE_RE

#: Inline comments that accept the secret on their line (ours, gitleaks's, detect-secrets's).
ALLOW_MARKERS = (b"sopskit:allow", b"gitleaks:allow", b"pragma: allowlist secret")

_HEX_HASH = re.compile(rb"(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{56}|[0-9a-f]{64}|[0-9a-f]{96}|[0-9a-f]{128})",
                       re.IGNORECASE)
_DIGEST = re.compile(rb"(?:sha1|sha224|sha256|sha384|sha512|md5)[-:][A-Za-z0-9+/=]{16,}", re.IGNORECASE)
#: ``rolling@sha256:<hex>``: an image tag pinned by digest, whatever words the image name holds
_TAG_DIGEST = re.compile(rb"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha(?:256|512):[0-9a-f]{64,128}")
_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
_DOTTED = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)+")
_CODE_LIKE = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:(?:\.|::)[A-Za-z_][A-Za-z0-9_]*)+|.*[()\[\]{}$@%]")
#: ``obj.method(arg`` or ``lower_name(arg``: the start of a call, so the "value" is code. The
#: name must look like code (a dot or underscore, or all lower case) and the argument must
#: start like a name or a quote, so passwords such as ``Hunter(2)`` are still reported.
_CALL_START = re.compile(
    rb"(?:[A-Za-z_][A-Za-z0-9_]*[._][A-Za-z0-9_.]*|[a-z_][a-z0-9_]{2,})\((?:[A-Za-z_)\"'*]|\Z)"
)
#: ``local.users[index(...``, ``var.tokens["x"]``: an expression that reads a value
_INDEXED_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_*][A-Za-z0-9_]*)+[\[(]")
#: ``dict[tuple[Any``, ``Mapping[str``: a generic type in an annotation
_SUBSCRIPT = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*\[[A-Za-z_][A-Za-z0-9_.]*(?:[,\[\]]|\Z)")
#: ``GetSecretValue|ssm:``: alternatives of a regular expression in source code
_ALTERNATION = re.compile(rb"[A-Za-z_][A-Za-z0-9_:*?.\\-]*(?:\|[A-Za-z_][A-Za-z0-9_:*?.\\-]*)+\|?")
#: ``dir/sub/file.ext``: a path to a file, not a credential
_FILE_PATH = re.compile(
    rb"(?:\./|~/)?(?:[A-Za-z0-9_.-]+/)+[A-Za-z0-9_.-]+\.[A-Za-z]{2,6}|(?:~)?/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+"
    rb"|\.[A-Za-z0-9_-]+/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+"  # .taskfiles/ExternalSecrets
    rb"|[A-Za-z0-9_.-]+\.(?:json|ya?ml|txt|pem|key|crt|cer|env|conf|cfg|ini|toml|xml|properties|p12|pfx|jks)"
    # ``/run/secrets/gh_token:ro``: a container mount target and its options (docker -v, compose)
    rb"|/(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+:(?:ro|rw|z|Z|cached|delegated|consistent|shared|slave|private"
    rb"|rshared|rslave|rprivate|nocopy)(?:,[A-Za-z]+)*"
)
#: ``hash:/etc/postfix/sasl_passwd``, ``lmdb:/var/db/x``: a lookup-table type and a file path
#: (Postfix ``*_maps`` settings), not a credential.
_TYPED_PATH = re.compile(rb"[a-z][a-z0-9]{1,15}:(?:/[A-Za-z0-9_.-]+)+/?")
_ENC_B = re.compile(ENC_VALUE_RE.pattern.encode())
_AGE_B = re.compile(AGE_RECIPIENT_RE.pattern.encode())
#: age public keys of every kind: X25519 ``age1…``, hybrid post-quantum ``age1pq1…`` and the
#: hardware tag recipients ``age1tag1…`` / ``age1tagpq1…`` (age 1.3). Recipients are public.
_AGE_PUBLIC = re.compile(values.AGE_RECIPIENT_PATTERN.encode())
_ARMOUR = re.compile(rb"-{3,5} ?(?:BEGIN|END)[^-\n]{0,60}-{3,5}")
#: Secrets at least this long are key blocks (PEM, OpenSSH, PGP): base64 bodies hold runs such
#: as ``AAAAAAAA`` (every ssh-keygen key has one) and, by chance, words like ``todo``, so only
#: markers that cannot occur in base64 make such a block a placeholder.
LONG_SECRET = 200
_LONG_PLACEHOLDER = (b"<", b">", b"{{", b"${", b"...", b"xxxxxxxx", b"your key", b"your_key", b"paste ")

#: The key a value is assigned to, read back from the line (the generic rule's own grammar).
_KEY_BEFORE = re.compile(
    rb"""([A-Za-z0-9_.$/-]+)["'`]?([ \t]+[A-Za-z][A-Za-z0-9_.]{0,20})?["'`]?[ \t]*"""
    rb"""(=|:=|::=|:::=|=>|\?=|\.=|:|,)[ \t]*["'`]?$"""
)
#: Keys that name, locate or describe a secret rather than hold it (``secretName``,
#: ``existingSecret``, ``tls-secret-name``, ``secretKeyRef``, ``passwordFile``...).
_REFERENCE_KEY = re.compile(
    rf"(?i)(?:^existing|(?:{names.POINTER_ALTERNATION}|secret_?ref)[\"'`]?$)".encode()
)
#: Keys whose value is usually a key *name* and sometimes the secret itself (``secretKey:
#: password`` in an ExternalSecret, ``secretKey: <random>`` for MinIO): decided by the value.
_AMBIGUOUS_KEY = re.compile(rb"(?i)(?:secret|password|passwd|token|credential|api)s?[_.-]?keys?[\"'`]?$")
_DIGEST_KEY = re.compile(rb"(?i)sha|md5|hash|checksum|digest|commit|integrity|fingerprint|etag|revision|sum$")
_DECLARATION_WORDS = frozenset({b"var", b"let", b"const", b"val", b"final", b"export", b"set", b"local", b"my",
                                b"our", b"def", b"private", b"public", b"static", b"readonly", b"declare"})
#: The key's last word only starts like a secret word: ``master-keying``, ``keyboard``,
#: ``tokenizer``, ``secretary``, ``passwordless`` name something else.
_NOT_SECRET_WORD = re.compile(
    rb"(?i)(?:key(?:ing|board|stroke|frame|pad)s?|tokeni[sz](?:e|er|ers|ed|ation)|secretar(?:y|ies|iat)"
    rb"|password(?:less|[_.-]?policy))[\"'`]?$"
)
#: A place secrets are kept, named as such: ``keyVaultToStoreSecrets``, ``bucketForSecrets``,
#: ``pathToTokens``. The head noun is the store; the secret word is its object, so the value
#: is the store's name or address.
_LOCATOR_KEY = re.compile(
    rb"(?i)(?:vault|store|bucket|path|dir|directory|folder|namespace|project|location|container|repo|"
    rb"repository|table|mount)[_.-]?(?:to|for|from|of|in|into|with)[_.-]?(?:store|save|keep|hold|read|load|"
    rb"fetch|get|put|write)?[_.-]?(?:secrets?|tokens?|passwords?|credentials?|keys?)[\"'`]?$"
)
#: ``clientCASecret: pg-ca``, ``replicationTLSSecret: pg-replication``: a Kubernetes API field
#: named ``<something>Secret`` holds the *name* of a Secret (CloudNativePG, cert-manager...).
_SECRET_FIELD = re.compile(rb"[A-Za-z0-9]Secret[\"'`]?$")
_DNS_NAME = re.compile(rb"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
#: ``secret: gitlab-s3-credentials`` (GitLab chart ``connection.secret``, many operators): a key
#: that is just ``secret`` holding a Kubernetes object name with a word that names a Secret
#: object. ``-secret``/``-password`` endings are not enough: Dex's ``staticClients[].secret:
#: oauth2-proxy-secret`` is the (weak) client secret itself.
_BARE_SECRET_KEY = re.compile(rb"(?i)(?:^|\.)secrets?[\"'`]?$")
_SECRET_OBJECT_NAME = re.compile(
    rb"[a-z0-9]+(?:-[a-z0-9]+)*-(?:credentials|creds|tls|certs?|keys|tokens)(?:-[a-z0-9]+)*"
)
#: A variable named as a deliberate fake (``nonMatchingToken``, ``invalidApiKey``,
#: ``fake_password``, ``mockSecret``): test code's wrong value on purpose, not a credential.
_STAND_IN_KEY = re.compile(
    rb"(?:^|[^A-Za-z])(?i:fake|dummy|mock|mocked|bogus|invalid|wrong|non[_-]?matching|mismatched|unmatched)[_.-]"
    rb"(?i:[a-z0-9_.-]*(?:password|passwd|secret|token|key|credentials?))[\"'`]?$"
    rb"|^(?:fake|dummy|mock|mocked|bogus|invalid|wrong|nonMatching|mismatched|unmatched)[A-Z0-9]"
    rb"|[a-z0-9](?:Fake|Dummy|Mock|Bogus|Invalid|Wrong|NonMatching|Mismatched|Unmatched)[A-Z0-9]"
)
#: Public by design (``publicToken``, ``publishableKey``), not a credential (CSRF tokens), or
#: only a piece or a masked view of one that identifies it (``partialToken``, ``maskedSecret``,
#: ``truncatedKey``: an API's listing of sessions or keys shows such a prefix, never the whole).
_NOT_CREDENTIAL_KEY = re.compile(rb"(?i)public|publishable|csrf|xsrf|partial|masked|truncated")
_VERSION = re.compile(rb"[0-9]+\.[0-9]+\.[0-9]+(?:[-+.][A-Za-z0-9.]+)?$")
_NAME_LIKE = re.compile(rb"[A-Za-z][A-Za-z0-9]*(?:[-_./:]{1,2}[A-Za-z0-9]+)*")
#: A word of a name that carries a number (``OAUTH2``, ``sha1``, ``b64``, ``v2``): letters, then
#: at most two digits. A random token's segments mix digits in anywhere.
_NUMBERED_WORD = re.compile(rb"[A-Za-z]+[0-9]{0,2}")
_URL_NO_CREDS = re.compile(rb"[a-z][a-z0-9+.-]*://[^@\s]*", re.IGNORECASE)
#: Files whose "secrets" are checksums or minified code: the generic rule does not run there.
_GENERIC_EXEMPT_PATH = re.compile(
    r"(?:^|/)(?:go\.sum|go\.work\.sum|package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|"
    r"poetry\.lock|Pipfile\.lock|uv\.lock|Cargo\.lock|Gemfile\.lock|composer\.lock|flake\.lock|mix\.lock|"
    r"pubspec\.lock|packages\.lock\.json|\.terraform\.lock\.hcl)$"
    r"|\.min\.(?:js|mjs|css)$|\.(?:js|css)\.map$"
)
def has_allow_comment(line: bytes) -> bool:
    """The line carries an inline allow marker."""
    return any(m in line for m in ALLOW_MARKERS)


def is_placeholder(secret: bytes) -> bool:
    """Template variables, documentation stand-ins and filler, not credentials (the shared
    vocabulary of :mod:`sopskit.detectors.values`, plus the key-block rules below)."""
    if b"PRIVATE KEY" in secret:  # a key block whose body is elided (``...``) or filler
        body = b"".join(_ARMOUR.sub(b"", secret).split()).replace(b"\\n", b"")
        if len(body) < 40 or values.is_elided_key_block(secret) or any(ch in body for ch in b"[]{}()*^$|"):
            return True  # elided, or a pattern describing keys (a schema's regex), not a key
    if len(secret) >= LONG_SECRET:
        low = secret.lower()
        return any(w in low for w in _LONG_PLACEHOLDER)
    return values.is_placeholder(secret.decode("latin-1"))


def is_public_material(value: bytes) -> bool:
    """Public halves that Secrets carry beside the private one (the shared rule:
    :func:`sopskit.detectors.values.is_public_material`)."""
    return values.is_public_material(value.decode("latin-1"))


def is_reference(secret: bytes) -> bool:
    """A pointer to a secret stored elsewhere (``op://``, ``ref+sops://``, ``{% ... %}``)."""
    return values.is_reference(secret.decode("latin-1"))


def in_reference_word(line: bytes, start: int, end: int) -> bool:
    """``... via urn:k8s:secret:redis-auth:password.``: the match lies inside a word of prose
    or code that is, as a whole, a reference (the generic rule cut it after ``secret:``), not a
    template."""
    left = max(line.rfind(b" ", 0, start), line.rfind(b"\t", 0, start)) + 1
    right = len(line)
    for sep in (b" ", b"\t"):
        found = line.find(sep, end)
        if found >= 0:
            right = min(right, found)
    word = line[left:right].strip(b"\"'`.,;()[]").decode("latin-1")
    # a template may wrap a literal (``${base64encode("user:pw")}``): judged as the value it holds
    return not values.is_templated(word) and values.is_whole_reference(word)


def is_plain_url(secret: bytes) -> bool:
    """A URL with no user info: for the generic rule an address, not a credential (a Secret's
    webhook URL is still reported by the Kubernetes check)."""
    return bool(_URL_NO_CREDS.fullmatch(secret))


def in_variable_default(line: bytes, start_in_line: int) -> bool:
    """``${SECRET_NFS_DIR:-/volume2}``, ``${TOKEN:=x}``: the "key" is a shell or Flux variable
    and the value its default, inside a substitution that the deployment fills in."""
    head = line[max(0, start_in_line - 200):start_in_line]
    return bool(_VARIABLE_DEFAULT.search(head))


_VARIABLE_DEFAULT = re.compile(rb"\$\{[A-Za-z_][A-Za-z0-9_]*(?::[-=?+]?|[-=?+])$")


_XML_OPEN = re.compile(rb"<([A-Za-z_][A-Za-z0-9_.:-]*)>\s*$")


def xml_element_name(head: bytes) -> bytes:
    """``<UserSecretsId>`` before a value (same line or the line above): the element's name is
    its key, so ``*Id``, ``*Name``... excuse it as they do an assignment's key."""
    m = _XML_OPEN.search(head[-300:])
    return m.group(1) if m else b""


#: ``<component arch="amd64" publicKeyToken="``: an XML or HTML attribute right before the value.
_ATTRIBUTE_BEFORE = re.compile(rb"""(?:^|[\s<])([A-Za-z_][A-Za-z0-9_.:-]*)=["']$""")


def attribute_key(line: bytes, start_in_line: int) -> bytes:
    """The attribute a quoted value belongs to, or empty: the generic key grammar would read
    the previous attribute's value (``"amd64" publicKeyToken``) as a key and a type word."""
    m = _ATTRIBUTE_BEFORE.search(line[max(0, start_in_line - 200):start_in_line])
    return m.group(1) if m else b""


def assigned_key(line: bytes, start_in_line: int) -> tuple[bytes, bytes]:
    """The key name a value at ``start_in_line`` is assigned to and the operator, or empty.

    A word between key and operator is a type (``var fooToken string = ...``) only before an
    ``=``-like operator; before ``:`` it is prose (``API Token https://...``): operator "prose".
    """
    attribute = attribute_key(line, start_in_line)
    if attribute:
        return attribute, b"="
    m = _KEY_BEFORE.search(line[max(0, start_in_line - 200):start_in_line])
    if m is None:
        return b"", b""
    if m.group(2) and m.group(3) in (b":", b","):
        return m.group(1), b"prose"
    if m.group(2) and m.group(1).lower() in _DECLARATION_WORDS:  # ``var fooToken = ...``
        return m.group(2).strip(), m.group(3)
    return m.group(1), m.group(3)


_KEY_WORD = re.compile(rb"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")


def echoes_key(key: bytes, value: bytes) -> bool:
    """``AWS_SECRET_ACCESS_KEY: secretkey``, ``KEY_ID: keyid``: the value only strings together
    two or more words of its own key (a documentation stand-in), not a credential. One word
    alone (``POSTGRES_PASSWORD: postgres``) is a weak password people really deploy: kept."""
    words = {w.lower() for w in _KEY_WORD.findall(key) if len(w) >= 2}
    low = re.sub(rb"[-_. ]", b"", value.lower())
    if len(low) < 4 or not words:
        return False
    # word break: parts[i] = fewest key words that make low[:i] (0 = impossible, except at 0)
    inf = len(low) + 1
    parts = [0] + [inf] * len(low)
    for i in range(1, len(low) + 1):
        parts[i] = min((parts[i - len(w)] + 1 for w in words if len(w) <= i and low[i - len(w):i] == w),
                       default=inf)
    return 2 <= parts[-1] < inf


#: ``?token=x&user=admin``: the start of the next query parameter (or a trailing ``&``)
_QUERY_NEXT = re.compile(rb"&(?:[A-Za-z_][A-Za-z0-9_.\[\]%-]*=|$)")


def query_value(secret: bytes) -> bytes:
    """The generic rule's value up to the next ``&name=`` of a URL query or form body: in
    ``token=x&type=LastHour`` the token is ``x`` (a real value's ``&`` is percent-encoded there)."""
    m = _QUERY_NEXT.search(secret)
    return secret[:m.start()] if m else secret


#: ``AUTOBRR__OIDC_CLIENT_SECRET``, ``SPRING_..._OAUTH2_CLIENT_ID``: an environment variable's
#: name (three or more upper-case words), set as the value of a key that says which variable or
#: Secret key to read; a random token is not made of upper-case words joined by underscores.
_ENV_NAME = re.compile(rb"[A-Z][A-Z0-9]*(?:_{1,2}[A-Z][A-Z0-9]*){2,}")
#: ``DB_PASSWORD``, ``ADMIN_TOKEN``: two upper-case words, one of them a credential word; the
#: name of the variable or Secret key that holds the value (``password: DB_PASSWORD`` in a chart
#: that reads an existing Secret), not a password.
_CREDENTIAL_VARIABLE = re.compile(
    rb"(?:[A-Z][A-Z0-9]*_{1,2})+(?:PASSWORD|PASSWD|PASS|SECRET|TOKEN|KEY|APIKEY|CREDENTIALS?)(?:_{1,2}[A-Z0-9]+)*"
    rb"|(?:PASSWORD|PASSWD|SECRET|TOKEN|APIKEY|CREDENTIALS?)(?:_{1,2}[A-Z][A-Z0-9]*)+"
)


def is_variable_name(value: bytes) -> bool:
    """An environment variable's or a Secret key's name given as the value (see
    :data:`_ENV_NAME`, :data:`_CREDENTIAL_VARIABLE`)."""
    value = value.strip()
    return bool((_ENV_NAME.fullmatch(value) or _CREDENTIAL_VARIABLE.fullmatch(value)) and is_name_like(value))


def is_name_like(value: bytes) -> bool:
    """``db-password``, ``AWS_SECRET_ACCESS_KEY``, ``app/tls.key``: a name, not random text
    (a single long run such as ``m8bgnrkuokcoyqqnqyccj51t`` is not a name)."""
    value = value.rstrip(b":=,")  # ``ADMIN_PASSWORD:`` quoted inside another value
    if not _NAME_LIKE.fullmatch(value):
        return False
    segments = [s for s in re.split(rb"[-_./:]", value) if s]
    digits = sum(ch in b"0123456789" for ch in value)
    if len(segments) == 1 and len(value) > 20:
        return digits == 0 and len(value) <= 48  # an identifier (``mockIdentityPassphrase``)
    if max(len(s) for s in segments) > 20:
        return False
    # ``password_sha1_b64``, ``SPRING_..._OAUTH2_CLIENT_SECRET``: three or more words, each
    # letters with at most a two-digit number after them
    return digits <= max(2, len(value) // 8) or (
        len(segments) >= 3 and all(_NUMBERED_WORD.fullmatch(s) and len(s) >= 2 for s in segments))


def generic_key_excuses(key: bytes, value: bytes, operator: bytes = b"") -> bool:
    """The key says the value names or describes a secret, or is a digest, not a credential.

    ``"SOME_TOKEN", "value"`` (a comma between two quoted strings) is an assignment only in a
    call such as ``setProperty``; a list of names (``"secret-a", "token-b"``) is not, so such a
    value must look random: a digit, and not name-like.
    """
    if operator == b"prose" or value.startswith(b"//") or _VERSION.search(value):
        return True
    if is_variable_name(value):
        return True
    no_digit = not any(ch in b"0123456789" for ch in value)
    if (operator == b"," or no_digit) and (is_name_like(value) or (operator == b"," and no_digit)):
        return True
    if not key:
        return False
    if (_NOT_CREDENTIAL_KEY.search(key) or _NOT_SECRET_WORD.search(key) or _LOCATOR_KEY.search(key)
            or _STAND_IN_KEY.search(key)):
        return True
    if _REFERENCE_KEY.search(key):
        return True
    if _AMBIGUOUS_KEY.search(key) and is_name_like(value):
        return True
    if _SECRET_FIELD.search(key) and b"-" in value and _DNS_NAME.fullmatch(value) and is_name_like(value):
        return True
    if names_secret_object(key, value):
        return True
    if echoes_key(key, value):
        return True
    return bool(_DIGEST_KEY.search(key)) and is_hash_or_id(value)


def names_secret_object(key: bytes, value: bytes) -> bool:
    """``secret: gitlab-s3-credentials``: the key is only ``secret`` and the value the name of a
    Secret object (lower-case, dashed, with a word such as ``credentials`` or ``tls``)."""
    return bool(_BARE_SECRET_KEY.search(key) and _SECRET_OBJECT_NAME.fullmatch(value) and is_name_like(value))


#: ``AgencyIdentificationCodeContentType``: three or more capitalised words, a type or field name.
_CAMEL_WORDS = re.compile(rb"[a-z]{0,12}(?:[A-Z][a-z]{2,}){3,}")


def is_qualified_name(value: bytes) -> bool:
    """``clm5:AgencyIdentificationCodeContentType``, ``ns.MyServiceAccountToken``: an XML
    qualified name or a dotted type whose longest part is a CamelCase identifier covering most
    of the value. Random text almost never holds sixteen characters of alternating
    ``Capital``-then-lower-case words."""
    parts = re.split(rb"[:./#]", value)
    longest = max(parts, key=len)
    return (len(parts) <= 3 and len(longest) >= 16 and len(longest) * 5 >= len(value) * 3
            and bool(_CAMEL_WORDS.fullmatch(longest)))


#: A Proxmox VE API token's ID, ``USER@REALM!TOKENID`` (``terraform@pve!provider``): it names
#: the token; the secret is a separate UUID, judged on its own.
_PROXMOX_TOKEN_ID = re.compile(rb"[A-Za-z0-9._-]{1,64}@[A-Za-z0-9._-]{1,32}![A-Za-z][A-Za-z0-9._-]{0,63}")


def is_token_id(value: bytes) -> bool:
    """A token's public identifier in a known ``USER@REALM!NAME`` form, not the token."""
    return bool(_PROXMOX_TOKEN_ID.fullmatch(value))


#: a template engine's suffix, or a copy-and-fill-in one (:data:`sopskit.detectors.paths.FILL_IN_SUFFIXES`)
_TEMPLATE_PATH = re.compile(
    r"\.(?:j2|jinja|jinja2|tpl|gotmpl|mustache|hbs|erb|skel|in)$|"
    + "|".join(re.escape(suffix) + "$" for suffix in paths.FILL_IN_SUFFIXES)
)


def is_template_path(path: str) -> bool:
    """``secret.sops.yaml.j2``: a template that renders the file sops will encrypt, or
    ``users.sops.yaml.example`` / ``.sample`` / ``.template``: a copy-and-fill-in starting point
    that an unanchored ``path_regex`` (one without ``$``) also matches. Either holds
    placeholders, so "not encrypted" is expected (its literal secrets are still regex findings)."""
    return bool(_TEMPLATE_PATH.search(path))


#: Source files of languages in which a bare word is a name, never a literal: a credential in
#: such code is a quoted string, so an unquoted value after ``=``/``:=`` is an expression
#: (``plan.Secrets = buildPlanSecrets(cfg)``, ``oldSecret := getSecretFn``). Shell, YAML, ``.env``
#: and config formats are not here: there a bare word IS the literal.
_CODE_PATH = re.compile(
    r"\.(?:go|py|pyi|js|mjs|cjs|jsx|ts|mts|cts|tsx|java|kt|kts|scala|groovy|cs|fs|rs|swift|dart|c|h|cc|cpp|cxx|hpp"
    r"|m|mm|rb|php|lua|ex|exs|erl|hs|ml|clj|cljs|vue|svelte)$"
)
#: Operators that assign in code (``=``, Go's ``:=``, ``=>``...), as :func:`assigned_key` reports them
_CODE_ASSIGNMENT = frozenset({b"=", b":=", b"=>", b"?=", b".=", b"::=", b":::="})
_COMMENT_START = (b"//", b"#", b"/*", b"*", b"--", b";", b"<!--", b"%")
_QUOTES = b"\"'`"


def is_code_path(path: str) -> bool:
    """A source file of a language whose bare words are names (see :data:`_CODE_PATH`)."""
    return bool(_CODE_PATH.search(path))


def is_bare_code_value(data: bytes, line: bytes, start_in_line: int, secret_start: int, secret_end: int) -> bool:
    """In source code, the value is an expression rather than a literal: not quoted, after an
    assignment operator (or after ``:`` of a struct/dict entry that a ``,``/``)``/``}`` ends),
    on a line that is not a comment (a comment may quote a config line, whose bare word is a
    literal). Only meaningful for :func:`is_code_path` files."""
    before = data[secret_start - 1:secret_start]
    if not before or before in _QUOTES:
        return False
    if line.lstrip().startswith(_COMMENT_START):
        return False
    key, operator = assigned_key(line, start_in_line)
    if not key or not is_expression(data[secret_start:secret_end]):
        return False
    if operator in _CODE_ASSIGNMENT:
        return True
    after = data[secret_end:secret_end + 1]
    return operator == b":" and after in (b",", b")", b"}")


_IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


def is_expression(value: bytes) -> bool:
    """What a bare value in code looks like: a call, an index or a member access (``(``,
    ``[``, ``.``), or an identifier made of words (``resolve1PasswordReferences``: words of three
    letters or more on average). A random token pasted unquoted, say in a ``.env`` fixture held
    by a raw string, is an identifier too but not one made of words, and stays a finding."""
    if any(ch in value for ch in b"([."):
        return True
    if not _IDENTIFIER.fullmatch(value):
        return False
    words = _KEY_WORD.findall(value)
    digit_words = sum(w.isdigit() for w in words)
    return len(words) >= 2 and digit_words <= 2 and len(value.replace(b"_", b"")) >= 3 * len(words)


def generic_exempt_path(path: str) -> bool:
    """Lock files, ``go.sum`` and minified code: checksums and machine-written text."""
    return bool(_GENERIC_EXEMPT_PATH.search(path))


def is_vendored(path: str) -> bool:
    """``vendor/``, ``node_modules/``, ``third_party/``...: other projects' code and fixtures
    (no regex rule runs there; the Kubernetes and SOPS checks still do)."""
    return paths.is_vendored(path)


def is_minified(data: bytes) -> bool:
    """Minified or bundled text: a few enormous lines (the generic rule is noise there)."""
    if len(data) < 4096:
        return False
    lines = data.count(b"\n") + 1
    return len(data) / lines > 1000


def is_hash_or_id(secret: bytes) -> bool:
    """Hex digests, ``sha512-…`` integrity strings, ``sha256:`` digests and UUIDs."""
    return bool(_HEX_HASH.fullmatch(secret) or _DIGEST.fullmatch(secret) or _UUID.fullmatch(secret)
                or (_UUID.search(secret) and len(secret) <= 40))


_HEX_RUN = re.compile(rb"[0-9a-f]+|[0-9A-F]+")


def is_mixed_hex(secret: bytes) -> bool:
    """Hex digits of one case with both letters and numbers (``3eecf72e…``): a random hex token."""
    return (bool(_HEX_RUN.fullmatch(secret)) and any(c in b"0123456789" for c in secret)
            and not secret.isdigit())


def is_self_describing_digest(secret: bytes) -> bool:
    """``sha256:…`` / ``sha512-…`` values and ``tag@sha256:…`` image pins say what they are,
    whatever the key is called."""
    return bool(_DIGEST.fullmatch(secret) or _TAG_DIGEST.fullmatch(secret))


def is_code_reference(secret: bytes) -> bool:
    """Code, not a value: ``os.environ.get`` style names, calls such as
    ``self._read(namespace``, relative file paths such as ``flux/secrets/db.yaml``, generic
    types (``dict[tuple[Any``) and regex alternatives (``GetSecretValue|ssm:``)."""
    if _CODE_LIKE.fullmatch(secret):
        # ``settings.SECRET_KEY`` is code; ``pk.eyJ1Ijo…`` (a dotted token, digits throughout) is not
        digits = sum(ch in b"0123456789" for ch in secret)
        if not _DOTTED.fullmatch(secret) or digits * 8 <= len(secret):
            return True
    return bool(_CALL_START.match(secret) or _FILE_PATH.fullmatch(secret) or _INDEXED_NAME.match(secret)
                or _SUBSCRIPT.match(secret) or _ALTERNATION.fullmatch(secret) or _TYPED_PATH.fullmatch(secret))


def is_sops_or_public(secret: bytes, line: bytes, start_in_line: int, end_in_line: int) -> bool:
    """Inside an ``ENC[...]`` value, or an age public key (``age1…``, ``age1pq1…``): safe by design."""
    if _AGE_B.search(secret) or _AGE_PUBLIC.match(secret) or b"ENC[AES256_GCM" in secret:
        return True
    return any(m.start() <= start_in_line and end_in_line <= m.end() for m in _ENC_B.finditer(line))
