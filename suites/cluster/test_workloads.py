"""Pod security of team workloads."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import WORKLOAD_READS, Container, NamespaceView, PodTemplate

from . import restricted
from .workloads import Assessment, workload_findings

READS = ["v1/Namespace", *WORKLOAD_READS]


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
    label = container.label
    problems: list[str] = []
    if privileged:
        problems.append(f"baseline/privileged: {label} is privileged")
    if user == 0:
        problems.append(
            f"restricted/running-as-non-root-user: {label} runs as root "
            f"(runAsUser: 0 from the {user_from} securityContext)"
        )
    elif non_root is not True:
        how = (
            "not set" if non_root_from == "unset" else f"{non_root!r} in the {non_root_from} securityContext"
        )
        problems.append(f"restricted/running-as-non-root: {label} does not set runAsNonRoot: true ({how})")
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
        Init and ephemeral (debug) containers run with the same rights and are checked too (those
        `kubectl debug` adds to a running Pod are assessed with the workload that owns the Pod); a
        container's own securityContext overrides the pod's, as Kubernetes applies it. Any object with
        a pod template at `spec.template.spec` (an Argo Rollout …) is assessed like a Deployment; one
        holding containers elsewhere is reported as not assessed.
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
    reads=READS,
)
def test_no_privileged_or_root_containers(ns: NamespaceView) -> Iterator[Finding]:
    def assess(template: PodTemplate) -> Assessment:
        assessed = [_assess(c) for c in template.containers()]
        return {"containers": [seen for seen, _ in assessed]}, [p for _, found in assessed for p in found]

    yield from workload_findings(
        ns,
        assess,
        lambda n: (
            "its container runs as non-root and is not privileged"
            if n == 1
            else f"all {n} containers run as non-root and none is privileged"
        ),
    )


@check(
    "K8S-POD-002",
    scope="cluster.namespace",
    title=(
        'Team workloads meet Pod Security Standards "restricted": host isolation, capabilities dropped, '
        "no privilege escalation, seccomp confined"
    ),
    severity="high",
    rationale="""
        Pod Security Standards "restricted" is the hardening profile the platform labels every team
        namespace with. This check assesses every control of it except running as non-root and
        privileged containers, which K8S-POD-001 assesses: the two together are the whole profile.
        A pod that shares the node's process, IPC or network namespace, mounts a hostPath, binds a host
        port or sets unsafe sysctls reaches past its container into the node and other tenants. An
        added capability such as SYS_ADMIN or NET_RAW hands a container part of root's power, and
        one that does not drop ALL keeps the runtime's default set (NET_RAW among them). A container
        that may escalate privileges (setuid binaries, no_new_privs unset) can regain what
        runAsNonRoot took away, and one without a RuntimeDefault or Localhost seccomp profile can
        make every system call, so a kernel bug becomes a node compromise. Custom SELinux or AppArmor
        settings, an unmasked /proc and volume types other than configMap, csi, downwardAPI, emptyDir,
        ephemeral, persistentVolumeClaim, projected and secret are refused too. On a multi-tenant
        platform each of these weakens the separation between teams (NCSC principle 3) and the
        platform's operational security (principle 5). Every container is assessed (init and
        ephemeral ones too); a container's securityContext overrides the pod's, as Kubernetes applies
        it; Windows pods are exempt from the Linux-only controls, as in the standard. Workloads are
        found as for K8S-POD-001, custom resources with a pod template included.
    """,
    remediation="""
        Remove `hostPID`, `hostIPC`, `hostNetwork`, `hostPort`s and hostPath volumes, and give every
        container, init container and ephemeral container this securityContext (the seccomp profile
        may be set once at pod level instead):

            spec:
              securityContext:
                seccompProfile: {type: RuntimeDefault}
              containers:
                - name: app
                  securityContext:
                    allowPrivilegeEscalation: false
                    capabilities:
                      drop: [ALL]          # add back at most NET_BIND_SERVICE

        Keep the namespace label `pod-security.kubernetes.io/enforce: restricted` so the API server
        rejects regressions; `kubectl label --dry-run=server --overwrite ns <ns>
        pod-security.kubernetes.io/enforce=restricted` lists the workloads that would be refused.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",
        "https://kubernetes.io/docs/tutorials/security/seccomp/",
    ],
    reads=READS,
)
def test_pod_security_restricted(ns: NamespaceView) -> Iterator[Finding]:
    def message(count: int) -> str:
        which, s = ("its container", "s") if count == 1 else (f"all {count} containers", "")
        return (
            f'meets Pod Security Standards "restricted" (beyond K8S-POD-001): {which} drop{s} ALL '
            f"capabilities, cannot escalate privileges and run{s} under a RuntimeDefault/Localhost seccomp "
            "profile, with no host namespace, port or path"
        )

    yield from workload_findings(ns, restricted.assess, message)
