"""Environment isolation of age recipients (semantics in :mod:`sopskit.policy.context`).

``shared-age-recipient``: one age recipient listed in the rules of two environments. Whoever
holds that identity decrypts both, so staging access becomes prod access. Catch-all rules (that
belong to no single environment) are not counted.

``namespace-recipient-mismatch``: a file under ``secrets_root/E/`` that ends up readable by (or
deployed for) the wrong environment:

* a ``Secret`` whose effective namespace (kustomization ``namespace:``, else
  ``metadata.namespace``) belongs to another environment, or with ``strict_namespaces`` to no
  pattern of E;
* a file whose first matching creation rule belongs to another environment (sops would encrypt
  it for that environment's recipients);
* a SOPS-encrypted file whose metadata lists an age recipient of another environment that E's
  rules do not list (it was encrypted for the wrong keys, or before a rule change: run
  ``sops updatekeys``).
"""

from __future__ import annotations

from collections.abc import Iterator

from sopskit.format.recognize import AGE_RECIPIENT_RE, is_enc_value
from sopskit.policy.check import Check
from sopskit.policy.context import CheckContext, Environment
from sopskit.policy.repo import RepoFile, is_kind, name_of
from sopskit.policy.results import Violation


def _shared_recipients(ctx: CheckContext) -> Iterator[Violation]:
    config = ctx.sops_config
    ctx.count(SHARED_AGE_RECIPIENT.id, 0)
    if config is None:
        return
    seen: dict[str, list[tuple[Environment, int]]] = {}
    for rule in config.rules:
        env = ctx.rule_environments.get(rule.index)
        if env is None:
            continue
        ctx.count(SHARED_AGE_RECIPIENT.id)
        for recipient in rule.age_recipients:
            seen.setdefault(recipient, []).append((env, rule.line))
    for recipient, uses in seen.items():
        envs = sorted({env.name for env, _ in uses})
        if len(envs) < 2:
            continue
        first_env = uses[0][0].name
        other_line = next(line for env, line in uses if env.name != first_env)
        yield Violation(
            SHARED_AGE_RECIPIENT.id,
            ctx.config_rel(),
            config.line_of_text(recipient, from_line=other_line) or other_line,
            f"age recipient {recipient} is used by the rules of environments {', '.join(envs)}: its "
            "identity decrypts all of them",
            "generate one age key per environment (`age-keygen`), put each public key only in its own "
            "environment's rule, then `sops updatekeys` the files of every affected environment",
        )


def _namespace_mismatches(ctx: CheckContext) -> Iterator[Violation]:
    ctx.count(NAMESPACE_RECIPIENT_MISMATCH.id, 0)
    for file in ctx.repo.files:
        env = ctx.environment_of_path(file.rel)
        if env is None or file.is_kustomization or file.name in (".gitignore", "README.md"):
            continue
        ctx.count(NAMESPACE_RECIPIENT_MISMATCH.id)
        yield from _secret_namespaces(ctx, file, env)
        yield from _rule_owner(ctx, file, env)
        if file.is_encrypted:
            yield from _foreign_recipients(ctx, file, env)


def _secret_namespaces(ctx: CheckContext, file: RepoFile, env: Environment) -> Iterator[Violation]:
    parsed = file.yaml
    for doc in parsed.documents if parsed else ():
        if not is_kind(doc.data, "Secret"):
            continue
        namespace = ctx.repo.namespace_of(file, doc)
        if namespace is None or is_enc_value(namespace) or env.owns_namespace(namespace):
            continue
        owner = next((e for e in ctx.environments if e.owns_namespace(namespace)), None)
        if owner is None and not ctx.settings.strict_namespaces:
            continue
        belongs = f"environment {owner.name!r}" if owner else "no known environment"
        yield Violation(
            NAMESPACE_RECIPIENT_MISMATCH.id,
            file.rel,
            doc.line_of("metadata", "namespace"),
            f"Secret {name_of(doc.data)!r} is under {ctx.settings.secrets_root}/{env.name}/ (encrypted for "
            f"{env.name!r} recipients) but targets namespace {namespace!r}, which belongs to {belongs}",
            f"move it to {ctx.settings.secrets_root}/{owner.name if owner else '<env>'}/ and re-encrypt "
            f"it there, or fix metadata.namespace; list extra namespaces in sopskit.environments.{env.name}",
        )


def _rule_owner(ctx: CheckContext, file: RepoFile, env: Environment) -> Iterator[Violation]:
    rule = ctx.rule_for(file)
    owner = ctx.rule_environments.get(rule.index) if rule is not None else None
    if rule is None or owner is None or owner.name == env.name:
        return
    yield Violation(
        NAMESPACE_RECIPIENT_MISMATCH.id,
        file.rel,
        None,
        f"file is under {ctx.settings.secrets_root}/{env.name}/ but its first matching creation rule "
        f"(#{rule.index + 1}, line {rule.line} of {ctx.config_rel()}) is the {owner.name!r} rule",
        f"order the rules in {ctx.config_rel()} so the {env.name!r} rule matches first (anchor path_regex, "
        f"e.g. ^{ctx.settings.secrets_root}/{env.name}/), then `sops updatekeys {file.rel}`",
    )


def _foreign_recipients(ctx: CheckContext, file: RepoFile, env: Environment) -> Iterator[Violation]:
    own = ctx.recipients_by_environment.get(env.name, frozenset())
    text = file.text or ""
    present = dict.fromkeys(AGE_RECIPIENT_RE.findall(text))
    for recipient in present:
        if recipient in own:
            continue
        owners = sorted(
            name
            for name, keys in ctx.recipients_by_environment.items()
            if recipient in keys and name != env.name
        )
        if owners:
            yield Violation(
                NAMESPACE_RECIPIENT_MISMATCH.id,
                file.rel,
                file.line_of_offset(text.find(recipient)),
                f"file under {ctx.settings.secrets_root}/{env.name}/ is encrypted for age recipient "
                f"{recipient} of environment(s) {', '.join(owners)}",
                f"re-encrypt it for {env.name!r} only: `sops updatekeys {file.rel}` (with the {env.name!r} "
                "rule matching it), then rotate the values if the other environment's key holders saw them",
            )


SHARED_AGE_RECIPIENT = Check(
    id="shared-age-recipient",
    title="One age recipient shared by rules of different environments",
    catches="An age public key that appears in the .sops.yaml creation rules of two or more environments.",
    fix="One age key per environment; each public key only in its own environment's rules; "
    "`sops updatekeys` the affected files.",
    run=_shared_recipients,
)
NAMESPACE_RECIPIENT_MISMATCH = Check(
    id="namespace-recipient-mismatch",
    title="Secrets path, namespace and recipients disagree on the environment",
    catches="Under secrets_root/ENV/: a Secret targeting another environment's namespace; a file whose "
    "first matching creation rule is another environment's; an encrypted file carrying another "
    "environment's age recipient.",
    fix="Keep each environment's secrets in its own directory, matched first by its own rule, "
    "encrypted only for its own recipients.",
    run=_namespace_mismatches,
)
