"""No secret read from a live cluster reaches any output: canary values planted in a real
kube-apiserver where secrets live (a Secret's data and stringData, a service-account token Secret,
kubectl's last-applied-configuration of a Secret, credential-named env values, annotations and
ConfigMap keys) are looked for, raw and base64-encoded, in every file a run writes and in what it
prints. The run also sends the server nothing but GETs (its audit log says so)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from kitemark.testservers.kube import ADMIN, LiveCluster


def call(cluster: LiveCluster, method: str, path: str, body: Any) -> tuple[int, Any]:
    """(status, decoded JSON) of one request as the admin (as tests/test_servers.py does)."""
    request = urllib.request.Request(
        cluster.server + path, json.dumps(body).encode(), {"Content-Type": "application/json"}, method=method
    )
    try:
        with urllib.request.urlopen(request, context=cluster.ssl_context(), timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def plant(cluster: LiveCluster, namespace: str, canaries: dict[str, str]) -> None:
    """The objects holding each canary, in a new namespace (created as the admin)."""
    c = canaries
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": namespace},
        "data": {"password": b64(c["data"])},
        "stringData": {"api-key": c["string_data"]},
    }
    applied = dict(secret, metadata={"name": "applied", "namespace": namespace})
    applied["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
            {**secret, "metadata": applied["metadata"] | {}, "stringData": {"token": c["last_applied"]}}
        )
    }
    token = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/service-account-token",
        "metadata": {
            "name": "ci-token",
            "namespace": namespace,
            "annotations": {"kubernetes.io/service-account.name": "ci"},
        },
        "data": {"token": b64(c["sa_token"]), "ca.crt": b64(c["sa_ca"])},
    }
    container = {
        "name": "app",
        "image": "registry.example/app:1.0",
        "env": [
            {"name": "DB_PASSWORD", "value": c["env_password"]},
            {"name": "STRIPE_API_TOKEN", "value": c["env_token"]},
            {"name": "COLOUR", "value": "blue"},
        ],
        "args": ["--listen=:8080", f"--password={c['arg_password']}"],
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "app",
            "namespace": namespace,
            "annotations": {"example.com/db-password": c["annotation"], "example.com/owner": "team"},
        },
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {"metadata": {"labels": {"app": "app"}}, "spec": {"containers": [container]}},
        },
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": namespace},
        "data": {"PASSWORD": c["config_map"], "GREETING": c["control"]},
    }
    created = [
        ("/api/v1/namespaces", {"metadata": {"name": namespace}}),
        (f"/api/v1/namespaces/{namespace}/serviceaccounts", {"metadata": {"name": "ci"}}),
        (f"/api/v1/namespaces/{namespace}/secrets", secret),
        (f"/api/v1/namespaces/{namespace}/secrets", applied),
        (f"/api/v1/namespaces/{namespace}/secrets", token),
        (f"/apis/apps/v1/namespaces/{namespace}/deployments", deployment),
        (f"/api/v1/namespaces/{namespace}/configmaps", config_map),
    ]
    for path, body in created:
        status, answer = call(cluster, "POST", path, body)
        assert status == 201, (path, answer)


def outputs(out: Path) -> dict[str, str]:
    """Every file the run wrote, by its path under ``out``."""
    return {
        str(path.relative_to(out)): path.read_text(errors="replace")
        for path in out.rglob("*")
        if path.is_file()
    }


def run_live(context: str, kubeconfig: Path, out: Path) -> subprocess.CompletedProcess[str]:
    """`kitemark run` on the live cluster as a user runs it; it must finish with a verdict (0 or 1)."""
    args = ["--cluster", f"live:{context}", "--kubeconfig", str(kubeconfig), "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "kitemark", "run", *args, "-n", "0"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    return done


def test_no_canary_reaches_any_output_of_a_live_run(kube_apiserver: LiveCluster, tmp_path: Path) -> None:
    run_id = uuid.uuid4().hex[:10]
    namespace = f"canaries-{run_id}"
    places = ("data", "string_data", "last_applied", "sa_token", "sa_ca", "env_password", "env_token")
    places += ("arg_password", "annotation", "config_map")
    canaries = {place: f"kmcanary{place.replace('_', '')}{run_id}" for place in places}
    plant(kube_apiserver, namespace, {**canaries, "control": f"kmcontrol{run_id}"})

    out = tmp_path / "out"
    done = run_live(ADMIN, kube_apiserver.kubeconfig, out)

    written = outputs(out)
    assert {"results.json", "junit.xml", "compliance.html"} <= set(written)
    inventories = [name for name in written if name.startswith("inventory/") and name.endswith(".json")]
    assert inventories, sorted(written)
    [inventory] = [json.loads(written[name]) for name in inventories]
    # The canaries' objects were read: a leak would have been seen, not missed for want of reading.
    held = {
        (o["kind"], o["metadata"]["name"])
        for o in inventory["objects"]
        if o["metadata"].get("namespace") == namespace
    }
    expected = {("Secret", "db"), ("Secret", "applied"), ("Secret", "ci-token"), ("Deployment", "app")}
    assert expected | {("ConfigMap", "settings"), ("ServiceAccount", "ci")} <= held

    texts = {**written, "<stdout>": done.stdout, "<stderr>": done.stderr}
    leaks = [
        (place, form, name)
        for place, canary in canaries.items()
        for form, value in (("raw", canary), ("base64", b64(canary)))
        for name, text in texts.items()
        if value in text or value.lower() in text.lower()
    ]
    assert leaks == []
    # The search would have found one: a value under a plain name is kept, raw, in the inventory.
    assert f"kmcontrol{run_id}" in written[inventories[0]]


def test_a_live_run_sends_only_gets(kube_apiserver: LiveCluster, tmp_path: Path) -> None:
    viewer = kube_apiserver.user(f"reader-{uuid.uuid4().hex[:8]}")
    binding = {
        "metadata": {"name": viewer.name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": viewer.name}],
    }
    status, answer = call(
        kube_apiserver, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", binding
    )
    assert status == 201, answer
    out = tmp_path / "out"
    run_live(viewer.name, viewer.kubeconfig, out)
    deadline = time.monotonic() + 10  # a request's last audit event may be written just after it
    while True:
        events = [
            e
            for e in kube_apiserver.audit_events()
            if e.get("stage") == "ResponseComplete" and e["user"]["username"] == viewer.name
        ]
        if len(events) >= 10 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert len(events) > 10
    assert {e["verb"] for e in events} <= {"get", "list"}
    assert all(e["responseStatus"]["code"] == 200 for e in events), [
        (e["requestURI"], e["responseStatus"]["code"]) for e in events if e["responseStatus"]["code"] != 200
    ]
