"""The pytest plugin: turns `@check` functions in Kitemark suites into one item per check x scope unit,
collects targets once on the controller, and writes the reports at the end of the session.

It stays inert unless the session collects a Kitemark suites folder (one holding `.kitemark-suites`)
or a Kitemark target option is given, so it can be installed beside any other test suite."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import socket
import time
import uuid
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from kitemark import results as results_doc
from kitemark.collect import collect_all, git_commit, load_inventories
from kitemark.core import resources
from kitemark.core.catalog import load_checks
from kitemark.core.errors import UsageError
from kitemark.core.frameworks import controls_by_check, load_frameworks, selected_checks
from kitemark.core.kinds import Inventory, NothingInScope, Unit, scope_units, searched
from kitemark.core.model import SUITES, Check, Finding, ItemResult, Status
from kitemark.options import RunOptions, add_options, run_options
from kitemark.verdicts.waivers import Waiver, apply_waivers, check_known, load_waivers

MARKER = ".kitemark-suites"
_ITEM = "kitemark.item"
_FINDINGS = "kitemark.findings"
_STATE = pytest.StashKey["KitemarkState"]()


class KitemarkState:
    """Everything one process of a run knows: options, inventories, waivers, and (controller) results."""

    def __init__(
        self, options: RunOptions, targets: list[dict[str, Any]], waivers: list[Waiver], chosen: set[str]
    ) -> None:
        self.options = options
        self.targets = targets
        self.waivers = waivers
        self.chosen = chosen  # check ids the selection keeps, decided once on the controller
        self.items: dict[str, ItemResult] = {}
        self.catalogue: dict[str, Check] = {}  # controller only: every check's metadata
        self.started = results_doc.now()
        self.started_clock = time.monotonic()
        self.run_id = str(uuid.uuid4())

    @cached_property
    def inventories(self) -> list[Inventory]:
        # Loaded only where items are collected (a worker, or the single process), not on the controller.
        return load_inventories(self.targets)

    def units(self, scope: str) -> list[Unit]:
        units = scope_units(scope, self.inventories)
        kind, _, name = scope.partition(".")
        # A target with nothing in scope still gets an item, so the report shows it was looked at.
        covered = {u.target for u in units}
        empty = [
            Unit(f"{inv['target']}/no-{name}", inv["target"], NothingInScope(scope, searched(inv)))
            for inv in self.inventories
            if inv["kind"] == kind and inv["target"] not in covered
        ]
        return units + empty


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _active(config: pytest.Config) -> bool:
    opt = config.option
    if any(
        [
            opt.kitemark_cluster,
            opt.kitemark_terraform,
            opt.kitemark_policies,
            opt.kitemark_aws_endpoint,
            opt.kitemark_aws_profile,
            opt.kitemark_aws_seed,
        ]
    ):
        return True
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        if any((folder / MARKER).is_file() for folder in (path, *path.parents)):
            return True
    return False


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        shared = json.loads(config.workerinput.get("kitemark", "null") or "null")  # type: ignore[attr-defined]
        if shared:
            config.stash[_STATE] = _worker_state(config, shared)
        return
    if not _active(config):
        return
    try:
        options = run_options(config)
        _clear_reports(options.out)
        catalogue = _catalogue(config)
        chosen = _chosen_checks(options, catalogue)
        waivers = load_waivers(options.waivers) if options.waivers else []
        if options.waivers:
            check_known(waivers, set(catalogue), options.waivers)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        log = reporter.write_line if reporter else print
        targets = collect_all(list(options.specs), options.out / "inventory", log)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    state = KitemarkState(options, targets, waivers, chosen)
    state.catalogue = catalogue
    config.stash[_STATE] = state
    config.pluginmanager.register(Controller(config, state), "kitemark-controller")


def _suites_roots(config: pytest.Config) -> list[Path]:
    roots: set[Path] = set()
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        roots.update(folder for folder in (path, *path.parents) if (folder / MARKER).is_file())
    return sorted(roots) or [resources.suites_dir()]


def _catalogue(config: pytest.Config) -> dict[str, Check]:
    """Every check of the suites in this session (the controller imports them only for metadata)."""
    catalogue: dict[str, Check] = {}
    for root in _suites_roots(config):
        catalogue.update(load_checks(root))
    return catalogue


def _chosen_checks(options: RunOptions, catalogue: dict[str, Check]) -> set[str]:
    chosen = selected_checks(
        load_frameworks(),
        catalogue,
        controls=options.controls,
        framework_ids=options.frameworks,
        min_severity=options.severity,
    )
    # Input checks always run: a selection must never hide that the evidence was incomplete.
    chosen |= {cid for cid in catalogue if "-INPUT-" in cid}
    kinds = {spec.kind for spec in options.specs}
    if not {cid for cid in chosen if catalogue[cid].suite in kinds and "-INPUT-" not in cid}:
        raise UsageError(f"the selection matches no check of the given targets ({', '.join(sorted(kinds))})")
    return chosen


def _clear_reports(out: Path) -> None:
    """An earlier run's reports must never be mistaken for this run's if this one stops early."""
    from kitemark.reports.render import HTML, JUNIT, RESULTS

    for name in (RESULTS, JUNIT, HTML):
        (out / name).unlink(missing_ok=True)


def _worker_state(config: pytest.Config, shared: dict[str, Any]) -> KitemarkState:
    options = replace(run_options(config), today=dt.date.fromisoformat(shared["today"]))
    waivers = load_waivers(options.waivers) if options.waivers else []
    return KitemarkState(options, shared["targets"], waivers, set(shared["chosen"]))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker the inventories the controller collected, never the live target."""
    state = node.config.stash.get(_STATE, None)
    if state is not None:
        shared = {
            "targets": state.targets,
            "chosen": sorted(state.chosen),
            "today": state.options.today.isoformat(),
        }
        node.workerinput["kitemark"] = json.dumps(shared)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Only the suites of the targets given run: anything under `suites/<kind>/` is skipped when the
    run has no target of that kind."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return None
    path = collection_path.resolve()
    for folder in path.parents:
        if (folder / MARKER).is_file():
            kind = path.relative_to(folder).parts[0]
            if kind in SUITES and kind not in {t["kind"] for t in state.targets}:
                return True
            return None
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    check = getattr(metafunc.function, "kitemark_check", None)
    if check is None:
        return
    state = metafunc.config.stash.get(_STATE, None)
    if state is None:
        # A collection error shown as its message alone (no traceback).
        raise pytest.Collector.CollectError(
            f"{check.id}: Kitemark checks need a target: run them with `kitemark run` or from a suites folder"
        )
    units = state.units(check.scope)
    metafunc.parametrize("kitemark_unit", units, ids=[u.id for u in units])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    keep, drop = [], []
    for item in items:
        check = getattr(getattr(item, "function", None), "kitemark_check", None)
        if check is None:
            keep.append(item)
            continue
        if check.id not in state.chosen:
            drop.append(item)
            continue
        unit: Unit = item.callspec.params["kitemark_unit"]  # type: ignore[attr-defined]
        meta = {"check_id": check.id, "target": unit.target, "unit": unit.id}
        item.user_properties.append((_ITEM, json.dumps(meta)))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def kitemark_record(request: pytest.FixtureRequest) -> Any:
    """Record a check's findings on the report (after waivers) and give the item its pytest outcome."""
    state: KitemarkState = request.config.stash[_STATE]
    check = request.function.kitemark_check
    unit: Unit = request.getfixturevalue("kitemark_unit")

    def record(findings: list[Finding]) -> None:
        apply_waivers(findings, check.id, unit.target, state.waivers, state.options.today)
        request.node.user_properties.append(
            (_FINDINGS, json.dumps([f.to_dict() for f in findings], default=str))
        )
        item = ItemResult(check.id, unit.target, unit.id, findings)
        _set_outcome(item, check)

    return record


def _first_sentence(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    sentence = flat.split(". ", 1)[0].rstrip(".:") + "."
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def _set_outcome(item: ItemResult, check: Check) -> None:
    """The pytest outcome, with what a reviewer reading the terminal needs: the check, each finding with
    its location, and how to fix it (the full remediation is in compliance.html)."""
    status = item.status
    lines = [
        f"{f.status.value.upper()} {f.resource}"
        + (f" ({f.location})" if f.location else "")
        + f": {f.message}"
        for f in item.findings
        if f.status in (Status.FAILED, Status.ERROR, Status.WAIVED)
    ]
    header = f"{check.id} {check.title} [{check.severity.value}; {', '.join(check.controls)}]"
    footer = f"fix: {_first_sentence(check.remediation)} (more: compliance.html#check-{check.id})"
    if status is Status.FAILED:
        pytest.fail("\n".join([header, *lines, footer]), pytrace=False)
    if status is Status.ERROR:
        pytest.fail("\n".join([header, "could not assess:", *lines]), pytrace=False)
    if status is Status.WAIVED:
        pytest.xfail("\n".join(lines))
    if status is Status.NOT_APPLICABLE:
        pytest.skip("; ".join(f.message for f in item.findings))


class Controller:
    """Registered only in the process that writes the reports (the xdist controller, or the single
    process): gathers every item's findings from the reports and renders the outputs once."""

    def __init__(self, config: pytest.Config, state: KitemarkState) -> None:
        self.config = config
        self.state = state
        self.document: dict[str, Any] | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if _ITEM not in props:
            return
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            meta = json.loads(str(props[_ITEM]))
            self.state.items[report.nodeid] = _item_result(meta, props, report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # `-x`, `--maxfail`, Ctrl-C: the results are partial and must say so.
        stopped = session.shouldfail or session.shouldstop
        if not stopped and exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            stopped = f"pytest exit status {int(exitstatus)}"
        self.document = build_results(self.config, self.state, stopped=str(stopped) if stopped else None)
        write_reports(self.document, self.state.options.out)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.document is not None:
            from kitemark.reports.terminal import print_summary

            print_summary(self.document, terminalreporter._tw, self.state.options.out)


def _item_result(meta: dict[str, Any], props: dict[str, Any], report: pytest.TestReport) -> ItemResult:
    item = ItemResult(meta["check_id"], meta["target"], meta["unit"], duration=report.duration)
    if _FINDINGS in props:
        item.findings = [Finding.from_dict(f) for f in json.loads(props[_FINDINGS])]
    elif report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        item.findings = [Finding(Status.NOT_APPLICABLE, meta["unit"], reason)]
    else:
        # The check never ran to completion (fixture error, interrupted): could not assess.
        reason = _crash_reason(report)
        item.findings = [Finding(Status.ERROR, meta["unit"], f"check did not run: {reason}")]
    return item


def _crash_reason(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return f"{crash.message.splitlines()[0]} ({Path(crash.path).name}:{crash.lineno})"
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "unknown reason"


def build_results(config: pytest.Config, state: KitemarkState, stopped: str | None = None) -> dict[str, Any]:
    frameworks = load_frameworks()
    # Every check of the suites, run or not: the report shows what a requirement lacked in this run.
    checks = state.catalogue
    controls = controls_by_check(frameworks, checks)
    check_docs = {cid: {**checks[cid].to_dict(), "controls": controls[cid]} for cid in sorted(checks)}
    out = state.options.out.resolve()
    targets = []
    for record in state.targets:
        inventory = Path(record["inventory"]).resolve()
        rel = os.path.relpath(inventory, out) if inventory.is_relative_to(out) else str(inventory)
        targets.append({**record, "inventory": rel})
    commits = []
    for record in state.targets:
        if record["kind"] == "policies":
            found = git_commit(record["location"])
            if found:
                commits.append({"target": record["label"], **found})
    opts = state.options
    run = {
        "id": state.run_id,
        "started": state.started,
        "finished": results_doc.now(),
        "duration_seconds": round(time.monotonic() - state.started_clock, 3),
        "hostname": socket.gethostname(),
        "python": platform.python_version(),
        "pytest": pytest.__version__,
        "workers": int(getattr(config.option, "numprocesses", 0) or 0),
        "selection": {
            "controls": list(opts.controls),
            "frameworks": list(opts.frameworks),
            "severity": opts.severity,
        },
        "policies_commit": commits,
        "complete": stopped is None,
        "stopped": stopped,
    }
    return results_doc.build_document(
        run=run,
        targets=targets,
        checks=check_docs,
        frameworks=[fw.to_dict() for fw in frameworks],
        items=state.items.values(),
        waivers_file=str(opts.waivers) if opts.waivers else None,
        waivers=[w.to_dict(opts.today) for w in state.waivers],
    )


def write_reports(document: dict[str, Any], out: Path) -> None:
    from kitemark.reports.render import render_all

    render_all(document, out)
