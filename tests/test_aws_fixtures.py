"""Each aws check's self-test fixtures give exactly the results `expected.yaml` names."""

from __future__ import annotations

import pytest
import yaml

from kitemark.core import resources
from kitemark.core.model import Status
from kitemark.testing import fixture_path, run_on_fixture

AWS_CHECKS = sorted(p.parent.name for p in resources.check_fixtures_dir().glob("AWS-*/expected.yaml"))


def test_every_aws_check_has_fixtures() -> None:
    assert AWS_CHECKS == ["AWS-EKS-001", "AWS-EKS-002", "AWS-S3-001"]


@pytest.mark.parametrize("check_id", AWS_CHECKS)
def test_fixtures_give_exactly_the_expected_results(check_id: str) -> None:
    expected = yaml.safe_load(fixture_path(check_id, "expected.yaml").read_text())

    good = run_on_fixture(check_id, "compliant")
    assert {f.resource for f in good if f.status is Status.PASSED} == {
        e["resource"] for e in expected["compliant"]
    }
    assert all(f.status is Status.PASSED for f in good), good

    bad = run_on_fixture(check_id, "noncompliant")
    failed = {f.resource: f for f in bad if f.status is Status.FAILED}
    assert set(failed) == {e["resource"] for e in expected["noncompliant"]}
    assert not [f for f in bad if f.status is Status.ERROR], bad
    for entry in expected["noncompliant"]:
        assert entry["message"] in failed[entry["resource"]].message, failed[entry["resource"]]
    # every finding points at the resource's ARN
    assert all(f.where.startswith("arn:aws:") for f in good + bad)
