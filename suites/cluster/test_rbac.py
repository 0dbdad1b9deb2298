"""Who may do what on the cluster: role bindings, service account tokens."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.view import (
    WORKLOAD_READS,
    ClusterView,
    NamespaceView,
)

from . import automount
from . import rbac_findings as findings
from .rbac import (
    ANONYMOUS_BINDINGS,
    BINDING_READS,
    CLUSTER_ADMIN_READS,
    CLUSTER_ADMIN_SUBJECTS,
    PERMITTED_CLUSTER_ROLES,
    RBAC_GROUP,
    allowed_keys,
    by_name,
)
from .workloads import NO_WORKLOADS


@check(
    "K8S-RBAC-001",
    scope="cluster.namespace",
    title="RoleBindings in team namespaces bind only the namespace's own Roles or permitted ClusterRoles",
    severity="high",
    rationale="""
        A RoleBinding can grant, inside its namespace, any ClusterRole of the cluster: bound to
        `cluster-admin` it makes its subjects owners of the namespace's RBAC, quotas and Secrets,
        and other platform ClusterRoles (Pod Security Policy bypasses, controllers' roles) hand
        tenants rights the platform keeps for itself. The platform gives each team `admin` in its
        own namespaces, and CI service accounts `edit` (or a Role of the namespace), so any other
        ClusterRole is a deviation to review (NCSC principles 3, separation between users, and 9,
        secure user management). Roles of the namespace itself are scoped to it and always
        allowed; the ClusterRoles allowed are the input `permitted_cluster_roles`. RoleBindings of
        system namespaces are the platform's and out of scope (K8S-RBAC-003 still assesses them).
    """,
    remediation="""
        Bind one of the permitted ClusterRoles, as the namespace's 01-rbac.yaml does:

            roleRef:
              apiGroup: rbac.authorization.k8s.io
              kind: ClusterRole
              name: admin

        or define a Role in the namespace with just the rules needed and bind that. If the platform
        team approves another ClusterRole for tenants, add it to `permitted_cluster_roles`.
    """,
    references=[
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/getting-started/env-create.html",
    ],
    reads=["v1/Namespace", f"{RBAC_GROUP}/RoleBinding"],
    inputs=[PERMITTED_CLUSTER_ROLES],
)
def test_role_bindings_use_permitted_roles(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    permitted = [str(r) for r in inputs.get(PERMITTED_CLUSTER_ROLES.name, PERMITTED_CLUSTER_ROLES.default)]
    bindings = ns.of_kind(f"{RBAC_GROUP}/RoleBinding")
    if not bindings:
        yield not_applicable(ns.ref, f"namespace {ns.name} holds no RoleBinding{ns.short_note}")
        return
    for binding in bindings:
        yield findings.role_binding_finding(binding, permitted)


@check(
    "K8S-RBAC-002",
    scope="cluster.cluster",
    title="No ClusterRoleBinding grants cluster-admin (or `*` verbs on `*` resources) to a tenant",
    severity="critical",
    rationale="""
        A ClusterRoleBinding to cluster-admin, or to any ClusterRole with `*` verbs on `*` resources,
        makes its subjects owners of the whole cluster: every tenant's Secrets, workloads and network
        policies, and the platform's own controls. On a multi-tenant platform only the platform team
        and Kubernetes' own components may hold that (NCSC principles 3, separation between users,
        and 9, secure user management). Every ClusterRoleBinding in the input is assessed, including
        one a team's folder holds. `system:` users and groups and service accounts of system
        namespaces are the platform's; `system:anonymous`, `system:unauthenticated`,
        `system:authenticated`, `system:serviceaccounts` and service accounts of team namespaces
        (also as `system:serviceaccount:NS:NAME` users) are not. Other subjects are allowed by the
        input `cluster_admin_subjects` (MoJ: the `github:webops` group). A binding to a ClusterRole
        the input does not hold (other than Kubernetes' own) cannot be judged: it is an error when a
        non-platform subject holds it.
    """,
    remediation="""
        Delete the binding, or bind a narrower role in the namespaces that need it (a RoleBinding to
        `admin` in the team's namespace). If the subject truly administers the platform, add it to
        `cluster_admin_subjects` in kitemark.yaml:

            inputs:
              cluster_admin_subjects: [Group/github:webops]
    """,
    references=[
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#user-facing-roles",
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/",
    ],
    reads=CLUSTER_ADMIN_READS,
    inputs=[CLUSTER_ADMIN_SUBJECTS],
)
def test_no_cluster_admin_for_tenants(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    bindings = list(cluster.of_kind(f"{RBAC_GROUP}/ClusterRoleBinding"))
    roles = by_name(cluster.of_kind(f"{RBAC_GROUP}/ClusterRole"))
    allowed = allowed_keys(inputs.get(CLUSTER_ADMIN_SUBJECTS.name, CLUSTER_ADMIN_SUBJECTS.default))
    yield from findings.unread_files(cluster, CLUSTER_ADMIN_READS)
    if not bindings:
        yield not_applicable("cluster", "the input holds no ClusterRoleBinding")
        return
    for binding in bindings:
        yield findings.cluster_admin_finding(binding, roles, cluster, allowed)


@check(
    "K8S-RBAC-003",
    scope="cluster.cluster",
    title="No RoleBinding or ClusterRoleBinding grants a role to system:anonymous or system:unauthenticated",
    severity="critical",
    rationale="""
        `system:anonymous` (the user) and `system:unauthenticated` (the group) are whoever sends a
        request without credentials. A binding naming either hands its role to the internet, or to
        every pod on the network (NCSC principles 9, secure user management, and 10, identity and
        authentication). Every binding in the input is assessed, in system namespaces too: a binding
        in `kube-system` is no less open. Kubernetes' own version and health endpoints
        (`system:public-info-viewer`) and kubeadm's `cluster-info` in `kube-public` are the allowed
        exceptions, each tied to the role it must bind (input `anonymous_bindings`).
    """,
    remediation="""
        Remove `system:anonymous` and `system:unauthenticated` from the binding's subjects (or
        delete the binding), and grant the role to the authenticated users or service accounts that
        need it. Keep `--anonymous-auth=false` on the API server where the platform allows it.
    """,
    references=[
        "https://kubernetes.io/docs/reference/access-authn-authz/authentication/#anonymous-requests",
        "https://kubernetes.io/docs/reference/access-authn-authz/rbac/#discovery-roles",
    ],
    reads=BINDING_READS,
    inputs=[ANONYMOUS_BINDINGS],
)
def test_no_anonymous_bindings(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    bindings = list(cluster.of_kind(*BINDING_READS))
    allowed = inputs.get(ANONYMOUS_BINDINGS.name, ANONYMOUS_BINDINGS.default)
    yield from findings.unread_files(cluster, BINDING_READS)
    if not bindings:
        yield not_applicable("cluster", "the input holds no RoleBinding or ClusterRoleBinding")
        return
    for binding in bindings:
        yield findings.anonymous_finding(binding, cluster, allowed)


@check(
    "K8S-RBAC-004",
    scope="cluster.namespace",
    title="Team namespaces hold no long-lived ServiceAccount token Secrets",
    severity="high",
    rationale="""
        A Secret of type `kubernetes.io/service-account-token` holds a token that never expires and
        is not bound to a pod: copied into a CI system, a laptop or a log, it keeps the service
        account's rights until someone deletes the Secret. Kubernetes stopped creating them in 1.24;
        pods get short-lived projected tokens, and CI can request one with `kubectl create token`
        (NCSC principles 9, secure user management, and 10, identity and authentication). Each such
        Secret in a team namespace fails, with the service account it belongs to; one that
        Kubernetes has invalidated (label `kubernetes.io/legacy-token-invalid-since`) cannot
        authenticate and does not. Only the Secret's type, labels and annotations are read, never its
        data (redacted at collection). Not applicable to a namespace whose input holds no Secret.
    """,
    remediation="""
        Delete the Secret, and have whatever used it request a short-lived token instead
        (`kubectl create token <service-account> --duration=1h`, or a projected
        `serviceAccountToken` volume in the pod). For CI outside the cluster prefer OIDC federation
        (GitHub Actions' OIDC token) over any stored token.
    """,
    references=[
        "https://kubernetes.io/docs/concepts/security/service-accounts/#get-a-token",
        "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#legacy-serviceaccount-token-cleaner",
    ],
    reads=["v1/Namespace", "v1/Secret"],
)
def test_no_service_account_token_secrets(ns: NamespaceView) -> Iterator[Finding]:
    secrets = ns.of_kind("v1/Secret")
    if not secrets:
        yield not_applicable(ns.ref, f"namespace {ns.name} holds no Secret in the input{ns.short_note}")
        return
    problems = [p for p in map(findings.token_problem, secrets) if p is not None]
    yield from problems
    if not problems:
        yield passed(
            ns.ref,
            f"none of its {len(secrets)} Secret(s) is a usable ServiceAccount token{ns.short_note}",
            evidence={"secrets": len(secrets)},
            location=ns.location,
        )


@check(
    "K8S-RBAC-005",
    scope="cluster.namespace",
    title="Workloads whose ServiceAccount holds no role do not mount its API token",
    severity="medium",
    rationale="""
        Kubernetes mounts a service account token into every pod unless told not to. A pod that
        never talks to the API server gains nothing from it, but anyone who compromises the pod
        gets a credential for the API: at best discovery of the cluster, at worst whatever a later
        binding grants the account. A workload whose ServiceAccount no RoleBinding (in its
        namespace) or ClusterRoleBinding names has no role to use, so its token should be off
        (NCSC principles 5, operational security, and 9, secure user management). The pod's
        `automountServiceAccountToken` overrides the ServiceAccount's, as Kubernetes applies it; a
        binding naming the account (also as `system:serviceaccount:NS:NAME`, or the group
        `system:serviceaccounts:NS`) counts as using the API. A ServiceAccount the input does not
        hold (other than `default`, which Kubernetes creates) makes the workload an error, since its
        own setting is unknown. Workloads are found as for K8S-POD-001.
    """,
    remediation="""
        Turn the token off on the ServiceAccount (every pod using it) or on the pod template:

            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: my-app, namespace: <namespace>}
            automountServiceAccountToken: false

        A pod that does use the API keeps its token and gets a Role bound to its own ServiceAccount.
    """,
    references=[
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
        "https://kubernetes.io/docs/concepts/security/rbac-good-practices/",
    ],
    reads=["v1/Namespace", "v1/ServiceAccount", *BINDING_READS, *WORKLOAD_READS],
)
def test_unused_tokens_not_mounted(ns: NamespaceView) -> Iterator[Finding]:
    workloads, unassessed = ns.workloads(), ns.unassessed()
    if not workloads and not unassessed:
        yield not_applicable(ns.ref, NO_WORKLOADS, evidence={"note": ns.note} if ns.note else None)
        return
    accounts = {a.name: a for a in ns.of_kind("v1/ServiceAccount")}
    bound = automount.bound_accounts(ns)
    for workload in workloads:
        yield findings.token_finding(workload, accounts, bound)
    for ref, obj, where in unassessed:
        yield error(
            ref,
            f"holds containers at {where}, which is not a pod template Kitemark reads: not assessed",
            location=obj.source,
        )
