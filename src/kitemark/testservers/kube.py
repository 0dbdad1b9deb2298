"""A real Kubernetes API server for Kitemark's own tests: etcd and kube-apiserver on free 127.0.0.1
ports, client-certificate users over one test CA, RBAC authorisation, and an audit log of every
request (level Metadata) so a test can tell which verbs a run sent. No controller-manager or
scheduler runs: objects are stored as written, nothing reconciles them."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization

from kitemark.testservers.pki import CertificateAuthority, KeyPair, write_key

START_TIMEOUT = 120.0  # seconds to /readyz; a cold start on a busy 2-core machine takes ~10 s
LOG_TAIL = 40  # lines of a server's log quoted when it fails to start
ADMIN = "kitemark-admin"
AUDIT_POLICY = {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "rules": [{"level": "Metadata"}]}


class ServerFailed(RuntimeError):
    """A server exited or did not become ready in time (the message quotes its log's tail)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A server process writing stdout and stderr to ``log``."""

    def __init__(self, name: str, args: Sequence[str], log: Path) -> None:
        self.name, self.log = name, log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
        return "\n".join(lines)

    def failure(self, what: str) -> ServerFailed:
        return ServerFailed(f"{self.name} {what}; the end of {self.log}:\n{self.tail()}")

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def wait_until(process: Process, ready: Any, timeout: float) -> None:
    """Poll ``ready()`` until it is true; fail at once if the process exits, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process.popen.poll() is not None:
            raise process.failure(f"exited with status {process.popen.returncode} before it was ready")
        if time.monotonic() > deadline:
            raise process.failure(f"was not ready after {timeout:.0f} s")
        time.sleep(0.2)


def answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5, context=context) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass(frozen=True)
class ClusterUser:
    """A user the API server knows by a client certificate: its name (CN) and groups (O)."""

    name: str
    groups: tuple[str, ...]
    credentials: KeyPair
    kubeconfig: Path


class LiveCluster:
    """A running API server: its URL, the admin (group system:masters), and its audit log."""

    def __init__(self, server: str, folder: Path, ca: CertificateAuthority, audit_log: Path) -> None:
        self.server, self.folder, self.ca, self.audit_log = server, folder, ca, audit_log
        self.admin = self.user(ADMIN, ["system:masters"])
        self.started_in = 0.0  # seconds from launching etcd to /readyz answering

    @property
    def kubeconfig(self) -> Path:
        return self.admin.kubeconfig

    def user(self, name: str, groups: Sequence[str] = ()) -> ClusterUser:
        """A new user with a client certificate and a kubeconfig of its own; it may do nothing until
        RBAC grants it something (use ``admin`` to create the binding)."""
        credentials = self.ca.issue(f"user-{name}", name, groups)
        kubeconfig = self.folder / f"kubeconfig-{name}.yaml"
        kubeconfig.write_text(yaml.safe_dump(self._kubeconfig(name, credentials)))
        kubeconfig.chmod(0o600)
        return ClusterUser(name, tuple(groups), credentials, kubeconfig)

    def _kubeconfig(self, name: str, credentials: KeyPair) -> dict[str, Any]:
        def data(path: Path) -> str:
            return base64.b64encode(path.read_bytes()).decode()

        cluster = {"server": self.server, "certificate-authority-data": data(self.ca.cert_path)}
        user = {
            "client-certificate-data": data(credentials.cert),
            "client-key-data": data(credentials.key),
        }
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "kitemark-test", "cluster": cluster}],
            "users": [{"name": name, "user": user}],
            "contexts": [{"name": name, "context": {"cluster": "kitemark-test", "user": name}}],
            "current-context": name,
        }

    def ssl_context(self, user: ClusterUser | None = None) -> ssl.SSLContext:
        """A TLS context that trusts the server and presents ``user``'s certificate (the admin's)."""
        context = ssl.create_default_context(cafile=str(self.ca.cert_path))
        credentials = (user or self.admin).credentials
        context.load_cert_chain(str(credentials.cert), str(credentials.key))
        return context

    def audit_events(self) -> list[dict[str, Any]]:
        """The audit log's events so far. A request's last event (stage ResponseComplete) may be
        written just after its response arrives: poll for it."""
        lines = self.audit_log.read_text().splitlines() if self.audit_log.exists() else []
        return [json.loads(line) for line in lines if line.strip()]


def _etcd(binary: Path, folder: Path) -> tuple[Process, str]:
    client, peer = f"http://127.0.0.1:{free_port()}", f"http://127.0.0.1:{free_port()}"
    args = [
        str(binary),
        "--name=kitemark-test",
        f"--data-dir={folder / 'etcd-data'}",
        f"--listen-client-urls={client}",
        f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}",
        f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=kitemark-test={peer}",
        "--unsafe-no-fsync",  # a throw-away store in a temporary folder
        "--log-level=warn",
    ]
    return Process("etcd", args, folder / "etcd.log"), client


def _apiserver_args(binary: Path, folder: Path, etcd: str, port: int, ca: CertificateAuthority) -> list[str]:
    serving = ca.issue("apiserver", "kube-apiserver", server=True)
    service_accounts = folder / "service-accounts.key"
    verifier = folder / "service-accounts.pub"  # kube-apiserver reads no public key from a PKCS#8 file
    verifier.write_bytes(
        write_key(service_accounts)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    policy = folder / "audit-policy.yaml"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    return [
        str(binary),
        f"--etcd-servers={etcd}",
        "--bind-address=127.0.0.1",
        "--advertise-address=127.0.0.1",
        f"--secure-port={port}",
        f"--cert-dir={folder}",
        f"--tls-cert-file={serving.cert}",
        f"--tls-private-key-file={serving.key}",
        f"--client-ca-file={ca.cert_path}",
        "--authorization-mode=RBAC",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={verifier}",
        f"--service-account-signing-key-file={service_accounts}",
        "--service-cluster-ip-range=10.96.0.0/16",
        f"--audit-policy-file={policy}",
        f"--audit-log-path={folder / 'audit.log'}",
        "--audit-log-mode=blocking",
        # Fixture clusters hold privileged pods: those are what Kitemark's checks look for.
        "--allow-privileged=true",
        # No controller-manager creates each namespace's `default` service account, and this plugin
        # would refuse every pod without one.
        "--disable-admission-plugins=ServiceAccount",
        "--profiling=false",
    ]


@contextlib.contextmanager
def running_cluster(
    kube_apiserver: Path, etcd: Path, folder: Path, timeout: float = START_TIMEOUT
) -> Iterator[LiveCluster]:
    """etcd and kube-apiserver serving from ``folder`` until the block ends (or fails)."""
    started = time.monotonic()
    ca = CertificateAuthority(folder)
    port = free_port()
    cluster = LiveCluster(f"https://127.0.0.1:{port}", folder, ca, folder / "audit.log")
    with contextlib.ExitStack() as stack:
        store, client_url = _etcd(etcd, folder)
        stack.callback(store.stop)
        wait_until(store, lambda: answers(f"{client_url}/health"), timeout)
        args = _apiserver_args(kube_apiserver, folder, client_url, port, ca)
        server = Process("kube-apiserver", args, folder / "kube-apiserver.log")
        stack.callback(server.stop)
        context = cluster.ssl_context()
        wait_until(server, lambda: answers(f"{cluster.server}/readyz", context), timeout)
        cluster.started_in = time.monotonic() - started
        yield cluster
