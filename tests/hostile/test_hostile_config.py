"""A `kitemark.yaml` found in the working directory inside a target: in pre-merge CI that directory is
the checkout under review, so the change being judged chose its own check inputs. Every output says
so; naming the file with `--config` is the operator's choice and is not warned about."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kitemark.testing import write_files

MODULE = {"mod/main.tf": 'terraform {\n  required_version = ">= 1.5"\n}\n', "kitemark.yaml": "inputs: {}\n"}


def run(cwd: Path, out: Path, *extra: str, target: str = ".") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kitemark", "run", "--terraform", target, "--out", str(out), "-n0", *extra],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_config_picked_up_inside_a_target_is_warned_in_every_output(tmp_path: Path) -> None:
    checkout = write_files(tmp_path / "pr", MODULE)
    out = tmp_path / "out"
    proc = run(checkout, out)
    warning = "found in the working directory, in or above target"
    assert warning in " ".join(proc.stdout.split()), proc.stdout
    document = json.loads((out / "results.json").read_text())
    assert document["runs"][0]["config"]["implicit"] is True
    assert warning in (out / "compliance.html").read_text()
    assert warning in (out / "junit.xml").read_text()


def test_config_named_with_option_is_not_warned(tmp_path: Path) -> None:
    checkout = write_files(tmp_path / "pr", MODULE)
    proc = run(checkout, tmp_path / "out", "--config", str(checkout / "kitemark.yaml"))
    assert proc.returncode == 0, proc.stderr
    assert "found in the working directory" not in proc.stdout


def test_config_at_the_root_of_a_repository_whose_subfolder_is_the_target_is_warned(tmp_path: Path) -> None:
    checkout = write_files(tmp_path / "pr", MODULE)
    proc = run(checkout, tmp_path / "out", target="mod")
    assert "found in the working directory, in or above target" in " ".join(proc.stdout.split()), proc.stdout
