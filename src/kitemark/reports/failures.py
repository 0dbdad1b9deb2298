"""The pytest outcome of an item, decided on the controller from its results after waivers: what a
reviewer reading the terminal needs (the check, each failing resource with its location, the fix)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kitemark.core.model import Check, Result, Status, worst

MAX_LINES = 30


def first_sentence(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    sentence = flat.split(". ", 1)[0].rstrip(".:") + "."
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def _lines(results: Sequence[Result], statuses: set[Status]) -> list[str]:
    lines = [
        f"{f.status.value.upper()} {f.resource}"
        # an input error's message already starts with its file and line
        + (f" ({f.where})" if f.location and not f.message.startswith(f.where) else "")
        + f": {f.message}"
        for r in results
        for f in r.findings
        if f.status in statuses
    ]
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more (compliance.html lists them all)"]
    return lines


def item_outcome(
    report: pytest.TestReport, check: Check, controls: Sequence[str], results: Sequence[Result]
) -> None:
    """Set the report's outcome and text from its results (failed and error fail the item; waived is
    an xfail; not applicable a skip)."""
    status = worst(r.status.value for r in results)
    header = f"{check.id} {check.title} [{check.severity.value}; {', '.join(controls) or 'no controls'}]"
    path, line = str(report.location[0]), (report.location[1] or 0) + 1
    if status == "failed":
        shown = _lines(results, {Status.FAILED, Status.ERROR, Status.WAIVED})
        footer = f"fix: {first_sentence(check.remediation)} (more: compliance.html#check-{check.id})"
        report.outcome, report.longrepr = "failed", "\n".join([header, *shown, footer])
    elif status == "error":
        shown = _lines(results, {Status.ERROR})
        report.outcome, report.longrepr = "failed", "\n".join([header, "could not assess:", *shown])
    elif status == "waived":
        report.outcome = "skipped"
        report.wasxfail = "; ".join(_lines(results, {Status.WAIVED}))
        report.longrepr = (path, line, "waived")
    elif status == "not_applicable":
        reasons = sorted({f.message for r in results for f in r.findings})
        report.outcome, report.longrepr = "skipped", (path, line, "; ".join(reasons)[:500])
    else:
        report.outcome, report.longrepr = "passed", None
