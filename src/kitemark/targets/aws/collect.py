"""AWS target: an account read once, read-only, through boto3 into a JSON inventory.

Options (``TargetSpec.options``): ``profile`` (a named profile; assumed roles work through the
profile's ``role_arn``), ``regions`` (default ``["eu-west-2"]``), ``seed`` (a seed file: collect from an
embedded moto server loaded with it, see ``kitemark.targets.aws.demo``). ``location`` is an endpoint URL (an
emulator) or ``""`` for real AWS; with an endpoint and no profile, dummy credentials are used.

Only Describe*/List*/Get* calls are made (plus sts GetCallerIdentity); a ``before-call`` guard
registered on the session refuses anything else. A "not configured" answer (no public access block,
no default encryption) is a fact and recorded as ``null``; any other refusal (AccessDenied, an
unreachable endpoint) becomes an ``InputError`` naming the API call and the AWS error code, attached
to what it affects, so those checks report *error*, never a pass. Timeouts are short (connect 3 s,
read 4 s, 2 attempts) and once an endpoint fails to connect no further call is sent to it, so an
unreachable endpoint costs seconds, not minutes.

Inventory payload::

    account_id: "123456789012" | null
    regions: {region: {eks_clusters: [{name, region, arn, version, encryptionConfig,
                                       logging: {clusterLogging: [...]}, errors}], errors}}
    s3: {account_public_access_block: {4 bools} | null,
         buckets: [{name, region, public_access_block: {4 bools} | null,
                    encryption: {algorithm, kms_key_id, bucket_key} | null, errors}],
         errors}

Each ``errors`` is ``{field: InputError.to_dict()}`` for a field that could not be read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProfileNotFound,
    ReadTimeoutError,
)

from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory, TargetSpec, Unit
from kitemark.targets.aws import demo as aws_demo

KIND = "aws"
DEFAULT_REGIONS = ("eu-west-2",)
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=4,
    retries={"total_max_attempts": 2, "mode": "standard"},
    user_agent_extra="kitemark",
)
READ_PREFIXES = ("Describe", "List", "Get")

# (service, operation) -> the error code that means "not configured", which is a fact, not a failure.
NOT_CONFIGURED = {
    ("s3", "GetPublicAccessBlock"): "NoSuchPublicAccessBlockConfiguration",
    ("s3control", "GetPublicAccessBlock"): "NoSuchPublicAccessBlockConfiguration",
    ("s3", "GetBucketEncryption"): "ServerSideEncryptionConfigurationNotFoundError",
}
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


class ReadOnlyViolation(RuntimeError):
    """The collector tried an API call that is not a read: a bug, never silently allowed."""


def refuse_writes(model: Any, **_: Any) -> None:
    """``before-call`` guard: only Describe*/List*/Get* (and GetCallerIdentity, which is a Get)."""
    if not model.name.startswith(READ_PREFIXES):
        raise ReadOnlyViolation(f"{model.service_model.service_name}:{model.name} is not a read-only call")


# --- reading --------------------------------------------------------------------------------------


class _Reader:
    """Makes the calls; turns every refusal into an InputError, and remembers unreachable endpoints."""

    def __init__(self, session: boto3.Session, endpoint: str | None) -> None:
        self.session = session
        self.endpoint = endpoint
        self.errors: list[InputError] = []
        self._clients: dict[tuple[str, str], Any] = {}
        self._down: dict[str, str] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            client = self.session.client(
                service, region_name=region, endpoint_url=self.endpoint, config=CLIENT_CONFIG
            )
            if service == "s3control" and self.endpoint:
                client.meta.events.register(
                    "before-sign.s3-control", aws_demo.fix_s3control_host(self.endpoint)
                )
            self._clients[key] = client
        return self._clients[key]

    def call(
        self, client: Any, method: str, where: str, *, items: str | None = None, **params: Any
    ) -> tuple[Any, dict[str, Any] | None]:
        """``(answer, None)``; ``(None, None)`` for "not configured"; ``(None, error)`` otherwise.

        With ``items``, the call is paginated and the answer is the concatenated list under that key.
        """
        service = client.meta.service_model.service_name
        operation = client.meta.method_to_api_mapping[method]
        path = f"{where} {service}:{operation}"
        host = client.meta.endpoint_url
        if host in self._down:
            return None, self._record(path, f"not attempted: {self._down[host]}")
        try:
            if items is None:
                answer = getattr(client, method)(**params)
                _require_request_id(answer)
                return answer, None
            listed: list[Any] = []
            for page in client.get_paginator(method).paginate(**params):
                _require_request_id(page)
                listed.extend(page.get(items, []))
            return listed, None
        except ClientError as exc:
            err = exc.response.get("Error", {})
            code = err.get("Code", "Unknown")
            if NOT_CONFIGURED.get((service, operation)) == code:
                return None, None
            return None, self._record(path, f"{code}: {err.get('Message', exc)}")
        except _UNREACHABLE as exc:
            self._down[host] = f"{host} unreachable ({type(exc).__name__})"
            return None, self._record(path, f"{type(exc).__name__}: {exc}")
        except BotoCoreError as exc:  # no credentials, expired token, bad parameters...
            return None, self._record(path, f"{type(exc).__name__}: {exc}")
        except ReadOnlyViolation:
            raise
        except Exception as exc:
            # Something answered, but not an AWS API (a proxy, a web page): botocore's parsers raise
            # ResponseParserError, KeyError & co., or parse it as an empty answer (hence the request id).
            self._down[host] = f"{host} does not answer like an AWS API"
            first_line = (str(exc).splitlines() or [""])[0]
            return None, self._record(path, f"unreadable answer ({type(exc).__name__}: {first_line})")

    def _record(self, path: str, message: str) -> dict[str, Any]:
        error = InputError(path, message)
        self.errors.append(error)
        return error.to_dict()


class NotAnAwsAnswer(Exception):
    """A successful HTTP answer without an AWS request id: whatever answered is not the AWS API."""


def _require_request_id(answer: dict[str, Any]) -> None:
    if not (answer.get("ResponseMetadata") or {}).get("RequestId"):
        raise NotAnAwsAnswer("the answer carries no AWS request id")


def make_session(spec: TargetSpec, endpoint: str | None, region: str) -> boto3.Session:
    profile = spec.options.get("profile")
    try:
        if profile:
            return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise UsageError(f"{spec.label}: AWS profile {profile!r} not found") from None
    if endpoint:
        return boto3.Session(**aws_demo.DUMMY_CREDENTIALS, region_name=region)
    return boto3.Session(region_name=region)


def collect(spec: TargetSpec, *, session: boto3.Session | None = None) -> Inventory:
    """Read the account once. ``session`` lets callers (tests) bring their own boto3 session."""
    seed = spec.options.get("seed")
    if seed:
        seed_path = Path(seed)
        regions = list(
            spec.options.get("regions") or aws_demo.seed_regions(aws_demo.load_seed_file(seed_path))
        )
        with aws_demo.embedded_aws(seed_path) as endpoint:
            inventory = _collect(spec, endpoint, regions, session)
        inventory["seed"] = str(seed_path)
        return inventory
    regions = list(spec.options.get("regions") or DEFAULT_REGIONS)
    return _collect(spec, spec.location or None, regions, session)


def collect_fixture(path: Path) -> Inventory:
    return collect(TargetSpec(KIND, "fixture", "", {"seed": str(Path(path) / "seed.yaml")}))


def _collect(
    spec: TargetSpec, endpoint: str | None, regions: list[str], session: boto3.Session | None
) -> Inventory:
    if not regions:
        raise UsageError(f"{spec.label}: no AWS regions given")
    session = session or make_session(spec, endpoint, regions[0])
    session.events.register("before-call", refuse_writes, unique_id="kitemark-read-only")
    reader = _Reader(session, endpoint)

    identity, identity_error = reader.call(reader.client("sts", regions[0]), "get_caller_identity", "global")
    account_id = identity["Account"] if identity else None
    inventory: Inventory = {
        "kind": KIND,
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "account_id": account_id,
        "regions": {region: _collect_region(reader, region) for region in regions},
        "s3": _collect_s3(reader, regions[0], account_id, identity_error),
    }
    inventory["errors"] = [e.to_dict() for e in reader.errors]
    return inventory


def _collect_region(reader: _Reader, region: str) -> dict[str, Any]:
    eks = reader.client("eks", region)
    names, error = reader.call(eks, "list_clusters", region, items="clusters")
    if error:
        return {"eks_clusters": [], "errors": {"eks_clusters": error}}
    clusters = []
    for name in sorted(names):
        answer, error = reader.call(eks, "describe_cluster", f"{region} {name}", name=name)
        cluster = (answer or {}).get("cluster", {})
        clusters.append(
            {
                "name": name,
                "region": region,
                "arn": cluster.get("arn"),
                "version": cluster.get("version"),
                "encryptionConfig": cluster.get("encryptionConfig") or [],
                "logging": {"clusterLogging": (cluster.get("logging") or {}).get("clusterLogging") or []},
                "errors": {"cluster": error} if error else {},
            }
        )
    return {"eks_clusters": clusters, "errors": {}}


def _collect_s3(
    reader: _Reader, home: str, account_id: str | None, identity_error: dict[str, Any] | None
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    account_block = None
    if account_id:
        control = reader.client("s3control", home)
        answer, error = reader.call(control, "get_public_access_block", "account", AccountId=account_id)
        account_block = _block(answer)
        if error:
            errors["account_public_access_block"] = error
    else:  # s3control needs the account id: its absence is the identity error
        errors["account_public_access_block"] = identity_error

    s3 = reader.client("s3", home)
    listed, error = reader.call(s3, "list_buckets", "global", items="Buckets")
    if error:
        errors["buckets"] = error
    buckets = [
        _collect_bucket(reader, home, entry) for entry in sorted(listed or [], key=lambda b: b["Name"])
    ]
    return {"account_public_access_block": account_block, "buckets": buckets, "errors": errors}


def _collect_bucket(reader: _Reader, home: str, entry: dict[str, Any]) -> dict[str, Any]:
    name = entry["Name"]
    errors: dict[str, Any] = {}
    region = entry.get("BucketRegion")  # newer ListBuckets answers carry it; otherwise ask
    if not region:
        answer, error = reader.call(reader.client("s3", home), "get_bucket_location", name, Bucket=name)
        if error:
            errors["region"] = error
        else:
            # Legacy answers: no constraint means us-east-1, "EU" means eu-west-1.
            constraint = (answer or {}).get("LocationConstraint")
            region = {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)
    s3 = reader.client("s3", region or home)
    answer, error = reader.call(s3, "get_public_access_block", name, Bucket=name)
    if error:
        errors["public_access_block"] = error
    public_access_block = _block(answer)
    answer, error = reader.call(s3, "get_bucket_encryption", name, Bucket=name)
    if error:
        errors["encryption"] = error
    return {
        "name": name,
        "region": region,
        "public_access_block": public_access_block,
        "encryption": _encryption(answer),
        "errors": errors,
    }


def _block(answer: dict[str, Any] | None) -> dict[str, bool] | None:
    if not answer:
        return None
    config = answer.get("PublicAccessBlockConfiguration", {})
    return {name: bool(config.get(name)) for name in aws_demo.PUBLIC_ACCESS_SETTINGS}


def _encryption(answer: dict[str, Any] | None) -> dict[str, Any] | None:
    rules = ((answer or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
    for rule in rules:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if default.get("SSEAlgorithm"):
            return {
                "algorithm": default["SSEAlgorithm"],
                "kms_key_id": default.get("KMSMasterKeyID"),
                "bucket_key": rule.get("BucketKeyEnabled"),
            }
    return None


# --- scopes ---------------------------------------------------------------------------------------


def _errors(errors: dict[str, Any] | None) -> list[InputError]:
    return [InputError.from_dict(e) for e in (errors or {}).values() if e]


def eks_cluster_units(inventory: Inventory) -> list[Unit]:
    """One unit per EKS cluster; a region whose clusters could not be listed is one *error* unit."""
    label = inventory["target"]
    units = []
    for region, data in sorted(inventory.get("regions", {}).items()):
        if data.get("errors"):
            units.append(Unit(f"{label}/{region}/eks", label, {"region": region}, _errors(data["errors"])))
        for cluster in data.get("eks_clusters", []):
            unit_data = {**cluster, "account_id": inventory.get("account_id")}
            units.append(
                Unit(
                    f"{label}/{region}/eks:{cluster['name']}",
                    label,
                    unit_data,
                    _errors(cluster.get("errors")),
                )
            )
    return units


def s3_units(inventory: Inventory) -> list[Unit]:
    """One unit per account: the account-level block and every bucket. Only a failed ListBuckets makes
    the whole unit an error; a bucket or account setting that could not be read is in its ``errors``."""
    label = inventory["target"]
    s3 = inventory.get("s3") or {}
    data = {
        "account_id": inventory.get("account_id"),
        "account_public_access_block": s3.get("account_public_access_block"),
        "buckets": s3.get("buckets", []),
        "errors": s3.get("errors", {}),
    }
    unit_errors = _errors({"buckets": data["errors"].get("buckets")})
    return [Unit(f"{label}/s3", label, data, unit_errors)]


SCOPES: dict[str, Callable[[Inventory], list[Unit]]] = {"eks-cluster": eks_cluster_units, "s3": s3_units}


def describe(inventory: Inventory) -> dict[str, Any]:
    """Where the collector looked, for a *not applicable* result: the account and each region searched."""
    regions = inventory.get("regions", {})
    return {
        "note": f"searched regions {', '.join(sorted(regions))} only",
        "account_id": inventory.get("account_id"),
        "regions_searched": sorted(regions),
        "eks_clusters_found": sum(len(r.get("eks_clusters", [])) for r in regions.values()),
        "s3_buckets_found": len((inventory.get("s3") or {}).get("buckets", [])),
    }
