"""A live read pauses the garbage collector while pages are parsed and objects built, as a snapshot's
read does: at 1,500 namespaces the collector's passes over the growing heap cost more CPU than the
redaction itself (bench/bench_live.py)."""

from __future__ import annotations

import gc
from collections.abc import Sequence

import orjson

from kitemark.core.kinds import TargetSpec
from kitemark.targets.cluster.live.collect import collect_live

NAMESPACES = {"name": "namespaces", "kind": "Namespace", "namespaced": False, "verbs": ["list"]}
DISCOVERY = {"resources": [NAMESPACES]}


class FakeConnection:
    """Answers /version, core discovery and a two-page namespace list; notes whether the collector
    ran during each call."""

    server, context = "https://fake", "fake"

    def __init__(self) -> None:
        self.gc_enabled: list[bool] = []

    def transport(
        self, path: str, query: Sequence[tuple[str, str]], timeout: tuple[float, float]
    ) -> tuple[int, dict[str, str], bytes]:
        self.gc_enabled.append(gc.isenabled())
        if path == "/version":
            return 200, {}, b'{"gitVersion": "v1.35.0"}'
        if path == "/api/v1":
            return 200, {}, orjson.dumps(DISCOVERY)
        first = ("continue", "next") not in query
        item = {"metadata": {"name": "team-a" if first else "team-b"}}
        meta = {"continue": "next"} if first else {}
        return 200, {}, orjson.dumps({"kind": "NamespaceList", "metadata": meta, "items": [item]})

    def close(self) -> None:
        pass


def test_a_live_read_runs_without_the_garbage_collector_and_restores_it() -> None:
    assert gc.isenabled()
    connection = FakeConnection()
    spec = TargetSpec("cluster", "fake", "live:fake", {"context": "fake"})
    inventory = collect_live(spec, ["v1/Namespace"], connection=connection, log=lambda _: None)
    assert [o["metadata"]["name"] for o in inventory["objects"]] == ["team-a", "team-b"]
    assert len(connection.gc_enabled) == 4 and not any(connection.gc_enabled)
    assert gc.isenabled()


def test_the_garbage_collector_comes_back_when_the_cluster_cannot_be_read() -> None:
    class Refusing(FakeConnection):
        def transport(
            self, path: str, query: Sequence[tuple[str, str]], timeout: tuple[float, float]
        ) -> tuple[int, dict[str, str], bytes]:
            self.gc_enabled.append(gc.isenabled())
            return 401, {}, b'{"message": "Unauthorized"}'

    spec = TargetSpec("cluster", "fake", "live:fake", {"context": "fake"})
    inventory = collect_live(spec, ["v1/Namespace"], connection=Refusing(), log=lambda _: None)
    assert inventory["errors"] and not inventory["objects"]
    assert gc.isenabled()
