"""Terraform checks, on ``.tf`` files with a small block reader (no HCL dependency).

``terraform-secret-default``: a ``variable`` whose name looks secret (password, token, ...) and
whose ``default`` is a non-empty literal string: the value sits in Git.
``terraform-sensitive-output``: an ``output`` without ``sensitive = true`` whose name looks secret
or whose ``value`` references a secret-looking attribute (``random_password.x.result``,
``aws_db_instance.x.password``, ``var.db_password``): Terraform prints it in plan/apply logs.
An output whose value is a local module's output (``module.x`` or ``module.x.out``, with
``source = "./modules/x"``) is judged by that module's own outputs: the name ``secrets`` says
little when every output of the module is an item ID. A registry module is not read: its
output is judged by the names alone, as before.
An output named as public by design (``client_id``, ``username``, ``public_key``, ``url``)
needs no flag even when ``random_password`` makes its value (an OIDC client ID generated at
random is still an identifier), nor does the access key of an S3-style pair whose secret key
is an output beside it (``minio_access_key`` and ``minio_secret_key``: the access key is an ID,
like AWS's access key ID). Names with a word such as ``name``, ``arn``, ``id`` point at a
secret, they are not one;
so does a variable whose ``description`` says it is a path, a file or a name ("Path for SSH
private key", "Crypto key name to create").
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from sopskit.detectors import names, values
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.credentials_in_text import is_placeholder
from sopskit.policy.repo import RepoFile
from sopskit.policy.results import Violation

_BLOCK = re.compile(r'(?m)^[ \t]*(variable|output|module)[ \t]+"([^"]+)"[ \t]*\{')
#: an output whose whole value is a module's output(s): ``module.db``, ``module.db.password``,
#: ``module.secrets["x"].id``
_MODULE_VALUE = re.compile(r'^module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?(?:\.([A-Za-z_][\w-]*))?\s*(?:#.*|//.*)?$')
_SOURCE = re.compile(r'(?m)^[ \t]*source[ \t]*=[ \t]*"(\.{1,2}/[^"]*)"')
#: ciphertext for a PGP key (aws_iam_access_key's ``encrypted_secret``, aws_iam_user_login_profile's
#: ``encrypted_password``, the ``*_pgp_message`` of modules built on them): safe to print
_CIPHERTEXT = re.compile(r"(?i)(?:^|[_-])(?:encrypted|pgp[_-]?message)(?:[_-]|$)")
_DESCRIPTION = re.compile(r'(?m)^[ \t]*description[ \t]*=[ \t]*"([^"]*)"')
#: a description saying the variable locates a secret rather than holds it ("Path for SSH private key")
_POINTER_DESCRIPTION = re.compile(
    r"(?i)^\s*(?:the\s+|a\s+)?(?:(?:local\s+)?path|file\s*(?:name|path)?|filename|location|directory|name)\b|"
    r"\b(?:path|location)\s+(?:to|of|for|where)\b|\bfile\s+(?:containing|with|holding)\b|\bname\s+of\b"
)
#: a description saying the variable holds a secret's NAME or ID ("Crypto key name to create",
#: "KMS key ID"): a resource identifier, not key material
_NAMING_DESCRIPTION = re.compile(r"(?i)\b(?:key|secret|token|password|credential)s?\s+(?:name|id|identifier)s?\b")
_REFERENCE = re.compile(r"\b([A-Za-z_][\w-]*(?:\.[A-Za-z_*][\w-]*|\[[^\]]*\])+)")
_DEFAULT = re.compile(r"(?m)^[ \t]*default[ \t]*=[ \t]*(.*)$")
_VALUE = re.compile(r"(?m)^[ \t]*value[ \t]*=[ \t]*(.*)$")
_SENSITIVE = re.compile(r"(?m)^[ \t]*sensitive[ \t]*=[ \t]*true\b")
_LITERAL = re.compile(r'^"((?:[^"\\]|\\.)+)"')


@dataclass(frozen=True)
class _Block:
    kind: str
    name: str
    body: str
    body_offset: int


def is_secret_name(name: str) -> bool:
    """``db_password``, ``api_token``; not ``password_length`` nor ``secret_arn`` (the shared
    key vocabulary of :mod:`sopskit.detectors.names`)."""
    return names.is_credential_name(name)


def _blocks(text: str) -> Iterator[_Block]:
    for match in _BLOCK.finditer(text):
        start = match.end()
        end = _matching_brace(text, start)
        yield _Block(match.group(1), match.group(2), text[start:end], start)


def _matching_brace(text: str, start: int) -> int:
    """Index of the ``}`` closing the block whose body starts at ``start`` (strings, comments
    and heredocs skipped); end of text for an unterminated block."""
    depth, i, n = 1, start, len(text)
    while i < n:
        char = text[i]
        if char == '"':
            i = _end_of_string(text, i + 1)
        elif char == "#" or text.startswith("//", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 1
        elif text.startswith("<<", i) and (heredoc := re.match(r"<<-?([A-Z_][A-Z0-9_]*)\n", text[i:])):
            terminator = re.compile(rf"(?m)^[ \t]*{heredoc.group(1)}[ \t]*$").search(text, i + heredoc.end())
            i = n if terminator is None else terminator.end()
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return n


def _end_of_string(text: str, i: int) -> int:
    interpolation = 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if text.startswith("${", i):
            interpolation += 1
            i += 2
            continue
        if char == "}" and interpolation:
            interpolation -= 1
        elif char == '"' and not interpolation:
            return i
        elif char == "\n" and not interpolation:
            return i  # unterminated: stop at the line end rather than swallow the file
        i += 1
    return i


def _tf_files(ctx: CheckContext) -> Iterator[tuple[RepoFile, str]]:
    for file in ctx.repo.files:
        if file.rel.endswith(".tf") and file.text is not None:
            yield file, file.text


_LOCALS = re.compile(r"(?m)^[ \t]*locals[ \t]*\{")
#: ``db_password = "literal"`` at the top of a ``locals`` block
_LOCAL_LITERAL = re.compile(r'(?m)^[ \t]*([A-Za-z_][\w-]*)[ \t]*=[ \t]*("(?:[^"\\\n]|\\.)*")[ \t]*(?:#.*|//.*)?$')


_QUOTED = re.compile(r'"(?:[^"\\\n]|\\.)*"')


def _depth(body: str, offset: int) -> int:
    """How deep ``offset`` sits in ``{}``/``[]``/``()`` nesting of ``body`` (strings skipped): a
    local's own assignment is at depth 0, a key of a map it builds is deeper."""
    head = _QUOTED.sub("", body[:offset])
    return sum(head.count(c) for c in "{[(") - sum(head.count(c) for c in "}])")


def _secret_locals(file: RepoFile, text: str) -> Iterator[Violation]:
    """``locals { db_password = "..." }``: a literal under a secret name is as committed as a
    variable's default."""
    for match in _LOCALS.finditer(text):
        start = match.end()
        body = text[start:_matching_brace(text, start)]
        top = [local for local in _LOCAL_LITERAL.finditer(body) if _depth(body, local.start()) == 0]
        identifiers = names.key_pair_identifiers([local.group(1) for local in top])
        for local in top:
            name, literal = local.group(1), local.group(2)[1:-1]
            if not is_secret_name(name) or not literal or "${" in literal or names.is_public_name(name):
                continue
            if name in identifiers:
                continue  # the access key of a key pair beside its secret half: an identifier
            if is_placeholder(literal) or values.is_public_material(literal):
                continue
            yield Violation(
                TERRAFORM_SECRET_DEFAULT.id,
                file.rel,
                file.line_of_offset(start + local.start(2)),
                f"local {name!r} looks secret and is a literal string, so the value is in Git",
                "read it from a variable without a default (TF_VAR_" + name + ", a secret store, or a "
                "sops-encrypted tfvars file via the carlpett/sops provider), and rotate the value",
            )


#: a lower-case word or snake/kebab-case name
_WORD_NAME = re.compile(r"[a-z]+(?:[_-][a-z]+)*")


def _names_its_kind(literal: str) -> bool:
    """A default that only names the kind of value expected (``"password"``, ``"api_token"``):
    a label left for the tfvars file, not a credential."""
    text = literal.strip("\"'")
    return bool(_WORD_NAME.fullmatch(text)) and names.is_credential_name(text)


def _secret_defaults(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(TERRAFORM_SECRET_DEFAULT.id, 0)
    for file, text in _tf_files(ctx):
        ctx.count(TERRAFORM_SECRET_DEFAULT.id)
        yield from _secret_locals(file, text)
        blocks = list(_blocks(text))
        # ``minio_access_key`` beside ``minio_secret_key``: the access key is the pair's user name
        identifiers = names.key_pair_identifiers([b.name for b in blocks if b.kind == "variable"])
        for block in blocks:
            if block.kind != "variable" or not is_secret_name(block.name) or block.name in identifiers:
                continue
            default = _DEFAULT.search(block.body)
            if default is None:
                continue
            literal = _LITERAL.match(default.group(1).strip())
            if literal is None or "${" in literal.group(1) or _names_its_kind(literal.group(1)):
                continue
            if values.is_public_material(literal.group(1)):
                continue  # ssh_key = "ssh-ed25519 AAAA...": the public half, published by design
            description = _DESCRIPTION.search(block.body)
            if description is not None and (_POINTER_DESCRIPTION.search(description.group(1))
                                            or _NAMING_DESCRIPTION.search(description.group(1))):
                continue  # e.g. ssh_private_key = "identity", described as the key's path
            yield Violation(
                TERRAFORM_SECRET_DEFAULT.id,
                file.rel,
                file.line_of_offset(block.body_offset + default.start(1)),
                f"variable {block.name!r} looks secret and has a literal default, so the value is in Git",
                "remove the default (pass it with TF_VAR_" + block.name + " or a sops-encrypted tfvars file "
                "via the carlpett/sops provider), mark the variable `sensitive = true`, and rotate the value",
            )


def _directory_blocks(ctx: CheckContext) -> dict[str, list[_Block]]:
    """Every Terraform directory (a module) and its blocks, across its ``.tf`` files."""
    blocks: dict[str, list[_Block]] = {}
    for file, text in _tf_files(ctx):
        blocks.setdefault(posixpath.dirname(file.rel), []).extend(_blocks(text))
    return blocks


def _local_module(modules: dict[str, list[_Block]], directory: str, name: str) -> str | None:
    """The directory of module ``name`` called from ``directory``; None when it is not a local
    module of this repository (a registry or Git source is not read)."""
    call = next((b for b in modules.get(directory, []) if b.kind == "module" and b.name == name), None)
    source = _SOURCE.search(call.body) if call is not None else None
    if source is None:
        return None
    target = posixpath.normpath(posixpath.join(directory, source.group(1)))
    return target if target in modules else None


def _module_reason(modules: dict[str, list[_Block]], directory: str, expression: str,
                   depth: int = 0) -> str | Literal[False] | None:
    """For an output whose value is a local module's output: why it needs ``sensitive = true``
    (None: it does not), judged on the module's own outputs; False when the value is not such a
    reference (the caller judges it by its name and expression)."""
    match = _MODULE_VALUE.match(expression.strip())
    target = _local_module(modules, directory, match.group(1)) if match and depth < 8 else None
    if match is None or target is None:
        return False
    wanted = [b for b in modules[target] if b.kind == "output" and match.group(2) in (None, b.name)]
    if not wanted:
        return False
    identifiers = names.key_pair_identifiers([b.name for b in modules[target] if b.kind == "output"])
    for output in wanted:
        if _SENSITIVE.search(output.body):
            return "a sensitive module output"  # Terraform refuses such a plan: say so
        value = _VALUE.search(output.body)
        inside = value.group(1) if value else ""
        nested = _module_reason(modules, target, inside, depth + 1)
        if nested is False:
            reason = _secret_reason(output.name, inside, identifier=output.name in identifiers)
        else:
            reason = nested if isinstance(nested, str) else None
        if reason:
            return f"{reason} (module output {match.group(1)}.{output.name})"
    return None


def _unmarked_outputs(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(TERRAFORM_SENSITIVE_OUTPUT.id, 0)
    modules = _directory_blocks(ctx)
    for file, text in _tf_files(ctx):
        ctx.count(TERRAFORM_SENSITIVE_OUTPUT.id)
        blocks = list(_blocks(text))
        identifiers = names.key_pair_identifiers([b.name for b in blocks if b.kind == "output"])
        for block in blocks:
            if block.kind != "output" or _SENSITIVE.search(block.body):
                continue
            value = _VALUE.search(block.body)
            expression = value.group(1) if value else ""
            followed = _module_reason(modules, posixpath.dirname(file.rel), expression)
            if followed is False:
                reason = _secret_reason(block.name, expression, identifier=block.name in identifiers)
            else:
                reason = followed if isinstance(followed, str) else None
            if reason is None:
                continue
            line_offset = block.body_offset + (value.start(1) if value else 0)
            yield Violation(
                TERRAFORM_SENSITIVE_OUTPUT.id,
                file.rel,
                file.line_of_offset(line_offset),
                f"output {block.name!r} exposes {reason} but is not marked sensitive",
                "add `sensitive = true` to the output block (Terraform then redacts it in plan/apply output)",
            )


def _secret_reason(name: str, expression: str, identifier: bool = False) -> str | None:
    """Why output ``name`` with value ``expression`` needs ``sensitive = true``; None if not.
    An output named as public by design (``client_id``, ``db_username``, ``issuer_url``,
    ``public_key``: :func:`sopskit.detectors.names.is_public_name`) may take its value from
    ``random_password``, and ``tls_private_key``'s ``public_key_*`` attributes are public.
    An ``identifier`` (a key pair's access key, :func:`sopskit.detectors.names.key_pair_identifiers`) is judged by its
    value alone, and access-key names in that value are identifiers too."""

    def secret(word: str) -> bool:
        return is_secret_name(word) and not (identifier and names.ACCESS_KEY_ID.match(word))

    if secret(name) and not _CIPHERTEXT.search(name):
        return "a secret-looking value"
    public = names.is_public_name(name)
    for reference in _REFERENCE.findall(expression):
        parts = [p for p in re.split(r"[.\[\]]", reference) if p]
        if parts[0] in {"random_password", "tls_private_key"}:
            if public or names.PUBLIC_KEY_NAME.search(parts[-1]):
                continue
            return f"{parts[0]} material"
        last = parts[-1].strip('"')
        if _CIPHERTEXT.search(last):
            continue
        if secret(last) or (parts[0] == "var" and len(parts) > 1 and secret(parts[1])):
            return "a secret-looking attribute"
    return None


TERRAFORM_SECRET_DEFAULT = Check(
    id="terraform-secret-default",
    title="Terraform variable with a secret-looking name and a literal default",
    catches='variable "db_password" { default = "..." } and the like: the default value is committed.',
    fix="Drop the default and supply the value at plan time (TF_VAR_name, a secret store, or a "
    "sops-encrypted tfvars file); mark the variable sensitive; rotate the committed value.",
    run=_secret_defaults,
)
TERRAFORM_SENSITIVE_OUTPUT = Check(
    id="terraform-sensitive-output",
    title="Terraform output of a secret value not marked sensitive",
    catches="An output whose name or value expression is secret-looking (random_password, *.password, "
    "var.*_token, tls_private_key) without sensitive = true, so it is printed in CI logs.",
    fix="Add sensitive = true to the output block.",
    run=_unmarked_outputs,
)
