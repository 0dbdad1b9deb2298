"""Under CI=true a test that needs a missing server fails instead of skipping (root conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NEEDS_SERVER = """
import pytest

@pytest.mark.needs_server("prometheus")
def test_needs_prometheus():
    pytest.skip("prometheus is not installed")

def test_ordinary_skip():
    pytest.skip("not relevant here")
"""


@pytest.mark.parametrize(("ci", "expected"), [("true", "1 failed, 1 skipped"), ("", "2 skipped")])
def test_missing_server_is_a_failure_only_under_ci(tmp_path: Path, ci: str, expected: str) -> None:
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_server.py").write_text(NEEDS_SERVER)
    env = {**os.environ, "CI": ci}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-W", "ignore"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert expected in proc.stdout, proc.stdout
    if ci:
        assert "prometheus is required under CI=true" in proc.stdout
