"""The aws checks on typed views built from inventory JSON: edge cases the embedded moto cannot produce."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function, evaluate
from kitemark.core.kinds import Unit
from kitemark.core.model import ArnLocation, Finding, Status
from kitemark.targets.aws.constants import EKS_LOG_TYPES, PUBLIC_ACCESS_SETTINGS
from kitemark.targets.aws.units import describe, eks_cluster_units, s3_units
from kitemark.targets.aws.view import EksCluster, S3Account
from kitemark.testing import default_inputs

FIVE = list(EKS_LOG_TYPES)
ON = dict.fromkeys(PUBLIC_ACCESS_SETTINGS, True)
ARN = "arn:aws:eks:eu-west-2:111122223333:cluster/live"


def findings(check_id: str, view: Any, **inputs: Any) -> list[Finding]:
    load_checks()
    return evaluate(check_function(check_id), Unit("u", "aws:t", view), default_inputs(inputs))


def cluster(**extra: Any) -> EksCluster:
    data = {"name": "live", "region": "eu-west-2", "arn": ARN, "encryptionConfig": [], **extra}
    return EksCluster.from_json(data)


def account(s3: dict[str, Any], **inventory: Any) -> S3Account:
    return S3Account.from_inventory({"kind": "aws", "target": "aws:t", "s3": s3, **inventory})


def test_secrets_encryption_needs_secrets_and_a_key() -> None:
    key = {"keyArn": "arn:aws:kms:eu-west-2:111122223333:key/abc"}
    cases = {
        "no entry": ([], Status.FAILED),
        "secrets without key": ([{"resources": ["secrets"], "provider": {}}], Status.FAILED),
        "key for other resources": ([{"resources": ["configmaps"], "provider": key}], Status.FAILED),
        "second entry matches": (
            [{"resources": ["configmaps"], "provider": key}, {"resources": ["secrets"], "provider": key}],
            Status.PASSED,
        ),
    }
    for name, (config, expected) in cases.items():
        [finding] = findings("AWS-EKS-001", cluster(encryptionConfig=config))
        assert finding.status is expected, name
        assert finding.resource == "EKSCluster/eu-west-2/live"
        assert finding.location == ArnLocation(ARN)
    [bad] = findings("AWS-EKS-001", cluster(encryptionConfig=cases["secrets without key"][0]))
    assert "no entry for 'secrets' with a KMS key ARN" in bad.message


def test_logging_types_are_unioned_across_entries_and_disabled_ones_listed() -> None:
    split = [{"types": FIVE[:2], "enabled": True}, {"types": FIVE[2:], "enabled": True}]
    [ok] = findings("AWS-EKS-002", cluster(logging={"clusterLogging": split}))
    assert ok.status is Status.PASSED and ok.evidence["disabled"] == []

    listed_but_off = [{"types": FIVE, "enabled": False}, {"types": ["audit"], "enabled": True}]
    [bad] = findings("AWS-EKS-002", cluster(logging={"clusterLogging": listed_but_off}))
    assert bad.status is Status.FAILED
    assert bad.evidence == {
        "required": FIVE,
        "enabled": ["audit"],
        "disabled": ["api", "authenticator", "controllerManager", "scheduler"],
    }
    assert bad.message == "control-plane log types disabled: api, authenticator, controllerManager, scheduler"

    # with only audit required (the input), the same cluster passes
    [narrow] = findings(
        "AWS-EKS-002", cluster(logging={"clusterLogging": listed_but_off}), eks_log_types=["audit"]
    )
    assert narrow.status is Status.PASSED and narrow.evidence["required"] == ["audit"]


def test_s3_unknown_account_and_unassessable_bucket() -> None:
    unreadable = {
        "path": "global sts:GetCallerIdentity",
        "line": None,
        "message": "ExpiredToken: token expired",
    }
    view = account(
        {
            "account_public_access_block": None,
            "buckets": [
                {"name": "own", "public_access_block": ON, "errors": {}},
                {"name": "partial", "public_access_block": {**ON, "RestrictPublicBuckets": False}},
            ],
            "errors": {"account_public_access_block": unreadable},
        },
        account_id=None,
    )
    result = {f.resource: f for f in findings("AWS-S3-001", view)}
    unknown = result["S3AccountPublicAccessBlock/unknown-account"]
    assert unknown.status is Status.ERROR and "ExpiredToken" in unknown.message
    assert unknown.location is None  # no account id, no ARN to point at
    assert result["S3Bucket/own"].status is Status.PASSED
    partial = result["S3Bucket/partial"]
    assert partial.status is Status.ERROR and "sts:GetCallerIdentity" in partial.message
    assert partial.evidence["missing"] == ["RestrictPublicBuckets"]
    assert partial.where == "arn:aws:s3:::partial"


def test_arns_follow_the_partition() -> None:
    view = account({"buckets": [{"name": "b"}]}, account_id="111122223333", partition="aws-us-gov")
    assert view.arn == "arn:aws-us-gov:iam::111122223333:root"
    assert view.buckets[0].arn == "arn:aws-us-gov:s3:::b"


def test_views_are_read_only() -> None:
    view = account({"buckets": [{"name": "b", "errors": {}}]}, account_id="111122223333")
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.account_id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        view.errors["buckets"] = None  # type: ignore[index]
    assert isinstance(view.buckets, tuple)
    assert isinstance(cluster().encryption_config, tuple)


def test_data_not_collected_is_an_error_never_a_verdict() -> None:
    """An inventory collected for other checks: what was not asked for is "not collected", not absent."""
    inventory = {
        "kind": "aws",
        "target": "aws:t",
        "calls": ["eks:ListClusters", "s3:ListBuckets"],
        "account_id": None,
        "regions": {"eu-west-2": {"eks_clusters": [{"name": "live", "region": "eu-west-2"}], "errors": {}}},
        "s3": {"buckets": [{"name": "b", "region": "eu-west-2", "errors": {}}], "errors": {}},
    }
    [eks] = eks_cluster_units(inventory, {})
    assert eks.id == "aws:t/eu-west-2/eks:live"
    assert [str(e) for e in eks.errors] == [
        "eu-west-2 live eks:DescribeCluster: not collected (no selected check declares it in reads)"
    ]
    [s3] = s3_units(inventory, {})
    assert s3.errors == []  # the buckets were listed
    result = {f.resource: f for f in findings("AWS-S3-001", s3.data)}
    assert result["S3AccountPublicAccessBlock/unknown-account"].status is Status.ERROR
    assert (
        "s3control:GetPublicAccessBlock: not collected"
        in result["S3AccountPublicAccessBlock/unknown-account"].message
    )
    assert result["S3Bucket/b"].status is Status.ERROR
    assert "b s3:GetPublicAccessBlock: not collected" in result["S3Bucket/b"].message

    # nothing listed: error units, and "not collected" rather than "0 found" where Kitemark looked
    inventory["calls"] = []
    [region] = eks_cluster_units(inventory, {})
    assert region.id == "aws:t/eu-west-2/eks" and "eks:ListClusters: not collected" in str(region.errors[0])
    [s3] = s3_units(inventory, {})
    assert "s3:ListBuckets: not collected" in str(s3.errors[0])
    assert describe(inventory)["eks_clusters_found"] == "not collected"
    assert describe(inventory)["s3_buckets_found"] == "not collected"
