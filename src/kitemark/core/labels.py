"""Kubernetes label selectors, read one way for every kind that meets them (a NetworkPolicy's peers,
a Gatekeeper constraint's ``labelSelector``/``namespaceSelector``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
Requirement = tuple[str, str, frozenset[str]]


def label_value(value: Any) -> str:
    """Labels are strings in the API; a hand-written file may carry YAML booleans or numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def requirements(selector: Mapping[str, Any]) -> list[Requirement]:
    """A label selector as (key, operator, values) requirements; matchLabels entries are ``In``.
    Operators are returned as written (``unknown`` ones too: the caller decides what they mean). A
    selector the API server would refuse (a field of the wrong type) raises ValueError: read as
    fewer requirements, it would select more than it says."""
    labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(labels, Mapping):
        raise ValueError(f"label selector matchLabels is not a mapping: {labels!r}")
    if not isinstance(expressions, list):
        raise ValueError(f"label selector matchExpressions is not a list: {expressions!r}")
    found: list[Requirement] = [(str(k), "In", frozenset({label_value(v)})) for k, v in labels.items()]
    for expr in expressions:
        values = expr.get("values") or [] if isinstance(expr, Mapping) else None
        if not isinstance(values, list):
            raise ValueError(f"label selector expression is not a key, operator and list of values: {expr!r}")
        found.append(
            (str(expr.get("key", "")), str(expr.get("operator", "")), frozenset(map(label_value, values)))
        )
    return found


def selects_everything(selector: Any) -> bool:
    """An absent or empty selector selects everything (any requirement makes it narrower)."""
    if not selector:
        return True
    return isinstance(selector, Mapping) and not requirements(selector)


def matches(selector: Mapping[str, Any], labels: Mapping[str, Any] | None) -> bool:
    """Whether ``labels`` satisfy every requirement of ``selector``. An unknown operator raises
    ValueError: the API server would refuse such a selector."""
    have = {str(k): label_value(v) for k, v in (labels or {}).items()}
    for key, operator, values in requirements(selector):
        if operator == "In":
            ok = have.get(key) in values
        elif operator == "NotIn":
            ok = key not in have or have[key] not in values
        elif operator == "Exists":
            ok = key in have
        elif operator == "DoesNotExist":
            ok = key not in have
        else:
            raise ValueError(f"unknown label selector operator {operator!r}")
        if not ok:
            return False
    return True
