"""The bundled demo snapshot (fixtures/demo/cluster) gives the statuses its README promises."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml

from kitemark.core import resources
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Status
from kitemark.targets.cluster import collect as cluster
from kitemark.testing import run_on_inventory

DEMO = resources.demo_dir() / "cluster"
P, F, NA = Status.PASSED, Status.FAILED, Status.NOT_APPLICABLE

# namespace → (K8S-NET-001, K8S-NS-001, K8S-POD-001, K8S-POD-002)
EXPECTED = {
    "central-digital-blog": (P, P, F, P),  # wordpress does not set runAsNonRoot (but is seccomp-confined)
    "cica-claims-prod": (P, P, F, F),  # privileged clamav sidecar, which may also escalate privileges
    "hmcts-jury-summons-dev": (P, F, P, P),  # business unit not allowed, team-name missing
    "hmpps-book-visit-dev": (P, P, P, P),
    "hmpps-manage-a-workforce-preprod": (P, P, NA, NA),  # new namespace: nothing deployed yet
    "laa-apply-production": (P, P, P, P),
    "opg-lpa-staging": (F, P, P, F),  # no default-deny NetworkPolicy; front adds NET_RAW
}


@pytest.fixture(scope="module")
def inventory() -> dict:
    return json.loads(json.dumps(cluster.collect(TargetSpec("cluster", "demo", str(DEMO)))))


def statuses(inventory: dict, check_id: str) -> dict[str, list[tuple[Status, str]]]:
    found = run_on_inventory(check_id, inventory)
    return {unit: [(f.status, f.resource) for f in findings] for unit, findings in found.items()}


def test_demo_reads_cleanly_and_stays_small(inventory: dict) -> None:
    assert inventory["errors"] == [] and inventory["duplicates"] == [] and inventory["skipped"] == []
    assert inventory["defaulted"] == []
    assert len(inventory["objects"]) <= 100
    suffixes = {Path(f).suffix for f in inventory["files"]}
    assert suffixes == {".yaml", ".json"}
    assert statuses(inventory, "K8S-INPUT-001") == {"cluster:demo/input": [(Status.PASSED, "snapshot")]}


@pytest.mark.parametrize(
    ("check_id", "column"),
    [("K8S-NET-001", 0), ("K8S-NS-001", 1), ("K8S-POD-001", 2), ("K8S-POD-002", 3)],
)
def test_demo_statuses_per_namespace(inventory: dict, check_id: str, column: int) -> None:
    got = statuses(inventory, check_id)
    assert sorted(got) == [f"cluster:demo/namespace:{ns}" for ns in sorted(EXPECTED)]
    for ns, expected in EXPECTED.items():
        findings = got[f"cluster:demo/namespace:{ns}"]
        assert [s for s, _ in findings] == [expected[column]], (check_id, ns, findings)


@pytest.mark.parametrize("check_id", ["K8S-POD-001", "K8S-POD-002"])
def test_demo_pod_findings_name_deployments_not_pods(inventory: dict, check_id: str) -> None:
    got = statuses(inventory, check_id)
    resources_seen = [r for findings in got.values() for status, r in findings if status is not NA]
    # hmpps-book-visit-dev holds its ReplicaSet and Pod too; only the Deployment is reported.
    assert "Deployment/hmpps-book-visit-dev/book-a-prison-visit" in resources_seen
    assert all(r.startswith("Deployment/") for r in resources_seen)
    # kube-system's privileged DaemonSets are platform components, not team workloads.
    assert not any("kube-system" in r for r in resources_seen)


def test_demo_secret_values_are_redacted(inventory: dict) -> None:
    secret_values: list[str] = []
    for path in DEMO.rglob("*"):
        if path.suffix not in {".yaml", ".json"}:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            items = doc.get("items", [doc]) if isinstance(doc, dict) else []
            for item in items:
                if item.get("kind", doc.get("kind")) in ("Secret", "SecretList"):
                    for encoded in (item.get("data") or {}).values():
                        secret_values += [encoded, base64.b64decode(encoded).decode()]
    assert len(secret_values) >= 12  # every team namespace holds a Secret with data
    text = json.dumps(inventory)
    for value in secret_values:
        assert value not in text


def test_demo_failures_are_the_documented_ones(inventory: dict) -> None:
    """The demo's deliberate K8S-POD-002 failures, and no others: every compliant workload sets the
    fields "restricted" requires (drop ALL, seccomp RuntimeDefault, no privilege escalation)."""
    found = run_on_inventory("K8S-POD-002", inventory)
    messages = {f.resource: f.message for findings in found.values() for f in findings if f.status is F}
    assert messages == {
        "Deployment/opg-lpa-staging/front": (
            "restricted/capabilities: container 'front' adds capabilities NET_RAW"
        ),
        "Deployment/cica-claims-prod/claims-portal": (
            "restricted/privilege-escalation: container 'clamav' does not set "
            "allowPrivilegeEscalation: false (not set); restricted/capabilities: "
            "container 'clamav' does not drop ALL capabilities (drops none)"
        ),
    }


def test_demo_service_accounts_are_judged_not_errors(inventory: dict) -> None:
    """Every team workload's ServiceAccount is in the snapshot, so K8S-RBAC-005 judges each (it was
    an *error*, "not in the input", for all six before the demo held them)."""
    got = statuses(inventory, "K8S-RBAC-005")
    failing = {"cica-claims-prod", "opg-lpa-staging"}  # their accounts leave the token on
    assert {unit.rpartition(":")[2]: [s for s, _ in found] for unit, found in got.items()} == {
        ns: [NA] if ns == "hmpps-manage-a-workforce-preprod" else [F if ns in failing else P]
        for ns in EXPECTED
    }
    namespaces = {o["metadata"]["name"] for o in inventory["objects"] if o["kind"] == "Namespace"}
    accounts = [o["metadata"] for o in inventory["objects"] if o["kind"] == "ServiceAccount"]
    defaults = {meta["namespace"] for meta in accounts if meta["name"] == "default"}
    assert defaults == namespaces  # a `default` ServiceAccount in each, as Kubernetes makes
