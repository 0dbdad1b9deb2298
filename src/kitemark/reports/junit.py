"""`junit.xml` from the results document: one testcase per check x scope unit, one testsuite per target
kind. Each case has the `file` and `line` of its first located finding; each suite carries the run's
verdict, completeness and selection as properties, so a CI view of the file alone cannot mistake a
partial run for a compliant one."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from typing import Any

from kitemark.core.model import location_text

_TAG = {"failed": "failure", "error": "error", "waived": "skipped", "not_applicable": "skipped"}


def render_junit(document: dict[str, Any]) -> bytes:
    checks = document["checks"]
    runs = document["runs"]
    by_suite: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in document["results"]:
        suite = checks.get(result["check_id"], {}).get("kind", "unknown")
        by_suite[suite].append(result)

    root = ET.Element("testsuites", name="kitemark")
    totals: dict[str, float] = defaultdict(float)
    for suite in sorted(by_suite):
        results = by_suite[suite]
        element = ET.SubElement(root, "testsuite", name=f"kitemark.{suite}")
        props = ET.SubElement(element, "properties")
        _prop(props, "kitemark_version", document["kitemark_version"])
        _prop(props, "run_id", ",".join(run["id"] for run in runs))
        _prop(props, "verdict", document["summary"]["verdict"])
        _prop(props, "compliant", str(document["summary"]["compliant"]).lower())
        _prop(props, "complete", str(document["completeness"]["complete"]).lower())
        for reason in document["completeness"]["reasons"]:
            _prop(props, "incomplete_because", reason)
        _prop(props, "selection", " | ".join(run["selection"].get("text", "") for run in runs))
        counts: defaultdict[str, int] = defaultdict(int)
        for result in results:
            counts[_TAG.get(result["status"], "passed")] += 1
            _testcase(element, result, checks.get(result["check_id"], {}))
        attrs = {
            "tests": len(results),
            "failures": counts["failure"],
            "errors": counts["error"],
            "skipped": counts["skipped"],
            "time": round(sum(r["duration"] for r in results), 3),
            "timestamp": runs[0]["started"],
            "hostname": runs[0]["hostname"],
        }
        for key, value in attrs.items():
            element.set(key, str(value))
            if key in ("tests", "failures", "errors", "skipped", "time"):
                totals[key] += float(value)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(int(totals[key])))
    root.set("time", str(round(totals["time"], 3)))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _testcase(parent: ET.Element, result: dict[str, Any], check: dict[str, Any]) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=f"kitemark.{check.get('kind', 'unknown')}.{result['check_id']}",
        name=result["id"],
        time=str(result["duration"]),
    )
    # The finding that decided the result's status points the CI annotation at its file and line.
    ordered = sorted(result["findings"], key=lambda f: f["status"] != result["status"])
    located = next((f["location"] for f in ordered if (f.get("location") or {}).get("type") == "file"), None)
    if located:
        case.set("file", located["path"])
        if located.get("line"):
            case.set("line", str(located["line"]))
    props = ET.SubElement(case, "properties")
    _prop(props, "check_id", result["check_id"])
    _prop(props, "title", check.get("title", ""))
    _prop(props, "controls", ",".join(check.get("controls", [])))
    _prop(props, "severity", check.get("severity", ""))
    _prop(props, "status", result["status"])
    _prop(props, "target", result["target"])
    tag = _TAG.get(result["status"])
    if tag is None:
        return
    relevant = [f for f in result["findings"] if f["status"] == result["status"]]
    message = "; ".join(_summary(f) for f in relevant)
    outcome = ET.SubElement(case, tag, message=_one_line(message))
    if result["status"] == "waived":
        outcome.set("type", "waived")
    elif result["status"] == "not_applicable":
        outcome.set("type", "not_applicable")
    else:
        outcome.set("type", check.get("severity", "error"))
        outcome.text = _failure_text(relevant, check)


def _summary(finding: dict[str, Any]) -> str:
    waiver = finding.get("waiver")
    if finding["status"] == "waived" and waiver:
        return (
            f"{finding['resource']}: waived by {waiver['id']} until {waiver['expires']} "
            f"({waiver['owner']}): {waiver['justification']}"
        )
    return f"{finding['resource']}: {finding['message']}"


def _failure_text(findings: list[dict[str, Any]], check: dict[str, Any]) -> str:
    parts = []
    for finding in findings:
        where = f" ({location_text(finding['location'])})" if finding.get("location") else ""
        parts.append(f"{finding['resource']}{where}: {finding['message']}")
        if finding.get("evidence") is not None:
            parts.append("  evidence: " + json.dumps(finding["evidence"], sort_keys=True, default=str))
        if finding.get("waiver"):
            waiver = finding["waiver"]
            parts.append(f"  waiver {waiver['id']} expired on {waiver['expires']}: {waiver['justification']}")
    if check.get("remediation"):
        parts.append("remediation:\n" + check["remediation"])
    return "\n".join(parts)


def _one_line(text: str, limit: int = 500) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _prop(parent: ET.Element, name: str, value: str) -> None:
    ET.SubElement(parent, "property", name=name, value=str(value))
