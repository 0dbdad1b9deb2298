"""Run a check on its own compliant / non-compliant fixture, through the real collector."""

from __future__ import annotations

from pathlib import Path

from kitemark.core import resources
from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import kind_module, scope_units
from kitemark.core.model import Finding


def fixture_path(check_id: str, variant: str) -> Path:
    return resources.check_fixtures_dir() / check_id / variant


def run_on_fixture(check_id: str, variant: str) -> list[Finding]:
    """All findings of `check_id` on `fixtures/checks/<check_id>/<variant>` (compliant|noncompliant)."""
    meta = load_checks()[check_id]
    inventory = kind_module(meta.suite).collect_fixture(fixture_path(check_id, variant))
    units = scope_units(meta.scope, [inventory])
    fn = check_function(check_id)
    return [finding for unit in units for finding in evaluate(fn, unit)]
