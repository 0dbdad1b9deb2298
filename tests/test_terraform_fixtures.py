"""Every terraform check's self-test fixtures give exactly the results their ``expected.yaml`` names: the
compliant fixture passes exactly the ``compliant:`` resources (nothing fails or errors), the non-compliant
one fails exactly the ``noncompliant:`` resources, each for its stated reason."""

from __future__ import annotations

import pytest
import yaml

from kitemark.core.model import Status
from kitemark.testing import fixture_path, run_on_fixture

TF_CHECKS = ("TF-S3-001", "TF-TAG-001", "TF-VER-001")


def expected(check_id: str) -> dict[str, list[dict[str, str]]]:
    return yaml.safe_load(fixture_path(check_id, "expected.yaml").read_text())


@pytest.mark.parametrize("check_id", TF_CHECKS)
def test_compliant_fixture_passes_exactly_the_listed_resources(check_id: str) -> None:
    findings = run_on_fixture(check_id, "compliant")
    passed = {f.resource for f in findings if f.status is Status.PASSED}
    assert passed == {e["resource"] for e in expected(check_id)["compliant"]}, findings
    assert not [f for f in findings if f.status in (Status.FAILED, Status.ERROR)]


@pytest.mark.parametrize("check_id", TF_CHECKS)
def test_noncompliant_fixture_fails_exactly_the_listed_resources(check_id: str) -> None:
    findings = run_on_fixture(check_id, "noncompliant")
    bad = {f.resource: f for f in findings if f.status in (Status.FAILED, Status.ERROR)}
    listed = expected(check_id)["noncompliant"]
    assert set(bad) == {e["resource"] for e in listed}, findings
    for entry in listed:
        assert bad[entry["resource"]].status is Status.FAILED
        assert entry["message"] in bad[entry["resource"]].message, bad[entry["resource"]]


def test_tag_fixture_exercises_inheritance_from_the_root() -> None:
    findings = run_on_fixture("TF-TAG-001", "compliant")
    inherited = [f for f in findings if "from root module compliant" in f.message]
    assert inherited and all(f.resource.startswith("modules/") for f in inherited)
