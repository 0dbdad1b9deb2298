"""AWS resources declared in Terraform carry the MoJ mandatory tags (terraform target, module scope).

Tags are resolved statically (``kitemark.targets.hcl_values``): literal maps, ``merge(...)``,
``local.x``, ``var.x`` defaults and ``${...}`` strings. A tags expression that cannot be resolved makes
the finding *error* (not a pass, not a fail) and names the expression.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.checks import check, error, failed, not_applicable, passed
from kitemark.model import Finding
from kitemark.targets.hcl_values import PartialMap, Unknown, expression_text
from kitemark.targets.terraform import Block, ModuleView

MANDATORY_TAGS = (
    "business-unit",
    "application",
    "is-production",
    "owner",
    "namespace",
    "environment-name",
    "infrastructure-support",
)

# AWS resource types that take no `tags` argument: attachments, associations, policies, rules and the
# S3 bucket's companion configuration resources. A type missing from this list but written with a
# `tags` argument is still checked; extend the list when a new untaggable type shows up as a false fail.
NON_TAGGABLE = frozenset(
    {
        # S3 companions of aws_s3_bucket (AWS provider v4+)
        "aws_s3_account_public_access_block",
        "aws_s3_bucket_accelerate_configuration",
        "aws_s3_bucket_acl",
        "aws_s3_bucket_analytics_configuration",
        "aws_s3_bucket_cors_configuration",
        "aws_s3_bucket_intelligent_tiering_configuration",
        "aws_s3_bucket_inventory",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_metric",
        "aws_s3_bucket_notification",
        "aws_s3_bucket_object_lock_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_replication_configuration",
        "aws_s3_bucket_request_payment_configuration",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_website_configuration",
        # IAM attachments, inline policies, memberships and account settings
        "aws_iam_access_key",
        "aws_iam_account_alias",
        "aws_iam_account_password_policy",
        "aws_iam_group",
        "aws_iam_group_membership",
        "aws_iam_group_policy",
        "aws_iam_group_policy_attachment",
        "aws_iam_policy_attachment",
        "aws_iam_role_policy",
        "aws_iam_role_policy_attachment",
        "aws_iam_user_group_membership",
        "aws_iam_user_login_profile",
        "aws_iam_user_policy",
        "aws_iam_user_policy_attachment",
        # KMS, networking and DNS glue
        "aws_kms_alias",
        "aws_kms_grant",
        "aws_security_group_rule",
        "aws_network_acl_rule",
        "aws_route",
        "aws_route_table_association",
        "aws_main_route_table_association",
        "aws_vpc_endpoint_route_table_association",
        "aws_eip_association",
        "aws_volume_attachment",
        "aws_route53_record",
        "aws_acm_certificate_validation",
        "aws_lb_target_group_attachment",
        "aws_lb_listener_certificate",
        "aws_autoscaling_attachment",
        "aws_autoscaling_policy",
        "aws_appautoscaling_policy",
        # RDS, messaging, logging, containers, secrets
        "aws_db_instance_role_association",
        "aws_rds_cluster_role_association",
        "aws_sns_topic_policy",
        "aws_sns_topic_subscription",
        "aws_sqs_queue_policy",
        "aws_sqs_queue_redrive_policy",
        "aws_lambda_permission",
        "aws_cloudwatch_event_target",
        "aws_cloudwatch_log_metric_filter",
        "aws_cloudwatch_log_resource_policy",
        "aws_cloudwatch_log_subscription_filter",
        "aws_ecr_lifecycle_policy",
        "aws_ecr_repository_policy",
        "aws_secretsmanager_secret_policy",
        "aws_secretsmanager_secret_rotation",
        "aws_secretsmanager_secret_version",
        "aws_dynamodb_table_item",
        "aws_cloudfront_origin_access_identity",
        "aws_cloudfront_origin_access_control",
        "aws_cognito_user_pool_client",
        "aws_cognito_user_pool_domain",
        "aws_elasticache_user_group_association",
    }
)

# Autoscaling groups take `tag { key = ... }` blocks and ignore the provider's default_tags.
TAG_BLOCK_TYPES = frozenset({"aws_autoscaling_group"})


def _taggable(resource: Block) -> bool:
    provider, _ = resource.provider
    if provider != "aws":
        return False
    return "tags" in resource.attrs or resource.type not in NON_TAGGABLE


class _Tags:
    """What the tag sources of one resource add up to."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.sources: list[str] = []
        self.unresolved: list[str] = []

    def add(self, label: str, raw: Any, value: Any) -> None:
        self.sources.append(label)
        if isinstance(value, Unknown):
            self.unresolved.append(f"{label} = {expression_text(raw)}: {value.reason}")
            return
        if isinstance(value, PartialMap):
            self.unresolved.append(f"{label} = {expression_text(raw)}: {'; '.join(value.unresolved)}")
            value = value.known
        if value is None:
            return
        if not isinstance(value, dict):
            self.unresolved.append(f"{label} = {expression_text(raw)}: not a map")
            return
        # A later source (the resource's own tags) overrides the provider's default_tags, key by key.
        self.values.update({k: v for k, v in value.items() if v is not None})


def _default_tags(module: ModuleView, resource: Block) -> tuple[str, Any] | None:
    name, alias = resource.provider
    config = module.provider_config(name, alias)
    if config is None:
        return None
    for block in config.attrs.get("default_tags") or []:
        if isinstance(block, dict) and "tags" in block:
            where = module.location(config.file, config.line)
            label = f"provider {name}{'.' + alias if alias else ''} default_tags ({where})"
            return label, block["tags"]
    return None


def _resource_tags(module: ModuleView, resource: Block) -> _Tags:
    tags = _Tags()
    ev = module.evaluator
    if resource.type in TAG_BLOCK_TYPES:
        blocks = [b for b in resource.attrs.get("tag") or [] if isinstance(b, dict) and "key" in b]
        for block in blocks:
            key = ev.value(block["key"])
            value = key if isinstance(key, Unknown) else {str(key): ev.value(block.get("value"))}
            tags.add("tag block", block["key"], value)
        return tags
    default = _default_tags(module, resource)
    if default is not None:
        tags.add(default[0], default[1], ev.value(default[1]))
    if "tags" in resource.attrs:
        raw = resource.attrs["tags"]
        tags.add("tags", raw, ev.value(raw))
    return tags


@check(
    "TF-TAG-001",
    scope="terraform.module",
    title="AWS resources carry the mandatory MoJ tags",
    severity="medium",
    controls=["service-standard:13", "service-standard:14", "ncsc-csp:4"],
    rationale="""
        The mandatory tags (business-unit, application, is-production, owner, namespace,
        environment-name, infrastructure-support) are how every AWS resource is traced to the team
        that owns it, the service it belongs to and whether it holds production data. Cost reports,
        incident response and asset registers are built from them; an untagged database or bucket is
        an asset nobody is accountable for. Tags set in the provider's ``default_tags`` count.
    """,
    remediation="""
        Build the tag map once from the module's mandatory inputs and apply it to every taggable
        resource (or set it as the aws provider's ``default_tags``):

            locals {
              default_tags = {
                business-unit          = var.business_unit
                application            = var.application
                is-production          = var.is_production
                owner                  = var.team_name
                namespace              = var.namespace
                environment-name       = var.environment_name
                infrastructure-support = var.infrastructure_support
              }
            }

            resource "aws_db_instance" "this" {
              # ...
              tags = local.default_tags
            }

        If tags come from a caller-supplied variable, give it a default map holding the mandatory keys.
    """,
    references=[
        "https://github.com/ministryofjustice/cloud-platform-terraform-s3-bucket",
        "https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/resource-tagging",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-4-governance-framework",
    ],
)
def test_mandatory_tags(module: ModuleView) -> Iterator[Finding]:
    resources = [r for r in module.resources if _taggable(r)]
    if not resources:
        yield not_applicable(module.path, "no taggable AWS resources in this module")
        return
    for resource in resources:
        tags = _resource_tags(module, resource)
        missing = [t for t in MANDATORY_TAGS if t not in tags.values]
        empty = [t for t in MANDATORY_TAGS if tags.values.get(t) == ""]
        evidence = {
            "sources": tags.sources or ["none: no tags argument and no provider default_tags"],
            "present": [t for t in MANDATORY_TAGS if t not in missing],
            "missing": missing,
        }
        if empty:
            evidence["empty"] = empty
        if tags.unresolved:
            evidence["unresolved"] = tags.unresolved
        if not missing and not empty:
            yield passed(
                resource.identity,
                f"{resource.address} carries all {len(MANDATORY_TAGS)} mandatory tags "
                f"(from {', '.join(tags.sources)})",
                evidence=evidence,
                location=resource.location,
            )
        elif tags.unresolved:
            yield error(
                resource.identity,
                f"cannot resolve the tags of {resource.address} statically ({'; '.join(tags.unresolved)}); "
                f"not visible: {', '.join(missing + empty)}",
                evidence=evidence,
                location=resource.location,
            )
        else:
            problems = []
            if missing:
                problems.append(f"missing {', '.join(missing)}")
            if empty:
                problems.append(f"empty {', '.join(empty)}")
            yield failed(
                resource.identity,
                f"{resource.address} lacks mandatory tags: {'; '.join(problems)}",
                evidence=evidence,
                location=resource.location,
            )
