"""Terraform modules pin the Terraform and provider versions (terraform target, module scope)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check, failed, passed
from kitemark.core.model import Finding
from kitemark.targets.terraform.hcl_values import strip_meta
from kitemark.targets.terraform.view import BUILTIN_PROVIDERS, Block, ModuleView

CONVENTIONAL_FILE = "versions.tf"


def _terraform_blocks(module: ModuleView) -> list[Block]:
    """The module's ``terraform {}`` blocks, those in versions.tf first."""
    return sorted(module.terraform_blocks, key=lambda b: (b.file != CONVENTIONAL_FILE, b.file, b.line or 0))


def _required_version(module: ModuleView) -> tuple[str | None, str | None]:
    """(constraint, where) of the first ``terraform { required_version }``."""
    for block in _terraform_blocks(module):
        value = block.attrs.get("required_version")
        if isinstance(value, str) and value.strip():
            return value, module.location(block.file, block.line)
    return None, None


def _required_providers(module: ModuleView) -> dict[str, dict[str, Any]]:
    """Local name -> {source, version, where}. The legacy ``aws = "~> 4.0"`` form is a version."""
    declared: dict[str, dict[str, Any]] = {}
    for block in module.terraform_blocks:
        for entry in block.attrs.get("required_providers") or []:
            if not isinstance(entry, dict):
                continue
            where = module.location(block.file, entry.get("__start_line__") or block.line)
            for name, spec in strip_meta(entry).items():
                if isinstance(spec, str):
                    declared[name] = {"version": spec, "where": where}
                else:
                    spec = spec if isinstance(spec, dict) else {}
                    source, constraint = spec.get("source"), spec.get("version")
                    declared[name] = {"source": source, "version": constraint, "where": where}
    return declared


def _providers_used(module: ModuleView) -> dict[str, str]:
    """Provider local name -> the first block (in file order) that needs it."""
    used: dict[str, str] = {}
    for block in [*module.resources, *module.data_sources]:
        used.setdefault(block.provider[0], f"{block.address} ({block.location})")
    for block in module.providers:
        used.setdefault(block.name, f"provider {block.name} ({block.location})")
    return {name: why for name, why in sorted(used.items()) if name not in BUILTIN_PROVIDERS}


def _fallback_location(module: ModuleView) -> str:
    """Where the finding points when no required_version exists: a terraform block, else versions.tf."""
    blocks = _terraform_blocks(module)
    if blocks:
        return module.location(blocks[0].file, blocks[0].line)
    files = sorted(module.files)
    return module.location(CONVENTIONAL_FILE if CONVENTIONAL_FILE in files or not files else files[0])


@check(
    "TF-VER-001",
    scope="terraform.module",
    title="Modules pin the Terraform version and every provider's version",
    severity="medium",
    rationale="""
        Without ``required_version`` a module can be applied with a Terraform release it was never
        tested with, and without a ``version`` for each provider in ``required_providers`` every
        ``terraform init`` may pull a new major provider release that changes or destroys
        resources. Declared constraints make upgrades deliberate and reviewable, and make the supply
        chain of the infrastructure code explicit. A provider used by resources but missing from
        ``required_providers`` is fetched unpinned from an implied source.
    """,
    remediation="""
        Add a ``versions.tf`` to the module declaring the Terraform version and a lower bound (or
        range) for every provider its resources and data sources use:

            terraform {
              required_version = ">= 1.2.5"
              required_providers {
                aws = {
                  source  = "hashicorp/aws"
                  version = ">= 4.0"
                }
              }
            }
    """,
    references=[
        "https://developer.hashicorp.com/terraform/language/terraform#terraform-required_version",
        "https://developer.hashicorp.com/terraform/language/providers/requirements",
        "https://github.com/terraform-linters/tflint-ruleset-terraform/blob/main/docs/rules/terraform_required_providers.md",
    ],
    reads=["terraform", "provider", "resource", "data"],
)
def test_versions_pinned(module: ModuleView) -> Iterator[Finding]:
    version, version_where = _required_version(module)
    declared = _required_providers(module)
    used = _providers_used(module)
    problems: list[str] = []
    if version is None:
        problems.append("no terraform { required_version } in any file")
    unpinned = sorted(n for n, spec in declared.items() if not str(spec.get("version") or "").strip())
    problems.extend(f"required_providers.{name} has no version constraint" for name in unpinned)
    undeclared = sorted(name for name in used if name not in declared)
    problems.extend(f"provider {n} is used by {used[n]} but not in required_providers" for n in undeclared)

    evidence: dict[str, Any] = {
        "required_version": version,
        "required_version_in": version_where,
        "required_providers": declared,
        "providers_used": sorted(used),
    }
    location = version_where or _fallback_location(module)
    if problems:
        evidence["problems"] = problems
        message = f"versions not pinned: {'; '.join(problems)}"
        yield failed(module.path, message, evidence=evidence, location=location)
        return
    where = version_where.rsplit(":", 1)[0] if version_where else ""
    conventional = where.rsplit("/", 1)[-1] == CONVENTIONAL_FILE
    note = "" if conventional else f", declared in {where} (convention: {CONVENTIONAL_FILE})"
    pins = ", ".join(f"{n} {s['version']}" for n, s in sorted(declared.items())) or "no providers"
    yield passed(
        module.path,
        f"required_version {version!r}{note}; provider constraints: {pins}",
        evidence=evidence,
        location=location,
    )
