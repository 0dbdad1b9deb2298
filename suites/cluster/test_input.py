"""Completeness of the cluster input itself."""

from __future__ import annotations

from collections.abc import Iterator

from kitemark.core.checks import check, error, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import ClusterView


@check(
    "K8S-INPUT-001",
    scope="cluster.cluster",
    title="Every file of the cluster snapshot could be read",
    severity="high",
    rationale="""
        Every other cluster check can only judge the objects it was given. A snapshot file that
        cannot be parsed silently removes its objects from the assessment, so a namespace with a
        broken 04-networkpolicy.yaml would look as if it had no policy, and a broken workload file
        would hide its containers. Reporting each unreadable file keeps the audit evidence
        complete and honest (NCSC principle 13, audit information) and the published results
        trustworthy (Service Standard 10).
    """,
    remediation="""
        Fix or regenerate the named file at the named line. Take snapshots with kubectl so every
        file is valid YAML or JSON, for example:

            kubectl get namespaces,deployments,statefulsets,daemonsets,cronjobs,jobs,pods,\\
              networkpolicies -A -o yaml > snapshot/cluster.yaml

        Every object needs `kind` and `metadata.name`; lists need `items`.
    """,
    references=["https://kubernetes.io/docs/reference/kubectl/generated/kubectl_get/"],
)
def test_snapshot_readable(cluster: ClusterView) -> Iterator[Finding]:
    for problem in cluster.errors:
        where = f"{problem.path}:{problem.line}" if problem.line else problem.path
        yield error(
            f"file:{problem.path}",
            f"{where}: {problem.message}",
            evidence={"file": problem.path, "line": problem.line, "problem": problem.message},
            location=where,
        )
    if cluster.errors:
        return
    counts = {
        "files": len(cluster.files),
        "objects": len(cluster.objects),
        "namespaces": len(cluster.namespaces),
        "team_namespaces": len(cluster.team_namespaces),
        "duplicates_ignored": len(cluster.duplicates),
    }
    if not cluster.objects:
        yield error(
            "snapshot",
            f"the snapshot holds no Kubernetes objects ({counts['files']} file(s) read)",
            evidence=counts,
        )
        return
    yield passed(
        "snapshot",
        f"all {counts['files']} snapshot file(s) read: {counts['objects']} objects in "
        f"{counts['namespaces']} namespaces ({counts['team_namespaces']} team namespaces)",
        evidence=counts,
    )
