"""Requirement verdicts: what the results say about each framework requirement, decided once and
written into ``results.json`` so every report shows the same thing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from kitemark.core.model import WORST_FIRST, worst

# Verdicts and how reports word them. "Met" is a statement about the service: it is never made while
# some of the requirement's checks did not run (no target of their kind, or left out by the selection).
VERDICT_LABELS = {
    "failed": "Not met",
    "error": "Could not assess",
    "waived": "Met with waivers",
    "partial": "Partly assessed",
    "passed": "Met",
    "not_applicable": "Not applicable",
    "not_run": "No results in this run",
    "no_checks": "No automated checks",
    "manual": "Manual",
}


def requirement_verdict(
    requirement: Mapping[str, Any],
    statuses_by_check: Mapping[str, Counter[str]],
    incomplete_checks: set[str],
) -> tuple[str, dict[str, int]]:
    """(verdict, counts of result statuses) for one requirement."""
    checks = list(requirement.get("checks") or [])
    counts: Counter[str] = Counter()
    for cid in checks:
        counts.update(statuses_by_check.get(cid, Counter()))
    ordered = {status: counts.get(status, 0) for status in WORST_FIRST}
    if requirement.get("manual") and not checks:
        return "manual", ordered
    if not checks:
        return "no_checks", ordered
    if not counts:
        return "not_run", ordered
    found = worst(counts)
    unassessed = any(cid not in statuses_by_check or cid in incomplete_checks for cid in checks)
    if found in ("passed", "waived", "not_applicable") and unassessed:
        return "partial", ordered
    return found, ordered


def decide_requirements(
    frameworks: Iterable[dict[str, Any]],
    results: Iterable[dict[str, Any]],
    incomplete_checks: set[str],
    complete: bool = True,
) -> None:
    """Set ``verdict`` and ``counts`` on every requirement of every framework (in place). In a run that
    is incomplete as a whole (stopped early, a shard missing, a target or input not assessed), no
    requirement is "Met": at best it is partly assessed."""
    by_check: dict[str, Counter[str]] = {}
    for result in results:
        by_check.setdefault(result["check_id"], Counter())[result["status"]] += 1
    for framework in frameworks:
        for requirement in framework.get("requirements", []):
            verdict, counts = requirement_verdict(requirement, by_check, incomplete_checks)
            if not complete and verdict in ("passed", "waived", "not_applicable"):
                verdict = "partial"
            requirement["verdict"] = verdict
            requirement["counts"] = counts
