"""An embedded AWS for the demo and the check fixtures: a moto server on 127.0.0.1, loaded from a seed.

A seed is a small YAML file describing EKS clusters, S3 buckets and the account-level S3 public access
block (the format is documented at the top of ``fixtures/demo/aws/seed.yaml``). ``embedded_aws(path)``
starts moto's ``ThreadedMotoServer`` on a free port, creates the seed with ordinary boto3 calls and
yields the endpoint URL; the collector then reads it exactly as it reads real AWS.

moto keeps its state per *process*, not per server, so servers started here are serialised by a lock
and the state is reset before the seed is loaded and after the server stops.

moto is an optional extra (``pip install 'kitemark[demo]'``): only the seed path (``--aws-seed``, the
demo, the check fixtures) imports this module, and without moto it is a one-line usage error.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import jsonschema
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from kitemark.core.errors import UsageError
from kitemark.core.yamlfile import load_config_file
from kitemark.targets.aws.collect import DUMMY_CREDENTIALS, fix_s3control_host
from kitemark.targets.aws.constants import DEFAULT_REGION, EKS_LOG_TYPES, NEEDS_MOTO, PUBLIC_ACCESS_SETTINGS

_BLOCK = {
    "type": ["object", "null"],
    "properties": {name: {"type": "boolean"} for name in PUBLIC_ACCESS_SETTINGS},
    "required": list(PUBLIC_ACCESS_SETTINGS),
    "additionalProperties": False,
}
SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "account_public_access_block": _BLOCK,
        "eks_clusters": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "region": {"type": "string"},
                    "version": {"type": "string"},
                    "role_arn": {"type": "string"},
                    "encryption_kms_alias": {"type": ["string", "null"], "pattern": "^alias/"},
                    "logging": {"type": "array", "items": {"enum": list(EKS_LOG_TYPES)}, "uniqueItems": True},
                },
            },
        },
        "s3_buckets": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 3},
                    "region": {"type": "string"},
                    "public_access_block": _BLOCK,
                    "encryption": {"enum": ["AES256", "aws:kms", None]},
                },
            },
        },
    },
}

_LOCK = threading.Lock()


def load_seed_file(path: Path) -> dict[str, Any]:
    """The validated seed at ``path``; a missing or malformed seed is a usage error (one line)."""
    if not path.is_file():
        raise UsageError(f"AWS seed file not found: {path}")
    seed = load_config_file(path, "AWS seed") or {}
    try:
        jsonschema.validate(seed, SEED_SCHEMA)
    except jsonschema.ValidationError as exc:
        at = "/".join(str(p) for p in exc.absolute_path) or "(top)"
        raise UsageError(f"{path}: invalid AWS seed at {at}: {exc.message}") from None
    return seed


def seed_regions(seed: dict[str, Any]) -> list[str]:
    """The regions a seed puts EKS clusters in (the demo collects exactly those)."""
    regions = {c.get("region", DEFAULT_REGION) for c in seed.get("eks_clusters") or []}
    return sorted(regions) or [DEFAULT_REGION]


def require_moto() -> None:
    """A usage error, before anything else is done, when the ``demo`` extra is not installed."""
    if importlib.util.find_spec("moto") is None:
        raise UsageError(NEEDS_MOTO)


def reset(endpoint_url: str) -> None:
    """Forget everything the moto server holds (its documented reset API)."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10):
        pass


@functools.cache
def _seed_session() -> boto3.Session:
    # One session per process: a new session re-parses the service models (EC2's is megabytes),
    # which costs more than loading a seed.
    return boto3.Session(**DUMMY_CREDENTIALS, region_name=DEFAULT_REGION)


def load_seed(endpoint_url: str, seed: dict[str, Any]) -> None:
    """Create the seed's resources on the moto server at ``endpoint_url`` with ordinary boto3 calls."""
    session = _seed_session()
    config = Config(retries={"total_max_attempts": 1})

    def client(service: str, region: str = DEFAULT_REGION) -> Any:
        return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

    account_id = client("sts").get_caller_identity()["Account"]
    block = seed.get("account_public_access_block")
    if block:
        s3control = client("s3control")
        s3control.meta.events.register("before-sign.s3-control", fix_s3control_host(endpoint_url))
        s3control.put_public_access_block(AccountId=account_id, PublicAccessBlockConfiguration=block)

    for bucket in seed.get("s3_buckets") or []:
        _create_bucket(client("s3", bucket.get("region", DEFAULT_REGION)), bucket)

    subnets: dict[str, list[str]] = {}
    for cluster in seed.get("eks_clusters") or []:
        region = cluster.get("region", DEFAULT_REGION)
        if region not in subnets:
            subnets[region] = _network(client("ec2", region), region)
        _create_cluster(client, account_id, region, subnets[region], cluster)


def _create_bucket(s3: Any, bucket: dict[str, Any]) -> None:
    name = bucket["name"]
    region = s3.meta.region_name
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    if bucket.get("public_access_block"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=bucket["public_access_block"])
    if bucket.get("encryption"):
        rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": bucket["encryption"]}}
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})


def _network(ec2: Any, region: str) -> list[str]:
    """A VPC with two subnets in different zones, as EKS requires."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{zone}")[
            "Subnet"
        ]["SubnetId"]
        for i, zone in enumerate("ab")
    ]


def _create_cluster(
    client: Any, account_id: str, region: str, subnets: list[str], cluster: dict[str, Any]
) -> None:
    name = cluster["name"]
    enabled = list(cluster.get("logging") or [])
    disabled = [t for t in EKS_LOG_TYPES if t not in enabled]
    logging_config = [
        {"types": types, "enabled": on} for types, on in ((enabled, True), (disabled, False)) if types
    ]
    kwargs: dict[str, Any] = {
        "name": name,
        "version": cluster.get("version", "1.30"),
        "roleArn": cluster.get("role_arn", f"arn:aws:iam::{account_id}:role/{name}-eks-cluster"),
        "resourcesVpcConfig": {"subnetIds": subnets},
        "logging": {"clusterLogging": logging_config},
    }
    alias = cluster.get("encryption_kms_alias")
    if alias:
        kms = client("kms", region)
        key = kms.create_key(Description=f"EKS secrets encryption for {name}")["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        kwargs["encryptionConfig"] = [{"resources": ["secrets"], "provider": {"keyArn": key["Arn"]}}]
    client("eks", region).create_cluster(**kwargs)


@contextmanager
def embedded_aws(seed_path: Path | str) -> Iterator[str]:
    """Start a moto server on 127.0.0.1 (free port), load the seed, yield its endpoint URL, stop it."""
    try:
        from moto.server import ThreadedMotoServer  # heavy import: only when a seed is used
    except ImportError as exc:  # moto without its server extra (flask, werkzeug) lands here too
        raise UsageError(f"{NEEDS_MOTO} ({exc})") from None

    seed = load_seed_file(Path(seed_path))
    # werkzeug logs every request at INFO to stderr unless its logger already has a level.
    werkzeug = logging.getLogger("werkzeug")
    with _LOCK:
        level = werkzeug.level
        werkzeug.setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        try:
            reset(endpoint)
            try:
                load_seed(endpoint, seed)
            except (ClientError, ParamValidationError) as exc:
                raise UsageError(f"{seed_path}: the embedded AWS refused the seed: {exc}") from None
            yield endpoint
        finally:
            try:
                reset(endpoint)
            finally:
                server.stop()
                werkzeug.setLevel(level)
