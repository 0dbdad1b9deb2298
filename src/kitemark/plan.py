"""What a run will evaluate: the scope units of each chosen check (in this shard), and how they are
grouped into pytest items.

A *result* is one check on one scope unit (what JUnit, the report and baselines list); a pytest *item*
evaluates one check on a chunk of units, so that pytest's per-item cost (a few milliseconds) does not
dominate a 1,500-namespace cluster. Small targets still get one item per unit, which reads best.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kitemark.core.kinds import InputError, Inventory, NothingInScope, Unit, scope_units, searched

# A target with up to this many units gets one item per unit (reads best, costs little); a larger one
# is split into a few chunks per worker: enough to keep every worker busy, few enough that pytest's
# own few milliseconds per item stay small next to the checks' time.
ONE_ITEM_EACH = 16
CHUNKS_PER_WORKER = 4


@dataclass(frozen=True)
class Chunk:
    """The units one pytest item evaluates (all of one target)."""

    units: tuple[Unit, ...]

    @property
    def id(self) -> str:
        first = self.units[0].id
        return first if len(self.units) == 1 else f"{first}+{len(self.units) - 1}"


def in_shard(unit_id: str, shard: tuple[int, int] | None) -> bool:
    """Every unit belongs to exactly one shard of N, by a stable hash of its id."""
    if shard is None:
        return True
    index, count = shard
    digest = hashlib.sha256(unit_id.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def units_for(
    scope: str,
    inventories: list[Inventory],
    inputs: Mapping[str, Any],
    shard: tuple[int, int] | None = None,
) -> list[Unit]:
    """The units of ``scope`` over every target of its kind. A target with nothing in scope still gets
    one unit, so a *not applicable* result shows it was looked at and what was searched."""
    units = scope_units(scope, inventories, inputs)
    # File locations in findings are relative to the target's folder (a URL or "" is no folder).
    roots = {i["target"]: _folder(i.get("location")) for i in inventories}
    for unit in units:
        if unit.root is None:
            unit.root = roots.get(unit.target)
    kind, _, name = scope.partition(".")
    covered = {u.target for u in units}
    for inventory in inventories:
        if inventory["kind"] == kind and inventory["target"] not in covered:
            nothing = NothingInScope(scope, searched(inventory))
            # An error of every unit (a cluster that could not be read) is this one's too: nothing in
            # scope may be because nothing could be listed.
            everywhere = [
                InputError.from_dict(e) for e in inventory.get("errors") or () if e.get("everywhere")
            ]
            units.append(Unit(f"{inventory['target']}/no-{name}", inventory["target"], nothing, everywhere))
    return [u for u in units if in_shard(u.id, shard)]


def _folder(location: Any) -> str | None:
    return str(location) if isinstance(location, str) and location and Path(location).is_dir() else None


def chunks(units: Iterable[Unit], workers: int = 0) -> list[Chunk]:
    """Consecutive units of one target: one per item for a small target, else a few chunks per worker
    (``workers`` 0 is the controller's own process)."""
    by_target: dict[str, list[Unit]] = {}
    for unit in units:
        by_target.setdefault(unit.target, []).append(unit)
    items = CHUNKS_PER_WORKER * max(1, workers)
    out: list[Chunk] = []
    for target_units in by_target.values():
        count = len(target_units)
        size = 1 if count <= ONE_ITEM_EACH else math.ceil(count / items)
        out += [Chunk(tuple(target_units[i : i + size])) for i in range(0, len(target_units), size)]
    return out
