"""The controller of a run (the xdist controller, or the single process): it decides everything once.

- ``prepare`` (pytest_configure): options, config file, catalogue, frameworks, inputs, the selection
  and waivers, every one a usage error before anything is collected;
- ``collect`` (after xdist has started its workers, so their start-up overlaps collection): every
  target once, saved as evidence, then handed to the workers;
- as each item's report arrives: waivers applied to its raw findings, and the pytest outcome the
  terminal shows decided from them;
- at the end: what was planned but never ran, the results document with every verdict, and the
  outputs, each replaced atomically and only by a run that produced new ones (``kitemark.outfolder``).
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import inspect
import platform
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from kitemark import __version__
from kitemark import results as results_doc
from kitemark.collect import collect_all
from kitemark.core import jsonio, resources
from kitemark.core.catalog import Catalogue
from kitemark.core.checks import check_function
from kitemark.core.config import find_config, load_config
from kitemark.core.errors import UsageError
from kitemark.core.frameworks import controls_by_check, load_frameworks, problems
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Check, Finding, Result, Status
from kitemark.engines.rego_process import BUDGET as REGO_BUDGET
from kitemark.options import RunOptions, kinds_of, run_options
from kitemark.outfolder import INVENTORY, OutFolder, PublishError, report_names
from kitemark.reports.failures import item_outcome
from kitemark.reports.safe_text import for_terminal
from kitemark.runstate import RunState, publish_shared
from kitemark.verdicts.selection import require_assessing_checks, select_checks
from kitemark.verdicts.waivers import Waiver, apply_waivers, check_known, load_waivers

ITEM = "kitemark.item"
RESULTS = "kitemark.results"
LOCAL = "local"  # the RESULTS property of an item run in this process: its results wait in RunState


class Controller:
    def __init__(self, config: pytest.Config, suites: list[Path]) -> None:
        self.config = config
        self.options: RunOptions = run_options(config)
        config_path = find_config(self.options.config)
        run_config = load_config(config_path, implicit=not self.options.config)
        self.config_record = run_config.to_dict()
        self.catalogue = Catalogue.load(suites)
        self.frameworks = load_frameworks(run_config.frameworks)
        found = problems(self.frameworks, self.catalogue.checks, builtin=False)
        if found:
            raise UsageError(found[0])
        self.inputs = self.catalogue.inputs.resolve(run_config.inputs, str(config_path or "config"))
        opts = self.options
        self.chosen = select_checks(
            self.frameworks,
            self.catalogue.checks,
            controls=opts.controls,
            framework_ids=opts.frameworks,
            min_severity=opts.severity,
        )
        require_assessing_checks(self.chosen, self.catalogue.checks, kinds_of(opts.specs))
        if opts.demo:
            self.options = opts = _demo_for_selection(opts, self.chosen, self.catalogue.checks)
        self.waivers: list[Waiver] = load_waivers(opts.waivers) if opts.waivers else []
        if opts.waivers:
            check_known(self.waivers, set(self.catalogue.checks), opts.waivers)
        self.run_id = str(uuid.uuid4())
        self.controls = controls_by_check(self.frameworks, self.catalogue.checks)
        self.state: RunState | None = None
        self.plan: dict[str, list[tuple[str, str]]] | None = None
        self._planner: threading.Thread | None = None
        self.results: dict[tuple[str, str], dict[str, Any]] = {}
        self.document: dict[str, Any] | None = None
        self.timings: dict[str, float] = {}  # seconds per phase, kept in results.json
        self._evaluating = time.monotonic()
        self.report_seconds = 0.0
        self.started = results_doc.now()
        self.clock = time.monotonic()
        self.publish_error: str | None = None
        # Last, so nothing after it can fail while the folder is locked: the lock is released by cleanup.
        self.out = OutFolder.open(opts.out, targets=target_paths(opts.specs), writes=run_writes(opts.specs))
        resources.own_output(opts.out)
        try:
            # This run's own folder: inventories are collected here and put in `<out>/inventory` only
            # at the end; workers wait here for the controller's go.
            self.workdir = self.out.run_folder(self.run_id)
        except OSError as exc:
            self.out.close()
            raise UsageError(f"--out {opts.out}: cannot write there ({exc.strerror or exc})") from None

    # --- collection -------------------------------------------------------------------------------

    def log(self, line: str) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        (reporter.write_line if reporter else print)(for_terminal(line))

    def collect(self, parallel: bool) -> RunState:
        """Collect every target once and hand the workers the saved inventories."""
        for note in (*self.options.notes, *self.out.notes):
            self.log(f"kitemark: {note}")
        started = time.monotonic()
        REGO_BUDGET.reset()  # the run's Rego budget starts here (this process's; workers have their own)
        try:
            reads = _reads_by_kind(self.catalogue.checks, self.chosen)
            known = _reads_by_kind(self.catalogue.checks, set(self.catalogue.checks))
            try:
                records, inventories = collect_all(
                    list(self.options.specs), self.workdir / "inventory", self.log, reads, self.inputs, known
                )
            except OSError as exc:
                if not str(exc.filename or "").startswith(str(self.workdir)):
                    raise
                # Saving an inventory (a full disk): the run cannot go on, and the last reports stay.
                raise UsageError(
                    f"--out {self.options.out}: cannot save the inventories ({exc.strerror or exc}); "
                    "the previous reports are unchanged"
                ) from None
        except UsageError as exc:
            publish_shared(self.workdir, None, str(exc))
            raise
        shared = {
            "run_id": self.run_id,
            "targets": records,
            "chosen": sorted(self.chosen),
            "inputs": self.inputs,
            "shard": list(self.options.shard) if self.options.shard else None,
            "workers": int(getattr(self.config.option, "numprocesses", 0) or 0),
        }
        self.state = state = RunState(shared)
        state.inventories = inventories  # already in memory here
        publish_shared(self.workdir, shared)
        self.timings["collect"] = time.monotonic() - started
        self._evaluating = time.monotonic()
        if parallel:  # the controller is idle while workers run: plan meanwhile
            self._planner = threading.Thread(target=self._make_plan, name="kitemark-plan", daemon=True)
            self._planner.start()
        return state

    def _make_plan(self) -> None:
        """Every (target, unit) each chosen check must report on; compared with what did report."""
        assert self.state is not None
        kinds = self.state.kinds()
        checks = self.catalogue.checks
        self.plan = {
            cid: [(u.target, u.id) for u in self.state.units(checks[cid].scope)]
            for cid in sorted(self.chosen)
            if checks[cid].kind in kinds
        }

    # --- as reports arrive ------------------------------------------------------------------------

    def receive(self, report: pytest.TestReport) -> None:
        props = dict(report.user_properties)
        if ITEM in props:
            meta = jsonio.loads(str(props[ITEM]))
        elif report.failed and report.when not in ("setup", "call", "teardown"):
            # An xdist worker died running the item (xdist's own report carries none of ours).
            found_meta = self._meta_of(report.nodeid)
            if found_meta is None:
                return
            meta = found_meta
        else:
            return
        if report.when == "call" and RESULTS in props:
            found = self._payload(report.nodeid, str(props[RESULTS]))
            # The payload has been read; do not carry it into other plugins' reports.
            report.user_properties = [p for p in report.user_properties if p[0] != RESULTS]
        elif report.when != "teardown" and (report.when == "call" or report.outcome != "passed"):
            reason = _crash_reason(report)
            found = [
                Result(
                    meta["check_id"],
                    target,
                    unit,
                    [Finding(Status.ERROR, unit, f"check did not run: {reason}")],
                ).to_dict()
                for target, unit in meta["units"]
            ]
        else:
            return
        for data in found:
            apply_waivers(
                data["findings"], data["check_id"], data["target"], self.waivers, self.options.today
            )
            self.results[(data["check_id"], data["unit"])] = results_doc.stamp(data, self.run_id)
        # Results live until the end: out of the collector's sight, so its passes stay short as they grow.
        gc.freeze()
        # A worker that died has no "call" report: its crash report then names the check and units.
        if report.when not in ("setup", "teardown"):
            check = self.catalogue.checks[meta["check_id"]]
            item_outcome(report, check, self.controls.get(check.id, []), found)

    def _payload(self, nodeid: str, payload: str) -> list[dict[str, Any]]:
        """An item's results as ``Result.to_dict`` gives them: from the process-local hand-over when the
        item ran here, else decoded from the JSON a worker sent."""
        if payload == LOCAL and self.state is not None:
            return self.state.local_results.pop(nodeid)
        found: list[dict[str, Any]] = jsonio.loads(payload)
        return found

    def _meta_of(self, nodeid: str) -> dict[str, Any] | None:
        """The check and units of the item ``nodeid`` names (``<module>::<function>[<chunk id>]``)."""
        if self.state is None:
            return None
        path, _, rest = nodeid.partition("::")
        function, _, param = rest.partition("[")
        for cid in self.chosen:
            fn = check_function(cid)
            if fn.__name__ == function and (inspect.getsourcefile(fn) or "").endswith(path):
                for chunk in self.state.chunks(self.catalogue.checks[cid]):
                    if chunk.id == param.removesuffix("]"):
                        return {"check_id": cid, "units": [[u.target, u.id] for u in chunk.units]}
        return None

    # --- the end ----------------------------------------------------------------------------------

    def finish(self, session: pytest.Session, exitstatus: int) -> None:
        if (
            self.state is None
            or session.config.option.collectonly
            or exitstatus == pytest.ExitCode.USAGE_ERROR
        ):
            # Nothing was assessed (collection never finished, or --collect-only): the last outputs stay.
            return
        # `-x`, `--maxfail`, Ctrl-C: the results are partial and must say so.
        stopped = session.shouldfail or session.shouldstop
        finished = (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED, pytest.ExitCode.NO_TESTS_COLLECTED)
        if not stopped and exitstatus not in finished:
            stopped = f"pytest exit status {int(exitstatus)}"
        self.timings["evaluate"] = time.monotonic() - self._evaluating
        if self._planner is not None:
            self._planner.join()
        if self.plan is None:
            self._make_plan()
        self.timings["units"] = self.state.unit_seconds
        started = time.monotonic()
        self.document = self.build(str(stopped) if stopped else None)
        from kitemark.reports.render import render_outputs

        try:
            self.out.publish(
                render_outputs(self.document),
                self.workdir,
                command="run",
                run_ids=[self.run_id],
                inventories=self.workdir / "inventory",
            )
        except PublishError as exc:
            self.publish_error = str(exc)
        # Known only once written, so printed in the terminal summary and not kept in results.json.
        self.report_seconds = time.monotonic() - started

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.out.close()

    def not_run(self, stopped: str | None) -> list[dict[str, str]]:
        selection = selection_args(self.config, self.catalogue)
        if stopped:
            reason = f"the run stopped before it ({stopped})"
        elif selection:
            reason = f"deselected or not collected by pytest (arguments: {' '.join(selection)})"
        else:
            reason = "never collected by pytest (check the suites' pytest configuration and conftest.py)"
        return [
            {"check_id": cid, "target": target, "unit": unit, "reason": reason}
            for cid, planned in sorted((self.plan or {}).items())
            for target, unit in planned
            if (cid, unit) not in self.results
        ]

    def shard_record(self, selection: list[str]) -> dict[str, Any] | None:
        """This shard's index, and the signature its sibling shards must share: the same targets as
        collected (their inventories' digests), checks, pytest selection and inputs. `kitemark merge`
        refuses shards whose signatures differ: their union would be no one run."""
        if not self.options.shard or self.state is None:
            return None
        signature = {
            "targets": sorted([t["label"], t["inventory_sha256"]] for t in self.state.targets),
            "checks": sorted(self.chosen),
            "pytest": selection,
            "inputs": self.inputs,
            "count": self.options.shard[1],
        }
        digest = hashlib.sha256(jsonio.dumps(signature, sort_keys=True)).hexdigest()
        return {"index": self.options.shard[0], "count": self.options.shard[1], "signature": digest}

    def build(self, stopped: str | None) -> dict[str, Any]:
        assert self.state is not None
        opts = self.options
        selection = selection_args(self.config, self.catalogue)
        run = {
            "id": self.run_id,
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
                "checks": sorted(self.chosen),
                "text": selection_text(opts, selection),
            },
            "config": self.config_record,
            "inputs": self.inputs,
            "stopped": stopped,
            "planned": sum(len(v) for v in (self.plan or {}).values()),
            "not_run": self.not_run(stopped),
            "shard": self.shard_record(selection),
            "waivers_file": str(opts.waivers) if opts.waivers else None,
            "notes": list(opts.notes),
            "timings": {name: round(seconds, 3) for name, seconds in self.timings.items()},
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


def target_paths(specs: Iterable[TargetSpec]) -> list[tuple[str, Path]]:
    """The files and folders a run reads its targets from: no report may go there."""
    return [
        (spec.label, Path(value))
        for spec in specs
        for value in (spec.location, spec.options.get("seed"))
        if isinstance(value, str) and value
    ]


def run_writes(specs: Iterable[TargetSpec]) -> list[str]:
    """The files a run writes in ``--out`` (names relative to it)."""
    return [*report_names(), *(f"{INVENTORY}/{spec.kind}-{spec.name}.json" for spec in specs)]


def _demo_for_selection(options: RunOptions, chosen: set[str], checks: dict[str, Check]) -> RunOptions:
    """The demo collects only the parts the selection has checks for (its AWS account costs seconds);
    a target the user names is always collected, and is incomplete if nothing assesses it."""
    kinds = {checks[cid].kind for cid in chosen if not checks[cid].input_check}
    left = sorted({spec.kind for spec in options.specs} - kinds)
    notes = [
        f"the demo's {kind} part is not collected: the selection keeps none of its checks" for kind in left
    ]
    specs = tuple(spec for spec in options.specs if spec.kind in kinds)
    return dataclasses.replace(options, specs=specs, notes=(*options.notes, *notes))


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


def _crash_reason(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None and crash.message:
        return f"{crash.message.splitlines()[0]} ({Path(crash.path).name}:{crash.lineno})"
    lines = str(report.longrepr).strip().splitlines()
    return lines[-1] if lines else "unknown reason"


def selection_args(config: pytest.Config, catalogue: Catalogue) -> list[str]:
    """pytest's own selection arguments in this session: each can leave chosen checks unrun."""
    opt = config.option
    found: list[str] = []
    if getattr(opt, "keyword", ""):
        found += ["-k", opt.keyword]
    if getattr(opt, "markexpr", ""):
        found += ["-m", opt.markexpr]
    for nodeid in getattr(opt, "deselect", None) or []:
        found += ["--deselect", nodeid]
    roots = {str(p.resolve()) for p in catalogue.roots}
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
