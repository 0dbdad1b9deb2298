"""The pytest plugin's own paths, on a throwaway suites folder: a crashing check, a fixture that fails
before the check runs, a waiver (xfail), nothing in scope, -n 0 against -n 2, and staying inert."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

PROBES = """
from kitemark.core.checks import check, failed

META = dict(scope="terraform.module", severity="low", reads=["aws_s3_bucket"],
            rationale="A probe used by Kitemark's plugin tests to exercise one state.",
            remediation="Nothing to remediate: this check exists only in the plugin tests.")


@check("PROBE-CRASH-001", title="A check that raises", **META)
def test_crash(module):
    raise KeyError("no such field")


@check("PROBE-SETUP-001", title="A check whose set-up fails", **META)
def test_setup_fails(module):
    yield failed("x", "never reached")


@check("PROBE-WAIVE-001", title="A failure covered by a waiver", **META)
def test_waived(module):
    yield failed("probe/waived", "fails on purpose")


@check("PROBE-EMPTY-001", title="A check with nothing in scope", **META)
def test_empty(module):
    return []
"""

CONFTEST = """
import pytest


@pytest.fixture(autouse=True)
def broken_for_one_check(request):
    if request.node.name.startswith("test_setup_fails"):
        raise RuntimeError("fixture exploded")
"""

WAIVERS = """
waivers:
  - check: PROBE-WAIVE-001
    resource: probe/*
    justification: Accepted for the plugin test.
    owner: tests@example.gov.uk
    expires: 2999-12-31
"""


@pytest.fixture
def probe_suites(tmp_path: Path) -> dict[str, Path]:
    suites = tmp_path / "suites"
    (suites / "terraform").mkdir(parents=True)
    (suites / ".kitemark-suites").write_text("# probe suites\n")
    (suites / "__init__.py").write_text("")
    (suites / "terraform" / "__init__.py").write_text("")
    (suites / "terraform" / "test_probes.py").write_text(textwrap.dedent(PROBES))
    (suites / "conftest.py").write_text(textwrap.dedent(CONFTEST))
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(textwrap.dedent(WAIVERS))
    return {"suites": suites, "module": module, "waivers": waivers, "root": tmp_path}


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def probe_run(paths: dict[str, Path], out: Path, *extra: str) -> dict[str, Any]:
    proc = run_pytest(
        paths["root"],
        str(paths["suites"]),
        f"--kitemark-terraform={paths['module']}",
        f"--kitemark-waivers={paths['waivers']}",
        f"--kitemark-out={out}",
        *extra,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    return json.loads((out / "results.json").read_text())


def by_check(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["check_id"]: r for r in document["results"]}


def test_every_path_becomes_a_result_with_the_right_state(probe_suites: dict[str, Path]) -> None:
    results = by_check(probe_run(probe_suites, probe_suites["root"] / "out"))
    crash = results["PROBE-CRASH-001"]
    assert crash["status"] == "error"
    assert (
        "KeyError" in crash["findings"][0]["message"] and "test_probes.py" in crash["findings"][0]["message"]
    )
    setup = results["PROBE-SETUP-001"]
    assert setup["status"] == "error" and "fixture exploded" in setup["findings"][0]["message"]
    waived = results["PROBE-WAIVE-001"]
    assert waived["status"] == "waived" and waived["findings"][0]["waiver"]["owner"] == "tests@example.gov.uk"
    assert results["PROBE-EMPTY-001"]["status"] == "not_applicable"
    # Under xdist the controller gives the results the metadata of the checks the workers ran.
    document = probe_run(probe_suites, probe_suites["root"] / "out-n2", "-n", "2")
    assert document["checks"]["PROBE-CRASH-001"]["title"] == "A check that raises"
    assert {k: v["status"] for k, v in by_check(document).items()} == {
        k: v["status"] for k, v in results.items()
    }


def test_waived_is_xfail_and_error_fails_the_pytest_item(probe_suites: dict[str, Path]) -> None:
    proc = run_pytest(
        probe_suites["root"],
        str(probe_suites["suites"]),
        "-rA",
        f"--kitemark-terraform={probe_suites['module']}",
        f"--kitemark-waivers={probe_suites['waivers']}",
        f"--kitemark-out={probe_suites['root'] / 'out'}",
    )
    assert "XFAIL" in proc.stdout and "probe/waived" in proc.stdout
    assert "could not assess" in proc.stdout
    assert "1 failed, 1 skipped, 1 xfailed, 1 error" in proc.stdout


def test_plugin_is_inert_in_other_test_sessions(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    proc = run_pytest(tmp_path, "test_plain.py")
    assert proc.returncode == 0, proc.stdout
    assert not (tmp_path / "kitemark-reports").exists()
    assert "kitemark:" not in proc.stdout and "Verdict" not in proc.stdout


def test_checks_outside_a_suites_folder_need_a_target(tmp_path: Path) -> None:
    (tmp_path / "test_stray.py").write_text(textwrap.dedent(PROBES))
    proc = run_pytest(tmp_path, "test_stray.py")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Kitemark checks need a target" in proc.stdout
    assert "Traceback" not in proc.stdout and "plugin.py" not in proc.stdout


CRASHER = """
import os

from kitemark.core.checks import check, passed

META = dict(scope="terraform.module", severity="low", reads=["aws_s3_bucket"],
            rationale="A probe used by Kitemark's plugin tests to exercise one state.",
            remediation="Nothing to remediate: this check exists only in the plugin tests.")


@check("PROBE-CRASH-002", title="A check that kills its worker", **META)
def test_kills_worker(module):
    os._exit(3)


@check("PROBE-FINE-001", title="A check that passes", **META)
def test_fine(module):
    yield passed("x", "fine")
"""


def test_a_worker_that_dies_leaves_error_results_not_silence(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    (suites / "terraform").mkdir(parents=True)
    (suites / ".kitemark-suites").write_text("")
    (suites / "__init__.py").write_text("")
    (suites / "terraform" / "__init__.py").write_text("")
    (suites / "terraform" / "test_crash.py").write_text(textwrap.dedent(CRASHER))
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    out = tmp_path / "out"
    proc = run_pytest(
        tmp_path, str(suites), f"--kitemark-terraform={module}", f"--kitemark-out={out}", "-n", "2"
    )
    assert proc.returncode != 0
    document = json.loads((out / "results.json").read_text())
    crashed = by_check(document)["PROBE-CRASH-002"]
    assert crashed["status"] == "error", crashed
    assert "crashed" in crashed["findings"][0]["message"]
    assert by_check(document)["PROBE-FINE-001"]["status"] == "passed"
    assert document["summary"]["compliant"] is False


def test_a_check_pytest_would_not_collect_is_refused_by_name(tmp_path: Path) -> None:
    suites = tmp_path / "suites"
    (suites / "terraform").mkdir(parents=True)
    (suites / ".kitemark-suites").write_text("")
    (suites / "__init__.py").write_text("")
    (suites / "terraform" / "__init__.py").write_text("")
    (suites / "terraform" / "test_named.py").write_text(
        textwrap.dedent(PROBES).replace("def test_empty(module):", "def empty_check(module):")
    )
    module = tmp_path / "module"
    module.mkdir()
    (module / "main.tf").write_text("# empty\n")
    proc = run_pytest(
        tmp_path, str(suites), f"--kitemark-terraform={module}", f"--kitemark-out={tmp_path / 'o'}"
    )
    assert proc.returncode == 4, proc.stdout[-2000:]
    assert "PROBE-EMPTY-001: its function empty_check must be named test_" in proc.stdout + proc.stderr
