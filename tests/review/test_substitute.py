"""Flux postBuild substitution semantics (fluxcd/pkg envsubst, non-strict)."""

from __future__ import annotations

import pytest

from sopskit.review.errors import BuildError
from sopskit.review.substitute import check_names, is_disabled, substitute_text


@pytest.mark.parametrize(("text", "expected"), [
    ("${A}", "a"),
    ("${MISSING}", ""),
    ("${EMPTY:-d}", "d"),
    ("${EMPTY-d}", ""),
    ("${MISSING-d}", "d"),
    ("${MISSING:=x${A}}", "xa"),
    ("$${A}", "${A}"),
    ("cost $5 and $A", "cost $5 and $A"),
])
def test_expressions(text: str, expected: str) -> None:
    assert substitute_text(text, {"A": "a", "EMPTY": ""}) == expected


def test_unsupported_and_bad_names_fail() -> None:
    with pytest.raises(BuildError, match="unsupported"):
        substitute_text("${A^^}", {"A": "a"})
    with pytest.raises(BuildError, match="invalid"):
        check_names({"1BAD": "x"})
    with pytest.raises(BuildError, match="unterminated"):
        substitute_text("${A", {})


def test_disabled_by_label_or_annotation() -> None:
    mark = {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
    assert is_disabled({"metadata": {"labels": mark}})
    assert is_disabled({"metadata": {"annotations": mark}})
    assert not is_disabled({"metadata": {"annotations": {}}})


def test_a_bad_expression_inside_a_decrypted_secret_is_not_quoted() -> None:
    from sopskit.review.build import substitute_resource

    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "apps"},
              "stringData": {"password": "pre${hunter2 Secret^^tail}"}}
    with pytest.raises(BuildError) as info:
        substitute_resource(secret, {"A": "a"}, always=True)
    message = str(info.value.message)
    assert "Secret apps/db" in message and "unsupported substitution expression" in message
    assert "hunter2" not in message and "tail" not in message
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "${B^^}"}}
    with pytest.raises(BuildError, match=r"\$\{B\^\^"):  # not a secret: the expression is shown
        substitute_resource(config, {"A": "a"}, always=True)
