"""Which namespaces an input error may hide objects from.

An unreadable file must not leave a namespace's checks *passed*: its error is charged to every
namespace it may hold objects of, so each check of those namespaces reports *error* with the file and
line. The evidence, strongest first (the first rule that names a namespace decides):

1. the file itself: namespaces of its documents read before the error (or of its other documents,
   for a broken object), and its ``namespace: X`` lines;
2. the namespaces of the objects in other files of the same directory;
3. the nearest enclosing directory named like a known namespace.

An error no rule places belongs to the whole cluster (the ``cluster`` scope unit). An error about one
object (conflicting copies of it) is ``placed``: it is charged to that object's namespace only.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from kitemark.targets.cluster.files import FileProblem
from kitemark.targets.cluster.objects import Objects, namespaces_in


def attribute(
    problems: Iterable[FileProblem], found: Objects, default_namespace: str
) -> list[dict[str, Any]]:
    """Every problem as an inventory error (``path``, ``line``, ``message``) with the ``namespaces``
    it is charged to (empty: the cluster)."""
    problems = list(problems)
    if not problems:
        return []
    by_file: dict[str, set[str]] = defaultdict(set)
    by_dir: dict[str, set[str]] = defaultdict(set)
    known: set[str] = set()
    for obj, path in zip(found.objects, found.files, strict=True):
        ns = _namespace(obj)
        if ns:
            by_file[path].add(ns)
            by_dir[posixpath.dirname(path)].add(ns)
            known.add(ns)
        elif obj["kind"] == "Namespace" and "/" not in str(obj.get("apiVersion", "")):
            known.add(obj["metadata"]["name"])
    errors = []
    for problem in problems:
        path = problem.error.path
        if problem.placed:
            errors.append({**problem.error.to_dict(), "namespaces": sorted(problem.namespaces)})
            continue
        named = set(problem.namespaces) | by_file.get(path, set())
        for data in problem.partial:
            named |= namespaces_in(data, found.scoping, default_namespace)
        if not named:
            named = set(by_dir.get(posixpath.dirname(path), set()))
        if not named:
            named = _directory_namespace(path, known)
        errors.append({**problem.error.to_dict(), "namespaces": sorted(named)})
    return errors


def _namespace(obj: Mapping[str, Any]) -> str | None:
    ns = obj["metadata"].get("namespace")
    return ns if isinstance(ns, str) and ns else None


def _directory_namespace(path: str, known: set[str]) -> set[str]:
    parts = path.split("/")[:-1]
    for name in reversed(parts):
        if name in known:
            return {name}
    return set()
