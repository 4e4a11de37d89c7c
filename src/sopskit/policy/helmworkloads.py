"""The workload a Flux ``HelmRelease`` deploys, as far as its values name it.

A chart's Deployments are not in the repository, but the ServiceAccount they run as often is, in
the HelmRelease's ``spec.values``. Names written there are followed; a chart's defaults (which
depend on its templates and version) only for a few charts whose defaults the blind rounds kept
meeting: Headlamp binds its own account to ``cluster-admin`` unless its values switch that off
(:func:`chart_own_bindings`), Kyverno 3.x no longer runs pods as the 2.x account ``kyverno``
(:func:`retired_accounts`), and Cilium and Atlantis run as accounts of fixed or conventional names
that repositories bind their own RBAC to (:func:`chart_default_accounts`). The names the values give:

* ``serviceAccountName: NAME`` and ``serviceAccount.name: NAME`` (most charts);
* ``<component>.serviceAccountName: NAME`` (gitlab-runner's ``rbac.serviceAccountName`` and
  ``runners.serviceAccountName``);
* ``serviceAccount.<component>.name: NAME`` (charts with several accounts, e.g. velero's
  ``serviceAccount.server.name``), and the plural ``serviceAccounts.<component>.name`` (Cilium's);
* ``controllers.<controller>.serviceAccount.name: NAME`` (bjw-s app-template 3.x);
* ``template.spec.serviceAccountName: NAME`` (a pod template in the values: the GitHub Actions
  runner scale set of actions-runner-controller);
* ``serviceAccountName`` set by a ``spec.postRenderers[].kustomize`` patch on the rendered
  workloads (the pods run as it whatever the values say);
* ``serviceAccount.<identifier>: {...}`` (bjw-s app-template 4.x) when the identifier is the
  release's name: the common library names the account after the release (its full name), and
  adds the identifier as a suffix only when that differs, so both readings give the same name.

When the values name no account, a ServiceAccount the repository commits with Helm's ownership
annotations for this release (``meta.helm.sh/release-name: <release>`` and, where given,
``meta.helm.sh/release-namespace``, in the release's namespace) is the release's: it is written so
that the chart adopts it (Helm refuses to take over an object without them), so the chart
creates an account of that name, which its pods run as.

RBAC that bjw-s app-template values declare (``rbac.roles.<identifier>``, ``rbac.bindings.<identifier>``
with a ``roleRef`` by ``identifier`` or by ``kind``/``name``, and ``subjects`` by ``identifier`` of a
``serviceAccount`` entry or by ``kind``/``name``) is read as the Roles and bindings the chart renders
(:func:`release_rbac`), each named after the release like the account.

Two charts render Secret-reading RBAC from a values switch, read as committed RBAC
(:func:`chart_secret_rbac`): Cilium's BGP control plane and its operator's Gateway API/Ingress
support, and Kyverno 3.x controllers' ``extraResources``. The values, for all of the above,
include those helm-controller merges in from ``valuesFrom`` ConfigMaps that the release's
kustomization generates from a values file (:func:`with_generated_values`).

A name holding a template (``${VAR}``, ``{{ }}``) is not followed. Where the chart's objects run:
the HelmRelease's ``spec.targetNamespace``, else where the HelmRelease itself is applied
(:func:`workload_namespace`, which plain workloads use too).
"""

from __future__ import annotations

import re
from typing import Any

from sopskit.detectors.values import is_templated
from sopskit.policy.context import CheckContext
from sopskit.policy.fluxgraph import graph_of, patch_documents
from sopskit.policy.kustomize import generator_files
from sopskit.policy.repo import RepoFile, is_kind, name_of
from sopskit.policy.yamldocs import YamlDocument

HELM_API = "helm.toolkit.fluxcd.io/"
#: keys of a ``serviceAccount`` mapping that configure the account rather than name a component
_OPTION_KEYS = {"annotations", "labels", "extraLabels", "imagePullSecrets", "automountServiceAccountToken",
                "automount", "secrets", "extraServiceAccounts"}


def is_helm_release(data: Any) -> bool:
    return is_kind(data, "HelmRelease", HELM_API)


def _explicit(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and not is_templated(value):
        return value.strip()
    return None


def _mapping(data: Any, key: str) -> dict[str, Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def release_name(data: dict[str, Any]) -> str:
    """Helm's release name as helm-controller sets it: ``spec.releaseName``, else
    ``<targetNamespace>-<name>`` when ``spec.targetNamespace`` is set, else the object's name."""
    spec = _mapping(data, "spec")
    explicit = _explicit(spec.get("releaseName"))
    if explicit:
        return explicit
    target = _explicit(spec.get("targetNamespace"))
    return f"{target}-{name_of(data)}" if target else name_of(data)


def release_accounts(data: dict[str, Any]) -> list[str]:
    """The ServiceAccounts that the HelmRelease's values name (see the module docstring)."""
    values = _mapping(_mapping(data, "spec"), "values")
    names: list[str] = []

    def add(value: Any) -> None:
        name = _explicit(value)
        if name and name not in names:
            names.append(name)

    add(values.get("serviceAccountName"))
    accounts = _mapping(values, "serviceAccount")
    add(accounts.get("name"))
    release = release_name(data)
    for entry in _mapping(values, "serviceAccounts").values():
        if isinstance(entry, dict):
            add(entry.get("name"))
    for key, entry in accounts.items():
        if not isinstance(entry, dict) or key in _OPTION_KEYS:
            continue
        if entry.get("name") is not None:
            add(entry.get("name"))
        elif str(key) == release and entry.get("enabled", True) is not False:
            add(str(key))
    # a component's own key (gitlab-runner's ``rbac.serviceAccountName`` and
    # ``runners.serviceAccountName``, ``server.serviceAccountName``)
    for key, component in values.items():
        if isinstance(component, dict) and key != "template":
            add(component.get("serviceAccountName"))
    for controller in _mapping(values, "controllers").values():
        add(_mapping(controller, "serviceAccount").get("name"))
    # a pod template in the values (actions-runner-controller's gha-runner-scale-set)
    add(_mapping(_mapping(values, "template"), "spec").get("serviceAccountName"))
    add(_truecharts_primary_account(data))
    for account in _post_rendered_accounts(data):
        add(account)
    return names


def _post_rendered_accounts(data: dict[str, Any]) -> list[str]:
    """``serviceAccountName`` that a ``spec.postRenderers[].kustomize`` patch sets on the chart's
    rendered workloads (strategic-merge ``patches``/``patchesStrategicMerge``, or a JSON 6902
    ``replace``/``add`` of ``.../serviceAccountName``): the pods run as that account whatever the
    values say."""
    found: list[str] = []
    renderers = _mapping(data, "spec").get("postRenderers")
    for renderer in renderers if isinstance(renderers, list) else ():
        kustomize = _mapping(renderer, "kustomize")
        bodies: list[Any] = []
        for key in ("patches", "patchesJson6902"):
            entries = kustomize.get(key)
            for entry in entries if isinstance(entries, list) else ():
                patch = entry.get("patch") if isinstance(entry, dict) else None
                bodies.extend(patch_documents(patch) if isinstance(patch, str) else [patch])
        merges = kustomize.get("patchesStrategicMerge")
        bodies.extend(merges if isinstance(merges, list) else ())
        for body in bodies:
            found.extend(_accounts_in_patch(body, 0))
    return found


def _accounts_in_patch(body: Any, depth: int) -> list[str]:
    if depth > 10:
        return []
    if isinstance(body, list):
        ops = [op for op in body if isinstance(op, dict) and str(op.get("path", "")).endswith("/serviceAccountName")
               and op.get("op") in ("add", "replace") and isinstance(op.get("value"), str)]
        if ops:
            return [op["value"] for op in ops]
        return [name for item in body for name in _accounts_in_patch(item, depth + 1)]
    if isinstance(body, dict):
        own = body.get("serviceAccountName")
        found = [own] if isinstance(own, str) else []
        return found + [name for key, value in body.items() if key != "serviceAccountName"
                        for name in _accounts_in_patch(value, depth + 1)]
    return []


_RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"


def _identified_name(release: str, identifier: str, entry: dict[str, Any]) -> str:
    """The name the bjw-s common library gives an object of an identifier: the release's, with
    ``-<identifier>`` unless that is the release's name too (``forceRename`` overrides)."""
    forced = _explicit(entry.get("forceRename"))
    if forced:
        return forced
    return release if identifier == release else f"{release}-{identifier}"


def _metadata(name: str, namespace: str | None) -> dict[str, str]:
    return {"name": name, "namespace": namespace} if namespace else {"name": name}


def _binding(kind: str, name: str, namespace: str | None, role: tuple[str, str],
             subjects: list[dict[str, Any]]) -> dict[str, Any]:
    """A RoleBinding/ClusterRoleBinding manifest as a chart renders it: ``role`` is (kind, name)."""
    return {"apiVersion": _RBAC_API_VERSION, "kind": kind, "metadata": _metadata(name, namespace),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role[0], "name": role[1]},
            "subjects": subjects}


def release_rbac(data: dict[str, Any], namespace: str | None) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """The Roles, ClusterRoles and their bindings that the HelmRelease's app-template values
    declare, as the manifests the chart renders (each with its path below ``spec.values``);
    ``namespace`` is where the chart's objects go (for subjects that do not name one)."""
    values = _mapping(_mapping(data, "spec"), "values")
    rbac = _mapping(values, "rbac")
    release = release_name(data)
    found: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    roles: dict[str, tuple[str, str]] = {}
    for identifier, entry in _mapping(rbac, "roles").items():
        if not isinstance(entry, dict) or entry.get("enabled", True) is False:
            continue
        kind = "ClusterRole" if entry.get("type") == "ClusterRole" else "Role"
        name = _identified_name(release, str(identifier), entry)
        roles[str(identifier)] = (kind, name)
        manifest: dict[str, Any] = {"apiVersion": _RBAC_API_VERSION, "kind": kind,
                                    "metadata": _metadata(name, namespace),
                                    "rules": entry.get("rules") if isinstance(entry.get("rules"), list) else []}
        found.append((manifest, ("rbac", "roles", str(identifier))))
    accounts = _mapping(values, "serviceAccount")
    for identifier, entry in _mapping(rbac, "bindings").items():
        if not isinstance(entry, dict) or entry.get("enabled", True) is False:
            continue
        ref = _mapping(entry, "roleRef")
        if _explicit(ref.get("identifier")) in roles:
            role_kind, role_name = roles[str(ref["identifier"])]
        elif _explicit(ref.get("name")):
            role_kind, role_name = str(ref.get("kind", "Role")), str(ref["name"]).strip()
        else:
            continue
        subjects = []
        listed = entry.get("subjects")
        for subject in listed if isinstance(listed, list) else []:
            if not isinstance(subject, dict):
                continue
            identifier_ref = _explicit(subject.get("identifier"))
            if identifier_ref:
                account = _mapping(accounts, identifier_ref)
                name = _explicit(account.get("name")) or _identified_name(release, identifier_ref, account)
                subjects.append({"kind": "ServiceAccount", "name": name, "namespace": namespace})
            elif _explicit(subject.get("name")):
                given = _explicit(subject.get("namespace")) or namespace
                subjects.append({**subject, "namespace": given} if subject.get("kind") == "ServiceAccount"
                                else dict(subject))
        kind = "ClusterRoleBinding" if entry.get("type") == "ClusterRoleBinding" else "RoleBinding"
        manifest = _binding(kind, _identified_name(release, str(identifier), entry), namespace,
                            (role_kind, role_name), subjects)
        found.append((manifest, ("rbac", "bindings", str(identifier))))
    return found + _truecharts_rbac(data, values, namespace)


def _truecharts_rbac(data: dict[str, Any], values: dict[str, Any], namespace: str | None
                     ) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """TrueCharts' common library form, ``rbac.<name>: {enabled, primary, clusterWide, rules}``:
    a Role (a ClusterRole with ``clusterWide``) and its binding to the release's primary account
    (:func:`_truecharts_primary_account`)."""
    account = _truecharts_primary_account(data)
    if account is None:
        return []
    found: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    for key, entry in _mapping(values, "rbac").items():
        if key in ("roles", "bindings") or not isinstance(entry, dict) or entry.get("enabled") is not True \
                or not isinstance(entry.get("rules"), list):
            continue
        cluster = entry.get("clusterWide") is True
        name = account if entry.get("primary") is True else f"{account}-{key}"
        kind = "ClusterRole" if cluster else "Role"
        where = None if cluster else namespace
        role = {"apiVersion": _RBAC_API_VERSION, "kind": kind, "metadata": _metadata(name, where),
                "rules": entry["rules"]}
        binding = _binding(f"{kind}Binding", name, where, (kind, name),
                           [{"kind": "ServiceAccount", "name": account, "namespace": namespace}])
        found += [(role, ("rbac", str(key))), (binding, ("rbac", str(key)))]
    return found


def _truecharts_primary_account(data: dict[str, Any]) -> str | None:
    """The account TrueCharts' common library creates for ``serviceAccount.<name>: {enabled: true,
    primary: true}``, named after the release (the chart's full name), which its pods run as."""
    values = _mapping(_mapping(data, "spec"), "values")
    for entry in _mapping(values, "serviceAccount").values():
        if isinstance(entry, dict) and entry.get("enabled") is True and entry.get("primary") is True:
            chart = _explicit(_mapping(_mapping(_mapping(data, "spec"), "chart"), "spec").get("chart"))
            return _chart_fullname(values, release_name(data), chart or release_name(data))
    return None


#: Accounts that a chart's later majors no longer run pods as: chart -> (first such major,
#: accounts). Kyverno's chart 3.0 (Kyverno 1.10) split the one ``kyverno`` Deployment into
#: admission, background, cleanup and reports controllers, each with its own account
#: (``kyverno-admission-controller``...), so a committed binding for ``kyverno`` copied from a
#: 2.x setup reaches no pod.
_RETIRED_ACCOUNTS: dict[str, tuple[int, frozenset[str]]] = {"kyverno": (3, frozenset({"kyverno"}))}
_MAJOR = re.compile(r"^[\s>=~^v]*(\d+)")


def with_generated_values(ctx: CheckContext, file: RepoFile, data: dict[str, Any]) -> dict[str, Any]:
    """The HelmRelease with the values helm-controller merges in: each ``spec.valuesFrom``
    ConfigMap that a kustomize ``configMapGenerator`` of the release's kustomization makes from
    a values file in the repository, in order, then ``spec.values`` on top (Flux's
    ``chartutil.MergeMaps``, inline values win). ``targetPath`` entries (one value) and Secrets
    are left out. The release itself when nothing is merged."""
    spec = _mapping(data, "spec")
    sources = spec.get("valuesFrom")
    if not isinstance(sources, list) or not sources:
        return data
    files = _generated_config_files(ctx, file)
    merged: dict[str, Any] = {}
    for source in sources:
        if not isinstance(source, dict) or source.get("kind") != "ConfigMap" or source.get("targetPath"):
            continue
        key = source.get("valuesKey") or "values.yaml"
        target = ctx.repo.by_rel.get(files.get((str(source.get("name", "")), str(key)), ""))
        parsed = target.yaml if target is not None else None  # the repository's parse, cached
        values = parsed.documents[0].data if parsed is not None and parsed.documents else None
        if isinstance(values, dict):
            merged = _merged(merged, values)
    if not merged:
        return data
    return {**data, "spec": {**spec, "values": _merged(merged, _mapping(spec, "values"))}}


def _generated_config_files(ctx: CheckContext, file: RepoFile) -> dict[tuple[str, str], str]:
    """(ConfigMap name, data key) -> the repository file a ``configMapGenerator`` of the
    kustomization owning ``file``'s directory reads into it (:func:`kustomize.generator_files`)."""
    kustomization = ctx.repo.by_rel.get(ctx.repo.nearest_kustomization(file.parent) or "")
    parsed = kustomization.yaml if kustomization is not None else None
    if kustomization is None or parsed is None or not parsed.documents \
            or not isinstance(parsed.documents[0].data, dict):
        return {}
    return {(str(generator.get("name", "")), key): path
            for generator in parsed.documents[0].data.get("configMapGenerator") or []
            if isinstance(generator, dict)
            for key, path in generator_files(kustomization.parent, generator)}


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` merged into ``base``: nested mappings merge, anything else in ``over`` wins."""
    result = dict(base)
    for key, value in over.items():
        current = result.get(key)
        result[key] = _merged(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return result


def chart_of(ctx: CheckContext, data: dict[str, Any]) -> tuple[str, str | None] | None:
    """The chart a HelmRelease installs and the version it asks for (None when it names none):
    ``spec.chart.spec``, or the ``OCIRepository`` of a ``spec.chartRef`` (its URL's last
    segment, its ``ref.tag``/``ref.semver``)."""
    spec = _mapping(data, "spec")
    chart_spec = _mapping(_mapping(spec, "chart"), "spec")
    if chart_spec:
        chart = _explicit(chart_spec.get("chart"))
        return (chart, _explicit(str(chart_spec.get("version", "")))) if chart else None
    ref = _mapping(spec, "chartRef")
    name = _explicit(ref.get("name"))
    if ref.get("kind") != "OCIRepository" or not name:
        return None
    return _oci_charts(ctx).get(name)


def _oci_charts(ctx: CheckContext) -> dict[str, tuple[str, str | None]]:
    """OCIRepository name -> (chart, version): its URL's last segment and its ``ref.tag`` or
    ``ref.semver``; read once per run (every HelmRelease with a ``chartRef`` asks)."""
    cached = ctx.shared.get("helm_oci_charts")
    if isinstance(cached, dict):
        return cached
    found: dict[str, tuple[str, str | None]] = {}
    for _file, doc in ctx.repo.documents():
        if not is_kind(doc.data, "OCIRepository"):
            continue
        source_spec = _mapping(doc.data, "spec")
        url = _explicit(source_spec.get("url"))
        tag = _mapping(source_spec, "ref")
        if url:
            found.setdefault(name_of(doc.data), (url.rstrip("/").rsplit("/", 1)[-1],
                                                 _explicit(tag.get("tag")) or _explicit(tag.get("semver"))))
    ctx.shared["helm_oci_charts"] = found
    return found


def retired_accounts(ctx: CheckContext) -> set[tuple[str | None, str]]:
    """(namespace, account) that the chart a HelmRelease installs there no longer runs pods as
    (:data:`_RETIRED_ACCOUNTS`), when the version it asks for is that major or later."""
    cached = ctx.shared.get("helm_retired_accounts")
    if isinstance(cached, set):
        return cached
    found: set[tuple[str | None, str]] = set()
    newer: set[str] = set()
    older: set[str] = set()  # charts also installed at an older major, or at a version not read
    for file, doc in ctx.repo.documents():
        if not is_helm_release(doc.data) or (chart := chart_of(ctx, doc.data)) is None:
            continue
        name, version = chart
        retired = _RETIRED_ACCOUNTS.get(name)
        if retired is None:
            continue
        major = _MAJOR.match(version or "")
        if major and int(major.group(1)) >= retired[0]:
            found.update((release_namespace(ctx, file, doc), account) for account in retired[1])
            newer.add(name)
        else:
            older.add(name)
    # the old setup's namespace may differ from where the chart runs now (``kyverno`` against
    # ``system``): with no older install anywhere in the repository, the account is retired everywhere
    for name in newer - older:
        found.update((None, account) for account in _RETIRED_ACCOUNTS[name][1])
    ctx.shared["helm_retired_accounts"] = found
    return found


#: Charts whose own account a values switch binds to a ClusterRole, with the switch's defaults:
#: chart -> (values key, default ``create``, default role). Headlamp's chart binds its account to
#: ``cluster-admin`` unless ``clusterRoleBinding.create: false`` (charts/headlamp values.yaml).
_OWN_ACCOUNT_BINDINGS: dict[str, tuple[str, bool, str]] = {"headlamp": ("clusterRoleBinding", True, "cluster-admin")}


def _chart_fullname(values: dict[str, Any], release: str, chart: str) -> str:
    """Helm's conventional ``<chart>.fullname``: ``fullnameOverride``, else the release name when
    it holds the chart's name (or ``nameOverride``), else ``<release>-<name>``; the default name of
    the chart's own ServiceAccount."""
    override = _explicit(values.get("fullnameOverride"))
    if override:
        return override
    name = _explicit(values.get("nameOverride")) or chart
    return release if name in release else f"{release}-{name}"


def chart_own_bindings(ctx: CheckContext, data: dict[str, Any], namespace: str | None
                       ) -> list[tuple[dict[str, Any], tuple[str, ...], str]]:
    """The ClusterRoleBinding a known chart renders for its own account
    (:data:`_OWN_ACCOUNT_BINDINGS`), as a manifest with its values path and the account, which
    the chart's pods run as."""
    chart = chart_of(ctx, data)
    known = _OWN_ACCOUNT_BINDINGS.get(chart[0]) if chart else None
    if chart is None or known is None:
        return []
    key, create_default, role_default = known
    values = _mapping(_mapping(data, "spec"), "values")
    switch = _mapping(values, key)
    accounts = _mapping(values, "serviceAccount")
    if switch.get("create", create_default) is False:
        return []
    role = _explicit(switch.get("clusterRoleName")) or role_default
    fullname = _chart_fullname(values, release_name(data), chart[0])
    # the chart's ``serviceAccountName`` helper: the named account, else its full name when it
    # creates one and ``default`` when it does not (a pre-created account it binds all the same)
    created = accounts.get("create", True) is not False
    account = _explicit(accounts.get("name")) or (fullname if created else "default")
    manifest = _binding("ClusterRoleBinding", fullname, None, ("ClusterRole", role),
                        [{"kind": "ServiceAccount", "name": account, "namespace": namespace}])
    return [(manifest, (key,), account)]


#: Charts whose pods run as accounts of known names when the values name none: chart -> the
#: names, ``None`` standing for the chart's full name (:func:`_chart_fullname`). Cilium's agent and
#: operator run as ``cilium`` and ``cilium-operator`` (``serviceAccounts.*.name`` in its
#: values.yaml); Atlantis's server as its full name (``serviceAccount.name`` unset).
_DEFAULT_ACCOUNTS: dict[str, tuple[str | None, ...]] = {
    "cilium": ("cilium", "cilium-operator"),
    "atlantis": (None,),
}


#: Cilium 1.14 and later render Secret-reading RBAC from two values switches
#: (install/kubernetes/cilium/templates): with ``bgpControlPlane.enabled``, a Role that reads every
#: Secret of ``bgpControlPlane.secretsNamespace.name`` (default ``kube-system``: where BGP peering
#: passwords are looked up) bound to the agent's account (cilium-agent/role.yaml,
#: ``cilium-bgp-control-plane-secrets``); with ``ingressController.enabled`` or
#: ``gatewayAPI.enabled``, ``secrets`` among the cluster-wide get/list/watch rules of the
#: operator's ClusterRole (cilium-operator/clusterrole.yaml: it copies TLS Secrets for Envoy)
_CILIUM_BGP_ROLE = "cilium-bgp-control-plane-secrets"
_CILIUM_OPERATOR_ROLE = "cilium-operator"
_CILIUM_SINCE = (1, 14)
_MINOR = re.compile(r"v?(\d+)\.(\d+)")
_SECRET_READ = [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]


def chart_secret_rbac(ctx: CheckContext, data: dict[str, Any], namespace: str | None
                      ) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """The Secret-reading roles and bindings a known chart renders from values switches, as
    manifests with their values path: Cilium's (:data:`_CILIUM_BGP_ROLE`) and the extra rules of
    Kyverno's controllers (:data:`_KYVERNO_CONTROLLERS`)."""
    chart = chart_of(ctx, data)
    if chart is not None and chart[0] == "kyverno":
        return _kyverno_extra_rbac(chart[1], _mapping(_mapping(data, "spec"), "values"), namespace)
    if chart is None or chart[0] != "cilium":
        return []
    version = _MINOR.match(chart[1] or "")
    if version and (int(version.group(1)), int(version.group(2))) < _CILIUM_SINCE:
        return []
    values = _mapping(_mapping(data, "spec"), "values")
    if _mapping(values, "rbac").get("create") is False or _mapping(values, "preflight").get("enabled") is True:
        return []
    accounts = _mapping(values, "serviceAccounts")
    found: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    bgp, agent = _mapping(values, "bgpControlPlane"), _mapping(accounts, "cilium")
    secrets_namespace = _mapping(bgp, "secretsNamespace").get("name", "kube-system")
    if bgp.get("enabled") is True and values.get("agent") is not False and agent.get("create") is not False \
            and isinstance(secrets_namespace, str) and _explicit(secrets_namespace):
        agent_account = _explicit(agent.get("name")) or "cilium"
        found += _role_and_binding("Role", _CILIUM_BGP_ROLE, secrets_namespace, agent_account, namespace,
                                   ("bgpControlPlane",))
    operator = _mapping(accounts, "operator")
    switch = next((key for key in ("ingressController", "gatewayAPI") if _mapping(values, key).get("enabled") is True),
                  None)
    if switch and _mapping(values, "operator").get("enabled") is not False and operator.get("create") is not False:
        found += _role_and_binding("ClusterRole", _CILIUM_OPERATOR_ROLE, None,
                                   _explicit(operator.get("name")) or "cilium-operator", namespace, (switch,))
    return found


#: Kyverno 3.x's controllers, by values key: each runs as ``<name>-<component>`` (``name`` is
#: ``nameOverride`` or ``kyverno``; ``<key>.rbac.serviceAccount.name`` overrides it) and takes
#: ``<key>.rbac.clusterRole.extraResources`` as extra rules of its ClusterRole (charts/kyverno
#: templates/<component>/clusterrole.yaml): a team that lets a policy generate or clone Secrets
#: adds ``secrets`` there
_KYVERNO_CONTROLLERS = {"admissionController": "admission-controller", "backgroundController": "background-controller",
                        "cleanupController": "cleanup-controller", "reportsController": "reports-controller"}


def _kyverno_extra_rbac(version: str | None, values: dict[str, Any], namespace: str | None
                        ) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    major = _MAJOR.match(version or "")
    if major and int(major.group(1)) < 3:
        return []
    name = _explicit(values.get("nameOverride")) or "kyverno"
    found: list[tuple[dict[str, Any], tuple[str, ...]]] = []
    for key, component in _KYVERNO_CONTROLLERS.items():
        controller = _mapping(values, key)
        rbac = _mapping(controller, "rbac")
        extra = _mapping(rbac, "clusterRole").get("extraResources")
        if controller.get("enabled") is False or rbac.get("create") is False or not isinstance(extra, list) \
                or not extra:
            continue
        account = _explicit(_mapping(rbac, "serviceAccount").get("name")) or f"{name}-{component}"
        found += _role_and_binding("ClusterRole", f"{name}:{component}:extra", None, account, namespace,
                                   (key, "rbac", "clusterRole", "extraResources"), extra)
    return found


def _role_and_binding(kind: str, name: str, namespace: str | None, account: str, account_namespace: str | None,
                      path: tuple[str, ...], rules: list[Any] | None = None
                      ) -> list[tuple[dict[str, Any], tuple[str, ...]]]:
    """A role with ``rules`` (default: read every Secret of ``namespace``, or of the cluster for a
    ClusterRole) and the binding of the same name that grants it to ``account``."""
    role = {"apiVersion": _RBAC_API_VERSION, "kind": kind, "metadata": _metadata(name, namespace),
            "rules": rules if rules is not None else _SECRET_READ}
    binding = _binding(f"{kind}Binding", name, namespace, (kind, name),
                       [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}])
    return [(role, path), (binding, path)]


def chart_default_accounts(ctx: CheckContext, data: dict[str, Any]) -> list[str]:
    """The accounts a known chart's pods run as when its values name none (:data:`_DEFAULT_ACCOUNTS`)."""
    chart = chart_of(ctx, data)
    names = _DEFAULT_ACCOUNTS.get(chart[0]) if chart else None
    if chart is None or names is None:
        return []
    values = _mapping(_mapping(data, "spec"), "values")
    fullname = _chart_fullname(values, release_name(data), chart[0])
    return [name or fullname for name in names]


_RELEASE_NAME = "meta.helm.sh/release-name"
_RELEASE_NAMESPACE = "meta.helm.sh/release-namespace"


def adopted_accounts(ctx: CheckContext) -> dict[tuple[str | None, str], list[str]]:
    """(namespace, Helm release name) -> the ServiceAccounts committed for that release to adopt."""
    cached = ctx.shared.get("helm_adopted_accounts")
    if isinstance(cached, dict):
        return cached
    found: dict[tuple[str | None, str], list[str]] = {}
    for file, doc in ctx.repo.documents():
        if not is_kind(doc.data, "ServiceAccount"):
            continue
        annotations = _mapping(_mapping(doc.data, "metadata"), "annotations")
        release = _explicit(annotations.get(_RELEASE_NAME))
        if not release:
            continue
        namespace = _explicit(annotations.get(_RELEASE_NAMESPACE)) or workload_namespace(ctx, file, doc)
        found.setdefault((namespace, release), []).append(name_of(doc.data))
    ctx.shared["helm_adopted_accounts"] = found
    return found


def release_namespace(ctx: CheckContext, file: RepoFile, doc: YamlDocument) -> str | None:
    """The namespace the chart's objects run in (see the module docstring)."""
    target = _explicit(_mapping(doc.data, "spec").get("targetNamespace"))
    return target or workload_namespace(ctx, file, doc)


def workload_namespace(ctx: CheckContext, file: RepoFile, doc: YamlDocument) -> str | None:
    """The namespace an object of ``file`` is applied in: the ``spec.targetNamespace`` of the
    Flux Kustomizations of this repository that build the file, when all of them set the same
    one (Flux's generated kustomization overrides every namespace with it), else the namespace
    the repository gives the object (its kustomization's ``namespace:``, its own metadata)."""
    return flux_target_namespace(ctx, file) or ctx.repo.namespace_of(file, doc)


def flux_target_namespace(ctx: CheckContext, file: RepoFile) -> str | None:
    """The ``spec.targetNamespace`` that every Flux Kustomization of this repository building
    ``file`` sets (or, when none is known to, every one whose source may be this repository);
    None when none builds it, one sets none, or they disagree."""
    graph = graph_of(ctx)
    # this repository's Kustomizations, else those whose source may be it (a GitRepository
    # defined outside the repository, by a bootstrap or a FluxInstance's values)
    builders = graph.own_builders.get(file.rel) or graph.possible_builders.get(file.rel, [])
    flux_targets = {_explicit(kustomization.spec.get("targetNamespace")) for kustomization in builders}
    return flux_targets.pop() if len(flux_targets) == 1 and None not in flux_targets else None
