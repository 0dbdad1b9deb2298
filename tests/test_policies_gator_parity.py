"""Where GK-SUITE-001 must agree with ``gator verify`` (review 3): templates without a ``violation``
rule, wildcard globs, ``invalid: true`` tests, RE2 message regexes and the review of plain objects."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate, registered
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.engines import gatekeeper as G
from kitemark.targets.policies import collect as P
from kitemark.testing import scope_units

load_checks()


def template(kind: str, rego: str, schema: str = "") -> str:
    body = "".join(f"        {line}\n" for line in rego.strip().splitlines())
    validation = f"      validation:\n        openAPIV3Schema:\n{schema}" if schema else ""
    return (
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\n"
        f"metadata:\n  name: {kind.lower()}\nspec:\n  crd:\n    spec:\n      names:\n        kind: {kind}\n"
        f"{validation}  targets:\n    - target: admission.k8s.gatekeeper.sh\n      rego: |\n{body}"
    )


NO_LB_REGO = """
package k8snolb
violation[{"msg": msg}] {
  input.review.object.spec.type == "LoadBalancer"
  msg := sprintf("Service %v: type LoadBalancer is not allowed", [input.review.object.metadata.name])
}
"""
NO_LB_SCHEMA = (
    "          type: object\n          properties:\n            max:\n              type: integer\n"
)


def constraint(kind: str, spec: str = "") -> str:
    return f"apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\nmetadata: {{name: c}}\n{spec}"


def service(ns: str = "team-a", name: str = "web") -> str:
    meta = f"metadata: {{name: {name}, namespace: {ns}}}\n"
    return f"apiVersion: v1\nkind: Service\n{meta}spec: {{type: LoadBalancer}}\n"


def suite(tests: str) -> str:
    return f"kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata: {{name: s}}\ntests:\n{tests}"


def case_test(name: str, tpl: str, con: str, obj: str, assertions: str) -> str:
    return (
        f"  - name: {name}\n    template: {tpl}\n    constraint: {con}\n    cases:\n"
        f"      - name: c\n        object: {obj}\n        assertions: {assertions}\n"
    )


def results(root: Path, files: dict[str, str]) -> dict[str, Finding]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    inv = P.collect(TargetSpec("policies", "t", str(root)))
    out = {}
    for unit in scope_units("policies.gatekeeper-case", [inv]):
        [finding] = evaluate(check_function("GK-SUITE-001"), unit)
        out[unit.id.split("#", 1)[1]] = finding
    return out


BASE = {
    "template.yaml": template("K8sNoLB", NO_LB_REGO, NO_LB_SCHEMA),
    "constraint.yaml": constraint("K8sNoLB"),
    "svc.yaml": service(),
}


# ------------------------------------------------------------------------------- 1. violation rule


@pytest.mark.parametrize(
    "rego",
    [
        'package k8snoviol\nviolations[{"msg": "typo"}] {\n  input.review.object.spec.type == "X"\n}',
        'package k8snoviol\nimport rego.v1\ndeny contains {"msg": "x"} if input.review.object',
    ],
)
def test_template_without_a_violation_rule_is_an_input_error(tmp_path: Path, rego: str) -> None:
    files = {
        **BASE,
        "noviol.yaml": template("K8sNoViol", rego),
        "c_noviol.yaml": constraint("K8sNoViol"),
        "suite.yaml": suite(
            case_test("t", "noviol.yaml", "c_noviol.yaml", "svc.yaml", '[{violations: "no"}]')
        ),
    }
    [finding] = results(tmp_path, files).values()
    assert finding.status == Status.ERROR  # was a pass: no rule, no violations
    assert "noviol.yaml" in finding.message and "missing required rule: violation" in finding.message


# ------------------------------------------------------------------------------------ 2. wildcards


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("team-a", "team-a", True),
        ("team-a", "team-ab", False),
        ("kube-*", "kube-system", True),
        ("kube-*", "my-kube-system", False),
        ("*-system", "kube-system", True),
        ("*-system", "kube-system-x", False),
        ("*system*", "my-system-ns", True),
        ("*system*", "system", True),
        ("*system*", "kube-sys", False),
        ("*", "anything", True),
    ],
)
def test_wildcard_forms(pattern: str, value: str, expected: bool) -> None:
    assert G._wildcard(pattern, value) is expected


@pytest.mark.parametrize(
    ("match", "expected"),
    [
        ({"excludedNamespaces": ["*system*"]}, False),
        ({"excludedNamespaces": ["*other*"]}, True),
        ({"namespaces": ["*system*"]}, True),
        ({"namespaces": ["*team*"]}, False),
        ({"name": "*eb-*"}, True),
        ({"name": "*api*"}, False),
    ],
)
def test_contains_glob_in_namespaces_excluded_namespaces_and_name(match: dict, expected: bool) -> None:
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-1", "namespace": "my-system-ns"}}
    assert G.matches(match, obj) is expected


def test_excluded_contains_glob_in_a_suite(tmp_path: Path) -> None:
    files = {
        **BASE,
        "c_glob.yaml": constraint("K8sNoLB", "spec:\n  match:\n    excludedNamespaces: ['*system*']\n"),
        "svc_sys.yaml": service(ns="my-system-ns"),
        "suite.yaml": suite(
            case_test("t", "template.yaml", "c_glob.yaml", "svc_sys.yaml", '[{violations: "yes"}]')
        ),
    }
    [finding] = results(tmp_path, files).values()
    assert finding.status == Status.FAILED and finding.evidence["actual"]["matched"] is False


# ------------------------------------------------------------------------------- 3. invalid: true


def invalid_test(name: str, con: str) -> str:
    return f"  - name: {name}\n    template: template.yaml\n    constraint: {con}\n    invalid: true\n"


def test_invalid_tests_are_units_that_pass_only_on_schema_rejection(tmp_path: Path) -> None:
    files = {
        **BASE,
        "c_valid.yaml": constraint("K8sNoLB", "spec:\n  parameters: {max: 3}\n"),
        "c_schema.yaml": constraint("K8sNoLB", "spec:\n  parameters: {max: three}\n"),
        "c_kind.yaml": constraint("K8sOther", "spec:\n  parameters: {max: three}\n"),
        "suite.yaml": suite(
            invalid_test("accepted", "c_valid.yaml")
            + invalid_test("schema", "c_schema.yaml")
            + invalid_test("kind", "c_kind.yaml")
            + invalid_test("skipped", "c_valid.yaml").replace(
                "invalid: true", "invalid: true\n    skip: true"
            )
        ),
    }
    found = results(tmp_path, files)
    assert set(found) == {"accepted", "schema", "kind", "skipped"}  # ids: <suite>#<test name>
    assert found["accepted"].status == Status.FAILED
    assert "accepted" in found["accepted"].message
    assert found["accepted"].evidence["actual"] == {"rejected": False, "reason": None}
    assert found["schema"].status == Status.PASSED
    assert "do not fit the template schema at max" in found["schema"].evidence["actual"]["reason"]
    # Rejected, but gator only accepts a schema validation failure (constraints.ErrSchema).
    assert found["kind"].status == Status.FAILED and "not by schema validation" in found["kind"].message
    assert found["kind"].evidence["actual"]["rejected"] is True
    assert found["skipped"].status == Status.NOT_APPLICABLE
    assert found["schema"].resource == "suite.yaml#schema"


def test_invalid_test_with_a_broken_constraint_is_an_error(tmp_path: Path) -> None:
    files = {**BASE, "bad.yaml": "kind: [\n", "suite.yaml": suite(invalid_test("t", "bad.yaml"))}
    [finding] = results(tmp_path, files).values()
    assert finding.status == Status.ERROR and finding.message.startswith("bad.yaml:")


# ------------------------------------------------------------------------------ 4. RE2 message regex


@pytest.mark.parametrize(
    "pattern",
    [
        "^(?=Service).*LoadBalancer",
        "(?!x)Service",
        "(?<=Service )web",
        "(?<!x)web",
        r"(web)\1",
        "Servic(?P<n>e)(?P=n)",
        "Service.*+",
        "Service.?+",
        "web{1}+",
        "(?>Service)",
        "(?x) Service",
        r"Service\Z",
        "type LoadBalancer (",  # not a regex at all: never a substring fallback
        "a{1001}",
    ],
)
def test_message_regex_that_re2_refuses_is_a_case_error(pattern: str) -> None:
    assertion = G.parse_assertion({"violations": 1, "message": pattern})
    with pytest.raises(G.CaseError, match="invalid message regex"):
        assertion.check([{"msg": "Service web: type LoadBalancer is not allowed"}])


@pytest.mark.parametrize(
    "pattern",
    [
        r"^Service \w+: type (LoadBalancer|NodePort)",
        r"(?i)service",
        r"[(?=]web|Service",
        r"\\1|web",
        "web{1,3}?",
    ],
)
def test_re2_compatible_regexes_match(pattern: str) -> None:
    assertion = G.parse_assertion({"violations": 1, "message": pattern})
    assert assertion.check([{"msg": "Service web: type LoadBalancer is not allowed"}]) is None


def test_invalid_regex_with_no_violations_is_not_compiled_as_in_gator() -> None:
    # gator compiles the regex lazily, per violation: with none, "violations: no" holds and "yes" fails.
    assert G.parse_assertion({"violations": "no", "message": "(?=x)"}).check([]) is None
    assert "got 0" in (G.parse_assertion({"violations": "yes", "message": "(?=x)"}).check([]) or "")


def test_invalid_regex_in_a_suite_is_an_error_of_the_case(tmp_path: Path) -> None:
    files = {
        **BASE,
        "suite.yaml": suite(
            case_test(
                "t", "template.yaml", "constraint.yaml", "svc.yaml", '[{violations: 1, message: "(?=S)"}]'
            )
        ),
    }
    [finding] = results(tmp_path, files).values()
    assert finding.status == Status.ERROR and "invalid message regex '(?=S)'" in finding.message


# ---------------------------------------------------------------------------- 5. plain object review


ONLY_CREATE = """
package k8sonlycreate
violation[{"msg": "created LB"}] {
  input.review.operation == "CREATE"
  input.review.object.spec.type == "LoadBalancer"
}
"""


def test_plain_object_has_no_operation_but_an_admission_review_keeps_its_own(tmp_path: Path) -> None:
    review = (
        "apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\nrequest:\n  operation: CREATE\n"
        "  kind: {group: '', version: v1, kind: Service}\n  name: web\n  namespace: team-a\n"
        "  object: {apiVersion: v1, kind: Service, metadata: {name: web, namespace: team-a}, "
        "spec: {type: LoadBalancer}}\n"
    )
    files = {
        **BASE,
        "op.yaml": template("K8sOnlyCreate", ONLY_CREATE),
        "c_op.yaml": constraint("K8sOnlyCreate"),
        "review.yaml": review,
        "suite.yaml": suite(
            case_test("plain", "op.yaml", "c_op.yaml", "svc.yaml", '[{violations: "no"}]')
            + case_test("review", "op.yaml", "c_op.yaml", "review.yaml", "[{violations: 1}]")
        ),
    }
    found = results(tmp_path, files)
    assert found["plain/c"].status == Status.PASSED
    assert found["review/c"].status == Status.PASSED


def test_plain_object_review_fields() -> None:
    case = G.GatekeeperCase(
        target="t", suite="s", test="t", case="c", line=None, skip=False, template={},
        constraint_path="", constraint_docs=[], object_path="o.yaml",
        object_docs=[{"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": "team-a"}}],
        inventory_docs=[], assertions=[], engine_cfg={},
    )  # fmt: skip
    _, review, _ = case._review()
    assert review["operation"] == "" and review["userInfo"] == {} and review["uid"] == ""
    assert "dryRun" not in review and "name" not in review and review["namespace"] == "team-a"


# ------------------------------------------------------------------------------------ 6. remediation


def test_remediation_is_plain_text() -> None:
    text = registered()["GK-SUITE-001"].remediation
    assert "::" not in text and "``" not in text
