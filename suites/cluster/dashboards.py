"""Grafana dashboards shipped as ConfigMaps (K8S-OBS-004/005): which ConfigMaps are dashboards, and
what each dashboard's JSON says. Grafana's sidecar loads every ConfigMap carrying the dashboard label
(any value) and reads each data key as one dashboard file."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kitemark.core.inputs import Input
from kitemark.targets.cluster.view import KObject

CONFIG_MAP_KIND = "v1/ConfigMap"

DASHBOARD_LABEL = Input(
    "dashboard_label",
    default="grafana_dashboard",
    description="The label (any value) by which Grafana's sidecar loads a ConfigMap as dashboards",
    schema={"type": "string", "minLength": 1},
)
DASHBOARD_KEY_SUFFIX = Input(
    "dashboard_key_suffix",
    default="-dashboard.json",
    description="How every data key of a dashboard ConfigMap must end",
    schema={"type": "string", "minLength": 1},
)


@dataclass(frozen=True)
class Dashboard:
    key: str
    body: Mapping[str, Any] | None  # None: not a JSON object
    problem: str | None  # why the JSON cannot be read

    @property
    def uid(self) -> str | None:
        return _text(self.inner.get("uid"))

    @property
    def title(self) -> str | None:
        return _text(self.inner.get("title"))

    @property
    def inner(self) -> Mapping[str, Any]:
        body = self.body or {}
        # The HTTP API's envelope ({"dashboard": {...}}) is sometimes pasted as is.
        wrapped = body.get("dashboard")
        return wrapped if isinstance(wrapped, Mapping) and "title" not in body else body


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def read(key: str, value: str) -> Dashboard:
    try:
        body = json.loads(value)
    except ValueError as exc:
        return Dashboard(key, None, f"is not valid JSON ({exc})")
    if not isinstance(body, Mapping):
        return Dashboard(key, None, f"is JSON {type(body).__name__}, not a dashboard object")
    return Dashboard(key, body, None)


def data(config_map: KObject) -> Mapping[str, str]:
    found = config_map.get("data")
    return found if isinstance(found, Mapping) else {}


def labelled(config_map: KObject, label: str) -> bool:
    return label in config_map.labels


def looks_like_dashboards(config_map: KObject, suffix: str) -> list[str]:
    """Keys of an unlabelled ConfigMap that look like dashboard files: named with the suffix, or a
    `.json` key whose JSON object has `panels` (a Grafana dashboard)."""
    found = []
    for key, value in data(config_map).items():
        if key.endswith(suffix):
            found.append(key)
        elif key.endswith(".json") and '"panels"' in value:
            dashboard = read(key, value)
            if dashboard.body is not None and "panels" in dashboard.inner:
                found.append(key)
    return found


def dashboards(config_map: KObject) -> list[Dashboard]:
    return [read(str(key), value) for key, value in sorted(data(config_map).items())]
