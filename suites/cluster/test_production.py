"""Availability of production workloads: replicas, disruption budgets, rollouts and autoscaling."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import KObject, NamespaceView

from .production import (
    HPA_READS,
    MIN_REPLICAS,
    PDB_READS,
    PRODUCTION_LABEL,
    READS,
    Context,
    Judgement,
    production_findings,
    scaled,
    selects,
)

PRODUCTION = """
        A namespace is production when it carries the input `production_label` (by default
        `cloud-platform.justice.gov.uk/is-production: "true"`); in any other namespace the check is
        not applicable, and without the Namespace object it cannot tell (*error*)."""


def _min_replicas(controller: KObject, context: Context, inputs: Mapping[str, Any]) -> Judgement:
    wanted = int(inputs[MIN_REPLICAS.name])
    replicas, origin = context.replicas(controller)
    evidence = {"replicas": replicas, "from": origin, "minimum": wanted}
    if replicas < wanted:
        return [f"runs {replicas} replica(s) ({origin}); production needs at least {wanted}"], evidence, ""
    return [], evidence, f"runs at least {replicas} replicas ({origin}), at least {wanted}"


@check(
    "K8S-PROD-001",
    scope="cluster.namespace",
    title="Production Deployments and StatefulSets run at least two replicas",
    severity="medium",
    rationale="""
        A single replica is a single point of failure: a node drain for a platform upgrade, a node
        failure or a crash takes the service down until a new pod is scheduled and ready. Two or
        more replicas, spread by the scheduler, keep a production service up through the routine
        disruption of a shared cluster (Service Standard 14; NCSC principle 2, resilience). When an
        HorizontalPodAutoscaler targets the controller it owns the replica count, so its
        `minReplicas` is judged instead. The minimum is the input `production_min_replicas`.
    """
    + PRODUCTION,
    remediation="""
        Set `spec.replicas: 2` (or more) on the Deployment or StatefulSet, or `minReplicas: 2` on the
        HorizontalPodAutoscaler that scales it.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#replicas",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/deploying-an-app/zero-downtime-deploys.html",
    ],
    reads=[*READS, *HPA_READS],
    inputs=[PRODUCTION_LABEL, MIN_REPLICAS],
)
def test_production_replicas(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    yield from production_findings(ns, inputs, lambda c, ctx: _min_replicas(c, ctx, inputs))


def _budget(pdb: KObject, replicas: int) -> tuple[int | None, str]:
    """How many of ``replicas`` pods ``pdb`` lets be evicted at once (``None``: cannot tell), and why."""
    spec = pdb.get("spec") or {}
    if spec.get("maxUnavailable") is not None:
        allowed = scaled(spec["maxUnavailable"], replicas, round_up=True)
        return allowed, f"maxUnavailable {spec['maxUnavailable']}"
    if spec.get("minAvailable") is not None:
        needed = scaled(spec["minAvailable"], replicas, round_up=True)
        return (None if needed is None else max(replicas - needed, 0)), f"minAvailable {spec['minAvailable']}"
    return 0, "neither minAvailable nor maxUnavailable (an eviction is refused)"


def _disruption_budget(controller: KObject, context: Context) -> Judgement:
    labels = controller.get("spec", "template", "metadata", "labels") or {}
    replicas, origin = context.replicas(controller)
    covering = [p for p in context.pdbs if selects(p.get("spec", "selector"), labels)]
    evidence: dict[str, Any] = {"replicas": replicas, "replicas_from": origin, "budgets": []}
    allowing = []
    for pdb in covering:
        allowed, why = _budget(pdb, replicas)
        seen = {"name": pdb.name, "rule": why, "evictions_allowed": allowed}
        status = pdb.get("status", "disruptionsAllowed")
        if status is not None:
            seen["status.disruptionsAllowed"] = status
        evidence["budgets"].append(seen)
        if allowed is not None and allowed > 0:
            allowing.append(pdb.name)
    if len(covering) > 1:
        return (
            [f"{len(covering)} PodDisruptionBudgets select its pods, so evictions are refused"],
            evidence,
            "",
        )
    if not covering:
        return ["no PodDisruptionBudget selects its pods"], evidence, ""
    if not allowing:
        [seen] = evidence["budgets"]
        name, rule = covering[0].name, seen["rule"]
        if seen["evictions_allowed"] is None:
            problem = f"PodDisruptionBudget '{name}' has {rule}, which is neither an integer nor a percentage"
        else:
            problem = f"PodDisruptionBudget '{name}' allows no eviction of {replicas} replica(s) ({rule})"
        return [problem], evidence, ""
    return [], evidence, f"PodDisruptionBudget '{allowing[0]}' covers its pods and allows an eviction"


@check(
    "K8S-PROD-002",
    scope="cluster.namespace",
    title="A PodDisruptionBudget that allows a disruption covers each production Deployment and StatefulSet",
    severity="medium",
    rationale="""
        When the platform drains nodes (upgrades, scaling down) it evicts pods through the eviction
        API, which honours PodDisruptionBudgets. Without one, every replica of a service may be
        evicted at once; with one that allows no eviction (`minAvailable` equal to the replicas,
        `maxUnavailable: 0`) the drain blocks and the platform team must force it, which breaks both
        the service and the platform's maintenance (Service Standard 14; NCSC principle 2). Exactly
        one budget must select the pods (the eviction API refuses pods selected by several), and it
        must allow at least one eviction of the replicas the controller runs (its HPA's
        `minReplicas` when one targets it).
    """
    + PRODUCTION,
    remediation="""
        Add one PodDisruptionBudget per production Deployment/StatefulSet, selecting its pods and
        allowing one to go at a time:

            apiVersion: policy/v1
            kind: PodDisruptionBudget
            metadata: {name: my-app}
            spec:
              maxUnavailable: 1
              selector: {matchLabels: {app: my-app}}

        with at least two replicas (K8S-PROD-001).
    """,
    references=[
        "https://kubernetes.io/docs/concepts/workloads/pods/disruptions/",
        "https://kubernetes.io/docs/tasks/run-application/configure-pdb/",
    ],
    reads=[*READS, *PDB_READS, *HPA_READS],
    inputs=[PRODUCTION_LABEL],
)
def test_production_disruption_budget(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    yield from production_findings(ns, inputs, _disruption_budget)


def _rolling_update(controller: KObject, _context: Context) -> Judgement:
    strategy = controller.get("spec", "strategy") or {}
    kind = strategy.get("type") or "RollingUpdate"
    rolling = strategy.get("rollingUpdate") or {}
    unavailable = rolling.get("maxUnavailable", "25%")  # Kubernetes' default
    surge = rolling.get("maxSurge", "25%")
    evidence = {"type": kind, "maxUnavailable": unavailable, "maxSurge": surge}
    if kind != "RollingUpdate":
        return [f"uses the {kind} strategy, which stops every pod before starting new ones"], evidence, ""
    # Judged as written, whatever the replicas: a percentage rounds to 0 only at some scales.
    down = scaled(unavailable, 100 * 100, round_up=False)
    if down is None:
        return [f"has maxUnavailable {unavailable!r}, neither an integer nor a percentage"], evidence, ""
    if down > 0:
        how = "" if "maxUnavailable" in rolling else " (the default)"
        return [f"rolls out with maxUnavailable {unavailable}{how}; production needs 0"], evidence, ""
    return [], evidence, f"rolls out with maxUnavailable 0 (maxSurge {surge})"


@check(
    "K8S-PROD-003",
    scope="cluster.namespace",
    title="Production Deployments roll out with RollingUpdate and maxUnavailable 0",
    severity="low",
    rationale="""
        A rollout is the most frequent disruption a service sees. With the default `maxUnavailable`
        of 25%, or with the `Recreate` strategy, Kubernetes stops serving pods before their
        replacements are ready, so a deployment (or a bad image that never becomes ready) removes
        capacity from a production service. `maxUnavailable: 0` with a surge keeps every old pod
        until a new one is ready (Service Standard 14; NCSC principle 2). Deployments only:
        StatefulSets replace their pods one at a time by design.
    """
    + PRODUCTION,
    remediation="""
        Set the Deployment's strategy:

            strategy:
              type: RollingUpdate
              rollingUpdate: {maxUnavailable: 0, maxSurge: 1}

        and give it a readiness probe (K8S-PROBE-001), so "ready" means ready.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#strategy",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/deploying-an-app/zero-downtime-deploys.html",
    ],
    reads=["v1/Namespace", "apps/Deployment", *HPA_READS],
    inputs=[PRODUCTION_LABEL],
)
def test_production_rollout(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    kinds = ("apps/Deployment", "extensions/Deployment")
    yield from production_findings(ns, inputs, _rolling_update, kinds)


def _autoscaled(controller: KObject, context: Context) -> Judgement:
    hpa = context.hpa_for(controller)
    if hpa is None:
        names = [h.name for h in context.hpas]
        return ["no HorizontalPodAutoscaler targets it"], {"hpas_in_namespace": names}, ""
    evidence = {
        "hpa": hpa.name,
        "minReplicas": hpa.get("spec", "minReplicas") or 1,
        "maxReplicas": hpa.get("spec", "maxReplicas"),
    }
    return [], evidence, f"HorizontalPodAutoscaler '{hpa.name}' scales it"


@check(
    "K8S-PROD-004",
    scope="cluster.namespace",
    title="A HorizontalPodAutoscaler targets each production Deployment",
    severity="low",
    rationale="""
        A fixed replica count is sized for the load someone expected. A HorizontalPodAutoscaler adds
        pods as demand rises and removes them as it falls, so a production service stays available
        under peaks without holding idle capacity on a shared cluster (Service Standard 14; NCSC
        principle 2). The HPA must name the Deployment in `scaleTargetRef` (kind and name, and group
        when given); its `minReplicas` is judged by K8S-PROD-001.
    """
    + PRODUCTION,
    remediation="""
        Add an HPA per production Deployment:

            apiVersion: autoscaling/v2
            kind: HorizontalPodAutoscaler
            metadata: {name: my-app}
            spec:
              scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: my-app}
              minReplicas: 2
              maxReplicas: 6
              metrics:
                - type: Resource
                  resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}

        (CPU utilisation needs CPU requests: K8S-RES-001.)
    """,
    references=["https://kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale/"],
    reads=["v1/Namespace", "apps/Deployment", *HPA_READS],
    inputs=[PRODUCTION_LABEL],
)
def test_production_autoscaling(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    kinds = ("apps/Deployment", "extensions/Deployment")
    yield from production_findings(ns, inputs, _autoscaled, kinds)
