"""What a cluster check's ``reads`` (``apps/Deployment``, ``v1/Secret``, ``constraints.gatekeeper.sh/*``)
means to an API server's authoriser: the API group and the resource (plural) names RBAC rules grant.

RBAC knows resources, not kinds, and a kind's plural cannot be derived safely from its name
(Ingress → ingresses, NetworkPolicy → networkpolicies, Endpoints → endpoints), so the names are a
static table: a check that reads a kind missing here fails ``kitemark rbac`` and the catalogue test
until its author adds it. ``group/*`` is every resource of a group, but never of the core group
(``v1/*``): ``resources: ["*"]`` there would match sub-resources such as ``pods/exec`` and
``nodes/proxy``, which older API servers let a ``get`` open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from kitemark.core.errors import UsageError

CORE = "v1"  # how a read names the core group (its apiVersion; RBAC spells the group "")
VERBS = ("get", "list")  # the collector lists (and may get one object); it never watches or writes
WHERE = "src/kitemark/targets/cluster/resource_names.py"

# API group (as a read names it) → kind → resource, as `kubectl api-resources` lists them.
RESOURCES: Mapping[str, Mapping[str, str]] = {
    CORE: {
        "ConfigMap": "configmaps",
        "Endpoints": "endpoints",
        "LimitRange": "limitranges",
        "Namespace": "namespaces",
        "Node": "nodes",
        "PersistentVolume": "persistentvolumes",
        "PersistentVolumeClaim": "persistentvolumeclaims",
        "Pod": "pods",
        "PodTemplate": "podtemplates",
        "ReplicationController": "replicationcontrollers",
        "ResourceQuota": "resourcequotas",
        "Secret": "secrets",
        "Service": "services",
        "ServiceAccount": "serviceaccounts",
    },
    "admissionregistration.k8s.io": {
        "MutatingWebhookConfiguration": "mutatingwebhookconfigurations",
        "ValidatingAdmissionPolicy": "validatingadmissionpolicies",
        "ValidatingAdmissionPolicyBinding": "validatingadmissionpolicybindings",
        "ValidatingWebhookConfiguration": "validatingwebhookconfigurations",
    },
    "apiextensions.k8s.io": {"CustomResourceDefinition": "customresourcedefinitions"},
    "apiregistration.k8s.io": {"APIService": "apiservices"},
    "apps.kruise.io": {"CloneSet": "clonesets"},
    "argoproj.io": {"Rollout": "rollouts"},
    "apps": {
        "ControllerRevision": "controllerrevisions",
        "DaemonSet": "daemonsets",
        "Deployment": "deployments",
        "ReplicaSet": "replicasets",
        "StatefulSet": "statefulsets",
    },
    "autoscaling": {"HorizontalPodAutoscaler": "horizontalpodautoscalers"},
    "batch": {"CronJob": "cronjobs", "Job": "jobs"},
    "cert-manager.io": {
        "Certificate": "certificates",
        "CertificateRequest": "certificaterequests",
        "ClusterIssuer": "clusterissuers",
        "Issuer": "issuers",
    },
    "config.gatekeeper.sh": {"Config": "configs"},
    # Served by API servers before 1.16 (Ingress until 1.22); checks read them beside the new groups.
    "extensions": {
        "DaemonSet": "daemonsets",
        "Deployment": "deployments",
        "Ingress": "ingresses",
        "NetworkPolicy": "networkpolicies",
        "ReplicaSet": "replicasets",
    },
    "monitoring.coreos.com": {
        "Alertmanager": "alertmanagers",
        "AlertmanagerConfig": "alertmanagerconfigs",
        "PodMonitor": "podmonitors",
        "Probe": "probes",
        "Prometheus": "prometheuses",
        "PrometheusRule": "prometheusrules",
        "ServiceMonitor": "servicemonitors",
    },
    "mutations.gatekeeper.sh": {
        "Assign": "assign",
        "AssignImage": "assignimage",
        "AssignMetadata": "assignmetadata",
        "ModifySet": "modifyset",
    },
    "networking.k8s.io": {
        "Ingress": "ingresses",
        "IngressClass": "ingressclasses",
        "NetworkPolicy": "networkpolicies",
    },
    "policy": {"PodDisruptionBudget": "poddisruptionbudgets"},
    "rbac.authorization.k8s.io": {
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
        "Role": "roles",
        "RoleBinding": "rolebindings",
    },
    "scheduling.k8s.io": {"PriorityClass": "priorityclasses"},
    "serving.knative.dev": {"Service": "services"},
    "storage.k8s.io": {"StorageClass": "storageclasses"},
    "templates.gatekeeper.sh": {"ConstraintTemplate": "constrainttemplates"},
}


def resource_for(read: str) -> tuple[str, str]:
    """``(apiGroup, resource)`` of one read as RBAC names them (``""`` for the core group, ``"*"`` for
    every resource of a group); anything else is a ``UsageError`` saying what to change."""
    group, slash, kind = read.removesuffix("?").partition("/")  # `?`: read when served, same rule
    if not slash or not group or not kind or "/" in kind or group == "*":
        raise UsageError(f"read {read!r} is not of the form group/Kind (v1/Secret, apps/Deployment, group/*)")
    if kind == "*":
        if group == CORE:
            raise UsageError(
                f"read {read!r}: every resource of the core group would include pods/exec and nodes/proxy; "
                "name the kinds the check reads (v1/Pod, v1/Service …)"
            )
        return group, "*"
    resource = RESOURCES.get(group, {}).get(kind)
    if resource is None:
        raise UsageError(
            f"read {read!r}: no API resource is known for kind {kind} of group {group}; add it to RESOURCES "
            f"in {WHERE} (its plural, as `kubectl api-resources` lists it)"
        )
    return ("" if group == CORE else group), resource


def rules_for(reads: Iterable[str]) -> list[dict[str, Any]]:
    """ClusterRole rules letting the collector fetch ``reads``: one per API group, sorted, each granting
    exactly get and list (``group/*`` grants ``["*"]`` in its group, and only that)."""
    by_group: dict[str, set[str]] = {}
    for read in reads:
        group, resource = resource_for(read)
        by_group.setdefault(group, set()).add(resource)
    return [
        {
            "apiGroups": [group],
            "resources": ["*"] if "*" in resources else sorted(resources),
            "verbs": list(VERBS),
        }
        for group, resources in sorted(by_group.items())
    ]
