"""Pod security of team workloads."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import Container, NamespaceView, PodTemplate, Workload, dig

# What one check makes of one pod template: (evidence about it, problems found).
Assessment = tuple[dict[str, Any], list[str]]
NO_WORKLOADS = "no workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods)"


def _group_evidence(workload: Workload, assessed: list[Assessment]) -> dict[str, Any]:
    """A plain workload's evidence is its template's; objects assessed in their owner's name (a
    ReplicaSet's Pods …) are listed per distinct evidence, so identical replicas appear once."""
    if workload.owner is None and len(workload.templates) == 1:
        return assessed[0][0]
    groups: list[dict[str, Any]] = []
    for template, (seen, _) in zip(workload.templates, assessed, strict=True):
        same = next((g for g in groups if {k: v for k, v in g.items() if k != "objects"} == seen), None)
        if same is None:
            groups.append({"objects": [template.obj.ref], **seen})
        else:
            same["objects"].append(template.obj.ref)
    evidence: dict[str, Any] = {"assessed": groups}
    if workload.owner is not None:
        owner = workload.owner
        evidence = {
            "owner": {"kind": owner.kind, "name": owner.name, "in_snapshot": owner.in_snapshot},
            **evidence,
        }
    return evidence


def _workload_findings(
    ns: NamespaceView,
    assess: Callable[[PodTemplate], Assessment],
    passed_message: Callable[[int], str],
) -> Iterator[Finding]:
    """One finding per workload of ``ns`` (the enumeration every pod-security check shares)."""
    workloads = ns.workloads()
    if not workloads:
        yield not_applicable(ns.ref, NO_WORKLOADS)
        return
    for workload in workloads:
        if not workload.containers():
            yield error(workload.ref, "pod template has no containers to assess", location=workload.source)
            continue
        assessed = [assess(t) for t in workload.templates]
        evidence = _group_evidence(workload, assessed)
        problems = list(dict.fromkeys(p for _, found in assessed for p in found))
        prefix = ""
        if workload.owner is not None:
            kinds = sorted({t.obj.kind for t in workload.templates})
            count = len(workload.templates)
            prefix = f"{workload.owner.describe()}, so its {count} {'/'.join(kinds)}(s) were assessed: "
        if problems:
            yield failed(
                workload.ref, prefix + "; ".join(problems), evidence=evidence, location=workload.source
            )
        else:
            count = len({(c.type, c.name) for c in workload.containers()})
            yield passed(
                workload.ref, prefix + passed_message(count), evidence=evidence, location=workload.source
            )


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
    def assess(template: PodTemplate) -> Assessment:
        assessed = [_assess(c) for c in template.containers()]
        return {"containers": [seen for seen, _ in assessed]}, [p for _, found in assessed for p in found]

    yield from _workload_findings(
        ns,
        assess,
        lambda n: (
            "its container runs as non-root and is not privileged"
            if n == 1
            else f"all {n} containers run as non-root and none is privileged"
        ),
    )


HOST_NAMESPACES = {
    "hostPID": "the host's process namespace",
    "hostIPC": "the host's IPC namespace",
    "hostNetwork": "the host's network namespace",
}
# The only capability Pod Security Standards "restricted" lets a container add.
ALLOWED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})


def _assess_isolation(template: PodTemplate) -> Assessment:
    host = {key: template.pod_spec.get(key) for key in HOST_NAMESPACES}
    problems = [
        f"pod shares {what} ({key}: true)" for key, what in HOST_NAMESPACES.items() if host[key] is True
    ]
    containers: list[dict[str, Any]] = []
    for container in template.containers():
        added = dig(container.spec, "securityContext", "capabilities", "add")
        added = [str(a) for a in added] if isinstance(added, list) else []
        escalation = container.security("allowPrivilegeEscalation")
        containers.append(
            {
                "name": container.name,
                "type": container.type,
                "allowPrivilegeEscalation": escalation,
                "capabilities_add": added,
            }
        )
        label = f"{container.type} '{container.name}'"
        extra = [a for a in added if a not in ALLOWED_CAPABILITIES]
        if extra:
            problems.append(f"{label} adds capabilities {', '.join(extra)}")
        if escalation is True:
            problems.append(f"{label} sets allowPrivilegeEscalation: true")
        elif escalation is not False:
            how = "not set" if escalation is None else f"{escalation!r}"
            problems.append(f"{label} does not set allowPrivilegeEscalation: false ({how})")
    return {"host_namespaces": host, "containers": containers}, problems


@check(
    "K8S-POD-002",
    scope="cluster.namespace",
    title="Team workloads do not share host namespaces, add capabilities or allow privilege escalation",
    severity="high",
    rationale="""
        A pod that shares the node's process, IPC or network namespace can see and signal other
        tenants' processes, read their shared memory or sniff and bind on the node's interfaces, and
        an added capability such as SYS_ADMIN or NET_RAW hands a container part of root's power. A
        container that may escalate privileges (setuid binaries, no_new_privs unset) can regain what
        runAsNonRoot took away. Pod Security Standards "restricted" forbids all of these; on a
        multi-tenant platform each one weakens the separation between teams (NCSC principle 3) and
        the platform's operational security (principle 5).
    """,
    remediation="""
        Remove `hostPID`, `hostIPC` and `hostNetwork` (or set them to false), drop every capability
        and add back at most NET_BIND_SERVICE, and set `allowPrivilegeEscalation: false` on every
        container, init container and ephemeral container:

            spec:
              containers:
                - name: app
                  securityContext:
                    allowPrivilegeEscalation: false
                    capabilities: {drop: [ALL]}

        Keep the namespace label `pod-security.kubernetes.io/enforce: restricted` so the API server
        rejects regressions.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
    ],
)
def test_no_host_namespaces_capabilities_or_escalation(ns: NamespaceView) -> Iterator[Finding]:
    yield from _workload_findings(
        ns,
        _assess_isolation,
        lambda n: (
            "shares no host namespace; its container adds no capability and cannot escalate privileges"
            if n == 1
            else f"shares no host namespace; none of its {n} containers adds a capability or can escalate "
            "privileges"
        ),
    )
