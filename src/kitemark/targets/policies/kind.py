"""The policies target kind: ``--policies [NAME=]DIR`` (Rego unit tests and Gatekeeper suites)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core import resources
from kitemark.core.kinds import Inventory, KindOption, ScopeFn, TargetKind, TargetSpec, directory_specs
from kitemark.targets.policies import collect as policies
from kitemark.targets.policies.gatekeeper_units import gatekeeper_case_units
from kitemark.targets.policies.rego_units import rego_test_units


class PoliciesKind(TargetKind):
    name = "policies"
    title = "Rego policies"
    options = (
        KindOption(
            "policies",
            "Rego policies: runs every *_test.rego test and every Gatekeeper suite.yaml case",
            metavar="[NAME=]DIR",
            repeatable=True,
        ),
    )

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        return {
            "rego-test": lambda inventory, inputs: rego_test_units(inventory),
            "gatekeeper-case": lambda inventory, inputs: gatekeeper_case_units(inventory),
        }

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        return directory_specs(self.name, values.get("policies") or [])

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        return policies.collect(spec)

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


KIND = PoliciesKind()
