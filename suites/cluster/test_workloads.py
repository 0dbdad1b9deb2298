"""Pod security of team workloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.checks import check, error, failed, not_applicable, passed
from kitemark.model import Finding
from kitemark.targets.cluster_views import Container, NamespaceView


def _assess(container: Container) -> tuple[dict[str, Any], list[str]]:
    non_root, non_root_from = container.effective("runAsNonRoot")
    user, user_from = container.effective("runAsUser")
    privileged = container.security("privileged") is True
    seen = {
        "name": container.name,
        "type": container.type,
        "privileged": privileged,
        "runAsNonRoot": non_root,
        "runAsNonRoot_from": non_root_from,
        "runAsUser": user,
        "runAsUser_from": user_from,
    }
    label = f"{container.type} '{container.name}'"
    problems: list[str] = []
    if privileged:
        problems.append(f"{label} is privileged")
    if user == 0:
        problems.append(f"{label} runs as root (runAsUser: 0 from the {user_from} securityContext)")
    elif non_root is not True:
        how = (
            "not set" if non_root_from == "unset" else f"{non_root!r} in the {non_root_from} securityContext"
        )
        problems.append(f"{label} does not set runAsNonRoot: true ({how})")
    return seen, problems


@check(
    "K8S-POD-001",
    scope="cluster.namespace",
    title="Team workloads run no privileged or root containers",
    severity="high",
    controls=["service-standard:9", "ncsc-csp:3", "ncsc-csp:5"],
    rationale="""
        A privileged container has every capability of the node and can reach the host's devices,
        so escaping it is trivial; a container running as root turns any breakout or mounted-volume
        mistake into root on the node. On a multi-tenant cluster either one breaks the separation
        between teams (NCSC principle 3) and the operational security of the platform (principle 5).
        Init and ephemeral (debug) containers run with the same rights and are checked too; a
        container's own securityContext overrides the pod's, as Kubernetes applies it.
    """,
    remediation="""
        Remove `privileged: true` and run every container as a non-root user, at pod level (inherited
        by every container) and without a container-level override back to root:

            spec:
              securityContext:
                runAsNonRoot: true
                runAsUser: 1000
              containers:
                - name: app
                  securityContext:
                    allowPrivilegeEscalation: false
                    capabilities: {drop: [ALL]}

        Build the image with a numeric non-root `USER`, and keep the namespace label
        `pod-security.kubernetes.io/enforce: restricted` so the API server rejects regressions.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/tasks/configure-pod-container/security-context/",
    ],
)
def test_no_privileged_or_root_containers(ns: NamespaceView) -> Iterator[Finding]:
    workloads = ns.workloads()
    if not workloads:
        yield not_applicable(
            ns.ref, "no workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods)"
        )
        return
    for workload in workloads:
        containers = workload.containers()
        if not containers:
            yield error(
                workload.ref, "pod template has no containers to assess", location=workload.obj.source
            )
            continue
        assessed = [_assess(c) for c in containers]
        evidence = {"containers": [seen for seen, _ in assessed]}
        problems = [p for _, found in assessed for p in found]
        if problems:
            yield failed(workload.ref, "; ".join(problems), evidence=evidence, location=workload.obj.source)
        else:
            yield passed(
                workload.ref,
                (
                    "its container runs as non-root and is not privileged"
                    if len(containers) == 1
                    else f"all {len(containers)} containers run as non-root and none is privileged"
                ),
                evidence=evidence,
                location=workload.obj.source,
            )
