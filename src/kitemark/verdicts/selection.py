"""Which checks a run chooses: ``--control`` (a check id or a framework control), ``--framework`` and
``--severity``, decided once on the controller. Checks flagged ``always_run`` (input checks among
them) are always kept, so a selection can never hide that the evidence was incomplete."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from kitemark.core.errors import UsageError
from kitemark.core.frameworks import Framework, controls_by_check
from kitemark.core.model import SEVERITY_ORDER, Check, Severity


def validate_severity(level: str | None) -> int | None:
    if level is None:
        return None
    try:
        return Severity(level).rank
    except ValueError:
        raise UsageError(f"--severity {level}: expected one of {', '.join(SEVERITY_ORDER)}") from None


def validate_frameworks(framework_ids: Iterable[str], frameworks: Iterable[Framework]) -> None:
    known = {fw.id for fw in frameworks}
    for fid in framework_ids:
        if fid not in known:
            raise UsageError(f"--framework {fid}: unknown framework (known: {', '.join(sorted(known))})")


def select_checks(
    frameworks: Iterable[Framework],
    checks: Mapping[str, Check],
    *,
    controls: Iterable[str] = (),
    framework_ids: Iterable[str] = (),
    min_severity: str | None = None,
) -> set[str]:
    """Check ids chosen by the selection options, always-run checks included."""
    frameworks = list(frameworks)
    mapped = controls_by_check(frameworks, checks)
    chosen = set(checks)
    wanted = list(controls)
    if wanted:
        _validate_controls(wanted, frameworks, checks, mapped)
        chosen = {cid for cid in chosen if cid in wanted or set(mapped[cid]) & set(wanted)}
    wanted_frameworks = list(framework_ids)
    if wanted_frameworks:
        validate_frameworks(wanted_frameworks, frameworks)
        prefixes = tuple(f"{fid}:" for fid in wanted_frameworks)
        chosen = {cid for cid in chosen if any(c.startswith(prefixes) for c in mapped[cid])}
    floor = validate_severity(min_severity)
    if floor is not None:
        chosen = {cid for cid in chosen if checks[cid].severity.rank >= floor}
    return chosen | {cid for cid, c in checks.items() if c.always_run}


def _validate_controls(
    wanted: list[str],
    frameworks: list[Framework],
    checks: Mapping[str, Check],
    mapped: Mapping[str, list[str]],
) -> None:
    manual = {req.control for fw in frameworks for req in fw.requirements if req.manual}
    for control in wanted:
        if control in checks or any(control in v for v in mapped.values()):
            continue
        if control in manual:
            raise UsageError(f"--control {control}: a manual requirement; no automated check evidences it")
        known = {*checks, *(c for v in mapped.values() for c in v)}
        near = next((k for k in sorted(known) if k.lower() == control.lower()), None)
        hint = f" (did you mean {near}?)" if near else ""
        raise UsageError(f"--control {control}: not a check id nor a control of any check{hint}")


def require_assessing_checks(chosen: set[str], checks: Mapping[str, Check], kinds: set[str]) -> None:
    """A selection must keep at least one check (beyond input checks) of the given targets' kinds, or
    the run could only ever assess nothing: say which severities and checks exist instead."""
    of_targets = {cid: c for cid, c in checks.items() if c.kind in kinds and not c.input_check}
    if any(cid in chosen for cid in of_targets):
        return
    names = ", ".join(sorted(kinds))
    present = sorted({c.severity.value for c in of_targets.values()}, key=SEVERITY_ORDER.index)
    raise UsageError(
        f"the selection keeps no check of the given targets ({names}); their checks are "
        f"{', '.join(sorted(of_targets)) or 'none'}, at severities {', '.join(present) or 'none'}"
    )
