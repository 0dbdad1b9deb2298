"""K8S-PLAT-*'s inputs: the platform components a MoJ Cloud Platform cluster runs (from
cloud-platform-infrastructure's cluster tests — its Go `config.go` expected CRDs, Services,
DaemonSets and PrometheusRules — and the cloud-platform-terraform-* modules)."""

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
        "alertmanagerconfigs.monitoring.coreos.com",
        "alertmanagers.monitoring.coreos.com",
        "podmonitors.monitoring.coreos.com",
        "probes.monitoring.coreos.com",
        "prometheuses.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
        "servicemonitors.monitoring.coreos.com",
        "thanosrulers.monitoring.coreos.com",
        "certificaterequests.cert-manager.io",
        "certificates.cert-manager.io",
        "clusterissuers.cert-manager.io",
        "issuers.cert-manager.io",
        "challenges.acme.cert-manager.io",
        "orders.acme.cert-manager.io",
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
PLATFORM_SERVICES = Input(
    "platform_services",
    default=[
        {"namespace": "kube-system", "name": "kube-dns"},
        {"namespace": "gatekeeper-system", "name": "gatekeeper-webhook-service"},
        {"namespace": "cert-manager", "name": "cert-manager"},
        {"namespace": "cert-manager", "name": "cert-manager-webhook"},
        {"namespace": "monitoring", "name": "prometheus-operated"},
        {"namespace": "monitoring", "name": "alertmanager-operated"},
    ],
    description="The platform's Services (namespace, name) that must exist",
    schema={
        "type": "array",
        "items": {
            "type": "object",
            "required": ["namespace", "name"],
            "additionalProperties": False,
            "properties": {
                "namespace": {"type": "string", "minLength": 1},
                "name": {"type": "string", "minLength": 1},
            },
        },
    },
)
PLATFORM_PROMETHEUS_RULES = Input(
    "platform_prometheus_rules",
    default=[
        "prometheus-operator-custom-alerts-node.rules",
        "prometheus-operator-custom-kubernetes-apps.rules",
        *(
            f"prometheus-operator-kube-p-{name}"
            for name in (
                "alertmanager.rules",
                "config-reloaders",
                "k8s.rules",
                "kube-apiserver-availability.rules",
                "kube-apiserver-burnrate.rules",
                "kube-apiserver-histogram.rules",
                "kube-apiserver-slos",
                "kube-apiserver.rules",
                "kube-prometheus-general.rules",
                "kube-prometheus-node-recording.rules",
                "kube-state-metrics",
                "kubelet.rules",
                "kubernetes-resources",
                "kubernetes-storage",
                "kubernetes-system",
                "kubernetes-system-apiserver",
                "kubernetes-system-kubelet",
                "node-exporter",
                "node-exporter.rules",
                "node-network",
                "node.rules",
                "prometheus",
                "prometheus-operator",
            )
        ),
    ],
    description="PrometheusRules (names) the monitoring namespace must hold: the platform's own alerts",
    schema=_NAMES,
)
