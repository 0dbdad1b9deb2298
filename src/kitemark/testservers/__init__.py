"""Real servers for Kitemark's own tests: kube-apiserver over etcd (``kube.start_cluster``) and the
opa CLI, built from pinned Go modules by ``scripts/test-servers.sh`` into a cache folder outside the
checkout. Kitemark itself never needs them, nor Go."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# A bin folder to use instead of the script's cache (e.g. binaries built elsewhere).
SERVERS_ENV = "KITEMARK_TEST_SERVERS"
BUILD_SCRIPT = Path("scripts") / "test-servers.sh"


class ServerMissing(Exception):
    """A server binary is not built (the tests that need it skip, or fail under CI=true)."""


def servers_dir(checkout: Path) -> Path:
    """The bin folder: ``$KITEMARK_TEST_SERVERS`` if set, else where the build script puts the
    pinned versions (it computes the cache key; asking it keeps one definition of that key)."""
    if os.environ.get(SERVERS_ENV):
        return Path(os.environ[SERVERS_ENV])
    script = checkout / BUILD_SCRIPT
    if not script.is_file():
        raise ServerMissing(f"{script} not found (set {SERVERS_ENV} to a folder of built servers)")
    done = subprocess.run(
        ["bash", str(script), "--print-dir"], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise ServerMissing(f"{script} --print-dir failed: {done.stderr.strip()[-500:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def server_binary(checkout: Path, name: str) -> Path:
    """The path of a built server binary, or ServerMissing saying how to build it."""
    path = servers_dir(checkout) / name
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise ServerMissing(f"{name} not built: run scripts/test-servers.sh (looked for {path})")
    return path
