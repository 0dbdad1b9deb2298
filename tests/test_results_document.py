"""results.json (schema 2): built from results, validated, with every verdict decided once; junit.xml
rendered from it; schema-1 documents migrated; and `merge` of shards."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from kitemark import __version__
from kitemark.core.errors import UsageError
from kitemark.core.model import FileLocation, Finding, Result, Status
from kitemark.reports.junit import render_junit
from kitemark.results import build_document, migrate_v1, read, validate
from kitemark.verdicts.completeness import completeness
from kitemark.verdicts.decide import summarise
from kitemark.verdicts.merge import merge

DATA = Path(__file__).parent / "data"


def check(cid: str = "K8S-NET-001", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "kind": "cluster",
        "scope": "cluster.namespace",
        "title": "Default deny",
        "severity": "high",
        "rationale": "r",
        "remediation": "add policy",
        "references": [],
        "reads": [],
        "inputs": [],
        "input_check": False,
        "always_run": False,
        **extra,
    }


FRAMEWORKS = [
    {
        "id": "service-standard",
        "name": "GOV.UK Service Standard",
        "url": "",
        "requirements": [
            {
                "id": "1",
                "control": "service-standard:1",
                "title": "Users",
                "description": "",
                "checks": [],
                "manual": True,
                "manual_evidence": "ask",
            },
            {
                "id": "9",
                "control": "service-standard:9",
                "title": "Secure",
                "description": "",
                "checks": ["K8S-NET-001"],
                "manual": False,
                "manual_evidence": "",
            },
            {
                "id": "14",
                "control": "service-standard:14",
                "title": "Reliable",
                "description": "",
                "checks": ["K8S-NET-001", "K8S-OTHER-001"],
                "manual": False,
                "manual_evidence": "",
            },
        ],
    }
]
WAIVER = {"id": "W-1", "justification": "legacy", "owner": "o@x", "expires": "2027-01-01", "expired": False}


def run_record(run_id: str = "r1", **extra: Any) -> dict[str, Any]:
    return {
        "id": run_id,
        "started": "2026-11-26T10:00:00+00:00",
        "finished": "2026-11-26T10:00:05+00:00",
        "duration_seconds": 5.0,
        "hostname": "h",
        "python": "3.11",
        "pytest": "9",
        "workers": 2,
        "selection": {"controls": [], "frameworks": [], "severity": None, "pytest": [], "text": "all checks"},
        "stopped": None,
        "not_run": [],
        "shard": None,
        **extra,
    }


def target(label: str = "cluster:demo", errors: list[Any] | None = None) -> dict[str, Any]:
    kind, _, name = label.partition(":")
    return {
        "label": label,
        "kind": kind,
        "name": name,
        "location": "/d",
        "inventory": None,
        "errors": errors or [],
    }


def result(unit: str, *findings: Finding, check_id: str = "K8S-NET-001") -> Result:
    return Result(check_id, "cluster:demo", f"cluster:demo/namespace:{unit}", list(findings), 0.01)


def every_state() -> list[Result]:
    return [
        result("a", Finding(Status.PASSED, "Namespace/a", "ok")),
        result(
            "b",
            Finding(
                Status.FAILED,
                "Namespace/b",
                "no policy <here>",
                {"policies": []},
                FileLocation("b/04.yaml", 7),
            ),
        ),
        result("c", Finding(Status.WAIVED, "Namespace/c", "no policy", waiver=WAIVER)),
        result("d", Finding(Status.NOT_APPLICABLE, "Namespace/d", "nothing in scope")),
        result("e", Finding(Status.ERROR, "Namespace/e", "could not read e.yaml:3")),
    ]


def document(
    results: list[Result] | None = None,
    run: dict[str, Any] | None = None,
    targets: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
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
        run=run or run_record(),
        targets=targets if targets is not None else [target()],
        checks={"K8S-NET-001": check(), "K8S-OTHER-001": check("K8S-OTHER-001")},
        frameworks=copy.deepcopy(FRAMEWORKS),
        results=every_state() if results is None else results,
        waivers={"file": "w.yaml", "entries": waivers},
    )


def test_document_validates_and_counts_every_state() -> None:
    doc = document()
    validate(doc)
    summary = doc["summary"]
    assert {k: summary[k] for k in ("passed", "failed", "waived", "not_applicable", "error", "total")} == {
        "passed": 1,
        "failed": 1,
        "waived": 1,
        "not_applicable": 1,
        "error": 1,
        "total": 5,
    }
    assert summary["verdict"] == "not_compliant" and summary["compliant"] is False
    used = {w["id"]: (w["used"], w["matched"]) for w in doc["waivers"]["entries"]}
    assert used == {"W-1": (True, ["K8S-NET-001[cluster:demo/namespace:c]"]), "W-9": (False, [])}


def test_findings_have_structured_locations_and_stable_fingerprints() -> None:
    doc = document()
    failed = next(r for r in doc["results"] if r["status"] == "failed")["findings"][0]
    assert failed["location"] == {"type": "file", "root": None, "path": "b/04.yaml", "line": 7}
    again = document()
    assert [f["fingerprint"] for r in again["results"] for f in r["findings"]] == [
        f["fingerprint"] for r in doc["results"] for f in r["findings"]
    ]
    moved = every_state()
    moved[1].findings[0].location = FileLocation("elsewhere.yaml", 99)
    assert document(moved)["results"][1]["findings"][0]["fingerprint"] == failed["fingerprint"]


def test_controls_come_from_the_framework_files_and_requirements_get_verdicts() -> None:
    doc = document()
    assert doc["checks"]["K8S-NET-001"]["controls"] == ["service-standard:9", "service-standard:14"]
    verdicts = {r["id"]: r["verdict"] for r in doc["frameworks"][0]["requirements"]}
    # 14 also names a check with no results: failed still wins over "partly assessed"
    assert verdicts == {"1": "manual", "9": "failed", "14": "failed"}
    passing = document([result("a", Finding(Status.PASSED, "Namespace/a", "ok"))])
    verdicts = {r["id"]: r["verdict"] for r in passing["frameworks"][0]["requirements"]}
    assert verdicts == {"1": "manual", "9": "passed", "14": "partial"}
    assert passing["frameworks"][0]["requirements"][1]["counts"]["passed"] == 1
    assert passing["summary"]["verdict"] == "compliant"


@pytest.mark.parametrize(
    "path", [("results", 0, "status"), ("summary", "compliant"), ("runs", 0, "started"), ("completeness",)]
)
def test_schema_rejects_broken_documents(path: tuple[Any, ...]) -> None:
    doc = copy.deepcopy(document())
    node = doc
    for key in path[:-1]:
        node = node[key]
    if path[-1] == "completeness":
        del node["completeness"]
    else:
        node[path[-1]] = "not-a-valid-value" if path[-1] != "compliant" else "yes"
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_junit_has_one_case_per_result_with_file_line_and_run_verdict() -> None:
    root = ET.fromstring(render_junit(document()))
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "5",
        "1",
        "1",
        "2",
    )
    [suite] = root.findall("testsuite")
    assert suite.get("name") == "kitemark.cluster"
    suite_props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert suite_props["verdict"] == "not_compliant" and suite_props["complete"] == "true"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {f"K8S-NET-001[cluster:demo/namespace:{u}]" for u in "abcde"}
    failing = cases["K8S-NET-001[cluster:demo/namespace:b]"]
    assert (failing.get("file"), failing.get("line")) == ("b/04.yaml", "7")
    props = {p.get("name"): p.get("value") for p in failing.iter("property")}
    assert (
        props["check_id"] == "K8S-NET-001" and props["controls"] == "service-standard:9,service-standard:14"
    )
    failure = failing.find("failure")
    assert failure is not None and "no policy <here>" in (failure.text or "")
    assert "(b/04.yaml:7)" in failure.text and "remediation:\nadd policy" in failure.text
    assert cases["K8S-NET-001[cluster:demo/namespace:e]"].find("error") is not None
    waived = cases["K8S-NET-001[cluster:demo/namespace:c]"].find("skipped")
    assert (
        waived is not None and waived.get("type") == "waived" and "until 2027-01-01" in waived.get("message")
    )
    assert cases["K8S-NET-001[cluster:demo/namespace:a]"].find("*[@message]") is None


def test_junit_says_a_partial_run_is_incomplete() -> None:
    not_run = [{"check_id": "K8S-NET-001", "target": "cluster:demo", "unit": "u", "reason": "deselected"}]
    doc = document(
        [result("a", Finding(Status.PASSED, "Namespace/a", "ok"))], run=run_record(not_run=not_run)
    )
    props = [(p.get("name"), p.get("value")) for p in ET.fromstring(render_junit(doc)).iter("property")]
    assert ("complete", "false") in props and ("verdict", "incomplete") in props
    assert any(name == "incomplete_because" and "deselected" in value for name, value in props)


def test_verdicts_never_call_a_partial_or_empty_run_compliant() -> None:
    passed = [{"status": "passed"}]
    assert summarise([], [], complete=True)["verdict"] == "nothing_assessed"
    assert summarise(passed, [], complete=True)["verdict"] == "compliant"
    assert summarise(passed, [], complete=False)["verdict"] == "incomplete"
    assert summarise([{"status": "not_applicable"}], [], complete=True)["verdict"] == "nothing_assessed"
    broken = [{"errors": [{"path": "a", "message": "m"}]}]
    assert summarise(passed, broken, complete=True)["verdict"] == "not_compliant"


def test_a_target_where_nothing_was_assessed_makes_the_run_incomplete() -> None:
    checks = {"K8S-NET-001": check(), "K8S-INPUT-001": check("K8S-INPUT-001", input_check=True)}
    na = {"check_id": "K8S-NET-001", "target": "cluster:a", "findings": [{"status": "not_applicable"}]}
    read_ok = {"check_id": "K8S-INPUT-001", "target": "cluster:a", "findings": [{"status": "passed"}]}
    found = completeness([run_record()], [target("cluster:a")], [na, read_ok], checks)
    assert found["complete"] is False
    assert found["reasons"] == ["cluster:a: no check assessed any resource of this target"]


def test_missing_shards_and_unrun_results_are_reasons() -> None:
    runs = [
        run_record("r1", shard={"index": 1, "count": 3}),
        run_record("r3", shard={"index": 3, "count": 3}),
    ]
    assert completeness(runs, [], [], {})["reasons"] == ["shard(s) 2/3 missing from the results"]


def test_schema_1_documents_are_migrated(tmp_path: Path) -> None:
    old = json.loads((DATA / "results-sample.json").read_text())
    path = tmp_path / "results.json"
    path.write_text(json.dumps(old))
    migrated = read(path)
    validate(migrated)
    assert migrated["schema_version"] == "2.0" and migrated["runs"][0]["migrated_from"] == "1.0"
    assert [r["status"] for r in migrated["results"]] == [r["status"] for r in old["results"]]
    located = [f["location"] for r in migrated["results"] for f in r["findings"] if f["location"]]
    assert located and all(loc["type"] == "file" for loc in located)
    assert migrated["summary"]["total"] == old["summary"]["total"]
    assert migrated["summary"]["compliant"] == old["summary"]["compliant"]
    assert migrate_v1(copy.deepcopy(old))["results"] == migrated["results"]


def shard(run_id: str, units: str, index: int) -> dict[str, Any]:
    found = [result(u, Finding(Status.PASSED, f"Namespace/{u}", "ok")) for u in units]
    return document(found, run=run_record(run_id, shard={"index": index, "count": 2, "signature": "one-run"}))


def test_merge_joins_shards_into_one_compliant_document() -> None:
    first, second = shard("r1", "ab", 1), shard("r2", "cd", 2)
    assert first["summary"]["verdict"] == "incomplete"  # a shard alone is never the whole run
    merged = merge([("a.json", first), ("b.json", second)])
    validate(merged)
    assert [r["unit"] for r in merged["results"]] == [f"cluster:demo/namespace:{u}" for u in "abcd"]
    assert {r["run"] for r in merged["results"]} == {"r1", "r2"} and len(merged["runs"]) == 2
    assert merged["summary"]["verdict"] == "compliant", merged["completeness"]
    assert merged["summary"]["passed"] == 4


def test_merge_refuses_overlaps_other_versions_and_the_same_run_twice() -> None:
    first = shard("r1", "ab", 1)
    with pytest.raises(UsageError, match=r"K8S-NET-001\[cluster:demo/namespace:b\] is also in a.json"):
        merge([("a.json", first), ("b.json", shard("r2", "bc", 2))])
    other = shard("r2", "cd", 2)
    other["kitemark_version"] = "0.0.1"
    with pytest.raises(UsageError, match=f"a.json: {__version__}.*b.json: 0.0.1"):
        merge([("a.json", first), ("b.json", other)])
    with pytest.raises(UsageError, match=r"run r1 is also in a\.json"):
        merge([("a.json", first), ("a-copy.json", copy.deepcopy(first))])


def test_merge_recomputes_waiver_use_across_shards() -> None:
    first = document([result("a", Finding(Status.PASSED, "Namespace/a", "ok"))], run=run_record("r1"))
    second = document(
        [result("c", Finding(Status.WAIVED, "Namespace/c", "no policy", waiver=WAIVER))], run=run_record("r2")
    )
    assert not next(w for w in first["waivers"]["entries"] if w["id"] == "W-1")["used"]
    merged = merge([("a.json", first), ("b.json", second)])
    assert next(w for w in merged["waivers"]["entries"] if w["id"] == "W-1")["used"]


def test_merge_refuses_runs_judged_against_different_inputs() -> None:
    first = document([result("a", Finding(Status.PASSED, "Namespace/a", "ok"))], run=run_record("r1"))
    second = document(
        [result("b", Finding(Status.PASSED, "Namespace/b", "ok"))],
        run=run_record("r2", inputs={"mandatory_tags": ["owner"]}),
    )
    first["runs"][0]["inputs"] = {"mandatory_tags": ["owner", "business-unit"]}
    with pytest.raises(UsageError, match=r"input mandatory_tags differs from a\.json's"):
        merge([("a.json", first), ("b.json", second)])


def test_inputs_that_hold_unrendered_objects_make_the_run_incomplete() -> None:
    helm = {**target(), "skipped": [
        {"path": "chart/templates/web.yaml", "line": None, "reason": "a template", "holds_resources": True},
        {"path": "chart/values.yaml", "line": None, "reason": "Helm values", "holds_resources": False},
    ]}  # fmt: skip
    doc = document([result("a", Finding(Status.PASSED, "Namespace/a", "ok"))], targets=[helm])
    assert doc["summary"]["verdict"] == "incomplete"
    [reason] = doc["completeness"]["reasons"]
    assert (
        "1 input(s) hold resources Kitemark did not assess" in reason and "chart/templates/web.yaml" in reason
    )
    assert "values.yaml" not in reason


def test_merge_refuses_shards_of_different_runs() -> None:
    first, second = shard("r1", "ab", 1), shard("r2", "cd", 2)
    first["runs"][0]["shard"]["signature"] = "targets-and-checks-of-run-1"
    second["runs"][0]["shard"]["signature"] = "another-selection"
    with pytest.raises(UsageError, match=r"shard 2/2 is not of the same run as a\.json's"):
        merge([("a.json", first), ("b.json", second)])
    second["runs"][0]["shard"]["signature"] = "targets-and-checks-of-run-1"
    assert merge([("a.json", first), ("b.json", second)])["summary"]["verdict"] == "compliant"
    del second["runs"][0]["shard"]["signature"]
    with pytest.raises(UsageError, match="records no signature"):
        merge([("a.json", first), ("b.json", second)])


def test_a_documents_conclusions_are_decided_from_its_results_not_trusted() -> None:
    from kitemark.verdicts.decide import decide

    doc = document()
    doc["summary"].update(failed=0, error=0, compliant=True, verdict="compliant")
    doc["results"][1]["status"] = "passed"  # its finding still failed
    again = decide(doc)
    assert again["results"][1]["status"] == "failed" and again["summary"]["verdict"] == "not_compliant"


def test_no_requirement_is_met_while_the_run_is_incomplete() -> None:
    alone = shard("r1", "ab", 1)
    verdicts = {r["id"]: r["verdict"] for r in alone["frameworks"][0]["requirements"]}
    assert verdicts == {"1": "manual", "9": "partial", "14": "partial"}
    stopped = document(
        [result("a", Finding(Status.PASSED, "Namespace/a", "ok"))], run=run_record(stopped="-x")
    )
    assert {r["verdict"] for r in stopped["frameworks"][0]["requirements"]} == {"manual", "partial"}


def test_merged_shards_list_each_target_once() -> None:
    first, second = shard("r1", "ab", 1), shard("r2", "cd", 2)
    for doc in (first, second):
        doc["targets"][0].update(inventory_sha256="a" * 64, errors=[{"path": "x.yaml", "message": "bad"}])
    merged = merge([("a.json", first), ("b.json", second)])
    assert len(merged["targets"]) == 1 and merged["summary"]["input_errors"] == 1


def test_a_finding_marked_waived_counts_only_with_a_live_waiver_covering_it() -> None:
    from kitemark.verdicts.decide import decide

    doc = document()
    assert doc["results"][2]["status"] == "waived"  # W-1 covers Namespace/c
    doc["results"][1]["findings"][0].update(status="waived", waiver={"id": "W-1"})  # Namespace/b
    again = decide(doc)
    assert again["results"][1]["status"] == "failed"
    assert "no waiver in the results covers it" in again["results"][1]["findings"][0]["message"]
    assert again["results"][2]["status"] == "waived"
    next(w for w in doc["waivers"]["entries"] if w["id"] == "W-1")["expired"] = True
    assert decide(doc)["results"][2]["status"] == "failed"
    doc = document()
    doc["waivers"]["entries"] = []  # waived by a waiver the document does not hold
    assert decide(doc)["results"][2]["status"] == "failed" and not decide(doc)["summary"]["compliant"]


def test_merge_refuses_two_different_targets_under_one_label() -> None:
    first, second = shard("r1", "ab", 1), shard("r2", "cd", 2)
    first["targets"][0]["inventory_sha256"] = "a" * 64
    second["targets"][0].update(inventory_sha256="b" * 64, location="/elsewhere")
    with pytest.raises(UsageError, match=r"b\.json: target cluster:demo \(/elsewhere\) is not the"):
        merge([("a.json", first), ("b.json", second)])
