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

# Which AWS resource types take a `tags` argument. The exceptions below were taken from the AWS provider's
# schemas (via the taggable-resource list tflint-ruleset-aws generates from them, provider v5.9x):
#   1. a resource written with a `tags` argument is always checked;
#   2. a type in NON_TAGGABLE is not checked;
#   3. a type named `*_policy`, `*_attachment`, `*_association` or `*_rule` is not checked — these are
#      almost all glue between other resources — unless it is in TAGGABLE_DESPITE_SUFFIX, which lists every
#      provider type with one of those suffixes whose schema has `tags` (aws_iam_policy, aws_lb_listener_rule,
#      aws_vpc_security_group_ingress_rule, aws_cloudwatch_event_rule, aws_config_config_rule...);
#   4. every other aws_* type is checked.
# Rule 4 errs towards checking: an untaggable type missing from NON_TAGGABLE shows up as a false fail, and is
# added there. Rule 3 errs the other way for a *new* taggable type with one of those suffixes, so when the
# provider adds tags to such a type it belongs in TAGGABLE_DESPITE_SUFFIX (rule 1 still checks it meanwhile
# wherever it is written with tags).
UNTAGGABLE_SUFFIXES = ("_policy", "_attachment", "_association", "_rule")

TAGGABLE_DESPITE_SUFFIX = frozenset(
    {
        # *_rule
        "aws_alb_listener_rule",
        "aws_cloudwatch_contributor_insight_rule",
        "aws_cloudwatch_contributor_managed_insight_rule",
        "aws_cloudwatch_event_rule",
        "aws_codestarnotifications_notification_rule",
        "aws_config_config_rule",
        "aws_iot_topic_rule",
        "aws_lb_listener_rule",
        "aws_rbin_rule",
        "aws_route53_resolver_rule",
        "aws_securityhub_automation_rule",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_vpclattice_listener_rule",
        "aws_waf_rate_based_rule",
        "aws_waf_rule",
        "aws_wafregional_rate_based_rule",
        "aws_wafregional_rule",
        "aws_xray_sampling_rule",
        # *_policy
        "aws_batch_scheduling_policy",
        "aws_dlm_lifecycle_policy",
        "aws_fms_policy",
        "aws_iam_policy",
        "aws_imagebuilder_lifecycle_policy",
        "aws_iot_policy",
        "aws_networkfirewall_firewall_policy",
        "aws_organizations_policy",
        "aws_organizations_resource_policy",
        "aws_resiliencehub_resiliency_policy",
        # *_attachment
        "aws_ec2_transit_gateway_peering_attachment",
        "aws_ec2_transit_gateway_vpc_attachment",
        "aws_globalaccelerator_cross_account_attachment",
        "aws_networkmanager_connect_attachment",
        "aws_networkmanager_dx_gateway_attachment",
        "aws_networkmanager_site_to_site_vpn_attachment",
        "aws_networkmanager_transit_gateway_route_table_attachment",
        "aws_networkmanager_vpc_attachment",
        # *_association
        "aws_api_gateway_domain_name_access_association",
        "aws_codegurureviewer_repository_association",
        "aws_ec2_local_gateway_route_table_vpc_association",
        "aws_eks_pod_identity_association",
        "aws_fsx_data_repository_association",
        "aws_route53_resolver_firewall_rule_group_association",
        "aws_route53profiles_association",
        "aws_ssm_association",
        "aws_storagegateway_file_system_association",
        "aws_vpc_ipam_resource_discovery_association",
        "aws_vpclattice_service_network_resource_association",
        "aws_vpclattice_service_network_service_association",
        "aws_vpclattice_service_network_vpc_association",
    }
)

# Untaggable types the suffix rule does not catch: sub-resources, settings and glue.
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
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_replication_configuration",
        "aws_s3_bucket_request_payment_configuration",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_website_configuration",
        # IAM credentials, memberships and account settings
        "aws_iam_access_key",
        "aws_iam_account_alias",
        "aws_iam_group",
        "aws_iam_group_membership",
        "aws_iam_service_specific_credential",
        "aws_iam_signing_certificate",
        "aws_iam_user_group_membership",
        "aws_iam_user_login_profile",
        "aws_iam_user_ssh_key",
        # API Gateway (REST and HTTP/WebSocket) sub-resources
        "aws_api_gateway_account",
        "aws_api_gateway_authorizer",
        "aws_api_gateway_base_path_mapping",
        "aws_api_gateway_deployment",
        "aws_api_gateway_documentation_part",
        "aws_api_gateway_documentation_version",
        "aws_api_gateway_gateway_response",
        "aws_api_gateway_integration",
        "aws_api_gateway_integration_response",
        "aws_api_gateway_method",
        "aws_api_gateway_method_response",
        "aws_api_gateway_method_settings",
        "aws_api_gateway_model",
        "aws_api_gateway_request_validator",
        "aws_api_gateway_resource",
        "aws_api_gateway_usage_plan_key",
        "aws_apigatewayv2_api_mapping",
        "aws_apigatewayv2_authorizer",
        "aws_apigatewayv2_deployment",
        "aws_apigatewayv2_integration",
        "aws_apigatewayv2_integration_response",
        "aws_apigatewayv2_model",
        "aws_apigatewayv2_route",
        "aws_apigatewayv2_route_response",
        # Lambda sub-resources
        "aws_lambda_alias",
        "aws_lambda_function_event_invoke_config",
        "aws_lambda_function_url",
        "aws_lambda_layer_version",
        "aws_lambda_layer_version_permission",
        "aws_lambda_permission",
        "aws_lambda_provisioned_concurrency_config",
        # KMS, networking and DNS glue
        "aws_kms_alias",
        "aws_kms_ciphertext",
        "aws_kms_grant",
        "aws_route",
        "aws_ec2_tag",
        "aws_ebs_default_kms_key",
        "aws_ebs_encryption_by_default",
        "aws_ami_launch_permission",
        "aws_snapshot_create_volume_permission",
        "aws_vpc_endpoint_connection_notification",
        "aws_vpc_peering_connection_options",
        "aws_route53_record",
        "aws_route53_delegation_set",
        "aws_route53_hosted_zone_dnssec",
        "aws_route53_key_signing_key",
        "aws_route53_query_log",
        "aws_route53_vpc_association_authorization",
        "aws_acm_certificate_validation",
        "aws_lb_listener_certificate",
        "aws_cloudfront_function",
        "aws_cloudfront_key_group",
        "aws_cloudfront_monitoring_subscription",
        "aws_cloudfront_origin_access_control",
        "aws_cloudfront_origin_access_identity",
        "aws_cloudfront_public_key",
        "aws_cloudfront_realtime_log_config",
        "aws_wafv2_web_acl_logging_configuration",
        # Autoscaling (aws_launch_configuration predates tagging; the group takes `tag` blocks, below)
        "aws_appautoscaling_scheduled_action",
        "aws_autoscaling_lifecycle_hook",
        "aws_autoscaling_notification",
        "aws_autoscaling_schedule",
        "aws_launch_configuration",
        # Logging, events, messaging
        "aws_cloudwatch_dashboard",
        "aws_cloudwatch_event_api_destination",
        "aws_cloudwatch_event_archive",
        "aws_cloudwatch_event_connection",
        "aws_cloudwatch_event_permission",
        "aws_cloudwatch_event_target",
        "aws_cloudwatch_log_metric_filter",
        "aws_cloudwatch_log_stream",
        "aws_cloudwatch_log_subscription_filter",
        "aws_sns_platform_application",
        "aws_sns_sms_preferences",
        "aws_sns_topic_subscription",
        "aws_ses_active_receipt_rule_set",
        "aws_ses_configuration_set",
        "aws_ses_domain_dkim",
        "aws_ses_domain_identity",
        "aws_ses_domain_identity_verification",
        "aws_ses_domain_mail_from",
        "aws_ses_email_identity",
        "aws_ses_event_destination",
        "aws_ses_identity_notification_topic",
        "aws_ses_receipt_rule_set",
        "aws_ses_template",
        # Databases, search, containers, secrets, identity
        "aws_db_instance_automated_backups_replication",
        "aws_db_proxy_default_target_group",
        "aws_db_proxy_target",
        "aws_dynamodb_contributor_insights",
        "aws_dynamodb_kinesis_streaming_destination",
        "aws_dynamodb_table_item",
        "aws_dynamodb_tag",
        "aws_elasticsearch_domain_saml_options",
        "aws_opensearch_domain_saml_options",
        "aws_glue_catalog_table",
        "aws_athena_database",
        "aws_athena_named_query",
        "aws_msk_configuration",
        "aws_ecs_cluster_capacity_providers",
        "aws_ecr_registry_scanning_configuration",
        "aws_ecr_replication_configuration",
        "aws_secretsmanager_secret_rotation",
        "aws_secretsmanager_secret_version",
        "aws_cognito_identity_provider",
        "aws_cognito_resource_server",
        "aws_cognito_user",
        "aws_cognito_user_group",
        "aws_cognito_user_pool_client",
        "aws_cognito_user_pool_domain",
        "aws_cognito_user_pool_ui_customization",
        # Account-level security and backup settings
        "aws_backup_global_settings",
        "aws_backup_region_settings",
        "aws_backup_selection",
        "aws_backup_vault_lock_configuration",
        "aws_backup_vault_notifications",
        "aws_config_configuration_recorder",
        "aws_config_configuration_recorder_status",
        "aws_config_delivery_channel",
        "aws_guardduty_detector_feature",
        "aws_guardduty_organization_configuration",
        "aws_securityhub_account",
        "aws_securityhub_standards_subscription",
        "aws_ssm_maintenance_window_target",
        "aws_ssm_maintenance_window_task",
    }
)

# Autoscaling groups take `tag { key = ... }` blocks and ignore the provider's default_tags.
TAG_BLOCK_TYPES = frozenset({"aws_autoscaling_group"})


def taggable_type(resource_type: str) -> bool:
    """Does this AWS resource type take a ``tags`` argument (rules 2-4 above)?"""
    if resource_type in NON_TAGGABLE:
        return False
    if resource_type in TAGGABLE_DESPITE_SUFFIX:
        return True
    return not resource_type.endswith(UNTAGGABLE_SUFFIXES)


def _taggable(resource: Block) -> bool:
    provider, _ = resource.provider
    if provider != "aws":
        return False
    return "tags" in resource.attrs or taggable_type(resource.type)


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
