"""EKS control plane: secrets envelope encryption and control-plane logging (AWS target, eks-cluster scope).

Unit data: one cluster from the inventory (``name``, ``region``, ``arn``, ``version``,
``encryptionConfig``, ``logging.clusterLogging``) as ``describe_cluster`` returned it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check, failed, passed
from kitemark.core.model import Finding

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")


def _resource(cluster: dict[str, Any]) -> str:
    return f"EKSCluster/{cluster['region']}/{cluster['name']}"


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
)
def test_eks_secrets_encrypted(cluster: dict[str, Any]) -> Iterator[Finding]:
    config = cluster.get("encryptionConfig") or []
    evidence = {"encryptionConfig": config}
    for entry in config:
        key = (entry.get("provider") or {}).get("keyArn")
        if "secrets" in (entry.get("resources") or []) and key:
            yield passed(
                _resource(cluster), f"Secrets are envelope-encrypted with KMS key {key}", evidence=evidence
            )
            return
    why = (
        "no encryptionConfig"
        if not config
        else "encryptionConfig has no entry for 'secrets' with a KMS key ARN"
    )
    yield failed(
        _resource(cluster), f"Secrets are not envelope-encrypted with a KMS key: {why}", evidence=evidence
    )


@check(
    "AWS-EKS-002",
    scope="aws.eks-cluster",
    title="EKS control-plane logging is enabled for all five log types",
    severity="medium",
    rationale="""
        The EKS control plane is run by AWS; its logs in CloudWatch are the only record of who called
        the Kubernetes API (``audit``), how they authenticated (``authenticator``) and why the
        scheduler and controllers acted as they did. Without all five types (api, audit, authenticator,
        controllerManager, scheduler) an incident cannot be reconstructed and the platform cannot show
        auditors who did what.
    """,
    remediation="""
        Enable every control-plane log type. With the terraform-aws-modules/eks module:
        ``cluster_enabled_log_types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]``;
        with the raw ``aws_eks_cluster`` resource set ``enabled_cluster_log_types`` to the same list,
        and give the ``/aws/eks/<cluster>/cluster`` log group a retention period.
    """,
    references=[
        "https://docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html",
        "https://www.ncsc.gov.uk/collection/cloud/the-cloud-security-principles/principle-13-audit-information-for-users",
    ],
)
def test_eks_control_plane_logging(cluster: dict[str, Any]) -> Iterator[Finding]:
    entries = (cluster.get("logging") or {}).get("clusterLogging") or []
    enabled = {t for entry in entries if entry.get("enabled") for t in entry.get("types") or []}
    disabled = [t for t in LOG_TYPES if t not in enabled]
    evidence = {"enabled": [t for t in LOG_TYPES if t in enabled], "disabled": disabled}
    if disabled:
        yield failed(
            _resource(cluster), f"control-plane log types disabled: {', '.join(disabled)}", evidence=evidence
        )
    else:
        yield passed(_resource(cluster), "all five control-plane log types are enabled", evidence=evidence)
