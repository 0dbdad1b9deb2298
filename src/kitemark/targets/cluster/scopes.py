"""Stage 3 of the cluster kind: an inventory's JSON form → the units checks are evaluated on.

- ``namespace``: one unit per team namespace (not in ``system_namespaces``), plus the namespace that
  objects naming no namespace were placed in, even when it is a system one (then with those objects
  only: they are the snapshot's own manifests, not the platform's). Input errors charged to the
  namespace (see ``attribution``) are the unit's ``errors``: every check of it reports *error*.
- ``cluster``: one unit for the whole cluster; its ``errors`` are the input errors charged to no
  assessed namespace.
- ``input``: one unit for the input itself (K8S-INPUT-001), with every error in its view and none
  in ``Unit.errors``, so it can list them all.

Each function builds its views in one pass over the objects (O(objects), never per namespace).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from kitemark.core.kinds import InputError, Inventory, Unit
from kitemark.targets.cluster.bindings import service_account_namespaces
from kitemark.targets.cluster.inputs import SYSTEM_NAMESPACES
from kitemark.targets.cluster.view import ClusterView, KObject, NamespaceView, is_system


def _system_patterns(inputs: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(inputs.get(SYSTEM_NAMESPACES.name, SYSTEM_NAMESPACES.default))


# The object views of each inventory, built once however many scopes read them (a 1,500-namespace
# cluster has ~45,000 objects: a quarter of a second per build). Keyed by identity; the entry keeps
# the inventory alive, so an id is never reused while cached.
_OBJECTS: dict[int, tuple[Inventory, list[KObject]]] = {}


def _objects(inventory: Inventory) -> list[KObject]:
    cached = _OBJECTS.get(id(inventory))
    if cached is not None and cached[0] is inventory:
        return cached[1]
    sources = inventory.get("sources") or []
    defaulted = set(inventory.get("defaulted") or ())
    objects = [
        KObject(raw, sources[i] if i < len(sources) else None, i in defaulted)
        for i, raw in enumerate(inventory.get("objects") or [])
    ]
    _OBJECTS[id(inventory)] = (inventory, objects)
    return objects


def _errors(inventory: Inventory) -> list[tuple[InputError, list[str]]]:
    return [(InputError.from_dict(e), list(e.get("namespaces") or ())) for e in inventory.get("errors") or ()]


def _assessed(namespace: str, inventory: Inventory, patterns: tuple[str, ...]) -> bool:
    """Whether ``namespace`` gets a unit of its own (so its errors are charged there)."""
    if namespace == inventory.get("default_namespace") and inventory.get("defaulted"):
        return True
    return not is_system(namespace, patterns)


def namespace_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """One unit per team namespace. A namespace is known from its Namespace object, from objects in it
    (so workloads whose Namespace object is missing are still checked), or from an input error
    charged to it (so a namespace whose only file is unreadable is not silently absent)."""
    patterns = _system_patterns(inputs)
    namespace_objects: dict[str, KObject] = {}
    members: dict[str, list[KObject]] = defaultdict(list)
    cluster_bindings: dict[str, list[KObject]] = defaultdict(list)
    for obj in _objects(inventory):
        if obj.kind == "Namespace" and not obj.group:
            namespace_objects[obj.name] = obj
        elif obj.namespace:
            members[obj.namespace].append(obj)
        if obj.kind == "ClusterRoleBinding" and obj.group == "rbac.authorization.k8s.io":
            for ns in service_account_namespaces(obj.raw):
                cluster_bindings[ns].append(obj)
    errors: dict[str, list[InputError]] = defaultdict(list)
    everywhere = []  # a type a live read could not list: an error of every namespace reading it
    for error, namespaces in _errors(inventory):
        if error.everywhere:
            everywhere.append(error)
        for ns in namespaces:
            errors[ns].append(error)
    label = inventory["target"]
    units = []
    for name in sorted({*namespace_objects, *members, *errors}):
        system = is_system(name, patterns)
        objects = members.get(name, [])
        if system:
            objects = [o for o in objects if o.defaulted]
            if not objects:
                continue
        view = NamespaceView(
            cluster=inventory["name"],
            name=name,
            namespace=namespace_objects.get(name),
            objects=tuple(objects),
            defaulted=sum(1 for o in objects if o.defaulted),
            system=system,
            cluster_bindings=tuple(cluster_bindings.get(name, ())),
        )
        units.append(
            Unit(f"{label}/namespace:{name}", label, view, errors=[*everywhere, *errors.get(name, ())])
        )
    return units


def _cluster_view(inventory: Inventory, inputs: Mapping[str, Any]) -> ClusterView:
    return ClusterView(
        cluster=inventory["name"],
        objects=tuple(_objects(inventory)),
        files=tuple(inventory.get("files") or ()),
        errors=tuple(error for error, _ in _errors(inventory)),
        system_namespaces=_system_patterns(inputs),
        skipped=tuple(inventory.get("skipped") or ()),
        duplicates=tuple(inventory.get("duplicates") or ()),
        default_namespace=str(inventory.get("default_namespace") or "default"),
        defaulted=len(inventory.get("defaulted") or ()),
        mode=str(inventory.get("mode") or "snapshot"),
        from_api=bool(inventory.get("from_api") or inventory.get("mode") == "live"),
    )


def cluster_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """One unit for the whole cluster, carrying the input errors no assessed namespace carries."""
    patterns = _system_patterns(inputs)
    unplaced = [
        error
        for error, namespaces in _errors(inventory)
        if not any(_assessed(ns, inventory, patterns) for ns in namespaces)
    ]
    label = inventory["target"]
    return [Unit(f"{label}/cluster", label, _cluster_view(inventory, inputs), errors=unplaced)]


def input_units(inventory: Inventory, inputs: Mapping[str, Any]) -> list[Unit]:
    """One unit for the snapshot as read: an input check reports every error itself."""
    label = inventory["target"]
    return [Unit(f"{label}/input", label, _cluster_view(inventory, inputs))]


SCOPES = {"namespace": namespace_units, "cluster": cluster_units, "input": input_units}
