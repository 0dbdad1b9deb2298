"""K8S-GK-002/003's inputs and how a Gatekeeper constraint's enforcement is read.

The expected constraints are the MoJ Cloud Platform's (cloud-platform-terraform-gatekeeper,
`resources/constraints/*.yaml` and `constraints/locals.tf`): each deny unless the platform runs it
as dryrun or warn. Kinds are compared ignoring case: a constraint's kind is its template's
`spec.crd.spec.names.kind`, which the platform writes in lower case for some templates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitemark.core.inputs import Input
from kitemark.targets.cluster.view import KObject

CONSTRAINT_GROUP = "constraints.gatekeeper.sh"
WEBHOOK_POINT = "validation.gatekeeper.sh"
# How strongly each action stops a violating request at admission.
STRENGTH = {"dryrun": 0, "warn": 1, "deny": 2}

GATEKEEPER_CONSTRAINTS = Input(
    "gatekeeper_constraints",
    default=[
        {"kind": "K8sRequiredLabels", "name": "user-ns-require-psa-label", "enforcementAction": "deny"},
        {
            "kind": "K8sServiceTypeLoadBalancer",
            "name": "k8sservicetypeloadbalancer",
            "enforcementAction": "deny",
        },
        {"kind": "K8sHostnameLength", "name": "k8shostnamelength", "enforcementAction": "deny"},
        {"kind": "K8sIngressClassname", "name": "k8singressclassname", "enforcementAction": "deny"},
        {"kind": "K8sExternalDnsIdentifier", "name": "k8sexternaldnsidentifier", "enforcementAction": "deny"},
        {
            "kind": "K8sBlockSnippetAnnotations",
            "name": "k8sblocksnippetannotations",
            "enforcementAction": "dryrun",
        },
        {"kind": "LockPrivCapabilities", "name": "lockprivcapabilities", "enforcementAction": "dryrun"},
        {
            "kind": "K8sPodMemoryRatio",
            "name": "enforce-memory-request-limit-ratio",
            "enforcementAction": "warn",
        },
        {"kind": "DenyKubectlServiceAccount", "name": "deny-kubectl-create-sa", "enforcementAction": "warn"},
    ],
    description=(
        "Gatekeeper constraints the cluster must hold (`kind`, `name`) and the enforcementAction each "
        "must have at least (`deny` > `warn` > `dryrun`)"
    ),
    schema={
        "type": "array",
        "items": {
            "type": "object",
            "required": ["kind", "name", "enforcementAction"],
            "additionalProperties": False,
            "properties": {
                "kind": {"type": "string", "minLength": 1},
                "name": {"type": "string", "minLength": 1},
                "enforcementAction": {"enum": list(STRENGTH)},
            },
        },
    },
)


def constraint_key(kind: str, name: str) -> tuple[str, str]:
    return kind.casefold(), name


def effective_action(constraint: KObject) -> tuple[str, str]:
    """(action at the admission webhook, how it was read). Unset is `deny`, Gatekeeper's default;
    `scoped` takes the strongest action scoped to the webhook (or to every enforcement point)."""
    spec = constraint.get("spec") or {}
    action = spec.get("enforcementAction") if isinstance(spec, Mapping) else None
    if action is None:
        return "deny", "enforcementAction unset (Gatekeeper's default, deny)"
    if action != "scoped":
        return str(action), f"enforcementAction: {action}"
    scoped: list[Any] = spec.get("scopedEnforcementActions") or []
    actions = [
        str(entry.get("action"))
        for entry in scoped
        if any(p.get("name") in (WEBHOOK_POINT, "*") for p in entry.get("enforcementPoints") or [])
    ]
    known = [a for a in actions if a in STRENGTH]
    if not known:
        return "none", f"enforcementAction: scoped, with no known action for {WEBHOOK_POINT}"
    strongest = max(known, key=STRENGTH.__getitem__)
    return strongest, f"enforcementAction: scoped, {strongest} at {WEBHOOK_POINT}"


AUDIT_FAIL_ACTIONS = Input(
    "audit_fail_actions",
    default=["deny"],
    description=(
        "Enforcement actions whose constraints fail K8S-GK-003 when the audit counts a violation (for "
        "the others the count is reported, not failed: violations are why a constraint is in dryrun)"
    ),
    schema={"type": "array", "items": {"enum": [*STRENGTH, "none"]}},
)
AUDIT_SHOWN = 20  # violations copied into the evidence; the count is always whole

MUTATION_GROUP = "mutations.gatekeeper.sh"
MUTATOR_KINDS = ["Assign", "AssignMetadata", "ModifySet", "AssignImage"]
_MUTATORS = [
    "default-fs-group",
    "default-supplemental-groups",
    "default-seccomp-profile",
    *(
        f"{base}{suffix}"
        for base in ("deny-privilege-escalation", "drop-all-cap", "run-as-non-root")
        for suffix in ("", "-init", "-eph")
    ),
]
GATEKEEPER_MUTATORS = Input(
    "gatekeeper_mutators",
    default=[{"kind": "Assign", "name": name} for name in _MUTATORS],
    description=(
        "Gatekeeper mutators the cluster must hold (`kind`: Assign, AssignMetadata, ModifySet or "
        "AssignImage; `name`): the platform's defaults for fsGroup, supplemental groups, seccomp, "
        "allowPrivilegeEscalation, dropped capabilities and runAsNonRoot"
    ),
    schema={
        "type": "array",
        "items": {
            "type": "object",
            "required": ["kind", "name"],
            "additionalProperties": False,
            "properties": {"kind": {"enum": MUTATOR_KINDS}, "name": {"type": "string", "minLength": 1}},
        },
    },
)
