"""Typed, read-only views over a cluster inventory, built on demand from its JSON form.

Checks receive a ``NamespaceView`` (scope ``cluster.namespace``) or a ``ClusterView`` (scopes
``cluster.cluster`` and ``cluster.input``) and never see the raw inventory layout, so the collector
can change without touching checks. Nothing here talks to an API or reads a file.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kitemark.core.kinds import InputError
from kitemark.core.labels import label_value

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
# What the pod-security checks read (`reads=`): every kind above, as `<group>/<Kind>`.
WORKLOAD_READS = (
    "apps/Deployment",
    "apps/StatefulSet",
    "apps/DaemonSet",
    "apps/ReplicaSet",
    "v1/ReplicationController",
    "batch/Job",
    "batch/CronJob",
    "v1/Pod",
)
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
        # dict first: inventories are JSON, and the ABC check costs more than the lookup itself.
        if not isinstance(data, (dict, Mapping)) or key not in data:
            return default
        data = data[key]
    return data


@dataclass(frozen=True)
class KObject:
    """One Kubernetes object, with the snapshot file it came from (``None`` for a live read).
    ``defaulted``: it named no namespace and was placed in the target's default namespace."""

    raw: Mapping[str, Any]
    source: str | None = None
    defaulted: bool = False
    # Read on every grouping and lookup of a large snapshot: taken from ``raw`` once, when made
    # (cheaper than a cached property, whose first read takes a lock).
    kind: str = field(init=False, compare=False, repr=False)
    name: str = field(init=False, compare=False, repr=False)
    namespace: str | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        meta = self.raw.get("metadata")
        if not isinstance(meta, (dict, Mapping)):
            meta = {}
        name, ns = meta.get("name"), meta.get("namespace")
        # A frozen dataclass's own fields, set once here (one update instead of three __setattr__).
        self.__dict__.update(
            kind=str(self.raw.get("kind", "")),
            name="" if name is None else str(name),
            namespace=str(ns) if ns else None,
        )

    @property
    def api_version(self) -> str:
        return str(self.raw.get("apiVersion", ""))

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
    pod_metadata: Mapping[str, Any] = field(default_factory=dict)  # the template's (or Pod's) metadata

    @property
    def annotations(self) -> dict[str, str]:
        notes = self.pod_metadata.get("annotations")
        return {str(k): label_value(v) for k, v in notes.items()} if isinstance(notes, Mapping) else {}

    def containers(self) -> list[Container]:
        return self._containers

    @cached_property
    def _containers(self) -> list[Container]:
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
        owner_ref = controller_of(obj) if obj.kind in SKIP_WHEN_OWNED else None
        owner: Owner | None = None
        ref = obj.ref
        if owner_ref is not None:
            kind, name = str(owner_ref["kind"]), str(owner_ref["name"])
            in_snapshot = (kind, obj.namespace, name) in present
            if in_snapshot and kind in POD_SPEC_PATHS:
                continue  # decided before reading the template: most Pods of a snapshot stop here
            owner = Owner(kind, name, in_snapshot)
            ref = KObject({"kind": kind, "metadata": {"name": name, "namespace": obj.namespace}}).ref
        spec, metadata = obj.get(*path), obj.get(*path[:-1], "metadata")
        template = PodTemplate(
            obj, spec if isinstance(spec, Mapping) else {}, metadata if isinstance(metadata, Mapping) else {}
        )
        grouped.setdefault(ref, ([], owner))[0].append(template)
    return [Workload(ref, tuple(templates), owner) for ref, (templates, owner) in grouped.items()]


def is_system(namespace: str, patterns: Iterable[str]) -> bool:
    """Whether ``namespace`` is one of the platform's own (``system_namespaces``: names or globs)."""
    return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in patterns)


@dataclass(frozen=True)
class NamespaceView:
    """One team namespace: its Namespace object (``None`` when the snapshot holds objects in the
    namespace but not the Namespace itself) and its namespaced objects.

    ``defaulted`` counts the objects that named no namespace and were placed here (the target's
    ``default-namespace``); ``system`` says the namespace is a platform one, assessed only for them."""

    cluster: str
    name: str
    namespace: KObject | None
    objects: tuple[KObject, ...]
    defaulted: int = 0
    system: bool = False

    @property
    def ref(self) -> str:
        return f"Namespace/{self.name}"

    @property
    def location(self) -> str | None:
        return self.namespace.source if self.namespace else None

    @property
    def note(self) -> str | None:
        """Why objects are assessed under this namespace without naming it, for findings' evidence."""
        if not self.defaulted:
            return None
        return (
            f"{self.defaulted} object(s) name no namespace and are assessed as namespace {self.name}, "
            "the target's default-namespace (`default` unless set)"
            + ("; they are the snapshot's own manifests, not platform objects" if self.system else "")
        )

    @property
    def implied(self) -> bool:
        """The input never names this namespace: it holds no Namespace object for it, and every object
        here named no namespace (an application's manifests, assessed under the default namespace).
        Namespace-level controls (its labels, its network policies) are then defined elsewhere."""
        return self.namespace is None and self.defaulted > 0 and self.defaulted == len(self.objects)

    def implied_reason(self, missing: str, these: str) -> str:
        """Why a namespace-level check does not apply to an ``implied`` namespace."""
        return (
            f"the input does not define namespace {self.name}: its {self.defaulted} object(s) name no "
            f"namespace and it holds no {missing}; {these} are assessed where the namespace is defined "
            "(the platform's environments repository, or a cluster snapshot)"
        )

    @property
    def short_note(self) -> str:
        """`` (N object(s) that name no namespace, assessed as namespace X)``, or ``""``."""
        if not self.defaulted:
            return ""
        return f" ({self.defaulted} object(s) that name no namespace, assessed as namespace {self.name})"

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
        return self._workloads

    @cached_property
    def _workloads(self) -> list[Workload]:
        return workloads_of(list(self.objects))


@dataclass(frozen=True)
class ClusterView:
    """The whole cluster: every object, the snapshot files read, what was skipped and the input
    errors met (every one: a cluster-scope unit's own share is in ``Unit.errors``)."""

    cluster: str
    objects: tuple[KObject, ...]
    files: tuple[str, ...]
    errors: tuple[InputError, ...]
    system_namespaces: tuple[str, ...]
    skipped: tuple[Mapping[str, Any], ...] = field(default=())
    duplicates: tuple[Mapping[str, Any], ...] = field(default=())
    default_namespace: str = "default"
    defaulted: int = 0

    @cached_property
    def namespaces(self) -> list[str]:
        """Namespaces known from a Namespace object or from an object in them."""
        found = {o.name for o in self.objects if o.kind == "Namespace"}
        found.update(o.namespace for o in self.objects if o.namespace)
        return sorted(found)

    @cached_property
    def team_namespaces(self) -> list[str]:
        """The namespaces the namespace checks assess: those not in ``system_namespaces``, and the
        namespace objects that name no namespace were placed in."""
        return [
            ns
            for ns in self.namespaces
            if not is_system(ns, self.system_namespaces) or (self.defaulted and ns == self.default_namespace)
        ]

    def of_kind(self, *kinds: str) -> Iterator[KObject]:
        return (obj for obj in self.objects if obj.kind in kinds)
