"""Hostile Rego: every parse and evaluation is bounded in time and memory (an evaluation over a limit is
an *error* naming the policy and the limit, and the run goes on), Ctrl-C stops a run promptly, and
data.json/data.yaml documents are loaded as `opa test` loads them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.engines.rego import V1, RegoLimitError, create_engine
from kitemark.engines.rego_process import evaluator
from kitemark.results import validate
from kitemark.targets.policies import collect as P
from kitemark.testing import scope_units
from kitemark.testing import write_files as write

load_checks()

# 10^10 iterations in a few bytes of memory: runs for hours.
SLOW = """
test_slow if {
    some a in numbers.range(1, 100000)
    some b in numbers.range(1, 100000)
    a + b == -1
}
"""
# A 100-million-element array: gigabytes at once.
BIG = "\ntest_big if count([a | some a in numbers.range(1, 100000000)]) > 0\n"
HOSTILE_TEST = "package hostile\n\nimport rego.v1\n" + SLOW + BIG + "\ntest_after if true\n"
# regorus's parser takes exponential time in nesting depth: 15 levels ~6 s, 20 never ends.
DEEP = "package deep\n\nimport rego.v1\n\nx := " + "[" * 30 + "1" + "]" * 30 + "\n"


def collect(root: Path, **engine: Any) -> dict[str, Any]:
    options = {"engine": engine} if engine else {}
    return P.collect(TargetSpec("policies", "t", str(root), options))


def rego_findings(inventory: dict[str, Any]) -> dict[str, Finding]:
    out = {}
    for unit in scope_units("policies.rego-test", [json.loads(json.dumps(inventory))]):
        [finding] = evaluate(check_function("REGO-TEST-001"), unit)
        out[unit.id.removeprefix("policies:t/")] = finding
    return out


# --- time and memory limits -----------------------------------------------------------------------


def test_a_test_over_the_time_limit_is_an_error_naming_it_and_the_limit_and_the_run_goes_on(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path, {"hostile_test.rego": HOSTILE_TEST, "other_test.rego": "package o\ntest_o := true\n"}
    )
    started = time.monotonic()
    # 4 s: test_big must reach the memory cap before the time limit, even on a slow CI machine.
    found = rego_findings(collect(root, timeout=4, memory=512))
    assert time.monotonic() - started < 120  # bounded (two limits hit, two restarts), loose for busy CI
    slow = found["hostile_test.rego#test_slow"]
    assert slow.status == Status.ERROR
    assert "hostile_test.rego:5: evaluating data.hostile.test_slow" in slow.message
    assert "time limit of 4 s (--rego-timeout)" in slow.message
    assert slow.where == "hostile_test.rego:5"
    big = found["hostile_test.rego#test_big"]
    assert big.status == Status.ERROR
    assert "evaluating data.hostile.test_big" in big.message
    assert "memory limit of 512 MiB (--rego-memory)" in big.message
    # The evaluator was restarted: later tests of the same file and of other files still run.
    assert found["hostile_test.rego#test_after"].status == Status.PASSED
    assert found["other_test.rego#test_o"].status == Status.PASSED


def test_a_gatekeeper_template_over_the_time_limit_is_an_error_naming_the_template(tmp_path: Path) -> None:
    rego = (
        'package k8sslow\n\nviolation[{"msg": "slow"}] {\n  a := numbers.range(1, 100000)[_]\n'
        "  b := numbers.range(1, 100000)[_]\n  a + b == -1\n}\n"
    )
    template = (
        "apiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\nmetadata:\n  name: k8sslow\n"
        "spec:\n  crd:\n    spec:\n      names:\n        kind: K8sSlow\n  targets:\n"
        "    - target: admission.k8s.gatekeeper.sh\n      rego: |\n"
        + "".join(f"        {line}\n" for line in rego.splitlines())
    )
    root = write(
        tmp_path,
        {
            "template.yaml": template,
            "constraint.yaml": "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sSlow\n"
            "metadata:\n  name: c\nspec:\n  match: {}\n",
            "object.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: a\n",
            "suite.yaml": "kind: Suite\napiVersion: test.gatekeeper.sh/v1alpha1\nmetadata:\n  name: s\n"
            "tests:\n  - name: t\n    template: template.yaml\n    constraint: constraint.yaml\n    cases:\n"
            "      - name: c\n        object: object.yaml\n        assertions: [{violations: no}]\n",
        },
    )
    inventory = collect(root, timeout=2)
    assert inventory["errors"] == []
    [unit] = scope_units("policies.gatekeeper-case", [inventory])
    [finding] = evaluate(check_function("GK-SUITE-001"), unit)
    assert finding.status == Status.ERROR
    assert "template.yaml:13: evaluating data.k8sslow.violation ran over the Rego time limit of 2 s" in (
        finding.message
    )


def test_a_file_that_takes_too_long_to_parse_is_an_input_error_and_the_other_tests_run(
    tmp_path: Path,
) -> None:
    ok = "package ok\nimport rego.v1\ntest_ok if true\n"
    root = write(tmp_path, {"deep/deep.rego": DEEP, "ok/ok_test.rego": ok})
    inventory = collect(root, timeout=2)
    [error] = inventory["errors"]
    assert error["path"] == "deep/deep.rego"
    assert error["message"] == (
        "not assessed: parsing deep/deep.rego ran over the Rego time limit of 2 s (--rego-timeout)"
    )
    found = rego_findings(inventory)
    assert found["ok/ok_test.rego#test_ok"].status == Status.PASSED
    assert found["deep/deep.rego"].status == Status.ERROR  # a broken file no test carries: its own unit


def test_one_evaluator_process_serves_many_evaluations() -> None:
    engine = create_engine(timeout=5)
    engine.add_policy("p.rego", "package p\nimport rego.v1\nt if input.n > 0\n", V1)
    assert engine.eval_rule("data.p.t", input={"n": 0}) is not True  # the child is running
    started = evaluator().started
    for n in range(200):
        assert engine.eval_rule("data.p.t", input={"n": n + 1}) is True
    assert evaluator().started == started


def test_limit_errors_at_the_engine_name_what_was_evaluated() -> None:
    engine = create_engine(timeout=0.5)
    engine.add_policy("p.rego", "package p\nimport rego.v1\n" + SLOW, V1)
    with pytest.raises(
        RegoLimitError, match=r"evaluating data\.p\.test_slow ran over the Rego time limit of 0\.5 s"
    ):
        engine.eval_rule("data.p.test_slow")
    with pytest.raises(RegoLimitError, match=r"parsing d\.rego ran over"):
        engine.parse("d.rego", DEEP)


# --- options --------------------------------------------------------------------------------------


def kitemark(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", *args], capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("value", ["0", "-1", "abc", "nan", "inf"])
def test_a_bad_rego_timeout_is_a_one_line_usage_error(tmp_path: Path, value: str) -> None:
    root = write(tmp_path / "p", {"ok_test.rego": "package ok\ntest_ok := true\n"})
    proc = kitemark("run", "--policies", str(root), "--out", str(tmp_path / "out"), f"--rego-timeout={value}")
    assert proc.returncode == 2, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"ERROR: --rego-timeout {value}: expected a number of seconds greater than 0"]
    assert not (tmp_path / "out" / "results.json").exists()


def test_the_rego_timeout_reaches_plain_pytest_and_the_results(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"hostile_test.rego": HOSTILE_TEST.replace(BIG, "")})
    out = tmp_path / "out"
    suites = str(resources.suites_dir())
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", suites,
         f"--kitemark-policies={root}", "--kitemark-rego-timeout=2", f"--kitemark-out={out}"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    document = json.loads((out / "results.json").read_text())
    validate(document)
    status = {r["unit"]: r["status"] for r in document["results"] if r["check_id"] == "REGO-TEST-001"}
    assert status == {
        "policies:p/hostile_test.rego#test_slow": "error",
        "policies:p/hostile_test.rego#test_after": "passed",
    }
    [slow] = [r for r in document["results"] if r["unit"].endswith("#test_slow")]
    assert "time limit of 2 s (--rego-timeout)" in slow["findings"][0]["message"]


@pytest.mark.parametrize("value", ["0", "100", "2.5", "lots"])
def test_a_bad_rego_memory_is_a_one_line_usage_error(tmp_path: Path, value: str) -> None:
    root = write(tmp_path / "p", {"ok_test.rego": "package ok\ntest_ok := true\n"})
    proc = kitemark("run", "--policies", str(root), "--out", str(tmp_path / "out"), f"--rego-memory={value}")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines == [f"ERROR: --rego-memory {value}: expected a whole number of MiB, at least 256"]


def test_rego_limits_without_policies_are_a_usage_error(tmp_path: Path) -> None:
    proc = kitemark("run", "--out", str(tmp_path), "--rego-timeout", "5")
    assert proc.returncode == 2
    assert [ln for ln in proc.stderr.splitlines() if ln.strip()] == ["ERROR: --rego-timeout needs --policies"]


# --- Ctrl-C ---------------------------------------------------------------------------------------


def _evaluator_children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"kitemark.engines.rego_child" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds the evaluator child in /proc")
def test_ctrl_c_during_an_endless_evaluation_stops_the_run_promptly_and_marks_it_partial(
    tmp_path: Path,
) -> None:
    root = write(tmp_path / "p", {"hostile_test.rego": HOSTILE_TEST.replace(BIG, "")})
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kitemark", "run", "--policies", str(root), "--out", str(out), "-n", "0",
         "--rego-timeout", "600"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        children: list[int] = []
        while time.monotonic() < deadline and proc.poll() is None:
            children = _evaluator_children(proc.pid)
            if children:
                break
            time.sleep(0.2)
        assert children, "the evaluator child never started"
        # Wait until the child has spent a second of CPU: that is test_slow running (parsing at
        # collection takes milliseconds), however slow the machine is at getting there.
        while time.monotonic() < deadline and proc.poll() is None and _cpu_seconds(children[0]) < 1.0:
            time.sleep(0.2)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
        assert time.monotonic() - sent < 10, "Ctrl-C took too long"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert all(not Path(f"/proc/{pid}").exists() or _zombie(pid) for pid in children), "the child survived"
    document = json.loads((out / "results.json").read_text())
    validate(document)
    run = document["runs"][0]
    assert document["summary"]["verdict"] == "incomplete", output[-3000:]
    assert run["not_run"], "what Ctrl-C left unrun is listed"


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --- data.json / data.yaml ------------------------------------------------------------------------

DATA_TESTS = """package limits_test

import rego.v1

test_root_data if data.registries == ["registry.example"]

test_nested_data if data.teams.platform.max_replicas == 5

test_yaml_data if data.teams.apps.owner == "apps"

test_extra_is_absent if not data.extra
"""


def test_data_files_are_loaded_at_the_path_of_their_directory(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "limits_test.rego": DATA_TESTS,
            "data.json": '{"registries": ["registry.example"]}',
            "teams/platform/data.json": '{"max_replicas": 5}',
            "teams/apps/data.yaml": "owner: apps\n",
            "teams/apps/mydata.json": '{"extra": true}',  # not a data file name: not loaded
            ".hidden/data.json": '{"extra": true}',  # data.[".hidden"]: opa test loads hidden folders
            ".git/data.json": '{"extra": true}',  # version control metadata: not read
        },
    )
    inventory = collect(root)
    assert inventory["rego_data"]["files"] == [
        ".hidden/data.json",
        "data.json",
        "teams/apps/data.yaml",
        "teams/platform/data.json",
    ]
    found = rego_findings(inventory)
    assert {k: f.status for k, f in found.items()} == {
        "limits_test.rego#test_root_data": Status.PASSED,
        "limits_test.rego#test_nested_data": Status.PASSED,
        "limits_test.rego#test_yaml_data": Status.PASSED,
        "limits_test.rego#test_extra_is_absent": Status.PASSED,
    }


def test_tests_relying_on_data_fail_without_it_and_pass_or_fail_for_the_right_reason(tmp_path: Path) -> None:
    root = write(tmp_path, {"limits_test.rego": DATA_TESTS})
    found = rego_findings(collect(root))
    assert found["limits_test.rego#test_root_data"].status == Status.FAILED
    assert found["limits_test.rego#test_extra_is_absent"].status == Status.PASSED
    write(root, {"extra/data.json": '"present"', "data.json": '{"registries": ["other"]}'})
    found = rego_findings(collect(root))
    assert found["limits_test.rego#test_extra_is_absent"].status == Status.FAILED  # data.extra == "present"
    assert found["limits_test.rego#test_root_data"].status == Status.FAILED  # the wrong registry


@pytest.mark.parametrize(
    ("rel", "text", "message", "line"),
    [
        ("data.json", '{"a": 1,\n "b": }', "invalid JSON data: invalid JSON: unexpected character", 2),
        ("sub/data.json", "[1, NaN]", "invalid JSON data: invalid JSON: unexpected character", 1),
        ("data.json", "[1]", "the data document at the target's root must be an object, not an array", None),
        ("sub/data.yaml", "a: [1\nb: 2\n", "invalid YAML data:", 2),
        ("sub/data.yaml", "a: 1\na: 2\n", "found duplicate key 'a'", 2),
        ("sub/data.yaml", "a: 1\n---\nb: 2\n", "a data file holds one YAML document, this one holds 2", None),
        ("sub/data.yaml", "a: .nan\n", "the data holds a value JSON cannot represent", None),
    ],
)
def test_a_malformed_data_file_is_an_input_error_naming_it_carried_by_every_test(
    tmp_path: Path, rel: str, text: str, message: str, line: int | None
) -> None:
    root = write(tmp_path, {"limits_test.rego": DATA_TESTS, rel: text})
    inventory = collect(root)
    [error] = inventory["errors"]
    assert error["path"] == rel and message in error["message"] and error["line"] == line
    found = rego_findings(inventory)
    assert len(found) == 4
    for finding in found.values():
        assert finding.status == Status.ERROR
        assert finding.message.startswith(f"{rel}:{line}: " if line else f"{rel}: ")


def test_two_data_files_giving_the_same_value_are_a_merge_error_naming_both(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {"limits_test.rego": DATA_TESTS, "data.json": '{"teams": {"platform": {"max_replicas": 3}}}',
         "teams/platform/data.json": '{"max_replicas": 5}'},
    )  # fmt: skip
    [error] = collect(root)["errors"]
    assert error["path"] == "teams/platform/data.json"
    assert error["message"] == "merge error: data.teams.platform.max_replicas is also given by data.json"


def test_a_malformed_data_file_without_tests_is_a_unit_of_its_own(tmp_path: Path) -> None:
    root = write(tmp_path, {"policy.rego": "package p\nallow := true\n", "data.json": "{"})
    found = rego_findings(collect(root))
    assert found["data.json"].status == Status.ERROR


def test_what_a_policy_prints_is_bounded_in_the_evidence(tmp_path: Path) -> None:
    """A test can print a string of any size; every report would carry it."""
    loud = (
        "package loud_test\n\nimport rego.v1\n\n"
        'big := concat("", [x | some i in numbers.range(1, 50000); x := "AB"])\n\n'
        "test_loud if {\n" + "  print(big)\n" * 30 + "  false\n}\n"
    )
    root = write(tmp_path, {"loud_test.rego": loud})
    finding = rego_findings(collect(root))["loud_test.rego#test_loud"]
    assert finding.status == Status.FAILED
    prints = finding.evidence["prints"]
    assert len(prints) == 20 and all(len(line) < 2100 for line in prints)
    assert prints[0].endswith(" more characters)")


def test_a_data_file_named_in_another_case_is_an_input_error(tmp_path: Path) -> None:
    """OPA reads only `data.json`: `data.JSON` is not loaded, and never passed over in silence."""
    root = write(
        tmp_path, {"a_test.rego": "package a\n\nimport rego.v1\n\ntest_a if true\n", "data.JSON": "{}"}
    )
    inventory = collect(root)
    assert [(e["path"], "lower case" in e["message"]) for e in inventory["errors"]] == [("data.JSON", True)]
