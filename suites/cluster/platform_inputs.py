"""K8S-PLAT-*'s inputs: the platform components a MoJ Cloud Platform cluster runs (from
cloud-platform-infrastructure's cluster tests and the cloud-platform-terraform-* modules)."""

from __future__ import annotations

from kitemark.core.inputs import Input

_NAMES = {"type": "array", "items": {"type": "string", "minLength": 1}}

PLATFORM_NAMESPACES = Input(
    "platform_namespaces",
    default=[
        "kube-system",
        "gatekeeper-system",
        "ingress-controllers",
        "monitoring",
        "cert-manager",
        "logging",
        "velero",
        "calico-system",
        "tigera-operator",
    ],
    description="Namespaces the platform's components run in: each must exist and not be terminating",
    schema=_NAMES,
)
PLATFORM_CRDS = Input(
    "platform_crds",
    default=[
        "alertmanagers.monitoring.coreos.com",
        "prometheuses.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
        "servicemonitors.monitoring.coreos.com",
        "certificates.cert-manager.io",
        "clusterissuers.cert-manager.io",
        "issuers.cert-manager.io",
        "constrainttemplates.templates.gatekeeper.sh",
    ],
    description="CustomResourceDefinitions the platform's components and tenants rely on",
    schema=_NAMES,
)
_WORKLOADS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["kind", "namespace", "name"],
        "additionalProperties": False,
        "properties": {
            "kind": {"enum": ["Deployment", "DaemonSet", "StatefulSet"]},
            "namespace": {"type": "string", "minLength": 1},
            "name": {"type": "string", "minLength": 1},
        },
    },
}
PLATFORM_WORKLOADS = Input(
    "platform_workloads",
    default=[
        {"kind": "DaemonSet", "namespace": "kube-system", "name": "aws-node"},
        {"kind": "DaemonSet", "namespace": "kube-system", "name": "kube-proxy"},
        {"kind": "DaemonSet", "namespace": "calico-system", "name": "calico-node"},
        {"kind": "DaemonSet", "namespace": "logging", "name": "fluent-bit"},
        {
            "kind": "DaemonSet",
            "namespace": "monitoring",
            "name": "prometheus-operator-prometheus-node-exporter",
        },
        {"kind": "Deployment", "namespace": "kube-system", "name": "coredns"},
        {"kind": "Deployment", "namespace": "gatekeeper-system", "name": "gatekeeper-controller-manager"},
        {"kind": "Deployment", "namespace": "gatekeeper-system", "name": "gatekeeper-audit"},
        {"kind": "Deployment", "namespace": "cert-manager", "name": "cert-manager"},
    ],
    description="The platform's DaemonSets, Deployments and StatefulSets: each must exist, all ready",
    schema=_WORKLOADS,
)
