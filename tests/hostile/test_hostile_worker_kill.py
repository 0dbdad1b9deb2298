"""A worker killed mid-check, as the OOM killer (SIGKILL) or a native abort (SIGABRT) would: the run
goes on in the other worker and the killed check is an *error* result naming the check and its unit,
never a silent gap and never compliant."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SUITE = """
import os
import signal

from kitemark.core.checks import check, passed

META = dict(scope="terraform.module", severity="low", reads=["aws_s3_bucket"],
            rationale="A probe used by Kitemark's hostile tests to exercise one state.",
            remediation="Nothing to remediate: this check exists only in the hostile tests.")


@check("PROBE-KILLED-001", title="A check whose worker is killed", **META)
def test_killed(module):
    os.kill(os.getpid(), signal.{signal})


@check("PROBE-FINE-002", title="A check that passes", **META)
def test_fine(module):
    yield passed("x", "fine")
"""


@pytest.mark.parametrize("signal", ["SIGKILL", "SIGABRT"])
def test_a_killed_worker_leaves_an_error_naming_check_and_unit(tmp_path: Path, signal: str) -> None:
    suites = tmp_path / "suites"
    (suites / "terraform").mkdir(parents=True)
    (suites / ".kitemark-suites").write_text("")
    (suites / "__init__.py").write_text("")
    (suites / "terraform" / "__init__.py").write_text("")
    (suites / "terraform" / "test_killed.py").write_text(textwrap.dedent(SUITE).replace("{signal}", signal))
    module = tmp_path / "mod-under-test"
    module.mkdir()
    (module / "main.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(suites),
         f"--kitemark-terraform={module}", f"--kitemark-out={out}", "-n", "2"],
        capture_output=True, text=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode not in (0, 2), proc.stdout + proc.stderr
    document = json.loads((out / "results.json").read_text())
    results = {r["check_id"]: r for r in document["results"]}
    killed = results["PROBE-KILLED-001"]
    assert killed["status"] == "error", killed
    assert killed["unit"], killed
    message = killed["findings"][0]["message"]
    assert message.startswith("check did not run:") and "crashed" in message, message
    assert results["PROBE-FINE-002"]["status"] == "passed"
    assert document["summary"]["compliant"] is False
    # The terminal names the check and the unit too, so the nightly log says what was lost.
    assert "PROBE-KILLED-001" in proc.stdout and killed["unit"] in proc.stdout, proc.stdout
