"""Monitoring conventions of team namespaces: alert rules the platform's Prometheus loads and
Alertmanager can route (K8S-OBS-001/002), ServiceMonitors that scrape something (K8S-OBS-003)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.labels import matches
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import PROMETHEUS_RULE, SERVICE, SERVICE_MONITOR
from kitemark.targets.cluster.view import KObject, NamespaceView, listed, wrong_types

from .observability import (
    ALERT_REQUIRE_FOR,
    ALERT_REQUIRED_ANNOTATIONS,
    ALERT_REQUIRED_LABELS,
    ALERT_RULE_LABELS,
    MONITORING_GROUP,
    PROMETHEUS_RULE_KIND,
    SERVICE_MONITOR_KIND,
    mapping,
    namesake_note,
    prometheus_rules,
    selected_namespaces,
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


def _service_ports(service: KObject) -> set[str]:
    return {str(p.get("name")) for p in service.get("spec", "ports") or [] if p.get("name")}


def _monitor_finding(monitor: KObject, ns: NamespaceView, services: list[KObject]) -> Finding:
    selector = mapping(monitor.get("spec", "selector"))
    own, others = selected_namespaces(monitor, ns.name)
    chosen = [s for s in services if matches(selector, s.labels)] if own else []
    ports = sorted({str(e.get("port")) for e in monitor.get("spec", "endpoints") or [] if e.get("port")})
    evidence: dict[str, Any] = {
        "selector": dict(selector),
        "services": [s.name for s in chosen],
        "endpoint_ports": ports,
    }
    if not chosen:
        if others:
            where = "every namespace" if others == ["*"] else "namespaces " + ", ".join(others)
            return not_applicable(
                monitor.ref,
                f"no Service in {ns.name} matches its selector and it also selects Services in {where}, "
                "which this check does not read (it assesses one namespace at a time)",
                evidence=evidence,
            )
        return failed(
            monitor.ref,
            f"selects no Service: none in {ns.name} matches {dict(selector)}, so Prometheus scrapes nothing",
            evidence=evidence,
            location=monitor.source,
        )
    exposed = set().union(*(_service_ports(s) for s in chosen))
    unknown = [p for p in ports if p not in exposed]
    evidence["service_ports"] = sorted(exposed)
    names = ", ".join(s.name for s in chosen)
    if unknown:
        return failed(
            monitor.ref,
            f"selects Service(s) {names}, but none exposes the port(s) {', '.join(unknown)} "
            "its endpoints scrape",
            evidence=evidence,
            location=monitor.source,
        )
    return passed(monitor.ref, f"selects Service(s) {names}", evidence=evidence, location=monitor.source)


@check(
    "K8S-OBS-003",
    scope="cluster.namespace",
    title="Team ServiceMonitors select an existing Service and a port it exposes",
    severity="low",
    rationale="""
        A ServiceMonitor whose selector matches no Service, or whose endpoint names a port no
        selected Service exposes, is accepted by the API server and scrapes nothing: the
        application's metrics, and every alert and dashboard built on them, silently stop (Service
        Standard 10, publish performance data, and 14). The Services are those of the ServiceMonitor's
        namespace (its namespaceSelector unset) or of the namespaces it names; when none of its own
        namespace matches and it also selects other namespaces the result is not applicable, since a
        namespace is assessed on its own. A namespace with no ServiceMonitor is not applicable.
    """,
    remediation="""
        Make `spec.selector` match the labels of the application's Service and name one of its ports:

            spec:
              selector:
                matchLabels:
                  app: my-app          # the Service's metadata.labels
              endpoints:
                - port: metrics        # a name in the Service's spec.ports
    """,
    references=[
        "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/monitoring-an-app/"
        "prometheus.html",
        "https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor",
    ],
    reads=[SERVICE_MONITOR_KIND, "v1/Service"],
)
def test_service_monitor_targets(ns: NamespaceView) -> Iterator[Finding]:
    monitors = ns.of_kind(SERVICE_MONITOR_KIND)
    if not monitors:
        evidence = namesake_note(ns, "ServiceMonitor", MONITORING_GROUP) or None
        yield not_applicable(
            ns.ref, f"no ServiceMonitor ({MONITORING_GROUP}) in namespace {ns.name}", evidence=evidence
        )
        return
    services = ns.of_kind("v1/Service")
    unreadable = [(s, p) for s in services if (p := wrong_types(s.raw, SERVICE))]
    for monitor in monitors:
        problems = wrong_types(monitor.raw, SERVICE_MONITOR)
        if problems:
            yield error(
                monitor.ref,
                f"cannot read the ServiceMonitor: {listed(problems)} (the API server refuses such an object)",
                evidence={"unreadable": problems},
                location=monitor.source,
            )
        elif unreadable:
            # A Service that cannot be read may be the one it selects: never a failure, never a pass.
            yield error(
                monitor.ref,
                "cannot read Service(s) of the namespace: "
                + "; ".join(f"{s.name}: {listed(p)}" for s, p in unreadable),
                evidence={"unreadable": {s.name: p for s, p in unreadable}},
                location=monitor.source,
            )
        else:
            try:
                yield _monitor_finding(monitor, ns, services)
            except ValueError as exc:  # a selector operator the API server refuses
                yield error(
                    monitor.ref, f"cannot read the ServiceMonitor's selector: {exc}", location=monitor.source
                )
