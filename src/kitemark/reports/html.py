"""The auditor report (compliance.html), rendered from a results document alone.

The page is one self-contained file: inline CSS, no external assets, readable and printable without
JavaScript. Everything in the results document is shown somewhere: results of checks that no
framework requirement names, and checks missing from the document's catalogue, go to "Other checks".

Python builds a view of the document (grouping, counts, verdicts, anchors) so the Jinja template only
lays it out. The output depends on the document alone (no clock, no environment), so re-rendering
the same results.json gives the same bytes.

All text from the document is escaped (autoescape), text from the targets is wrapped in ``<bdi>`` (the
``bdi`` filter), and every control character HTML forbids is shown as a visible escape (``_finalize``
and ``html_results``), so no name can reverse, hide or break the text around it.
"""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from kitemark.core.model import SEVERITY_ORDER, WORST_FIRST, location_text
from kitemark.reports import html_results
from kitemark.reports.html_results import STATUS_LABELS, occurrence
from kitemark.reports.safe_text import for_html
from kitemark.results import judged_on, warnings
from kitemark.verdicts.decide import RUN_VERDICTS
from kitemark.verdicts.requirements import VERDICT_LABELS
from kitemark.verdicts.waivers import covers_everything

TEMPLATES = Path(__file__).resolve().parent / "templates"

# Order of count columns (the model's worst-first order is for sorting).
STATUSES = ("passed", "failed", "error", "waived", "not_applicable")
SEVERITIES = SEVERITY_ORDER

# Requirement verdicts (kitemark.verdicts.requirements) double as CSS class suffixes.
_SETTLED = ("passed", "not_applicable")
# Requirements an auditor must look at start expanded; settled ones (and manual ones, whose text is
# already in the requirements table) start collapsed.
_COLLAPSED_VERDICTS = {"passed", "not_applicable", "manual"}


@dataclass
class FindingView:
    status: str
    resource: str
    message: str
    location: str | None
    evidence: Any  # the finding's evidence (laid out when rendered, see html_results); None when none
    waiver: dict[str, Any] | None
    waiver_anchor: str | None


@dataclass
class ResultView:
    id: str
    check_id: str
    target: str
    unit: str
    status: str
    duration: float
    findings: list[FindingView]
    slug: str
    home: str = ""  # anchor of the place this result is shown in full

    @property
    def action_findings(self) -> list[FindingView]:
        return [f for f in self.findings if f.status in ("failed", "error")]


@dataclass
class CheckView:
    id: str
    known: bool  # False: referenced by results or a framework but absent from `checks`
    title: str
    severity: str | None
    suite: str
    scope: str
    controls: list[str]
    rationale: str
    remediation: str
    references: list[str]
    anchor: str
    results: list[ResultView] = field(default_factory=list)
    requirements: list[RequirementView] = field(default_factory=list)
    home: str = ""  # section context where its passed / not applicable results are shown in full

    @property
    def home_anchor(self) -> str:
        return f"{self.home}--{self.anchor}"

    @property
    def attention_results(self) -> list[ResultView]:
        return [r for r in self.results if r.status not in _SETTLED]

    @property
    def settled_results(self) -> list[ResultView]:
        return [r for r in self.results if r.status in _SETTLED]

    @property
    def counts(self) -> dict[str, int]:
        return count_statuses(self.results)

    @property
    def severity_rank(self) -> int:
        return SEVERITIES.index(self.severity) if self.severity in SEVERITIES else len(SEVERITIES)


@dataclass
class RequirementView:
    framework_id: str
    framework_name: str
    id: str
    control: str
    title: str
    description: str
    manual: bool
    manual_evidence: str
    anchor: str
    checks: list[CheckView]
    verdict: str  # decided in results.json (kitemark.verdicts.requirements), as are its counts
    counts: dict[str, int]

    @property
    def results(self) -> list[ResultView]:
        return [r for c in self.checks for r in c.results]

    @property
    def open(self) -> bool:
        return self.verdict not in _COLLAPSED_VERDICTS


@dataclass
class FrameworkView:
    id: str
    name: str
    url: str
    anchor: str
    requirements: list[RequirementView]

    @property
    def verdict_counts(self) -> dict[str, int]:
        counts = Counter(r.verdict for r in self.requirements)
        return {key: counts[key] for key in VERDICT_LABELS if counts[key]}


@dataclass
class WaiverView:
    id: str
    check: str
    target: str | None
    resource: str
    justification: str
    owner: str
    expires: str
    expired: bool
    used: bool
    in_file: bool  # False: named by a finding but absent from the waivers file
    everything: bool  # its selectors are wildcards only: it waives every failure of its check
    anchor: str
    matched: list[tuple[str, str | None]]  # (result id, anchor of the result or None)

    @property
    def state(self) -> str:
        if self.expired:
            return "expired"
        return "active" if self.used else "unused"

    @property
    def state_label(self) -> str:
        if self.expired:
            return "Expired" if self.used else "Expired, unused"
        return "Active" if self.used else "Unused"


def count_statuses(results: Iterable[ResultView]) -> dict[str, int]:
    counts = Counter(r.status for r in results)
    return {status: counts[status] for status in STATUSES}


def _status_rank(status: str) -> int:
    return WORST_FIRST.index(status) if status in WORST_FIRST else len(WORST_FIRST)


class _Anchors:
    """HTML ids: readable, and unique within the page whatever the input strings are."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def make(self, prefix: str, *parts: str) -> str:
        base = "-".join([prefix, *(_slug(p) for p in parts)])
        anchor, n = base, 2
        while anchor in self._used:
            anchor, n = f"{base}-{n}", n + 1
        self._used.add(anchor)
        return anchor


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "x"


_encode_string = json.encoder.encode_basestring  # json.dumps(str, ensure_ascii=False), in C


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return _encode_string(value)
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return _encode_string(str(value))  # what json.dumps(default=str) writes


def _flat(value: Any, memo: dict[int, str]) -> str:
    """A value as one line of JSON, ", " and ": " separated; each container is written once."""
    key = id(value)
    found = memo.get(key)
    if found is not None:
        return found
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{_encode_string(str(k))}: {_flat(v, memo)}" for k, v in value.items()) + "}"
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(_flat(v, memo) for v in value) + "]"
    else:
        return _scalar(value)
    memo[key] = text
    return text


def pretty_json(value: Any, indent: int = 0, width: int = 88, memo: dict[int, str] | None = None) -> str:
    """JSON with nesting on separate lines but short lists/objects kept on one, which reads better
    than json.dumps(indent=2) and is a third of its size for typical evidence. Parses back unchanged.
    Every part is written flat once (``memo``), so a large report lays out its evidence in linear time."""
    memo = {} if memo is None else memo
    flat = _flat(value, memo)
    if indent + len(flat) <= width or not isinstance(value, dict | list) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [
            f"{pad}{_encode_string(str(k))}: {pretty_json(v, indent + 2, width, memo).lstrip()}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    if not any(isinstance(v, dict | list) for v in value):
        # A long list of scalars: as many per line as fit.
        lines, line = [], ""
        for v in value:
            item = _scalar(v)
            if line and len(pad) + len(line) + len(item) + 2 > width:
                lines.append(line + ",")
                line = ""
            line = f"{line}, {item}" if line else item
        lines.append(line)
        return "[\n" + "\n".join(pad + ln for ln in lines) + "\n" + " " * indent + "]"
    items = [pad + pretty_json(v, indent + 2, width, memo).lstrip() for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def text_blocks(text: str) -> list[tuple[str, str]]:
    """Split check prose into ("p", text) paragraphs and ("code", text) snippets.

    Snippets are ``` fenced blocks or paragraphs indented as a whole (check authors write YAML/HCL
    examples in remediation text); both keep their line breaks in a <pre>.
    """
    blocks: list[tuple[str, str]] = []
    fence: list[str] | None = None
    para: list[str] = []

    def flush() -> None:
        if not para:
            return
        lines = [line for line in para if line.strip()]
        if all(line.startswith(("  ", "\t")) for line in lines):
            blocks.append(("code", textwrap.dedent("\n".join(para)).strip("\n")))
        else:
            blocks.append(("p", "\n".join(para).strip()))
        para.clear()

    for line in text.splitlines():
        if fence is not None:
            if line.strip().startswith("```"):
                blocks.append(("code", "\n".join(fence)))
                fence = None
            else:
                fence.append(line)
        elif line.strip().startswith("```"):
            flush()
            fence = []
        elif line.strip():
            para.append(line)
        else:
            flush()
    flush()
    if fence is not None:  # unterminated fence: keep the text rather than lose it
        blocks.append(("code", "\n".join(fence)))
    return blocks


def code_spans(text: str) -> list[tuple[bool, str]]:
    """Split a paragraph on `backticks` into (is_code, text) parts; an unpaired backtick stays text."""
    parts = text.split("`")
    if len(parts) % 2 == 0:
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    return [(i % 2 == 1, part) for i, part in enumerate(parts) if part]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min {secs} s" if hours else f"{minutes} min {secs} s"


def _is_web_url(value: Any) -> bool:
    # Only http(s) becomes a link: a `javascript:` reference must stay inert text.
    return isinstance(value, str) and value.startswith(("https://", "http://"))


class _Views:
    """Builds the views of checks, results and frameworks from a results document."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.anchors = _Anchors()
        self.slugs = _Anchors()
        self.targets = {t.get("label"): t for t in results.get("targets", [])}
        self.catalogue: dict[str, dict[str, Any]] = results.get("checks", {})
        self.checks: dict[str, CheckView] = {}
        for check_id in sorted(self.catalogue):
            self.check(check_id)

    def check(self, check_id: str, kind_hint: str = "") -> CheckView:
        if check_id not in self.checks:
            meta = self.catalogue.get(check_id) or {}
            self.checks[check_id] = CheckView(
                id=check_id,
                known=check_id in self.catalogue,
                title=meta.get("title") or "(no metadata for this check in the results document)",
                severity=meta.get("severity"),
                suite=meta.get("kind") or kind_hint or "unknown",
                scope=meta.get("scope", ""),
                controls=list(meta.get("controls", [])),
                rationale=meta.get("rationale", ""),
                remediation=meta.get("remediation", ""),
                references=list(meta.get("references", [])),
                anchor=self.anchors.make("check", check_id),
            )
        return self.checks[check_id]

    def result(self, raw: dict[str, Any]) -> ResultView:
        rid = raw["id"]
        findings = sorted(
            (
                FindingView(
                    status=f["status"],
                    resource=f["resource"],
                    message=f.get("message", ""),
                    location=location_text(f.get("location")) or None,
                    evidence=f.get("evidence"),
                    waiver=f.get("waiver"),
                    waiver_anchor=None,
                )
                for f in raw.get("findings", [])
            ),
            key=lambda f: (_status_rank(f.status), f.resource),
        )
        digest = hashlib.sha1(rid.encode(), usedforsecurity=False).hexdigest()[:6]
        view = ResultView(
            id=rid,
            check_id=raw["check_id"],
            target=raw.get("target", ""),
            unit=raw.get("unit", ""),
            status=raw["status"],
            duration=raw.get("duration", 0.0),
            findings=findings,
            slug=self.slugs.make(f"{_slug(rid)[:80]}-{digest}"),
        )
        kind = self.targets.get(view.target, {}).get("kind", "")
        self.check(view.check_id, kind).results.append(view)
        return view

    def framework(self, fw: dict[str, Any]) -> FrameworkView:
        """A requirement covers the checks its framework names (the one direction of the mapping)."""
        fw_id = fw.get("id", "")
        fw_anchor = self.anchors.make("framework", fw_id)
        reqs: list[RequirementView] = []
        for req in fw.get("requirements", []):
            req_id = str(req.get("id", ""))
            rv = RequirementView(
                framework_id=fw_id,
                framework_name=fw.get("name", fw_id),
                id=req_id,
                control=req.get("control", ""),
                title=req.get("title", ""),
                description=req.get("description", ""),
                manual=bool(req.get("manual")),
                manual_evidence=req.get("manual_evidence", ""),
                anchor=self.anchors.make("req", fw_id, req_id.removeprefix(f"{fw_id}:")),
                checks=[self.check(cid) for cid in dict.fromkeys(req.get("checks", []))],
                verdict=req.get("verdict") or "not_run",
                counts={status: int((req.get("counts") or {}).get(status, 0)) for status in STATUSES},
            )
            for cv in rv.checks:
                cv.requirements.append(rv)
            reqs.append(rv)
        return FrameworkView(
            id=fw_id, name=fw.get("name", fw_id), url=fw.get("url", ""), anchor=fw_anchor, requirements=reqs
        )


def build_view(results: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, grouped and counted. Tolerates optional keys being absent."""
    views = _Views(results)
    anchors, checks = views.anchors, views.checks
    all_results = [views.result(raw) for raw in results.get("results", [])]
    for cv in checks.values():
        cv.results.sort(key=lambda r: (_status_rank(r.status), r.unit, r.id))
    frameworks = [views.framework(fw) for fw in results.get("frameworks", [])]

    other_checks = [cv for cv in checks.values() if not cv.requirements]
    # Failed, error and waived results are shown in full under every requirement they bear on. Passed
    # and not-applicable ones (most of a large run) are shown in full once, under the check's first
    # requirement, and other requirements link there: rendering them everywhere made a 5,000-result
    # report three times larger and slow to open.
    for cv in checks.values():
        cv.home = cv.requirements[0].anchor if cv.requirements else "other"
        for result in cv.results:
            result.home = occurrence(cv.home, result)

    by_id = {r.id: r for r in all_results}
    waivers = _waivers(results.get("waivers", {}), all_results, by_id, anchors)
    waiver_anchors = {w.id: w.anchor for w in waivers}
    for result in all_results:
        for f in result.findings:
            if f.waiver:
                f.waiver_anchor = waiver_anchors.get(str(f.waiver.get("id")))

    action = sorted(
        (r for r in all_results if r.status in ("failed", "error")),
        key=lambda r: (checks[r.check_id].severity_rank, _status_rank(r.status), r.check_id, r.unit, r.id),
    )

    summary = results.get("summary", {})
    computed = count_statuses(all_results)
    summary_counts = {s: summary.get(s, computed[s]) for s in STATUSES}
    total = summary.get("total", len(all_results))
    mismatch = computed != summary_counts or total != len(all_results)
    verdict = summary.get("verdict", "not_compliant")
    if mismatch and verdict == "compliant":  # a summary that disagrees with the results proves nothing
        verdict = "not_compliant"

    control_links: dict[str, list[RequirementView]] = {}
    for fwv in frameworks:
        for rv in fwv.requirements:
            control_links.setdefault(rv.control, []).append(rv)

    return {
        "schema_version": results.get("schema_version", ""),
        "kitemark_version": results.get("kitemark_version", ""),
        "runs": results.get("runs", []),
        "run_ids": ", ".join(str(r.get("id", ""))[:8] for r in results.get("runs", [])),
        "targets": results.get("targets", []),
        "waivers_file": results.get("waivers", {}).get("file"),
        "verdict": verdict,
        "verdict_text": RUN_VERDICTS.get(verdict, verdict),
        "incomplete_reasons": (results.get("completeness") or {}).get("reasons", []),
        "judged_on": judged_on(results),
        "warnings": warnings(results),
        "total": total,
        "summary_counts": summary_counts,
        "input_errors": summary.get("input_errors", 0),
        "computed_counts": computed,
        "counts_mismatch": mismatch,
        "result_count": len(all_results),
        "frameworks": frameworks,
        "checks": sorted(checks.values(), key=lambda c: c.id),
        "check_index": checks,
        "other_checks": other_checks,
        "action": action,
        "waivers": waivers,
        "control_links": control_links,
    }


def _waivers(
    doc: dict[str, Any], results: list[ResultView], by_id: dict[str, ResultView], anchors: _Anchors
) -> list[WaiverView]:
    # Which results each waiver touched, as seen in the findings (covers entries without `matched`).
    seen: dict[str, list[str]] = {}
    refs: dict[str, tuple[dict[str, Any], ResultView, FindingView]] = {}
    for rv in results:
        for f in rv.findings:
            if f.waiver and f.waiver.get("id"):
                wid = f.waiver["id"]
                if rv.id not in seen.setdefault(wid, []):
                    seen[wid].append(rv.id)
                refs.setdefault(wid, (f.waiver, rv, f))

    def matched(ids: Iterable[str]) -> list[tuple[str, str | None]]:
        return [(rid, by_id[rid].home if rid in by_id else None) for rid in dict.fromkeys(ids)]

    views = []
    for entry in doc.get("entries", []):
        wid = entry["id"]
        views.append(
            WaiverView(
                id=wid,
                check=entry.get("check", ""),
                target=entry.get("target"),
                resource=entry.get("resource", ""),
                justification=entry.get("justification", ""),
                owner=entry.get("owner", ""),
                expires=entry.get("expires", ""),
                expired=bool(entry.get("expired")),
                used=bool(entry.get("used")),
                in_file=True,
                everything=covers_everything(entry),
                anchor=anchors.make("waiver", wid),
                matched=matched([*entry.get("matched", []), *seen.get(wid, [])]),
            )
        )
    listed = {v.id for v in views}
    for wid, (ref, rv, finding) in refs.items():
        if wid in listed:
            continue
        views.append(
            WaiverView(
                id=wid,
                check=rv.check_id,
                target=rv.target,
                resource=finding.resource,
                justification=ref.get("justification", ""),
                owner=ref.get("owner", ""),
                expires=ref.get("expires", ""),
                expired=bool(ref.get("expired")),
                used=True,
                in_file=False,
                everything=False,
                anchor=anchors.make("waiver", wid),
                matched=matched(seen[wid]),
            )
        )
    return views


def _finalize(value: Any) -> Any:
    """Every ``{{ value }}`` of the template, before it is escaped: text with characters HTML forbids
    gets visible escapes. Markup comes from ``html_results``, which cleans its own values."""
    # `type() is str` leaves Markup out; most text is printable, so no call is made for it.
    if type(value) is str and not value.isprintable():
        return for_html(value)
    return value


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        finalize=_finalize,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value from results.json is untrusted text
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["status_label"] = lambda s: STATUS_LABELS.get(s, str(s))
    env.filters["verdict_label"] = lambda v: VERDICT_LABELS.get(v, str(v))
    env.filters["severity_label"] = lambda s: s.capitalize() if s else "Unknown"
    env.filters["duration"] = _duration
    env.filters["bdi"] = html_results.bdi
    env.filters["blocks"] = text_blocks
    env.filters["code_spans"] = code_spans
    env.tests["web_url"] = _is_web_url
    env.globals.update(
        STATUSES=STATUSES,
        STATUS_LABELS=STATUS_LABELS,
        VERDICT_LABELS=VERDICT_LABELS,
        occurrence=occurrence,
        findings_table=html_results.findings_table,
        result_blocks=html_results.result_blocks,
    )
    return env


def render_html(results: dict[str, Any]) -> str:
    """The compliance report for one results document, as a complete HTML page."""
    return _environment().get_template("compliance.html.j2").render(**build_view(results))
