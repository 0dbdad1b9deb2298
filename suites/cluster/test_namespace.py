"""Ownership and classification metadata on team namespaces."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import NAMESPACE, NamespaceView, listed, wrong_types

from .namespace_metadata import INPUTS, MetadataRule, rules


def _problems(
    kind: str, required: list[MetadataRule], values: dict[str, str]
) -> tuple[list[str], list[dict]]:
    missing: list[str] = []
    invalid: list[dict] = []
    for rule in required:
        if rule.key not in values:
            missing.append(f"{kind} {rule.key}")
            continue
        problem = rule.problem(values[rule.key])
        if problem:
            invalid.append(
                {
                    "key": f"{kind} {rule.key}",
                    "value": values[rule.key],
                    "expected": rule.expected(),
                    "problem": problem,
                }
            )
    return missing, invalid


def _seen(required: list[MetadataRule], values: dict[str, str]) -> dict[str, str]:
    return {rule.key: values[rule.key] for rule in required if rule.key in values}


@check(
    "K8S-NS-001",
    scope="cluster.namespace",
    title="Team namespaces carry the required ownership and security labels and annotations",
    severity="medium",
    rationale="""
        Namespace labels and annotations are how the platform knows who owns a service, whether it
        is production, where its source code is published and which Pod Security Standard is enforced.
        Without them incidents cannot be routed to a team, costs and risks cannot be attributed to a
        business unit (NCSC principle 4, governance), the code cannot be found in the open (Service
        Standard 12), and production alerting and support rules (Service Standard 14) cannot be
        applied. The `pod-security.kubernetes.io/enforce: restricted` label is what makes the API
        server reject root and privileged pods in the namespace. The required keys and their allowed
        values are the inputs `namespace_labels`, `namespace_annotations`, `business_units` and
        `source_code_pattern` (MoJ Cloud Platform defaults).
    """,
    remediation="""
        Set every required key in the namespace's 00-namespace.yaml, using an allowed business unit
        and a GitHub URL for the source code (several repositories are separated by commas):

            metadata:
              labels:
                cloud-platform.justice.gov.uk/is-production: "true"
                cloud-platform.justice.gov.uk/environment-name: "production"
                pod-security.kubernetes.io/enforce: restricted
              annotations:
                cloud-platform.justice.gov.uk/business-unit: "LAA"
                cloud-platform.justice.gov.uk/slack-channel: "my-team-alerts"
                cloud-platform.justice.gov.uk/application: "My service"
                cloud-platform.justice.gov.uk/owner: "My team: my-team@digital.justice.gov.uk"
                cloud-platform.justice.gov.uk/source-code: "https://github.com/ministryofjustice/my-service"
                cloud-platform.justice.gov.uk/team-name: "my-team"
    """,
    references=[
        "https://github.com/ministryofjustice/cloud-platform-environments",
        "https://kubernetes.io/docs/concepts/security/pod-security-admission/",
    ],
    reads=["v1/Namespace"],
    inputs=INPUTS,
)
def test_namespace_metadata(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    labels, annotations = rules("namespace_labels", inputs), rules("namespace_annotations", inputs)
    if not labels and not annotations:
        # Nothing to find missing is no evidence that anything is present: not a pass.
        yield not_applicable(
            ns.ref,
            "no labels or annotations are required "
            "(inputs namespace_labels and namespace_annotations are empty)",
        )
        return
    if ns.system:
        # Assessed only for the snapshot's own manifests placed here; the Namespace is the platform's.
        yield not_applicable(
            ns.ref,
            f"{ns.name} is a system namespace (input system_namespaces), assessed only for {ns.defaulted} "
            "object(s) that name no namespace: its own labels are the platform's",
            evidence={"note": ns.note},
        )
        return
    if ns.implied:
        reason = ns.implied_reason("Namespace object", "its labels and annotations")
        yield not_applicable(ns.ref, reason, evidence={"note": ns.note})
        return
    if ns.namespace is None:
        why = "the snapshot holds objects in this namespace but not its Namespace object"
        yield error(ns.ref, why + ns.short_note, evidence={"note": ns.note} if ns.note else None)
        return
    unreadable = wrong_types(ns.namespace.raw, NAMESPACE)
    if unreadable:
        yield error(
            ns.ref,
            f"cannot read the Namespace's labels and annotations: {listed(unreadable)} (the API server "
            "refuses such a Namespace; a YAML value such as `true` or `1` must be quoted)",
            evidence={"unreadable": unreadable, **({"note": ns.note} if ns.note else {})},
            location=ns.location,
        )
        return
    missing, invalid = _problems("label", labels, ns.namespace.labels)
    missing_a, invalid_a = _problems("annotation", annotations, ns.namespace.annotations)
    missing += missing_a
    invalid += invalid_a
    checked = [r.key for r in [*labels, *annotations]]
    # The values seen, so an auditor can verify a pass; these are ownership labels, not secrets.
    values = {
        "labels": _seen(labels, ns.namespace.labels),
        "annotations": _seen(annotations, ns.namespace.annotations),
    }
    evidence: dict[str, Any] = {"checked": checked, "values": values, "missing": missing, "invalid": invalid}
    if ns.note:
        evidence["note"] = ns.note
    if missing or invalid:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"{i['key']}={i['value']!r} is {i['problem']}" for i in invalid]
        yield failed(ns.ref, "; ".join(parts), evidence=evidence, location=ns.location)
    else:
        yield passed(
            ns.ref,
            f"all {len(checked)} required labels and annotations are present and valid",
            evidence=evidence,
            location=ns.location,
        )
