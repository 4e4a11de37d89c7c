"""CODEOWNERS as GitHub reads it: last match wins, anchors, directories own what is below."""

from __future__ import annotations

import pytest

from sopskit.inventory.owners import CodeOwners

RULES = "* @all\n/flux/secrets/prod/ @sre\ndocs @docs\n/CODEOWNERS @root\n*.tf @tf\napps/**/secret.yaml @apps\n"


@pytest.mark.parametrize(("path", "owner"), [
    ("a.yaml", "@all"),
    ("flux/secrets/prod/db.yaml", "@sre"),
    ("flux/secrets/dev/db.yaml", "@all"),
    ("x/docs/readme", "@docs"),  # no slash: a name at any depth, and a directory owns its files
    ("CODEOWNERS", "@root"),
    ("sub/CODEOWNERS", "@all"),  # a leading slash anchors at the root
    ("infra/main.tf", "@tf"),
    ("apps/a/b/secret.yaml", "@apps"),
    ("apps/secret.yaml", "@apps"),  # ** matches zero directories
])
def test_codeowners(path: str, owner: str) -> None:
    assert CodeOwners(RULES).owners_of(path) == (owner,)


def test_a_line_without_owners_unowns() -> None:
    assert CodeOwners("* @all\n/tmp/\n").owners_of("tmp/x") == ()
