"""Cluster platform values are check inputs (no platform file): defaults, one-at-a-time overrides from
kitemark.yaml, refusal of a bad override, and K8S-NS-001's reading of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kitemark.core.catalog import Catalogue
from kitemark.core.config import load_config
from kitemark.core.errors import UsageError
from kitemark.core.kinds import get_kind
from kitemark.core.model import Finding, Status
from kitemark.testing import compliant_namespace as namespace
from kitemark.testing import run_check

CP = "cloud-platform.justice.gov.uk/"
SOURCE = f"{CP}source-code"
UNIT = "cluster:t/namespace:team-a"


def dump(root: Path, *objects: dict[str, Any]) -> Path:
    (root / "objects.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    )
    return root


def ns001(root: Path, inputs: dict[str, Any] | None = None) -> Finding:
    (finding,) = run_check("K8S-NS-001", root, inputs=inputs)[UNIT]
    return finding


# --- declared inputs and their defaults ------------------------------------------------------------


def test_platform_file_and_option_are_gone(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown target option 'platform=p\.yaml'"):
        get_kind("cluster").specs({"cluster": [f"x=snapshot:{tmp_path},platform=p.yaml"]})


def test_inputs_are_declared_with_the_moj_defaults() -> None:
    catalogue = Catalogue.load()
    assert [i.name for i in get_kind("cluster").inputs] == ["system_namespaces"]
    values = catalogue.inputs.resolve({})
    assert {"default", "kube-system", "concourse-*"} <= set(values["system_namespaces"])
    assert "HMCTS" in values["business_units"] and len(values["business_units"]) == 9
    assert values["namespace_annotations"][f"{CP}business-unit"] == {"allowed": {"input": "business_units"}}
    assert values["namespace_labels"]["pod-security.kubernetes.io/enforce"] == {"allowed": ["restricted"]}
    for name in ("namespace_labels", "namespace_annotations", "business_units", "source_code_pattern"):
        assert catalogue.inputs.users(name) == ["K8S-NS-001"]
        assert catalogue.inputs.get(name).schema
    assert set(catalogue.checks["K8S-NS-001"].inputs) == {
        "namespace_labels",
        "namespace_annotations",
        "business_units",
        "source_code_pattern",
    }


# --- overrides -------------------------------------------------------------------------------------


def test_system_namespaces_override_decides_the_namespace_units(tmp_path: Path) -> None:
    root = dump(tmp_path, *(namespace(n) for n in ("team-a", "ops", "tools-1", "kube-system")))
    units = sorted(run_check("K8S-NS-001", root))
    assert units == ["cluster:t/namespace:ops", "cluster:t/namespace:team-a", "cluster:t/namespace:tools-1"]
    units = sorted(run_check("K8S-NS-001", root, inputs={"system_namespaces": ["ops", "tools-*"]}))
    assert units == ["cluster:t/namespace:kube-system", "cluster:t/namespace:team-a"]


def test_business_units_override_alone_keeps_every_other_rule(tmp_path: Path) -> None:
    root = dump(tmp_path, namespace(**{f"{CP}business-unit": "Ops"}))
    assert ns001(root).status is Status.FAILED
    finding = ns001(root, {"business_units": ["Ops", "Platform"]})
    assert finding.status is Status.PASSED, finding.message
    assert len(finding.evidence["checked"]) == 9  # the labels and other annotations still apply
    (tmp_path / "2").mkdir()
    finding = ns001(dump(tmp_path / "2", namespace()), {"business_units": ["Ops"]})
    assert finding.status is Status.FAILED and "'HMPPS' is not one of 'Ops'" in finding.message


def test_source_code_pattern_override(tmp_path: Path) -> None:
    root = dump(tmp_path, namespace(**{SOURCE: "https://gitlab.example.com/team/a"}))
    assert ns001(root).status is Status.FAILED
    assert ns001(root, {"source_code_pattern": r"https://gitlab\.example\.com/\S+"}).status is Status.PASSED


def test_kitemark_yaml_overrides_one_input_without_restating_the_others(tmp_path: Path) -> None:
    config = tmp_path / "kitemark.yaml"
    config.write_text("inputs:\n  business_units: [Ops]\n")
    values = Catalogue.load().inputs.resolve(load_config(config).inputs, str(config))
    assert values["business_units"] == ["Ops"]
    defaults = Catalogue.load().inputs.resolve({})
    assert values["namespace_annotations"] == defaults["namespace_annotations"]
    assert values["system_namespaces"] == defaults["system_namespaces"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"system_namespaces": "kube-system"},
            "input system_namespaces: 'kube-system' is not of type 'array'",
        ),
        ({"system_namespaces": [""]}, "input system_namespaces"),
        ({"business_units": []}, "input business_units"),
        (
            {"source_code_pattern": "https://(github"},
            "input source_code_pattern: 'https://(github' is not a 'regex'",
        ),
        ({"namespace_labels": {"team": {"allow": ["x"]}}}, "input namespace_labels: Additional properties"),
        ({"namespace_annotations": {"a": {"pattern": "("}}}, "is not a 'regex' (at a/pattern)"),
        ({"namespace_annotations": {"a": {"allowed": "HMPPS"}}}, "input namespace_annotations"),
        (
            {"namespace_annotations": {"a": {"allowed": {"input": "system_namespaces"}}}},
            "'business_units' was expected (at a/allowed/input)",
        ),
        ({"namespace_labels": {"a": {"pattern": {"input": "business_units"}}}}, "input namespace_labels"),
        ({"namespace_labels": ["a"]}, "input namespace_labels: ['a'] is not of type 'object'"),
    ],
    ids=[
        "not-a-list",
        "empty-name",
        "no-units",
        "bad-regex",
        "unknown-rule-key",
        "bad-rule-regex",
        "allowed-not-a-list",
        "wrong-input-reference",
        "pattern-refers-to-a-list",
        "rules-not-a-map",
    ],
)
def test_bad_override_is_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=r"^kitemark\.yaml: input ") as raised:
        Catalogue.load().inputs.resolve(overrides, "kitemark.yaml")
    assert message in str(raised.value)


# --- K8S-NS-001: several source-code URLs ----------------------------------------------------------

GH = "https://github.com/ministryofjustice/"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"{GH}a", None),
        (f"{GH}a,{GH}b", None),
        (f"{GH}a, {GH}b ,  {GH}c", None),
        (f"{GH}a,,{GH}b", "with an empty entry"),
        (f"{GH}a,", "with an empty entry"),
        (f",{GH}a", "with an empty entry"),
        (f"{GH}a, http://github.com/x/b", "in every entry ('http://github.com/x/b')"),
        (f"{GH}a {GH}b", "is not a value matching"),  # a space alone does not separate
        ("http://github.com/ministryofjustice/a", "is not a value matching"),
    ],
    ids=[
        "one",
        "two",
        "spaces",
        "empty-middle",
        "trailing-comma",
        "leading-comma",
        "one-bad",
        "space",
        "http",
    ],
)
def test_ns_source_code_may_list_several_repositories(
    tmp_path: Path, value: str, problem: str | None
) -> None:
    finding = ns001(dump(tmp_path, namespace(**{SOURCE: value})))
    if problem is None:
        assert finding.status is Status.PASSED, finding.message
        assert finding.evidence["values"]["annotations"][SOURCE] == value
    else:
        assert finding.status is Status.FAILED and problem in finding.message, finding.message
