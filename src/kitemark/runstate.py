"""What every process of a run shares: the targets the controller collected (as saved inventories),
the chosen checks, the input values and the shard, and the scope units built from them.

Under xdist the workers are started while the controller is still collecting (the slowest part of a
large run), so they do not get this in their start-up arguments: each waits for ``ready.json`` in the
run's folder, which the controller writes (atomically) once collection is done, or with the error
that ended the run.
"""

from __future__ import annotations

import json
import os
import time
from functools import cached_property
from pathlib import Path
from typing import Any

from kitemark.collect import load_inventories
from kitemark.core.jsonio import paused_gc
from kitemark.core.kinds import Inventory, Unit
from kitemark.core.model import Check
from kitemark.plan import Chunk, chunks, units_for
from kitemark.results import write_atomic

READY = "ready.json"
POLL_SECONDS = 0.02


class RunState:
    """The shared part of a run, and the scope units (built once per scope, however many checks)."""

    def __init__(self, shared: dict[str, Any]) -> None:
        self.shared = shared
        self.targets: list[dict[str, Any]] = shared["targets"]
        self.chosen: set[str] = set(shared["chosen"])
        self.inputs: dict[str, Any] = shared["inputs"]
        shard = shared.get("shard")
        self.shard: tuple[int, int] | None = (shard[0], shard[1]) if shard else None
        self._units: dict[str, list[Unit]] = {}
        self.unit_seconds = 0.0  # building the typed views checks read, from the inventories
        # Items run in the controller's own process hand their results over here, not as JSON.
        self.local_results: dict[str, list[dict[str, Any]]] = {}

    @cached_property
    def inventories(self) -> list[Inventory]:
        # Loaded only where units are needed: a worker, or the controller when it has let them go.
        return load_inventories(self.targets)

    def kinds(self) -> set[str]:
        return {t["kind"] for t in self.targets}

    def chunks(self, check: Check) -> list[Chunk]:
        # Every process must split alike (xdist requires the same items on every worker).
        return chunks(self.units(check.scope), int(self.shared.get("workers", 0)))

    def units(self, scope: str) -> list[Unit]:
        if scope not in self._units:
            started = time.perf_counter()
            with paused_gc():  # views live until the run ends; freezing them keeps collections short
                self._units[scope] = units_for(scope, self.inventories, self.inputs, self.shard)
            self.unit_seconds += time.perf_counter() - started
        return self._units[scope]


def publish_shared(folder: Path, shared: dict[str, Any] | None, error: str | None = None) -> None:
    """Tell waiting workers what to run, or that the run ended before they could (``error``)."""
    write_atomic(folder / READY, json.dumps({"shared": shared, "error": error}))


def await_shared(folder: Path) -> dict[str, Any] | None:
    """A worker's side: the controller's shared state once it is ready; ``None`` when the run ended
    (a usage error while collecting, or the controller is gone)."""
    parent = os.getppid()
    path = folder / READY
    while not path.is_file():
        if os.getppid() != parent:  # the controller died: nobody will ever write it
            return None
        time.sleep(POLL_SECONDS)
    message = json.loads(path.read_text())
    return None if message["error"] else dict(message["shared"])
