"""What the terraform checks conclude from partly known values: known tag names with unknown values are
a verdict, an unknown set of keys is an error only when it could hold a missing tag; findings say which
overridable variable defaults they depend on; the mandatory tags are an input; every check says what it
reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from kitemark.core.catalog import Catalogue
from kitemark.core.errors import UsageError
from kitemark.core.model import Finding, Status
from kitemark.testing import MANDATORY_TAGS as MANDATORY
from kitemark.testing import hcl_map, run_check

TF_CHECKS = ("TF-S3-001", "TF-TAG-001", "TF-VER-001")


def run(check_id: str, tmp_path: Path, files: dict[str, str], **inputs: object) -> dict[str, Finding]:
    module = tmp_path / "m"
    module.mkdir(exist_ok=True)
    for name, text in files.items():
        (module / name).write_text(text)
    found = run_check(check_id, module, inputs=inputs or None)
    return {f.resource: f for findings in found.values() for f in findings}


# ------------------------------------------------------------------------------- known keys, unknown values


def test_known_tag_names_with_unknown_values_pass(tmp_path: Path) -> None:
    variables = "".join(f'variable "{k.replace("-", "_")}" {{\n  type = string\n}}\n' for k in MANDATORY)
    tags = "{\n" + "".join(f"    {k} = var.{k.replace('-', '_')}\n" for k in MANDATORY) + "  }"
    tf = variables + f'resource "aws_sqs_queue" "q" {{\n  tags = {tags}\n}}\n'
    finding = run("TF-TAG-001", tmp_path, {"main.tf": tf})["m/aws_sqs_queue.q"]
    assert finding.status is Status.PASSED, finding
    unresolved = finding.evidence["unresolved_values"]
    assert set(unresolved) == set(MANDATORY)
    assert "var.business_unit" in unresolved["business-unit"] and "no default" in unresolved["business-unit"]


def test_an_unknown_set_of_keys_is_an_error(tmp_path: Path) -> None:
    tf = 'variable "tags" {\n  type = map(string)\n}\nresource "aws_sqs_queue" "q" {\n  tags = var.tags\n}\n'
    finding = run("TF-TAG-001", tmp_path, {"main.tf": tf})["m/aws_sqs_queue.q"]
    assert finding.status is Status.ERROR, finding
    assert "var.tags" in finding.message


def test_merge_with_an_unknown_map_errors_only_for_the_tags_it_could_supply(tmp_path: Path) -> None:
    known = {k: v for k, v in MANDATORY.items() if k not in ("owner", "namespace")}
    tf = (
        'variable "extra" {\n  type = map(string)\n}\nvariable "cluster" {\n  type = string\n}\n'
        f"locals {{\n  known = {hcl_map(known)}\n}}\n"
        'resource "aws_sqs_queue" "open" {\n  tags = merge(local.known, var.extra)\n}\n'
        # A key whose template has a fixed prefix can never be a missing mandatory tag.
        'resource "aws_sqs_queue" "closed" {\n'
        '  tags = merge(local.known, { "kubernetes.io/cluster/${var.cluster}" = "owned" })\n}\n'
    )
    found = run("TF-TAG-001", tmp_path, {"main.tf": tf})
    open_, closed = found["m/aws_sqs_queue.open"], found["m/aws_sqs_queue.closed"]
    assert open_.status is Status.ERROR, open_
    assert "owner" in open_.message and "var.extra" in open_.message
    assert closed.status is Status.FAILED, closed
    assert closed.evidence["missing"] == ["owner", "namespace"]
    assert closed.evidence["unresolved"]  # the unknown key is still said


def test_a_certain_gap_fails_even_beside_an_uncertain_one(tmp_path: Path) -> None:
    known = {k: v for k, v in MANDATORY.items() if k not in ("owner", "namespace")}
    tf = (
        'variable "team" {\n  type = string\n}\n'
        'resource "aws_sqs_queue" "q" {\n'
        f'  tags = merge({hcl_map(known)}, {{ "team-${{var.team}}" = "x" }})\n}}\n'
    )
    finding = run("TF-TAG-001", tmp_path, {"main.tf": tf})["m/aws_sqs_queue.q"]
    # `team-…` could never be `owner` or `namespace`: both are certainly missing.
    assert finding.status is Status.FAILED, finding


def test_template_keys_resolve_when_their_parts_are_known(tmp_path: Path) -> None:
    tf = (
        'variable "name" {\n  default = "main"\n}\n'
        f'resource "aws_vpc" "v" {{\n  tags = merge({hcl_map(MANDATORY)}, '
        '{ "kubernetes.io/cluster/${var.name}" = "owned" })\n}\n'
    )
    finding = run("TF-TAG-001", tmp_path, {"main.tf": tf})["m/aws_vpc.v"]
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["values"]["kubernetes.io/cluster/main"] == "owned"
    assert "unresolved" not in finding.evidence


# ---------------------------------------------------------------------------- dependence on defaults


PAB = """
resource "aws_s3_bucket" "b" {{
  bucket = "b"
}}
resource "aws_s3_bucket_server_side_encryption_configuration" "b" {{
  bucket = aws_s3_bucket.b.id
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm = "aws:kms"
    }}
  }}
}}
resource "aws_s3_bucket_public_access_block" "b" {{
  count                   = var.create ? 1 : 0
  bucket                  = aws_s3_bucket.b.id
  block_public_acls       = var.block
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}}
"""


def test_s3_verdict_says_which_defaults_it_depends_on(tmp_path: Path) -> None:
    variables = 'variable "create" {\n  default = true\n}\n\nvariable "block" {\n  default = true\n}\n'
    finding = run("TF-S3-001", tmp_path, {"variables.tf": variables, "main.tf": PAB.format()})[
        "m/aws_s3_bucket.b"
    ]
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["depends_on_defaults"] == [
        "var.create = true (variables.tf:1)",
        "var.block = true (variables.tf:5)",
    ]
    assert "defaults" in finding.message


def test_s3_failure_from_a_default_says_so(tmp_path: Path) -> None:
    variables = 'variable "create" {\n  default = true\n}\nvariable "block" {\n  default = false\n}\n'
    finding = run("TF-S3-001", tmp_path, {"variables.tf": variables, "main.tf": PAB.format()})[
        "m/aws_s3_bucket.b"
    ]
    assert finding.status is Status.FAILED, finding
    assert "var.block = false (variables.tf:4)" in finding.evidence["depends_on_defaults"]


def test_no_defaults_no_claim(tmp_path: Path) -> None:
    tf = PAB.format().replace("var.create ? 1 : 0", "1").replace("var.block", "true")
    finding = run("TF-S3-001", tmp_path, {"main.tf": tf})["m/aws_s3_bucket.b"]
    assert finding.status is Status.PASSED, finding
    assert "depends_on_defaults" not in finding.evidence


def test_tags_from_a_variable_default_say_so(tmp_path: Path) -> None:
    tf = f'variable "tags" {{\n  default = {hcl_map(MANDATORY)}\n}}\n'
    tf += "locals {\n  tags = var.tags\n}\n"
    tf += "".join(f'resource "aws_sqs_queue" "{n}" {{\n  tags = local.tags\n}}\n' for n in ("a", "b"))
    found = run("TF-TAG-001", tmp_path, {"main.tf": tf})
    for name in ("a", "b"):  # a local's dependence is remembered when its value is cached
        finding = found[f"m/aws_sqs_queue.{name}"]
        assert finding.status is Status.PASSED, finding
        [entry] = finding.evidence["depends_on_defaults"]
        assert entry.startswith('var.tags = {"business-unit": "HQ"') and entry.endswith(" (main.tf:1)")


# ------------------------------------------------------------------------------------- inputs and reads


def test_mandatory_tags_are_an_input(tmp_path: Path) -> None:
    tf = 'resource "aws_sqs_queue" "q" {\n  tags = { owner = "team", cost-centre = "42" }\n}\n'
    default = run("TF-TAG-001", tmp_path, {"main.tf": tf})["m/aws_sqs_queue.q"]
    assert default.status is Status.FAILED
    custom = run("TF-TAG-001", tmp_path, {"main.tf": tf}, mandatory_tags=["owner", "cost-centre"])
    finding = custom["m/aws_sqs_queue.q"]
    assert finding.status is Status.PASSED, finding
    assert "all 2 mandatory tags" in finding.message


def test_mandatory_tags_input_is_validated() -> None:
    registry = Catalogue.load().inputs
    assert registry.get("mandatory_tags").default == list(MANDATORY)
    for bad in ([""], "owner", [1], []):
        with pytest.raises(UsageError, match="mandatory_tags"):
            registry.resolve({"mandatory_tags": bad})


def test_every_terraform_check_declares_what_it_reads() -> None:
    checks = Catalogue.load().checks
    assert "aws_s3_bucket_public_access_block" in checks["TF-S3-001"].reads
    assert "provider" in checks["TF-TAG-001"].reads and "module" in checks["TF-TAG-001"].reads
    assert "terraform" in checks["TF-VER-001"].reads
    assert {cid for cid, c in checks.items() if c.kind == "terraform"} == set(TF_CHECKS)
