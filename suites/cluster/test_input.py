"""Completeness of the cluster input itself."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check, error, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import ClusterView


def _counts(cluster: ClusterView) -> dict[str, Any]:
    files = {} if cluster.from_api else {"files": len(cluster.files)}  # an API read has none to count
    return {
        **files,
        "objects": len(cluster.objects),
        "namespaces": len(cluster.namespaces),
        "team_namespaces": len(cluster.team_namespaces),
        "duplicates_ignored": len(cluster.duplicates),
        "skipped": len(cluster.skipped),
        "objects_without_namespace": cluster.defaulted,
        "default_namespace": cluster.default_namespace,
    }


def _summary(counts: dict[str, Any]) -> str:
    text = (
        f"{counts['objects']} objects in {counts['namespaces']} namespaces "
        f"({counts['team_namespaces']} team namespaces)"
    )
    if counts["objects_without_namespace"]:
        text += (
            f"; {counts['objects_without_namespace']} name no namespace and are assessed as namespace "
            f"{counts['default_namespace']}"
        )
    if counts["skipped"]:
        text += (
            f"; {counts['skipped']} input(s) skipped as not Kubernetes objects, each listed with its reason"
        )
    return text


@check(
    "K8S-INPUT-001",
    scope="cluster.input",
    title="The cluster could be read in full: every snapshot file, or every resource type listed live",
    severity="high",
    rationale="""
        Every other cluster check can only judge the objects it was given. A snapshot file that
        cannot be parsed silently removes its objects from the assessment, so a namespace with a
        broken 04-networkpolicy.yaml would look as if it had no policy, and a broken workload file
        would hide its containers. Reporting each unreadable file keeps the audit evidence
        complete and honest (NCSC principle 13, audit information) and the published results
        trustworthy (Service Standard 10). The same error also makes every check of the namespaces
        the file belongs to report *error*. Files that are not Kubernetes objects at all (Helm
        templates and values, kustomize files, application configuration) are not errors: they are
        counted here and listed with the reason in the report. Read live, each resource type the
        checks need must be listed in full: a type the API server refused (403), does not serve (a
        CRD not installed) or kept failing on is reported here and makes the checks reading it
        report *error*.
    """,
    remediation="""
        Live: grant the RBAC rule the message names (`deploy/rbac.yaml` is the reader's whole
        role), install the missing CRD, or deselect the checks that need it. Snapshot: fix or
        regenerate the named file at the named line; `kitemark snapshot --context C -o DIR` takes a
        complete one. With kubectl, every file must be valid YAML or JSON, for example:

            kubectl get namespaces,deployments,statefulsets,daemonsets,cronjobs,jobs,pods,\\
              networkpolicies -A -o yaml > snapshot/cluster.yaml

        Every object needs `kind` and `metadata.name`; lists need `items`. Render Helm charts
        (`helm template`) and kustomize overlays (`kustomize build`) before pointing Kitemark at them.
    """,
    references=["https://kubernetes.io/docs/reference/kubectl/generated/kubectl_get/"],
    reads=["v1/Namespace"],
    input_check=True,
)
def test_snapshot_readable(cluster: ClusterView) -> Iterator[Finding]:
    for problem in cluster.errors:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        yield error(
            f"{'file' if problem.file else 'api'}:{problem.path}",
            f"{where}: {problem.message}",
            evidence={"file": problem.path, "line": problem.line, "problem": problem.message},
            location=where if problem.file else None,
        )
    if cluster.errors:
        return
    counts = _counts(cluster)
    if cluster.from_api:
        message = f"every resource type read was listed from the API server: {_summary(counts)}"
        yield passed("cluster", message, evidence=counts)
        return
    if not cluster.objects:
        skipped = f", {counts['skipped']} skipped as not Kubernetes objects" if counts["skipped"] else ""
        yield error(
            "snapshot",
            f"the snapshot holds no Kubernetes objects ({counts['files']} file(s) read{skipped})",
            evidence=counts,
        )
        return
    yield passed(
        "snapshot",
        f"all {counts['files']} snapshot file(s) read: {_summary(counts)}",
        evidence=counts,
    )
