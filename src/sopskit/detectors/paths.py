"""Paths whose contents are other projects' code: their test keys and documentation tokens are
upstream fixtures (a Go ``vendor/`` tree alone can hold hundreds), not this repository's secrets.
"""

from __future__ import annotations

#: Directories of third-party code installed into a repository: Go/PHP ``vendor``, npm/yarn/bower
#: packages, Ansible collections, Python ``site-packages``, Terraform's module and provider cache.
VENDORED_DIRS = frozenset({
    "vendor", "node_modules", "third_party", "third-party", "bower_components", ".yarn", "Godeps",
    "ansible_collections", "site-packages", ".terraform",
})


def is_vendored(path: str) -> bool:
    """A repository-relative ``path`` inside one of :data:`VENDORED_DIRS`."""
    return any(part in VENDORED_DIRS for part in path.split("/")[:-1])
