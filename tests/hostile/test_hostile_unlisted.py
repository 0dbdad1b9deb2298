"""Nothing is dropped silently: every input is assessed, or listed with the reason it was not.

- hidden entries of a Terraform target (Terraform does not read hidden files; `.terraform/` is its
  working folder) are listed; a hidden folder of `.tf` files other than a tool's cache leaves the run
  incomplete;
- a policies target reads hidden files and folders, as `opa test DIR` and `gator verify` do;
- a Terraform input refused outside every module is an error unit of its own, not every module's;
- cluster objects in a system namespace read from a cluster (they carry a resourceVersion) are listed
  as out of scope (a count per namespace); a manifest of one (no resourceVersion) leaves the run
  incomplete, wherever its file is;
- cluster objects of a kind no selected check reads are listed, one entry per kind (outside the suite
  when no check reads it at all), without making the run incomplete.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.core.kinds import TargetSpec
from kitemark.testing import default_inputs, run_check, scope_units, write_files

DEMO = resources.demo_dir()
COMPLIANT_TF = DEMO / "terraform" / "s3-bucket-compliant"
COMPLIANT_NS = resources.check_fixtures_dir() / "K8S-NET-001" / "compliant" / "team-a-dev.yaml"
# What else a team namespace needs to pass every cluster check (K8S-NS-003, K8S-NS-004).
TEAM_RESOURCES = """---
apiVersion: v1
kind: LimitRange
metadata: {name: limitrange, namespace: team-a-dev}
spec:
  limits: [{type: Container, default: {cpu: "1", memory: 1Gi}, defaultRequest: {cpu: 10m, memory: 100Mi}}]
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: namespace-quota, namespace: team-a-dev}
spec: {hard: {pods: "50"}}
"""


def kitemark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", "run", "-n", "0", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def run(out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    proc = kitemark(*args, "--out", str(out))
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.returncode, json.loads((out / "results.json").read_text())


def skipped(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["path"]: s for t in document["targets"] for s in t.get("skipped") or []}


def statuses(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["check_id"], r["unit"].split("/", 1)[1]): r["status"] for r in document["results"]}


def terraform(root: Path) -> dict[str, Any]:
    from kitemark.targets.terraform.collect import collect

    return collect(TargetSpec("terraform", "t", str(root), {}))


# ------------------------------------------------------------------------------------------ terraform

QUEUE = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n'


def test_terraform_lists_hidden_configuration_it_does_not_read(tmp_path: Path) -> None:
    root = write_files(
        tmp_path / "infra",
        {
            "main.tf": QUEUE,
            ".editor.tf": "not { valid HCL",  # Terraform skips a hidden file: nothing of it is deployed
            "modules/s3/main.tf": QUEUE,
            "modules/s3/.old.tf.json": "{",
            ".terraform/modules/s3/main.tf": QUEUE,  # `terraform init`'s copies of remote modules
            ".terragrunt-cache/abc/main.tf": QUEUE,
            ".ci/deploy/main.tf": QUEUE,  # a root module someone may apply: not assessed
            ".github/workflows/ci.yaml": "on: push\n",  # no Terraform in it: nothing to list
            ".git/hooks/x.tf": QUEUE,  # version control metadata: passed over without a word
        },
    )
    (root / "modules" / "s3" / ".#main.tf").symlink_to("someone@host.1234:1")  # an editor's lock file
    inventory = terraform(root)
    assert [m["path"] for m in inventory["modules"]] == ["infra", "modules/s3"]
    assert inventory["errors"] == []
    listed = {s["path"]: s for s in inventory["skipped"]}
    assert sorted(listed) == [
        ".ci",
        ".editor.tf",
        ".terraform",
        ".terragrunt-cache",
        "modules/s3/.#main.tf",
        "modules/s3/.old.tf.json",
    ]
    for path in (".editor.tf", "modules/s3/.#main.tf", "modules/s3/.old.tf.json"):
        assert "hidden file: Terraform does not read it" in listed[path]["reason"], listed[path]
        assert listed[path]["holds_resources"] is False
    for cache in (".terraform", ".terragrunt-cache"):
        assert "working folder" in listed[cache]["reason"] and listed[cache]["holds_resources"] is False
    assert "hidden folder holding Terraform files" in listed[".ci"]["reason"]
    assert listed[".ci"]["holds_resources"] is True
    # Listing is not an error of any module: their checks run on what Terraform reads.
    assert all(not u.errors for u in scope_units("terraform.module", [inventory]))


def test_terraform_hidden_files_and_cache_leave_a_compliant_run_compliant(tmp_path: Path) -> None:
    target = tmp_path / "bucket"
    shutil.copytree(COMPLIANT_TF, target)
    write_files(target, {".terraform/modules/x/main.tf": QUEUE, ".backup.tf": "not { valid"})
    code, document = run(tmp_path / "out", "--terraform", str(target))
    assert code == 0 and document["summary"]["compliant"] is True, document["summary"]
    assert {".terraform", ".backup.tf"} <= set(skipped(document))


def test_terraform_hidden_folder_of_modules_makes_the_run_incomplete(tmp_path: Path) -> None:
    target = tmp_path / "bucket"
    shutil.copytree(COMPLIANT_TF, target)
    write_files(target, {".ci/deploy/main.tf": QUEUE})
    code, document = run(tmp_path / "out", "--terraform", str(target))
    assert code == 1 and document["summary"]["compliant"] is False
    reasons = " ".join(document["completeness"]["reasons"])
    assert ".ci" in reasons, reasons


def test_terraform_target_whose_only_modules_are_hidden_says_so(tmp_path: Path) -> None:
    from kitemark.core.errors import UsageError

    root = write_files(tmp_path / "infra", {".ci/main.tf": QUEUE, "README.md": "x"})
    try:
        terraform(root)
    except UsageError as exc:
        assert "no .tf files found" in str(exc) and ".ci" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("a target with only hidden modules was collected")


def test_terraform_refused_input_outside_every_module_is_an_error_unit_of_its_own(tmp_path: Path) -> None:
    outside = write_files(tmp_path / "outside", {"leak.tf": QUEUE})
    root = write_files(tmp_path / "infra", {"app/main.tf": QUEUE, "db/main.tf": QUEUE, "docs/README.md": "x"})
    (root / "docs" / "shared").symlink_to(outside)  # a folder link out, above every module
    (root / "docs" / "leak.tf").symlink_to(outside / "leak.tf")  # a file link out, in no module
    (root / "app" / "vendored").symlink_to(outside)  # a folder link out inside a module folder
    (root / "app" / "gone.tf").symlink_to("missing.tf")  # a file of module app that cannot be read
    inventory = terraform(root)
    units = {u.id.split("/", 1)[1]: u for u in scope_units("terraform.module", [inventory])}
    assert sorted(units) == ["app", "app/vendored", "db", "docs", "docs/shared"]
    assert units["db"].errors == []  # db's results are its own
    assert [e.path for e in units["app"].errors] == ["app/gone.tf"]  # Terraform would read it as app's
    assert [e.path for e in units["app/vendored"].errors] == ["app/vendored"]
    assert [e.path for e in units["docs/shared"].errors] == ["docs/shared"]
    assert [e.path for e in units["docs"].errors] == ["docs/leak.tf"]
    assert all("symlink leads outside the target" in str(e) for e in units["docs"].errors)
    assert [m["path"] for m in inventory["modules"]] == ["app", "db"]  # no module invented
    assert sorted(e["path"] for e in inventory["errors"]) == [
        "app/gone.tf", "app/vendored", "docs/leak.tf", "docs/shared"
    ]  # fmt: skip


def test_terraform_refused_folder_does_not_put_a_compliant_module_in_error(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    target = tmp_path / "repo"
    shutil.copytree(COMPLIANT_TF, target / "bucket")
    (target / "docs").mkdir()
    (target / "docs" / "elsewhere").symlink_to(tmp_path / "outside")
    code, document = run(tmp_path / "out", "--terraform", str(target))
    assert code == 1 and document["summary"]["compliant"] is False  # an input error all the same
    found = statuses(document)
    assert {s for (_, unit), s in found.items() if unit == "bucket"} == {"passed"}, found
    assert {s for (_, unit), s in found.items() if unit == "docs/elsewhere"} == {"error"}, found


# ------------------------------------------------------------------------------------------- policies

FAILING_TEST = "package hidden\n\nimport rego.v1\n\ntest_hidden if {\n  false\n}\n"


def test_policies_read_hidden_files_and_folders_as_opa_test_does(tmp_path: Path) -> None:
    """`opa test DIR` loads `.x_test.rego` and `.lib/x.rego` (its `--ignore` is empty by default)."""
    from kitemark.targets.policies.collect import collect

    root = write_files(
        tmp_path / "policies",
        {
            "a_test.rego": "package a\n\nimport rego.v1\n\ntest_a if data.lib.helper\n",
            ".lib/helper.rego": "package lib\n\nimport rego.v1\n\nhelper := true\n",
            ".hidden_test.rego": FAILING_TEST,
            ".git/x_test.rego": FAILING_TEST,  # version control metadata: not read
            ".kitemark-run/x_test.rego": FAILING_TEST,  # Kitemark's own working files: not read
        },
    )
    inventory = collect(TargetSpec("policies", "t", str(root), {}))
    paths = sorted(f["path"] for f in inventory["rego_files"])
    assert paths == [".hidden_test.rego", ".lib/helper.rego", "a_test.rego"]
    found = run_check("REGO-TEST-001", root)
    assert {u: [f.status.value for f in fs] for u, fs in found.items()} == {
        "policies:t/.hidden_test.rego#test_hidden": ["failed"],
        "policies:t/a_test.rego#test_a": ["passed"],
    }


# -------------------------------------------------------------------------------------------- cluster

DUMPED = "resourceVersion: '1234', uid: 6f1c0b52-6a8e-4a45-9d4e-1c0f3e8a7b10"

KUBE_SYSTEM_OBJECTS = """apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: team-a-admin, namespace: kube-system}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "github:team-a", apiGroup: rbac.authorization.k8s.io}]
---
apiVersion: v1
kind: Pod
metadata: {name: miner, namespace: kube-system}
spec:
  containers: [{name: c, image: x, securityContext: {privileged: true}}]
"""


@pytest.mark.parametrize(
    ("namespace_file", "escalate"),
    [
        ("namespaces/team-a-dev/00-namespace.yaml", "namespaces/team-a-dev/escalate.yaml"),
        ("00-namespace.yaml", "escalate.yaml"),  # at the snapshot's root: in no folder at all
        ("team-a/00-namespace.yaml", "team-a/escalate.yaml"),  # a folder not named like the namespace
        ("namespaces/team-a-dev/00-namespace.yaml", "namespaces/team-a-dev/kube-system/escalate.yaml"),
    ],
)
def test_system_namespace_manifests_leave_the_run_incomplete_wherever_they_are(
    tmp_path: Path, namespace_file: str, escalate: str
) -> None:
    """The author of a pull request chooses its folders: no layout puts a manifest in kube-system unseen."""
    snapshot = tmp_path / "snapshot"
    write_files(snapshot, {namespace_file: COMPLIANT_NS.read_text(), escalate: KUBE_SYSTEM_OBJECTS})
    code, document = run(tmp_path / "out", "--cluster", f"snapshot:{snapshot}")
    assert code == 1 and document["summary"]["compliant"] is False
    listed = skipped(document)
    entry = listed[escalate]
    assert entry["holds_resources"] is True and entry["line"] == 1
    assert "system namespace kube-system" in entry["reason"] and "resourceVersion" in entry["reason"]
    assert "RoleBinding/kube-system/team-a-admin at line 1" in entry["reason"]
    assert "Pod/kube-system/miner at line 7" in entry["reason"]
    assert "namespace:kube-system" not in listed  # no object was read from the cluster
    reasons = " ".join(document["completeness"]["reasons"])
    assert escalate in reasons
    # The team namespace's own results are its own: no error is charged to it.
    team = {s for (cid, unit), s in statuses(document).items() if unit == "namespace:team-a-dev"}
    assert team and "error" not in team, statuses(document)


def test_system_namespace_redefined_by_a_manifest_leaves_the_run_incomplete(tmp_path: Path) -> None:
    snapshot = write_files(
        tmp_path / "snapshot",
        {
            "team-a-dev.yaml": COMPLIANT_NS.read_text(),
            "ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: kube-system, labels: {a: b}}\n",
        },
    )
    code, document = run(tmp_path / "out", "--cluster", f"snapshot:{snapshot}")
    assert code == 1 and document["summary"]["compliant"] is False
    entry = skipped(document)["ns.yaml"]
    assert entry["holds_resources"] is True and "Namespace/kube-system at line 1" in entry["reason"]


def dumped(manifests: str) -> str:
    """``manifests`` as a dump of a cluster writes them: with the fields the API server sets."""
    return manifests.replace("namespace: kube-system}", f"namespace: kube-system, {DUMPED}}}")


def test_system_namespace_objects_of_a_whole_cluster_dump_are_counted_not_errors(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot"
    write_files(
        snapshot,
        {
            "cluster/all.yaml": (
                COMPLIANT_NS.read_text() + TEAM_RESOURCES + "---\n" + dumped(KUBE_SYSTEM_OBJECTS)
            ),
            "kube-system/more.yaml": (
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: kube-system, {DUMPED}}}\n"
            ),
            # A dump kept in a team's folder is the platform's all the same: what was read is counted.
            "namespaces/team-a-dev/kube-system.yaml": (
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: e, namespace: kube-system, {DUMPED}}}\n"
            ),
        },
    )
    code, document = run(tmp_path / "out", "--cluster", f"snapshot:{snapshot}")
    assert code == 0 and document["summary"]["compliant"] is True, document["summary"]
    listed = skipped(document)
    assert sorted(listed) == ["namespace:kube-system"]
    entry = listed["namespace:kube-system"]
    assert entry["holds_resources"] is False
    assert "out of scope: system namespace" in entry["reason"]
    assert "4 object(s) read from the cluster (3 file(s))" in entry["reason"]
    # The inventory itself does not depend on the run's inputs: the listing is the target record's.
    inventory = json.loads(next((tmp_path / "out" / "inventory").glob("cluster-*.json")).read_text())
    assert inventory["skipped"] == []


def test_system_namespaces_listed_follow_the_input(tmp_path: Path) -> None:
    from kitemark.core.kinds import get_kind
    from kitemark.targets.cluster.collect import collect

    snapshot = write_files(
        tmp_path / "snapshot",
        {
            "team-a-dev/00-namespace.yaml": COMPLIANT_NS.read_text(),
            "team-a-dev/tools.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ops}\n",
            "dump/ops.yaml": (
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: d, namespace: ops, {DUMPED}}}\n"
            ),
        },
    )
    inventory = collect(TargetSpec("cluster", "t", str(snapshot), {}))
    kind = get_kind("cluster")
    assert kind.not_assessed(inventory, default_inputs()) == []  # `ops` is a team namespace by default
    listed = kind.not_assessed(inventory, default_inputs({"system_namespaces": ["ops"]}))
    assert [(e["path"], e["holds_resources"]) for e in listed] == [
        ("namespace:ops", False),
        ("team-a-dev/tools.yaml", True),
    ]


# Kinds no check of the suite reads (UNREAD_OBJECTS), and kinds checks read (READ_INDIRECTLY).
ROLE = (
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n"
    "metadata: {name: r%d, namespace: team-a-dev}\n"
)
UNREAD_OBJECTS = """---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: gp3}
provisioner: ebs.csi.aws.com
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: high}
value: 1000
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata: {name: letsencrypt-production}
---
apiVersion: v1
kind: Endpoints
metadata: {name: web, namespace: team-a-dev}
""" + "".join(ROLE % n for n in range(1, 5))
READ_INDIRECTLY = """---
apiVersion: v1
kind: ServiceAccount
metadata: {name: web, namespace: team-a-dev}
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web, namespace: team-a-dev}
spec: {template: {spec: {containers: [{name: web, image: web}]}}}
---
apiVersion: extensions/v1beta1
kind: NetworkPolicy
metadata: {name: old, namespace: team-a-dev}
spec: {podSelector: {}}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: k8srequiredlabels
metadata: {name: psa}
"""


def test_kinds_no_check_reads_are_listed_outside_the_suite_and_the_run_stays_compliant(
    tmp_path: Path,
) -> None:
    snapshot = write_files(
        tmp_path / "snapshot",
        {
            "team-a-dev.yaml": COMPLIANT_NS.read_text() + TEAM_RESOURCES,
            "more.yaml": UNREAD_OBJECTS + READ_INDIRECTLY,
        },
    )
    code, document = run(tmp_path / "out", "--cluster", f"snapshot:{snapshot}", "--control", "K8S-NS-001")
    assert code == 0 and document["summary"]["compliant"] is True, document["completeness"]
    listed = skipped(document)
    assert not any(entry["holds_resources"] for entry in listed.values())
    outside = {path: e["reason"] for path, e in listed.items() if e["reason"].startswith("outside the suite")}
    assert outside == {
        "kind:cert-manager.io/ClusterIssuer": (
            "outside the suite: no check reads cert-manager.io/ClusterIssuer: 1 object(s) not assessed "
            "(ClusterIssuer/letsencrypt-production at more.yaml:12)"
        ),
        "kind:rbac.authorization.k8s.io/Role": (
            "outside the suite: no check reads rbac.authorization.k8s.io/Role: 4 object(s) not assessed "
            "(Role/team-a-dev/r1 at more.yaml:20; Role/team-a-dev/r2 at more.yaml:24; "
            "Role/team-a-dev/r3 at more.yaml:28 and 1 more)"
        ),
        "kind:scheduling.k8s.io/PriorityClass": (
            "outside the suite: no check reads scheduling.k8s.io/PriorityClass: 1 object(s) not assessed "
            "(PriorityClass/high at more.yaml:7)"
        ),
        "kind:storage.k8s.io/StorageClass": (
            "outside the suite: no check reads storage.k8s.io/StorageClass: 1 object(s) not assessed "
            "(StorageClass/gp3 at more.yaml:2)"
        ),
        "kind:v1/Endpoints": (
            "outside the suite: no check reads v1/Endpoints: 1 object(s) not assessed "
            "(Endpoints/team-a-dev/web at more.yaml:16)"
        ),
    }
    # Read by checks the selection left out: a Rollout has a pod template, an `extensions` policy is
    # read as networking.k8s.io's, a constraint of any kind by the Gatekeeper checks.
    assert sorted(set(listed) - set(outside)) == [
        "kind:argoproj.io/Rollout",
        "kind:constraints.gatekeeper.sh/k8srequiredlabels",
        "kind:extensions/NetworkPolicy",
        "kind:networking.k8s.io/NetworkPolicy",
        "kind:v1/LimitRange",
        "kind:v1/ResourceQuota",
        "kind:v1/ServiceAccount",
    ]
    assert listed["kind:v1/ServiceAccount"]["reason"] == (
        "no selected check reads v1/ServiceAccount (a check left out of the selection does): 1 object(s) "
        "not assessed (ServiceAccount/team-a-dev/web at more.yaml:36)"
    )


def test_every_kind_a_selected_check_reads_is_not_listed(tmp_path: Path) -> None:
    """Wildcard reads cover every kind of their group, the workload checks read any pod template, and
    an `extensions` kind is read as its successor's: with every check selected, only the kinds no
    check reads are listed."""
    from kitemark.core.catalog import Catalogue
    from kitemark.core.kinds import get_kind
    from kitemark.targets.cluster.collect import collect

    snapshot = write_files(tmp_path / "snapshot", {"all.yaml": UNREAD_OBJECTS + READ_INDIRECTLY})
    inventory = collect(TargetSpec("cluster", "t", str(snapshot), {}))
    reads = frozenset(r for c in Catalogue.load().checks.values() if c.kind == "cluster" for r in c.reads)
    kind = get_kind("cluster")
    listed = kind.not_assessed(inventory, default_inputs(), reads, reads)
    assert [e["path"] for e in listed] == [
        "kind:cert-manager.io/ClusterIssuer",
        "kind:rbac.authorization.k8s.io/Role",
        "kind:scheduling.k8s.io/PriorityClass",
        "kind:storage.k8s.io/StorageClass",
        "kind:v1/Endpoints",
    ]
    # Not told what checks read (a check declaring nothing reads everything): nothing to list.
    assert kind.not_assessed(inventory, default_inputs()) == []
