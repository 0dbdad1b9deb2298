"""Grafana dashboards as ConfigMaps: loadable (K8S-OBS-004) and unique cluster-wide (K8S-OBS-005)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from kitemark.core.checks import check, error, failed, not_applicable, passed
from kitemark.core.model import Finding
from kitemark.targets.cluster.shapes import CONFIG_MAP
from kitemark.targets.cluster.view import ClusterView, KObject, NamespaceView, is_system, listed, wrong_types

from .dashboards import (
    CONFIG_MAP_KIND,
    DASHBOARD_KEY_SUFFIX,
    DASHBOARD_LABEL,
    Dashboard,
    dashboards,
    labelled,
    looks_like_dashboards,
)

REFERENCES = [
    "https://user-guide.cloud-platform.service.justice.gov.uk/documentation/monitoring-an-app/"
    "creating-a-dashboard.html",
    "https://github.com/grafana/helm-charts/tree/main/charts/grafana#sidecar-for-dashboards",
]


def _unreadable(config_map: KObject) -> Finding | None:
    problems = wrong_types(config_map.raw, CONFIG_MAP)
    if not problems:
        return None
    return error(
        config_map.ref,
        f"cannot read the ConfigMap: {listed(problems)} (the API server refuses such an object)",
        evidence={"unreadable": problems},
        location=config_map.source,
    )


def _assess(config_map: KObject, label: str, suffix: str) -> Finding | None:
    """One dashboard ConfigMap's finding; ``None`` when it is no dashboard at all."""
    if not labelled(config_map, label):
        keys = looks_like_dashboards(config_map, suffix)
        if not keys:
            return None
        return failed(
            config_map.ref,
            f"holds dashboard(s) {', '.join(keys)} but is not labelled {label}: Grafana does not load it",
            evidence={"label": label, "dashboard_keys": keys},
            location=config_map.source,
        )
    found = dashboards(config_map)
    problems = [f"key {d.key} does not end {suffix}" for d in found if not d.key.endswith(suffix)]
    problems += [f"{d.key} {d.problem}" for d in found if d.problem]
    if not found:
        problems.append("it holds no data key")
    evidence = {"label": label, "keys": [d.key for d in found], "problems": problems}
    if problems:
        return failed(config_map.ref, "; ".join(problems), evidence=evidence, location=config_map.source)
    return passed(
        config_map.ref,
        f"labelled {label}; {len(found)} dashboard(s), each key ending {suffix} and valid JSON",
        evidence=evidence,
        location=config_map.source,
    )


@check(
    "K8S-OBS-004",
    scope="cluster.namespace",
    title="Grafana dashboard ConfigMaps are labelled for loading and hold valid dashboard JSON",
    severity="low",
    rationale="""
        Teams publish their service's performance data (Service Standard 10) as Grafana dashboards
        in ConfigMaps, which the platform Grafana's sidecar loads only when the ConfigMap carries the
        label `grafana_dashboard` (input `dashboard_label`). A dashboard ConfigMap without it, with a
        key not ending `-dashboard.json` (input `dashboard_key_suffix`, the platform's convention), or
        with JSON that does not parse to an object, is accepted by the API server and never appears
        in Grafana. A ConfigMap counts as a dashboard when it carries the label, or when a key ends
        with the suffix, or a `.json` key holds an object with `panels`; a namespace with none is
        not applicable.
    """,
    remediation="""
        Label the ConfigMap and name each key `<name>-dashboard.json`, holding the dashboard's JSON
        model as exported from Grafana:

            apiVersion: v1
            kind: ConfigMap
            metadata:
              name: my-app-dashboards
              labels:
                grafana_dashboard: ""
            data:
              my-app-dashboard.json: |
                {"uid": "my-app", "title": "My app", "panels": []}
    """,
    references=REFERENCES,
    reads=[CONFIG_MAP_KIND],
    inputs=[DASHBOARD_LABEL, DASHBOARD_KEY_SUFFIX],
)
def test_dashboard_config_maps(ns: NamespaceView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    label, suffix = inputs[DASHBOARD_LABEL.name], inputs[DASHBOARD_KEY_SUFFIX.name]
    assessed = 0
    for config_map in ns.of_kind(CONFIG_MAP_KIND):
        finding = _unreadable(config_map) or _assess(config_map, label, suffix)
        if finding is not None:
            assessed += 1
            yield finding
    if not assessed:
        yield not_applicable(ns.ref, f"no Grafana dashboard ConfigMap in namespace {ns.name}")


def _labelled_dashboards(
    cluster: ClusterView, label: str
) -> tuple[list[tuple[KObject, list[Dashboard]]], list[Finding]]:
    found: list[tuple[KObject, list[Dashboard]]] = []
    errors: list[Finding] = []
    for config_map in cluster.of_kind(CONFIG_MAP_KIND):
        unreadable = _unreadable(config_map)
        labels = config_map.get("metadata", "labels")
        if unreadable and (not isinstance(labels, Mapping) or label in labels):
            errors.append(unreadable)  # it may be a dashboard: never left out of the comparison
        elif not unreadable and labelled(config_map, label):
            found.append((config_map, dashboards(config_map)))
    return found, errors


def _clashes(found: list[tuple[KObject, list[Dashboard]]]) -> dict[tuple[str, str], list[str]]:
    """(field, value) → every `ConfigMap/ns/name key` holding a dashboard with that uid or title."""
    seen: dict[tuple[str, str], list[str]] = defaultdict(list)
    for config_map, boards in found:
        for board in boards:
            for field, value in (("uid", board.uid), ("title", board.title)):
                if value is not None:
                    seen[(field, value)].append(f"{config_map.ref} {board.key}")
    return {k: v for k, v in seen.items() if len(v) > 1}


def _clashing(
    config_map: KObject, boards: list[Dashboard], clashes: dict[tuple[str, str], list[str]]
) -> dict[str, list[str]]:
    """This ConfigMap's clashes, each described with the other dashboards that hold the value."""
    mine = {f"{config_map.ref} {b.key}" for b in boards}
    found = {}
    for (field, value), where in clashes.items():
        if mine & set(where):
            others = ", ".join(o for o in where if o not in mine) or "another key of this ConfigMap"
            found[f"{field} {value!r} is also used by {others}"] = where
    return found


@check(
    "K8S-OBS-005",
    scope="cluster.cluster",
    title="Grafana dashboard uids and titles are unique across the cluster",
    severity="low",
    rationale="""
        Grafana keeps one dashboard per uid and refuses a second with the same title in a folder: when
        two teams' dashboard ConfigMaps (or a team's and the platform's) share either, one silently
        replaces or blocks the other, so the published performance data (Service Standard 10) is
        not what its owner shipped. Every dashboard of every ConfigMap labelled `grafana_dashboard`
        (input `dashboard_label`), in every namespace including the platform's, is compared. A
        dashboard whose JSON cannot be read makes its ConfigMap an *error* (K8S-OBS-004 reports the
        fault); a cluster with no dashboard ConfigMap is not applicable. Objects hidden by an
        unreadable snapshot file cannot be compared: K8S-INPUT-001 reports those files and such a
        run is never compliant.
    """,
    remediation="""
        Give each dashboard a uid and title of its own, for example prefixed with the namespace:
        `"uid": "my-namespace-web"`, `"title": "My namespace / Web"`.
    """,
    references=REFERENCES,
    reads=[CONFIG_MAP_KIND],
    inputs=[DASHBOARD_LABEL],
)
def test_dashboard_uniqueness(cluster: ClusterView, inputs: Mapping[str, Any]) -> Iterator[Finding]:
    found, errors = _labelled_dashboards(cluster, inputs[DASHBOARD_LABEL.name])
    yield from errors
    if not found and not errors:
        yield not_applicable(cluster.cluster, "no ConfigMap labelled as Grafana dashboards in the cluster")
        return
    clashes = _clashes(found)
    for config_map, boards in found:
        broken = [f"{b.key} {b.problem}" for b in boards if b.problem]
        clashing = _clashing(config_map, boards, clashes)
        evidence: dict[str, Any] = {
            "dashboards": {b.key: {"uid": b.uid, "title": b.title} for b in boards},
            "clashes": {k: v for k, v in clashing.items()},
            "system_namespace": bool(
                config_map.namespace and is_system(config_map.namespace, cluster.system_namespaces)
            ),
        }
        if clashing:
            yield failed(config_map.ref, "; ".join(clashing), evidence=evidence, location=config_map.source)
        elif broken:
            yield error(
                config_map.ref,
                "cannot compare dashboard(s) whose JSON cannot be read: " + "; ".join(broken),
                evidence=evidence,
                location=config_map.source,
            )
        else:
            yield passed(
                config_map.ref,
                f"{len(boards)} dashboard(s) with uid and title used by no other dashboard",
                evidence=evidence,
                location=config_map.source,
            )
