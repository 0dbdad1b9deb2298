"""Declaring checks.

A check is a small pure function over one scope unit's view that yields one ``Finding`` per resource
it looked at. ``@check`` puts its metadata beside it and turns it into a pytest test that the
Kitemark plugin parametrizes with the units of its scope::

    @check(
        "K8S-NET-001",
        scope="cluster.namespace",
        title="Team namespaces deny ingress by default",
        severity="high",
        rationale="...",
        remediation="...",
        reads=["networking.k8s.io/NetworkPolicy"],
    )
    def test_default_deny_ingress(ns):
        if ...:
            yield failed(ns.ref, "no default-deny policy", evidence={...}, location=ns.location)
        else:
            yield passed(ns.ref, "policy 'default' selects every pod")

A check that reads platform values declares them (``inputs=[SYSTEM_NAMESPACES]``) and takes them as
its second argument. Which framework requirements a check evidences is said by the framework files
(``data/frameworks/*.yaml``), not here. The undecorated function stays reachable as
``test_default_deny_ingress.evaluate`` for self-tests.
"""

from __future__ import annotations

import inspect
import os
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from kitemark.core.inputs import Input, Inputs
from kitemark.core.kinds import InputError, NothingInScope, Unit
from kitemark.core.model import Check, FileLocation, Finding, Location, Result, Severity, Status

CheckFn = Callable[..., Iterable[Finding] | None]

_REGISTRY: dict[str, tuple[Check, CheckFn, str, tuple[Input, ...]]] = {}


class DuplicateCheckError(ValueError):
    pass


def _location(location: Location | str | None) -> Location | None:
    return FileLocation.parse(location) if isinstance(location, str) else location


def passed(
    resource: str, message: str, *, evidence: Any = None, location: Location | str | None = None
) -> Finding:
    return Finding(Status.PASSED, resource, message, evidence, _location(location))


def failed(
    resource: str, message: str, *, evidence: Any = None, location: Location | str | None = None
) -> Finding:
    return Finding(Status.FAILED, resource, message, evidence, _location(location))


def not_applicable(resource: str, reason: str, *, evidence: Any = None) -> Finding:
    return Finding(Status.NOT_APPLICABLE, resource, reason, evidence)


def error(
    resource: str, message: str, *, evidence: Any = None, location: Location | str | None = None
) -> Finding:
    """The check could not assess this resource (unreadable input, API refused): never compliant."""
    return Finding(Status.ERROR, resource, message, evidence, _location(location))


def check(
    id: str,
    *,
    scope: str,
    title: str,
    severity: str,
    rationale: str,
    remediation: str,
    references: Iterable[str] = (),
    reads: Iterable[str] = (),
    inputs: Iterable[Input] = (),
    input_check: bool = False,
    always_run: bool = False,
) -> Callable[[CheckFn], Callable[..., None]]:
    kind, dot, scope_name = scope.partition(".")
    if not (kind and dot and scope_name):
        raise ValueError(f"{id}: scope {scope!r} must be '<kind>.<scope>', e.g. 'cluster.namespace'")
    declared = tuple(inputs)
    meta = Check(
        id=id,
        kind=kind,
        scope=scope,
        title=title,
        severity=Severity(severity),
        rationale=_text(rationale),
        remediation=_text(remediation),
        references=tuple(references),
        reads=tuple(reads),
        inputs=tuple(i.name for i in declared),
        input_check=input_check,
        always_run=always_run or input_check,
    )

    def decorate(fn: CheckFn) -> Callable[..., None]:
        takes_inputs = len(inspect.signature(fn).parameters) >= 2
        if declared and not takes_inputs:
            raise TypeError(f"{id}: declares inputs, so {fn.__name__} must take (data, inputs)")
        _register(meta, fn, declared)

        # The pytest-facing test: the plugin parametrizes the units and evaluates `fn` over them.
        def test(kitemark_evaluate: Callable[[CheckFn], None]) -> None:
            kitemark_evaluate(fn)

        test.__name__ = fn.__name__
        test.__qualname__ = fn.__qualname__
        test.__module__ = fn.__module__
        test.__doc__ = title
        test.kitemark_check = meta  # type: ignore[attr-defined]
        test.evaluate = fn  # type: ignore[attr-defined]
        return test

    return decorate


def _text(value: str) -> str:
    """Auditor-facing text: dedented, with reStructuredText ``code`` written as plain `code`."""
    return inspect.cleandoc(value).replace("``", "`")


def evaluate(fn: CheckFn, unit: Unit, inputs: Mapping[str, Any] | None = None) -> list[Finding]:
    """Run a check on a unit. Input errors and exceptions become *error* findings, never a pass."""
    findings = _evaluate(fn, unit, inputs)
    if unit.root:
        for finding in findings:
            where = finding.location
            if isinstance(where, FileLocation) and where.root is None:
                finding.location = FileLocation(where.path, where.line, unit.root)
    return findings


def _evaluate(fn: CheckFn, unit: Unit, inputs: Mapping[str, Any] | None) -> list[Finding]:
    reads = getattr(fn, "kitemark_reads", ())
    errors = [e for e in unit.errors if e.concerns(reads)]
    if errors:
        return [_input_error(unit.id, e) for e in errors]
    if isinstance(unit.data, NothingInScope):
        scope = unit.data.scope.partition(".")[2]
        note = unit.data.searched.get("note")
        message = f"the target has no {scope} to check" + (f" ({note})" if note else "")
        return [not_applicable(unit.id, message, evidence={"searched": unit.data.searched})]
    try:
        names = getattr(fn, "kitemark_inputs", None)  # set when registered with inputs
        if names is not None:
            values = inputs or {}
            found = fn(unit.data, Inputs(fn.__name__, {n: values[n] for n in names if n in values}))
        else:
            found = fn(unit.data)
        findings = list(found or [])
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"
        return [error(unit.id, f"check raised {type(exc).__name__}: {exc}{where}")]
    if not findings:
        return [not_applicable(unit.id, "nothing in scope for this check")]
    return findings


def _input_error(resource: str, problem: InputError) -> Finding:
    """The message names the file and line (or the API call) so it reads alone, as in JUnit; a file's
    error is also located at the file."""
    where = FileLocation(problem.path, problem.line) if problem.file else None
    return error(resource, str(problem), location=where)


def run_on_units(
    check: Check, fn: CheckFn, units: Iterable[Unit], inputs: Mapping[str, Any] | None = None
) -> list[Result]:
    """One result per unit, each timed."""
    results = []
    for unit in units:
        started = time.perf_counter()
        findings = evaluate(fn, unit, inputs)
        results.append(Result(check.id, unit.target, unit.id, findings, time.perf_counter() - started))
    return results


def _register(meta: Check, fn: CheckFn, inputs: tuple[Input, ...]) -> None:
    origin = f"{Path(inspect.getsourcefile(fn) or '?').resolve()}:{fn.__qualname__}"
    known = _REGISTRY.get(meta.id)
    if known and known[2] != origin:
        raise DuplicateCheckError(f"check id {meta.id} is declared twice: {known[2]} and {origin}")
    if len(inspect.signature(fn).parameters) >= 2:
        fn.kitemark_inputs = meta.inputs  # type: ignore[attr-defined]
    fn.kitemark_reads = meta.reads  # type: ignore[attr-defined]  # which input errors concern it
    _REGISTRY[meta.id] = (meta, fn, origin, inputs)


def registered(roots: Iterable[Path] | None = None) -> dict[str, Check]:
    """Declared checks, all of them or those whose code lies under one of ``roots``."""
    folders = [str(r.resolve()) + os.sep for r in roots] if roots is not None else None
    return {
        cid: entry[0]
        for cid, entry in sorted(_REGISTRY.items())
        if folders is None or entry[2].startswith(tuple(folders))
    }


def check_function(check_id: str) -> CheckFn:
    return _REGISTRY[check_id][1]


def declared_inputs(check_id: str) -> tuple[Input, ...]:
    return _REGISTRY[check_id][3]
