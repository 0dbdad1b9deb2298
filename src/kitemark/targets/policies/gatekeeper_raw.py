"""Gatekeeper cases whose objects held secrets, evaluated on the objects as written.

A suite's objects are redacted before they are kept (``gatekeeper_yaml.without_secret_values``), but a
template may read a Secret's values (decode ``data``, match a weak password): evaluated on markers, its
case could pass where ``gator verify`` fails. So the cases whose objects changed under redaction are
run here, at collection, on the parsed documents that never leave this process, and only their
outcome is kept: whether it held and how many violations, not their messages (a template may put a
secret in one, encoded or not), and every redacted value in an error replaced by its marker. Checks
read that outcome instead of evaluating the redacted copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.kinds import Inventory
from kitemark.core.redaction import redact_text
from kitemark.engines.gatekeeper import CaseOutcome, GatekeeperCase
from kitemark.targets.policies.gatekeeper_units import gatekeeper_case_units

# Held in an object entry between parsing and the end of collection, never stored.
RAW = "_raw_documents"


def outcomes_on_raw(inventory: Inventory, raw: dict[str, list[Any]]) -> dict[str, dict[str, Any]]:
    """``{unit id: outcome}`` of each case that reads an object ``raw`` holds (by path), evaluated on
    the raw documents, its text redacted."""
    if not raw:
        return {}
    raw_inventory = {
        **inventory,
        "objects": {
            path: {**entry, "documents": raw.get(path, entry["documents"])}
            for path, entry in inventory["objects"].items()
        },
    }
    stored = gatekeeper_case_units(inventory, {})
    original = gatekeeper_case_units(raw_inventory, {})
    outcomes: dict[str, dict[str, Any]] = {}
    for kept, unit in zip(stored, original, strict=True):
        case, redacted = unit.data, kept.data
        if not isinstance(case, GatekeeperCase) or not isinstance(redacted, GatekeeperCase):
            continue
        if case.skip or unit.errors or _docs(case) == _docs(redacted):
            continue
        pairs = sorted(set(_differences(_docs(case), _docs(redacted))), key=lambda p: -len(p[0]))
        outcomes[unit.id] = _stored(_run(case), pairs)
    return outcomes


def _run(case: GatekeeperCase) -> CaseOutcome:
    """The case's outcome; a fault it raises is its error, as in a worker, not the end of collection.
    Only the fault's type is said: its text may quote the objects as written."""
    try:
        return case.run()
    except Exception as exc:
        return CaseOutcome(False, False, [], [], error=f"the case raised {type(exc).__name__}")


def _docs(case: GatekeeperCase) -> list[Any]:
    return [case.constraint_docs, case.object_docs, case.inventory_docs]


def _differences(raw: Any, redacted: Any) -> Iterator[tuple[str, str]]:
    """(raw text, what was kept instead) for every string redaction changed."""
    if isinstance(raw, dict) and isinstance(redacted, dict):
        for key, value in raw.items():
            if key in redacted:
                yield from _differences(value, redacted[key])
    elif isinstance(raw, list) and isinstance(redacted, list):
        for a, b in zip(raw, redacted, strict=False):
            yield from _differences(a, b)
    elif isinstance(raw, str) and isinstance(redacted, str) and raw != redacted:
        yield raw, redacted
    elif raw != redacted and not isinstance(raw, dict | list) and isinstance(redacted, str):
        yield str(raw), redacted


def _clean(text: str | None, pairs: list[tuple[str, str]]) -> str | None:
    if text is None:
        return None
    for raw, kept in pairs:
        if raw:
            text = text.replace(raw, kept)
    return redact_text(text)


# A template may write a secret into its message in any form (encoded, sliced): none is kept.
NOT_KEPT = "(message not kept: the case's objects hold secrets)"


def _stored(outcome: CaseOutcome, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The outcome as the inventory keeps it: how many violations, but not their messages (the case's
    ``message`` assertions were checked on them here), and no value redaction hid."""
    return {
        "passed": outcome.passed,
        "matched": outcome.matched,
        "violations": [{"msg": NOT_KEPT} for _ in outcome.violations],
        "failures": [_clean(f, pairs) for f in outcome.failures],
        "error": _clean(outcome.error, pairs),
        "rejection": _clean(outcome.rejection, pairs),
    }
