"""Check inputs: the platform values a check reads (mandatory tags, allowed business units, system
namespaces …), declared beside the check with a default and overridden per run from a config file
(InSpec's ``input(name, default:)``).

A check lists the inputs it reads (``@check(..., inputs=[MANDATORY_TAGS])``) and receives their
values as its second argument::

    MANDATORY_TAGS = Input("mandatory_tags", default=["business-unit", "owner"],
                           description="Tags every taggable AWS resource must carry",
                           schema={"type": "array", "items": {"type": "string"}})

    @check("TF-TAG-001", ..., inputs=[MANDATORY_TAGS])
    def test_mandatory_tags(module, inputs):
        for tag in inputs["mandatory_tags"]: ...

A target kind may declare inputs too (the cluster's ``system_namespaces`` decide its scope units).
Input names are global: one name, one meaning, one default. The defaults are the MoJ Cloud
Platform's values; a run's values are recorded in ``results.json`` so an auditor sees what was judged
against.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kitemark.core.errors import UsageError


@dataclass(frozen=True)
class Input:
    name: str
    default: Any
    description: str
    schema: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit the input's schema (the self-tests hold every default to it)."""
        if not self.schema:
            return None
        import jsonschema  # only when a value is checked: loading the kind registry stays cheap

        try:
            jsonschema.validate(value, dict(self.schema), format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            return f"{exc.message}" + (f" (at {where})" if where else "")
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "default": self.default,
            "schema": dict(self.schema),
        }


class InputRegistry:
    """Every input declared by the checks and kinds of a run, by name."""

    def __init__(self) -> None:
        self._inputs: dict[str, Input] = {}
        self._users: dict[str, list[str]] = {}

    def declare(self, owner: str, inputs: Iterable[Input]) -> None:
        for item in inputs:
            known = self._inputs.get(item.name)
            if known is not None and known.default != item.default:
                raise ValueError(
                    f"input {item.name} is declared twice with different defaults "
                    f"({', '.join(self._users[item.name])} and {owner})"
                )
            self._inputs.setdefault(item.name, item)
            self._users.setdefault(item.name, [])
            if owner not in self._users[item.name]:
                self._users[item.name].append(owner)

    def __contains__(self, name: object) -> bool:
        return name in self._inputs

    def get(self, name: str) -> Input:
        return self._inputs[name]

    def users(self, name: str) -> list[str]:
        return list(self._users.get(name, []))

    def names(self) -> list[str]:
        return sorted(self._inputs)

    def resolve(self, overrides: Mapping[str, Any], source: str = "config") -> dict[str, Any]:
        """Every declared input's value: the override when given (validated), else the default."""
        unknown = sorted(set(overrides) - set(self._inputs))
        if unknown:
            known = ", ".join(self.names()) or "none"
            raise UsageError(f"{source}: unknown input {unknown[0]!r} (known inputs: {known})")
        values: dict[str, Any] = {}
        for name, item in sorted(self._inputs.items()):
            if name in overrides:
                problem = item.problem(overrides[name])
                if problem:
                    raise UsageError(f"{source}: input {name}: {problem}")
                values[name] = copy.deepcopy(overrides[name])
            else:
                values[name] = copy.deepcopy(item.default)
        return values


class Inputs(Mapping[str, Any]):
    """The input values one check may read: reading an undeclared one is a bug, not a silent default."""

    def __init__(self, owner: str, values: Mapping[str, Any]) -> None:
        self._owner = owner
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"{self._owner} reads input {name!r} without declaring it") from None

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)
