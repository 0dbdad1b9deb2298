"""Typed, read-only views over an aws inventory, built from its JSON form.

Checks receive an ``EksCluster`` (scope ``aws.eks-cluster``) or an ``S3Account`` (scope ``aws.s3``)
and never see the inventory layout. Each view names its resource the way findings do (``resource``,
stable across runs) and locates it by ARN (``location``).

A value the collector could not read is ``None`` with the reason in ``errors`` (an ``InputError``
naming the API call and the AWS error code). A value no selected check declared in ``reads`` was not
asked for; it is reported the same way ("not collected"), so a check reading what it did not declare
reports *error*, never a verdict on missing data. Nothing here talks to AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kitemark.core.kinds import InputError, Inventory
from kitemark.core.model import ArnLocation
from kitemark.targets.aws.constants import EKS_LOG_TYPES, PUBLIC_ACCESS_SETTINGS

NOT_COLLECTED = "not collected (no selected check declares it in reads)"


def not_collected(inventory: Inventory, call: str, where: str) -> InputError | None:
    """Why ``call`` has no answer in this inventory, when it was not asked for. An inventory without
    ``calls`` (written before collectors read selectively) had every call made."""
    calls = inventory.get("calls")
    if calls is None or call in calls:
        return None
    return InputError(f"{where} {call}", NOT_COLLECTED, file=False)


def _errors(raw: Mapping[str, Any] | None, **unread: InputError | None) -> Mapping[str, InputError]:
    """Field → why it could not be read: the collector's errors, then what was not collected."""
    found = {name: InputError.from_dict(e) for name, e in (raw or {}).items() if e}
    for name, missing in unread.items():
        if missing is not None:
            found.setdefault(name, missing)
    return MappingProxyType(found)


# --- S3 -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicAccessBlock:
    """An S3 Block Public Access configuration (account or bucket level): the settings that are on."""

    on: frozenset[str]

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> PublicAccessBlock | None:
        """``None`` for "not configured"."""
        if data is None:
            return None
        return cls(frozenset(name for name in PUBLIC_ACCESS_SETTINGS if data.get(name)))

    @property
    def complete(self) -> bool:
        return self.on >= set(PUBLIC_ACCESS_SETTINGS)

    def to_dict(self) -> dict[str, bool]:
        return {name: name in self.on for name in PUBLIC_ACCESS_SETTINGS}


@dataclass(frozen=True)
class BucketEncryption:
    """A bucket's default server-side encryption."""

    algorithm: str
    kms_key_id: str | None = None
    bucket_key: bool | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> BucketEncryption | None:
        if not data:
            return None
        return cls(data["algorithm"], data.get("kms_key_id"), data.get("bucket_key"))


@dataclass(frozen=True)
class S3Bucket:
    """One bucket. ``errors`` keys: ``region``, ``public_access_block``, ``encryption``."""

    name: str
    region: str | None
    public_access_block: PublicAccessBlock | None  # None: not configured, or unread (see errors)
    encryption: BucketEncryption | None  # None: no default encryption, or unread (see errors)
    errors: Mapping[str, InputError]
    partition: str = "aws"

    @property
    def resource(self) -> str:
        return f"S3Bucket/{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:s3:::{self.name}"

    @property
    def location(self) -> ArnLocation:
        return ArnLocation(self.arn)


@dataclass(frozen=True)
class S3Account:
    """An account's S3: the account-level public access block and every bucket.

    ``errors`` keys: ``public_access_block`` (the account-level block could not be read) and
    ``buckets`` (the buckets could not be listed: the unit is then an *error* as a whole).
    """

    account_id: str | None
    public_access_block: PublicAccessBlock | None  # None: not configured, or unread (see errors)
    buckets: tuple[S3Bucket, ...]
    errors: Mapping[str, InputError]
    partition: str = "aws"

    @classmethod
    def from_inventory(cls, inventory: Inventory) -> S3Account:
        s3 = inventory.get("s3") or {}
        partition = inventory.get("partition") or "aws"
        raw_errors = s3.get("errors") or {}
        errors = _errors(
            {
                "public_access_block": raw_errors.get("account_public_access_block"),
                "buckets": raw_errors.get("buckets"),
            },
            public_access_block=not_collected(inventory, "s3control:GetPublicAccessBlock", "account"),
            buckets=not_collected(inventory, "s3:ListBuckets", "global"),
        )
        buckets = tuple(_bucket(inventory, b, partition) for b in s3.get("buckets") or [])
        return cls(
            account_id=inventory.get("account_id"),
            public_access_block=PublicAccessBlock.from_json(s3.get("account_public_access_block")),
            buckets=buckets,
            errors=errors,
            partition=partition,
        )

    @property
    def block_resource(self) -> str:
        """The identity of the account-level block's finding."""
        return f"S3AccountPublicAccessBlock/{self.account_id or 'unknown-account'}"

    @property
    def arn(self) -> str | None:
        return f"arn:{self.partition}:iam::{self.account_id}:root" if self.account_id else None

    @property
    def location(self) -> ArnLocation | None:
        return ArnLocation(self.arn) if self.arn else None


def _bucket(inventory: Inventory, data: Mapping[str, Any], partition: str) -> S3Bucket:
    name = data["name"]
    region = data.get("region")
    errors = _errors(
        data.get("errors"),
        region=None if region else not_collected(inventory, "s3:GetBucketLocation", name),
        public_access_block=not_collected(inventory, "s3:GetPublicAccessBlock", name),
        encryption=not_collected(inventory, "s3:GetBucketEncryption", name),
    )
    return S3Bucket(
        name=name,
        region=region,
        public_access_block=PublicAccessBlock.from_json(data.get("public_access_block")),
        encryption=BucketEncryption.from_json(data.get("encryption")),
        errors=errors,
        partition=partition,
    )


# --- EKS ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EncryptionConfig:
    """One entry of a cluster's ``encryptionConfig``: the resources it covers and the KMS key."""

    resources: tuple[str, ...]
    key_arn: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"resources": list(self.resources), "provider": {"keyArn": self.key_arn}}


@dataclass(frozen=True)
class LogSetup:
    """One entry of a cluster's ``logging.clusterLogging``."""

    types: tuple[str, ...]
    enabled: bool


@dataclass(frozen=True)
class EksCluster:
    """One EKS cluster, as ``eks:DescribeCluster`` answered."""

    name: str
    region: str
    arn: str | None
    version: str | None
    encryption_config: tuple[EncryptionConfig, ...]
    logging: tuple[LogSetup, ...]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EksCluster:
        return cls(
            name=data["name"],
            region=data["region"],
            arn=data.get("arn"),
            version=data.get("version"),
            encryption_config=tuple(
                EncryptionConfig(tuple(e.get("resources") or ()), (e.get("provider") or {}).get("keyArn"))
                for e in data.get("encryptionConfig") or []
            ),
            logging=tuple(
                LogSetup(tuple(e.get("types") or ()), bool(e.get("enabled")))
                for e in (data.get("logging") or {}).get("clusterLogging") or []
            ),
        )

    @property
    def resource(self) -> str:
        return f"EKSCluster/{self.region}/{self.name}"

    @property
    def location(self) -> ArnLocation | None:
        return ArnLocation(self.arn) if self.arn else None

    @property
    def secrets_key_arn(self) -> str | None:
        """The KMS key envelope-encrypting Secrets, if an entry covers ``secrets`` with a key."""
        return next(
            (e.key_arn for e in self.encryption_config if "secrets" in e.resources and e.key_arn), None
        )

    @property
    def enabled_log_types(self) -> tuple[str, ...]:
        """The enabled control-plane log types (known types in API order, then any others)."""
        on = {t for entry in self.logging if entry.enabled for t in entry.types}
        return tuple(t for t in EKS_LOG_TYPES if t in on) + tuple(sorted(on - set(EKS_LOG_TYPES)))
