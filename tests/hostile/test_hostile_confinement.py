"""Nothing outside the target is read, and nothing of it is kept.

Each test builds a target beside an ``outside`` folder whose files hold a canary string, points
``kitemark run`` at the target through symlinks, ``..`` and absolute references, and checks that the run
is not compliant, that results.json names each refused path with its reason, and that the canary is in
no file the run wrote. Folders and files that cannot be read are simulated by a ``sitecustomize`` in the
Kitemark process (tests may run as root, where ``chmod 000`` blocks nothing). The git tests give the
target a repository whose configuration would run commands, and check that none ran and that the
repository was not written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.core.kinds import TargetSpec
from kitemark.core.resources import Refused, walk_inputs

CANARY = "kitemark-canary-4f1d9e"
DEMO = resources.demo_dir()

PASSING_TEST = "package ok\n\ntest_ok if {\n  true\n}\n"

# Makes the Kitemark process fail to list any folder named `locked` and to open any file named
# `locked.<ext>`, as chmod 000 does for a user that is not root.
LOCKED = """
import builtins, io, os
from pathlib import Path

_scandir, _open = os.scandir, io.open

def _locked(path):
    return isinstance(path, (str, os.PathLike)) and Path(os.fspath(path)).stem == "locked"

def scandir(path="."):
    if _locked(path):
        raise PermissionError(13, "Permission denied", os.fspath(path))
    return _scandir(path)

def open_(file, *args, **kwargs):
    if _locked(file) and Path(os.fspath(file)).suffix:
        raise PermissionError(13, "Permission denied", os.fspath(file))
    return _open(file, *args, **kwargs)

os.scandir = scandir
io.open = builtins.open = open_
"""


def kitemark(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    shim = tmp_path / "shim"
    shim.mkdir(exist_ok=True)
    (shim / "sitecustomize.py").write_text(LOCKED)
    path = os.pathsep.join(p for p in (str(shim), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "kitemark", "run", "-n", "0", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": path},
    )


def outside(tmp_path: Path) -> Path:
    """Files beside the target, each holding the canary."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.rego").write_text(f'package leak\n\nsecret := "{CANARY}"\n')
    (folder / "secret_test.rego").write_text(f'package leak\n\ntest_secret if {{\n  "{CANARY}" != ""\n}}\n')
    (folder / "kubeconfig.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kubeconfig\n  namespace: team-a\n"
        f"data:\n  token: {CANARY}\n"
    )
    (folder / "leak.tf").write_text(f'resource "aws_sqs_queue" "leak" {{\n  name = "{CANARY}"\n}}\n')
    return folder


def link(path: Path, to: str | Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(to)


def finished(proc: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    """The run's results.json, after checking it ran to the end and is not compliant."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    document = json.loads((out / "results.json").read_text())
    assert document["summary"]["compliant"] is False
    return document


def error_lines(document: dict[str, Any]) -> str:
    """The message of every error finding (which names the file and line), one a line."""
    return "\n".join(
        f["message"] for r in document["results"] for f in r["findings"] if f["status"] == "error"
    )


def assert_no_canary(out: Path) -> None:
    for path in out.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


# ------------------------------------------------------------------------------------------- policies


def test_policies_symlinks_out_of_the_target_are_input_errors_and_never_read(tmp_path: Path) -> None:
    source = outside(tmp_path)
    target = tmp_path / "policies"
    target.mkdir()
    # Tests carry the errors of their own folder's files: the one that passes is kept apart.
    (target / "good").mkdir()
    (target / "good" / "ok_test.rego").write_text(PASSING_TEST)
    link(target / "leak.rego", source / "secret.rego")
    link(target / "leak_test.rego", source / "secret_test.rego")
    link(target / "shared", source)  # a folder
    link(target / "gone_test.rego", target / "missing.rego")
    link(target / "loop.rego", target / "loop2.rego")
    link(target / "loop2.rego", target / "loop.rego")
    (target / "locked").mkdir()
    (target / "locked" / "x_test.rego").write_text(PASSING_TEST)
    # Inside the target: followed; a linked file is read at its link's path too (as opa test reads it),
    # a linked folder already walked is not walked again.
    link(target / "good" / "again_test.rego", "ok_test.rego")
    link(target / "good" / "sub" / "up", "../..")
    out = tmp_path / "out"
    document = finished(kitemark(tmp_path, "--policies", str(target), "--out", str(out)), out)
    errors = error_lines(document)
    for rel, reason in [
        ("leak.rego", "symlink leads outside the target"),
        ("leak_test.rego", "symlink leads outside the target"),
        ("shared", "symlink leads outside the target"),
        ("gone_test.rego", "dangling symlink"),
        ("loop.rego", "symlink loop"),
        ("loop2.rego", "symlink loop"),
        ("locked", "cannot list folder: Permission denied"),
    ]:
        assert f"{rel}: {reason}" in errors, (rel, errors)
    inventory = json.loads(next((out / "inventory").glob("policies-*.json")).read_text())
    read = [f["path"] for f in inventory["rego_files"] if not f["error"]]
    assert read == ["good/again_test.rego", "good/ok_test.rego"]  # not `sub/up/…`: the folder, again
    passed = [r["unit"] for r in document["results"] if r["status"] == "passed"]
    assert passed == [f"policies:policies/good/{name}_test.rego#test_ok" for name in ("again", "ok")]
    assert_no_canary(out)


def test_policies_source_of_a_file_that_does_not_parse_is_not_kept(tmp_path: Path) -> None:
    target = tmp_path / "policies"
    target.mkdir()
    (target / "ok_test.rego").write_text(PASSING_TEST)
    (target / "broken.rego").write_text(f"package broken\n\n{{{{ token := {CANARY[:8]}-not-rego\n")
    out = tmp_path / "out"
    document = finished(kitemark(tmp_path, "--policies", str(target), "--out", str(out)), out)
    assert "broken.rego" in error_lines(document)
    inventory = json.loads(next((out / "inventory").glob("policies-*.json")).read_text())
    [broken] = [f for f in inventory["rego_files"] if f["path"] == "broken.rego"]
    assert broken["source"] == "" and broken["error"] and broken["package"] == "broken"


SUITE = """kind: Suite
apiVersion: test.gatekeeper.sh/v1alpha1
metadata:
  name: hostile
tests:
  - name: unique-host
    template: template.yaml
    constraint: {constraint}
    cases:
      - name: outside-object
        object: {object}
        assertions:
          - violations: no
      - name: outside-inventory
        object: samples/unique-host/example_allowed.yaml
        inventory: [{inventory}]
        assertions:
          - violations: no
"""


def test_suite_references_out_of_the_target_are_input_errors_and_never_read(tmp_path: Path) -> None:
    source = outside(tmp_path)
    target = tmp_path / "policies"
    shutil.copytree(DEMO / "policies" / "k8suniqueingresshost", target / "unique")
    (target / "unique" / "suite.yaml").unlink()
    (source / "constraint.yaml").write_text(
        (target / "unique/samples/unique-host/constraint.yaml").read_text() + f"# {CANARY}\n"
    )
    link(target / "unique" / "linked-constraint.yaml", source / "constraint.yaml")
    (target / "unique" / "suite.yaml").write_text(
        SUITE.format(
            constraint="linked-constraint.yaml",
            object="../../outside/kubeconfig.yaml",
            inventory=source / "kubeconfig.yaml",
        )
    )
    out = tmp_path / "out"
    document = finished(
        kitemark(tmp_path, "--policies", str(target), "--out", str(out), "--control", "GK-SUITE-001"), out
    )
    errors = error_lines(document)
    assert "unique/linked-constraint.yaml: symlink leads outside the target" in errors  # by the walk
    assert "constraint 'linked-constraint.yaml' leads outside the target through a symlink" in errors
    assert "object '../../outside/kubeconfig.yaml' leads outside the target: not read" in errors
    assert f"inventory '{source / 'kubeconfig.yaml'}' leads outside the target: not read" in errors
    assert "unique/suite.yaml:" in errors  # named in the suite, at its line
    assert_no_canary(out)


# -------------------------------------------------------------------------------------------- cluster


def test_cluster_symlinks_out_of_the_snapshot_are_input_errors_and_never_read(tmp_path: Path) -> None:
    source = outside(tmp_path)
    target = tmp_path / "snapshot"
    shutil.copytree(DEMO / "cluster", target)
    link(target / "namespaces" / "leak.yaml", source / "kubeconfig.yaml")
    link(target / "shared", source)
    link(target / "gone.yaml", target / "missing.yaml")
    link(target / "loop.yaml", target / "loop.yaml")
    os.mkfifo(target / "fifo.yaml")  # would block a reader forever
    (target / "locked").mkdir()
    (target / "locked.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: locked\n")
    link(target / "copy", "namespaces")  # inside: read once, under its own path
    out = tmp_path / "out"
    document = finished(kitemark(tmp_path, "--cluster", f"snapshot:{target}", "--out", str(out)), out)
    errors = error_lines(document)
    for rel, reason in [
        ("namespaces/leak.yaml", "symlink leads outside the target"),
        ("shared", "symlink leads outside the target"),
        ("gone.yaml", "dangling symlink"),
        ("loop.yaml", "symlink loop"),
        ("fifo.yaml", "not a regular file or folder"),
        ("locked", "cannot list folder: Permission denied"),
        ("locked.yaml", "cannot read file"),
    ]:
        assert f"{rel}: {reason}" in errors, (rel, errors)
    inventory = json.loads(next((out / "inventory").glob("cluster-*.json")).read_text())
    assert not [f for f in inventory["files"] if f.startswith("copy/")]
    assert_no_canary(out)


# ------------------------------------------------------------------------------------------ terraform

QUEUE = 'resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n'


def test_terraform_symlinks_out_of_the_target_are_input_errors_and_never_read(tmp_path: Path) -> None:
    source = outside(tmp_path)
    target = tmp_path / "infra"
    (target / "app").mkdir(parents=True)
    (target / "app" / "main.tf").write_text(QUEUE + 'module "shared" {\n  source = "../shared/x"\n}\n')
    (target / "db").mkdir()
    (target / "db" / "main.tf").write_text(QUEUE)
    link(target / "app" / "leak.tf", source / "leak.tf")
    link(target / "app" / "gone.tf", "missing.tf")
    link(target / "shared", source)  # above every module: an error unit of its own
    (target / "app" / "locked").mkdir()
    out = tmp_path / "out"
    document = finished(kitemark(tmp_path, "--terraform", str(target), "--out", str(out)), out)
    errors = error_lines(document)
    for rel, reason in [
        ("app/leak.tf", "symlink leads outside the target"),
        ("app/gone.tf", "dangling symlink"),
        ("shared", "symlink leads outside the target"),
        ("app/locked", "cannot list folder: Permission denied"),
        ("app/main.tf:4", 'module.shared: source "../shared/x" names no module: shared/x leads outside'),
    ]:
        assert f"{rel}: {reason}" in errors, (rel, errors)
    by_unit: dict[str, set[str]] = {}
    for result in document["results"]:
        by_unit.setdefault(result["unit"].split("/", 1)[1], set()).add(result["status"])
    assert by_unit["shared"] == {"error"} and "error" not in by_unit["db"]  # db's results are its own
    assert_no_canary(out)


def test_terraform_local_sources_above_the_target_are_not_probed(tmp_path: Path) -> None:
    """A ``../x`` source above the target folder gets the same answer whether or not ``x`` exists: it is
    listed as not assessed, like a registry source, and nothing says what exists on the machine."""
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "main.tf").write_text(QUEUE)
    found = []
    for source in ("../elsewhere", "../nowhere"):
        target = tmp_path / f"infra-{source[3:]}"
        target.mkdir()
        (target / "main.tf").write_text(f'module "far" {{\n  source = "{source}"\n}}\n' + QUEUE)
        out = tmp_path / f"out-{source[3:]}"
        proc = kitemark(tmp_path, "--terraform", str(target), "--out", str(out))
        document = json.loads((out / "results.json").read_text())
        assert "Traceback" not in proc.stderr
        assert error_lines(document) == ""
        found.append(json.loads(next((out / "inventory").glob("terraform-*.json")).read_text())["errors"])
    assert found == [[], []]


# ------------------------------------------------------------------------------------------------ git


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def test_git_configuration_of_the_target_runs_nothing_and_the_repository_is_not_written(
    tmp_path: Path,
) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    target = repo / "policies"
    target.mkdir(parents=True)
    (target / "ok_test.rego").write_text(PASSING_TEST)
    (target / "pay.rego").write_text("package pay\n\nallow := true\n")
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "-m", "x")
    marker = tmp_path / "ran"
    run = f"sh -c 'echo $0 >> {marker}; cat'"
    hooks = repo / ".git" / "evil-hooks"
    hooks.mkdir()
    for hook in ("post-index-change", "reference-transaction", "pre-commit", "fsmonitor-watchman"):
        (hooks / hook).write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        (hooks / hook).chmod(0o755)
    for key, value in [
        ("core.fsmonitor", str(hooks / "fsmonitor-watchman")),
        ("core.hooksPath", str(hooks)),
        ("core.pager", run),
        ("pager.status", run),
        ("diff.external", run),
        ("diff.evil.command", run),
        ("diff.evil.textconv", run),
        ("filter.evil.clean", run),
        ("filter.evil.smudge", run),
        ("filter.evil.process", run),
        ("filter.evil.required", "true"),
        ("core.untrackedCache", "true"),
    ]:
        git(repo, "config", key, value)
    (target / "pay.rego").write_text("package pay\n\nallow := false\n")  # stat changed: a filter would run
    index = repo / ".git" / "index"
    before = (index.read_bytes(), index.stat().st_mtime_ns)
    git_files = {p: p.stat().st_mtime_ns for p in (repo / ".git").rglob("*") if p.is_file()}
    out = tmp_path / "out"
    proc = kitemark(tmp_path, "--policies", str(target), "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert not marker.exists(), marker.read_text()
    assert (index.read_bytes(), index.stat().st_mtime_ns) == before
    assert {p: p.stat().st_mtime_ns for p in (repo / ".git").rglob("*") if p.is_file()} == git_files
    [record] = json.loads((out / "results.json").read_text())["targets"]
    assert record["commit"]["tracked"] is True and record["commit"]["dirty"] is True


# ------------------------------------------------------------------------------------------ the walk


def test_walk_refuses_what_it_cannot_list_when_running_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk itself, in process: a folder whose listing fails is refused and the walk goes on."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yaml").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "y.yaml").write_text("")
    listing = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path).name == "a":
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(os, "scandir", scandir)
    tree = walk_inputs(tmp_path)
    assert [tree.rel(p) for p in tree.files((".yaml",))] == ["b/y.yaml"]
    assert tree.refused == [Refused("a", "cannot list folder: Permission denied", True)]


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads a chmod 000 folder")
def test_a_folder_chmod_000_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yaml").write_text("")
    (tmp_path / "a").chmod(0)
    try:
        tree = walk_inputs(tmp_path)
    finally:
        (tmp_path / "a").chmod(0o755)
    assert tree.refused == [Refused("a", "cannot list folder: Permission denied", True)]


@pytest.mark.parametrize(
    ("refused", "suffixes", "concerns"),
    [
        (Refused("a/x.yaml", "r", False), (".yaml",), True),
        (Refused("a/README.md", "r", False), (".yaml",), False),
        (Refused("a/README.md", "r", None), (".yaml",), False),  # a dangling link to a document
        (Refused("a/lib", "r", None), (".yaml",), True),  # may have been a folder
        (Refused("a/lib.d", "r", True), (".yaml",), True),
    ],
)
def test_what_a_refusal_concerns(refused: Refused, suffixes: tuple[str, ...], concerns: bool) -> None:
    assert refused.concerns(suffixes) is concerns


def test_a_link_out_of_the_target_says_nothing_of_what_exists_there(tmp_path: Path) -> None:
    (tmp_path / "outside.yaml").write_text(CANARY)
    target = tmp_path / "target"
    link(target / "a.yaml", tmp_path / "outside.yaml")
    link(target / "b.yaml", tmp_path / "no-such-file.yaml")
    link(target / "c.yaml", tmp_path / "no-such-folder" / "x.yaml")
    tree = walk_inputs(target)
    assert tree.files((".yaml",)) == []
    assert {r.reason for r in tree.refused} == {"symlink leads outside the target: not read"}
    assert [r.path for r in tree.refused] == ["a.yaml", "b.yaml", "c.yaml"]


def test_a_marker_file_cannot_hide_part_of_a_target(tmp_path: Path) -> None:
    """A `.kitemark-output` file marks Kitemark's own report folders, which are not read; anyone can
    create one, so a marked folder that is not this run's --out is an input error, not a silent gap."""
    policies = tmp_path / "hid"
    (policies / "sub").mkdir(parents=True)
    (policies / "ok_test.rego").write_text("package ok\n\ntest_ok if true\n")
    (policies / "sub" / "bad_test.rego").write_text("package bad\n\ntest_bad if false\n")
    (policies / "sub" / ".kitemark-output").write_text("")
    out = tmp_path / "out"
    document = finished(kitemark(tmp_path, "--policies", str(policies), "--out", str(out)), out)
    assert "sub: holds .kitemark-output" in error_lines(document), error_lines(document)


def test_a_file_linked_inside_the_target_is_read_where_the_link_is(tmp_path: Path) -> None:
    """Terraform reads a module as its folder's files, and OPA places data.json by its folder: a shared
    `versions.tf` linked into each module counts in each, not only where the real file sits."""
    from kitemark.targets.terraform import collect as terraform

    root = tmp_path / "repo"
    (root / "shared").mkdir(parents=True)
    (root / "shared" / "versions.tf").write_text('terraform {\n  required_version = ">= 1.5"\n}\n')
    (root / "team-a").mkdir()
    (root / "team-a" / "main.tf").write_text('resource "aws_sqs_queue" "q" {\n  name = "q"\n}\n')
    link(root / "team-a" / "versions.tf", "../shared/versions.tf")
    tree = resources.walk_inputs(root)
    assert [tree.rel(p) for p in tree.files((".tf",))] == [
        "shared/versions.tf", "team-a/main.tf", "team-a/versions.tf"
    ]  # fmt: skip
    inventory = terraform.collect(TargetSpec("terraform", "repo", str(root), {}))
    team_a = next(m for m in inventory["modules"] if m["path"] == "team-a")
    assert sorted(team_a["files"]) == ["main.tf", "versions.tf"]
    assert inventory["errors"] == []


def test_an_extension_in_another_case_is_not_read_and_not_passed_over(tmp_path: Path) -> None:
    """kubectl does not apply `x.YAML` and OPA does not load `x.Rego`: reading them would assess what
    the platform never runs (a NetworkPolicy kubectl skipped), ignoring them silently would drop input."""
    from kitemark.targets.cluster import collect as cluster

    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    (tmp_path / "policy.YAML").write_text(
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
        "metadata: {name: deny, namespace: team-a}\nspec: {podSelector: {}}\n"
    )
    inventory = cluster.collect(TargetSpec("cluster", "snap", str(tmp_path), {}))
    assert inventory["files"] == ["ns.yaml"]
    assert [(e["path"], "lower case" in e["message"]) for e in inventory["errors"]] == [("policy.YAML", True)]


def test_a_file_committed_into_this_runs_own_out_is_still_read(tmp_path: Path) -> None:
    """`--terraform . --out kitemark-reports` from a repository root: Kitemark passes over only the
    reports it writes there, so a module committed under `kitemark-reports/` is still assessed."""
    repo = tmp_path / "repo"
    (repo / "kitemark-reports").mkdir(parents=True)
    (repo / "main.tf").write_text('terraform {\n  required_version = ">= 1.5"\n}\n')
    (repo / "kitemark-reports" / "hidden.tf").write_text(
        'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'
    )
    out = repo / "kitemark-reports"
    for _ in range(2):  # the second run finds its own reports there, and still the module
        proc = kitemark(tmp_path, "--terraform", str(repo), "--out", str(out))
        document = finished(proc, out)
        units = {r["unit"] for r in document["results"]}
        assert any("kitemark-reports" in u for u in units), sorted(units)


def test_hidden_manifests_are_read_as_kubectl_applies_them(tmp_path: Path) -> None:
    """`kubectl apply -f DIR` applies `.x.yaml` too: a privileged Pod there must not pass unseen."""
    from kitemark.targets.cluster import collect as cluster

    (tmp_path / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n")
    (tmp_path / ".priv.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: team-a}\n"
    )
    (tmp_path / ".evil").mkdir()
    (tmp_path / ".evil" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: team-a}\n"
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: g, namespace: team-a}\n"
    )
    inventory = cluster.collect(TargetSpec("cluster", "snap", str(tmp_path), {}))
    assert inventory["files"] == [".evil/pod.yaml", ".priv.yaml", "ns.yaml"]
