from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kitemark.core.errors import UsageError
from kitemark.core.model import Finding, Status
from kitemark.verdicts.waivers import apply_waivers, check_known, load_waivers

TODAY = dt.date(2026, 11, 26)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return path


VALID = """
waivers:
  - id: W-1
    check: K8S-NET-001
    target: "cluster:*"
    resource: Namespace/legacy-*
    justification: Decommissioning in Q1; internal traffic only.
    owner: team@example.gov.uk
    expires: 2027-01-31
  - id: W-2
    check: K8S-NET-001
    resource: Namespace/old
    justification: Expired acceptance.
    owner: team@example.gov.uk
    expires: 2026-11-25
"""


def test_valid_waiver_waives_and_expired_waiver_fails(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, VALID))
    findings = [
        Finding(Status.FAILED, "Namespace/legacy-app", "no default deny").to_dict(),
        Finding(Status.FAILED, "Namespace/old", "no default deny").to_dict(),
        Finding(Status.FAILED, "Namespace/other", "no default deny").to_dict(),
        Finding(Status.ERROR, "Namespace/legacy-broken", "could not read").to_dict(),
        Finding(Status.PASSED, "Namespace/legacy-ok", "fine").to_dict(),
    ]
    apply_waivers(findings, "K8S-NET-001", "cluster:demo", waivers, TODAY)
    assert [f["status"] for f in findings] == ["waived", "failed", "failed", "error", "passed"]
    assert findings[0]["waiver"] == {
        "id": "W-1",
        "justification": "Decommissioning in Q1; internal traffic only.",
        "owner": "team@example.gov.uk",
        "expires": "2027-01-31",
        "expired": False,
    }
    assert findings[1]["waiver"] and findings[1]["waiver"]["expired"] is True
    assert "expired on 2026-11-25" in findings[1]["message"]
    assert findings[2]["waiver"] is None and findings[3]["waiver"] is None


def test_waiver_is_scoped_by_check_and_target(tmp_path: Path) -> None:
    waivers = load_waivers(_write(tmp_path, VALID))
    other_check = [Finding(Status.FAILED, "Namespace/legacy-app", "x").to_dict()]
    apply_waivers(other_check, "K8S-POD-001", "cluster:demo", waivers, TODAY)
    other_target = [Finding(Status.FAILED, "Namespace/legacy-app", "x").to_dict()]
    apply_waivers(other_target, "K8S-NET-001", "terraform:demo", waivers, TODAY)
    assert other_check[0]["status"] == "failed" and other_target[0]["status"] == "failed"


def test_last_day_is_still_valid(tmp_path: Path) -> None:
    [waiver, _] = load_waivers(_write(tmp_path, VALID))
    assert not waiver.expired(dt.date(2027, 1, 31)) and waiver.expired(dt.date(2027, 2, 1))


def _entry(extra: str, resource: str = "Namespace/a") -> str:
    return (
        f"waivers:\n  - check: K8S-NET-001\n    resource: {resource}\n    owner: o\n"
        f"    justification: j\n    {extra}\n"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "waivers:\n  - check: X\n    resource: r\n    owner: o\n    expires: 2027-01-01\n",
            "waiver #1: missing justification",
        ),
        (
            "waivers:\n  - check: X\n    resource: r\n    owner: o\n"
            "    justification: j\n    expires: soon\n",
            "expires must be a date",
        ),
        ("waivers: [\n", "waivers.yaml:2"),
        (_entry("expires: 2030-02-30"), "expires must be a date"),
        (_entry("expires: 2030-02-01T10:00:00"), "expires must be a date"),
        (_entry("expires: 2030-02-01\n    exipres: 2030-02-01"), "unknown key 'exipres'"),
        (_entry("expires: 2030-02-01", resource="[a, b]"), "resource must be a single string"),
        ("something: else\n", "top-level `waivers:` list"),
        (
            "waivers:\n  - check: X\n    resource: r\n    owner: [a, b]\n"
            "    justification: j\n    expires: 2027-01-01\n",
            "owner must be text, not a list",
        ),
        (_entry("expires: 2030-02-01\n    expires: 2031-02-01"), "duplicate key 'expires'"),
    ],
)
def test_bad_waivers_file_is_a_one_line_usage_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message) as info:
        load_waivers(_write(tmp_path, text))
    assert "\n" not in str(info.value)


def test_missing_waivers_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        load_waivers(tmp_path / "nope.yaml")


def test_a_valid_waiver_wins_over_an_expired_one(tmp_path: Path) -> None:
    # W-2 (expired) is listed first in this file and matches too.
    text = VALID.replace("resource: Namespace/old", "resource: Namespace/legacy-app")
    waivers = list(reversed(load_waivers(_write(tmp_path, text))))
    [finding] = apply_waivers(
        [Finding(Status.FAILED, "Namespace/legacy-app", "x").to_dict()],
        "K8S-NET-001",
        "cluster:demo",
        waivers,
        TODAY,
    )
    assert finding["status"] == "waived" and finding["waiver"]["id"] == "W-1"


def test_a_waiver_for_an_unknown_check_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID)
    with pytest.raises(UsageError, match="W-1 names unknown check K8S-NET-001"):
        check_known(load_waivers(path), {"K8S-POD-001"}, path)
    check_known(load_waivers(path), {"K8S-NET-001"}, path)
