"""Cluster access for the cluster-key workflow: the only sopskit package that talks to Kubernetes.

:mod:`sopskit.k8s.client` wraps the official ``kubernetes`` client (the ``k8s`` extra, imported
lazily), :mod:`sopskit.k8s.errors` translates its failures into ClusterError subclasses, and
:mod:`sopskit.k8s.rbac` builds the minimal Role the workflow needs. Importing this package imports
none of them, so ``sopskit decrypt`` never loads the Kubernetes client.
"""
