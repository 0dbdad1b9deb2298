"""The test API server's admin as a small client: JSON requests over one kept-alive HTTPS pool (a few
thousand per test session: a TLS handshake each would be most of the time), the server's discovery,
and waiting for the server to catch up."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3

from kitemark.testservers.kube import LiveCluster

WAIT = 30.0  # seconds for the server to serve a new kind, or to finish a deletion


class LoadError(RuntimeError):
    """The server did something a fixture load cannot go on from (not an object it refused)."""


@dataclass(frozen=True)
class ApiType:
    """A resource type the server serves, in one version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    status: bool  # has a status subresource

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        where = f"/namespaces/{namespace}" if self.namespaced and namespace else ""
        return f"{base}{where}/{self.plural}" + (f"/{name}" if name else "")


class Admin:
    """Requests as the cluster's admin: ``call`` gives (status, decoded JSON)."""

    def __init__(self, cluster: LiveCluster) -> None:
        url = urlsplit(cluster.server)
        self.pool = urllib3.HTTPSConnectionPool(
            url.hostname or "127.0.0.1", url.port, ssl_context=cluster.ssl_context(), maxsize=4, retries=False
        )
        self.types: dict[tuple[str, str], ApiType] = {}  # (group, kind) → its preferred version
        self.discover()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, str] | None = None,
        content: str = "application/json",
    ) -> tuple[int, Any]:
        url = path + (f"?{urlencode(query)}" if query else "")
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": content, "Accept": "application/json"}
        response = self.pool.request(method, url, body=data, headers=headers, timeout=30.0)
        try:
            return response.status, json.loads(response.data or b"null")
        except ValueError:
            return response.status, {"message": response.data[:300].decode("utf-8", "replace")}

    def get(self, path: str) -> Any:
        status, data = self.call("GET", path)
        if status != 200:
            raise LoadError(f"GET {path}: {status} {data}")
        return data

    def close(self) -> None:
        self.pool.close()

    def discover(self) -> None:
        """Refresh ``types``: every served (group, kind) in its group's preferred version."""
        found: dict[tuple[str, str], ApiType] = {}
        self._read_group_version("", "v1", found)
        for group, versions in self.groups().items():
            self._read_group_version(group, versions[0], found)
        self.types = found

    def groups(self) -> dict[str, list[str]]:
        """Served groups → versions, the preferred one first."""
        found = {}
        for group in self.get("/apis").get("groups") or []:
            preferred = group["preferredVersion"]["version"]
            others = [v["version"] for v in group["versions"] if v["version"] != preferred]
            found[group["name"]] = [preferred, *others]
        return found

    def served(self, group: str, version: str) -> set[str]:
        """The plurals ``group/version`` serves (none when it is not served)."""
        found: dict[tuple[str, str], ApiType] = {}
        self._read_group_version(group, version, found)
        return {t.plural for t in found.values()}

    def _read_group_version(self, group: str, version: str, into: dict[tuple[str, str], ApiType]) -> None:
        path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        status, data = self.call("GET", path)
        if status == 404 and group:  # a group just removed may still be in /apis for a moment
            return
        if status != 200:
            raise LoadError(f"GET {path}: {status} {data}")
        entries = data.get("resources") or []
        names = {e["name"] for e in entries}
        for e in entries:
            if "/" not in e["name"] and "create" in e.get("verbs", []):
                has_status = f"{e['name']}/status" in names
                api = ApiType(group, version, e["kind"], e["name"], bool(e["namespaced"]), has_status)
                into.setdefault((group, e["kind"]), api)

    def wait(self, what: str, done: Callable[[], bool], timeout: float = WAIT, path: str = "") -> None:
        """Poll ``done`` until true; a ``LoadError`` naming ``what`` (and the state of the object at
        ``path``: its finalizers and status) after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                found = self.call("GET", path)[1] if path else {}
                state = {
                    "finalizers": (found.get("metadata") or {}).get("finalizers"),
                    "status": found.get("status"),
                }
                raise LoadError(f"waited {timeout:.0f} s for {what}; {json.dumps(state)[:1500]}")
            time.sleep(0.05)
