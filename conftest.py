"""Repository-wide pytest configuration for Kitemark's own tests.

Every test runs in a fresh temporary working directory: a test that forgets `--out` writes its
reports there, never into the checkout (`kitemark-reports/` of a real run must never be touched).

A test that needs an external server or tool is marked `@pytest.mark.needs_server("name")` and may skip
on a developer's machine when it is missing; under `CI=true` that skip is turned into a failure, because
CI (`.ci/run`) installs and starts everything the tests use.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest


@pytest.fixture(autouse=True)
def _in_a_temporary_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    marker = item.get_closest_marker("needs_server")
    if report.skipped and marker and os.environ.get("CI", "").lower() == "true":
        report.outcome = "failed"
        report.longrepr = (
            f"{marker.args[0] if marker.args else 'a server'} is required under CI=true: {report.longrepr}"
        )
    return report
