"""Which objects of a namespace the pod-security checks assess, under which identity, and which hold
containers they cannot assess.

- A *workload* is an object with a pod template: a kind of Kubernetes itself (matched with its API
  group) at its known path, or any other object with a template at ``spec.template.spec`` whose
  ``containers`` is a list (an Argo Rollout, a Knative Service, a Deployment of another group …).
- A ReplicaSet, Job or Pod whose controller is in the snapshot with a pod template is not assessed
  again under its generated name: its template is its owner's. Its owner's finding carries the
  containers of such a Pod that the owner's template does not hold (by name): ephemeral ones
  (``kubectl debug``) and those added at admission (a service mesh's sidecar and init container).
  The Pod's own settings are taken to be its template's.
- One absent from the snapshot (or without a template) is assessed grouped under its owner's
  identity, so a snapshot of Pods alone is still assessed, under names that survive a rollout.
- An object of another API group that holds containers anywhere else is listed as not assessed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from kitemark.core.labels import label_value
from kitemark.core.mappings import dig
from kitemark.targets.cluster import shapes
from kitemark.targets.cluster.kobject import KObject
from kitemark.targets.cluster.shapes import wrong_types

TEMPLATE = ("spec", "template", "spec")
# Kinds of Kubernetes itself whose pod template is evaluated, by (API group, kind), and where it lives.
POD_SPEC_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("apps", "Deployment"): TEMPLATE,
    ("apps", "StatefulSet"): TEMPLATE,
    ("apps", "DaemonSet"): TEMPLATE,
    ("apps", "ReplicaSet"): TEMPLATE,
    # `extensions/v1beta1` until Kubernetes 1.16: still found in old snapshots and manifests
    ("extensions", "Deployment"): TEMPLATE,
    ("extensions", "DaemonSet"): TEMPLATE,
    ("extensions", "ReplicaSet"): TEMPLATE,
    ("", "ReplicationController"): TEMPLATE,
    ("batch", "Job"): TEMPLATE,
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template", "spec"),
    ("", "Pod"): ("spec",),
    ("", "PodTemplate"): ("template", "spec"),
}
# Kind names of the table: one of another group is assessed under ``Kind.group/…`` so it never shares
# an identity with the built-in one.
BUILTIN_WORKLOAD_KINDS = frozenset(kind for _, kind in POD_SPEC_PATHS)
# Where the finding's evidence names the path read: every workload but the familiar controllers.
FAMILIAR = frozenset(POD_SPEC_PATHS) - {("", "PodTemplate")}
# What the pod-security checks read (`reads=`), as `<group>/<Kind>` (a live API serves the
# `extensions` kinds as `apps`). Custom resources with a pod template cannot be named in advance.
# Custom workload kinds with a pod template at `spec.template.spec`, read live when the cluster serves
# them (a snapshot holds whatever kind it holds; a live read lists only what checks name).
CUSTOM_WORKLOAD_READS = ("argoproj.io/Rollout?", "serving.knative.dev/Service?", "apps.kruise.io/CloneSet?")
WORKLOAD_READS = (
    *(f"{group or 'v1'}/{kind}" for group, kind in POD_SPEC_PATHS if group != "extensions"),
    *CUSTOM_WORKLOAD_READS,
)
# Usually created by a controller above them, whose template they copy.
SKIP_WHEN_OWNED = frozenset(
    {("apps", "ReplicaSet"), ("extensions", "ReplicaSet"), ("batch", "Job"), ("", "Pod")}
)
CONTAINER_FIELDS = (
    ("containers", "container"),
    ("initContainers", "initContainer"),
    ("ephemeralContainers", "ephemeralContainer"),
)


def pod_spec_path(obj: KObject) -> tuple[str, ...] | None:
    """Where ``obj``'s pod template is, or ``None`` when it has none Kitemark reads."""
    path = POD_SPEC_PATHS.get((obj.group, obj.kind))
    if path is not None:
        return path
    # Another kind: only a template that holds containers is a pod template (cluster-api's
    # MachineDeployment has a `spec.template.spec` too, describing a machine). Containers that are not
    # a list make it one too: read as none, they would go unassessed; `malformed` reports them.
    return TEMPLATE if obj.get(*TEMPLATE, "containers") is not None else None


def workload_ref(obj: KObject) -> str:
    """``obj.ref``, qualified by the group (``Deployment.example.com/ns/name``) when a built-in
    workload kind has that name and ``obj`` is not that built-in kind."""
    if obj.kind in BUILTIN_WORKLOAD_KINDS and (obj.group, obj.kind) not in POD_SPEC_PATHS:
        qualified = f"{obj.kind}.{obj.group or 'core'}"
        return f"{qualified}/{obj.namespace}/{obj.name}" if obj.namespace else f"{qualified}/{obj.name}"
    return obj.ref


@dataclass(frozen=True)
class Container:
    """A container of a pod template, with the pod spec it inherits security settings from.
    ``of``: the Pod it was added to, for added containers assessed with the Pod's owner."""

    name: str
    type: str  # container | initContainer | ephemeralContainer
    spec: Mapping[str, Any]
    pod_spec: Mapping[str, Any]
    of: str | None = None

    @property
    def label(self) -> str:
        """How findings name it: ``container 'app'``, ``ephemeralContainer 'debugger' of Pod 'web-1'``."""
        return f"{self.type} '{self.name}'" + (f" of {self.of}" if self.of else "")

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
    """One object's pod spec (a Deployment's template, a Pod's own spec …). ``template_holds``: when
    set, it stands only for the containers of an owned Pod that its owner's template does not hold
    (those ``(field, name)`` pairs are the template's)."""

    obj: KObject
    pod_spec: Mapping[str, Any]
    pod_metadata: Mapping[str, Any] = field(default_factory=dict)  # the template's (or Pod's) metadata
    path: tuple[str, ...] = ("spec",)
    template_holds: frozenset[tuple[str, str]] | None = None

    @property
    def added_only(self) -> bool:
        return self.template_holds is not None

    @property
    def annotations(self) -> dict[str, str]:
        notes = self.pod_metadata.get("annotations")
        return {str(k): label_value(v) for k, v in notes.items()} if isinstance(notes, Mapping) else {}

    @property
    def read_from(self) -> str | None:
        """The path the template was read at, when the kind does not make it obvious."""
        return None if (self.obj.group, self.obj.kind) in FAMILIAR else ".".join(self.path)

    def containers(self) -> list[Container]:
        return self._containers

    @property
    def malformed(self) -> list[str]:
        """Fields that cannot be read: container lists that are not lists of mappings, and the fields
        of a container or pod the checks read that are of another type (``shapes.CONTAINER``,
        ``shapes.POD_SPEC``: security contexts and their parts, switches that are not booleans …).
        The API server refuses such a spec; a YAML reader other than Kitemark's may still read
        `privileged: y` as true (go-yaml v2 does), so none is ever taken as unset or false."""
        found = self._unreadable_template()
        for field_name, _ in CONTAINER_FIELDS:
            entries = self.pod_spec.get(field_name)
            if entries is None:
                continue
            if not isinstance(entries, list) or not all(isinstance(e, Mapping) for e in entries):
                found.append(f"{'.'.join((*self.path, field_name))} (not a list of containers)")
                continue
            for index, spec in enumerate(entries):
                found += wrong_types(spec, shapes.CONTAINER, ".".join((*self.path, f"{field_name}[{index}]")))
        return found + wrong_types(self.pod_spec, shapes.POD_SPEC, ".".join(self.path))

    def _unreadable_template(self) -> list[str]:
        """The step of the path to the pod spec that is not a mapping (``spec.template (a str …)``),
        and annotations beside it (read for AppArmor) that are not text."""
        for end in range(1, len(self.path) + 1):
            value = self.obj.get(*self.path[:end])
            if value is not None and not isinstance(value, Mapping):
                return wrong_types(value, shapes.Map(), ".".join(self.path[:end]))
        at = (*self.path[:-1], "metadata")
        return wrong_types(self.obj.get(*at), shapes.POD_METADATA, ".".join(at))

    @cached_property
    def _containers(self) -> list[Container]:
        held = self.template_holds or frozenset()
        of = f"{self.obj.kind} '{self.obj.name}'" if self.added_only else None
        return [
            Container(name, type_name, spec, self.pod_spec, of)
            for field_name, type_name, name, spec in _container_entries(self.pod_spec)
            if (field_name, name) not in held
        ]


def _container_entries(pod_spec: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Mapping[str, Any]]]:
    """(field, type, name, spec) of each container of a pod spec; unnamed ones by position."""
    for field_name, type_name in CONTAINER_FIELDS:
        entries = pod_spec.get(field_name) or []
        if not isinstance(entries, list):
            continue
        for index, spec in enumerate(entries):
            if isinstance(spec, Mapping):
                yield field_name, type_name, str(spec.get("name") or f"{field_name}[{index}]"), spec


def held_by(pod_spec: Any) -> frozenset[tuple[str, str]]:
    """The ``(field, name)`` of each container a pod template holds."""
    if not isinstance(pod_spec, Mapping):
        return frozenset()
    return frozenset((field_name, name) for field_name, _, name, _ in _container_entries(pod_spec))


def _held(pod_spec: Any, held: frozenset[tuple[str, str]]) -> bool:
    """Whether a template holding ``held`` holds every container of ``pod_spec``. Run for every owned
    Pod of a cluster, so the common case (named containers, all held) builds nothing."""
    if not isinstance(pod_spec, Mapping):
        return True
    for field_name, _ in CONTAINER_FIELDS:
        entries = pod_spec.get(field_name)
        if not entries:
            continue
        if not isinstance(entries, list):
            return False  # malformed: assessed with the owner, where it shows
        for spec in entries:
            if not isinstance(spec, Mapping) or (field_name, spec.get("name")) not in held:
                return held_by(pod_spec) <= held  # unnamed or extra: the full rule decides
    return True


def template_of(
    obj: KObject, path: tuple[str, ...], template_holds: frozenset[tuple[str, str]] | None = None
) -> PodTemplate:
    spec, metadata = obj.get(*path), obj.get(*path[:-1], "metadata")
    return PodTemplate(
        obj,
        spec if isinstance(spec, Mapping) else {},
        metadata if isinstance(metadata, Mapping) else {},
        path,
        template_holds,
    )


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
    controller's identity (``ReplicaSet/<ns>/<name>`` for its Pods) so a pod suffix is never an identity.
    ``added``: the containers of the Pods it owns that its template does not hold."""

    ref: str
    templates: tuple[PodTemplate, ...]
    owner: Owner | None = None
    added: tuple[PodTemplate, ...] = ()

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
        return [c for t in (*self.templates, *self.added) for c in t.containers()]


def controller_of(obj: KObject) -> Mapping[str, Any] | None:
    """The owner reference marked ``controller: true``, else the first one."""
    refs = [r for r in obj.owner_references if r.get("kind") and r.get("name")]
    return next((r for r in refs if r.get("controller") is True), refs[0] if refs else None)


class _Snapshot:
    """The objects of one namespace, indexed for owner lookups, with each one's pod template path."""

    def __init__(self, objects: list[KObject]) -> None:
        self.objects = objects
        self.paths: dict[int, tuple[str, ...]] = {}
        self.named: dict[tuple[str, str | None, str], list[KObject]] = {}
        for obj in objects:
            path = pod_spec_path(obj)
            if path is not None:
                self.paths[id(obj)] = path
            self.named.setdefault((obj.kind, obj.namespace, obj.name), []).append(obj)

    def owner(self, obj: KObject, ref: Mapping[str, Any]) -> KObject | None:
        """The object ``ref`` names, matched with its API group when the reference gives one; one
        with a pod template first."""
        found = self.named.get((str(ref["kind"]), obj.namespace, str(ref["name"])), [])
        if ref.get("apiVersion"):
            group = str(ref["apiVersion"]).rpartition("/")[0]
            found = [o for o in found if o.group == group]
        return next((o for o in found if id(o) in self.paths), found[0] if found else None)

    def defers_to(self, obj: KObject) -> KObject | None:
        """The controller ``obj`` is assessed through (in the snapshot, with a pod template), if any."""
        if (obj.group, obj.kind) not in SKIP_WHEN_OWNED:
            return None
        ref = controller_of(obj)
        owner = self.owner(obj, ref) if ref is not None else None
        return owner if owner is not None and id(owner) in self.paths else None

    def assessor(self, obj: KObject) -> KObject | None:
        """The object at the end of ``obj``'s chain of deferring owners, or ``None`` when ``obj`` is
        assessed itself: also when the chain loops (crafted ownerReferences must not hide a workload)."""
        seen = {id(obj)}
        current = obj
        while (owner := self.defers_to(current)) is not None:
            if id(owner) in seen:
                return None
            seen.add(id(owner))
            current = owner
        return current if current is not obj else None


def workloads_of(objects: list[KObject]) -> list[Workload]:
    """The workloads among ``objects`` (see the module's docstring), in the objects' order."""
    snapshot = _Snapshot(objects)
    grouped: dict[str, tuple[list[PodTemplate], Owner | None]] = {}
    ref_of: dict[int, str] = {}  # assessed object → the identity it is assessed under
    holds: dict[int, frozenset[tuple[str, str]]] = {}  # assessor → the containers its template holds
    changed: list[tuple[KObject, KObject]] = []  # (Pod with containers its template lacks, its assessor)
    for obj in objects:
        path = snapshot.paths.get(id(obj))
        if path is None:
            continue
        assessor = snapshot.assessor(obj)
        if assessor is not None:
            if obj.kind == "Pod":
                held = holds.get(id(assessor))
                if held is None:
                    held = holds[id(assessor)] = held_by(assessor.get(*snapshot.paths[id(assessor)]))
                if not _held(obj.raw.get("spec"), held):
                    changed.append((obj, assessor))
            continue
        ref, owner = _identity(snapshot, obj)
        ref_of[id(obj)] = ref
        grouped.setdefault(ref, ([], owner))[0].append(template_of(obj, path))
    added: dict[str, list[PodTemplate]] = {}
    for pod, assessor in changed:
        added.setdefault(ref_of[id(assessor)], []).append(
            template_of(pod, ("spec",), template_holds=holds[id(assessor)])
        )
    return [
        Workload(ref, tuple(templates), owner, tuple(added.get(ref, ())))
        for ref, (templates, owner) in grouped.items()
    ]


def _identity(snapshot: _Snapshot, obj: KObject) -> tuple[str, Owner | None]:
    """The identity ``obj`` is assessed under: its own, or that of its controller when it is an owned
    ReplicaSet, Job or Pod whose controller is absent or has no pod template (no generated name)."""
    ref = controller_of(obj) if (obj.group, obj.kind) in SKIP_WHEN_OWNED else None
    if ref is None or snapshot.defers_to(obj) is not None:  # a loop of owners: assessed as itself
        return workload_ref(obj), None
    kind, name = str(ref["kind"]), str(ref["name"])
    owner = Owner(kind, name, snapshot.owner(obj, ref) is not None)
    return KObject({"kind": kind, "metadata": {"name": name, "namespace": obj.namespace}}).ref, owner


# --- containers Kitemark cannot assess --------------------------------------------------------------

_SEARCH_DEPTH = 12


def _builtin_group(group: str) -> bool:
    """Kubernetes' own groups (core, `apps`, `*.k8s.io` …): their kinds with containers are known."""
    return "." not in group or group.endswith(".k8s.io")


def containers_elsewhere(obj: KObject) -> str | None:
    """Where an object that is no workload still holds containers (``spec.templates[0].container``), for
    objects of other API groups; ``None`` when it holds none."""
    if _builtin_group(obj.group) or pod_spec_path(obj) is not None:
        return None
    for key, value in obj.raw.items():
        if key not in ("metadata", "status"):
            found = next(_containers_in(value, key, 0), None)
            if found is not None:
                return found
    return None


def _containers_in(data: Any, path: str, depth: int) -> Iterator[str]:
    if depth > _SEARCH_DEPTH:
        return
    if isinstance(data, Mapping):
        for key, value in data.items():
            here = f"{path}.{key}"
            if key in ("containers", "initContainers") and isinstance(value, list):
                if any(isinstance(v, Mapping) for v in value):
                    yield here
            elif key == "container" and isinstance(value, Mapping) and "image" in value:
                yield here
            else:
                yield from _containers_in(value, here, depth + 1)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _containers_in(value, f"{path}[{index}]", depth + 1)
