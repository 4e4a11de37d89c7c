"""Detection for one piece of content: regex rules, Kubernetes checks, SOPS checks, filters.

Content is checked once however many paths it appears under (a history blob often has
several); only the path-dependent parts (allowlisted paths, ``.sops.yaml`` coverage,
kustomization references) run per path.
"""

from __future__ import annotations

import dataclasses
import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sopskit.detectors import names
from sopskit.detectors import values as vocab
from sopskit.format.recognize import is_enc_value
from sopskit.scan import b64, filters, kube, sopsaware
from sopskit.scan.engine import Match, Matcher, shannon_entropy
from sopskit.scan.findings import BlobFinding, fingerprint
from sopskit.scan.rules import Rule, RuleSet

#: Checks that are code, not regex rules: id -> description.
BUILTIN_RULES = {
    "kubernetes-secret": "Plaintext value in a Kubernetes Secret manifest (data/stringData)",
    "kustomize-secret-literal": "Literal in a Kustomize secretGenerator",
    "kustomize-secret-file": "File read by a Kustomize secretGenerator is not SOPS-encrypted",
    "sops-unencrypted-file": "File covered by a .sops.yaml creation rule has no sops metadata",
    "sops-plaintext-value": "Plaintext value that the file's sops rule says is encrypted",
    "manifest-password": "Password in a Kubernetes manifest or Helm values (any entropy)",
}

#: The secret-type priority used when two checks report the same text: provider rules first.
_PRIORITY_BUILTIN, _PRIORITY_GENERIC = 1, 2

BINARY_SNIFF = 8192


@dataclass
class DetectContext:
    """Everything detection needs besides the content; built once per scan."""

    matcher: Matcher
    ruleset: RuleSet
    creation_rules: sopsaware.CreationRuleIndex | None = None
    read_file: Callable[[str], bytes | None] | None = None  # repo-relative path -> content
    kubernetes: bool = True


@dataclass
class _Candidate:
    """A match before it becomes a fingerprint-only finding; its repr never shows the secret."""

    rule_id: str
    line: int
    secret: bytes = field(repr=False)
    priority: int
    span: tuple[int, int] = (-1, -1)
    rule: Rule | None = None
    match: bytes = field(default=b"", repr=False)
    line_text: bytes = field(default=b"", repr=False)
    #: a generic value that, in a source file, is an unquoted expression (see filters.is_bare_code_value)
    bare_code: bool = False


def is_binary(data: bytes) -> bool:
    return b"\0" in data[:BINARY_SNIFF]


def _line_text(data: bytes, line: int) -> bytes:
    """The 1-based ``line`` of ``data`` (built-in checks carry a line, not a span)."""
    pos = 0
    for _ in range(line - 1):
        pos = data.find(b"\n", pos) + 1
        if pos == 0:
            return b""
    end = data.find(b"\n", pos)
    return data[pos:len(data) if end < 0 else end]


def _line_bounds(data: bytes, pos: int) -> tuple[int, int]:
    start = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    return start, len(data) if end < 0 else end


#: The generic rules' shortest value (``{8,256}`` in their regexes): a query value cut shorter
#: than this is no finding.
_GENERIC_MIN = 8

#: A hex string draws on 16 symbols, so a random one scores at most 4 bits per character (about
#: 3.6 for 32 characters) against 5.95 for base64: the generic gate for hex is detect-secrets's
#: hex limit, 3.0, instead of the rule's 3.5 meant for mixed alphabets.
_HEX_GATE = 3.0


def _entropy_gate(rule: Rule, secret: bytes) -> float:
    if rule.is_generic and len(secret) >= 16 and filters.is_mixed_hex(secret):
        return min(rule.entropy, _HEX_GATE)
    return rule.entropy


def _content_filtered(m: Match, secret: bytes, line: bytes, line_start: int,
                      meta: tuple[int, int] | None, lineno: int, match: bytes = b"") -> bool:
    """Path-independent reasons a regex match is not a finding."""
    rule = m.rule
    if meta is not None and meta[0] <= lineno <= meta[1]:
        return True
    if filters.has_allow_comment(line):
        return True
    if filters.is_sops_or_public(secret, line, m.secret_start - line_start, m.secret_end - line_start):
        return True
    if filters.is_placeholder(secret):
        return True
    if rule.entropy and shannon_entropy(secret) < _entropy_gate(rule, secret):
        return True
    if not rule.is_generic:
        return False
    if (filters.is_self_describing_digest(secret) or filters.is_reference(secret) or filters.is_plain_url(secret)
            or filters.is_qualified_name(secret) or filters.is_token_id(secret)):
        return True
    if filters.in_variable_default(line, m.secret_start - line_start):
        return True
    if filters.in_reference_word(line, m.secret_start - line_start, m.secret_end - line_start):
        return True
    key, operator = filters.assigned_key(line, m.secret_start - line_start)
    if not key:
        key = filters.xml_element_name(match)
    return filters.generic_key_excuses(key, secret, operator) or filters.is_code_reference(secret)


def _regex_candidates(data: bytes, ctx: DetectContext, meta: tuple[int, int] | None) -> list[_Candidate]:
    out: list[_Candidate] = []
    lineno, counted = 1, 0
    sealed = kube.sealed_value_lines(data)
    for m in ctx.matcher.find(data):
        lineno += data.count(b"\n", counted, m.secret_start)
        counted = m.secret_start
        if lineno in sealed:
            continue
        ls, le = _line_bounds(data, m.secret_start)
        line, secret = data[ls:le], data[m.secret_start:m.secret_end]
        bare = False
        if m.rule.is_generic:
            value = filters.query_value(secret)  # ``token=x&user=admin``: the token is ``x``
            if len(value) != len(secret):
                if len(value) < _GENERIC_MIN:
                    continue
                m = dataclasses.replace(m, secret_end=m.secret_start + len(value))
                secret = value
            bare = filters.is_bare_code_value(data, line, m.secret_start - ls, m.secret_start, m.secret_end)
        if _content_filtered(m, secret, line, ls, meta, lineno, data[m.start:m.secret_start]):
            continue
        out.append(_Candidate(m.rule.id, lineno, secret, _PRIORITY_GENERIC if m.rule.is_generic else 0,
                              (m.secret_start, m.secret_end), m.rule, data[m.start:m.end], line, bare))
    return out


def _literal_ok(value: bytes) -> bool:
    return not (kube.is_templated(value) or is_enc_value(value.decode("utf-8", "replace"))
                or filters.is_placeholder(value) or filters.is_public_material(value)
                or filters.is_reference(value) or vocab.is_location(value.decode("latin-1")))


def _literal_values(values: list[sopsaware.PlainValue]) -> list[sopsaware.PlainValue]:
    """Values of a file under a sops rule that would leak something: not ``${VAR}`` / template
    slots, placeholders, user names or plain URLs (a file whose values are all such is no leak)."""
    return [v for v in values if _literal_ok(v.value) and not filters.is_plain_url(v.value)
            and not (v.path and (kube.is_identifying_key(str(v.path[-1]), v.value)
                                 or kube.is_location_or_id(str(v.path[-1]), v.value)))]


def _kubernetes_candidates(data: bytes) -> list[_Candidate]:
    values = kube.all_secret_values(data)
    # ``S3_ACCESS_KEY_ID`` beside ``S3_SECRET_ACCESS_KEY``: the pair's identifier half is no secret
    identifiers = names.key_pair_identifiers([v.key for v in values])
    out = []
    for v in values:
        if v.key in identifiers:
            continue
        decoded = b64.decode_value(v.value, short=True) if v.field == "data" else None
        plain = decoded if decoded is not None else v.value
        if decoded is not None and not _literal_ok(decoded.strip()):  # base64 of ${VAR}, ENC[...]
            continue
        if (kube.is_identifying_key(v.key, plain) or kube.is_structured_config(plain) or kube.is_example(v.key, plain)
                or filters.echoes_key(v.key.encode(), plain.strip())):
            continue
        if kube.is_setting(v.key, plain) or kube.is_empty_stub(plain) or kube.is_password_hash_list(plain):
            continue
        if kube.is_location_or_id(v.key, plain):
            continue
        if _literal_ok(v.value) and not (decoded is not None and filters.is_public_material(decoded)):
            out.append(_Candidate("kubernetes-secret", v.line, v.value, _PRIORITY_BUILTIN))
    return out


def _decoded_candidates(data: bytes, ctx: DetectContext) -> list[_Candidate]:
    """Provider-rule matches inside base64 values: a kubeconfig's ``client-key-data``, a
    Secret's ``data:`` entry, a PEM key pasted base64-encoded. Reported at the encoded value's
    line under the rule that matched the decoded text; the fingerprint is the decoded secret."""
    out: list[_Candidate] = []
    for enc in b64.encoded_values(data):
        for m in ctx.matcher.find(enc.decoded):
            if m.rule.is_generic:
                continue
            secret = enc.decoded[m.secret_start:m.secret_end]
            if filters.is_placeholder(secret) or (m.rule.entropy and shannon_entropy(secret) < m.rule.entropy):
                continue
            out.append(_Candidate(m.rule.id, enc.line, secret, 0, enc.span, m.rule,
                                  enc.decoded[m.start:m.end], data[enc.span[0]:enc.span[1]]))
    return out


def _password_candidates(data: bytes, path: str) -> list[_Candidate]:
    """Human passwords in Kubernetes manifests, Helm values and Terraform, whatever their entropy."""
    terraform = kube.is_terraform(path)
    if not ((kube.is_manifest_path(path) and kube.is_manifest(data)) or kube.is_helm_values(path) or terraform):
        return []
    # a Secret's data values are base64: the Kubernetes check decodes and judges those
    encoded = {v.line for v in kube.all_secret_values(data) if v.field == "data"}
    return [_Candidate("manifest-password", v.line, v.value, _PRIORITY_BUILTIN)
            for v in kube.find_password_values(data, assignments=terraform) if v.line not in encoded
            and _literal_ok(v.value) and not filters.is_code_reference(v.value)
            and not filters.echoes_key(v.key.encode(), v.value) and not filters.is_variable_name(v.value)]


#: The generic key = value rule: sopskit's own, or gitleaks's in a ``--config gitleaks.toml``.
_KEY_VALUE_RULES = ("generic-secret", "generic-api-key")


def _env_credential_candidates(data: bytes, path: str, ctx: DetectContext) -> list[_Candidate]:
    """``- name: API_TOKEN`` / ``value: <random>`` in a YAML file (a container's env, a Helm chart's
    ``env:`` list, a tool's ``fields:`` list such as Flemmarr's ``apiKey`` entries): the generic rule
    reads one line at a time, so it never pairs the name with the value below it. Judged as the
    generic rule judges ``API_TOKEN: <random>`` (entropy gate, placeholders, references), under
    its id; password names are the manifest-password check's."""
    generic = next((rule for rule in ctx.ruleset.rules if rule.id in _KEY_VALUE_RULES), None)
    if generic is None or not path.endswith((".yaml", ".yml", ".yaml.j2", ".yml.j2", ".yaml.tmpl")):
        return []
    out = []
    for v in kube.find_env_values(data):
        if (not names.is_credential_name(v.key) or names.is_public_name(v.key) or names.is_identifier_name(v.key)
                or kube.is_password_name(v.key)):
            continue
        secret = v.value
        if len(secret) < _GENERIC_MIN or not _literal_ok(secret) or filters.is_code_reference(secret):
            continue
        if generic.entropy and shannon_entropy(secret) < _entropy_gate(generic, secret):
            continue
        if (filters.is_self_describing_digest(secret) or filters.is_plain_url(secret)
                or filters.is_qualified_name(secret) or filters.generic_key_excuses(v.key.encode(), secret, b":")):
            continue
        decoded = b64.decode_value(secret, short=True)
        if decoded is not None and filters.is_name_like(decoded.strip()):
            continue  # base64 of a word (``Y29uY291cnNlLXdlYgo=``): no more random than the word
        out.append(_Candidate(generic.id, v.line, secret, _PRIORITY_GENERIC, rule=generic,
                              line_text=_line_text(data, v.line)))
    return out


def _generator_value_ok(key: str, value: bytes) -> bool:
    """A secretGenerator literal or env-file entry that would leak something: judged as a
    Secret's own entry is (``AWS_REGION=garage``, ``LOG_LEVEL=debug``, ``DB_USER=app`` are
    settings and identities, not credentials)."""
    return _literal_ok(value) and not (kube.is_identifying_key(key, value) or kube.is_setting(key, value)
                                       or kube.is_location_or_id(key, value))


def _kustomize_findings(data: bytes, path: str, ctx: DetectContext) -> list[BlobFinding]:
    refs = kube.find_generator_refs(data)
    out = [BlobFinding("kustomize-secret-literal", line, fingerprint(v), path)
           for line, key, v in refs.literals if _generator_value_ok(key, v)]
    if ctx.read_file is None:
        return out
    base = posixpath.dirname(path)
    for ref, as_env in [(f, False) for f in refs.files] + [(e, True) for e in refs.envs]:
        target = posixpath.normpath(posixpath.join(base, ref))
        content = ctx.read_file(target)
        if content is None or sopsaware.has_metadata(content) or is_binary(content):
            continue
        if as_env:
            out.extend(BlobFinding("kustomize-secret-file", line, fingerprint(v), target)
                       for line, key, v in kube.env_file_values(content) if _generator_value_ok(key, v))
        elif content.strip() and kube.config_may_hold_secret(content):
            out.append(BlobFinding("kustomize-secret-file", 1, fingerprint(content), target))
    return out


def _dedupe(cands: list[_Candidate]) -> list[_Candidate]:
    """One finding per secret occurrence: provider rule over built-in check over generic rule.

    Runs per path AFTER allowlists, so an allowlisted generic match never hides the specific
    rule's finding of the same text. A built-in check's value on a line where a provider rule
    matched (a Secret's ``data`` entry that decodes to a private key) is that provider finding.
    """
    cands = sorted(cands, key=lambda c: c.priority)
    provider_lines = {c.line for c in cands if c.priority == 0}
    provider_text = [b"".join(c.secret.split()) for c in cands if c.priority == 0]
    kept: list[_Candidate] = []
    seen: set[tuple[int, bytes]] = set()
    for c in cands:
        if (c.line, c.secret) in seen:
            continue
        if c.priority == _PRIORITY_BUILTIN and (
                c.line in provider_lines or any(b"".join(c.secret.split()) in s for s in provider_text)):
            continue
        if c.span[0] >= 0 and any(k.span[0] >= 0 and c.span[0] < k.span[1] and k.span[0] < c.span[1]
                                  for k in kept):
            continue
        seen.add((c.line, c.secret))
        kept.append(c)
    return kept


def _allowed(c: _Candidate, ruleset: RuleSet, path: str, commit: str | None) -> bool:
    lists = (*(c.rule.allowlists if c.rule else ()), *ruleset.allowlists)
    return any(a.allows(secret=c.secret, match=c.match, line=c.line_text, path=path, commit=commit)
               for a in lists)


def detect(data: bytes, paths: Sequence[str], ctx: DetectContext, *,
           commit: str | None = None) -> tuple[list[BlobFinding], str | None]:
    """Findings in ``data`` for each of ``paths``, and why the content was skipped (or None)."""
    results: list[BlobFinding] = []
    encrypted = sopsaware.has_metadata(data)
    if not encrypted and ctx.creation_rules is not None:
        for path in paths:
            covering = ctx.creation_rules.rule_for(path)
            if (covering is None or sopsaware.is_non_secret_manifest(data) or filters.is_public_material(data)
                    or filters.is_template_path(path)):
                continue
            selected = sopsaware.selected_values(data, path, covering.selection)
            if selected is None or _literal_values(selected):
                line = selected[0].line if selected else 1
                results.append(BlobFinding("sops-unencrypted-file", line, fingerprint(data), path))
    if is_binary(data):
        return results, "binary"
    meta = sopsaware.metadata_line_range(data) if encrypted else None
    cands = _regex_candidates(data, ctx, meta)
    # decoded even in a sops file: a plaintext value added beside ENC[...] values is still a leak
    cands.extend(c for c in _decoded_candidates(data, ctx)
                 if meta is None or not meta[0] <= c.line <= meta[1])
    if ctx.kubernetes:
        # a Secret's data/stringData lines are judged by the Kubernetes check (which decodes and
        # knows templates), not by the generic rule
        owned = {v.line for v in kube.all_secret_values(data)}
        cands = [c for c in cands if not (c.priority == _PRIORITY_GENERIC and c.line in owned)]
        cands.extend(_kubernetes_candidates(data))
    minified = filters.is_minified(data)
    for path in paths:
        here = list(cands)
        if ctx.kubernetes and not encrypted:
            here.extend(_password_candidates(data, path))
            here.extend(_env_credential_candidates(data, path, ctx))
        exempt = minified or filters.generic_exempt_path(path)
        vendored = filters.is_vendored(path)
        code = filters.is_code_path(path)
        kept = [c for c in here
                if not (vendored and c.rule is not None)
                if not (code and c.bare_code)
                if not (c.rule is None and filters.has_allow_comment(_line_text(data, c.line)))
                and not (c.rule is not None and c.rule.path is not None and not c.rule.path.search(path))
                and not (exempt and c.priority == _PRIORITY_GENERIC)
                and not _allowed(c, ctx.ruleset, path, commit)]
        for c in _dedupe(kept):
            results.append(BlobFinding(c.rule_id, c.line, fingerprint(c.secret), path,
                                       c.priority == _PRIORITY_GENERIC, c.span))
        if ctx.kubernetes and kube.is_kustomization(path):
            results.extend(_kustomize_findings(data, path, ctx))
        if encrypted:
            results.extend(BlobFinding("sops-plaintext-value", v.line, fingerprint(v.value), path)
                           for v in sopsaware.plaintext_values(data, path))
    # Path-only gitleaks rules (a rule with `path` and no `regex`): the file itself is the finding.
    for path_rule in ctx.ruleset.rules:
        if path_rule.regex is None and path_rule.path is not None:
            results.extend(BlobFinding(path_rule.id, 1, fingerprint(data), p)
                           for p in paths if path_rule.path.search(p))
    return results, None
