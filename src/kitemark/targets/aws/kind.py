"""The aws target kind: one account, read-only, over one or more regions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kitemark.core.errors import UsageError
from kitemark.core.kinds import Inventory, KindOption, ScopeFn, TargetKind, TargetSpec
from kitemark.targets.aws import collect as account

DEFAULT_REGION = "eu-west-2"


class AwsKind(TargetKind):
    name = "aws"
    title = "AWS accounts"
    options = (
        KindOption("aws-endpoint", "AWS API endpoint to check (a moto server, a VPC endpoint)", "URL"),
        KindOption("aws-profile", "AWS profile whose account to check", "NAME"),
        KindOption(
            "aws-region", f"AWS region (repeatable; default {DEFAULT_REGION})", "REGION", repeatable=True
        ),
        KindOption("aws-seed", "check this seed, served by an embedded moto server", "FILE"),
    )

    @property
    def scopes(self) -> Mapping[str, ScopeFn]:
        return {
            "eks-cluster": lambda inventory, inputs: account.eks_cluster_units(inventory),
            "s3": lambda inventory, inputs: account.s3_units(inventory),
        }

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        endpoint, profile = values.get("aws-endpoint"), values.get("aws-profile")
        seed, regions = values.get("aws-seed"), list(values.get("aws-region") or [])
        options = {"profile": profile, "regions": regions or [DEFAULT_REGION]}
        if seed and (endpoint or profile):
            # A profile's real credentials must never be sent to the embedded server, nor an endpoint ignored.
            raise UsageError("--aws-seed cannot be combined with --aws-endpoint or --aws-profile")
        if regions and not (seed or endpoint or profile):
            raise UsageError("--aws-region needs --aws-endpoint, --aws-profile or --aws-seed")
        if seed:
            path = Path(seed)
            if not path.is_file():
                raise UsageError(f"--aws-seed {seed}: file not found")
            # Without --aws-region, the regions the seed itself names.
            return [
                TargetSpec(
                    self.name, path.stem, "", {**options, "regions": regions, "seed": str(path.resolve())}
                )
            ]
        if endpoint or profile:
            if endpoint and not endpoint.startswith(("http://", "https://")):
                raise UsageError(f"--aws-endpoint {endpoint}: expected an http:// or https:// URL")
            return [TargetSpec(self.name, profile or "default", endpoint or "", options)]
        return []

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        return account.collect(spec)

    def collect_fixture(self, path: Path) -> Inventory:
        return account.collect_fixture(path)

    def demo_specs(self, demo: Path) -> list[TargetSpec]:
        seed = demo / "aws" / "seed.yaml"
        return [
            TargetSpec(
                self.name, "demo", "", {"seed": str(seed), "regions": [DEFAULT_REGION], "profile": None}
            )
        ]

    def describe(self, inventory: Inventory) -> dict[str, Any]:
        return account.describe(inventory)

    def commit_path(self, spec: TargetSpec) -> str | None:
        return None


KIND = AwsKind()
