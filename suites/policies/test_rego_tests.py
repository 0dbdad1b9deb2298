"""Rego unit tests: every ``test_*`` rule of every ``*_test.rego`` file passes, as ``opa test`` runs them.

Unit data: ``kitemark.targets.policies.rego_tests.RegoTestCase`` (the test file, package and rule, and every
parseable Rego module of the target, loaded together into one engine). Test files that do not
parse arrive as units with input errors and report *error* before this function runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from kitemark.core.checks import check, error, failed, passed
from kitemark.core.model import MAX_PRINTS, Finding, clipped
from kitemark.targets.policies.collect import REGO_READS
from kitemark.targets.policies.rego_tests import RegoTestCase


@check(
    "REGO-TEST-001",
    scope="policies.rego-test",
    title="Rego policy unit tests pass",
    severity="high",
    rationale="""
        Admission and conftest policies are security controls written as code; their unit tests are
        the evidence that each rule denies what it should and allows what it should. A failing or
        erroring test means a policy does not do what its authors (and the platform's risk
        register) say it does, so a change may be admitting insecure workloads or blocking tenants.
        Secure development (NCSC principle 7) expects such controls to be tested on every change, and
        a passing suite is what lets the platform change its policies safely and often.
    """,
    remediation="""
        Run the same tests locally with ``opa test <dir> -v`` (or ``kitemark run --policies <dir>``),
        read the failing rule named in the finding, and fix the policy (or the test, if the
        expectation was wrong) until it passes. Each test should pin one behaviour, for example::

            test_namespace_without_the_label_is_denied if {
                count(violation) == 1 with input as {"review": {...}}
            }

        and run in CI before a policy reaches a cluster.
    """,
    reads=REGO_READS,
    references=[
        "https://www.openpolicyagent.org/docs/policy-testing",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-7-secure-development",
    ],
)
def test_rego_unit_test_passes(case: RegoTestCase) -> Iterator[Finding]:
    outcome = case.run()
    evidence = {
        "file": case.path,
        "package": ".".join(case.package),
        "rule": case.name,
        "rego_version": case.version,
        "result": outcome.result,
        # What was tested, so an auditor need not open the repository (bounded: see rule_source).
        "lines": [case.line, case.end_line],
        "source": case.source,
    }
    if outcome.prints:
        evidence["prints"] = [clipped(line) for line in outcome.prints[:MAX_PRINTS]]
    if outcome.status == "passed":
        yield passed(case.resource, outcome.message, evidence=evidence, location=case.location)
    elif outcome.status == "failed":
        yield failed(
            case.resource, f"unit test failed: {outcome.message}", evidence=evidence, location=case.location
        )
    else:
        err = outcome.error
        location = f"{err.path}:{err.line}" if err and err.path and err.line else case.location
        yield error(
            case.resource, f"unit test could not run: {outcome.message}", evidence=evidence, location=location
        )
