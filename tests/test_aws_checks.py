"""The aws checks as pure functions: edge cases the embedded moto cannot produce."""

from __future__ import annotations

from typing import Any

from kitemark.core.catalog import load_checks
from kitemark.core.checks import check_function
from kitemark.core.model import Finding, Status

FIVE = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
ON = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def findings(check_id: str, data: dict[str, Any]) -> list[Finding]:
    load_checks()
    return list(check_function(check_id)(data))


def cluster(**extra: Any) -> dict[str, Any]:
    return {
        "name": "live",
        "region": "eu-west-2",
        "encryptionConfig": [],
        "logging": {"clusterLogging": []},
        **extra,
    }


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
        "enabled": ["audit"],
        "disabled": ["api", "authenticator", "controllerManager", "scheduler"],
    }
    assert bad.message == "control-plane log types disabled: api, authenticator, controllerManager, scheduler"


def test_s3_unknown_account_and_unassessable_bucket() -> None:
    unreadable = {
        "path": "global sts:GetCallerIdentity",
        "line": None,
        "message": "ExpiredToken: token expired",
    }
    data = {
        "account_id": None,
        "account_public_access_block": None,
        "buckets": [
            {"name": "own", "public_access_block": ON, "errors": {}},
            {"name": "partial", "public_access_block": {**ON, "RestrictPublicBuckets": False}, "errors": {}},
        ],
        "errors": {"account_public_access_block": unreadable},
    }
    result = {f.resource: f for f in findings("AWS-S3-001", data)}
    account = result["S3AccountPublicAccessBlock/unknown-account"]
    assert account.status is Status.ERROR and "ExpiredToken" in account.message
    assert result["S3Bucket/own"].status is Status.PASSED
    partial = result["S3Bucket/partial"]
    assert partial.status is Status.ERROR and "sts:GetCallerIdentity" in partial.message
    assert partial.evidence["missing"] == ["RestrictPublicBuckets"]
