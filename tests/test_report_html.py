"""The auditor HTML report, rendered from the sample results document and parsed back."""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kitemark.core import resources
from kitemark.reports.html import render_html
from kitemark.reports.render import render_all
from kitemark.results import migrate_v1
from kitemark.verdicts.decide import decide

SAMPLE = Path(__file__).parent / "data" / "results-sample.json"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
STATUSES = ("passed", "failed", "error", "waived", "not_applicable")


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None) -> None:
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def by_id(self, anchor: str) -> Node:
        found = [n for n in self.iter() if n.attrs.get("id") == anchor]
        assert len(found) == 1, f"expected one element with id {anchor!r}, found {len(found)}"
        return found[0]

    def has_class(self, name: str) -> bool:
        return name in (self.attrs.get("class") or "").split()

    def text(self) -> str:
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag not in ("script", "style"):
                    walk(child)

        walk(self)
        return " ".join(" ".join(parts).split())


class TreeBuilder(HTMLParser):
    """A small DOM from the stdlib parser; records any end tag that does not close the open element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.current = self.root
        self.mismatched: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), self.current))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.current.tag != tag or self.current.parent is None:
            self.mismatched.append(f"</{tag}> while <{self.current.tag}> is open")
            return
        self.current = self.current.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    assert builder.mismatched == []
    assert builder.current is builder.root, f"unclosed <{builder.current.tag}>"
    return builder.root


def load_sample() -> dict[str, Any]:
    """The sample is a schema-1 document (as archived by earlier versions), migrated as `report` reads it."""
    return migrate_v1(json.loads(SAMPLE.read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def sample() -> dict[str, Any]:
    return load_sample()


@pytest.fixture(scope="module")
def html(sample: dict[str, Any]) -> str:
    return render_html(sample)


@pytest.fixture(scope="module")
def doc(html: str) -> Node:
    return parse(html)


def finding_blocks(node: Node) -> list[Node]:
    return [n for n in node.find_all("tbody") if n.has_class("finding")]


def test_sample_is_a_valid_results_document(sample: dict[str, Any]) -> None:
    schema = json.loads((resources.data_dir() / "results.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(sample)] == []
    # The sample exercises every status, an expired waiver and an unused one.
    assert {r["status"] for r in sample["results"]} == set(STATUSES)
    assert any(e["expired"] for e in sample["waivers"]["entries"])
    assert any(not e["used"] for e in sample["waivers"]["entries"])


def test_page_is_well_formed_with_unique_ids_and_working_links(doc: Node) -> None:
    ids = [n.attrs["id"] for n in doc.iter() if n.attrs.get("id")]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    targets = {n.attrs["href"][1:] for n in doc.find_all("a") if (n.attrs.get("href") or "").startswith("#")}
    assert targets - set(ids) == set()
    # The anchors other tools and people link to.
    for anchor in ("check-K8S-NET-001", "req-service-standard-9", "req-ncsc-csp-3", "waiver-W-001", "action"):
        doc.by_id(anchor)


def test_every_result_is_shown_in_full_with_all_its_findings(sample: dict[str, Any], doc: Node) -> None:
    for result in sample["results"]:
        shown = [n for n in doc.find_all("div", data_result_id=result["id"]) if n.has_class("result")]
        assert shown, f"{result['id']} is not shown"
        for block in shown:
            assert block.attrs["data-status"] == result["status"]
            assert result["id"] in block.text()
            rendered = [(f.attrs["data-status"], f.text()) for f in finding_blocks(block)]
            assert len(rendered) == len(result["findings"])
            for finding in result["findings"]:
                assert any(
                    status == finding["status"] and finding["resource"] in text and finding["message"] in text
                    for status, text in rendered
                ), (result["id"], finding["resource"])


def test_passed_results_are_shown_in_full_once_and_linked_from_other_requirements(doc: Node) -> None:
    rid = "K8S-NET-001[cluster:demo/namespace:team-a]"
    full = [n for n in doc.find_all("div", data_result_id=rid) if n.has_class("result")]
    assert [n.attrs["id"].split("--")[0] for n in full] == ["req-service-standard-9"]
    # K8S-NET-001 also evidences NCSC 3 and 11: their failures are there in full, the pass is a link.
    for anchor in ("req-ncsc-csp-3", "req-ncsc-csp-11"):
        req = doc.by_id(anchor)
        shown = {n.attrs["data-result-id"] for n in req.find_all("div") if n.has_class("result")}
        assert shown == {
            "K8S-NET-001[cluster:demo/namespace:team-b]",
            "K8S-NET-001[cluster:demo/namespace:team-c]",
            "K8S-NET-001[cluster:demo/namespace:legacy-app]",
        }
        links = [
            a.attrs["href"] for a in req.find_all("a") if "listed with their evidence" in a.parent.text()
        ]
        assert links == ["#req-service-standard-9--check-K8S-NET-001"]


def test_checks_outside_frameworks_or_catalogue_are_in_other_checks(doc: Node) -> None:
    other = doc.by_id("other-checks")
    text = other.text()
    # AWS-EKS-002 maps to no requirement of these frameworks; K8S-LEGACY-009 has no metadata at all.
    assert "AWS-EKS-002" in text and "public endpoint open to 0.0.0.0/0" in text
    assert "K8S-LEGACY-009[cluster:demo/namespace:team-a]" in text
    assert "not described in the results document" in text
    # A check a requirement names but that produced nothing is shown as such, not dropped.
    assert "MON-ALERT-001" in doc.by_id("req-service-standard-10").text()
    assert "No results in this run" in doc.by_id("req-service-standard-10").text()


def test_evidence_is_shown_as_json_that_parses_back(sample: dict[str, Any], doc: Node) -> None:
    shown = []
    for pre in doc.find_all("pre"):
        text = "".join(c for c in pre.children if isinstance(c, str))
        try:
            shown.append((json.loads(text), text))
        except ValueError:
            continue  # a remediation snippet
    for result in sample["results"]:
        for finding in result["findings"]:
            if finding.get("evidence") is not None:
                assert any(value == finding["evidence"] for value, _ in shown), finding["resource"]
    # Long evidence is laid out over several lines, short parts stay on one.
    bucket = next(
        text
        for value, text in shown
        if value
        == {
            "block_public_acls": True,
            "block_public_policy": False,
            "ignore_public_acls": True,
            "restrict_public_buckets": None,
        }
    )
    assert bucket.count("\n") == 5
    assert '"policies": ["default", "allow-ingress-controllers"]' in doc.text()


def test_waived_finding_shows_justification_owner_and_expiry(doc: Node) -> None:
    waived = [f for f in finding_blocks(doc) if f.attrs["data-status"] == "waived"]
    assert waived
    for block in waived:
        text = block.text()
        assert "Namespace/legacy-app" in text
        assert "Legacy app is being decommissioned in Q1 2026" in text
        assert "2026-03-31" in text and "Legacy Apps: legacy-apps@example.gov.uk" in text
        assert "waived" in text.lower() and "expired" not in text.lower()


def test_expired_waiver_is_shown_as_expired_and_the_finding_still_fails(doc: Node) -> None:
    expired = [f for f in finding_blocks(doc) if "W-002" in f.text()]
    assert expired
    for block in expired:
        assert block.attrs["data-status"] == "failed"
        assert "Waiver expired" in block.text() and "2025-06-30" in block.text()
    row = doc.by_id("waiver-W-002")
    assert row.attrs["data-state"] == "expired" and "Expired" in row.text()
    # An expired waiver's failure is something to act on.
    assert "K8S-NS-001[cluster:demo/namespace:legacy-app]" in doc.by_id("action").text()


def test_waivers_section_lists_every_entry_with_its_state(sample: dict[str, Any], doc: Node) -> None:
    states = {"W-001": "Active", "W-002": "Expired", "W-003": "Unused"}
    for entry in sample["waivers"]["entries"]:
        row = doc.by_id(f"waiver-{entry['id']}")
        text = row.text()
        for key in ("check", "resource", "owner", "justification", "expires"):
            assert entry[key] in text, (entry["id"], key)
        assert states[entry["id"]] in text
        for rid in entry["matched"]:
            assert rid in text
    assert "none" in doc.by_id("waiver-W-003").text()


def test_manual_requirements_are_listed_as_not_assessed(sample: dict[str, Any], doc: Node) -> None:
    manual = [(fw["id"], req) for fw in sample["frameworks"] for req in fw["requirements"] if req["manual"]]
    assert len(manual) == 12
    for fw_id, req in manual:
        anchor = f"req-{fw_id}-{req['id']}"
        row = doc.find_all("tr", data_requirement=anchor)
        assert len(row) == 1
        assert "Manual — not assessed automatically" in row[0].text()
        assert req["manual_evidence"] in row[0].text()
        assert "Manual — not assessed automatically" in doc.by_id(anchor).text()
    automated = doc.find_all("tr", data_requirement="req-service-standard-9")[0]
    assert "not assessed" not in automated.text()


def test_requirement_counts_are_the_results_of_its_checks(sample: dict[str, Any], doc: Node) -> None:
    req = next(
        r
        for fw in sample["frameworks"]
        if fw["id"] == "service-standard"
        for r in fw["requirements"]
        if r["id"] == "9"
    )
    expected = Counter(r["status"] for r in sample["results"] if r["check_id"] in req["checks"])
    assert expected == {"passed": 2, "failed": 2, "error": 1, "waived": 1, "not_applicable": 2}
    row = doc.find_all("tr", data_requirement="req-service-standard-9")[0]
    cells = {
        td.attrs["data-status"]: int(td.text()) for td in row.find_all("td") if td.attrs.get("data-status")
    }
    assert cells == {s: expected[s] for s in STATUSES}
    assert row.attrs["data-verdict"] == "failed" and "Not met" in row.text()
    # A requirement whose checks all passed or did not apply is met.
    met = doc.find_all("tr", data_requirement="req-ncsc-csp-13")[0]
    assert met.attrs["data-verdict"] == "passed"


def test_findings_needing_action_are_failed_and_error_results_most_severe_first(
    sample: dict[str, Any], doc: Node
) -> None:
    items = [n for n in doc.by_id("action").find_all("li") if n.has_class("action")]
    expected = {r["id"] for r in sample["results"] if r["status"] in ("failed", "error")}
    assert {n.attrs["data-result-id"] for n in items} == expected
    ranks = ["critical", "high", "medium", "low", "info", "unknown"]
    order = [ranks.index(n.attrs["data-severity"]) for n in items]
    assert order == sorted(order) and order[0] == 0
    s3 = next(n for n in items if n.attrs["data-result-id"] == "TF-S3-001[terraform:modules/module:s3]")
    assert "aws_s3_bucket_public_access_block" in s3.text()  # the remediation snippet
    assert "modules/s3/aws_s3_bucket.logs" in s3.text()


def test_verdict_is_not_compliant_for_the_sample(doc: Node) -> None:
    verdict = doc.by_id("verdict")
    assert "Not compliant" in verdict.text()
    assert "not_compliant" in verdict.attrs["class"]


def test_verdict_is_compliant_when_only_passed_waived_or_not_applicable() -> None:
    results = load_sample()
    fixed = {"failed": "passed", "error": "passed"}
    for result in results["results"]:
        result["status"] = fixed.get(result["status"], result["status"])
        for finding in result["findings"]:
            finding["status"] = fixed.get(finding["status"], finding["status"])
            if finding.get("waiver") and finding["waiver"]["expired"]:
                finding["waiver"] = None
    for target in results["targets"]:
        target["errors"] = []
    doc = parse(render_html(decide(results)))
    verdict = doc.by_id("verdict")
    assert "Compliant" in verdict.text() and "Not compliant" not in verdict.text()
    assert "Nothing failed and nothing errored" in doc.by_id("action").text()


def test_inconsistent_summary_never_claims_compliance(sample: dict[str, Any]) -> None:
    results = copy.deepcopy(sample)
    results["summary"].update(failed=0, error=0, compliant=True, verdict="compliant")
    doc = parse(render_html(results))
    assert "Not compliant" in doc.by_id("verdict").text()
    assert "does not match its results" in doc.text()


def test_text_from_the_results_is_escaped(sample: dict[str, Any]) -> None:
    results = copy.deepcopy(sample)
    payload = '<script>alert("owned")</script>'
    finding = results["results"][1]["findings"][0]
    finding["message"] = f"bad value {payload}"
    finding["evidence"] = {"annotation": f"</pre>{payload}"}
    results["checks"]["K8S-NET-001"]["references"].append("javascript:alert(1)")
    html = render_html(results)
    assert payload not in html
    assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html
    doc = parse(html)
    assert f"bad value {payload}" in doc.text()
    assert len(doc.find_all("script")) == 1  # only the report's own optional script
    assert not any((a.attrs.get("href") or "").startswith("javascript:") for a in doc.find_all("a"))


def test_report_is_self_contained(html: str, doc: Node) -> None:
    for node in doc.iter():
        for name, value in node.attrs.items():
            assert name not in ("src", "srcset", "poster", "data"), f"<{node.tag} {name}=...>"
            if value and re.search(r"https?:|//", value):
                # Links to references and framework pages are fine; nothing is fetched to display the page.
                assert (node.tag, name) == ("a", "href"), f"<{node.tag} {name}={value!r}>"
    assert doc.find_all("link") == [] and doc.find_all("iframe") == [] and doc.find_all("img") == []
    styles = " ".join(n.text() for n in doc.find_all("style")) + " ".join(
        "".join(c for c in n.children if isinstance(c, str)) for n in doc.find_all("style")
    )
    assert "url(" not in styles and "@import" not in styles and "http" not in styles
    assert "<script src" not in html.lower()
    assert "@media print" in html


def test_everything_is_readable_without_javascript(sample: dict[str, Any], doc: Node) -> None:
    # Content lives in the markup, not in the script: its text holds no result data.
    script = "".join(c for n in doc.find_all("script") for c in n.children if isinstance(c, str))
    assert "K8S-" not in script and len(script) < 2000
    # The controls the script drives are hidden until it runs.
    assert "hidden" in doc.by_id("js-tools").attrs


def test_status_is_given_in_text_not_only_colour(doc: Node) -> None:
    labels = {
        "passed": "Passed",
        "failed": "Failed",
        "error": "Error",
        "waived": "Waived",
        "not_applicable": "Not applicable",
    }
    for block in finding_blocks(doc):
        assert labels[block.attrs["data-status"]] in block.text()
    headers = [th for th in doc.find_all("th") if th.attrs.get("scope") in ("row", "col")]
    assert len(headers) > 50


def test_run_metadata_and_targets_are_shown(sample: dict[str, Any], doc: Node) -> None:
    run = doc.by_id("run").text()
    for value in (
        sample["runs"][0]["id"],
        sample["runs"][0]["started"],
        sample["runs"][0]["finished"],
        "38.2 s",
        sample["kitemark_version"],
        sample["runs"][0]["hostname"],
    ):
        assert value in run
    targets = doc.by_id("targets").text()
    commits = [t["commit"]["commit"] for t in sample["targets"] if t.get("commit")]
    assert commits and all(commit in targets for commit in commits)
    for target in sample["targets"]:
        assert target["label"] in targets and target["location"] in targets
    assert "namespaces/team-c/02-limitrange.yaml:7 — mapping values are not allowed here" in targets


def test_rendering_is_deterministic_and_written_to_disk(sample: dict[str, Any], tmp_path: Path) -> None:
    render_all(sample, tmp_path / "reports")
    out = tmp_path / "reports" / "compliance.html"
    assert out.read_text(encoding="utf-8") == render_html(sample) == render_html(copy.deepcopy(sample))


def test_remediation_snippets_keep_their_layout_in_pre(doc: Node) -> None:
    pres = ["".join(c for c in p.children if isinstance(c, str)) for p in doc.find_all("pre")]
    # Indented YAML (K8S-NET-001) and a fenced HCL block (TF-S3-001) both become <pre> snippets.
    assert any(p.startswith("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy") for p in pres)
    assert any(p.startswith('resource "aws_s3_bucket_public_access_block" "logs" {') for p in pres)
    assert any(n.text() == "allow-ingress-controllers" for n in doc.find_all("code"))


def test_minimal_document_renders_and_claims_nothing() -> None:
    results = {
        "schema_version": "2.0",
        "kitemark_version": "0.1.0",
        "runs": [{"id": "r", "selection": {}, "stopped": None, "not_run": []}],
        "targets": [],
        "checks": {},
        "frameworks": [],
        "results": [],
        "waivers": {"file": None, "entries": []},
    }
    doc = parse(render_html(decide(results)))
    assert "Nothing assessed" in doc.by_id("verdict").text()
    assert "✓ Compliant" not in doc.by_id("verdict").text()


def test_prefixed_requirement_ids_and_waivers_known_only_from_findings(sample: dict[str, Any]) -> None:
    results = copy.deepcopy(sample)
    for req in results["frameworks"][0]["requirements"]:
        req["id"] = f"service-standard:{req['id']}"
    results["waivers"]["entries"] = [e for e in results["waivers"]["entries"] if e["id"] != "W-001"]
    doc = parse(render_html(results))
    assert "Create a secure service" in doc.by_id("req-service-standard-9").text()
    row = doc.by_id("waiver-W-001")
    assert "not in the waivers file" in row.text() and "Namespace/legacy-app" in row.text()


def test_input_errors_alone_make_the_verdict_not_compliant() -> None:
    results = load_sample()
    for result in results["results"]:
        result["status"] = "passed"
        for finding in result["findings"]:
            finding["status"] = "passed"
            finding["waiver"] = None
    for target in results["targets"]:
        target["errors"] = []
    results["targets"][0]["errors"] = [{"path": "ns.yaml", "line": 3, "message": "invalid YAML"}]
    verdict = parse(render_html(decide(results))).by_id("verdict")
    assert "Not compliant" in verdict.text() and "1 input error" in verdict.text()


def test_an_error_needing_action_says_to_fix_the_input_before_the_control(sample: dict[str, Any]) -> None:
    doc = parse(render_html(sample))
    action = doc.by_id("action").text()
    assert "To assess" in action and "fix the input or access problem" in action
    assert "If, once assessed, it fails" in action


def test_a_partial_run_is_flagged(sample: dict[str, Any]) -> None:
    results = copy.deepcopy(sample)
    results["runs"][0]["stopped"] = "stopping after 1 failures"
    doc = parse(render_html(decide(results)))
    assert "stopping after 1 failures" in doc.by_id("incomplete").text()
