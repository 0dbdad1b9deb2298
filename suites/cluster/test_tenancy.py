"""What the platform guarantees every tenant: Pod Security admission, default resources, a quota."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import LIMIT_RANGE, RESOURCE_QUOTA
from kitemark.targets.cluster.view import NAMESPACE, KObject, NamespaceView, listed, wrong_types

ENFORCE = "pod-security.kubernetes.io/enforce"
ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"

PSA_LEVEL = Input(
    "psa_enforce_level",
    default="restricted",
    description="The Pod Security Standard every team namespace must enforce (label "
    "pod-security.kubernetes.io/enforce)",
    schema={"type": "string", "enum": ["privileged", "baseline", "restricted"]},
)
PSA_VERSIONS = Input(
    "psa_enforce_versions",
    default=["latest"],
    description="Values allowed in pod-security.kubernetes.io/enforce-version when it is set (absent "
    "means latest); a pinned old version enforces the standard as it was then",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
)
LIMIT_RESOURCES = Input(
    "limit_range_resources",
    default=["cpu", "memory"],
    description="Resources a team namespace's LimitRange must give containers a default request and "
    "limit for",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
)
QUOTA_KEYS = Input(
    "resource_quota_keys",
    default=["pods"],
    description="Keys of spec.hard a team namespace's ResourceQuotas must set between them (the MoJ "
    "template caps pods)",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)


def _out_of_scope(ns: NamespaceView, missing: str, these: str) -> Finding | None:
    """Not applicable to a system namespace (the platform's) or one the input does not define."""
    if ns.system:
        return not_applicable(
            ns.ref,
            f"{ns.name} is a system namespace (input system_namespaces), assessed only for {ns.defaulted} "
            f"object(s) that name no namespace: its {these} are the platform's",
            evidence={"note": ns.note},
        )
    if ns.implied:
        return not_applicable(ns.ref, ns.implied_reason(missing, these), evidence={"note": ns.note})
    return None


def _with_note(ns: NamespaceView, evidence: dict[str, Any]) -> dict[str, Any]:
    return {**evidence, "note": ns.note} if ns.note else evidence


@check(
    "K8S-NS-002",
    scope="cluster.namespace",
    title='Team namespaces enforce Pod Security Standards "restricted" at admission',
    severity="high",
    rationale="""
        The `pod-security.kubernetes.io/enforce` label makes the API server itself refuse a pod that
        breaks the named Pod Security Standard, whatever manifest or chart a team applies: the
        workload checks (K8S-POD-001/002) see what is deployed, this label is what stops the next
        privileged or root pod from being admitted. Without it, or at `baseline`/`privileged`, one
        tenant can run a pod that escapes to the node and reaches other tenants (NCSC principle 3,
        separation; principle 5, operational security). A pinned `enforce-version` enforces the
        standard as it was in that release, without the controls added since, so only the values of
        the input `psa_enforce_versions` (default `latest`, which absence means) are accepted. The
        required level is the input `psa_enforce_level` (default `restricted`).
    """,
    remediation="""
        Label the namespace in its 00-namespace.yaml and remove any pinned version:

            metadata:
              labels:
                pod-security.kubernetes.io/enforce: restricted

        `kubectl label --dry-run=server --overwrite ns <ns> pod-security.kubernetes.io/enforce=restricted`
        lists the running pods that would no longer be admitted.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/security/pod-security-admission/",
        "https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",
    ],
    reads=["v1/Namespace"],
    inputs=[PSA_LEVEL, PSA_VERSIONS],
)
def test_pod_security_admission(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    skip = _out_of_scope(ns, "Namespace object", "Pod Security admission labels")
    if skip:
        yield skip
        return
    if ns.namespace is None:
        why = "the snapshot holds objects in this namespace but not its Namespace object, whose labels say"
        yield error(ns.ref, f"{why} what Pod Security admission enforces{ns.short_note}")
        return
    unreadable = wrong_types(ns.namespace.raw, NAMESPACE)
    if unreadable:
        yield error(
            ns.ref,
            f"cannot read the Namespace's labels: {listed(unreadable)} (the API server refuses such a "
            "Namespace; a YAML value such as `true` must be quoted)",
            evidence=_with_note(ns, {"unreadable": unreadable}),
            location=ns.location,
        )
        return
    level, versions = inputs[PSA_LEVEL.name], list(inputs[PSA_VERSIONS.name])
    labels = ns.namespace.labels
    enforce, version = labels.get(ENFORCE), labels.get(ENFORCE_VERSION)
    evidence = _with_note(
        ns, {ENFORCE: enforce, ENFORCE_VERSION: version, "required": level, "versions_allowed": versions}
    )
    problems = []
    if enforce is None:
        problems.append(f"has no {ENFORCE} label, so the API server admits any pod")
    elif enforce != level:
        problems.append(f"enforces {enforce!r}, not {level!r}")
    if version is not None and version not in versions:
        allowed = ", ".join(repr(v) for v in versions)
        problems.append(f"pins {ENFORCE_VERSION}: {version!r} (allowed: {allowed})")
    if problems:
        yield failed(ns.ref, "namespace " + "; ".join(problems), evidence=evidence, location=ns.location)
    else:
        yield passed(
            ns.ref,
            f"namespace enforces Pod Security Standards {level!r}"
            + (f" at version {version!r}" if version else " (latest version)"),
            evidence=evidence,
            location=ns.location,
        )


def _unreadable(
    ns: NamespaceView, objects: list[KObject], shape: Any
) -> tuple[list[KObject], Finding | None]:
    """The readable objects, and an *error* naming the first unreadable one (it may be the one that
    sets what the check looks for, so the namespace cannot be told compliant or not)."""
    bad = [(o, found) for o in objects if (found := wrong_types(o.raw, shape))]
    if not bad:
        return objects, None
    obj, fields = bad[0]
    more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
    finding = error(
        ns.ref,
        f"{obj.kind} '{obj.name}'{more} cannot be read: {listed(fields)} (the API server refuses it)",
        evidence=_with_note(ns, {"unreadable": [{"name": o.name, "fields": f} for o, f in bad]}),
        location=obj.source,
    )
    return [o for o in objects if all(o is not b for b, _ in bad)], finding


def _container_defaults(item: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """A Container limit's effective defaults as the API server fills them in: `default` from `max`,
    `defaultRequest` from `default` (a live cluster returns them filled; a manifest may not)."""
    limits = dict(item.get("max") or {})
    limits.update(item.get("default") or {})
    requests = dict(limits)
    requests.update(item.get("defaultRequest") or {})
    origin = {}
    for resource in requests:
        if resource not in (item.get("defaultRequest") or {}):
            origin[f"defaultRequest.{resource}"] = (
                "default" if resource in (item.get("default") or {}) else "max"
            )
    for resource in limits:
        if resource not in (item.get("default") or {}):
            origin[f"default.{resource}"] = "max"
    return limits, requests, origin


@check(
    "K8S-NS-003",
    scope="cluster.namespace",
    title="Team namespaces have a LimitRange giving containers default requests and limits",
    severity="medium",
    rationale="""
        A container that declares no CPU or memory request is scheduled as if it needed nothing and,
        without a limit, may take a whole node: on a shared cluster one tenant's runaway pod then
        starves or evicts the others (NCSC principle 3, separation; Service Standard 14, a reliable
        service). A LimitRange with Container defaults fills in a request and a limit for every
        container that sets none, and a ResourceQuota on CPU or memory refuses pods without them.
        Each resource of the input `limit_range_resources` (default cpu and memory) needs a default
        limit and a default request, read as the API server fills them in (a missing `default` is
        `max`, a missing `defaultRequest` is `default`). Several LimitRanges are read together.
    """,
    remediation="""
        Add a LimitRange to the namespace folder (02-limitrange.yaml), sized for the service:

            apiVersion: v1
            kind: LimitRange
            metadata:
              name: limitrange
              namespace: <namespace>
            spec:
              limits:
                - type: Container
                  default: {cpu: 1000m, memory: 1000Mi}
                  defaultRequest: {cpu: 10m, memory: 100Mi}
    """,
    references=[
        "https://kubernetes.io/docs/concepts/policy/limit-range/",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/concepts/namespace-container-resource-limits.html",
    ],
    reads=["v1/Namespace", "v1/LimitRange"],
    inputs=[LIMIT_RESOURCES],
)
def test_limit_range(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    ranges = ns.of_kind("v1/LimitRange")
    skip = None if ranges else _out_of_scope(ns, "LimitRange", "resource defaults")
    if skip:
        yield skip
        return
    readable, unreadable = _unreadable(ns, ranges, LIMIT_RANGE)
    wanted = list(inputs[LIMIT_RESOURCES.name])
    found: dict[str, str] = {}  # "default.cpu" -> the LimitRange that sets it
    seen: list[dict[str, Any]] = []
    for limit_range in readable:
        for item in limit_range.get("spec", "limits") or []:
            if item.get("type") != "Container":
                continue
            limits, requests, origin = _container_defaults(item)
            seen.append(
                {
                    "name": limit_range.name,
                    "default": limits,
                    "defaultRequest": requests,
                    "filled_from": origin,
                }
            )
            for resource in limits:
                found.setdefault(f"default.{resource}", limit_range.name)
            for resource in requests:
                found.setdefault(f"defaultRequest.{resource}", limit_range.name)
    required = [f"{field}.{r}" for r in wanted for field in ("default", "defaultRequest")]
    missing = [key for key in required if key not in found]
    evidence = _with_note(ns, {"required": required, "container_limits": seen, "missing": missing})
    if missing and unreadable:
        yield unreadable
        return
    where = readable[0].source if readable else ns.location
    if not ranges:
        yield failed(
            ns.ref,
            "namespace has no LimitRange: containers that set no requests or limits get none",
            evidence=evidence,
            location=ns.location,
        )
    elif missing:
        names = ", ".join(f"'{r.name}'" for r in readable)
        yield failed(
            ns.ref,
            f"the LimitRange(s) {names} set no Container {', '.join(missing)}",
            evidence=evidence,
            location=where,
        )
    else:
        by = ", ".join(sorted({f"'{name}'" for name in found.values()}))
        yield passed(
            ns.ref,
            f"LimitRange {by} gives containers a default request and limit for {', '.join(wanted)}",
            evidence=evidence,
            location=where,
        )


@check(
    "K8S-NS-004",
    scope="cluster.namespace",
    title="Team namespaces have a ResourceQuota",
    severity="medium",
    rationale="""
        A ResourceQuota caps what one namespace may consume, so a tenant's mistake (a runaway
        autoscaler, a crash-looping Job creating pods) cannot exhaust the shared cluster's capacity
        and take other teams' services down with it (NCSC principle 3, separation; Service Standard
        14, a reliable service). The quotas of a namespace must between them set every key of the
        input `resource_quota_keys` in `spec.hard` (default `pods`, the platform template's cap); a
        quota with `scopes` or a `scopeSelector` caps only some pods, so it does not count.
    """,
    remediation="""
        Add a ResourceQuota to the namespace folder (03-resourcequota.yaml):

            apiVersion: v1
            kind: ResourceQuota
            metadata:
              name: namespace-quota
              namespace: <namespace>
            spec:
              hard:
                pods: "50"
    """,
    references=[
        "https://kubernetes.io/docs/concepts/policy/resource-quotas/",
    ],
    reads=["v1/Namespace", "v1/ResourceQuota"],
    inputs=[QUOTA_KEYS],
)
def test_resource_quota(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    quotas = ns.of_kind("v1/ResourceQuota")
    skip = None if quotas else _out_of_scope(ns, "ResourceQuota", "quotas")
    if skip:
        yield skip
        return
    readable, unreadable = _unreadable(ns, quotas, RESOURCE_QUOTA)
    wanted = list(inputs[QUOTA_KEYS.name])
    counted: dict[str, str] = {}  # key -> the quota that sets it
    seen: list[dict[str, Any]] = []
    for quota in readable:
        hard = quota.get("spec", "hard") or {}
        scoped = bool(quota.get("spec", "scopes") or quota.get("spec", "scopeSelector"))
        seen.append({"name": quota.name, "hard": dict(hard), "scoped": scoped})
        if not scoped:
            for key in hard:
                counted.setdefault(str(key), quota.name)
    missing = [key for key in wanted if key not in counted]
    whole = [q for q in seen if not q["scoped"] and q["hard"]]
    evidence = _with_note(ns, {"required": wanted, "quotas": seen, "missing": missing})
    if (missing or not whole) and unreadable:
        yield unreadable
        return
    if not quotas:
        yield failed(
            ns.ref,
            "namespace has no ResourceQuota: nothing caps what it may consume",
            evidence=evidence,
            location=ns.location,
        )
    elif not whole:
        yield failed(
            ns.ref,
            "no ResourceQuota caps the whole namespace (each has no spec.hard, or scopes only some pods)",
            evidence=evidence,
            location=readable[0].source if readable else ns.location,
        )
    elif missing:
        yield failed(
            ns.ref,
            f"the ResourceQuota(s) of the namespace set no spec.hard {', '.join(missing)}",
            evidence=evidence,
            location=readable[0].source,
        )
    else:
        names = ", ".join(f"'{q['name']}'" for q in whole)
        keys = ", ".join(sorted({k for q in whole for k in q["hard"]}))
        where = next((q.source for q in readable if q.name == whole[0]["name"]), None)
        yield passed(ns.ref, f"ResourceQuota {names} caps {keys}", evidence=evidence, location=where)
