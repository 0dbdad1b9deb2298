"""A reader the real kube-apiserver refuses one type: the checks reading it report *error* with the
server's own 403 message and the RBAC rule to add; the other checks are assessed as usual; the
refusal is asked once, not retried."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from kitemark.testservers.kube import LiveCluster

RBAC = "/apis/rbac.authorization.k8s.io/v1"


def post(cluster: LiveCluster, path: str, body: Any) -> None:
    request = urllib.request.Request(
        cluster.server + path, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, context=cluster.ssl_context(), timeout=30) as response:
            assert response.status == 201
    except urllib.error.HTTPError as refused:
        raise AssertionError(f"POST {path}: {refused.code} {refused.read()[:300]!r}") from None


def test_a_type_the_reader_may_not_list_errors_only_its_checks(
    kube_apiserver: LiveCluster, tmp_path: Path
) -> None:
    name = f"no-secrets-{uuid.uuid4().hex[:8]}"
    reader = kube_apiserver.user(name)
    rule = {"apiGroups": [""], "resources": ["namespaces", "configmaps"], "verbs": ["get", "list"]}
    post(kube_apiserver, f"{RBAC}/clusterroles", {"metadata": {"name": name}, "rules": [rule]})
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": name}],
    }
    post(kube_apiserver, f"{RBAC}/clusterrolebindings", binding)
    post(kube_apiserver, "/api/v1/namespaces", {"metadata": {"name": name}})

    out = tmp_path / "out"
    args = ["--cluster", f"live:{name}", "--kubeconfig", str(reader.kubeconfig), "--out", str(out), "-n", "0"]
    args += ["--control", "K8S-OBS-004", "--control", "K8S-RBAC-004"]
    done = subprocess.run(
        [sys.executable, "-m", "kitemark", "run", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads((out / "results.json").read_text())
    by_check: dict[str, set[str]] = {}
    for result in document["results"]:
        by_check.setdefault(result["check_id"], set()).add(result["status"])
    assert by_check["K8S-RBAC-004"] == {"error"}
    assert "error" not in by_check["K8S-OBS-004"] and by_check["K8S-OBS-004"]
    assert not document["summary"]["compliant"]

    messages = {
        f["message"] for r in document["results"] if r["check_id"] == "K8S-RBAC-004" for f in r["findings"]
    }
    [message] = messages
    assert message.startswith(
        f'GET /api/v1/secrets: cannot list v1/Secret: 403 Forbidden: secrets is forbidden: User "{name}" '
        'cannot list resource "secrets" in API group "" at the cluster scope'
    ), message
    assert message.endswith(
        '(the reader needs the RBAC rule {apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"]}: '
        "see deploy/rbac.yaml)"
    )

    deadline = time.monotonic() + 10
    refused: list[dict[str, Any]] = []
    while not refused and time.monotonic() < deadline:
        refused = [
            e
            for e in kube_apiserver.audit_events()
            if e.get("stage") == "ResponseComplete"
            and e["user"]["username"] == name
            and e["responseStatus"]["code"] == 403
        ]
        time.sleep(0.1)
    assert [(e["verb"], e["objectRef"]["resource"]) for e in refused] == [("list", "secrets")]
