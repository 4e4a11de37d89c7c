"""Checks inside SOPS-encrypted YAML/JSON files, read with the file's own selection rule.

``sops-plaintext-value``: a value that the file's own rule (``encrypted_regex``,
``unencrypted_suffix`` ... as stored in its ``sops`` block; the ``_unencrypted`` suffix when none
is stored) says is encrypted, but which is plaintext. That is what editing an encrypted file by
hand leaves (a new password typed next to the ``ENC[...]`` values); sops then refuses the file
(MAC mismatch) or, worse, someone re-encrypts it with the plaintext already pushed.

It also catches a credential that the rule leaves out: a value under a credential key
(``cloudflare_api_token``, ``adminPassword``) that the selection does not cover while it does encrypt
other values of the file, e.g. ``encrypted_regex: ^(password|token)$`` beside an ``api_token``
(the anchors make the regex miss it). The author meant the file to protect its credentials; this
one is pushed in plaintext. Only selections that name what to encrypt (``encrypted_regex``,
``encrypted_suffix``) are read this way: a key left out by ``unencrypted_regex`` or the
``_unencrypted`` suffix was left out on purpose. Identifiers, user names and public material under such keys
(``client_id``, ``ssh_public_key``, a certificate) are not credentials and are not reported.

``sops-selection-encrypts-nothing``: an encrypted file in which the rule selects no value at all,
e.g. ``encrypted_regex: ^(data|stringData)$`` over a ConfigMap or a HelmRelease: the file looks
protected (it has a ``sops`` block) and holds only plaintext.

Files whose rule is a comment regex are not judged (comments are not tracked here); they are
listed as "not checked" in the verbose report. ``null`` values and empty strings are never
encrypted by sops (aes/cipher.go: ``Encrypt`` returns ``""`` for an empty value), so they are
never findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from sopskit.detectors import names, values
from sopskit.errors import SopsError
from sopskit.format.recognize import is_enc_value
from sopskit.format.selection import SELECTION_OPTIONS, SelectionRules
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext
from sopskit.policy.credentials_in_text import is_credential
from sopskit.policy.repo import RepoFile
from sopskit.policy.results import Violation
from sopskit.policy.yamldocs import YamlDocument, parse_yaml_documents

_COMMENT_OPTIONS = ("unencrypted_comment_regex", "encrypted_comment_regex")


@dataclass(frozen=True)
class _Leaf:
    path: tuple[str, ...]
    value: str | None
    line: int


def _leaves(node: yaml.Node, path: tuple[str, ...]) -> Iterator[_Leaf]:
    """Every value of a document but its ``sops`` block; an empty mapping or sequence
    (``stringData: {}``) is a leaf without a value, so a rule that selects it counts as selecting."""
    if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.value and path:
        yield _Leaf(path, None, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = str(key.value) if isinstance(key, yaml.ScalarNode) else ""
            if not path and name == "sops":
                continue
            yield from _leaves(value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _leaves(item, path)
    elif isinstance(node, yaml.ScalarNode):
        # null and "" stay as they are in every sops file (nothing to encrypt)
        is_empty = node.value == "" or (
            node.tag == "tag:yaml.org,2002:null" or (node.style is None and node.value in ("~", "null"))
        )
        yield _Leaf(path, None if is_empty else str(node.value), node.start_mark.line + 1)


def _rules(metadata: Any) -> SelectionRules | str | None:
    """The file's selection rule; ``"comment"`` for comment rules; None when unreadable."""
    if not isinstance(metadata, dict):
        return None
    options = {k: str(metadata[k]) for k in SELECTION_OPTIONS if metadata.get(k)}
    if any(k in options for k in _COMMENT_OPTIONS):
        return "comment"
    try:
        return SelectionRules.from_options(dict(options))
    except SopsError:
        return None


def _documents(file: RepoFile) -> tuple[YamlDocument, ...]:
    if file.rel.endswith(".json") and file.text is not None:
        return parse_yaml_documents(file.text).documents
    parsed = file.yaml
    return parsed.documents if parsed is not None else ()


def _encrypted_structured(ctx: CheckContext) -> Iterator[tuple[RepoFile, list[tuple[YamlDocument, SelectionRules]]]]:
    for file in ctx.repo.files:
        if not file.is_encrypted or not file.rel.endswith((".yaml", ".yml", ".json")):
            continue
        docs: list[tuple[YamlDocument, SelectionRules]] = []
        for doc in _documents(file):
            if not isinstance(doc.data, dict) or "sops" not in doc.data:
                continue
            rules = _rules(doc.data.get("sops"))
            if rules == "comment":
                ctx.note(SOPS_PLAINTEXT_VALUE.id, f"not checked: {file.rel}: selection by comment regex")
                docs = []
                break
            if isinstance(rules, SelectionRules):
                docs.append((doc, rules))
        if docs:
            yield file, docs


#: a status or marker word (``provisioned``, ``managed-by-operator``): what an annotation or a
#: label says about the object
_STATUS_WORDS = re.compile(r"[a-z]+(?:[-_][a-z]+)*")


def _credential_left_out(leaf: _Leaf, siblings: list[str]) -> bool:
    """A plaintext value the selection does not cover that is a credential by its key and its
    value: not an identifier, a user name or public material, nor the access-key half of an
    S3-style pair whose secret half sits beside it."""
    key = leaf.path[-1] if leaf.path else ""
    value = leaf.value or ""
    if leaf.path[:2] in (("metadata", "annotations"), ("metadata", "labels")) and _STATUS_WORDS.fullmatch(value):
        return False  # ``example.org/credentials: provisioned``: a marker on the object, not a credential
    if not names.is_credential_name(key) or names.is_public_name(key) or names.is_identifier_name(key):
        return False
    if values.is_public_material(value) or key in names.key_pair_identifiers(siblings):
        return False
    return is_credential(key, value)


def _plaintext_values(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(SOPS_PLAINTEXT_VALUE.id, 0)
    for file, docs in _encrypted_structured(ctx):
        ctx.count(SOPS_PLAINTEXT_VALUE.id)
        for doc, rules in docs:
            leaves = [leaf for leaf in _leaves(doc.node, ()) if leaf.value is not None]
            if not any(is_enc_value(leaf.value or "") for leaf in leaves):
                continue  # nothing encrypted at all: the other check's finding
            siblings: dict[tuple[str, ...], list[str]] = {}
            for leaf in leaves:
                siblings.setdefault(leaf.path[:-1], []).append(leaf.path[-1] if leaf.path else "")
            for leaf in leaves:
                if is_enc_value(leaf.value or ""):
                    continue
                where = ":".join(leaf.path) or "the top level"
                if rules.should_encrypt(list(leaf.path), [], False):
                    yield Violation(
                        SOPS_PLAINTEXT_VALUE.id,
                        file.rel,
                        leaf.line,
                        f"value at {where} is plaintext, but the file's own rule ({rules.option}: {rules.pattern}) "
                        "encrypts it: it was added by hand beside the ENC[...] values",
                        f"open the file with `sops {file.rel}` (or `sopskit edit`) and save it, so the value is "
                        "encrypted; rotate it if it was pushed",
                    )
                elif rules.option.startswith("encrypted_") and _credential_left_out(
                    leaf, siblings.get(leaf.path[:-1], [])
                ):
                    yield Violation(
                        SOPS_PLAINTEXT_VALUE.id,
                        file.rel,
                        leaf.line,
                        f"credential at {where} is plaintext: the file's rule ({rules.option}: {rules.pattern}) "
                        "encrypts other values but not this one",
                        "widen the creation rule's selection in .sops.yaml to cover this key, then decrypt and "
                        f"encrypt `{file.rel}` again (updatekeys keeps the old selection); rotate the value if "
                        "it was pushed",
                    )


#: top-level fields that say what an object is, never what it holds
_NAMING_FIELDS = (("apiVersion",), ("kind",), ("metadata",), ("type",))


def _encrypts_nothing(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(SOPS_SELECTION_ENCRYPTS_NOTHING.id, 0)
    for file, docs in _encrypted_structured(ctx):
        ctx.count(SOPS_SELECTION_ENCRYPTS_NOTHING.id)
        every = [leaf for doc, _ in docs for leaf in _leaves(doc.node, ())]
        leaves = [leaf for leaf in every if leaf.value is not None]
        if not leaves or any(is_enc_value(leaf.value or "") for leaf in leaves):
            continue
        rules = docs[0][1]
        if any(rules.should_encrypt(list(leaf.path), [], False) for leaf in every):
            continue  # it selects values (empty ones, ``stringData: {}`` too, stay as they are)
        if all(leaf.path[:1] in _NAMING_FIELDS for leaf in leaves):
            # only what names the object (``kind: Secret`` and no data yet; a service-account-token
            # Secret whose ``type`` asks the cluster to fill it in): nothing to protect
            continue
        yield Violation(
            SOPS_SELECTION_ENCRYPTS_NOTHING.id,
            file.rel,
            None,
            f"SOPS file whose rule ({rules.option}: {rules.pattern}) selects none of its values: it carries a "
            "sops block but every value is plaintext",
            "fix the creation rule's encrypted_regex for this path (or do not encrypt a file that holds no "
            "secret), then re-encrypt it",
        )


SOPS_PLAINTEXT_VALUE = Check(
    id="sops-plaintext-value",
    title="Plaintext value inside a SOPS-encrypted file",
    catches="In a SOPS-encrypted YAML/JSON file, a value that the file's own selection rule (stored in its "
    "sops block) encrypts but that is not ENC[...]: added by hand after encryption.",
    fix="Edit the file through sops so the value is encrypted; rotate it if it was pushed.",
    run=_plaintext_values,
)
SOPS_SELECTION_ENCRYPTS_NOTHING = Check(
    id="sops-selection-encrypts-nothing",
    title="SOPS file whose selection rule encrypts no value",
    catches="A SOPS-encrypted YAML/JSON file without a single ENC[...] value because its rule "
    "(e.g. encrypted_regex ^(data|stringData)$ on a ConfigMap) selects none of its keys.",
    fix="Fix the creation rule for that path, or keep the file unencrypted if it holds no secret.",
    run=_encrypts_nothing,
)
