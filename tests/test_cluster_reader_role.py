"""`kitemark rbac`: the read-only RBAC of a live cluster run, generated from the checks' `reads`, and
the committed deploy/rbac.yaml kept equal to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from kitemark.cli import main
from kitemark.core.catalog import Catalogue
from kitemark.core.errors import UsageError
from kitemark.core.model import Check, Severity
from kitemark.targets.cluster.reader_role import cluster_reads, generate, manifest
from kitemark.targets.cluster.resource_names import resource_for, rules_for

DEPLOY = Path(__file__).parents[1] / "deploy" / "rbac.yaml"
REGENERATE = "kitemark rbac -o deploy/rbac.yaml"


def documents(text: str) -> dict[str, dict[str, Any]]:
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text)}


def granted(text: str) -> set[tuple[str, str]]:
    return {
        (group, resource)
        for rule in documents(text)["ClusterRole"]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def test_every_read_of_every_catalogued_cluster_check_has_an_api_resource() -> None:
    checks = Catalogue.load().checks
    reads = [(cid, r) for cid, c in checks.items() if c.kind == "cluster" for r in c.reads]
    assert len(reads) > 100
    for cid, read in reads:
        group, resource = resource_for(read)  # raises, naming the table, for a kind missing from it
        assert resource == "*" or (resource.islower() and resource.isalpha()), (cid, read, resource)
        assert group == "" if read.startswith("v1/") else group == read.split("/")[0]


@pytest.mark.parametrize(
    ("read", "expected"),
    [
        ("v1/Namespace", ("", "namespaces")),
        ("v1/Secret", ("", "secrets")),
        ("networking.k8s.io/Ingress", ("networking.k8s.io", "ingresses")),
        ("networking.k8s.io/NetworkPolicy", ("networking.k8s.io", "networkpolicies")),
        ("networking.k8s.io/IngressClass", ("networking.k8s.io", "ingressclasses")),
        ("policy/PodDisruptionBudget", ("policy", "poddisruptionbudgets")),
        ("autoscaling/HorizontalPodAutoscaler", ("autoscaling", "horizontalpodautoscalers")),
        (
            "apiextensions.k8s.io/CustomResourceDefinition",
            ("apiextensions.k8s.io", "customresourcedefinitions"),
        ),
        ("mutations.gatekeeper.sh/AssignMetadata", ("mutations.gatekeeper.sh", "assignmetadata")),
        ("monitoring.coreos.com/Prometheus", ("monitoring.coreos.com", "prometheuses")),
        ("constraints.gatekeeper.sh/*", ("constraints.gatekeeper.sh", "*")),
        ("example.com/*", ("example.com", "*")),
    ],
)
def test_a_read_names_its_group_and_plural(read: str, expected: tuple[str, str]) -> None:
    assert resource_for(read) == expected


@pytest.mark.parametrize(
    ("read", "message"),
    [
        ("apps/Rollout", "no API resource is known for kind Rollout of group apps; add it to RESOURCES in "
         "src/kitemark/targets/cluster/resource_names.py"),
        ("example.com/Widget?", "add it to RESOURCES"),
        ("Deployment", "not of the form group/Kind"),
        ("apps/v1/Deployment", "not of the form group/Kind"),
        ("*/*", "not of the form group/Kind"),
        ("/Pod", "not of the form group/Kind"),
        ("v1/*", "pods/exec"),
    ],
)
def test_a_read_without_a_known_resource_is_refused_saying_what_to_do(read: str, message: str) -> None:
    with pytest.raises(UsageError, match=r"^read '") as caught:
        resource_for(read)
    assert message in str(caught.value)


def test_rules_are_one_per_group_sorted_and_grant_only_get_and_list() -> None:
    rules = rules_for(
        ["apps/Deployment", "v1/Pod", "apps/DaemonSet", "v1/Namespace", "apps/Deployment", "batch/Job"]
    )
    assert rules == [
        {"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list"]},
    ]


def test_a_group_wildcard_grants_every_resource_of_that_group_only() -> None:
    rules = rules_for(["constraints.gatekeeper.sh/*", "mutations.gatekeeper.sh/Assign"])
    assert rules == [
        {"apiGroups": ["constraints.gatekeeper.sh"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": ["mutations.gatekeeper.sh"], "resources": ["assign"], "verbs": ["get", "list"]},
    ]
    assert rules_for(["apps/Deployment", "apps/*"])[0]["resources"] == ["*"]
    with pytest.raises(UsageError, match=r"Widget of group example\.com"):
        rules_for(["example.com/Widget"])


def _check(cid: str, reads: tuple[str, ...], kind: str = "cluster") -> Check:
    return Check(cid, kind, f"{kind}.namespace", "t", Severity.HIGH, "r", "m", reads=reads)


def test_cluster_reads_names_the_check_whose_read_is_unknown() -> None:
    checks = {"X-1": _check("X-1", ("v1/Namespace",)), "X-2": _check("X-2", ("example.com/Widget",))}
    with pytest.raises(UsageError, match=r"^X-2: read 'example.com/Widget': no API resource"):
        cluster_reads(checks, checks)


def test_a_cluster_check_declaring_no_reads_cannot_be_given_a_role() -> None:
    # A live collector fetches everything for it: no least-privilege role can say so.
    checks = {"X-1": _check("X-1", ())}
    with pytest.raises(UsageError, match="X-1 declares no reads"):
        cluster_reads(checks, checks)


def test_cluster_reads_keeps_only_cluster_checks_and_says_who_reads_what() -> None:
    checks = {
        "A-1": _check("A-1", ("eks:ListClusters",), kind="aws"),
        "X-1": _check("X-1", ("v1/Namespace", "v1/Secret")),
        "X-2": _check("X-2", ("v1/Namespace",)),
    }
    assert cluster_reads(checks, checks) == {"v1/Namespace": ["X-1", "X-2"], "v1/Secret": ["X-1"]}


def test_the_manifest_says_it_is_generated_and_why_it_reads_secrets() -> None:
    text = manifest({"v1/Namespace": ["X-2"], "v1/Secret": ["X-1"]})
    header = text.split("---")[0]
    assert "Generated by `kitemark rbac`" in header and "do not edit" in header
    assert "Read-only" in header and "It can read Secrets, for X-1" in header and "marker" in header
    assert all(line.startswith("#") and len(line) <= 100 for line in header.splitlines())
    assert "Secrets" not in manifest({"v1/Namespace": ["X-2"]})


def test_the_manifest_binds_the_kitemark_service_account_to_the_reader_role() -> None:
    found = documents(manifest({"v1/Namespace": ["X-1"]}))
    assert set(found) == {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}
    assert found["Namespace"]["metadata"] == {"name": "kitemark"}  # one `kubectl apply -f` sets it all up
    assert found["ServiceAccount"]["metadata"] == {"name": "kitemark", "namespace": "kitemark"}
    assert found["ClusterRole"]["metadata"]["name"] == "kitemark-reader"
    binding = found["ClusterRoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "kitemark-reader"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kitemark", "namespace": "kitemark"}]


def test_deploy_rbac_yaml_is_what_kitemark_rbac_generates() -> None:
    assert DEPLOY.read_text(encoding="utf-8") == generate(), (
        f"deploy/rbac.yaml differs from the checks' reads: regenerate it with `{REGENERATE}`"
    )


def test_deploy_rbac_yaml_is_read_only() -> None:
    role = documents(DEPLOY.read_text(encoding="utf-8"))["ClusterRole"]
    assert role["rules"]
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}, rule  # no nonResourceURLs, resourceNames
        assert rule["verbs"] == ["get", "list"], rule
        assert "*" not in rule["apiGroups"], rule
        assert all("/" not in r for r in rule["resources"]), rule  # no sub-resource (pods/exec …)
        assert "*" not in rule["resources"] or "" not in rule["apiGroups"], rule
    secrets = [r for r in role["rules"] if "" in r["apiGroups"] and "secrets" in r["resources"]]
    assert len(secrets) == 1 and secrets[0]["verbs"] == ["get", "list"]  # K8S-RBAC-004 reads v1/Secret


def test_deploy_rbac_yaml_grants_what_every_cluster_check_reads() -> None:
    checks = Catalogue.load().checks
    needed = {resource_for(r) for c in checks.values() if c.kind == "cluster" for r in c.reads}
    assert granted(DEPLOY.read_text(encoding="utf-8")) == needed


def test_kitemark_rbac_for_a_selection_grants_only_its_reads(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rbac", "--control", "K8S-NET-001"]) == 0
    out = capsys.readouterr().out
    assert "--control K8S-NET-001" in out.split("---")[0]
    checks = Catalogue.load().checks
    # K8S-INPUT-001 runs in every selection (it reports what the input lacked).
    wanted = {resource_for(r) for cid in ("K8S-NET-001", "K8S-INPUT-001") for r in checks[cid].reads}
    assert granted(out) == wanted
    assert ("", "secrets") not in granted(out) and "Secrets" not in out


def test_kitemark_rbac_writes_the_file_given_with_o(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "rbac.yaml"
    assert main(["rbac", "-o", str(target)]) == 0
    assert capsys.readouterr().out == ""
    assert target.read_text(encoding="utf-8") == DEPLOY.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "/nonexistent-kitemark/rbac.yaml"], "-o /nonexistent-kitemark/rbac.yaml: No such file"),
        (["--control", "AWS-EKS-001"], "the selection keeps no check of the given targets (cluster)"),
        (["--control", "K8S-NOPE-001"], "--control K8S-NOPE-001: not a check id"),
        (["--severity", "urgent"], "--severity urgent: expected one of"),
        (["--severity", "high", "--severity", "low"], "--severity is given 2 times"),
    ],
)
def test_kitemark_rbac_usage_errors_are_one_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rbac", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("kitemark: error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_the_kitemark_rbac_command_prints_deploy_rbac_yaml() -> None:
    command = [sys.executable, "-m", "kitemark", "rbac"]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=DEPLOY.parent)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout == DEPLOY.read_text(encoding="utf-8"), f"regenerate it with `{REGENERATE}`"
