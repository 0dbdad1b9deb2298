"""The ``rego-test`` scope of a policies target: ``rego_test_units`` makes one unit per ``test_*`` rule
body of every ``*_test.rego`` file, numbering bodies that share a name (``#test_x``, ``#test_x#01``...)
and isolating each from its namesakes (see ``kitemark.targets.policies.rego_tests``). A test carries the input
errors of broken policy files of its own directory or package and of its own file; a broken file that
no test carries, or a test file that does not parse, is a unit of its own. Every test gets the target's
``data.json``/``data.yaml`` document (``kitemark.targets.policies.rego_data``) and carries the errors of
the data files that could not be loaded.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from kitemark.core.kinds import InputError, Inventory, Unit
from kitemark.engines.rego_cache import bundle_key
from kitemark.targets.policies.rego_files import DEFAULT_ENGINE
from kitemark.targets.policies.rego_tests import RegoTestCase, isolate, rule_source
from kitemark.targets.policies.units import carried_errors, error_key, error_unit, unit_id

# Every loaded definition of each test name in each package (Rego would OR them together).
Namesakes = dict[tuple[tuple[str, ...], str], list[tuple[str, dict[str, Any]]]]


def rego_test_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """The ``policies.rego-test`` scope (no check input changes it)."""
    files = inventory.get("rego_files", [])
    modules = [(f["path"], f["source"], f["version"]) for f in files if not f["error"]]
    engine_cfg = inventory.get("engine") or {"name": DEFAULT_ENGINE}
    rego_data = inventory.get("rego_data") or {}
    data = rego_data.get("document") or {}
    shared = {
        "target": inventory["target"],
        "modules": modules,
        "engine_cfg": engine_cfg,
        "data": data,
        "bundle_key": bundle_key({**(inventory.get("engine") or {}), "data": data}, modules),
    }
    # A data file that could not be loaded: any test may read its document, so every test carries it.
    data_errors = [InputError.from_dict(e) for e in rego_data.get("errors") or []]
    broken = [f for f in files if f["error"]]
    namesakes = _namesakes(files)
    per_file: dict[str, list[Unit]] = {}
    for f in files:
        if not f["test_file"]:
            continue
        if f["error"] and not f["tests"]:
            # Unparseable: its tests are unknown, so the file itself is the unit.
            per_file[f["path"]] = [error_unit(inventory, f["path"], f["error"])]
        else:
            depends = data_errors + _dependencies(f, broken)
            per_file[f["path"]] = _test_units(inventory, f, depends, shared, namesakes)
    # A broken file that no test depends on (a policy without tests of its own) is a unit of its own:
    # otherwise its error would reach no result and the run would read as compliant.
    carried = carried_errors(u for group in per_file.values() for u in group)
    for f in broken:
        if f["path"] not in per_file and error_key(f["error"]) not in carried:
            per_file[f["path"]] = [error_unit(inventory, f["path"], f["error"])]
    units = [u for f in files for u in per_file.get(f["path"], [])]
    # A broken data file and no test to carry it: a unit of its own, or the error would reach no result.
    for error in rego_data.get("errors") or []:
        if error_key(error) not in carried:
            units.append(error_unit(inventory, error["path"], error))
    return units


def _namesakes(files: list[dict[str, Any]]) -> Namesakes:
    found: Namesakes = {}
    for f in files:
        if not f["error"]:
            for test in f["tests"]:
                found.setdefault((_package(f), test["name"]), []).append((f["path"], test))
    return found


def _dependencies(f: dict[str, Any], broken: list[dict[str, Any]]) -> list[InputError]:
    """What stops a test file's tests from being assessed: a broken policy file of its own directory
    or package (the cause, so it comes first), then the file's own compile error."""
    depends = [
        InputError.from_dict(b["error"])
        for b in broken
        if not b["test_file"]
        and (posixpath.dirname(b["path"]) == posixpath.dirname(f["path"]) or b["package"] == f["package"])
    ]
    if f["error"]:
        depends.append(InputError.from_dict(f["error"]))
    return depends


def _test_units(
    inventory: Inventory,
    f: dict[str, Any],
    depends: list[InputError],
    shared: dict[str, Any],
    namesakes: Namesakes,
) -> list[Unit]:
    units = []
    numbered: dict[str, int] = {}
    for test in f["tests"]:
        # Bodies sharing a name are separate tests: `test_x`, then `test_x#01`, `#02`... in file order.
        k = numbered[test["name"]] = numbered.get(test["name"], -1) + 1
        name = test["name"] if k == 0 else f"{test['name']}#{k:02d}"
        end_line = test.get("end_line") or test["line"]
        case = RegoTestCase(
            path=f["path"],
            package=_package(f),
            rule=test["name"],
            line=test["line"],
            version=f["version"],
            name=name,
            end_line=end_line,
            source=rule_source(f["source"], test["line"], end_line),
            **shared,
        )
        _isolate(case, test, namesakes)
        units.append(Unit(unit_id(inventory, f["path"], name), inventory["target"], case, list(depends)))
    return units


def _package(f: dict[str, Any]) -> tuple[str, ...]:
    return tuple(f.get("package_path") or (f["package"] or "").split("."))


def _isolate(case: RegoTestCase, test: dict[str, Any], namesakes: Namesakes) -> None:
    """Give ``case`` modules in which the other definitions of its name are renamed away, so that it
    is evaluated on its own body (see ``kitemark.targets.policies.rego_tests``)."""
    others: dict[str, list[tuple[int, int]]] = {}
    for path, other in namesakes.get((case.package, test["name"]), []):
        if other is not test:
            others.setdefault(path, []).append(tuple(other["name_span"]))
    if not others:
        return
    try:
        case.modules = isolate(case.modules, others, test["name"])
    except ValueError as exc:
        case.isolation_error = str(exc)
        return
    case.bundle_key = bundle_key({**case.engine_cfg, "data": case.data}, case.modules)
