"""The results document (``results.json``, schema 2): the single source every report is rendered from.

A document holds one run or several (``kitemark merge`` combines the shards of a nightly run):

- ``runs``: when, where and how each run ran, what it chose (the selection, pytest's own ``-k``/``-m``
  arguments, the inputs) and what it did not get to (``not_run``, ``stopped``);
- ``targets``: what was checked, each with its saved inventory (and its sha256), its commit and its
  input errors; ``checks`` and ``frameworks``: the catalogue, with the controls each check evidences
  and each requirement's verdict;
- ``results``: one per check x scope unit, each finding with a structured ``location`` and a
  ``fingerprint`` (its identity across runs);
- ``waivers``, ``completeness`` and ``summary`` (counts and the verdict).

Everything after the results is decided by ``kitemark.verdicts.decide``. Version 1 documents (one
``run``, text locations) are read through ``migrate_v1``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from kitemark import __version__
from kitemark.core import input_limits, jsonio, resources
from kitemark.core.model import FileLocation, Result, fingerprint, worst
from kitemark.verdicts.decide import decide
from kitemark.verdicts.waivers import covers, covers_everything

SCHEMA_VERSION = "2.0"
SCHEMA_FILES = {"1.0": "results-v1.schema.json", "2.0": "results.schema.json"}


@cache
def schema(version: str = SCHEMA_VERSION) -> dict[str, Any]:
    return json.loads((resources.data_dir() / SCHEMA_FILES[version]).read_text())


def result_dict(result: Result, run_id: str) -> dict[str, Any]:
    return stamp(result.to_dict(), run_id)


def stamp(data: dict[str, Any], run_id: str) -> dict[str, Any]:
    """A result as a worker sent it (``Result.to_dict``), made a result of run ``run_id``: its status
    from its findings, each finding's fingerprint. In place, without rebuilding objects (a large run
    has tens of thousands of findings)."""
    data["run"] = run_id
    check_id, target = data["check_id"], data["target"]
    for finding in data["findings"]:
        finding["fingerprint"] = fingerprint(check_id, target, finding["resource"])
    data["status"] = worst(f["status"] for f in data["findings"])
    return data


def build_document(
    *,
    run: dict[str, Any],
    targets: list[dict[str, Any]],
    checks: dict[str, dict[str, Any]],
    frameworks: list[dict[str, Any]],
    results: Iterable[Result | dict[str, Any]],
    waivers: dict[str, Any],
) -> dict[str, Any]:
    """The document of one run; ``results`` as Result objects, or already as ``result_dict`` gives them
    (the controller converts each as it arrives, while workers are still running)."""
    ordered = sorted(
        (r if isinstance(r, dict) else result_dict(r, run["id"]) for r in results),
        key=lambda r: (r["check_id"], r["unit"]),
    )
    document = {
        "schema_version": SCHEMA_VERSION,
        "kitemark_version": __version__,
        "runs": [run],
        "targets": [{**t, "run": run["id"]} for t in targets],
        "checks": checks,
        "frameworks": frameworks,
        "results": ordered,
        "waivers": waivers,
    }
    return decide(document)


def validate(document: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError when the document breaks its published schema."""
    import jsonschema  # reading documents needs it; writing one (every run) does not

    version = str(document.get("schema_version", ""))
    if version not in SCHEMA_FILES:
        raise jsonschema.ValidationError(
            f"schema_version {version!r} is not one Kitemark reads ({', '.join(SCHEMA_FILES)})"
        )
    jsonschema.validate(document, schema(version), format_checker=jsonschema.FormatChecker())


def read(path: Path) -> dict[str, Any]:
    """A results document from disk, validated and migrated to the current schema, with its
    conclusions decided again from its results: a summary or status edited by hand counts for nothing.

    Bounded as every input file is (size, depth: ``jsonio.load_document``): a document over a limit or
    not strict JSON is ``jsonio.InvalidJSON`` (a ``ValueError``), and ``OSError`` passes through."""
    import jsonschema

    try:
        data = input_limits.read_bytes(path)
    except input_limits.LimitExceeded as exc:
        raise jsonio.InvalidJSON(str(exc)) from None
    document = jsonio.load_document(data)
    if not isinstance(document, dict):
        raise jsonschema.ValidationError("not a JSON object")
    validate(document)
    return migrate_v1(document) if document["schema_version"] == "1.0" else decide(document)


def migrate_v1(old: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 (one ``run``, text locations, verdicts computed by each report) to schema 2."""
    run = dict(old["run"])
    run_id = run["id"]
    commits = {c["target"]: c for c in run.pop("policies_commit", [])}
    run.update(
        {
            "kitemark_version": old["kitemark_version"],
            "stopped": run.get("stopped"),
            "not_run": [],
            "shard": None,
            "waivers_file": old["waivers"].get("file"),
            "migrated_from": "1.0",
        }
    )
    run.pop("complete", None)
    targets = []
    for target in old["targets"]:
        entry = {**target, "run": run_id}
        found = commits.get(target["label"])
        entry["commit"] = {**found, "tracked": True} if found else None
        targets.append(entry)
    checks = {}
    for cid, check in old["checks"].items():
        entry = {k: v for k, v in check.items() if k != "suite"}
        entry.setdefault("kind", check.get("suite", ""))
        entry.setdefault("input_check", "-INPUT-" in cid)  # schema 1 marked input checks by their id
        entry.setdefault("always_run", entry["input_check"])
        entry.setdefault("reads", [])
        entry.setdefault("inputs", [])
        checks[cid] = entry
    results = []
    for result in old["results"]:
        findings = []
        for finding in result["findings"]:
            where = finding.get("location")
            findings.append(
                {
                    **finding,
                    "location": FileLocation.parse(where).to_dict() if where else None,
                    "fingerprint": fingerprint(result["check_id"], result["target"], finding["resource"]),
                }
            )
        results.append({**result, "run": run_id, "findings": findings})
    document = {
        "schema_version": SCHEMA_VERSION,
        "kitemark_version": old["kitemark_version"],
        "runs": [run],
        "targets": targets,
        "checks": checks,
        "frameworks": old["frameworks"],
        "results": results,
        "waivers": {"file": old["waivers"].get("file"), "entries": old["waivers"].get("entries", [])},
    }
    return decide(document)


def dumps(document: dict[str, Any]) -> bytes:
    # Compact: a large run's document is read by machines; `jq .` pretty-prints it for people.
    return jsonio.dumps(document) + b"\n"


def write_atomic(path: Path, data: str | bytes, durable: bool = False) -> None:
    """Write a file so a reader never sees it half-written, and a failed write leaves the old one.
    ``durable``: flushed to disk before it replaces the old one (a full disk fails here, not later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes it private; a report is as any file written
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def judged_on(document: dict[str, Any]) -> str | None:
    """The date (``--today``) the document's waivers were judged against: one date, or each run's when
    merged runs differ; None when no run recorded it (schema 1, and schema 2 before it was kept)."""
    dates = {run.get("id", ""): run["today"] for run in document.get("runs", []) if run.get("today")}
    if not dates:
        return None
    if len(set(dates.values())) == 1:
        return next(iter(dates.values()))
    return "; ".join(f"{date} (run {run_id[:8]})" for run_id, date in dates.items())


def warnings(document: dict[str, Any]) -> list[str]:
    """What every output must say a reader could otherwise miss: a run that judged waivers as of another
    day than its own (a backdated `--today` revives expired waivers), and waivers that cover every
    resource of every target of their check."""
    found = []
    runs = document.get("runs", [])
    for run in runs:
        today, ran = run.get("today"), str(run.get("started", ""))[:10]
        if not today or not ran or today == ran:
            continue
        which = f"run {str(run.get('id', ''))[:8]}" if len(runs) > 1 else "this run"
        effect = (
            "a waiver that expired between those dates still counted as valid"
            if today < ran
            else "a waiver that expires between those dates already counted as expired"
        )
        found.append(f"{which} judged waivers as of {today} (--today), not the day it ran ({ran}): {effect}")
    found += _config_in_target(document)
    assessed = _assessed_by_check(document)
    for entry in (document.get("waivers") or {}).get("entries", []):
        target = repr(entry["target"]) if entry.get("target") else "not set"
        selectors = f"(resource {entry.get('resource')!r}, target {target})"
        if covers_everything(entry):
            found.append(
                f"waiver {entry.get('id')} waives {entry.get('check')} for every resource of every target "
                f"{selectors}"
            )
            continue
        # A glob that happens to match everything this run assessed (`*/*` for cluster resources)
        # waives as much, here, as `*`.
        seen = assessed.get(entry.get("check", ""), set())
        if len(seen) > 1 and all(covers(entry, entry["check"], t, r) for t, r in seen):
            found.append(
                f"waiver {entry.get('id')} waives {entry.get('check')} for every resource it was assessed "
                f"on in this run ({len(seen)}) {selectors}"
            )
    return found


def _config_in_target(document: dict[str, Any]) -> list[str]:
    """A config file picked up from the working directory that lies inside a target: whoever can change
    the target (a pull request) chose the check inputs it was judged with."""
    found = []
    for run in document.get("runs", []):
        config = run.get("config") or {}
        if not config.get("implicit") or not config.get("file"):
            continue
        file = Path(config["file"])
        for target in document.get("targets", []):
            location = target.get("location")
            if target.get("run") != run.get("id") or not location:
                continue
            where = Path(location)
            # Inside a target, or beside one in the folder that holds it (a repository's root when
            # the target is its subfolder): either way the change under review can edit the file.
            if where in file.parents or file.parent in (where, *where.parents):
                found.append(
                    f"the check inputs came from {file}, found in the working directory, in or above "
                    f"target {target.get('label')}: a change to the target's repository can change them; "
                    "name the file with --config (kept outside the targets) in CI"
                )
                break
    return found


def _assessed_by_check(document: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """The (target, resource) pairs each check reported a finding on."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for result in document.get("results", []):
        pairs = seen.setdefault(result["check_id"], set())
        pairs.update((result["target"], f["resource"]) for f in result.get("findings", []))
    return seen
