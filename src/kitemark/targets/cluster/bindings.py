"""Which namespaces' service accounts a ClusterRoleBinding names, so a namespace's view can hold the
cluster-wide bindings of its service accounts (K8S-RBAC-005 asks whether a workload's account is bound)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SA_USER = "system:serviceaccount:"
SA_GROUP = "system:serviceaccounts:"


def service_account_namespaces(raw: Mapping[str, Any]) -> set[str]:
    """Namespaces whose service accounts a binding names: as a ServiceAccount subject, as the user
    ``system:serviceaccount:NS:NAME`` or as the group ``system:serviceaccounts:NS``. A subject of the
    wrong type names none (the RBAC checks report such a binding as unreadable)."""
    subjects = raw.get("subjects")
    found: set[str] = set()
    for subject in subjects if isinstance(subjects, list) else ():
        if not isinstance(subject, Mapping):
            continue
        kind, name, namespace = subject.get("kind"), subject.get("name"), subject.get("namespace")
        if not isinstance(name, str):
            continue
        if kind == "ServiceAccount" and isinstance(namespace, str) and namespace:
            found.add(namespace)
        elif kind == "User" and name.startswith(SA_USER):
            found.add(name[len(SA_USER) :].partition(":")[0])
        elif kind == "Group" and name.startswith(SA_GROUP):
            found.add(name[len(SA_GROUP) :])
    return found
