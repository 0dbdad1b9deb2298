"""The checks' ``reads`` → the resources this API server serves, or why one cannot be listed.

A read is ``group/Kind`` (``v1/Namespace`` is the core group, ``apps/Deployment``) or ``group/*``
(every kind of the group: Gatekeeper's constraint kinds are made per cluster). Each is looked up in the
group's preferred version first, then its other versions. A built-in group's kind the server no
longer serves (``extensions/Ingress`` after 1.22) has no objects to list; a custom resource the server
does not serve (its CRD is not installed) is a gap, and the checks that read it report *error*, unless
the read is optional (``argoproj.io/Rollout?``: read when served)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kitemark.targets.cluster.live.api import ApiFailure, ApiReader

# A read ending in `?` is read when the server serves it: a custom workload kind (Argo Rollout) that
# a cluster without Argo does not serve has no objects, and its absence is no error.
OPTIONAL = "?"
# A version or resource name, as the API makes them.
NAME = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")


@dataclass(frozen=True)
class Resource:
    """A resource type to list, and the read it serves."""

    read: str
    group: str  # "" for the core group
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def path(self) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        return f"{base}/{self.plural}"

    def rule(self) -> str:
        """The RBAC rule a reader needs to list it."""
        return f'apiGroups: ["{self.group}"], resources: ["{self.plural}"], verbs: ["get", "list"]'


@dataclass(frozen=True)
class Unlisted:
    """A read that cannot be listed: ``gap`` makes its checks *error*; otherwise there is nothing to
    list (a built-in kind this server version no longer serves), which is recorded, not an error."""

    read: str
    reason: str
    gap: bool
    path: str = ""


def parse_read(read: str) -> tuple[str, str]:
    """``v1/Namespace`` → ("", "Namespace"); ``apps/Deployment`` → ("apps", "Deployment"); an optional
    read's ``?`` is dropped (``argoproj.io/Rollout?``)."""
    group, _, kind = read.removesuffix(OPTIONAL).rpartition("/")
    return ("" if group == "v1" else group), kind


def builtin(group: str) -> bool:
    """A group the API server itself defines (no CRD can add a kind to it)."""
    return "." not in group or group.endswith(".k8s.io")


def discover(reader: ApiReader, reads: Iterable[str]) -> tuple[list[Resource], list[Unlisted]]:
    """The resources to list for ``reads``, and the reads that cannot be listed. An ``ApiFailure``
    of the discovery itself (``/api/v1``, ``/apis``) is raised: without it nothing can be listed."""
    wanted: dict[str, list[str]] = {}
    for read in sorted(set(reads)):
        group, _ = parse_read(read)
        wanted.setdefault(group, []).append(read)
    named: set[str] = set()  # groups /apis names, usable or not
    groups = _groups(reader, named) if any(wanted) else {}
    resources: list[Resource] = []
    unlisted: list[Unlisted] = []
    for group, group_reads in sorted(wanted.items()):
        versions = ["v1"] if not group else groups.get(group, [])
        if not versions and group in named:  # served, but its entry is unusable: never "none to list"
            why = f"the discovery entry of the API group {group} names no usable version"
            unlisted += [Unlisted(read, why, True, "GET /apis") for read in group_reads]
            continue
        if not versions:
            for read in group_reads:
                unlisted.append(_not_served(read, group, f"the API group {group} is not served", "GET /apis"))
            continue
        served: list[tuple[str, dict[str, Any]]] = []
        refused: set[str] = set()  # kinds named by an entry that cannot be listed as it is written
        try:
            for version in versions:
                path = f"/apis/{group}/{version}" if group else f"/api/{version}"
                for entry in _field(reader, path, "resources"):
                    if _listable(entry):
                        served.append((version, entry))
                    elif _malformed(entry):
                        refused.add(str(entry.get("kind")))
        except ApiFailure as failure:
            unlisted += [
                Unlisted(read, f"discovery failed: {failure.reason}", True, f"GET {failure.path}")
                for read in group_reads
            ]
            continue
        for read in group_reads:
            found, missing = _match(read, group, served, refused)
            resources += found
            if missing:
                unlisted.append(missing)
    return resources, unlisted


def _groups(reader: ApiReader, named: set[str]) -> dict[str, list[str]]:
    """Served groups → versions, the preferred one first; ``named`` gets every group /apis names."""
    found: dict[str, list[str]] = {}
    for entry in _field(reader, "/apis", "groups"):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        named.add(entry["name"])
        preferred_entry = entry.get("preferredVersion")
        preferred = preferred_entry.get("version") if isinstance(preferred_entry, dict) else None
        listed = entry.get("versions")
        listed = listed if isinstance(listed, list) else []
        versions = [v.get("version") for v in listed if isinstance(v, dict)]
        ordered = [preferred] if isinstance(preferred, str) and NAME.fullmatch(preferred) else []
        ordered += [v for v in versions if isinstance(v, str) and NAME.fullmatch(v) and v not in ordered]
        found[entry["name"]] = ordered
    return found


def _field(reader: ApiReader, path: str, name: str) -> list[Any]:
    """The list ``name`` of a discovery document; an ``ApiFailure`` when the answer is no such
    document (a proxy's page, a broken server): never an ``AttributeError`` that ends the run."""
    answer = reader.get(path)
    found = answer.get(name) if isinstance(answer, dict) else False
    if found is None:  # Go writes an empty list as null
        return []
    if not isinstance(found, list):
        raise ApiFailure(path, 200, f"the answer is not a discovery document (no list {name!r})")
    return found


def _listable(resource: Any) -> bool:
    return (
        isinstance(resource, dict)
        and isinstance(resource.get("name"), str)
        # a plain resource name: not a subresource (`deployments/status`), nor a name that would turn
        # the list's URL into another one (`secrets?x=1`, `..`)
        and bool(NAME.fullmatch(resource["name"]))
        and isinstance(resource.get("kind"), str)
        and isinstance(resource.get("verbs"), list)
        and "list" in resource["verbs"]
    )


def _malformed(entry: Any) -> bool:
    """A discovery entry naming a kind that is not a subresource, yet cannot be listed as written (a
    name that is not a plain resource name, `verbs` that are not a list): a server's or proxy's fault."""
    if not isinstance(entry, dict) or not isinstance(entry.get("kind"), str):
        return False
    name = entry.get("name")
    if isinstance(name, str) and "/" in name and not any(c in name for c in "?#.%"):
        return False  # a subresource (`deployments/status`)
    verbs = entry.get("verbs")
    return not (isinstance(verbs, list) and "list" not in verbs)  # unlistable by design is no fault


def _match(
    read: str,
    group: str,
    served: list[tuple[str, dict[str, Any]]],
    refused: frozenset[str] | set[str] = frozenset(),
) -> tuple[list[Resource], Unlisted | None]:
    _, kind = parse_read(read)
    chosen: dict[str, Resource] = {}
    for version, entry in served:  # preferred version first: the first seen of a kind is kept
        if (kind == "*" or entry["kind"] == kind) and entry["kind"] not in chosen:
            chosen[entry["kind"]] = Resource(
                read, group, version, entry["kind"], entry["name"], bool(entry.get("namespaced"))
            )
    where = f"GET /apis/{group}" if group else "GET /api/v1"
    unusable = (
        sorted(refused - set(chosen)) if kind == "*" else ([kind] if kind in refused and not chosen else [])
    )
    if unusable:  # named by the server, but not listable as written: an error, never "none to list"
        why = f"the server's discovery entry of {', '.join(unusable)} is malformed (its name or verbs)"
        return sorted(chosen.values(), key=lambda r: r.kind), Unlisted(read, why, True, where)
    if chosen or kind == "*":
        return sorted(chosen.values(), key=lambda r: r.kind), None
    return [], _not_served(read, group, f"{group or 'the core group'} serves no kind {kind}", where)


def _not_served(read: str, group: str, why: str, where: str) -> Unlisted:
    if read.endswith(OPTIONAL):
        return Unlisted(read, f"{why}: read when served, so there are none to list", False, where)
    if builtin(group):
        return Unlisted(read, f"{why}: this Kubernetes version has none to list", False, where)
    return Unlisted(read, f"{why}: its CustomResourceDefinition is not installed", True, where)
