"""Gatekeeper ``gator verify`` suites: every case's violations match its assertions.

Unit data: ``kitemark.engines.gatekeeper.GatekeeperCase`` (the suite case with its template, constraint,
object and inventory already loaded; or, for an ``invalid: true`` test, the test itself, unit
``<suite>#<test name>``, which passes only when the constraint fails the template's schema).
Unreadable suites, templates or objects arrive as input
errors and report *error* before this function runs.
"""

from __future__ import annotations

from collections.abc import Iterator

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding, clipped
from kitemark.engines.gatekeeper import CaseOutcome, GatekeeperCase, parse_assertion
from kitemark.targets.policies.collect import SUITE_READS

MAX_MESSAGES = 20


@check(
    "GK-SUITE-001",
    scope="policies.gatekeeper-case",
    title="Gatekeeper constraint templates behave as their test suites expect",
    severity="high",
    rationale="""
        Gatekeeper constraints are the cluster's admission control: they stop insecure or
        conflicting objects (unrestricted namespaces, hijacked ingress hosts, privileged pods) at the
        API server, which protects the platform's external interfaces and tenants from each other.
        Each gator verify case pins one allowed or disallowed object; a case that no longer
        holds means the template, its constraint or its match has drifted, and the cluster would
        admit (or refuse) objects the platform's policy says otherwise about.
    """,
    remediation="""
        Reproduce with "gator verify <dir>" (or "kitemark run --policies <dir>"). Compare the
        expected and actual violations in the finding's evidence, then fix the template's Rego, the
        constraint's spec.match or spec.parameters, or the case's assertion if the expectation was
        wrong. Give each test an allowed case asserting "violations: no" and a disallowed case
        asserting "violations: 1" with a message regex (Go RE2 syntax, no lookarounds or
        backreferences), for example message "must be labelled pod-security.kubernetes.io/enforce".
        A test marked "invalid: true" needs a constraint whose parameters break the template's
        openAPIV3Schema.
    """,
    reads=SUITE_READS,
    references=[
        "https://open-policy-agent.github.io/gatekeeper/website/docs/gator/",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-11-external-interface-protection",
    ],
)
def test_gatekeeper_case_passes(case: GatekeeperCase) -> Iterator[Finding]:
    if case.skip:
        yield not_applicable(case.resource, "skipped in the suite (skip: true)")
        return
    outcome = case.run()
    if case.invalid:
        yield _invalid_test_finding(case, outcome)
        return
    evidence = {
        "suite": case.suite,
        "template": case.template.get("path"),
        "constraint": case.constraint_path,
        "object": case.object_path,
        "expected": [_describe(a) for a in case.assertions],
        "actual": {
            "matched": outcome.matched,
            "violations": len(outcome.violations),
            "messages": [clipped(str(v.get("msg", ""))) for v in outcome.violations[:MAX_MESSAGES]],
        },
    }
    if outcome.error:
        yield error(
            case.resource,
            f"case could not be evaluated: {outcome.error}",
            evidence=evidence,
            location=case.location,
        )
    elif outcome.passed:
        n = len(outcome.violations)
        how = f"{n} violation(s)" if outcome.matched else "constraint does not match the object, 0 violations"
        yield passed(
            case.resource, f"{how}, as the assertions expect", evidence=evidence, location=case.location
        )
    else:
        evidence["failures"] = outcome.failures
        yield failed(case.resource, "; ".join(outcome.failures), evidence=evidence, location=case.location)


def _invalid_test_finding(case: GatekeeperCase, outcome: CaseOutcome) -> Finding:
    """An ``invalid: true`` test: it holds when the constraint fails the template's schema validation."""
    evidence = {
        "suite": case.suite,
        "template": case.template.get("path"),
        "constraint": case.constraint_path,
        "expected": "constraint rejected by schema validation (invalid: true)",
        "actual": {"rejected": outcome.rejection is not None, "reason": outcome.rejection},
    }
    if outcome.error:
        return error(
            case.resource,
            f"test could not be evaluated: {outcome.error}",
            evidence=evidence,
            location=case.location,
        )
    if outcome.passed:
        return passed(
            case.resource,
            f"constraint rejected as the test expects: {outcome.rejection}",
            evidence=evidence,
            location=case.location,
        )
    evidence["failures"] = outcome.failures
    return failed(case.resource, "; ".join(outcome.failures), evidence=evidence, location=case.location)


def _describe(raw: object) -> str:
    try:
        return parse_assertion(raw).describe()
    except Exception:
        return repr(raw)
