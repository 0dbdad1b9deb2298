"""What the RBAC checks share: who a binding's subjects are, and what a role grants.

Kubernetes names some principals with a `system:` prefix that are anything but the platform's own:
`system:anonymous` and `system:unauthenticated` are whoever reaches the API server,
`system:authenticated` and `system:serviceaccounts` every user or every service account of every
tenant, and `system:serviceaccount:NS:NAME` is a tenant's service account when NS is a team
namespace. They are classified by what they reach, never by the prefix alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kitemark.core.inputs import Input
from kitemark.targets.cluster.bindings import SA_GROUP, SA_USER
from kitemark.targets.cluster.view import ROLE, ROLE_BINDING, KObject, is_system, wrong_types

RBAC_GROUP = "rbac.authorization.k8s.io"
BINDING_READS = [f"{RBAC_GROUP}/RoleBinding", f"{RBAC_GROUP}/ClusterRoleBinding"]
CLUSTER_ADMIN_READS = [f"{RBAC_GROUP}/ClusterRoleBinding", f"{RBAC_GROUP}/ClusterRole"]

ANONYMOUS = {("User", "system:anonymous"), ("Group", "system:unauthenticated")}
EVERYONE = {("Group", "system:authenticated"), ("Group", "system:serviceaccounts")}
# Kubernetes' own roles, known without reading them: none of them grants `*` on `*` except
# cluster-admin (kube-apiserver's bootstrap policy).
BUILT_IN_ROLES = frozenset({"admin", "edit", "view"})
FULL_POWER_ROLE = "cluster-admin"


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str | None  # a ServiceAccount's (defaulted for a RoleBinding's)

    @property
    def label(self) -> str:
        if self.kind == "ServiceAccount":
            return f"ServiceAccount {self.namespace}/{self.name}"
        return f"{self.kind} {self.name}"

    @property
    def key(self) -> str:
        """How the inputs name a subject: ``Group/github:webops``, ``ServiceAccount/ns/name``."""
        if self.kind == "ServiceAccount":
            return f"ServiceAccount/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


def subjects(binding: KObject) -> list[Subject]:
    """The subjects of a readable binding (``wrong_types`` found nothing)."""
    found = []
    for raw in binding.get("subjects") or []:
        kind, name = str(raw.get("kind", "")), str(raw.get("name", ""))
        namespace = raw.get("namespace") or (binding.namespace if kind == "ServiceAccount" else None)
        found.append(Subject(kind, name, namespace))
    return found


def audience(subject: Subject, system_namespaces: Iterable[str]) -> str:
    """``anonymous`` (no credentials at all), ``everyone`` (every user or every service account of
    every tenant), ``system`` (a platform component) or ``tenant``."""
    pair = (subject.kind, subject.name)
    if pair in ANONYMOUS:
        return "anonymous"
    if pair in EVERYONE:
        return "everyone"
    namespace: str | None = None
    if subject.kind == "ServiceAccount":
        namespace = subject.namespace
    elif subject.kind == "User" and subject.name.startswith(SA_USER):
        namespace = subject.name[len(SA_USER) :].partition(":")[0]
    elif subject.kind == "Group" and subject.name.startswith(SA_GROUP):
        namespace = subject.name[len(SA_GROUP) :]
    elif subject.name.startswith("system:"):
        return "system"  # system:masters, system:nodes, system:kube-controller-manager …
    else:
        return "tenant"
    return "system" if namespace and is_system(namespace, system_namespaces) else "tenant"


def unreadable(obj: KObject) -> list[str]:
    """The fields of a binding or role the RBAC checks read that have the wrong type."""
    return wrong_types(obj.raw, ROLE if obj.kind in ("Role", "ClusterRole") else ROLE_BINDING)


def binding_ref(binding: KObject) -> str:
    """``ClusterRoleBinding/name`` (a namespace written on one means nothing) or
    ``RoleBinding/namespace/name``."""
    return f"{binding.kind}/{binding.name}" if binding.kind == "ClusterRoleBinding" else binding.ref


def role_ref(binding: KObject) -> tuple[str, str]:
    ref = binding.get("roleRef") or {}
    return str(ref.get("kind", "")), str(ref.get("name", ""))


def wildcard_rules(role: KObject) -> list[int]:
    """The (1-based) rules of a readable role granting every verb on every resource."""
    rules = role.get("rules") or []
    return [
        number
        for number, rule in enumerate(rules, start=1)
        if "*" in (rule.get("verbs") or []) and "*" in (rule.get("resources") or [])
    ]


def by_name(objects: Iterable[KObject]) -> dict[str, KObject]:
    return {obj.name: obj for obj in objects}


def allowed_keys(values: Any) -> set[str]:
    return {str(v) for v in values or ()}


def describe(subjects_: list[Subject]) -> str:
    return ", ".join(s.label for s in subjects_)


PERMITTED_CLUSTER_ROLES = Input(
    "permitted_cluster_roles",
    default=["admin", "edit", "view"],
    description=(
        "ClusterRoles a RoleBinding in a team namespace may bind (MoJ: `admin` for the team's GitHub "
        "group, `edit` or `view` for CI service accounts); a namespace's own Roles are always allowed "
        "(K8S-RBAC-001)"
    ),
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
CLUSTER_ADMIN_SUBJECTS = Input(
    "cluster_admin_subjects",
    # EKS binds cluster-admin to its add-on manager (ClusterRoleBinding eks:addon-cluster-admin).
    default=["Group/github:webops", "User/eks:addon-manager"],
    description=(
        "Subjects allowed a ClusterRoleBinding to cluster-admin (or any `*` verbs on `*` resources) "
        "besides the platform's own (`system:` users and groups, service accounts of system namespaces), "
        "as `Kind/name` or `ServiceAccount/namespace/name` (K8S-RBAC-002)"
    ),
    schema={"type": "array", "items": {"type": "string", "pattern": "^(User|Group|ServiceAccount)/.+"}},
)
ANONYMOUS_BINDINGS = Input(
    "anonymous_bindings",
    default=[
        {
            "binding": "ClusterRoleBinding/system:public-info-viewer",
            "role": "ClusterRole/system:public-info-viewer",
        },
        {
            "binding": "RoleBinding/kube-public/kubeadm:bootstrap-signer-clusterinfo",
            "role": "Role/kubeadm:bootstrap-signer-clusterinfo",
        },
    ],
    description=(
        "Bindings allowed to name system:anonymous or system:unauthenticated, each with the role it must "
        "bind (Kubernetes' own: version and health endpoints, kubeadm's cluster-info) (K8S-RBAC-003)"
    ),
    schema={
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "binding": {"type": "string", "minLength": 1},
                "role": {"type": "string", "minLength": 1},
            },
            "required": ["binding", "role"],
            "additionalProperties": False,
        },
    },
)


def anonymous_allowed(ref: str, binding: KObject, values: Any) -> bool:
    """Whether ``binding`` (named ``ref``) is listed in ``anonymous_bindings`` with the role it binds."""
    kind, name = role_ref(binding)
    return any(
        isinstance(entry, Mapping) and entry.get("binding") == ref and entry.get("role") == f"{kind}/{name}"
        for entry in values or ()
    )
