"""The pytest outcome of an item, decided on the controller from its results after waivers: what a
reviewer reading the terminal needs (the check, each failing resource with its location, the fix).
pytest prints these texts as they are, so each is made safe for a terminal here (``safe_text``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from kitemark.core.model import Check, location_text, worst
from kitemark.reports.safe_text import for_terminal

MAX_LINES = 30


def first_sentence(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    sentence = flat.split(". ", 1)[0].rstrip(".:") + "."
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def _lines(results: Sequence[dict[str, Any]], statuses: set[str]) -> list[str]:
    lines = []
    for result in results:
        for f in result["findings"]:
            if f["status"] not in statuses:
                continue
            where = location_text(f.get("location"))
            # an input error's message already starts with its file and line
            shown = f" ({where})" if where and not f["message"].startswith(where) else ""
            # One line each, whatever a file name or message holds: a newline must not fake a log line.
            line = f"{f['status'].upper()} {f['resource']}{shown}: {f['message']}"
            lines.append(for_terminal(line, one_line=True))
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"… and {len(lines) - MAX_LINES} more (compliance.html lists them all)"]
    return lines


def item_outcome(
    report: pytest.TestReport, check: Check, controls: Sequence[str], results: Sequence[dict[str, Any]]
) -> None:
    """Set the report's outcome and text from its results, as results.json holds them (failed and
    error fail the item; waived is an xfail; not applicable a skip)."""
    status = worst(r["status"] for r in results)
    tags = f"{check.severity.value}; {', '.join(controls) or 'no controls'}"
    header = for_terminal(f"{check.id} {check.title} [{tags}]")
    path, line = str(report.location[0]), (report.location[1] or 0) + 1
    if status == "failed":
        shown = _lines(results, {"failed", "error", "waived"})
        more = f"compliance.html#check-{check.id}"
        footer = for_terminal(f"fix: {first_sentence(check.remediation)} (more: {more})")
        report.outcome, report.longrepr = "failed", "\n".join([header, *shown, footer])
    elif status == "error":
        shown = _lines(results, {"error"})
        report.outcome, report.longrepr = "failed", "\n".join([header, "could not assess:", *shown])
    elif status == "waived":
        report.outcome = "skipped"
        report.wasxfail = "; ".join(_lines(results, {"waived"}))
        report.longrepr = (path, line, "waived")
    elif status == "not_applicable":
        reasons = sorted({for_terminal(f["message"], one_line=True) for r in results for f in r["findings"]})
        report.outcome, report.longrepr = "skipped", (path, line, "; ".join(reasons)[:500])
    else:
        report.outcome, report.longrepr = "passed", None
