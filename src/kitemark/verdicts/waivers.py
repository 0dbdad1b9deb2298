"""Waivers: a YAML file of accepted risks, keyed by check id and a resource selector.

    waivers:
      - id: W-001                      # optional; defaults to W-<position>
        check: K8S-NET-001
        target: "cluster:*"            # optional glob on the target label
        resource: Namespace/laa-legacy # glob on the finding's resource identity
        justification: Legacy app being decommissioned; ingress is internal only.
        owner: laa-platform@justice.gov.uk
        expires: 2027-03-31            # the waiver covers failures up to and including this day

A valid waiver turns a matching *failed* finding into *waived*; an expired one leaves it *failed* and
says so. Waivers never cover *error* (something that could not be assessed has nothing to accept).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.core.model import Status
from kitemark.core.yamlfile import load_config_file

_REQUIRED = ("check", "resource", "justification", "owner", "expires")
_ALLOWED = {*_REQUIRED, "id", "target"}


@dataclass(frozen=True)
class Waiver:
    id: str
    check: str
    resource: str
    justification: str
    owner: str
    expires: dt.date
    target: str | None = None

    def matches(self, check_id: str, target: str, resource: str) -> bool:
        return covers(
            {"check": self.check, "resource": self.resource, "target": self.target},
            check_id,
            target,
            resource,
        )

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def ref(self, today: dt.date) -> dict[str, Any]:
        return {
            "id": self.id,
            "justification": self.justification,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "expired": self.expired(today),
        }

    def to_dict(self, today: dt.date) -> dict[str, Any]:
        return {
            "id": self.id,
            "check": self.check,
            "target": self.target,
            "resource": self.resource,
            "justification": self.justification,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
            "expired": self.expired(today),
        }


def covers(entry: dict[str, Any], check_id: str, target: str, resource: str) -> bool:
    """Whether a waiver (as results.json lists it) covers a failure of ``resource`` for the check."""
    return (
        entry["check"] == check_id
        and fnmatchcase(resource, entry["resource"])
        and (not entry.get("target") or fnmatchcase(target, entry["target"]))
    )


# Names of every shape a resource or target may have: a selector matching all of them (``*``, ``?*``,
# ``[!]]*``) selects anything, whatever it is spelled like.
_ANY_RESOURCE = ("a", "Z9", "team-a/Deployment/web", "main.tf:aws_s3_bucket.b", "x.rego#test_y", "é_.-")
_ANY_TARGET = ("cluster:a", "terraform:Z9", "policies:team-a/x", "aws:é_.-")


def covers_everything(entry: dict[str, Any]) -> bool:
    """A waiver whose selectors match anything (``resource: "*"`` and ``target: "*"`` or none, or any
    glob that matches every name) waives every failure of its check, which is rarely meant: every
    output warns about it."""
    target = entry.get("target")
    return _matches_all(entry.get("resource"), _ANY_RESOURCE) and (
        not target or _matches_all(target, _ANY_TARGET)
    )


def _matches_all(pattern: Any, names: tuple[str, ...]) -> bool:
    return isinstance(pattern, str) and all(fnmatchcase(name, pattern) for name in names)


def load_waivers(path: Path) -> list[Waiver]:
    """Parse and validate a waivers file; any problem is a one-line UsageError naming file and entry."""
    raw = load_config_file(path, "waivers file") or {}
    entries = raw.get("waivers") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"{path}: expected a top-level `waivers:` list")
    waivers: list[Waiver] = []
    for index, entry in enumerate(entries, start=1):
        label = entry.get("id") if isinstance(entry, dict) else None
        name = f"{path}: waiver #{index}" + (f" ({label})" if label else "")
        if not isinstance(entry, dict):
            raise UsageError(f"{name}: expected a mapping")
        unknown = sorted(set(entry) - _ALLOWED)
        if unknown:
            raise UsageError(f"{name}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(_ALLOWED))})")
        missing = [key for key in _REQUIRED if not str(entry.get(key) or "").strip()]
        if missing:
            raise UsageError(f"{name}: missing {', '.join(missing)}")
        for key in ("check", "resource", "target", "id"):
            if entry.get(key) is not None and not isinstance(entry[key], str | int):
                raise UsageError(f"{name}: {key} must be a single string (one waiver per selector)")
        for key in ("justification", "owner"):
            if not isinstance(entry[key], str):
                raise UsageError(f"{name}: {key} must be text, not a {type(entry[key]).__name__}")
        try:
            expires = dt.date.fromisoformat(str(entry["expires"]))
        except ValueError:
            got = entry["expires"]
            raise UsageError(f"{name}: expires must be a date (YYYY-MM-DD), got {got!r}") from None
        waivers.append(
            Waiver(
                id=str(entry.get("id") or f"W-{index}"),
                check=str(entry["check"]),
                resource=str(entry["resource"]),
                justification=str(entry["justification"]).strip(),
                owner=str(entry["owner"]),
                expires=expires,
                target=str(entry["target"]) if entry.get("target") else None,
            )
        )
    ids = [w.id for w in waivers]
    if len(ids) != len(set(ids)):
        raise UsageError(f"{path}: waiver ids must be unique")
    return waivers


def check_known(waivers: list[Waiver], known: set[str], path: Path) -> None:
    """A waiver for a check that does not exist is a typo that would silently waive nothing."""
    for waiver in waivers:
        if waiver.check not in known:
            raise UsageError(f"{path}: waiver {waiver.id} names unknown check {waiver.check}")


def apply_waivers(
    findings: list[dict[str, Any]], check_id: str, target: str, waivers: list[Waiver], today: dt.date
) -> list[dict[str, Any]]:
    """Waive the failed findings (as results.json holds them) a waiver matches, in place. A waiver
    covers every failure of the resource it names for that check, whatever the message."""
    if not waivers:
        return findings
    for finding in findings:
        if finding["status"] != Status.FAILED.value:
            continue
        matching = [w for w in waivers if w.matches(check_id, target, finding["resource"])]
        if not matching:
            continue
        # A valid waiver wins over an expired one for the same finding.
        waiver = next((w for w in matching if not w.expired(today)), matching[0])
        finding["waiver"] = waiver.ref(today)
        if waiver.expired(today):
            finding["message"] += f" [waiver {waiver.id} expired on {waiver.expires.isoformat()}]"
        else:
            finding["status"] = Status.WAIVED.value
    return findings
