"""Objects of a snapshot that no check assesses because they are in a system namespace, listed in the
target's ``skipped`` inputs so they are never out of scope in silence.

``system_namespaces`` (a check input) puts the platform's own namespaces out of the namespace checks'
scope. Decided per run, so the listing is made with the run's inputs, beside the inventory (which does
not depend on them):

- every system namespace holding objects is one entry, ``namespace:<name>``, with a count: a dump of a
  whole cluster holds ``kube-system`` as a matter of course, so this is a note, not a gap;
- a file in the folder of a team namespace (a folder named like a team namespace the snapshot knows, the
  nearest such folder deciding) holding objects of a system namespace is one entry with
  ``holds_resources``, and the run is incomplete: a team's folder is applied on the team's behalf, and
  objects it places in ``kube-system`` (a RoleBinding, a privileged Pod) must not pass unassessed. It is
  not an input error — the file is valid and the team namespace's own results stand — but what it holds
  was not assessed.

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
    module docstring): one per such namespace, then one per team-folder file holding any."""
    patterns = tuple(inputs.get(SYSTEM_NAMESPACES.name, SYSTEM_NAMESPACES.default))
    objects = inventory.get("objects") or []
    sources = inventory.get("sources") or []
    defaulted = set(inventory.get("defaulted") or ())
    namespaces = [_namespace_of(obj) for obj in objects]
    # Decided once per namespace and per file: a large cluster has 45,000 objects in 1,500 namespaces.
    system = {ns: is_system(ns, patterns) for ns in set(namespaces) if ns}
    team_of: dict[str, str | None] = {}
    per_namespace: dict[str, int] = defaultdict(int)
    files_of: dict[str, set[str]] = defaultdict(set)
    in_team_folder: dict[str, list[tuple[str, int | None, str]]] = defaultdict(list)
    for i, (obj, ns) in enumerate(zip(objects, namespaces, strict=True)):
        if not ns or not system[ns] or i in defaulted:
            continue
        path, line = _source(sources[i] if i < len(sources) else None)
        per_namespace[ns] += 1
        files_of[ns].add(path)
        if path not in team_of:
            team_of[path] = _team_folder(path, system) if path else None
        if team := team_of[path]:
            in_team_folder[path].append((ns, line, f"{_ref(obj)} in the folder of team namespace {team}"))
    listed = [
        {
            "path": f"namespace:{ns}",
            "line": None,
            "reason": (
                f"out of scope: system namespace {ns} (input system_namespaces): {count} object(s) from "
                f"{len(files_of[ns] - {''})} file(s) are not assessed by the namespace checks"
            ),
            "holds_resources": False,
        }
        for ns, count in sorted(per_namespace.items())
    ]
    listed += [_team_folder_entry(path, found) for path, found in sorted(in_team_folder.items())]
    return listed


def _team_folder_entry(path: str, found: list[tuple[str, int | None, str]]) -> dict[str, Any]:
    namespaces = sorted({ns for ns, _, _ in found})
    named = "; ".join(what for _, _, what in found[:MAX_NAMED])
    more = f" and {len(found) - MAX_NAMED} more" if len(found) > MAX_NAMED else ""
    plural = "s" if len(namespaces) > 1 else ""
    reason = (
        f"{len(found)} object(s) of system namespace{plural} {', '.join(namespaces)} ({named}{more}): out of "
        "scope of the namespace checks (input system_namespaces), so not assessed; a team's folder should "
        "hold its own namespace's objects only (move them out, or remove the namespace from "
        "system_namespaces to assess them)"
    )
    lines = [line for _, line, _ in found if line is not None]
    return {"path": path, "line": min(lines) if lines else None, "reason": reason, "holds_resources": True}


def _namespace_of(obj: Mapping[str, Any]) -> str | None:
    """The namespace an object belongs to: its own, or, for a core Namespace, the one it defines (a
    team folder redefining ``kube-system``'s labels is as much out of scope as a Pod placed there)."""
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


def _team_folder(path: str, system: Mapping[str, bool]) -> str | None:
    """The team namespace whose folder holds ``path``: the nearest enclosing folder named like a
    namespace of the snapshot (``system``: each one, and whether it is a system one) decides (a
    `kube-system/` folder inside a team's is the platform's)."""
    for folder in reversed(path.split("/")[:-1]):
        if folder in system:
            return None if system[folder] else folder
    return None


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    if not isinstance(meta, Mapping):
        meta = {}
    ns, name = meta.get("namespace"), meta.get("name")
    return f"{obj.get('kind')}/{ns}/{name}" if ns else f"{obj.get('kind')}/{name}"
