"""How a live run authenticates (against the real kube-apiserver): the pod's own service account with
exactly the role `deploy/rbac.yaml` grants (no type is refused), an `exec` credential plugin as EKS
uses, and two clusters in one run reported apart."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from kitemark.core.kinds import TargetSpec
from kitemark.targets.cluster.kind import KIND
from kitemark.targets.cluster.live import connect
from kitemark.targets.cluster.live.collect import collect_live
from kitemark.testservers.kube import LiveCluster
from tests.test_cluster_live_snapshot import kitemark
from tests.test_servers import call

RBAC = Path(__file__).parents[1] / "deploy" / "rbac.yaml"


def apply(cluster: LiveCluster, obj: dict[str, Any]) -> None:
    """Create ``obj`` as the admin (an existing one is left as it is)."""
    group, _, version = obj["apiVersion"].rpartition("/")
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    plural = {"Namespace": "namespaces", "ServiceAccount": "serviceaccounts", "ClusterRole": "clusterroles"}
    plural["ClusterRoleBinding"] = "clusterrolebindings"
    ns = obj["metadata"].get("namespace")
    path = f"{base}/namespaces/{ns}/{plural[obj['kind']]}" if ns else f"{base}/{plural[obj['kind']]}"
    status, body = call(cluster, "POST", path, obj)
    assert status in (201, 409), body


def service_account_token(cluster: LiveCluster, namespace: str, name: str) -> str:
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": 3600},
    }
    status, body = call(
        cluster, "POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token", request
    )
    assert status == 201, body
    return str(body["status"]["token"])


def test_in_a_pod_the_service_account_with_exactly_deploy_rbac_lists_every_type(
    kube_apiserver: LiveCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for obj in yaml.safe_load_all(RBAC.read_text()):
        if obj:
            apply(kube_apiserver, obj)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(service_account_token(kube_apiserver, "kitemark", "kitemark"))
    (account / "ca.crt").write_bytes(kube_apiserver.ca.cert_path.read_bytes())
    host, port = kube_apiserver.server.removeprefix("https://").rsplit(":", 1)
    monkeypatch.setattr(connect, "SERVICE_ACCOUNT", account)
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", host)
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config: in a pod

    spec = KIND.specs({"cluster": ["live:"]})[0]
    assert spec.options["resolved"] == connect.IN_CLUSTER
    inventory = collect_live(spec, KIND.all_reads())
    refused = [e for e in inventory["errors"] if "403" in e["message"]]
    assert refused == []
    # Every type served here was listed; what is not served is a CRD this server lacks, not a refusal.
    assert all("is not installed" in e["message"] for e in inventory["errors"]), inventory["errors"]
    assert any(r["read"] == "v1/Secret" for r in inventory["api"]["resources"])
    assert any(
        o["kind"] == "ServiceAccount" and o["metadata"]["name"] == "kitemark" for o in inventory["objects"]
    )


def test_without_the_role_the_same_account_gets_403_naming_the_missing_rule(
    kube_apiserver: LiveCluster, tmp_path: Path
) -> None:
    apply(kube_apiserver, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kitemark-norole"}})
    account = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "reader", "namespace": "kitemark-norole"},
    }
    apply(kube_apiserver, account)
    kubeconfig = _token_kubeconfig(
        kube_apiserver,
        tmp_path,
        {"token": service_account_token(kube_apiserver, "kitemark-norole", "reader")},
    )
    spec = KIND.specs({"cluster": ["live:t"], "kubeconfig": str(kubeconfig)})[0]
    inventory = collect_live(spec, frozenset({"v1/Namespace", "apps/Deployment"}))
    messages = {tuple(e["types"]): e["message"] for e in inventory["errors"]}
    assert set(messages) == {("v1/Namespace",), ("apps/Deployment",)}
    assert "403 Forbidden" in messages[("apps/Deployment",)]
    assert (
        'apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"]'
        in messages[("apps/Deployment",)]
    )


def _token_kubeconfig(cluster: LiveCluster, folder: Path, user: dict[str, Any]) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": cluster.server, "certificate-authority": str(cluster.ca.cert_path)},
            }
        ],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "t", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "t",
    }
    path = folder / "kubeconfig.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_an_exec_credential_plugin_supplies_the_token_as_for_eks(
    kube_apiserver: LiveCluster, tmp_path: Path
) -> None:
    apply(kube_apiserver, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kitemark"}})
    for obj in yaml.safe_load_all(RBAC.read_text()):
        if obj:
            apply(kube_apiserver, obj)
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": service_account_token(kube_apiserver, "kitemark", "kitemark")},
    }
    plugin = tmp_path / "get-token"
    plugin.write_text(f"#!/bin/sh\ncat <<'EOF'\n{json.dumps(credential)}\nEOF\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IXUSR)
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(plugin),
            "interactiveMode": "Never",
        }
    }
    kubeconfig = _token_kubeconfig(kube_apiserver, tmp_path, user)
    spec = KIND.specs({"cluster": ["live:t"], "kubeconfig": str(kubeconfig)})[0]
    inventory = collect_live(spec, frozenset({"v1/Namespace", "v1/ServiceAccount"}))
    assert inventory["errors"] == []
    assert "kitemark" in {o["metadata"]["name"] for o in inventory["objects"] if o["kind"] == "Namespace"}


def test_two_live_clusters_in_one_run_are_reported_apart(kube_apiserver: LiveCluster, tmp_path: Path) -> None:
    context = kube_apiserver.admin.name
    done = kitemark(
        "run", "--cluster", f"live=live:{context}", "--cluster", f"manager=live:{context}",
        "--kubeconfig", kube_apiserver.kubeconfig, "--control", "K8S-NS-001", "--out", tmp_path, "-n", "0",
    )  # fmt: skip
    document = json.loads((tmp_path / "results.json").read_text())
    assert {t["label"] for t in document["targets"]} == {"cluster:live", "cluster:manager"}, done.stderr
    by_target: dict[str, set[str]] = {}
    for result in document["results"]:
        by_target.setdefault(result["target"], set()).add(result["unit"].split("/", 1)[1])
    assert by_target["cluster:live"] == by_target["cluster:manager"] and by_target["cluster:live"]


def test_a_live_target_named_by_an_eks_arn_context_gets_the_cluster_name(tmp_path: Path) -> None:
    arn = "arn:aws:eks:eu-west-2:123456789012:cluster/live"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": arn, "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": arn, "user": {"token": "x"}}],
        "contexts": [{"name": arn, "context": {"cluster": arn, "user": arn}}],
        "current-context": arn,
    }
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    spec = KIND.specs({"cluster": [f"live:{arn}"], "kubeconfig": str(tmp_path / "config")})[0]
    assert (spec.name, spec.location) == ("live", f"live:{arn}")
    assert isinstance(spec, TargetSpec) and os.pathsep not in spec.options["kubeconfig"]
