"""The findings of the RBAC checks (``test_rbac``), one object at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kitemark.core.checks import error, failed, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import SECRET, ClusterView, KObject, Workload, listed, wrong_types

from . import automount
from .rbac import (
    BUILT_IN_ROLES,
    FULL_POWER_ROLE,
    anonymous_allowed,
    audience,
    binding_ref,
    describe,
    role_ref,
    subjects,
    unreadable,
    wildcard_rules,
)


def role_binding_finding(binding: KObject, permitted: list[str]) -> Finding:
    bad = unreadable(binding)
    if bad:
        return error(
            binding.ref,
            f"cannot read the binding: {listed(bad)} (the API server refuses it)",
            location=binding.source,
        )
    kind, name = role_ref(binding)
    whom = describe(subjects(binding)) or "no subject"
    evidence = {"roleRef": f"{kind}/{name}", "subjects": whom, "permitted_cluster_roles": permitted}
    if kind == "Role":
        return passed(
            binding.ref,
            f"binds Role '{name}' of this namespace to {whom}",
            evidence=evidence,
            location=binding.source,
        )
    if kind == "ClusterRole" and name in permitted:
        return passed(
            binding.ref,
            f"binds ClusterRole '{name}' (permitted) to {whom}",
            evidence=evidence,
            location=binding.source,
        )
    what = f"ClusterRole '{name}'" if kind == "ClusterRole" else f"roleRef of kind {kind!r} named '{name}'"
    return failed(
        binding.ref,
        f"binds {what} to {whom}: not one of the permitted ClusterRoles ({', '.join(permitted) or 'none'}; "
        "input permitted_cluster_roles)",
        evidence=evidence,
        location=binding.source,
    )


def unread_files(cluster: ClusterView, reads: Iterable[str]) -> Iterator[Finding]:
    """A file that could not be read may hold a binding: the check cannot say there is none. (Errors no
    namespace holds already make the whole unit an error; these are the ones charged to namespaces.)
    Only errors that concern ``reads`` count: a type a live read could not list (cert-manager's
    Certificates) hides no binding."""
    errors = [e for e in cluster.errors if e.concerns(tuple(reads))]
    if errors:
        what = "input(s)" if cluster.from_api else "file(s)"
        yield error(
            "input",
            f"{len(errors)} {what} could not be read (first: {errors[0]}), so a binding they hold "
            "is not assessed (see K8S-INPUT-001)",
            evidence={"unread": [e.path for e in errors]},
        )


def what_role_grants(binding: KObject, roles: Mapping[str, KObject]) -> tuple[str, str]:
    """What a ClusterRoleBinding's role grants: ('full' | 'limited' | 'unknown', why)."""
    kind, name = role_ref(binding)
    if kind != "ClusterRole":
        return "unknown", f"its roleRef.kind is {kind!r}, not ClusterRole (the API server refuses it)"
    if name == FULL_POWER_ROLE:
        return "full", f"binds ClusterRole {FULL_POWER_ROLE}"
    role = roles.get(name)
    if role is not None:
        bad = unreadable(role)
        if bad:
            return "unknown", f"ClusterRole '{name}' cannot be read: {listed(bad)}"
        rules = wildcard_rules(role)
        if rules:
            return (
                "full",
                f"binds ClusterRole '{name}', whose rule {rules[0]} grants every verb (*) on every "
                "resource (*)",
            )
        return "limited", f"ClusterRole '{name}' grants no `*` verbs on `*` resources"
    if name in BUILT_IN_ROLES or name.startswith("system:"):
        return (
            "limited",
            f"ClusterRole '{name}' is Kubernetes' own (not in the snapshot), which grants no `*` on `*`",
        )
    return "unknown", f"ClusterRole '{name}' is not in the snapshot, so what it grants cannot be told"


def cluster_admin_finding(
    binding: KObject, roles: Mapping[str, KObject], cluster: ClusterView, allowed: set[str]
) -> Finding:
    ref = binding_ref(binding)
    bad = unreadable(binding)
    if bad:
        return error(
            ref,
            f"cannot read the binding: {listed(bad)} (the API server refuses it)",
            location=binding.source,
        )
    grant, why = what_role_grants(binding, roles)
    found = subjects(binding)
    kinds = {s.label: audience(s, cluster.system_namespaces) for s in found}
    # Anonymous and every-tenant groups are never the platform's, whatever the input lists.
    others = [
        s
        for s in found
        if kinds[s.label] in ("anonymous", "everyone")
        or (kinds[s.label] == "tenant" and s.key not in allowed)
    ]
    evidence: dict[str, Any] = {
        "roleRef": "/".join(role_ref(binding)),
        "grants_everything": {"full": True, "limited": False}.get(grant),
        "reason": why,
        "subjects": [
            {"subject": s.label, "audience": kinds[s.label], "allowed": s.key in allowed} for s in found
        ],
    }
    where = binding.source
    if grant == "full" and others:
        return failed(
            ref,
            f"{why} to {describe(others)}: not the platform's, nor allowed by the input "
            "cluster_admin_subjects",
            evidence=evidence,
            location=where,
        )
    if grant == "unknown" and others:
        return error(ref, f"{why}; it is bound to {describe(others)}", evidence=evidence, location=where)
    if grant == "limited":
        return passed(ref, why, evidence=evidence, location=where)
    whom = describe(found) or "no subject"
    return passed(
        ref, f"{why} only to platform or allowed subjects: {whom}", evidence=evidence, location=where
    )


def anonymous_finding(binding: KObject, cluster: ClusterView, allowed: Any) -> Finding:
    ref = binding_ref(binding)
    bad = unreadable(binding)
    if bad:
        return error(
            ref,
            f"cannot read the binding: {listed(bad)} (the API server refuses it)",
            location=binding.source,
        )
    role = "/".join(role_ref(binding))
    anonymous = [s for s in subjects(binding) if audience(s, cluster.system_namespaces) == "anonymous"]
    evidence = {"roleRef": role, "anonymous_subjects": [s.label for s in anonymous]}
    if not anonymous:
        return passed(
            ref,
            f"binds {role} to no anonymous or unauthenticated subject",
            evidence=evidence,
            location=binding.source,
        )
    if anonymous_allowed(ref, binding, allowed):
        evidence["allowed_by"] = "anonymous_bindings"
        return passed(
            ref,
            f"binds {role} to {describe(anonymous)}, as the input anonymous_bindings allows for this binding",
            evidence=evidence,
            location=binding.source,
        )
    return failed(
        ref,
        f"binds {role} to {describe(anonymous)}: anyone who can reach the API server holds it",
        evidence=evidence,
        location=binding.source,
    )


TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
INVALID_LABEL = "kubernetes.io/legacy-token-invalid-since"  # set by Kubernetes 1.29+ on unused legacy tokens


def token_problem(secret: KObject) -> Finding | None:
    """A failed or error finding for one Secret, or None when it is no usable token Secret."""
    bad = wrong_types(secret.raw, SECRET)
    if bad:
        return error(
            secret.ref,
            f"cannot read the Secret's type: {listed(bad)} (the API server refuses it)",
            location=secret.source,
        )
    if secret.get("type") != TOKEN_TYPE or INVALID_LABEL in secret.labels:
        return None
    account = secret.annotations.get(SA_ANNOTATION) or "(no service-account.name annotation)"
    return failed(
        secret.ref,
        f"Secret '{secret.name}' is a long-lived token of ServiceAccount {account} (type {TOKEN_TYPE}): "
        "it never expires and works from anywhere it leaks to",
        evidence={"secret": secret.name, "type": TOKEN_TYPE, "service_account": account},
        location=secret.source,
    )


def token_finding(workload: Workload, accounts: Mapping[str, KObject], bound: Any) -> Finding:
    verdicts = [automount.assess(t.pod_spec, accounts, bound) for t in workload.templates]
    evidence = verdicts[0][2] if len(verdicts) == 1 else {"assessed": [v[2] for v in verdicts]}
    for outcome, make in (("fail", failed), ("unknown", error)):
        found = [why for verdict, why, _ in verdicts if verdict == outcome]
        if found:
            return make(workload.ref, found[0], evidence=evidence, location=workload.source)
    return passed(workload.ref, verdicts[0][1], evidence=evidence, location=workload.source)
