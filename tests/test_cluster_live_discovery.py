"""Discovery: the checks' reads → the resource types a server serves, or why one cannot be listed
(a custom resource whose CRD is absent is an error of its checks; a built-in kind the server no
longer serves has nothing to list and is not)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from kitemark.targets.cluster.live.api import ApiReader, RetryPolicy
from kitemark.targets.cluster.live.discovery import Resource, builtin, discover, parse_read


def resource(
    name: str, kind: str, namespaced: bool = True, verbs: Sequence[str] = ("get", "list")
) -> dict[str, Any]:
    return {"name": name, "kind": kind, "namespaced": namespaced, "verbs": list(verbs)}


def group(name: str, *versions: str, preferred: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
        "preferredVersion": {"version": preferred or versions[0]},
    }


SERVER: dict[str, Any] = {
    "/api/v1": {
        "resources": [
            resource("namespaces", "Namespace", namespaced=False),
            resource("namespaces/status", "Namespace", namespaced=False),
            resource("pods", "Pod"),
            resource("bindings", "Binding", verbs=["create"]),
        ]
    },
    "/apis": {
        "groups": [
            group("apps", "v1"),
            group("constraints.gatekeeper.sh", "v1beta1", "v1alpha1"),
            group("monitoring.coreos.com", "v1alpha1", "v1", preferred="v1"),
            group("broken.example.com", "v1"),
        ]
    },
    "/apis/apps/v1": {
        "resources": [resource("deployments", "Deployment"), resource("deployments/scale", "Scale")]
    },
    "/apis/constraints.gatekeeper.sh/v1beta1": {
        "resources": [
            resource("k8srequiredlabels", "K8sRequiredLabels", namespaced=False),
            resource("k8sallowedrepos", "K8sAllowedRepos", namespaced=False),
        ]
    },
    "/apis/constraints.gatekeeper.sh/v1alpha1": {
        "resources": [resource("k8srequiredlabels", "K8sRequiredLabels", namespaced=False)]
    },
    "/apis/monitoring.coreos.com/v1": {"resources": [resource("servicemonitors", "ServiceMonitor")]},
    "/apis/monitoring.coreos.com/v1alpha1": {
        "resources": [
            resource("servicemonitors", "ServiceMonitor"),
            resource("alertmanagerconfigs", "AlertmanagerConfig"),
        ]
    },
}


def reader(server: dict[str, Any] = SERVER) -> tuple[ApiReader, list[str]]:
    asked: list[str] = []

    def transport(
        path: str, query: Sequence[tuple[str, str]], timeout: Any
    ) -> tuple[int, dict[str, str], bytes]:
        asked.append(path)
        if path == "/apis/broken.example.com/v1":
            return 500, {}, b'{"message": "etcd is down"}'
        if path not in server:
            return 404, {}, b'{"message": "not found"}'
        return 200, {}, json.dumps(server[path]).encode()

    return ApiReader(transport, RetryPolicy(attempts=2, backoff=0.0), sleep=lambda s: None), asked


def test_a_group_wildcard_lists_every_kind_of_the_group_in_its_preferred_version() -> None:
    found, unlisted = discover(reader()[0], ["constraints.gatekeeper.sh/*"])
    assert unlisted == []
    assert [(r.kind, r.version, r.plural, r.read) for r in found] == [
        ("K8sAllowedRepos", "v1beta1", "k8sallowedrepos", "constraints.gatekeeper.sh/*"),
        ("K8sRequiredLabels", "v1beta1", "k8srequiredlabels", "constraints.gatekeeper.sh/*"),
    ]
    assert found[0].path == "/apis/constraints.gatekeeper.sh/v1beta1/k8sallowedrepos"


def test_a_wildcard_on_a_group_with_no_kinds_yet_is_nothing_to_list() -> None:
    server = dict(SERVER)
    server["/apis/constraints.gatekeeper.sh/v1beta1"] = {"resources": None}  # Go writes [] as null
    server["/apis/constraints.gatekeeper.sh/v1alpha1"] = {"resources": []}
    assert discover(reader(server)[0], ["constraints.gatekeeper.sh/*"]) == ([], [])


def test_the_preferred_version_comes_first_then_the_others() -> None:
    found, unlisted = discover(
        reader()[0], ["monitoring.coreos.com/ServiceMonitor", "monitoring.coreos.com/AlertmanagerConfig"]
    )
    assert unlisted == []
    assert {(r.kind, r.api_version) for r in found} == {
        ("ServiceMonitor", "monitoring.coreos.com/v1"),  # preferred, though listed second
        ("AlertmanagerConfig", "monitoring.coreos.com/v1alpha1"),  # served in the other version only
    }


def test_core_kinds_subresources_and_unlistable_resources() -> None:
    (read, asked) = reader()
    found, unlisted = discover(read, ["v1/Namespace", "v1/Pod", "v1/Binding"])
    assert [(r.kind, r.path, r.namespaced) for r in found] == [
        ("Namespace", "/api/v1/namespaces", False),
        ("Pod", "/api/v1/pods", True),
    ]
    [binding] = unlisted  # served, but not for `list`: a built-in kind with nothing to list
    assert (binding.read, binding.gap) == ("v1/Binding", False)
    assert asked == ["/api/v1"]  # the core group alone needs no group list


def test_a_builtin_kind_the_server_does_not_serve_is_not_an_error() -> None:
    found, unlisted = discover(reader()[0], ["extensions/Ingress", "apps/ReplicationThing"])
    assert found == []
    assert [(u.read, u.gap) for u in unlisted] == [
        ("apps/ReplicationThing", False),
        ("extensions/Ingress", False),
    ]
    assert "this Kubernetes version has none to list" in unlisted[1].reason


def test_a_custom_resource_whose_crd_is_absent_is_an_error() -> None:
    found, unlisted = discover(
        reader()[0], ["cert-manager.io/Certificate", "monitoring.coreos.com/PodMonitor", "apps/Deployment"]
    )
    assert [r.kind for r in found] == ["Deployment"]
    assert [(u.read, u.gap, u.path) for u in unlisted] == [
        ("cert-manager.io/Certificate", True, "GET /apis"),
        ("monitoring.coreos.com/PodMonitor", True, "GET /apis/monitoring.coreos.com"),
    ]
    assert unlisted[0].reason == (
        "the API group cert-manager.io is not served: its CustomResourceDefinition is not installed"
    )
    assert unlisted[1].reason == (
        "monitoring.coreos.com serves no kind PodMonitor: its CustomResourceDefinition is not installed"
    )


def test_a_group_whose_discovery_fails_is_an_error_of_its_reads_only() -> None:
    found, unlisted = discover(reader()[0], ["broken.example.com/Widget", "apps/Deployment"])
    assert [r.kind for r in found] == ["Deployment"]
    [broken] = unlisted
    assert (broken.read, broken.gap, broken.path) == (
        "broken.example.com/Widget",
        True,
        "GET /apis/broken.example.com/v1",
    )
    assert broken.reason == "discovery failed: 500 Internal Server Error: etcd is down (after 2 attempts)"


def test_reads_and_groups() -> None:
    assert parse_read("v1/Namespace") == ("", "Namespace")
    assert parse_read("apps/Deployment") == ("apps", "Deployment")
    assert parse_read("constraints.gatekeeper.sh/*") == ("constraints.gatekeeper.sh", "*")
    assert builtin("") and builtin("apps") and builtin("networking.k8s.io")
    assert not builtin("cert-manager.io") and not builtin("constraints.gatekeeper.sh")
    rule = Resource("v1/Secret", "", "v1", "Secret", "secrets", True).rule()
    assert rule == 'apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]'
