"""The policies target kind: ``--policies [NAME=]DIR`` (Rego unit tests and Gatekeeper suites).

The collector and the engines (regorus) are imported when they are first needed, so loading the kind
registry (every pytest session with Kitemark installed does) costs neither."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.kinds import Inventory, KindOption, ScopeFn, TargetKind, TargetSpec, directory_specs
from kitemark.engines.rego_process import DEFAULT_BUDGET, DEFAULT_MEMORY_MIB, DEFAULT_TIMEOUT


class PoliciesKind(TargetKind):
    name = "policies"
    title = "Rego policies"
    options = (
        KindOption(
            "policies",
            "a folder of Rego: runs every *_test.rego test and every Gatekeeper suite.yaml case",
            metavar="[NAME=]DIR",
            repeatable=True,
        ),
        KindOption(
            "rego-timeout",
            f"wall-clock limit of one Rego parse or evaluation, in seconds (default: {DEFAULT_TIMEOUT:g}); "
            "one over it is an error naming the policy",
            metavar="SECONDS",
        ),
        KindOption(
            "rego-memory",
            f"memory limit of the Rego evaluator process, in MiB (default: {DEFAULT_MEMORY_MIB})",
            metavar="MIB",
        ),
        KindOption(
            "rego-budget",
            "wall-clock budget of all Rego parses and evaluations of the run, in seconds, per process "
            f"(each -n worker has its own; default: {DEFAULT_BUDGET:g}, 0 for none); once spent, every "
            "further evaluation is an error naming it",
            metavar="SECONDS",
        ),
    )

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        from kitemark.targets.policies.gatekeeper_units import gatekeeper_case_units
        from kitemark.targets.policies.rego_units import rego_test_units

        return {"rego-test": rego_test_units, "gatekeeper-case": gatekeeper_case_units}

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        specs = directory_specs(self.name, values.get("policies") or [])
        limits = _limits(values)
        if limits and not specs:
            given = " and ".join(f"--{name}" for name in LIMIT_OPTIONS if values.get(name) is not None)
            raise UsageError(f"{given} needs --policies")
        # The limits travel in the engine settings, which the inventory carries to every worker.
        if not limits:
            return specs
        return [dataclasses.replace(s, options={**s.options, "engine": limits}) for s in specs]

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        from kitemark.targets.policies import collect as policies

        return policies.collect(spec, reads)

    def demo_specs(self, demo: Path) -> list[TargetSpec]:
        return [
            TargetSpec(self.name, "kitemark", str(resources.policies_dir())),
            TargetSpec(self.name, "demo", str(demo / "policies")),
        ]

    def describe(self, inventory: Inventory) -> dict[str, Any]:
        return {
            "rego_files": len(inventory.get("rego_files") or []),
            "suites": len(inventory.get("suites") or []),
        }


LIMIT_OPTIONS = ("rego-timeout", "rego-memory", "rego-budget")


def _seconds(value: Any) -> float:
    try:
        seconds = float(value)
    except ValueError:
        return math.nan
    return seconds if math.isfinite(seconds) else math.nan


def _limits(values: Mapping[str, Any]) -> dict[str, Any]:
    """``--rego-timeout``, ``--rego-memory`` and ``--rego-budget`` as engine settings (``timeout``,
    ``memory``, ``budget``)."""
    limits: dict[str, Any] = {}
    timeout, memory, budget = (values.get(name) for name in LIMIT_OPTIONS)
    if timeout is not None:
        if not _seconds(timeout) > 0:
            raise UsageError(f"--rego-timeout {timeout}: expected a number of seconds greater than 0")
        limits["timeout"] = _seconds(timeout)
    if budget is not None:
        if not _seconds(budget) >= 0:
            raise UsageError(f"--rego-budget {budget}: expected a number of seconds, 0 for none")
        limits["budget"] = _seconds(budget)
    if memory is not None:
        # Below ~100 MiB the evaluator cannot even start (Python and regorus need their own space).
        if not (str(memory).isdigit() and int(memory) >= 256):
            raise UsageError(f"--rego-memory {memory}: expected a whole number of MiB, at least 256")
        limits["memory"] = int(memory)
    return limits


KIND = PoliciesKind()
