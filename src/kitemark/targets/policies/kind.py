"""The policies target kind: ``--policies [NAME=]DIR`` (Rego unit tests and Gatekeeper suites).

The collector and the engines (regorus) are imported when they are first needed, so loading the kind
registry (every pytest session with Kitemark installed does) costs neither."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core import resources
from kitemark.core.kinds import Inventory, KindOption, ScopeFn, TargetKind, TargetSpec, directory_specs


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
    )

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        from kitemark.targets.policies.gatekeeper_units import gatekeeper_case_units
        from kitemark.targets.policies.rego_units import rego_test_units

        return {"rego-test": rego_test_units, "gatekeeper-case": gatekeeper_case_units}

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        return directory_specs(self.name, values.get("policies") or [])

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


KIND = PoliciesKind()
