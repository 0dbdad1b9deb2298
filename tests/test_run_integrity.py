"""A run never says more than it measured: what pytest left unrun makes it partial, the user's pytest
configuration does not change it, its outputs are replaced only by a run that made new ones, and
what it records about its targets (commits, digests) is true."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kitemark.collect import git_commit
from kitemark.core import resources
from kitemark.reports import render
from kitemark.results import validate

DEMO = resources.demo_dir()
COMPLIANT_TF = str(DEMO / "terraform" / "s3-bucket-compliant")
TF = str(DEMO / "terraform")


def kitemark(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def results(out: Path) -> dict[str, Any]:
    document = json.loads((out / "results.json").read_text())
    validate(document)
    return document


# --- 2. pytest deselection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pytest_args",
    [["-k", "versions"], ["-m", "slow"], ["--deselect", "suites/terraform/test_tf_s3.py"]],
    ids=["keyword", "marker", "deselect"],
)
def test_checks_left_unrun_by_pytest_make_the_run_partial(tmp_path: Path, pytest_args: list[str]) -> None:
    proc = kitemark("run", "--terraform", COMPLIANT_TF, "--out", str(tmp_path), "-n", "0", "--", *pytest_args)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    document = results(tmp_path)
    run = document["runs"][0]
    assert run["selection"]["pytest"] == pytest_args
    assert " ".join(pytest_args) in run["selection"]["text"]
    assert run["not_run"], "the results pytest never ran are listed"
    assert all(" ".join(pytest_args) in n["reason"] for n in run["not_run"])
    assert document["summary"]["verdict"] == "incomplete" and not document["summary"]["compliant"]
    assert "INCOMPLETE" in proc.stdout and "pytest " + " ".join(pytest_args) in proc.stdout
    assert "did not run" in (tmp_path / "compliance.html").read_text()


def test_the_same_run_without_deselection_is_compliant(tmp_path: Path) -> None:
    proc = kitemark("run", "--terraform", COMPLIANT_TF, "--out", str(tmp_path), "-n", "2")
    assert proc.returncode == 0, proc.stdout[-3000:]
    document = results(tmp_path)
    assert document["runs"][0]["not_run"] == [] and document["summary"]["verdict"] == "compliant"
    assert document["runs"][0]["selection"]["text"] == "all checks"


def test_checks_pytest_never_collects_make_the_run_partial(tmp_path: Path) -> None:
    """Plain pytest keeps the user's configuration: one that collects no `test_*` function leaves every
    chosen check unrun, and the run says so instead of reporting what little it has."""
    (tmp_path / "pytest.ini").write_text("[pytest]\npython_functions = check_*\n")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(tmp_path / "pytest.ini"),
         str(resources.suites_dir()),
         f"--kitemark-terraform={COMPLIANT_TF}", f"--kitemark-out={out}"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode != 0
    document = results(out)
    assert document["summary"]["verdict"] == "incomplete"
    assert {n["check_id"] for n in document["runs"][0]["not_run"]} >= {
        "TF-S3-001",
        "TF-TAG-001",
        "TF-VER-001",
    }
    assert "never collected" in document["runs"][0]["not_run"][0]["reason"]


# --- 3. the user's pytest configuration ---------------------------------------------------------


def _installed_copy(root: Path) -> Path:
    """Kitemark laid out as a wheel installs it (`_bundled/` beside the package), inside a project."""
    site = root / ".venv" / "site-packages"
    package = site / "kitemark"
    shutil.copytree(
        Path(resources.__file__).parent.parent, package, ignore=shutil.ignore_patterns("__pycache__")
    )
    bundled = package / "_bundled"
    shutil.copytree(resources.suites_dir(), bundled / "suites", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(resources.policies_dir(), bundled / "policies")
    shutil.copytree(DEMO, bundled / "fixtures" / "demo")
    return site


def test_a_projects_pytest_configuration_and_conftest_do_not_change_a_run(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    site = _installed_copy(project)
    (project / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-x -k nothing_matches"\n')
    (project / "pytest.ini").write_text("[pytest]\naddopts = -x -k nothing_matches\n")
    (project / "conftest.py").write_text("raise RuntimeError('the project conftest was loaded')\n")
    out = project / "reports"
    proc = kitemark(
        "run", "--terraform", TF, "--out", str(out), "-n", "0",
        cwd=project, env={"PYTHONPATH": str(site), "PYTEST_ADDOPTS": "-x"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "ignoring PYTEST_ADDOPTS='-x'" in proc.stderr
    document = results(out)
    assert document["completeness"]["complete"], document["completeness"]
    assert {r["check_id"] for r in document["results"]} == {"TF-S3-001", "TF-TAG-001", "TF-VER-001"}
    assert Path(document["targets"][0]["location"]) == Path(TF).resolve()


# --- 5. lost reports ----------------------------------------------------------------------------


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_run_ending_in_a_usage_error_keeps_the_previous_reports(tmp_path: Path, workers: str) -> None:
    out = tmp_path / "reports"
    assert kitemark("run", "--terraform", TF, "--out", str(out), "-n", "0").returncode == 1
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    inventories = sorted(p.name for p in (out / "inventory").iterdir())
    for bad in (
        ["--control", "service-standard:1"],  # refused before collecting
        # refused by pytest after collecting: under xdist only the workers collect
        ["--", str(tmp_path / "no_such_test.py")],
        ["--", "-k", "("],
        ["--", "-m", "slow and"],
    ):
        proc = kitemark("run", "--terraform", TF, "--out", str(out), "-n", workers, *bad)
        assert proc.returncode == 2, proc.stdout[-2000:]
        assert "INTERNALERROR" not in proc.stdout + proc.stderr
        assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
        assert sorted(p.name for p in (out / "inventory").iterdir()) == inventories
    left = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert left == [".kitemark-manifest.json", ".kitemark-output", ".kitemark.lock"], (
        "no temporary files left behind, only the folder's marker, manifest and lock"
    )
    assert all(oct(p.stat().st_mode & 0o044) == "0o44" for p in out.iterdir() if p.is_file()), (
        "readable reports"
    )


def test_run_folders_of_killed_runs_are_cleaned_and_live_ones_kept(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    dead, live, unknown = out / ".kitemark-run-dead", out / ".kitemark-run-live", out / ".kitemark-run-new"
    for folder in (dead, live, unknown):
        (folder / "inventory").mkdir(parents=True)
    dead_pid = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (dead / "pid").write_text(dead_pid.stdout.strip())
    (live / "pid").write_text(str(os.getpid()))
    assert kitemark("run", "--terraform", COMPLIANT_TF, "--out", str(out), "-n", "0").returncode == 0
    assert not dead.exists() and live.is_dir() and unknown.is_dir()


def test_a_report_that_fails_to_render_leaves_the_previous_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in (render.RESULTS, render.JUNIT, render.HTML):
        (tmp_path / name).write_text(f"previous {name}")

    def broken(document: dict[str, Any]) -> str:
        raise RuntimeError("renderer crashed")

    monkeypatch.setitem(render.OUTPUTS, render.JUNIT, lambda document: b"<testsuites/>")
    monkeypatch.setitem(render.OUTPUTS, render.HTML, broken)
    with pytest.raises(RuntimeError):
        render.render_all({"any": "document"}, tmp_path)
    for name in (render.RESULTS, render.JUNIT, render.HTML):
        assert (tmp_path / name).read_text() == f"previous {name}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([render.RESULTS, render.JUNIT, render.HTML])


def test_the_default_report_folder_is_in_the_working_directory_never_the_checkout() -> None:
    cwd = Path.cwd()
    assert cwd != Path(resources.suites_dir()).parent, "tests run in a temporary directory"
    proc = kitemark("run", "--terraform", COMPLIANT_TF, "-n", "0", cwd=cwd)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (cwd / "kitemark-reports" / "results.json").is_file()


# --- selection that keeps nothing, and a file given for a folder ----------------------------------


def test_a_severity_no_check_has_says_which_severities_exist(tmp_path: Path) -> None:
    proc = kitemark("run", "--terraform", TF, "--severity", "critical", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "at severities high, medium" in proc.stderr and "TF-S3-001" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_terraform_file_is_refused_with_the_folder_to_pass(tmp_path: Path) -> None:
    tf_file = next(Path(COMPLIANT_TF).glob("*.tf"))
    proc = kitemark("run", "--terraform", str(tf_file), "--out", str(tmp_path))
    assert proc.returncode == 2 and "is a file; pass the directory that holds it" in proc.stderr


# --- what a run records about its targets ---------------------------------------------------------


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def test_a_commit_is_named_only_for_files_the_repository_tracks(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "tracked").mkdir(parents=True)
    (repo / "tracked" / "main.tf").write_text("# tracked\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@example.gov.uk", "-c", "user.name=t", "add", "tracked")
    _git(repo, "-c", "user.email=t@example.gov.uk", "-c", "user.name=t", "commit", "-qm", "first")
    (repo / "untracked").mkdir()
    (repo / "untracked" / "main.tf").write_text("# new\n")
    (repo / ".gitignore").write_text("ignored/\n")
    (repo / "ignored").mkdir()
    (repo / "ignored" / "main.tf").write_text("# ignored\n")
    tracked = git_commit(str(repo / "tracked"))
    assert (
        tracked is not None and tracked["tracked"] and len(tracked["commit"]) == 40 and not tracked["dirty"]
    )
    (repo / "tracked" / "extra.tf").write_text("# not yet committed\n")
    assert git_commit(str(repo / "tracked"))["dirty"] is True  # type: ignore[index]
    assert git_commit(str(repo / "untracked")) == {
        "tracked": False,
        "reason": "the folder is not tracked by the enclosing git repository",
    }
    assert (
        git_commit(str(repo / "ignored"))["reason"] == "the folder is ignored by the enclosing git repository"
    )  # type: ignore[index]
    assert git_commit(str(tmp_path)) is None


def test_a_repository_hook_is_never_run_and_the_index_never_written(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "main.tf").write_text("# x\n")
    _git(repo, "init", "-q")
    _git(repo, "-c", "user.email=t@example.gov.uk", "-c", "user.name=t", "add", ".")
    _git(repo, "-c", "user.email=t@example.gov.uk", "-c", "user.name=t", "commit", "-qm", "x")
    marker = tmp_path / "fsmonitor-ran"
    _git(repo, "config", "core.fsmonitor", f"touch {marker}; false")
    index = (repo / ".git" / "index").read_bytes()
    assert git_commit(str(repo))["tracked"]  # type: ignore[index]
    assert not marker.exists()
    assert (repo / ".git" / "index").read_bytes() == index


def test_every_saved_inventory_has_its_digest_in_the_results(tmp_path: Path) -> None:
    proc = kitemark("run", "--terraform", TF, "--out", str(tmp_path), "-n", "0")
    assert proc.returncode == 1
    [target] = results(tmp_path)["targets"]
    saved = tmp_path / target["inventory"]
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == target["inventory_sha256"]


# --- shards and merge -----------------------------------------------------------------------------


def test_shards_merged_equal_the_whole_run(tmp_path: Path) -> None:
    cluster = ["--cluster", f"demo=snapshot:{DEMO / 'cluster'}"]
    whole = tmp_path / "whole"
    # Shards of one run mark redacted values under one key (the demo has Secrets).
    key = {"KITEMARK_REDACTION_KEY": "shards-of-one-run"}
    unkeyed = kitemark("run", *cluster, "--shard", "1/2", "--out", str(tmp_path / "unkeyed"), "-n", "0")
    assert unkeyed.returncode == 2 and "KITEMARK_REDACTION_KEY" in unkeyed.stderr
    assert kitemark("run", *cluster, "--out", str(whole), "-n", "0", env=key).returncode == 1
    shards = []
    for index in (1, 2):
        out = tmp_path / f"shard{index}"
        proc = kitemark("run", *cluster, "--shard", f"{index}/2", "--out", str(out), "-n", "0", env=key)
        assert proc.returncode == 1, proc.stdout[-2000:]
        document = results(out)
        assert document["completeness"]["reasons"] == [f"shard(s) {3 - index}/2 missing from the results"]
        assert 0 < len(document["results"]) < len(results(whole)["results"])
        shards.append(str(out / "results.json"))
    merged_out = tmp_path / "merged"
    proc = kitemark("merge", *shards, "--out", str(merged_out))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    merged, expected = results(merged_out), results(whole)

    def outcome(doc: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
        return {r["id"]: (r["status"], [f["fingerprint"] for f in r["findings"]]) for r in doc["results"]}

    assert outcome(merged) == outcome(expected)
    assert merged["completeness"]["complete"] and len(merged["runs"]) == 2
    assert {k: merged["summary"][k] for k in ("passed", "failed", "waived", "error")} == {
        k: expected["summary"][k] for k in ("passed", "failed", "waived", "error")
    }
    for target in merged["targets"]:
        assert (merged_out / target["inventory"]).resolve().is_file()
    missing = kitemark("merge", shards[0], "--out", str(tmp_path / "one"))
    assert missing.returncode == 1 and "shard(s) 2/2 missing" in missing.stdout
    overlap = kitemark("merge", shards[0], str(whole / "results.json"), "--out", str(tmp_path / "bad"))
    assert overlap.returncode == 2 and "shards must not overlap" in overlap.stderr
    assert not (tmp_path / "bad").exists()


def test_report_reads_a_schema_1_document(tmp_path: Path) -> None:
    sample = Path(__file__).parent / "data" / "results-sample.json"
    shutil.copy(sample, tmp_path / "results.json")
    proc = kitemark("report", str(tmp_path / "results.json"), "--out", str(tmp_path / "again"))
    old = json.loads(sample.read_text())
    assert proc.returncode == (0 if old["summary"]["compliant"] else 1), proc.stderr
    assert results(tmp_path / "again")["schema_version"] == "2.0"


# --- a kind from another package ------------------------------------------------------------------

TOY_KIND = '''
from pathlib import Path

from kitemark.core.kinds import KindOption, TargetKind, Unit, directory_specs


class NotesKind(TargetKind):
    """Text files, one unit each: the smallest possible kind."""

    name = "notes"
    title = "Notes"
    suites = Path(__file__).parent / "note_suites"  # this package's own checks
    options = (KindOption("notes", "a folder of *.txt notes", "[NAME=]DIR", repeatable=True),)

    @property
    def scopes(self):
        def note_units(inventory, inputs):
            return [Unit(f"{inventory['target']}/{n}", inventory["target"], text)
                    for n, text in sorted(inventory["notes"].items())]
        return {"note": note_units}

    def specs(self, values):
        return directory_specs(self.name, values.get("notes") or [])

    def collect(self, spec, reads=frozenset()):
        notes = {p.name: p.read_text() for p in Path(spec.location).glob("*.txt")}
        return {"kind": self.name, "target": spec.label, "location": spec.location, "errors": [],
                "notes": notes}


KIND = NotesKind()
'''
TOY_CHECK = """
from kitemark.core.checks import check, failed, passed


@check("NOTE-TODO-001", scope="notes.note", title="Notes carry no TODO left behind", severity="low",
       rationale="A note with a TODO is unfinished documentation that an auditor cannot rely on.",
       remediation="Finish the note and remove the TODO marker before it is published.", reads=["*.txt"])
def test_no_todo(text):
    yield (failed if "TODO" in text else passed)("note", "TODO found" if "TODO" in text else "finished")
"""


def test_a_separate_package_adds_a_target_kind_with_one_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    package = site / "kitemark_notes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "kind.py").write_text(TOY_KIND)
    suites = package / "note_suites"
    (suites / "notes").mkdir(parents=True)
    (suites / ".kitemark-suites").write_text("")
    (suites / "__init__.py").write_text("")
    (suites / "notes" / "__init__.py").write_text("")
    (suites / "notes" / "test_notes.py").write_text(TOY_CHECK)
    dist = site / "kitemark_notes-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kitemark-notes\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[kitemark.kinds]\nnotes = kitemark_notes.kind:KIND\n")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("done\n")
    (notes / "b.txt").write_text("TODO: write this\n")
    out = tmp_path / "out"
    proc = kitemark("run", "--notes", str(notes), "--out", str(out), "-n", "0", env={"PYTHONPATH": str(site)})
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    statuses = {r["unit"]: r["status"] for r in results(out)["results"]}
    assert statuses == {"notes:notes/a.txt": "passed", "notes:notes/b.txt": "failed"}
    help_text = kitemark("run", "--help", env={"PYTHONPATH": str(site)}).stdout
    assert "--notes" in help_text and "a folder of *.txt notes" in help_text


def test_report_beside_an_archived_file_does_not_rewrite_it(tmp_path: Path) -> None:
    out = tmp_path / "archive"
    assert kitemark("run", "--terraform", TF, "--out", str(out), "-n", "0").returncode == 1
    before = (out / "results.json").read_bytes()
    (out / "compliance.html").unlink()
    proc = kitemark("report", str(out / "results.json"))
    assert proc.returncode == 1, proc.stderr
    assert (out / "results.json").read_bytes() == before and (out / "compliance.html").is_file()
    shutil.rmtree(out / "inventory")
    proc = kitemark("report", str(out / "results.json"), "--out", str(tmp_path / "again"))
    assert "the saved inventory of terraform:terraform is not at" in proc.stderr


def test_the_demo_collects_only_what_the_selection_checks(tmp_path: Path) -> None:
    proc = kitemark("run", "--control", "K8S-NET-001", "--out", str(tmp_path), "-n", "0")
    assert proc.returncode == 1, proc.stdout[-2000:]
    document = results(tmp_path)
    assert {t["kind"] for t in document["targets"]} == {"cluster"}
    notes = document["runs"][0]["notes"]
    assert any("the demo's aws part is not collected" in n for n in notes), notes


def test_the_terminal_table_follows_the_selected_framework(tmp_path: Path) -> None:
    proc = kitemark("run", "--terraform", TF, "--framework", "ncsc-csp", "--out", str(tmp_path), "-n", "0")
    assert "Kitemark — NCSC Cloud Security Principles" in proc.stdout
    assert "Supply chain security" in proc.stdout


def test_a_helm_chart_in_a_snapshot_makes_the_run_incomplete(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap"
    shutil.copytree(DEMO / "cluster", snapshot)
    chart = snapshot / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\n"
    )
    proc = kitemark(
        "run", "--cluster", f"demo=snapshot:{snapshot}", "--out", str(tmp_path / "out"), "-n", "0"
    )
    assert proc.returncode == 1
    reasons = results(tmp_path / "out")["completeness"]["reasons"]
    assert any("chart/templates/deployment.yaml" in r and "did not assess" in r for r in reasons)
    skipped = {s["path"]: s for s in results(tmp_path / "out")["targets"][0]["skipped"]}
    assert "helm template" in skipped["chart/templates/deployment.yaml"]["reason"]


def test_a_file_name_that_is_not_utf8_is_read_and_shown_with_replacement_characters(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap"
    shutil.copytree(DEMO / "cluster", snapshot)
    name = os.fsencode(snapshot / "namespaces") + b"/caf\xe9.yaml"
    try:
        Path(os.fsdecode(name)).write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    except OSError:
        pytest.skip("this file system refuses file names that are not UTF-8")
    for workers in ("0", "2"):
        out = tmp_path / f"out{workers}"
        proc = kitemark("run", "--cluster", f"b=snapshot:{snapshot}", "--out", str(out), "-n", workers)
        assert "INTERNALERROR" not in proc.stdout + proc.stderr and (out / "results.json").is_file()
        inventory = json.loads((out / "inventory" / "cluster-b.json").read_text())
        assert "namespaces/caf\ufffd.yaml" in inventory["files"]
