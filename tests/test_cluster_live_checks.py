"""Every cluster check read live from a real kube-apiserver gives the result it gives on its snapshot
fixture, both ways: each check's compliant and non-compliant fixture is loaded into the API server
(``kitemark.testservers.manifests``: CRDs first, status through its subresource …), read by the live
collector as a get/list-only user with only that check's ``reads``, evaluated, and removed again.

Asserted per fixture: what ``expected.yaml`` says (exactly the failures, with their messages; every
pass), and every resource's status as on the snapshot. Passes the live read adds are allowed only
for the objects the server makes itself (``BOOTSTRAP_PASSES``, named one by one). What a real API
server cannot hold as a file can, and what a live read cannot give, is in ``DIFFERENCES``, each with
its reason; anything else that differs fails.

Namespaces keep their fixture names (checks look for `kube-system`, `gatekeeper-system`, a team's
namespace labels): rather than renamed, every object is deleted after its fixture, and each test
proves the cluster held nothing but the server's own objects (``baseline``) and the fixture's. The
server is the module's own (``empty_kube_apiserver``): it holds only what the server makes itself, and
this module refuses to start otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from kitemark.core.catalog import Catalogue
from kitemark.core.kinds import Inventory, TargetSpec, get_kind
from kitemark.core.model import Finding, Status
from kitemark.targets.cluster.live.collect import collect_live
from kitemark.targets.cluster.live.discovery import builtin, parse_read
from kitemark.testing import fixture_path, run_on_fixture, run_on_inventory
from kitemark.testservers.kube import LiveCluster
from kitemark.testservers.manifests import Admin, group_of, load, read_manifests, unload

CHECKS = {c.id: c for c in Catalogue.load().checks.values() if c.kind == "cluster"}
# What every check reads, of the kinds Kubernetes itself serves: with no fixture loaded, no CRD is.
ALL_READS = sorted({r for c in CHECKS.values() for r in c.reads if builtin(parse_read(r)[0])})
VARIANTS = ("compliant", "noncompliant")
READER = "kitemark-reader"  # the collector's user: get and list on everything, nothing else
RBAC = "/apis/rbac.authorization.k8s.io/v1"
Ref = tuple[str, str, str, str]  # (API group, kind, namespace, name)


@dataclass(frozen=True)
class Difference:
    """How a live read of one fixture differs from its snapshot, and why."""

    why: str
    refused: Mapping[str, str] = field(default_factory=dict)  # fixture document → the API's reason
    not_failed: frozenset[str] = frozenset()  # failures of the snapshot a live read cannot give
    messages: Mapping[str, str] = field(default_factory=dict)  # resource → the live message's text
    passed: frozenset[str] = frozenset()  # passes of the live read only
    renamed: Mapping[str, str] = field(default_factory=dict)  # snapshot resource → the live one's


# K8S-INPUT-001 passes the input it read: a snapshot's files ("snapshot"), or a cluster's API ("cluster").
INPUT_RESOURCE = {"snapshot": "cluster"}

DIFFERENCES: dict[tuple[str, str], Difference] = {
    ("K8S-INPUT-001", "compliant"): Difference(
        "app-config.yaml is an application's settings, not an object: the snapshot lists it as "
        "skipped; there is nothing to create",
        refused={"file:app-config.yaml": "not a Kubernetes object"},
        renamed=INPUT_RESOURCE,
    ),
    ("K8S-INPUT-001", "noncompliant"): Difference(
        "its failures are of files (one is not YAML, one holds a second, differing copy of a "
        "Namespace): an API server holds neither, so the live read is complete and passes; a live "
        "read's own input errors (a type it cannot list) are tested with the collector",
        refused={
            "file:04-networkpolicy.yaml": "not YAML",
            "Namespace/team-a-dev": "a second, differing copy",
        },
        not_failed=frozenset({"file:04-networkpolicy.yaml", "file:05-namespace-copy.yaml"}),
        passed=frozenset({"snapshot"}),
        renamed=INPUT_RESOURCE,
    ),
    ("K8S-PROD-001", "noncompliant"): Difference(
        "the API server defaults spec.replicas to 1, so the live object cannot show it was unset",
        messages={
            "Deployment/team-a-prod/web": "runs 1 replica(s) (spec.replicas); production needs at least 2"
        },
    ),
    ("K8S-PROD-003", "noncompliant"): Difference(
        "the API server writes the default strategy (RollingUpdate, maxUnavailable 25%) into the object",
        messages={"Deployment/team-a-prod/web": "rolls out with maxUnavailable 25%; production needs 0"},
    ),
}

# Passed findings on objects the API server makes itself (RBAC bootstrap), and on the reader's own
# binding made below: checks that read the whole cluster judge them too. Named one by one, so a new
# server object is noticed.
SERVER_BINDINGS = (
    "cluster-admin",
    "system:basic-user",
    "system:discovery",
    "system:kube-controller-manager",
    "system:kube-dns",
    "system:kube-scheduler",
    "system:monitoring",
    "system:node",
    "system:node-proxier",
    "system:public-info-viewer",
    "system:service-account-issuer-discovery",
    "system:volume-scheduler",
    *(
        f"system:controller:{name}"
        for name in (
            "attachdetach-controller",
            "certificate-controller",
            "clusterrole-aggregation-controller",
            "cronjob-controller",
            "daemon-set-controller",
            "deployment-controller",
            "disruption-controller",
            "endpoint-controller",
            "endpointslice-controller",
            "endpointslicemirroring-controller",
            "ephemeral-volume-controller",
            "expand-controller",
            "generic-garbage-collector",
            "horizontal-pod-autoscaler",
            "job-controller",
            "legacy-service-account-token-cleaner",
            "namespace-controller",
            "node-controller",
            "persistent-volume-binder",
            "pod-garbage-collector",
            "pv-protection-controller",
            "pvc-protection-controller",
            "replicaset-controller",
            "replication-controller",
            "resource-claim-controller",
            "resourcequota-controller",
            "root-ca-cert-publisher",
            "route-controller",
            "selinux-warning-controller",
            "service-account-controller",
            "service-cidrs-controller",
            "service-controller",
            "statefulset-controller",
            "ttl-after-finished-controller",
            "ttl-controller",
            "validatingadmissionpolicy-status-controller",
            "volumeattributesclass-protection-controller",
        )
    ),
)
SERVER_ROLE_BINDINGS = (
    "kube-public/system:controller:bootstrap-signer",
    "kube-system/system::extension-apiserver-authentication-reader",
    "kube-system/system::leader-locking-kube-controller-manager",
    "kube-system/system::leader-locking-kube-scheduler",
    "kube-system/system:controller:bootstrap-signer",
    "kube-system/system:controller:cloud-provider",
    "kube-system/system:controller:token-cleaner",
)
BOOTSTRAP_PASSES = frozenset(
    [f"ClusterRoleBinding/{name}" for name in (*SERVER_BINDINGS, READER)]
    + [f"RoleBinding/{name}" for name in SERVER_ROLE_BINDINGS]
)


@dataclass(frozen=True)
class Live:
    cluster: LiveCluster
    admin: Admin
    spec: TargetSpec  # the reader's live target
    baseline: frozenset[Ref]  # what the cluster holds with no fixture loaded


def refs(inventory: Inventory) -> set[Ref]:
    found = set()
    for obj in inventory["objects"]:
        meta = obj.get("metadata") or {}
        found.add((group_of(obj["apiVersion"]), obj["kind"], meta.get("namespace") or "", meta["name"]))
    return found


def read(live: Live, reads: list[str] | tuple[str, ...]) -> Inventory:
    inventory = collect_live(live.spec, reads, log=lambda line: None)
    assert not inventory["errors"], inventory["errors"]
    return inventory


@pytest.fixture(scope="module")
def live(empty_kube_apiserver: LiveCluster) -> Iterator[Live]:
    kube_apiserver = empty_kube_apiserver
    admin = Admin(kube_apiserver)
    reader = kube_apiserver.user(READER)
    rule = {"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}
    role = {"metadata": {"name": READER}, "rules": [rule]}
    binding = {
        "metadata": {"name": READER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": READER},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": READER}],
    }
    for path, body in ((f"{RBAC}/clusterroles", role), (f"{RBAC}/clusterrolebindings", binding)):
        status, answer = admin.call("POST", path, body)
        assert status in (201, 409), answer
    spec = get_kind("cluster").specs({"cluster": [f"live:{READER}"], "kubeconfig": str(reader.kubeconfig)})[0]
    partial = Live(kube_apiserver, admin, spec, frozenset())
    namespaces = {name for _, kind, _, name in refs(read(partial, ["v1/Namespace"])) if kind == "Namespace"}
    assert namespaces == {"default", "kube-system", "kube-public", "kube-node-lease"}, (
        "the API server holds namespaces another test left: the checks would judge them"
    )
    yield Live(kube_apiserver, admin, spec, frozenset(refs(read(partial, ALL_READS))))
    admin.close()


def _cases() -> list[Any]:
    return [pytest.param(c, v, id=f"{c}-{v}") for c in sorted(CHECKS) for v in VARIANTS]


@pytest.mark.parametrize(("check_id", "variant"), _cases())
def test_live_read_gives_the_snapshot_result(live: Live, check_id: str, variant: str) -> None:
    check = CHECKS[check_id]
    difference = DIFFERENCES.get((check_id, variant), Difference(""))
    loaded = load(live.admin, fixture_path(check_id, variant), check.reads)
    try:
        inventory = collect_live(live.spec, check.reads, log=lambda line: None)
    finally:
        unload(live.admin, loaded)

    assert not inventory["errors"], inventory["errors"]
    refused = {r.ref: r.reason for r in loaded.refused}
    assert set(refused) == set(difference.refused), refused
    assert all(difference.refused[ref] in reason for ref, reason in refused.items()), refused
    found = refs(inventory)
    assert not found - live.baseline - loaded.refs(), "objects left by another fixture"
    listed = {(group_of(r["api_version"]), r["kind"]) for r in inventory["api"]["resources"]}
    assert {r for r in loaded.refs() if r[:2] in listed} <= found, "a loaded object was not read"

    back = {live_name: name for name, live_name in difference.renamed.items()}
    findings = [
        dataclasses.replace(f, resource=back.get(f.resource, f.resource))
        for unit in run_on_inventory(check_id, inventory).values()
        for f in unit
    ]
    expected = yaml.safe_load(fixture_path(check_id, "expected.yaml").read_text())[variant]
    if variant == "compliant":
        _assert_compliant(findings, {e["resource"] for e in expected}, difference)
    else:
        outcome = Status.ERROR if check.input_check else Status.FAILED
        _assert_noncompliant(findings, expected, difference, outcome)
    _assert_as_on_the_snapshot(findings, run_on_fixture(check_id, variant), difference)


def _assert_compliant(findings: list[Finding], expected: set[str], difference: Difference) -> None:
    assert not [f for f in findings if f.status in (Status.FAILED, Status.ERROR)], findings
    passed = {f.resource for f in findings if f.status is Status.PASSED}
    assert expected <= passed, findings
    assert passed - expected - difference.passed <= BOOTSTRAP_PASSES, passed - expected


def _assert_noncompliant(
    findings: list[Finding], expected: list[dict[str, str]], difference: Difference, outcome: Status
) -> None:
    bad = {f.resource: f for f in findings if f.status in (Status.FAILED, Status.ERROR)}
    wanted = {e["resource"]: e["message"] for e in expected if e["resource"] not in difference.not_failed}
    assert set(bad) == set(wanted), findings
    for resource, message in wanted.items():
        assert bad[resource].status is outcome, bad[resource]
        assert difference.messages.get(resource, message) in bad[resource].message, bad[resource]
    passed = {f.resource for f in findings if f.status is Status.PASSED}
    assert difference.passed <= passed, findings


def _assert_as_on_the_snapshot(
    findings: list[Finding], snapshot: list[Finding], difference: Difference
) -> None:
    """Every resource has the status it has on the snapshot (not only those expected.yaml names: the
    not applicable ones, and the passes of a non-compliant fixture), but for the differences."""
    live = {(f.resource, f.status) for f in findings}
    snap = {(f.resource, f.status) for f in snapshot}
    assert {r for r, _ in snap - live} == set(difference.not_failed), snap - live
    only_live = {(r, Status.PASSED) for r in BOOTSTRAP_PASSES | difference.passed}
    assert live - snap <= only_live, live - snap


def test_every_fixture_was_removed(live: Live) -> None:
    """After every fixture, the cluster holds what it held before the first (run after them)."""
    assert refs(read(live, ALL_READS)) == live.baseline


def test_the_collector_only_gets_and_lists(live: Live) -> None:
    """The audit log: every request the reader made (all the fixtures' reads, and one more of
    everything) was a get or a list, and none was refused (401/403)."""
    read(live, ALL_READS)
    events = [
        e
        for e in live.cluster.audit_events()
        if e.get("stage") == "ResponseComplete" and e["user"]["username"] == READER
    ]
    assert events
    assert {e["verb"] for e in events} <= {"get", "list"}, {e["verb"] for e in events}
    # Refused nothing (a 429 or 5xx the collector retried would be no fault of its rights).
    assert not [e for e in events if e["responseStatus"]["code"] in (401, 403)]
    listed = {e["objectRef"]["resource"] for e in events if e["verb"] == "list"}
    assert {"namespaces", "deployments", "clusterrolebindings", "secrets"} <= listed


def test_a_fixture_document_no_server_could_hold_is_refused_with_its_reason(tmp_path: Path) -> None:
    """The loader's reading (no server): a file that is not YAML is refused whole, a document that
    is no object is refused, ``List`` kinds are flattened, and every object is kept as written."""
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}\n"
        "---\nserver: {port: 8080}\n"
    )
    (tmp_path / "b.yaml").write_text("kind: [Namespace\n")
    (tmp_path / "c.json").write_text('{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}')
    objects, refused = read_manifests(tmp_path)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [("ConfigMap", "a"), ("Namespace", "n")]
    assert [r.ref for r in refused] == ["file:a.yaml", "file:b.yaml"]
    assert "not a Kubernetes object" in refused[0].reason
    assert refused[1].reason.startswith("not YAML")
