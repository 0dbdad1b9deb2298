"""K8S-RBAC-005's reading of one workload: which service account it runs as, whether any binding names
that account (then it may talk to the API), and whether the account's token is mounted anyway."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitemark.targets.cluster.view import (
    POD_TOKEN,
    SERVICE_ACCOUNT,
    KObject,
    NamespaceView,
    listed,
    wrong_types,
)

from .rbac import RBAC_GROUP, SA_GROUP, SA_USER, binding_ref, subjects, unreadable

ALL = "*"  # every service account of the namespace (group system:serviceaccounts:NS)
# (verdict, why, evidence): verdict "ok" | "fail" | "unknown"
Verdict = tuple[str, str, dict[str, Any]]


def bound_accounts(ns: NamespaceView) -> dict[str, list[str]]:
    """Service account name (or ``ALL``) → the bindings naming it, from the namespace's RoleBindings
    and the ClusterRoleBindings naming its accounts. An unreadable binding is skipped here (the RBAC
    checks report it); it can only make a workload look unbound, so fail, never pass."""
    found: dict[str, list[str]] = {}
    for binding in [*ns.of_kind(f"{RBAC_GROUP}/RoleBinding"), *ns.cluster_bindings]:
        if unreadable(binding):
            continue
        for subject in subjects(binding):
            name = _account(subject.kind, subject.name, subject.namespace, ns.name)
            if name:
                found.setdefault(name, []).append(binding_ref(binding))
    return found


def _account(kind: str, name: str, namespace: str | None, ns: str) -> str | None:
    if kind == "ServiceAccount":
        return name if namespace == ns else None
    if kind == "User" and name.startswith(f"{SA_USER}{ns}:"):
        return name[len(f"{SA_USER}{ns}:") :]
    if kind == "Group" and name == f"{SA_GROUP}{ns}":
        return ALL
    return None


def assess(
    spec: Mapping[str, Any], accounts: Mapping[str, KObject], bound: Mapping[str, list[str]]
) -> Verdict:
    """One pod spec: "ok" when its account is bound or its token is off, "fail" when an unbound
    account's token is mounted, "unknown" when that cannot be told."""
    bad = wrong_types(spec, POD_TOKEN)
    if bad:
        return "unknown", f"cannot read the pod spec: {listed(bad)} (the API server refuses it)", {}
    account = str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "default")
    pod = spec.get("automountServiceAccountToken")
    sa = accounts.get(account)
    if sa is not None and (bad := wrong_types(sa.raw, SERVICE_ACCOUNT)):
        return "unknown", f"cannot read ServiceAccount '{account}': {listed(bad)}", {}
    own = sa.get("automountServiceAccountToken") if sa is not None else None
    bindings = [*bound.get(account, ()), *bound.get(ALL, ())]
    evidence = {
        "service_account": account,
        "pod_automount": pod,
        "service_account_automount": own,
        "service_account_in_input": sa is not None,
        "bindings": bindings,
    }
    if bindings:
        return (
            "ok",
            f"its ServiceAccount '{account}' is bound by {bindings[0]}, so it may use the API",
            evidence,
        )
    if pod is False or (pod is None and own is False):
        where = "the pod" if pod is False else f"ServiceAccount '{account}'"
        return "ok", f"{where} sets automountServiceAccountToken: false", evidence
    if pod is None and own is None and sa is None and account != "default":
        why = (
            f"ServiceAccount '{account}' is not in the input, so whether it turns its token off cannot be "
            "told (no binding names it)"
        )
        return "unknown", why, evidence
    how = "the pod sets it true" if pod else ("the ServiceAccount sets it true" if own else "the default")
    why = (
        f"mounts the API token of ServiceAccount '{account}' ({how}) though no RoleBinding or "
        "ClusterRoleBinding names the account"
    )
    return "fail", why, evidence
