"""Inputs that are not Kubernetes objects, and why: listed in the inventory's ``skipped``, never
reported as broken and never silently dropped.

A repository's manifests folder holds more than objects: Helm charts (``Chart.yaml``, ``values.yaml``,
``templates/`` full of ``{{ … }}``), kustomize files, application configuration. Each is skipped with
a reason saying what it is and what to run to get objects Kitemark can assess. A document that *is* a
Kubernetes object but broken (a kind without ``metadata.name``) stays an input error.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RENDER_HELM = "render the chart with `helm template` and point Kitemark at the output"
RENDER_KUSTOMIZE = "run `kustomize build` (or `kubectl kustomize`) and point Kitemark at the output"
TEMPLATE_REASON = (
    "a template (Helm/Go `{{ … }}` or Jinja), not YAML until rendered: render it (e.g. `helm template`) "
    "and point Kitemark at the output"
)
KUSTOMIZATION_REASON = f"a kustomize Kustomization, not a Kubernetes object: {RENDER_KUSTOMIZE}"

# Template actions that make a file a template rather than data that happens to hold `{{` (alert
# messages such as `{{ $labels.pod }}` in a PrometheusRule are data).
_TEMPLATE = re.compile(
    r""":[ \t]+\{\{                       # an unquoted value that is a template
    | \{\{-|-\}\}                          # whitespace trimming
    | \{\{-?\s*\$?\.(?:Values|Release|Chart|Capabilities|Files|Template)\b
    | \{\{-?\s*(?:if|else|end|range|with|define|include|template|toYaml|tpl|required)\b
    | \{[%\#]                              # Jinja
    """,
    re.VERBOSE,
)

# Configuration files of tools, by API group: they carry `apiVersion`/`kind` but are no cluster object.
TOOL_GROUPS = {
    "kustomize.config.k8s.io": KUSTOMIZATION_REASON,
    "kind.x-k8s.io": "a kind (Kubernetes in Docker) cluster configuration, not a cluster object",
    "kubeadm.k8s.io": "a kubeadm configuration, not a cluster object",
    "kubelet.config.k8s.io": "a kubelet configuration, not a cluster object",
    "kubeproxy.config.k8s.io": "a kube-proxy configuration, not a cluster object",
    "apiserver.config.k8s.io": "an API server configuration, not a cluster object",
    "audit.k8s.io": "an API server audit policy, not a cluster object",
    "skaffold": "a Skaffold configuration, not a cluster object",
}
KUSTOMIZATION_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
KUSTOMIZE_KINDS = frozenset({"Kustomization", "Component"})


class ChartDirs:
    """Which directories of a snapshot are Helm charts (hold a ``Chart.yaml``), looked up once each."""

    def __init__(self, root: Path) -> None:
        self._root = root if root.is_dir() else root.parent
        self._known: dict[str, bool] = {}

    def is_chart(self, rel_dir: str) -> bool:
        if rel_dir not in self._known:
            self._known[rel_dir] = (self._root / rel_dir / "Chart.yaml").is_file()
        return self._known[rel_dir]

    def chart_of_template(self, rel: str) -> str | None:
        """The chart directory when ``rel`` lies under ``<chart>/templates/``."""
        parts = rel.split("/")
        for i in range(len(parts) - 2, -1, -1):
            if parts[i] == "templates" and self.is_chart("/".join(parts[:i]) or "."):
                return "/".join(parts[:i]) or "."
        return None


def template_line(text: str) -> int | None:
    """The line of the first template action in ``text``, or ``None`` when it holds none."""
    found = _TEMPLATE.search(text) if "{" in text else None
    return text.count("\n", 0, found.start()) + 1 if found else None


def file_skip_reason(rel: str, text: str, charts: ChartDirs) -> tuple[str, bool] | None:
    """Why a whole file is not read as Kubernetes objects, and whether it holds objects that exist
    once rendered (a Helm template); ``None`` to read it."""
    name = posixpath.basename(rel)
    if name == "Chart.yaml":
        return f"Helm chart metadata (Chart.yaml), not a Kubernetes object: {RENDER_HELM}", False
    chart = charts.chart_of_template(rel)
    if chart is not None and "{{" in text:
        where = "at the snapshot root" if chart == "." else f"{chart}/"
        return f"a template of the Helm chart {where}, not YAML until rendered: {RENDER_HELM}", True
    return None


def document_skip_reason(path: str, data: Any) -> str | None:
    """Why one document is not a Kubernetes object, or ``None`` when it is one (maybe a broken one)."""
    if not isinstance(data, Mapping):
        what = {list: "list", str: "text", int: "number", float: "number", bool: "boolean"}
        found = what.get(type(data), type(data).__name__)
        return f"not a Kubernetes object: a YAML/JSON {found}, not a mapping with `kind`"
    group = str(data.get("apiVersion") or "").rpartition("/")[0]
    kind = data.get("kind")
    name = posixpath.basename(path)
    if name in KUSTOMIZATION_FILES or (
        isinstance(kind, str) and kind in KUSTOMIZE_KINDS and "metadata" not in data
    ):
        return KUSTOMIZATION_REASON  # also the early `apiVersion: v1` form, and no kind at all
    if group in TOOL_GROUPS and kind:
        return TOOL_GROUPS[group]
    if kind == "Config" and data.get("apiVersion") == "v1" and "metadata" not in data:
        return "a kubeconfig file, not a cluster object"
    if kind:
        return None
    if "apiVersion" in data and "metadata" in data:
        return None  # an object that lost its kind: an input error, not a skip
    if re.fullmatch(r"values.*\.ya?ml", name):
        return f"Helm values, not a Kubernetes object: {RENDER_HELM}"
    return "not a Kubernetes object (no `kind`): an application or tool configuration file"


def skip(path: str, line: int | None, reason: str, holds_resources: bool) -> dict[str, Any]:
    """An entry of the inventory's ``skipped`` list. ``holds_resources``: the input holds Kubernetes
    objects that exist only once rendered (a Helm template, a Kustomization or its patches), so the
    run did not assess everything it was given."""
    return {"path": path, "line": line, "reason": reason, "holds_resources": holds_resources}


def kustomize_patches(path: str, data: Mapping[str, Any]) -> list[str]:
    """Snapshot-relative paths of the patch files a Kustomization names: partial objects, which only
    mean something once kustomize applies them."""
    base = posixpath.dirname(path)
    found: list[str] = []
    for entry in data.get("patchesStrategicMerge") or []:
        if isinstance(entry, str) and "\n" not in entry:
            found.append(entry)
    for key in ("patches", "patchesJson6902"):
        for entry in data.get(key) or []:
            if isinstance(entry, Mapping) and isinstance(entry.get("path"), str):
                found.append(entry["path"])
    return [posixpath.normpath(posixpath.join(base, entry)) for entry in found]
