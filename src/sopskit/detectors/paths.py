"""Paths whose contents are other projects' code: their test keys and documentation tokens are
upstream fixtures (a Go ``vendor/`` tree alone can hold hundreds), not this repository's secrets.
"""

from __future__ import annotations

import re

#: Directories of third-party code installed into a repository: Go/PHP ``vendor``, npm/yarn/bower
#: packages, Ansible collections, Python ``site-packages``/``dist-packages`` (a virtualenv
#: committed by mistake), Terraform's module and provider cache.
VENDORED_DIRS = frozenset({
    "vendor", "node_modules", "third_party", "third-party", "bower_components", ".yarn", "Godeps",
    "ansible_collections", "site-packages", "dist-packages", ".terraform",
})
#: Suffixes of a copy-and-fill-in starting point (``.env.example``, ``users.sops.yaml.sample``):
#: the file holds placeholders for the real one, which is kept elsewhere or not committed.
FILL_IN_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tmpl")
#: An Ansible Galaxy role installed into the repository (``roles/<namespace>.<role>/``; a
#: project's own roles have no dot): another project's code, docs and molecule fixtures.
_GALAXY_ROLE = re.compile(r"(?:^|/)roles/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/")


def is_vendored(path: str) -> bool:
    """A repository-relative ``path`` inside one of :data:`VENDORED_DIRS` or an installed
    Galaxy role."""
    return any(part in VENDORED_DIRS for part in path.split("/")[:-1]) or bool(_GALAXY_ROLE.search(path))
