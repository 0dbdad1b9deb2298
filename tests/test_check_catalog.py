"""Self-tests every check must pass: complete metadata, consistent frameworks, and its own
compliant and non-compliant fixture (`fixtures/checks/<CHECK-ID>/{compliant,noncompliant}/`)."""

from __future__ import annotations

import re

import pytest
import yaml

from kitemark.core import resources
from kitemark.core.catalog import load_checks
from kitemark.core.frameworks import load_frameworks, problems
from kitemark.core.model import SUITES, Status
from kitemark.testing import fixture_path, run_on_fixture

CHECKS = load_checks()
ROOT = resources.check_fixtures_dir().parent.parent
ID_PATTERN = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*-\d{3}$")


def test_catalogue_is_not_empty() -> None:
    assert {c.suite for c in CHECKS.values()} >= {"cluster", "terraform", "policies", "aws"}


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_check_metadata_is_complete(check_id: str) -> None:
    check = CHECKS[check_id]
    assert ID_PATTERN.match(check.id), "ids look like K8S-NET-001"
    assert check.suite in SUITES
    assert len(check.title) >= 10
    assert len(check.rationale) >= 40, "rationale must tell the auditor why this matters"
    assert len(check.remediation) >= 40, "remediation must say what to change"
    assert any(c.startswith("service-standard:") for c in check.controls)
    assert any(c.startswith("ncsc-csp:") for c in check.controls)


def test_frameworks_and_checks_agree() -> None:
    assert problems(load_frameworks(), CHECKS) == []


def test_builtin_frameworks_list_every_check_they_map_and_nothing_else() -> None:
    # Built-in frameworks and the checks' own `controls=` say the same thing, both ways.
    for framework in load_frameworks():
        for req in framework.requirements:
            for cid in req.checks:
                assert req.control in CHECKS[cid].controls, f"{cid} should declare {req.control}"


def test_service_standard_and_ncsc_are_complete() -> None:
    frameworks = {fw.id: fw for fw in load_frameworks()}
    standard = frameworks["service-standard"]
    assert [r.id for r in standard.requirements] == [str(n) for n in range(1, 15)]
    assert all(r.manual for r in standard.requirements[:7])
    assert all(r.checks and not r.manual for r in standard.requirements[7:])
    assert [r.id for r in frameworks["ncsc-csp"].requirements] == [str(n) for n in range(1, 15)]
    assert all(r.manual_evidence for fw in frameworks.values() for r in fw.requirements if r.manual)


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_compliant_fixture_passes(check_id: str) -> None:
    assert fixture_path(check_id, "compliant").exists(), f"add fixtures/checks/{check_id}/compliant/"
    findings = run_on_fixture(check_id, "compliant")
    statuses = {f.status for f in findings}
    assert Status.PASSED in statuses, findings
    assert not statuses & {Status.FAILED, Status.ERROR}, findings


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_noncompliant_fixture_fails_for_the_stated_reasons(check_id: str) -> None:
    """Exactly the resources `fixtures/checks/<ID>/expected.yaml` names fail, each for its stated reason;
    an input check reports *error* instead of *failed*."""
    assert fixture_path(check_id, "noncompliant").exists(), f"add fixtures/checks/{check_id}/noncompliant/"
    expected_file = fixture_path(check_id, "expected.yaml")
    assert expected_file.is_file(), f"add {expected_file.relative_to(ROOT)} naming what must fail and why"
    expected = yaml.safe_load(expected_file.read_text())["noncompliant"]
    outcome = Status.ERROR if "-INPUT-" in check_id else Status.FAILED
    findings = run_on_fixture(check_id, "noncompliant")
    bad = {f.resource: f for f in findings if f.status in (Status.FAILED, Status.ERROR)}
    assert set(bad) == {e["resource"] for e in expected}, findings
    for entry in expected:
        finding = bad[entry["resource"]]
        assert finding.status is outcome, finding
        assert entry["message"] in finding.message, finding
