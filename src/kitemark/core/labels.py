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
    Operators are returned as written (``unknown`` ones too: the caller decides what they mean)."""
    found: list[Requirement] = [
        (str(k), "In", frozenset({label_value(v)})) for k, v in (selector.get("matchLabels") or {}).items()
    ]
    for expr in selector.get("matchExpressions") or []:
        if isinstance(expr, Mapping):
            values = frozenset(label_value(v) for v in expr.get("values") or [])
            found.append((str(expr.get("key", "")), str(expr.get("operator", "")), values))
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
