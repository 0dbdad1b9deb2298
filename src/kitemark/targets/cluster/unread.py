"""Objects of a snapshot that no selected check reads, listed in the target's ``skipped`` inputs so
they are never out of scope in silence (a StorageClass, a Role, a ClusterIssuer …).

A check declares what it reads (``reads=``, as ``group/Kind``; ``group/*`` is every kind of a group).
An object whose group and kind no selected check declares is assessed by none: every such kind is one
entry, ``kind:<group/Kind>``, with a count and the first objects named. Neither kind of entry makes the
run incomplete:

- a kind that no check of the catalogue reads is outside the suite (the entry says so): a cluster
  holds many kinds no policy here is about, and a run cannot be faulted for their being there;
- a kind that only checks left out of the selection read: what deselection leaves unassessed is
  reported where the selection is (requirements *Partly assessed*, and a check pytest deselected
  makes the run incomplete).

Two reads are wider than their names: a workload check reads every object with a pod template or
containers (an Argo Rollout, an ``extensions`` Deployment: their kinds cannot be named in advance),
and a kind of the retired ``extensions`` group is read where its successor in ``apps`` or
``networking.k8s.io`` is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kitemark.core.kinds import Inventory
from kitemark.targets.cluster.kobject import KObject
from kitemark.targets.cluster.out_of_scope import MAX_NAMED
from kitemark.targets.cluster.scoping import group_of
from kitemark.targets.cluster.view import kind_key
from kitemark.targets.cluster.workloads import WORKLOAD_READS, containers_elsewhere, pod_spec_path

# Kinds of `extensions/v1beta1` moved to these groups; the checks read them under either.
SUCCESSORS = ("apps", "networking.k8s.io")
WORKLOAD_KEYS = frozenset(kind_key(spec) for spec in WORKLOAD_READS)


class Reads:
    """Which (group, kind)s a set of ``reads=`` declarations covers. Empty declares everything (a
    check that names nothing needs all of it)."""

    def __init__(self, specs: Iterable[str]) -> None:
        keys = {kind_key(spec) for spec in specs}
        self.everything = not keys
        self.groups = {group for group, kind in keys if kind == "*"}
        self.kinds = {key for key in keys if key[1] != "*"}
        self.workloads = bool(self.kinds & WORKLOAD_KEYS)

    def covers(self, group: str, kind: str) -> bool:
        if self.everything or group in self.groups or (group, kind) in self.kinds:
            return True
        return group == "extensions" and any((g, kind) in self.kinds for g in SUCCESSORS)


def holds_pods(obj: KObject) -> bool:
    """Whether a workload check reads ``obj`` though its kind is not named: it reads any pod template
    and reports containers it cannot assess."""
    return pod_spec_path(obj) is not None or containers_elsewhere(obj) is not None


def unread_listing(
    inventory: Inventory, selected: Iterable[str], known: Iterable[str]
) -> list[dict[str, Any]]:
    """``skipped`` entries, one per (group, kind) of ``inventory`` that no ``selected`` read covers
    (``known``: the reads of every check of the catalogue, to tell a kind outside the suite)."""
    chosen, catalogue = Reads(selected), Reads(known)
    if chosen.everything:
        return []
    objects = inventory.get("objects") or []
    sources = inventory.get("sources") or []
    covered: dict[tuple[Any, Any], bool] = {}  # by (apiVersion, kind): a cluster has few of them
    found: dict[tuple[str, str], _Found] = {}
    for i, raw in enumerate(objects):
        seen = (raw.get("apiVersion"), raw.get("kind"))
        if seen not in covered:
            covered[seen] = chosen.covers(group_of(seen[0]), str(seen[1] or ""))
        if covered[seen]:
            continue
        obj = KObject(raw, sources[i] if i < len(sources) else None)
        if chosen.workloads and holds_pods(obj):
            continue
        key = (obj.group, obj.kind)
        entry = found.get(key)
        if entry is None:
            entry = found[key] = _Found(catalogue.covers(*key))
        entry.add(obj)
        # What the selected workload checks do not read, the catalogue's do not either.
        if not entry.in_suite and catalogue.workloads and not chosen.workloads:
            entry.in_suite = holds_pods(obj)
    named = sorted(((f"{group or 'v1'}/{kind}", entry) for (group, kind), entry in found.items()), key=_first)
    return [entry.listed(spec) for spec, entry in named]


def _first(item: tuple[str, Any]) -> str:
    return item[0]


class _Found:
    """The unread objects of one kind: how many, the first few, and whether any check reads them."""

    def __init__(self, in_suite: bool) -> None:
        self.count = 0
        self.named: list[str] = []
        self.in_suite = in_suite

    def add(self, obj: KObject) -> None:
        self.count += 1
        if len(self.named) < MAX_NAMED:
            self.named.append(f"{obj.ref} at {obj.source}" if obj.source else obj.ref)

    def listed(self, spec: str) -> dict[str, Any]:
        if self.in_suite:
            why = f"no selected check reads {spec} (a check left out of the selection does)"
        else:
            why = f"outside the suite: no check reads {spec}"
        more = f" and {self.count - MAX_NAMED} more" if self.count > MAX_NAMED else ""
        return {
            "path": f"kind:{spec}",
            "line": None,
            "reason": f"{why}: {self.count} object(s) not assessed ({'; '.join(self.named)}{more})",
            "holds_resources": False,
        }
