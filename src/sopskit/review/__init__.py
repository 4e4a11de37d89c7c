"""Seeing what will be applied without leaking it: review of secret changes, decrypting build,
live-versus-Git check, and the Argo CD plugin.

One module per use case (``changes`` for ``sopskit review``, ``build`` for ``sopskit build``,
``drift`` for ``sopskit diff --cluster``, ``argocd`` for the plugin) over a few shared helpers:
``fingerprint`` (keyed, per-run value fingerprints), ``gitrev`` (file bytes at a revision),
``fileview`` (what a SOPS file says without a key) and ``consumers`` (the workloads of the
repository that read a Secret).

The package sits beside :mod:`sopskit.k8s` in the layers: it composes ops/scan/policy and never
talks to a cluster itself. Cluster data (identities, live Secrets) is fetched by the CLI through
:mod:`sopskit.k8s` and handed in as plain values.
"""
