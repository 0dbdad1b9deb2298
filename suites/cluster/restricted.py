"""Pod Security Standards "restricted", every control except running as non-root and privileged
containers (K8S-POD-001 judges those): what K8S-POD-002 assesses on one pod template.

Controls and allowed values follow https://kubernetes.io/docs/concepts/security/pod-security-standards/
(baseline + restricted). As the standard does, Windows pods (``spec.os.name: windows``) are exempt
from the Linux-only controls: privilege escalation, seccomp and dropping capabilities.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitemark.core.mappings import dig
from kitemark.targets.cluster.view import Container, PodTemplate

from .workloads import Assessment

HOST_NAMESPACES = {
    "hostPID": "the host's process namespace",
    "hostIPC": "the host's IPC namespace",
    "hostNetwork": "the host's network namespace",
}
# "restricted" lets a container add only this capability (Linux); "baseline" a few more (Windows pods).
RESTRICTED_ADD = frozenset({"NET_BIND_SERVICE"})
BASELINE_ADD = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)
SECCOMP_ALLOWED = frozenset({"RuntimeDefault", "Localhost"})
VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)
SAFE_SYSCTLS = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time",
        "net.ipv4.tcp_fin_timeout",
        "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    }
)
SELINUX_TYPES = frozenset({"container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
# The Pod Security Standards control each problem breaks, as `<level>/<control>`: findings start each
# problem with it, so an auditor sees which rule of the standard failed.
HOST_NS = "baseline/host-namespaces"
HOST_PROCESS = "baseline/host-process"
HOST_PATH = "baseline/hostpath-volumes"
HOST_PORTS = "baseline/host-ports"
SYSCTLS = "baseline/sysctls"
SELINUX = "baseline/selinux"
APPARMOR = "baseline/apparmor"
PROC_MOUNT = "baseline/proc-mount"
VOLUMES = "restricted/volume-types"
ESCALATION = "restricted/privilege-escalation"
CAPABILITIES = "restricted/capabilities"
SECCOMP = "restricted/seccomp"


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _entries(value: Any, what: str, problems: list[str], control: str) -> list[Mapping[str, Any]]:
    """The entries of a field that must be a list of mappings; anything else (the API server refuses
    it), the list or an entry, is a problem, never read as empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(
            f"{control}: {what} is not a list, so it cannot be assessed (the API server would refuse it)"
        )
        return []
    for index, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            problems.append(
                f"{control}: {what}[{index}] is a {type(entry).__name__}, not a mapping, so it cannot be "
                "assessed (the API server would refuse it)"
            )
    return [entry for entry in value if isinstance(entry, Mapping)]


# --- pod level ------------------------------------------------------------------------------------


def _pod_problems(template: PodTemplate) -> list[str]:
    pod = template.pod_spec
    problems = [
        f"{HOST_NS}: pod shares {what} ({key}: true)"
        for key, what in HOST_NAMESPACES.items()
        if pod.get(key) is True
    ]
    if dig(pod, "securityContext", "windowsOptions", "hostProcess") is True:
        problems.append(
            f"{HOST_PROCESS}: pod runs as a Windows HostProcess (windowsOptions.hostProcess: true)"
        )
    for volume in _entries(pod.get("volumes"), "pod volumes", problems, VOLUMES):
        kinds = sorted(k for k in volume if k != "name")
        bad = [k for k in kinds if k not in VOLUME_TYPES]
        if bad:
            control = HOST_PATH if "hostPath" in bad else VOLUMES
            problems.append(
                f"{control}: volume '{volume.get('name')}' is of type {', '.join(bad)} "
                "(restricted allows configMap, csi, downwardAPI, emptyDir, ephemeral, "
                "persistentVolumeClaim, projected, secret)"
            )
    sysctls = [
        str(s.get("name"))
        for s in _entries(
            dig(pod, "securityContext", "sysctls"), "pod securityContext.sysctls", problems, SYSCTLS
        )
    ]
    unsafe = [name for name in sysctls if name not in SAFE_SYSCTLS]
    if unsafe:
        problems.append(f"{SYSCTLS}: pod sets unsafe sysctls {', '.join(unsafe)}")
    problems += _selinux_problems("pod", dig(pod, "securityContext", "seLinuxOptions"))
    if dig(pod, "securityContext", "appArmorProfile", "type") == "Unconfined":
        problems.append(f"{APPARMOR}: pod sets appArmorProfile type Unconfined")
    seccomp = dig(pod, "securityContext", "seccompProfile", "type")
    if seccomp is not None and seccomp not in SECCOMP_ALLOWED:
        problems.append(f"{SECCOMP}: pod sets seccompProfile type {seccomp}")
    return problems


def _selinux_problems(label: str, options: Any) -> list[str]:
    if not isinstance(options, Mapping):
        return []
    problems = []
    kind = options.get("type")
    if kind and kind not in SELINUX_TYPES:
        problems.append(f"{SELINUX}: {label} sets seLinuxOptions type {kind}")
    for key in ("user", "role"):
        if options.get(key):
            problems.append(f"{SELINUX}: {label} sets seLinuxOptions {key}")
    return problems


# --- container level ------------------------------------------------------------------------------


def _seccomp(container: Container) -> tuple[Any, str]:
    value, origin = container.effective("seccompProfile")
    return (value.get("type") if isinstance(value, Mapping) else value), origin


def _linux_problems(label: str, container: Container, seen: dict[str, Any]) -> list[str]:
    """Privilege escalation, dropped capabilities and seccomp: the Linux-only controls."""
    problems = []
    escalation = seen["allowPrivilegeEscalation"]
    if escalation is True:
        problems.append(f"{ESCALATION}: {label} sets allowPrivilegeEscalation: true")
    elif escalation is not False:
        how = "not set" if escalation is None else f"{escalation!r}"
        problems.append(f"{ESCALATION}: {label} does not set allowPrivilegeEscalation: false ({how})")
    if "ALL" not in seen["capabilities_drop"]:
        dropped = (
            f"drops only {', '.join(seen['capabilities_drop'])}"
            if seen["capabilities_drop"]
            else "drops none"
        )
        problems.append(f"{CAPABILITIES}: {label} does not drop ALL capabilities ({dropped})")
    kind, origin = seen["seccompProfile"], seen["seccompProfile_from"]
    if kind is None:
        problems.append(
            f"{SECCOMP}: {label} has no seccomp profile "
            "(seccompProfile set on neither the container nor the pod)"
        )
    elif kind not in SECCOMP_ALLOWED:
        problems.append(
            f"{SECCOMP}: {label} runs with seccomp profile {kind} (from the {origin} securityContext)"
        )
    return problems


def _container_problems(container: Container, template: PodTemplate, linux: bool) -> Assessment:
    label = container.label
    added = _strings(dig(container.spec, "securityContext", "capabilities", "add"))
    seccomp, seccomp_from = _seccomp(container)
    seen: dict[str, Any] = {
        "name": container.name,
        "type": container.type,
        "allowPrivilegeEscalation": container.security("allowPrivilegeEscalation"),
        "capabilities_add": added,
        "capabilities_drop": _strings(dig(container.spec, "securityContext", "capabilities", "drop")),
        "seccompProfile": seccomp,
        "seccompProfile_from": seccomp_from,
    }
    problems = _linux_problems(label, container, seen) if linux else []
    extra = [a for a in added if a not in (RESTRICTED_ADD if linux else BASELINE_ADD)]
    if extra:
        control = CAPABILITIES if linux else "baseline/capabilities"
        problems.append(f"{control}: {label} adds capabilities {', '.join(extra)}")
    if dig(container.spec, "securityContext", "windowsOptions", "hostProcess") is True:
        problems.append(f"{HOST_PROCESS}: {label} runs as a Windows HostProcess")
    ports = [
        p.get("hostPort")
        for p in _entries(container.spec.get("ports"), f"{label} ports", problems, HOST_PORTS)
    ]
    if any(not isinstance(p, int | None) or isinstance(p, bool) for p in ports):
        problems.append(
            f"{HOST_PORTS}: {label} has a hostPort that is not a number, so it cannot be assessed"
        )
        ports = [p for p in ports if isinstance(p, int) and not isinstance(p, bool)]
    if any(ports):
        seen["hostPorts"] = [p for p in ports if p]
        problems.append(f"{HOST_PORTS}: {label} binds host ports {', '.join(map(str, seen['hostPorts']))}")
    proc = container.security("procMount")
    if proc not in (None, "Default"):
        problems.append(f"{PROC_MOUNT}: {label} sets procMount: {proc}")
    problems += _selinux_problems(label, container.security("seLinuxOptions"))
    apparmor = container.security("appArmorProfile")
    annotation = template.annotations.get(APPARMOR_ANNOTATION + container.name)
    if isinstance(apparmor, Mapping) and apparmor.get("type") == "Unconfined":
        problems.append(f"{APPARMOR}: {label} sets appArmorProfile type Unconfined")
    if annotation and annotation != "runtime/default" and not annotation.startswith("localhost/"):
        problems.append(f"{APPARMOR}: {label} has AppArmor profile {annotation} (annotation)")
    return seen, problems


def assess(template: PodTemplate) -> Assessment:
    """(evidence, problems) of one pod template against the restricted profile. The containers an
    owned Pod adds to its owner's template are assessed alone: its own settings are the template's."""
    linux = dig(template.pod_spec, "os", "name") != "windows"
    problems = [] if template.added_only else _pod_problems(template)
    containers = []
    for container in template.containers():
        seen, found = _container_problems(container, template, linux)
        containers.append(seen)
        problems += found
    failing = sorted({p.split(": ", 1)[0] for p in problems})
    if template.added_only:
        return {"containers": containers, **({"controls_failed": failing} if failing else {})}, problems
    evidence: dict[str, Any] = {
        "host_namespaces": {key: template.pod_spec.get(key) for key in HOST_NAMESPACES},
        "pod_seccompProfile": dig(template.pod_spec, "securityContext", "seccompProfile", "type"),
        "containers": containers,
    }
    if not linux:
        evidence["os"] = "windows"
    if failing:
        evidence["controls_failed"] = failing
    return evidence, problems
