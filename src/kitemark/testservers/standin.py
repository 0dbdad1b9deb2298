"""A stand-in Kubernetes API server for the faults a real one will not produce on demand: a 500 in
the middle of a list, 429 with ``Retry-After``, ``410 Gone`` on a ``continue`` token, a response too
slow for the client's timeout, 401, 403 on one type. Plain HTTP on 127.0.0.1 in a thread; it serves
``/version``, discovery (``/api``, ``/api/v1``, ``/apis``, ``/apis/GROUP/VERSION``) and paged lists
(``limit``/``continue``) of the objects it is given. It records every request, so a test can prove
that only GETs were sent. Nothing else of the API is served (a 404)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

CUT = "x-standin-cut"  # between the state and the handler: send half the body, then close
TOKEN = "standin-token"  # the bearer token it accepts (any other is a 401)
# group/Kind → (version, plural, namespaced) for the kinds Kitemark's checks read; a read not here is
# served under a guessed plural (``kind.lower() + "s"``), namespaced.
KNOWN: dict[str, tuple[str, str, bool]] = {
    "v1/Namespace": ("v1", "namespaces", False),
    "networking.k8s.io/Ingress": ("v1", "ingresses", True),
    "networking.k8s.io/IngressClass": ("v1", "ingressclasses", False),
    "networking.k8s.io/NetworkPolicy": ("v1", "networkpolicies", True),
    "policy/PodDisruptionBudget": ("v1", "poddisruptionbudgets", True),
    "autoscaling/HorizontalPodAutoscaler": ("v2", "horizontalpodautoscalers", True),
    "rbac.authorization.k8s.io/ClusterRole": ("v1", "clusterroles", False),
    "rbac.authorization.k8s.io/ClusterRoleBinding": ("v1", "clusterrolebindings", False),
    "apiextensions.k8s.io/CustomResourceDefinition": ("v1", "customresourcedefinitions", False),
    "admissionregistration.k8s.io/ValidatingWebhookConfiguration": (
        "v1",
        "validatingwebhookconfigurations",
        False,
    ),
    "constraints.gatekeeper.sh/K8sRequiredLabels": ("v1beta1", "k8srequiredlabels", False),
    "mutations.gatekeeper.sh/Assign": ("v1", "assign", False),
    "mutations.gatekeeper.sh/AssignMetadata": ("v1", "assignmetadata", False),
    "mutations.gatekeeper.sh/ModifySet": ("v1", "modifyset", False),
    "mutations.gatekeeper.sh/AssignImage": ("v1alpha1", "assignimage", False),
}


@dataclass(frozen=True)
class Kind:
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def path(self) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/{self.plural}"


def kind_of(read: str) -> Kind:
    """The kind served for a read (``apps/Deployment``; ``group/*`` is served as one known kind)."""
    group, _, name = read.rpartition("/")
    if name == "*":
        read = next(k for k in KNOWN if k.startswith(f"{group}/"))
        name = read.rpartition("/")[2]
    version, plural, namespaced = KNOWN.get(read, ("v1", name.lower() + "s", True))
    return Kind("" if group == "v1" else group, version, name, plural, namespaced)


@dataclass
class Fault:
    """An answer given instead of the real one, to GETs of ``path`` (a prefix, "" for every path).

    ``status`` 0 answers normally but only after ``delay`` seconds, or with ``body`` instead (status
    200), or (``cut``) drops the connection half-way through the body. ``times`` is how many requests
    it hits (``None``: every one); ``on_continue`` hits only requests carrying a ``continue`` token."""

    path: str
    status: int
    times: int | None = 1
    on_continue: bool = False
    retry_after: str | None = None
    delay: float = 0.0
    message: str = ""
    body: Any = None
    cut: bool = False
    then: Callable[[], None] | None = None  # called (under the state's lock) each time it hits
    hits: int = 0

    def applies(self, path: str, query: dict[str, str]) -> bool:
        if not path.startswith(self.path) or (self.on_continue and not query.get("continue")):
            return False
        return self.times is None or self.hits < self.times


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    at: float  # time.monotonic() when it arrived
    authorization: str = ""


@dataclass
class StandIn:
    """The server's state: what it serves, its fault plan, what it was asked."""

    objects: dict[Kind, list[dict[str, Any]]] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    url: str = ""
    max_page: int = 0  # the most items a page holds whatever the ``limit`` (0: no cap), as a real
    # server may give fewer than asked: small pages without changing the client
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, reads: Iterable[str], objects: dict[str, list[dict[str, Any]]] | None = None) -> None:
        """Serve each read's kind, with ``objects`` (read → objects; none for the others)."""
        given = objects or {}
        for read in reads:
            self.objects.setdefault(kind_of(read), []).extend(given.get(read, []))

    def fault(self, path: str, status: int, **options: Any) -> Fault:
        planned = Fault(path, status, **options)
        self.faults.append(planned)
        return planned

    def requested(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def kubeconfig(self, folder: Path, context: str = "standin", token: str = TOKEN) -> Path:
        """A kubeconfig of one context, ``context``, reaching this server with ``token``."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "standin", "cluster": {"server": self.url}}],
            "users": [{"name": "reader", "user": {"token": token}}],
            "contexts": [{"name": context, "context": {"cluster": "standin", "user": "reader"}}],
            "current-context": context,
        }
        path = folder / f"kubeconfig-{context}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    # What the handler calls: (status, headers, body, delay before answering).
    def answer(self, method: str, target: str, authorization: str) -> tuple[int, dict[str, str], Any, float]:
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query))
        with self.lock:
            self.requests.append(Request(method, path, query, time.monotonic(), authorization))
            if method != "GET":
                return 405, {}, _status(405, f"{method} is not served by the stand-in"), 0.0
            if authorization != f"Bearer {TOKEN}":
                return 401, {}, _status(401, "Unauthorized"), 0.0
            fault = next((f for f in self.faults if f.applies(path, query)), None)
            if fault is not None:
                fault.hits += 1
                if fault.then is not None:
                    fault.then()
                if fault.status:
                    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                    return fault.status, headers, _status(fault.status, fault.message), 0.0
                if fault.body is not None:
                    return 200, {}, fault.body, fault.delay
            status, body = self._normal(path, query)
        cut = {CUT: "1"} if fault and fault.cut else {}
        return status, cut, body, fault.delay if fault else 0.0

    def _normal(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        if path == "/version":
            return 200, {"major": "1", "minor": "33", "gitVersion": "v1.33.0-standin"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis":
            return 200, self._groups()
        for kind, items in self.objects.items():
            if path == kind.path:
                return 200, _page(kind, items, query, self.max_page)
        listing = self._resources(path)
        return (200, listing) if listing else (404, _status(404, f"the server could not find {path}"))

    def _groups(self) -> dict[str, Any]:
        versions: dict[str, list[str]] = {}
        for kind in self.objects:
            if kind.group and kind.version not in versions.setdefault(kind.group, []):
                versions[kind.group].append(kind.version)
        groups = [
            {
                "name": group,
                "versions": [{"groupVersion": f"{group}/{v}", "version": v} for v in found],
                "preferredVersion": {"groupVersion": f"{group}/{found[0]}", "version": found[0]},
            }
            for group, found in sorted(versions.items())
        ]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def _resources(self, path: str) -> dict[str, Any] | None:
        served = [k for k in self.objects if k.path.rpartition("/")[0] == path]
        if not served and path != "/api/v1":
            return None
        resources = [
            {
                "name": k.plural,
                "singularName": k.kind.lower(),
                "namespaced": k.namespaced,
                "kind": k.kind,
                "verbs": ["get", "list", "watch"],
            }
            for k in served
        ]
        version = path.removeprefix("/apis/").removeprefix("/api/")
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": version,
            "resources": resources,
        }


def _page(kind: Kind, items: list[dict[str, Any]], query: dict[str, str], cap: int) -> dict[str, Any]:
    """One page: ``continue`` is the offset of the next page (opaque to the client)."""
    start = int(query.get("continue") or 0)
    limit = int(query.get("limit") or 0) or len(items) or 1
    limit = min(limit, cap) if cap else limit
    page = items[start : start + limit]
    after = start + limit
    metadata: dict[str, Any] = {"resourceVersion": "1"}
    if after < len(items):
        metadata["continue"] = str(after)
        metadata["remainingItemCount"] = len(items) - after
    api_version = f"{kind.group}/{kind.version}" if kind.group else kind.version
    return {"kind": f"{kind.kind}List", "apiVersion": api_version, "metadata": metadata, "items": page}


def _status(code: int, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": code}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _any(self) -> None:
        state = self.server.state
        status, headers, body, delay = state.answer(
            self.command, self.path, self.headers.get("Authorization", "")
        )
        if delay:
            time.sleep(delay)
        data = json.dumps(body).encode()
        cut = headers.pop(CUT, None) is not None
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2] if cut else data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # a client that timed out and left
        if cut:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read ``StandIn.requests``


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: StandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextlib.contextmanager
def standin_apiserver() -> Iterator[StandIn]:
    """A running stand-in on a free 127.0.0.1 port, stopped on exit."""
    state = StandIn()
    server = _Server(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="standin-apiserver", daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
