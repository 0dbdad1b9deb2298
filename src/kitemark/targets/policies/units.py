"""Unit helpers shared by the two scopes of a policies target (``rego_units`` and
``gatekeeper_units``): unit ids (``<label>/<relpath>[#<fragment>]``), a file that
could not be used as a unit of its own (``error_unit``), and which input errors some unit already
reports (``carried_errors``, keyed by ``error_key``), so that no input error goes unreported.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kitemark.core.kinds import InputError, Inventory, Unit


def unit_id(inventory: Inventory, rel: str, fragment: str | None = None) -> str:
    return f"{inventory['target']}/{rel}" + (f"#{fragment}" if fragment else "")


def error_key(error: dict[str, Any]) -> tuple[str, int | None, str]:
    return error["path"], error.get("line"), error["message"]


def carried_errors(units: Iterable[Unit]) -> set[tuple[str, int | None, str]]:
    """The input errors some unit already reports."""
    return {error_key(e.to_dict()) for u in units for e in u.errors}


def error_unit(inventory: Inventory, rel: str, error: dict[str, Any]) -> Unit:
    """A file that could not be used, as a unit of its own: every check on it reports the error."""
    return Unit(unit_id(inventory, rel), inventory["target"], None, [InputError.from_dict(error)])
