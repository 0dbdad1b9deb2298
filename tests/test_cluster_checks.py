"""The cluster checks, each through the real collector and scopes, on small snapshot directories."""

from __future__ import annotations

import importlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.model import Finding, Status
from kitemark.targets.cluster.view import KObject
from kitemark.testing import compliant_namespace as namespace
from kitemark.testing import run_check

CHECK_IDS = ("K8S-NET-001", "K8S-NS-001", "K8S-POD-001", "K8S-POD-002", "K8S-INPUT-001")
CHECKS = load_checks()


def suite(module: str) -> Any:
    """A module of suites/cluster (imported once, by the catalogue), for its pure helpers."""
    return importlib.import_module(f"suites.cluster.{module}")


def network_suite() -> Any:
    return suite("test_network")


def run(
    check_id: str, root: Path, inputs: dict[str, Any] | None = None, **options: Any
) -> dict[str, list[Finding]]:
    """Findings of a check per unit id (minus the `cluster:t/` prefix), through the real collector,
    scopes and inputs, on the JSON inventory workers see."""
    found = run_check(check_id, root, options=options, inputs=inputs)
    return {unit.removeprefix("cluster:t/"): findings for unit, findings in found.items()}


def only(findings: dict[str, list[Finding]], unit: str) -> Finding:
    (finding,) = findings[unit]
    return finding


def only_unit(findings: dict[str, list[Finding]], unit: str) -> list[Finding]:
    assert list(findings) == [unit], findings
    return findings[unit]


def snapshot(tmp_path: Path, text: str, name: str = "snap.yaml") -> Path:
    (tmp_path / name).write_text(textwrap.dedent(text).lstrip("\n"))
    return tmp_path


CP = "cloud-platform.justice.gov.uk/"


def dump(tmp_path: Path, *objects: dict, name: str = "objects.json") -> Path:
    (tmp_path / name).write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    return tmp_path


# --- K8S-NET-001 -----------------------------------------------------------------------------------


def policy(name: str, spec: dict, ns: str = "team-a") -> dict:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


DEFAULT = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}
INGRESS_CONTROLLERS = {
    "podSelector": {},
    "policyTypes": ["Ingress"],
    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"component": "ingress-controllers"}}}]}],
}


@pytest.mark.parametrize(
    ("spec", "qualifies"),
    [
        (DEFAULT, True),
        ({"podSelector": {}, "policyTypes": ["Ingress"]}, True),  # deny all ingress
        ({"podSelector": {}}, True),  # no policyTypes: Kubernetes applies it to Ingress
        (
            {"podSelector": {}, "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]},
            True,
        ),
        (
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-a"}}}
                        ]
                    }
                ],
            },
            True,
        ),
        (
            {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {}}]}],
            },
            False,
        ),
        (INGRESS_CONTROLLERS, False),
        ({"podSelector": {}, "policyTypes": ["Egress"]}, False),
        ({"podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}, False),
        ({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "10.0.0.0/8"}}]}]}, False),
        (
            {
                "podSelector": {},
                "ingress": [
                    {
                        "from": [
                            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "team-b"}}}
                        ]
                    }
                ],
            },
            False,
        ),
    ],
    ids=[
        "default",
        "deny-all",
        "no-policy-types",
        "same-ns-pods",
        "own-name-selector",
        "all-namespaces",
        "ingress-controllers-only",
        "egress-only",
        "some-pods",
        "ip-block",
        "other-namespace",
    ],
)
def test_net_default_deny_qualification(tmp_path: Path, spec: dict, qualifies: bool) -> None:
    finding = only(run("K8S-NET-001", dump(tmp_path, namespace(), policy("p", spec))), "namespace:team-a")
    assert finding.status is (Status.PASSED if qualifies else Status.FAILED)
    assert finding.resource == "Namespace/team-a"
    (seen,) = finding.evidence["policies"]
    assert seen["name"] == "p" and seen["default_deny"] is qualifies and seen["reason"]


def test_net_no_policy_fails(tmp_path: Path) -> None:
    finding = only(run("K8S-NET-001", dump(tmp_path, namespace())), "namespace:team-a")
    assert finding.status is Status.FAILED
    assert "has no NetworkPolicy" in finding.message and finding.evidence == {"policies": []}


def test_net_platform_pair_passes_and_evidence_explains_each_policy(tmp_path: Path) -> None:
    root = dump(
        tmp_path,
        namespace(),
        policy("default", DEFAULT),
        policy("allow-ingress-controllers", INGRESS_CONTROLLERS),
    )
    finding = only(run("K8S-NET-001", root), "namespace:team-a")
    assert finding.status is Status.PASSED
    by_name = {p["name"]: p for p in finding.evidence["policies"]}
    assert by_name["default"]["default_deny"] is True
    assert by_name["allow-ingress-controllers"]["default_deny"] is False
    assert "component" in by_name["allow-ingress-controllers"]["reason"]


@pytest.mark.parametrize(
    "opener",
    [
        {"podSelector": {}, "ingress": [{}]},
        {"podSelector": {}, "ingress": [{"from": []}]},
        {"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]},
    ],
    ids=["rule-without-from", "empty-from", "any-ip"],
)
def test_net_policy_opening_every_pod_cancels_the_default_deny(tmp_path: Path, opener: dict) -> None:
    root = dump(tmp_path, namespace(), policy("default", DEFAULT), policy("allow-all", opener))
    finding = only(run("K8S-NET-001", root), "namespace:team-a")
    assert finding.status is Status.FAILED
    assert "'allow-all'" in finding.message and "cancels" in finding.message


def test_net_other_namespaces_policies_do_not_count(tmp_path: Path) -> None:
    root = dump(tmp_path, namespace("team-a"), namespace("team-b"), policy("default", DEFAULT, ns="team-b"))
    findings = run("K8S-NET-001", root)
    assert only(findings, "namespace:team-a").status is Status.FAILED
    assert only(findings, "namespace:team-b").status is Status.PASSED


# --- K8S-NS-001 ------------------------------------------------------------------------------------


def test_ns_compliant_namespace_passes(tmp_path: Path) -> None:
    finding = only(run("K8S-NS-001", dump(tmp_path, namespace())), "namespace:team-a")
    assert finding.status is Status.PASSED, finding.message
    assert finding.evidence["missing"] == [] and finding.evidence["invalid"] == []
    assert len(finding.evidence["checked"]) == 9


def test_ns_one_finding_lists_every_missing_and_invalid_key(tmp_path: Path) -> None:
    bad = namespace(
        **{
            f"{CP}business-unit": "Legal Aid Agency",
            f"{CP}team-name": None,
            f"{CP}source-code": "http://github.com/ministryofjustice/team-a",
            f"{CP}slack-channel": "  ",
            f"{CP}is-production": "yes",
            "pod-security.kubernetes.io/enforce": None,
        }
    )
    finding = only(run("K8S-NS-001", dump(tmp_path, bad)), "namespace:team-a")
    assert finding.status is Status.FAILED
    assert finding.resource == "Namespace/team-a"
    assert finding.evidence["missing"] == [
        "label pod-security.kubernetes.io/enforce",
        "annotation cloud-platform.justice.gov.uk/team-name",
    ]
    invalid = {i["key"]: i for i in finding.evidence["invalid"]}
    assert set(invalid) == {
        "label cloud-platform.justice.gov.uk/is-production",
        "annotation cloud-platform.justice.gov.uk/business-unit",
        "annotation cloud-platform.justice.gov.uk/source-code",
        "annotation cloud-platform.justice.gov.uk/slack-channel",
    }
    assert invalid["annotation cloud-platform.justice.gov.uk/business-unit"]["value"] == "Legal Aid Agency"
    assert invalid["annotation cloud-platform.justice.gov.uk/slack-channel"]["problem"] == "empty"
    assert "team-name" in finding.message and "Legal Aid Agency" in finding.message


def test_ns_every_allowed_business_unit_passes(tmp_path: Path) -> None:
    units = [
        "HQ",
        "HMPPS",
        "OPG",
        "LAA",
        "Central Digital",
        "Technology Services",
        "HMCTS",
        "CICA",
        "Platforms",
    ]
    objects = [namespace(f"ns-{i}", **{f"{CP}business-unit": bu}) for i, bu in enumerate(units)]
    findings = run("K8S-NS-001", dump(tmp_path, *objects))
    assert [f.status for fs in findings.values() for f in fs] == [Status.PASSED] * len(units)


def test_ns_system_namespaces_are_not_checked(tmp_path: Path) -> None:
    bare = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
        for n in ("kube-system", "monitoring")
    ]
    (finding,) = only_unit(run("K8S-NS-001", dump(tmp_path, *bare)), "no-namespace")
    assert finding.status is Status.NOT_APPLICABLE


def test_ns_missing_namespace_object_is_an_error_not_a_pass(tmp_path: Path) -> None:
    orphan = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "team-z"}}
    finding = only(run("K8S-NS-001", dump(tmp_path, orphan)), "namespace:team-z")
    assert finding.status is Status.ERROR and "Namespace object" in finding.message


def test_ns_rules_come_from_the_inputs(tmp_path: Path) -> None:
    inputs = {"namespace_labels": {}, "namespace_annotations": {"owner": {"allowed": ["Ops"]}}}
    snap = dump(tmp_path, namespace())  # carries none of the custom platform's keys
    finding = only(run("K8S-NS-001", snap, inputs), "namespace:team-a")
    assert finding.status is Status.FAILED
    assert finding.evidence["checked"] == ["owner"] and finding.evidence["missing"] == ["annotation owner"]


# --- K8S-POD-001 -----------------------------------------------------------------------------------


def workload(kind: str, name: str, pod_spec: dict, ns: str = "team-a", **metadata: Any) -> dict:
    template = {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
    spec: dict[str, Any]
    if kind == "Pod":
        spec = pod_spec
    elif kind == "CronJob":
        spec = {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": template}}}
    else:
        spec = {"template": template}
    api = {"Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}.get(kind, "apps/v1")
    return {
        "apiVersion": api,
        "kind": kind,
        "metadata": {"name": name, "namespace": ns, **metadata},
        "spec": spec,
    }


def c(name: str = "app", **security: Any) -> dict:
    return {
        "name": name,
        "image": "ghcr.io/ministryofjustice/app:1.0",
        **({"securityContext": security} if security else {}),
    }


NON_ROOT = {"runAsNonRoot": True, "runAsUser": 1000}


def pod_findings(tmp_path: Path, *objects: dict) -> dict[str, Finding]:
    findings = run("K8S-POD-001", dump(tmp_path, namespace(), *objects))["namespace:team-a"]
    return {f.resource: f for f in findings}


@pytest.mark.parametrize(
    ("pod_sc", "container_sc", "ok"),
    [
        (NON_ROOT, {}, True),  # inherited from the pod
        ({}, {"runAsNonRoot": True}, True),
        ({"runAsNonRoot": False}, {"runAsNonRoot": True}, True),  # the container overrides the pod
        (NON_ROOT, {"runAsNonRoot": False}, False),
        ({}, {}, False),
        ({"runAsUser": 1000}, {}, False),  # a uid alone is not runAsNonRoot: true
        ({"runAsNonRoot": True, "runAsUser": 0}, {}, False),  # uid 0 is root whatever runAsNonRoot says
        (NON_ROOT, {"runAsUser": 0}, False),
        (NON_ROOT, {"privileged": True}, False),
        (NON_ROOT, {"privileged": False}, True),
    ],
)
def test_pod_effective_security_context(tmp_path: Path, pod_sc: dict, container_sc: dict, ok: bool) -> None:
    deploy = workload("Deployment", "web", {"securityContext": pod_sc, "containers": [c(**container_sc)]})
    finding = pod_findings(tmp_path, deploy)["Deployment/team-a/web"]
    assert finding.status is (Status.PASSED if ok else Status.FAILED), finding.message
    (seen,) = finding.evidence["containers"]
    assert seen["name"] == "app" and seen["type"] == "container"


def test_pod_init_and_ephemeral_containers_are_checked(tmp_path: Path) -> None:
    init = workload(
        "StatefulSet",
        "db",
        {"securityContext": NON_ROOT, "initContainers": [c("chown", privileged=True)], "containers": [c()]},
    )
    debug = workload(
        "Pod",
        "debug-me",
        {
            "securityContext": NON_ROOT,
            "containers": [c()],
            "ephemeralContainers": [c("debugger", runAsUser=0)],
        },
    )
    findings = pod_findings(tmp_path, init, debug)
    assert findings["StatefulSet/team-a/db"].status is Status.FAILED
    assert "initContainer 'chown' is privileged" in findings["StatefulSet/team-a/db"].message
    assert findings["Pod/team-a/debug-me"].status is Status.FAILED
    assert "ephemeralContainer 'debugger' runs as root" in findings["Pod/team-a/debug-me"].message
    types = [c["type"] for c in findings["Pod/team-a/debug-me"].evidence["containers"]]
    assert types == ["container", "ephemeralContainer"]


def test_pod_one_finding_per_workload_and_owned_objects_are_skipped(tmp_path: Path) -> None:
    good = {"securityContext": NON_ROOT, "containers": [c()]}
    bad = {"containers": [c(privileged=True)]}
    owner = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "controller": True, "uid": "1"}]
    objects = [
        workload("Deployment", "web", good),
        # Owned copies would fail, under generated names: they must not appear at all.
        workload("ReplicaSet", "web-5d8f7c9b6", bad, ownerReferences=owner),
        workload("Pod", "web-5d8f7c9b6-x2kqp", bad, ownerReferences=owner),
        workload("Job", "report-28461234", bad, ownerReferences=[{"kind": "CronJob", "name": "report"}]),
        workload("CronJob", "report", good),
        workload("ReplicaSet", "legacy", good),  # no owner: it is the workload
        workload("Job", "one-off", good),
        workload("DaemonSet", "agent", bad),
        workload("Pod", "bare", good),
    ]
    findings = pod_findings(tmp_path, *objects)
    assert sorted(findings) == [
        "CronJob/team-a/report",
        "DaemonSet/team-a/agent",
        "Deployment/team-a/web",
        "Job/team-a/one-off",
        "Pod/team-a/bare",
        "ReplicaSet/team-a/legacy",
    ]
    assert [r for r, f in findings.items() if f.status is Status.FAILED] == ["DaemonSet/team-a/agent"]
    assert findings["Deployment/team-a/web"].where == "objects.json"


def test_pod_namespace_without_workloads_is_not_applicable(tmp_path: Path) -> None:
    (finding,) = pod_findings(tmp_path, policy("default", DEFAULT)).values()
    assert finding.status is Status.NOT_APPLICABLE and finding.resource == "Namespace/team-a"


def test_pod_template_without_containers_is_an_error(tmp_path: Path) -> None:
    finding = pod_findings(tmp_path, workload("Deployment", "empty", {}))["Deployment/team-a/empty"]
    assert finding.status is Status.ERROR


def test_pod_system_namespace_workloads_are_out_of_scope(tmp_path: Path) -> None:
    kube = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system"}}
    aws_node = workload("DaemonSet", "aws-node", {"containers": [c(privileged=True)]}, ns="kube-system")
    (finding,) = only_unit(run("K8S-POD-001", dump(tmp_path, kube, aws_node)), "no-namespace")
    assert finding.status is Status.NOT_APPLICABLE


# --- K8S-INPUT-001 ---------------------------------------------------------------------------------


def test_input_one_error_per_unreadable_file(tmp_path: Path) -> None:
    dump(tmp_path, namespace())
    (tmp_path / "team-b").mkdir()
    (tmp_path / "team-b" / "bad.yaml").write_text("kind: Namespace\nmetadata:\n  name: [team-b\n")
    (tmp_path / "team-b" / "bad.json").write_text('{"kind": "Namespace",\n "metadata": }\n')
    findings = run("K8S-INPUT-001", tmp_path)["input"]
    assert [f.status for f in findings] == [Status.ERROR, Status.ERROR]
    by_resource = {f.resource: f for f in findings}
    assert set(by_resource) == {"file:team-b/bad.json", "file:team-b/bad.yaml"}
    bad_json = by_resource["file:team-b/bad.json"]
    assert bad_json.where == "team-b/bad.json:2"
    assert bad_json.message.startswith("team-b/bad.json:2: invalid JSON")
    assert bad_json.evidence["line"] == 2
    assert by_resource["file:team-b/bad.yaml"].where == "team-b/bad.yaml:4"


def test_input_invalid_object_is_reported_with_its_document(tmp_path: Path) -> None:
    snapshot(
        tmp_path, "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: Namespace\nmetadata: {}\n"
    )
    (finding,) = run("K8S-INPUT-001", tmp_path)["input"]
    assert finding.status is Status.ERROR
    assert finding.message == "snap.yaml:5: document 2: Namespace has no metadata.name"


def test_input_passes_with_counts(tmp_path: Path) -> None:
    dump(tmp_path, namespace(), namespace("kube-system"), policy("default", DEFAULT))
    (finding,) = run("K8S-INPUT-001", tmp_path)["input"]
    assert finding.status is Status.PASSED
    assert finding.evidence == {
        "files": 1,
        "objects": 3,
        "namespaces": 2,
        "team_namespaces": 1,
        "duplicates_ignored": 0,
        "skipped": 0,
        "objects_without_namespace": 0,
        "default_namespace": "default",
    }
    assert finding.message == ("all 1 snapshot file(s) read: 3 objects in 2 namespaces (1 team namespaces)")


def test_input_empty_snapshot_cannot_be_assessed(tmp_path: Path) -> None:
    (finding,) = run("K8S-INPUT-001", tmp_path)["input"]
    assert finding.status is Status.ERROR and "no Kubernetes objects" in finding.message


# --- review defects: owners absent from the snapshot (K8S-POD-001) --------------------------------


def owned_by(kind: str, name: str) -> list[dict]:
    api = "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
    return [{"apiVersion": api, "kind": kind, "name": name, "controller": True, "uid": "u-" + name}]


ROOT_PRIVILEGED = {"containers": [c(privileged=True, runAsUser=0)]}


def test_pod_owned_by_absent_replicaset_is_assessed_under_its_owner(tmp_path: Path) -> None:
    # `kubectl get pods -A -o yaml` only: every Pod is owned by a ReplicaSet that is not in the snapshot.
    pods = [
        workload(
            "Pod", f"web-7d9f8-{suffix}", ROOT_PRIVILEGED, ownerReferences=owned_by("ReplicaSet", "web-7d9f8")
        )
        for suffix in ("x2kqp", "b7mzt")
    ]
    findings = pod_findings(tmp_path, *pods)
    assert list(findings) == ["ReplicaSet/team-a/web-7d9f8"]  # one finding, no pod suffix
    finding = findings["ReplicaSet/team-a/web-7d9f8"]
    assert finding.status is Status.FAILED
    assert "not in the snapshot" in finding.message
    assert finding.evidence["owner"] == {"kind": "ReplicaSet", "name": "web-7d9f8", "in_snapshot": False}
    # both pods are identical, so their evidence collapses to one entry naming both
    (group,) = finding.evidence["assessed"]
    assert group["objects"] == ["Pod/team-a/web-7d9f8-b7mzt", "Pod/team-a/web-7d9f8-x2kqp"]
    assert group["containers"][0]["privileged"] is True


def test_pod_owned_by_crd_controller_is_assessed(tmp_path: Path) -> None:
    rollout = [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": "api", "controller": True}]
    pod = workload("Pod", "api-6c4d5-abcde", ROOT_PRIVILEGED, ownerReferences=rollout)
    (finding,) = pod_findings(tmp_path, pod).values()
    assert finding.resource == "Rollout/team-a/api" and finding.status is Status.FAILED


def test_pod_owned_by_present_non_workload_kind_is_assessed(tmp_path: Path) -> None:
    # The owner is in the snapshot but carries no pod template Kitemark reads: the pods are the evidence.
    owner = {
        "apiVersion": "example.com/v1",
        "kind": "Runner",
        "metadata": {"name": "r", "namespace": "team-a"},
    }
    pod = workload("Pod", "r-1", ROOT_PRIVILEGED, ownerReferences=[{"kind": "Runner", "name": "r"}])
    (finding,) = pod_findings(tmp_path, owner, pod).values()
    assert finding.resource == "Runner/team-a/r" and finding.status is Status.FAILED
    assert finding.evidence["owner"]["in_snapshot"] is True


def test_pod_replicaset_of_absent_deployment_is_reported_as_the_deployment(tmp_path: Path) -> None:
    good = {"securityContext": NON_ROOT, "containers": [c()]}
    rs = workload("ReplicaSet", "web-7d9f8", good, ownerReferences=owned_by("Deployment", "web"))
    pod = workload("Pod", "web-7d9f8-x2kqp", good, ownerReferences=owned_by("ReplicaSet", "web-7d9f8"))
    job = workload("Job", "report-28461234", good, ownerReferences=owned_by("CronJob", "report"))
    findings = pod_findings(tmp_path, rs, pod, job)
    # the Pod's ReplicaSet is present (and assessed), so the Pod is not assessed a second time
    assert sorted(findings) == ["CronJob/team-a/report", "Deployment/team-a/web"]
    assert all(f.status is Status.PASSED for f in findings.values())
    assert "Deployment 'web' is not in the snapshot" in findings["Deployment/team-a/web"].message


def test_pod_only_snapshot_is_not_not_applicable(tmp_path: Path) -> None:
    pod = workload(
        "Pod", "web-7d9f8-x2kqp", ROOT_PRIVILEGED, ownerReferences=owned_by("ReplicaSet", "web-7d9f8")
    )
    findings = run("K8S-POD-001", dump(tmp_path, namespace(), pod))["namespace:team-a"]
    assert [f.status for f in findings] == [Status.FAILED]


# --- K8S-POD-002 -----------------------------------------------------------------------------------

RESTRICTED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
SECCOMP = {"seccompProfile": {"type": "RuntimeDefault"}}


def pod2_findings(tmp_path: Path, *objects: dict) -> dict[str, Finding]:
    findings = run("K8S-POD-002", dump(tmp_path, namespace(), *objects))["namespace:team-a"]
    return {f.resource: f for f in findings}


def pod2(tmp_path: Path, pod_spec: dict, kind: str = "Deployment") -> Finding:
    name = f"{kind}/team-a/web"
    return pod2_findings(tmp_path, workload(kind, "web", pod_spec))[name]


@pytest.mark.parametrize(
    ("pod_fields", "container_sc", "problem"),
    [
        ({}, RESTRICTED, None),
        ({"hostPID": False, "hostIPC": False, "hostNetwork": False}, RESTRICTED, None),
        ({}, {**RESTRICTED, "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}, None),
        ({"hostPID": True}, RESTRICTED, "hostPID: true"),
        ({"hostIPC": True}, RESTRICTED, "hostIPC: true"),
        ({"hostNetwork": True}, RESTRICTED, "hostNetwork: true"),
        (
            {},
            {**RESTRICTED, "capabilities": {"add": ["SYS_ADMIN"], "drop": ["ALL"]}},
            "adds capabilities SYS_ADMIN",
        ),
        (
            {},
            {**RESTRICTED, "capabilities": {"add": ["NET_BIND_SERVICE", "NET_RAW"], "drop": ["ALL"]}},
            "adds capabilities NET_RAW",
        ),
        ({}, {**RESTRICTED, "allowPrivilegeEscalation": True}, "allowPrivilegeEscalation: true"),
        (
            {},
            {"capabilities": {"drop": ["ALL"]}},
            "does not set allowPrivilegeEscalation: false (not set)",
        ),
        ({}, {"allowPrivilegeEscalation": False}, "does not drop ALL capabilities (drops none)"),
        (
            {},
            {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["NET_RAW"]}},
            "does not drop ALL capabilities (drops only NET_RAW)",
        ),
        # `all` is not `ALL`: the runtime (and Pod Security Admission) match the exact name
        ({}, {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["all"]}}, "does not drop ALL"),
    ],
    ids=[
        "restricted",
        "host-fields-false",
        "net-bind-service-only",
        "host-pid",
        "host-ipc",
        "host-network",
        "sys-admin",
        "net-raw-beside-allowed",
        "escalation-true",
        "escalation-unset",
        "drop-unset",
        "drop-net-raw-only",
        "drop-lower-case-all",
    ],
)
def test_pod2_host_namespaces_capabilities_and_escalation(
    tmp_path: Path, pod_fields: dict, container_sc: dict, problem: str | None
) -> None:
    finding = pod2(tmp_path, {"securityContext": SECCOMP, **pod_fields, "containers": [c(**container_sc)]})
    if problem is None:
        assert finding.status is Status.PASSED, finding.message
    else:
        assert finding.status is Status.FAILED and problem in finding.message, finding.message
    (seen,) = finding.evidence["containers"]
    assert seen["name"] == "app" and "allowPrivilegeEscalation" in seen and "capabilities_add" in seen
    assert "capabilities_drop" in seen and seen["seccompProfile"] == "RuntimeDefault"
    assert set(finding.evidence["host_namespaces"]) == {"hostPID", "hostIPC", "hostNetwork"}


@pytest.mark.parametrize(
    ("pod_seccomp", "container_seccomp", "problem"),
    [
        ("RuntimeDefault", None, None),  # inherited from the pod
        ("Localhost", None, None),
        (None, "RuntimeDefault", None),
        ("Unconfined", "RuntimeDefault", "pod sets seccompProfile type Unconfined"),
        ("RuntimeDefault", "Unconfined", "runs with seccomp profile Unconfined (from the container"),
        ("Unconfined", None, "runs with seccomp profile Unconfined (from the pod securityContext)"),
        (None, None, "has no seccomp profile"),
    ],
    ids=[
        "pod",
        "pod-localhost",
        "container",
        "pod-unconfined",
        "container-overrides",
        "inherits-bad",
        "unset",
    ],
)
def test_pod2_effective_seccomp_profile(
    tmp_path: Path, pod_seccomp: str | None, container_seccomp: str | None, problem: str | None
) -> None:
    pod_sc = {"seccompProfile": {"type": pod_seccomp}} if pod_seccomp else {}
    sc = {**RESTRICTED, **({"seccompProfile": {"type": container_seccomp}} if container_seccomp else {})}
    finding = pod2(tmp_path, {"securityContext": pod_sc, "containers": [c(**sc)]})
    if problem is None:
        assert finding.status is Status.PASSED, finding.message
    else:
        assert finding.status is Status.FAILED and problem in finding.message, finding.message
    (seen,) = finding.evidence["containers"]
    assert seen["seccompProfile"] == (container_seccomp or pod_seccomp)
    assert finding.evidence["pod_seccompProfile"] == pod_seccomp


def test_pod2_every_container_type_needs_escalation_off_all_dropped_and_seccomp(tmp_path: Path) -> None:
    spec = {
        "securityContext": SECCOMP,
        "initContainers": [c("init", **RESTRICTED), c("migrate", allowPrivilegeEscalation=False)],
        "containers": [c(**RESTRICTED)],
        "ephemeralContainers": [c("debugger", **RESTRICTED, seccompProfile={"type": "Unconfined"})],
    }
    finding = pod2(tmp_path, spec, kind="Pod")
    assert finding.status is Status.FAILED
    assert "initContainer 'migrate' does not drop ALL capabilities" in finding.message
    assert "ephemeralContainer 'debugger' runs with seccomp profile Unconfined" in finding.message
    assert "'init'" not in finding.message and "container 'app'" not in finding.message
    assert [x["type"] for x in finding.evidence["containers"]] == [
        "container",
        "initContainer",
        "initContainer",
        "ephemeralContainer",
    ]


@pytest.mark.parametrize(
    ("pod_fields", "container_fields", "problem"),
    [
        (
            {"volumes": [{"name": "logs", "hostPath": {"path": "/var/log"}}]},
            {},
            "volume 'logs' is of type hostPath",
        ),
        ({"volumes": [{"name": "share", "nfs": {"server": "x", "path": "/"}}]}, {}, "of type nfs"),
        (
            {"volumes": [{"name": "c", "configMap": {"name": "c"}}, {"name": "t", "emptyDir": {}}]},
            {},
            None,
        ),
        ({}, {"ports": [{"containerPort": 80, "hostPort": 8080}]}, "binds host ports 8080"),
        ({}, {"ports": [{"containerPort": 80, "hostPort": 0}]}, None),
        (
            {"securityContext": {**SECCOMP, "sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
            {},
            "unsafe sysctls kernel.msgmax",
        ),
        (
            {"securityContext": {**SECCOMP, "sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"}]}},
            {},
            None,
        ),
        ({}, {"securityContext": {**RESTRICTED, "procMount": "Unmasked"}}, "procMount: Unmasked"),
        (
            {},
            {"securityContext": {**RESTRICTED, "seLinuxOptions": {"type": "spc_t"}}},
            "seLinuxOptions type spc_t",
        ),
        ({}, {"securityContext": {**RESTRICTED, "seLinuxOptions": {"type": "container_t"}}}, None),
        (
            {},
            {"securityContext": {**RESTRICTED, "appArmorProfile": {"type": "Unconfined"}}},
            "appArmorProfile",
        ),
        (
            {"securityContext": {**SECCOMP, "windowsOptions": {"hostProcess": True}}},
            {},
            "Windows HostProcess",
        ),
    ],
    ids=[
        "host-path",
        "nfs",
        "allowed-volumes",
        "host-port",
        "host-port-zero",
        "unsafe-sysctl",
        "safe-sysctl",
        "proc-mount",
        "selinux-type",
        "selinux-container-t",
        "apparmor-unconfined",
        "host-process",
    ],
)
def test_pod2_rest_of_the_restricted_profile(
    tmp_path: Path, pod_fields: dict, container_fields: dict, problem: str | None
) -> None:
    container = {**c(**RESTRICTED), **container_fields}
    finding = pod2(tmp_path, {"securityContext": SECCOMP, **pod_fields, "containers": [container]})
    if problem is None:
        assert finding.status is Status.PASSED, finding.message
    else:
        assert finding.status is Status.FAILED and problem in finding.message, finding.message


def test_pod2_apparmor_annotation_on_the_pod_template(tmp_path: Path) -> None:
    deploy = workload("Deployment", "web", {"securityContext": SECCOMP, "containers": [c(**RESTRICTED)]})
    deploy["spec"]["template"]["metadata"]["annotations"] = {
        "container.apparmor.security.beta.kubernetes.io/app": "unconfined"
    }
    finding = pod2_findings(tmp_path, deploy)["Deployment/team-a/web"]
    assert finding.status is Status.FAILED and "AppArmor profile unconfined" in finding.message


def test_pod2_windows_pods_are_exempt_from_linux_only_controls(tmp_path: Path) -> None:
    spec = {"os": {"name": "windows"}, "containers": [c(capabilities={"add": ["CHOWN"]})]}
    finding = pod2(tmp_path, spec)
    assert finding.status is Status.PASSED, finding.message
    assert finding.evidence["os"] == "windows"
    spec["containers"] = [c(capabilities={"add": ["SYS_ADMIN"]})]
    (tmp_path / "2").mkdir()
    assert pod2(tmp_path / "2", spec).status is Status.FAILED


def test_pod2_shares_workload_identities_with_pod1(tmp_path: Path) -> None:
    owner = owned_by("Deployment", "web")
    good = {"securityContext": SECCOMP, "containers": [c(**RESTRICTED)]}
    objects = [
        workload("Deployment", "web", good),
        workload(
            "ReplicaSet", "web-5d8f7c9b6", {"hostPID": True, "containers": [c()]}, ownerReferences=owner
        ),
        workload(
            "Pod",
            "api-1",
            {"hostNetwork": True, "containers": [c()]},
            ownerReferences=owned_by("ReplicaSet", "api-9"),
        ),
    ]
    (tmp_path / "1").mkdir()
    (tmp_path / "2").mkdir()
    one, two = pod_findings(tmp_path / "1", *objects), pod2_findings(tmp_path / "2", *objects)
    assert sorted(two) == sorted(one) == ["Deployment/team-a/web", "ReplicaSet/team-a/api-9"]
    assert two["Deployment/team-a/web"].status is Status.PASSED
    assert two["ReplicaSet/team-a/api-9"].status is Status.FAILED
    assert "not in the snapshot" in two["ReplicaSet/team-a/api-9"].message


def test_pod2_namespace_without_workloads_is_not_applicable(tmp_path: Path) -> None:
    (finding,) = pod2_findings(tmp_path, policy("default", DEFAULT)).values()
    assert finding.status is Status.NOT_APPLICABLE


# --- review defects: K8S-NET-001 selectors and ipBlocks ------------------------------------------


def from_peers(*peers: dict, pod_selector: dict | None = None) -> dict:
    return {"podSelector": pod_selector or {}, "policyTypes": ["Ingress"], "ingress": [{"from": list(peers)}]}


def ns_expr(operator: str, *values: str, key: str = "kubernetes.io/metadata.name") -> dict:
    expr: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        expr["values"] = list(values)
    return {"namespaceSelector": {"matchExpressions": [expr]}}


@pytest.mark.parametrize(
    ("peer", "verdict"),
    [
        (ns_expr("Exists"), "opens-all"),  # every namespace carries its name label
        (ns_expr("NotIn", "kube-system"), "opens-all"),  # every namespace but one
        (ns_expr("NotIn", "team-a"), "opens-all"),
        (ns_expr("DoesNotExist"), "default-deny"),  # no namespace lacks its name label: admits nothing
        (ns_expr("In", "team-a"), "default-deny"),  # exactly this namespace
        (ns_expr("In", "team-a", "team-b"), "other"),
        (ns_expr("In", "team-b"), "other"),
        (ns_expr("Exists", key="team"), "other"),  # only namespaces that carry a label
        (ns_expr("DoesNotExist", key="restricted"), "opens-all"),  # every namespace not labelled
        (ns_expr("NotIn", "x", key="team"), "opens-all"),  # every namespace without team=x
        (
            {
                "namespaceSelector": {
                    "matchLabels": {"component": "ingress-controllers"},
                    "matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "Exists"}],
                }
            },
            "other",
        ),
        ({"ipBlock": {"cidr": "0.0.0.0/1"}}, "other"),
        ({"ipBlock": {"cidr": "::/0"}}, "opens-all"),
        ({"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}, "opens-all"),
        ({"ipBlock": {"cidr": "not-a-cidr"}}, "other"),
        # a peer with a podSelector of matchExpressions only selects some pods in every namespace
        (
            {
                "namespaceSelector": {},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["x"]}]},
            },
            "other",
        ),
    ],
    ids=[
        "name-exists",
        "name-not-in-other",
        "name-not-in-self",
        "name-does-not-exist",
        "name-in-self-expression",
        "name-in-self-and-other",
        "name-in-other",
        "other-label-exists",
        "other-label-does-not-exist",
        "other-label-not-in",
        "positive-label-and-exists",
        "half-ipv4",
        "all-ipv6",
        "all-ipv4-except-metadata",
        "invalid-cidr",
        "pod-selector-expressions-only",
    ],
)
def test_net_namespace_selector_expressions_and_ip_blocks(tmp_path: Path, peer: dict, verdict: str) -> None:
    kind, why = network_suite().classify(KObject(policy("p", from_peers(peer))), "team-a")[:2]
    assert kind == verdict, why
    finding = only(
        run("K8S-NET-001", dump(tmp_path, namespace(), policy("p", from_peers(peer)))), "namespace:team-a"
    )
    assert finding.status is (Status.PASSED if verdict == "default-deny" else Status.FAILED)


def test_net_ip_blocks_that_together_cover_ipv4_open_every_pod(tmp_path: Path) -> None:
    halves = {
        "podSelector": {},
        "ingress": [
            {"from": [{"ipBlock": {"cidr": "0.0.0.0/1"}}]},
            {"from": [{"ipBlock": {"cidr": "128.0.0.0/1"}}]},
        ],
    }
    root = dump(tmp_path, namespace(), policy("default", DEFAULT), policy("halves", halves))
    finding = only(run("K8S-NET-001", root), "namespace:team-a")
    assert finding.status is Status.FAILED and "'halves'" in finding.message
    assert "every IPv4 address" in finding.message


def test_net_reads_selectors_through_core_labels() -> None:
    # The suite keeps no selector parser of its own: one reading of selectors for every kind.
    from kitemark.core import labels

    assert network_suite().selects_everything is labels.selects_everything
    assert network_suite().requirements is labels.requirements
    assert not hasattr(network_suite(), "_selects_all") and not hasattr(network_suite(), "_requirements")


def test_net_policy_for_some_pods_records_that_it_opens_them(tmp_path: Path) -> None:
    opener = {"podSelector": {"matchLabels": {"app": "web"}}, "ingress": [{}]}
    root = dump(tmp_path, namespace(), policy("default", DEFAULT), policy("open-web", opener))
    finding = only(run("K8S-NET-001", root), "namespace:team-a")
    assert finding.status is Status.PASSED  # the default deny still stands for the other pods
    by_name = {p["name"]: p for p in finding.evidence["policies"]}
    assert by_name["open-web"]["admits_every_source"] is True
    assert by_name["open-web"]["opens_all"] is False
    assert "admits every source" in by_name["open-web"]["reason"]
    assert by_name["default"]["admits_every_source"] is False


def test_net_pod_selector_with_only_expressions_is_not_every_pod(tmp_path: Path) -> None:
    deny_some = {"podSelector": {"matchExpressions": [{"key": "app", "operator": "Exists"}]}}
    finding = only(
        run("K8S-NET-001", dump(tmp_path, namespace(), policy("p", deny_some))), "namespace:team-a"
    )
    assert finding.status is Status.FAILED
    assert "selects only some pods" in finding.evidence["policies"][0]["reason"]


# --- review defects: K8S-NS-001 evidence and MetadataRule -----------------------------------------


def test_ns_passing_evidence_records_the_values_seen(tmp_path: Path) -> None:
    finding = only(run("K8S-NS-001", dump(tmp_path, namespace())), "namespace:team-a")
    assert finding.status is Status.PASSED
    assert finding.evidence["values"]["labels"][f"{CP}is-production"] == "false"
    assert finding.evidence["values"]["labels"][f"{CP}environment-name"] == "development"
    annotations = finding.evidence["values"]["annotations"]
    assert annotations[f"{CP}business-unit"] == "HMPPS"
    assert annotations[f"{CP}source-code"] == "https://github.com/ministryofjustice/team-a"
    assert annotations[f"{CP}team-name"] == "team-a"


def test_ns_evidence_values_hold_only_checked_keys(tmp_path: Path) -> None:
    ns = namespace()
    ns["metadata"]["annotations"]["unrelated/note"] = "not ours to report"
    finding = only(run("K8S-NS-001", dump(tmp_path, ns)), "namespace:team-a")
    assert "unrelated/note" not in finding.evidence["values"]["annotations"]


def test_metadata_rule_pattern_must_match_the_whole_value() -> None:
    rule = suite("namespace_metadata").MetadataRule("source-code", pattern=r"https://github\.com/[\w.-]+/\S*")
    assert rule.problem("https://github.com/ministryofjustice/x") is None
    assert rule.problem("https://github.com/ministryofjustice/x trailing") is not None
    assert rule.problem("see https://github.com/ministryofjustice/x") is not None


# --- metadata (the self-test fixtures are test_check_catalog's) ----------------------------------------

READS = {
    "K8S-NET-001": {"v1/Namespace", "networking.k8s.io/NetworkPolicy"},
    "K8S-NS-001": {"v1/Namespace"},
    "K8S-POD-001": {"v1/Namespace", "apps/Deployment", "v1/Pod", "batch/CronJob"},
    "K8S-POD-002": {"v1/Namespace", "apps/Deployment", "v1/Pod", "batch/CronJob"},
    "K8S-INPUT-001": {"v1/Namespace"},
}


@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_metadata(check_id: str) -> None:
    meta = CHECKS[check_id]
    assert meta.kind == "cluster"
    assert len(meta.rationale) > 200 and len(meta.remediation) > 100
    assert READS[check_id] <= set(meta.reads)
    assert all(r.count("/") == 1 for r in meta.reads), meta.reads
    assert meta.input_check is check_id.startswith("K8S-INPUT-")


def test_pod2_claims_restricted_and_says_what_it_requires() -> None:
    meta = CHECKS["K8S-POD-002"]
    assert '"restricted"' in meta.title
    for needed in ("drop ALL", "seccomp", "RuntimeDefault", "K8S-POD-001", "init"):
        assert needed in meta.rationale + meta.remediation, needed
