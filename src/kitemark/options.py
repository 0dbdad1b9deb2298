"""Kitemark's pytest options, and turning them into the targets of a run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.kinds import TargetSpec

DEFAULT_OUT = "kitemark-reports"
DEFAULT_REGION = "eu-west-2"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("kitemark", "Kitemark compliance checks")
    add = group.addoption
    add(
        "--kitemark-cluster",
        action="append",
        default=[],
        metavar="[NAME=]snapshot:DIR",
        help="cluster to check, from a snapshot directory of `kubectl get -o yaml|json` output (repeatable)",
    )
    add(
        "--kitemark-terraform",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="Terraform module, or a tree of modules, to check (repeatable)",
    )
    add(
        "--kitemark-policies",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="Rego policies: runs every *_test.rego test and every Gatekeeper suite.yaml case (repeatable)",
    )
    add("--kitemark-aws-endpoint", metavar="URL", help="AWS API endpoint (a moto server, a VPC endpoint)")
    add("--kitemark-aws-profile", metavar="NAME", help="AWS profile to check the account of")
    add(
        "--kitemark-aws-region",
        action="append",
        default=[],
        metavar="REGION",
        help=f"AWS region to check (repeatable; default {DEFAULT_REGION})",
    )
    add(
        "--kitemark-aws-seed",
        metavar="FILE",
        help="serve this seed from an embedded moto server and check it (how the demo runs)",
    )
    add("--kitemark-waivers", metavar="FILE", help="waivers YAML (check id + resource selector + expiry)")
    add("--kitemark-out", metavar="DIR", default=None, help=f"report directory (default {DEFAULT_OUT}/)")
    add(
        "--kitemark-control",
        action="append",
        default=[],
        metavar="ID",
        help="run only checks with this id or evidencing this control, e.g. service-standard:9 (repeatable)",
    )
    add(
        "--kitemark-framework",
        action="append",
        default=[],
        metavar="NAME",
        help="run only checks mapped in this framework, e.g. ncsc-csp (repeatable)",
    )
    add("--kitemark-severity", metavar="LEVEL", help="run only checks at or above this severity")
    add(
        "--kitemark-today",
        metavar="YYYY-MM-DD",
        help="the date waivers are judged against (default: today, UTC); for reproducing a past run",
    )


@dataclass(frozen=True)
class RunOptions:
    specs: tuple[TargetSpec, ...]
    demo: bool
    waivers: Path | None
    out: Path
    today: dt.date
    controls: tuple[str, ...]
    frameworks: tuple[str, ...]
    severity: str | None


def run_options(config: pytest.Config) -> RunOptions:
    opt = config.option
    specs = [
        *_dir_specs("cluster", opt.kitemark_cluster, prefix="snapshot:"),
        *_dir_specs("terraform", opt.kitemark_terraform),
        *_dir_specs("policies", opt.kitemark_policies),
        *_aws_specs(opt),
    ]
    demo = not specs
    waivers = Path(opt.kitemark_waivers) if opt.kitemark_waivers else None
    if demo:
        specs = demo_specs()
        waivers = waivers or resources.demo_dir() / "waivers.yaml"
    _validate_selection(opt.kitemark_severity, opt.kitemark_framework)
    return RunOptions(
        specs=tuple(specs),
        demo=demo,
        waivers=waivers,
        out=Path(opt.kitemark_out or DEFAULT_OUT),
        today=_today(opt.kitemark_today),
        controls=tuple(opt.kitemark_control),
        frameworks=tuple(opt.kitemark_framework),
        severity=opt.kitemark_severity,
    )


def _validate_selection(severity: str | None, frameworks: Iterable[str]) -> None:
    """Fail before any target is collected; check ids and controls are checked at collection."""
    from kitemark.core.frameworks import load_frameworks
    from kitemark.core.model import Severity

    if severity and severity not in {s.value for s in Severity}:
        raise UsageError(f"--severity {severity}: expected one of {', '.join(s.value for s in Severity)}")
    known = {fw.id for fw in load_frameworks()}
    for fid in frameworks:
        if fid not in known:
            raise UsageError(f"--framework {fid}: unknown framework (known: {', '.join(sorted(known))})")


def demo_specs() -> list[TargetSpec]:
    demo = resources.demo_dir()
    return [
        TargetSpec("cluster", "demo", str(demo / "cluster")),
        TargetSpec("terraform", "demo", str(demo / "terraform")),
        TargetSpec("policies", "kitemark", str(resources.policies_dir())),
        TargetSpec("policies", "demo", str(demo / "policies")),
        TargetSpec(
            "aws",
            "demo",
            "",
            {"seed": str(demo / "aws" / "seed.yaml"), "regions": [DEFAULT_REGION], "profile": None},
        ),
    ]


def _dir_specs(kind: str, values: Iterable[str], prefix: str = "") -> list[TargetSpec]:
    specs: list[TargetSpec] = []
    for value in values:
        name, sep, rest = value.partition("=")
        # `NAME=DIR`, unless the whole value is itself an existing directory (`a=b/` on disk).
        if not sep or "/" in name or ":" in name or Path(value).expanduser().is_dir():
            name, rest = "", value
        if prefix:
            if rest.startswith("live:"):
                raise UsageError(f"--cluster {value}: live clusters are not supported yet; use snapshot:DIR")
            if not rest.startswith(prefix):
                raise UsageError(f"--cluster {value}: expected {prefix}DIR")
            rest = rest[len(prefix) :]
        path = Path(rest).expanduser()
        if not path.is_dir():
            raise UsageError(f"--{kind} {value}: directory not found: {path}")
        specs.append(TargetSpec(kind, _unique(name or path.resolve().name, kind, specs), str(path.resolve())))
    return specs


def _aws_specs(opt: Any) -> list[TargetSpec]:
    regions = list(opt.kitemark_aws_region)
    options = {"profile": opt.kitemark_aws_profile, "regions": regions or [DEFAULT_REGION]}
    if opt.kitemark_aws_seed and (opt.kitemark_aws_endpoint or opt.kitemark_aws_profile):
        # A profile's real credentials must never be sent to the embedded server, nor an endpoint ignored.
        raise UsageError("--aws-seed cannot be combined with --aws-endpoint or --aws-profile")
    if regions and not (opt.kitemark_aws_seed or opt.kitemark_aws_endpoint or opt.kitemark_aws_profile):
        raise UsageError("--aws-region needs --aws-endpoint, --aws-profile or --aws-seed")
    if opt.kitemark_aws_seed:
        seed = Path(opt.kitemark_aws_seed)
        if not seed.is_file():
            raise UsageError(f"--aws-seed {seed}: file not found")
        # Without --aws-region, the regions the seed itself names.
        return [
            TargetSpec("aws", seed.stem, "", {**options, "regions": regions, "seed": str(seed.resolve())})
        ]
    if opt.kitemark_aws_endpoint or opt.kitemark_aws_profile:
        endpoint = opt.kitemark_aws_endpoint or ""
        if endpoint and not endpoint.startswith(("http://", "https://")):
            raise UsageError(f"--aws-endpoint {endpoint}: expected an http:// or https:// URL")
        return [TargetSpec("aws", opt.kitemark_aws_profile or "default", endpoint, options)]
    return []


def _unique(name: str, kind: str, specs: list[TargetSpec]) -> str:
    taken = {s.name for s in specs if s.kind == kind}
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _today(value: str | None) -> dt.date:
    if not value:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today {value}: expected YYYY-MM-DD") from None
