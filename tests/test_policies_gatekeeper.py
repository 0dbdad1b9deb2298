"""Gatekeeper ``gator verify`` suites: discovery, review input, match, assertions, inventory, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec, Unit
from kitemark.core.model import Finding, Status
from kitemark.core.resources import demo_dir
from kitemark.engines import gatekeeper as G
from kitemark.targets.policies import collect as P
from kitemark.testing import scope_units
from kitemark.testing import write_files as write

load_checks()


# Reports what it was given, so tests can see the input Kitemark builds.
PROBE_TEMPLATE = """apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sprobe
spec:
  crd:
    spec:
      names:
        kind: K8sProbe
      validation:
        openAPIV3Schema:
          type: object
          properties:
            tag:
              type: string
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sprobe

        violation[{"msg": msg}] {
          r := input.review
          msg := sprintf("op=%v user=%v ns=%v gvk=%v/%v/%v name=%v object=%v tag=%v", [
            r.operation, object.get(r.userInfo, "username", "-"), object.get(r, "namespace", "-"),
            r.kind.group, r.kind.version, r.kind.kind, r.name, r.object.metadata.name,
            object.get(input.parameters, "tag", "-"),
          ])
        }
"""

REQUIRED_LABEL_TEMPLATE = """apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8srequiredteam
spec:
  crd:
    spec:
      names:
        kind: K8sRequiredTeam
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8srequiredteam

        violation[{"msg": msg}] {
          not input.review.object.metadata.labels.team
          r := input.review
          msg := sprintf("%v %v has no team label", [r.kind.kind, r.object.metadata.name])
        }

        violation[{"msg": msg}] {
          input.review.object.metadata.labels.team == ""
          msg := "team label is empty"
        }

        violation[{"msg": msg}] {
          not input.review.object.metadata.labels.owner
          msg := "owner label missing"
        }
"""


def pod(name: str, ns: str = "team-a", labels: str = "") -> str:
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {ns}\n  labels: {{{labels}}}\n"
    )


def constraint(kind: str, match: str = "", parameters: str = "") -> str:
    text = f"apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata:\n  name: c\nspec:\n"
    text += f"  match:\n{match}" if match else "  match: {}\n"
    return text + (f"  parameters:\n{parameters}" if parameters else "")


def suite(tests: str) -> str:
    return f"kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: s\ntests:\n{tests}"


def units(root: Path) -> list[Unit]:
    return scope_units("policies.gatekeeper-case", [P.collect(TargetSpec("policies", "t", str(root)))])


def run(unit: Unit) -> list[Finding]:
    return evaluate(check_function("GK-SUITE-001"), unit)


def results(root: Path) -> dict[str, Finding]:
    out = {}
    for unit in units(root):
        [finding] = run(unit)
        out[unit.id.split("#", 1)[1]] = finding
    return out


# ------------------------------------------------------------------------------------------- discovery


def test_discovers_suites_with_paths_relative_to_the_suite_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "shared/template.yaml": REQUIRED_LABEL_TEMPLATE,
            "team/suite.yaml": suite(
                "  - name: labels\n"
                "    template: ../shared/template.yaml\n"
                "    constraint: samples/constraint.yaml\n"
                "    cases:\n"
                "      - name: ok\n"
                "        object: samples/ok.yaml\n"
                "        inventory: [samples/inv.yaml]\n"
                "        assertions: [{violations: no}]\n"
            ),
            "team/samples/constraint.yaml": constraint("K8sRequiredTeam"),
            "team/samples/ok.yaml": pod("a", labels="team: a, owner: b"),
            "team/samples/inv.yaml": pod("b") + "---\n" + pod("c"),
            "team/not-a-suite.yaml": "kind: Suite\napiVersion: other/v1\n",
        },
    )
    inv = P.collect(TargetSpec("policies", "t", str(tmp_path)))
    [found] = inv["suites"]
    assert found["path"] == "team/suite.yaml" and found["name"] == "s"
    [test] = found["tests"]
    assert (test["template"], test["template_path"]) == ("../shared/template.yaml", "shared/template.yaml")
    assert test["constraint_path"] == "team/samples/constraint.yaml"
    [case] = test["cases"]
    assert case["object_path"] == "team/samples/ok.yaml" and case["inventory_paths"] == [
        "team/samples/inv.yaml"
    ]
    assert case["assertions"] == [{"violations": False}]  # YAML 1.1 `no`, read back as "no"
    assert case["line"] == 10
    assert inv["templates"]["shared/template.yaml"]["kind"] == "K8sRequiredTeam"
    assert inv["templates"]["shared/template.yaml"]["package"] == ["k8srequiredteam"]
    assert len(inv["objects"]["team/samples/inv.yaml"]["documents"]) == 2
    assert [u.id for u in scope_units("policies.gatekeeper-case", [inv])] == [
        "policies:t/team/suite.yaml#labels/ok"
    ]


# ------------------------------------------------------------------------------------------ assertions


@pytest.mark.parametrize(
    ("raw", "messages", "ok"),
    [
        ({"violations": "yes"}, ["a"], True),
        ({"violations": True}, [], False),  # unquoted `yes`
        ({}, ["a"], True),  # violations defaults to yes
        ({"violations": "no"}, [], True),
        ({"violations": False}, ["a"], False),
        ({"violations": 2}, ["a", "b"], True),
        ({"violations": 2}, ["a"], False),
        ({"violations": 0}, [], True),
        ({"violations": 1, "message": "team"}, ["no team label", "owner missing"], True),
        ({"violations": "yes", "message": "^owner"}, ["no team label", "owner missing"], True),
        ({"violations": "yes", "message": "quota"}, ["no team label"], False),
        ({"violations": "no", "message": "team"}, ["owner missing"], True),
        ({"violations": "no", "message": "a[b"}, [], True),  # no violation: the regex is never compiled
    ],
)
def test_assertions(raw: dict[str, Any], messages: list[str], ok: bool) -> None:
    assertion = G.parse_assertion(raw)
    assert (assertion.check([{"msg": m} for m in messages]) is None) is ok


@pytest.mark.parametrize("raw", [{"violations": -1}, {"violations": "maybe"}, {"violations": "2"}, "yes"])
def test_invalid_assertions_are_refused(raw: Any) -> None:
    with pytest.raises(G.CaseError):
        G.parse_assertion(raw)


def test_suite_cases_pass_and_fail_on_their_assertions(tmp_path: Path) -> None:
    cases = {
        "both-labels": ("team: a, owner: b", "[{violations: no}]"),
        "no-labels": ("", "[{violations: 2}, {violations: 1, message: 'Pod bad has no team'}]"),
        "empty-team": ('team: "", owner: b', "[{violations: yes, message: empty}]"),
        "wrong-count": ("", "[{violations: 1}]"),
        "wrong-message": ("owner: b", "[{violations: yes, message: quota}]"),
    }
    files = {"template.yaml": REQUIRED_LABEL_TEMPLATE, "constraint.yaml": constraint("K8sRequiredTeam")}
    text = "  - name: labels\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
    for name, (labels, assertions) in cases.items():
        files[f"{name}.yaml"] = pod("bad", labels=labels)
        text += f"      - name: {name}\n        object: {name}.yaml\n        assertions: {assertions}\n"
    files["suite.yaml"] = suite(text)
    found = results(write(tmp_path, files))
    assert {k: f.status for k, f in found.items()} == {
        "labels/both-labels": Status.PASSED,
        "labels/no-labels": Status.PASSED,
        "labels/empty-team": Status.PASSED,
        "labels/wrong-count": Status.FAILED,
        "labels/wrong-message": Status.FAILED,
    }
    wrong = found["labels/wrong-count"]
    assert wrong.message == "expected exactly 1 violation(s), got 2"
    assert wrong.resource == "suite.yaml#labels/wrong-count"
    assert wrong.where == "suite.yaml:19"
    assert wrong.evidence["expected"] == ["violations: 1"]
    assert wrong.evidence["actual"]["violations"] == 2
    assert sorted(wrong.evidence["actual"]["messages"]) == [
        "Pod bad has no team label",
        "owner label missing",
    ]
    assert found["labels/wrong-message"].message == "expected at least 1 violation matching 'quota', got 0"


# ------------------------------------------------------------------------------------------ the review


def probe(tmp_path: Path, obj: str, match: str = "", parameters: str = "", inventory: str = "") -> Finding:
    files = {
        "template.yaml": PROBE_TEMPLATE,
        "constraint.yaml": constraint("K8sProbe", match, parameters),
        "object.yaml": obj,
    }
    inv_line = ""
    if inventory:
        files["inventory.yaml"] = inventory
        inv_line = "        inventory: [inventory.yaml]\n"
    files["suite.yaml"] = suite(
        "  - name: probe\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
        f"      - name: c\n        object: object.yaml\n{inv_line}        assertions: [{{violations: yes}}]\n"
    )
    [finding] = results(write(tmp_path, files)).values()
    return finding


def test_plain_object_review_is_built_like_gatekeeper(tmp_path: Path) -> None:
    obj = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: team-a\n"
    finding = probe(tmp_path, obj, parameters="    tag: t1\n")
    assert finding.status == Status.PASSED
    # gator sets no operation or user for a plain object (Go zero values: "" and {}).
    assert finding.evidence["actual"]["messages"] == [
        "op= user=- ns=team-a gvk=apps/v1/Deployment name=web object=web tag=t1"
    ]


def test_admission_review_object_uses_its_request(tmp_path: Path) -> None:
    review = """apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  uid: abc
  kind: {group: "", version: v1, kind: Namespace}
  name: team-a
  operation: UPDATE
  userInfo: {username: alice@example.gov.uk, groups: ["github:team-a"]}
  object: {apiVersion: v1, kind: Namespace, metadata: {name: team-a}}
  oldObject: {apiVersion: v1, kind: Namespace, metadata: {name: team-a, labels: {x: y}}}
"""
    finding = probe(tmp_path, review)
    assert finding.evidence["actual"]["messages"] == [
        "op=UPDATE user=alice@example.gov.uk ns=- gvk=/v1/Namespace name=team-a object=team-a tag=-"
    ]


def test_admission_review_delete_reviews_the_old_object(tmp_path: Path) -> None:
    review = """apiVersion: admission.k8s.io/v1
kind: AdmissionReview
request:
  kind: {group: "", version: v1, kind: ServiceAccount}
  name: deployer
  namespace: team-a
  operation: DELETE
  userInfo: {username: bob}
  oldObject: {apiVersion: v1, kind: ServiceAccount, metadata: {name: deployer, namespace: team-a}}
"""
    finding = probe(tmp_path, review)
    assert finding.status == Status.PASSED
    assert finding.evidence["actual"]["messages"][0].startswith("op=DELETE user=bob ns=team-a")


def test_admission_review_without_request_is_an_error(tmp_path: Path) -> None:
    finding = probe(tmp_path, "apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n")
    assert finding.status == Status.ERROR and "no request" in finding.message


def test_unmatched_object_has_no_violations(tmp_path: Path) -> None:
    obj = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: team-a\n"
    match = '    kinds:\n      - apiGroups: [""]\n        kinds: [Pod]\n'
    finding = probe(tmp_path, obj, match=match)
    assert finding.status == Status.FAILED  # the probe always violates, but the constraint does not apply
    assert finding.evidence["actual"] == {"matched": False, "violations": 0, "messages": []}


def test_inventory_is_synced_like_gatekeeper() -> None:
    docs = [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"name": "web", "namespace": "a"},
        },
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}},
        {
            "kind": "List",
            "items": [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"}}],
        },
    ]
    tree = G.inventory_tree(docs)
    assert tree["namespace"]["a"]["networking.k8s.io/v1"]["Ingress"]["web"] is docs[0]
    assert tree["namespace"]["a"]["v1"]["Pod"]["p"]["kind"] == "Pod"
    assert tree["cluster"]["v1"]["Namespace"]["a"] is docs[1]


def test_inventory_based_template_in_the_demo_catches_and_misses_as_designed() -> None:
    found = results(demo_dir() / "policies")
    assert {k: f.status for k, f in found.items()} == {
        "unique-host/unique-host-allowed": Status.PASSED,
        "unique-host/host-used-in-other-namespace": Status.PASSED,
        "unique-host/same-name-in-other-namespace": Status.FAILED,
    }
    assert found["unique-host/host-used-in-other-namespace"].evidence["actual"]["messages"] == [
        "ingress host team-a.apps.example.gov.uk is already used by ingress team-a/web"
    ]


# ---------------------------------------------------------------------------------------------- match

NS_OBJ = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": {"a": "1"}}}
POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "team-a", "labels": {"app": "web"}},
}
CLUSTER_ROLE = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "ClusterRole",
    "metadata": {"name": "x"},
}
DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "team-a"}}


@pytest.mark.parametrize(
    ("match", "obj", "expected"),
    [
        ({}, POD, True),
        ({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}, POD, True),
        ({"kinds": [{"apiGroups": [""], "kinds": ["Pod"]}]}, DEPLOY, False),
        ({"kinds": [{"apiGroups": ["apps"], "kinds": ["Pod", "Deployment"]}]}, DEPLOY, True),
        ({"kinds": [{"apiGroups": ["*"], "kinds": ["Deployment"]}]}, DEPLOY, True),
        ({"kinds": [{"apiGroups": ["apps"], "kinds": ["*"]}]}, POD, False),
        ({"namespaces": ["team-a"]}, POD, True),
        ({"namespaces": ["team-*"]}, POD, True),
        ({"namespaces": ["*-a"]}, POD, True),
        ({"namespaces": ["team-b"]}, POD, False),
        ({"namespaces": ["team-b"]}, CLUSTER_ROLE, True),  # cluster-scoped: namespaces do not apply
        ({"excludedNamespaces": ["team-*"]}, POD, False),
        ({"excludedNamespaces": ["kube-*"]}, NS_OBJ, False),  # a Namespace is in itself
        ({"excludedNamespaces": ["kube-*"]}, POD, True),
        ({"labelSelector": {"matchLabels": {"app": "web"}}}, POD, True),
        ({"labelSelector": {"matchLabels": {"app": "api"}}}, POD, False),
        (
            {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}},
            POD,
            True,
        ),
        (
            {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["web"]}]}},
            POD,
            False,
        ),
        ({"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "Exists"}]}}, POD, False),
        ({"labelSelector": {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}}, POD, True),
        ({"scope": "Namespaced"}, POD, True),
        ({"scope": "Namespaced"}, CLUSTER_ROLE, False),
        ({"scope": "Cluster"}, NS_OBJ, True),
        ({"name": "web-*"}, POD, True),
        ({"name": "api"}, POD, False),
        ({"namespaceSelector": {"matchLabels": {"a": "1"}}}, NS_OBJ, True),
        ({"namespaceSelector": {"matchLabels": {"a": "1"}}}, CLUSTER_ROLE, True),
    ],
)
def test_match(match: dict[str, Any], obj: dict[str, Any], expected: bool) -> None:
    assert G.matches(match, obj) is expected


def test_labels_are_read_as_everywhere_in_kitemark() -> None:
    # kitemark.core.labels: a label written as a YAML boolean is the string the API would hold.
    obj = {**POD, "metadata": {**POD["metadata"], "labels": {"enabled": True}}}
    assert G.matches({"labelSelector": {"matchLabels": {"enabled": "true"}}}, obj) is True
    assert G.matches({"labelSelector": {"matchLabels": {"enabled": "True"}}}, obj) is False


def test_a_selector_that_cannot_be_read_is_a_case_error() -> None:
    bogus = {"matchExpressions": [{"key": "app", "operator": "Bogus", "values": ["web"]}]}
    with pytest.raises(G.CaseError, match="unknown label selector operator 'Bogus'"):
        G.matches({"labelSelector": bogus}, POD)
    with pytest.raises(G.CaseError, match="unknown label selector operator 'Bogus'"):
        G.matches({"namespaceSelector": bogus}, NS_OBJ)
    with pytest.raises(G.CaseError, match="must be a mapping"):
        G.matches({"labelSelector": ["app=web"]}, POD)
    for malformed in (
        {"matchExpressions": ["app In (web)"]},
        {"matchExpressions": {"key": "app", "operator": "Exists"}},
        {"matchExpressions": [{"key": "app", "operator": "In", "values": "web"}]},
        {"matchLabels": ["app=web"]},
    ):  # read as fewer requirements, each would select every pod
        with pytest.raises(G.CaseError, match="label selector"):
            G.matches({"labelSelector": malformed}, POD)
    # An earlier part of the match that does not hold decides first, as in Gatekeeper.
    assert (
        G.matches({"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}], "labelSelector": bogus}, POD)
        is False
    )


def test_namespace_selector_needs_the_namespace_of_a_namespaced_object() -> None:
    selector = {"namespaceSelector": {"matchLabels": {"env": "prod"}}}
    prod = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "team-a", "labels": {"env": "prod"}},
    }
    assert G.matches(selector, POD, prod) is True
    assert G.matches(selector, POD, {"metadata": {"name": "team-a", "labels": {}}}) is False
    with pytest.raises(G.CaseError, match="add it to the case's inventory"):
        G.matches(selector, POD)


def test_namespace_selector_reads_the_namespace_from_the_case_inventory(tmp_path: Path) -> None:
    obj = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: team-a\n"
    match = "    namespaceSelector:\n      matchLabels: {env: prod}\n"
    inventory = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n  labels: {env: prod}\n"
    assert probe(tmp_path / "a", obj, match=match, inventory=inventory).status == Status.PASSED
    assert probe(tmp_path / "b", obj, match=match).status == Status.ERROR


# --------------------------------------------------------------------------------------------- errors


def base_files(**overrides: str) -> dict[str, str]:
    files = {
        "template.yaml": REQUIRED_LABEL_TEMPLATE,
        "constraint.yaml": constraint("K8sRequiredTeam"),
        "object.yaml": pod("a"),
        "suite.yaml": suite(
            "  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
            "      - name: c\n        object: object.yaml\n        assertions: [{violations: yes}]\n"
        ),
    }
    files.update(overrides)
    return files


def test_missing_template_is_an_input_error_on_the_case(tmp_path: Path) -> None:
    files = base_files()
    del files["template.yaml"]
    [finding] = results(write(tmp_path, files)).values()
    assert finding.status == Status.ERROR
    assert finding.message.startswith("template.yaml: cannot read template")


def test_template_rego_syntax_error_is_reported_at_its_line_in_the_template(tmp_path: Path) -> None:
    broken = REQUIRED_LABEL_TEMPLATE.replace('msg := "owner label missing"', "msg := ")
    inv = P.collect(
        TargetSpec("policies", "t", str(write(tmp_path, base_files(**{"template.yaml": broken}))))
    )
    [err] = inv["errors"]
    line = broken.splitlines().index("        }", broken.splitlines().index("          msg := ")) + 1
    # The parser stops at the closing brace: line and column are those of the template file.
    assert (err["path"], err["line"]) == ("template.yaml", line)
    assert err["message"] == "Rego syntax error in rego at column 9: expecting expression"
    [unit] = scope_units("policies.gatekeeper-case", [inv])
    assert run(unit)[0].status == Status.ERROR


def test_template_compile_error_is_an_input_error(tmp_path: Path) -> None:
    broken = REQUIRED_LABEL_TEMPLATE.replace('"team label is empty"', "concat(undefined_thing)")
    inv = P.collect(
        TargetSpec("policies", "t", str(write(tmp_path, base_files(**{"template.yaml": broken}))))
    )
    [err] = inv["errors"]
    text = broken.splitlines()
    assert err["line"] == next(n for n, ln in enumerate(text, 1) if "undefined_thing" in ln)
    assert err["message"].startswith("Rego compile error in rego at column 25: use of undefined variable")


def test_invalid_suite_yaml_is_one_error_unit(tmp_path: Path) -> None:
    files = base_files(**{"suite.yaml": suite("  - name: t\n    cases: [\n")})
    [unit] = units(write(tmp_path, files))
    assert unit.id == "policies:t/suite.yaml"
    [finding] = run(unit)
    assert finding.status == Status.ERROR and finding.where.startswith("suite.yaml:")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"object.yaml": pod("a") + "---\n" + pod("b")}, "must hold exactly one object, found 2"),
        ({"constraint.yaml": constraint("K8sOther")}, "is not the template's kind 'K8sRequiredTeam'"),
        ({"object.yaml": "a: [\n"}, "object.yaml:2: invalid YAML"),
        (
            {"template.yaml": "kind: ConstraintTemplate\nspec: just-a-string\n"},
            "template.yaml: template has no Rego in spec.targets[0]",
        ),
    ],
)
def test_case_errors(tmp_path: Path, overrides: dict[str, str], expected: str) -> None:
    [finding] = results(write(tmp_path, base_files(**overrides))).values()
    assert finding.status == Status.ERROR
    assert expected in finding.message


DUPLICATE_KEYS = {
    # A key repeated in one mapping is refused, never last-one-wins (file, line of the second key).
    "suite.yaml": base_files()["suite.yaml"] + "        object: other.yaml\n",
    "template.yaml": REQUIRED_LABEL_TEMPLATE.replace(
        "  name: k8srequiredteam\n", "  name: k8srequiredteam\n  name: other\n", 1
    ),
    "constraint.yaml": constraint("K8sRequiredTeam") + "kind: K8sOther\n",
    "object.yaml": pod("a") + "kind: Secret\n",
}


@pytest.mark.parametrize(
    ("path", "line"), [("suite.yaml", 13), ("template.yaml", 5), ("constraint.yaml", 7), ("object.yaml", 7)]
)
def test_a_key_repeated_in_a_mapping_is_an_input_error_naming_file_and_line(
    tmp_path: Path, path: str, line: int
) -> None:
    text = DUPLICATE_KEYS[path]
    inv = P.collect(TargetSpec("policies", "t", str(write(tmp_path, base_files(**{path: text})))))
    [err] = inv["errors"]
    assert (err["path"], err["line"]) == (path, line)
    assert err["message"].startswith("invalid YAML") and "duplicate key" in err["message"]
    [unit] = scope_units("policies.gatekeeper-case", [inv])
    [finding] = run(unit)
    assert finding.status == Status.ERROR and finding.where == f"{path}:{line}"
    assert finding.message == f"{path}:{line}: {err['message']}"


def test_dates_in_objects_stay_strings(tmp_path: Path) -> None:
    obj = pod("a") + "  creationTimestamp: 2024-01-31T09:00:00Z\n  annotations: {due: 2030-02-30}\n"
    inv = P.collect(TargetSpec("policies", "t", str(write(tmp_path, base_files(**{"object.yaml": obj})))))
    assert inv["errors"] == []
    [doc] = inv["objects"]["object.yaml"]["documents"]
    assert doc["metadata"]["creationTimestamp"] == "2024-01-31T09:00:00Z"
    assert doc["metadata"]["annotations"] == {"due": "2030-02-30"}


@pytest.mark.parametrize(
    ("tests", "line", "message"),
    [
        ("  - just a string\n", 6, "suite test 1 must be a mapping"),
        ("  - name: t\n    cases: {c: 1}\n", 7, "test 't': 'cases' must be a list"),
        ("  - name: t\n    cases:\n      - a string\n", 8, "test 't': case 1 must be a mapping"),
        (
            "  - name: t\n    cases:\n      - name: c\n        inventory: inv.yaml\n",
            8,
            "case 'c': 'inventory' must be a list",
        ),
    ],
)
def test_a_suite_gator_could_not_decode_is_one_error_unit(
    tmp_path: Path, tests: str, line: int, message: str
) -> None:
    [unit] = units(write(tmp_path, base_files(**{"suite.yaml": suite(tests)})))
    assert unit.id == "policies:t/suite.yaml"
    [finding] = run(unit)
    assert finding.status == Status.ERROR
    assert finding.message == f"suite.yaml:{line}: {message}" and finding.where == f"suite.yaml:{line}"


def test_constraint_parameters_must_fit_the_template_schema(tmp_path: Path) -> None:
    obj = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: team-a\n"
    finding = probe(tmp_path, obj, parameters="    tag: 3\n")
    assert finding.status == Status.ERROR
    assert "do not fit the template schema at tag" in finding.message


def test_skipped_case_is_not_applicable_and_duplicate_names_stay_unique(tmp_path: Path) -> None:
    files = base_files(
        **{
            "suite.yaml": suite(
                "  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
                "      - name: c\n        object: object.yaml\n        skip: true\n"
                "        assertions: [{violations: no}]\n"
                "      - name: c\n        object: object.yaml\n        assertions: [{violations: yes}]\n"
            )
        }
    )
    found = units(write(tmp_path, files))
    assert [u.id for u in found] == ["policies:t/suite.yaml#t/c", "policies:t/suite.yaml#t/c~2"]
    assert [run(u)[0].status for u in found] == [Status.NOT_APPLICABLE, Status.PASSED]


BROKEN_TEMPLATE = REQUIRED_LABEL_TEMPLATE.replace('msg := "owner label missing"', "msg := ")


def test_broken_template_named_by_an_invalid_test_is_an_error_of_that_test(tmp_path: Path) -> None:
    files = base_files(
        **{
            "template.yaml": BROKEN_TEMPLATE,
            "suite.yaml": suite(
                "  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n"
                "    invalid: true\n"
            ),
        }
    )
    # The invalid test is a unit of its own (`<suite>#<test>`), and it carries its template's error.
    [unit] = units(write(tmp_path, files))
    assert unit.id == "policies:t/suite.yaml#t"
    [finding] = run(unit)
    assert finding.status == Status.ERROR and finding.where.startswith("template.yaml:")
    assert "Rego syntax error in rego" in finding.message


def test_broken_template_of_a_test_whose_cases_are_all_skipped_is_still_reported(tmp_path: Path) -> None:
    # gator reads a test's template before it looks at the cases, so the test is an error there too.
    files = base_files(
        **{
            "template.yaml": BROKEN_TEMPLATE,
            "suite.yaml": suite(
                "  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
                "      - name: c\n        object: object.yaml\n        skip: true\n"
            ),
        }
    )
    found = units(write(tmp_path, files))
    assert [u.id for u in found] == ["policies:t/suite.yaml#t/c", "policies:t/template.yaml"]
    assert [run(u)[0].status for u in found] == [Status.NOT_APPLICABLE, Status.ERROR]


def test_what_skipped_suites_tests_and_cases_name_is_not_read(tmp_path: Path) -> None:
    files = base_files(
        **{
            "suite.yaml": suite(
                "  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
                "      - name: skipped\n        object: broken.yaml\n        skip: true\n"
                "      - name: runs\n        object: object.yaml\n        assertions: [{violations: yes}]\n"
                "  - name: skipped-test\n    skip: true\n    template: broken-template.yaml\n"
                "    constraint: broken.yaml\n    cases:\n      - name: c\n        object: object.yaml\n"
            ),
            "skipped/suite.yaml": suite(
                "  - name: t\n    template: ../broken-template.yaml\n    constraint: ../constraint.yaml\n"
                "    cases:\n      - name: c\n        object: ../broken.yaml\n"
            ).replace("tests:\n", "skip: true\ntests:\n"),
            "broken.yaml": "a: [\n",
            "broken-template.yaml": BROKEN_TEMPLATE,
        }
    )
    inv = P.collect(TargetSpec("policies", "t", str(write(tmp_path, files))))
    assert inv["errors"] == []
    assert set(inv["templates"]) == {"template.yaml"} and "broken.yaml" not in inv["objects"]
    statuses = {
        u.id.split("#", 1)[1]: run(u)[0].status for u in scope_units("policies.gatekeeper-case", [inv])
    }
    assert statuses == {
        "t/skipped": Status.NOT_APPLICABLE,
        "t/runs": Status.PASSED,
        "skipped-test/c": Status.NOT_APPLICABLE,
        "t/c": Status.NOT_APPLICABLE,
    }


def test_a_suite_is_recognised_from_its_parsed_documents(tmp_path: Path) -> None:
    # `kind: Suite` with a comment, or flow style, is still a suite: its failing case is not dropped.
    files = base_files()
    files["suite.yaml"] = files["suite.yaml"].replace("kind: Suite\n", "kind: Suite  # gator\n")
    files["suite.yaml"] = files["suite.yaml"].replace(
        "assertions: [{violations: yes}]", "assertions: [{violations: no}]"
    )
    [finding] = results(write(tmp_path, files)).values()
    assert finding.status == Status.FAILED


def test_a_suite_file_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    files = base_files()
    write(tmp_path, files)
    (tmp_path / "suite.yaml").write_bytes(files["suite.yaml"].encode() + b"# caf\xe9\n")
    inventory = P.collect(TargetSpec("policies", "t", str(tmp_path)))
    [err] = inventory["errors"]
    assert err["path"] == "suite.yaml" and "cannot be read as UTF-8" in err["message"]
    [unit] = units(tmp_path)
    assert unit.id == "policies:t/suite.yaml" and run(unit)[0].status == Status.ERROR


def test_a_template_whose_code_is_not_a_list_is_an_error_on_the_case(tmp_path: Path) -> None:
    template = (
        "kind: ConstraintTemplate\nspec:\n  crd: {}\n"
        "  targets:\n    - target: admission.k8s.gatekeeper.sh\n      code: 5\n"
    )
    [finding] = results(write(tmp_path, base_files(**{"template.yaml": template}))).values()
    assert finding.status == Status.ERROR and "has no Rego" in finding.message
