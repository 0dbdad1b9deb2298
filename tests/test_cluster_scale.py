"""The cluster kind stays O(objects): each scope reads the inventory's objects once, builds one view
object per Kubernetes object, and gives each namespace only its own objects (never a per-namespace
scan of the whole cluster, which a 1,500-namespace / 20,000-pod snapshot could not afford)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.kinds import TargetSpec
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.cluster import scopes
from kitemark.targets.cluster.view import KObject
from kitemark.testing import default_inputs, run_on_inventory


def generate(root: Path, namespaces: int, pods_per_namespace: int) -> int:
    """A `kubectl get -o json` snapshot: a NamespaceList, a DeploymentList and a PodList."""
    spec = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "app",
                "image": "x:1",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    }
    names = [f"team-{i:04d}" for i in range(namespaces)]
    lists = {
        "namespaces.json": ("NamespaceList", "v1", [{"metadata": {"name": n}} for n in names]),
        "deployments.json": (
            "DeploymentList",
            "apps/v1",
            [
                {"metadata": {"name": "app", "namespace": n}, "spec": {"template": {"spec": spec}}}
                for n in names
            ],
        ),
        "pods.json": (
            "PodList",
            "v1",
            [
                {
                    "metadata": {
                        "name": f"app-{p}",
                        "namespace": n,
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "app-1", "controller": True}],
                    },
                    "spec": spec,
                }
                for n in names
                for p in range(pods_per_namespace)
            ],
        ),
    }
    for file, (kind, api, items) in lists.items():
        (root / file).write_text(json.dumps({"apiVersion": api, "kind": kind, "items": items}))
    return sum(len(items) for _, _, items in lists.values())


class CountingList(list):  # type: ignore[type-arg]
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Iterator[Any]:
        CountingList.walks += 1
        return super().__iter__()


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("big")
    total = generate(root, namespaces=300, pods_per_namespace=5)
    collected = json.loads(json.dumps(cluster.collect(TargetSpec("cluster", "big", str(root)))))
    assert len(collected["objects"]) == total == 300 * 7
    return collected


@pytest.mark.parametrize("scope", ["namespace", "cluster", "input"])
def test_each_scope_walks_the_objects_once_and_views_each_once(
    inventory: dict[str, Any], scope: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[int] = []

    class Counted(KObject):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(scopes, "KObject", Counted)
    CountingList.walks = 0
    data = {**inventory, "objects": CountingList(inventory["objects"])}
    units = scopes.SCOPES[scope](data, default_inputs())
    assert CountingList.walks == 1
    assert len(made) == len(inventory["objects"])
    if scope == "namespace":
        assert len(units) == 300
        # each namespace holds its own objects only: the views partition the namespaced objects
        assert sum(len(u.data.objects) for u in units) == 300 * 6


def test_checks_see_one_finding_per_workload_at_scale(inventory: dict[str, Any]) -> None:
    for check_id in ("K8S-POD-001", "K8S-POD-002"):
        found = run_on_inventory(check_id, inventory)
        assert len(found) == 300
        # Pods of a ReplicaSet absent from the snapshot are grouped under it: 2 workloads per namespace
        assert {len(f) for f in found.values()} == {2}
