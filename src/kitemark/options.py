"""Kitemark's options, declared once: each kind's options come from the kind registry, and every
option exists as ``--NAME`` for ``kitemark run`` and as ``--kitemark-NAME`` for plain pytest."""

from __future__ import annotations

import argparse
import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.core.errors import UsageError
from kitemark.core.kinds import DemoUnavailable, KindOption, TargetKind, TargetSpec, registry
from kitemark.core.redaction import KEY_VARIABLE, configured_key

DEFAULT_OUT = "kitemark-reports"

# Options of every run, beside the kinds' own.
RUN_OPTIONS = (
    KindOption("waivers", "waivers YAML: check id + resource selector + justification + expiry", "FILE"),
    KindOption(
        "config", "config file with check inputs and extra frameworks (default: ./kitemark.yaml)", "FILE"
    ),
    KindOption(
        "out", f"where results.json, junit.xml and compliance.html go (default: {DEFAULT_OUT}/)", "DIR"
    ),
    KindOption(
        "control",
        "only this check id (K8S-NET-001) or the checks evidencing this control (service-standard:9)",
        "ID",
        repeatable=True,
    ),
    KindOption(
        "framework",
        "only checks mapped in this framework (service-standard, ncsc-csp)",
        "NAME",
        repeatable=True,
    ),
    KindOption("severity", "only checks at or above: critical, high, medium, low, info", "LEVEL"),
    KindOption("today", "judge waiver expiry as of this date (default: today, UTC)", "YYYY-MM-DD"),
    KindOption(
        "shard",
        "run shard I of N: every scope unit belongs to one shard; `kitemark merge` joins the N results",
        "I/N",
    ),
)

SELECTION = ("config", "control", "framework", "severity")


def kind_options() -> list[tuple[TargetKind, KindOption]]:
    return [(kind, option) for kind in registry().values() for option in kind.options]


def add_pytest_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("kitemark", "Kitemark compliance checks")
    for option in [o for _, o in kind_options()] + list(RUN_OPTIONS):
        kwargs: dict[str, Any] = {"dest": option.dest, "metavar": option.metavar, "help": option.help}
        if option.repeatable:
            kwargs.update(action="append", default=[])
        group.addoption(f"--kitemark-{option.name}", **kwargs)


def add_cli_options(targets: Any, run: Any) -> None:
    """``kitemark run``'s twins of the same options (``targets`` and ``run`` are argparse groups)."""
    for kind, option in kind_options():
        _add(targets, option, f"{kind.title}: ")
    for option in RUN_OPTIONS:
        _add(run, option)


def add_selection_options(parser: Any) -> None:
    """The options that choose checks (and the config file naming extra frameworks), for a command
    that acts on the checks a run would choose (`kitemark rbac`)."""
    for option in RUN_OPTIONS:
        if option.name in SELECTION:
            _add(parser, option)


def _add(group: Any, option: KindOption, prefix: str = "") -> None:
    kwargs: dict[str, Any] = {"dest": option.dest, "metavar": option.metavar, "help": prefix + option.help}
    if option.repeatable:
        kwargs.update(action="append", default=[])
    group.add_argument(f"--{option.name}", **kwargs)


def cli_to_pytest(args: argparse.Namespace) -> list[str]:
    """The ``--kitemark-…`` arguments that stand for a ``kitemark run`` command line."""
    argv: list[str] = []
    for option in [o for _, o in kind_options()] + list(RUN_OPTIONS):
        value = getattr(args, option.dest, None)
        values: list[Any] = (value or []) if option.repeatable else [value] if value else []
        argv += [f"--kitemark-{option.name}={v}" for v in values]
    return argv


@dataclass(frozen=True)
class RunOptions:
    specs: tuple[TargetSpec, ...]
    demo: bool
    waivers: Path | None
    config: str | None
    out: Path
    today: dt.date
    controls: tuple[str, ...]
    frameworks: tuple[str, ...]
    severity: str | None
    shard: tuple[int, int] | None
    notes: tuple[str, ...] = ()  # what the run leaves out and why (a demo part that cannot run here)


def refuse_repeats(argv: Sequence[str], prefix: str) -> None:
    """An option that takes one value given twice (``--out a --out b``): argparse keeps the last one
    silently, which drops the other's file or folder from the run, so it is a usage error."""
    args = list(argv)
    args = args[: args.index("--")] if "--" in args else args
    for option in [o for _, o in kind_options()] + list(RUN_OPTIONS):
        if option.repeatable:
            continue
        flag = f"--{prefix}{option.name}"
        given = [a for a in args if a == flag or a.startswith(flag + "=")]
        if len(given) > 1:
            raise UsageError(f"{flag} is given {len(given)} times: it takes one value")


def given_targets(config: pytest.Config) -> bool:
    """Whether any target option was given (the plugin activates on them)."""
    return any(getattr(config.option, o.dest, None) for _, o in kind_options())


def run_options(config: pytest.Config) -> RunOptions:
    opt = config.option
    refuse_repeats([str(a) for a in config.invocation_params.args], "kitemark-")
    specs: list[TargetSpec] = []
    for kind in registry().values():
        values = {o.name: getattr(opt, o.dest, None) for o in kind.options}
        specs += kind.specs(values)
    demo = not specs
    notes: list[str] = []
    waivers = Path(opt.kitemark_waivers) if opt.kitemark_waivers else None
    if demo:
        specs = demo_specs(notes)
        waivers = waivers or resources.demo_dir() / "waivers.yaml"
    return RunOptions(
        specs=tuple(specs),
        demo=demo,
        waivers=waivers,
        config=opt.kitemark_config,
        out=Path(opt.kitemark_out or DEFAULT_OUT),
        today=parse_today(opt.kitemark_today),
        controls=tuple(opt.kitemark_control),
        frameworks=tuple(opt.kitemark_framework),
        severity=opt.kitemark_severity,
        shard=parse_shard(opt.kitemark_shard),
        notes=tuple(notes),
    )


def demo_specs(notes: list[str] | None = None) -> list[TargetSpec]:
    """Every kind's part of the demo; a part that cannot run here is left out and ``notes`` says why."""
    demo = resources.demo_dir()
    specs: list[TargetSpec] = []
    for kind in registry().values():
        try:
            specs += kind.demo_specs(demo)
        except DemoUnavailable as exc:
            if notes is not None:
                notes.append(str(exc))
    return specs


def parse_today(value: str | None) -> dt.date:
    if not value:
        return dt.datetime.now(dt.UTC).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--today {value}: expected YYYY-MM-DD") from None


def parse_shard(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    match = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise UsageError(f"--shard {value}: expected I/N with 1 <= I <= N, e.g. 2/4")
    if not configured_key():
        # Each run marks secrets under its own random key: shards must share one to be one run.
        raise UsageError(
            f"--shard {value}: set {KEY_VARIABLE} (the same secret value for every shard of the run) "
            "so that every shard marks a redacted value alike"
        )
    return int(match[1]), int(match[2])


def kinds_of(specs: Iterable[TargetSpec]) -> set[str]:
    return {spec.kind for spec in specs}
