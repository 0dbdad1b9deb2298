"""A cluster target that is a repository's manifests folder, not a kubectl dump: objects that name no
namespace, files that are not Kubernetes objects, and input errors charged to the namespaces they hide."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec, get_kind
from kitemark.core.model import Finding, Status
from kitemark.targets.cluster import collect as cluster
from kitemark.testing import run_check


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def collect(root: Path, **options: str) -> dict[str, Any]:
    return json.loads(json.dumps(cluster.collect(TargetSpec("cluster", "t", str(root), dict(options)))))


def run(check_id: str, root: Path, **options: str) -> dict[str, list[Finding]]:
    found = run_check(check_id, root, options=options)
    return {unit.removeprefix("cluster:t/"): findings for unit, findings in found.items()}


def refs(inventory: dict[str, Any]) -> list[str]:
    out = []
    for o in inventory["objects"]:
        ns = o["metadata"].get("namespace")
        out.append(
            f"{o['kind']}/{ns}/{o['metadata']['name']}" if ns else f"{o['kind']}/{o['metadata']['name']}"
        )
    return out


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: ghcr.io/example/web:1.0
          securityContext: {privileged: true}
"""
SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n"


def plain_manifests(root: Path) -> Path:
    """A folder as most repositories keep it: no namespace anywhere, no Namespace object."""
    write(root, "deployment.yaml", DEPLOYMENT)
    write(root, "service.yaml", SERVICE)
    write(root, "configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {A: b}\n")
    return root


# --- objects that name no namespace ----------------------------------------------------------------


def test_plain_manifests_are_assessed_in_the_default_namespace(tmp_path: Path) -> None:
    root = plain_manifests(tmp_path)
    findings = run("K8S-POD-001", root)
    # `default` is a system namespace (MoJ list), but these are the snapshot's own manifests.
    (finding,) = findings["namespace:default"]
    assert finding.status is Status.FAILED and finding.resource == "Deployment/default/web"
    assert "names no namespace" in finding.evidence["namespace"]
    (summary,) = run("K8S-INPUT-001", root)["input"]
    assert summary.status is Status.PASSED
    assert "3 objects in 1 namespaces (1 team namespaces)" in summary.message
    assert "3 name no namespace and are assessed as namespace default" in summary.message
    assert summary.evidence["objects_without_namespace"] == 3


def test_default_namespace_option(tmp_path: Path) -> None:
    root = plain_manifests(tmp_path)
    inventory = collect(root, **{"default-namespace": "payments"})
    assert refs(inventory) == ["ConfigMap/payments/web", "Deployment/payments/web", "Service/payments/web"]
    assert inventory["default_namespace"] == "payments" and inventory["defaulted"] == [0, 1, 2]
    (finding,) = run("K8S-POD-001", root, **{"default-namespace": "payments"})["namespace:payments"]
    assert finding.status is Status.FAILED and finding.resource == "Deployment/payments/web"
    # An application's manifests do not define their namespace: its labels and network policies are
    # assessed where it is defined, and the findings say so rather than failing the application
    (ns,) = run("K8S-NS-001", root, **{"default-namespace": "payments"})["namespace:payments"]
    assert ns.status is Status.NOT_APPLICABLE and "does not define namespace payments" in ns.message
    (net,) = run("K8S-NET-001", root, **{"default-namespace": "payments"})["namespace:payments"]
    assert net.status is Status.NOT_APPLICABLE and "holds no Namespace object or NetworkPolicy" in net.message
    # A folder that also names the namespace somewhere defines it: then its metadata is assessed
    write(root, "other.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: payments}\n")
    (ns,) = run("K8S-NS-001", root, **{"default-namespace": "payments"})["namespace:payments"]
    assert ns.status is Status.ERROR and "name no namespace" in ns.message


def test_system_default_namespace_metadata_is_not_the_teams(tmp_path: Path) -> None:
    (finding,) = run("K8S-NS-001", plain_manifests(tmp_path))["namespace:default"]
    assert finding.status is Status.NOT_APPLICABLE and "system namespace" in finding.message


def test_option_from_the_command_line(tmp_path: Path) -> None:
    kind = get_kind("cluster")
    (spec,) = kind.specs({"cluster": [f"app=snapshot:{tmp_path},default-namespace=payments"]})
    assert spec.name == "app" and spec.options == {"default-namespace": "payments"}
    with pytest.raises(UsageError, match="default-namespace='Payments_1' is not a namespace name"):
        kind.specs({"cluster": [f"app=snapshot:{tmp_path},default-namespace=Payments_1"]})


def test_only_the_objects_placed_in_a_system_namespace_are_assessed(tmp_path: Path) -> None:
    plain_manifests(tmp_path)
    # the platform's own object in `default`, named explicitly: still out of scope
    write(
        tmp_path,
        "platform/agent.yaml",
        DEPLOYMENT.replace("name: web\n", "name: agent\n  namespace: default\n", 1),
    )
    (finding,) = run("K8S-POD-001", tmp_path)["namespace:default"]
    assert finding.resource == "Deployment/default/web"


def test_cluster_scoped_kinds_get_no_namespace(tmp_path: Path) -> None:
    write(
        tmp_path,
        "cluster.yaml",
        """
        {apiVersion: rbac.authorization.k8s.io/v1, kind: ClusterRole, metadata: {name: reader}}
        ---
        {apiVersion: storage.k8s.io/v1, kind: StorageClass, metadata: {name: gp3}}
        ---
        {apiVersion: networking.k8s.io/v1, kind: IngressClass, metadata: {name: modsec}}
        ---
        {apiVersion: templates.gatekeeper.sh/v1, kind: ConstraintTemplate, metadata: {name: labels}}
        ---
        {apiVersion: constraints.gatekeeper.sh/v1beta1, kind: K8sRequiredLabels, metadata: {name: owner}}
        ---
        {apiVersion: cert-manager.io/v1, kind: ClusterIssuer, metadata: {name: letsencrypt}}
        ---
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: widgets.example.com}
        spec: {group: example.com, scope: Cluster, names: {kind: Widget, plural: widgets}}
        ---
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata: {name: gadgets.example.com}
        spec: {group: example.com, scope: Namespaced, names: {kind: Gadget, plural: gadgets}}
        ---
        {apiVersion: example.com/v1, kind: Widget, metadata: {name: w}}
        ---
        {apiVersion: example.com/v1, kind: Gadget, metadata: {name: g}}
        ---
        {apiVersion: other.example.com/v1, kind: Widget, metadata: {name: w2}}
        """,
    )
    inventory = collect(tmp_path)
    assert sorted(refs(inventory)) == [
        "ClusterIssuer/letsencrypt",
        "ClusterRole/reader",
        "ConstraintTemplate/labels",
        "CustomResourceDefinition/gadgets.example.com",
        "CustomResourceDefinition/widgets.example.com",
        "Gadget/default/g",  # namespaced: its CRD says so
        "IngressClass/modsec",
        "K8sRequiredLabels/owner",
        "StorageClass/gp3",
        "Widget/default/w2",  # another group's Widget: not the cluster-scoped CRD's kind
        "Widget/w",
    ]


def test_a_manifest_and_its_namespaced_copy_are_one_object(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", SERVICE.replace("{name: web}", "{name: web, namespace: payments}"))
    write(tmp_path, "b.yaml", SERVICE)
    inventory = collect(tmp_path, **{"default-namespace": "payments"})
    assert refs(inventory) == ["Service/payments/web"]
    assert inventory["duplicates"] == [
        {"object": "Service/payments/web", "kept": "a.yaml:1", "ignored": "b.yaml:1"}
    ]


def test_network_policy_without_namespace_protects_the_default_namespace(tmp_path: Path) -> None:
    root = plain_manifests(tmp_path)
    write(
        root,
        "netpol.yaml",
        """
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: default}
        spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{from: [{podSelector: {}}]}]}
        """,
    )
    (finding,) = run("K8S-NET-001", root, **{"default-namespace": "payments"})["namespace:payments"]
    assert finding.status is Status.PASSED
    assert "4 object(s) name no namespace" in finding.evidence["note"]
    assert finding.message.endswith("(4 object(s) that name no namespace, assessed as namespace payments)")


# --- files that are not Kubernetes objects ---------------------------------------------------------

CHART_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "web.fullname" . }}
  labels:
    {{- include "web.labels" . | nindent 4 }}
spec:
  replicas: {{ .Values.replicaCount }}
"""


def test_helm_chart_files_are_skipped_with_what_to_run(tmp_path: Path) -> None:
    write(tmp_path, "chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    write(tmp_path, "chart/values.yaml", "replicaCount: 2\nimage: {repository: web, tag: '1.0'}\n")
    write(tmp_path, "chart/templates/deployment.yaml", CHART_DEPLOYMENT)
    # parses as YAML, but still a template: assessing it would judge `{{ .Release.Name }}`, not an object
    write(
        tmp_path,
        "chart/templates/service.yaml",
        SERVICE.replace("{name: web}", '{name: "{{ .Release.Name }}"}'),
    )
    write(tmp_path, "chart/templates/static.yaml", NAMESPACE % "static")
    inventory = collect(tmp_path)
    assert inventory["errors"] == []
    assert refs(inventory) == ["Namespace/static"]
    reasons = {s["path"]: s["reason"] for s in inventory["skipped"]}
    assert set(reasons) == {
        "chart/Chart.yaml",
        "chart/values.yaml",
        "chart/templates/deployment.yaml",
        "chart/templates/service.yaml",
    }
    assert all("helm template" in r for r in reasons.values()), reasons
    assert reasons["chart/Chart.yaml"].startswith("Helm chart metadata")
    assert reasons["chart/values.yaml"].startswith("Helm values")
    assert reasons["chart/templates/deployment.yaml"].startswith("a template of the Helm chart chart/")
    assert all(set(s) == {"path", "line", "reason", "holds_resources"} for s in inventory["skipped"])
    # the chart's templates hold objects Kitemark did not assess; its metadata and values do not
    unrendered = {s["path"] for s in inventory["skipped"] if s["holds_resources"]}
    assert unrendered == {"chart/templates/deployment.yaml", "chart/templates/service.yaml"}


def test_template_outside_a_chart_is_skipped_not_an_error(tmp_path: Path) -> None:
    write(tmp_path, "deploy/web.yaml", "{{- if .Values.enabled }}\n" + CHART_DEPLOYMENT + "{{- end }}\n")
    (skipped,) = collect(tmp_path)["skipped"]
    assert skipped["path"] == "deploy/web.yaml" and "template" in skipped["reason"]
    assert skipped["line"] == 1  # the first template action
    assert "helm template" in skipped["reason"]


def test_alert_templates_in_a_prometheus_rule_are_data(tmp_path: Path) -> None:
    rule = """
    apiVersion: monitoring.coreos.com/v1
    kind: PrometheusRule
    metadata: {name: alerts, namespace: team-a}
    spec:
      groups:
        - name: pods
          rules:
            - alert: PodDown
              expr: up == 0
              annotations:
                message: '{{ $labels.pod }} is down'
                description: |
                  {{ $labels.pod }} has been down for {{ $value }} minutes
    """
    write(tmp_path, "team-a/rules.yaml", rule)
    inventory = collect(tmp_path)
    assert refs(inventory) == ["PrometheusRule/team-a/alerts"] and inventory["skipped"] == []
    # broken for another reason, it is an input error, not a "template"
    write(tmp_path, "team-a/rules.yaml", rule + "    oops: [\n")
    inventory = collect(tmp_path)
    assert [e["path"] for e in inventory["errors"]] == ["team-a/rules.yaml"] and inventory["skipped"] == []


def test_kustomize_files_and_patches_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "base/kustomization.yaml", "resources: [deployment.yaml]\n")  # kind is optional
    write(tmp_path, "base/deployment.yaml", DEPLOYMENT)
    write(
        tmp_path,
        "overlays/prod/kustomization.yaml",
        """
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        namespace: payments
        resources: [../../base]
        patchesStrategicMerge: [memory.yaml]
        patches:
          - path: replicas.yaml
            target: {kind: Deployment, name: web}
        """,
    )
    write(
        tmp_path,
        "overlays/prod/memory.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
    )
    write(tmp_path, "overlays/prod/replicas.yaml", "- op: replace\n  path: /spec/replicas\n  value: 3\n")
    inventory = collect(tmp_path)
    assert inventory["errors"] == []
    assert refs(inventory) == ["Deployment/default/web"]  # the base, assessed as it stands
    reasons = {s["path"]: s["reason"] for s in inventory["skipped"]}
    assert reasons["base/kustomization.yaml"].startswith("a kustomize Kustomization")
    assert reasons["overlays/prod/kustomization.yaml"].startswith("a kustomize Kustomization")
    for patch in ("overlays/prod/memory.yaml", "overlays/prod/replicas.yaml"):
        assert reasons[patch].startswith("a kustomize patch used by overlays/prod/kustomization.yaml")
    assert all("kustomize build" in r for r in reasons.values())


def test_configuration_files_are_skipped_and_broken_objects_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "app/config.json", '{"port": 8080, "features": ["a"]}')
    write(tmp_path, "app/hosts.yaml", "- a.example.com\n- b.example.com\n")
    write(tmp_path, "kind-cluster.yaml", "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: []\n")
    write(
        tmp_path, "kubeconfig.yaml", "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n"
    )
    write(tmp_path, "broken.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {labels: {a: b}}\n")
    inventory = collect(tmp_path)
    reasons = {s["path"]: s["reason"] for s in inventory["skipped"]}
    assert reasons == {
        "app/config.json": "not a Kubernetes object (no `kind`): an application or tool configuration file",
        "app/hosts.yaml": "not a Kubernetes object: a YAML/JSON list, not a mapping with `kind`",
        "kind-cluster.yaml": "a kind (Kubernetes in Docker) cluster configuration, not a cluster object",
        "kubeconfig.yaml": "a kubeconfig file, not a cluster object",
    }
    assert [(e["path"], e["message"]) for e in inventory["errors"]] == [
        ("broken.yaml", "document 1: Deployment has no metadata.name")
    ]


def test_input_check_counts_skipped_inputs_and_a_chart_alone_is_no_pass(tmp_path: Path) -> None:
    write(tmp_path, "chart/Chart.yaml", "apiVersion: v2\nname: web\nversion: 0.1.0\n")
    write(tmp_path, "chart/templates/deployment.yaml", CHART_DEPLOYMENT)
    (finding,) = run("K8S-INPUT-001", tmp_path)["input"]
    assert finding.status is Status.ERROR
    assert (
        finding.message
        == "the snapshot holds no Kubernetes objects (2 file(s) read, 2 skipped as not Kubernetes objects)"
    )
    write(tmp_path, "ns.yaml", NAMESPACE % "team-a")
    (finding,) = run("K8S-INPUT-001", tmp_path)["input"]
    assert finding.status is Status.PASSED and finding.evidence["skipped"] == 2
    assert "2 input(s) skipped as not Kubernetes objects" in finding.message


# --- input errors reach the checks they hide -------------------------------------------------------

GOOD_DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: %s}
spec:
  template:
    spec:
      securityContext: {runAsNonRoot: true}
      containers: [{name: api, image: x}]
"""


def two_namespaces(root: Path) -> Path:
    for ns in ("team-a", "team-b"):
        write(root, f"{ns}/00-namespace.yaml", NAMESPACE % ns)
        write(root, f"{ns}/05-api.yaml", GOOD_DEPLOYMENT % ns)
    return root


def test_unparsable_file_in_a_namespace_folder_makes_its_checks_error(tmp_path: Path) -> None:
    root = two_namespaces(tmp_path)
    write(
        root, "team-a/06-worker.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [worker\n"
    )
    for check_id in ("K8S-POD-001", "K8S-POD-002", "K8S-NET-001", "K8S-NS-001"):
        findings = run(check_id, root)
        (error,) = findings["namespace:team-a"]
        assert error.status is Status.ERROR, (check_id, error)
        assert (
            error.message.startswith("team-a/06-worker.yaml:5: invalid YAML")
            and error.where == "team-a/06-worker.yaml:5"
        )
        assert Status.ERROR not in {f.status for f in findings["namespace:team-b"]}
    assert run("K8S-POD-001", root)["namespace:team-b"][0].status is Status.PASSED
    (listed,) = run("K8S-INPUT-001", root)["input"]
    assert listed.status is Status.ERROR and listed.resource == "file:team-a/06-worker.yaml"


def charged(root: Path) -> dict[str, list[str]]:
    return {e["path"]: e["namespaces"] for e in collect(root)["errors"]}


def test_an_error_is_charged_to_the_namespaces_the_file_names(tmp_path: Path) -> None:
    root = two_namespaces(tmp_path)
    # documents read before the error, and `namespace:` lines after it (in a folder of both teams)
    write(
        root,
        "dumps/a.yaml",
        (GOOD_DEPLOYMENT % "team-a") + "---\nkind: [\n---\nmetadata: {namespace: team-c}\n",
    )
    write(root, "dumps/b.yaml", (GOOD_DEPLOYMENT % "team-b").replace("{name: api", "{name: b"))
    write(root, "dumps/c.json", '{"metadata": {"namespace": "team-d", "name": }}')
    assert charged(root) == {"dumps/a.yaml": ["team-a", "team-c"], "dumps/c.json": ["team-d"]}
    units = run("K8S-POD-001", root)
    # team-d is known only from the broken file: it still gets a unit, which reports the error
    (team_d,) = units["namespace:team-d"]
    assert team_d.status is Status.ERROR and "dumps/c.json:1" in team_d.message
    assert [f.status for f in units["namespace:team-c"]] == [Status.ERROR]
    assert [f.status for f in units["namespace:team-a"]] == [Status.ERROR]
    assert Status.ERROR not in {f.status for f in units["namespace:team-b"]}


def test_an_error_is_charged_by_its_directory(tmp_path: Path) -> None:
    root = two_namespaces(tmp_path)
    write(root, "team-a/06-bad.json", "{")  # beside team-a's objects
    write(root, "namespaces/team-b/extra/x.yaml", "kind: [\n")  # a folder named like a namespace
    assert charged(root) == {"team-a/06-bad.json": ["team-a"], "namespaces/team-b/extra/x.yaml": ["team-b"]}


def test_an_error_nothing_places_belongs_to_the_cluster(tmp_path: Path) -> None:
    root = two_namespaces(tmp_path)
    write(root, "misc/broken.yaml", "kind: [\n")
    write(
        root,
        "kube-system/ds.yaml",
        "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {namespace: kube-system}\n",
    )
    assert charged(root) == {"misc/broken.yaml": [], "kube-system/ds.yaml": ["kube-system"]}
    inventory = collect(root)
    inputs = {"system_namespaces": ["kube-system"]}
    (unit,) = get_kind("cluster").scopes["cluster"](inventory, inputs)
    # charged to no namespace, or only to one no namespace check assesses: the cluster unit carries it
    assert sorted(e.path for e in unit.errors) == ["kube-system/ds.yaml", "misc/broken.yaml"]
    units = get_kind("cluster").scopes["namespace"](inventory, inputs)
    assert [u.errors for u in units] == [[], []]
    (whole,) = get_kind("cluster").scopes["input"](inventory, inputs)
    assert whole.errors == [] and len(whole.data.errors) == 2  # K8S-INPUT-001 lists every error


def test_a_broken_object_is_charged_to_its_own_namespace(tmp_path: Path) -> None:
    root = two_namespaces(tmp_path)
    write(root, "all.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: team-b}\n")
    assert charged(root) == {"all.yaml": ["team-b"]}
    (finding,) = run("K8S-NET-001", root)["namespace:team-b"]
    assert (
        finding.status is Status.ERROR
        and "all.yaml:1: document 1: ConfigMap has no metadata.name" in finding.message
    )
