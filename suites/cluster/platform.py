"""What the platform checks (K8S-GK-*, K8S-PLAT-*) share: whether the input is a whole cluster, and
finding the platform's objects by kind, namespace and name.

A platform component missing from a live cluster is a failure. A snapshot may be a whole cluster
(`kubectl get -A` or `kitemark snapshot`) or a repository folder holding only team namespaces; in
the latter a component's absence says nothing, so a check that finds none of what it looks for is
*not applicable* there, saying why. A snapshot counts as a whole cluster when it holds the
`kube-system` Namespace, which every cluster has and no team folder defines."""

from __future__ import annotations

from collections.abc import Iterable

from kitemark.targets.cluster.view import ClusterView, KObject

MARKER_NAMESPACE = "kube-system"


def whole_cluster(cluster: ClusterView) -> tuple[bool, str]:
    """(whether absence is evidence, why)."""
    if cluster.from_api:  # live, or a `kitemark snapshot` folder (its manifest says so)
        return True, "the cluster was read from its API server"
    if find(cluster, "v1/Namespace", MARKER_NAMESPACE):
        return True, f"the snapshot holds the {MARKER_NAMESPACE} Namespace, so it is of a whole cluster"
    return False, (
        f"the snapshot holds no {MARKER_NAMESPACE} Namespace, so it is not of a whole cluster (a "
        "repository folder or a partial export)"
    )


def find(cluster: ClusterView, spec: str, name: str, namespace: str | None = None) -> KObject | None:
    for obj in of_kind(cluster, spec):
        if obj.name == name and obj.namespace == namespace:
            return obj
    return None


def of_kind(cluster: ClusterView, spec: str) -> list[KObject]:
    """The objects of one kind (``group/Kind``); a cluster unit is evaluated once per check, so one
    pass over the objects per call is cheap enough."""
    return list(cluster.of_kind(spec))


def in_namespace(objects: Iterable[KObject], namespace: str) -> dict[str, KObject]:
    return {o.name: o for o in objects if o.namespace == namespace}
