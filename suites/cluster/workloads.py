"""The enumeration every pod-security check shares: one finding per workload of a namespace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kitemark.core.checks import error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import NamespaceView, PodTemplate, Workload

# What one check makes of one pod template: (evidence about it, problems found).
Assessment = tuple[dict[str, Any], list[str]]
NO_WORKLOADS = "no workloads (Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Pods)"


def _group_evidence(workload: Workload, assessed: list[Assessment]) -> dict[str, Any]:
    """A plain workload's evidence is its template's; objects assessed in their owner's name (a
    ReplicaSet's Pods …) are listed per distinct evidence, so identical replicas appear once."""
    if workload.owner is None and len(workload.templates) == 1:
        return dict(assessed[0][0])
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


def workload_findings(
    ns: NamespaceView,
    assess: Callable[[PodTemplate], Assessment],
    passed_message: Callable[[int], str],
) -> Iterator[Finding]:
    """One finding per workload of ``ns``: failed with every problem ``assess`` found, else passed."""
    workloads = ns.workloads()
    if not workloads:
        yield not_applicable(ns.ref, NO_WORKLOADS, evidence={"note": ns.note} if ns.note else None)
        return
    for workload in workloads:
        if not workload.containers():
            yield error(workload.ref, "pod template has no containers to assess", location=workload.source)
            continue
        assessed = [assess(t) for t in workload.templates]
        evidence = _group_evidence(workload, assessed)
        if any(t.obj.defaulted for t in workload.templates):
            evidence["namespace"] = (
                f"the manifest names no namespace, so it is assessed as namespace {ns.name} "
                "(the target's default-namespace, `default` unless set)"
            )
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
