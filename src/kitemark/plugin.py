"""The pytest plugin: turns ``@check`` functions in Kitemark suites into items (one check x a chunk
of scope units), collects targets once on the controller, and decides and writes everything at the
end of the session.

Workers only evaluate checks and send back raw findings. The controller (the xdist controller, or the
single process) decides everything else once: waivers, the pytest outcome each item shows, what was
planned but never ran, and the verdicts in ``results.json``.

It stays inert unless the session collects a Kitemark suites folder (one holding ``.kitemark-suites``)
or a Kitemark target option is given, so it can be installed beside any other test suite."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

from kitemark import __version__
from kitemark import results as results_doc
from kitemark.collect import collect_all, load_inventories
from kitemark.core import jsonio
from kitemark.core.catalog import MARKER, Catalogue, suites_roots
from kitemark.core.checks import CheckFn, run_on_units
from kitemark.core.config import find_config, load_config
from kitemark.core.errors import UsageError
from kitemark.core.frameworks import Framework, controls_by_check, load_frameworks, problems
from kitemark.core.kinds import Inventory, Unit
from kitemark.core.model import Check, Finding, Result, Status
from kitemark.options import RunOptions, add_pytest_options, given_targets, kinds_of, run_options
from kitemark.plan import Chunk, chunks, units_for
from kitemark.reports.failures import item_outcome
from kitemark.verdicts.selection import require_assessing_checks, select_checks
from kitemark.verdicts.waivers import Waiver, apply_waivers, check_known, load_waivers

_ITEM = "kitemark.item"
_RESULTS = "kitemark.results"
_STATE = pytest.StashKey["RunState"]()


class RunState:
    """What one process of a run knows. Workers get the shared part from the controller."""

    def __init__(self, shared: dict[str, Any]) -> None:
        self.shared = shared
        self.targets: list[dict[str, Any]] = shared["targets"]
        self.chosen: set[str] = set(shared["chosen"])
        self.inputs: dict[str, Any] = shared["inputs"]
        shard = shared.get("shard")
        self.shard: tuple[int, int] | None = (shard[0], shard[1]) if shard else None
        self._units: dict[str, list[Unit]] = {}

    @cached_property
    def inventories(self) -> list[Inventory]:
        # Loaded only where items are collected (a worker, or the single process).
        return load_inventories(self.targets)

    def chunks(self, check: Check) -> list[Chunk]:
        return chunks(self.units(check.scope))

    def units(self, scope: str) -> list[Unit]:
        """A scope's units, built once however many checks share the scope."""
        if scope not in self._units:
            self._units[scope] = units_for(scope, self.inventories, self.inputs, self.shard)
        return self._units[scope]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _suites_roots(config: pytest.Config) -> list[Path]:
    """The suites folders among (or above) the session's arguments; the installed ones otherwise."""
    found: set[Path] = set()
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        found.update(folder for folder in (path, *path.parents) if (folder / MARKER).is_file())
    return sorted(found) or suites_roots()


def _active(config: pytest.Config) -> bool:
    if given_targets(config):
        return True
    return any(
        (folder / MARKER).is_file()
        for arg in config.args
        for path in [Path(str(arg).split("::", 1)[0]).resolve()]
        for folder in (path, *path.parents)
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        shared = json.loads(config.workerinput.get("kitemark", "null") or "null")  # type: ignore[attr-defined]
        if shared:
            config.stash[_STATE] = RunState(shared)
        return
    if not _active(config):
        return
    try:
        controller = Controller.start(config)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.stash[_STATE] = controller.state
    config.pluginmanager.register(controller, "kitemark-controller")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: hand each worker what the controller decided and the inventories it saved."""
    state = node.config.stash.get(_STATE, None)
    if state is not None:
        node.workerinput["kitemark"] = json.dumps(state.shared)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Only the suites of the targets given run: ``suites/<kind>/`` is skipped without such a target."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return None
    path = collection_path.resolve()
    for folder in path.parents:
        if (folder / MARKER).is_file():
            kind = path.relative_to(folder).parts[0]
            kinds = {t["kind"] for t in state.targets}
            return True if (folder / kind).is_dir() and kind not in kinds else None
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    check: Check | None = getattr(metafunc.function, "kitemark_check", None)
    if check is None:
        return
    state = metafunc.config.stash.get(_STATE, None)
    if state is None:
        # A collection error shown as its message alone (no traceback).
        raise pytest.Collector.CollectError(
            f"{check.id}: Kitemark checks need a target: run them with `kitemark run` or from a suites folder"
        )
    found = state.chunks(check) if check.id in state.chosen else []
    metafunc.parametrize("kitemark_chunk", found, ids=[c.id for c in found])


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
        callspec = getattr(item, "callspec", None)
        chunk = callspec.params.get("kitemark_chunk") if callspec is not None else None
        if check.id not in state.chosen or not isinstance(chunk, Chunk):
            # Left out by the selection, or no unit of its scope in this shard: not in the plan.
            drop.append(item)
            continue
        meta = {"check_id": check.id, "units": [[u.target, u.id] for u in chunk.units]}
        item.user_properties.append((_ITEM, json.dumps(meta)))
        keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture
def kitemark_evaluate(request: pytest.FixtureRequest, kitemark_chunk: Chunk) -> Callable[[CheckFn], None]:
    """Evaluate the item's check over its chunk of units and send the raw findings to the controller."""
    state: RunState = request.config.stash[_STATE]
    check: Check = request.function.kitemark_check

    def evaluate(fn: CheckFn) -> None:
        results = run_on_units(check, fn, kitemark_chunk.units, state.inputs)
        payload = jsonio.dumps([r.to_dict() for r in results]).decode("utf-8")
        request.node.user_properties.append((_RESULTS, payload))

    return evaluate


class Controller:
    """Registered only in the process that writes the reports: decides each item's outcome as its
    report arrives, and builds and writes every output once at the end."""

    def __init__(
        self,
        config: pytest.Config,
        options: RunOptions,
        catalogue: Catalogue,
        frameworks: list[Framework],
        waivers: list[Waiver],
        state: RunState,
        plan: dict[str, list[tuple[str, str]]],
        config_record: dict[str, Any],
        workdir: Path,
    ) -> None:
        self.config = config
        self.options = options
        self.catalogue = catalogue
        self.frameworks = frameworks
        self.waivers = waivers
        self.state = state
        self.plan = plan
        self.config_record = config_record
        self.workdir = workdir
        self.controls = controls_by_check(frameworks, catalogue.checks)
        self.results: dict[tuple[str, str], Result] = {}
        self.document: dict[str, Any] | None = None
        self.started = results_doc.now()
        self.clock = time.monotonic()

    @classmethod
    def start(cls, config: pytest.Config) -> Controller:
        options = run_options(config)
        config_path = find_config(options.config)
        run_config = load_config(config_path)
        catalogue = Catalogue.load(_suites_roots(config))
        frameworks = load_frameworks(run_config.frameworks)
        found = problems(frameworks, catalogue.checks, builtin=False)
        if found:
            raise UsageError(found[0])
        inputs = catalogue.inputs.resolve(run_config.inputs, str(config_path or "config"))
        chosen = select_checks(
            frameworks,
            catalogue.checks,
            controls=options.controls,
            framework_ids=options.frameworks,
            min_severity=options.severity,
        )
        require_assessing_checks(chosen, catalogue.checks, kinds_of(options.specs))
        waivers = load_waivers(options.waivers) if options.waivers else []
        if options.waivers:
            check_known(waivers, set(catalogue.checks), options.waivers)
        run_id = str(uuid.uuid4())
        # Collected into a folder of this run's own; it replaces `<out>/inventory` only at the end.
        workdir = options.out / f".kitemark-run-{run_id[:8]}"
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        log = reporter.write_line if reporter else print
        for note in options.notes:
            log(f"kitemark: {note}")
        reads = _reads_by_kind(catalogue.checks, chosen)
        records, inventories = collect_all(list(options.specs), workdir / "inventory", log, reads)
        shared = {
            "run_id": run_id,
            "targets": records,
            "chosen": sorted(chosen),
            "inputs": inputs,
            "shard": list(options.shard) if options.shard else None,
            "today": options.today.isoformat(),
        }
        state = RunState(shared)
        state.inventories = inventories  # the controller already holds them
        plan = _plan(catalogue.checks, chosen, state)
        record = {**run_config.to_dict()}
        return cls(config, options, catalogue, frameworks, waivers, state, plan, record, workdir)

    # --- as reports arrive ------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if _ITEM not in props:
            return
        meta = json.loads(str(props[_ITEM]))
        if report.when == "call" and _RESULTS in props:
            found = [_decode(r) for r in jsonio.loads(str(props[_RESULTS]))]
            # The payload has been read; do not carry it into other plugins' reports.
            report.user_properties = [p for p in report.user_properties if p[0] != _RESULTS]
        elif report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            reason = _crash_reason(report)
            found = [
                Result(
                    meta["check_id"],
                    target,
                    unit,
                    [Finding(Status.ERROR, unit, f"check did not run: {reason}")],
                )
                for target, unit in meta["units"]
            ]
        else:
            return
        for result in found:
            apply_waivers(result.findings, result.check_id, result.target, self.waivers, self.options.today)
            self.results[(result.check_id, result.unit)] = result
        if report.when == "call":
            check = self.catalogue.checks[meta["check_id"]]
            item_outcome(report, check, self.controls.get(check.id, []), found)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        # `-x`, `--maxfail`, Ctrl-C: the results are partial and must say so.
        stopped = session.shouldfail or session.shouldstop
        finished = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED)
        if not stopped and exitstatus not in finished:
            stopped = f"pytest exit status {int(exitstatus)}"
        self.document = self.build(str(stopped) if stopped else None)
        publish(self.document, self.options.out, self.workdir)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.document is not None:
            from kitemark.reports.terminal import print_summary

            print_summary(self.document, terminalreporter._tw, self.options.out)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # A run that ended before it could publish leaves the previous outputs as they were.
        shutil.rmtree(self.workdir, ignore_errors=True)

    # --- the document -----------------------------------------------------------------------------

    def not_run(self, stopped: str | None) -> list[dict[str, str]]:
        selection = selection_args(self.config)
        if stopped:
            reason = f"the run stopped before it ({stopped})"
        elif selection:
            reason = f"deselected or not collected by pytest (arguments: {' '.join(selection)})"
        else:
            reason = "never collected by pytest (check the suites' pytest configuration and conftest.py)"
        return [
            {"check_id": cid, "target": target, "unit": unit, "reason": reason}
            for cid, planned in sorted(self.plan.items())
            for target, unit in planned
            if (cid, unit) not in self.results
        ]

    def build(self, stopped: str | None) -> dict[str, Any]:
        opts = self.options
        selection = selection_args(self.config)
        run = {
            "id": self.state.shared["run_id"],
            "kitemark_version": __version__,
            "started": self.started,
            "finished": results_doc.now(),
            "duration_seconds": round(time.monotonic() - self.clock, 3),
            "hostname": socket.gethostname(),
            "python": platform.python_version(),
            "pytest": pytest.__version__,
            "workers": int(getattr(self.config.option, "numprocesses", 0) or 0),
            "today": opts.today.isoformat(),
            "selection": {
                "controls": list(opts.controls),
                "frameworks": list(opts.frameworks),
                "severity": opts.severity,
                "pytest": selection,
                "checks": sorted(self.state.chosen),
                "text": selection_text(opts, selection),
            },
            "config": self.config_record,
            "inputs": self.state.inputs,
            "stopped": stopped,
            "planned": sum(len(v) for v in self.plan.values()),
            "not_run": self.not_run(stopped),
            "shard": {"index": opts.shard[0], "count": opts.shard[1]} if opts.shard else None,
            "waivers_file": str(opts.waivers) if opts.waivers else None,
            "notes": list(opts.notes),
        }
        targets = [{**t, "inventory": f"inventory/{Path(t['inventory']).name}"} for t in self.state.targets]
        checks = {cid: c.to_dict() for cid, c in sorted(self.catalogue.checks.items())}
        return results_doc.build_document(
            run=run,
            targets=targets,
            checks=checks,
            frameworks=[fw.to_dict() for fw in self.frameworks],
            results=self.results.values(),
            waivers={
                "file": str(opts.waivers) if opts.waivers else None,
                "entries": [w.to_dict(opts.today) for w in self.waivers],
            },
        )


def _reads_by_kind(checks: dict[str, Check], chosen: set[str]) -> dict[str, frozenset[str]]:
    """What each kind's collector must fetch for the chosen checks. A check that declares nothing needs
    everything, so its kind gets the empty set, which collectors read as "all"."""
    found: dict[str, set[str]] = {}
    everything: set[str] = set()
    for cid in chosen:
        check = checks[cid]
        found.setdefault(check.kind, set()).update(check.reads)
        if not check.reads:
            everything.add(check.kind)
    return {kind: frozenset() if kind in everything else frozenset(reads) for kind, reads in found.items()}


def _plan(checks: dict[str, Check], chosen: set[str], state: RunState) -> dict[str, list[tuple[str, str]]]:
    """Every (target, unit) each chosen check must report on; compared with what did report."""
    present = {str(i["kind"]) for i in state.inventories}
    return {
        cid: [(u.target, u.id) for u in state.units(checks[cid].scope)]
        for cid in sorted(chosen)
        if checks[cid].kind in present
    }


def _decode(data: dict[str, Any]) -> Result:
    return Result.from_dict(data)


def _crash_reason(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return f"{crash.message.splitlines()[0]} ({Path(crash.path).name}:{crash.lineno})"
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "unknown reason"


def selection_args(config: pytest.Config) -> list[str]:
    """pytest's own selection arguments in this session: each can leave chosen checks unrun."""
    opt = config.option
    found: list[str] = []
    if getattr(opt, "keyword", ""):
        found += ["-k", opt.keyword]
    if getattr(opt, "markexpr", ""):
        found += ["-m", opt.markexpr]
    for nodeid in getattr(opt, "deselect", None) or []:
        found += ["--deselect", nodeid]
    roots = {str(p) for p in _suites_roots(config)}
    for arg in config.args:
        if str(Path(str(arg)).resolve()) not in roots:
            found.append(str(arg))
    return found


def selection_text(options: RunOptions, pytest_args: Iterable[str]) -> str:
    parts = []
    if options.controls:
        parts.append("controls " + ", ".join(options.controls))
    if options.frameworks:
        parts.append("frameworks " + ", ".join(options.frameworks))
    if options.severity:
        parts.append(f"severity {options.severity} and above")
    if options.shard:
        parts.append(f"shard {options.shard[0]}/{options.shard[1]}")
    args = list(pytest_args)
    if args:
        parts.append("pytest " + " ".join(args))
    return "; ".join(parts) or "all checks"


def publish(document: dict[str, Any], out: Path, workdir: Path) -> None:
    """Write the reports (each atomically), then put this run's inventories in place of the last."""
    from kitemark.reports.render import render_all

    render_all(document, out)
    fresh = workdir / "inventory"
    if fresh.is_dir():
        final = out / "inventory"
        stale = workdir / "previous-inventory"
        if final.exists():
            os.replace(final, stale)
        os.replace(fresh, final)
    shutil.rmtree(workdir, ignore_errors=True)
