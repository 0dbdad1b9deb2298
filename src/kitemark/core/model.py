"""The check model: what a check is, what it found, where, and how a result's status is decided."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more severe; used for `--severity` (at or above)."""
        return len(SEVERITY_ORDER) - 1 - SEVERITY_ORDER.index(self.value)


SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WAIVED = "waived"
    NOT_APPLICABLE = "not_applicable"
    ERROR = "error"


# A result is as bad as its worst finding; a definite failure outranks "could not assess".
WORST_FIRST = ("failed", "error", "waived", "passed", "not_applicable")
# Statuses that say something about a resource (an *error* assessed nothing; *n/a* had nothing to assess).
ASSESSED = frozenset({"passed", "failed", "waived"})


# The most of one text a policy's output (a print, a violation message) may put in the evidence: a
# policy can build a string of any size, and every report would carry it.
MAX_TEXT = 2000
MAX_PRINTS = 20  # lines of a Rego test's print() output kept


def clipped(text: str, limit: int = MAX_TEXT) -> str:
    """``text``, cut to ``limit`` characters with a note of how many were left out."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit} more characters)"


def worst(statuses: Iterable[str]) -> str:
    """The worst of some statuses (``not_applicable`` when there are none)."""
    seen = set(statuses)
    return next((s for s in WORST_FIRST if s in seen), "not_applicable")


def aggregate_status(statuses: Iterable[Status]) -> Status:
    return Status(worst(statuses))


@dataclass(frozen=True)
class Check:
    """The unit an auditor reads. Declared once, beside the check's code, with ``@check``.

    Which framework requirements a check evidences is not here: framework files map requirements to
    checks (one direction only), so a new framework needs no change to any check.
    """

    id: str
    kind: str
    scope: str
    title: str
    severity: Severity
    rationale: str
    remediation: str
    references: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # the data the check needs (kinds, resource types, API calls)
    inputs: tuple[str, ...] = ()  # names of the check inputs it reads (see kitemark.core.inputs)
    input_check: bool = False  # reports on the input itself: always runs, never counts as assessment
    always_run: bool = False  # kept by every selection (``@check`` sets it for input checks too)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "scope": self.scope,
            "title": self.title,
            "severity": self.severity.value,
            "rationale": self.rationale,
            "remediation": self.remediation,
            "references": list(self.references),
            "reads": list(self.reads),
            "inputs": list(self.inputs),
            "input_check": self.input_check,
            "always_run": self.always_run,
        }


# --- locations ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileLocation:
    """A place in a file: ``path`` relative to ``root`` (the target's directory), 1-based ``line``."""

    path: str
    line: int | None = None
    root: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"type": "file", "root": self.root, "path": self.path, "line": self.line}

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    @classmethod
    def parse(cls, text: str, root: str | None = None) -> FileLocation:
        """``path:line`` or ``path``."""
        path, sep, line = text.rpartition(":")
        if sep and line.isdigit() and path:
            return cls(path, int(line), root)
        return cls(text, None, root)


@dataclass(frozen=True)
class ObjectLocation:
    """A Kubernetes object read from an API server."""

    cluster: str
    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "object",
            "cluster": self.cluster,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    def __str__(self) -> str:
        ns = f"{self.namespace}/" if self.namespace else ""
        return f"{self.cluster}: {self.kind} {ns}{self.name}"


@dataclass(frozen=True)
class ArnLocation:
    """A cloud resource, by its ARN."""

    arn: str

    def to_dict(self) -> dict[str, Any]:
        return {"type": "arn", "arn": self.arn}

    def __str__(self) -> str:
        return self.arn


Location = FileLocation | ObjectLocation | ArnLocation


def location_from_dict(data: dict[str, Any] | str | None) -> Location | None:
    if data is None:
        return None
    if isinstance(data, str):  # results.json v1 kept `path:line` text
        return FileLocation.parse(data)
    kind = data.get("type")
    if kind == "file":
        return FileLocation(data["path"], data.get("line"), data.get("root"))
    if kind == "object":
        return ObjectLocation(
            data["cluster"], data["apiVersion"], data["kind"], data["name"], data.get("namespace")
        )
    if kind == "arn":
        return ArnLocation(data["arn"])
    raise ValueError(f"unknown location type {kind!r}")


def location_text(data: dict[str, Any] | None) -> str:
    """A location as one line, for terminals and reports."""
    found = location_from_dict(data)
    return str(found) if found is not None else ""


# --- findings and results -------------------------------------------------------------------------


@dataclass(slots=True)
class Finding:
    """The outcome for one resource. ``resource`` is its stable identity within the target (never a
    line number); ``location`` says where to look; ``waiver`` is set on the controller only."""

    status: Status
    resource: str
    message: str
    evidence: Any = None
    location: Location | None = None
    waiver: dict[str, Any] | None = None

    @property
    def where(self) -> str:
        return str(self.location) if self.location is not None else ""

    def to_dict(self) -> dict[str, Any]:
        # Written by hand: dataclasses.asdict deep-copies evidence and was most of a large run's cost.
        return {
            "status": self.status.value,
            "resource": self.resource,
            "message": self.message,
            "evidence": self.evidence,
            "location": self.location.to_dict() if self.location is not None else None,
            "waiver": self.waiver,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            status=Status(data["status"]),
            resource=data["resource"],
            message=data["message"],
            evidence=data.get("evidence"),
            location=location_from_dict(data.get("location")),
            waiver=data.get("waiver"),
        )


def fingerprint(check_id: str, target: str, resource: str) -> str:
    """A finding's identity across runs: its check, its target and its resource, never where it is."""
    digest = hashlib.sha256(f"{check_id}\x00{target}\x00{resource}".encode(), usedforsecurity=False)
    return digest.hexdigest()[:24]


def result_id(check_id: str, unit: str) -> str:
    """Stable across runs: baselines, trends and merges are keyed by it."""
    return f"{check_id}[{unit}]"


@dataclass
class Result:
    """One check evaluated on one scope unit: one JUnit test case, one row of the report."""

    check_id: str
    target: str
    unit: str
    findings: list[Finding] = field(default_factory=list)
    duration: float = 0.0

    @property
    def id(self) -> str:
        return result_id(self.check_id, self.unit)

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
            "duration": round(self.duration, 6),
            "findings": [f.to_dict() for f in self.findings],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(
            check_id=data["check_id"],
            target=data["target"],
            unit=data["unit"],
            findings=[Finding.from_dict(f) for f in data.get("findings", [])],
            duration=data.get("duration", 0.0),
        )
