"""What the terraform checks' self-test fixtures exercise beyond what ``test_check_catalog`` asks of every
check's fixtures (exactly the listed resources pass and fail)."""

from __future__ import annotations

from kitemark.testing import run_on_fixture


def test_tag_fixture_exercises_inheritance_from_the_root() -> None:
    findings = run_on_fixture("TF-TAG-001", "compliant")
    inherited = [f for f in findings if "from root module compliant" in f.message]
    assert inherited and all(f.resource.startswith("modules/") for f in inherited)
