"""The test servers' plumbing, with stand-ins (the real build takes minutes; test_servers.py runs what
it built). scripts/test-servers.sh: the cache key follows the pins, a finished build is reused, a
failed one leaves nothing that looks finished, and without Go it says so and lets the tests skip.
kitemark.testservers: the tests look where the script builds, and a server that fails to start is
reported with its log, the others stopped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CHECKOUT = Path(__file__).parents[1]
PINS = ("go.mod", "go.sum", "opa/go.mod", "opa/go.sum")
SYSTEM_PATH = "/usr/bin:/bin"

# Writes an executable at the `-o` path and logs the package built; fails for $FAIL_ON.
FAKE_GO = """#!/bin/sh
out=""; prev=""; pkg=""
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  prev="$a"; pkg="$a"
done
echo "$pkg" >> "$GO_CALLS"
[ "$pkg" = "${FAIL_ON:-}" ] && { echo "build failed" >&2; exit 1; }
[ "$1" = version ] && { echo "go version fake"; exit 0; }
mkdir -p "$(dirname "$out")" && printf '#!/bin/sh\\n' > "$out" && chmod +x "$out"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The script and the pins, copied: the tests change the pins."""
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(CHECKOUT / "scripts" / "test-servers.sh", root / "scripts")
    for pin in PINS:
        (root / "tools" / "testservers" / pin).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CHECKOUT / "tools" / "testservers" / pin, root / "tools" / "testservers" / pin)
    return root


def run(checkout: Path, *args: str, go: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    tmp = checkout.parent
    fake = tmp / "fakebin"
    fake.mkdir(exist_ok=True)
    (fake / "go").write_text(FAKE_GO)
    (fake / "go").chmod(0o755)
    environ = {
        "HOME": str(tmp / "home"),
        "PATH": f"{fake}:{SYSTEM_PATH}" if go else SYSTEM_PATH,
        "KITEMARK_SERVERS_CACHE": str(tmp / "cache"),
        "GO_CALLS": str(tmp / "go-calls"),
        **env,
    }
    script = checkout / "scripts" / "test-servers.sh"
    return subprocess.run(
        ["bash", str(script), *args], env=environ, capture_output=True, text=True, timeout=60
    )


def built(checkout: Path) -> list[str]:
    calls = checkout.parent / "go-calls"
    return calls.read_text().split() if calls.exists() else []


def test_the_bin_folder_is_keyed_by_the_pinned_versions_and_the_pins(checkout: Path) -> None:
    first = run(checkout, "--print-dir", go=False)
    assert first.returncode == 0, first.stderr
    folder = Path(first.stdout.strip())
    assert folder.parent.parent == checkout.parent / "cache"
    assert folder.name == "bin"
    assert folder.parent.name.startswith("kube-apiserver-v1.") and "_etcd-3." in folder.parent.name
    assert "_opa-1." in folder.parent.name

    with (checkout / "tools" / "testservers" / "opa" / "go.sum").open("a") as go_sum:
        go_sum.write("example.org/changed v1.0.0 h1:x=\n")
    assert run(checkout, "--print-dir", go=False).stdout.strip() != str(folder)
    assert built(checkout) == []


def test_a_build_puts_the_three_servers_in_the_bin_folder_and_is_then_reused(checkout: Path) -> None:
    first = run(checkout)
    assert first.returncode == 0, first.stderr
    folder = Path(first.stdout.splitlines()[-1])
    assert folder == Path(run(checkout, "--print-dir").stdout.strip())
    assert sorted(p.name for p in folder.iterdir()) == ["etcd", "kube-apiserver", "opa"]
    assert "built kube-apiserver, etcd, opa in " in first.stderr
    assert built(checkout) == [
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "go.etcd.io/etcd/server/v3",
        "github.com/open-policy-agent/opa",
        "version",
    ]

    again = run(checkout)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == str(folder)
    assert f"reusing {folder}" in again.stderr
    assert len(built(checkout)) == 4  # nothing built the second time


def test_a_failed_build_leaves_nothing_that_looks_finished(checkout: Path) -> None:
    failed = run(checkout, FAIL_ON="github.com/open-policy-agent/opa")
    assert failed.returncode != 0
    assert failed.stdout == ""
    cache = checkout.parent / "cache"
    assert list(cache.iterdir()) == []  # neither the key folder nor the scratch one

    retried = run(checkout)
    assert retried.returncode == 0, retried.stderr
    assert "built kube-apiserver, etcd, opa" in retried.stderr


def test_without_go_it_says_so_and_succeeds_so_the_server_tests_skip(checkout: Path) -> None:
    done = run(checkout, go=False)
    assert done.returncode == 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "Go is not installed" in done.stderr and "skip" in done.stderr
    assert not (checkout.parent / "cache").exists()


def test_a_folder_of_servers_built_elsewhere_is_used_as_it_is(checkout: Path, tmp_path: Path) -> None:
    done = run(checkout, KITEMARK_TEST_SERVERS=str(tmp_path / "elsewhere"))
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == str(tmp_path / "elsewhere")
    assert built(checkout) == []


def test_the_tests_look_where_the_script_builds(checkout: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kitemark.testservers import SERVERS_ENV, ServerMissing, server_binary, servers_dir

    monkeypatch.delenv(SERVERS_ENV, raising=False)
    monkeypatch.setenv("KITEMARK_SERVERS_CACHE", str(checkout.parent / "cache"))
    folder = Path(run(checkout).stdout.splitlines()[-1])
    assert servers_dir(checkout) == folder
    assert server_binary(checkout, "opa") == folder / "opa"
    with pytest.raises(ServerMissing, match=r"^kubectl not built: run scripts/test-servers.sh"):
        server_binary(checkout, "kubectl")
    monkeypatch.setenv(SERVERS_ENV, os.fspath(checkout.parent / "elsewhere"))
    assert servers_dir(checkout) == checkout.parent / "elsewhere"


# An etcd stand-in that answers /health on its client URL and records its process id.
FAKE_ETCD = """#!/usr/bin/env python3
import http.server, os, sys
url = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--listen-client-urls="))
open(os.environ["ETCD_PID"], "w").write(str(os.getpid()))
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(url.rsplit(":", 1)[1])), Health).serve_forever()
"""


def test_a_server_that_fails_to_start_is_reported_with_its_log_and_the_store_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kitemark.testservers.kube import ServerFailed, running_cluster

    etcd, apiserver = tmp_path / "etcd", tmp_path / "kube-apiserver"
    etcd.write_text(FAKE_ETCD.replace("/usr/bin/env python3", sys.executable))
    apiserver.write_text("#!/bin/sh\necho 'Error: unknown flag: --no-such-flag' >&2\nexit 1\n")
    for binary in (etcd, apiserver):
        binary.chmod(0o755)
    monkeypatch.setenv("ETCD_PID", str(tmp_path / "etcd.pid"))
    folder = tmp_path / "cluster"
    folder.mkdir()

    with pytest.raises(ServerFailed) as failed, running_cluster(apiserver, etcd, folder, timeout=30):
        pass
    message = str(failed.value)
    assert message.startswith("kube-apiserver exited with status 1 before it was ready")
    assert "Error: unknown flag: --no-such-flag" in message
    pid = int((tmp_path / "etcd.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped
