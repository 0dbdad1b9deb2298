"""The catalogue of checks: every suites folder imported once, as the Python package pytest will name
it, so the controller (reading metadata) and pytest (collecting tests) share the same modules.

A suites folder holds ``.kitemark-suites`` and an ``__init__.py``, with one sub-package per target
kind (``suites/cluster/__init__.py``) holding ``test_*.py`` modules; helpers shared by one kind's
checks live beside them in the sub-package.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from kitemark.core import resources
from kitemark.core.checks import check_function, declared_inputs, registered
from kitemark.core.errors import UsageError
from kitemark.core.inputs import InputRegistry
from kitemark.core.kinds import registry
from kitemark.core.model import Check

MARKER = ".kitemark-suites"


def suites_roots() -> list[Path]:
    """The built-in suites folder, and those of kinds installed from other packages."""
    roots = [resources.suites_dir()]
    for kind in registry().values():
        if kind.suites is not None and kind.suites not in roots:
            roots.append(kind.suites)
    return roots


def import_suites(root: Path) -> None:
    """Import every ``test_*.py`` module under ``root`` as ``<root name>.<kind>.<module>``."""
    root = root.resolve()
    if not (root / "__init__.py").is_file():
        raise UsageError(f"suites folder {root} is not a Python package: add an __init__.py")
    name = root.name
    loaded = sys.modules.get(name)
    if loaded is None:
        spec = importlib.util.spec_from_file_location(
            name, root / "__init__.py", submodule_search_locations=[str(root)]
        )
        assert spec and spec.loader
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    elif Path(getattr(loaded, "__file__", "") or "").resolve().parent != root:
        raise UsageError(
            f"two suites packages are named {name!r}: {loaded.__file__} and {root}; rename one folder"
        )
    for path in sorted(root.rglob("test_*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        for depth in range(1, len(parts)):
            folder = root.joinpath(*parts[:depth])
            if not (folder / "__init__.py").is_file():
                raise UsageError(f"suites sub-folder {folder} is not a Python package: add an __init__.py")
        importlib.import_module(".".join((name, *parts)))


def load_checks(roots: Iterable[Path] | None = None) -> dict[str, Check]:
    """The checks of the suites folders (all installed ones by default), and only those."""
    folders = list(roots) if roots is not None else suites_roots()
    for root in folders:
        import_suites(root)
    return registered(folders)


@dataclass
class Catalogue:
    """The checks of a run's suites, validated against the kind registry, and their inputs."""

    checks: dict[str, Check]
    roots: tuple[Path, ...] = ()

    @classmethod
    def load(cls, roots: Iterable[Path] | None = None) -> Catalogue:
        folders = tuple(roots) if roots is not None else tuple(suites_roots())
        catalogue = cls(load_checks(folders), folders)
        problems = catalogue.problems()
        if problems:
            raise UsageError("; ".join(problems))
        return catalogue

    def problems(self) -> list[str]:
        found = []
        kinds = registry()
        for check in self.checks.values():
            name = check_function(check.id).__name__
            if not name.startswith("test_"):
                found.append(f"{check.id}: its function {name} must be named test_… for pytest to collect it")
            kind = kinds.get(check.kind)
            if kind is None:
                found.append(f"{check.id}: scope {check.scope} names no installed target kind")
            elif check.scope.partition(".")[2] not in kind.scopes:
                known = ", ".join(f"{check.kind}.{s}" for s in kind.scopes)
                found.append(f"{check.id}: unknown scope {check.scope} (known: {known})")
        return found

    @cached_property
    def inputs(self) -> InputRegistry:
        found = InputRegistry()
        for kind in registry().values():
            found.declare(f"kind {kind.name}", kind.inputs)
        for check_id in self.checks:
            found.declare(check_id, declared_inputs(check_id))
        return found
