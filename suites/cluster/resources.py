"""Container resource requests and limits as Kubernetes applies them, for K8S-RES-001/002.

A container's effective value is its own; else, for a request, its own limit (the API server copies a
limit into an unset request); else the namespace's LimitRange default for containers (``default`` for
limits, ``defaultRequest`` for requests — itself ``default`` when unset), which the LimitRanger
admission plugin writes into every Pod created without one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from kitemark.core.inputs import Input
from kitemark.targets.cluster import shapes
from kitemark.targets.cluster.view import Container, KObject, NamespaceView, wrong_types

RESOURCE_NAMES = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory")
REQUIRED_RESOURCES = Input(
    "required_resources",
    default=list(RESOURCE_NAMES),
    description=(
        "The requests and limits every container (init containers too) must have, as `requests.cpu`, "
        "`requests.memory`, `limits.cpu`, `limits.memory` (K8S-RES-001)"
    ),
    schema={"type": "array", "items": {"enum": list(RESOURCE_NAMES)}, "uniqueItems": True},
)
LIMITRANGE_DEFAULTS = Input(
    "resources_from_limitrange",
    default=True,
    description=(
        "Whether a namespace LimitRange's container defaults count as a container's requests and limits "
        "(the API server applies them to every Pod created without them) (K8S-RES-001/002)"
    ),
    schema={"type": "boolean"},
)
MEMORY_RATIO = Input(
    "memory_limit_request_ratio",
    default=2,
    description=(
        "The largest memory limit a container may have, as a multiple of its memory request (K8S-RES-002)"
    ),
    schema={"type": "number", "minimum": 1},
)

QUANTITY = shapes.Scalar("a quantity (a string or a number)", (str, int, float))
RESOURCES = shapes.Map(
    {
        "resources": shapes.Map(
            {"limits": shapes.Map(values=QUANTITY), "requests": shapes.Map(values=QUANTITY)}
        )
    }
)
LIMIT_RANGE = shapes.Map(
    {
        "spec": shapes.Map(
            {
                "limits": shapes.Seq(
                    shapes.Map(
                        {
                            "type": shapes.STR,
                            "default": shapes.Map(values=QUANTITY),
                            "defaultRequest": shapes.Map(values=QUANTITY),
                        }
                    )
                )
            }
        )
    }
)
LIMIT_RANGE_READS = ["v1/LimitRange"]

_SUFFIXES = {
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
}
_QUANTITY = re.compile(
    r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$"
)


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes quantity (``512Mi``, ``0.5``, ``100m``, ``1e3``) as a number of base units, or
    ``None`` when it is not one (the API server refuses it)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return None
    number, exponent, suffix = match.groups()
    try:
        if exponent:
            return Decimal(number + exponent)
        return Decimal(number) * _SUFFIXES[suffix or ""]
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class Defaults:
    """A namespace's LimitRange defaults for containers: ``resource name → (value, LimitRange name)``.
    ``unreadable``: LimitRanges that could not be read (their defaults are not used)."""

    values: Mapping[str, tuple[Any, str]]
    unreadable: tuple[tuple[str, str], ...] = ()  # (LimitRange name, the fields of the wrong type)
    names: tuple[str, ...] = ()


def _limit_range_defaults(obj: KObject) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in obj.get("spec", "limits") or []:
        if item.get("type") != "Container":
            continue
        limits = item.get("default") or {}
        requests = item.get("defaultRequest") or limits  # the API server's own defaulting
        for section, values in (("limits", limits), ("requests", requests)):
            for resource in ("cpu", "memory"):
                if resource in values:
                    found.setdefault(f"{section}.{resource}", values[resource])
    return found


def namespace_defaults(ns: NamespaceView, use: bool) -> Defaults:
    """The container defaults of ``ns``'s LimitRanges (the first by name wins, as each only fills what
    is still unset); none when ``use`` is off."""
    if not use:
        return Defaults({})
    values: dict[str, tuple[Any, str]] = {}
    unreadable: list[tuple[str, str]] = []
    ranges = sorted(ns.of_kind("v1/LimitRange"), key=lambda o: o.name)
    for obj in ranges:
        wrong = wrong_types(obj.raw, LIMIT_RANGE)
        if wrong:
            unreadable.append((obj.name, shapes.listed(wrong)))
            continue
        for key, value in _limit_range_defaults(obj).items():
            values.setdefault(key, (value, obj.name))
    return Defaults(values, tuple(unreadable), tuple(o.name for o in ranges))


def effective(container: Container, defaults: Defaults) -> dict[str, tuple[Any, str]]:
    """``resource name → (value, where from)`` for each of ``RESOURCE_NAMES`` the container ends up
    with; where from: ``container``, ``its limit`` or ``LimitRange '<name>'``."""
    own = container.spec.get("resources") or {}
    found: dict[str, tuple[Any, str]] = {}
    for name in RESOURCE_NAMES:
        section, resource = name.split(".")
        value = (own.get(section) or {}).get(resource)
        if value is not None:
            found[name] = (value, "container")
            continue
        if section == "requests":
            limit = (own.get("limits") or {}).get(resource)
            if limit is not None:
                found[name] = (limit, "its limit")
                continue
        if name in defaults.values:
            value, source = defaults.values[name]
            found[name] = (value, f"LimitRange '{source}'")
    # A LimitRange default request above the container's own limit is refused at admission; not judged.
    return found


def assessed_containers(containers: list[Container]) -> tuple[list[Container], list[str]]:
    """The containers resources are judged on, and the ephemeral ones skipped (Kubernetes forbids
    resources on them: they use the Pod's)."""
    kept = [c for c in containers if c.type != "ephemeralContainer"]
    return kept, [c.label for c in containers if c.type == "ephemeralContainer"]
