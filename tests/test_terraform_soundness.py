"""TF-S3-001 and TF-TAG-001 never pass (or fail) what the static evaluator cannot establish: per-instance
bucket names, count/for_each on companions, dynamic blocks, tag precedence, module calls."""

from __future__ import annotations

from pathlib import Path

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate, registered
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Status
from kitemark.core.redaction import marker
from kitemark.targets.terraform.collect import collect, module_units
from kitemark.targets.terraform.hcl_values import Evaluator, Unknown
from kitemark.testing import MANDATORY_TAGS as MANDATORY
from kitemark.testing import default_inputs, hcl_map

load_checks()
INPUTS = default_inputs()


def run(check_id: str, tmp_path: Path, tf: str) -> list[Finding]:
    (tmp_path / "main.tf").write_text(tf)
    [unit] = module_units(collect(TargetSpec("terraform", "t", str(tmp_path))), INPUTS)
    return evaluate(check_function(check_id), unit, INPUTS)


def sse(name: str, ref: str, algorithm: str = '"aws:kms"', meta: str = "") -> str:
    return f"""
resource "aws_s3_bucket_server_side_encryption_configuration" "{name}" {{
  {meta}
  bucket = {ref}
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm = {algorithm}
    }}
  }}
}}
"""


def pab(name: str, ref: str, meta: str = "") -> str:
    settings = "".join(
        f"  {k} = true\n"
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    head = f'resource "aws_s3_bucket_public_access_block" "{name}" {{\n  {meta}\n'
    return f"{head}  bucket = {ref}\n{settings}}}\n"


BUCKET = 'resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n'


# ---------------------------------------------------------------------------------- 1. per-instance names


def test_for_each_bucket_is_not_credited_with_another_for_each_sets_protection(tmp_path: Path) -> None:
    tf = (
        'variable "public_buckets" {\n  default = ["pub"]\n}\n'
        'variable "private_buckets" {\n  default = ["priv"]\n}\n'
        'resource "aws_s3_bucket" "public" {\n'
        "  for_each = toset(var.public_buckets)\n  bucket = each.value\n}\n"
        + sse("p", "each.value", meta="for_each = toset(var.private_buckets)")
        + pab("p", "each.value", meta="for_each = toset(var.private_buckets)")
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.FAILED, finding
    assert finding.evidence["encryption"]["source"] is None
    assert finding.evidence["public_access_block"]["resource"] is None


def test_same_for_each_and_same_per_instance_name_is_the_same_bucket(tmp_path: Path) -> None:
    meta = "for_each = toset(var.names)"
    tf = (
        'variable "names" {\n  default = ["a", "b"]\n}\n'
        f'resource "aws_s3_bucket" "b" {{\n  {meta}\n  bucket = each.value\n}}\n'
        + sse("b", "each.value", meta=meta)
        + pab("b", "aws_s3_bucket.b[each.key].id", meta=meta)
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding


def test_literal_bucket_name_still_matches(tmp_path: Path) -> None:
    tf = BUCKET + sse("x", '"b"') + pab("x", '"b"')
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding


# ---------------------------------------------------------------------------- 2. count/for_each on companions


def test_public_access_block_with_count_zero_by_default_is_absent(tmp_path: Path) -> None:
    tf = (
        'variable "block_public" {\n  default = false\n}\n'
        + BUCKET
        + sse("b", "aws_s3_bucket.b.id")
        + pab("b", "aws_s3_bucket.b.id", meta="count = var.block_public ? 1 : 0")
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.FAILED, finding
    assert "aws_s3_bucket_public_access_block.b" in finding.message and "count" in finding.message
    assert finding.evidence["public_access_block"]["resource"] is None


def test_public_access_block_with_count_from_a_true_default_is_present(tmp_path: Path) -> None:
    tf = (
        'variable "block_public" {\n  default = true\n}\n'
        + BUCKET
        + sse("b", "aws_s3_bucket.b.id", meta='for_each = toset(["one"])')
        + pab("b", "aws_s3_bucket.b.id", meta="count = var.block_public ? 1 : 0")
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding


def test_unresolvable_count_on_a_companion_is_an_error_naming_it(tmp_path: Path) -> None:
    tf = (
        'variable "block_public" {\n  type = bool\n}\n'
        + BUCKET
        + sse("b", "aws_s3_bucket.b.id")
        + pab("b", "aws_s3_bucket.b.id", meta="count = var.block_public ? 1 : 0")
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.ERROR, finding
    assert "cannot tell whether aws_s3_bucket_public_access_block.b is created" in finding.message
    assert "count = var.block_public ? 1 : 0" in finding.message


def test_empty_for_each_on_encryption_is_absent(tmp_path: Path) -> None:
    tf = BUCKET + sse("b", "aws_s3_bucket.b.id", meta="for_each = {}") + pab("b", "aws_s3_bucket.b.id")
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.FAILED, finding
    assert finding.evidence["encryption"]["state"] == "none"


def test_companion_created_with_the_bucket_under_the_same_count(tmp_path: Path) -> None:
    # count = 0 by default on all three: whenever the bucket exists, so do its companions.
    meta = "count = var.create ? 1 : 0"
    tf = (
        'variable "create" {\n  default = false\n}\n'
        f'resource "aws_s3_bucket" "b" {{\n  {meta}\n  bucket = "b"\n}}\n'
        + sse("b", "aws_s3_bucket.b[0].id", meta=meta)
        + pab("b", "aws_s3_bucket.b[0].id", meta=meta)
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding


# ------------------------------------------------------------------------------------------ 3. dynamic blocks

DYNAMIC_SSE = """
resource "aws_s3_bucket_server_side_encryption_configuration" "b" {{
  bucket = aws_s3_bucket.b.id
  dynamic "rule" {{
    for_each = {for_each}
    content {{
      apply_server_side_encryption_by_default {{
        sse_algorithm = {algorithm}
      }}
    }}
  }}
}}
"""


def test_dynamic_encryption_rule_is_read(tmp_path: Path) -> None:
    tf = BUCKET + DYNAMIC_SSE.format(for_each="[1]", algorithm='"aws:kms"') + pab("b", "aws_s3_bucket.b.id")
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["encryption"]["sse_algorithm"] == "aws:kms"


def test_dynamic_encryption_rule_uses_its_iterator(tmp_path: Path) -> None:
    for_each = '{ main = { algorithm = "AES256" } }'
    tf = BUCKET + DYNAMIC_SSE.format(for_each=for_each, algorithm="rule.value.algorithm")
    [finding] = run("TF-S3-001", tmp_path, tf + pab("b", "aws_s3_bucket.b.id"))
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["encryption"]["sse_algorithm"] == "AES256"


def test_dynamic_encryption_rule_with_unresolved_for_each_is_an_error(tmp_path: Path) -> None:
    tf = (
        'variable "rules" {\n  type = list(any)\n}\n'
        + BUCKET
        + DYNAMIC_SSE.format(for_each="var.rules", algorithm='"aws:kms"')
        + pab("b", "aws_s3_bucket.b.id")
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.ERROR, finding
    assert "var.rules" in finding.message


def test_dynamic_encryption_rule_with_empty_for_each_generates_nothing(tmp_path: Path) -> None:
    tf = BUCKET + DYNAMIC_SSE.format(for_each="[]", algorithm='"aws:kms"') + pab("b", "aws_s3_bucket.b.id")
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.FAILED, finding
    assert "sets no sse_algorithm" in finding.message


DYNAMIC_TAGS = """
resource "aws_autoscaling_group" "asg" {{
  max_size = 1
  dynamic "tag" {{
    for_each = {for_each}
    content {{
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }}
  }}
}}
"""


def test_dynamic_autoscaling_tags_resolve_from_a_local_map(tmp_path: Path) -> None:
    tf = f"locals {{\n  tags = {hcl_map(MANDATORY)}\n}}\n" + DYNAMIC_TAGS.format(for_each="local.tags")
    [finding] = run("TF-TAG-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["values"]["owner"] == "team"


def test_dynamic_autoscaling_tags_with_a_custom_iterator(tmp_path: Path) -> None:
    tf = f"""
locals {{
  tags = {hcl_map({**MANDATORY, "owner": ""})}
}}
resource "aws_autoscaling_group" "asg" {{
  dynamic "tag" {{
    for_each = local.tags
    iterator = t
    content {{
      key   = t.key
      value = t.value
    }}
  }}
}}
"""
    [finding] = run("TF-TAG-001", tmp_path, tf)
    assert finding.status is Status.FAILED, finding
    assert finding.evidence["empty"] == ["owner"] and finding.evidence["missing"] == []


def test_dynamic_autoscaling_tags_from_an_unresolved_map_are_an_error(tmp_path: Path) -> None:
    tf = 'variable "tags" {\n  type = map(string)\n}\n' + DYNAMIC_TAGS.format(for_each="var.tags")
    [finding] = run("TF-TAG-001", tmp_path, tf)
    assert finding.status is Status.ERROR, finding
    assert "var.tags" in finding.message


# ------------------------------------------------------------------------------------------ 4. mutation gaps


def test_resource_tags_override_default_tags(tmp_path: Path) -> None:
    def module(default_owner: str, resource_owner: str) -> str:
        return f"""
provider "aws" {{
  default_tags {{
    tags = {hcl_map({**MANDATORY, "owner": default_owner})}
  }}
}}
resource "aws_sqs_queue" "q" {{
  tags = {{ owner = "{resource_owner}" }}
}}
"""

    [overridden] = run("TF-TAG-001", tmp_path, module("team", ""))
    assert overridden.status is Status.FAILED, overridden
    assert overridden.evidence["empty"] == ["owner"] and overridden.evidence["values"]["owner"] == ""
    [fixed] = run("TF-TAG-001", tmp_path, module("", "team"))
    assert fixed.status is Status.PASSED, fixed


def test_unresolved_sse_algorithm_is_an_error(tmp_path: Path) -> None:
    tf = 'variable "x" {\n  type = string\n}\n' + BUCKET + sse("b", "aws_s3_bucket.b.id", "var.x")
    [finding] = run("TF-S3-001", tmp_path, tf + pab("b", "aws_s3_bucket.b.id"))
    assert finding.status is Status.ERROR, finding
    assert "var.x" in finding.message
    assert finding.evidence["encryption"]["state"] == "unresolved"


# ---------------------------------------------------------------------------------- 5. evidence and wording


def test_tag_evidence_lists_values_and_keeps_redactions(tmp_path: Path) -> None:
    tf = f'resource "aws_sqs_queue" "q" {{\n  tags = {hcl_map({**MANDATORY, "api_token": "s3cr3t"})}\n}}\n'
    [finding] = run("TF-TAG-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["values"] == {**MANDATORY, "api_token": marker("s3cr3t")}
    assert "s3cr3t" not in repr(finding.evidence)


def test_s3_wording_asks_for_an_explicit_configuration(tmp_path: Path) -> None:
    [finding] = run("TF-S3-001", tmp_path, BUCKET + pab("b", "aws_s3_bucket.b.id"))
    assert finding.status is Status.FAILED
    assert "explicit" in finding.message and "unencrypted" not in finding.message
    rationale = registered()["TF-S3-001"].rationale
    assert "2023" in rationale and "explicit" in rationale


def test_not_applicable_names_module_calls(tmp_path: Path) -> None:
    # A registry source (a local one must name a module: see test_terraform_inputs).
    source = "terraform-aws-modules/s3-bucket/aws"
    tf = f'module "s3" {{\n  source = "{source}"\n}}\nresource "random_id" "r" {{\n  byte_length = 2\n}}\n'
    for check_id, what in (("TF-S3-001", "aws_s3_bucket resources"), ("TF-TAG-001", "taggable AWS")):
        [finding] = run(check_id, tmp_path, tf)
        assert finding.status is Status.NOT_APPLICABLE
        assert what in finding.message
        assert f"1 module call (module.s3, source {source}) not assessed" in finding.message
        assert finding.evidence["module_calls"] == [{"module": "module.s3", "source": source}]


def test_not_applicable_without_module_calls_says_nothing_about_them(tmp_path: Path) -> None:
    [finding] = run("TF-S3-001", tmp_path, 'resource "aws_sqs_queue" "q" {\n}\n')
    assert finding.status is Status.NOT_APPLICABLE and "module call" not in finding.message


# ---------------------------------------------------------------------------------- evaluator additions


def test_evaluator_toset_keys_length_and_bindings() -> None:
    ev = Evaluator({"names": {"default": ["a", "b", "a"]}, "unset": {}}, {})
    assert ev.value("${toset(var.names)}") == ["a", "b"]
    assert ev.value("${length(var.names)}") == 3
    assert ev.value("${keys({ b = 1, a = 2 })}") == ["a", "b"]
    assert isinstance(ev.value("${toset(var.unset)}"), Unknown)
    bound = ev.bind({"tag": {"key": "k", "value": "v"}})
    assert bound.value("${tag.key}-${tag.value}") == "k-v"
    assert isinstance(ev.value("${tag.key}"), Unknown)


def test_companions_iterating_over_the_buckets_themselves_protect_them(tmp_path: Path) -> None:
    # `for_each = aws_s3_bucket.this` with `bucket = each.value.id`: one companion per bucket instance.
    tf = (
        'locals {\n  buckets = { logs = "a-logs", data = "a-data" }\n}\n'
        'resource "aws_s3_bucket" "this" {\n  for_each = local.buckets\n  bucket = each.value\n}\n'
        + sse("this", "each.value.id", meta="for_each = aws_s3_bucket.this")
        + pab("this", "each.value.bucket", meta="for_each = aws_s3_bucket.this")
    )
    [finding] = run("TF-S3-001", tmp_path, tf)
    assert finding.status is Status.PASSED, finding
