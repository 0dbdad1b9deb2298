"""Declaring checks.

A check is a small pure function over one scope unit's data that yields one ``Finding`` per resource
it looked at. ``@check`` puts its metadata beside it and turns it into a pytest test that the
Kitemark plugin parametrizes with the units of its scope::

    @check(
        "K8S-NET-001",
        scope="cluster.namespace",
        title="Team namespaces deny ingress by default",
        severity="high",
        controls=["service-standard:9", "ncsc-csp:11"],
        rationale="...",
        remediation="...",
    )
    def test_default_deny_ingress(ns):
        if ...:
            yield failed(f"Namespace/{ns.name}", "no default-deny policy", evidence={...})
        else:
            yield passed(f"Namespace/{ns.name}", "policy 'default' selects every pod")

The undecorated function stays reachable as ``test_default_deny_ingress.evaluate`` for self-tests.
"""

from __future__ import annotations

import inspect
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from kitemark.core.kinds import NothingInScope, Unit
from kitemark.core.model import SUITES, Check, Finding, Severity, Status

CheckFn = Callable[[Any], Iterable[Finding] | None]

_REGISTRY: dict[str, tuple[Check, CheckFn, str]] = {}


class DuplicateCheckError(ValueError):
    pass


def passed(resource: str, message: str, *, evidence: Any = None, location: str | None = None) -> Finding:
    return Finding(Status.PASSED, resource, message, evidence, location)


def failed(resource: str, message: str, *, evidence: Any = None, location: str | None = None) -> Finding:
    return Finding(Status.FAILED, resource, message, evidence, location)


def not_applicable(resource: str, reason: str, *, evidence: Any = None) -> Finding:
    return Finding(Status.NOT_APPLICABLE, resource, reason, evidence)


def error(resource: str, message: str, *, evidence: Any = None, location: str | None = None) -> Finding:
    """The check could not assess this resource (unreadable input, API refused): never compliant."""
    return Finding(Status.ERROR, resource, message, evidence, location)


def check(
    id: str,
    *,
    scope: str,
    title: str,
    severity: str,
    controls: Iterable[str],
    rationale: str,
    remediation: str,
    references: Iterable[str] = (),
) -> Callable[[CheckFn], Callable[..., None]]:
    suite = scope.partition(".")[0]
    if suite not in SUITES:
        raise ValueError(f"{id}: scope {scope!r} must start with one of {', '.join(SUITES)}")
    meta = Check(
        id=id,
        suite=suite,
        scope=scope,
        title=title,
        severity=Severity(severity),
        controls=tuple(controls),
        rationale=_text(rationale),
        remediation=_text(remediation),
        references=tuple(references),
    )

    def decorate(fn: CheckFn) -> Callable[..., None]:
        _register(meta, fn)

        # The pytest-facing test: the plugin parametrizes `kitemark_unit` and provides `kitemark_record`.
        def test(kitemark_unit: Unit, kitemark_record: Callable[[list[Finding]], None]) -> None:
            kitemark_record(evaluate(fn, kitemark_unit))

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


def evaluate(fn: CheckFn, unit: Unit) -> list[Finding]:
    """Run a check on a unit. Input errors and exceptions become *error* findings, never a pass."""
    if unit.errors:
        return [error(unit.id, str(e), location=_location(e.path, e.line)) for e in unit.errors]
    if isinstance(unit.data, NothingInScope):
        scope = unit.data.scope.partition(".")[2]
        note = unit.data.searched.get("note")
        message = f"the target has no {scope} to check" + (f" ({note})" if note else "")
        return [not_applicable(unit.id, message, evidence={"searched": unit.data.searched})]
    try:
        findings = list(fn(unit.data) or [])
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f" (at {frame.filename.rsplit('/', 1)[-1]}:{frame.lineno})"
        return [error(unit.id, f"check raised {type(exc).__name__}: {exc}{where}")]
    if not findings:
        return [not_applicable(unit.id, "nothing in scope for this check")]
    return findings


def _location(path: str, line: int | None) -> str:
    return f"{path}:{line}" if line else path


def _register(meta: Check, fn: CheckFn) -> None:
    # A suite module may be imported twice (by `kitemark controls` and by pytest): same function is fine.
    origin = f"{inspect.getsourcefile(fn)}:{fn.__qualname__}"
    known = _REGISTRY.get(meta.id)
    if known and known[2] != origin:
        raise DuplicateCheckError(f"check id {meta.id} is declared twice: {known[2]} and {origin}")
    _REGISTRY[meta.id] = (meta, fn, origin)


def registered() -> dict[str, Check]:
    return {cid: entry[0] for cid, entry in sorted(_REGISTRY.items())}


def check_function(check_id: str) -> CheckFn:
    return _REGISTRY[check_id][1]
