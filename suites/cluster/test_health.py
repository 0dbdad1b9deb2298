"""Whether team workloads tell Kubernetes when they are alive and ready, and whether they are."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster import shapes
from kitemark.targets.cluster.view import (
    WORKLOAD_READS,
    KObject,
    NamespaceView,
    PodTemplate,
    Workload,
    wrong_types,
)

from .workloads import Assessment, workload_findings

READS = ["v1/Namespace", *WORKLOAD_READS]
PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
PROBE_SHAPE = shapes.Map({name: shapes.Map() for name in PROBES})
# Run to completion: a probe has nothing to report on them.
BATCH_KINDS = frozenset({"Job", "CronJob"})

REQUIRED_PROBES = Input(
    "required_probes",
    default=["livenessProbe", "readinessProbe"],
    description="The probes every container of a long-running workload must have (K8S-PROBE-001)",
    schema={"type": "array", "items": {"enum": list(PROBES)}, "uniqueItems": True},
)


def run_to_completion(workload: Workload) -> str | None:
    """Why ``workload`` is not long-running (a Job, a CronJob, one of their Pods, a Pod that is not
    restarted), or ``None``."""
    kind = workload.owner.kind if workload.owner is not None else workload.obj.kind
    why = None
    if kind in BATCH_KINDS:
        why = f"a {kind} runs"
    elif workload.obj.kind == "Pod" and workload.pod_spec.get("restartPolicy") in ("Never", "OnFailure"):
        why = f"a Pod with restartPolicy {workload.pod_spec.get('restartPolicy')} runs"
    return f"{why} to completion: liveness and readiness probes do not apply" if why else None


@check(
    "K8S-PROBE-001",
    scope="cluster.namespace",
    title="Long-running team workloads have liveness and readiness probes on every container",
    severity="medium",
    rationale="""
        Without a readiness probe a pod receives traffic as soon as its process starts, and keeps
        receiving it when it can no longer serve, so every rollout and every stall shows users errors.
        Without a liveness probe a hung process is never restarted. Both are how Kubernetes keeps a
        service available through deployments, node drains and faults (Service Standard 14; NCSC
        principle 2, resilience). Every app container of a Deployment, StatefulSet, DaemonSet,
        ReplicaSet, ReplicationController or restarted Pod is assessed; Jobs, CronJobs and their
        Pods run to completion and are not applicable. Init containers finish before the app starts
        and cannot have these probes; ephemeral (debug) containers cannot either; containers added at
        admission (a mesh sidecar) are the injector's and are listed, not judged. The probes
        required are the input `required_probes`.
    """,
    remediation="""
        Give every app container a readiness probe that fails while it cannot serve, and a liveness
        probe that fails only when it must be restarted (not on a slow dependency):

            readinessProbe:
              httpGet: {path: /ready, port: 8080}
              periodSeconds: 10
            livenessProbe:
              httpGet: {path: /health, port: 8080}
              initialDelaySeconds: 30

        Add a `startupProbe` for slow starters rather than a long `initialDelaySeconds`.
    """,
    references=[
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-liveness-readiness-startup-probes/",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/deploying-an-app/zero-downtime-deploys.html",
    ],
    reads=READS,
    inputs=[REQUIRED_PROBES],
)
def test_probes(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    required: list[str] = list(inputs[REQUIRED_PROBES.name])
    if not required:
        yield not_applicable(ns.ref, "no probes are required (input required_probes is empty)")
        return

    def assess(template: PodTemplate) -> Assessment:
        seen: list[dict[str, Any]] = []
        problems: list[str] = []
        for c in template.containers():
            present = [p for p in PROBES if c.spec.get(p) is not None]
            entry: dict[str, Any] = {"name": c.name, "type": c.type, "probes": present}
            if template.added_only or c.type != "container":
                entry["assessed"] = False
            else:
                missing = [p for p in required if p not in present]
                if missing:
                    problems.append(f"{c.label} has no {' or '.join(missing)}")
            seen.append(entry)
        return {"required": required, "containers": seen}, problems

    def message(count: int) -> str:
        return f"every app container has {' and '.join(required)} (init and ephemeral containers need none)"

    yield from workload_findings(ns, assess, message, shape=PROBE_SHAPE, exempt=run_to_completion)


# --- live status ------------------------------------------------------------------------------------

CONTROLLER_STATUS = shapes.Map(
    {
        "spec": shapes.Map({"replicas": shapes.INT}),
        "status": shapes.Map(
            {
                "replicas": shapes.INT,
                "readyReplicas": shapes.INT,
                "updatedReplicas": shapes.INT,
                "availableReplicas": shapes.INT,
                "desiredNumberScheduled": shapes.INT,
                "numberReady": shapes.INT,
            }
        ),
    }
)
HEALTH_KINDS = (
    "apps/Deployment",
    "apps/StatefulSet",
    "apps/DaemonSet",
    "extensions/Deployment",
    "extensions/DaemonSet",
)
NO_STATUS = "has no status: it was read from a manifest, not from a live cluster, so its health is unknown"


def _desired_ready(obj: KObject) -> tuple[int, int]:
    status = obj.get("status") or {}
    if obj.kind == "DaemonSet":
        return int(status.get("desiredNumberScheduled") or 0), int(status.get("numberReady") or 0)
    replicas = obj.get("spec", "replicas")
    return (1 if replicas is None else int(replicas)), int(status.get("readyReplicas") or 0)


def _controller_health(obj: KObject) -> Finding:
    wrong = wrong_types(obj.raw, CONTROLLER_STATUS)
    if wrong:
        return error(
            obj.ref, f"cannot read {obj.kind} '{obj.name}': {shapes.listed(wrong)}", location=obj.source
        )
    if obj.get("status") is None:
        return not_applicable(obj.ref, NO_STATUS)
    desired, ready = _desired_ready(obj)
    status = {k: v for k, v in (obj.get("status") or {}).items() if k != "conditions"}
    evidence = {"desired": desired, "ready": ready, "status": status}
    if ready < desired:
        return failed(
            obj.ref, f"{ready} of {desired} desired pod(s) ready", evidence=evidence, location=obj.source
        )
    return passed(obj.ref, f"all {desired} desired pod(s) ready", evidence=evidence, location=obj.source)


@check(
    "K8S-HEALTH-001",
    scope="cluster.namespace",
    title="Team Deployments, StatefulSets and DaemonSets have as many ready pods as desired",
    severity="medium",
    rationale="""
        A controller with fewer ready pods than it wants is a service running degraded or down: a
        rollout stuck on an image that does not start, pods that cannot be scheduled, a crash loop.
        Reading it from the cluster's own status is the evidence that the service is operating as
        deployed (Service Standard 14; NCSC principle 2). Desired is `spec.replicas` (1 when unset)
        for Deployments and StatefulSets, `status.desiredNumberScheduled` for DaemonSets; ready is
        `status.readyReplicas` / `status.numberReady`. An object without a status (a manifest, not a
        live read) is not applicable: its health is unknown, never assumed.
    """,
    remediation="""
        `kubectl -n <ns> describe deployment <name>` and `kubectl -n <ns> get events` show why pods
        are not ready (image pull, scheduling, failing readiness probe, crash loop); fix the cause,
        or roll back with `kubectl rollout undo`.
    """,
    references=["https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#deployment-status"],
    reads=["v1/Namespace", *HEALTH_KINDS[:3]],
)
def test_controllers_ready(ns: NamespaceView) -> Iterator[Finding]:
    controllers = ns.of_kind(*HEALTH_KINDS)
    if not controllers:
        yield not_applicable(ns.ref, "no Deployments, StatefulSets or DaemonSets in this namespace")
        return
    for obj in controllers:
        yield _controller_health(obj)


MAX_RESTARTS = Input(
    "max_container_restarts",
    default=5,
    description="The most restarts a container of a running Pod may show before K8S-HEALTH-002 fails it",
    schema={"type": "integer", "minimum": 0},
)
BAD_WAITING = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "InvalidImageName"}
)
_CONTAINER_STATUS = shapes.Map(
    {
        "name": shapes.STR,
        "ready": shapes.BOOL,
        "restartCount": shapes.INT,
        "state": shapes.Map({"waiting": shapes.Map({"reason": shapes.STR})}),
    }
)
POD_STATUS = shapes.Map(
    {
        "status": shapes.Map(
            {
                "phase": shapes.STR,
                "conditions": shapes.Seq(shapes.Map({"type": shapes.STR, "status": shapes.STR})),
                "containerStatuses": shapes.Seq(_CONTAINER_STATUS),
                "initContainerStatuses": shapes.Seq(_CONTAINER_STATUS),
            }
        )
    }
)


def _ready_condition(pod: KObject) -> str | None:
    conditions = pod.get("status", "conditions") or []
    return next((c.get("status") for c in conditions if c.get("type") == "Ready"), None)


def _pod_problems(pod: KObject, limit: int) -> tuple[list[str], dict[str, Any]]:
    status = pod.get("status") or {}
    phase = status.get("phase")
    ready = _ready_condition(pod)
    problems = []
    if phase == "Failed":
        problems.append("is in phase Failed")
    elif ready != "True":
        problems.append(f"is not Ready (phase {phase}, Ready condition {ready or 'absent'})")
    containers = []
    for entry in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]:
        name, restarts = entry.get("name"), int(entry.get("restartCount") or 0)
        waiting = ((entry.get("state") or {}).get("waiting") or {}).get("reason")
        containers.append(
            {"name": name, "restartCount": restarts, "waiting": waiting, "ready": entry.get("ready")}
        )
        if waiting in BAD_WAITING:
            problems.append(f"container '{name}' is waiting in {waiting}")
        if restarts > limit:
            problems.append(f"container '{name}' restarted {restarts} times (more than {limit})")
    owner = pod.owner_references[0] if pod.owner_references else None
    evidence = {
        "phase": phase,
        "ready": ready,
        "containers": containers,
        "owner": f"{owner.get('kind')}/{owner.get('name')}" if owner else None,
    }
    return problems, evidence


@check(
    "K8S-HEALTH-002",
    scope="cluster.namespace",
    title="Team pods are Ready and not crash-looping",
    severity="medium",
    rationale="""
        A pod that is not Ready serves no traffic; one in CrashLoopBackOff, or whose containers keep
        restarting, is failing in production even when enough of its siblings hide it, and an image
        that cannot be pulled means a rollout that never finishes. The cluster's own Pod status is
        the evidence (Service Standard 14; NCSC principle 2). Each Pod is judged on its Ready
        condition, its phase (Failed fails; Succeeded, a finished Job's pod, is not applicable), the
        waiting reason of each container (CrashLoopBackOff, ImagePullBackOff, ErrImagePull,
        CreateContainerConfigError, InvalidImageName) and its restart count (more than the input
        `max_container_restarts` fails). A Pod without a status (a manifest) is not applicable.
        Findings name the Pod, with its owner in the evidence.
    """,
    remediation="""
        `kubectl -n <ns> describe pod <pod>` and `kubectl -n <ns> logs <pod> -c <container> --previous`
        show why it is not ready or restarting: fix the application, its configuration, its probes or
        its resources (an OOMKilled container needs more memory), then roll out again.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-lifecycle/",
        "https://kubernetes.io/docs/tasks/debug/debug-application/debug-pods/",
    ],
    reads=["v1/Namespace", "v1/Pod"],
    inputs=[MAX_RESTARTS],
)
def test_pods_healthy(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    limit = int(inputs[MAX_RESTARTS.name])
    pods = ns.of_kind("v1/Pod")
    if not pods:
        yield not_applicable(ns.ref, "no Pods in this namespace (a snapshot of manifests holds none)")
        return
    for pod in pods:
        wrong = wrong_types(pod.raw, POD_STATUS)
        if wrong:
            yield error(pod.ref, f"cannot read Pod '{pod.name}': {shapes.listed(wrong)}", location=pod.source)
        elif pod.get("status") is None:
            yield not_applicable(pod.ref, NO_STATUS)
        elif pod.get("status", "phase") == "Succeeded":
            yield not_applicable(pod.ref, "has run to completion (phase Succeeded)")
        elif pod.get("status", "phase") == "Running" and not _ready_condition(pod):
            # The API server always reports it for a running Pod: the status was trimmed.
            why = "its status holds no Ready condition (a trimmed export?), so its readiness is unknown"
            yield error(pod.ref, why, location=pod.source)
        else:
            problems, evidence = _pod_problems(pod, limit)
            if problems:
                yield failed(pod.ref, "; ".join(problems), evidence=evidence, location=pod.source)
            else:
                yield passed(
                    pod.ref,
                    f"is Ready, no container restarted more than {limit} times",
                    evidence=evidence,
                    location=pod.source,
                )
