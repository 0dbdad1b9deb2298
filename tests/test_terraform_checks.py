"""TF-S3-001, TF-TAG-001 and TF-VER-001 on small modules, and the demo's expected results."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from kitemark.core import resources
from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import TargetSpec
from kitemark.core.model import Finding, Result, Status
from kitemark.targets.terraform.collect import collect, module_units
from kitemark.testing import MANDATORY_TAGS as MANDATORY
from kitemark.testing import default_inputs, hcl_map

load_checks()
INPUTS = default_inputs()


def run(check_id: str, tmp_path: Path, files: dict[str, str]) -> list[Finding]:
    """``check_id`` on one module, the target folder ``m``: its resources are ``m/<address>`` (the root
    module is named after its folder) and its locations are relative to ``m`` (``main.tf:1``)."""
    module = tmp_path / "m"
    module.mkdir(exist_ok=True)
    for name, text in files.items():
        (module / name).write_text(text)
    [unit] = module_units(collect(TargetSpec("terraform", "t", str(module))), INPUTS)
    return evaluate(check_function(check_id), unit, INPUTS)


def by_resource(findings: list[Finding]) -> dict[str, Finding]:
    return {f.resource: f for f in findings}


# ------------------------------------------------------------------------------------------- TF-S3-001

SSE = """
resource "aws_s3_bucket_server_side_encryption_configuration" "{name}" {{
  bucket = {ref}
  rule {{
    apply_server_side_encryption_by_default {{
      sse_algorithm = "aws:kms"
    }}
  }}
}}
"""


def pab(name: str, ref: str, **settings: str) -> str:
    values = {
        "block_public_acls": "true",
        "block_public_policy": "true",
        "ignore_public_acls": "true",
        "restrict_public_buckets": "true",
        **settings,
    }
    body = "".join(f"  {k} = {v}\n" for k, v in values.items() if v != "omit")
    return f'resource "aws_s3_bucket_public_access_block" "{name}" {{\n  bucket = {ref}\n{body}}}\n'


def test_s3_standalone_sse_with_count_index_and_bucket_attribute_passes(tmp_path: Path) -> None:
    tf = (
        'resource "aws_s3_bucket" "b" {\n  count = 1\n  bucket = "x"\n}\n'
        + SSE.format(name="b", ref="aws_s3_bucket.b[0].bucket")
        + pab("b", "aws_s3_bucket.b[count.index].id")
    )
    [finding] = run("TF-S3-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.PASSED, finding
    assert finding.resource == "m/aws_s3_bucket.b" and finding.where == "main.tf:1"
    assert finding.evidence["encryption"]["sse_algorithm"] == "aws:kms"


def test_s3_legacy_inline_encryption_counts(tmp_path: Path) -> None:
    tf = """
resource "aws_s3_bucket" "legacy" {
  bucket = "legacy"
  server_side_encryption_configuration {
    rule {
      apply_server_side_encryption_by_default {
        sse_algorithm = "AES256"
      }
    }
  }
}
""" + pab("legacy", "aws_s3_bucket.legacy.id")
    [finding] = run("TF-S3-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["encryption"]["source"] == "inline server_side_encryption_configuration"


def test_s3_one_of_four_public_access_settings_false_fails(tmp_path: Path) -> None:
    tf = (
        'resource "aws_s3_bucket" "b" {\n}\n'
        + SSE.format(name="b", ref="aws_s3_bucket.b.id")
        + pab("b", "aws_s3_bucket.b.id", ignore_public_acls="false", restrict_public_buckets="omit")
    )
    [finding] = run("TF-S3-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.FAILED
    settings = finding.evidence["public_access_block"]["settings"]
    assert settings == {
        "block_public_acls": True,
        "block_public_policy": True,
        "ignore_public_acls": False,
        "restrict_public_buckets": False,
    }
    assert "ignore_public_acls" in finding.message and "restrict_public_buckets" in finding.message
    assert "block_public_acls is" not in finding.message


def test_s3_missing_companions_fail_and_data_source_refs_do_not_count(tmp_path: Path) -> None:
    tf = 'resource "aws_s3_bucket" "b" {\n}\ndata "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n' + pab(
        "other", "data.aws_s3_bucket.b.id"
    )
    [finding] = run("TF-S3-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.FAILED
    assert finding.evidence["encryption"]["source"] is None
    assert finding.evidence["public_access_block"]["resource"] is None


def test_s3_unresolvable_setting_is_an_error_and_defaults_resolve(tmp_path: Path) -> None:
    tf = (
        'variable "strict" {\n  type = bool\n}\nvariable "on" {\n  default = true\n}\n'
        'resource "aws_s3_bucket" "b" {\n}\n'
        + SSE.format(name="b", ref="aws_s3_bucket.b.id")
        + pab("b", "aws_s3_bucket.b.id", block_public_acls="var.on", block_public_policy="var.strict")
    )
    [finding] = run("TF-S3-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.ERROR
    assert "var.strict" in finding.message
    assert finding.evidence["public_access_block"]["settings"]["block_public_acls"] is True


def test_s3_module_without_buckets_is_not_applicable(tmp_path: Path) -> None:
    [finding] = run("TF-S3-001", tmp_path, {"main.tf": 'resource "aws_sqs_queue" "q" {\n}\n'})
    assert finding.status is Status.NOT_APPLICABLE


# ------------------------------------------------------------------------------------------ TF-TAG-001


def test_tags_from_provider_default_tags_and_aliases(tmp_path: Path) -> None:
    tf = f"""
provider "aws" {{
  default_tags {{
    tags = {hcl_map(MANDATORY, "      ")}
  }}
}}
provider "aws" {{
  alias = "london"
  default_tags {{
    tags = {{ business-unit = "HQ" }}
  }}
}}
resource "aws_sqs_queue" "default" {{
}}
resource "aws_sqs_queue" "aliased" {{
  provider = aws.london
}}
resource "aws_iam_role_policy_attachment" "skip" {{
  role = "r"
}}
resource "random_id" "skip" {{
  byte_length = 4
}}
"""
    findings = by_resource(run("TF-TAG-001", tmp_path, {"main.tf": tf}))
    assert set(findings) == {"m/aws_sqs_queue.default", "m/aws_sqs_queue.aliased"}
    assert findings["m/aws_sqs_queue.default"].status is Status.PASSED
    assert "default_tags" in findings["m/aws_sqs_queue.default"].message
    aliased = findings["m/aws_sqs_queue.aliased"]
    assert aliased.status is Status.FAILED
    assert aliased.evidence["present"] == ["business-unit"]


def test_tags_through_locals_merge_and_variable_defaults(tmp_path: Path) -> None:
    half = dict(list(MANDATORY.items())[:4])
    tf = f"""
variable "team_name" {{
  type = string
}}
variable "extra" {{
  default = {hcl_map({k: v for k, v in MANDATORY.items() if k not in half and k != "owner"})}
}}
locals {{
  base = merge({hcl_map(half)}, {{ owner = var.team_name }})
}}
resource "aws_kms_key" "k" {{
  tags = merge(local.base, var.extra, {{ Name = "k-${{var.team_name}}" }})
}}
"""
    [finding] = run("TF-TAG-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.PASSED, finding
    assert finding.evidence["missing"] == []


def test_unresolved_tags_expression_is_an_error_naming_it(tmp_path: Path) -> None:
    tf = """
variable "tags" {
  type = map(string)
}
resource "aws_sqs_queue" "q" {
  tags = merge(var.tags, { Name = "q" })
}
resource "aws_sns_topic" "t" {
  tags = module.labels.tags
}
"""
    findings = by_resource(run("TF-TAG-001", tmp_path, {"main.tf": tf}))
    queue, topic = findings["m/aws_sqs_queue.q"], findings["m/aws_sns_topic.t"]
    assert queue.status is Status.ERROR and topic.status is Status.ERROR
    assert "merge(var.tags" in queue.message and "var.tags" in queue.message and "no default" in queue.message
    assert "module.labels.tags" in topic.message
    assert queue.where == "main.tf:5"


def test_unresolved_part_does_not_matter_when_every_tag_is_visible(tmp_path: Path) -> None:
    tf = f"""
variable "extra" {{
  type = map(string)
}}
resource "aws_sqs_queue" "q" {{
  tags = merge({hcl_map(MANDATORY)}, var.extra)
}}
"""
    [finding] = run("TF-TAG-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.PASSED
    assert finding.evidence["unresolved"]


def test_empty_tag_value_and_autoscaling_tag_blocks(tmp_path: Path) -> None:
    blocks = "".join(
        f'  tag {{\n    key = "{k}"\n    value = "{v}"\n    propagate_at_launch = true\n  }}\n'
        for k, v in MANDATORY.items()
    )
    tf = f"""
resource "aws_autoscaling_group" "asg" {{
  max_size = 1
{blocks}}}
resource "aws_sqs_queue" "q" {{
  tags = {hcl_map({**MANDATORY, "owner": ""})}
}}
"""
    findings = by_resource(run("TF-TAG-001", tmp_path, {"main.tf": tf}))
    assert findings["m/aws_autoscaling_group.asg"].status is Status.PASSED
    queue = findings["m/aws_sqs_queue.q"]
    assert queue.status is Status.FAILED and queue.evidence["empty"] == ["owner"]


def test_no_taggable_resources_is_not_applicable(tmp_path: Path) -> None:
    tf = 'resource "aws_s3_bucket_versioning" "v" {\n  bucket = "b"\n}\n'
    [finding] = run("TF-TAG-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.NOT_APPLICABLE


# Types the AWS provider gives no `tags` argument (so TF-TAG-001 must not fail them), and taggable types
# whose names look like glue (so it must not skip them): both checked against the provider's schemas.
UNTAGGABLE = (
    "aws_opensearch_domain_policy",
    "aws_elasticsearch_domain_policy",
    "aws_api_gateway_method",
    "aws_api_gateway_integration",
    "aws_api_gateway_resource",
    "aws_api_gateway_method_response",
    "aws_api_gateway_integration_response",
    "aws_api_gateway_deployment",
    "aws_lambda_alias",
    "aws_lambda_permission",
    "aws_kms_key_policy",
    "aws_kms_alias",
    "aws_cloudwatch_log_stream",
    "aws_cloudwatch_log_subscription_filter",
    "aws_iam_user_policy_attachment",
    "aws_iam_group_policy_attachment",
    "aws_iam_role_policy",
    "aws_iam_user_policy",
    "aws_route",
    "aws_route_table_association",
    "aws_security_group_rule",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_notification",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_ownership_controls",
    "aws_sns_topic_subscription",
    "aws_sns_topic_policy",
    "aws_sqs_queue_policy",
    "aws_ecr_lifecycle_policy",
    "aws_ecr_repository_policy",
    "aws_route53_record",
    # VPC IPAM, block public access and VPN glue (AWS provider docs: no `tags` argument).
    "aws_vpc_ipam_pool_cidr",
    "aws_vpc_ipam_preview_next_cidr",
    "aws_vpc_ipam_organization_admin_account",
    "aws_vpc_block_public_access_options",
    "aws_vpn_gateway_route_propagation",
    "aws_vpn_connection_route",
    "aws_vpc_endpoint_service_allowed_principal",
    "aws_vpc_endpoint_connection_accepter",
    "aws_vpc_endpoint_private_dns",
    "aws_vpc_endpoint_service_private_dns_verification",
    "aws_vpc_network_performance_metric_subscription",
    "aws_vpc_route_server_propagation",
)
TAGGABLE = (
    "aws_vpc_security_group_ingress_rule",
    "aws_vpc_security_group_egress_rule",
    "aws_eks_addon",
    "aws_elasticache_parameter_group",
    "aws_cloudwatch_event_rule",
    "aws_config_config_rule",
    "aws_wafv2_rule_group",
    "aws_lb_listener_rule",
    "aws_iam_policy",
    "aws_ec2_transit_gateway_vpc_attachment",
    "aws_eks_pod_identity_association",
    "aws_sqs_queue",
    "aws_vpc_ipam_pool_cidr_allocation",
    "aws_vpc_block_public_access_exclusion",
)


def _tagging_suite() -> Any:
    return sys.modules[check_function("TF-TAG-001").__module__]


def test_untaggable_types_are_skipped_and_taggable_ones_checked(tmp_path: Path) -> None:
    tf = "".join(f'resource "{t}" "x" {{\n  name = "x"\n}}\n' for t in UNTAGGABLE + TAGGABLE)
    findings = by_resource(run("TF-TAG-001", tmp_path, {"main.tf": tf}))
    assert set(findings) == {f"m/{t}.x" for t in TAGGABLE}
    assert {f.status for f in findings.values()} == {Status.FAILED}


@pytest.mark.parametrize("resource_type", UNTAGGABLE)
def test_untaggable_type(resource_type: str) -> None:
    assert not _tagging_suite().taggable_type(resource_type)


@pytest.mark.parametrize("resource_type", TAGGABLE)
def test_taggable_type(resource_type: str) -> None:
    assert _tagging_suite().taggable_type(resource_type)


def test_a_resource_written_with_tags_is_checked_whatever_its_type(tmp_path: Path) -> None:
    tf = 'resource "aws_example_widget_policy" "w" {\n  tags = { owner = "team" }\n}\n'
    [finding] = run("TF-TAG-001", tmp_path, {"main.tf": tf})
    assert finding.status is Status.FAILED and finding.resource == "m/aws_example_widget_policy.w"


def test_taggability_lists_are_consistent() -> None:
    suite = _tagging_suite()
    assert not suite.NON_TAGGABLE & suite.TAGGABLE_DESPITE_SUFFIX
    # An exception to the suffix rule that the rule would not catch anyway is a typo.
    assert all(t.endswith(suite.UNTAGGABLE_SUFFIXES) for t in suite.TAGGABLE_DESPITE_SUFFIX)
    # An explicit entry the suffix rule already covers only hides which rule applies.
    assert not [t for t in suite.NON_TAGGABLE if t.endswith(suite.UNTAGGABLE_SUFFIXES)]


# ------------------------------------------------------------------------------------------ TF-VER-001

VERSIONS = """terraform {
  required_version = ">= 1.2.5"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 4.0"
    }
    %s
  }
}
"""


def test_versions_pass_and_builtin_provider_needs_no_entry(tmp_path: Path) -> None:
    main = 'resource "aws_sqs_queue" "q" {\n}\nresource "terraform_data" "x" {\n}\n'
    [finding] = run("TF-VER-001", tmp_path, {"versions.tf": VERSIONS % "", "main.tf": main})
    assert finding.status is Status.PASSED, finding
    assert finding.where == "versions.tf:1"
    assert finding.evidence["required_providers"]["aws"]["version"] == ">= 4.0"


def test_versions_found_outside_versions_tf_are_accepted_and_named(tmp_path: Path) -> None:
    [finding] = run("TF-VER-001", tmp_path, {"main.tf": VERSIONS % 'random = "~> 3.0"'})
    assert finding.status is Status.PASSED
    assert "declared in main.tf (convention: versions.tf)" in finding.message
    assert finding.evidence["required_version_in"] == "main.tf:1"
    assert finding.evidence["required_providers"]["random"]["version"] == "~> 3.0"


def test_provider_used_but_not_required_fails(tmp_path: Path) -> None:
    main = 'data "http" "x" {\n  url = "https://example.org"\n}\nresource "aws_sqs_queue" "q" {\n}\n'
    [finding] = run("TF-VER-001", tmp_path, {"versions.tf": VERSIONS % "", "main.tf": main})
    assert finding.status is Status.FAILED
    assert "provider http is used by data.http.x (main.tf:1)" in finding.message
    assert finding.evidence["providers_used"] == ["aws", "http"]


def test_missing_required_version_and_unversioned_provider_fail(tmp_path: Path) -> None:
    tf = 'terraform {\n  required_providers {\n    aws = {\n      source = "hashicorp/aws"\n    }\n  }\n}\n'
    [finding] = run("TF-VER-001", tmp_path, {"versions.tf": tf})
    assert finding.status is Status.FAILED
    assert finding.evidence["problems"] == [
        "no terraform { required_version } in any file",
        "required_providers.aws has no version constraint",
    ]


# ---------------------------------------------------------------------------------------------- demo


def test_demo_statuses() -> None:
    inventory = collect(TargetSpec("terraform", "demo", str(resources.demo_dir() / "terraform")))
    assert inventory["errors"] == []
    results: dict[tuple[str, str], Result] = {}
    for unit in module_units(inventory, INPUTS):
        for check_id in ("TF-S3-001", "TF-TAG-001", "TF-VER-001"):
            findings = evaluate(check_function(check_id), unit, INPUTS)
            results[check_id, unit.id] = Result(check_id, unit.target, unit.id, findings)
    good, bad = "terraform:demo/s3-bucket-compliant", "terraform:demo/rds-and-s3-noncompliant"
    assert {k: r.status for k, r in results.items()} == {
        ("TF-S3-001", good): Status.PASSED,
        ("TF-TAG-001", good): Status.PASSED,
        ("TF-VER-001", good): Status.PASSED,
        ("TF-S3-001", bad): Status.FAILED,
        ("TF-TAG-001", bad): Status.FAILED,
        ("TF-VER-001", bad): Status.FAILED,
    }
    tags = {f.resource: f.status for f in results["TF-TAG-001", bad].findings}
    assert tags == {
        "rds-and-s3-noncompliant/aws_db_instance.reporting": Status.FAILED,
        "rds-and-s3-noncompliant/aws_s3_bucket.exports": Status.FAILED,
        "rds-and-s3-noncompliant/aws_security_group.reporting": Status.PASSED,
    }
    good_tags = {f.resource for f in results["TF-TAG-001", good].findings}
    assert good_tags == {"s3-bucket-compliant/aws_kms_key.bucket", "s3-bucket-compliant/aws_s3_bucket.bucket"}
    [bucket] = results["TF-S3-001", bad].findings
    assert bucket.evidence["public_access_block"]["resource"] is None
    sse = "aws_s3_bucket_server_side_encryption_configuration.exports"
    assert bucket.evidence["encryption"]["source"] == sse
