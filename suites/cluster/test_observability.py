"""Monitoring conventions of team namespaces: alert rules the platform's Prometheus loads and
Alertmanager can route (K8S-OBS-001/002)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import PROMETHEUS_RULE
from kitemark.targets.cluster.view import KObject, NamespaceView, listed, wrong_types

from .observability import (
    ALERT_REQUIRE_FOR,
    ALERT_REQUIRED_ANNOTATIONS,
    ALERT_REQUIRED_LABELS,
    ALERT_RULE_LABELS,
    MONITORING_GROUP,
    PROMETHEUS_RULE_KIND,
    mapping,
    namesake_note,
    prometheus_rules,
    text,
)

REFERENCES = [
    "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/monitoring-an-app/"
    "how-to-create-alarms.html",
    "https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusRule",
]


def _rules_or_reason(ns: NamespaceView) -> tuple[list[KObject], Finding | None]:
    """The namespace's PrometheusRules, or the one finding that says why there is nothing to assess."""
    rules = prometheus_rules(ns)
    if rules:
        return rules, None
    evidence = namesake_note(ns, "PrometheusRule", MONITORING_GROUP) or None
    return rules, not_applicable(
        ns.ref, f"no PrometheusRule ({MONITORING_GROUP}) in namespace {ns.name}", evidence=evidence
    )


def _unreadable(rule: KObject) -> Finding | None:
    problems = wrong_types(rule.raw, PROMETHEUS_RULE)
    if not problems:
        return None
    return error(
        rule.ref,
        f"cannot read the PrometheusRule: {listed(problems)} (the API server refuses such an object)",
        evidence={"unreadable": problems},
        location=rule.source,
    )


@check(
    "K8S-OBS-001",
    scope="cluster.namespace",
    title="Team PrometheusRules carry the labels the platform's Prometheus selects",
    severity="medium",
    rationale="""
        The platform's Prometheus loads only the PrometheusRules its ruleSelector matches; on the MoJ
        Cloud Platform that is the label `role: alert-rules`. A team PrometheusRule without it is
        accepted by the API server and then silently ignored, so the team believes it is alerted
        when it is not (Service Standard 10 and 14; NCSC principle 5, operational security). The
        required labels are the input `alert_rule_labels`. A namespace with no PrometheusRule is not
        applicable (nothing to load); PrometheusRules in system namespaces are the platform's own and
        are assessed by K8S-PLAT-004.
    """,
    remediation="""
        Label the PrometheusRule so Prometheus loads it:

            apiVersion: monitoring.coreos.com/v1
            kind: PrometheusRule
            metadata:
              name: my-app-alerts
              namespace: my-namespace
              labels:
                role: alert-rules
    """,
    references=REFERENCES,
    reads=[PROMETHEUS_RULE_KIND],
    inputs=[ALERT_RULE_LABELS],
)
def test_prometheus_rule_labels(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    rules, reason = _rules_or_reason(ns)
    if reason:
        yield reason
        return
    wanted: Mapping[str, str] = inputs[ALERT_RULE_LABELS.name]
    for rule in rules:
        unreadable = _unreadable(rule)
        if unreadable:
            yield unreadable
            continue
        labels = rule.labels
        wrong = {key: labels.get(key) for key, value in wanted.items() if labels.get(key) != value}
        evidence = {"required": dict(wanted), "labels": {k: labels.get(k) for k in wanted}}
        if wrong:
            parts = [
                f"label {key}={wanted[key]!r} is " + ("missing" if seen is None else f"{seen!r}")
                for key, seen in wrong.items()
            ]
            yield failed(
                rule.ref,
                f"{'; '.join(parts)}: the platform's Prometheus does not load this rule",
                evidence=evidence,
                location=rule.source,
            )
        else:
            yield passed(
                rule.ref,
                "carries " + ", ".join(f"{k}={v}" for k, v in wanted.items()),
                evidence=evidence,
                location=rule.source,
            )


def _alert_problems(rule: Mapping[str, Any], inputs: Mapping[str, Any]) -> list[str]:
    """What one alerting rule lacks, as `for`, `labels.severity`, `annotations.message|summary` …"""
    missing: list[str] = []
    if inputs[ALERT_REQUIRE_FOR.name] and not text(rule.get("for")):
        missing.append("for")
    labels, notes = mapping(rule.get("labels")), mapping(rule.get("annotations"))
    missing += [f"labels.{key}" for key in inputs[ALERT_REQUIRED_LABELS.name] if not text(labels.get(key))]
    for entry in inputs[ALERT_REQUIRED_ANNOTATIONS.name]:
        names = [entry] if isinstance(entry, str) else list(entry)
        if not any(text(notes.get(name)) for name in names):
            missing.append("annotations." + "|".join(names))
    return missing


def _alerts(rule: KObject) -> list[tuple[str, Mapping[str, Any]]]:
    """(group/alert name, rule) of every alerting rule (recording rules carry no alert)."""
    found = []
    for group in rule.get("spec", "groups") or []:
        for entry in mapping(group).get("rules") or []:
            if isinstance(entry, Mapping) and entry.get("alert") is not None:
                found.append((f"{mapping(group).get('name')}/{entry.get('alert')}", entry))
    return found


def _joined(items: list[str], most: int = 5) -> str:
    more = len(items) - most
    return "; ".join(items[:most]) + (f"; and {more} more" if more > 0 else "")


@check(
    "K8S-OBS-002",
    scope="cluster.namespace",
    title="Every team alert has a `for` duration, a severity, a message and a runbook",
    severity="medium",
    rationale="""
        An alert without `for` fires on a single bad scrape and teaches people to ignore pages; one
        without a `severity` label cannot be routed by Alertmanager (on the MoJ Cloud Platform the
        severity names the team's Slack receiver, and `critical` pages); one without a message or
        summary, or without a `runbook_url`, leaves whoever is paged at night without the context
        or the steps to act (Service Standard 14, operate a reliable service; NCSC principle 5).
        Each alerting rule of each team PrometheusRule is read (recording rules are not alerts);
        the required fields are the inputs `alert_require_for`, `alert_required_labels` and
        `alert_required_annotations`. A PrometheusRule with no alerting rule, and a namespace with no
        PrometheusRule, are not applicable.
    """,
    remediation="""
        Give every alert a duration, a severity and its annotations:

            - alert: WebDown
              expr: up{namespace="my-namespace"} == 0
              for: 5m
              labels:
                severity: my-team-alerts
              annotations:
                message: The web service of my-namespace is down
                runbook_url: https://runbooks.example.org/web-down
    """,
    references=REFERENCES,
    reads=[PROMETHEUS_RULE_KIND],
    inputs=[ALERT_REQUIRE_FOR, ALERT_REQUIRED_LABELS, ALERT_REQUIRED_ANNOTATIONS],
)
def test_alert_fields(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    rules, reason = _rules_or_reason(ns)
    if reason:
        yield reason
        return
    for rule in rules:
        unreadable = _unreadable(rule)
        if unreadable:
            yield unreadable
            continue
        alerts = _alerts(rule)
        if not alerts:
            yield not_applicable(rule.ref, "holds no alerting rule (recording rules only, or none)")
            continue
        problems = {name: missing for name, entry in alerts if (missing := _alert_problems(entry, inputs))}
        evidence = {"alerts": [name for name, _ in alerts], "missing": problems}
        if problems:
            shown = [f"{name} lacks {', '.join(missing)}" for name, missing in problems.items()]
            yield failed(
                rule.ref,
                f"{len(problems)} of {len(alerts)} alert(s) incomplete: {_joined(shown)}",
                evidence=evidence,
                location=rule.source,
            )
        else:
            yield passed(
                rule.ref,
                f"all {len(alerts)} alert(s) set `for`, the required labels and annotations",
                evidence=evidence,
                location=rule.source,
            )
