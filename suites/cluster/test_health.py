"""Whether team workloads tell Kubernetes when they are alive and ready, and whether they are."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, not_applicable
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster import shapes
from kitemark.targets.cluster.view import WORKLOAD_READS, NamespaceView, PodTemplate, Workload

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
