"""Users and RBAC-like rules: who may do what to which object (namespace, name)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One RBAC-like rule. Empty ``resource_names`` means every name; ``namespace`` None means
    every namespace and the cluster scope (like a ClusterRole), a string means that namespace only."""

    verbs: frozenset[str]
    resources: frozenset[str]
    resource_names: frozenset[str] = frozenset()
    namespace: str | None = None

    @classmethod
    def of(
        cls,
        verbs: Iterable[str],
        resources: Iterable[str],
        *,
        names: Iterable[str] = (),
        namespace: str | None = None,
    ) -> Rule:
        return cls(frozenset(verbs), frozenset(resources), frozenset(names), namespace)

    def allows(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        if not ({"*", verb} & self.verbs and {"*", resource} & self.resources):
            return False
        if self.namespace is not None and namespace != self.namespace:
            return False
        if self.resource_names:
            # Like RBAC: a rule naming objects can never allow a request without a name
            # (create, or list without a metadata.name field selector).
            return name is not None and name in self.resource_names
        return True


@dataclass(frozen=True)
class User:
    name: str
    rules: tuple[Rule, ...] = ()

    def can(self, verb: str, resource: str, namespace: str | None, name: str | None) -> bool:
        return any(rule.allows(verb, resource, namespace, name) for rule in self.rules)


ADMIN = (Rule.of(["*"], ["*"]),)
READ_ONLY = (Rule.of(["get", "list", "watch"], ["*"]),)


def minimal_role_rules(
    namespace: str = "flux-system",
    name: str = "sops-age",
    *,
    with_patch: bool = False,
    with_namespace: bool = False,
) -> tuple[Rule, ...]:
    """The Role the cluster-key workflow documents: ``create`` on secrets, ``get/update/delete``
    on the one named Secret (``patch`` too when asked), namespace access only when asked."""
    verbs = ["get", "update", "delete", *(["patch"] if with_patch else [])]
    rules = [
        Rule.of(["create"], ["secrets"], namespace=namespace),
        Rule.of(verbs, ["secrets"], names=[name], namespace=namespace),
    ]
    if with_namespace:
        rules.append(Rule.of(["get", "create"], ["namespaces"]))
    return tuple(rules)
