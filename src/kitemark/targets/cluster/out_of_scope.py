"""Objects of a snapshot that no check assesses because they are in a system namespace, listed in the
target's ``skipped`` inputs so they are never out of scope in silence.

``system_namespaces`` (a check input) puts the platform's own namespaces out of the namespace checks'
scope. Decided per run, so the listing is made with the run's inputs, beside the inventory (which does
not depend on them). What decides is where an object comes from, not where its file is (a pull
request's author chooses its folders):

- an object read from a cluster (a live read, or a dump of one) carries the ``metadata.resourceVersion``
  the API server set. Those of a system namespace are the platform's own: every such namespace is one
  entry, ``namespace:<name>``, with a count — a dump of a whole cluster holds ``kube-system`` as a
  matter of course, so this is a note, not a gap;
- an object without one is a manifest someone means to apply (the API server refuses to create an
  object whose resourceVersion is set, so a manifest written to be applied has none). One of a system
  namespace (a RoleBinding, a privileged Pod, a redefined ``kube-system`` Namespace) is named at its
  ``file:line``, one entry per file, with ``holds_resources``, wherever the file is: the run is
  incomplete, never compliant. It is not an input error — the file is valid and the team namespaces'
  own results stand — but what it holds was not assessed.

Objects that name no namespace and were placed in a system default namespace are assessed there (see
``scopes``), so they are not listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from kitemark.core.kinds import Inventory
from kitemark.targets.cluster.inputs import SYSTEM_NAMESPACES
from kitemark.targets.cluster.view import is_system

MAX_NAMED = 3  # objects named in one entry's reason; the count says how many more


def system_namespace_listing(inventory: Inventory, inputs: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``skipped`` entries for the objects of ``inventory`` that are in a system namespace (see the
    module docstring): one per such namespace for those read from a cluster, then one per file holding
    manifests of any."""
    patterns = tuple(inputs.get(SYSTEM_NAMESPACES.name, SYSTEM_NAMESPACES.default))
    objects = inventory.get("objects") or []
    sources = inventory.get("sources") or []
    defaulted = set(inventory.get("defaulted") or ())
    namespaces = [_namespace_of(obj) for obj in objects]
    # Decided once per namespace: a large cluster has 45,000 objects in 1,500 namespaces.
    system = {ns: is_system(ns, patterns) for ns in set(namespaces) if ns}
    per_namespace: dict[str, int] = defaultdict(int)
    files_of: dict[str, set[str]] = defaultdict(set)
    manifests: dict[str, list[tuple[str, int | None, str]]] = defaultdict(list)
    for i, (obj, ns) in enumerate(zip(objects, namespaces, strict=True)):
        if not ns or not system[ns] or i in defaulted:
            continue
        path, line = _source(sources[i] if i < len(sources) else None)
        if _read_from_cluster(obj):
            per_namespace[ns] += 1
            files_of[ns].add(path)
        else:
            manifests[path or _ref(obj)].append((ns, line, _ref(obj)))
    listed = [
        {
            "path": f"namespace:{ns}",
            "line": None,
            "reason": (
                f"out of scope: system namespace {ns} (input system_namespaces): {count} object(s) read "
                f"from the cluster ({len(files_of[ns] - {''})} file(s)) are not assessed by the namespace "
                "checks"
            ),
            "holds_resources": False,
        }
        for ns, count in sorted(per_namespace.items())
    ]
    listed += [_manifest_entry(path, found) for path, found in sorted(manifests.items())]
    return listed


def _read_from_cluster(obj: Mapping[str, Any]) -> bool:
    """Whether ``obj`` carries the resourceVersion only the API server sets (see the module docstring)."""
    meta = obj.get("metadata")
    version = meta.get("resourceVersion") if isinstance(meta, Mapping) else None
    return isinstance(version, str) and version.strip() != ""


def _manifest_entry(path: str, found: list[tuple[str, int | None, str]]) -> dict[str, Any]:
    found = sorted(found, key=lambda f: (f[1] is None, f[1] or 0, f[2]))  # in the file's order
    namespaces = sorted({ns for ns, _, _ in found})
    named = "; ".join(f"{ref} at line {line}" if line else ref for _, line, ref in found[:MAX_NAMED])
    more = f" and {len(found) - MAX_NAMED} more" if len(found) > MAX_NAMED else ""
    plural = "s" if len(namespaces) > 1 else ""
    reason = (
        f"{len(found)} manifest(s) of system namespace{plural} {', '.join(namespaces)} ({named}{more}): "
        "no metadata.resourceVersion, so not read from the cluster but meant to be applied; out of scope "
        "of the namespace checks (input system_namespaces), so not assessed (remove them, or remove the "
        "namespace from system_namespaces to assess them)"
    )
    lines = [line for _, line, _ in found if line is not None]
    return {"path": path, "line": min(lines) if lines else None, "reason": reason, "holds_resources": True}


def _namespace_of(obj: Mapping[str, Any]) -> str | None:
    """The namespace an object belongs to: its own, or, for a core Namespace, the one it defines (a
    manifest redefining ``kube-system``'s labels is as much out of scope as a Pod placed there)."""
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        return None
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        name = meta.get("name")
    else:
        name = meta.get("namespace")
    return name if isinstance(name, str) and name else None


def _source(source: str | None) -> tuple[str, int | None]:
    """``file:line`` → (file, line); a live read has no file."""
    if not source:
        return "", None
    path, _, line = source.rpartition(":")
    return (path, int(line)) if path and line.isdigit() else (source, None)


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        meta = {}
    ns, name = meta.get("namespace"), meta.get("name")
    return f"{obj.get('kind')}/{ns}/{name}" if ns else f"{obj.get('kind')}/{name}"
