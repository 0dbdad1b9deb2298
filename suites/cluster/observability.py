"""Inputs and helpers of the observability checks (K8S-OBS-*): what a team's PrometheusRules must
carry, read the way the MoJ Cloud Platform's Prometheus and Alertmanager use them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kitemark.core.inputs import Input
from kitemark.targets.cluster.view import KObject, NamespaceView

MONITORING_GROUP = "monitoring.coreos.com"
PROMETHEUS_RULE_KIND = "monitoring.coreos.com/PrometheusRule"

ALERT_RULE_LABELS = Input(
    "alert_rule_labels",
    default={"role": "alert-rules"},
    description=(
        "Labels every team PrometheusRule must carry, with their values: the platform Prometheus's "
        "ruleSelector loads only rules that carry them"
    ),
    schema={
        "type": "object",
        "minProperties": 1,
        "propertyNames": {"minLength": 1},
        "additionalProperties": {"type": "string"},
    },
)
ALERT_REQUIRED_LABELS = Input(
    "alert_required_labels",
    default=["severity"],
    description="Labels every alerting rule must set (severity routes the alert to its receiver)",
    schema={"type": "array", "items": {"type": "string", "minLength": 1}},
)
ALERT_REQUIRED_ANNOTATIONS = Input(
    "alert_required_annotations",
    default=[["message", "summary"], "runbook_url"],
    description=(
        "Annotations every alerting rule must set; an entry that is a list is satisfied by any one of "
        "its names (`message` or `summary`)"
    ),
    schema={
        "type": "array",
        "items": {
            "anyOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
            ]
        },
    },
)
ALERT_REQUIRE_FOR = Input(
    "alert_require_for",
    default=True,
    description="Whether every alerting rule must set `for` (so one bad scrape does not page anyone)",
    schema={"type": "boolean"},
)


def prometheus_rules(ns: NamespaceView) -> list[KObject]:
    return ns.of_kind(PROMETHEUS_RULE_KIND)


def namesake_note(ns: NamespaceView, kind: str, group: str) -> dict[str, Any]:
    """Evidence naming objects called ``kind`` in another API group: not assessed, but not dropped."""
    others = ns.namesakes(kind, [group])
    return {"not_assessed": [f"{o.api_version} {o.ref}" for o in others]} if others else {}


def text(value: Any) -> str | None:
    """A label or annotation value that is set and not blank."""
    return value if isinstance(value, str) and value.strip() else None


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


SERVICE_MONITOR_KIND = "monitoring.coreos.com/ServiceMonitor"


def selected_namespaces(monitor: KObject, own: str) -> tuple[bool, list[str]]:
    """(whether the monitor's own namespace is selected, the other namespaces it names; ``["*"]`` for
    every namespace). Without a namespaceSelector the operator reads only the monitor's namespace."""
    selector = mapping(monitor.get("spec", "namespaceSelector"))
    if selector.get("any") is True:
        return True, ["*"]
    names = [str(n) for n in selector.get("matchNames") or []]
    if not names:
        return True, []
    return own in names, sorted(set(names) - {own})
