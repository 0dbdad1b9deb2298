"""Policies target: every input error of the inventory reaches a result (no broken file goes unreported)."""

from __future__ import annotations

from pathlib import Path

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import InputError, TargetSpec
from kitemark.core.model import Status
from kitemark.targets.policies import collect as P
from kitemark.testing import scope_units

load_checks()


SCOPES = {"policies.rego-test": "REGO-TEST-001", "policies.gatekeeper-case": "GK-SUITE-001"}

SUITE_HEAD = "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: s\n"


def template(rego: str) -> str:
    body = "".join(f"        {line}\n" for line in rego.splitlines())
    return (
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sx\n"
        "spec:\n  crd:\n    spec:\n      names:\n        kind: K8sX\n  targets:\n"
        f"    - target: admission.k8s.gatekeeper.sh\n      rego: |\n{body}"
    )


GOOD_REGO = 'package k8sx\n\nviolation[{"msg": "x"}] {\n  input.review.object.kind == "Pod"\n}\n'
CONSTRAINT = "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sX\nmetadata:\n  name: c\nspec: {}\n"
POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n"

FILES: dict[str, str | bytes] = {
    # Rego: a test file that does not parse / does not compile / has no tests and does not compile.
    "rego/t1/x_test.rego": "package t1\nimport rego.v1\ntest_x if {\n",
    "rego/t2/y_test.rego": "package t2\nimport rego.v1\ntest_y if nothing_here\n",
    "rego/t3/z_test.rego": "package t3\nimport rego.v1\nq if also_nothing\n",
    # A broken policy carried by its tests, and broken policies with no tests at all.
    "rego/carried/p.rego": "package carried\nimport rego.v1\nallow if {\n",
    "rego/carried/p_test.rego": "package carried\nimport rego.v1\ntest_allow if allow\n",
    "rego/orphan/src.rego": "package orphan\nimport rego.v1\nallow if {\n",
    "rego/orphan2/src.rego": "package orphan2\nimport rego.v1\nallow if input.x == undefined_var\n",
    "rego/unreadable.rego": b"package u\n\xff\xfe\n",
    # Gatekeeper: suites that do not parse or are not shaped like a suite.
    "gk/bad-yaml/suite.yaml": SUITE_HEAD + "tests: [\n",
    "gk/not-a-list/suite.yaml": SUITE_HEAD + "tests: {a: 1}\n",
    "gk/main/suite.yaml": SUITE_HEAD
    + "tests:\n"
    # Broken constraint, object and inventory files, each named by a case that runs.
    + "  - name: t1\n    template: good.yaml\n    constraint: bad-constraint.yaml\n    cases:\n"
    + "      - name: c\n        object: not-objects.yaml\n        inventory: [missing.yaml]\n"
    + "        assertions: [{violations: yes}]\n"
    # A broken template named by an `invalid` test (its unit, `#t2`, reports it), and one named only
    # by a test whose cases are all skipped (a unit of its own).
    + "  - name: t2\n    template: yaml-error-template.yaml\n    constraint: good-constraint.yaml\n"
    + "    invalid: true\n"
    + "  - name: t3\n    template: compile-error-template.yaml\n    constraint: good-constraint.yaml\n"
    + "    cases:\n      - name: c\n        object: pod.yaml\n        skip: true\n"
    # A template that is missing altogether.
    + "  - name: t4\n    template: missing-template.yaml\n    constraint: good-constraint.yaml\n"
    + "    cases:\n      - name: c\n        object: pod.yaml\n        assertions: [{violations: no}]\n",
    "gk/main/good.yaml": template(GOOD_REGO),
    "gk/main/good-constraint.yaml": CONSTRAINT,
    "gk/main/pod.yaml": POD,
    "gk/main/bad-constraint.yaml": "kind: K8sX\nspec: [\n",
    "gk/main/not-objects.yaml": "- just\n- a list\n",
    "gk/main/yaml-error-template.yaml": "kind: ConstraintTemplate\nspec: {\n",
    "gk/main/compile-error-template.yaml": template(
        'package k8sx\n\nviolation[{"msg": m}] {\n  m := concat(",", nope_undefined)\n}\n'
    ),
}


def test_every_input_error_of_the_inventory_is_reported_by_some_unit(tmp_path: Path) -> None:
    for rel, content in FILES.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    inv = P.collect(TargetSpec("policies", "t", str(tmp_path)))
    broken = {
        "rego/t1/x_test.rego",
        "rego/t2/y_test.rego",
        "rego/t3/z_test.rego",
        "rego/carried/p.rego",
        "rego/carried/p_test.rego",  # does not compile without p.rego
        "rego/orphan/src.rego",
        "rego/orphan2/src.rego",
        "rego/unreadable.rego",
        "gk/bad-yaml/suite.yaml",
        "gk/not-a-list/suite.yaml",
        "gk/main/bad-constraint.yaml",
        "gk/main/not-objects.yaml",
        "gk/main/missing.yaml",
        "gk/main/yaml-error-template.yaml",
        "gk/main/compile-error-template.yaml",
        "gk/main/missing-template.yaml",
    }
    assert {e["path"] for e in inv["errors"]} == broken, "the tree must exercise every kind of broken file"

    reported: dict[str, list[str]] = {}  # str(InputError) -> ids of the units whose results report it
    for scope, check_id in SCOPES.items():
        for unit in scope_units(scope, [inv]):
            findings = evaluate(check_function(check_id), unit)
            for err in unit.errors:
                # The unit's result is an error that names the file and line.
                finding = next(f for f in findings if f.message == str(err))
                assert finding.status == Status.ERROR
                assert finding.where == (f"{err.path}:{err.line}" if err.line else err.path)
                reported.setdefault(str(err), []).append(unit.id)
    missing = [
        str(InputError.from_dict(e)) for e in inv["errors"] if str(InputError.from_dict(e)) not in reported
    ]
    assert missing == []
    # Parse and compile errors carry their line.
    for e in inv["errors"]:
        if "Rego syntax" in e["message"] or "Rego compile" in e["message"] or "invalid YAML" in e["message"]:
            assert e["line"], e
    # Broken files no case or test carries are units of their own, named by their path.
    ids = {uid for uids in reported.values() for uid in uids}
    assert {
        "policies:t/rego/orphan/src.rego",
        "policies:t/rego/orphan2/src.rego",
        "policies:t/rego/unreadable.rego",
        "policies:t/gk/main/suite.yaml#t2",  # the invalid test carries its broken template
        "policies:t/gk/main/compile-error-template.yaml",
    } <= ids
    assert "policies:t/gk/main/yaml-error-template.yaml" not in ids
    assert "policies:t/rego/carried/p.rego" not in ids
