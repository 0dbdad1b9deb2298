"""Kitemark's own Rego library (``policies/``) passes its tests and suites; the demo fails as designed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Status, aggregate_status
from kitemark.core.resources import demo_dir, policies_dir
from kitemark.targets.policies import collect as P
from kitemark.testing import fixture_path, run_on_fixture, scope_units

load_checks()


GATEKEEPER_POLICIES = ["k8singresshostlength", "k8spsarestricted"]
SCOPES = {"policies.rego-test": "REGO-TEST-001", "policies.gatekeeper-case": "GK-SUITE-001"}


def outcomes(root: Path, name: str = "lib") -> dict[str, Status]:
    inventory = P.collect(TargetSpec("policies", name, str(root)))
    assert inventory["errors"] == []
    out = {}
    for scope, check_id in SCOPES.items():
        for unit in scope_units(scope, [inventory]):
            out[unit.id] = aggregate_status(f.status for f in evaluate(check_function(check_id), unit))
    return out


def test_every_bundled_unit_test_and_suite_case_passes() -> None:
    result = outcomes(policies_dir())
    assert {uid: s for uid, s in result.items() if s != Status.PASSED} == {}
    assert sum(".rego#test_" in uid for uid in result) >= 20
    assert sum("suite.yaml#" in uid for uid in result) >= 10
    assert {uid.split("/")[1] for uid in result} == {"conftest", *GATEKEEPER_POLICIES}


@pytest.mark.parametrize("name", GATEKEEPER_POLICIES)
def test_bundled_template_follows_the_gatekeeper_library_layout(name: str) -> None:
    folder = policies_dir() / name
    for rel in ("template.yaml", "suite.yaml", "src.rego", "src_test.rego"):
        assert (folder / rel).is_file(), f"{name}/{rel}"
    [sample] = [p for p in (folder / "samples").iterdir() if p.is_dir()]
    for rel in ("constraint.yaml", "example_allowed.yaml", "example_disallowed.yaml"):
        assert (sample / rel).is_file(), f"{name}/samples/{sample.name}/{rel}"
    # The template embeds src.rego verbatim, so the unit tests test what Gatekeeper runs.
    template = yaml.safe_load((folder / "template.yaml").read_text())
    assert template["spec"]["targets"][0]["rego"] == (folder / "src.rego").read_text()
    assert template["metadata"]["name"] == name


def test_bundled_conftest_rules_have_tests() -> None:
    folder = policies_dir() / "conftest" / "namespace"
    assert (folder / "namespace.rego").is_file() and (folder / "namespace_test.rego").is_file()


def test_demo_fails_exactly_where_its_bugs_are() -> None:
    result = outcomes(demo_dir() / "policies", "d")
    assert {uid: s for uid, s in result.items() if s != Status.PASSED} == {
        "policies:d/rbac/rbac_test.rego#test_cluster_admin_is_denied": Status.FAILED,
        "policies:d/k8suniqueingresshost/suite.yaml#unique-host/same-name-in-other-namespace": Status.FAILED,
    }
    # Everything else is assessed and passes: 8 Rego unit tests and 3 suite cases.
    assert sum(".rego#test_" in uid for uid in result) == 8
    assert sum("suite.yaml#" in uid for uid in result) == 3
    assert len(result) == 11


@pytest.mark.parametrize("check_id", ["REGO-TEST-001", "GK-SUITE-001"])
def test_fixtures_pass_and_fail_exactly_what_expected_yaml_lists(check_id: str) -> None:
    expected = yaml.safe_load(fixture_path(check_id, "expected.yaml").read_text())
    compliant = run_on_fixture(check_id, "compliant")
    assert {f.resource: f.status for f in compliant} == {
        e["resource"]: Status.PASSED for e in expected["compliant"]
    }
    noncompliant = {f.resource: f for f in run_on_fixture(check_id, "noncompliant")}
    bad = {r: f for r, f in noncompliant.items() if f.status != Status.PASSED}
    assert set(bad) == {e["resource"] for e in expected["noncompliant"]}
    for entry in expected["noncompliant"]:
        assert bad[entry["resource"]].status == Status.FAILED
        assert entry["message"] in bad[entry["resource"]].message
