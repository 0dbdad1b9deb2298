"""Collect every target once (on the pytest controller) and save its inventory as audit evidence.
Workers, and the single-process run alike, load the saved JSON, so every process sees the same data."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kitemark.core import input_limits, jsonio
from kitemark.core.kinds import Inventory, TargetSpec, get_kind

# Read a repository without running anything its configuration names or writing to it: no fsmonitor
# (the built-in daemon neither), no hooks, no pager, no index refresh. Filter drivers are switched off
# per repository (``_no_filters``); submodules are not entered (their configuration would apply).
GIT = (
    "git",
    "--no-pager",
    "--no-optional-locks",
    "-c",
    "core.fsmonitor=",
    "-c",
    "core.useBuiltinFSMonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
)
FILTER_FIELDS = (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))


def collect_all(
    specs: list[TargetSpec],
    inventory_dir: Path,
    log: Callable[[str], None],
    reads: Mapping[str, frozenset[str]],
    inputs: Mapping[str, Any] | None = None,
    known: Mapping[str, frozenset[str]] | None = None,
) -> tuple[list[dict[str, Any]], list[Inventory]]:
    """Collect each target and write ``<inventory_dir>/<kind>-<name>.json``: (records, inventories).
    A record's ``skipped`` is the inventory's, and what the check ``inputs`` put out of scope or no
    selected check reads (``reads``: the selected checks' declarations per kind, ``known``: those of
    every check in the catalogue)."""
    inventory_dir.mkdir(parents=True, exist_ok=True)
    records, inventories = [], []
    for spec in specs:
        kind = get_kind(spec.kind)
        log(f"kitemark: collecting {spec.label} from {spec.location or spec.options.get('seed') or 'AWS'} …")
        collected_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        started = time.perf_counter()
        # A budget per target: its files together are bounded, as each file is (input_limits).
        wanted = reads.get(spec.kind, frozenset())
        with jsonio.paused_gc(), input_limits.target_budget() as budget:
            inventory = kind.collect(spec, wanted)
        elapsed = time.perf_counter() - started
        path = inventory_dir / f"{spec.kind}-{spec.name}.json"
        try:
            data = jsonio.dumps(inventory, sort_keys=True)
        except TypeError:  # an undecodable file name: kept, shown with U+FFFD for each bad byte
            inventory = jsonio.without_surrogates(inventory)
            data = jsonio.dumps(inventory, sort_keys=True)
        path.write_bytes(data)
        errors = inventory.get("errors", [])
        known_reads = (known or {}).get(spec.kind, frozenset())
        out_of_scope = kind.not_assessed(inventory, inputs or {}, wanted, known_reads)
        skipped = [*inventory.get("skipped", []), *out_of_scope]
        log(
            f"kitemark: collected {spec.label} in {elapsed:.1f}s"
            + (f", {len(errors)} input errors" if errors else "")
            + (f" ({budget.spent.removesuffix(': not read')}: later files not read)" if budget.spent else "")
            + (f", {len(skipped)} inputs skipped (listed in the report)" if skipped else "")
        )
        commit_path = kind.commit_path(spec)
        records.append(
            {
                "label": spec.label,
                "kind": spec.kind,
                "name": spec.name,
                "location": spec.location or str(spec.options.get("seed") or ""),
                "options": {k: v for k, v in spec.options.items() if isinstance(v, str | int | bool | list)},
                "inventory": str(path),
                "inventory_sha256": hashlib.sha256(data).hexdigest(),
                "collected_at": collected_at,
                "collect_seconds": round(elapsed, 3),
                "commit": git_commit(commit_path) if commit_path else None,
                "errors": errors,
                "skipped": skipped,
                **_api_source(inventory),
            }
        )
        inventories.append(inventory)
    return records, inventories


def _api_source(inventory: Inventory) -> dict[str, Any]:
    """For a target read from an API server (live, or a snapshot of one): which server, which
    version, and when a snapshot was taken, so the report says what was assessed."""
    api = inventory.get("api")
    if not isinstance(api, dict):
        return {}
    keys = ("server", "context", "server_version", "taken_at")
    return {"api": {k: str(api[k]) for k in keys if api.get(k)}}


def load_inventories(records: list[dict[str, Any]]) -> list[Inventory]:
    return [jsonio.loads(Path(record["inventory"]).read_bytes()) for record in records]


def _git(folder: Path, *args: str, config: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*GIT, *config, "-C", str(folder), *args], capture_output=True, text=True, timeout=30, check=False
    )


def _no_filters(folder: Path) -> tuple[str, ...] | None:
    """``-c`` options that switch off every filter driver the repository's configuration defines:
    ``git status`` runs a driver's ``clean`` command on a file whose stat data changed, and the
    configuration is the target's. None when a driver's name cannot be given on a command line."""
    listed = _git(folder, "config", "-z", "--name-only", "--get-regexp", r"^filter\.")
    names = {
        key[len("filter.") : key.rindex(".")] for key in listed.stdout.split("\0") if key.count(".") >= 2
    }
    if any("=" in name for name in names):
        return None
    return tuple(
        arg
        for name in sorted(names)
        for field, value in FILTER_FIELDS
        for arg in ("-c", f"filter.{name}.{field}={value}")
    )


def git_commit(location: str) -> dict[str, Any] | None:
    """The commit a target's files are at, if they are tracked by a git repository.

    ``None`` outside any repository; ``{"tracked": False, "reason": …}`` for a folder the enclosing
    repository does not track (untracked or ignored), rather than naming a HEAD that does not hold it.
    """
    path = Path(location)
    folder = path if path.is_dir() else path.parent
    try:
        top = _git(folder, "rev-parse", "--show-toplevel")
        if top.returncode != 0:
            return None
        tracked = _git(folder, "ls-files", "--", ".").stdout.strip()
        if not tracked:
            ignored = _git(folder, "check-ignore", "-q", str(folder.resolve())).returncode == 0
            reason = "ignored by" if ignored else "not tracked by"
            return {"tracked": False, "reason": f"the folder is {reason} the enclosing git repository"}
        commit = _git(folder, "rev-parse", "HEAD").stdout.strip()
        config = _no_filters(folder)
        # A repository whose filters cannot be switched off is not inspected: said to be dirty, as
        # nothing shows that its files are the commit's.
        dirty = (
            "unknown"
            if config is None
            else _git(
                folder, "status", "--porcelain", "--ignore-submodules=dirty", "--", ".", config=config
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        return None
    # Where the target lies in the repository, so CI annotations can name files from its root.
    inside = Path(os.path.relpath(folder.resolve(), Path(top.stdout.strip()).resolve())).as_posix()
    return {"tracked": True, "commit": commit, "dirty": bool(dirty), "path": inside} if commit else None
