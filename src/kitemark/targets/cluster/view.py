"""Typed, read-only views over a cluster inventory, built on demand from its JSON form.

Checks receive a ``NamespaceView`` (scope ``cluster.namespace``) or a ``ClusterView`` (scope
``cluster.cluster``) and never see the raw inventory layout, so the collector can change without
touching checks. Nothing here talks to an API or reads a file.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kitemark.core.kinds import InputError

# Kinds whose pod template is evaluated as a workload, and where that template lives.
POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}
# These are usually created by a controller above them (Deployment, CronJob, any of the above).
# When that owner is in the snapshot with a pod template, the owner is the workload and these are not
# evaluated twice under a generated name; when it is not, they are evaluated in the owner's name.
SKIP_WHEN_OWNED = frozenset({"ReplicaSet", "Job", "Pod"})
CONTAINER_FIELDS = (
    ("containers", "container"),
    ("initContainers", "initContainer"),
    ("ephemeralContainers", "ephemeralContainer"),
)


def dig(data: Any, *path: str, default: Any = None) -> Any:
    """``data[path[0]][path[1]]…``, or ``default`` as soon as a step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, Mapping) or key not in data:
            return default
        data = data[key]
    return data


def label_value(value: Any) -> str:
    """Labels are strings in the API; a hand-written snapshot may carry YAML booleans or numbers."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class KObject:
    """One Kubernetes object, with the snapshot file it came from (``None`` for a live read)."""

    raw: Mapping[str, Any]
    source: str | None = None

    @property
    def kind(self) -> str:
        return str(self.raw.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.raw.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str(dig(self.raw, "metadata", "name", default=""))

    @property
    def namespace(self) -> str | None:
        ns = dig(self.raw, "metadata", "namespace")
        return str(ns) if ns else None

    @property
    def labels(self) -> dict[str, str]:
        labels = dig(self.raw, "metadata", "labels")
        return {str(k): label_value(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {}

    @property
    def annotations(self) -> dict[str, str]:
        notes = dig(self.raw, "metadata", "annotations")
        return {str(k): label_value(v) for k, v in notes.items()} if isinstance(notes, Mapping) else {}

    @property
    def owner_references(self) -> list[Mapping[str, Any]]:
        refs = dig(self.raw, "metadata", "ownerReferences")
        return [r for r in refs if isinstance(r, Mapping)] if isinstance(refs, list) else []

    @property
    def ref(self) -> str:
        """Stable identity for findings: ``Kind/namespace/name`` or ``Kind/name`` (cluster-scoped)."""
        ns = self.namespace
        return f"{self.kind}/{ns}/{self.name}" if ns else f"{self.kind}/{self.name}"

    def get(self, *path: str, default: Any = None) -> Any:
        return dig(self.raw, *path, default=default)


@dataclass(frozen=True)
class Container:
    """A container of a pod template, with the pod spec it inherits security settings from."""

    name: str
    type: str  # container | initContainer | ephemeralContainer
    spec: Mapping[str, Any]
    pod_spec: Mapping[str, Any]

    def security(self, key: str) -> Any:
        """A field of the container's own ``securityContext`` (``None`` when unset)."""
        return dig(self.spec, "securityContext", key)

    def effective(self, key: str) -> tuple[Any, str]:
        """A field that may be set on the container or the pod (``runAsNonRoot``, ``runAsUser`` …):
        the container's value wins; returns ``(value, "container" | "pod" | "unset")``."""
        value = self.security(key)
        if value is not None:
            return value, "container"
        value = dig(self.pod_spec, "securityContext", key)
        if value is not None:
            return value, "pod"
        return None, "unset"


@dataclass(frozen=True)
class PodTemplate:
    """One object's pod spec (a Deployment's template, a Pod's own spec …)."""

    obj: KObject
    pod_spec: Mapping[str, Any]

    def containers(self) -> list[Container]:
        found: list[Container] = []
        for field_name, type_name in CONTAINER_FIELDS:
            entries = self.pod_spec.get(field_name) or []
            if not isinstance(entries, list):
                continue
            for index, spec in enumerate(entries):
                if isinstance(spec, Mapping):
                    name = str(spec.get("name") or f"{field_name}[{index}]")
                    found.append(Container(name, type_name, spec, self.pod_spec))
        return found


@dataclass(frozen=True)
class Owner:
    """The controller a workload is reported as, when Kitemark assesses the objects it owns instead of
    the controller itself (absent from the snapshot, or a kind without a pod template Kitemark reads)."""

    kind: str
    name: str
    in_snapshot: bool

    def describe(self) -> str:
        why = "has no pod template Kitemark reads" if self.in_snapshot else "is not in the snapshot"
        return f"owner {self.kind} '{self.name}' {why}"


@dataclass(frozen=True)
class Workload:
    """What a pod-security finding is about: a top-level object that owns a pod template
    (``Deployment/<ns>/<name>``, a bare Pod …), or the objects one controller owns, grouped under that
    controller's identity (``ReplicaSet/<ns>/<name>`` for its Pods) so a pod suffix is never an identity."""

    ref: str
    templates: tuple[PodTemplate, ...]
    owner: Owner | None = None

    @property
    def obj(self) -> KObject:
        return self.templates[0].obj

    @property
    def pod_spec(self) -> Mapping[str, Any]:
        return self.templates[0].pod_spec

    @property
    def source(self) -> str | None:
        return self.obj.source

    def containers(self) -> list[Container]:
        return [c for t in self.templates for c in t.containers()]


def controller_of(obj: KObject) -> Mapping[str, Any] | None:
    """The owner reference marked ``controller: true``, else the first one."""
    refs = [r for r in obj.owner_references if r.get("kind") and r.get("name")]
    return next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)


def workloads_of(objects: list[KObject]) -> list[Workload]:
    """The pod-template owners among ``objects``. A controller-owned ReplicaSet, Job or Pod is skipped
    when its owner is in the snapshot with a pod template (the owner is assessed, or is itself covered
    the same way); otherwise it is assessed, grouped with its siblings under the owner's identity, so
    a snapshot of Pods alone, or Pods of a CRD controller, is still assessed under stable names."""
    present = {(o.kind, o.namespace, o.name) for o in objects}
    grouped: dict[str, tuple[list[PodTemplate], Owner | None]] = {}
    for obj in objects:
        path = POD_SPEC_PATHS.get(obj.kind)
        if path is None:
            continue
        spec = obj.get(*path)
        template = PodTemplate(obj, spec if isinstance(spec, Mapping) else {})
        owner_ref = controller_of(obj) if obj.kind in SKIP_WHEN_OWNED else None
        owner: Owner | None = None
        ref = obj.ref
        if owner_ref is not None:
            kind, name = str(owner_ref["kind"]), str(owner_ref["name"])
            in_snapshot = (kind, obj.namespace, name) in present
            if in_snapshot and kind in POD_SPEC_PATHS:
                continue
            owner = Owner(kind, name, in_snapshot)
            ref = KObject({"kind": kind, "metadata": {"name": name, "namespace": obj.namespace}}).ref
        grouped.setdefault(ref, ([], owner))[0].append(template)
    return [Workload(ref, tuple(templates), owner) for ref, (templates, owner) in grouped.items()]


@dataclass(frozen=True)
class MetadataRule:
    """What a required namespace label or annotation must hold (from the platform file)."""

    key: str
    allowed: tuple[str, ...] = ()
    pattern: str | None = None
    description: str | None = None

    def expected(self) -> str:
        if self.description:
            return self.description
        if self.allowed:
            return "one of " + ", ".join(repr(a) for a in self.allowed)
        if self.pattern:
            return f"matching /{self.pattern}/"
        return "a non-empty value"

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not acceptable, or ``None`` when it is."""
        if not value.strip():
            return "empty"
        if self.allowed and value not in self.allowed:
            return f"not {self.expected()}"
        if self.pattern and not re.fullmatch(self.pattern, value):
            return f"not {self.expected()}"
        return None


@dataclass(frozen=True)
class Platform:
    """Platform specifics (system namespaces, business units, required namespace metadata)."""

    raw: Mapping[str, Any]

    @cached_property
    def system_namespaces(self) -> tuple[str, ...]:
        return tuple(self.raw.get("system_namespaces") or ())

    @cached_property
    def business_units(self) -> tuple[str, ...]:
        return tuple(self.raw.get("business_units") or ())

    def is_system(self, namespace: str) -> bool:
        # Entries may be globs (`concourse-*`) so a family of platform namespaces needs one line.
        return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in self.system_namespaces)

    def _rules(self, section: str) -> list[MetadataRule]:
        rules = dig(self.raw, "namespace_metadata", section) or {}
        return [
            MetadataRule(
                key=key,
                allowed=tuple(label_value(a) for a in (rule or {}).get("allowed") or ()),
                pattern=(rule or {}).get("pattern"),
                description=(rule or {}).get("description"),
            )
            for key, rule in rules.items()
        ]

    @cached_property
    def namespace_labels(self) -> list[MetadataRule]:
        return self._rules("labels")

    @cached_property
    def namespace_annotations(self) -> list[MetadataRule]:
        return self._rules("annotations")


@dataclass(frozen=True)
class NamespaceView:
    """One team namespace: its Namespace object (``None`` when the snapshot holds objects in the
    namespace but not the Namespace itself), its namespaced objects, and the platform config."""

    cluster: str
    name: str
    namespace: KObject | None
    objects: tuple[KObject, ...]
    platform: Platform

    @property
    def ref(self) -> str:
        return f"Namespace/{self.name}"

    @property
    def location(self) -> str | None:
        return self.namespace.source if self.namespace else None

    @cached_property
    def by_kind(self) -> dict[str, list[KObject]]:
        grouped: dict[str, list[KObject]] = {}
        for obj in self.objects:
            grouped.setdefault(obj.kind, []).append(obj)
        return grouped

    def of_kind(self, *kinds: str) -> list[KObject]:
        return [obj for kind in kinds for obj in self.by_kind.get(kind, [])]

    @property
    def network_policies(self) -> list[KObject]:
        return self.of_kind("NetworkPolicy")

    def workloads(self) -> list[Workload]:
        return workloads_of(list(self.objects))


@dataclass(frozen=True)
class ClusterView:
    """The whole cluster: every object, the snapshot files read, and the input errors met."""

    cluster: str
    objects: tuple[KObject, ...]
    files: tuple[str, ...]
    errors: tuple[InputError, ...]
    platform: Platform
    duplicates: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def namespaces(self) -> list[str]:
        return sorted({o.name for o in self.objects if o.kind == "Namespace"})

    @property
    def team_namespaces(self) -> list[str]:
        return [ns for ns in self.namespaces if not self.platform.is_system(ns)]

    def of_kind(self, *kinds: str) -> Iterator[KObject]:
        return (obj for obj in self.objects if obj.kind in kinds)
