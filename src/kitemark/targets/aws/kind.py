"""The aws target kind: one account, read-only, over one or more regions.

The collector (boto3) and the demo (moto) are imported only when a target is collected, so loading
the kind registry costs neither; moto is needed only for a seed (the ``demo`` extra).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kitemark.core.errors import UsageError
from kitemark.core.kinds import DemoUnavailable, Inventory, KindOption, ScopeFn, TargetKind, TargetSpec
from kitemark.core.redaction import redact_url
from kitemark.targets.aws import units
from kitemark.targets.aws.constants import DEFAULT_REGION, NEEDS_MOTO

# What botocore accepts as a region name (it raises deep inside client creation otherwise).
REGION = re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?")


def check_endpoint(endpoint: str) -> None:
    """A usage error unless ``endpoint`` is a plain http(s) URL. Messages show the URL without its
    user information: ``http://user:pass@host`` would otherwise be printed, and it never reaches a
    report because it is refused."""
    shown = redact_url(endpoint)
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise UsageError(f"--aws-endpoint {shown}: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--aws-endpoint {shown}: expected an http:// or https:// URL with a host")
    if "@" in parts.netloc:
        # It would be written into every report; credentials come from the profile or environment.
        raise UsageError(
            f"--aws-endpoint {shown}: the URL carries credentials (user:password@); use a profile"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"--aws-endpoint {shown}: an endpoint takes no ?query or #fragment")


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
        return {"eks-cluster": units.eks_cluster_units, "s3": units.s3_units}

    def specs(self, values: Mapping[str, Any]) -> list[TargetSpec]:
        endpoint, profile = values.get("aws-endpoint"), values.get("aws-profile")
        seed, regions = values.get("aws-seed"), list(values.get("aws-region") or [])
        options = {"profile": profile, "regions": regions or [DEFAULT_REGION]}
        if seed and (endpoint or profile):
            # A profile's real credentials must never be sent to the embedded server, nor an endpoint ignored.
            raise UsageError("--aws-seed cannot be combined with --aws-endpoint or --aws-profile")
        if regions and not (seed or endpoint or profile):
            raise UsageError("--aws-region needs --aws-endpoint, --aws-profile or --aws-seed")
        for region in regions:
            if not isinstance(region, str) or not REGION.fullmatch(region):
                raise UsageError(
                    f"--aws-region {region!r}: not a region name (letters, digits and '-': eu-west-2)"
                )
        if seed:
            return [self._seed_spec(seed, options, regions)]
        if endpoint or profile:
            if endpoint:
                check_endpoint(endpoint)
            return [TargetSpec(self.name, profile or "default", endpoint or "", options)]
        return []

    def _seed_spec(self, seed: str, options: dict[str, Any], regions: list[str]) -> TargetSpec:
        path = Path(seed)
        if not path.is_file():
            raise UsageError(f"--aws-seed {seed}: file not found")
        from kitemark.targets.aws import demo  # only a seed needs the demo (and moto)

        demo.require_moto()
        # Without --aws-region, the regions the seed itself names.
        return TargetSpec(
            self.name, path.stem, "", {**options, "regions": regions, "seed": str(path.resolve())}
        )

    def collect(self, spec: TargetSpec, reads: frozenset[str] = frozenset()) -> Inventory:
        """Only the API calls in ``reads`` (what the selected checks declared); all of them for none."""
        from kitemark.targets.aws import collect

        return collect.collect(spec, reads)

    def collect_fixture(self, path: Path) -> Inventory:
        from kitemark.targets.aws import collect

        return collect.collect_fixture(path)

    def demo_specs(self, demo: Path) -> list[TargetSpec]:
        if importlib.util.find_spec("moto") is None:
            raise DemoUnavailable(f"the demo's AWS account is not checked: {NEEDS_MOTO}")
        seed = demo / "aws" / "seed.yaml"
        return [
            TargetSpec(
                self.name, "demo", "", {"seed": str(seed), "regions": [DEFAULT_REGION], "profile": None}
            )
        ]

    def describe(self, inventory: Inventory) -> dict[str, Any]:
        return units.describe(inventory)

    def commit_path(self, spec: TargetSpec) -> str | None:
        return None


KIND = AwsKind()
