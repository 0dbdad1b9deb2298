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
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kitemark import __version__
from kitemark.core import input_limits, jsonio
from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory
from kitemark.targets.cluster.files import MANIFEST, FileProblem

FORMAT = "kitemark-snapshot/1"


_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


def write_snapshot(inventory: Inventory, out: Path) -> dict[str, Any]:
    """Write ``inventory`` (a live read) to ``out`` (new or empty); returns the manifest. The folder
    is written beside ``out`` and renamed into place when complete, so an interrupted snapshot is
    never taken for a whole one."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(
            f"{out}: exists and is not an empty directory (a snapshot is never merged into another)"
        )
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        partial.mkdir(parents=True)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write there: {exc.strerror or exc}") from None
    try:
        api = inventory.get("api") or {}
        reads: dict[str, str] = {}
        items: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for listed in api.get("resources") or []:
            rel = _file_name(listed["api_version"], listed["resource"])
            reads[rel] = listed["read"]
            items[rel]  # a type with no objects still has its (empty) file
        by_type = {
            (r["api_version"], r["kind"]): _file_name(r["api_version"], r["resource"])
            for r in api.get("resources") or []
        }
        for obj in inventory.get("objects") or []:
            key = (str(obj.get("apiVersion")), str(obj.get("kind")))
            # An object whose kind its list did not name (a hostile server) still goes into the snapshot.
            items[by_type.get(key) or _file_name(key[0], key[1].lower() + "-unlisted")].append(obj)
        files = []
        for rel, objects in sorted(items.items()):
            data = jsonio.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, sort_keys=True)
            path = partial / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            files.append(
                {
                    "file": rel,
                    "read": reads.get(rel, ""),
                    "objects": len(objects),
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
            "objects": sum(len(objects) for objects in items.values()),
            "files": files,
            "not_listed": api.get("not_listed") or [],
            "reads": list(api.get("reads") or []),
            # The live read's own errors (types it could not list, objects it refused), replayed on reading.
            "errors": [e for e in inventory.get("errors") or [] if e.get("file") is False],
        }
        (partial / MANIFEST).write_bytes(jsonio.dumps(manifest, sort_keys=True) + b"\n")
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)  # nothing half-written is left to be read
        raise
    if out.exists():
        out.rmdir()  # empty, checked above
    partial.rename(out)
    return manifest


def _file_name(api_version: str, resource: str) -> str:
    """``apps/v1`` + ``deployments`` → ``apps/v1/deployments.json`` (the core group is ``core/``); a
    name the server sent that is not a plain path segment is replaced by its digest, so no server can
    make a snapshot write outside its folder."""
    group, _, version = api_version.rpartition("/")
    parts = [group or "core", version, resource]
    if all(_SEGMENT.fullmatch(p) and p not in (".", "..") for p in parts):
        return "/".join(parts) + ".json"
    digest = hashlib.sha256("/".join(parts).encode("utf-8", "replace")).hexdigest()[:16]
    return f"unnamed/{digest}.json"


@dataclass
class ManifestCheck:
    """What a snapshot's manifest says about the files read: problems, and the live read's own."""

    manifest: dict[str, Any] | None = None
    problems: list[FileProblem] = field(default_factory=list)


def check_manifest(root: Path, files: list[str], needed: Iterable[str] = ()) -> ManifestCheck:
    """The manifest of ``root`` (if any) against the ``files`` read (relative POSIX paths) and the reads
    the run's checks need (``needed``)."""
    path = root / MANIFEST
    if not root.is_dir() or not path.is_file():
        return ManifestCheck()
    try:
        manifest, entries, replayed = _parse(path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, jsonio.InvalidJSON) as exc:
        # What the snapshot holds and what its live read could not list are unknown: every check errs.
        why = " ".join(str(exc).split())[:200]
        error = InputError(MANIFEST, f"unreadable snapshot manifest: {why}", everywhere=True)
        return ManifestCheck(None, [FileProblem(error, placed=True)])
    check = ManifestCheck(manifest)
    read = set(files)
    for rel, (digest, kind) in sorted(entries.items()):
        if rel not in read:
            message = f"listed in {MANIFEST} but missing: its {kind or 'objects'} are not assessed"
        elif hashlib.sha256((root / rel).read_bytes()).hexdigest() != digest:
            message = f"changed since `kitemark snapshot` wrote it (its sha256 is not the one in {MANIFEST})"
        else:
            continue
        # Which namespaces the file held is not known from a changed or missing file: all of them.
        error = InputError(rel, message, types=(kind,) if kind else (), everywhere=True)
        check.problems.append(FileProblem(error, placed=True))
    for rel in sorted(read - set(entries)):
        # Not written by `kitemark snapshot`: read like any snapshot file, but not evidence the manifest
        # vouches for (its objects look read from the cluster); an error of the namespaces it holds.
        message = f"not in {MANIFEST}: added after `kitemark snapshot` wrote the folder"
        check.problems.append(FileProblem(InputError(rel, message)))
    check.problems += replayed
    check.problems += _uncovered(manifest, entries, needed)
    return check


def _uncovered(
    manifest: dict[str, Any], entries: dict[str, tuple[str, str]], needed: Iterable[str]
) -> list[FileProblem]:
    """A read the run needs that the snapshot neither holds nor says it could not list: taken by an
    older Kitemark (before a check read it), or its file and entry were removed. Errors of the checks
    reading it, in every namespace. Optional and wildcard reads may rightly have no file."""
    taken = set(manifest.get("reads") or [])
    covered = {read for _, read in entries.values()}
    covered |= {str(e.get("read")) for e in manifest.get("not_listed") or [] if isinstance(e, dict)}
    problems = []
    for read in sorted(set(needed)):
        if read.endswith("?") or read.endswith("/*") or read in covered:
            continue
        why = "was not read when it was taken" if read not in taken else "has no file for it (removed?)"
        error = InputError(
            MANIFEST, f"the snapshot {why}: {read} is not assessed", types=(read,), everywhere=True
        )
        problems.append(FileProblem(error, placed=True))
    return problems


def _parse(path: Path) -> tuple[dict[str, Any], dict[str, tuple[str, str]], list[FileProblem]]:
    """(manifest, file → (sha256, read), the live read's errors); a ``ValueError`` for anything else."""
    manifest = jsonio.load_document(input_limits.read_bytes(path))
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"not a {FORMAT} manifest")
    entries: dict[str, tuple[str, str]] = {}
    for entry in manifest.get("files") or []:
        rel, digest, read = entry["file"], entry["sha256"], entry.get("read") or ""
        if not (isinstance(rel, str) and _FILE.fullmatch(rel) and ".." not in rel.split("/")):
            raise ValueError(f"it names a file that is not one of a snapshot: {rel!r:.80}")
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)) or not isinstance(
            read, str
        ):
            raise ValueError(f"the entry of {rel} is malformed")
        if rel in entries:
            raise ValueError(f"it lists {rel} twice")
        entries[rel] = (digest, read)
    replayed = []
    for data in manifest.get("errors") or []:
        error = InputError.from_dict(data)
        lists = [data.get(key, []) for key in ("types", "namespaces")]
        strings = [error.path, error.message, *error.types, *(data.get("namespaces") or [])]
        if not all(isinstance(v, list) for v in lists) or not all(isinstance(v, str) for v in strings):
            raise ValueError("an error is malformed (its path, message, types or namespaces)")
        namespaces = set(data.get("namespaces") or [])
        replayed.append(
            FileProblem(
                InputError(error.path, error.message, None, False, error.types, error.everywhere),
                namespaces,
                placed=True,
            )
        )
    return manifest, entries, replayed


_FILE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*\.json")
