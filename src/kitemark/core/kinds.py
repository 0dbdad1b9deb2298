"""Collectors: each target kind fetches its target once into a plain, JSON-serialisable inventory,
and splits an inventory into the scope units that checks are evaluated on.

A target kind is a module exposing:

- ``collect(spec: TargetSpec) -> dict``: the inventory, carrying ``kind``, ``target`` (the label),
  ``location`` and ``errors`` (a list of ``InputError.to_dict()``) beside its own payload.
  A missing path raises ``UsageError``; a file that cannot be read or parsed is recorded in
  ``inventory["errors"]`` (never raised), so the rest of the run goes on.
- ``collect_fixture(path: Path) -> dict``: the inventory of a check's self-test fixture
  (``fixtures/checks/<CHECK-ID>/compliant`` or ``noncompliant``).
- ``SCOPES: dict[str, Callable[[dict], list[Unit]]]``: scope name (``"namespace"``) to the units of an
  inventory. A check declares ``scope="<kind>.<scope>"``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

Inventory = dict[str, Any]

KIND_MODULES = {
    "cluster": "kitemark.targets.cluster.collect",
    "terraform": "kitemark.targets.terraform.collect",
    "policies": "kitemark.targets.policies.collect",
    "aws": "kitemark.targets.aws.collect",
}


@dataclass(frozen=True)
class TargetSpec:
    """What the user asked to check: ``kind`` (a suite), a ``name`` unique per kind in the run, a
    ``location`` (a directory, a snapshot, an endpoint URL) and kind-specific ``options``."""

    kind: str
    name: str
    location: str
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "location": self.location, "options": self.options}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetSpec:
        return cls(data["kind"], data["name"], data["location"], dict(data.get("options") or {}))


@dataclass
class InputError:
    """A file or API answer that could not be used. Rendered as one line naming the file and line."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "line": self.line, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputError:
        return cls(path=data["path"], message=data["message"], line=data.get("line"))


@dataclass
class Unit:
    """One thing a check is evaluated on: a namespace, a module, a policy test case, an account.

    ``id`` is stable across runs and unique within a run (it names the pytest item and the result);
    ``errors`` are input errors that make every check on this unit report *error*.
    """

    id: str
    target: str
    data: Any
    errors: list[InputError] = field(default_factory=list)


@dataclass(frozen=True)
class NothingInScope:
    """The data of a unit standing for a target with nothing in a check's scope, with what was searched,
    so a *not applicable* result says where Kitemark looked."""

    scope: str
    searched: dict[str, Any]


def searched(inventory: Inventory) -> dict[str, Any]:
    """What a target's collector looked at: its location, and how many of each thing it found."""
    summary: dict[str, Any] = {"target": inventory.get("target"), "location": inventory.get("location")}
    describe = getattr(kind_module(str(inventory.get("kind"))), "describe", None)
    if describe is not None:
        summary.update(describe(inventory))
    else:
        summary.update(
            {
                key: len(value)
                for key, value in sorted(inventory.items())
                if isinstance(value, list | dict) and key not in ("errors", "platform")
            }
        )
    return summary


ScopeFn = Callable[[Inventory], list[Unit]]


def kind_module(kind: str) -> ModuleType:
    try:
        return importlib.import_module(KIND_MODULES[kind])
    except KeyError:
        raise ValueError(f"unknown target kind {kind!r}; known: {', '.join(KIND_MODULES)}") from None


def scope_units(scope: str, inventories: list[Inventory]) -> list[Unit]:
    """All units of ``scope`` (``"<kind>.<scope>"``) across the inventories of that kind."""
    kind, _, name = scope.partition(".")
    fn: ScopeFn = kind_module(kind).SCOPES[name]
    units: list[Unit] = []
    for inventory in inventories:
        if inventory.get("kind") == kind:
            units.extend(fn(inventory))
    return units
