"""``kitemark merge``: several results documents (the shards of one nightly run, or runs over
different targets) as one. Overlapping results and mismatched Kitemark versions are refused, because
either would make the merged verdict mean something no run measured."""

from __future__ import annotations

import copy
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.verdicts.decide import decide

# What the merged document recomputes; the rest of a check or framework entry must agree.
_DECIDED_REQUIREMENT_KEYS = ("verdict", "counts")


def merge(documents: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """``documents`` as (name for errors, schema-2 document) pairs, in the order given."""
    if not documents:
        raise UsageError("nothing to merge")
    _same_version(documents)
    _same_inputs(documents)
    _shards_of_one_run(documents)
    first_name, first = documents[0]
    merged: dict[str, Any] = {
        "schema_version": first["schema_version"],
        "kitemark_version": first["kitemark_version"],
        "runs": [],
        "targets": [],
        "checks": {},
        "frameworks": _strip(first["frameworks"]),
        "results": [],
        "waivers": {"file": None, "entries": []},
    }
    owner: dict[str, str] = {}
    run_ids: dict[str, str] = {}
    for name, document in documents:
        for run in document["runs"]:
            if run["id"] in run_ids:
                raise UsageError(f"{name}: run {run['id']} is also in {run_ids[run['id']]}: merge it once")
            run_ids[run["id"]] = name
        merged["runs"] += copy.deepcopy(document["runs"])
        _add_targets(merged["targets"], document["targets"], name)
        _add_checks(merged["checks"], document["checks"], name)
        if _strip(document["frameworks"]) != merged["frameworks"]:
            raise UsageError(
                f"{name}: its frameworks differ from {first_name}'s; merge runs of one configuration"
            )
        for result in document["results"]:
            if result["id"] in owner:
                raise UsageError(
                    f"{name}: result {result['id']} is also in {owner[result['id']]}: shards must not overlap"
                )
            owner[result["id"]] = name
            merged["results"].append(copy.deepcopy(result))
        _add_waivers(merged["waivers"], document["waivers"], name)
    merged["results"].sort(key=lambda r: (r["check_id"], r["unit"]))
    return decide(merged)


def _same_version(documents: list[tuple[str, dict[str, Any]]]) -> None:
    versions = {doc["kitemark_version"]: name for name, doc in documents}
    if len(versions) > 1:
        listed = ", ".join(f"{name}: {version}" for version, name in versions.items())
        raise UsageError(f"results from different Kitemark versions cannot be merged ({listed})")


def _shards_of_one_run(documents: list[tuple[str, dict[str, Any]]]) -> None:
    """Shards of N merge only with shards of the same run: the same targets (as collected), checks,
    pytest selection and inputs, recorded as each shard's signature."""
    first: dict[int, tuple[str, str]] = {}
    for name, document in documents:
        for run in document["runs"]:
            shard = run.get("shard")
            if not shard:
                continue
            if not shard.get("signature"):
                raise UsageError(
                    f"{name}: shard {shard['index']}/{shard['count']} records no signature, so nothing shows "
                    "it is of the same run as the others; re-run the shards with this Kitemark"
                )
            seen = first.setdefault(int(shard["count"]), (name, shard["signature"]))
            if seen[1] != shard["signature"]:
                raise UsageError(
                    f"{name}: shard {shard['index']}/{shard['count']} is not of the same run as {seen[0]}'s "
                    "(different targets, checks, pytest selection or inputs); merge the shards of one run"
                )


def _add_targets(into: list[dict[str, Any]], targets: list[dict[str, Any]], name: str) -> None:
    """One record per target as collected: every shard of a run collects the same targets. Two
    different targets under one label would read as one in every report, so they are refused."""
    known = {t["label"]: t for t in into}
    for target in targets:
        seen = known.get(target["label"])
        if seen is None:
            into.append(copy.deepcopy(target))
            known[target["label"]] = into[-1]
        elif (seen.get("location"), seen.get("inventory_sha256")) != (
            target.get("location"),
            target.get("inventory_sha256"),
        ):
            raise UsageError(
                f"{name}: target {target['label']} ({target.get('location')}) is not the "
                f"{seen['label']} of the runs before it ({seen.get('location')}, collected differently); "
                "give different targets different names"
            )


def _same_inputs(documents: list[tuple[str, dict[str, Any]]]) -> None:
    """Results judged against different platform values (a `kitemark.yaml` of one shard only) do not
    add up to one verdict."""
    seen: dict[str, tuple[str, Any]] = {}
    for name, document in documents:
        for run in document["runs"]:
            for key, value in (run.get("inputs") or {}).items():
                first = seen.setdefault(key, (name, value))
                if first[1] != value:
                    raise UsageError(
                        f"{name}: input {key} differs from {first[0]}'s; merge runs of one configuration"
                    )


def _strip(frameworks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = copy.deepcopy(frameworks)
    for framework in out:
        for requirement in framework.get("requirements", []):
            for key in _DECIDED_REQUIREMENT_KEYS:
                requirement.pop(key, None)
    return out


def _add_checks(into: dict[str, Any], checks: dict[str, Any], name: str) -> None:
    for cid, check in checks.items():
        known = into.get(cid)
        mine = {k: v for k, v in check.items() if k != "controls"}
        if known is not None and {k: v for k, v in known.items() if k != "controls"} != mine:
            raise UsageError(f"{name}: check {cid} is described differently than in an earlier file")
        into.setdefault(cid, copy.deepcopy(check))


def _add_waivers(into: dict[str, Any], waivers: dict[str, Any], name: str) -> None:
    files = [f for f in (into.get("file"), waivers.get("file")) if f]
    into["file"] = files[0] if len(set(files)) == 1 else "; ".join(dict.fromkeys(files)) or None
    known = {entry["id"]: entry for entry in into["entries"]}
    for entry in waivers.get("entries", []):
        mine = {k: v for k, v in entry.items() if k not in ("used", "matched")}
        found = known.get(entry["id"])
        if found is None:
            into["entries"].append(copy.deepcopy(entry))
            known[entry["id"]] = into["entries"][-1]
        elif {k: v for k, v in found.items() if k not in ("used", "matched")} != mine:
            raise UsageError(
                f"{name}: waiver {entry['id']} differs from the one of that id in an earlier file"
            )
