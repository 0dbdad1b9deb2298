"""Edge cases of the platform and observability checks (K8S-GK-*, K8S-PLAT-*, K8S-OBS-*)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.targets.cluster import collect as cluster
from kitemark.testing import run_on_inventory


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def prometheus_rule(name: str, ns: str, rules: list[dict[str, Any]], **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"groups": [{"name": "g", "rules": rules}]},
    }


def alert(name: str = "Down", **fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "alert": name,
        "expr": "up == 0",
        "for": "5m",
        "labels": {"severity": "team-alerts"},
        "annotations": {"message": "down", "runbook_url": "https://runbooks.example.org/down"},
    }
    for key, value in fields.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


def run(
    tmp_path: Path, check_id: str, objects: list[dict[str, Any]], inputs: dict[str, Any] | None = None
) -> list[Finding]:
    for number, obj in enumerate(objects):
        (tmp_path / f"{number:03}.json").write_text(json.dumps(obj))
    inventory = cluster.collect(TargetSpec("cluster", "t", str(tmp_path)))
    found = run_on_inventory(check_id, inventory, inputs)
    return [f for findings in found.values() for f in findings]


def statuses(findings: list[Finding]) -> dict[str, Status]:
    return {f.resource: f.status for f in findings}


# --- K8S-OBS-001 -------------------------------------------------------------------------------------


def test_obs001_a_namespace_without_rules_is_not_applicable(tmp_path: Path) -> None:
    [finding] = run(tmp_path, "K8S-OBS-001", [namespace("team-a")])
    assert finding.status is Status.NOT_APPLICABLE
    assert "no PrometheusRule" in finding.message


def test_obs001_another_groups_prometheus_rule_is_named_not_assessed(tmp_path: Path) -> None:
    other = prometheus_rule("r", "team-a", [alert()], role="alert-rules")
    other["apiVersion"] = "example.com/v1"
    [finding] = run(tmp_path, "K8S-OBS-001", [namespace("team-a"), other])
    assert finding.status is Status.NOT_APPLICABLE
    assert finding.evidence == {"not_assessed": ["example.com/v1 PrometheusRule/team-a/r"]}


def test_obs001_system_namespace_rules_are_the_platforms(tmp_path: Path) -> None:
    rule = prometheus_rule("kube-rules", "monitoring", [alert()])
    findings = run(tmp_path, "K8S-OBS-001", [namespace("monitoring"), rule])
    assert "PrometheusRule/monitoring/kube-rules" not in statuses(findings)


def test_obs001_label_values_come_from_the_input(tmp_path: Path) -> None:
    rule = prometheus_rule("r", "team-a", [alert()], role="alert-rules")
    inputs = {"alert_rule_labels": {"role": "alert-rules", "prometheus": "cloud-platform"}}
    [finding] = run(tmp_path, "K8S-OBS-001", [namespace("team-a"), rule], inputs)
    assert finding.status is Status.FAILED
    assert "label prometheus='cloud-platform' is missing" in finding.message


def test_obs001_labels_of_the_wrong_type_are_an_error(tmp_path: Path) -> None:
    rule = prometheus_rule("r", "team-a", [alert()])
    rule["metadata"]["labels"] = ["role=alert-rules"]
    [finding] = run(tmp_path, "K8S-OBS-001", [namespace("team-a"), rule])
    assert finding.status is Status.ERROR
    assert "metadata.labels (a list, not a mapping)" in finding.message


# --- K8S-OBS-002 -------------------------------------------------------------------------------------


def test_obs002_recording_rules_only_is_not_applicable(tmp_path: Path) -> None:
    rule = prometheus_rule("r", "team-a", [{"record": "x:y", "expr": "sum(y)"}], role="alert-rules")
    [finding] = run(tmp_path, "K8S-OBS-002", [namespace("team-a"), rule])
    assert finding.status is Status.NOT_APPLICABLE


def test_obs002_reports_each_alert_and_what_it_lacks(tmp_path: Path) -> None:
    rules = [
        alert("A"),
        alert("B", labels={}),
        alert("C", annotations={"summary": "s"}),
        alert("D", **{"for": ""}),
    ]
    [finding] = run(tmp_path, "K8S-OBS-002", [namespace("team-a"), prometheus_rule("r", "team-a", rules)])
    assert finding.status is Status.FAILED
    assert finding.message.startswith("3 of 4 alert(s) incomplete")
    assert finding.evidence["missing"] == {
        "g/B": ["labels.severity"],
        "g/C": ["annotations.runbook_url"],
        "g/D": ["for"],
    }


def test_obs002_inputs_relax_and_tighten_the_rule(tmp_path: Path) -> None:
    rules = [alert("A", **{"for": None})]
    inputs = {"alert_require_for": False, "alert_required_annotations": ["message", "dashboard_url"]}
    [finding] = run(
        tmp_path, "K8S-OBS-002", [namespace("team-a"), prometheus_rule("r", "team-a", rules)], inputs
    )
    assert finding.status is Status.FAILED
    assert finding.evidence["missing"] == {"g/A": ["annotations.dashboard_url"]}


def test_obs002_a_rule_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    rule = prometheus_rule("r", "team-a", [alert(**{"for": 300})])
    [finding] = run(tmp_path, "K8S-OBS-002", [namespace("team-a"), rule])
    assert finding.status is Status.ERROR
    assert "spec.groups[0].rules[0].for (a int, not a string)" in finding.message


# --- K8S-OBS-003 -------------------------------------------------------------------------------------


def service(name: str, ns: str, ports: list[str], **labels: str) -> dict[str, Any]:
    spec = {"ports": [{"name": p, "port": 8000 + i} for i, p in enumerate(ports)]}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    }


def monitor(
    name: str, ns: str, selector: dict[str, Any], port: str = "metrics", **spec: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": selector, "endpoints": [{"port": port}], **spec},
    }


def test_obs003_an_empty_selector_selects_every_service_of_the_namespace(tmp_path: Path) -> None:
    objects = [namespace("team-a"), service("web", "team-a", ["metrics"]), monitor("m", "team-a", {})]
    [finding] = run(tmp_path, "K8S-OBS-003", objects)
    assert finding.status is Status.PASSED


def test_obs003_a_service_in_another_namespace_is_not_matched(tmp_path: Path) -> None:
    objects = [
        namespace("team-a"),
        namespace("team-b"),
        service("web", "team-b", ["metrics"], app="web"),
        monitor("m", "team-a", {"matchLabels": {"app": "web"}}),
    ]
    findings = run(tmp_path, "K8S-OBS-003", objects)
    assert statuses(findings)["ServiceMonitor/team-a/m"] is Status.FAILED


def test_obs003_selecting_other_namespaces_is_not_applicable_when_none_matches_here(tmp_path: Path) -> None:
    sm = monitor("m", "team-a", {"matchLabels": {"app": "web"}}, namespaceSelector={"matchNames": ["team-b"]})
    [finding] = run(tmp_path, "K8S-OBS-003", [namespace("team-a"), sm])
    assert finding.status is Status.NOT_APPLICABLE
    assert "namespaces team-b" in finding.message


def test_obs003_an_unreadable_service_is_an_error_not_a_failure(tmp_path: Path) -> None:
    bad = service("web", "team-a", ["metrics"], app="web")
    bad["spec"]["ports"] = {"name": "metrics"}
    objects = [namespace("team-a"), bad, monitor("m", "team-a", {"matchLabels": {"app": "web"}})]
    [finding] = run(tmp_path, "K8S-OBS-003", objects)
    assert finding.status is Status.ERROR
    assert "spec.ports (a dict, not a list)" in finding.message


def test_obs003_an_unknown_selector_operator_is_an_error(tmp_path: Path) -> None:
    selector = {"matchExpressions": [{"key": "app", "operator": "Like", "values": ["web"]}]}
    objects = [namespace("team-a"), service("web", "team-a", ["metrics"]), monitor("m", "team-a", selector)]
    [finding] = run(tmp_path, "K8S-OBS-003", objects)
    assert finding.status is Status.ERROR
    assert "'Like'" in finding.message


# --- K8S-OBS-004/005 ---------------------------------------------------------------------------------


def config_map(name: str, ns: str, data: dict[str, Any], labelled: bool = True) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labelled:
        meta["labels"] = {"grafana_dashboard": ""}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def board(uid: str, title: str) -> str:
    return json.dumps({"uid": uid, "title": title, "panels": []})


def test_obs004_an_unlabelled_json_with_panels_is_a_dashboard(tmp_path: Path) -> None:
    cm = config_map("c", "team-a", {"main.json": board("u", "t")}, labelled=False)
    [finding] = run(tmp_path, "K8S-OBS-004", [namespace("team-a"), cm])
    assert finding.status is Status.FAILED
    assert finding.evidence["dashboard_keys"] == ["main.json"]


def test_obs004_no_dashboards_is_not_applicable(tmp_path: Path) -> None:
    cm = config_map("c", "team-a", {"app.json": '{"a": 1}', "panels.txt": "panels"}, labelled=False)
    [finding] = run(tmp_path, "K8S-OBS-004", [namespace("team-a"), cm])
    assert finding.status is Status.NOT_APPLICABLE


def test_obs004_json_that_is_not_an_object_fails(tmp_path: Path) -> None:
    cm = config_map("c", "team-a", {"x-dashboard.json": "[1, 2]"})
    [finding] = run(tmp_path, "K8S-OBS-004", [namespace("team-a"), cm])
    assert finding.status is Status.FAILED
    assert "is JSON list, not a dashboard object" in finding.message


def test_obs004_an_empty_labelled_config_map_fails(tmp_path: Path) -> None:
    [finding] = run(tmp_path, "K8S-OBS-004", [namespace("team-a"), config_map("c", "team-a", {})])
    assert finding.status is Status.FAILED
    assert "holds no data key" in finding.message


def test_obs005_a_team_dashboard_clashing_with_the_platforms_fails_both(tmp_path: Path) -> None:
    objects = [
        namespace("team-a"),
        namespace("monitoring"),
        config_map("mine", "team-a", {"k-dashboard.json": board("nodes", "Team A")}),
        config_map("platform", "monitoring", {"nodes-dashboard.json": board("nodes", "Nodes")}),
    ]
    found = statuses(run(tmp_path, "K8S-OBS-005", objects))
    assert found == {"ConfigMap/team-a/mine": Status.FAILED, "ConfigMap/monitoring/platform": Status.FAILED}


def test_obs005_the_api_envelope_is_read_and_a_clash_within_one_config_map_counts(tmp_path: Path) -> None:
    wrapped = json.dumps({"dashboard": {"uid": "a", "title": "Same"}, "overwrite": True})
    cm = config_map("c", "team-a", {"a-dashboard.json": wrapped, "b-dashboard.json": board("b", "Same")})
    [finding] = run(tmp_path, "K8S-OBS-005", [namespace("team-a"), cm])
    assert finding.status is Status.FAILED
    assert "title 'Same' is also used by another key of this ConfigMap" in finding.message


def test_obs005_unreadable_json_is_an_error_and_none_at_all_not_applicable(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    cm = config_map("c", "team-a", {"a-dashboard.json": "{"})
    [finding] = run(tmp_path / "a", "K8S-OBS-005", [namespace("team-a"), cm])
    assert finding.status is Status.ERROR
    [none] = run(tmp_path / "b", "K8S-OBS-005", [namespace("team-a")])
    assert none.status is Status.NOT_APPLICABLE


def test_obs005_a_config_map_whose_labels_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    cm = config_map("c", "team-a", {"a-dashboard.json": board("a", "A")})
    cm["metadata"]["labels"] = ["grafana_dashboard"]
    [finding] = run(tmp_path, "K8S-OBS-005", [namespace("team-a"), cm])
    assert finding.status is Status.ERROR
    assert "metadata.labels (a list, not a mapping)" in finding.message


# --- K8S-GK-001 --------------------------------------------------------------------------------------


def collect(tmp_path: Path, objects: list[dict[str, Any]]) -> dict[str, Any]:
    for number, obj in enumerate(objects):
        (tmp_path / f"{number:03}.json").write_text(json.dumps(obj))
    return cluster.collect(TargetSpec("cluster", "t", str(tmp_path)))


def findings_of(
    check_id: str, inventory: dict[str, Any], inputs: dict[str, Any] | None = None
) -> list[Finding]:
    return [f for found in run_on_inventory(check_id, inventory, inputs).values() for f in found]


def webhook_configuration(**webhook: Any) -> dict[str, Any]:
    entry = {
        "name": "validation.gatekeeper.sh",
        "clientConfig": {"service": {"namespace": "gatekeeper-system", "name": "gatekeeper-webhook-service"}},
        "rules": [{"operations": ["CREATE"], "resources": ["*"]}],
        **webhook,
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "gatekeeper-validating-webhook-configuration"},
        "webhooks": [entry],
    }


def test_gk001_a_team_folder_without_gatekeeper_is_not_applicable(tmp_path: Path) -> None:
    [finding] = findings_of("K8S-GK-001", collect(tmp_path, [namespace("team-a")]))
    assert finding.status is Status.NOT_APPLICABLE
    assert "not of a whole cluster" in finding.message


def test_gk001_a_live_cluster_without_gatekeeper_fails(tmp_path: Path) -> None:
    inventory = collect(tmp_path, [namespace("team-a")])
    inventory["mode"] = "live"
    [finding] = findings_of("K8S-GK-001", inventory)
    assert finding.status is Status.FAILED
    assert "no Namespace gatekeeper-system" in finding.message


def test_gk001_a_whole_cluster_snapshot_without_gatekeeper_fails(tmp_path: Path) -> None:
    [finding] = findings_of("K8S-GK-001", collect(tmp_path, [namespace("kube-system"), namespace("team-a")]))
    assert finding.status is Status.FAILED


def test_gk001_part_of_gatekeeper_in_a_partial_snapshot_is_assessed(tmp_path: Path) -> None:
    [finding] = findings_of("K8S-GK-001", collect(tmp_path, [webhook_configuration()]))
    assert finding.status is Status.FAILED
    assert "no Namespace gatekeeper-system" in finding.message


def test_gk001_a_webhook_without_rules_does_not_count(tmp_path: Path) -> None:
    [finding] = findings_of("K8S-GK-001", collect(tmp_path, [webhook_configuration(rules=[])]))
    assert finding.status is Status.FAILED
    assert "with at least one rule" in finding.message


def test_gk001_an_unreadable_webhook_configuration_is_an_error(tmp_path: Path) -> None:
    hook = webhook_configuration(clientConfig={"service": "gatekeeper-system/gatekeeper-webhook-service"})
    [finding] = findings_of("K8S-GK-001", collect(tmp_path, [namespace("kube-system"), hook]))
    assert finding.status is Status.ERROR
    assert "clientConfig.service (a str, not a mapping)" in finding.message


# --- K8S-GK-002 --------------------------------------------------------------------------------------

ONE_CONSTRAINT = {
    "gatekeeper_constraints": [{"kind": "K8sRequiredLabels", "name": "psa", "enforcementAction": "deny"}]
}


def constraint(kind: str = "K8sRequiredLabels", name: str = "psa", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "constraints.gatekeeper.sh/v1beta1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def test_gk002_a_team_folder_without_constraints_is_not_applicable(tmp_path: Path) -> None:
    [finding] = findings_of("K8S-GK-002", collect(tmp_path, [namespace("team-a")]), ONE_CONSTRAINT)
    assert finding.status is Status.NOT_APPLICABLE
    assert "not of a whole cluster" in finding.message


def test_gk002_a_live_cluster_missing_a_constraint_fails(tmp_path: Path) -> None:
    inventory = collect(tmp_path, [namespace("team-a")])
    inventory["mode"] = "live"
    [finding] = findings_of("K8S-GK-002", inventory, ONE_CONSTRAINT)
    assert finding.status is Status.FAILED


def test_gk002_kinds_compare_ignoring_case(tmp_path: Path) -> None:
    """The platform names some template kinds in lower case; a live read returns them as they are."""
    inventory = collect(tmp_path, [namespace("kube-system")])
    inventory["objects"].append(constraint("k8srequiredlabels", enforcementAction="deny"))
    inventory["sources"].append(None)
    [finding] = findings_of("K8S-GK-002", inventory, ONE_CONSTRAINT)
    assert finding.status is Status.PASSED


def test_gk002_and_gk003_judge_a_lower_case_constraint_read_from_a_snapshot(tmp_path: Path) -> None:
    """The MoJ Cloud Platform's template names its kind `k8sservicetypeloadbalancer`: the snapshot
    reader keeps such a constraint (a custom resource's kind may be lower case) and both checks judge
    it, whichever case the expected-constraints input writes the kind in."""
    lower = constraint("k8sservicetypeloadbalancer", "k8sservicetypeloadbalancer", enforcementAction="dryrun")
    lower["status"] = {"totalViolations": 2, "violations": [{"kind": "Service", "name": "lb"}] * 2}
    inventory = collect(tmp_path, [namespace("kube-system"), lower])
    assert inventory["errors"] == []
    expected = [
        {"kind": kind, "name": "k8sservicetypeloadbalancer", "enforcementAction": "deny"}
        for kind in ("k8sservicetypeloadbalancer", "K8sServiceTypeLoadBalancer")
    ]
    for entry in expected:
        [finding] = findings_of("K8S-GK-002", inventory, {"gatekeeper_constraints": [entry]})
        assert finding.status is Status.FAILED
        assert finding.message.startswith("enforcementAction: dryrun: expected deny")
        assert finding.evidence["constraint"] == "k8sservicetypeloadbalancer/k8sservicetypeloadbalancer"
    [audit] = findings_of("K8S-GK-003", inventory, {"audit_fail_actions": ["dryrun"]})
    assert audit.status is Status.FAILED
    assert audit.resource == "k8sservicetypeloadbalancer/k8sservicetypeloadbalancer"
    assert "the audit counts 2 violation(s)" in audit.message


def test_gk002_an_unknown_action_fails_and_a_wrong_type_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [unknown] = findings_of(
        "K8S-GK-002", collect(tmp_path / "a", [constraint(enforcementAction="block")]), ONE_CONSTRAINT
    )
    assert unknown.status is Status.FAILED
    assert "enforcementAction: block: expected deny" in unknown.message
    [wrong] = findings_of(
        "K8S-GK-002", collect(tmp_path / "b", [constraint(enforcementAction=["deny"])]), ONE_CONSTRAINT
    )
    assert wrong.status is Status.ERROR
    assert "spec.enforcementAction (a list, not a string)" in wrong.message


def test_gk002_scoped_with_every_enforcement_point_counts(tmp_path: Path) -> None:
    scoped = [{"action": "deny", "enforcementPoints": [{"name": "*"}]}]
    objects = [constraint(enforcementAction="scoped", scopedEnforcementActions=scoped)]
    [finding] = findings_of("K8S-GK-002", collect(tmp_path, objects), ONE_CONSTRAINT)
    assert finding.status is Status.PASSED


def test_gk002_nothing_expected_is_not_applicable(tmp_path: Path) -> None:
    inventory = collect(tmp_path, [namespace("kube-system")])
    [finding] = findings_of("K8S-GK-002", inventory, {"gatekeeper_constraints": []})
    assert finding.status is Status.NOT_APPLICABLE


# --- K8S-GK-003 --------------------------------------------------------------------------------------


def audited(total: int | None, action: str = "deny") -> dict[str, Any]:
    obj = constraint(enforcementAction=action)
    if total is not None:
        obj["status"] = {"totalViolations": total, "violations": [{"kind": "Namespace", "name": "x"}] * total}
    return obj


def test_gk003_no_audit_status_is_an_error_in_a_whole_cluster_and_not_applicable_in_a_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [whole] = findings_of("K8S-GK-003", collect(tmp_path / "a", [namespace("kube-system"), audited(None)]))
    assert whole.status is Status.ERROR
    assert "gatekeeper-audit" in whole.message
    [folder] = findings_of("K8S-GK-003", collect(tmp_path / "b", [audited(None)]))
    assert folder.status is Status.NOT_APPLICABLE


def test_gk003_the_fail_actions_are_an_input(tmp_path: Path) -> None:
    inventory = collect(tmp_path, [audited(4, "dryrun")])
    [reported] = findings_of("K8S-GK-003", inventory)
    assert reported.status is Status.PASSED
    assert reported.evidence["totalViolations"] == 4
    [strict] = findings_of("K8S-GK-003", inventory, {"audit_fail_actions": ["deny", "dryrun"]})
    assert strict.status is Status.FAILED


def test_gk003_no_constraint_is_not_applicable(tmp_path: Path) -> None:
    [finding] = findings_of("K8S-GK-003", collect(tmp_path, [namespace("kube-system")]))
    assert finding.status is Status.NOT_APPLICABLE


def test_gk003_a_count_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    obj = audited(0)
    obj["status"]["totalViolations"] = "0"
    [finding] = findings_of("K8S-GK-003", collect(tmp_path, [obj]))
    assert finding.status is Status.ERROR
    assert "status.totalViolations (a str, not an integer)" in finding.message


# --- K8S-PLAT-001/002 --------------------------------------------------------------------------------

ONLY_MONITORING = {
    "platform_namespaces": ["monitoring"],
    "platform_crds": ["servicemonitors.monitoring.coreos.com"],
}


def test_plat001_a_team_folder_is_not_applicable_and_a_whole_cluster_fails(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [folder] = findings_of("K8S-PLAT-001", collect(tmp_path / "a", [namespace("team-a")]), ONLY_MONITORING)
    assert folder.status is Status.NOT_APPLICABLE
    whole = findings_of("K8S-PLAT-001", collect(tmp_path / "b", [namespace("kube-system")]), ONLY_MONITORING)
    assert {f.status for f in whole} == {Status.FAILED}, whole


def test_plat001_terminating_and_unestablished_fail(tmp_path: Path) -> None:
    ns = namespace("monitoring")
    ns["status"] = {"phase": "Terminating"}
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
        "status": {"conditions": [{"type": "Established", "status": "False"}]},
    }
    found = findings_of("K8S-PLAT-001", collect(tmp_path, [ns, crd]), ONLY_MONITORING)
    assert [(f.status, f.message) for f in found] == [
        (Status.FAILED, "Namespace monitoring is being deleted (status.phase: Terminating)"),
        (
            Status.FAILED,
            "CustomResourceDefinition servicemonitors.monitoring.coreos.com is not Established (False)",
        ),
    ]


def test_plat001_a_phase_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    ns = namespace("monitoring")
    ns["status"] = {"phase": ["Terminating"]}
    found = findings_of("K8S-PLAT-001", collect(tmp_path, [ns]), {**ONLY_MONITORING, "platform_crds": []})
    assert [f.status for f in found] == [Status.ERROR]
    assert "status.phase (a list, not a string)" in found[0].message


def deployment(name: str, ns: str, status: dict[str, Any] | None, replicas: Any = 2) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas},
    }
    if status is not None:
        obj["status"] = status
    return obj


ONE_WORKLOAD = {"platform_workloads": [{"kind": "Deployment", "namespace": "kube-system", "name": "coredns"}]}


def test_plat002_without_status_an_error_in_a_whole_cluster_not_applicable_in_a_folder(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    dep = deployment("coredns", "kube-system", None)
    [whole] = findings_of(
        "K8S-PLAT-002", collect(tmp_path / "a", [namespace("kube-system"), dep]), ONE_WORKLOAD
    )
    assert whole.status is Status.ERROR
    [folder] = findings_of("K8S-PLAT-002", collect(tmp_path / "b", [dep]), ONE_WORKLOAD)
    assert folder.status is Status.NOT_APPLICABLE


def test_plat002_unset_ready_counts_as_none_ready_and_replicas_default_to_one(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    none_ready = deployment("coredns", "kube-system", {"replicas": 2})
    [finding] = findings_of("K8S-PLAT-002", collect(tmp_path / "a", [none_ready]), ONE_WORKLOAD)
    assert (finding.status, finding.message) == (Status.FAILED, "0 of 2 replicas ready")
    default = deployment("coredns", "kube-system", {"readyReplicas": 1}, replicas=None)
    [finding] = findings_of("K8S-PLAT-002", collect(tmp_path / "b", [default]), ONE_WORKLOAD)
    assert (finding.status, finding.message) == (Status.PASSED, "1 of 1 replicas ready")


def test_plat002_a_count_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    dep = deployment("coredns", "kube-system", {"readyReplicas": "2"})
    [finding] = findings_of("K8S-PLAT-002", collect(tmp_path, [dep]), ONE_WORKLOAD)
    assert finding.status is Status.ERROR
    assert "status.readyReplicas (a str, not an integer)" in finding.message


# --- K8S-OBS-006 -------------------------------------------------------------------------------------


def certificate(name: str, status: dict[str, Any] | None) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": "team-a"},
        "spec": {
            "secretName": name,
            "issuerRef": {"name": "letsencrypt-production", "kind": "ClusterIssuer"},
        },
    }
    if status is not None:
        obj["status"] = status
    return obj


def ready(not_after: str, state: str = "True") -> dict[str, Any]:
    return {"notAfter": not_after, "conditions": [{"type": "Ready", "status": state, "reason": "Ready"}]}


def test_obs006_the_expiry_window_is_an_input(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(days=10, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    inventory = collect(tmp_path, [certificate("web", ready(soon))])
    [default] = findings_of("K8S-OBS-006", inventory)
    assert default.status is Status.FAILED
    assert default.message.startswith("expires in 10 day(s)")
    [narrow] = findings_of("K8S-OBS-006", inventory, {"certificate_expiry_days": 7})
    assert narrow.status is Status.PASSED


def test_obs006_without_status_an_error_in_a_whole_cluster_not_applicable_in_a_folder(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [whole] = findings_of(
        "K8S-OBS-006", collect(tmp_path / "a", [namespace("kube-system"), certificate("w", None)])
    )
    assert whole.status is Status.ERROR
    [folder] = findings_of("K8S-OBS-006", collect(tmp_path / "b", [certificate("w", None)]))
    assert folder.status is Status.NOT_APPLICABLE


def test_obs006_an_unreadable_expiry_is_an_error_and_no_certificate_not_applicable(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [bad] = findings_of("K8S-OBS-006", collect(tmp_path / "a", [certificate("w", ready("next year"))]))
    assert bad.status is Status.ERROR
    assert "expiry unknown" in bad.message
    [none] = findings_of("K8S-OBS-006", collect(tmp_path / "b", [namespace("team-a")]))
    assert none.status is Status.NOT_APPLICABLE


def test_obs006_no_ready_condition_fails_and_a_wrong_type_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [missing] = findings_of(
        "K8S-OBS-006", collect(tmp_path / "a", [certificate("w", {"notAfter": "2099-01-01T00:00:00Z"})])
    )
    assert (missing.status, missing.message) == (Status.FAILED, "not issued: no Ready condition")
    wrong = ready("2099-01-01T00:00:00Z")
    wrong["conditions"][0]["status"] = True
    [finding] = findings_of("K8S-OBS-006", collect(tmp_path / "b", [certificate("w", wrong)]))
    assert finding.status is Status.ERROR
    assert "status.conditions[0].status (a bool, not a string)" in finding.message


# --- K8S-GK-004 --------------------------------------------------------------------------------------

ONE_MUTATOR = {"gatekeeper_mutators": [{"kind": "Assign", "name": "run-as-non-root"}]}


def assign(
    name: str, kind: str = "Assign", location: Any = "spec.containers[name:*].securityContext.runAsNonRoot"
) -> dict[str, Any]:
    return {
        "apiVersion": "mutations.gatekeeper.sh/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {"location": location},
    }


def test_gk004_folder_not_applicable_live_fails(tmp_path: Path) -> None:
    inventory = collect(tmp_path, [namespace("team-a")])
    [folder] = findings_of("K8S-GK-004", inventory, ONE_MUTATOR)
    assert folder.status is Status.NOT_APPLICABLE
    inventory["mode"] = "live"
    [live] = findings_of("K8S-GK-004", inventory, ONE_MUTATOR)
    assert live.status is Status.FAILED


def test_gk004_the_kind_must_match_and_a_wrong_type_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [other] = findings_of(
        "K8S-GK-004", collect(tmp_path / "a", [assign("run-as-non-root", "ModifySet")]), ONE_MUTATOR
    )
    assert other.status is Status.FAILED
    [wrong] = findings_of(
        "K8S-GK-004", collect(tmp_path / "b", [assign("run-as-non-root", location=["x"])]), ONE_MUTATOR
    )
    assert wrong.status is Status.ERROR
    assert "spec.location (a list, not a string)" in wrong.message


# --- K8S-PLAT-003/004 --------------------------------------------------------------------------------


def test_plat003_folder_not_applicable_and_the_namespace_must_match(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    inputs = {"platform_services": [{"namespace": "monitoring", "name": "prometheus-operated"}]}
    [folder] = findings_of("K8S-PLAT-003", collect(tmp_path / "a", [namespace("team-a")]), inputs)
    assert folder.status is Status.NOT_APPLICABLE
    elsewhere = service("prometheus-operated", "team-a", ["web"])
    [moved] = findings_of(
        "K8S-PLAT-003", collect(tmp_path / "b", [namespace("kube-system"), elsewhere]), inputs
    )
    assert moved.status is Status.FAILED


def test_plat004_rules_elsewhere_do_not_count_and_extra_ones_are_listed(tmp_path: Path) -> None:
    inputs = {"platform_prometheus_rules": ["node.rules"]}
    objects = [
        namespace("kube-system"),
        prometheus_rule("node.rules", "team-a", [alert()]),
        prometheus_rule("extra", "monitoring", [alert()]),
    ]
    [finding] = findings_of("K8S-PLAT-004", collect(tmp_path, objects), inputs)
    assert finding.status is Status.FAILED
    assert finding.evidence == {"not_expected": ["extra"]}


def test_plat004_monitoring_namespace_is_an_input(tmp_path: Path) -> None:
    monitoring = {"name": "prometheus", "labels": {"component": "monitoring"}}
    inputs = {"platform_prometheus_rules": ["node.rules"], "monitoring_namespace": monitoring}
    objects = [prometheus_rule("node.rules", "prometheus", [alert()])]
    [finding] = findings_of("K8S-PLAT-004", collect(tmp_path, objects), inputs)
    assert finding.status is Status.PASSED
