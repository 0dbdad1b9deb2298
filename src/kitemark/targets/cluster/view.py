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
from kitemark.core.mappings import dig
from kitemark.targets.cluster.kobject import KObject
from kitemark.targets.cluster.shapes import (
    NAMESPACE,
    NETWORK_POLICY,
    POD_TOKEN,
    ROLE,
    ROLE_BINDING,
    SECRET,
    SERVICE_ACCOUNT,
    listed,
    wrong_types,
)
from kitemark.targets.cluster.workloads import (
    WORKLOAD_READS,
    Container,
    Owner,
    PodTemplate,
    Workload,
    containers_elsewhere,
    workload_ref,
    workloads_of,
)

# Checks import these from here: the views are the one module they read.
__all__ = [
    "NAMESPACE",
    "NETWORK_POLICY",
    "POD_TOKEN",
    "ROLE",
    "ROLE_BINDING",
    "SECRET",
    "SERVICE_ACCOUNT",
    "WORKLOAD_READS",
    "ClusterView",
    "Container",
    "KObject",
    "NamespaceView",
    "Owner",
    "PodTemplate",
    "Workload",
    "dig",
    "is_system",
    "kind_key",
    "listed",
    "workloads_of",
    "wrong_types",
]
# The groups whose NetworkPolicy is Kubernetes' own (`extensions/v1beta1` until Kubernetes 1.16).
NETWORK_POLICY_GROUPS = ("networking.k8s.io", "extensions")


def kind_key(spec: str) -> tuple[str, str]:
    """``"apps/Deployment"`` → ``("apps", "Deployment")``; ``"v1/Namespace"`` → ``("", "Namespace")``:
    the form of ``reads=``. A kind alone is refused: another group may use the same name."""
    group, _, kind = spec.removesuffix("?").rpartition("/")  # `?`: an optional read (read when served)
    if not group or not kind:
        raise ValueError(f"{spec!r}: name a kind as group/Kind (v1/Kind for the core group)")
    return ("" if group == "v1" else group), kind


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
    # ClusterRoleBindings naming a service account of this namespace (they live outside it).
    cluster_bindings: tuple[KObject, ...] = ()

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
    def by_kind(self) -> dict[tuple[str, str], list[KObject]]:
        """The objects by (API group, kind)."""
        grouped: dict[tuple[str, str], list[KObject]] = {}
        for obj in self.objects:
            grouped.setdefault((obj.group, obj.kind), []).append(obj)
        return grouped

    def of_kind(self, *kinds: str) -> list[KObject]:
        """The objects of some kinds, each named with its group as in ``reads=`` (``apps/Deployment``)."""
        return [obj for spec in kinds for obj in self.by_kind.get(kind_key(spec), [])]

    def namesakes(self, kind: str, groups: Iterable[str]) -> list[KObject]:
        """Objects named ``kind`` in a group other than ``groups``: not what a check of ``kind`` judges,
        but to be named as not assessed rather than dropped silently."""
        groups = set(groups)
        return [
            o
            for (group, name), found in self.by_kind.items()
            if name == kind and group not in groups
            for o in found
        ]

    @property
    def network_policies(self) -> list[KObject]:
        """Kubernetes NetworkPolicies (not Calico's, Antrea's … which share the name)."""
        return [o for group in NETWORK_POLICY_GROUPS for o in self.by_kind.get((group, "NetworkPolicy"), [])]

    def workloads(self) -> list[Workload]:
        return self._workloads

    @cached_property
    def _workloads(self) -> list[Workload]:
        return workloads_of(list(self.objects))

    def unassessed(self) -> list[tuple[str, KObject, str]]:
        """(identity, object, where) of every object that holds containers but has no pod template the
        pod-security checks read (see ``workloads``)."""
        return self._unassessed

    @cached_property
    def _unassessed(self) -> list[tuple[str, KObject, str]]:
        found = []
        for obj in self.objects:
            where = containers_elsewhere(obj)
            if where is not None:
                found.append((workload_ref(obj), obj, where))
        return found


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
    mode: str = "snapshot"  # "live" when read from an API server
    from_api: bool = False  # read from an API server: live, or a `kitemark snapshot` of it

    @cached_property
    def namespaces(self) -> list[str]:
        """Namespaces known from a Namespace object or from an object in them."""
        found = {o.name for o in self.objects if o.is_a("Namespace", "")}
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
        """The objects of some kinds, each named with its group as in ``reads=`` (``apps/Deployment``)."""
        wanted = {kind_key(spec) for spec in kinds}
        return (obj for obj in self.objects if (obj.group, obj.kind) in wanted)
