"""The check model: what a check is, what it found, and how an item's status is decided."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

SUITES = ("cluster", "terraform", "policies", "aws", "monitoring")


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; used for `--severity` (at or above)."""
        return {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}[self.value]


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


# An item is as bad as its worst finding; a definite failure outranks "could not assess".
_PRECEDENCE = (Status.FAILED, Status.ERROR, Status.WAIVED, Status.PASSED, Status.NOT_APPLICABLE)


@dataclass(frozen=True)
class Check:
    """The unit an auditor reads. Declared once, beside the check's code, with `@check`."""

    id: str
    suite: str
    scope: str
    title: str
    severity: Severity
    controls: tuple[str, ...]
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity.value
        data["controls"] = list(self.controls)
        data["references"] = list(self.references)
        return data


@dataclass
class Finding:
    """The outcome for one resource. `resource` is its stable identity (never a line number);
    `location` (file:line) is for the reader only."""

    status: Status
    resource: str
    message: str
    evidence: Any = None
    location: str | None = None
    waiver: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            status=Status(data["status"]),
            resource=data["resource"],
            message=data["message"],
            evidence=data.get("evidence"),
            location=data.get("location"),
            waiver=data.get("waiver"),
        )


@dataclass
class ItemResult:
    """One check evaluated on one scope unit: one pytest item, one JUnit testcase."""

    check_id: str
    target: str
    unit: str
    findings: list[Finding] = field(default_factory=list)
    duration: float = 0.0

    @property
    def id(self) -> str:
        """Stable across runs: the baseline and the trend are keyed by it."""
        return f"{self.check_id}[{self.unit}]"

    @property
    def status(self) -> Status:
        return aggregate_status(f.status for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "check_id": self.check_id,
            "target": self.target,
            "unit": self.unit,
            "status": self.status.value,
            "duration": round(self.duration, 4),
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ItemResult:
        return cls(
            check_id=data["check_id"],
            target=data["target"],
            unit=data["unit"],
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            duration=data.get("duration", 0.0),
        )


def aggregate_status(statuses: Any) -> Status:
    seen = set(statuses)
    for status in _PRECEDENCE:
        if status in seen:
            return status
    return Status.NOT_APPLICABLE
