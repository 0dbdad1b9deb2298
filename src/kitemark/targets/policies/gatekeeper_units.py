"""The ``gatekeeper-case`` scope of a policies target: ``gatekeeper_case_units`` makes one unit per case
of every Gatekeeper suite (``<label>/<suite>#<test>/<case>``) and one per ``invalid: true`` test
(``<label>/<suite>#<test>``), carrying ``GatekeeperCase`` data (see ``kitemark.engines.gatekeeper``) and the
input errors of the template, constraint, object and inventory files the case needs (none for a
skipped case). Duplicate ids get ``~2``, ``~3``...; a suite that does not parse, or a broken file that
no unit carries, is a unit of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitemark.core.kinds import InputError, Inventory, Unit
from kitemark.engines.gatekeeper import GatekeeperCase
from kitemark.targets.policies.rego_files import DEFAULT_ENGINE
from kitemark.targets.policies.units import carried_errors, error_key, error_unit, unit_id

# Cases decided at collection on objects as written (``gatekeeper_raw``), by unit id.
OUTCOMES = "case_outcomes"


def gatekeeper_case_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """The ``policies.gatekeeper-case`` scope (no check input changes it)."""
    templates = inventory.get("templates", {})
    objects = inventory.get("objects", {})
    engine_cfg = inventory.get("engine") or {"name": DEFAULT_ENGINE}
    outcomes = inventory.get(OUTCOMES) or {}
    units: list[Unit] = []
    seen: set[str] = set()
    for suite in inventory.get("suites", []):
        if suite["error"]:
            units.append(error_unit(inventory, suite["path"], suite["error"]))
            seen.add(units[-1].id)
            continue
        for test in suite["tests"]:
            template = templates.get(test["template_path"] or "", None)
            if test["invalid"]:
                found = [_invalid_test_unit(inventory, suite, test, template, objects, engine_cfg)]
            else:
                found = [
                    _case_unit(inventory, suite, test, case, template, objects, engine_cfg)
                    for case in test["cases"]
                ]
            for unit in found:
                unit.id = _unique(unit.id, seen)
                unit.data.outcome = outcomes.get(unit.id)
            units += found
    return units + _uncarried_file_units(inventory, [*templates.values(), *objects.values()], units, seen)


def _invalid_test_unit(
    inventory: Inventory,
    suite: dict[str, Any],
    test: dict[str, Any],
    template: dict[str, Any] | None,
    objects: dict[str, Any],
    engine_cfg: dict[str, Any],
) -> Unit:
    """A constraint expected to be rejected: one unit for the test, ``<suite>#<test name>``."""
    skip = suite["skip"] or test["skip"]
    errors = [] if skip else _test_input_errors(suite, test, template, objects)
    data = GatekeeperCase(
        target=inventory["target"],
        suite=suite["path"],
        test=test["name"],
        case="",
        line=test["line"],
        skip=skip,
        template=template or {},
        constraint_path=test["constraint_path"] or "",
        constraint_docs=_docs(objects, test["constraint_path"]),
        object_path="",
        object_docs=[],
        inventory_docs=[],
        assertions=[],
        engine_cfg=engine_cfg,
        invalid=True,
    )
    return Unit(unit_id(inventory, suite["path"], test["name"]), inventory["target"], data, errors)


def _case_unit(
    inventory: Inventory,
    suite: dict[str, Any],
    test: dict[str, Any],
    case: dict[str, Any],
    template: dict[str, Any] | None,
    objects: dict[str, Any],
    engine_cfg: dict[str, Any],
) -> Unit:
    skip = suite["skip"] or test["skip"] or case["skip"]
    # gator does not read what a skipped case names, so its inputs cannot make it an error.
    errors = [] if skip else _case_input_errors(suite, test, case, template, objects)
    data = GatekeeperCase(
        target=inventory["target"],
        suite=suite["path"],
        test=test["name"],
        case=case["name"],
        line=case["line"],
        skip=skip,
        template=template or {},
        constraint_path=test["constraint_path"] or "",
        constraint_docs=_docs(objects, test["constraint_path"]),
        object_path=case["object_path"] or "",
        object_docs=_docs(objects, case["object_path"]),
        inventory_docs=[d for p in case["inventory_paths"] for d in _docs(objects, p)],
        assertions=case["assertions"],
        engine_cfg=engine_cfg,
    )
    uid = unit_id(inventory, suite["path"], f"{test['name']}/{case['name']}")
    return Unit(uid, inventory["target"], data, errors)


def _uncarried_file_units(
    inventory: Inventory, entries: list[dict[str, Any]], units: list[Unit], seen: set[str]
) -> list[Unit]:
    """A broken template or object that no unit reports (named only by skipped cases, or by a test
    whose cases are all skipped) is a unit of its own, so that its error still reaches a result."""
    carried = carried_errors(units)
    extra = []
    for entry in sorted(entries, key=lambda e: e["path"]):
        if entry["error"] and error_key(entry["error"]) not in carried:
            carried.add(error_key(entry["error"]))
            unit = error_unit(inventory, entry["path"], entry["error"])
            unit.id = _unique(unit.id, seen)  # one file read both as a template and as objects
            extra.append(unit)
    return extra


def _unique(uid: str, seen: set[str]) -> str:
    """``uid``, or ``uid~2``, ``uid~3``... if taken: duplicate names must still give unique, stable ids."""
    n, base = 2, uid
    while uid in seen:
        uid, n = f"{base}~{n}", n + 1
    seen.add(uid)
    return uid


def _docs(objects: dict[str, Any], path: str | None) -> list[Any]:
    return list((objects.get(path or "") or {}).get("documents") or [])


def _case_input_errors(
    suite: dict[str, Any],
    test: dict[str, Any],
    case: dict[str, Any],
    template: dict[str, Any] | None,
    objects: dict[str, Any],
) -> list[InputError]:
    errors = _test_input_errors(suite, test, template, objects)
    if not case["object_path"]:
        errors.append(InputError(suite["path"], f"case '{case['name']}' names no object", case["line"]))
    for path in [case["object_path"], *case["inventory_paths"]]:
        entry = objects.get(path or "")
        if entry and entry["error"]:
            errors.append(InputError.from_dict(entry["error"]))
    return errors


def _test_input_errors(
    suite: dict[str, Any], test: dict[str, Any], template: dict[str, Any] | None, objects: dict[str, Any]
) -> list[InputError]:
    """What stops a test's template or constraint from being loaded (every case of the test needs them)."""
    errors: list[InputError] = []
    if not test["template_path"]:
        errors.append(InputError(suite["path"], f"test '{test['name']}' names no template", test["line"]))
    elif template and template["error"]:
        errors.append(InputError.from_dict(template["error"]))
    if not test["constraint_path"]:
        errors.append(InputError(suite["path"], f"test '{test['name']}' names no constraint", test["line"]))
    entry = objects.get(test["constraint_path"] or "")
    if entry and entry["error"]:
        errors.append(InputError.from_dict(entry["error"]))
    return errors
