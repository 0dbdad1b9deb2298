"""K8S-NS-001's inputs (the metadata every team Namespace must carry) and how a value is judged.

Each of ``namespace_labels`` / ``namespace_annotations`` maps a required key to ``null`` (present
and non-blank) or a rule::

    cloud-platform.justice.gov.uk/business-unit:
      allowed: {input: business_units}   # or a list of exact values
    cloud-platform.justice.gov.uk/source-code:
      pattern: {input: source_code_pattern}   # or a Python regex the whole value must match
      separator: ","                          # several values, each judged on its own
      description: a https://github.com/ URL  # how the expected value reads in a finding

``{input: NAME}`` refers to one of the flat inputs below, so a run can override the business units or
the source-code pattern in ``kitemark.yaml`` without restating the rule that uses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from kitemark.core.inputs import Input
from kitemark.core.labels import label_value

CP = "cloud-platform.justice.gov.uk/"

BUSINESS_UNITS = Input(
    "business_units",
    default=[
        "HQ",
        "HMPPS",
        "OPG",
        "LAA",
        "Central Digital",
        "Technology Services",
        "HMCTS",
        "CICA",
        "Platforms",
    ],
    description="Values allowed in a team namespace's business-unit annotation",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
)
SOURCE_CODE_PATTERN = Input(
    "source_code_pattern",
    default=r"https://github\.com/[\w.-]+/\S*",
    description="Python regular expression every source-code URL of a team namespace must match in full",
    schema={"type": "string", "minLength": 1, "format": "regex"},
)


def _rules_schema() -> dict[str, Any]:
    def value_or_input(value: dict[str, Any], name: str) -> dict[str, Any]:
        # One level of `type` alternatives (not oneOf) keeps a bad value's message precise.
        return {
            **value,
            "type": [value["type"], "object"],
            "properties": {"input": {"const": name}},
            "required": ["input"],
            "additionalProperties": False,
        }

    rule = {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {
            "allowed": value_or_input(
                {"type": "array", "items": {"type": ["string", "number", "boolean"]}}, BUSINESS_UNITS.name
            ),
            "pattern": value_or_input({"type": "string", "format": "regex"}, SOURCE_CODE_PATTERN.name),
            "separator": {"type": "string", "minLength": 1},
            "description": {"type": "string"},
        },
    }
    return {"type": "object", "propertyNames": {"minLength": 1}, "additionalProperties": rule}


NAMESPACE_LABELS = Input(
    "namespace_labels",
    default={
        f"{CP}is-production": {"allowed": ["true", "false"]},
        # free text on the real platform (development, dev, staging, prod, production …)
        f"{CP}environment-name": None,
        "pod-security.kubernetes.io/enforce": {"allowed": ["restricted"]},
    },
    description="Labels every team Namespace must carry: key → null (present, non-blank) or a rule",
    schema=_rules_schema(),
)
NAMESPACE_ANNOTATIONS = Input(
    "namespace_annotations",
    default={
        f"{CP}business-unit": {"allowed": {"input": BUSINESS_UNITS.name}},
        f"{CP}slack-channel": None,
        f"{CP}application": None,
        # "Team name: team-email@digital.justice.gov.uk" by convention; only presence is enforced
        f"{CP}owner": None,
        # MoJ's own namespace rules accept several repositories separated by commas
        f"{CP}source-code": {"pattern": {"input": SOURCE_CODE_PATTERN.name}, "separator": ","},
        f"{CP}team-name": None,
    },
    description="Annotations every team Namespace must carry: key → null (present, non-blank) or a rule",
    schema=_rules_schema(),
)
INPUTS = (NAMESPACE_LABELS, NAMESPACE_ANNOTATIONS, BUSINESS_UNITS, SOURCE_CODE_PATTERN)


@dataclass(frozen=True)
class MetadataRule:
    """What one required namespace label or annotation must hold."""

    key: str
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    separator: str | None = None
    description: str | None = None

    def expected(self) -> str:
        if self.description:
            return self.description
        if self.allowed:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        if self.pattern:
            return f"a value matching /{self.pattern}/"
        return "a non-empty value"

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not acceptable, or ``None`` when it is."""
        if not value.strip():
            return "empty"
        if self.separator is None:
            return self._item_problem(value)
        items = [item.strip() for item in value.split(self.separator)]
        if not all(items):
            return f"a list separated by {self.separator!r} with an empty entry"
        bad = [item for item in items if self._item_problem(item)]
        if not bad:
            return None
        if len(items) == 1:
            return f"not {self.expected()}"
        return f"not {self.expected()} in every entry ({', '.join(repr(b) for b in bad)})"

    def _item_problem(self, value: str) -> str | None:
        if self.allowed and value not in self.allowed:
            return f"not {self.expected()}"
        if self.pattern and not _compiled(self.pattern).fullmatch(value):
            return f"not {self.expected()}"
        return None


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def rules(section: str, inputs: Mapping[str, Any]) -> list[MetadataRule]:
    """The rules of ``namespace_labels`` or ``namespace_annotations``, references resolved."""
    found = []
    for key, rule in (inputs[section] or {}).items():
        rule = rule or {}
        allowed = _resolve(rule.get("allowed"), inputs) or ()
        pattern = _resolve(rule.get("pattern"), inputs)
        found.append(
            MetadataRule(
                key=key,
                allowed=tuple(label_value(a) for a in allowed),
                pattern=pattern,
                separator=rule.get("separator"),
                description=rule.get("description"),
            )
        )
    return found


def _resolve(value: Any, inputs: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping) and "input" in value:
        return inputs[value["input"]]
    return value
