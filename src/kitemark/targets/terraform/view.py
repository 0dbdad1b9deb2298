"""The Terraform module view checks read: ``ModuleView`` builds one module's ``Block``s (resources, data
sources, providers, module calls, ``terraform`` blocks), variables, locals and a static ``Evaluator`` on
demand from the inventory's JSON form. Also here: ``join`` for module-relative paths, ``BUILTIN_PROVIDERS``,
and ``nothing_here``/``module_calls_note``, which build a *not applicable* finding naming the module calls
a module's checks leave unassessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kitemark.core.model import Finding, Status
from kitemark.targets.terraform.hcl_values import Evaluator, expression_text, strip_meta

# Providers built into Terraform itself: never listed in required_providers.
BUILTIN_PROVIDERS = frozenset({"terraform"})


@dataclass(frozen=True)
class Block:
    """A labelled block of a module: ``resource``/``data`` (type + name), ``provider``, ``module``..."""

    kind: str
    type: str
    name: str
    file: str
    line: int | None
    body: dict[str, Any]
    module_path: str

    @property
    def attrs(self) -> dict[str, Any]:
        return strip_meta(self.body)

    @property
    def address(self) -> str:
        """``aws_s3_bucket.logs`` / ``data.aws_iam_policy_document.x`` / ``module.rds``."""
        if self.kind == "resource":
            return f"{self.type}.{self.name}"
        if self.kind == "data":
            return f"data.{self.type}.{self.name}"
        return f"{self.kind}.{self.name}"

    @property
    def identity(self) -> str:
        """Stable finding identity: module path + address (never a line number)."""
        return join(self.module_path, self.address)

    @property
    def location(self) -> str:
        where = join(self.module_path, self.file)
        return f"{where}:{self.line}" if self.line else where

    @property
    def provider(self) -> tuple[str, str | None]:
        """(local provider name, alias) this resource or data source is managed by."""
        ref = self.body.get("provider")
        if isinstance(ref, str):
            text = ref[2:-1] if ref.startswith("${") and ref.endswith("}") else ref
            name, _, alias = text.partition(".")
            return name, alias or None
        return self.type.split("_", 1)[0], None


def join(module_path: str, item: str) -> str:
    """``modules/s3`` + ``main.tf`` -> ``modules/s3/main.tf``; ``.`` (a root module that could not be
    named after its directory, see ``kitemark.targets.terraform.collect``) adds no prefix."""
    return item if module_path in ("", ".") else f"{module_path}/{item}"


class ModuleView:
    """What checks read: one module's blocks, built on demand from the inventory's JSON form."""

    def __init__(self, module: dict[str, Any], target: str = "") -> None:
        self.path: str = module["path"]
        self.files: dict[str, Any] = module["files"]
        self.target = target

    def __repr__(self) -> str:
        return f"ModuleView({self.target}/{self.path})"

    def _blocks(self, kind: str, labels: int) -> list[Block]:
        out: list[Block] = []
        for filename, parsed in sorted(self.files.items()):
            for entry in parsed.get(kind, []) or []:
                out.extend(self._unpack(kind, filename, entry, labels))
        return out

    def _unpack(self, kind: str, filename: str, entry: Any, labels: int) -> list[Block]:
        """python-hcl2 nests a block's labels as dict keys: ``{type: {name: body}}``."""
        if not isinstance(entry, dict):
            return []
        if labels == 0:
            return [self._block(kind, "", "", filename, entry)]
        out: list[Block] = []
        for first, inner in strip_meta(entry).items():
            if labels == 1:
                out.append(self._block(kind, "", first, filename, inner))
            elif isinstance(inner, dict):
                out.extend(self._block(kind, first, n, filename, b) for n, b in strip_meta(inner).items())
        return out

    def _block(self, kind: str, type_: str, name: str, filename: str, body: Any) -> Block:
        body = body if isinstance(body, dict) else {}
        return Block(kind, type_, name, filename, body.get("__start_line__"), body, self.path)

    @cached_property
    def resources(self) -> list[Block]:
        return self._blocks("resource", 2)

    @cached_property
    def data_sources(self) -> list[Block]:
        return self._blocks("data", 2)

    @cached_property
    def providers(self) -> list[Block]:
        """``provider "aws" {...}`` configurations (``name`` is the provider's local name)."""
        return self._blocks("provider", 1)

    @cached_property
    def terraform_blocks(self) -> list[Block]:
        return self._blocks("terraform", 0)

    @cached_property
    def module_calls(self) -> list[Block]:
        return self._blocks("module", 1)

    @cached_property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {b.name: b.body for b in self._blocks("variable", 1)}

    @cached_property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self._blocks("locals", 0):
            merged.update(block.attrs)
        return merged

    @cached_property
    def evaluator(self) -> Evaluator:
        return Evaluator(self.variables, self.locals)

    @cached_property
    def resources_by_type(self) -> dict[str, list[Block]]:
        grouped: dict[str, list[Block]] = {}
        for resource in self.resources:
            grouped.setdefault(resource.type, []).append(resource)
        return grouped

    def resources_of(self, *types: str) -> list[Block]:
        return [r for r in self.resources if r.type in types]

    def provider_config(self, name: str, alias: str | None) -> Block | None:
        for block in self.providers:
            block_alias = block.attrs.get("alias")
            if block.name == name and (block_alias or None) == alias:
                return block
        return None

    def location(self, file: str, line: int | None = None) -> str:
        where = join(self.path, file)
        return f"{where}:{line}" if line else where


def module_calls_note(module: ModuleView) -> tuple[str, list[dict[str, str]]]:
    """For a *not applicable* finding: the module calls whose resources this module's checks do not see,
    as a message suffix ("" when there are none) and as evidence."""
    calls = [
        {"module": call.address, "source": _source_text(call.attrs.get("source"))}
        for call in module.module_calls
    ]
    if not calls:
        return "", []
    listed = "; ".join(f"{c['module']}, source {c['source']}" for c in calls)
    plural = "s" if len(calls) > 1 else ""
    that = "those modules" if plural else "that module"
    note = f"; {len(calls)} module call{plural} ({listed}) not assessed — run Kitemark on {that}"
    return note, calls


def nothing_here(module: ModuleView, reason: str) -> Finding:
    """A *not applicable* finding for ``module`` that names the module calls it leaves unassessed."""
    note, calls = module_calls_note(module)
    return Finding(
        Status.NOT_APPLICABLE, module.path, reason + note, {"module_calls": calls} if calls else None
    )


def _source_text(raw: Any) -> str:
    return expression_text(raw).strip('"') if isinstance(raw, str) else "(none)"
