"""Policies target: discovery, Rego unit tests as units, input errors, inventory round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate, registered
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec, Unit, get_kind
from kitemark.core.model import Finding, Status, aggregate_status
from kitemark.targets.policies import collect as P
from kitemark.testing import scope_units
from kitemark.testing import write_files as write

load_checks()


POLICY_V1 = """package kitemark.svc

import rego.v1

deny contains msg if {
    input.spec.type == "LoadBalancer"
    msg := sprintf("Service %v: LoadBalancer not allowed", [input.metadata.name])
}
"""

TEST_V1 = """package kitemark.svc

import rego.v1

svc(t) := {"metadata": {"name": "web"}, "spec": {"type": t}}

test_cluster_ip_allowed if {
    count(deny) == 0 with input as svc("ClusterIP")
}

test_load_balancer_denied if {
    deny == {"Service web: LoadBalancer not allowed"} with input as svc("LoadBalancer")
}

# A wrong expectation: fails.
test_wrong_expectation if {
    count(deny) == 0 with input as svc("LoadBalancer")
}

# Two values for one complete rule: an evaluation error.
test_conflict := x if {
    x := [true, false][_]
}

test_helper(x) := x
"""

POLICY_V0 = """package kitemark.legacy

violation[{"msg": msg}] {
    not input.metadata.labels.team
    msg := "team label required"
}
"""

TEST_V0 = """package kitemark.legacy

test_missing_team_denied {
    count(violation) == 1 with input as {"metadata": {"labels": {}}}
}

test_team_allowed {
    count(violation) == 0 with input as {"metadata": {"labels": {"team": "a"}}}
}
"""


def collect(root: Path, name: str = "t") -> dict:
    return P.collect(TargetSpec("policies", name, str(root)))


def run(check_id: str, unit: Unit) -> list[Finding]:
    return evaluate(check_function(check_id), unit)


def statuses(inventory: dict) -> dict[str, Status]:
    out = {}
    for unit in scope_units("policies.rego-test", [inventory]):
        findings = run("REGO-TEST-001", unit)
        assert len(findings) == max(1, len(unit.errors))
        out[unit.id] = aggregate_status(f.status for f in findings)
    return out


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        collect(tmp_path / "nope")
    (tmp_path / "file.rego").write_text("package p\n")
    with pytest.raises(UsageError, match="not a directory"):
        collect(tmp_path / "file.rego")


def test_discovers_test_rules_of_test_files_only(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc/svc.rego": POLICY_V1,
            "svc/svc_test.rego": TEST_V1,
            "svc/extra.rego": "package x\ntest_x := true\n",
        },
    )
    inv = collect(tmp_path)
    files = {f["path"]: f for f in inv["rego_files"]}
    assert set(files) == {"svc/extra.rego", "svc/svc.rego", "svc/svc_test.rego"}
    test_file = files["svc/svc_test.rego"]
    assert test_file["test_file"] and test_file["package"] == "kitemark.svc" and test_file["version"] == "v1"
    assert [t["name"] for t in test_file["tests"]] == [
        "test_cluster_ip_allowed",
        "test_load_balancer_denied",
        "test_wrong_expectation",
        "test_conflict",
    ]
    assert test_file["tests"][0]["line"] == 7
    units = scope_units("policies.rego-test", [inv])
    # test_x in extra.rego is listed but, not being in a *_test.rego file, not run.
    assert [u.id for u in units] == [
        "policies:t/svc/svc_test.rego#test_cluster_ip_allowed",
        "policies:t/svc/svc_test.rego#test_load_balancer_denied",
        "policies:t/svc/svc_test.rego#test_wrong_expectation",
        "policies:t/svc/svc_test.rego#test_conflict",
    ]
    assert [(t["name"], t["line"]) for t in files["svc/extra.rego"]["tests"]] == [("test_x", 2)]


def test_passing_failing_and_erroring_tests(tmp_path: Path) -> None:
    write(tmp_path, {"svc/svc.rego": POLICY_V1, "svc/svc_test.rego": TEST_V1})
    result = statuses(collect(tmp_path))
    assert result == {
        "policies:t/svc/svc_test.rego#test_cluster_ip_allowed": Status.PASSED,
        "policies:t/svc/svc_test.rego#test_load_balancer_denied": Status.PASSED,
        "policies:t/svc/svc_test.rego#test_wrong_expectation": Status.FAILED,
        "policies:t/svc/svc_test.rego#test_conflict": Status.ERROR,
    }


def test_findings_carry_identity_location_and_evidence(tmp_path: Path) -> None:
    write(tmp_path, {"svc/svc.rego": POLICY_V1, "svc/svc_test.rego": TEST_V1})
    units = {u.id.rsplit("#", 1)[1]: u for u in scope_units("policies.rego-test", [collect(tmp_path)])}
    [ok] = run("REGO-TEST-001", units["test_cluster_ip_allowed"])
    assert ok.resource == "svc/svc_test.rego#test_cluster_ip_allowed"
    assert ok.where == "svc/svc_test.rego:7"
    assert ok.location is not None and ok.location.root == str(tmp_path)  # the target folder
    assert ok.evidence["result"] == "true" and ok.evidence["package"] == "kitemark.svc"
    [bad] = run("REGO-TEST-001", units["test_wrong_expectation"])
    assert bad.evidence["result"] == "undefined"
    [err] = run("REGO-TEST-001", units["test_conflict"])
    assert "multiple outputs" in err.message and err.where == "svc/svc_test.rego:21"


def test_v0_and_v1_policies_side_by_side(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc/svc.rego": POLICY_V1,
            "legacy/legacy.rego": POLICY_V0,
            "legacy/legacy_test.rego": TEST_V0,
        },
    )
    inv = collect(tmp_path)
    versions = {f["path"]: f["version"] for f in inv["rego_files"]}
    assert versions == {"legacy/legacy.rego": "v0", "legacy/legacy_test.rego": "v0", "svc/svc.rego": "v1"}
    assert set(statuses(inv).values()) == {Status.PASSED}


def test_tests_see_every_module_of_the_target_like_opa_test(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "lib/strings.rego": 'package lib.strings\nimport rego.v1\nprefixed(s) if startswith(s, "t-")\n',
            "ns/ns.rego": "package ns\nimport rego.v1\nimport data.lib.strings\n"
            "ok if strings.prefixed(input.n)\n",
            "ns/ns_test.rego": 'package ns\nimport rego.v1\ntest_ok if ok with input as {"n": "t-a"}\n',
        },
    )
    assert set(statuses(collect(tmp_path)).values()) == {Status.PASSED}


def test_syntax_error_in_a_test_file_is_one_error_unit_and_the_rest_runs(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc/svc.rego": POLICY_V1,
            "svc/svc_test.rego": "package kitemark.svc\nimport rego.v1\n\ntest_x if {\n  x := \n}\n",
            "legacy/legacy.rego": POLICY_V0,
            "legacy/legacy_test.rego": TEST_V0,
        },
    )
    inv = collect(tmp_path)
    assert inv["errors"] == [
        {"path": "svc/svc_test.rego", "line": 5, "message": inv["errors"][0]["message"]},
    ]
    assert inv["errors"][0]["message"].startswith("Rego syntax error at column 5:")
    assert "backtrace" not in inv["errors"][0]["message"].lower()
    result = statuses(inv)
    assert result == {
        "policies:t/legacy/legacy_test.rego#test_missing_team_denied": Status.PASSED,
        "policies:t/legacy/legacy_test.rego#test_team_allowed": Status.PASSED,
        "policies:t/svc/svc_test.rego": Status.ERROR,
    }
    unit = next(u for u in scope_units("policies.rego-test", [inv]) if u.id == "policies:t/svc/svc_test.rego")
    [finding] = run("REGO-TEST-001", unit)
    assert finding.where == "svc/svc_test.rego:5"
    assert "Rego syntax error" in finding.message


def test_broken_policy_makes_its_own_tests_error_but_not_others(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc/svc.rego": "package kitemark.svc\nimport rego.v1\ndeny contains msg if {\n",
            "svc/svc_test.rego": TEST_V1,
            "legacy/legacy.rego": POLICY_V0,
            "legacy/legacy_test.rego": TEST_V0,
        },
    )
    inv = collect(tmp_path)
    # svc.rego does not parse; without it svc_test.rego does not compile (`deny` is undefined).
    assert [e["path"] for e in inv["errors"]] == ["svc/svc.rego", "svc/svc_test.rego"]
    assert "Rego compile error" in inv["errors"][1]["message"] and "deny" in inv["errors"][1]["message"]
    unit = next(u for u in scope_units("policies.rego-test", [inv]) if "/svc/" in u.id)
    assert [e.path for e in unit.errors] == ["svc/svc.rego", "svc/svc_test.rego"], "the cause comes first"
    result = statuses(inv)
    assert {s for uid, s in result.items() if "/svc/" in uid} == {Status.ERROR}
    assert {s for uid, s in result.items() if "/legacy/" in uid} == {Status.PASSED}


def test_compile_error_in_one_file_does_not_poison_the_others(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a/a_test.rego": "package a\nimport rego.v1\n\ntest_uses_nothing if count(nothing) == 0\n",
            "legacy/legacy.rego": POLICY_V0,
            "legacy/legacy_test.rego": TEST_V0,
        },
    )
    inv = collect(tmp_path)
    [err] = inv["errors"]
    assert (err["path"], err["line"]) == ("a/a_test.rego", 4) and "nothing" in err["message"]
    # The test file parsed, so its tests keep their own ids and report the error.
    assert statuses(inv) == {
        "policies:t/a/a_test.rego#test_uses_nothing": Status.ERROR,
        "policies:t/legacy/legacy_test.rego#test_missing_team_denied": Status.PASSED,
        "policies:t/legacy/legacy_test.rego#test_team_allowed": Status.PASSED,
    }


def test_inventory_round_trips_through_json(tmp_path: Path) -> None:
    write(
        tmp_path,
        {"svc/svc.rego": POLICY_V1, "svc/svc_test.rego": TEST_V1, "bad_test.rego": "package x\ny := \n"},
    )
    shutil_copy_suite(tmp_path)
    inv = collect(tmp_path)
    loaded = json.loads(json.dumps(inv))
    assert loaded == inv
    for scope, check_id in (
        ("policies.rego-test", "REGO-TEST-001"),
        ("policies.gatekeeper-case", "GK-SUITE-001"),
    ):
        before = [(u.id, [f.to_dict() for f in run(check_id, u)]) for u in scope_units(scope, [inv])]
        after = [(u.id, [f.to_dict() for f in run(check_id, u)]) for u in scope_units(scope, [loaded])]
        assert before == after and before


def shutil_copy_suite(root: Path) -> None:
    """A minimal gatekeeper suite next to the Rego (shared by round-trip tests)."""
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "checks" / "GK-SUITE-001" / "compliant"
    for src in fixture.rglob("*.yaml"):
        dest = root / "gk" / src.relative_to(fixture)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(src.read_text())


def test_unit_ids_are_stable_across_collections(tmp_path: Path) -> None:
    write(tmp_path, {"svc/svc.rego": POLICY_V1, "svc/svc_test.rego": TEST_V1})
    shutil_copy_suite(tmp_path)
    ids = [
        [u.id for u in scope_units(s, [collect(tmp_path)])]
        for s in ("policies.rego-test", "policies.gatekeeper-case")
    ]
    again = [
        [u.id for u in scope_units(s, [collect(tmp_path)])]
        for s in ("policies.rego-test", "policies.gatekeeper-case")
    ]
    assert ids == again
    assert all("::" not in uid for group in ids for uid in group)
    assert ids[1] == [
        "policies:t/gk/suite.yaml#no-load-balancer/cluster-ip-allowed",
        "policies:t/gk/suite.yaml#no-load-balancer/load-balancer-disallowed",
    ]


def test_the_collector_reads_only_what_the_selected_checks_read(tmp_path: Path) -> None:
    write(
        tmp_path, {"svc/svc.rego": POLICY_V1, "svc/svc_test.rego": TEST_V1, "bad.rego": "package b\nx := \n"}
    )
    shutil_copy_suite(tmp_path)
    kind, spec = get_kind("policies"), TargetSpec("policies", "t", str(tmp_path))
    rego_reads = frozenset(registered()["REGO-TEST-001"].reads)
    suite_reads = frozenset(registered()["GK-SUITE-001"].reads)
    assert "*_test.rego" in rego_reads and "test.gatekeeper.sh/Suite" in suite_reads

    rego_only = kind.collect(spec, rego_reads)
    assert [f["path"] for f in rego_only["rego_files"]] == ["bad.rego", "svc/svc.rego", "svc/svc_test.rego"]
    assert (rego_only["suites"], rego_only["templates"], rego_only["objects"]) == ([], {}, {})
    assert [e["path"] for e in rego_only["errors"]] == ["bad.rego"]

    suites_only = kind.collect(spec, suite_reads)
    assert suites_only["rego_files"] == [] and [s["path"] for s in suites_only["suites"]] == ["gk/suite.yaml"]
    assert set(suites_only["templates"]) == {"gk/template.yaml"}
    assert suites_only["errors"] == []  # bad.rego is not read: no selected check would assess it

    # Everything when no check says, when both kinds of check are selected, or when a check reads
    # something this collector does not know.
    for reads in (frozenset(), rego_reads | suite_reads, frozenset({"*.rego", "something/else"})):
        both = kind.collect(spec, reads)
        assert len(both["rego_files"]) == 3 and len(both["suites"]) == 1, reads
        assert [e["path"] for e in both["errors"]] == ["bad.rego"]


def test_a_target_with_nothing_the_selected_checks_read_is_not_applicable(tmp_path: Path) -> None:
    shutil_copy_suite(tmp_path)  # suites only, collected for the Rego unit tests: no usage error
    inv = get_kind("policies").collect(
        TargetSpec("policies", "t", str(tmp_path)), frozenset(registered()["REGO-TEST-001"].reads)
    )
    [unit] = scope_units("policies.rego-test", [inv])
    [finding] = run("REGO-TEST-001", unit)
    assert unit.id == "policies:t/no-rego-test" and finding.status == Status.NOT_APPLICABLE
    assert finding.evidence["searched"]["rego_files"] == 0


def test_hidden_directories_are_skipped(tmp_path: Path) -> None:
    write(
        tmp_path,
        {".git/x_test.rego": "package x\ntest_a := true\n", "a_test.rego": "package a\ntest_a := true\n"},
    )
    assert [f["path"] for f in collect(tmp_path)["rego_files"]] == ["a_test.rego"]


BROKEN_SYNTAX = "package c\nimport rego.v1\n\nallow if {\n"  # unterminated: the error is at the end, line 5
BROKEN_COMPILE = "package d\nimport rego.v1\n\nallow if input.x == undefined_thing\n"


def test_broken_policy_without_tests_of_its_own_is_an_error_unit(tmp_path: Path) -> None:
    write(tmp_path / "only", {"src.rego": BROKEN_SYNTAX})
    inv = collect(tmp_path / "only")
    [unit] = scope_units("policies.rego-test", [inv])
    assert unit.id == "policies:t/src.rego"
    [finding] = run("REGO-TEST-001", unit)
    assert finding.status == Status.ERROR
    assert finding.where == "src.rego:5"
    assert finding.message.startswith("src.rego:") and "Rego syntax error" in finding.message


def test_broken_policies_beside_passing_tests_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "b/b.rego": "package b\nimport rego.v1\nallow := true\n",
            "b/b_test.rego": "package b\nimport rego.v1\ntest_allow if allow\n",
            "c/src.rego": BROKEN_SYNTAX,
            "d/src.rego": BROKEN_COMPILE,
        },
    )
    inv = collect(tmp_path)
    assert [(e["path"], e["message"].split(" error")[0]) for e in inv["errors"]] == [
        ("c/src.rego", "Rego syntax"),
        ("d/src.rego", "Rego compile"),
    ]
    assert statuses(inv) == {
        "policies:t/b/b_test.rego#test_allow": Status.PASSED,
        "policies:t/c/src.rego": Status.ERROR,
        "policies:t/d/src.rego": Status.ERROR,
    }
    units = {u.id: u for u in scope_units("policies.rego-test", [inv])}
    [compile_error] = run("REGO-TEST-001", units["policies:t/d/src.rego"])
    assert compile_error.where == "d/src.rego:4" and "undefined_thing" in compile_error.message


def test_broken_policy_carried_by_its_tests_gets_no_unit_of_its_own(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc/svc.rego": "package kitemark.svc\nimport rego.v1\ndeny contains msg if {\n",
            "svc/svc_test.rego": TEST_V1,
        },
    )
    ids = [u.id for u in scope_units("policies.rego-test", [collect(tmp_path)])]
    assert "policies:t/svc/svc.rego" not in ids
    assert len(ids) == 4 and all(uid.startswith("policies:t/svc/svc_test.rego#") for uid in ids)


@pytest.mark.parametrize(
    "files",
    [{}, {"README.md": "x", "k8s/deploy.yaml": "kind: Deployment\n", ".git/a_test.rego": "package a\n"}],
)
def test_directory_without_rego_or_suites_is_a_usage_error(tmp_path: Path, files: dict[str, str]) -> None:
    root = tmp_path / "policies"
    root.mkdir()
    write(root, files)
    with pytest.raises(UsageError, match=r"no \.rego files or Gatekeeper suites") as raised:
        collect(root)
    assert "\n" not in str(raised.value) and str(root) in str(raised.value)


def test_kitemark_report_folders_inside_the_target_are_not_read(tmp_path: Path) -> None:
    """A run started inside the target writes ``kitemark-reports/`` there; the next run must not read it."""
    from kitemark.core.resources import OUTPUT_MARKER, own_output, walk_inputs

    write(
        tmp_path,
        {
            "a_test.rego": "package a\ntest_a := true\n",
            f"kitemark-reports/{OUTPUT_MARKER}": "",
            "kitemark-reports/inventory/x_test.rego": "package x\ntest_x := true\n",  # Kitemark's names
            "kitemark-reports/inventory/deep/suite.yaml": "kind: Suite\n",
            "reports/b_test.rego": "package b\ntest_b := true\n",  # no marker: read
        },
    )
    own_output(tmp_path / "kitemark-reports")  # this run's --out
    assert [f["path"] for f in collect(tmp_path)["rego_files"]] == ["a_test.rego", "reports/b_test.rego"]
    assert [p.relative_to(tmp_path).as_posix() for p in walk_inputs(tmp_path).files((".yaml",))] == []
