"""Collect every target once (on the pytest controller) and save its inventory as audit evidence.
Workers, and the single-process run alike, load the saved JSON, so every process sees the same data."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kitemark.core.kinds import Inventory, TargetSpec, kind_module


def collect_all(
    specs: list[TargetSpec], inventory_dir: Path, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Collect each target, write `<inventory_dir>/<kind>-<name>.json`, return the target records."""
    inventory_dir.mkdir(parents=True, exist_ok=True)
    for stale in inventory_dir.glob("*.json"):  # an earlier run's evidence must not pass for this run's
        stale.unlink()
    records = []
    for spec in specs:
        log(f"kitemark: collecting {spec.label} from {spec.location or spec.options.get('seed') or 'AWS'} …")
        collected_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        started = time.perf_counter()
        inventory = kind_module(spec.kind).collect(spec)
        elapsed = time.perf_counter() - started
        path = inventory_dir / f"{spec.kind}-{spec.name}.json"
        path.write_text(json.dumps(inventory, sort_keys=True, default=str))
        errors = inventory.get("errors", [])
        log(
            f"kitemark: collected {spec.label} in {elapsed:.1f}s"
            + (f", {len(errors)} input errors" if errors else "")
        )
        records.append(
            {
                "label": spec.label,
                "kind": spec.kind,
                "name": spec.name,
                "location": spec.location or str(spec.options.get("seed") or ""),
                "inventory": str(path),
                "collected_at": collected_at,
                "collect_seconds": round(elapsed, 3),
                "errors": errors,
            }
        )
    return records


def load_inventories(records: list[dict[str, Any]]) -> list[Inventory]:
    return [json.loads(Path(record["inventory"]).read_text()) for record in records]


def git_commit(path: str) -> dict[str, Any] | None:
    """The commit a policies directory is at, if it is inside a git work tree."""
    try:
        commit = subprocess.run(
            ["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", path, "status", "--porcelain", "--", "."],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)} if commit else None
