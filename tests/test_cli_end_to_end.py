"""`kitemark run` end to end, as a user runs it (a subprocess), on the demo and on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.results import validate

DEMO = resources.demo_dir()


def kitemark(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def plain_pytest(*args: str | Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def results(out: Path) -> dict[str, Any]:
    document = json.loads((out / "results.json").read_text())
    validate(document)
    return document


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("demo") / "reports"
    return kitemark("run", "--out", str(out), "-n", "2"), out


def test_demo_exits_1_and_prints_the_summary(demo_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = demo_run
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Service Standard" in proc.stdout
    assert "NOT COMPLIANT" in proc.stdout
    assert str(out / "compliance.html") in proc.stdout.replace("\n", "")


def test_demo_covers_every_suite_and_the_waiver_states(demo_run: tuple[Any, Path]) -> None:
    _, out = demo_run
    document = results(out)
    suites = {document["checks"][r["check_id"]]["kind"] for r in document["results"]}
    assert suites == {"cluster", "terraform", "policies", "aws"}
    statuses = {r["status"] for r in document["results"]}
    assert {"passed", "failed", "waived"} <= statuses
    waivers = [f["waiver"] for r in document["results"] for f in r["findings"] if f.get("waiver")]
    assert any(w["expired"] for w in waivers) and any(not w["expired"] for w in waivers)
    assert {t["kind"] for t in document["targets"]} == {"cluster", "terraform", "policies", "aws"}
    for target in document["targets"]:
        assert (out / target["inventory"]).is_file(), "the inventory is kept as evidence"


def test_demo_junit_is_one_file_with_a_case_per_result(demo_run: tuple[Any, Path]) -> None:
    _, out = demo_run
    document = results(out)
    root = ET.parse(out / "junit.xml").getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert sorted(names) == sorted(r["id"] for r in document["results"])
    assert len(names) == len(set(names))
    assert int(root.get("failures")) == document["summary"]["failed"]
    assert list(out.glob("*.xml")) == [out / "junit.xml"]


def test_demo_html_is_written(demo_run: tuple[Any, Path]) -> None:
    _, out = demo_run
    html = (out / "compliance.html").read_text()
    assert "<html" in html and "K8S-NET-001" in html


def _demo_secret_values() -> set[str]:
    """Every Secret data value in the demo snapshot, as written (base64) and decoded. Items of a
    `SecretList` may carry no `kind` of their own, so the list's kind counts too."""
    import base64

    import yaml

    values: set[str] = set()
    stack: list[tuple[Any, bool]] = []
    for path in (DEMO / "cluster").rglob("*"):
        if path.suffix == ".json":
            stack.append((json.loads(path.read_text()), False))
        elif path.suffix in (".yaml", ".yml"):
            stack.extend((doc, False) for doc in yaml.safe_load_all(path.read_text()))
    while stack:
        node, in_secret_list = stack.pop()
        if isinstance(node, dict):
            is_secret = node.get("kind") == "Secret" or (in_secret_list and "kind" not in node)
            if is_secret:
                for value in (node.get("data") or {}).values():
                    values |= {value, base64.b64decode(value).decode()}
            secret_list = node.get("kind") == "SecretList"
            stack.extend((item, secret_list) for item in node.get("items") or [])
    return values


def test_no_secret_value_reaches_any_output(demo_run: tuple[Any, Path]) -> None:
    _, out = demo_run
    secrets = _demo_secret_values()
    assert len(secrets) >= 10, "the demo holds Secrets to prove redaction"
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text()
            leaked = [s for s in secrets if s in text]
            assert not leaked, f"{path.name} contains secret values"


def test_parallel_and_serial_runs_agree(demo_run: tuple[Any, Path], tmp_path: Path) -> None:
    _, parallel_out = demo_run
    proc = kitemark("run", "--out", str(tmp_path), "-n", "0")
    assert proc.returncode == 1, proc.stderr[-2000:]

    def outcome(doc: dict[str, Any]) -> dict[str, str]:
        return {r["id"]: r["status"] for r in doc["results"]}

    assert outcome(results(tmp_path)) == outcome(results(parallel_out))


def _bad_inputs(tmp_path: Path) -> dict[str, Path]:
    cluster = tmp_path / "cluster"
    shutil.copytree(DEMO / "cluster", cluster)
    (cluster / "zz-broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n")
    terraform = tmp_path / "terraform"
    shutil.copytree(DEMO / "terraform", terraform)
    broken_module = next(p.parent for p in sorted(terraform.rglob("*.tf")))
    (broken_module / "zz-broken.tf").write_text('resource "aws_s3_bucket" "x" {\n  bucket = "a"\n')
    policies = tmp_path / "policies"
    shutil.copytree(resources.policies_dir(), policies)
    (policies / "zz_broken_test.rego").write_text("package broken\n\ntest_x if {\n  input.a ==\n}\n")
    return {"cluster": cluster, "terraform": terraform, "policies": policies}


def test_bad_input_is_an_error_naming_file_and_line_and_the_run_completes(tmp_path: Path) -> None:
    inputs = _bad_inputs(tmp_path)
    out = tmp_path / "out"
    proc = kitemark(
        "run",
        "--out",
        str(out),
        "-n",
        "0",
        "--cluster",
        f"snapshot:{inputs['cluster']}",
        "--terraform",
        str(inputs["terraform"]),
        "--policies",
        str(inputs["policies"]),
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "Traceback" not in proc.stdout + proc.stderr
    document = results(out)
    errors = [f for r in document["results"] for f in r["findings"] if f["status"] == "error"]
    messages = "\n".join(f"{f.get('location')} {f['message']}" for f in errors)
    assert "zz-broken.yaml:" in messages
    assert "zz-broken.tf:" in messages
    assert "zz_broken_test.rego:" in messages
    # The rest of the run still completed: plenty of ordinary results beside the errors.
    assert sum(r["status"] in ("passed", "failed") for r in document["results"]) > 10


TF = str(DEMO / "terraform")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--terraform", "/no/such/dir"], "directory not found"),
        (["--cluster", "live:prod", "--kubeconfig", "/no/such/kubeconfig"], "kubeconfig: no such file"),
        (["--cluster", "/tmp"], "snapshot:"),
        (["--terraform", TF, "--control", "NOPE-999"], "NOPE-999"),
        (["--terraform", TF, "--control", "tf-s3-001"], "did you mean TF-S3-001?"),
        (["--terraform", TF, "--control", "K8S-NET-001"], "keeps no check of the given"),
        (["--terraform", TF, "--severity", "urgent"], "--severity urgent"),
        (["--terraform", TF, "--framework", "cis"], "unknown framework"),
        (["--terraform", TF, "--today", "tomorrow"], "--today tomorrow"),
        (["--terraform", TF, "--waivers", "/no/such/waivers.yaml"], "waivers file not found"),
        (["--terraform", TF, "--waivers", str(DEMO / "cluster" / "README.md")], "waivers"),
        (["-n", "lots"], "expected a number of workers"),
        (
            ["--aws-seed", str(DEMO / "aws" / "seed.yaml"), "--aws-endpoint", "http://127.0.0.1:9"],
            "cannot be combined",
        ),
        (["--aws-region", "eu-west-1"], "--aws-region needs"),
        (["--aws-endpoint", "http://user:secret@127.0.0.1:9"], "the URL carries credentials"),
        (
            ["--terraform", f"a={TF}", "--terraform", f"a={TF}/s3-bucket-compliant"],
            "two targets are named 'a'",
        ),
        (
            ["--cluster", f"snapshot:{DEMO / 'cluster'},default-namespace=a,default-namespace=b"],
            "given twice",
        ),
        (["--terraform", TF, "--out", str(DEMO / "waivers.yaml")], "exists and is not a folder"),
        (["--terraform", TF, "--out", "a", "--out", "b"], "--out is given 2 times"),
        (["--terraform", TF, "--config", "a.yaml", "--config=b.yaml"], "--config is given 2 times"),
        (["--terraform", TF, "--", "--kitemark-waivers=a", "--kitemark-waivers=b"], "given 2 times"),
        # found while collecting, after xdist has started its workers: they must not be left waiting
        (["--policies", str(DEMO / "cluster" / "kube-system")], "no .rego files or Gatekeeper suites"),
    ],
)
@pytest.mark.parametrize("workers", ["0", "2"])
def test_usage_errors_exit_2_with_one_line(
    args: list[str], message: str, workers: str, tmp_path: Path
) -> None:
    out = [] if "--out" in args else ["--out", str(tmp_path)]
    proc = kitemark("run", *out, "-n", workers, *args)
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout and "INTERNALERROR" not in proc.stdout
    assert len([line for line in proc.stderr.splitlines() if line.strip()]) == 1, proc.stderr


def test_only_the_given_targets_suites_run_and_selection_applies(tmp_path: Path) -> None:
    proc = kitemark(
        "run", "--out", str(tmp_path), "-n", "0", "--terraform", str(DEMO / "terraform"), "--severity", "high"
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    document = results(tmp_path)
    assert {r["check_id"] for r in document["results"]} == {"TF-S3-001"}
    assert document["runs"][0]["selection"]["severity"] == "high"


def test_compliant_target_exits_0(tmp_path: Path) -> None:
    compliant = next(p for p in (DEMO / "terraform").iterdir() if p.is_dir() and "noncompliant" not in p.name)
    proc = kitemark("run", "--out", str(tmp_path), "-n", "0", "--terraform", str(compliant))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert results(tmp_path)["summary"]["compliant"] is True


def test_plain_pytest_runs_the_suites(tmp_path: Path) -> None:
    proc = plain_pytest(resources.suites_dir(), f"--kitemark-terraform={TF}", f"--kitemark-out={tmp_path}")
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert {r["check_id"][:3] for r in results(tmp_path)["results"]} == {"TF-"}


def test_controls_json_lists_every_check_with_its_metadata() -> None:
    proc = kitemark("controls", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    ids = {c["id"] for c in data["checks"]}
    assert {"K8S-NET-001", "TF-S3-001", "REGO-TEST-001", "AWS-EKS-001"} <= ids
    for check in data["checks"]:
        assert check["kind"] in {"cluster", "terraform", "policies", "aws"}
        assert check["title"] and check["severity"] and (check["controls"] or check["input_check"])
        assert check["reads"]
    inputs = {i["name"]: i for i in data["inputs"]}
    assert "mandatory_tags" in inputs and inputs["mandatory_tags"]["used_by"] == ["TF-TAG-001"]
    assert inputs["mandatory_tags"]["value"] == inputs["mandatory_tags"]["default"]
    assert {fw["id"] for fw in data["frameworks"]} == {"service-standard", "ncsc-csp"}
    markdown = kitemark("controls", "--format", "markdown").stdout
    assert "| K8S-NET-001 |" in markdown


def test_report_rerenders_every_output_from_results_json(demo_run: tuple[Any, Path], tmp_path: Path) -> None:
    _, out = demo_run
    proc = kitemark("report", str(out / "results.json"), "--out", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "NOT COMPLIANT" in proc.stdout
    assert (tmp_path / "junit.xml").read_bytes() == (out / "junit.xml").read_bytes()
    rerendered = results(tmp_path)
    assert rerendered["results"] == results(out)["results"]
    for target in rerendered["targets"]:
        # The saved evidence stays where the run wrote it; the new report points there.
        assert (tmp_path / target["inventory"]).resolve().is_file(), target["inventory"]
        assert target["inventory"] in (tmp_path / "compliance.html").read_text()


@pytest.mark.parametrize(
    ("content", "message"), [("{not json", "not JSON"), ('{"summary": {}}', "not a Kitemark")]
)
def test_report_refuses_what_is_not_a_results_document(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "results.json"
    bad.write_text(content)
    proc = kitemark("report", str(bad))
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_report_on_a_folder_is_a_one_line_error(tmp_path: Path) -> None:
    proc = kitemark("report", str(tmp_path))
    assert proc.returncode == 2 and "cannot read it" in proc.stderr and "Traceback" not in proc.stderr


def test_report_into_an_out_that_is_a_file_is_a_one_line_error(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert kitemark("run", "--terraform", TF, "--out", str(out), "-n", "0").returncode == 1
    (tmp_path / "afile").write_text("x")
    proc = kitemark("report", str(out / "results.json"), "--out", str(tmp_path / "afile"))
    assert proc.returncode == 2 and "exists and is not a folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_manual_requirement_is_named_as_such() -> None:
    proc = kitemark(
        "run", "--terraform", str(DEMO / "terraform"), "--control", "service-standard:1", "-n", "0"
    )
    assert proc.returncode == 2 and "manual requirement" in proc.stdout + proc.stderr


def test_an_input_error_is_never_hidden_by_the_selection(tmp_path: Path) -> None:
    inputs = _bad_inputs(tmp_path)
    out = tmp_path / "out"
    proc = kitemark(
        "run",
        "--out",
        str(out),
        "-n",
        "2",
        "--cluster",
        f"snapshot:{inputs['cluster']}",
        "--control",
        "K8S-POD-001",
    )
    assert proc.returncode == 1, proc.stdout[-2000:]
    document = results(out)
    assert {r["check_id"] for r in document["results"]} == {"K8S-POD-001", "K8S-INPUT-001"}
    assert document["summary"]["input_errors"] == 1 and document["summary"]["compliant"] is False


def test_two_clusters_are_reported_apart_and_an_empty_one_is_not_applicable(tmp_path: Path) -> None:
    system_only = tmp_path / "system-only"
    shutil.copytree(DEMO / "cluster" / "kube-system", system_only / "kube-system")
    out = tmp_path / "out"
    proc = kitemark(
        "run", "--out", str(out), "-n", "0",
        "--cluster", f"prod=snapshot:{DEMO / 'cluster'}", "--cluster", f"dev=snapshot:{system_only}",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-2000:]
    by_target: dict[str, dict[str, set[str]]] = {}
    for r in results(out)["results"]:
        by_target.setdefault(r["target"], {}).setdefault(r["check_id"], set()).add(r["status"])
    assert by_target["cluster:dev"]["K8S-NET-001"] == {"not_applicable"}
    assert by_target["cluster:dev"]["K8S-POD-001"] == {"not_applicable"}
    [empty] = [r for r in results(out)["results"] if r["id"] == "K8S-NET-001[cluster:dev/no-namespace]"]
    searched = empty["findings"][0]["evidence"]["searched"]
    assert searched["target"] == "cluster:dev" and searched["location"] == str(system_only)
    assert "no namespace" in empty["findings"][0]["message"]
    assert "failed" in by_target["cluster:prod"]["K8S-NET-001"]


def test_plain_pytest_on_a_suite_without_its_target_collects_nothing(tmp_path: Path) -> None:
    proc = plain_pytest(
        resources.suites_dir() / "cluster", f"--kitemark-terraform={TF}", f"--kitemark-out={tmp_path}"
    )
    assert proc.returncode == 5, proc.stdout[-3000:]
    assert "INTERNALERROR" not in proc.stdout


def test_a_seed_is_searched_in_its_own_regions(tmp_path: Path) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text("eks_clusters:\n  - name: ire\n    region: eu-west-1\n")
    proc = kitemark("run", "--aws-seed", str(seed), "--out", str(tmp_path / "out"), "-n", "0")
    assert proc.returncode == 1, proc.stdout[-2000:]
    ids = {r["id"] for r in results(tmp_path / "out")["results"]}
    assert "AWS-EKS-001[aws:seed/eu-west-1/eks:ire]" in ids
    proc = kitemark(
        "run", "--aws-seed", str(seed), "--aws-region", "eu-west-2", "--out", str(tmp_path / "o2"), "-n", "0"
    )
    [empty] = [
        r for r in results(tmp_path / "o2")["results"] if r["id"] == "AWS-EKS-001[aws:seed/no-eks-cluster]"
    ]
    assert "searched regions eu-west-2 only" in empty["findings"][0]["message"]


def test_controls_piped_into_a_reader_that_stops_early_is_quiet() -> None:
    proc = subprocess.run(f"{sys.executable} -m kitemark controls --format markdown | head -1", shell=True,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.stdout.strip() == "## Checks"
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr


def test_paths_names_the_folders_kitemark_runs_from() -> None:
    proc = kitemark("paths")
    paths = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert (
        Path(paths["suites"]) == resources.suites_dir()
        and Path(paths["policies"]) == resources.policies_dir()
    )
    assert (Path(paths["demo"]) / "waivers.yaml").is_file()


def test_a_failure_in_the_terminal_names_the_check_the_location_and_the_fix(tmp_path: Path) -> None:
    proc = kitemark("run", "--terraform", TF, "--control", "TF-VER-001", "--out", str(tmp_path), "-n", "0")
    assert proc.returncode == 1
    assert "TF-VER-001 Modules pin the Terraform version" in proc.stdout
    assert "versions.tf:" in proc.stdout and "fix: Add a `versions.tf`" in proc.stdout
    assert "compliance.html#check-TF-VER-001" in proc.stdout


def test_a_partial_selection_marks_the_points_it_only_partly_assessed(tmp_path: Path) -> None:
    compliant = str(DEMO / "terraform" / "s3-bucket-compliant")
    proc = kitemark("run", "--terraform", compliant, "--out", str(tmp_path), "-n", "0")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "   14* │" in proc.stdout and "11 │" in proc.stdout and "11* │" not in proc.stdout
    assert "partly assessed" in proc.stdout
    assert "Partly assessed" in (tmp_path / "compliance.html").read_text()


def test_a_run_stopped_early_says_its_results_are_partial(tmp_path: Path) -> None:
    proc = kitemark("run", "--terraform", TF, "--out", str(tmp_path), "-n", "0", "--", "-x")
    assert proc.returncode == 1
    document = results(tmp_path)
    assert "stopping after 1 failures" in document["runs"][0]["stopped"]
    assert not document["completeness"]["complete"] and document["summary"]["compliant"] is False
    assert "INCOMPLETE" in proc.stdout or "NOT COMPLIANT" in proc.stdout
    assert "stopped early: stopping after 1 failures" in proc.stdout
    assert 'id="incomplete"' in (tmp_path / "compliance.html").read_text()
