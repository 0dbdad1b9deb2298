"""The workload operations checks (K8S-RES, K8S-PROBE, K8S-IMG, K8S-PROD, K8S-HEALTH): edge cases
their fixtures do not cover."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.model import Finding, Status
from kitemark.testing import compliant_namespace, run_check
from suites.cluster.images import parse_image
from suites.cluster.resources import parse_quantity

NS = "team-a"
IMAGE = "754256621582.dkr.ecr.eu-west-2.amazonaws.com/team-a/web:1.2.3"
RESOURCES = {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}}
PROBE = {"httpGet": {"path": "/health", "port": 8080}}


def container(name: str = "app", **fields: Any) -> dict[str, Any]:
    """A container every workload check passes; ``fields`` replace (or, as ``None``, remove) fields."""
    spec: dict[str, Any] = {
        "name": name,
        "image": IMAGE,
        "resources": RESOURCES,
        "livenessProbe": PROBE,
        "readinessProbe": PROBE,
    }
    for key, value in fields.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


def deployment(name: str = "web", *containers: dict[str, Any], **spec: Any) -> dict[str, Any]:
    pod = {"containers": list(containers) or [container()]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod},
            **spec,
        },
    }


def run(
    tmp_path: Path,
    check_id: str,
    *objects: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    namespace: dict[str, Any] | None = None,
) -> list[Finding]:
    folder = tmp_path / f"{check_id}-{len(list(tmp_path.iterdir()))}"  # a fresh folder per run
    folder.mkdir()
    for number, obj in enumerate([namespace or compliant_namespace(NS), *objects]):
        (folder / f"{number}.json").write_text(json.dumps(obj))
    found = run_check(check_id, folder, inputs=inputs)
    return found[f"cluster:t/namespace:{NS}"]


def only(findings: list[Finding], resource: str) -> Finding:
    [finding] = [f for f in findings if f.resource == resource]
    return finding


# --- quantities -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("512Mi", Decimal(512 * 2**20)),
        ("1Gi", Decimal(2**30)),
        ("300M", Decimal(300_000_000)),
        ("100m", Decimal("0.1")),
        ("0.5", Decimal("0.5")),
        (2, Decimal(2)),
        ("1e3", Decimal(1000)),
        (".5Gi", Decimal(2**29)),
    ],
)
def test_quantities_are_read_as_kubernetes_reads_them(text: Any, value: Decimal) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", ["lots", "1GB", "", "Mi", True, None, [], "1 Gi"])
def test_what_is_not_a_quantity_is_none(text: Any) -> None:
    assert parse_quantity(text) is None


# --- K8S-RES-001 / K8S-RES-002 ---------------------------------------------------------------------


def test_ephemeral_containers_are_not_required_to_set_resources(tmp_path: Path) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "containers": [container()],
            "ephemeralContainers": [{"name": "debugger", "image": "busybox:1.36"}],
        },
    }
    [finding] = run(tmp_path, "K8S-RES-001", pod)
    assert finding.status is Status.PASSED, finding.message
    assert finding.evidence["not_assessed"]["containers"] == ["ephemeralContainer 'debugger'"]


def test_limitrange_defaults_count_only_when_the_input_says_so(tmp_path: Path) -> None:
    limit_range = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "limitrange", "namespace": NS},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "1", "memory": "1Gi"}}]},
    }
    bare = deployment("web", container(resources=None))
    [counted] = run(tmp_path, "K8S-RES-001", limit_range, bare)
    assert counted.status is Status.PASSED, counted.message
    # `defaultRequest` unset: the API server makes it `default`.
    assert counted.evidence["containers"][0]["requests.memory"] == {
        "value": "1Gi",
        "from": "LimitRange 'limitrange'",
    }
    [ignored] = run(tmp_path, "K8S-RES-001", limit_range, bare, inputs={"resources_from_limitrange": False})
    assert ignored.status is Status.FAILED
    assert "sets no requests.cpu, requests.memory, limits.cpu, limits.memory" in ignored.message


def test_an_unreadable_limitrange_is_an_error_and_lends_no_defaults(tmp_path: Path) -> None:
    limit_range = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": {"name": "limitrange", "namespace": NS},
        "spec": {"limits": [{"type": "Container", "default": "1Gi"}]},
    }
    findings = run(tmp_path, "K8S-RES-001", limit_range, deployment("web", container(resources=None)))
    assert only(findings, "LimitRange/team-a/limitrange").status is Status.ERROR
    assert "default (a str, not a mapping)" in only(findings, "LimitRange/team-a/limitrange").message
    assert only(findings, "Deployment/team-a/web").status is Status.FAILED


@pytest.mark.parametrize("check_id", ["K8S-RES-001", "K8S-RES-002"])
@pytest.mark.parametrize(
    ("resources", "field"),
    [("1Gi", "resources"), ({"limits": ["1Gi"]}, "limits"), ({"limits": {"memory": None}}, "memory")],
)
def test_resources_of_the_wrong_type_are_an_error(
    tmp_path: Path, check_id: str, resources: Any, field: str
) -> None:
    [finding] = run(tmp_path, check_id, deployment("web", container(resources=resources)))
    assert finding.status is Status.ERROR
    assert field in finding.message


def test_a_value_that_is_not_a_quantity_fails(tmp_path: Path) -> None:
    resources = {"requests": {"cpu": "a bit", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}
    [finding] = run(tmp_path, "K8S-RES-001", deployment("web", container(resources=resources)))
    assert finding.status is Status.FAILED
    assert "not quantities (requests.cpu: 'a bit')" in finding.message


def test_required_resources_is_an_input(tmp_path: Path) -> None:
    requests_only = {"requests": {"cpu": "50m", "memory": "256Mi"}}
    web = deployment("web", container(resources=requests_only))
    inputs = {"required_resources": ["requests.cpu", "requests.memory"]}
    [finding] = run(tmp_path, "K8S-RES-001", web, inputs=inputs)
    assert finding.status is Status.PASSED
    [none] = run(tmp_path, "K8S-RES-001", web, inputs={"required_resources": []})
    assert none.status is Status.NOT_APPLICABLE


def test_memory_ratio_is_an_input_and_a_missing_limit_fails(tmp_path: Path) -> None:
    loose = {"requests": {"memory": "256Mi"}, "limits": {"memory": "1Gi"}}
    web = deployment("web", container(resources=loose))
    [strict] = run(tmp_path, "K8S-RES-002", web)
    assert strict.status is Status.FAILED and "4 times its request" in strict.message
    [relaxed] = run(tmp_path, "K8S-RES-002", web, inputs={"memory_limit_request_ratio": 4})
    assert relaxed.status is Status.PASSED
    [unbounded] = run(
        tmp_path, "K8S-RES-002", deployment("web", container(resources={"requests": {"memory": "1Gi"}}))
    )
    assert unbounded.status is Status.FAILED and "no memory limit" in unbounded.message


def test_no_workloads_is_not_applicable(tmp_path: Path) -> None:
    [finding] = run(tmp_path, "K8S-RES-001")
    assert finding.status is Status.NOT_APPLICABLE


# --- K8S-IMG-001 / K8S-IMG-002 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "repository", "tag", "full"),
    [
        ("nginx", "nginx", None, "docker.io/library/nginx"),
        ("nginx:1.27", "nginx", "1.27", "docker.io/library/nginx"),
        ("docker.io/nginx:1", "docker.io/nginx", "1", "docker.io/library/nginx"),
        ("ministryofjustice/x:1", "ministryofjustice/x", "1", "docker.io/ministryofjustice/x"),
        ("localhost:5000/x", "localhost:5000/x", None, "localhost:5000/x"),
        (
            "registry.example.org:5000/a/b:2",
            "registry.example.org:5000/a/b",
            "2",
            "registry.example.org:5000/a/b",
        ),
        (
            "ghcr.io/ministryofjustice/x@sha256:ab",
            "ghcr.io/ministryofjustice/x",
            None,
            "ghcr.io/ministryofjustice/x",
        ),
    ],
)
def test_image_references_split_as_the_runtime_splits_them(
    text: str, repository: str, tag: str | None, full: str
) -> None:
    image = parse_image(text)
    assert (image.repository, image.tag, image.full_repository) == (repository, tag, full)


def test_an_allowed_organisation_is_not_a_prefix_of_another(tmp_path: Path) -> None:
    web = deployment("web", container(image="ghcr.io/ministryofjustice-fork/web:1.0.0"))
    [finding] = run(tmp_path, "K8S-IMG-002", web)
    assert finding.status is Status.FAILED


DIGESTED = "ghcr.io/ministryofjustice/web@sha256:" + "a" * 64


def test_digest_pinning_is_an_input(tmp_path: Path) -> None:
    web = deployment("web", container(), container("sidecar", image=DIGESTED))
    [by_tag] = run(tmp_path, "K8S-IMG-001", web)
    assert by_tag.status is Status.PASSED
    [by_digest] = run(tmp_path, "K8S-IMG-001", web, inputs={"require_image_digest": True})
    assert by_digest.status is Status.FAILED
    assert by_digest.message == (
        f"container 'app' image {IMAGE} is not pinned by digest (input require_image_digest)"
    )


def test_a_malformed_digest_or_a_missing_image_fails(tmp_path: Path) -> None:
    web = deployment("web", container(image="ghcr.io/ministryofjustice/web@sha256:oops"))
    [malformed] = run(tmp_path, "K8S-IMG-001", web)
    assert malformed.status is Status.FAILED and "malformed digest" in malformed.message
    for check_id in ("K8S-IMG-001", "K8S-IMG-002"):
        [missing] = run(tmp_path, check_id, deployment("web", container(image=None)))
        assert missing.status is Status.FAILED and "names no image" in missing.message


@pytest.mark.parametrize("check_id", ["K8S-IMG-001", "K8S-IMG-002"])
@pytest.mark.parametrize("image", [["nginx"], {"name": "nginx"}, 1, True])
def test_an_image_of_the_wrong_type_is_an_error(tmp_path: Path, check_id: str, image: Any) -> None:
    [finding] = run(tmp_path, check_id, deployment("web", container(image=image)))
    assert finding.status is Status.ERROR and "image" in finding.message


def test_other_tags_can_be_refused(tmp_path: Path) -> None:
    web = deployment("web", container(image="ghcr.io/ministryofjustice/web:main"))
    [finding] = run(tmp_path, "K8S-IMG-001", web, inputs={"disallowed_image_tags": ["latest", "main"]})
    assert finding.status is Status.FAILED and "uses the tag `main`" in finding.message


# --- K8S-PROBE-001 ----------------------------------------------------------------------------------


def pod(name: str, *containers: dict[str, Any], owner: str | None = None, **spec: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": NS}
    if owner is not None:
        kind, owner_name = owner.split("/")
        api = "batch/v1" if kind == "Job" else "apps/v1"
        metadata["ownerReferences"] = [
            {"apiVersion": api, "kind": kind, "name": owner_name, "controller": True, "uid": "1"}
        ]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {"containers": list(containers), **spec},
    }


@pytest.mark.parametrize(
    ("obj", "resource"),
    [
        (pod("migrate-x1", container(livenessProbe=None), owner="Job/migrate"), "Job/team-a/migrate"),
        (pod("once", container(readinessProbe=None), restartPolicy="Never"), "Pod/team-a/once"),
    ],
)
def test_what_runs_to_completion_is_not_applicable(
    tmp_path: Path, obj: dict[str, Any], resource: str
) -> None:
    [finding] = run(tmp_path, "K8S-PROBE-001", obj)
    assert (finding.resource, finding.status) == (resource, Status.NOT_APPLICABLE)
    assert "runs to completion" in finding.message


def test_pods_of_an_absent_replicaset_are_judged_and_a_sidecar_added_at_admission_is_listed(
    tmp_path: Path,
) -> None:
    web = deployment("web")
    sidecar = container("istio-proxy", livenessProbe=None, readinessProbe=None)
    running = pod("web-abc", container(), sidecar, owner="ReplicaSet/web-abc")
    running["metadata"]["ownerReferences"][0]["name"] = "web-abc"
    replica_set = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": "web-abc",
            "namespace": NS,
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "controller": True, "uid": "2"}
            ],
        },
        "spec": web["spec"],
    }
    [finding] = run(tmp_path, "K8S-PROBE-001", web, replica_set, running)
    assert finding.status is Status.PASSED, finding.message
    assert finding.evidence["added"][0]["containers"][0] == {
        "name": "istio-proxy",
        "type": "container",
        "probes": [],
        "assessed": False,
    }
    bare = pod("web-def", container(readinessProbe=None), owner="ReplicaSet/gone")
    [absent] = run(tmp_path, "K8S-PROBE-001", bare)
    assert (absent.resource, absent.status) == ("ReplicaSet/team-a/gone", Status.FAILED)


@pytest.mark.parametrize("probe", ["true", ["httpGet"], 1])
def test_a_probe_of_the_wrong_type_is_an_error(tmp_path: Path, probe: Any) -> None:
    [finding] = run(tmp_path, "K8S-PROBE-001", deployment("web", container(readinessProbe=probe)))
    assert finding.status is Status.ERROR and "readinessProbe" in finding.message


# --- K8S-PROD-001 / K8S-PROD-002 -------------------------------------------------------------------

PRODUCTION = {"cloud-platform.justice.gov.uk/is-production": "true"}


def run_production(
    tmp_path: Path, check_id: str, *objects: dict[str, Any], inputs: dict[str, Any] | None = None
) -> list[Finding]:
    namespace = compliant_namespace(NS, **{"cloud-platform.justice.gov.uk/is-production": "true"})
    return run(tmp_path, check_id, *objects, inputs=inputs, namespace=namespace)


def budget(name: str, selector: dict[str, Any], **rule: Any) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"selector": selector, **rule},
    }


def test_production_checks_need_the_namespace_to_tell(tmp_path: Path) -> None:
    folder = tmp_path / "snapshot"
    folder.mkdir()
    (folder / "web.json").write_text(json.dumps(deployment("web")))
    for check_id in ("K8S-PROD-001", "K8S-PROD-002"):
        [finding] = run_check(check_id, folder)[f"cluster:t/namespace:{NS}"]
        assert finding.status is Status.ERROR and "cannot tell whether" in finding.message


def test_a_non_production_namespace_is_not_applicable(tmp_path: Path) -> None:
    [finding] = run(tmp_path, "K8S-PROD-001", deployment("web", replicas=1))
    assert finding.status is Status.NOT_APPLICABLE and "not a production namespace" in finding.message


def test_the_production_label_is_an_input(tmp_path: Path) -> None:
    inputs = {"production_label": {"cloud-platform.justice.gov.uk/environment-name": "development"}}
    [finding] = run(tmp_path, "K8S-PROD-001", deployment("web", replicas=1), inputs=inputs)
    assert finding.status is Status.FAILED


@pytest.mark.parametrize("replicas", ["2", 2.0, True, [2]])
def test_replicas_of_the_wrong_type_are_an_error(tmp_path: Path, replicas: Any) -> None:
    [finding] = run_production(tmp_path, "K8S-PROD-001", deployment("web", replicas=replicas))
    assert finding.status is Status.ERROR and "replicas" in finding.message


@pytest.mark.parametrize(
    ("selector", "rule", "status"),
    [
        ({}, {"maxUnavailable": 1}, Status.PASSED),  # empty: every pod of the namespace
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
            {"maxUnavailable": "25%"},
            Status.PASSED,
        ),
        (
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]},
            {"maxUnavailable": 1},
            Status.FAILED,
        ),
        ({"matchLabels": {"app": "web"}}, {"minAvailable": "100%"}, Status.FAILED),
        ({"matchLabels": {"app": "web"}}, {"minAvailable": "1%"}, Status.PASSED),
        ({"matchLabels": {"app": "web"}}, {}, Status.FAILED),
        ({"matchLabels": {"app": "web"}}, {"minAvailable": "half"}, Status.FAILED),
    ],
)
def test_which_budgets_cover_and_allow_an_eviction(
    tmp_path: Path, selector: dict[str, Any], rule: dict[str, Any], status: Status
) -> None:
    findings = run_production(
        tmp_path, "K8S-PROD-002", deployment("web", replicas=2), budget("web", selector, **rule)
    )
    assert only(findings, "Deployment/team-a/web").status is status


def test_two_budgets_on_one_pod_refuse_evictions(tmp_path: Path) -> None:
    labels = {"matchLabels": {"app": "web"}}
    found = run_production(
        tmp_path,
        "K8S-PROD-002",
        deployment("web", replicas=3),
        budget("a", labels, maxUnavailable=1),
        budget("b", labels, maxUnavailable=1),
    )
    assert (
        only(found, "Deployment/team-a/web").message
        == "2 PodDisruptionBudgets select its pods, so evictions are refused"
    )


def test_an_unreadable_budget_is_an_error_not_an_absence(tmp_path: Path) -> None:
    bad = budget("web", {"matchLabels": ["app"]}, maxUnavailable=1)
    found = run_production(tmp_path, "K8S-PROD-002", deployment("web", replicas=3), bad)
    assert only(found, "PodDisruptionBudget/team-a/web").status is Status.ERROR
    assert "matchLabels" in only(found, "PodDisruptionBudget/team-a/web").message


# --- K8S-PROD-003 / K8S-PROD-004 -------------------------------------------------------------------


def autoscaler(target: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"scaleTargetRef": target, "minReplicas": 2, "maxReplicas": 4, **spec},
    }


@pytest.mark.parametrize(
    ("target", "status"),
    [
        ({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, Status.PASSED),
        ({"kind": "Deployment", "name": "web"}, Status.PASSED),
        ({"apiVersion": "argoproj.io/v1alpha1", "kind": "Deployment", "name": "web"}, Status.FAILED),
        ({"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web"}, Status.FAILED),
    ],
)
def test_an_hpa_counts_when_it_names_the_deployment(
    tmp_path: Path, target: dict[str, Any], status: Status
) -> None:
    [finding] = run_production(tmp_path, "K8S-PROD-004", deployment("web"), autoscaler(target))
    assert finding.status is status, finding.message


def test_an_unreadable_hpa_is_an_error(tmp_path: Path) -> None:
    hpa = autoscaler({"kind": "Deployment", "name": "web"}, minReplicas="2")
    found = run_production(tmp_path, "K8S-PROD-004", deployment("web"), hpa)
    assert only(found, "HorizontalPodAutoscaler/team-a/web").status is Status.ERROR
    assert "minReplicas" in only(found, "HorizontalPodAutoscaler/team-a/web").message


@pytest.mark.parametrize(
    ("rolling", "status"),
    [
        ({"maxUnavailable": 0}, Status.PASSED),
        ({"maxUnavailable": "1%"}, Status.FAILED),
        ({"maxUnavailable": "x"}, Status.FAILED),
    ],
)
def test_max_unavailable_is_judged_as_written(
    tmp_path: Path, rolling: dict[str, Any], status: Status
) -> None:
    web = deployment("web", strategy={"type": "RollingUpdate", "rollingUpdate": rolling})
    [finding] = run_production(tmp_path, "K8S-PROD-003", web)
    assert finding.status is status, finding.message


# --- K8S-HEALTH-001 / K8S-HEALTH-002 ---------------------------------------------------------------


def test_health_without_status_is_unknown_not_passed(tmp_path: Path) -> None:
    [controller] = run(tmp_path, "K8S-HEALTH-001", deployment("web"))
    assert controller.status is Status.NOT_APPLICABLE and "no status" in controller.message
    [running] = run(tmp_path, "K8S-HEALTH-002", pod("web-1", container()))
    assert running.status is Status.NOT_APPLICABLE and "no status" in running.message


def test_a_deployment_scaled_to_zero_is_healthy_and_an_unreadable_status_an_error(tmp_path: Path) -> None:
    idle = deployment("web", replicas=0)
    idle["status"] = {"replicas": 0}
    [finding] = run(tmp_path, "K8S-HEALTH-001", idle)
    assert finding.status is Status.PASSED
    broken = deployment("web")
    broken["status"] = {"readyReplicas": "2"}
    [unreadable] = run(tmp_path, "K8S-HEALTH-001", broken)
    assert unreadable.status is Status.ERROR and "readyReplicas" in unreadable.message


def ready_pod(restarts: Any) -> dict[str, Any]:
    running = pod("web-1", container(), owner="ReplicaSet/web-abc")
    running["status"] = {
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [
            {"name": "app", "ready": True, "restartCount": restarts, "state": {"running": {}}}
        ],
    }
    return running


def test_the_restart_threshold_is_an_input(tmp_path: Path) -> None:
    [tolerated] = run(tmp_path, "K8S-HEALTH-002", ready_pod(6), inputs={"max_container_restarts": 10})
    assert tolerated.status is Status.PASSED
    assert tolerated.evidence["owner"] == "ReplicaSet/web-abc"
    [strict] = run(tmp_path, "K8S-HEALTH-002", ready_pod(1), inputs={"max_container_restarts": 0})
    assert strict.status is Status.FAILED and "restarted 1 times (more than 0)" in strict.message
    [unreadable] = run(tmp_path, "K8S-HEALTH-002", ready_pod("6"))
    assert unreadable.status is Status.ERROR and "restartCount" in unreadable.message


# --- K8S-POD-001/002 name the Pod Security Standards control each problem breaks -------------------


def test_pod_security_findings_name_each_control(tmp_path: Path) -> None:
    context = {
        "privileged": True,
        "runAsUser": 0,
        "capabilities": {"add": ["SYS_ADMIN"]},
        "procMount": "Unmasked",
    }
    bad = container(securityContext=context, ports=[{"containerPort": 80, "hostPort": 80}])
    web = deployment("web", bad)
    web["spec"]["template"]["spec"].update(
        hostNetwork=True,
        volumes=[
            {"name": "root", "hostPath": {"path": "/"}},
            {"name": "n", "nfs": {"server": "x", "path": "/"}},
        ],
    )
    [restricted] = run(tmp_path, "K8S-POD-002", web)
    assert restricted.evidence["controls_failed"] == [
        "baseline/host-namespaces",
        "baseline/host-ports",
        "baseline/hostpath-volumes",
        "baseline/proc-mount",
        "restricted/capabilities",
        "restricted/privilege-escalation",
        "restricted/seccomp",
        "restricted/volume-types",
    ]
    for problem in restricted.message.split("; "):
        assert problem.split(": ", 1)[0] in restricted.evidence["controls_failed"], problem
    [root] = run(tmp_path, "K8S-POD-001", web)
    assert root.message == (
        "baseline/privileged: container 'app' is privileged; restricted/running-as-non-root-user: "
        "container 'app' runs as root (runAsUser: 0 from the container securityContext)"
    )


def test_a_production_namespace_without_controllers_is_not_applicable(tmp_path: Path) -> None:
    [replicas] = run_production(tmp_path, "K8S-PROD-001")
    assert replicas.message == "no Deployment or StatefulSet in this production namespace"
    [rollout] = run_production(tmp_path, "K8S-PROD-003")
    assert (rollout.status, rollout.message) == (
        Status.NOT_APPLICABLE,
        "no Deployment in this production namespace",
    )


def test_a_running_pod_without_a_ready_condition_is_unknown(tmp_path: Path) -> None:
    trimmed = pod("web-1", container())
    trimmed["status"] = {"phase": "Running"}
    [finding] = run(tmp_path, "K8S-HEALTH-002", trimmed)
    assert finding.status is Status.ERROR and "no Ready condition" in finding.message


def test_an_extensions_deployment_is_matched_by_an_apps_hpa_and_its_health_read(tmp_path: Path) -> None:
    old = deployment("web")
    old["apiVersion"] = "extensions/v1beta1"
    target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    [scaled] = run_production(tmp_path, "K8S-PROD-004", old, autoscaler(target))
    assert scaled.status is Status.PASSED, scaled.message
    old["status"] = {"readyReplicas": 1}
    [health] = run(tmp_path, "K8S-HEALTH-001", old)
    assert (health.status, health.message) == (Status.FAILED, "1 of 2 desired pod(s) ready")
