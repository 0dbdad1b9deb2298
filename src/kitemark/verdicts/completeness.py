"""Completeness: did the run assess everything it was asked to? A run that did not is never
compliant, whatever its results say.

Reasons a run is incomplete:

- it stopped early (``-x``, ``--maxfail``, interrupted, a crash);
- a chosen check did not run on some unit it was planned for (``-k``/``-m``/``--deselect`` passed to
  pytest, or a check function pytest never collected);
- for some target, no check (input checks aside) assessed any resource: everything was *not
  applicable* or *error* (e.g. plain manifests read as 0 namespaces);
- a shard of a sharded run is missing from a merged document;
- an input holds resources Kitemark did not assess (a Helm template, a Kustomization, a module in
  Terraform's JSON syntax or in a hidden folder, objects of a system namespace in a team's folder): it
  is listed as skipped with ``holds_resources``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from kitemark.core.model import ASSESSED

MAX_LISTED = 10


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def completeness(
    runs: Iterable[Mapping[str, Any]],
    targets: Iterable[Mapping[str, Any]],
    results: Iterable[Mapping[str, Any]],
    checks: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    runs, targets = list(runs), list(targets)
    reasons: list[str] = []
    for run in runs:
        if run.get("stopped"):
            reasons.append(f"run {run['id'][:8]} stopped early: {run['stopped']}")
        not_run = run.get("not_run") or []
        if not_run:
            ids = [f"{n['check_id']}[{n['unit']}]" for n in not_run]
            why = sorted({n["reason"] for n in not_run})
            reasons.append(f"{len(not_run)} chosen result(s) did not run ({'; '.join(why)}): {_listed(ids)}")
    missing = _missing_shards(runs)
    reasons += missing
    reasons += _unrendered_inputs(targets)
    if not missing:  # a shard alone may hold no assessed unit of a target; the merged whole must
        reasons += _unassessed_targets(targets, results, checks)
    incomplete_checks = sorted({n["check_id"] for run in runs for n in run.get("not_run") or []})
    return {"complete": not reasons, "reasons": reasons, "incomplete_checks": incomplete_checks}


def _unrendered_inputs(targets: list[Mapping[str, Any]]) -> list[str]:
    """Skipped inputs that hold what checks assess (a Helm template, a Kustomization, a *.tf.json
    module, a system namespace's objects in a team's folder) leave the run short of what it was given."""
    found: dict[str, list[str]] = defaultdict(list)
    for target in targets:
        for entry in target.get("skipped") or ():
            if entry.get("holds_resources"):
                found[target["label"]].append(entry["path"])
    return [
        f"{label}: {len(paths)} input(s) hold resources Kitemark did not assess: "
        f"{_listed(sorted(set(paths)))} (each target's skipped inputs say why and what to do)"
        for label, paths in found.items()
    ]


def _unassessed_targets(
    targets: list[Mapping[str, Any]],
    results: Iterable[Mapping[str, Any]],
    checks: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    assessed: dict[str, int] = defaultdict(int)
    for result in results:
        check = checks.get(result["check_id"]) or {}
        if check.get("input_check"):
            continue
        if any(f["status"] in ASSESSED for f in result.get("findings", [])):
            assessed[result["target"]] += 1
    return [
        f"{label}: no check assessed any resource of this target"
        for label in dict.fromkeys(t["label"] for t in targets)
        if not assessed.get(label)
    ]


def _missing_shards(runs: list[Mapping[str, Any]]) -> list[str]:
    """A sharded run (``--shard I/N``) is whole only when all N shards are present."""
    seen: dict[int, set[int]] = defaultdict(set)
    for run in runs:
        shard = run.get("shard")
        if shard:
            seen[int(shard["count"])].add(int(shard["index"]))
    reasons = []
    for count, indexes in sorted(seen.items()):
        missing = sorted(set(range(1, count + 1)) - indexes)
        if missing:
            reasons.append(f"shard(s) {', '.join(f'{i}/{count}' for i in missing)} missing from the results")
    return reasons
