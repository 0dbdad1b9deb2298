"""`junit.xml` from the results document: one testcase per check x scope unit, one testsuite per target
kind. Each case has the `file` and `line` of the finding that decided it; each suite carries the run's
verdict, completeness and selection as properties, so a CI view of the file alone cannot mistake a
partial run for a compliant one.

Written as text rather than through ElementTree, whose serializer was most of a large run's report
time (6,000 cases: 0.64 s against 0.27 s); every value passes through `_attr` or `_text`, which
escape it and replace what XML cannot hold."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from kitemark.core.model import location_text
from kitemark.reports.safe_text import for_xml
from kitemark.results import judged_on, warnings

_TAG = {"failed": "failure", "error": "error", "waived": "skipped", "not_applicable": "skipped"}


def _clean(value: Any) -> str:
    # A NUL or ESC in a message would make the whole file unreadable: shown as a visible escape.
    text = str(value)
    return text if text.isprintable() else for_xml(text)


def _attr(value: Any) -> str:
    text = (
        _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
    return '"' + text.replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;") + '"'


def _text(value: Any) -> str:
    return _clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _prop(name: str, value: Any) -> str:
    return f"<property name={_attr(name)} value={_attr(value)} />"


def render_junit(document: dict[str, Any]) -> bytes:
    checks = document["checks"]
    by_suite: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for result in document["results"]:
        by_suite[checks.get(result["check_id"], {}).get("kind", "unknown")].append(result)
    # Computed once: every suite carries them.
    notices = [_prop("waivers_judged_on", judged_on(document) or "not recorded")]
    notices += [_prop("warning", text) for text in warnings(document)]
    suites = [_suite(document, kind, by_suite[kind], notices) for kind in sorted(by_suite)]
    totals: defaultdict[str, int] = defaultdict(int)
    for result in document["results"]:
        totals[_TAG.get(result["status"], "passed")] += 1
    time = round(sum(r["duration"] for r in document["results"]), 3)
    head = (
        f'<testsuites name="kitemark" tests="{len(document["results"])}" failures="{totals["failure"]}" '
        f'errors="{totals["error"]}" skipped="{totals["skipped"]}" time="{time}">'
    )
    body = "\n".join(["<?xml version='1.0' encoding='utf-8'?>", head, *suites, "</testsuites>"])
    return (body + "\n").encode("utf-8")


def _suite(document: dict[str, Any], kind: str, results: list[dict[str, Any]], notices: list[str]) -> str:
    runs = document["runs"]
    counts: defaultdict[str, int] = defaultdict(int)
    for result in results:
        counts[_TAG.get(result["status"], "passed")] += 1
    attrs = {
        "name": f"kitemark.{kind}",
        "tests": len(results),
        "failures": counts["failure"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "time": round(sum(r["duration"] for r in results), 3),
        "timestamp": runs[0]["started"],
        "hostname": runs[0]["hostname"],
    }
    props = [
        _prop("kitemark_version", document["kitemark_version"]),
        _prop("run_id", ",".join(run["id"] for run in runs)),
        _prop("verdict", document["summary"]["verdict"]),
        _prop("compliant", str(document["summary"]["compliant"]).lower()),
        _prop("complete", str(document["completeness"]["complete"]).lower()),
        *(_prop("incomplete_because", reason) for reason in document["completeness"]["reasons"]),
        _prop("selection", " | ".join(run["selection"].get("text", "") for run in runs)),
        *notices,
    ]
    opening = "  <testsuite " + " ".join(f"{k}={_attr(v)}" for k, v in attrs.items()) + ">"
    checks = document["checks"]
    in_repo = _repository_paths(document)
    cases = [line for r in results for line in _testcase(r, checks.get(r["check_id"], {}), in_repo)]
    return "\n".join([opening, "    <properties>", *(f"      {p}" for p in props), "    </properties>",
                      *cases, "  </testsuite>"])  # fmt: skip


def _repository_paths(document: dict[str, Any]) -> dict[str, str]:
    """Each git-tracked target's folder relative to its repository root (CI runs from the root)."""
    return {
        t["label"]: t["commit"]["path"]
        for t in document["targets"]
        if (t.get("commit") or {}).get("tracked") and t["commit"].get("path")
    }


def _testcase(result: dict[str, Any], check: dict[str, Any], in_repo: dict[str, str]) -> Iterator[str]:
    attrs = {
        "classname": f"kitemark.{check.get('kind', 'unknown')}.{result['check_id']}",
        "name": result["id"],
        "time": result["duration"],
    }
    # The finding that decided the result's status points the CI annotation at its file and line.
    ordered = sorted(result["findings"], key=lambda f: f["status"] != result["status"])
    located = next((f["location"] for f in ordered if (f.get("location") or {}).get("type") == "file"), None)
    if located:
        base = in_repo.get(result["target"], ".")
        attrs["file"] = located["path"] if base == "." else f"{base}/{located['path']}"
        if located.get("line"):
            attrs["line"] = located["line"]
    yield "    <testcase " + " ".join(f"{k}={_attr(v)}" for k, v in attrs.items()) + ">"
    yield "      <properties>"
    for name, value in (
        ("check_id", result["check_id"]),
        ("title", check.get("title", "")),
        ("controls", ",".join(check.get("controls", []))),
        ("severity", check.get("severity", "")),
        ("status", result["status"]),
        ("target", result["target"]),
    ):
        yield f"        {_prop(name, value)}"
    yield "      </properties>"
    tag = _TAG.get(result["status"])
    if tag is not None:
        yield "      " + _outcome(tag, result, check)
    yield "    </testcase>"


def _outcome(tag: str, result: dict[str, Any], check: dict[str, Any]) -> str:
    relevant = [f for f in result["findings"] if f["status"] == result["status"]]
    message = _attr(_one_line("; ".join(_summary(f) for f in relevant)))
    if result["status"] in ("waived", "not_applicable"):
        return f"<{tag} message={message} type={_attr(result['status'])} />"
    kind = _attr(check.get("severity", "error"))
    return f"<{tag} message={message} type={kind}>{_text(_failure_text(relevant, check))}</{tag}>"


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
    # Escaped first: str.split() would take FF, NEL and the like for spaces and hide them.
    flat = " ".join(for_xml(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
