"""The pytest plugin: turns ``@check`` functions in Kitemark suites into items (one check x a chunk
of scope units) and wires the run's controller (``kitemark.controller``) into pytest's hooks.

Workers only evaluate checks and send back raw findings; everything else is decided once by the
controller. The plugin stays inert unless the session collects a Kitemark suites folder (one holding
``.kitemark-suites``) or a Kitemark target option is given, so it can be installed beside any other
test suite."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from kitemark.controller import ITEM, LOCAL, RESULTS, Controller
from kitemark.core import jsonio
from kitemark.core.catalog import MARKER, Catalogue, suites_roots
from kitemark.core.checks import CheckFn, run_on_units
from kitemark.core.errors import UsageError
from kitemark.core.model import Check
from kitemark.options import add_pytest_options, given_targets
from kitemark.plan import Chunk
from kitemark.reports.safe_text import for_terminal
from kitemark.runstate import RunState, await_shared

_STATE = pytest.StashKey[RunState]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_pytest_options(parser)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _suites_in_args(config: pytest.Config) -> list[Path]:
    found: set[Path] = set()
    for arg in config.args:
        path = Path(str(arg).split("::", 1)[0]).resolve()
        found.update(folder for folder in (path, *path.parents) if (folder / MARKER).is_file())
    return sorted(found)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        workdir = json.loads(config.workerinput.get("kitemark", "null") or "null")  # type: ignore[attr-defined]
        if workdir:
            # Import the checks while the controller is still collecting: pytest will find them loaded.
            Catalogue.load(_suites_in_args(config) or suites_roots())
            shared = await_shared(Path(workdir))
            if shared is None:  # the run ended while collecting; the controller reports why
                os._exit(0)
            config.stash[_STATE] = RunState(shared)
        return
    if not (given_targets(config) or _suites_in_args(config)):
        return
    if int(getattr(config.option, "numprocesses", 0) or 0) > 0:
        _refuse_bad_arguments(config)
    try:
        controller = Controller(config, _suites_in_args(config) or suites_roots())
    except UsageError as exc:
        raise pytest.UsageError(for_terminal(exc)) from None
    config.pluginmanager.register(ControllerHooks(controller), "kitemark-controller")


def _refuse_bad_arguments(config: pytest.Config) -> None:
    """Under xdist only the workers collect, and a bad `-k`/`-m` or path there ends the session as an
    internal error after the controller has set out to publish: check them here first, as pytest
    does in process, so a usage error leaves the last reports as they were."""
    try:
        from _pytest.mark.expression import Expression
    except ImportError:  # pytest moved it: the workers will still refuse a bad expression
        Expression = None  # type: ignore[assignment,misc]
    for option, flag in (("keyword", "-k"), ("markexpr", "-m")):
        expr = getattr(config.option, option, "") or ""
        if expr and Expression is not None:
            try:
                Expression.compile(expr)
            except SyntaxError as exc:
                raise pytest.UsageError(
                    f"Wrong expression passed to '{flag}': {exc.text}: at column {exc.offset}: {exc.msg}"
                ) from None
    here = config.invocation_params.dir
    for arg in config.args:
        path = str(arg).split("::", 1)[0]
        if not (here / path).exists():
            raise pytest.UsageError(f"file or directory not found: {arg}")


@pytest.hookimpl(optionalhook=True, tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """`-n auto`: workers only when the checks' work pays for starting them (kitemark.workers)."""
    if not (given_targets(config) or _suites_in_args(config)):
        return None  # not a Kitemark session: xdist's own choice
    from kitemark.workers import auto_workers

    return auto_workers(config)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: tell each worker where the controller will publish the run (it waits for it there)."""
    hooks = node.config.pluginmanager.get_plugin("kitemark-controller")
    if hooks is not None:
        node.workerinput["kitemark"] = json.dumps(str(hooks.controller.workdir))


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Only the suites of the targets given run: ``suites/<kind>/`` is skipped without such a target."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return None
    path = collection_path.resolve()
    for folder in path.parents:
        if (folder / MARKER).is_file():
            kind = path.relative_to(folder).parts[0]
            return True if (folder / kind).is_dir() and kind not in state.kinds() else None
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
        item.user_properties.append((ITEM, json.dumps(meta)))
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
        found = [r.to_dict() for r in run_on_units(check, fn, kitemark_chunk.units, state.inputs)]
        if _is_worker(request.config):
            request.node.user_properties.append((RESULTS, jsonio.dumps(found).decode("utf-8")))
        else:  # the controller is this process: no need to write and read back JSON
            state.local_results[request.node.nodeid] = found
            request.node.user_properties.append((RESULTS, LOCAL))

    return evaluate


class ControllerHooks:
    """The controller's hooks, registered only in the process that writes the reports."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller

    @pytest.hookimpl(wrapper=True)
    def pytest_sessionstart(self, session: pytest.Session) -> Generator[None, None, None]:
        # After every other sessionstart: xdist has started its workers, which get ready meanwhile.
        yield
        parallel = int(getattr(session.config.option, "numprocesses", 0) or 0) > 0
        try:
            state = self.controller.collect(parallel)
        except UsageError as exc:
            raise pytest.UsageError(for_terminal(exc)) from None
        session.config.stash[_STATE] = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.controller.receive(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.controller.finish(session, exitstatus)
        document = self.controller.document
        unwritten = self.controller.publish_error is not None
        failing = document is not None and (unwritten or not document["summary"]["compliant"])
        if failing and session.exitstatus == 0:
            # Plain pytest: every item may have passed while the run was incomplete (`-k`), or its
            # reports could not be written: CI must fail.
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        document = self.controller.document
        if self.controller.publish_error is not None:
            terminalreporter.write_line(f"kitemark: error: {self.controller.publish_error}", red=True)
        elif document is not None:
            from kitemark.reports.terminal import print_summary

            print_summary(
                document, terminalreporter._tw, self.controller.options.out, self.controller.report_seconds
            )

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # A run that ended before it could publish leaves the previous outputs as they were.
        self.controller.cleanup()
