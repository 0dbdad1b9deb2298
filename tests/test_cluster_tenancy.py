"""K8S-NS-002/003/004 (Pod Security admission, LimitRange, ResourceQuota) and K8S-NET-002/003/004
(which sources team namespaces admit), through the real collector and scopes, on small snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kitemark.core.model import Finding, Status
from kitemark.testing import compliant_namespace, run_check

ENFORCE = "pod-security.kubernetes.io/enforce"


def write(root: Path, *objects: dict[str, Any]) -> Path:
    (root / "objects.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    )
    return root


def findings(check_id: str, root: Path, inputs: dict[str, Any] | None = None) -> dict[str, list[Finding]]:
    found = run_check(check_id, root, inputs=inputs)
    return {unit.removeprefix("cluster:t/namespace:"): got for unit, got in found.items()}


def one(check_id: str, root: Path, unit: str = "team-a", **inputs: Any) -> Finding:
    (finding,) = findings(check_id, root, inputs or None)[unit]
    return finding


def obj(kind: str, name: str, spec: dict[str, Any], ns: str = "team-a", api: str = "v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec}


def limit_range(limits: list[Any], name: str = "limitrange") -> dict[str, Any]:
    return obj("LimitRange", name, {"limits": limits})


def quota(spec: dict[str, Any], name: str = "namespace-quota") -> dict[str, Any]:
    return obj("ResourceQuota", name, spec)


# --- K8S-NS-002 -----------------------------------------------------------------------------------


def test_psa_passes_restricted_and_names_the_version(tmp_path: Path) -> None:
    finding = one("K8S-NS-002", write(tmp_path, compliant_namespace()))
    assert finding.status is Status.PASSED
    assert finding.evidence[ENFORCE] == "restricted" and "latest version" in finding.message


def test_psa_fails_without_the_label_and_at_a_lower_level(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        compliant_namespace("team-a", **{ENFORCE: None}),
        compliant_namespace("team-b", **{ENFORCE: "privileged"}),
    )
    found = findings("K8S-NS-002", root)
    assert found["team-a"][0].status is Status.FAILED and "has no" in found["team-a"][0].message
    assert found["team-b"][0].status is Status.FAILED
    assert "enforces 'privileged', not 'restricted'" in found["team-b"][0].message


def test_psa_level_is_an_input(tmp_path: Path) -> None:
    root = write(tmp_path, compliant_namespace("team-a", **{ENFORCE: "baseline"}))
    assert one("K8S-NS-002", root, psa_enforce_level="baseline").status is Status.PASSED
    assert one("K8S-NS-002", root).status is Status.FAILED


def test_psa_a_pinned_version_fails_unless_allowed(tmp_path: Path) -> None:
    namespace = compliant_namespace()
    namespace["metadata"]["labels"][f"{ENFORCE}-version"] = "v1.25"
    root = write(tmp_path, namespace)
    assert "pins" in one("K8S-NS-002", root).message
    assert one("K8S-NS-002", root, psa_enforce_versions=["latest", "v1.25"]).status is Status.PASSED


def test_psa_is_an_error_without_the_namespace_object_or_with_unreadable_labels(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "a", quota({"hard": {"pods": "5"}}))
    bad = compliant_namespace("team-b")
    bad["metadata"]["labels"][ENFORCE] = True  # an unquoted YAML value: the API server refuses it
    write(tmp_path / "b", bad)
    found = findings("K8S-NS-002", tmp_path)
    assert found["team-a"][0].status is Status.ERROR and "Namespace object" in found["team-a"][0].message
    assert found["team-b"][0].status is Status.ERROR and ENFORCE in found["team-b"][0].message


def test_psa_skips_a_system_namespace_and_an_implied_one(tmp_path: Path) -> None:
    (tmp_path / "sys").mkdir()
    root = write(tmp_path / "sys", compliant_namespace("kube-system", **{ENFORCE: None}))
    assert [f.status for fs in findings("K8S-NS-002", root).values() for f in fs] == [Status.NOT_APPLICABLE]
    assert "kube-system" not in findings("K8S-NS-002", root)
    manifests = tmp_path / "app"
    manifests.mkdir()
    (manifests / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (finding,) = run_check("K8S-NS-002", manifests)["cluster:t/namespace:default"]
    assert finding.status is Status.NOT_APPLICABLE


# --- K8S-NS-003 -----------------------------------------------------------------------------------

CONTAINER = {"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}, "defaultRequest": {"cpu": "10m"}}


def test_limit_range_passes_with_defaults_filled_in_as_the_api_server_does(tmp_path: Path) -> None:
    # defaultRequest.memory comes from default.memory; a second LimitRange is read with the first.
    root = write(tmp_path, compliant_namespace(), limit_range([CONTAINER]))
    finding = one("K8S-NS-003", root)
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["container_limits"][0]["filled_from"] == {"defaultRequest.memory": "default"}


def test_limit_range_is_read_across_several_objects(tmp_path: Path) -> None:
    cpu = {"type": "Container", "default": {"cpu": "1"}, "defaultRequest": {"cpu": "10m"}}
    memory = {"type": "Container", "max": {"memory": "1Gi"}}
    root = write(tmp_path, compliant_namespace(), limit_range([cpu], "cpu"), limit_range([memory], "memory"))
    assert one("K8S-NS-003", root).status is Status.PASSED


def test_limit_range_fails_on_pod_and_pvc_limits_only(tmp_path: Path) -> None:
    limits = [
        {"type": "Pod", "max": {"cpu": "2"}},
        {"type": "PersistentVolumeClaim", "max": {"storage": "1Gi"}},
    ]
    finding = one("K8S-NS-003", write(tmp_path, compliant_namespace(), limit_range(limits)))
    assert finding.status is Status.FAILED and "default.cpu" in finding.message


def test_limit_range_of_the_wrong_type_is_an_error_not_a_pass(tmp_path: Path) -> None:
    for number, limits in enumerate(([{"type": "Container", "default": "cpu=1"}], "all", [None])):
        folder = tmp_path / str(number)
        folder.mkdir()
        finding = one("K8S-NS-003", write(folder, compliant_namespace(), limit_range(limits)))  # type: ignore[arg-type]
        assert finding.status is Status.ERROR, (limits, finding)
        assert "LimitRange 'limitrange'" in finding.message and "\n" not in finding.message


def test_limit_range_an_unreadable_one_beside_a_complete_one_passes(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        compliant_namespace(),
        limit_range([CONTAINER]),
        limit_range([{"type": "Container", "max": []}], "broken"),
    )
    assert one("K8S-NS-003", root).status is Status.PASSED


def test_limit_range_resources_are_an_input(tmp_path: Path) -> None:
    root = write(tmp_path, compliant_namespace(), limit_range([CONTAINER]))
    finding = one("K8S-NS-003", root, limit_range_resources=["cpu", "memory", "ephemeral-storage"])
    assert finding.status is Status.FAILED and "default.ephemeral-storage" in finding.message


def test_limit_range_does_not_apply_to_a_system_namespace(tmp_path: Path) -> None:
    root = write(tmp_path, compliant_namespace("monitoring"), compliant_namespace())
    assert set(findings("K8S-NS-003", root)) == {"team-a"}


# --- K8S-NS-004 -----------------------------------------------------------------------------------


def test_quota_passes_and_names_what_it_caps(tmp_path: Path) -> None:
    root = write(tmp_path, compliant_namespace(), quota({"hard": {"pods": 50, "requests.cpu": "4"}}))
    finding = one("K8S-NS-004", root)
    assert finding.status is Status.PASSED and "pods, requests.cpu" in finding.message


def test_quota_a_scoped_one_does_not_count(tmp_path: Path) -> None:
    scoped = {
        "hard": {"pods": "5"},
        "scopeSelector": {"matchExpressions": [{"scopeName": "PriorityClass", "operator": "Exists"}]},
    }
    finding = one("K8S-NS-004", write(tmp_path, compliant_namespace(), quota(scoped)))
    assert finding.status is Status.FAILED and "scopes only some pods" in finding.message


def test_quota_with_an_empty_hard_fails(tmp_path: Path) -> None:
    finding = one("K8S-NS-004", write(tmp_path, compliant_namespace(), quota({"hard": {}})))
    assert finding.status is Status.FAILED


def test_quota_keys_are_an_input_and_empty_asks_only_for_a_quota(tmp_path: Path) -> None:
    root = write(tmp_path, compliant_namespace(), quota({"hard": {"requests.memory": "8Gi"}}))
    assert one("K8S-NS-004", root).status is Status.FAILED
    assert one("K8S-NS-004", root, resource_quota_keys=[]).status is Status.PASSED


def test_quota_of_the_wrong_type_is_an_error_not_a_pass(tmp_path: Path) -> None:
    for number, spec in enumerate(
        ({"hard": {"pods": True}}, {"hard": ["pods"]}, {"hard": {"pods": "5"}, "scopes": "x"})
    ):
        folder = tmp_path / str(number)
        folder.mkdir()
        finding = one("K8S-NS-004", write(folder, compliant_namespace(), quota(spec)))
        assert finding.status is Status.ERROR, (spec, finding)
        assert "ResourceQuota 'namespace-quota'" in finding.message


# --- K8S-NET-002 / K8S-NET-003 / K8S-NET-004 ----------------------------------------------------------

IC = {"matchLabels": {"component": "ingress-controllers"}}
DENY = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}


def policy(name: str, spec: dict[str, Any], ns: str = "team-a") -> dict[str, Any]:
    return obj("NetworkPolicy", name, spec, ns, api="networking.k8s.io/v1")


def admits(*peers: Any, pods: Any = None, types: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": pods or {}, "ingress": [{"from": list(peers)}]}
    if types is not None:
        spec["policyTypes"] = types
    return spec


def net(check_id: str, root: Path, *objects: dict[str, Any], **inputs: Any) -> Finding:
    return one(check_id, write(root, compliant_namespace(), *objects), **inputs)


def test_ingress_controllers_admitted_by_label_or_by_name(tmp_path: Path) -> None:
    by_name = {
        "matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["ingress-controllers"]}
        ]
    }
    for number, peer in enumerate(({"namespaceSelector": IC}, {"namespaceSelector": by_name})):
        (tmp_path / str(number)).mkdir()
        finding = net(
            "K8S-NET-002", tmp_path / str(number), policy("default", DENY), policy("allow", admits(peer))
        )
        assert finding.status is Status.PASSED, finding
        assert finding.evidence["admitted_by"][0]["policy"] == "allow"


def test_ingress_controllers_not_admitted_by_egress_ip_blocks_or_bad_operators(tmp_path: Path) -> None:
    bad_operator = {"matchExpressions": [{"key": "component", "operator": "Equals", "values": ["x"]}]}
    cases = [
        policy("egress", admits({"namespaceSelector": IC}, types=["Egress"])),
        policy("office", admits({"ipBlock": {"cidr": "10.0.0.0/8"}})),
        policy("odd", admits({"namespaceSelector": bad_operator})),
        policy("other-ns", admits({"namespaceSelector": {"matchLabels": {"component": "monitoring"}}})),
        policy("same-ns", admits({"podSelector": {"matchLabels": {"component": "ingress-controllers"}}})),
    ]
    for number, case in enumerate(cases):
        (tmp_path / str(number)).mkdir()
        finding = net("K8S-NET-002", tmp_path / str(number), policy("default", DENY), case)
        assert finding.status is Status.FAILED, (case, finding)


def test_ingress_controllers_admitted_by_an_open_rule_passes_here_and_fails_net_004(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        compliant_namespace(),
        policy("default", DENY),
        policy("open", admits({"namespaceSelector": {}})),
    )
    assert one("K8S-NET-002", root).status is Status.PASSED
    statuses = {f.resource: f.status for f in findings("K8S-NET-004", root)["team-a"]}
    assert statuses == {
        "NetworkPolicy/team-a/default": Status.PASSED,
        "NetworkPolicy/team-a/open": Status.FAILED,
    }


def test_ingress_controllers_namespace_is_an_input(tmp_path: Path) -> None:
    peer = {"namespaceSelector": {"matchLabels": {"app.kubernetes.io/name": "ingress-nginx"}}}
    root = write(tmp_path, compliant_namespace(), policy("default", DENY), policy("allow", admits(peer)))
    assert one("K8S-NET-002", root).status is Status.FAILED
    nginx = {"name": "ingress-nginx", "labels": {"app.kubernetes.io/name": "ingress-nginx"}}
    assert one("K8S-NET-002", root, ingress_controllers_namespace=nginx).status is Status.PASSED


def test_ingress_controllers_an_unreadable_policy_is_an_error_unless_another_admits(tmp_path: Path) -> None:
    broken = policy("broken", {"podSelector": {}, "ingress": [{"from": {"namespaceSelector": IC}}]})
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    finding = net("K8S-NET-002", tmp_path / "a", policy("default", DENY), broken)
    assert finding.status is Status.ERROR and "'broken' cannot be read" in finding.message
    allow = policy("allow", admits({"namespaceSelector": IC}))
    assert net("K8S-NET-002", tmp_path / "b", policy("default", DENY), broken, allow).status is Status.PASSED


def test_ingress_controllers_skips_system_and_implied_namespaces(tmp_path: Path) -> None:
    root = write(
        tmp_path, compliant_namespace("ingress-controllers"), policy("default", DENY, "ingress-controllers")
    )
    assert "ingress-controllers" not in findings("K8S-NET-002", root)
    app = tmp_path / "app"
    app.mkdir()
    (app / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (finding,) = run_check("K8S-NET-002", app)["cluster:t/namespace:default"]
    assert finding.status is Status.NOT_APPLICABLE


def monitor(kind: str = "ServiceMonitor") -> dict[str, Any]:
    return obj(kind, "app", {"selector": {"matchLabels": {"app": "web"}}}, api="monitoring.coreos.com/v1")


def test_monitoring_applies_only_with_a_monitor_and_reads_pod_monitors(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert net("K8S-NET-003", tmp_path / "a", policy("default", DENY)).status is Status.NOT_APPLICABLE
    finding = net("K8S-NET-003", tmp_path / "b", policy("default", DENY), monitor("PodMonitor"))
    assert finding.status is Status.FAILED and "PodMonitor 'app'" in finding.message
    assert finding.evidence["monitors"] == ["PodMonitor/team-a/app"]


def test_monitoring_admitted_to_the_scraped_pods_only_passes(tmp_path: Path) -> None:
    peer = {
        "namespaceSelector": {"matchLabels": {"component": "monitoring"}},
        "podSelector": {"matchLabels": {"app": "prometheus"}},
    }
    allow = policy("scrape", admits(peer, pods={"matchLabels": {"app": "web"}}))
    finding = net("K8S-NET-003", tmp_path, policy("default", DENY), allow, monitor())
    assert finding.status is Status.PASSED and "to pods matching" in finding.message


def test_monitoring_without_any_ingress_policy_fails(tmp_path: Path) -> None:
    finding = net("K8S-NET-003", tmp_path, monitor())
    assert finding.status is Status.FAILED and "no ingress policy at all" in finding.message


def net4(tmp_path: Path, *objects: dict[str, Any]) -> dict[str, Finding]:
    return {
        f.resource.rsplit("/", 1)[-1]: f
        for f in findings("K8S-NET-004", write(tmp_path, compliant_namespace(), *objects))["team-a"]
    }


def test_open_to_every_namespace_in_every_form(tmp_path: Path) -> None:
    name_not_in = {
        "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["x"]}]
    }
    found = net4(
        tmp_path,
        policy("no-from", {"podSelector": {}, "ingress": [{}]}),
        policy("empty-peer", admits({})),
        policy("whole-v4", admits({"ipBlock": {"cidr": "0.0.0.0/0"}})),
        policy("whole-v6", admits({"ipBlock": {"cidr": "::/0"}}, pods={"matchLabels": {"app": "web"}})),
        policy("name-not-in", admits({"namespaceSelector": name_not_in})),
        policy("null-pods", admits({"namespaceSelector": {}, "podSelector": None})),
    )
    assert {name: f.status for name, f in found.items()} == dict.fromkeys(found, Status.FAILED), found
    assert "no `from`" in found["no-from"].message and "every pod's address" in found["whole-v4"].message


def test_not_open_to_every_namespace(tmp_path: Path) -> None:
    found = net4(
        tmp_path,
        policy("default", DENY),
        policy(
            "egress-only",
            {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"namespaceSelector": {}}]}]},
        ),
        policy("internet-but-pods", admits({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}})),
        policy(
            "named", admits({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}})
        ),
        policy("labelled", admits({"namespaceSelector": {"matchLabels": {"team": "b"}}})),
    )
    assert {name: f.status for name, f in found.items()} == dict.fromkeys(found, Status.PASSED), found
    assert found["egress-only"].message.startswith("governs no ingress")


def test_open_to_every_namespace_unreadable_policy_is_an_error_and_none_is_not_applicable(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    found = net4(tmp_path / "a", policy("broken", {"podSelector": [], "ingress": []}))
    assert found["broken"].status is Status.ERROR and "podSelector" in found["broken"].message
    calico = obj("NetworkPolicy", "calico", {"selector": "all()"}, api="projectcalico.org/v3")
    found = net4(tmp_path / "b", calico)
    assert found["team-a"].status is Status.NOT_APPLICABLE and "not assessed" in found["team-a"].message
