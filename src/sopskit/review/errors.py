"""Errors of the review package, in the one :class:`sopskit.errors.SopsError` hierarchy.

::

    SopsError (sopskit.errors)
    ├── BuildError          kustomize failed, a source escapes the root, a resource is malformed
    └── ScopeError          (Argo CD) an object outside the application's allowed namespaces

Messages never quote file content: kustomize's own error text is passed through
:func:`sopskit.review.redact.scrub` first, which removes every value decrypted in the run.
"""

from __future__ import annotations

from sopskit.errors import SopsError


class BuildError(SopsError):
    exit_code = 1


class ScopeError(SopsError):
    exit_code = 1
