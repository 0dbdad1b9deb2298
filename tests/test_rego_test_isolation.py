"""REGO-TEST-001: tests that share a name are run one body at a time, only `true` passes, and the
evidence shows the test's source."""

from __future__ import annotations

import json
from pathlib import Path

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.targets.policies import collect as P
from kitemark.testing import scope_units

load_checks()


def findings(root: Path, files: dict[str, str], *, via_json: bool = False) -> dict[str, Finding]:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    inventory = P.collect(TargetSpec("policies", "t", str(root)))
    if via_json:  # as pytest-xdist workers see it
        inventory = json.loads(json.dumps(inventory))
    out = {}
    for unit in scope_units("policies.rego-test", [inventory]):
        [finding] = evaluate(check_function("REGO-TEST-001"), unit)
        out[unit.id.removeprefix("policies:t/")] = finding
    return out


def statuses(found: dict[str, Finding]) -> dict[str, Status]:
    return {uid: f.status for uid, f in found.items()}


DUPLICATES_V1 = """package kitemark.rbac

import rego.v1

test_cluster_admin_denied if {
    true
}

test_cluster_admin_denied if {
    false
}

test_other if true

test_cluster_admin_denied if 1 == 1
"""


def test_bodies_sharing_a_name_are_separate_tests(tmp_path: Path) -> None:
    found = findings(tmp_path, {"rbac_test.rego": DUPLICATES_V1}, via_json=True)
    assert statuses(found) == {
        "rbac_test.rego#test_cluster_admin_denied": Status.PASSED,
        "rbac_test.rego#test_cluster_admin_denied#01": Status.FAILED,
        "rbac_test.rego#test_other": Status.PASSED,
        "rbac_test.rego#test_cluster_admin_denied#02": Status.PASSED,
    }
    failing = found["rbac_test.rego#test_cluster_admin_denied#01"]
    assert failing.resource == "rbac_test.rego#test_cluster_admin_denied#01"
    assert failing.where == "rbac_test.rego:9"
    assert failing.evidence["rule"] == "test_cluster_admin_denied#01"
    assert failing.evidence["result"] == "undefined"


def test_failing_body_first_and_v0_bodies(tmp_path: Path) -> None:
    source = "package legacy\n\ntest_x {\n  false\n}\n\ntest_x {\n  true\n}\n"
    assert statuses(findings(tmp_path, {"legacy_test.rego": source})) == {
        "legacy_test.rego#test_x": Status.FAILED,
        "legacy_test.rego#test_x#01": Status.PASSED,
    }


def test_namesakes_in_another_file_of_the_package_do_not_mask_a_failure(tmp_path: Path) -> None:
    files = {
        "a_test.rego": "package p\nimport rego.v1\ntest_x if false\n",
        "b_test.rego": "package p\nimport rego.v1\ntest_x if true\n",
        "c_test.rego": "package q\nimport rego.v1\ntest_x if true\n",
    }
    assert statuses(findings(tmp_path, files)) == {
        "a_test.rego#test_x": Status.FAILED,
        "b_test.rego#test_x": Status.PASSED,
        "c_test.rego#test_x": Status.PASSED,
    }


def test_an_error_in_one_namesake_is_reported_at_its_own_line(tmp_path: Path) -> None:
    source = "package p\nimport rego.v1\n\ntest_x if true\n\ntest_x := x if {\n  x := [true, false][_]\n}\n"
    found = findings(tmp_path, {"p_test.rego": source})
    assert statuses(found) == {"p_test.rego#test_x": Status.PASSED, "p_test.rego#test_x#01": Status.ERROR}
    assert found["p_test.rego#test_x#01"].where == "p_test.rego:6"


def test_only_exactly_true_passes(tmp_path: Path) -> None:
    source = """package p
import rego.v1

test_one := 1
test_yes := "yes"
test_set := {1}
test_false := false
test_undefined if false
test_true := true
test_parts contains 1
"""
    found = findings(tmp_path, {"p_test.rego": source})
    # `test_parts contains ...` is an incremental set, not a test.
    assert {uid: (f.status, f.evidence["result"]) for uid, f in found.items()} == {
        "p_test.rego#test_one": (Status.FAILED, "1"),
        "p_test.rego#test_yes": (Status.FAILED, '"yes"'),
        "p_test.rego#test_set": (Status.FAILED, "[1]"),
        "p_test.rego#test_false": (Status.FAILED, "false"),
        "p_test.rego#test_undefined": (Status.FAILED, "undefined"),
        "p_test.rego#test_true": (Status.PASSED, "true"),
    }
    assert "not true" in found["p_test.rego#test_yes"].message


def test_evidence_holds_the_test_source_and_its_lines(tmp_path: Path) -> None:
    long_body = "".join(f"    x{i} := {i}\n" for i in range(40))
    source = (
        "package p\nimport rego.v1\n\n# ünïcode before the rule\ntest_short if {\n    1 == 2\n}\n\n"
        f"test_long if {{\n{long_body}    false\n}}\n"
    )
    found = findings(tmp_path, {"p_test.rego": source})
    short = found["p_test.rego#test_short"].evidence
    assert short["lines"] == [5, 7]
    assert short["source"] == "test_short if {\n    1 == 2\n}"
    long = found["p_test.rego#test_long"].evidence
    assert long["lines"] == [9, 51]
    lines = long["source"].splitlines()
    assert len(lines) == 31 and lines[0] == "test_long if {" and lines[-1] == "... (13 more lines)"
    json.dumps(long)  # evidence must serialise


def test_a_namesake_that_cannot_be_isolated_is_an_error_not_a_merged_pass(tmp_path: Path) -> None:
    (tmp_path / "p_test.rego").write_text("package p\nimport rego.v1\ntest_x if true\ntest_x if false\n")
    inventory = P.collect(TargetSpec("policies", "t", str(tmp_path)))
    inventory["rego_files"][0]["tests"][1]["name_span"] = [0, 3]  # a parse tree that does not fit
    units = scope_units("policies.rego-test", [inventory])
    statuses = [evaluate(check_function("REGO-TEST-001"), u)[0].status for u in units]
    assert statuses == [Status.ERROR, Status.FAILED]
