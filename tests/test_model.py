"""The check model: result status from findings, locations, evaluation turning every problem into an
error finding, inputs, and the @check declaration."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kitemark.core.checks import check, evaluate, failed, passed
from kitemark.core.errors import UsageError
from kitemark.core.inputs import Input, InputRegistry
from kitemark.core.kinds import InputError, NothingInScope, Unit
from kitemark.core.model import (
    ArnLocation,
    FileLocation,
    Finding,
    Result,
    Status,
    aggregate_status,
    location_from_dict,
)


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["passed", "failed", "error"], "failed"),
        (["passed", "error", "waived"], "error"),
        (["passed", "waived"], "waived"),
        (["passed", "not_applicable"], "passed"),
        (["not_applicable"], "not_applicable"),
        ([], "not_applicable"),
    ],
)
def test_result_status_is_its_worst_finding(statuses: list[str], expected: str) -> None:
    assert aggregate_status(Status(s) for s in statuses) is Status(expected)


def test_result_round_trips_with_structured_locations() -> None:
    result = Result(
        "X-001",
        "cluster:a",
        "cluster:a/namespace:b",
        [
            Finding(Status.FAILED, "Namespace/b", "m", {"k": 1}, FileLocation("f.yaml", 3, "/snap")),
            Finding(Status.PASSED, "S3Bucket/x", "ok", None, ArnLocation("arn:aws:s3:::x")),
        ],
        0.5,
    )
    again = Result.from_dict(result.to_dict())
    assert again.to_dict() == result.to_dict()
    assert again.id == "X-001[cluster:a/namespace:b]"
    assert again.findings[0].where == "f.yaml:3" and again.findings[1].where == "arn:aws:s3:::x"


@pytest.mark.parametrize(
    ("text", "path", "line"),
    [("a/b.yaml:7", "a/b.yaml", 7), ("a/b.yaml", "a/b.yaml", None), ("c:d", "c:d", None)],
)
def test_file_locations_parse_from_text(text: str, path: str, line: int | None) -> None:
    assert FileLocation.parse(text) == FileLocation(path, line)
    assert location_from_dict(text) == FileLocation(path, line)


def _probe(data: object) -> list[Finding]:
    if data == "boom":
        raise KeyError("spec")
    return [failed("R/1", "bad", location="x.yaml:2"), passed("R/2", "good")] if data == "mixed" else []


def test_evaluate_turns_input_errors_and_exceptions_into_errors() -> None:
    bad_input = Unit("t/u", "t", "mixed", [InputError("a/b.yaml", "could not parse", 7)])
    [finding] = evaluate(_probe, bad_input)
    assert finding.status is Status.ERROR and finding.where == "a/b.yaml:7"
    assert finding.message == "a/b.yaml:7: could not parse"
    [api] = evaluate(
        _probe,
        Unit("t/u", "t", "mixed", [InputError("eu-west-2 eks:ListClusters", "AccessDenied", file=False)]),
    )
    assert api.location is None and api.message == "eu-west-2 eks:ListClusters: AccessDenied"

    [crash] = evaluate(_probe, Unit("t/u", "t", "boom"))
    assert crash.status is Status.ERROR and "KeyError" in crash.message

    assert [f.status for f in evaluate(_probe, Unit("t/u", "t", "mixed"))] == [Status.FAILED, Status.PASSED]
    [empty] = evaluate(_probe, Unit("t/u", "t", "nothing"))
    assert empty.status is Status.NOT_APPLICABLE

    nothing = NothingInScope("cluster.namespace", {"location": "/snap", "objects": 0})
    [none] = evaluate(_probe, Unit("t/no-namespace", "t", nothing))
    assert none.status is Status.NOT_APPLICABLE and none.message == "the target has no namespace to check"
    assert none.evidence == {"searched": {"location": "/snap", "objects": 0}}


def test_evaluate_roots_file_locations_in_the_target_folder() -> None:
    [bad, _] = evaluate(_probe, Unit("t/u", "t", "mixed", root="/srv/snapshot"))
    assert bad.location == FileLocation("x.yaml", 2, "/srv/snapshot")


LIMIT = Input("probe_limit", 3, "How many things a probe allows", {"type": "integer", "minimum": 0})


def test_a_check_reads_only_the_inputs_it_declares() -> None:
    @check("PROBE-IN-001", scope="terraform.module", title="A probe reading an input", severity="low",
           rationale="r" * 40, remediation="r" * 40, reads=["x"], inputs=[LIMIT])  # fmt: skip
    def test_probe(data: Any, inputs: Any) -> Iterator[Finding]:
        yield passed("R/1", f"limit {inputs['probe_limit']}")
        yield passed("R/2", f"other {inputs['not_declared']}")

    [finding] = evaluate(test_probe.evaluate, Unit("t/u", "t", "d"), {"probe_limit": 5, "not_declared": 1})
    assert finding.status is Status.ERROR and "without declaring it" in finding.message


def test_inputs_resolve_defaults_overrides_and_refuse_bad_values() -> None:
    registry = InputRegistry()
    registry.declare("PROBE-IN-001", [LIMIT])
    assert registry.resolve({}) == {"probe_limit": 3}
    assert registry.resolve({"probe_limit": 9}) == {"probe_limit": 9}
    with pytest.raises(UsageError, match="unknown input 'probe_limt'"):
        registry.resolve({"probe_limt": 9}, "kitemark.yaml")
    with pytest.raises(UsageError, match="input probe_limit: -1 is less than the minimum"):
        registry.resolve({"probe_limit": -1}, "kitemark.yaml")
    with pytest.raises(ValueError, match="different defaults"):
        registry.declare("PROBE-IN-002", [Input("probe_limit", 4, "How many things a probe allows")])
    bad = Input("probe_bad", "three", "A default that breaks its own schema", {"type": "integer"})
    assert bad.problem(bad.default) == "'three' is not of type 'integer'"


def test_check_rejects_a_scope_without_a_kind() -> None:
    with pytest.raises(ValueError, match="scope"):
        check("X-001", scope="nowhere", title="t", severity="low", rationale="r", remediation="r")


def test_a_check_with_inputs_must_take_them() -> None:
    with pytest.raises(TypeError, match="must take \\(data, inputs\\)"):

        @check("PROBE-IN-003", scope="terraform.module", title="t", severity="low", rationale="r",
               remediation="r", inputs=[LIMIT])  # fmt: skip
        def test_probe(data: Any) -> None:
            return None
