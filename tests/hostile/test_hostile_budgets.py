"""Budgets for a whole target and a whole run, on top of the per-file limits: many files each just under
a per-file limit must not add up to hundreds of MB or hours. When a target's budget (bytes read, YAML
alias expansion, parse wall clock) is spent, the file that crossed it and every later file of that target
are input errors, listed; other targets are assessed as usual. When the Rego budget of a run is spent,
every later evaluation is an *error* naming what was not evaluated, never a pass."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import input_limits
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec
from kitemark.core.yamlfile import load_config_file
from kitemark.targets.cluster import collect as cluster
from kitemark.targets.policies import collect as policies
from kitemark.targets.terraform import collect as terraform
from kitemark.testing import write_files as write


def kitemark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", "run", "-n", "0", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def finished(proc: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    """results.json of a run that went to the end, was not compliant and printed no traceback."""
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    document: dict[str, Any] = json.loads((out / "results.json").read_text())
    assert document["summary"]["compliant"] is False
    return document


def just_under_the_alias_limit() -> str:
    """A document whose aliases add 99,099 nodes: under the per-file limit of 100,000."""
    base = "base: &b [" + ", ".join(["x"] * 1000) + "]\n"
    return base + "l: [" + ", ".join(["*b"] * 99) + "]\n"


NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def errors_by_path(inventory: dict[str, Any]) -> dict[str, str]:
    return {e["path"]: e["message"] for e in inventory["errors"]}


# --- a target's budget ----------------------------------------------------------------------------------


def test_files_each_under_the_alias_limit_spend_the_targets_budget_and_the_rest_are_listed(
    tmp_path: Path,
) -> None:
    """The attack: many files each just under the per-file alias limit. Real limits, real CLI."""
    assert input_limits.MAX_TARGET_ALIAS_NODES == 10 * input_limits.MAX_ALIAS_NODES
    hostile = write(tmp_path / "hostile", {f"f{i:02d}.yaml": just_under_the_alias_limit() for i in range(14)})
    clean = write(tmp_path / "clean", {"ns.yaml": NAMESPACE.format(name="team-a")})
    out = tmp_path / "out"
    proc = kitemark(
        "--cluster", f"hostile=snapshot:{hostile}", "--cluster", f"clean=snapshot:{clean}", "--out", str(out)
    )
    document = finished(proc, out)
    targets = {t["name"]: t for t in document["targets"]}
    errors = {e["path"]: e["message"] for e in targets["hostile"]["errors"]}
    # 10 files add 990,990 nodes; the 11th crosses 1,000,000; every later one is not read.
    budget = "target budget of 1,000,000 nodes added by YAML aliases exceeded: not read"
    assert errors == {f"f{i:02d}.yaml": budget for i in range(10, 14)}
    assert targets["clean"]["errors"] == []
    # The other target was assessed: its results are there, and none is an error.
    clean_results = [r for r in document["results"] if r["target"].endswith("clean")]
    assert clean_results
    assert all(f["status"] != "error" for r in clean_results for f in r["findings"])
    assert "4 input error" in proc.stdout + proc.stderr


def test_bytes_read_over_the_targets_budget_are_input_errors_for_that_file_and_every_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_TARGET_MB", 1)
    padding = "# " + "x" * 300_000 + "\n"  # each file ~0.3 MB: the 4th crosses 1 MB
    files = {
        f"m{i}.tf": padding + f'resource "aws_sqs_queue" "q{i}" {{\n  name = "q"\n}}\n' for i in range(6)
    }
    root = write(tmp_path / "tf", files)
    spec = TargetSpec("terraform", "t", str(root))
    with input_limits.target_budget() as budget:
        inventory = terraform.collect(spec)
    refused = "target budget of 1 MB read exceeded: not read"
    assert errors_by_path(inventory) == {f"m{i}.tf": refused for i in range(3, 6)}
    assert budget.bytes_read <= 2**20 + 1  # the crossing file was read no further than the budget
    # Without a budget (a library caller collecting one file set) only the per-file limits apply.
    assert terraform.collect(spec)["errors"] == []


def test_a_new_target_gets_a_new_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(input_limits, "MAX_TARGET_MB", 1)
    root = write(
        tmp_path / "snap", {f"n{i}.yaml": NAMESPACE.format(name=f"n{i}") + "#" * 400_000 for i in range(3)}
    )
    spec = TargetSpec("cluster", "s", str(root))
    for _ in range(2):
        with input_limits.target_budget():
            assert [e["path"] for e in cluster.collect(spec)["errors"]] == ["n2.yaml"]


def slow_yaml(items: int) -> str:
    return "items:\n" + "".join(f"  - {{name: n{i}, value: v{i}}}\n" for i in range(items))


def test_parse_time_over_the_targets_budget_refuses_the_file_that_crossed_it_and_every_later_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_TARGET_PARSE_SECONDS", 0.5)
    root = write(tmp_path / "snap", {f"f{i:02d}.yaml": slow_yaml(1500) for i in range(40)})
    with input_limits.target_budget() as budget:
        inventory = cluster.collect(TargetSpec("cluster", "s", str(root)))
    refused = "target budget of 0.5 s of parsing exceeded: not read"
    errors = errors_by_path(inventory)
    assert set(errors.values()) == {refused}
    names = sorted(f"f{i:02d}.yaml" for i in range(40))
    first = names.index(min(errors))
    assert first > 0 and sorted(errors) == names[first:]  # read in order until the budget ran out
    assert budget.parse_seconds < 1.5


def test_one_slow_file_is_stopped_when_the_targets_parse_budget_runs_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline set for a parse is the lower of the per-file limit and what is left of the budget."""
    monkeypatch.setattr(input_limits, "MAX_TARGET_PARSE_SECONDS", 0.3)
    root = write(
        tmp_path / "snap", {"big.yaml": slow_yaml(100_000), "later.yaml": NAMESPACE.format(name="a")}
    )
    started = time.monotonic()
    with input_limits.target_budget():
        inventory = cluster.collect(TargetSpec("cluster", "s", str(root)))
    assert time.monotonic() - started < 3  # the whole file takes ~10 s
    refused = "target budget of 0.3 s of parsing exceeded: not read"
    assert errors_by_path(inventory) == {"big.yaml": refused, "later.yaml": refused}


def test_the_per_file_parse_deadline_holds_off_the_main_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No SIGALRM off the main thread: the file that took too long is still an input error."""
    monkeypatch.setattr(input_limits, "MAX_PARSE_SECONDS", 0.05)
    root = write(tmp_path / "snap", {"slow.yaml": slow_yaml(5000), "ns.yaml": NAMESPACE.format(name="a")})
    found: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: found.append(cluster.collect(TargetSpec("cluster", "s", str(root))))
    )
    reader.start()
    reader.join()
    [inventory] = found
    assert errors_by_path(inventory) == {"slow.yaml": "parsing took longer than 0.05 s (the limit); not read"}
    assert [o["metadata"]["name"] for o in inventory["objects"]] == ["a"]


# --- configuration and data files beside policies get the same limits, the deadline included -------------


def test_a_configuration_file_is_parsed_under_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_PARSE_SECONDS", 0.05)
    path = tmp_path / "waivers.yaml"
    path.write_text(slow_yaml(20_000))
    with pytest.raises(UsageError) as raised:
        load_config_file(path, "waivers file")
    assert str(raised.value) == f"waivers file {path}: parsing took longer than 0.05 s (the limit); not read"


def test_a_data_file_beside_policies_is_parsed_under_the_deadline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_PARSE_SECONDS", 0.05)
    root = write(
        tmp_path / "p", {"a/data.yaml": slow_yaml(20_000), "a/ok_test.rego": "package a\ntest_ok := true\n"}
    )
    inventory = policies.collect(TargetSpec("policies", "p", str(root)))
    assert errors_by_path(inventory) == {
        "a/data.yaml": "cannot read the data file: parsing took longer than 0.05 s (the limit); not read"
    }


def test_a_data_file_beside_policies_counts_against_the_targets_alias_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(input_limits, "MAX_TARGET_ALIAS_NODES", 150_000)
    files = {f"d{i}/data.yaml": just_under_the_alias_limit() for i in range(3)}
    root = write(tmp_path / "p", {**files, "ok_test.rego": "package a\ntest_ok := true\n"})
    with input_limits.target_budget():
        inventory = policies.collect(TargetSpec("policies", "p", str(root)))
    refused = "target budget of 150,000 nodes added by YAML aliases exceeded: not read"
    assert errors_by_path(inventory) == {
        "d1/data.yaml": f"cannot read the data file: {refused}",
        "d2/data.yaml": f"cannot read the data file: {refused}",
    }


# --- the Rego budget of a run -----------------------------------------------------------------------------

# 10^10 iterations: runs for hours unless stopped.
SLOW_TEST = """package a
import rego.v1

test_slow if {
    some a in numbers.range(1, 100000)
    some b in numbers.range(1, 100000)
    a + b == -1
}
"""
LATER_TESTS = "package b\nimport rego.v1\n\ntest_one if true\n\ntest_two if 1 + 1 == 2\n"


def test_once_the_rego_budget_is_spent_every_later_evaluation_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"a_test.rego": SLOW_TEST, "b_test.rego": LATER_TESTS})
    out = tmp_path / "out"
    started = time.monotonic()
    proc = kitemark("--policies", str(root), "--out", str(out), "--rego-budget", "2")
    assert time.monotonic() - started < 60  # the slow test alone would run for hours (30 s a call)
    document = finished(proc, out)
    findings = {r["unit"].rsplit("/", 1)[-1]: r["findings"][0] for r in document["results"]}
    slow = findings["a_test.rego#test_slow"]
    assert slow["status"] == "error"
    assert (
        "evaluating data.a.test_slow ran past the Rego budget of 2 s for this run (--rego-budget)"
        in (slow["message"])
    )
    for name in ("test_one", "test_two"):
        later = findings[f"b_test.rego#{name}"]
        assert later["status"] == "error"
        assert (
            f"evaluating data.b.{name} not run: Rego budget of 2 s for this run spent (--rego-budget)"
            in (later["message"])
        )
    assert document["summary"]["passed"] == 0


@pytest.mark.parametrize("value", ["-1", "nan", "x", "inf"])
def test_a_bad_rego_budget_is_a_one_line_usage_error(tmp_path: Path, value: str) -> None:
    root = write(tmp_path / "p", {"ok_test.rego": "package a\ntest_ok := true\n"})
    proc = kitemark("--policies", str(root), "--out", str(tmp_path / "out"), f"--rego-budget={value}")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert lines == [f"ERROR: --rego-budget {value}: expected a number of seconds, 0 for none"]


def test_a_rego_budget_of_zero_is_no_budget(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"ok_test.rego": "package a\ntest_ok := true\n"})
    out = tmp_path / "out"
    proc = kitemark("--policies", str(root), "--out", str(out), "--rego-budget", "0")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    inventory = json.loads(next((out / "inventory").glob("policies-*.json")).read_text())
    assert inventory["engine"]["budget"] == 0
