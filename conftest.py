"""Repository-wide pytest configuration for Kitemark's own tests.

Every test runs in a fresh temporary working directory: a test that forgets `--out` writes its
reports there, never into the checkout (`kitemark-reports/` of a real run must never be touched).

A test that needs an external server or tool is marked `@pytest.mark.needs_server("name")` and may skip
on a developer's machine when it is missing; under `CI=true` that skip is turned into a failure, because
CI (`.ci/run`) installs and starts everything the tests use.

Real servers (kube-apiserver over etcd, the opa CLI) are built by `scripts/test-servers.sh` (tox runs
it first) and given to tests by the fixtures `kube_apiserver` and `opa_binary`; a test that uses one
is marked `needs_server` by the fixture's name, and kept on one xdist worker, so the session starts
one API server.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from kitemark.testservers import ServerMissing, server_binary

if TYPE_CHECKING:
    from kitemark.testservers.kube import LiveCluster

CHECKOUT = Path(__file__).parent
# The fixtures that need a built server, and the server each names in a needs_server marker.
SERVER_FIXTURES = {
    "kube_apiserver": "kube-apiserver",
    "empty_kube_apiserver": "kube-apiserver",
    "opa_binary": "opa",
}


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


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture, server in SERVER_FIXTURES.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.needs_server(server))
                item.add_marker(pytest.mark.xdist_group(server))


def _built(name: str) -> Path:
    try:
        return server_binary(CHECKOUT, name)
    except ServerMissing as missing:
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def kube_apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    """A running kube-apiserver over etcd (RBAC, client-certificate users, an audit log)."""
    from kitemark.testservers.kube import running_cluster

    binaries = _built("kube-apiserver"), _built("etcd")
    with running_cluster(*binaries, tmp_path_factory.mktemp("kube-apiserver")) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def empty_kube_apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCluster]:
    """A kube-apiserver of the module's own, holding only what the server makes itself: for tests that
    read the whole cluster and compare it exactly (the shared one holds what other tests left)."""
    from kitemark.testservers.kube import running_cluster

    binaries = _built("kube-apiserver"), _built("etcd")
    with running_cluster(*binaries, tmp_path_factory.mktemp("empty-kube-apiserver")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def opa_binary() -> Path:
    """The opa CLI built by scripts/test-servers.sh."""
    return _built("opa")
