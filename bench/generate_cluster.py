"""Generate a cluster snapshot at platform scale, as `kubectl get <kind> -A -o json` writes it.

    python bench/generate_cluster.py OUT_DIR --namespaces 1500 --pods 20000

One JSON `List` file per kind. Each team namespace follows the MoJ Cloud Platform conventions
(labels, annotations, the two network policies, LimitRange, ResourceQuota, RoleBinding) and runs a
few Deployments, each with its ReplicaSet and Pods, so owner references are followed as on a real
cluster. Every tenth namespace breaks a rule (no default-deny policy, a root container, a missing
annotation) so findings of every kind are produced. Deterministic: the same arguments give the same
bytes.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

CP = "cloud-platform.justice.gov.uk/"
SYSTEM = ("kube-system", "monitoring", "ingress-controllers", "gatekeeper-system", "cert-manager")
CREATED = "2026-01-05T09:30:00Z"


def _meta(name: str, namespace: str | None = None, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}")),
        "resourceVersion": "123456",
        "creationTimestamp": CREATED,
        **extra,
    }
    if namespace:
        meta["namespace"] = namespace
    return meta


def namespace(name: int, broken: bool) -> dict[str, Any]:
    ns = f"team-{name:04d}-prod"
    annotations = {
        f"{CP}business-unit": "HMPPS",
        f"{CP}slack-channel": f"team-{name}",
        f"{CP}application": f"Service {name}",
        f"{CP}owner": f"Team {name}: team-{name}@digital.justice.gov.uk",
        f"{CP}source-code": f"https://github.com/ministryofjustice/service-{name}",
        f"{CP}team-name": f"team-{name}",
    }
    if broken:
        del annotations[f"{CP}team-name"]
    labels = {
        f"{CP}is-production": "true",
        f"{CP}environment-name": "production",
        "pod-security.kubernetes.io/enforce": "restricted",
        "kubernetes.io/metadata.name": ns,
    }
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": _meta(ns, labels=labels, annotations=annotations),
    }


def policies(ns: str, broken: bool) -> list[dict[str, Any]]:
    allow = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("allow-ingress-controllers", ns),
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"namespaceSelector": {"matchLabels": {"component": "ingress-controllers"}}}]}
            ],
        },
    }
    deny = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta("default", ns),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]},
    }
    return [allow] if broken else [deny, allow]


def pod_spec(app: str, root: bool) -> dict[str, Any]:
    security = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": not root,
        **({"runAsUser": 0} if root else {"runAsUser": 1000}),
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "serviceAccountName": app,
        "securityContext": {"fsGroup": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": app,
                "image": f"754256621582.dkr.ecr.eu-west-2.amazonaws.com/team/{app}:v1.2.3",
                "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                "resources": {
                    "limits": {"cpu": "500m", "memory": "512Mi"},
                    "requests": {"cpu": "50m", "memory": "128Mi"},
                },
                "env": [{"name": "RAILS_ENV", "value": "production"}, {"name": "PORT", "value": "8080"}],
                "readinessProbe": {"httpGet": {"path": "/ping", "port": 8080}, "periodSeconds": 10},
                "livenessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 10},
                "securityContext": security,
            }
        ],
    }


def workloads(ns: str, pods: int, broken: bool) -> dict[str, list[dict[str, Any]]]:
    """Deployments of up to 5 replicas each, with a ReplicaSet and the Pods it owns."""
    out: dict[str, list[dict[str, Any]]] = {"Deployment": [], "ReplicaSet": [], "Pod": []}
    index = 0
    while pods > 0:
        replicas = min(5, pods)
        pods -= replicas
        app = f"app-{index}"
        root = broken and index == 0
        spec = pod_spec(app, root)
        labels = {"app": app}
        out["Deployment"].append({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": _meta(app, ns, labels=labels),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas},
        })  # fmt: skip
        rs = f"{app}-7d9f8c6b5"
        owner = {"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "controller": True}
        out["ReplicaSet"].append({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": _meta(rs, ns, labels=labels, ownerReferences=[owner]),
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}},
        })  # fmt: skip
        rs_owner = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs, "controller": True}
        for replica in range(replicas):
            out["Pod"].append({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": _meta(f"{rs}-{replica:05d}", ns, labels=labels, ownerReferences=[rs_owner]),
                "spec": {**spec, "nodeName": f"ip-172-20-{replica}-{index}.eu-west-2.compute.internal"},
                "status": {"phase": "Running", "podIP": f"10.0.{replica}.{index % 250}",
                           "conditions": [{"type": "Ready", "status": "True"}],
                           "containerStatuses": [{"name": app, "ready": True, "restartCount": 0}]},
            })  # fmt: skip
        index += 1
    return out


def generate(root: Path, namespaces: int, total_pods: int) -> dict[str, int]:
    """Write the snapshot; return the number of objects of each kind."""
    root.mkdir(parents=True, exist_ok=True)
    lists = build(namespaces, total_pods)
    for kind, objects in lists.items():
        document = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects}
        (root / f"{kind.lower()}s.json").write_text(json.dumps(document, indent=4))
    return {kind: len(objects) for kind, objects in lists.items()}


def build(namespaces: int, total_pods: int) -> dict[str, list[dict[str, Any]]]:
    """The cluster's objects by kind, Namespaces first (bench/bench_live.py loads them in order)."""
    lists: dict[str, list[dict[str, Any]]] = {}

    def add(kind: str, obj: dict[str, Any]) -> None:
        lists.setdefault(kind, []).append(obj)

    for name in SYSTEM:
        add("Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": _meta(name)})
    for n in range(namespaces):
        broken = n % 10 == 9
        ns_obj = namespace(n, broken)
        ns = ns_obj["metadata"]["name"]
        add("Namespace", ns_obj)
        for policy in policies(ns, broken):
            add("NetworkPolicy", policy)
        pods = total_pods // namespaces + (1 if n < total_pods % namespaces else 0)
        for kind, objects in workloads(ns, pods, broken).items():
            for obj in objects:
                add(kind, obj)
    return lists


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--namespaces", type=int, default=1500)
    parser.add_argument("--pods", type=int, default=20000)
    args = parser.parse_args()
    counts = generate(args.out, args.namespaces, args.pods)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
