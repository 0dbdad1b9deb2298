"""A field a cluster check reads, given a value of the wrong type, never reads as compliant.

The API server refuses such an object, so it is in no cluster; read leniently (``podSelector: ""`` is
falsy like an empty selector, ``hostPort: "80"`` is no number) a check could pass it. For every field
each cluster check reads (listed in ``FIELDS``), each wrong type is put into an otherwise compliant
snapshot, and the check must fail or report *error*, in one line naming the field (never a traceback).

``null`` is what the API server makes of it: a field set to null is absent (the outcome is that of
removing the field), while a null list item or map value is of the wrong type."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.targets.cluster import collect as cluster
from kitemark.testing import compliant_namespace, run_on_inventory

NAME_LABEL = "kubernetes.io/metadata.name"
APPARMOR = "container.apparmor.security.beta.kubernetes.io/app"
NET, NS, POD1, POD2 = "K8S-NET-001", "K8S-NS-001", "K8S-POD-001", "K8S-POD-002"
PODS = (POD1, POD2)
PSA, LIMITS, QUOTA = "K8S-NS-002", "K8S-NS-003", "K8S-NS-004"
CONTROLLERS, SCRAPING, OPEN = "K8S-NET-002", "K8S-NET-003", "K8S-NET-004"
RBAC1, RBAC2, RBAC3, RBAC4, RBAC5 = (f"K8S-RBAC-00{n}" for n in range(1, 6))
RBAC = (RBAC1, RBAC2, RBAC3, RBAC4, RBAC5)
CLUSTER_CHECKS = (RBAC2, RBAC3)  # one unit for the cluster: each variant's findings are picked by name
RBAC_V1 = "rbac.authorization.k8s.io/v1"
RES = ("K8S-RES-001", "K8S-RES-002")
PROBE, IMAGES = ("K8S-PROBE-001",), ("K8S-IMG-001", "K8S-IMG-002")
OPS = (*RES, *PROBE, *IMAGES)  # the workload operations checks: they read more of each container
# The namespace-scope ingress checks: each reads the whole Ingress shape.
ING = ("K8S-ING-001", "K8S-ING-004", "K8S-ING-005", "K8S-ING-006", "K8S-ING-007")
SNIPPET = "nginx.ingress.kubernetes.io/configuration-snippet"
OBS = ("K8S-OBS-001", "K8S-OBS-002")
OBS3 = ("K8S-OBS-003",)
OBS4 = ("K8S-OBS-004",)  # K8S-OBS-005 reads the same fields cluster-wide: tests/test_cluster_platform.py


@dataclass(frozen=True)
class Key:
    """A map entry (a label, an annotation, a matchLabels entry), not a field: its null is wrong."""

    name: str


Path_ = tuple[str | int | Key, ...]
Field = tuple[tuple[str, ...], str, Path_, str]  # (checks that read it, file, path, type)


def selector(key: str, value: str) -> dict[str, Any]:
    """Selects only ``key=value``, both ways: every field of a label selector is present."""
    expression = {"key": key, "operator": "In", "values": [value]}
    return {"matchLabels": {key: value}, "matchExpressions": [expression]}


def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": name, "namespace": "team-a"}
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta, "spec": spec}


def container(name: str) -> dict[str, Any]:
    context = {
        "privileged": False,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "procMount": "Default",
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "seccompProfile": {"type": "RuntimeDefault"},
        "seLinuxOptions": {"type": "container_t", "user": "", "role": ""},
        "appArmorProfile": {"type": "RuntimeDefault"},
        "windowsOptions": {"hostProcess": False},
    }
    ports = [{"containerPort": 8080, "hostPort": 0}]
    resources = {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"cpu": 1, "memory": "512Mi"}}
    probe = {"httpGet": {"path": "/health", "port": 8080}}
    return {
        "name": name,
        "image": "754256621582.dkr.ecr.eu-west-2.amazonaws.com/team-a/app:1",
        "securityContext": context,
        "ports": ports,
        "resources": resources,
        "livenessProbe": probe,
        "readinessProbe": probe,
    }


def snapshot() -> dict[str, dict[str, Any]]:
    """One compliant namespace: every check passes. Each field the checks read is present (empty
    selectors spelled out), so a wrong type can replace it."""
    deny = policy(
        "default",
        {
            "podSelector": {"matchLabels": {}, "matchExpressions": []},
            "policyTypes": ["Ingress"],
            "ingress": [
                {
                    "from": [
                        {"podSelector": selector("app", "web")},
                        {"namespaceSelector": selector(NAME_LABEL, "team-a")},
                    ]
                }
            ],
        },
    )
    # Selects some pods and admits a network: neither a default deny nor an opening of every pod.
    allow = policy(
        "allow-office",
        {
            "podSelector": {"matchLabels": {"app": "web"}},
            "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}],
        },
    )
    pod = {
        "hostPID": False,
        "hostIPC": False,
        "hostNetwork": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 1000,
            "seccompProfile": {"type": "RuntimeDefault"},
            "seLinuxOptions": {"type": "container_t"},
            "appArmorProfile": {"type": "RuntimeDefault"},
            "windowsOptions": {"hostProcess": False},
            "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}],
        },
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        "initContainers": [container("init")],
        "containers": [container("app")],
    }
    template = {
        "metadata": {"labels": {"app": "web"}, "annotations": {APPARMOR: "runtime/default"}},
        "spec": pod,
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": template},
    }
    pod["serviceAccountName"] = "web"
    pod["automountServiceAccountToken"] = False
    meta = {"name": "web", "namespace": "team-a"}
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": False,
    }
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque"}
    subject = {
        "kind": "Group",
        "name": "github:team-a",
        "namespace": "",
        "apiGroup": "rbac.authorization.k8s.io",
    }
    role_ref = {"kind": "ClusterRole", "name": "admin", "apiGroup": "rbac.authorization.k8s.io"}
    role_binding = {
        "apiVersion": RBAC_V1,
        "kind": "RoleBinding",
        "metadata": {"name": "admin", "namespace": "team-a"},
        "roleRef": role_ref,
        "subjects": [subject],
    }
    # Named `team-a`, so each variant's copy is its own (`team-N`) and bound to its own ClusterRole.
    cluster_role = {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRole",
        "metadata": {"name": "team-a"},
        "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
    }
    cluster_binding = {
        "apiVersion": RBAC_V1,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "team-a"},
        "roleRef": {**role_ref, "name": "team-a"},
        "subjects": [subject],
    }
    host = "web-team-a.apps.live.cloud-platform.service.justice.gov.uk"
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "web",
            "namespace": "team-a",
            "annotations": {
                SNIPPET: "more_set_headers 'X: y';",
                "nginx.ingress.kubernetes.io/enable-modsecurity": "true",
            },
        },
        "spec": {
            "ingressClassName": "modsec",
            "tls": [{"hosts": [host], "secretName": "web-tls"}],
            "rules": [
                {"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
            ],
        },
    }
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "alerts", "namespace": "team-a", "labels": {"role": "alert-rules"}},
        "spec": {"groups": [{"name": "web", "rules": [ALERT]}]},
    }
    limits = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "limitrange", "namespace": "team-a"},
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": {"cpu": "1", "memory": "1Gi"},
                    "defaultRequest": {"cpu": "10m", "memory": "100Mi"},
                    "max": {"cpu": 2, "memory": "2Gi"},
                }
            ]
        },
    }
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": {"name": "namespace-quota", "namespace": "team-a"},
        "spec": {"hard": {"pods": "50"}, "scopes": [], "scopeSelector": {}},
    }

    def admitting(name: str, label: str) -> dict[str, Any]:
        peer = {"namespaceSelector": {"matchLabels": {"component": label}}}
        return policy(name, {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [peer]}]})

    return {
        "ns.json": compliant_namespace(),
        "controllers.json": admitting("allow-ingress-controllers", "ingress-controllers"),
        "scraping.json": admitting("allow-prometheus-scraping", "monitoring"),
        "limits.json": limits,
        "quota.json": quota,
        "deny.json": deny,
        "allow.json": allow,
        "web.json": deployment,
        "sa.json": account,
        "secret.json": secret,
        "rb.json": role_binding,
        "cr.json": cluster_role,
        "crb.json": cluster_binding,
        "ing.json": ingress,
        "rule.json": rule,
        "svc.json": {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": "team-a", "labels": {"app": "web"}},
            "spec": {"ports": [{"name": "metrics", "port": 9090}]},
        },
        "cm.json": {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "dashboards", "namespace": "team-a", "labels": {"grafana_dashboard": ""}},
            "data": {"web-dashboard.json": '{"uid": "team-a-web", "title": "Web", "panels": []}'},
        },
        "sm.json": {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "web", "namespace": "team-a"},
            "spec": {
                "selector": selector("app", "web"),
                "namespaceSelector": {"any": False, "matchNames": ["team-a"]},
                "endpoints": [{"port": "metrics"}],
            },
        },
    }


ALERT = {
    "alert": "WebDown",
    "expr": "up == 0",
    "for": "5m",
    "labels": {"severity": "team-a"},
    "annotations": {"message": "down", "runbook_url": "https://runbooks.example.org/down"},
}


MAPPING, LIST, STRING, BOOLEAN, INTEGER = "a mapping", "a list", "a string", "a boolean", "an integer"
QUANTITY = "a quantity"
# Falsy ones first: read as "unset" or "empty", they are the values that could pass.
WRONG: dict[str, list[Any]] = {
    MAPPING: ["", [], 0, False, "x", ["x"], 1, True],
    LIST: ["", {}, 0, False, "x", {"x": "y"}, 1, True],
    STRING: [0, False, [], {}, 1, 1.5, True, ["x"], {"x": "y"}],
    BOOLEAN: ["", 0, [], {}, "true", "y", 1],
    INTEGER: ["", False, [], {}, "0", "1000", True, 1000.5],
    QUANTITY: [False, [], {}, True, ["1Gi"], {"x": "y"}],
}


def _fields() -> list[Field]:
    """(checks that read it, file, path, type) for every field a cluster check reads."""
    found: list[Field] = []
    # Every object: what it is and where it belongs (input errors when wrong, reaching every check).
    for file, checks in (
        ("ns.json", (NS, PSA)),
        ("deny.json", (NET, OPEN)),
        ("web.json", PODS),
        ("ing.json", ING),
        ("controllers.json", (CONTROLLERS, OPEN)),
        ("scraping.json", (SCRAPING, OPEN)),
        ("limits.json", (LIMITS,)),
        ("quota.json", (QUOTA,)),
    ):
        for path, kind in (
            (("kind",), STRING),
            (("apiVersion",), STRING),
            (("metadata",), MAPPING),
            (("metadata", "name"), STRING),
        ):
            found.append((checks, file, path, kind))
    found += [
        ((NET, OPEN), "deny.json", ("metadata", "namespace"), STRING),
        ((LIMITS,), "limits.json", ("metadata", "namespace"), STRING),
        ((QUOTA,), "quota.json", ("metadata", "namespace"), STRING),
        ((PODS), "web.json", ("metadata", "namespace"), STRING),
        (ING, "ing.json", ("metadata", "namespace"), STRING),
    ]
    # K8S-ING-00x: an Ingress's annotations, class, rules' hosts and TLS entries.
    found += [
        (ING, "ing.json", ("metadata", "annotations"), MAPPING),
        (ING, "ing.json", ("metadata", "annotations", Key(SNIPPET)), STRING),
        (ING, "ing.json", ("spec",), MAPPING),
        (ING, "ing.json", ("spec", "ingressClassName"), STRING),
        (ING, "ing.json", ("spec", "rules"), LIST),
        (ING, "ing.json", ("spec", "rules", 0), MAPPING),
        (ING, "ing.json", ("spec", "rules", 0, "host"), STRING),
        (ING, "ing.json", ("spec", "tls"), LIST),
        (ING, "ing.json", ("spec", "tls", 0), MAPPING),
        (ING, "ing.json", ("spec", "tls", 0, "hosts"), LIST),
        (ING, "ing.json", ("spec", "tls", 0, "hosts", 0), STRING),
        (ING, "ing.json", ("spec", "tls", 0, "secretName"), STRING),
    ]
    # K8S-NS-001: the Namespace's labels and annotations.
    namespace = compliant_namespace()["metadata"]
    for section in ("labels", "annotations"):
        found.append(((NS, PSA), "ns.json", ("metadata", section), MAPPING))
        found += [
            ((NS, PSA), "ns.json", ("metadata", section, Key(key)), STRING) for key in namespace[section]
        ]
    # K8S-NET-001: the pods a policy selects, whether it governs ingress, the sources it admits.
    found += [
        ((NET, OPEN), "deny.json", ("spec",), MAPPING),
        ((NET, OPEN), "deny.json", ("spec", "podSelector"), MAPPING),
        ((NET, OPEN), "deny.json", ("spec", "podSelector", "matchLabels"), MAPPING),
        ((NET, OPEN), "deny.json", ("spec", "podSelector", "matchExpressions"), LIST),
        ((NET, OPEN), "deny.json", ("spec", "policyTypes"), LIST),
        ((NET, OPEN), "deny.json", ("spec", "policyTypes", 0), STRING),
        ((NET, OPEN), "deny.json", ("spec", "ingress"), LIST),
        ((NET, OPEN), "deny.json", ("spec", "ingress", 0), MAPPING),
        ((NET, OPEN), "deny.json", ("spec", "ingress", 0, "from"), LIST),
    ]
    for index, field, key in ((0, "podSelector", "app"), (1, "namespaceSelector", NAME_LABEL)):
        peer: Path_ = ("spec", "ingress", 0, "from", index)
        found += [
            ((NET, OPEN), "deny.json", peer, MAPPING),
            ((NET, OPEN), "deny.json", (*peer, field), MAPPING),
            ((NET, OPEN), "deny.json", (*peer, field, "matchLabels"), MAPPING),
            ((NET, OPEN), "deny.json", (*peer, field, "matchLabels", Key(key)), STRING),
            ((NET, OPEN), "deny.json", (*peer, field, "matchExpressions"), LIST),
            ((NET, OPEN), "deny.json", (*peer, field, "matchExpressions", 0), MAPPING),
            ((NET, OPEN), "deny.json", (*peer, field, "matchExpressions", 0, "key"), STRING),
            ((NET, OPEN), "deny.json", (*peer, field, "matchExpressions", 0, "operator"), STRING),
            ((NET, OPEN), "deny.json", (*peer, field, "matchExpressions", 0, "values"), LIST),
            ((NET, OPEN), "deny.json", (*peer, field, "matchExpressions", 0, "values", 0), STRING),
        ]
    block: Path_ = ("spec", "ingress", 0, "from", 0, "ipBlock")
    found += [
        ((NET, OPEN), "allow.json", ("spec", "podSelector"), MAPPING),
        ((NET, OPEN), "allow.json", ("spec", "ingress", 0, "from"), LIST),
        ((NET, OPEN), "allow.json", block, MAPPING),
        ((NET, OPEN), "allow.json", (*block, "cidr"), STRING),
        ((NET, OPEN), "allow.json", (*block, "except"), LIST),
        ((NET, OPEN), "allow.json", (*block, "except", 0), STRING),
    ]
    found += _rbac_fields()
    # K8S-POD-001/002: the pod template, its security settings and every container's.
    template: Path_ = ("spec", "template")
    pod: Path_ = (*template, "spec")
    found += [
        (PODS, "web.json", ("spec",), MAPPING),
        (PODS, "web.json", template, MAPPING),
        (PODS, "web.json", pod, MAPPING),
        (PODS, "web.json", (*template, "metadata"), MAPPING),
        (PODS, "web.json", (*template, "metadata", "annotations"), MAPPING),
        (PODS, "web.json", (*template, "metadata", "annotations", Key(APPARMOR)), STRING),
        (PODS, "web.json", (*pod, "hostPID"), BOOLEAN),
        (PODS, "web.json", (*pod, "hostIPC"), BOOLEAN),
        (PODS, "web.json", (*pod, "hostNetwork"), BOOLEAN),
        ((POD2,), "web.json", (*pod, "volumes"), LIST),
        ((POD2,), "web.json", (*pod, "volumes", 0), MAPPING),
        ((POD2,), "web.json", (*pod, "securityContext", "sysctls"), LIST),
        ((POD2,), "web.json", (*pod, "securityContext", "sysctls", 0), MAPPING),
    ]
    found += _security_context((*pod, "securityContext"), container=False)
    for field in ("containers", "initContainers", "ephemeralContainers"):
        found.append((PODS, "web.json", (*pod, field), LIST))
    for field in ("containers", "initContainers"):
        entry: Path_ = (*pod, field, 0)
        found += [
            (PODS, "web.json", entry, MAPPING),
            ((POD2,), "web.json", (*entry, "ports"), LIST),
            ((POD2,), "web.json", (*entry, "ports", 0), MAPPING),
            ((POD2,), "web.json", (*entry, "ports", 0, "hostPort"), INTEGER),
        ]
        found += _security_context((*entry, "securityContext"), container=True)
        # The workload operations checks: resources, probes and the image.
        found += [
            (IMAGES, "web.json", (*entry, "image"), STRING),
            (RES, "web.json", (*entry, "resources"), MAPPING),
            (RES, "web.json", (*entry, "resources", "limits"), MAPPING),
            (RES, "web.json", (*entry, "resources", "requests"), MAPPING),
            (RES, "web.json", (*entry, "resources", "limits", Key("memory")), QUANTITY),
            (RES, "web.json", (*entry, "resources", "requests", Key("cpu")), QUANTITY),
        ]
        if field == "containers":
            found += [(PROBE, "web.json", (*entry, p), MAPPING) for p in ("livenessProbe", "readinessProbe")]
    # K8S-NS-003: a LimitRange's Container defaults; K8S-NS-004: a ResourceQuota's hard limits.
    item: Path_ = ("spec", "limits", 0)
    found += [
        ((LIMITS,), "limits.json", ("spec",), MAPPING),
        ((LIMITS,), "limits.json", ("spec", "limits"), LIST),
        ((LIMITS,), "limits.json", item, MAPPING),
        ((LIMITS,), "limits.json", (*item, "type"), STRING),
    ]
    for limit in ("default", "defaultRequest", "max"):
        found += [((LIMITS,), "limits.json", (*item, limit), MAPPING)]
        found += [((LIMITS,), "limits.json", (*item, limit, Key(r)), QUANTITY) for r in ("cpu", "memory")]
    found += [
        ((QUOTA,), "quota.json", ("spec",), MAPPING),
        ((QUOTA,), "quota.json", ("spec", "hard"), MAPPING),
        ((QUOTA,), "quota.json", ("spec", "hard", Key("pods")), QUANTITY),
        ((QUOTA,), "quota.json", ("spec", "scopes"), LIST),
        ((QUOTA,), "quota.json", ("spec", "scopeSelector"), MAPPING),
    ]
    # K8S-NET-002 / K8S-NET-003: the policy admitting the platform's namespace (and K8S-NET-004 reads it).
    for file, check_id in (("controllers.json", CONTROLLERS), ("scraping.json", SCRAPING)):
        admit: Path_ = ("spec", "ingress", 0, "from", 0)
        found += [
            ((check_id, OPEN), file, ("metadata", "namespace"), STRING),
            ((check_id, OPEN), file, ("spec",), MAPPING),
            ((check_id, OPEN), file, ("spec", "podSelector"), MAPPING),
            ((check_id, OPEN), file, ("spec", "policyTypes"), LIST),
            ((check_id, OPEN), file, ("spec", "policyTypes", 0), STRING),
            ((check_id, OPEN), file, ("spec", "ingress"), LIST),
            ((check_id, OPEN), file, ("spec", "ingress", 0), MAPPING),
            ((check_id, OPEN), file, ("spec", "ingress", 0, "from"), LIST),
            ((check_id, OPEN), file, admit, MAPPING),
            ((check_id, OPEN), file, (*admit, "namespaceSelector"), MAPPING),
            ((check_id, OPEN), file, (*admit, "namespaceSelector", "matchLabels"), MAPPING),
            ((check_id, OPEN), file, (*admit, "namespaceSelector", "matchLabels", Key("component")), STRING),
        ]
    found += [
        ((RBAC5,), "web.json", (*pod, "serviceAccountName"), STRING),
        ((RBAC5,), "web.json", (*pod, "automountServiceAccountToken"), BOOLEAN),
    ]
    return found + _prometheus_rule()


def _rbac_fields() -> list[Field]:
    """K8S-RBAC-*: a binding's role and subjects, a ClusterRole's rules, a Secret's type, a
    ServiceAccount's automount switch."""
    found: list[Field] = [
        ((RBAC4,), "secret.json", ("type",), STRING),
        ((RBAC5,), "sa.json", ("automountServiceAccountToken",), BOOLEAN),
    ]
    for file, checks in (("rb.json", (RBAC1, RBAC3)), ("crb.json", (RBAC2, RBAC3))):
        found += [
            (checks, file, ("roleRef",), MAPPING),
            (checks, file, ("subjects",), LIST),
            (checks, file, ("subjects", 0), MAPPING),
        ]
        found += [(checks, file, ("roleRef", key), STRING) for key in ("kind", "name", "apiGroup")]
        found += [
            (checks, file, ("subjects", 0, key), STRING) for key in ("kind", "name", "namespace", "apiGroup")
        ]
    found += [
        ((RBAC2,), "cr.json", ("rules",), LIST),
        ((RBAC2,), "cr.json", ("rules", 0), MAPPING),
    ]
    for key in ("verbs", "resources", "apiGroups"):
        found += [
            ((RBAC2,), "cr.json", ("rules", 0, key), LIST),
            ((RBAC2,), "cr.json", ("rules", 0, key, 0), STRING),
        ]
    return found


def _prometheus_rule() -> list[Field]:
    """K8S-OBS-001/002: a PrometheusRule's labels and each alerting rule's fields."""
    rule: Path_ = ("spec", "groups", 0, "rules", 0)
    paths: list[tuple[Path_, str]] = [
        (("metadata", "labels"), MAPPING),
        (("metadata", "labels", Key("role")), STRING),
        (("spec",), MAPPING),
        (("spec", "groups"), LIST),
        (("spec", "groups", 0), MAPPING),
        (("spec", "groups", 0, "name"), STRING),
        (("spec", "groups", 0, "rules"), LIST),
        (rule, MAPPING),
        ((*rule, "alert"), STRING),
        ((*rule, "for"), STRING),
        ((*rule, "labels"), MAPPING),
        ((*rule, "labels", Key("severity")), STRING),
        ((*rule, "annotations"), MAPPING),
        ((*rule, "annotations", Key("message")), STRING),
        ((*rule, "annotations", Key("runbook_url")), STRING),
    ]
    found = [(OBS, "rule.json", path, kind) for path, kind in paths]
    # K8S-OBS-003: a ServiceMonitor's selectors and endpoint ports, the Services' labels and ports.
    sm: list[tuple[Path_, str]] = [
        (("spec",), MAPPING),
        (("spec", "selector"), MAPPING),
        (("spec", "selector", "matchLabels"), MAPPING),
        (("spec", "selector", "matchLabels", Key("app")), STRING),
        (("spec", "selector", "matchExpressions"), LIST),
        (("spec", "selector", "matchExpressions", 0), MAPPING),
        (("spec", "selector", "matchExpressions", 0, "key"), STRING),
        (("spec", "selector", "matchExpressions", 0, "operator"), STRING),
        (("spec", "selector", "matchExpressions", 0, "values"), LIST),
        (("spec", "selector", "matchExpressions", 0, "values", 0), STRING),
        (("spec", "namespaceSelector"), MAPPING),
        (("spec", "namespaceSelector", "any"), BOOLEAN),
        (("spec", "namespaceSelector", "matchNames"), LIST),
        (("spec", "namespaceSelector", "matchNames", 0), STRING),
        (("spec", "endpoints"), LIST),
        (("spec", "endpoints", 0), MAPPING),
        (("spec", "endpoints", 0, "port"), STRING),
    ]
    svc: list[tuple[Path_, str]] = [
        (("metadata", "labels"), MAPPING),
        (("metadata", "labels", Key("app")), STRING),
        (("spec",), MAPPING),
        (("spec", "ports"), LIST),
        (("spec", "ports", 0), MAPPING),
        (("spec", "ports", 0, "name"), STRING),
    ]
    found += [(OBS3, "sm.json", path, kind) for path, kind in sm]
    found += [(OBS3, "svc.json", path, kind) for path, kind in svc]
    cm: list[tuple[Path_, str]] = [
        (("metadata", "labels"), MAPPING),
        (("metadata", "labels", Key("grafana_dashboard")), STRING),
        (("data",), MAPPING),
        (("data", Key("web-dashboard.json")), STRING),
    ]
    return found + [(OBS4, "cm.json", path, kind) for path, kind in cm]


def _security_context(at: Path_, container: bool) -> list[Field]:
    fields: list[tuple[Path_, str]] = [
        ((), MAPPING),
        (("runAsNonRoot",), BOOLEAN),
        (("runAsUser",), INTEGER),
        (("seccompProfile",), MAPPING),
        (("seccompProfile", "type"), STRING),
        (("seLinuxOptions",), MAPPING),
        (("seLinuxOptions", "type"), STRING),
        (("appArmorProfile",), MAPPING),
        (("appArmorProfile", "type"), STRING),
        (("windowsOptions",), MAPPING),
        (("windowsOptions", "hostProcess"), BOOLEAN),
    ]
    if container:
        fields += [
            (("seLinuxOptions", "user"), STRING),
            (("seLinuxOptions", "role"), STRING),
            (("privileged",), BOOLEAN),
            (("allowPrivilegeEscalation",), BOOLEAN),
            (("procMount",), STRING),
            (("capabilities",), MAPPING),
            (("capabilities", "add"), LIST),
            (("capabilities", "add", 0), STRING),
            (("capabilities", "drop"), LIST),
            (("capabilities", "drop", 0), STRING),
        ]
    return [(PODS, "web.json", (*at, *path), kind) for path, kind in fields]


FIELDS = _fields()


def _id(field: Field) -> str:
    _, file, path, _ = field
    return file.removesuffix(".json") + ":" + ".".join(p.name if isinstance(p, Key) else str(p) for p in path)


def _changed(
    objects: dict[str, dict[str, Any]], file: str, path: Path_, value: Any, remove: bool = False
) -> Any:
    changed = copy.deepcopy(objects)
    parent: Any = changed[file]
    for step in path[:-1]:
        parent = parent[step.name if isinstance(step, Key) else step]
    last = path[-1]
    key = last.name if isinstance(last, Key) else last
    if remove:
        del parent[key]
    elif isinstance(parent, list) and key == len(parent):
        parent.append(value)
    else:
        parent[key] = value
    return changed


def _findings(
    root: Path, variants: list[dict[str, dict[str, Any]]], checks: tuple[str, ...]
) -> list[dict[str, list[Finding]]]:
    """The findings of ``checks`` on each variant of the snapshot, collected together: each variant is
    a namespace of its own (``team-a`` renamed), in a folder of its own."""
    for number, objects in enumerate(variants):
        folder = root / f"v{number}"
        folder.mkdir(parents=True)
        for name, obj in objects.items():
            (folder / name).write_text(json.dumps(obj).replace('"team-a"', f'"team-{number}"'))
    inventory = cluster.collect(TargetSpec("cluster", "t", str(root)))
    found = {check_id: run_on_inventory(check_id, inventory) for check_id in checks}

    def of_variant(check_id: str, number: int) -> list[Finding]:
        if check_id in CLUSTER_CHECKS:
            whole = found[check_id].get("cluster:t/cluster", [])
            return [f for f in whole if f"team-{number}" in f.resource.split("/")]
        return found[check_id].get(f"cluster:t/namespace:team-{number}", [])

    return [{c: of_variant(c, n) for c in checks} for n in range(len(variants))]


def _leaf(path: Path_) -> str:
    """The name a message must give: the last field (or map key) of the path."""
    named = [p.name if isinstance(p, Key) else p for p in path if not isinstance(p, int)]
    return str(named[-1])


def test_the_snapshot_is_compliant(tmp_path: Path) -> None:
    tenancy = (PSA, LIMITS, QUOTA, CONTROLLERS, SCRAPING, OPEN)
    every = (NET, NS, *PODS, *RBAC, *OPS, *ING, *OBS, *OBS3, *OBS4, *tenancy)
    [found] = _findings(tmp_path, [snapshot()], every)
    for check_id, findings in found.items():
        assert findings and all(f.status is Status.PASSED for f in findings), (check_id, findings)


@pytest.mark.parametrize("field", FIELDS, ids=_id)
def test_a_wrong_type_in_a_field_a_check_reads_never_passes(tmp_path: Path, field: Field) -> None:
    checks, file, path, kind = field
    base = snapshot()
    variants = [_changed(base, file, path, value) for value in WRONG[kind]]
    for value, found in zip(WRONG[kind], _findings(tmp_path, variants, checks), strict=True):
        for check_id, findings in found.items():
            bad = [f for f in findings if f.status in (Status.FAILED, Status.ERROR)]
            assert bad, f"{check_id} passed {_id(field)} = {value!r}: {findings}"
            for finding in bad:
                assert "\n" not in finding.message and "check raised" not in finding.message, finding.message
            assert any(_leaf(path) in f.message for f in bad), (check_id, value, [f.message for f in bad])


@pytest.mark.parametrize("field", FIELDS, ids=_id)
def test_null_is_read_as_the_api_server_reads_it(tmp_path: Path, field: Field) -> None:
    checks, file, path, _ = field
    base = snapshot()
    if isinstance(path[-1], int | Key):
        # A list item or a map entry: null is of the wrong type.
        [nulled] = _findings(tmp_path, [_changed(base, file, path, None)], checks)
        for check_id, findings in nulled.items():
            assert any(f.status in (Status.FAILED, Status.ERROR) for f in findings), (check_id, findings)
        return
    # A field: null is absent, as when the field is removed.
    absent = base if path[-1] == "ephemeralContainers" else _changed(base, file, path, None, remove=True)
    nulled, removed = _findings(tmp_path, [_changed(base, file, path, None), absent], checks)
    for check_id in checks:
        assert [f.status for f in nulled[check_id]] == [f.status for f in removed[check_id]], check_id
