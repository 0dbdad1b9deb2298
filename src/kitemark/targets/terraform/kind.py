"""The terraform target kind: ``--terraform [NAME=]DIR`` (a module or a tree of modules).

The HCL parser is imported when first needed, not whenever the kind registry is loaded."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core.kinds import Inventory, KindOption, ScopeFn, TargetKind, TargetSpec, directory_specs


class TerraformKind(TargetKind):
    name = "terraform"
    title = "Terraform modules"
    options = (
        KindOption(
            "terraform",
            "a Terraform module or a tree of modules (the directory, not a .tf file)",
            metavar="[NAME=]DIR",
            repeatable=True,
        ),
    )

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        from kitemark.targets.terraform.collect import module_units

        return {"module": module_units}

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        return directory_specs(self.name, values.get("terraform") or [])

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        from kitemark.targets.terraform.collect import collect

        return collect(spec)

    def demo_specs(self, demo: Path) -> list[TargetSpec]:
        return [TargetSpec(self.name, "demo", str(demo / "terraform"))]

    def describe(self, inventory: Inventory) -> dict[str, Any]:
        found = inventory.get("modules") or []
        return {
            "modules": len(found),
            "files": sum(len(m.get("files") or {}) for m in found),
            "skipped": len(inventory.get("skipped") or []),
        }


KIND = TerraformKind()
