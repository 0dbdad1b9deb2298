"""The enumeration every pod-security check shares: one finding per workload of a namespace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kitemark.core.checks import error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import Shape, wrong_types
from kitemark.targets.cluster.view import NamespaceView, PodTemplate, Workload

# What one check makes of one pod template: (evidence about it, problems found).
Assessment = tuple[dict[str, Any], list[str]]
NO_WORKLOADS = (
    "no workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods, or other objects with a pod "
    "template at spec.template.spec)"
)


def _group_evidence(workload: Workload, assessed: list[Assessment]) -> dict[str, Any]:
    """A plain workload's evidence is its template's; objects assessed in their owner's name (a
    ReplicaSet's Pods …) are listed per distinct evidence, so identical replicas appear once."""
    if workload.owner is None and len(workload.templates) == 1:
        own = dict(assessed[0][0])
        where = workload.templates[0].read_from
        if where is not None:
            own["pod_template"] = where
        return own
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


def _added_note(workload: Workload) -> str:
    pods = ", ".join(f"'{t.obj.name}'" for t in workload.added)
    return (
        f"; with the containers its template does not hold of its Pod(s) {pods} "
        "(ephemeral ones added by `kubectl debug`, or added at admission, e.g. a mesh sidecar)"
    )


def _own_fields(template: PodTemplate, shape: Shape | None) -> list[str]:
    """The fields of ``template``'s containers that a check reads beyond the shared ones (``shape``:
    resources, probes, image …) and that are of the wrong type."""
    if shape is None:
        return []
    where = ".".join(template.path)
    fields = {"container": "containers", "initContainer": "initContainers"}
    found: list[str] = []
    for container in template.containers():
        field = fields.get(container.type, "ephemeralContainers")
        found += wrong_types(container.spec, shape, f"{where}.{field}[{container.name!r}]")
    return found


def _finding(
    ns: NamespaceView,
    workload: Workload,
    assess: Callable[[PodTemplate], Assessment],
    passed_message: Callable[[int], str],
    shape: Shape | None = None,
) -> Finding:
    """The finding of one workload: failed with every problem ``assess`` found, else passed."""
    malformed = [
        f"{t.obj.ref}: {field}"
        for t in (*workload.templates, *workload.added)
        for field in (*t.malformed, *_own_fields(t, shape))
    ]
    if malformed:
        message = f"cannot read the pod spec: {', '.join(malformed)}"
        return error(workload.ref, message, location=workload.source)
    if not any(t.containers() for t in workload.templates):
        return error(workload.ref, "pod template has no containers to assess", location=workload.source)
    assessed = [assess(t) for t in workload.templates]
    extra = [assess(t) for t in workload.added]
    evidence = _group_evidence(workload, assessed)
    if extra:
        evidence["added_note"] = (
            "a Pod may run containers its owner's template does not hold: ephemeral ones (`kubectl "
            f"debug`) and those added at admission (a mesh sidecar); those of the Pods {workload.ref} "
            "owns are assessed with it"
        )
        evidence["added"] = [
            {"object": t.obj.ref, **seen} for t, (seen, _) in zip(workload.added, extra, strict=True)
        ]
    if any(t.obj.defaulted for t in workload.templates):
        evidence["namespace"] = (
            f"the manifest names no namespace, so it is assessed as namespace {ns.name} "
            "(the target's default-namespace, `default` unless set)"
        )
    problems = list(dict.fromkeys(p for _, found in (*assessed, *extra) for p in found))
    prefix = ""
    if workload.owner is not None:
        kinds = sorted({t.obj.kind for t in workload.templates})
        count = len(workload.templates)
        prefix = f"{workload.owner.describe()}, so its {count} {'/'.join(kinds)}(s) were assessed: "
    if problems:
        return failed(workload.ref, prefix + "; ".join(problems), evidence=evidence, location=workload.source)
    count = len({(c.type, c.name, c.of) for c in workload.containers()})
    message = prefix + passed_message(count) + (_added_note(workload) if workload.added else "")
    return passed(workload.ref, message, evidence=evidence, location=workload.source)


def workload_findings(
    ns: NamespaceView,
    assess: Callable[[PodTemplate], Assessment],
    passed_message: Callable[[int], str],
    *,
    shape: Shape | None = None,
    exempt: Callable[[Workload], str | None] | None = None,
) -> Iterator[Finding]:
    """One finding per workload of ``ns``, and an *error* for each object holding containers that are
    in no pod template Kitemark reads (so they are listed as not assessed, never passed over).

    ``shape``: the container fields the check reads beyond the shared ones; one of the wrong type makes
    the workload an *error*. ``exempt``: why a workload is not applicable (a Job to a probe check), or
    ``None`` when it is assessed."""
    workloads, unassessed = ns.workloads(), ns.unassessed()
    if not workloads and not unassessed:
        yield not_applicable(ns.ref, NO_WORKLOADS, evidence={"note": ns.note} if ns.note else None)
        return
    for workload in workloads:
        reason = exempt(workload) if exempt is not None else None
        if reason is not None:
            yield not_applicable(workload.ref, reason)
            continue
        yield _finding(ns, workload, assess, passed_message, shape)
    for ref, obj, where in unassessed:
        yield error(
            ref,
            f"holds containers at {where}, which is not a pod template Kitemark reads (the pod "
            "templates of Kubernetes' workload kinds, or spec.template.spec of any other kind): "
            "they are not assessed",
            evidence={"apiVersion": obj.api_version, "containers_at": where},
            location=obj.source,
        )
