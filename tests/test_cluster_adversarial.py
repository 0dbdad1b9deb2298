"""Inputs an adversarial tester used to make the cluster kind report compliance it had not assessed, or
leak: conflicting copies, NetworkPolicies and workloads of other API groups, ephemeral containers of
owned Pods, pod templates of unknown kinds, empty required metadata, lower-case kinds and Kitemark's
own report folder inside the target."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.core.redaction import marker
from kitemark.core.resources import OUTPUT_MARKER, own_output
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.cluster.view import KObject, NamespaceView
from kitemark.testing import compliant_namespace as namespace
from kitemark.testing import run_check

UNIT = "cluster:t/namespace:team-a"
CP = "cloud-platform.justice.gov.uk/"
NON_ROOT = {"runAsNonRoot": True, "runAsUser": 1000}
GOOD_POD = {"securityContext": NON_ROOT, "containers": [{"name": "app", "image": "app:1"}]}
PRIVILEGED_POD = {"containers": [{"name": "app", "image": "app:1", "securityContext": {"privileged": True}}]}


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def dump(root: Path, *objects: dict[str, Any], name: str = "objects.json") -> Path:
    (root / name).write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))
    return root


def collect(root: Path) -> dict[str, Any]:
    return json.loads(json.dumps(cluster.collect(TargetSpec("cluster", "snap", str(root)))))


def findings_of(check_id: str, root: Path, inputs: dict[str, Any] | None = None) -> dict[str, Finding]:
    return {f.resource: f for f in run_check(check_id, root, inputs=inputs)[UNIT]}


def obj(api: str, kind: str, name: str, ns: str = "team-a", **fields: Any) -> dict[str, Any]:
    metadata = {"name": name, "namespace": ns, **fields.pop("metadata", {})}
    return {"apiVersion": api, "kind": kind, "metadata": metadata, **fields}


def deployment(name: str, pod_spec: dict[str, Any], api: str = "apps/v1", kind: str = "Deployment") -> dict:
    return obj(api, kind, name, spec={"template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}})


def owner(api: str, kind: str, name: str) -> dict[str, Any]:
    return {
        "metadata": {"ownerReferences": [{"apiVersion": api, "kind": kind, "name": name, "controller": True}]}
    }


# --- 1. conflicting copies -------------------------------------------------------------------------

DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team-a-dev}
spec:
  template:
    spec:
      containers:
        - name: app
          image: app:1
          securityContext: {privileged: PRIVILEGED}
"""


def test_conflicting_copies_are_an_input_error_charged_to_the_objects_namespace(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", DEPLOY.replace("PRIVILEGED", "false"))
    write(tmp_path, "b.yaml", DEPLOY.replace("PRIVILEGED", "false"))  # identical: de-duplicated
    # The later copy sits in a file beside another namespace's object: that namespace is not charged.
    write(
        tmp_path,
        "zz.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: team-b}\n---\n"
        + textwrap.dedent(DEPLOY).lstrip("\n").replace("PRIVILEGED", "true"),
    )
    inventory = collect(tmp_path)
    assert inventory["duplicates"] == [
        {"object": "Deployment/team-a-dev/web", "kept": "a.yaml:1", "ignored": "b.yaml:1"}
    ]
    assert inventory["errors"] == [
        {
            "path": "zz.yaml",
            "line": 5,
            "message": "conflicting copies of Deployment/team-a-dev/web: a.yaml:1 and zz.yaml:5",
            "namespaces": ["team-a-dev"],
        }
    ]
    pod = run_check("K8S-POD-001", tmp_path)
    (finding,) = pod["cluster:t/namespace:team-a-dev"]
    assert finding.status is Status.ERROR and "conflicting copies" in finding.message
    assert [f.status for f in pod["cluster:t/namespace:team-b"]] == [Status.NOT_APPLICABLE]
    (reported,) = run_check("K8S-INPUT-001", tmp_path)["cluster:t/input"]
    assert reported.status is Status.ERROR
    assert (
        reported.message
        == "zz.yaml:5: conflicting copies of Deployment/team-a-dev/web: a.yaml:1 and zz.yaml:5"
    )


def test_conflicting_namespace_and_cluster_scoped_copies(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {x: '1'}}\n")
    write(tmp_path, "b.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, labels: {x: '2'}}\n")
    write(
        tmp_path,
        "team-a/c.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\n",
    )
    write(
        tmp_path,
        "team-a/d.yaml",
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules: []\n",
    )
    errors = {e["message"]: e["namespaces"] for e in collect(tmp_path)["errors"]}
    assert errors == {
        "conflicting copies of Namespace/team-a: a.yaml:1 and b.yaml:1": ["team-a"],
        # cluster-scoped: charged to the cluster, not to the folder's namespace
        "conflicting copies of ClusterRole/r: team-a/c.yaml:1 and team-a/d.yaml:1": [],
    }


def test_secret_copies_differing_only_in_values_do_not_leak_them(tmp_path: Path) -> None:
    secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: team-a}\ndata: {k: VALUE}\n"
    write(tmp_path, "a.yaml", secret.replace("VALUE", "c2VjcmV0LW9uZQ=="))
    write(tmp_path, "b.yaml", secret.replace("VALUE", "c2VjcmV0LXR3bw=="))
    inventory = collect(tmp_path)
    text = json.dumps(inventory)
    assert "c2VjcmV0" not in text
    # The markers of different values differ: which copy is the cluster's is unknowable, so the
    # copies conflict, and the message names the files, never a value.
    assert [e["message"] for e in inventory["errors"]] == [
        "conflicting copies of Secret/team-a/s: a.yaml:1 and b.yaml:1"
    ]
    assert inventory["duplicates"] == []


# --- 2. API groups ----------------------------------------------------------------------------------

DENY = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": [{"from": [{"podSelector": {}}]}]}


@pytest.mark.parametrize(
    ("api", "group"),
    [("projectcalico.org/v3", "projectcalico.org"), ("crd.antrea.io/v1beta1", "crd.antrea.io")],
)
def test_net_network_policy_of_another_group_does_not_pass(tmp_path: Path, api: str, group: str) -> None:
    calico = obj(api, "NetworkPolicy", "default-deny", spec={"types": ["Ingress"]})
    finding = findings_of("K8S-NET-001", dump(tmp_path, namespace(), calico))["Namespace/team-a"]
    assert finding.status is Status.FAILED
    assert f"1 NetworkPolicy of {group} is not assessed by this check" in finding.message
    assert finding.evidence["policies"] == []
    assert finding.evidence["not_assessed"] == [
        {
            "name": "default-deny",
            "apiVersion": api,
            "reason": f"a NetworkPolicy of {group}, not networking.k8s.io",
        }
    ]


def test_net_pass_still_names_the_policies_it_did_not_assess(tmp_path: Path) -> None:
    calico = obj("projectcalico.org/v3", "NetworkPolicy", "allow-all", spec={})
    k8s = obj("networking.k8s.io/v1", "NetworkPolicy", "default", spec=DENY)
    finding = findings_of("K8S-NET-001", dump(tmp_path, namespace(), calico, k8s))["Namespace/team-a"]
    assert finding.status is Status.PASSED
    assert "1 NetworkPolicy of projectcalico.org is not assessed by this check" in finding.message
    assert [p["name"] for p in finding.evidence["policies"]] == ["default"]


def test_view_matches_kinds_with_their_group(tmp_path: Path) -> None:
    objects = [
        KObject(obj("networking.k8s.io/v1", "NetworkPolicy", "k8s")),
        KObject(obj("projectcalico.org/v3", "NetworkPolicy", "calico")),
        KObject(obj("extensions/v1beta1", "NetworkPolicy", "old")),
        KObject({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
    ]
    view = NamespaceView("c", "team-a", None, tuple(objects))
    assert [o.name for o in view.network_policies] == ["k8s", "old"]
    assert [o.name for o in view.of_kind("networking.k8s.io/NetworkPolicy")] == ["k8s"]
    assert [o.name for o in view.of_kind("v1/Namespace")] == ["team-a"]
    assert objects[1].group == "projectcalico.org" and objects[3].group == ""
    with pytest.raises(ValueError, match="group/Kind"):
        view.of_kind("NetworkPolicy")


def test_pod_deployment_of_another_group_is_assessed_under_a_qualified_name(tmp_path: Path) -> None:
    ours = deployment("web", GOOD_POD)
    theirs = deployment("web", PRIVILEGED_POD, api="example.com/v1")
    findings = findings_of("K8S-POD-001", dump(tmp_path, namespace(), ours, theirs))
    assert findings["Deployment/team-a/web"].status is Status.PASSED
    other = findings["Deployment.example.com/team-a/web"]
    assert other.status is Status.FAILED and "is privileged" in other.message
    assert other.evidence["pod_template"] == "spec.template.spec"


# --- 3. containers owned Pods add: ephemeral, injected at admission -----------------------------------


def test_pod_ephemeral_container_of_an_owned_pod_is_assessed_with_its_owner(tmp_path: Path) -> None:
    debugged = {
        **GOOD_POD,
        "ephemeralContainers": [
            {"name": "debugger", "image": "busybox", "securityContext": {"privileged": True}}
        ],
    }
    objects = [
        namespace(),
        deployment("web", GOOD_POD),
        obj(
            "apps/v1",
            "ReplicaSet",
            "web-5d8f7",
            spec={"template": {"spec": GOOD_POD}},
            **owner("apps/v1", "Deployment", "web"),
        ),
        obj("v1", "Pod", "web-5d8f7-x2kqp", spec=debugged, **owner("apps/v1", "ReplicaSet", "web-5d8f7")),
        obj("v1", "Pod", "web-5d8f7-b7mzt", spec=GOOD_POD, **owner("apps/v1", "ReplicaSet", "web-5d8f7")),
    ]
    findings = findings_of("K8S-POD-001", dump(tmp_path, *objects))
    assert list(findings) == ["Deployment/team-a/web"]  # no pod hash in any identity
    finding = findings["Deployment/team-a/web"]
    assert finding.status is Status.FAILED
    assert "ephemeralContainer 'debugger' of Pod 'web-5d8f7-x2kqp' is privileged" in finding.message
    (ephemeral,) = finding.evidence["added"]
    assert ephemeral["object"] == "Pod/team-a/web-5d8f7-x2kqp"
    assert [c["name"] for c in ephemeral["containers"]] == ["debugger"]

    restricted = findings_of("K8S-POD-002", tmp_path)["Deployment/team-a/web"]
    assert restricted.status is Status.FAILED
    assert "ephemeralContainer 'debugger' of Pod 'web-5d8f7-x2kqp' does not set allowPrivilegeEscalation" in (
        restricted.message
    )


def test_pod_owned_pod_without_ephemeral_containers_still_defers_to_its_owner(tmp_path: Path) -> None:
    objects = [
        namespace(),
        deployment("web", GOOD_POD),
        obj("v1", "Pod", "web-x", spec=PRIVILEGED_POD, **owner("apps/v1", "Deployment", "web")),
    ]
    findings = findings_of("K8S-POD-001", dump(tmp_path, *objects))
    assert list(findings) == ["Deployment/team-a/web"]
    assert findings["Deployment/team-a/web"].status is Status.PASSED
    assert "added" not in findings["Deployment/team-a/web"].evidence


def test_containers_added_to_an_owned_pod_at_admission_are_assessed_with_its_owner(tmp_path: Path) -> None:
    # A mesh injects an init container and a sidecar the Deployment's template does not hold.
    injected = {
        **GOOD_POD,
        "initContainers": [
            {"name": "istio-init", "image": "proxy", "securityContext": {"privileged": True, "runAsUser": 0}}
        ],
        "containers": [*GOOD_POD["containers"], {"name": "istio-proxy", "image": "proxy"}],
    }
    objects = [
        namespace(),
        deployment("web", GOOD_POD),
        obj("v1", "Pod", "web-x", spec=injected, **owner("apps/v1", "Deployment", "web")),
    ]
    findings = findings_of("K8S-POD-001", dump(tmp_path, *objects))
    assert list(findings) == ["Deployment/team-a/web"]
    finding = findings["Deployment/team-a/web"]
    assert finding.status is Status.FAILED
    assert "initContainer 'istio-init' of Pod 'web-x' is privileged" in finding.message
    (added,) = finding.evidence["added"]
    # only what the template lacks: its own container 'app' is the template's
    assert sorted(c["name"] for c in added["containers"]) == ["istio-init", "istio-proxy"]


def test_pod_owner_reference_loop_hides_no_workload(tmp_path: Path) -> None:
    # Each ReplicaSet names the other as its controller: deferring to the owner would assess neither.
    template = {"template": {"spec": PRIVILEGED_POD}}
    a = obj("apps/v1", "ReplicaSet", "a", spec=template, **owner("apps/v1", "ReplicaSet", "b"))
    b = obj("apps/v1", "ReplicaSet", "b", spec=template, **owner("apps/v1", "ReplicaSet", "a"))
    findings = findings_of("K8S-POD-001", dump(tmp_path, namespace(), a, b))
    assert sorted(findings) == ["ReplicaSet/team-a/a", "ReplicaSet/team-a/b"]
    assert all(f.status is Status.FAILED for f in findings.values())


# --- 4. pod templates of kinds Kitemark does not know --------------------------------------------


def test_pod_custom_resource_with_a_pod_template_is_assessed(tmp_path: Path) -> None:
    rollout = deployment("api", PRIVILEGED_POD, api="argoproj.io/v1alpha1", kind="Rollout")
    owned = obj(
        "apps/v1",
        "ReplicaSet",
        "api-6c4d5",
        spec={"template": {"spec": PRIVILEGED_POD}},
        **owner("argoproj.io/v1alpha1", "Rollout", "api"),
    )
    findings = findings_of("K8S-POD-001", dump(tmp_path, namespace(), rollout, owned))
    assert list(findings) == ["Rollout/team-a/api"]  # its ReplicaSet defers to it, as to a Deployment
    finding = findings["Rollout/team-a/api"]
    assert finding.status is Status.FAILED and "container 'app' is privileged" in finding.message
    assert finding.evidence["pod_template"] == "spec.template.spec"


def test_pod_core_pod_template_is_assessed(tmp_path: Path) -> None:
    template = obj("v1", "PodTemplate", "base", template={"spec": PRIVILEGED_POD})
    finding = findings_of("K8S-POD-001", dump(tmp_path, namespace(), template))["PodTemplate/team-a/base"]
    assert finding.status is Status.FAILED
    assert finding.evidence["pod_template"] == "template.spec"


def test_pod_custom_resource_holding_containers_elsewhere_is_listed_as_not_assessed(tmp_path: Path) -> None:
    workflow = obj(
        "argoproj.io/v1alpha1",
        "Workflow",
        "build",
        spec={
            "templates": [
                {"name": "main", "container": {"image": "app:1", "securityContext": {"privileged": True}}}
            ]
        },
    )
    unrelated = obj("cert-manager.io/v1", "Certificate", "tls", spec={"secretName": "tls"})
    findings = findings_of(
        "K8S-POD-001", dump(tmp_path, namespace(), deployment("web", GOOD_POD), workflow, unrelated)
    )
    assert sorted(findings) == ["Deployment/team-a/web", "Workflow/team-a/build"]
    finding = findings["Workflow/team-a/build"]
    assert finding.status is Status.ERROR
    assert "spec.templates[0].container" in finding.message and "not assessed" in finding.message


def test_pod_custom_resource_template_without_containers_is_not_a_workload(tmp_path: Path) -> None:
    # cluster-api's MachineDeployment has spec.template.spec too, but it is a Machine, not a pod
    machines = obj(
        "cluster.x-k8s.io/v1beta1", "MachineDeployment", "md", spec={"template": {"spec": {"version": "1"}}}
    )
    (finding,) = findings_of("K8S-POD-001", dump(tmp_path, namespace(), machines)).values()
    assert finding.status is Status.NOT_APPLICABLE


# --- 5. nothing required -----------------------------------------------------------------------------


def test_ns_nothing_required_is_not_applicable_not_a_pass(tmp_path: Path) -> None:
    inputs = {"namespace_labels": {}, "namespace_annotations": {}}
    finding = findings_of("K8S-NS-001", dump(tmp_path, namespace()), inputs)["Namespace/team-a"]
    assert finding.status is Status.NOT_APPLICABLE
    assert finding.message == (
        "no labels or annotations are required (inputs namespace_labels and namespace_annotations are empty)"
    )


# --- 6. lower-case kinds -----------------------------------------------------------------------------

LEAK = "bG93ZXItY2FzZS1zZWNyZXQ="


def test_lower_case_kinds_are_input_errors_and_never_leak(tmp_path: Path) -> None:
    write(
        tmp_path,
        "team-a/app.yaml",
        f"""
        apiVersion: v1
        kind: secret
        metadata: {{name: db, namespace: team-a}}
        data: {{password: {LEAK}}}
        ---
        apiVersion: apps/v1
        kind: deployment
        metadata: {{name: web, namespace: team-a}}
        ---
        apiVersion: networking.k8s.io/v1
        kind: networkpolicy
        metadata: {{name: p, namespace: team-a}}
        """,
    )
    inventory = collect(tmp_path)
    assert LEAK not in json.dumps(inventory)
    assert [(e["path"], e["line"], e["message"], e["namespaces"]) for e in inventory["errors"]] == [
        (
            "team-a/app.yaml",
            1,
            "document 1: kind 'secret' is not a Kubernetes kind: kinds are CamelCase (Secret)",
            ["team-a"],
        ),
        (
            "team-a/app.yaml",
            6,
            "document 2: kind 'deployment' is not a Kubernetes kind: kinds are CamelCase (Deployment)",
            ["team-a"],
        ),
        (
            "team-a/app.yaml",
            10,
            "document 3: kind 'networkpolicy' is not a Kubernetes kind: kinds are CamelCase (NetworkPolicy)",
            ["team-a"],
        ),
    ]
    assert inventory["objects"] == []


def test_a_lower_case_kind_is_read_only_in_a_custom_resources_group(tmp_path: Path) -> None:
    """A CRD's kind may be lower case (Gatekeeper constraint kinds are a template author's choice);
    Kubernetes' own groups (core, `apps`, `*.k8s.io`, `*.kubernetes.io`) keep refusing one."""
    write(
        tmp_path,
        "objects.yaml",
        """
        apiVersion: constraints.gatekeeper.sh/v1beta1
        kind: k8sservicetypeloadbalancer
        metadata: {name: k8sservicetypeloadbalancer}
        ---
        apiVersion: example.com/v1
        kind: widget
        metadata: {name: w, namespace: team-a}
        ---
        apiVersion: v1
        kind: pod
        metadata: {name: p, namespace: team-a}
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: gateway
        metadata: {name: g, namespace: team-a}
        ---
        apiVersion: example.com/v1
        kind: not_a_kind
        metadata: {name: x, namespace: team-a}
        """,
    )
    inventory = collect(tmp_path)
    assert [(o["kind"], o["metadata"]["name"]) for o in inventory["objects"]] == [
        ("k8sservicetypeloadbalancer", "k8sservicetypeloadbalancer"),
        ("widget", "w"),
    ]
    assert [(e["line"], e["message"]) for e in inventory["errors"]] == [
        (9, "document 3: kind 'pod' is not a Kubernetes kind: kinds are CamelCase (Pod)"),
        (13, "document 4: kind 'gateway' is not a Kubernetes kind: kinds are CamelCase (Gateway)"),
        (17, "document 5: kind 'not_a_kind' is not a Kubernetes kind: kinds are letters (Notakind)"),
    ]


def test_secret_values_are_redacted_whatever_the_kinds_case(tmp_path: Path) -> None:
    write(
        tmp_path,
        "s.yaml",
        f"apiVersion: v1\nkind: SECRET\nmetadata: {{name: s, namespace: team-a}}\ndata: {{k: {LEAK}}}\n",
    )
    inventory = collect(tmp_path)
    assert LEAK not in json.dumps(inventory)
    (secret,) = inventory["objects"]
    assert secret["data"] == {"k": marker(LEAK)}


# --- 7. Kitemark's own report folder ------------------------------------------------------------------


def test_report_folders_inside_the_target_are_not_read(tmp_path: Path) -> None:
    dump(tmp_path, namespace())
    for folder in ("kitemark-reports", "nested/older-run"):
        write(tmp_path, f"{folder}/{OUTPUT_MARKER}", "")
        write(tmp_path, f"{folder}/results.json", json.dumps({"schema": 2, "results": []}))
        write(
            tmp_path,
            f"{folder}/inventory/cluster.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
        )
    write(tmp_path, "not-a-report/results.json", json.dumps({"schema": 2}))  # no marker: read as usual
    own_output(tmp_path / "kitemark-reports")  # this run's --out: skipped without a word
    inventory = collect(tmp_path)
    assert inventory["files"] == ["not-a-report/results.json", "objects.json"]
    assert [o["metadata"]["name"] for o in inventory["objects"]] == ["team-a"]
    assert [s["path"] for s in inventory["skipped"]] == ["not-a-report/results.json"]
    # Another report folder is not read either, but it is an input error: a marker file must not hide
    # part of a target from assessment.
    assert [(e["path"], "report folder" in e["message"]) for e in inventory["errors"]] == [
        ("nested/older-run", True)
    ]


# --- malformed fields are never read as empty --------------------------------------------------------


def test_an_ingress_that_is_not_a_list_is_no_default_deny(tmp_path: Path) -> None:
    spec = {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": {"from": [{"namespaceSelector": {}}]}}
    policy = obj("networking.k8s.io/v1", "NetworkPolicy", "looks-like-deny", spec=spec)
    finding = findings_of("K8S-NET-001", dump(tmp_path, namespace(), policy))["Namespace/team-a"]
    assert finding.status is Status.ERROR, finding
    assert "NetworkPolicy 'looks-like-deny' cannot be read" in finding.message
    assert "spec.ingress (a dict, not a list)" in finding.message


@pytest.mark.parametrize(
    ("pod", "words"),
    [
        ({**GOOD_POD, "volumes": {"host": {"hostPath": {"path": "/"}}}}, "pod volumes is not a list"),
        (
            {**GOOD_POD, "containers": [{"name": "app", "image": "a", "ports": {"hostPort": 80}}]},
            "ports is not a list",
        ),
    ],
)
def test_a_restricted_field_that_is_not_a_list_fails(tmp_path: Path, pod: dict[str, Any], words: str) -> None:
    finding = findings_of("K8S-POD-002", dump(tmp_path, namespace(), deployment("web", pod)))
    assert finding["Deployment/team-a/web"].status is Status.FAILED
    assert words in finding["Deployment/team-a/web"].message


def test_containers_that_are_not_a_list_are_an_error_not_passed_over(tmp_path: Path) -> None:
    pod = {**GOOD_POD, "initContainers": {"name": "init", "securityContext": {"privileged": True}}}
    root = dump(tmp_path, namespace(), deployment("web", pod))
    for check_id in ("K8S-POD-001", "K8S-POD-002"):
        finding = findings_of(check_id, root)["Deployment/team-a/web"]
        assert finding.status is Status.ERROR, finding
        assert "spec.template.spec.initContainers" in finding.message


def test_a_policy_selector_that_cannot_be_read_is_an_error_not_a_deny(tmp_path: Path) -> None:
    spec = {"podSelector": {"matchExpressions": "app Exists"}, "policyTypes": ["Ingress"]}
    policy = obj("networking.k8s.io/v1", "NetworkPolicy", "odd", spec=spec)
    [finding] = findings_of("K8S-NET-001", dump(tmp_path, namespace(), policy)).values()
    assert finding.status is Status.ERROR
    assert "spec.podSelector.matchExpressions (a str, not a list)" in finding.message
