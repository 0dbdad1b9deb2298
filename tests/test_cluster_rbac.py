"""K8S-RBAC-*: the edge cases the fixtures do not show, through the real collector and scopes."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from kitemark.core.model import Finding, Status
from kitemark.testing import run_check

CRB = "rbac.authorization.k8s.io/v1"


def run(check_id: str, root: Path, inputs: dict[str, Any] | None = None) -> list[Finding]:
    return [f for found in run_check(check_id, root, inputs=inputs).values() for f in found]


def by_resource(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource: f for f in findings}


def write(root: Path, path: str, text: str) -> Path:
    file = root / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def binding(name: str, role: str, *subjects: str, kind: str = "ClusterRoleBinding", ns: str = "") -> str:
    """A binding as YAML; each subject as `Kind name` or `ServiceAccount ns/name`."""
    meta = f"{{name: '{name}'" + (f", namespace: {ns}" if ns else "") + "}"
    lines = [f"apiVersion: {CRB}", f"kind: {kind}", f"metadata: {meta}"]
    lines.append(f"roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: '{role}'}}")
    lines.append("subjects:")
    for subject in subjects:
        sk, _, sname = subject.partition(" ")
        if sk == "ServiceAccount":
            sns, _, sname = sname.partition("/")
            lines.append(f"  - {{kind: ServiceAccount, name: '{sname}', namespace: '{sns}'}}")
        else:
            lines.append(f"  - {{kind: {sk}, name: '{sname}', apiGroup: rbac.authorization.k8s.io}}")
    return "\n".join(lines) + "\n"


def test_a_cluster_role_binding_in_a_team_folder_is_assessed_under_its_cluster_name(tmp_path: Path) -> None:
    """The earlier gap: a team's folder holding a ClusterRoleBinding (even one that wrongly names a
    namespace) passed silently. It is assessed, named without the meaningless namespace."""
    text = "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n---\n"
    text += binding("team-a-admin", "cluster-admin", "Group github:team-a", ns="team-a")
    write(tmp_path, "team-a/01-rbac.yaml", text)
    found = by_resource(run("K8S-RBAC-002", tmp_path))
    finding = found["ClusterRoleBinding/team-a-admin"]
    assert finding.status is Status.FAILED
    assert "cluster-admin to Group github:team-a" in finding.message
    assert str(finding.location).endswith("team-a/01-rbac.yaml:5")


def test_system_prefixes_are_judged_by_whom_they_reach(tmp_path: Path) -> None:
    write(
        tmp_path,
        "crb.yaml",
        "---\n".join(
            [
                binding("masters", "cluster-admin", "Group system:masters"),
                binding("kube-system-sas", "cluster-admin", "Group system:serviceaccounts:kube-system"),
                binding("system-sa-user", "cluster-admin", "User system:serviceaccount:kube-system:x"),
                binding("every-sa", "cluster-admin", "Group system:serviceaccounts"),
                binding("team-sas", "cluster-admin", "Group system:serviceaccounts:team-a"),
                binding("anyone", "cluster-admin", "User system:anonymous"),
            ]
        ),
    )
    found = by_resource(run("K8S-RBAC-002", tmp_path))
    statuses = {ref.partition("/")[2]: f.status for ref, f in found.items()}
    assert statuses == {
        "masters": Status.PASSED,
        "kube-system-sas": Status.PASSED,
        "system-sa-user": Status.PASSED,
        "every-sa": Status.FAILED,
        "team-sas": Status.FAILED,
        "anyone": Status.FAILED,
    }


def test_an_unknown_role_is_an_error_for_a_tenant_and_no_concern_for_the_platform(tmp_path: Path) -> None:
    write(
        tmp_path,
        "crb.yaml",
        binding("tenant", "mystery", "Group github:team-a")
        + "---\n"
        + binding("platform", "mystery", "ServiceAccount kube-system/operator"),
    )
    found = by_resource(run("K8S-RBAC-002", tmp_path))
    tenant = found["ClusterRoleBinding/tenant"]
    assert tenant.status is Status.ERROR
    assert "ClusterRole 'mystery' is not in the snapshot" in tenant.message
    assert found["ClusterRoleBinding/platform"].status is Status.PASSED


def test_the_allowed_subjects_are_an_input(tmp_path: Path) -> None:
    write(tmp_path, "crb.yaml", binding("webops", "cluster-admin", "Group github:webops"))
    assert run("K8S-RBAC-002", tmp_path)[0].status is Status.PASSED
    [finding] = run("K8S-RBAC-002", tmp_path, inputs={"cluster_admin_subjects": []})
    assert finding.status is Status.FAILED


def test_a_subject_of_the_wrong_type_is_an_error_naming_the_field(tmp_path: Path) -> None:
    text = binding("x", "cluster-admin", "Group github:webops").replace("'github:webops'", "[github:webops]")
    write(tmp_path, "crb.yaml", text)
    for check_id in ("K8S-RBAC-002", "K8S-RBAC-003"):
        [finding] = run(check_id, tmp_path)
        assert finding.status is Status.ERROR, check_id
        assert "subjects[0].name (a list, not a string)" in finding.message


def test_a_role_of_the_wrong_type_is_never_read_as_granting_nothing(tmp_path: Path) -> None:
    role = f"apiVersion: {CRB}\nkind: ClusterRole\nmetadata: {{name: r}}\n"
    role += "rules:\n  - verbs: '*'\n    resources: ['*']\n"
    write(tmp_path, "crb.yaml", role + "---\n" + binding("b", "r", "Group github:team-a"))
    [finding] = run("K8S-RBAC-002", tmp_path)
    assert finding.status is Status.ERROR
    assert "rules[0].verbs (a str, not a list)" in finding.message


def test_no_binding_is_not_a_pass(tmp_path: Path) -> None:
    write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    for check_id in ("K8S-RBAC-002", "K8S-RBAC-003"):
        [finding] = run(check_id, tmp_path)
        assert finding.status is Status.NOT_APPLICABLE, check_id


def test_an_unreadable_team_file_makes_the_cluster_checks_an_error(tmp_path: Path) -> None:
    """A broken 01-rbac.yaml may hold a binding: the cluster-scope checks cannot say there is none."""
    write(tmp_path, "team-a/00-namespace.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    write(tmp_path, "team-a/01-rbac.yaml", "kind: ClusterRoleBinding\nmetadata: {name: x\n")
    write(tmp_path, "crb.yaml", binding("webops", "cluster-admin", "Group github:webops"))
    for check_id in ("K8S-RBAC-002", "K8S-RBAC-003"):
        found = by_resource(run(check_id, tmp_path))
        assert found["input"].status is Status.ERROR, check_id
        assert "team-a/01-rbac.yaml" in found["input"].message
        assert found["ClusterRoleBinding/webops"].status is Status.PASSED


def test_an_anonymous_exception_holds_only_for_the_role_it_names(tmp_path: Path) -> None:
    allowed = [{"binding": "RoleBinding/team-a/status", "role": "ClusterRole/status-reader"}]
    write(
        tmp_path,
        "rb.yaml",
        binding("status", "status-reader", "User system:anonymous", kind="RoleBinding", ns="team-a")
        + "---\n"
        + binding("other", "status-reader", "User system:anonymous", kind="RoleBinding", ns="team-a"),
    )
    found = by_resource(run("K8S-RBAC-003", tmp_path, inputs={"anonymous_bindings": allowed}))
    assert found["RoleBinding/team-a/status"].status is Status.PASSED
    assert found["RoleBinding/team-a/other"].status is Status.FAILED
    # Without the input, Kubernetes' defaults only: both fail.
    assert {f.status for f in run("K8S-RBAC-003", tmp_path)} == {Status.FAILED}


def test_role_bindings_of_system_namespaces_are_the_platforms(tmp_path: Path) -> None:
    text = binding("x", "cluster-admin", "Group github:webops", kind="RoleBinding", ns="kube-system")
    text += "---\n" + binding("y", "cluster-admin", "Group github:team-a", kind="RoleBinding", ns="team-a")
    write(tmp_path, "rb.yaml", text)
    found = by_resource(run("K8S-RBAC-001", tmp_path))
    assert list(found) == ["RoleBinding/team-a/y"]
    assert found["RoleBinding/team-a/y"].status is Status.FAILED


def test_a_namespace_without_role_bindings_is_not_a_pass(tmp_path: Path) -> None:
    write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    [finding] = run("K8S-RBAC-001", tmp_path)
    assert finding.status is Status.NOT_APPLICABLE
    assert "holds no RoleBinding" in finding.message


def test_the_permitted_cluster_roles_are_an_input(tmp_path: Path) -> None:
    write(
        tmp_path,
        "rb.yaml",
        binding("ci", "edit", "ServiceAccount team-a/ci", kind="RoleBinding", ns="team-a"),
    )
    assert run("K8S-RBAC-001", tmp_path)[0].status is Status.PASSED
    [finding] = run("K8S-RBAC-001", tmp_path, inputs={"permitted_cluster_roles": ["admin"]})
    assert finding.status is Status.FAILED
    assert "(admin; input permitted_cluster_roles)" in finding.message


def test_a_role_ref_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    text = binding("x", "admin", "Group github:team-a", kind="RoleBinding", ns="team-a")
    write(tmp_path, "rb.yaml", text.replace("name: 'admin'", "name: [admin]"))
    [finding] = run("K8S-RBAC-001", tmp_path)
    assert finding.status is Status.ERROR
    assert "roleRef.name (a list, not a string)" in finding.message


TOKEN = """
apiVersion: v1
kind: Secret
metadata:
  name: {name}
  namespace: team-a
  annotations: {{kubernetes.io/service-account.name: ci}}
  labels: {labels}
type: {type}
data: {{token: c2VjcmV0LXRva2VuLXZhbHVl}}
"""


def test_a_token_secret_fails_without_its_value_reaching_the_finding(tmp_path: Path) -> None:
    write(
        tmp_path,
        "s.yaml",
        TOKEN.format(name="ci-token", labels="{}", type="kubernetes.io/service-account-token"),
    )
    [finding] = run("K8S-RBAC-004", tmp_path)
    assert finding.status is Status.FAILED
    assert finding.resource == "Secret/team-a/ci-token"
    assert "c2VjcmV0" not in repr(finding) and "secret-token-value" not in repr(finding)


def test_an_invalidated_legacy_token_does_not_fail(tmp_path: Path) -> None:
    labels = "{kubernetes.io/legacy-token-invalid-since: '2024-01-01'}"
    write(
        tmp_path,
        "s.yaml",
        TOKEN.format(name="old", labels=labels, type="kubernetes.io/service-account-token"),
    )
    [finding] = run("K8S-RBAC-004", tmp_path)
    assert finding.status is Status.PASSED and finding.resource == "Namespace/team-a"


def test_a_secret_type_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path, "s.yaml", TOKEN.format(name="x", labels="{}", type="[kubernetes.io/service-account-token]")
    )
    [finding] = run("K8S-RBAC-004", tmp_path)
    assert finding.status is Status.ERROR
    assert "type (a list, not a string)" in finding.message


def test_a_namespace_without_secrets_is_not_a_pass(tmp_path: Path) -> None:
    write(tmp_path, "ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    [finding] = run("K8S-RBAC-004", tmp_path)
    assert finding.status is Status.NOT_APPLICABLE


def pod(name: str, account: str | None = None, automount: str | None = None) -> str:
    spec = f"  serviceAccountName: {account}\n" if account else ""
    spec += f"  automountServiceAccountToken: {automount}\n" if automount is not None else ""
    return (
        f"apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: team-a}}\nspec:\n{spec}"
        f"  containers: [{{name: app, image: 'registry.example/app:1'}}]\n"
    )


def account(name: str, automount: str | None = None) -> str:
    extra = f"automountServiceAccountToken: {automount}\n" if automount is not None else ""
    return f"apiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: {name}, namespace: team-a}}\n{extra}"


def test_a_cluster_role_binding_counts_as_using_the_api(tmp_path: Path) -> None:
    """ClusterRoleBindings live outside the namespace: the namespace's view carries those naming its
    service accounts, in each of the three ways a binding can name them."""
    docs = [
        account("sa"),
        pod("p1", "sa"),
        pod("p2", "as-user"),
        pod("p3", "in-group"),
        account("as-user"),
        account("in-group"),
        binding("c1", "view", "ServiceAccount team-a/sa"),
        binding("c2", "view", "User system:serviceaccount:team-a:as-user"),
    ]
    write(tmp_path, "a.yaml", "---\n".join(docs))
    found = by_resource(run("K8S-RBAC-005", tmp_path))
    assert found["Pod/team-a/p1"].status is Status.PASSED
    assert "bound by ClusterRoleBinding/c1" in found["Pod/team-a/p1"].message
    assert found["Pod/team-a/p2"].status is Status.PASSED
    assert found["Pod/team-a/p3"].status is Status.FAILED
    write(tmp_path, "b.yaml", binding("c3", "view", "Group system:serviceaccounts:team-a"))
    assert {f.status for f in run("K8S-RBAC-005", tmp_path)} == {Status.PASSED}


def test_the_pod_setting_overrides_the_service_accounts(tmp_path: Path) -> None:
    docs = [
        account("sa-off", "false"),
        pod("pod-on", "sa-off", "true"),
        account("sa-on", "true"),
        pod("pod-off", "sa-on", "false"),
    ]
    write(tmp_path, "a.yaml", "---\n".join(docs))
    found = by_resource(run("K8S-RBAC-005", tmp_path))
    assert found["Pod/team-a/pod-on"].status is Status.FAILED
    assert "(the pod sets it true)" in found["Pod/team-a/pod-on"].message
    assert found["Pod/team-a/pod-off"].status is Status.PASSED


def test_an_account_missing_from_the_input_is_an_error_but_default_is_known(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", pod("p1", "elsewhere") + "---\n" + pod("p2"))
    found = by_resource(run("K8S-RBAC-005", tmp_path))
    assert found["Pod/team-a/p1"].status is Status.ERROR
    assert "ServiceAccount 'elsewhere' is not in the input" in found["Pod/team-a/p1"].message
    assert found["Pod/team-a/p2"].status is Status.FAILED


def test_automount_of_the_wrong_type_is_an_error(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        pod("p", "default", "'false'") + "---\n" + account("x", "'no'") + "---\n" + pod("q", "x"),
    )
    found = by_resource(run("K8S-RBAC-005", tmp_path))
    assert found["Pod/team-a/p"].status is Status.ERROR
    assert "automountServiceAccountToken (a str, not a boolean)" in found["Pod/team-a/p"].message
    assert found["Pod/team-a/q"].status is Status.ERROR


def test_a_namespace_without_workloads_is_not_a_pass(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", account("sa"))
    [finding] = run("K8S-RBAC-005", tmp_path)
    assert finding.status is Status.NOT_APPLICABLE


def test_eks_own_cluster_admin_binding_passes_by_default(tmp_path: Path) -> None:
    write(tmp_path, "crb.yaml", binding("eks:addon-cluster-admin", "cluster-admin", "User eks:addon-manager"))
    [finding] = run("K8S-RBAC-002", tmp_path)
    assert finding.status is Status.PASSED


def test_the_default_anonymous_exception_is_tied_to_its_role(tmp_path: Path) -> None:
    name = "system:public-info-viewer"
    write(tmp_path, "a.yaml", binding(name, name, "Group system:unauthenticated"))
    assert run("K8S-RBAC-003", tmp_path)[0].status is Status.PASSED
    write(tmp_path, "a.yaml", binding(name, "edit", "Group system:unauthenticated"))
    [finding] = run("K8S-RBAC-003", tmp_path)
    assert finding.status is Status.FAILED and "binds ClusterRole/edit" in finding.message
