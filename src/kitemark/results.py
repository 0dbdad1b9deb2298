"""The results document (`results.json`): the single source every report is rendered from."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from kitemark import __version__
from kitemark.core import resources
from kitemark.core.model import ItemResult, Status

SCHEMA_VERSION = "1.0"


@cache
def schema() -> dict[str, Any]:
    return json.loads((resources.data_dir() / "results.schema.json").read_text())


def summarise(
    results: Iterable[dict[str, Any]], targets: Iterable[dict[str, Any]] = (), *, complete: bool = True
) -> dict[str, Any]:
    counts = Counter(r["status"] for r in results)
    summary: dict[str, Any] = {status.value: counts.get(status.value, 0) for status in Status}
    summary["total"] = sum(counts.values())
    # An input error is incomplete evidence even when the selection ran no check that reports it.
    summary["input_errors"] = sum(len(t.get("errors", [])) for t in targets)
    # A run that assessed nothing, or stopped early, is never compliant.
    summary["compliant"] = (
        complete
        and summary["total"] > 0
        and summary["failed"] == 0
        and summary["error"] == 0
        and summary["input_errors"] == 0
    )
    return summary


def build_document(
    *,
    run: dict[str, Any],
    targets: list[dict[str, Any]],
    checks: dict[str, dict[str, Any]],
    frameworks: list[dict[str, Any]],
    items: Iterable[ItemResult],
    waivers_file: str | None,
    waivers: list[dict[str, Any]],
) -> dict[str, Any]:
    results = sorted((item.to_dict() for item in items), key=lambda r: (r["check_id"], r["unit"]))
    matched: dict[str, list[str]] = {}
    for result in results:
        for finding in result["findings"]:
            if finding.get("waiver"):
                matched.setdefault(finding["waiver"]["id"], []).append(result["id"])
    entries = [
        {**w, "used": w["id"] in matched, "matched": sorted(set(matched.get(w["id"], [])))} for w in waivers
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "kitemark_version": __version__,
        "run": run,
        "targets": targets,
        "checks": checks,
        "frameworks": frameworks,
        "results": results,
        "waivers": {"file": waivers_file, "entries": entries},
        "summary": summarise(results, targets, complete=run.get("complete", True)),
    }


def validate(document: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when the document breaks its published schema."""
    jsonschema.validate(document, schema(), format_checker=jsonschema.FormatChecker())


def write(document: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")


def read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
