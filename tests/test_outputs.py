"""results.json against its schema, and junit.xml rendered from it, on a document with every state."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from typing import Any

import jsonschema
import pytest

from kitemark.core.model import Finding, ItemResult, Status
from kitemark.reports.junit import render_junit
from kitemark.results import build_document, validate

CHECK = {
    "id": "K8S-NET-001",
    "suite": "cluster",
    "scope": "cluster.namespace",
    "title": "Default deny",
    "severity": "high",
    "controls": ["service-standard:9"],
    "rationale": "r",
    "remediation": "add policy",
    "references": [],
}
WAIVER = {"id": "W-1", "justification": "legacy", "owner": "o@x", "expires": "2027-01-01", "expired": False}


def _item(unit: str, *findings: Finding) -> ItemResult:
    return ItemResult("K8S-NET-001", "cluster:demo", f"cluster:demo/namespace:{unit}", list(findings), 0.01)


def document() -> dict[str, Any]:
    items = [
        _item("a", Finding(Status.PASSED, "Namespace/a", "ok")),
        _item(
            "b", Finding(Status.FAILED, "Namespace/b", "no policy <here>", {"policies": []}, "b/04.yaml:1")
        ),
        _item("c", Finding(Status.WAIVED, "Namespace/c", "no policy", waiver=WAIVER)),
        _item("d", Finding(Status.NOT_APPLICABLE, "Namespace/d", "nothing in scope")),
        _item("e", Finding(Status.ERROR, "Namespace/e", "could not read e.yaml:3")),
    ]
    run = {
        "id": "r1",
        "started": "2026-11-26T10:00:00+00:00",
        "finished": "2026-11-26T10:00:05+00:00",
        "duration_seconds": 5.0,
        "hostname": "h",
        "python": "3.11",
        "pytest": "9",
        "workers": 2,
        "selection": {"controls": [], "frameworks": [], "severity": None},
        "policies_commit": [],
    }
    waivers = [
        {
            "id": "W-1",
            "check": "K8S-NET-001",
            "target": None,
            "resource": "Namespace/c",
            "justification": "legacy",
            "owner": "o@x",
            "expires": "2027-01-01",
            "expired": False,
        },
        {
            "id": "W-9",
            "check": "K8S-NET-001",
            "target": None,
            "resource": "Namespace/zzz",
            "justification": "spare",
            "owner": "o@x",
            "expires": "2027-01-01",
            "expired": False,
        },
    ]
    return build_document(
        run=run,
        targets=[
            {
                "label": "cluster:demo",
                "kind": "cluster",
                "name": "demo",
                "location": "/d",
                "inventory": None,
                "errors": [],
            }
        ],
        checks={"K8S-NET-001": CHECK},
        frameworks=[],
        items=items,
        waivers_file="w.yaml",
        waivers=waivers,
    )


def test_document_validates_and_counts_every_state() -> None:
    doc = document()
    validate(doc)
    assert doc["summary"] == {
        "passed": 1,
        "failed": 1,
        "waived": 1,
        "not_applicable": 1,
        "error": 1,
        "total": 5,
        "input_errors": 0,
        "compliant": False,
    }
    used = {w["id"]: w["used"] for w in doc["waivers"]["entries"]}
    assert used == {"W-1": True, "W-9": False}


@pytest.mark.parametrize("path", [("results", 0, "status"), ("summary", "compliant"), ("run", "started")])
def test_schema_rejects_broken_documents(path: tuple[Any, ...]) -> None:
    doc = copy.deepcopy(document())
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "not-a-valid-value" if path[-1] != "compliant" else "yes"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_junit_has_one_case_per_result_with_properties_and_outcomes() -> None:
    root = ET.fromstring(render_junit(document()))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "5",
        "1",
        "1",
        "2",
    )
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "kitemark.cluster"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {f"K8S-NET-001[cluster:demo/namespace:{u}]" for u in "abcde"}
    props = {
        p.get("name"): p.get("value") for p in cases["K8S-NET-001[cluster:demo/namespace:b]"].iter("property")
    }
    assert props["check_id"] == "K8S-NET-001" and props["controls"] == "service-standard:9"
    assert props["severity"] == "high" and props["status"] == "failed"
    failure = cases["K8S-NET-001[cluster:demo/namespace:b]"].find("failure")
    assert failure is not None and "no policy <here>" in (failure.text or "")
    assert "evidence" in failure.text and "remediation:\nadd policy" in failure.text
    assert cases["K8S-NET-001[cluster:demo/namespace:e]"].find("error") is not None
    waived = cases["K8S-NET-001[cluster:demo/namespace:c]"].find("skipped")
    assert (
        waived is not None and waived.get("type") == "waived" and "until 2027-01-01" in waived.get("message")
    )
    assert cases["K8S-NET-001[cluster:demo/namespace:a]"].find("*[@message]") is None


def test_a_run_that_assessed_nothing_is_never_compliant() -> None:
    from kitemark.results import summarise

    assert summarise([])["compliant"] is False
    assert summarise([{"status": "passed"}])["compliant"] is True
    assert (
        summarise([{"status": "passed"}], [{"errors": [{"path": "a", "message": "m"}]}])["compliant"] is False
    )
