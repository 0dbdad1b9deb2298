"""Cluster target: a Kubernetes cluster read from a snapshot directory, as an inventory.

Three stages, kept apart so a live reader (``live:CONTEXT``) can replace the first one:

1. *read files* (``files.read_snapshot``): every ``.yaml``/``.yml``/``.json`` file under the directory
   (except hidden ones and Kitemark's own report folders) → raw documents, each tagged with its file
   and line; an unparsable file becomes an input error, a Helm template or chart metadata is skipped
   with its reason. Nothing outside the directory is read: a symlink leading outside it, dangling or
   looping, and a folder or file that cannot be read, is an input error.
2. *documents → objects* (``objects.build_objects``): redact Secret values, flatten ``List`` kinds,
   skip what is not a Kubernetes object, validate (a lower-case kind is an error), place namespaced
   objects that name no namespace in the target's ``default-namespace``, de-duplicate identical
   copies (differing ones are an error), sort; then charge each input error to the namespaces it
   may hide objects from (``attribution``).
3. *scopes* (``scopes``): the inventory's JSON form → units whose data are views.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from kitemark.core.errors import UsageError
from kitemark.core.jsonio import paused_gc
from kitemark.core.kinds import Inventory, TargetSpec
from kitemark.targets.cluster.attribution import attribute
from kitemark.targets.cluster.files import Document, FileProblem, read_snapshot
from kitemark.targets.cluster.manifest import check_manifest
from kitemark.targets.cluster.objects import build_objects
from kitemark.targets.cluster.scoping import DEFAULT_NAMESPACE

NAMESPACE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")


def default_namespace(spec: TargetSpec) -> str:
    """The namespace objects that name none are assessed in: the target's option, else ``default``."""
    value = spec.options.get("default-namespace")
    if value is None or value == "":
        return DEFAULT_NAMESPACE
    if not isinstance(value, str) or not NAMESPACE_NAME.fullmatch(value):
        raise UsageError(
            f"{spec.label}: default-namespace={value!r} is not a namespace name "
            "(lower-case letters, digits and '-', at most 63)"
        )
    return value


def build_inventory(
    spec: TargetSpec,
    documents: Iterable[Document],
    *,
    files: list[str],
    problems: list[FileProblem],
    skipped: list[dict[str, object]],
    mode: str,
) -> Inventory:
    namespace = default_namespace(spec)
    found = build_objects(documents, namespace)
    return {
        "kind": "cluster",
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "mode": mode,
        "errors": attribute([*problems, *found.problems], found, namespace),
        "skipped": [*skipped, *found.skipped],
        "files": files,
        "objects": found.objects,
        "sources": found.sources,  # sources[i] is where objects[i] was read (`file:line`)
        "duplicates": found.duplicates,
        "default_namespace": namespace,
        "defaulted": found.defaulted,  # indices of objects that named no namespace
    }


def collect(spec: TargetSpec, reads: Iterable[str] = ()) -> Inventory:
    """A snapshot folder's inventory; ``reads``: what the run's checks need (checked against a
    `kitemark snapshot` manifest, which says what it holds)."""
    location = spec.location
    if location.startswith("live:"):
        raise UsageError(f"{spec.label}: {location} is not a snapshot folder (the kind reads live clusters)")
    location = location.removeprefix("snapshot:")
    root = Path(location)
    if not root.exists():
        raise UsageError(f"{spec.label}: snapshot directory not found: {location}")
    default_namespace(spec)  # a bad option is a usage error before any file is read
    with paused_gc():  # parsing builds millions of objects that live until the run ends
        snapshot = read_snapshot(root)
        manifest = check_manifest(root, snapshot.files, reads)
        inventory = build_inventory(
            spec,
            snapshot.documents,
            files=snapshot.files,
            problems=[*snapshot.problems, *manifest.problems],
            skipped=snapshot.skipped,
            mode="snapshot",
        )
    if manifest.manifest is not None:  # written by `kitemark snapshot` from the API server
        inventory["from_api"] = True
        inventory["api"] = {k: v for k, v in manifest.manifest.items() if k != "files"}
    return inventory
