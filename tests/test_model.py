from __future__ import annotations

import pytest

from kitemark.core.checks import check, evaluate, failed, passed
from kitemark.core.kinds import InputError, NothingInScope, Unit
from kitemark.core.model import Finding, ItemResult, Status, aggregate_status


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
def test_item_status_is_its_worst_finding(statuses: list[str], expected: str) -> None:
    assert aggregate_status(Status(s) for s in statuses) is Status(expected)


def test_item_result_round_trips() -> None:
    item = ItemResult(
        "X-001",
        "cluster:a",
        "cluster:a/namespace:b",
        [Finding(Status.FAILED, "Namespace/b", "m", {"k": 1}, "f.yaml:3")],
        0.5,
    )
    again = ItemResult.from_dict(item.to_dict())
    assert again.to_dict() == item.to_dict()
    assert again.id == "X-001[cluster:a/namespace:b]"


def _probe(data: object) -> list[Finding]:
    if data == "boom":
        raise KeyError("spec")
    return [failed("R/1", "bad"), passed("R/2", "good")] if data == "mixed" else []


def test_evaluate_turns_input_errors_and_exceptions_into_errors() -> None:
    bad_input = Unit("t/u", "t", "mixed", [InputError("a/b.yaml", "could not parse", 7)])
    [finding] = evaluate(_probe, bad_input)
    assert finding.status is Status.ERROR and finding.location == "a/b.yaml:7"
    assert "a/b.yaml:7: could not parse" in finding.message

    [crash] = evaluate(_probe, Unit("t/u", "t", "boom"))
    assert crash.status is Status.ERROR and "KeyError" in crash.message

    assert [f.status for f in evaluate(_probe, Unit("t/u", "t", "mixed"))] == [Status.FAILED, Status.PASSED]
    [empty] = evaluate(_probe, Unit("t/u", "t", "nothing"))
    assert empty.status is Status.NOT_APPLICABLE

    nothing = NothingInScope("cluster.namespace", {"location": "/snap", "objects": 0})
    [none] = evaluate(_probe, Unit("t/no-namespace", "t", nothing))
    assert none.status is Status.NOT_APPLICABLE and none.message == "the target has no namespace to check"
    assert none.evidence == {"searched": {"location": "/snap", "objects": 0}}


def test_check_rejects_an_unknown_suite() -> None:
    with pytest.raises(ValueError, match="scope"):
        check(
            "X-001",
            scope="nowhere.thing",
            title="t",
            severity="low",
            controls=[],
            rationale="r",
            remediation="r",
        )
