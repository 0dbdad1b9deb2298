"""`kitemark snapshot`: a live cluster written as an archivable folder with a manifest, and a run on
that folder giving the live run's results, finding by finding (against the real kube-apiserver)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from kitemark.core.kinds import TargetSpec
from kitemark.targets.cluster.collect import collect
from kitemark.targets.cluster.manifest import FORMAT, MANIFEST, write_snapshot
from kitemark.testservers.kube import LiveCluster

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "fixtures" / "demo" / "cluster"
PINS = ROOT / "tools" / "testservers" / "go.mod"


def kitemark(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    command = [sys.executable, "-m", "kitemark", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def results(path: Path) -> dict[tuple[str, str], Any]:
    """Each result's status and findings (all but their location: a file in a snapshot, none live)."""
    found = {}
    for result in json.loads(path.read_text())["results"]:
        findings = sorted(
            (f["status"], f["resource"], f["message"], json.dumps(f.get("evidence"), sort_keys=True))
            for f in result["findings"]
        )
        found[(result["check_id"], result["unit"])] = (result["status"], findings)
    return found


def load_demo(cluster: LiveCluster) -> int:
    """The demo platform's objects created in the server (status written through /status)."""
    from tests.test_servers import call

    objects = []
    for path in sorted(DEMO.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind"):
                objects += doc["items"] if doc["kind"] == "List" else [doc]
    objects.sort(key=lambda o: (o["kind"] != "Namespace", o["kind"]))
    created = 0
    for obj in objects:
        path = _collection(cluster, obj)
        if path is None:
            continue
        obj["metadata"].pop("resourceVersion", None)
        status, _ = call(cluster, "POST", path, obj)
        if status in (201, 409) and "status" in obj and obj["kind"] != "Namespace":
            name = obj["metadata"]["name"]
            _, current = call(cluster, "GET", f"{path}/{name}")
            call(cluster, "PUT", f"{path}/{name}/status", {**current, "status": obj["status"]})
        created += status == 201
    return created


_PLURALS: dict[str, dict[str, tuple[str, bool]]] = {}


def _collection(cluster: LiveCluster, obj: dict[str, Any]) -> str | None:
    from tests.test_servers import call

    version = obj["apiVersion"]
    base = f"/apis/{version}" if "/" in version else f"/api/{version}"
    if version not in _PLURALS:
        status, body = call(cluster, "GET", base)
        resources = body.get("resources", []) if status == 200 else []
        _PLURALS[version] = {
            r["kind"]: (r["name"], r["namespaced"]) for r in resources if "/" not in r["name"]
        }
    found = _PLURALS[version].get(obj["kind"])
    if found is None:
        return None  # a custom resource whose CRD the demo does not install
    plural, namespaced = found
    namespace = obj["metadata"].get("namespace") or "default"
    return f"{base}/namespaces/{namespace}/{plural}" if namespaced else f"{base}/{plural}"


def test_a_snapshot_gives_the_live_results_finding_by_finding(
    kube_apiserver: LiveCluster, tmp_path: Path
) -> None:
    load_demo(kube_apiserver)
    kubeconfig, context = kube_apiserver.kubeconfig, kube_apiserver.admin.name
    live = kitemark(
        "run",
        "--cluster",
        f"c=live:{context}",
        "--kubeconfig",
        kubeconfig,
        "--out",
        tmp_path / "live",
        "-n",
        "0",
    )
    taken = kitemark(
        "snapshot", "--context", context, "--kubeconfig", kubeconfig, "-o", tmp_path / "snap", "--name", "c"
    )
    again = kitemark(
        "run", "--cluster", f"c=snapshot:{tmp_path / 'snap'}", "--out", tmp_path / "offline", "-n", "0"
    )
    assert live.returncode == again.returncode == 1, live.stderr + again.stderr  # the demo is not compliant
    live_results, offline = (
        results(tmp_path / "live" / "results.json"),
        results(tmp_path / "offline" / "results.json"),
    )
    assert live_results == offline
    statuses = {status for status, _ in live_results.values()}
    assert {"passed", "failed", "error"} <= statuses, statuses  # a real comparison, not of empty runs
    # The server serves no Gatekeeper or Prometheus CRDs: the snapshot exits 1 and says which types.
    assert (
        taken.returncode == 1
        and "not in the snapshot" in taken.stderr
        and "constraints.gatekeeper.sh/*" in taken.stderr
    )

    # The report says which server was read, and when the snapshot was taken.
    live_target = json.loads((tmp_path / "live" / "results.json").read_text())["targets"][0]
    snap_target = json.loads((tmp_path / "offline" / "results.json").read_text())["targets"][0]
    assert live_target["api"]["server"] == snap_target["api"]["server"] == kube_apiserver.server
    assert "taken_at" in snap_target["api"] and "taken_at" not in live_target["api"]
    assert "Kubernetes <bdi>v1.35" in (tmp_path / "live" / "compliance.html").read_text()

    manifest = json.loads((tmp_path / "snap" / MANIFEST).read_text())
    version = next(
        line.split()[1]
        for line in PINS.read_text().splitlines()
        if line.strip().startswith("k8s.io/kubernetes ")
    )
    assert (manifest["format"], manifest["cluster"], manifest["server_version"]) == (FORMAT, "c", version)
    assert manifest["server"] == kube_apiserver.server and manifest["taken_at"].endswith("+00:00")
    total = 0
    for entry in manifest["files"]:
        data = (tmp_path / "snap" / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert len(json.loads(data)["items"]) == entry["objects"]
        total += entry["objects"]
    assert total == manifest["objects"] > 100
    assert {e["file"] for e in manifest["files"]} >= {"core/v1/namespaces.json", "apps/v1/deployments.json"}


def _inventory() -> dict[str, Any]:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "team-a", "resourceVersion": "7"},
        "spec": {"replicas": 2},
    }
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a", "resourceVersion": "3"},
    }
    return {
        "name": "c",
        "objects": [namespace, deployment],
        "errors": [],
        "api": {
            "server": "https://example:6443",
            "context": "c",
            "server_version": "v1.35.4",
            "resources": [
                {"read": "v1/Namespace", "kind": "Namespace", "api_version": "v1", "resource": "namespaces"},
                {
                    "read": "apps/Deployment",
                    "kind": "Deployment",
                    "api_version": "apps/v1",
                    "resource": "deployments",
                },
            ],
        },
    }


def test_a_changed_or_missing_snapshot_file_is_an_error_of_the_checks_reading_its_type(
    tmp_path: Path,
) -> None:
    write_snapshot(_inventory(), tmp_path / "s")
    untouched = collect(TargetSpec("cluster", "c", str(tmp_path / "s")))
    assert untouched["errors"] == [] and untouched["from_api"] and len(untouched["objects"]) == 2

    changed = tmp_path / "s" / "apps" / "v1" / "deployments.json"
    changed.write_text(changed.read_text().replace('"replicas":2', '"replicas":3'))
    (tmp_path / "s" / "core" / "v1" / "namespaces.json").unlink()
    errors = {e["path"]: e for e in collect(TargetSpec("cluster", "c", str(tmp_path / "s")))["errors"]}
    assert "sha256" in errors["apps/v1/deployments.json"]["message"]
    assert errors["apps/v1/deployments.json"]["types"] == ["apps/Deployment"]
    assert "missing" in errors["core/v1/namespaces.json"]["message"]
    assert all(e["everywhere"] for e in errors.values())


def test_the_manifest_is_not_read_as_an_object_and_a_broken_one_is_an_error(tmp_path: Path) -> None:
    write_snapshot(_inventory(), tmp_path / "s")
    (tmp_path / "s" / MANIFEST).write_text("{not json")
    inventory = collect(TargetSpec("cluster", "c", str(tmp_path / "s")))
    assert [e["path"] for e in inventory["errors"]] == [MANIFEST]
    assert MANIFEST not in inventory["files"] and not inventory.get("from_api")


def test_snapshot_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.yaml").write_text("{}")
    done = kitemark("snapshot", "--kubeconfig", tmp_path / "none", "-o", tmp_path / "out")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "not an empty directory" in done.stderr


def test_snapshot_with_a_missing_kubeconfig_says_so_in_one_line(tmp_path: Path) -> None:
    done = kitemark("snapshot", "--kubeconfig", tmp_path / "none", "-o", tmp_path / "out")
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"kubeconfig {tmp_path / 'none'}: no such file" in done.stderr
    assert not (tmp_path / "out").exists()
