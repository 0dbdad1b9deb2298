"""The real servers the tests use (scripts/test-servers.sh builds them): kube-apiserver over etcd with
RBAC and an audit log, and the opa CLI, at the versions pinned in tools/testservers/."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kitemark.testservers.kube import ADMIN, ClusterUser, LiveCluster

PINS = Path(__file__).parents[1] / "tools" / "testservers"


def pinned(go_mod: Path, module: str) -> str:
    found = re.search(rf"^\s*{re.escape(module)} (v\S+)", go_mod.read_text(), re.MULTILINE)
    assert found, f"{module} is not required in {go_mod}"
    return found.group(1)


def call(
    cluster: LiveCluster, method: str, path: str, body: Any = None, user: ClusterUser | None = None
) -> tuple[int, Any]:
    """(status, decoded JSON) of one API request as ``user`` (the admin by default)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        cluster.server + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, context=cluster.ssl_context(user), timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def audited(cluster: LiveCluster, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """The completed requests in the audit log that ``match`` (waiting briefly for the last one)."""
    deadline = time.monotonic() + 10
    while True:
        events = [
            e for e in cluster.audit_events() if e.get("stage") == "ResponseComplete" and match(e)
        ]
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_the_api_server_is_ready_and_reports_the_pinned_release(kube_apiserver: LiveCluster) -> None:
    status, version = call(kube_apiserver, "GET", "/version")
    assert status == 200
    assert version["gitVersion"] == pinned(PINS / "go.mod", "k8s.io/kubernetes")
    assert kube_apiserver.kubeconfig.is_file()


def test_the_admin_creates_a_namespace(kube_apiserver: LiveCluster) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "smoke-create"}}
    status, created = call(kube_apiserver, "POST", "/api/v1/namespaces", body)
    assert status == 201, created
    status, read = call(kube_apiserver, "GET", "/api/v1/namespaces/smoke-create")
    assert (status, read["metadata"]["uid"]) == (200, created["metadata"]["uid"])


def test_rbac_refuses_an_unprivileged_user_until_a_role_allows(kube_apiserver: LiveCluster) -> None:
    ns = "smoke-rbac"
    call(kube_apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    viewer = kube_apiserver.user("smoke-viewer")
    assert call(kube_apiserver, "GET", f"/api/v1/namespaces/{ns}/secrets", user=viewer)[0] == 403
    assert call(kube_apiserver, "GET", f"/api/v1/namespaces/{ns}/pods", user=viewer)[0] == 403

    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}
    role = {"metadata": {"name": "pods"}, "rules": [rule]}
    binding = {
        "metadata": {"name": "pods"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pods"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": viewer.name}],
    }
    assert call(kube_apiserver, "POST", f"{rbac}/roles", role)[0] == 201
    assert call(kube_apiserver, "POST", f"{rbac}/rolebindings", binding)[0] == 201

    assert call(kube_apiserver, "GET", f"/api/v1/namespaces/{ns}/pods", user=viewer)[0] == 200
    assert call(kube_apiserver, "GET", f"/api/v1/namespaces/{ns}/secrets", user=viewer)[0] == 403


def test_the_audit_log_records_each_request_verb_and_user(kube_apiserver: LiveCluster) -> None:
    ns = "smoke-audit"
    assert call(kube_apiserver, "POST", "/api/v1/namespaces", {"metadata": {"name": ns}})[0] == 201
    outsider = kube_apiserver.user("smoke-outsider", ["smoke-group"])
    assert call(kube_apiserver, "GET", f"/api/v1/namespaces/{ns}/secrets", user=outsider)[0] == 403

    created = audited(
        kube_apiserver,
        lambda e: e["verb"] == "create" and e.get("objectRef", {}).get("name") == ns,
    )
    assert [(e["user"]["username"], e["objectRef"]["resource"]) for e in created] == [(ADMIN, "namespaces")]
    assert "system:masters" in created[0]["user"]["groups"]

    listed = audited(kube_apiserver, lambda e: e["user"]["username"] == outsider.name)
    assert [(e["verb"], e["objectRef"]["resource"], e["responseStatus"]["code"]) for e in listed] == [
        ("list", "secrets", 403)
    ]
    assert "smoke-group" in listed[0]["user"]["groups"]


def test_opa_reports_the_pinned_version(opa_binary: Path) -> None:
    done = subprocess.run([opa_binary, "version"], capture_output=True, text=True, timeout=60, check=True)
    version = pinned(PINS / "opa" / "go.mod", "github.com/open-policy-agent/opa").removeprefix("v")
    assert f"Version: {version}\n" in done.stdout


def test_opa_evaluates_a_policy_on_an_input(opa_binary: Path, tmp_path: Path) -> None:
    (tmp_path / "policy.rego").write_text('package smoke\n\nallow if input.user == "admin"\n')
    verdicts = {}
    for user in ("admin", "guest"):
        (tmp_path / "input.json").write_text(json.dumps({"user": user}))
        args = ["eval", "--format=json", "--data", "policy.rego", "--input", "input.json", "data.smoke.allow"]
        done = subprocess.run(
            [opa_binary, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
        )
        result = json.loads(done.stdout).get("result")  # absent when the query is undefined
        verdicts[user] = result[0]["expressions"][0]["value"] if result else "undefined"
    assert verdicts == {"admin": True, "guest": "undefined"}
