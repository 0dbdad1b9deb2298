"""Target kinds: the one registry of what Kitemark can check.

A target kind (cluster, terraform, policies, aws …) is a ``TargetKind`` object in its own package,
registered through the ``kitemark.kinds`` entry point group, so a separate package can add one::

    [project.entry-points."kitemark.kinds"]
    cluster = "kitemark.targets.cluster.kind:KIND"

Everything else is generated from the registry: the ``kitemark run`` options and their
``--kitemark-…`` pytest twins, the demo, the scopes checks may declare, and what a *not applicable*
result says was searched. A kind gives:

- ``options``: its command-line options (``KindOption``), and ``specs(values)`` turning their values
  into ``TargetSpec``s (a bad value is a ``UsageError``);
- ``collect(spec, reads)``: the target, once, as a JSON-serialisable *inventory* carrying ``kind``,
  ``target`` (the label), ``location`` and ``errors`` (``InputError.to_dict()``s). ``reads`` is what
  the selected checks declared they read, so a collector can fetch only that. A file or API answer
  that cannot be used is recorded, never raised;
- ``scopes``: scope name → ``fn(inventory, inputs) -> list[Unit]``, each unit's ``data`` the typed
  view a check reads (checks never see the raw inventory);
- ``demo_specs(demo_dir)``, ``collect_fixture(path)`` and ``describe(inventory)``.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from kitemark.core.errors import UsageError
from kitemark.core.inputs import Input

Inventory = dict[str, Any]
ENTRY_POINT_GROUP = "kitemark.kinds"


@dataclass(frozen=True)
class TargetSpec:
    """What the user asked to check: ``kind``, a ``name`` unique per kind in the run, a ``location``
    (a directory, a snapshot, an endpoint URL) and kind-specific ``options``."""

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
    """A file or API answer that could not be used. Rendered as one line naming the file and line (or,
    for an API answer, the call: ``file`` is then false and no file location is made of it)."""

    path: str
    message: str
    line: int | None = None
    file: bool = True
    # The data it concerns (reads, as checks declare them: ``apps/Deployment``): only the checks that
    # read one of them report it. Empty: every check of the unit.
    types: tuple[str, ...] = ()
    everywhere: bool = False  # an error of every unit of the target (a type a live read could not list)

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"

    def concerns(self, reads: Iterable[str]) -> bool:
        """Whether a check reading ``reads`` is affected (one declaring none always is)."""
        if not self.types:
            return True
        reads = tuple(reads)
        return not reads or any(same_data(read, t) for read in reads for t in self.types)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "line": self.line, "message": self.message}
        if not self.file:
            data["file"] = False
        if self.types:
            data["types"] = list(self.types)
        if self.everywhere:
            data["everywhere"] = True
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputError:
        return cls(
            data["path"],
            data["message"],
            data.get("line"),
            bool(data.get("file", True)),
            tuple(data.get("types") or ()),
            bool(data.get("everywhere")),
        )


def same_data(read: str, other: str) -> bool:
    """Whether two reads overlap: equal, or one is ``group/*`` and the other of that group."""
    read, other = read.removesuffix("?"), other.removesuffix("?")  # `?`: optional, the same data
    if read == other:
        return True
    group, _, kind = read.rpartition("/")
    other_group, _, other_kind = other.rpartition("/")
    return group == other_group and "*" in (kind, other_kind)


@dataclass
class Unit:
    """One thing a check is evaluated on: a namespace, a module, a policy test case, an account.

    ``id`` is stable across runs and unique within a run (it names the result); ``errors`` are input
    errors that make every check on this unit report *error*; ``root`` is the directory file locations
    of its findings are relative to.
    """

    id: str
    target: str
    data: Any
    errors: list[InputError] = field(default_factory=list)
    root: str | None = None


@dataclass(frozen=True)
class NothingInScope:
    """The data of a unit standing for a target with nothing in a check's scope, with what was searched,
    so a *not applicable* result says where Kitemark looked."""

    scope: str
    searched: dict[str, Any]


ScopeFn = Callable[[Inventory, Mapping[str, Any]], list[Unit]]


@dataclass(frozen=True)
class KindOption:
    """A command-line option of a kind: ``--NAME`` for ``kitemark run``, ``--kitemark-NAME`` for pytest."""

    name: str
    help: str
    metavar: str | None = None
    repeatable: bool = False

    @property
    def dest(self) -> str:
        return "kitemark_" + self.name.replace("-", "_")


class DemoUnavailable(Exception):
    """A kind's part of the demo cannot run here (an optional dependency is missing): the demo runs
    without it and says why."""


class TargetKind:
    """Base class of a target kind; see the module docstring for the contract."""

    name: ClassVar[str]
    title: ClassVar[str]
    options: ClassVar[tuple[KindOption, ...]] = ()
    inputs: ClassVar[tuple[Input, ...]] = ()
    # A kind shipped in another package may bring its own checks: a suites folder (a Python package
    # holding `.kitemark-suites`) that `kitemark run` collects beside the built-in one.
    suites: ClassVar[Path | None] = None

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        raise NotImplementedError

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        """The targets named by this kind's option values (``{option name: value}``)."""
        raise NotImplementedError

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        raise NotImplementedError

    def not_assessed(
        self,
        inventory: Inventory,
        inputs: Mapping[str, Any],
        reads: frozenset[str] = frozenset(),
        known: frozenset[str] = frozenset(),
    ) -> list[dict[str, Any]]:
        """What the run puts out of every check's scope, as entries of the target's ``skipped`` list
        (``path``, ``line``, ``reason``, ``holds_resources``): what the check ``inputs`` exclude (the
        cluster's system namespaces), and what no selected check reads. ``reads`` is what the selected
        checks declared (as given to ``collect``), ``known`` what every check of this kind in the
        catalogue declared; for both, empty means everything. The inventory depends on neither, so
        this is asked apart."""
        return []

    def demo_specs(self, demo: Path) -> list[TargetSpec]:
        """This kind's part of the bundled demo (``demo`` is ``fixtures/demo``); raise
        ``DemoUnavailable`` when it cannot run here."""
        return []

    def collect_fixture(self, path: Path) -> Inventory:
        """A check's self-test fixture (``fixtures/checks/<ID>/compliant``) as an inventory."""
        return self.collect(TargetSpec(self.name, f"{path.parent.name}-{path.name}", str(path)))

    def describe(self, inventory: Inventory) -> dict[str, Any]:
        """What the collector looked at, for a *not applicable* result: how much of each thing."""
        return {
            key: len(value)
            for key, value in sorted(inventory.items())
            if isinstance(value, list | dict) and key != "errors"
        }

    def work(self, spec: TargetSpec) -> tuple[float, int]:
        """A rough estimate, before collecting, of (seconds one check takes over this target, bytes of
        its saved inventory), from which ``-n auto`` decides whether workers pay (kitemark.workers).
        The default: negligible work, so the run stays in process."""
        return 0.0, 0

    def commit_path(self, spec: TargetSpec) -> str | None:
        """The folder whose git commit identifies what was checked, if the target is files."""
        return spec.location or None


@cache
def registry() -> dict[str, TargetKind]:
    """Every installed kind, by name, in the order they were registered (built-in kinds first)."""
    kinds: dict[str, TargetKind] = {}
    points = sorted(
        importlib.metadata.entry_points(group=ENTRY_POINT_GROUP),
        key=lambda ep: (not ep.value.startswith("kitemark."), ep.name),
    )
    for point in points:
        kind = point.load()
        if not isinstance(kind, TargetKind):
            raise TypeError(f"entry point {point.name} = {point.value} is not a TargetKind")
        if kind.name != point.name:
            raise TypeError(f"entry point {point.name} names kind {kind.name!r}: the two must agree")
        kinds.setdefault(kind.name, kind)
    if not kinds:
        raise UsageError(
            "no target kinds are registered: Kitemark is not installed (pip install -e . in a checkout)"
        )
    return kinds


def get_kind(name: str) -> TargetKind:
    try:
        return registry()[name]
    except KeyError:
        raise ValueError(f"unknown target kind {name!r}; known: {', '.join(registry())}") from None


def searched(inventory: Inventory) -> dict[str, Any]:
    """What a target's collector looked at: its location, and how many of each thing it found."""
    summary: dict[str, Any] = {"target": inventory.get("target"), "location": inventory.get("location")}
    summary.update(get_kind(str(inventory.get("kind"))).describe(inventory))
    return summary


def scope_units(scope: str, inventories: Iterable[Inventory], inputs: Mapping[str, Any]) -> list[Unit]:
    """All units of ``scope`` (``"<kind>.<scope>"``) across the inventories of that kind."""
    kind_name, _, name = scope.partition(".")
    fn = get_kind(kind_name).scopes[name]
    units: list[Unit] = []
    for inventory in inventories:
        if inventory.get("kind") == kind_name:
            units.extend(fn(inventory, inputs))
    return units


# --- helpers for kinds' option parsing ------------------------------------------------------------


def split_name(value: str) -> tuple[str, str]:
    """``NAME=REST`` → (NAME, REST); a value with no name, or that is itself an existing path
    (``a=b/`` on disk), → ("", value)."""
    name, sep, rest = value.partition("=")
    if not sep or "/" in name or ":" in name or "," in name or Path(value).expanduser().exists():
        return "", value
    return name, rest


def split_options(value: str, known: Iterable[str]) -> tuple[str, dict[str, str]]:
    """``LOCATION,key=value,...`` → (LOCATION, {key: value}) for the ``known`` keys; a value that is
    itself an existing path keeps its commas."""
    if Path(value).expanduser().exists():
        return value, {}
    location, *pairs = value.split(",")
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, setting = pair.partition("=")
        if not sep or key not in known:
            raise UsageError(
                f"{value}: unknown target option {pair!r} (known: {', '.join(sorted(known)) or 'none'})"
            )
        if key in options:
            raise UsageError(f"{value}: target option {key} is given twice")
        options[key] = setting
    return location, options


def unique_name(name: str, taken: Iterable[str], *, given: bool = False) -> str:
    """``name``, or ``name-2``, ``name-3`` … when a target of the same kind already has it. A name the
    user gave (``NAME=``) is never changed: two targets given one name is a usage error, since results,
    waivers and merges key on it."""
    used = set(taken)
    if given and name in used:
        raise UsageError(f"two targets are named {name!r}: give each its own NAME=")
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def directory_specs(kind: str, values: Iterable[str], *, option: str | None = None) -> list[TargetSpec]:
    """``[NAME=]DIR`` values as specs; a missing directory or a file is a usage error."""
    specs: list[TargetSpec] = []
    flag = f"--{option or kind}"
    for value in values:
        name, rest = split_name(value)
        path = Path(rest).expanduser()
        if path.is_file():
            raise UsageError(f"{flag} {value}: {path} is a file; pass the directory that holds it")
        if not path.is_dir():
            raise UsageError(f"{flag} {value}: directory not found: {path}")
        name = unique_name(name or path.resolve().name, (s.name for s in specs), given=bool(name))
        specs.append(TargetSpec(kind, name, str(path.resolve())))
    return specs
