"""Resource requests and limits of team workloads."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from kitemark.core.checks import check, error, not_applicable
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import WORKLOAD_READS, NamespaceView, PodTemplate

from .resources import (
    LIMIT_RANGE_READS,
    LIMITRANGE_DEFAULTS,
    MEMORY_RATIO,
    REQUIRED_RESOURCES,
    RESOURCES,
    Defaults,
    assessed_containers,
    effective,
    namespace_defaults,
    parse_quantity,
)
from .workloads import Assessment, workload_findings

READS = ["v1/Namespace", *LIMIT_RANGE_READS, *WORKLOAD_READS]
EPHEMERAL_NOTE = "ephemeral containers cannot set resources (they use the Pod's) and are not assessed"


def _defaults(ns: NamespaceView, inputs: Mapping[str, Any]) -> tuple[list[Finding], Defaults]:
    """The namespace's LimitRange defaults, and an *error* for each LimitRange that cannot be read."""
    defaults = namespace_defaults(ns, bool(inputs[LIMITRANGE_DEFAULTS.name]))
    errors = [
        error(
            f"LimitRange/{ns.name}/{name}",
            f"cannot read LimitRange '{name}': {problem}; its defaults are not counted (the API server "
            "refuses such a LimitRange)",
        )
        for name, problem in defaults.unreadable
    ]
    return errors, defaults


def _evidence(seen: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    return {name: {"value": str(value), "from": origin} for name, (value, origin) in seen.items()}


@check(
    "K8S-RES-001",
    scope="cluster.namespace",
    title="Team workloads set CPU and memory requests and limits on every container",
    severity="medium",
    rationale="""
        The scheduler places a pod by its requests, and the kubelet confines a container to its
        limits. A container without a memory limit can take a node's memory and have its neighbours,
        other teams' pods among them, killed; one without requests is scheduled as if it needed nothing
        and is the first evicted. On a shared cluster that is a failure of separation between tenants
        (NCSC principle 3) and of the service's own reliability (Service Standard 14). Init containers
        count (their requests reserve capacity before the app starts); ephemeral (debug) containers
        cannot set resources and are not assessed. A value the namespace's LimitRange supplies by
        default counts as set (input `resources_from_limitrange`), as does a request the API server
        copies from the container's own limit; the evidence says where each value comes from. The
        resources required are the input `required_resources`.
    """,
    remediation="""
        Set requests and limits on every container and init container, sized from its observed use:

            resources:
              requests: {cpu: 50m, memory: 256Mi}
              limits: {cpu: 500m, memory: 512Mi}

        Keep the namespace's LimitRange (02-limitrange.yaml in cloud-platform-environments) as the
        safety net for containers that still set none.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        "https://kubernetes.io/docs/concepts/policy/limit-range/",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/deploying-an-app/app-resources.html",
    ],
    reads=READS,
    inputs=[REQUIRED_RESOURCES, LIMITRANGE_DEFAULTS],
)
def test_requests_and_limits(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    required: list[str] = list(inputs[REQUIRED_RESOURCES.name])
    errors, defaults = _defaults(ns, inputs)
    yield from errors

    def assess(template: PodTemplate) -> Assessment:
        containers, skipped = assessed_containers(template.containers())
        evidence: dict[str, Any] = {"required": required, "containers": []}
        problems = []
        for container in containers:
            seen = effective(container, defaults)
            evidence["containers"].append({"name": container.name, "type": container.type, **_evidence(seen)})
            missing = [name for name in required if name not in seen]
            if missing:
                problems.append(f"{container.label} sets no {', '.join(missing)}")
            bad = [
                f"{n}: {seen[n][0]!r}" for n in required if n in seen and parse_quantity(seen[n][0]) is None
            ]
            if bad:
                problems.append(f"{container.label} has values that are not quantities ({', '.join(bad)})")
        if skipped:
            evidence["not_assessed"] = {"containers": skipped, "why": EPHEMERAL_NOTE}
        return evidence, problems

    def message(count: int) -> str:
        which = "its container sets" if count == 1 else f"all {count} containers set"
        return f"{which} {', '.join(required)} (own values or the namespace's LimitRange defaults)"

    if not required:
        yield not_applicable(ns.ref, "no resources are required (input required_resources is empty)")
        return
    yield from workload_findings(ns, assess, message, shape=RESOURCES)


def _memory_problem(label: str, seen: dict[str, tuple[Any, str]], ratio: float) -> str | None:
    limit, request = seen.get("limits.memory"), seen.get("requests.memory")
    if limit is None:
        return f"{label} has no memory limit, so its memory is not bounded by its request"
    if request is None:  # a limit and no request: the API server sets the request to the limit
        return None
    limit_value, request_value = parse_quantity(limit[0]), parse_quantity(request[0])
    if limit_value is None or request_value is None:
        return f"{label} has a memory limit or request that is not a quantity ({limit[0]!r}, {request[0]!r})"
    if request_value <= 0:
        return f"{label} requests no memory ({request[0]!r}) with a limit of {limit[0]}"
    if limit_value > request_value * Decimal(str(ratio)):
        actual = limit_value / request_value
        return (
            f"{label} has a memory limit of {limit[0]} ({limit[1]}), {actual:.3g} times its request of "
            f"{request[0]} ({request[1]}); at most {ratio:g} times is allowed"
        )
    return None


@check(
    "K8S-RES-002",
    scope="cluster.namespace",
    title="Team workloads' memory limits are at most a set multiple of their memory requests",
    severity="low",
    rationale="""
        The scheduler reserves a pod's requests, not its limits. A container whose memory limit is far
        above its request can grow into memory nobody reserved, and when several do at once the node
        runs out and the kernel kills processes, other teams' among them. Keeping the limit close to
        the request (at most the input `memory_limit_request_ratio` times it, 2 by default) keeps
        nodes honest about what they run (NCSC principle 3, Service Standard 14). Values are the
        effective ones, as for K8S-RES-001 (a LimitRange default counts, input
        `resources_from_limitrange`); a container with no memory limit fails, one with a limit and no
        request passes (the API server sets the request to the limit).
    """,
    remediation="""
        Raise the memory request to the container's real working set, or lower the limit, so that
        `limits.memory` ≤ ratio times `requests.memory`. Setting them equal gives the pod the Guaranteed
        quality of service for memory. When the values come from the namespace's LimitRange, set
        them on the container, or align the LimitRange's `default` and `defaultRequest`.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
        "https://kubernetes.io/docs/concepts/workloads/pods/pod-qos/",
    ],
    reads=READS,
    inputs=[MEMORY_RATIO, LIMITRANGE_DEFAULTS],
)
def test_memory_limit_ratio(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    ratio = float(inputs[MEMORY_RATIO.name])
    errors, defaults = _defaults(ns, inputs)
    yield from errors

    def assess(template: PodTemplate) -> Assessment:
        containers, skipped = assessed_containers(template.containers())
        evidence: dict[str, Any] = {"ratio": ratio, "containers": []}
        problems = []
        for container in containers:
            seen = effective(container, defaults)
            memory = {k: v for k, v in seen.items() if k.endswith(".memory")}
            evidence["containers"].append(
                {"name": container.name, "type": container.type, **_evidence(memory)}
            )
            problem = _memory_problem(container.label, seen, ratio)
            if problem:
                problems.append(problem)
        if skipped:
            evidence["not_assessed"] = {"containers": skipped, "why": EPHEMERAL_NOTE}
        return evidence, problems

    def message(count: int) -> str:
        which = "its container has" if count == 1 else f"all {count} containers have"
        return f"{which} a memory limit at most {ratio:g} times the memory request"

    yield from workload_findings(ns, assess, message, shape=RESOURCES)
