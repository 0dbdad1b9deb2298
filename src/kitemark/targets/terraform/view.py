"""The Terraform module view checks read: ``ModuleView`` builds one module's ``Block``s (resources, data
sources, providers, module calls, ``terraform`` blocks), variables, locals and a static ``Evaluator`` on
demand from the inventory's JSON form. ``ModuleView.callers`` are the calls of this module from other
modules of the target (linked by ``calls.link_calls``), through which ``provider_sources`` finds the
provider configuration a resource gets, as Terraform passes it down. Also here: ``join`` for
module-relative paths, ``BUILTIN_PROVIDERS``, ``nothing_here`` (a *not applicable* finding naming the
module calls a module's checks leave unassessed) and ``state_defaults`` (what a finding says about the
variable defaults its verdict rests on).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kitemark.core.model import Finding, Status
from kitemark.targets.terraform.hcl_values import DefaultUse, Evaluator, expression_text, strip_meta

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
    module_path: str  # the module's name (identities)
    module_dir: str = "."  # its folder relative to the target folder (locations)

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
        """``file:line`` relative to the target folder, where the block really is."""
        where = join(self.module_dir, self.file)
        return f"{where}:{self.line}" if self.line else where

    @property
    def label(self) -> str:
        """A provider configuration's name as references write it: ``provider aws.london``."""
        alias = self.attrs.get("alias")
        suffix = f".{alias}" if isinstance(alias, str) and alias else ""
        return f"provider {self.name}{suffix}"

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


@dataclass(frozen=True)
class ModuleCall:
    """A ``module "x" { source = "./..." }`` block of ``caller`` that calls a module of the same target."""

    caller: ModuleView
    block: Block

    @property
    def label(self) -> str:
        return f"{self.block.address} in {self.caller.path} ({self.block.location})"

    def passes(self, name: str, alias: str | None) -> tuple[str, str | None] | None:
        """The caller's provider configuration the callee knows as ``name``/``alias``, or None when the
        call passes none: without a ``providers`` map only default (unaliased) configurations are
        inherited; with one, only those it lists."""
        providers = self.block.attrs.get("providers")
        if providers is None:
            return (name, None) if alias is None else None
        if not isinstance(providers, dict):
            return None
        raw = providers.get(f"{name}.{alias}" if alias else name)
        if not isinstance(raw, str):
            return None
        local, _, caller_alias = expression_text(raw).strip('"').partition(".")
        return local, caller_alias or None


@dataclass(frozen=True)
class ProviderSource:
    """Where a resource's provider configuration comes from on one path of calls: ``config`` (None when
    that path gives none) in ``module``, whose scope its expressions are evaluated in; ``call`` is the call
    into the assessed module this path goes through (None for the module's own configuration);
    ``not_passed`` is set when a call on the path does not pass the configuration down."""

    config: Block | None
    module: ModuleView
    call: ModuleCall | None = None
    not_passed: ModuleCall | None = None

    @property
    def origin(self) -> str:
        """``root module infra`` / ``caller module a``: who supplied an inherited configuration."""
        if self.call is None:
            return ""
        return f"{'caller' if self.module.callers else 'root'} module {self.module.path}"


class ModuleView:
    """What checks read: one module's blocks, built on demand from the inventory's JSON form."""

    def __init__(self, module: dict[str, Any], target: str = "") -> None:
        self.path: str = module["path"]
        # The module's directory relative to the target ("." for the target itself): local module
        # sources are resolved against it.
        self.dir: str = module.get("dir", self.path)
        self.files: dict[str, Any] = module["files"]
        self.target = target
        self.callers: list[ModuleCall] = []
        self.calls_in_target: dict[str, str] = {}  # call name -> the module path it resolves to
        self._provider_sources: dict[tuple[str, str | None], list[ProviderSource]] = {}

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
        return Block(kind, type_, name, filename, body.get("__start_line__"), body, self.path, self.dir)

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
    def _variable_blocks(self) -> list[Block]:
        return self._blocks("variable", 1)

    @cached_property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {b.name: b.body for b in self._variable_blocks}

    @cached_property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self._blocks("locals", 0):
            merged.update(block.attrs)
        return merged

    @cached_property
    def evaluator(self) -> Evaluator:
        origins = {b.name: b.location for b in self._variable_blocks}
        return Evaluator(self.variables, self.locals, origins=origins, owner=self.path)

    def resources_of(self, *types: str) -> list[Block]:
        return [r for r in self.resources if r.type in types]

    def provider_config(self, name: str, alias: str | None) -> Block | None:
        for block in self.providers:
            block_alias = block.attrs.get("alias")
            if block.name == name and (block_alias or None) == alias:
                return block
        return None

    def location(self, file: str, line: int | None = None) -> str:
        """``file:line`` relative to the target folder."""
        where = join(self.dir, file)
        return f"{where}:{line}" if line else where

    def provider_sources(self, name: str, alias: str | None) -> list[ProviderSource]:
        """The provider configuration ``name``/``alias`` is on every path of calls into this module: its
        own ``provider`` block if it has one (it wins); else what each caller passes down, followed up
        the chain; a module no module of the target calls has only its own (maybe none)."""
        key = (name, alias)
        if key not in self._provider_sources:
            self._provider_sources[key] = _dedupe(self._sources(name, alias, frozenset()))
        return self._provider_sources[key]

    def _sources(self, name: str, alias: str | None, seen: frozenset[str]) -> list[ProviderSource]:
        own = self.provider_config(name, alias)
        callers = [c for c in self.callers if c.caller.path not in seen]  # a cycle is not Terraform
        if own is not None or not callers:
            return [ProviderSource(own, self)]
        found: list[ProviderSource] = []
        for call in callers:
            passed = call.passes(name, alias)
            if passed is None:
                found.append(ProviderSource(None, call.caller, call, not_passed=call))
                continue
            upstream = call.caller._sources(*passed, seen | {self.path})
            found.extend(ProviderSource(s.config, s.module, call, s.not_passed) for s in upstream)
        return found


def state_defaults(finding: Finding, module: ModuleView, uses: list[DefaultUse]) -> Finding:
    """Say in ``finding`` which variable defaults its verdict rests on (evidence ``depends_on_defaults``
    and a message note), and which of them a caller in the target overrides with an argument of its own
    (``callers_override``): arguments are not evaluated yet, so such a verdict may not hold there."""
    if not uses:
        return finding
    evidence = finding.evidence if isinstance(finding.evidence, dict) else {}
    evidence["depends_on_defaults"] = [str(u) for u in uses]
    overridden: dict[str, list[str]] = {}
    for use in uses:
        passing = [c.label for c in module.callers if use.owner == module.path and use.name in c.block.attrs]
        if passing:
            overridden[f"var.{use.name}"] = passing
    names = list(dict.fromkeys(f"var.{u.name}" for u in uses))
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    note = f"given the default{'s' if len(names) > 1 else ''} of {shown}"
    if overridden:
        evidence["callers_override"] = overridden
        first, callers = next(iter(overridden.items()))
        who = callers[0].split(" (", 1)[0]
        more = f" (and {len(overridden) - 1} more)" if len(overridden) > 1 else ""
        note += f"; {who} passes its own {first}{more}, not evaluated here"
    finding.evidence = evidence
    finding.message += f" ({note})"
    return finding


def _dedupe(sources: list[ProviderSource]) -> list[ProviderSource]:
    """One source per configuration (and per caller passing none): two paths to the same root's
    provider block evaluate it the same way."""
    out: dict[tuple[str, str], ProviderSource] = {}
    for source in sources:
        call = source.call.label if source.call else ""
        key = (source.module.path, source.config.location if source.config else f"none via {call}")
        out.setdefault(key, source)
    return list(out.values())


def nothing_here(module: ModuleView, reason: str) -> Finding:
    """A *not applicable* finding for ``module`` that names the module calls it leaves unassessed: those
    whose source is not a module of this target (a module of the target is a unit of its own)."""
    calls = [
        {"module": call.address, "source": _source_text(call.attrs.get("source"))}
        for call in module.module_calls
        if call.name not in module.calls_in_target
    ]
    if not calls:
        return Finding(Status.NOT_APPLICABLE, module.path, reason)
    listed = "; ".join(f"{c['module']}, source {c['source']}" for c in calls)
    plural = "s" if len(calls) > 1 else ""
    that = "those modules" if plural else "that module"
    note = f"; {len(calls)} module call{plural} ({listed}) not assessed — run Kitemark on {that}"
    return Finding(Status.NOT_APPLICABLE, module.path, reason + note, {"module_calls": calls})


def _source_text(raw: Any) -> str:
    return expression_text(raw).strip('"') if isinstance(raw, str) else "(none)"
