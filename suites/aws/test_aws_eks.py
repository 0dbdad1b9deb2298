"""EKS control plane: secrets envelope encryption and control-plane logging (AWS target, eks-cluster scope).

Unit data: an ``EksCluster`` view (``kitemark.targets.aws.view``) of one cluster as
``eks:DescribeCluster`` answered; findings are located by the cluster's ARN.
"""

from __future__ import annotations

from collections.abc import Iterator

from kitemark.core.checks import check, failed, passed
from kitemark.core.inputs import Input, Inputs
from kitemark.core.model import Finding
from kitemark.targets.aws.constants import EKS_LOG_TYPES
from kitemark.targets.aws.view import EksCluster

EKS_READS = ["eks:ListClusters", "eks:DescribeCluster"]

REQUIRED_LOG_TYPES = Input(
    "eks_log_types",
    default=list(EKS_LOG_TYPES),
    description="EKS control-plane log types every cluster must send to CloudWatch (default: all five)",
    schema={"type": "array", "items": {"enum": list(EKS_LOG_TYPES)}, "uniqueItems": True, "minItems": 1},
)


@check(
    "AWS-EKS-001",
    scope="aws.eks-cluster",
    title="EKS Secrets are envelope-encrypted with a customer-managed KMS key",
    severity="high",
    rationale="""
        Kubernetes Secrets hold tenants' database passwords, API tokens and certificates, and etcd
        backups and snapshots carry them. Envelope encryption with a KMS key the account controls
        (``encryptionConfig`` with ``resources: [secrets]`` and a ``provider.keyArn``) means a copy of
        etcd is useless without KMS, every decrypt is recorded in CloudTrail, and access can be revoked
        by key policy. Encryption with keys the account cannot see or manage does not give that control.
    """,
    remediation="""
        Give the cluster a customer-managed KMS key for secrets (it can be added to an existing
        cluster with ``aws eks associate-encryption-config`` but never removed). With the
        terraform-aws-modules/eks module: ``cluster_encryption_config = { resources = ["secrets"] }``
        (the module creates the key); with the raw resource:
        ``encryption_config { resources = ["secrets"]  provider { key_arn = aws_kms_key.eks.arn } }``
        and ``enable_key_rotation = true`` on the key.
    """,
    references=[
        "https://docs.aws.amazon.com/eks/latest/userguide/envelope-encryption.html",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-2-asset-protection-and-resilience",
    ],
    reads=EKS_READS,
)
def test_eks_secrets_encrypted(cluster: EksCluster) -> Iterator[Finding]:
    evidence = {"encryptionConfig": [entry.to_dict() for entry in cluster.encryption_config]}
    key = cluster.secrets_key_arn
    if key:
        message = f"Secrets are envelope-encrypted with KMS key {key}"
        yield passed(cluster.resource, message, evidence=evidence, location=cluster.location)
        return
    why = (
        "no encryptionConfig"
        if not cluster.encryption_config
        else "encryptionConfig has no entry for 'secrets' with a KMS key ARN"
    )
    message = f"Secrets are not envelope-encrypted with a KMS key: {why}"
    yield failed(cluster.resource, message, evidence=evidence, location=cluster.location)


@check(
    "AWS-EKS-002",
    scope="aws.eks-cluster",
    title="EKS control-plane logging is enabled for every required log type",
    severity="medium",
    rationale="""
        The EKS control plane is run by AWS; its logs in CloudWatch are the only record of who called
        the Kubernetes API (``audit``), how they authenticated (``authenticator``) and why the
        scheduler and controllers acted as they did. Without them an incident cannot be reconstructed
        and the platform cannot show auditors who did what. The required types are the input
        ``eks_log_types``: by default all five (api, audit, authenticator, controllerManager, scheduler).
    """,
    remediation="""
        Enable every required control-plane log type (by default all five). With the
        terraform-aws-modules/eks module:
        ``cluster_enabled_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]``;
        with the raw ``aws_eks_cluster`` resource set ``enabled_cluster_log_types`` to the same list,
        and give the ``/aws/eks/<cluster>/cluster`` log group a retention period.
    """,
    references=[
        "https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-13-audit-information-for-users",
    ],
    reads=EKS_READS,
    inputs=[REQUIRED_LOG_TYPES],
)
def test_eks_control_plane_logging(cluster: EksCluster, inputs: Inputs) -> Iterator[Finding]:
    required = list(inputs["eks_log_types"])
    enabled = cluster.enabled_log_types
    disabled = [t for t in required if t not in enabled]
    evidence = {"required": required, "enabled": list(enabled), "disabled": disabled}
    if disabled:
        message = f"control-plane log types disabled: {', '.join(disabled)}"
        yield failed(cluster.resource, message, evidence=evidence, location=cluster.location)
    else:
        message = f"every required control-plane log type is enabled: {', '.join(required)}"
        yield passed(cluster.resource, message, evidence=evidence, location=cluster.location)
