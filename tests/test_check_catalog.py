"""Self-tests every check must pass: complete metadata, a place in the frameworks, declared reads and
inputs, and its own compliant and non-compliant fixture (`fixtures/checks/<CHECK-ID>/`), whose
`expected.yaml` names exactly what must pass and what must fail (checkov's shape: exact sets)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kitemark.core import resources
from kitemark.core.catalog import Catalogue
from kitemark.core.frameworks import controls_by_check, load_frameworks, problems
from kitemark.core.kinds import registry
from kitemark.core.model import Status
from kitemark.testing import fixture_path, run_on_fixture

CATALOGUE = Catalogue.load()
CHECKS = CATALOGUE.checks
ROOT = resources.check_fixtures_dir().parent.parent
ID_PATTERN = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)*-\d{3}$")


def test_catalogue_covers_every_kind_and_is_valid() -> None:
    assert {c.kind for c in CHECKS.values()} >= {"cluster", "terraform", "policies", "aws"}
    assert CATALOGUE.problems() == []


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_check_metadata_is_complete(check_id: str) -> None:
    check = CHECKS[check_id]
    assert ID_PATTERN.match(check.id), "ids look like K8S-NET-001"
    assert check.kind in registry()
    assert len(check.title) >= 10
    assert len(check.rationale) >= 40, "rationale must tell the auditor why this matters"
    assert len(check.remediation) >= 40, "remediation must say what to change"
    assert check.reads, "declare the data the check reads (reads=[...]) so collectors fetch only that"
    assert "-INPUT-" not in check.id or check.input_check, "input checks say so with input_check=True"


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_every_check_evidences_both_frameworks(check_id: str) -> None:
    """The framework files are the one place a check is mapped; input checks report on the evidence
    itself and evidence no requirement."""
    controls = controls_by_check(load_frameworks(), CHECKS)[check_id]
    if CHECKS[check_id].input_check:
        assert controls == []
        return
    assert any(c.startswith("service-standard:") for c in controls), f"map {check_id} in 1-service-standard"
    assert any(c.startswith("ncsc-csp:") for c in controls), f"map {check_id} in 2-ncsc-csp"


def test_frameworks_name_only_known_checks() -> None:
    assert problems(load_frameworks(), CHECKS) == []


def test_service_standard_and_ncsc_are_complete() -> None:
    frameworks = {fw.id: fw for fw in load_frameworks()}
    standard = frameworks["service-standard"]
    assert [r.id for r in standard.requirements] == [str(n) for n in range(1, 15)]
    assert all(r.manual for r in standard.requirements[:7])
    assert all(r.checks and not r.manual for r in standard.requirements[7:])
    assert [r.id for r in frameworks["ncsc-csp"].requirements] == [str(n) for n in range(1, 15)]
    assert all(r.manual_evidence for fw in frameworks.values() for r in fw.requirements if r.manual)


def test_every_input_has_a_valid_default_and_a_description() -> None:
    inputs = CATALOGUE.inputs
    assert inputs.names(), "platform values are check inputs"
    values = inputs.resolve({})
    for name in inputs.names():
        declared = inputs.get(name)
        assert len(declared.description) >= 15, name
        assert declared.schema, f"{name}: give the input a JSON schema so a bad override is refused"
        assert declared.problem(values[name]) is None


def _expected(check_id: str) -> dict[str, list[dict[str, str]]]:
    path = fixture_path(check_id, "expected.yaml")
    assert path.is_file(), f"add {path.relative_to(ROOT)} naming what must pass and what must fail"
    data = yaml.safe_load(path.read_text())
    assert set(data) == {"compliant", "noncompliant"}, f"{path.name}: `compliant:` and `noncompliant:`"
    return data


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_compliant_fixture_passes_exactly_the_listed_resources(check_id: str) -> None:
    assert fixture_path(check_id, "compliant").exists(), f"add fixtures/checks/{check_id}/compliant/"
    expected = {e["resource"] for e in _expected(check_id)["compliant"]}
    findings = run_on_fixture(check_id, "compliant")
    assert not [f for f in findings if f.status in (Status.FAILED, Status.ERROR)], findings
    assert {f.resource for f in findings if f.status is Status.PASSED} == expected, findings
    _located_by_arn_if_aws(check_id, findings)
    if CHECKS[check_id].kind == "aws":  # an account read in full: every resource is in scope
        assert all(f.status is Status.PASSED for f in findings), findings


@pytest.mark.parametrize("check_id", sorted(CHECKS))
def test_noncompliant_fixture_fails_exactly_the_listed_resources(check_id: str) -> None:
    """Exactly the resources listed fail, each for its stated reason; an input check reports *error*."""
    assert fixture_path(check_id, "noncompliant").exists(), f"add fixtures/checks/{check_id}/noncompliant/"
    expected = _expected(check_id)["noncompliant"]
    outcome = Status.ERROR if CHECKS[check_id].input_check else Status.FAILED
    findings = run_on_fixture(check_id, "noncompliant")
    bad = {f.resource: f for f in findings if f.status in (Status.FAILED, Status.ERROR)}
    assert set(bad) == {e["resource"] for e in expected}, findings
    for entry in expected:
        finding = bad[entry["resource"]]
        assert finding.status is outcome, finding
        assert entry["message"] in finding.message, finding
    _located_by_arn_if_aws(check_id, findings)


def _located_by_arn_if_aws(check_id: str, findings: list[Any]) -> None:
    """An AWS check's every finding points at its resource's ARN."""
    if CHECKS[check_id].kind == "aws":
        assert all(f.where.startswith("arn:aws:") for f in findings), findings


def test_no_suite_module_is_outside_the_package() -> None:
    """`suites/` is a package imported once: every folder holding checks has an __init__.py."""
    suites = resources.suites_dir()
    for path in suites.rglob("test_*.py"):
        for folder in [path.parent, *path.parent.parents]:
            assert (folder / "__init__.py").is_file(), folder
            if folder == suites:
                break


def test_fixture_folders_belong_to_known_checks() -> None:
    folders = {p.name for p in resources.check_fixtures_dir().iterdir() if p.is_dir()}
    assert folders == set(CHECKS), "a fixture folder per check, and none for a check that is gone"


def test_a_check_listed_twice_under_a_requirement_counts_once(tmp_path: Path) -> None:
    extra = tmp_path / "fw.yaml"
    extra.write_text(
        "id: twice\nname: Twice\nrequirements:\n"
        "  - id: '1'\n    title: t\n    checks: [K8S-NET-001, K8S-NET-001, K8S-NS-001]\n"
    )
    twice = next(fw for fw in load_frameworks([extra]) if fw.id == "twice")
    assert twice.requirements[0].checks == ("K8S-NET-001", "K8S-NS-001")


def test_readme_lists_every_check() -> None:
    """The README's "What it checks" table is the first thing a reader sees: it names every check the
    catalogue holds, and no other (regenerate it from `kitemark controls --format markdown`)."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme[readme.index("| id | kind | severity | title | controls |") :].split("\n\n", 1)[0]
    listed = {row.split("|")[1].strip() for row in table.splitlines()[2:]}
    assert listed == set(CHECKS)


def test_readme_lists_every_input() -> None:
    """The README's inputs table (what `kitemark.yaml` may set) names every input, and no other."""
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = readme[readme.index("| input | used by | description | default |") :].split("\n\n", 1)[0]
    listed = {row.split("|")[1].strip().strip("`") for row in table.splitlines()[2:]}
    assert listed == set(CATALOGUE.inputs.names()), "regenerate it: kitemark controls --format markdown"
