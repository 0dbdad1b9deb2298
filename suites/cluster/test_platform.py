"""The platform's own components: namespaces and CRDs exist (K8S-PLAT-001), its workloads are
healthy (K8S-PLAT-002), its Services exist (K8S-PLAT-003), its alert rules are loaded (K8S-PLAT-004)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import CRD_STATUS, NAMESPACE_STATUS, WORKLOAD_STATUS
from kitemark.targets.cluster.view import ClusterView, KObject, listed, wrong_types

from .namespace_inputs import MONITORING as MONITORING_NAMESPACE
from .platform import find, whole_cluster
from .platform_inputs import (
    PLATFORM_CRDS,
    PLATFORM_NAMESPACES,
    PLATFORM_PROMETHEUS_RULES,
    PLATFORM_SERVICES,
    PLATFORM_WORKLOADS,
)

CRD = "apiextensions.k8s.io/CustomResourceDefinition"
REFERENCES = [
    "https://github.com/ministryofjustice/cloud-platform-infrastructure",
    "https://github.com/ministryofjustice/cloud-platform-terraform-monitoring",
]


def _none_found(resource: str, what: str, why: str, expected: list[str]) -> Finding:
    return not_applicable(
        resource,
        f"none of the expected {what} is in the input, and {why}: their absence is no evidence",
        evidence={"expected": expected},
    )


def _unreadable(ref: str, obj: KObject, shape: Any) -> Finding | None:
    problems = wrong_types(obj.raw, shape)
    if not problems:
        return None
    return error(
        ref,
        f"cannot read {obj.ref}: {listed(problems)} (the API server refuses such an object)",
        evidence={"unreadable": problems},
        location=obj.source,
    )


def _namespace_finding(name: str, obj: KObject | None) -> Finding:
    ref = f"Namespace/{name}"
    if obj is None:
        return failed(ref, f"no Namespace {name}: the platform component it holds is not installed")
    unreadable = _unreadable(ref, obj, NAMESPACE_STATUS)
    if unreadable:
        return unreadable
    phase = obj.get("status", "phase")
    if phase == "Terminating":
        return failed(
            ref, f"Namespace {name} is being deleted (status.phase: Terminating)", location=obj.source
        )
    return passed(
        ref,
        f"Namespace {name} exists" + (f" ({phase})" if isinstance(phase, str) else ""),
        location=obj.source,
    )


def _crd_finding(name: str, obj: KObject | None) -> Finding:
    ref = f"CustomResourceDefinition/{name}"
    if obj is None:
        return failed(ref, f"no CustomResourceDefinition {name}: its kind cannot be created or read")
    unreadable = _unreadable(ref, obj, CRD_STATUS)
    if unreadable:
        return unreadable
    established = [
        c.get("status")
        for c in obj.get("status", "conditions") or []
        if isinstance(c, Mapping) and c.get("type") == "Established"
    ]
    if established and established[0] != "True":
        return failed(
            ref, f"CustomResourceDefinition {name} is not Established ({established[0]})", location=obj.source
        )
    return passed(ref, f"CustomResourceDefinition {name} exists", location=obj.source)


@check(
    "K8S-PLAT-001",
    scope="cluster.cluster",
    title="The platform's namespaces and CustomResourceDefinitions exist",
    severity="high",
    rationale="""
        The platform's controls live in its own namespaces (Gatekeeper, ingress controllers,
        monitoring, cert-manager, logging, backups, networking) and depend on CustomResourceDefinitions
        (ServiceMonitor, PrometheusRule, Certificate, ConstraintTemplate): a missing one means a
        control — alerting, TLS, admission policy, backups — is not there at all, and tenants'
        ServiceMonitors or Certificates cannot even be created (Service Standard 14; NCSC principle 5).
        The platform's own Go tests check the same. Each expected namespace (input
        `platform_namespaces`) and CRD (input `platform_crds`) is one result; a Terminating namespace
        and a CRD whose Established condition is not True fail. A live cluster, or a snapshot holding
        the kube-system Namespace, missing one fails; a snapshot that is not of a whole cluster and
        holds none of them is not applicable (the absence is no evidence).
    """,
    remediation="""
        Re-apply the platform component that owns the namespace or CRD (cloud-platform-infrastructure
        `terraform/aws-accounts/cloud-platform-aws/vpc/eks/core` components and the
        cloud-platform-terraform-* modules), then check with `kubectl get ns` and `kubectl get crd`.
    """,
    references=REFERENCES,
    reads=["v1/Namespace", CRD],
    inputs=[PLATFORM_NAMESPACES, PLATFORM_CRDS],
)
def test_platform_namespaces_and_crds(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    names, crds = inputs[PLATFORM_NAMESPACES.name], inputs[PLATFORM_CRDS.name]
    namespaces = {n: find(cluster, "v1/Namespace", n) for n in names}
    definitions = {c: find(cluster, CRD, c) for c in crds}
    whole, why = whole_cluster(cluster)
    if not names and not crds:
        yield not_applicable(
            cluster.cluster, "no namespace or CRD is expected (inputs platform_namespaces, platform_crds)"
        )
        return
    if not whole and not any(namespaces.values()) and not any(definitions.values()):
        yield _none_found("platform", "namespaces or CustomResourceDefinitions", why, [*names, *crds])
        return
    for name, obj in namespaces.items():
        yield _namespace_finding(name, obj)
    for name, obj in definitions.items():
        yield _crd_finding(name, obj)


def _counts(obj: KObject) -> tuple[int, int, str]:
    """(desired, ready, what is counted) as the controller reports them in status."""
    status = obj.get("status") or {}
    if obj.kind == "DaemonSet":
        return status.get("desiredNumberScheduled") or 0, status.get("numberReady") or 0, "pods"
    replicas = obj.get("spec", "replicas")
    return (1 if replicas is None else replicas), status.get("readyReplicas") or 0, "replicas"


def _workload_finding(entry: Mapping[str, str], obj: KObject | None, whole: bool, why: str) -> Finding:
    ref = f"{entry['kind']}/{entry['namespace']}/{entry['name']}"
    if obj is None:
        return failed(ref, f"no {entry['kind']} {entry['name']} in namespace {entry['namespace']}")
    unreadable = _unreadable(ref, obj, WORKLOAD_STATUS)
    if unreadable:
        return unreadable
    if not obj.get("status"):
        if not whole:
            return not_applicable(ref, f"no status (a manifest, not a live object): {why}")
        return error(ref, "no status: cannot tell how many replicas are ready", location=obj.source)
    desired, ready, unit = _counts(obj)
    evidence = {"desired": desired, "ready": ready}
    if desired == 0:
        return failed(ref, f"0 {unit} desired: it runs nowhere", evidence=evidence, location=obj.source)
    if ready < desired:
        return failed(ref, f"{ready} of {desired} {unit} ready", evidence=evidence, location=obj.source)
    return passed(ref, f"{ready} of {desired} {unit} ready", evidence=evidence, location=obj.source)


@check(
    "K8S-PLAT-002",
    scope="cluster.cluster",
    title="The platform's DaemonSets and Deployments exist with every replica ready",
    severity="high",
    rationale="""
        A platform controller that exists but is not ready is a control that is not running: a
        node without the CNI or log shipper DaemonSet, Gatekeeper without ready pods (its webhook
        fails open), no DNS or cert-manager (Service Standard 14, operate a reliable service; NCSC
        principle 5). The platform's Go tests check that these exist, not that they are ready. Each
        expected workload (input `platform_workloads`: kind, namespace, name) is one result:
        desired = ready (`spec.replicas`, default 1, against `status.readyReplicas`; for a DaemonSet
        `status.desiredNumberScheduled` against `status.numberReady`), and zero desired fails. A
        workload without status is an *error* on a live or whole-cluster input and not applicable in
        a repository snapshot. A snapshot that is not of a whole cluster and holds none of them is
        not applicable.
    """,
    remediation="""
        Find why pods are not ready (`kubectl -n <namespace> describe <kind> <name>`, `kubectl -n
        <namespace> get pods`, events) and fix the node, image, resources or configuration; re-apply
        the component's module if the workload is missing.
    """,
    references=REFERENCES,
    reads=["v1/Namespace", "apps/Deployment", "apps/DaemonSet", "apps/StatefulSet"],
    inputs=[PLATFORM_WORKLOADS],
)
def test_platform_workloads(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    expected = inputs[PLATFORM_WORKLOADS.name]
    if not expected:
        yield not_applicable(cluster.cluster, "no workload is expected (input platform_workloads is empty)")
        return
    found = [find(cluster, f"apps/{e['kind']}", e["name"], e["namespace"]) for e in expected]
    whole, why = whole_cluster(cluster)
    if not whole and not any(found):
        yield _none_found(
            "platform", "workloads", why, [f"{e['kind']}/{e['namespace']}/{e['name']}" for e in expected]
        )
        return
    for entry, obj in zip(expected, found, strict=True):
        yield _workload_finding(entry, obj, whole, why)


@check(
    "K8S-PLAT-003",
    scope="cluster.cluster",
    title="The platform's Services exist",
    severity="medium",
    rationale="""
        The platform's Services are how its components are reached: cluster DNS, Gatekeeper's and
        cert-manager's admission webhooks, Prometheus and Alertmanager. A missing one leaves a
        webhook unreachable (Gatekeeper fails open; cert-manager cannot validate) or monitoring
        unreachable (Service Standard 10 and 14; NCSC principle 5). The platform's Go tests check
        the same names. Each expected Service (input `platform_services`: namespace and name) is one
        result, its type and ports as evidence. A live cluster, or a whole-cluster snapshot, missing
        one fails; a snapshot that is not of a whole cluster and holds none of them is not
        applicable.
    """,
    remediation="""
        Re-apply the component that owns the Service (its Helm release or module) and check with
        `kubectl -n <namespace> get service <name>`.
    """,
    references=REFERENCES,
    reads=["v1/Namespace", "v1/Service"],
    inputs=[PLATFORM_SERVICES],
)
def test_platform_services(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    expected = inputs[PLATFORM_SERVICES.name]
    if not expected:
        yield not_applicable(cluster.cluster, "no Service is expected (input platform_services is empty)")
        return
    found = [find(cluster, "v1/Service", e["name"], e["namespace"]) for e in expected]
    whole, why = whole_cluster(cluster)
    if not whole and not any(found):
        yield _none_found("platform", "Services", why, [f"{e['namespace']}/{e['name']}" for e in expected])
        return
    for entry, service in zip(expected, found, strict=True):
        ref = f"Service/{entry['namespace']}/{entry['name']}"
        if service is None:
            yield failed(ref, f"no Service {entry['name']} in namespace {entry['namespace']}")
            continue
        ports = service.get("spec", "ports")
        evidence = {
            "type": service.get("spec", "type") or "ClusterIP",
            "ports": [p.get("port") for p in ports if isinstance(p, Mapping)]
            if isinstance(ports, list)
            else ports,
        }
        yield passed(
            ref,
            f"Service {entry['name']} exists ({evidence['type']})",
            evidence=evidence,
            location=service.source,
        )


@check(
    "K8S-PLAT-004",
    scope="cluster.cluster",
    title="The monitoring namespace holds the platform's expected PrometheusRules",
    severity="medium",
    rationale="""
        The platform's own alerts (nodes, the API server, kubelet, storage, Prometheus and
        Alertmanager themselves, and the platform's custom node and application rules) are
        PrometheusRules in the monitoring namespace. One missing is a failure nobody is told about
        (Service Standard 14, operate a reliable service; NCSC principle 5). Each expected rule
        (input `platform_prometheus_rules`, in input `monitoring_namespace`; by default the names the
        platform's Go tests expect) is one result; rules present but not expected are listed in the
        evidence of each result, not failed. A live cluster, or a whole-cluster snapshot, missing one
        fails; a snapshot that is not of a whole cluster and holds none is not applicable.
    """,
    remediation="""
        Re-apply the monitoring module (cloud-platform-terraform-monitoring: the kube-prometheus-stack
        release `prometheus-operator` and its `resources/prometheusrule-alerts/`), then check with
        `kubectl -n monitoring get prometheusrules`.
    """,
    references=REFERENCES,
    reads=["v1/Namespace", "monitoring.coreos.com/PrometheusRule"],
    inputs=[MONITORING_NAMESPACE, PLATFORM_PROMETHEUS_RULES],
)
def test_platform_prometheus_rules(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    namespace, expected = inputs[MONITORING_NAMESPACE.name]["name"], inputs[PLATFORM_PROMETHEUS_RULES.name]
    if not expected:
        yield not_applicable(
            cluster.cluster, "no PrometheusRule is expected (input platform_prometheus_rules is empty)"
        )
        return
    rules = {
        r.name: r for r in cluster.of_kind("monitoring.coreos.com/PrometheusRule") if r.namespace == namespace
    }
    whole, why = whole_cluster(cluster)
    if not whole and not rules:
        yield _none_found(
            f"PrometheusRule/{namespace}/*", f"PrometheusRules in {namespace}", why, list(expected)
        )
        return
    extra = sorted(set(rules) - set(expected))
    for name in expected:
        ref = f"PrometheusRule/{namespace}/{name}"
        rule = rules.get(name)
        evidence = {"not_expected": extra}
        if rule is None:
            yield failed(ref, f"no PrometheusRule {name} in namespace {namespace}", evidence=evidence)
        else:
            yield passed(ref, f"PrometheusRule {name} is present", evidence=evidence, location=rule.source)
