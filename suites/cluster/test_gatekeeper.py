"""Gatekeeper, the platform's admission controller: installed and wired in (K8S-GK-001), holding the
expected constraints at the expected enforcement (K8S-GK-002), what its audit found (K8S-GK-003), and
the expected mutators (K8S-GK-004)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.inputs import Input
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import CONSTRAINT, MUTATOR, WEBHOOK_CONFIGURATION
from kitemark.targets.cluster.view import ClusterView, KObject, listed, wrong_types

from .constraints import (
    AUDIT_FAIL_ACTIONS,
    AUDIT_SHOWN,
    CONSTRAINT_GROUP,
    GATEKEEPER_CONSTRAINTS,
    GATEKEEPER_MUTATORS,
    MUTATION_GROUP,
    MUTATOR_KINDS,
    STRENGTH,
    constraint_key,
    effective_action,
)
from .platform import find, in_namespace, of_kind, whole_cluster

GATEKEEPER_REFERENCES = [
    "https://github.com/ministryofjustice/cloud-platform-terraform-gatekeeper",
    "https://open-policy-agent.github.io/gatekeeper/website/docs/",
]
VWC = "admissionregistration.k8s.io/ValidatingWebhookConfiguration"
CRD = "apiextensions.k8s.io/CustomResourceDefinition"

GATEKEEPER_NAMESPACE = Input(
    "gatekeeper_namespace",
    default="gatekeeper-system",
    description="The namespace Gatekeeper runs in",
    schema={"type": "string", "minLength": 1},
)
GATEKEEPER_DEPLOYMENTS = Input(
    "gatekeeper_deployments",
    default=["gatekeeper-controller-manager", "gatekeeper-audit"],
    description="Gatekeeper's Deployments (its admission webhook and its audit) in `gatekeeper_namespace`",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
GATEKEEPER_WEBHOOK = Input(
    "gatekeeper_webhook",
    default="gatekeeper-validating-webhook-configuration",
    description="The ValidatingWebhookConfiguration through which the API server asks Gatekeeper",
    schema={"type": "string", "minLength": 1},
)
GATEKEEPER_CRDS = ["constrainttemplates.templates.gatekeeper.sh"]


def _webhook_problems(hook: KObject, namespace: str) -> tuple[list[str], list[dict[str, Any]]]:
    """What is wrong with Gatekeeper's webhook configuration, and what each webhook says."""
    seen = []
    for entry in hook.get("webhooks") or []:
        service = entry.get("clientConfig", {}).get("service") or {}
        seen.append(
            {
                "name": entry.get("name"),
                "service": f"{service.get('namespace')}/{service.get('name')}" if service else None,
                "failurePolicy": entry.get("failurePolicy", "Fail"),
                "rules": len(entry.get("rules") or []),
            }
        )
    ours = [s for s in seen if s["service"] and s["service"].startswith(f"{namespace}/") and s["rules"]]
    if ours:
        return [], seen
    if not seen:
        return [f"ValidatingWebhookConfiguration {hook.name} holds no webhook"], seen
    return [
        f"no webhook of ValidatingWebhookConfiguration {hook.name} sends reviews to a Service in {namespace} "
        "with at least one rule"
    ], seen


def _gatekeeper(cluster: ClusterView, inputs: Mapping[str, Any]) -> tuple[list[str], dict[str, Any], bool]:
    """(problems, evidence, whether any part of Gatekeeper is in the input)."""
    ns = inputs[GATEKEEPER_NAMESPACE.name]
    namespace = find(cluster, "v1/Namespace", ns)
    deployments = in_namespace(of_kind(cluster, "apps/Deployment"), ns)
    hook = find(cluster, VWC, inputs[GATEKEEPER_WEBHOOK.name])
    crds = {name: find(cluster, CRD, name) for name in GATEKEEPER_CRDS}
    problems: list[str] = []
    if namespace is None:
        problems.append(f"no Namespace {ns}")
    missing = [d for d in inputs[GATEKEEPER_DEPLOYMENTS.name] if d not in deployments]
    problems += [f"no Deployment {ns}/{d}" for d in missing]
    problems += [f"no CustomResourceDefinition {name}" for name, crd in crds.items() if crd is None]
    webhooks: list[dict[str, Any]] = []
    if hook is None:
        problems.append(f"no ValidatingWebhookConfiguration {inputs[GATEKEEPER_WEBHOOK.name]}")
    else:
        wrong, webhooks = _webhook_problems(hook, ns)
        problems += wrong
    present = bool(namespace or deployments or hook or any(crds.values()))
    evidence = {
        "namespace": ns,
        "deployments": sorted(deployments),
        "webhook_configuration": hook.name if hook else None,
        "webhooks": webhooks,
        "crds": [name for name, crd in crds.items() if crd is not None],
    }
    return problems, evidence, present


@check(
    "K8S-GK-001",
    scope="cluster.cluster",
    title="Gatekeeper is installed and the API server sends it admission reviews",
    severity="critical",
    rationale="""
        Gatekeeper's constraints are how the platform stops tenants from creating what its policies
        forbid (load balancers, unsafe ingress annotations, clashing hosts, unlabelled namespaces):
        without its controller, its ConstraintTemplate CRD and the ValidatingWebhookConfiguration that
        makes the API server ask it, every constraint is silently inert (NCSC principles 3 and 11,
        Service Standard 9). The namespace, Deployments and webhook are the inputs
        `gatekeeper_namespace`, `gatekeeper_deployments` and `gatekeeper_webhook`; at least one
        webhook must send reviews to a Service in Gatekeeper's namespace and carry rules (its
        failurePolicy is shown as evidence). A live cluster, or a snapshot holding the kube-system
        Namespace (a whole cluster), without Gatekeeper fails; a snapshot that is not of a whole
        cluster and holds no part of Gatekeeper is not applicable, since the absence is no evidence.
        Whether its pods are ready is K8S-PLAT-002.
    """,
    remediation="""
        Install Gatekeeper with the platform's module (cloud-platform-terraform-gatekeeper, Helm
        chart `gatekeeper`) into `gatekeeper-system`, and do not delete or edit its
        ValidatingWebhookConfiguration; check with
        `kubectl get validatingwebhookconfiguration gatekeeper-validating-webhook-configuration -o yaml`.
    """,
    references=GATEKEEPER_REFERENCES,
    reads=["v1/Namespace", "apps/Deployment", VWC, CRD],
    inputs=[GATEKEEPER_NAMESPACE, GATEKEEPER_DEPLOYMENTS, GATEKEEPER_WEBHOOK],
)
def test_gatekeeper_installed(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    resource = f"Gatekeeper/{inputs[GATEKEEPER_NAMESPACE.name]}"
    hook = find(cluster, VWC, inputs[GATEKEEPER_WEBHOOK.name])
    unreadable = wrong_types(hook.raw, WEBHOOK_CONFIGURATION) if hook else []
    if hook and unreadable:
        yield error(
            resource,
            f"cannot read ValidatingWebhookConfiguration {hook.name}: {listed(unreadable)}",
            evidence={"unreadable": unreadable},
            location=hook.source,
        )
        return
    whole, why = whole_cluster(cluster)
    problems, evidence, present = _gatekeeper(cluster, inputs)
    evidence["whole_cluster"] = why
    if not whole and not present:
        yield not_applicable(
            resource,
            f"no part of Gatekeeper in the input, and {why}: its absence is no evidence",
            evidence=evidence,
        )
    elif problems:
        yield failed(
            resource, "Gatekeeper is not installed in full: " + "; ".join(problems), evidence=evidence
        )
    else:
        yield passed(
            resource,
            f"Gatekeeper's namespace, {len(evidence['deployments'])} Deployment(s), CRDs and validating "
            f"webhook ({hook.name if hook else ''}) are present",
            evidence=evidence,
            location=hook.source if hook else None,
        )


def constraints(cluster: ClusterView) -> list[KObject]:
    return [o for o in cluster.objects if o.group == CONSTRAINT_GROUP]


def _enforcement_finding(resource: str, constraint: KObject, expected: str) -> Finding:
    problems = wrong_types(constraint.raw, CONSTRAINT)
    if problems:
        return error(
            resource,
            f"cannot read constraint {constraint.ref}: {listed(problems)} (the API server refuses it)",
            evidence={"unreadable": problems},
            location=constraint.source,
        )
    action, how = effective_action(constraint)
    evidence = {"expected": expected, "effective": action, "read": how, "constraint": constraint.ref}
    strength = STRENGTH.get(action)
    if strength is None or strength < STRENGTH[expected]:
        return failed(
            resource,
            f"{how}: expected {expected}, so violations are "
            + (
                "only recorded"
                if action == "dryrun"
                else "not refused"
                if action == "warn"
                else "not enforced"
            ),
            evidence=evidence,
            location=constraint.source,
        )
    stricter = f" (stricter than the expected {expected})" if strength > STRENGTH[expected] else ""
    return passed(resource, f"{how}{stricter}", evidence=evidence, location=constraint.source)


@check(
    "K8S-GK-002",
    scope="cluster.cluster",
    title="Every expected Gatekeeper constraint exists with at least its expected enforcementAction",
    severity="high",
    rationale="""
        A constraint that is missing, or in `dryrun` (only recorded by the audit) or `warn` (the
        client is warned, the request admitted) where the platform means it to `deny`, lets through
        exactly what it was written to stop: load balancers without approval, unsafe ingress
        snippets, unlabelled namespaces (NCSC principles 3 and 11, Service Standard 9). The platform's
        own Go tests do not check the mode. Each expected constraint (input `gatekeeper_constraints`:
        kind, name, enforcementAction; the MoJ Cloud Platform's by default) is one result; kinds are
        compared ignoring case. An action stronger than expected passes and says so (`deny` > `warn` >
        `dryrun`; unset is `deny`; `scoped` is read at the admission webhook). Constraints present
        but not expected are listed in the evidence of K8S-GK-003. A live cluster, or a whole-cluster
        snapshot, missing a constraint fails; a snapshot that is not of a whole cluster and holds no
        constraint at all is not applicable.
    """,
    remediation="""
        Apply the constraint from cloud-platform-terraform-gatekeeper and set its mode in the
        module's `dryrun_map` (false means deny):

            apiVersion: constraints.gatekeeper.sh/v1beta1
            kind: K8sRequiredLabels
            metadata:
              name: user-ns-require-psa-label
            spec:
              enforcementAction: deny
    """,
    references=GATEKEEPER_REFERENCES,
    reads=["v1/Namespace", "constraints.gatekeeper.sh/*"],
    inputs=[GATEKEEPER_CONSTRAINTS],
)
def test_gatekeeper_constraints(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    expected = inputs[GATEKEEPER_CONSTRAINTS.name]
    found = {constraint_key(c.kind, c.name): c for c in constraints(cluster)}
    if not expected:
        yield not_applicable(
            cluster.cluster, "no constraint is expected (input gatekeeper_constraints is empty)"
        )
        return
    whole, why = whole_cluster(cluster)
    if not whole and not found:
        yield not_applicable(
            f"{CONSTRAINT_GROUP}/*",
            f"no Gatekeeper constraint in the input, and {why}: their absence is no evidence",
            evidence={"expected": [f"{e['kind']}/{e['name']}" for e in expected]},
        )
        return
    for entry in expected:
        resource = f"{entry['kind']}/{entry['name']}"
        constraint = found.get(constraint_key(entry["kind"], entry["name"]))
        if constraint is None:
            yield failed(
                resource,
                f"no {entry['kind']} constraint named {entry['name']} "
                f"(expected {entry['enforcementAction']})",
                evidence={"expected": entry["enforcementAction"], "whole_cluster": why},
            )
        else:
            yield _enforcement_finding(resource, constraint, entry["enforcementAction"])


def _audit_finding(constraint: KObject, fail_actions: list[str], whole: bool, why: str) -> Finding:
    problems = wrong_types(constraint.raw, CONSTRAINT)
    if problems:
        return error(
            constraint.ref,
            f"cannot read the constraint: {listed(problems)} (the API server refuses it)",
            evidence={"unreadable": problems},
            location=constraint.source,
        )
    action, how = effective_action(constraint)
    total = constraint.get("status", "totalViolations")
    if total is None:
        if not whole:
            return not_applicable(constraint.ref, f"no audit status (a manifest, not a live object): {why}")
        return error(
            constraint.ref,
            "the audit has not reported on this constraint (no status.totalViolations): is "
            "gatekeeper-audit running?",
            evidence={"enforcementAction": action},
            location=constraint.source,
        )
    shown = list(constraint.get("status", "violations") or [])[:AUDIT_SHOWN]
    evidence = {
        "totalViolations": total,
        "auditTimestamp": constraint.get("status", "auditTimestamp"),
        "enforcementAction": action,
        "violations": shown,
    }
    where = ", ".join(f"{v.get('kind')}/{v.get('namespace') or '-'}/{v.get('name')}" for v in shown[:3])
    more = "…" if isinstance(total, int) and total > 3 else ""
    counted = f"the audit counts {total} violation(s)" + (f" ({where}{more})" if total and where else "")
    if total and action in fail_actions:
        return failed(
            constraint.ref,
            f"{counted} of a constraint in {action}: objects it forbids exist",
            evidence=evidence,
            location=constraint.source,
        )
    note = f" ({how}: reported, not failed; input {AUDIT_FAIL_ACTIONS.name})" if total else ""
    return passed(constraint.ref, counted + note, evidence=evidence, location=constraint.source)


@check(
    "K8S-GK-003",
    scope="cluster.cluster",
    title="Gatekeeper's audit finds no violation of an enforced constraint",
    severity="medium",
    rationale="""
        Admission only judges what is created or changed after a constraint exists, and a webhook
        that fails open (failurePolicy Ignore) lets requests through when Gatekeeper is down. The
        audit re-checks every existing object and records the count in each constraint's
        `status.totalViolations`: for an enforced constraint any violation is an object the
        platform's policy forbids, present on the cluster (NCSC principles 3 and 11, Service
        Standard 9). Every constraint is one result with its count, audit time and first violations
        as evidence; those whose action is in input `audit_fail_actions` (default `deny`) fail when
        the count is above zero, the others (dryrun, warn: violations are why they are not denied)
        pass with the count stated. A constraint without audit status is an *error* on a live or
        whole-cluster input (the audit has not run) and not applicable in a repository snapshot;
        no constraint at all is not applicable (K8S-GK-001/002 report a missing Gatekeeper).
    """,
    remediation="""
        List the violations (`kubectl get <kind> <name> -o jsonpath='{.status.violations}'`) and fix
        or remove each object; if the audit reports nothing, check the gatekeeper-audit Deployment.
    """,
    references=GATEKEEPER_REFERENCES,
    reads=["v1/Namespace", "constraints.gatekeeper.sh/*"],
    inputs=[AUDIT_FAIL_ACTIONS],
)
def test_gatekeeper_audit(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    found = constraints(cluster)
    whole, why = whole_cluster(cluster)
    if not found:
        yield not_applicable(
            f"{CONSTRAINT_GROUP}/*", "no Gatekeeper constraint in the input", evidence={"whole_cluster": why}
        )
        return
    for constraint in sorted(found, key=lambda c: (c.kind, c.name)):
        yield _audit_finding(constraint, inputs[AUDIT_FAIL_ACTIONS.name], whole, why)


def _mutator_finding(entry: Mapping[str, str], mutator: KObject | None, why: str) -> Finding:
    resource = f"{entry['kind']}/{entry['name']}"
    if mutator is None:
        return failed(
            resource, f"no {entry['kind']} mutator named {entry['name']}", evidence={"whole_cluster": why}
        )
    problems = wrong_types(mutator.raw, MUTATOR)
    if problems:
        return error(
            resource,
            f"cannot read the mutator: {listed(problems)} (the API server refuses it)",
            evidence={"unreadable": problems},
            location=mutator.source,
        )
    location = mutator.get("spec", "location")
    return passed(
        resource,
        f"present, writing {location}" if location else "present",
        evidence={"location": location},
        location=mutator.source,
    )


@check(
    "K8S-GK-004",
    scope="cluster.cluster",
    title="Every expected Gatekeeper mutator exists",
    severity="high",
    rationale="""
        The platform's Gatekeeper mutators give every tenant pod safe defaults it did not set
        itself (fsGroup and supplemental groups, seccomp RuntimeDefault, allowPrivilegeEscalation
        false, drop ALL capabilities, runAsNonRoot) in containers, init containers and ephemeral
        containers. Without one, a pod that omits the setting runs less confined, or is refused by
        Pod Security admission instead of being fixed (NCSC principles 3 and 5, Service Standard 9).
        Each expected mutator (input `gatekeeper_mutators`: kind and name; the MoJ twelve by
        default) is one result, with the location it writes as evidence. A live cluster, or a
        whole-cluster snapshot, missing one fails; a snapshot that is not of a whole cluster and
        holds no mutator is not applicable.
    """,
    remediation="""
        Apply the mutators from cloud-platform-terraform-gatekeeper (`resources/mutations/`), for
        example `kubectl apply -f resources/mutations/run_as_non_root.yaml`, and check with
        `kubectl get assign`.
    """,
    references=GATEKEEPER_REFERENCES,
    # Optional (`?`): a cluster that does not serve a mutator kind holds none of it, which this check
    # judges against the expected mutators itself; its absence is not an error of the read.
    reads=["v1/Namespace", *(f"{MUTATION_GROUP}/{kind}?" for kind in MUTATOR_KINDS)],
    inputs=[GATEKEEPER_MUTATORS],
)
def test_gatekeeper_mutators(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    expected = inputs[GATEKEEPER_MUTATORS.name]
    if not expected:
        yield not_applicable(cluster.cluster, "no mutator is expected (input gatekeeper_mutators is empty)")
        return
    found = {(o.kind, o.name): o for o in cluster.objects if o.group == MUTATION_GROUP}
    whole, why = whole_cluster(cluster)
    if not whole and not found:
        yield not_applicable(
            f"{MUTATION_GROUP}/*",
            f"no Gatekeeper mutator in the input, and {why}: their absence is no evidence",
            evidence={"expected": [f"{e['kind']}/{e['name']}" for e in expected]},
        )
        return
    for entry in expected:
        yield _mutator_finding(entry, found.get((entry["kind"], entry["name"])), why)
