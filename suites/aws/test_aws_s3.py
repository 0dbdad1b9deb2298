"""S3 public access (AWS target, s3 scope: one unit per account).

Unit data: an ``S3Account`` view (``kitemark.targets.aws.view``): the account-level public access
block, every bucket with its own block, and what could not be read. Bucket findings are located by
the bucket's ARN, the account-level finding by the account's (``arn:aws:iam::<account>:root``).
"""

from __future__ import annotations

from collections.abc import Iterator

from kitemark.core.checks import check, error, failed, passed
from kitemark.core.model import Finding
from kitemark.targets.aws.constants import PUBLIC_ACCESS_SETTINGS
from kitemark.targets.aws.view import PublicAccessBlock, S3Account, S3Bucket

ALL = frozenset(PUBLIC_ACCESS_SETTINGS)


def _on(block: PublicAccessBlock | None) -> frozenset[str]:
    return block.on if block is not None else frozenset()


def _dict(block: PublicAccessBlock | None) -> dict[str, bool] | None:
    return block.to_dict() if block is not None else None


@check(
    "AWS-S3-001",
    scope="aws.s3",
    title="S3 Block Public Access is on for the account, and in effect on every bucket",
    severity="high",
    rationale="""
        A public bucket is the commonest way cloud data leaks. S3 applies, for each of the four block
        public access settings, the stricter of the account-level and the bucket-level value. So a
        bucket passes when every setting is on at either level (with the account block fully on,
        every bucket passes by inheritance); it fails when any setting is off at both. The account
        block itself is a separate finding and fails unless all four settings are on, because without
        it every new bucket is only as safe as its own configuration (AWS Security Hub S3.1): an
        account with the block on is compliant on its own.
    """,
    remediation="""
        Turn on all four settings for the account:
        ``aws s3control put-public-access-block --account-id <id> --public-access-block-configuration
        BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true``
        (Terraform: ``resource "aws_s3_account_public_access_block" "this" { block_public_acls = true
        ignore_public_acls = true  block_public_policy = true  restrict_public_buckets = true }``), and
        the same four on each bucket with ``aws_s3_bucket_public_access_block``. Serve public content
        through CloudFront with origin access control instead of a public bucket.
    """,
    references=[
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html",
    ],
    reads=[
        "sts:GetCallerIdentity",
        "s3control:GetPublicAccessBlock",
        "s3:ListBuckets",
        "s3:GetBucketLocation",
        "s3:GetPublicAccessBlock",
    ],
)
def test_s3_public_access_blocked(s3: S3Account) -> Iterator[Finding]:
    yield _account_finding(s3)
    for bucket in s3.buckets:
        yield _bucket_finding(bucket, s3)


def _account_finding(s3: S3Account) -> Finding:
    block, unread = s3.public_access_block, s3.errors.get("public_access_block")
    evidence = {"account": _dict(block)}
    if unread:
        message = f"account-level block could not be read: {unread}"
        return error(s3.block_resource, message, location=s3.location)
    if block is not None and block.complete:
        message = "all four settings are on for the account; every bucket inherits them"
        return passed(s3.block_resource, message, evidence=evidence, location=s3.location)
    missing = [name for name in PUBLIC_ACCESS_SETTINGS if name not in _on(block)]
    state = "not configured" if block is None else f"off: {', '.join(missing)}"
    message = f"account-level block public access is {state}"
    return failed(s3.block_resource, message, evidence={**evidence, "missing": missing}, location=s3.location)


def _bucket_finding(bucket: S3Bucket, s3: S3Account) -> Finding:
    account_unread = s3.errors.get("public_access_block")
    own_unread = bucket.errors.get("public_access_block")
    account_on = frozenset() if account_unread else _on(s3.public_access_block)
    own_on = frozenset() if own_unread else _on(bucket.public_access_block)
    # S3 applies, per setting, the stricter of the account and the bucket level.
    effective = {name: name in account_on or name in own_on for name in PUBLIC_ACCESS_SETTINGS}
    missing = [name for name, on in effective.items() if not on]
    evidence = {
        "bucket": _dict(bucket.public_access_block),
        "account": _dict(s3.public_access_block),
        "effective": effective,
        "missing": missing,
    }
    where = bucket.location
    if not missing:
        how = _how_blocked(account_on, own_on)
        return passed(
            bucket.resource, f"public access blocked: bucket {how}", evidence=evidence, location=where
        )
    unread = [str(e) for e in (own_unread, account_unread) if e]
    if unread:  # a setting we could not read might have closed the gap
        message = "could not assess: " + "; ".join(unread)
        return error(bucket.resource, message, evidence=evidence, location=where)
    state = "no block of its own" if bucket.public_access_block is None else "an incomplete block of its own"
    message = f"public access not fully blocked (bucket has {state}): {', '.join(missing)} off"
    return failed(bucket.resource, message, evidence=evidence, location=where)


def _how_blocked(account_on: frozenset[str], own_on: frozenset[str]) -> str:
    if account_on == ALL and own_on == ALL:
        return "has all four settings on in its own block and in the account-level block"
    if account_on == ALL:
        return "inherits all four settings from the account-level block"
    if own_on == ALL:
        return "has all four settings on in its own block"
    return "has all four settings on between its own block and the account block"
