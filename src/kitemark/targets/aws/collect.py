"""AWS target: an account read once, read-only, through boto3 into a JSON inventory.

Options (``TargetSpec.options``): ``profile`` (a named profile; assumed roles work through the
profile's ``role_arn``), ``regions`` (default ``[DEFAULT_REGION]``), ``seed`` (a seed file: collect from an
embedded moto server loaded with it, see ``kitemark.targets.aws.demo``, imported only then). ``location``
is an endpoint URL (an emulator, a VPC endpoint) or ``""`` for real AWS; with an endpoint and no
profile, dummy credentials are used.

Only the API calls in ``reads`` (what the selected checks declared), and the calls those need first
(``READS``), are made; no ``reads`` means every call. Only Describe*/List*/Get* calls exist here, and
a ``before-call`` guard registered on the session refuses anything else. A "not configured" answer
(no public access block, no default encryption) is a fact and recorded as ``null``; any other refusal
(AccessDenied, an unreachable endpoint) becomes an ``InputError`` naming the API call and the AWS
error code, attached to what it affects, so those checks report *error*, never a pass. Timeouts are
short (connect 3 s, read 4 s, 2 attempts) and once an endpoint fails to connect no further call is
sent to it, so an unreachable endpoint costs seconds, not minutes.

Inventory payload::

    calls: ["eks:ListClusters", ...]   # the API calls asked for (the view reports the others "not collected")
    account_id: "123456789012" | null
    partition: "aws"
    regions: {region: {eks_clusters: [{name, region, arn, version, encryptionConfig,
                                       logging: {clusterLogging: [...]}, errors}], errors}}
    s3: {account_public_access_block: {4 bools} | null,
         buckets: [{name, region, public_access_block: {4 bools} | null,
                    encryption: {algorithm, kms_key_id, bucket_key} | null, errors}],
         errors}

Each ``errors`` is ``{field: InputError.to_dict()}`` for a field that could not be read.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    ProfileNotFound,
    ReadTimeoutError,
)

from kitemark.core.errors import UsageError
from kitemark.core.kinds import InputError, Inventory, TargetSpec
from kitemark.core.redaction import redact_text
from kitemark.targets.aws.constants import DEFAULT_REGION, PUBLIC_ACCESS_SETTINGS

KIND = "aws"
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=4,
    retries={"total_max_attempts": 2, "mode": "standard"},
    user_agent_extra="kitemark",
)
READ_PREFIXES = ("Describe", "List", "Get")
# An endpoint that is not AWS (an emulator) cannot check real credentials: never send a profile's there.
DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# Every API call the collector can make (what checks may declare in `reads`) -> the calls it needs first.
READS: dict[str, tuple[str, ...]] = {
    "sts:GetCallerIdentity": (),
    "eks:ListClusters": (),
    "eks:DescribeCluster": ("eks:ListClusters",),
    "s3:ListBuckets": (),
    # Older ListBuckets answers do not say where a bucket is; a bucket is read in its own region.
    "s3:GetBucketLocation": ("s3:ListBuckets",),
    "s3:GetPublicAccessBlock": ("s3:ListBuckets", "s3:GetBucketLocation"),
    "s3:GetBucketEncryption": ("s3:ListBuckets", "s3:GetBucketLocation"),
    "s3control:GetPublicAccessBlock": ("sts:GetCallerIdentity",),  # it takes the account id
}

# (service, operation) -> the error code that means "not configured", which is a fact, not a failure.
NOT_CONFIGURED = {
    ("s3", "GetPublicAccessBlock"): "NoSuchPublicAccessBlockConfiguration",
    ("s3control", "GetPublicAccessBlock"): "NoSuchPublicAccessBlockConfiguration",
    ("s3", "GetBucketEncryption"): "ServerSideEncryptionConfigurationNotFoundError",
}
_UNREACHABLE = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)


def calls_for(reads: Iterable[str]) -> frozenset[str]:
    """The API calls to make for ``reads`` (every call for none); an unknown call is a usage error."""
    wanted = set(reads) or set(READS)
    unknown = sorted(wanted - set(READS))
    if unknown:
        raise UsageError(
            f"the aws collector cannot make {', '.join(unknown)} (declared in a check's reads); "
            f"it makes: {', '.join(sorted(READS))}"
        )
    pending, calls = list(wanted), set()
    while pending:
        call = pending.pop()
        if call not in calls:
            calls.add(call)
            pending.extend(READS[call])
    return frozenset(calls)


def fix_s3control_host(endpoint_url: str) -> Any:
    """A ``before-sign`` handler for s3control against a custom endpoint.

    botocore's endpoint rules prefix the host with the account id (``123456789012.127.0.0.1:5000``),
    which does not resolve for an emulator on an IP address; drop the prefix (s3control also routes by
    path).
    """
    netloc = urlsplit(endpoint_url).netloc

    def handler(request: Any, **_: Any) -> None:
        parts = urlsplit(request.url)
        prefix, _, rest = parts.netloc.partition(".")
        if prefix.isdigit() and rest == netloc:
            request.url = urlunsplit(parts._replace(netloc=rest))

    return handler


class ReadOnlyViolation(RuntimeError):
    """The collector tried an API call that is not a read: a bug, never silently allowed."""


class UnrequestedCall(RuntimeError):
    """The collector tried an API call outside the ones it was asked for: a bug, never silently made."""


def refuse_writes(model: Any, **_: Any) -> None:
    """``before-call`` guard: only Describe*/List*/Get* (and GetCallerIdentity, which is a Get)."""
    if not model.name.startswith(READ_PREFIXES):
        raise ReadOnlyViolation(f"{model.service_model.service_name}:{model.name} is not a read-only call")


# --- reading --------------------------------------------------------------------------------------


class _Reader:
    """Makes the calls; turns every refusal into an InputError, and remembers unreachable endpoints."""

    def __init__(self, session: boto3.Session, endpoint: str | None, calls: frozenset[str]) -> None:
        self.session = session
        self.endpoint = endpoint
        self.calls = calls
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
                client.meta.events.register("before-sign.s3-control", fix_s3control_host(self.endpoint))
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
        if f"{service}:{operation}" not in self.calls:
            raise UnrequestedCall(f"{service}:{operation} is not among the calls asked for")
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
            return None, self._record(path, f"{code}: {redact_text(_first_line(err.get('Message', exc)))}")
        except _UNREACHABLE as exc:
            self._down[host] = f"{host} unreachable ({type(exc).__name__})"
            return None, self._record(path, error_text(exc))
        except BotoCoreError as exc:  # no credentials, expired token, bad parameters...
            return None, self._record(path, error_text(exc))
        except ReadOnlyViolation:
            raise
        except Exception as exc:
            # Something answered, but not an AWS API (a proxy, a web page): botocore's parsers raise
            # ResponseParserError, KeyError & co., or parse it as an empty answer (hence the request id).
            self._down[host] = f"{host} does not answer like an AWS API"
            return None, self._record(path, f"unreadable answer ({error_text(exc)})")

    def _record(self, path: str, message: str) -> dict[str, Any]:
        error = InputError(path, message, file=False)
        self.errors.append(error)
        return error.to_dict()


class NotAnAwsAnswer(Exception):
    """A successful HTTP answer without an AWS request id: whatever answered is not the AWS API."""


def _require_request_id(answer: dict[str, Any]) -> None:
    if not (answer.get("ResponseMetadata") or {}).get("RequestId"):
        raise NotAnAwsAnswer("the answer carries no AWS request id")


def error_text(exc: BaseException) -> str:
    """An AWS SDK error as one line for a report or message. A failing ``credential_process`` has its
    output quoted by botocore (it may print the very secret it failed to hand over): never shown. Any
    other message goes through the redaction policy."""
    if isinstance(exc, CredentialRetrievalError):
        provider = getattr(exc, "kwargs", {}).get("provider", "a credential provider")
        return f"{type(exc).__name__}: {provider} failed (its output is not shown: it may hold secrets)"
    return f"{type(exc).__name__}: {redact_text(_first_line(exc))}"


def make_session(spec: TargetSpec, endpoint: str | None, region: str) -> boto3.Session:
    """A session for the target. A profile that cannot give credentials (missing, malformed, a loop of
    roles, a failing ``credential_process``) is a usage error before any call is made."""
    profile = spec.options.get("profile")
    if profile:
        try:
            session = boto3.Session(profile_name=profile, region_name=region)
            session.get_credentials()  # resolves the profile's credential chain now, not in the first call
        except ProfileNotFound:
            raise UsageError(f"{spec.label}: AWS profile {profile!r} not found") from None
        except BotoCoreError as exc:
            raise UsageError(
                f"{spec.label}: AWS profile {profile!r} cannot be used: {error_text(exc)}"
            ) from None
        return session
    if endpoint:
        return boto3.Session(**DUMMY_CREDENTIALS, region_name=region)
    return boto3.Session(region_name=region)


def collect(
    spec: TargetSpec, reads: Iterable[str] = (), *, session: boto3.Session | None = None
) -> Inventory:
    """Read the account once: the API calls in ``reads`` (and those they need first), or all of them.
    ``session`` lets callers (tests) bring their own boto3 session."""
    calls = calls_for(reads)
    if spec.options.get("seed"):
        return _collect_seed(spec, Path(spec.options["seed"]), calls, session)
    regions = list(spec.options.get("regions") or [DEFAULT_REGION])
    return _collect(spec, spec.location or None, regions, calls, session)


def _collect_seed(
    spec: TargetSpec, seed_path: Path, calls: frozenset[str], session: boto3.Session | None
) -> Inventory:
    """Collect from an embedded moto server loaded with the seed: the only path that needs the demo."""
    from kitemark.targets.aws import demo  # moto is an optional extra: imported only for a seed

    demo.require_moto()
    regions = list(spec.options.get("regions") or demo.seed_regions(demo.load_seed_file(seed_path)))
    with demo.embedded_aws(seed_path) as endpoint:
        inventory = _collect(spec, endpoint, regions, calls, session)
    inventory["seed"] = str(seed_path)
    return inventory


def collect_fixture(path: Path) -> Inventory:
    return collect(TargetSpec(KIND, "fixture", "", {"seed": str(Path(path) / "seed.yaml")}))


def _collect(
    spec: TargetSpec,
    endpoint: str | None,
    regions: list[str],
    calls: frozenset[str],
    session: boto3.Session | None,
) -> Inventory:
    if not regions:
        raise UsageError(f"{spec.label}: no AWS regions given")
    session = session or make_session(spec, endpoint, regions[0])
    session.events.register("before-call", refuse_writes, unique_id="kitemark-read-only")
    reader = _Reader(session, endpoint, calls)

    identity, identity_error = None, None
    if "sts:GetCallerIdentity" in calls:
        sts = reader.client("sts", regions[0])
        identity, identity_error = reader.call(sts, "get_caller_identity", "global")
    account_id = identity["Account"] if identity else None
    inventory: Inventory = {
        "kind": KIND,
        "target": spec.label,
        "name": spec.name,
        "location": spec.location,
        "calls": sorted(calls),
        "account_id": account_id,
        "partition": _partition(identity),
        "regions": {region: _collect_region(reader, region) for region in regions},
        "s3": _collect_s3(reader, regions[0], account_id, identity_error),
    }
    inventory["errors"] = [e.to_dict() for e in reader.errors]
    return inventory


def _partition(identity: dict[str, Any] | None) -> str:
    """``aws``, ``aws-cn``, ``aws-us-gov`` …: the second field of the caller's ARN."""
    arn = str((identity or {}).get("Arn") or "")
    fields = arn.split(":")
    return fields[1] if len(fields) > 1 and fields[0] == "arn" and fields[1] else "aws"


def _collect_region(reader: _Reader, region: str) -> dict[str, Any]:
    if "eks:ListClusters" not in reader.calls:
        return {"eks_clusters": [], "errors": {}}
    eks = reader.client("eks", region)
    names, error = reader.call(eks, "list_clusters", region, items="clusters")
    if error:
        return {"eks_clusters": [], "errors": {"eks_clusters": error}}
    return {
        "eks_clusters": [_collect_cluster(reader, eks, region, name) for name in sorted(names)],
        "errors": {},
    }


def _collect_cluster(reader: _Reader, eks: Any, region: str, name: str) -> dict[str, Any]:
    answer, error = None, None
    if "eks:DescribeCluster" in reader.calls:
        answer, error = reader.call(eks, "describe_cluster", f"{region} {name}", name=name)
    cluster = (answer or {}).get("cluster", {})
    return {
        "name": name,
        "region": region,
        "arn": cluster.get("arn"),
        "version": cluster.get("version"),
        "encryptionConfig": cluster.get("encryptionConfig") or [],
        "logging": {"clusterLogging": (cluster.get("logging") or {}).get("clusterLogging") or []},
        "errors": {"cluster": error} if error else {},
    }


def _collect_s3(
    reader: _Reader, home: str, account_id: str | None, identity_error: dict[str, Any] | None
) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    account_block = None
    if "s3control:GetPublicAccessBlock" in reader.calls:
        if account_id:
            control = reader.client("s3control", home)
            answer, error = reader.call(control, "get_public_access_block", "account", AccountId=account_id)
            account_block = _block(answer)
            if error:
                errors["account_public_access_block"] = error
        else:  # s3control needs the account id: its absence is the identity error
            errors["account_public_access_block"] = identity_error

    listed: list[dict[str, Any]] = []
    if "s3:ListBuckets" in reader.calls:
        listed, error = reader.call(reader.client("s3", home), "list_buckets", "global", items="Buckets")
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
    if not region and "s3:GetBucketLocation" in reader.calls:
        region, error = _bucket_region(reader, home, name)
        if error:
            errors["region"] = error
    s3 = reader.client("s3", region or home)
    public_access_block, encryption = None, None
    if "s3:GetPublicAccessBlock" in reader.calls:
        answer, error = reader.call(s3, "get_public_access_block", name, Bucket=name)
        public_access_block = _block(answer)
        if error:
            errors["public_access_block"] = error
    if "s3:GetBucketEncryption" in reader.calls:
        answer, error = reader.call(s3, "get_bucket_encryption", name, Bucket=name)
        encryption = _encryption(answer)
        if error:
            errors["encryption"] = error
    return {
        "name": name,
        "region": region,
        "public_access_block": public_access_block,
        "encryption": encryption,
        "errors": errors,
    }


def _bucket_region(reader: _Reader, home: str, name: str) -> tuple[str | None, dict[str, Any] | None]:
    answer, error = reader.call(reader.client("s3", home), "get_bucket_location", name, Bucket=name)
    if error:
        return None, error
    # Legacy answers: no constraint means us-east-1, "EU" means eu-west-1.
    constraint = (answer or {}).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint), None


def _block(answer: dict[str, Any] | None) -> dict[str, bool] | None:
    if not answer:
        return None
    config = answer.get("PublicAccessBlockConfiguration", {})
    return {name: bool(config.get(name)) for name in PUBLIC_ACCESS_SETTINGS}


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


def _first_line(message: object, limit: int = 200) -> str:
    """An AWS error message as one short line: some (SignatureDoesNotMatch) go on to quote the signed
    request, whose headers may carry a session token."""
    lines = str(message).strip().splitlines()
    first = lines[0] if lines else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
