"""S3 public access (AWS target, s3 scope: one unit per account).

Unit data: ``account_id``, ``account_public_access_block`` (four booleans, or ``None`` when not
configured), ``buckets`` (``name``, ``region``, ``public_access_block``, ``encryption``, ``errors``)
and ``errors`` (settings that could not be read, as InputError dicts).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kitemark.core.checks import check, error, failed, passed
from kitemark.core.kinds import InputError
from kitemark.core.model import Finding

SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _on(block: dict[str, Any] | None) -> set[str]:
    return {name for name in SETTINGS if (block or {}).get(name)}


def _why(err: dict[str, Any]) -> str:
    return str(InputError.from_dict(err))


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
)
def test_s3_public_access_blocked(s3: dict[str, Any]) -> Iterator[Finding]:
    account = s3.get("account_public_access_block")
    account_error = (s3.get("errors") or {}).get("account_public_access_block")
    account_on = set() if account_error else _on(account)
    resource = f"S3AccountPublicAccessBlock/{s3.get('account_id') or 'unknown-account'}"
    if account_error:
        yield error(resource, f"account-level block could not be read: {_why(account_error)}")
    elif account_on == set(SETTINGS):
        yield passed(
            resource,
            "all four settings are on for the account; every bucket inherits them",
            evidence={"account": account},
        )
    else:
        missing = [s for s in SETTINGS if s not in account_on]
        state = "not configured" if account is None else f"off: {', '.join(missing)}"
        yield failed(
            resource,
            f"account-level block public access is {state}",
            evidence={"account": account, "missing": missing},
        )

    for bucket in s3.get("buckets") or []:
        yield _bucket_finding(bucket, account, account_on, account_error)


def _bucket_finding(
    bucket: dict[str, Any], account: dict[str, Any] | None, account_on: set[str], account_error: Any
) -> Finding:
    resource = f"S3Bucket/{bucket['name']}"
    own = bucket.get("public_access_block")
    own_error = (bucket.get("errors") or {}).get("public_access_block")
    own_on = set() if own_error else _on(own)
    effective = {name: name in account_on or name in own_on for name in SETTINGS}
    missing = [name for name, on in effective.items() if not on]
    evidence = {"bucket": own, "account": account, "effective": effective, "missing": missing}
    if not missing:
        if account_on == set(SETTINGS) and own_on == set(SETTINGS):
            how = "has all four settings on in its own block and in the account-level block"
        elif account_on == set(SETTINGS):
            how = "inherits all four settings from the account-level block"
        elif own_on == set(SETTINGS):
            how = "has all four settings on in its own block"
        else:
            how = "has all four settings on between its own block and the account block"
        return passed(resource, f"public access blocked: bucket {how}", evidence=evidence)
    unread = [_why(e) for e in (own_error, account_error) if e]
    if unread:  # a setting we could not read might have closed the gap
        return error(resource, "could not assess: " + "; ".join(unread), evidence=evidence)
    state = "no block of its own" if own is None else "an incomplete block of its own"
    return failed(
        resource,
        f"public access not fully blocked (bucket has {state}): {', '.join(missing)} off",
        evidence=evidence,
    )
