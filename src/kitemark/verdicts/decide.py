"""Everything a results document concludes, decided in one place from its results: the controls
each check evidences, which waivers were used, completeness, requirement verdicts and the compliance
verdict. ``kitemark run``, ``kitemark report`` (for documents from older versions) and
``kitemark merge`` all call ``decide``; reports only render what it wrote."""

from __future__ import annotations

from collections import Counter
from typing import Any

from kitemark.core.frameworks import controls_by_check
from kitemark.core.model import ASSESSED, Status, worst
from kitemark.verdicts.completeness import completeness
from kitemark.verdicts.requirements import decide_requirements
from kitemark.verdicts.waivers import covers

# The run's verdict, and how reports word it.
RUN_VERDICTS = {
    "compliant": "Compliant",
    "not_compliant": "Not compliant",
    "incomplete": "Incomplete: partial results, not compliant",
    "nothing_assessed": "Nothing assessed: not compliant",
}


def decide(document: dict[str, Any]) -> dict[str, Any]:
    """Fill in the document's conclusions (in place) and return it."""
    results = document["results"]
    _unbacked_waivers(document)
    for result in results:  # a result is its worst finding, whatever a (hand-edited) file says
        result["status"] = worst(f["status"] for f in result["findings"])
    _controls(document)
    _waiver_use(document)
    complete = completeness(document["runs"], document["targets"], results, document["checks"])
    document["completeness"] = complete
    decide_requirements(
        document["frameworks"], results, set(complete["incomplete_checks"]), complete["complete"]
    )
    document["summary"] = summarise(results, document["targets"], complete=complete["complete"])
    return document


def _controls(document: dict[str, Any]) -> None:
    mapped = controls_by_check(document["frameworks"], document["checks"])
    for cid, check in document["checks"].items():
        check["controls"] = mapped[cid]


def _unbacked_waivers(document: dict[str, Any]) -> None:
    """A finding counts as waived only if a live waiver in the document covers it: one marked
    waived by hand, or whose waiver is gone or expired, is failed again."""
    entries = {entry["id"]: entry for entry in document["waivers"]["entries"]}
    for result in document["results"]:
        for finding in result["findings"]:
            if finding["status"] != Status.WAIVED.value:
                continue
            entry = entries.get((finding.get("waiver") or {}).get("id"))
            if (
                entry is None
                or entry.get("expired")
                or not covers(entry, result["check_id"], result["target"], finding["resource"])
            ):
                finding["status"] = Status.FAILED.value
                finding["waiver"] = None
                finding["message"] += " [marked waived, but no waiver in the results covers it]"


def _waiver_use(document: dict[str, Any]) -> None:
    matched: dict[str, list[str]] = {}
    for result in document["results"]:
        for finding in result["findings"]:
            waiver = finding.get("waiver")
            if waiver and result["id"] not in matched.setdefault(waiver["id"], []):
                matched[waiver["id"]].append(result["id"])
    for entry in document["waivers"]["entries"]:
        entry["matched"] = sorted(matched.get(entry["id"], []))
        entry["used"] = bool(entry["matched"])


def summarise(
    results: list[dict[str, Any]], targets: list[dict[str, Any]], *, complete: bool
) -> dict[str, Any]:
    counts = Counter(r["status"] for r in results)
    summary: dict[str, Any] = {status.value: counts.get(status.value, 0) for status in Status}
    summary["total"] = len(results)
    summary["assessed"] = sum(1 for r in results if r["status"] in ASSESSED)
    # An input error is incomplete evidence even when the selection ran no check that reports it.
    summary["input_errors"] = sum(len(t.get("errors", [])) for t in targets)
    if summary["failed"] or summary["error"] or summary["input_errors"]:
        verdict = "not_compliant"
    elif not complete:
        verdict = "incomplete"
    elif summary["assessed"] == 0:
        verdict = "nothing_assessed"
    else:
        verdict = "compliant"
    summary["verdict"] = verdict
    summary["compliant"] = verdict == "compliant"
    return summary
