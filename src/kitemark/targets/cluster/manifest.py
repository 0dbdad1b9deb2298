"""``kitemark snapshot``: a live cluster written as a folder an auditor can archive, and read back.

The folder holds one ``List`` file per resource type (``apps/v1/deployments.json``; the core group
is ``core/v1/...``), the objects redacted as a live run redacts them, and ``kitemark-snapshot.json``:
the cluster's name, context, server and version, when it was taken, Kitemark's version, what was
read, what could not be listed (and why), and each file's object count and sha256.

Read back with ``--cluster snapshot:DIR``, the manifest is checked and used: a file whose sha256
differs, or that is missing, is an input error; the types the live read could not list are the same
errors as in the live run; and the snapshot is known to be of a whole cluster read from its API
server. So a run on the snapshot gives the live run's results (only findings' locations differ: a
file instead of none)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitemark import __version__
from kitemark.core import jsonio
from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory
from kitemark.targets.cluster.files import MANIFEST, FileProblem

FORMAT = "kitemark-snapshot/1"


def write_snapshot(inventory: Inventory, out: Path) -> dict[str, Any]:
    """Write ``inventory`` (a live read) to ``out`` (new or empty); returns the manifest."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(
            f"{out}: exists and is not an empty directory (a snapshot is never merged into another)"
        )
    api = inventory.get("api") or {}
    file_of: dict[tuple[str, str], str] = {}
    for listed in api.get("resources") or []:
        group, _, version = listed["api_version"].rpartition("/")
        file_of[(listed["api_version"], listed["kind"])] = (
            f"{group or 'core'}/{version}/{listed['resource']}.json"
        )
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for obj in inventory.get("objects") or []:
        items[file_of[(obj.get("apiVersion"), obj.get("kind"))]].append(obj)
    files = []
    for listed in api.get("resources") or []:
        rel = file_of[(listed["api_version"], listed["kind"])]
        data = jsonio.dumps({"apiVersion": "v1", "kind": "List", "items": items.get(rel, [])}, sort_keys=True)
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(
            {
                "file": rel,
                "read": listed["read"],
                "api_version": listed["api_version"],
                "kind": listed["kind"],
                "objects": len(items.get(rel, [])),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    manifest = {
        "format": FORMAT,
        "kitemark_version": __version__,
        "cluster": inventory.get("name"),
        "context": api.get("context"),
        "server": api.get("server"),
        "server_version": api.get("server_version"),
        "taken_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "objects": sum(f["objects"] for f in files),
        "files": files,
        "not_listed": api.get("not_listed") or [],
        "errors": [e for e in inventory.get("errors") or [] if e.get("everywhere")],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).write_bytes(jsonio.dumps(manifest, sort_keys=True) + b"\n")
    return manifest


@dataclass
class ManifestCheck:
    """What a snapshot's manifest says about the files read: problems, and the live read's own."""

    manifest: dict[str, Any] | None = None
    problems: list[FileProblem] = field(default_factory=list)


def check_manifest(root: Path, files: list[str]) -> ManifestCheck:
    """The manifest of ``root`` (if any) against the ``files`` read (relative POSIX paths)."""
    path = root / MANIFEST
    if not root.is_dir() or not path.is_file():
        return ManifestCheck()
    try:
        manifest = jsonio.load_document(path.read_bytes())
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} manifest")
        entries = {e["file"]: (e["sha256"], e["read"]) for e in manifest.get("files") or []}
        live_errors = [InputError.from_dict(e) for e in manifest.get("errors") or []]
    except (OSError, ValueError, KeyError, TypeError, jsonio.InvalidJSON) as exc:
        error = InputError(MANIFEST, f"unreadable snapshot manifest: {exc}")
        return ManifestCheck(None, [FileProblem(error, placed=True)])
    check = ManifestCheck(manifest)
    read = set(files)
    for rel, (digest, kind) in sorted(entries.items()):
        if rel not in read:
            message = f"listed in {MANIFEST} but missing: its {kind} objects are not assessed"
        elif hashlib.sha256((root / rel).read_bytes()).hexdigest() != digest:
            message = f"changed since `kitemark snapshot` wrote it (its sha256 is not the one in {MANIFEST})"
        else:
            continue
        # Which namespaces the file held is not known from a changed or missing file: all of them.
        error = InputError(rel, message, types=(kind,), everywhere=True)
        check.problems.append(FileProblem(error, placed=True))
    check.problems += [FileProblem(error, placed=True) for error in live_errors]
    return check
